//! The JSON Schema of `converge schema` agrees with the checker: it accepts
//! every valid spec and rejects what the structural pass rejects.

#![expect(clippy::disallowed_methods, reason = "a test reads its fixtures")]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn as_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("spec is readable");
    toml::from_str(&text).expect("spec is TOML")
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&converge_spec::schema::json_schema()).expect("the schema compiles")
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path)).collect()
}

#[test]
fn reference_and_valid_specs_match_the_schema() {
    let validator = validator();
    let mut checked = 0;
    for dir in ["specs", "fixtures/spec/valid"] {
        for entry in std::fs::read_dir(root().join(dir)).expect("directory") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let found = errors(&validator, &as_json(&path));
                assert!(found.is_empty(), "{}: {found:#?}", path.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 4);
}

#[test]
fn schema_rejects_what_the_checker_rejects() {
    let validator = validator();
    let base = as_json(&root().join("specs/etl-cluster.toml"));

    let mut unknown_key = base.clone();
    unknown_key["emr_cluster"]["hourly"]["instance_type"] = json!("m5.xlarge");
    assert!(!errors(&validator, &unknown_key).is_empty(), "unknown key accepted");

    let mut nested_unknown_key = base.clone();
    nested_unknown_key["emr_cluster"]["hourly"]["task"]["ondemand"] = json!(2);
    assert!(!errors(&validator, &nested_unknown_key).is_empty(), "unknown nested key accepted");

    let mut unknown_kind = base.clone();
    unknown_kind["emr_clusters"] = json!({});
    assert!(!errors(&validator, &unknown_kind).is_empty(), "unknown kind accepted");

    let mut missing = base.clone();
    missing["subnet"]["etl_a"].as_object_mut().expect("table").remove("cidr");
    assert!(!errors(&validator, &missing).is_empty(), "missing required key accepted");

    let mut bad_enum = base.clone();
    bad_enum["emr_cluster"]["shared"]["scaling"]["unit"] = json!("Units");
    assert!(!errors(&validator, &bad_enum).is_empty(), "unknown enum value accepted");

    let mut out_of_range = base;
    out_of_range["emr_cluster"]["shared"]["task"]["spot_timeout_minutes"] = json!(2);
    assert!(!errors(&validator, &out_of_range).is_empty(), "out-of-range value accepted");
}

#[test]
fn environments_override_partially_and_only_what_the_language_has() {
    let validator = validator();
    let mut base = as_json(&root().join("specs/etl-cluster.toml"));
    base["stack"].as_object_mut().expect("stack").remove("account");
    assert!(!errors(&validator, &base).is_empty(), "without environments the stack needs its account");

    base["env"] = json!({
        "staging": { "stack": { "account": "111111111111" }, "emr_cluster": { "hourly": { "core": { "on_demand": 2 } } }, "omit": ["emr_cluster.shared"] },
        "production": { "stack": { "account": "222222222222" } },
    });
    let found = errors(&validator, &base);
    assert!(found.is_empty(), "{found:#?}");

    let mut typo = base.clone();
    typo["env"]["staging"]["emr_cluster"]["hourly"]["core"]["on_demnd"] = json!(2);
    assert!(!errors(&validator, &typo).is_empty(), "an unknown key in an override");
    let mut unknown = base;
    unknown["env"]["staging"]["emr_clusters"] = json!({});
    assert!(!errors(&validator, &unknown).is_empty(), "an unknown kind in an environment");
}

#[test]
fn recursive_configurations_are_a_definition() {
    let schema = converge_spec::schema::json_schema();
    let defs = schema["$defs"].as_object().expect("the nested configurations need $defs");
    assert_eq!(defs.len(), 1);
    let validator = validator();
    let mut spec = as_json(&root().join("specs/etl-cluster.toml"));
    spec["emr_cluster"]["hourly"]["configurations"][0]["configurations"] =
        json!([{ "classification": "export", "properties": { "JAVA_HOME": "/usr/lib/jvm" }, "unknown": 1 }]);
    assert!(!errors(&validator, &spec).is_empty(), "unknown key inside a nested configuration accepted");
}
