//! The comparison of two environments' definitions, from the reference spec.

use converge_compare::{Environment, Presence, compare};

fn reference() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs/ml-platform.toml");
    std::fs::read_to_string(path).expect("the reference spec")
}

fn environment(text: &str, name: &str) -> (converge_model::Spec, Vec<converge_spec::Setting>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs");
    let loader = move |relative: &str| std::fs::read_to_string(dir.join(relative)).map_err(|e| e.to_string());
    let checked = converge_spec::check_environment("specs/ml-platform.toml", text, &loader, name).expect("declared");
    let rendered = checked.render();
    let spec = checked.spec.unwrap_or_else(|| panic!("{rendered}"));
    (spec, converge_spec::settings(text, Some(name)).expect("settings"))
}

#[test]
fn the_definitions_differ_where_the_environments_set_values_and_nowhere_else() {
    let text = reference();
    let (staging_spec, staging) = environment(&text, "staging");
    let (production_spec, production) = environment(&text, "production");
    let comparison = compare(
        "specs/ml-platform.toml",
        &Environment { spec: &staging_spec, settings: &staging },
        &Environment { spec: &production_spec, settings: &production },
    );
    let owners: Vec<(&str, Presence)> = comparison.differences.iter().map(|d| (d.owner.as_str(), d.presence)).collect();
    assert_eq!(
        owners,
        [
            ("stack", Presence::Both),
            ("emr_cluster.hourly", Presence::Both),
            ("emr_cluster.notebooks", Presence::Both),
            ("sagemaker_user.bob", Presence::Only(1)),
            ("sagemaker_user.carol", Presence::Only(1)),
            ("vpc.main", Presence::Both),
        ]
    );
    // Alike: what is defined alike and refers only to what is alike; the VPC's
    // id differs, so nothing in it is, and the stack's tags differ, so no tags are.
    assert!(comparison.defined_alike("iam_role.sagemaker_execution", "managed_policies"));
    assert!(!comparison.defined_alike("iam_role.sagemaker_execution", "tags"), "the stack's tags differ");
    assert!(!comparison.defined_alike("security_group.emr_master", "ingress"), "its VPC differs");
    assert!(!comparison.defined_alike("sagemaker_user.alice", "execution_role"), "its domain is in the VPC");
    assert!(!comparison.defined_alike("emr_cluster.hourly", "release"), "the cluster differs elsewhere");
    assert!(!comparison.defined_alike("sagemaker_user.bob", "tags"), "a resource only one has");
    assert!(comparison.as_defined(), "without AWS, the definition is all there is");
    insta::assert_snapshot!(converge_compare::text(&comparison));
    insta::assert_snapshot!(converge_compare::markdown(&comparison));
    insta::assert_json_snapshot!(converge_compare::json(&comparison));
}

#[test]
fn a_spec_compared_with_itself_is_defined_alike() {
    let text = reference();
    let (spec, settings) = environment(&text, "staging");
    let side = Environment { spec: &spec, settings: &settings };
    let comparison = compare("specs/ml-platform.toml", &side, &side);
    assert!(comparison.differences.is_empty());
    assert_eq!(converge_compare::summary(&comparison), "Definition: the environments are defined alike.");
    assert!(comparison.defined_alike("security_group.emr_master", "ingress"));
    assert!(comparison.defined_alike("emr_cluster.hourly", "tags"));
    assert!(converge_spec::settings(&text, Some("qa")).is_none(), "an environment the spec does not declare");
}
