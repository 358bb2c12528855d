//! The policies of the reference specs, as `converge iam-policy` prints them.
//! The end-to-end proof that they allow every call converge makes is
//! `crates/converge-cli/tests/iam_policy.rs`; these snapshots show a reviewer
//! what each spec asks for.
#![expect(clippy::disallowed_methods, reason = "tests read the reference specs from disk")]

use std::path::Path;

use converge_policy::{Access, iam_action, policy};

fn spec(name: &str) -> converge_model::Spec {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs");
    let text = std::fs::read_to_string(dir.join(name)).expect("the reference spec");
    let loader = |relative: &str| std::fs::read_to_string(dir.join(relative)).map_err(|e| e.to_string());
    let checked = converge_spec::check(name, &text, &loader);
    checked.spec.unwrap_or_else(|| panic!("{name} is valid"))
}

#[test]
fn policies_of_the_reference_specs() {
    for name in ["studio-emr.toml", "etl-cluster.toml"] {
        let spec = spec(name);
        for (access, suffix) in [(Access::Full, "full"), (Access::ReadOnly, "read-only")] {
            let document = serde_json::to_string_pretty(&policy(&spec, access).document()).expect("JSON");
            insta::assert_snapshot!(format!("{}-{suffix}", name.trim_end_matches(".toml")), document);
        }
    }
}

#[test]
fn the_read_only_policy_grants_no_write_and_the_full_one_includes_it() {
    let spec = spec("studio-emr.toml");
    let read_only = policy(&spec, Access::ReadOnly);
    let full = policy(&spec, Access::Full);
    let reads = ["Describe", "Get", "List", "Search"];
    for action in read_only.actions() {
        let operation = action.split(':').nth(1).expect("service:Operation");
        assert!(reads.iter().any(|r| operation.starts_with(r)), "{action} in the read-only policy");
        assert!(full.allows(action), "{action} is in the full policy too");
    }
    assert!(full.allows("elasticmapreduce:RunJobFlow") && !read_only.allows("elasticmapreduce:RunJobFlow"));
}

#[test]
fn writes_follow_the_kinds_of_the_spec() {
    let mut spec = spec("etl-cluster.toml");
    assert!(policy(&spec, Access::Full).allows("elasticmapreduce:TerminateJobFlows"));
    assert!(!policy(&spec, Access::Full).allows("sagemaker:CreateDomain"), "etl has no Studio domain");
    spec.emr_clusters.clear();
    let without_clusters = policy(&spec, Access::Full);
    assert!(!without_clusters.allows("elasticmapreduce:RunJobFlow"));
    assert!(without_clusters.allows("elasticmapreduce:ListClusters"), "orphan clusters are still looked for");
    assert!(without_clusters.statements.iter().all(|s| !s.sid.starts_with("ConvergePassRoleToEmr")));
}

#[test]
fn calls_map_to_the_actions_that_authorise_them() {
    assert_eq!(iam_action("emr", "RunJobFlow"), "elasticmapreduce:RunJobFlow");
    assert_eq!(iam_action("s3", "HeadObject"), "s3:GetObject");
    assert_eq!(iam_action("s3", "ListObjectsV2"), "s3:ListBucket");
    assert_eq!(iam_action("servicecatalog", "SearchProductsAsAdmin"), "servicecatalog:SearchProductsAsAdmin");
}
