//! The comparison of two environments' definitions, from the reference spec.

use converge_compare::{Environment, Presence, compare};

fn reference() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs/ml-platform.toml");
    std::fs::read_to_string(path).expect("the reference spec")
}

#[test]
fn the_definitions_differ_where_the_environments_set_values_and_nowhere_else() {
    let text = reference();
    let staging = converge_spec::settings(&text, Some("staging")).expect("staging");
    let production = converge_spec::settings(&text, Some("production")).expect("production");
    let side = |name, account, settings| Environment { name, account, region: "ap-northeast-1", settings };
    let comparison = compare(
        "specs/ml-platform.toml",
        &side("staging", "111111111111", &staging),
        &side("production", "222222222222", &production),
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
    assert!(comparison.defined_alike("security_group.emr_master", "ingress"), "a resource defined alike");
    assert!(comparison.defined_alike("emr_cluster.hourly", "release"), "a field defined alike");
    assert!(!comparison.defined_alike("emr_cluster.hourly", "task.spot"), "a field the environments set");
    assert!(!comparison.defined_alike("emr_cluster.hourly", "task"), "a field holding one they set");
    assert!(!comparison.defined_alike("sagemaker_user.bob", "tags"), "a resource only one has");
    assert!(comparison.as_defined(), "without AWS, the definition is all there is");
    insta::assert_snapshot!(converge_compare::text(&comparison));
    insta::assert_snapshot!(converge_compare::markdown(&comparison));
    insta::assert_json_snapshot!(converge_compare::json(&comparison));
}

#[test]
fn a_spec_compared_with_itself_is_defined_alike() {
    let text = reference();
    let staging = converge_spec::settings(&text, Some("staging")).expect("staging");
    let side = Environment { name: "staging", account: "111111111111", region: "ap-northeast-1", settings: &staging };
    let comparison = compare("specs/ml-platform.toml", &side, &side);
    assert!(comparison.differences.is_empty());
    assert_eq!(converge_compare::summary(&comparison), "Definition: the environments are defined alike.");
    assert!(converge_spec::settings(&text, Some("qa")).is_none(), "an environment the spec does not declare");
}
