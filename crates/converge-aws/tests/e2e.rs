//! converge end to end through the real SDK clients against the sandbox
//! (pages of two, so every paginated read paginates): the reference specs
//! apply from an empty account, every class of change applies and leaves an
//! empty plan behind, destroy deletes exactly what the stack owns, and an
//! apply under throttling and server errors converges without duplicates.

mod common;

use std::time::Duration;

use common::{Env, action_of, actions, edit, reference, repo, spec, spec_with};
use converge_executor::Executor as _;
use converge_model::{Address, Tags};
use converge_ops::{Ec2Op, EmrOp, FleetConfig, IamOp, Id, InstanceTypeSpec, Operation, RunJobFlow};
use converge_plan::Action;
use converge_sandbox::{Config, Fault};

fn studio() -> String {
    reference("studio-emr.toml")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn studio_emr_applies_to_an_empty_account_and_the_next_plan_is_empty() {
    let spec = spec(&studio());
    let env = Env::start(&spec).await;
    let plan = env.apply(&spec).await;
    assert_eq!(plan.count(Action::Create), 15, "{:?}", actions(&plan));
    env.assert_converged(&spec).await;
    // The read paginated: ListRoles and friends were called more than once.
    let requests = env.sandbox.requests();
    assert!(requests.iter().filter(|r| r.operation == "GetAccountAuthorizationDetails").count() > 1);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etl_cluster_applies_to_an_empty_account_and_the_next_plan_is_empty() {
    let spec = spec(&reference("etl-cluster.toml"));
    let env = Env::start(&spec).await;
    env.apply(&spec).await;
    env.assert_converged(&spec).await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_the_applied_studio_stack_takes_at_most_31_calls() {
    let spec = spec(&studio());
    // AWS's own page sizes: this counts calls as they would be against AWS.
    let env = Env::start_with(&spec, Config::default()).await;
    env.apply(&spec).await;
    env.aws.stats().reset();
    env.read(&spec).await;
    let calls = env.aws.stats().total_calls();
    assert!(calls <= 31, "reading the stack took {calls} calls: {:#?}", env.aws.stats().snapshot());
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_place_updates_of_every_kind_apply_and_the_next_plan_is_empty() {
    let text = studio();
    let base = spec(&text);
    let env = Env::start(&base).await;
    env.apply(&base).await;

    let text = edit(
        &text,
        r#"tags = { Name = "studio-private-a" }"#,
        r#"tags = { Name = "studio-private-a", tier = "private" }"#,
    );
    let text = edit(&text, "Livy from Studio\"", "Livy from Studio notebooks\"");
    let text = edit(
        &text,
        "description = \"EMR core and task nodes\"",
        "description = \"EMR core and task nodes\"\ningress = [{ protocol = \"tcp\", ports = 22, cidr = \"10.0.0.0/16\", description = \"SSH from the VPC\" }]",
    );
    let text = edit(
        &text,
        "Service Catalog launch role for EMR templates",
        "Service Catalog launch role for the EMR templates",
    );
    let text = edit(&text, "  \"arn:aws:iam::aws:policy/AWSCloudFormationReadOnlyAccess\",\n", "");
    let text = edit(&text, "s3://ml-platform-artifacts/sharing/", "s3://ml-platform-artifacts/shared-notebooks/");
    let text = edit(
        &text,
        "domain = \"studio\"\nexecution_role",
        "domain = \"studio\"\nsecurity_groups = [\"studio\"]\nexecution_role",
    );
    let text = edit(&text, "EMR clusters data scientists can launch", "EMR clusters that data scientists can launch");
    let text = edit(&text, "Spark, Livy, Hive and Jupyter Enterprise Gateway", "Spark, Livy, Hive and JEG");
    let text = edit(
        &text,
        "instance_types = [\"m5.xlarge\"]\non_demand = 2",
        "instance_types = [\"m5.xlarge\"]\non_demand = 3",
    );
    let text = edit(
        &text,
        "auto_termination_idle_seconds = 7200",
        "auto_termination_idle_seconds = 3600\ntags = { owner = \"notebooks\" }",
    );
    let changed = spec(&text);

    let plan = env.apply(&changed).await;
    let expected = [
        "subnet.private_a",
        "security_group.emr_master",
        "security_group.emr_core",
        "iam_role.sc_launch",
        "sagemaker_domain.studio",
        "sagemaker_user.alice",
        "catalog_portfolio.emr_templates",
        "catalog_product.two_node",
        "emr_cluster.notebooks",
    ];
    for address in expected {
        assert_eq!(action_of(&plan, address), Some(Action::Update), "{address}: {:?}", actions(&plan));
    }
    assert_eq!(plan.count(Action::Update), plan.changes.len(), "only updates: {:?}", actions(&plan));
    env.assert_converged(&changed).await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_documents_and_templates_update_in_place() {
    let text = studio();
    let base = spec(&text);
    let env = Env::start(&base).await;
    env.apply(&base).await;

    // A trust policy, an inline policy's document, and a product's template.
    let text = edit(
        &text,
        r#"trust = ["servicecatalog.amazonaws.com"]"#,
        r#"trust = ["servicecatalog.amazonaws.com", "cloudformation.amazonaws.com"]"#,
    );
    let mut policy: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("specs/policies/emr-discovery.json")).expect("policy"),
    )
    .expect("policy JSON");
    policy["Statement"].as_array_mut().expect("statements").push(serde_json::json!({
        "Sid": "ReadNotebookBucket",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::ml-platform-artifacts/notebooks/*"
    }));
    let template = std::fs::read_to_string(repo().join("specs/templates/emr-two-node.yaml")).expect("template");
    let template = format!("{template}\n# Version 2: any change of content makes a new product version.\n");
    let files =
        [("policies/emr-discovery.json", policy.to_string()), ("templates/emr-two-node.yaml", template.clone())];
    let changed = spec_with(&text, &files);

    let plan = env.apply(&changed).await;
    for address in ["iam_role.sc_launch", "iam_role.sagemaker_execution", "catalog_product.two_node"] {
        assert_eq!(action_of(&plan, address), Some(Action::Update), "{address}: {:?}", actions(&plan));
    }
    assert_eq!(plan.count(Action::Update), plan.changes.len(), "only updates: {:?}", actions(&plan));
    let calls: Vec<&str> = plan.steps.steps().iter().map(|s| s.operation.aws_operation()).collect();
    for call in ["UpdateAssumeRolePolicy", "PutRolePolicy", "PutObject", "CreateProvisioningArtifact"] {
        assert!(calls.contains(&call), "{call} in {calls:?}");
    }
    env.assert_converged(&changed).await;

    // The new template is in the bucket under its content hash, and the product has a second version.
    let world = env.state();
    let objects = world["s3"]["buckets"]["ml-platform-artifacts"]["objects"].as_object().expect("objects");
    assert!(
        objects.values().any(|o| o["body"].as_array().is_some_and(|b| b.len() == template.len())),
        "the new template was uploaded: {:?}",
        objects.keys().collect::<Vec<_>>()
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_settings_update_in_place() {
    let text = reference("etl-cluster.toml");
    let base = spec(&text);
    let env = Env::start(&base).await;
    env.apply(&base).await;

    let text = edit(&text, "step_concurrency = 16", "step_concurrency = 8");
    let text = edit(&text, "max = 1936", "max = 1000");
    let text =
        edit(&text, "tags = { pipeline = \"small-jobs\" }", "tags = { pipeline = \"small-jobs\", tier = \"2\" }");
    let text = edit(&text, "resize = { spot_timeout_minutes = 10,", "resize = { spot_timeout_minutes = 15,");
    let text = edit(
        &text,
        "log_uri = \"s3://aws-logs-123456789012-us-east-1/elasticmapreduce/\"\ntermination_protection = true\nstep_concurrency = 8",
        "log_uri = \"s3://aws-logs-123456789012-us-east-1/elasticmapreduce/\"\ntermination_protection = false\nstep_concurrency = 8",
    );
    let changed = spec(&text);
    let plan = env.apply(&changed).await;
    for address in ["emr_cluster.shared", "emr_cluster.hourly"] {
        assert_eq!(action_of(&plan, address), Some(Action::Update), "{address}: {:?}", actions(&plan));
    }
    assert_eq!(plan.count(Action::Update), plan.changes.len(), "only updates: {:?}", actions(&plan));
    let calls: Vec<&str> = plan.steps.steps().iter().map(|s| s.operation.aws_operation()).collect();
    for call in
        ["ModifyCluster", "PutManagedScalingPolicy", "AddTags", "SetTerminationProtection", "ModifyInstanceFleet"]
    {
        assert!(calls.contains(&call), "{call} in {calls:?}");
    }
    env.assert_converged(&changed).await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacements_apply_and_the_next_plan_is_empty() {
    let text = studio();
    let base = spec(&text);
    let env = Env::start(&base).await;
    env.apply(&base).await;
    // A subnet's range and a role's path can only be set at creation.
    let text = edit(&text, "cidr = \"10.0.2.0/24\"", "cidr = \"10.0.3.0/24\"");
    let text = edit(
        &text,
        "description = \"Service Catalog launch role for EMR templates\"",
        "description = \"Service Catalog launch role for EMR templates\"\npath = \"/service-role/\"",
    );
    let changed = spec(&text);
    let plan = env.apply(&changed).await;
    assert_eq!(action_of(&plan, "subnet.private_c"), Some(Action::Replace), "{:?}", actions(&plan));
    assert_eq!(action_of(&plan, "iam_role.sc_launch"), Some(Action::Replace), "{:?}", actions(&plan));
    env.assert_converged(&changed).await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_rebuild_creates_the_new_cluster_before_it_terminates_the_old() {
    let text = studio();
    let base = spec(&text);
    let env = Env::start(&base).await;
    env.apply(&base).await;
    let old = env.read(&base).await.emr_clusters[0].id.clone();
    let changed = spec(&edit(&text, "release = \"emr-6.3.0\"", "release = \"emr-6.15.0\""));
    let plan = env.apply(&changed).await;
    assert_eq!(action_of(&plan, "emr_cluster.notebooks"), Some(Action::Replace));
    let operations: Vec<String> = env.sandbox.requests().into_iter().map(|r| r.operation).collect();
    let run = operations.iter().rposition(|op| op == "RunJobFlow").expect("a new cluster");
    let terminate = operations.iter().rposition(|op| op == "TerminateJobFlows").expect("the old one terminated");
    assert!(run < terminate, "the new cluster must be asked for before the old one is terminated");
    let live = env.read(&changed).await;
    let active: Vec<&str> = live.emr_clusters.iter().filter(|c| !c.is_terminated()).map(|c| c.id.as_str()).collect();
    assert_eq!(active.len(), 1, "one active cluster: {active:?}");
    assert_ne!(active[0], old);
    env.assert_converged(&changed).await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_removed_from_the_spec_is_deleted() {
    let text = studio();
    let base = spec(&text);
    let env = Env::start(&base).await;
    env.apply(&base).await;
    let changed = spec(&edit(
        &text,
        "[sagemaker_user.alice]\ndomain = \"studio\"\nexecution_role = \"sagemaker_execution\"\n",
        "",
    ));
    let plan = env.apply(&changed).await;
    assert_eq!(actions(&plan), ["sagemaker_user.alice=delete"]);
    assert!(env.read(&changed).await.sagemaker_users.is_empty());
    env.assert_converged(&changed).await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_moves_between_portfolios() {
    let text = studio();
    let base = spec(&text);
    let env = Env::start(&base).await;
    env.apply(&base).await;
    let second = "[catalog_portfolio.emr_templates_b]\ndisplay_name = \"EMR templates (team B)\"\nprovider = \"Data Platform\"\nprincipals = [\"sagemaker_execution\"]\n\n[catalog_product.two_node]";
    let text = edit(&text, "[catalog_product.two_node]", second);
    let changed = spec(&edit(&text, "portfolio = \"emr_templates\"", "portfolio = \"emr_templates_b\""));
    let plan = env.apply(&changed).await;
    assert_eq!(action_of(&plan, "catalog_product.two_node"), Some(Action::Update), "{:?}", actions(&plan));
    let live = env.read(&changed).await;
    let new_portfolio =
        live.catalog_portfolios.iter().find(|p| p.display_name == "EMR templates (team B)").expect("the new portfolio");
    let product = &live.catalog_products[0];
    assert_eq!(product.portfolio_ids, std::slice::from_ref(&new_portfolio.id));
    assert_eq!(product.launch_constraints.len(), 1);
    assert_eq!(product.launch_constraints[0].portfolio_id, new_portfolio.id);
    env.assert_converged(&changed).await;
    env.stop().await;
}

/// A security group, role and cluster made by hand in the stack's VPC and account.
async fn hand_made(env: &Env, vpc: &str, zone: &str) {
    let address = Address::new(converge_model::Kind::EmrCluster, "hand-made");
    let start = |operation: Operation| {
        let address = address.clone();
        async move {
            let outcome = env.aws.start(&address, &operation).await.unwrap_or_else(|e| panic!("{e}"));
            match outcome {
                converge_executor::Outcome::Done(output) | converge_executor::Outcome::Pending { output, .. } => {
                    output.id
                }
            }
        }
    };
    let none = Tags::new();
    let subnet = start(Operation::Ec2(Ec2Op::CreateSubnet {
        vpc: Id::known(vpc),
        cidr: "10.0.9.0/24".into(),
        availability_zone: zone.into(),
        tags: none.clone(),
    }))
    .await
    .expect("a subnet id");
    let mut groups = Vec::new();
    // The subnet is private (its route table sends 0.0.0.0/0 to a NAT gateway): EMR wants a service-access group.
    for name in ["hand-made-master", "hand-made-core", "hand-made-service-access"] {
        let group = start(Operation::Ec2(Ec2Op::CreateSecurityGroup {
            vpc: Id::known(vpc),
            name: name.into(),
            description: "made by hand".into(),
            tags: none.clone(),
        }));
        groups.push(group.await.expect("a group id"));
    }
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","elasticmapreduce.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#;
    start(Operation::Iam(IamOp::CreateRole {
        name: "hand-made-emr".into(),
        path: "/".into(),
        description: None,
        trust_policy: trust.into(),
        max_session_duration: 3600,
        tags: none.clone(),
    }))
    .await;
    start(Operation::Iam(IamOp::CreateInstanceProfile {
        name: "hand-made-emr".into(),
        role: "hand-made-emr".into(),
        tags: none.clone(),
    }))
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fleet = |role, on_demand| FleetConfig {
        role,
        name: None,
        instance_types: vec![InstanceTypeSpec {
            instance_type: "m5.xlarge".into(),
            weight: 1,
            bid_percent: None,
            ebs: vec![],
            ebs_optimized: None,
            configurations: vec![],
        }],
        on_demand,
        spot: 0,
        spot_timeout: None,
        spot_allocation: None,
        on_demand_allocation: None,
        resize: None,
    };
    let run = RunJobFlow {
        name: "hand-made".into(),
        release: "emr-6.15.0".into(),
        applications: vec!["Spark".into()],
        subnets: vec![Id::known(&subnet)],
        service_role: "hand-made-emr".into(),
        instance_profile: "hand-made-emr".into(),
        master_security_group: Some(Id::known(&groups[0])),
        core_security_group: Some(Id::known(&groups[1])),
        service_access_security_group: Some(Id::known(&groups[2])),
        additional_master_security_groups: vec![],
        additional_core_security_groups: vec![],
        log_uri: None,
        key_name: None,
        bootstrap: vec![],
        configurations: vec![],
        ebs_root_volume_size: None,
        ebs_root_volume_iops: None,
        ebs_root_volume_throughput: None,
        termination_protected: false,
        auto_termination_idle_seconds: None,
        step_concurrency: 1,
        fleets: vec![fleet(converge_model::FleetRole::Master, 1), fleet(converge_model::FleetRole::Core, 1)],
        scaling: None,
        tags: none,
    };
    start(Operation::Emr(EmrOp::RunJobFlow(Box::new(run)))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_deletes_what_the_stack_owns_and_nothing_else() {
    let spec = spec(&studio());
    let env = Env::start(&spec).await;
    env.apply(&spec).await;
    hand_made(&env, "vpc-0b4cd1e283a3474c0", "ap-northeast-1a").await;

    let live = env.read(&spec).await;
    let plan = converge_plan::plan_destroy(&spec, &live).expect("a destroy plan");
    assert_eq!(plan.count(Action::Delete), 15, "{:?}", actions(&plan));
    common::assert_success(&plan, &env.run(&plan).await);

    // Nothing with the ownership tag is left ...
    let after = env.read(&spec).await;
    assert!(after.subnets.is_empty() && after.security_groups.is_empty() && after.iam_roles.is_empty());
    assert!(after.sagemaker_domains.is_empty() && after.sagemaker_users.is_empty());
    assert!(after.catalog_portfolios.is_empty() && after.catalog_products.is_empty());
    assert!(after.emr_clusters.iter().all(|c| c.is_terminated()));
    let state = env.state().to_string();
    assert!(!state.contains("\"converge:stack\":\"ml-platform\"") || only_terminated_clusters_carry_it(&env.state()));
    // ... not even the NFS groups SageMaker left in the VPC (the domain's home EFS was deleted) ...
    assert!(!state.contains("security-group-for-inbound-nfs"), "the NFS groups are deleted with the domain");
    // ... and what converge does not own survives.
    let world = env.state();
    let groups: Vec<&str> =
        world["ec2"]["groups"].as_object().into_iter().flatten().filter_map(|(_, g)| g["name"].as_str()).collect();
    assert!(groups.contains(&"hand-made-master") && groups.contains(&"hand-made-core"), "{groups:?}");
    assert!(world["iam"]["roles"].as_object().is_some_and(|roles| roles.contains_key("hand-made-emr")));
    let cluster =
        world["emr"]["clusters"].as_object().into_iter().flatten().map(|(_, c)| c).find(|c| c["name"] == "hand-made");
    let cluster = cluster.expect("the hand-made cluster");
    assert!(
        !cluster["timeline"].to_string().contains("TERMINAT"),
        "the hand-made cluster still runs: {}",
        cluster["timeline"]
    );

    // Destroying again finds nothing to do.
    let again = converge_plan::plan_destroy(&spec, &env.read(&spec).await).expect("a destroy plan");
    assert!(again.is_empty());
    env.stop().await;
}

/// True when the only resources still tagged with the stack are terminated clusters (EMR lists those for a while).
fn only_terminated_clusters_carry_it(world: &serde_json::Value) -> bool {
    let mut holders = Vec::new();
    collect_tagged(world, "", &mut holders);
    holders.iter().all(|(path, value)| {
        path.starts_with("/emr/clusters/") && value["timeline"].to_string().contains("\"TERMINATED\"")
    })
}

fn collect_tagged<'a>(value: &'a serde_json::Value, path: &str, out: &mut Vec<(String, &'a serde_json::Value)>) {
    match value {
        serde_json::Value::Object(map) => {
            if map.get("tags").and_then(|t| t.get("converge:stack")).is_some() {
                out.push((path.to_owned(), value));
            }
            for (key, child) in map {
                collect_tagged(child, &format!("{path}/{key}"), out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_tagged(child, &format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_under_throttling_and_server_errors_converges_without_duplicates() {
    let spec = spec(&studio());
    let mut faults = Vec::new();
    for service in ["ec2", "iam", "sts", "emr", "sagemaker", "servicecatalog", "s3"] {
        faults.push(format!("{service}=throttle,rate=0.1").parse::<Fault>().expect("a fault"));
        faults.push(format!("{service}=internal_error,rate=0.02").parse::<Fault>().expect("a fault"));
    }
    let env =
        Env::start_with(&spec, Config { faults, seed: 7, page_size: Some(common::PAGE_SIZE), ..Config::default() })
            .await;
    env.apply(&spec).await;
    env.assert_converged(&spec).await;
    let requests = env.sandbox.requests();
    assert!(requests.iter().filter(|r| r.injected).count() > 10, "faults were injected");
    // One of each: a duplicate would be a second claim on an address, which the plan above would delete.
    let world = env.state();
    let mut holders = Vec::new();
    collect_tagged(&world, "", &mut holders);
    // By collection (`/iam/roles`, `/iam/instance_profiles`) and address.
    let mut addresses: Vec<String> = holders
        .iter()
        .filter_map(|(path, v)| {
            let collection = path.rsplit_once('/').map_or("", |(c, _)| c);
            Some(format!("{collection} {}", v["tags"]["converge:address"].as_str()?))
        })
        .collect();
    addresses.sort();
    let before = addresses.len();
    addresses.dedup();
    assert_eq!(before, addresses.len(), "a resource was created twice: {addresses:?}");
    env.stop().await;
}
