//! What a real account does that converge must get right, through the real
//! SDK clients against the sandbox (which answers as AWS's models, guides and
//! field reports say: docs/aws-fidelity.md): EMR's own rules in the groups it
//! is handed, private subnets and the service-access group, Studio subnets
//! that reach no AWS API, clusters shutting down or finished, releases
//! without auto-termination, prefix-list rules.

mod common;

use std::time::Duration;

use common::{Env, actions, by_hand, edit, reference, spec};
use converge_executor::{Executor as _, Outcome};
use converge_model::{Address, Kind};
use converge_ops::{Direction, Ec2Op, EmrOp, Id, IpProtocol, Operation, Peer, Rule};
use converge_plan::Action;
use converge_sandbox::{Config, SeedNetwork};

fn studio() -> String {
    reference("studio-emr.toml")
}

fn group_id(live: &converge_model::LiveState, address: &str) -> String {
    let group = live.security_groups.iter().find(|g| g.tags.get("converge:address").is_some_and(|a| a == address));
    group.expect("the group").id.clone()
}

fn tcp(from: i64, to: i64, peer: Peer, description: Option<&str>) -> Rule {
    Rule {
        protocol: IpProtocol::Tcp,
        from_port: Some(from),
        to_port: Some(to),
        peer,
        description: description.map(Into::into),
    }
}

/// The rules of a group in the sandbox, as `protocol from-to peer` lines.
fn rules_of(env: &Env, group: &str, direction: &str) -> Vec<String> {
    let state = env.state();
    let rules = state["ec2"]["groups"][group][direction].as_array().cloned().unwrap_or_default();
    rules
        .iter()
        .map(|r| {
            let peer = ["group_id", "cidr", "prefix_list"].iter().find_map(|k| r[*k].as_str()).unwrap_or_default();
            format!("{} {}-{} {peer}", r["protocol"].as_str().unwrap_or_default(), r["from_port"], r["to_port"])
        })
        .collect()
}

