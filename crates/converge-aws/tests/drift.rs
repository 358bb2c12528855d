//! Drift end to end: changes made outside converge, through the real SDK
//! clients (converge's own operations, called by hand as a person at the
//! console would) and the sandbox's admin API (managed scaling, failures,
//! Spot reclaims), and what `converge drift` makes of them.

mod common;

use common::{Env, by_hand, edit, reference, spec};
use converge_model::{NetworkAccess, STUDIO_VISIBILITY_TAG, Spec, Tags};
use converge_ops::{Direction, Ec2Op, IamOp, Id, IpProtocol, Operation, Peer, Rule, SagemakerOp, TagOp, Tagged};
use converge_plan::drift::{Cause, Drift, Ignore};
use converge_sandbox::ClusterEvent;

async fn drift(env: &Env, spec: &Spec, ignore: &[Ignore]) -> Drift {
    let live = env.read(spec).await;
    converge_plan::drift::drift(spec, &live, ignore).unwrap_or_else(|errors| panic!("no report: {errors:?}"))
}

fn causes(report: &Drift) -> Vec<(String, &'static str)> {
    let mut causes: Vec<(String, &'static str)> =
        report.resources.iter().map(|r| (r.address.to_string(), r.cause.as_str())).collect();
    causes.sort();
    causes
}

fn entry<'a>(report: &'a Drift, address: &str) -> &'a converge_plan::drift::ResourceDrift {
    report
        .resources
        .iter()
        .find(|r| r.address.to_string() == address)
        .unwrap_or_else(|| panic!("`{address}` is not in the report:\n{}", converge_plan::drift::text(report)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_tells_changes_in_aws_from_spec_edits_not_applied() {
    let text = reference("studio-emr.toml");
    let spec = spec(&text);
    let env = Env::start(&spec).await;
    env.apply(&spec).await;
    let report = drift(&env, &spec, &[]).await;
    assert!(report.is_empty(), "right after an apply:\n{}", converge_plan::drift::text(&report));

    let live = env.read(&spec).await;
    let id = |address: &str| -> String {
        let group = |name: &str| {
            live.security_groups.iter().find(|g| g.tags.get("converge:address").is_some_and(|a| a == name))
        };
        match address {
            "master" => group("security_group.emr_master").expect("the group").id.clone(),
            "domain" => live.sagemaker_domains[0].id.clone(),
            "product" => live.catalog_products[0].id.clone(),
            "cluster" => live.emr_clusters[0].id.clone(),
            _ => unreachable!(),
        }
    };
    // A rule added to a security group at the console.
    by_hand(
        &env,
        &Operation::Ec2(Ec2Op::AuthorizeRules {
            group: Id::known(id("master")),
            direction: Direction::Ingress,
            rules: vec![Rule {
                protocol: IpProtocol::Tcp,
                from_port: Some(22),
                to_port: Some(22),
                peer: Peer::Cidr("0.0.0.0/0".into()),
                description: Some("debugging".into()),
            }],
        }),
    )
    .await;
    // A managed policy detached from a role.
    by_hand(
        &env,
        &Operation::Iam(IamOp::DetachRolePolicies {
            role: "sc_launch".into(),
            policy_arns: vec!["arn:aws:iam::aws:policy/AWSCloudFormationReadOnlyAccess".into()],
        }),
    )
    .await;
    // A domain setting changed.
    by_hand(
        &env,
        &Operation::Sagemaker(SagemakerOp::UpdateDomain {
            domain: Id::known(id("domain")),
            network_access: Some(NetworkAccess::PublicInternetOnly),
            subnets: None,
            default_user_settings: None,
        }),
    )
    .await;
    // The tag that shows the product in Studio removed.
    by_hand(
        &env,
        &Operation::Tags(TagOp::SetTags {
            target: Tagged::Product { product: Id::known(id("product")) },
            set: Tags::new(),
            remove: vec![STUDIO_VISIBILITY_TAG.into()],
        }),
    )
    .await;
    // The cluster fails.
    let cluster = id("cluster");
    env.sandbox
        .cluster_event(&ClusterEvent::Fail {
            cluster: cluster.clone(),
            code: "INSTANCE_FAILURE".into(),
            message: "The master node was lost".into(),
        })
        .expect("the cluster fails");
    // And the spec is edited, not applied.
    let edited = spec_text_edit(&text);
    let edited = common::spec(&edited);

    let ended = |r: &Drift| {
        r.resources.iter().any(|x| {
            matches!(&x.cause, Cause::TerminatedInAws { reason: Some(reason), .. } if reason.starts_with("TERMINATED_WITH_ERRORS"))
        })
    };
    let report = common_until(&env, &edited, ended).await;
    let shown = converge_plan::drift::text(&report);
    assert_eq!(
        causes(&report),
        [
            ("catalog_product.two_node".to_owned(), "changed_in_aws"),
            ("emr_cluster.notebooks".to_owned(), "terminated_in_aws"),
            ("iam_role.sagemaker_execution".to_owned(), "spec_not_applied"),
            ("iam_role.sc_launch".to_owned(), "changed_in_aws"),
            ("sagemaker_domain.studio".to_owned(), "changed_in_aws"),
            ("security_group.emr_master".to_owned(), "changed_in_aws"),
        ],
        "{shown}"
    );
    let field = |address: &str, path: &str| {
        entry(&report, address)
            .fields
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("`{address}.{path}` is not in the report:\n{shown}"))
            .clone()
    };
    assert!(field("security_group.emr_master", "ingress").actual.to_string().contains("0.0.0.0/0"), "{shown}");
    assert!(
        field("iam_role.sc_launch", "managed_policies")
            .expected
            .to_string()
            .contains("AWSCloudFormationReadOnlyAccess")
    );
    assert_eq!(field("sagemaker_domain.studio", "network_access").actual.to_string(), "\"PublicInternetOnly\"");
    assert!(field("catalog_product.two_node", "tags").expected.to_string().contains(STUDIO_VISIBILITY_TAG), "{shown}");
    let Cause::TerminatedInAws { cluster: terminated, reason } = &entry(&report, "emr_cluster.notebooks").cause else {
        unreachable!()
    };
    assert_eq!(terminated, &cluster);
    assert!(
        reason.as_deref().is_some_and(|r| r.contains("TERMINATED_WITH_ERRORS") && r.contains("master node was lost")),
        "{reason:?}"
    );
    assert!(shown.contains("Changed in AWS") && shown.contains("Spec changes not applied yet"), "{shown}");
    assert_eq!(report.aws().count(), 5);
    assert_eq!(report.pending().count(), 1);

    // `--ignore` leaves out a resource, or one field.
    let ignore = [
        Ignore::parse("security_group.emr_master").expect("parses"),
        Ignore::parse("sagemaker_domain.studio.network_access").expect("parses"),
    ];
    let report = drift(&env, &edited, &ignore).await;
    assert!(
        !causes(&report).iter().any(|(a, _)| a == "security_group.emr_master" || a == "sagemaker_domain.studio"),
        "{:?}",
        causes(&report)
    );

    // Applying the edited spec repairs everything, and there is no drift left.
    env.apply(&edited).await;
    let report = drift(&env, &edited, &[]).await;
    assert!(report.is_empty(), "after the repair:\n{}", converge_plan::drift::text(&report));
    env.stop().await;
}

/// The studio spec with the execution role's description changed.
fn spec_text_edit(text: &str) -> String {
    edit(
        text,
        "description = \"Execution role of SageMaker Studio users\"",
        "description = \"Execution role of the Studio users\"",
    )
}

/// The drift report once `done` holds (the failed cluster takes a moment to terminate).
async fn common_until(env: &Env, spec: &Spec, done: impl Fn(&Drift) -> bool) -> Drift {
    for _ in 0..100 {
        let report = drift(env, spec, &[]).await;
        if done(&report) {
            return report;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the report never showed the change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_that_scaling_owns_is_drift_only_outside_its_range() {
    let spec = spec(&reference("etl-cluster.toml"));
    let env = Env::start(&spec).await;
    env.apply(&spec).await;
    let live = env.read(&spec).await;
    let cluster = |name: &str| {
        live.emr_clusters
            .iter()
            .find(|c| c.tags.get("converge:address").is_some_and(|a| a == &format!("emr_cluster.{name}")))
            .expect("the cluster")
            .id
            .clone()
    };
    let (hourly, shared) = (cluster("hourly"), cluster("shared"));
    let play = |event: ClusterEvent| env.sandbox.cluster_event(&event).expect("the event plays");
    // The team's scheduler sizes the hourly task fleet inside its range, managed
    // scaling grows the shared one inside its limits, and EC2 takes Spot instances back.
    play(ClusterEvent::Capacity { cluster: hourly.clone(), fleet: "task".into(), on_demand: 32, spot: 480 });
    play(ClusterEvent::Capacity { cluster: shared.clone(), fleet: "task".into(), on_demand: 0, spot: 128 });
    play(ClusterEvent::LoseSpot { cluster: hourly.clone(), fleet: "task".into(), units: 64 });
    let report = drift(&env, &spec, &[]).await;
    assert!(report.is_empty(), "capacity inside its range is not drift:\n{}", converge_plan::drift::text(&report));

    // Outside the range it is.
    play(ClusterEvent::Capacity { cluster: hourly, fleet: "task".into(), on_demand: 32, spot: 1200 });
    let report = drift(&env, &spec, &[]).await;
    let shown = converge_plan::drift::text(&report);
    assert_eq!(causes(&report), [("emr_cluster.hourly".to_owned(), "changed_in_aws")], "{shown}");
    let fields: Vec<String> = entry(&report, "emr_cluster.hourly")
        .fields
        .iter()
        .map(|f| format!("{}: {} → {}", f.path, f.actual, f.expected))
        .collect();
    assert_eq!(fields, ["task.spot: 1200 → 960"], "{shown}");
    env.stop().await;
}

const SMALL: &str = r#"
[stack]
name = "digests"
region = "us-east-1"
account = "123456789012"

[vpc.main]
id = "vpc-0a1b2c3d4e5f60718"
cidrs = ["10.20.0.0/16"]

[subnet.a]
vpc = "main"
cidr = "10.20.0.0/20"
availability_zone = "us-east-1a"

[iam_role.etl]
trust = ["ec2.amazonaws.com"]
managed_policies = ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]
"#;

fn digest_tag(live: &converge_model::LiveState, kind: &str) -> Option<String> {
    let tags = match kind {
        "role" => &live.iam_roles.iter().find(|r| r.name == "etl")?.tags,
        _ => &live.subnets.first()?.tags,
    };
    tags.get(converge_model::live::SPEC_DIGEST_TAG).cloned()
}

/// A role whose managed policy ARN is mistyped: CreateRole succeeds,
/// AttachRolePolicy fails. The role then says `pending`, and drift reports
/// converge's own unfinished apply, not a change made in AWS; once the ARN is
/// fixed, the next apply attaches it and records the digest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_whose_follow_up_failed_is_an_apply_not_finished() {
    let typo = edit(SMALL, "AmazonS3ReadOnlyAccess", "AmazonS3ReadOnlyAcess");
    let spec_typo = spec(&typo);
    let env = Env::start(&spec_typo).await;
    let plan = env.plan(&spec_typo).await;
    let report = env.run(&plan).await;
    assert!(!report.is_success(), "AttachRolePolicy of a policy that does not exist fails");
    let live = env.read(&spec_typo).await;
    assert_eq!(digest_tag(&live, "role").as_deref(), Some("pending"), "the role's last steps did not run");
    assert!(digest_tag(&live, "subnet").is_some_and(|d| d.starts_with("v2:")), "a one-step create records at once");

    let report = drift(&env, &spec_typo, &[]).await;
    assert_eq!(causes(&report), [("iam_role.etl".to_owned(), "apply_not_finished")]);
    assert!(!report.resources[0].cause.is_aws(), "converge's work, not AWS's");
    assert!(converge_plan::drift::text(&report).contains("apply not finished"));

    let fixed = spec(SMALL);
    env.apply(&fixed).await;
    let live = env.read(&fixed).await;
    assert_eq!(
        digest_tag(&live, "role"),
        converge_plan::spec_digest(&fixed, &converge_model::Address::parse("iam_role.etl").expect("an address"))
    );
    env.assert_converged(&fixed).await;
    assert!(drift(&env, &fixed, &[]).await.is_empty());
    env.stop().await;
}

/// Tags written by an older converge (20 hex digits, no version) are not
/// edits: no drift while AWS matches, "differs" (not "spec not applied")
/// when it does not, and the next apply rewrites them without a change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digests_of_an_older_format_are_not_edits_and_the_next_apply_rewrites_them() {
    let spec = spec(SMALL);
    let env = Env::start(&spec).await;
    env.apply(&spec).await;
    let live = env.read(&spec).await;
    let subnet = live.subnets[0].id.clone();
    let older = Tags::from([(converge_model::live::SPEC_DIGEST_TAG.to_owned(), "00c1d6ce0f80647fa8ac".to_owned())]);
    by_hand(
        &env,
        &Operation::Tags(TagOp::SetTags {
            target: Tagged::Ec2 { id: Id::known(&subnet) },
            set: older.clone(),
            remove: vec![],
        }),
    )
    .await;
    by_hand(
        &env,
        &Operation::Tags(TagOp::SetTags { target: Tagged::IamRole { name: "etl".into() }, set: older, remove: vec![] }),
    )
    .await;

    assert!(drift(&env, &spec, &[]).await.is_empty(), "an older digest alone is not drift");
    by_hand(
        &env,
        &Operation::Iam(IamOp::DetachRolePolicies {
            role: "etl".into(),
            policy_arns: vec!["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".into()],
        }),
    )
    .await;
    assert_eq!(causes(&drift(&env, &spec, &[]).await), [("iam_role.etl".to_owned(), "differs")]);

    let plan = env.plan(&spec).await;
    assert_eq!(common::actions(&plan), ["iam_role.etl=update"]);
    let rewritten: Vec<String> = plan.digests.iter().map(|d| d.address.to_string()).collect();
    assert_eq!(rewritten, ["subnet.a"], "the updated role records its digest with its update");
    assert!(
        converge_plan::render::text(&plan, converge_plan::render::Style::plain())
            .contains("written by an older converge"),
        "the plan says so, quietly"
    );
    common::assert_success(&plan, &env.run(&plan).await);
    let live = env.read(&spec).await;
    for kind in ["role", "subnet"] {
        assert!(digest_tag(&live, kind).is_some_and(|d| d.starts_with("v2:")), "{kind} is re-tagged");
    }
    let next = env.plan(&spec).await;
    assert!(next.is_empty() && next.digests.is_empty() && next.steps.is_empty(), "nothing left to record");
    env.stop().await;
}