async fn wait_for_cluster(env: &Env, spec: &converge_model::Spec, state: &str) -> String {
    for _ in 0..400 {
        let live = env.read(spec).await;
        if let Some(cluster) = live.emr_clusters.iter().find(|c| c.state.aws() == state) {
            return cluster.id.clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no cluster became {state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emrs_rules_in_its_groups_are_emrs_and_a_rule_added_by_hand_is_drift() {
    let spec = spec(&studio());
    let env = Env::start(&spec).await;
    env.apply(&spec).await;
    let live = env.read(&spec).await;
    let (master, core, service) = (
        group_id(&live, "security_group.emr_master"),
        group_id(&live, "security_group.emr_core"),
        group_id(&live, "security_group.emr_service_access"),
    );
    // EMR wrote its rules (EMR Management Guide): the groups hold far more than the spec says ...
    assert!(rules_of(&env, &master, "ingress").contains(&format!("tcp 0-65535 {core}")));
    assert!(rules_of(&env, &master, "ingress").contains(&format!("tcp 8443-8443 {service}")));
    assert!(rules_of(&env, &service, "egress").contains(&format!("tcp 8443-8443 {core}")));
    // ... and the plan is empty all the same.
    env.assert_converged(&spec).await;

    // Someone opens SSH on the primary group, and someone removes one of EMR's rules.
    let ssh = tcp(22, 22, Peer::Cidr("0.0.0.0/0".into()), Some("opened by hand"));
    by_hand(
        &env,
        &Operation::Ec2(Ec2Op::AuthorizeRules {
            group: Id::known(&master),
            direction: Direction::Ingress,
            rules: vec![ssh],
        }),
    )
    .await;
    let emrs = Rule {
        protocol: IpProtocol::Udp,
        from_port: Some(0),
        to_port: Some(65535),
        peer: Peer::Group(Id::known(&core)),
        description: None,
    };
    by_hand(
        &env,
        &Operation::Ec2(Ec2Op::RevokeRules {
            group: Id::known(&master),
            direction: Direction::Ingress,
            rules: vec![emrs],
        }),
    )
    .await;
    let before = env.sandbox.requests().len();

    // The plan revokes the SSH rule, and leaves EMR's rules, present or not, to EMR.
    let plan = env.plan(&spec).await;
    assert_eq!(actions(&plan), ["security_group.emr_master=update"]);
    let text = converge_plan::render::text(&plan, converge_plan::render::Style::plain());
    assert!(text.contains("- \"tcp 22 0.0.0.0/0\""), "{text}");
    assert!(!text.contains("udp") && !text.contains("8443"), "{text}");
    let report = env.run(&plan).await;
    common::assert_success(&plan, &report);
    let changes: Vec<String> =
        env.sandbox.requests()[before..].iter().filter(|r| r.may_change()).map(|r| r.operation.clone()).collect();
    assert_eq!(
        changes,
        ["RevokeSecurityGroupIngress"],
        "one revoke, of the SSH rule; drift leaves the spec digest as it was"
    );
    assert!(!rules_of(&env, &master, "ingress").iter().any(|r| r.starts_with("tcp 22-22")));
    env.assert_converged(&spec).await;
    // EMR puts its rule back by itself a little later (the sandbox's time moves with requests); the plan stays empty.
    for _ in 0..400 {
        env.read(&spec).await;
        if rules_of(&env, &master, "ingress").contains(&format!("udp 0-65535 {core}")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(rules_of(&env, &master, "ingress").contains(&format!("udp 0-65535 {core}")), "EMR re-adds its rule");
    env.assert_converged(&spec).await;

    // Destroy still revokes the rules that name other groups, EMR's too, before deleting the groups.
    let live = env.read(&spec).await;
    let destroy = converge_plan::plan_destroy(&spec, &live).expect("a destroy plan");
    common::assert_success(&destroy, &env.run(&destroy).await);
    assert!(env.read(&spec).await.security_groups.is_empty());
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_subnet_needs_a_service_access_group_and_an_isolated_studio_subnet_is_a_warning() {
    // What `CreateVpc` gives: a main route table with the local route only.
    let text = studio();
    let spec = spec(&text);
    let env = Env::start_seeded(&spec, Config::default(), SeedNetwork::Isolated).await;
    let live = env.read(&spec).await;
    assert!(live.route_tables.iter().any(|t| t.main), "the reader reads the VPC's route tables");
    let plan = converge_plan::plan(&spec, &live).expect("a plan");
    let codes: Vec<&str> = plan.warnings.iter().map(|w| w.code).collect();
    assert_eq!(codes, ["studio-subnet-offline"]);
    assert!(plan.warnings[0].message.contains("sagemaker.api"), "{}", plan.warnings[0].message);
    // Silenced on the domain, it is gone.
    let silenced = edit(
        &text,
        "sharing = { notebook_output",
        "silence = { studio-subnet-offline = \"the endpoints come with the network stack\" }\nsharing = { notebook_output",
    );
    let plan = converge_plan::plan(&common::spec(&silenced), &live).expect("a plan");
    assert!(plan.warnings.is_empty());

    // Without its service-access group the cluster cannot run in these private subnets: no plan.
    let without = edit(&text, "service_access_security_group = \"emr_service_access\"\n", "");
    let errors = converge_plan::plan(&common::spec(&without), &live).expect_err("EMR would refuse the cluster");
    let codes: Vec<&str> = errors.iter().map(converge_plan::PlanError::code).collect();
    assert_eq!(codes, ["emr-service-access-required"]);
    assert!(errors[0].hint().contains("service_access_security_group"), "{}", errors[0].hint());
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_read_clusters_shutting_down_finished_or_on_releases_without_auto_termination() {
    // A release before auto-termination (5.30.0): EMR refuses its GetAutoTerminationPolicy.
    let text = edit(&studio(), "release = \"emr-6.3.0\"", "release = \"emr-5.29.0\"");
    let text = edit(&text, "auto_termination_idle_seconds = 7200\n", "");
    let spec = spec(&text);
    let env = Env::start(&spec).await;
    env.apply(&spec).await;
    env.assert_converged(&spec).await;
    assert!(
        env.sandbox.requests().iter().any(|r| r.operation == "GetAutoTerminationPolicy" && r.status == 400),
        "the sandbox refused the read, and converge read on"
    );

    // Terminated by hand: while it shuts down EMR would refuse GetManagedScalingPolicy
    // (NO_SCALING_POLICY, should it end between two calls); converge reads a
    // terminating or terminated cluster's state and reason only, and plans it anew.
    let cluster = wait_for_cluster(&env, &spec, "WAITING").await;
    by_hand(&env, &Operation::Emr(EmrOp::TerminateCluster { cluster: Id::known(&cluster) })).await;
    let before = env.sandbox.requests().len();
    let plan = env.plan(&spec).await;
    assert_eq!(plan.change(&Address::new(Kind::EmrCluster, "notebooks")).map(|c| c.action), Some(Action::Create));
    let follow_ups =
        ["ListInstanceFleets", "ListBootstrapActions", "GetManagedScalingPolicy", "GetAutoTerminationPolicy"];
    let asked: Vec<String> = env.sandbox.requests()[before..]
        .iter()
        .filter(|r| follow_ups.contains(&r.operation.as_str()))
        .map(|r| r.operation.clone())
        .collect();
    assert!(asked.is_empty(), "nothing but its state is read of a finished cluster: {asked:?}");
    // The rebuild applies and converges.
    common::assert_success(&plan, &env.run(&plan).await);
    env.assert_converged(&spec).await;

    // EMR has no "not found" error of its own: terminating a cluster it does not know is done.
    let address = Address::new(Kind::EmrCluster, "gone");
    let gone = env
        .aws
        .start(&address, &Operation::Emr(EmrOp::TerminateCluster { cluster: Id::known("j-0NOSUCHCLUSTER") }))
        .await;
    assert!(matches!(gone, Ok(Outcome::Done(_))), "{gone:?}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_to_a_prefix_list_applies_and_converges() {
    let spec0 = spec(&studio());
    let env = Env::start(&spec0).await;
    // An S3 gateway endpoint in the VPC: its prefix list is what a rule names.
    let ec2 = common::ec2_client(&env).await;
    let vpc = "vpc-0b4cd1e283a3474c0";
    let main = ec2
        .describe_route_tables()
        .filters(aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(vpc).build())
        .send()
        .await
        .expect("route tables");
    let main = main.route_tables().iter().find(|t| t.associations().iter().any(|a| a.main() == Some(true)));
    let main = main.and_then(|t| t.route_table_id()).expect("the main route table").to_owned();
    ec2.create_vpc_endpoint()
        .vpc_id(vpc)
        .service_name("com.amazonaws.ap-northeast-1.s3")
        .route_table_ids(&main)
        .send()
        .await
        .expect("the S3 endpoint");
    let live = env.read(&spec0).await;
    let list = live
        .route_tables
        .iter()
        .flat_map(|t| &t.routes)
        .find(|r| r.destination.starts_with("pl-"))
        .expect("the endpoint's route")
        .destination
        .clone();
    assert!(live.vpc_endpoints.iter().any(|e| e.service_name.ends_with(".s3")));

    let text = edit(
        &studio(),
        "egress = [{ protocol = \"all\", cidr = \"0.0.0.0/0\", description = \"EMR, Service Catalog and S3 APIs through the NAT gateway\" }]",
        &format!(
            "egress = [\n  {{ protocol = \"all\", cidr = \"0.0.0.0/0\", description = \"EMR, Service Catalog and S3 APIs through the NAT gateway\" }},\n  {{ protocol = \"tcp\", ports = 443, prefix_list = \"{list}\", description = \"S3 through the gateway endpoint\" }},\n]"
        ),
    );
    let spec = spec(&text);
    env.apply(&spec).await;
    env.assert_converged(&spec).await;
    let studio_group = group_id(&env.read(&spec).await, "security_group.studio");
    assert!(rules_of(&env, &studio_group, "egress").contains(&format!("tcp 443-443 {list}")));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_resized_and_reconfigured_in_one_apply_converges() {
    let spec0 = spec(&studio());
    let env = Env::start(&spec0).await;
    env.apply(&spec0).await;
    wait_for_cluster(&env, &spec0, "WAITING").await;
    // A resize and a reconfiguration of the core fleet (EMR 5.21.0 and later): EMR takes one
    // change of a fleet at a time, so the reconfiguration waits for the resize to end.
    let text = edit(
        &studio(),
        "[emr_cluster.notebooks.core]\ninstance_types = [\"m5.xlarge\"]\non_demand = 2",
        "[emr_cluster.notebooks.core]\ninstance_types = [\"m5.xlarge\"]\non_demand = 3\nconfigurations = [{ classification = \"spark-defaults\", properties = { \"spark.executor.memory\" = \"8g\" } }]",
    );
    let spec = spec(&text);
    let plan = env.apply(&spec).await;
    assert_eq!(actions(&plan), ["emr_cluster.notebooks=update"]);
    env.assert_converged(&spec).await;
    let modifies: Vec<u16> =
        env.sandbox.requests().iter().filter(|r| r.operation == "ModifyInstanceFleet").map(|r| r.status).collect();
    assert_eq!(modifies, [200, 200], "no refusal: the reconfiguration waited for the resize");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_profile_of_an_sso_domain_names_its_identity_center_user() {
    let text = edit(&studio(), "auth_mode = \"IAM\"", "auth_mode = \"SSO\"");
    let text = edit(
        &text,
        "[sagemaker_user.alice]\ndomain = \"studio\"",
        "[sagemaker_user.alice]\ndomain = \"studio\"\nsso_user_name = \"alice@example.com\"",
    );
    let spec = spec(&text);
    let env = Env::start(&spec).await;
    env.apply(&spec).await;
    env.assert_converged(&spec).await;
    let live = env.read(&spec).await;
    assert_eq!(live.sagemaker_users[0].sso_user_name.as_deref(), Some("alice@example.com"));
    // Another user is another profile: SageMaker cannot change a profile's user.
    let other = edit(&text, "alice@example.com", "alice@corp.example.com");
    let plan = env.plan(&common::spec(&other)).await;
    assert_eq!(actions(&plan), ["sagemaker_user.alice=replace"]);
    env.stop().await;
}
