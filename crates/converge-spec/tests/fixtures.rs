//! Data-driven tests: every spec under `fixtures/spec/` and `specs/`.
//!
//! `fixtures/spec/invalid/<code>[-<variant>].toml` must produce a diagnostic
//! with that code; its rendered diagnostics are snapshotted. Files under
//! `fixtures/spec/valid/` and the reference specs in `specs/` must produce no
//! diagnostic at all. Review snapshot changes with `cargo insta review`.

#![expect(clippy::disallowed_methods, reason = "a test reads its fixtures")]

use std::path::{Path, PathBuf};

use converge_spec::{Checked, codes};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root exists")
}

/// Checks a spec file the way `converge validate` does, naming it relative to the workspace.
fn check_path(path: &Path) -> Checked {
    let root = workspace_root();
    let text = std::fs::read_to_string(path).expect("fixture is readable");
    let display = path.strip_prefix(&root).unwrap_or(path).to_string_lossy().replace('\\', "/");
    let dir = path.parent().expect("fixture has a directory").to_path_buf();
    let loader = move |relative: &str| std::fs::read_to_string(dir.join(relative)).map_err(|error| error.to_string());
    converge_spec::check(&display, &text, &loader)
}

/// The code a fixture is named after: the longest code name that is the file stem or its prefix.
fn code_of_fixture(stem: &str) -> &'static str {
    codes::ALL
        .iter()
        .map(|code| code.name)
        .filter(|name| stem == *name || stem.starts_with(&format!("{name}-")))
        .max_by_key(|name| name.len())
        .unwrap_or_else(|| panic!("fixture `{stem}` is not named after a diagnostic code"))
}

#[test]
fn invalid_fixtures_report_their_code() {
    insta::glob!("../../../fixtures/spec/invalid", "*.toml", |path| {
        let checked = check_path(path);
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("utf-8 file name");
        let expected = code_of_fixture(stem);
        let found: Vec<&str> = checked.diagnostics.iter().map(|d| d.code.name).collect();
        assert!(found.contains(&expected), "{stem}: expected a `{expected}` diagnostic, found {found:?}");
        if codes::by_name(expected).is_some_and(|code| code.severity == codes::Severity::Error) {
            assert!(checked.spec.is_none(), "{stem}: a spec with errors must not produce a model");
        }
        insta::assert_snapshot!(checked.render());
    });
}

#[test]
fn every_code_has_a_fixture() {
    let dir = workspace_root().join("fixtures/spec/invalid");
    let stems: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures directory")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "toml").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    let missing: Vec<&str> = codes::ALL
        .iter()
        .map(|code| code.name)
        .filter(|name| *name != codes::INTERNAL.name)
        .filter(|name| !stems.iter().any(|stem| code_of_fixture(stem) == *name))
        .collect();
    assert!(missing.is_empty(), "codes without a fixture in fixtures/spec/invalid: {missing:?}");
}

#[test]
fn reference_and_valid_specs_have_no_diagnostics() {
    let root = workspace_root();
    let mut paths: Vec<PathBuf> = Vec::new();
    for dir in ["specs", "fixtures/spec/valid"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("spec directory") {
            let path = entry.expect("directory entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    assert!(paths.len() >= 2, "the reference specs are missing");
    for path in paths {
        let checked = check_path(&path);
        assert!(checked.diagnostics.is_empty(), "{}:\n{}", path.display(), checked.render());
        if checked.environments.is_empty() {
            assert!(checked.spec.is_some(), "{} produced no model", path.display());
        }
        for environment in &checked.environments {
            let checked = check_environment(&path, environment);
            assert!(checked.diagnostics.is_empty(), "{} ({environment}):\n{}", path.display(), checked.render());
            let spec = checked.spec.unwrap_or_else(|| panic!("{} ({environment}) produced no model", path.display()));
            assert_eq!(spec.stack.environment.as_deref(), Some(environment.as_str()));
        }
    }
}

/// One environment's stack, checked the way `converge plan --env` does.
fn check_environment(path: &Path, environment: &str) -> Checked {
    let text = std::fs::read_to_string(path).expect("fixture is readable");
    let dir = path.parent().expect("fixture has a directory").to_path_buf();
    let loader = move |relative: &str| std::fs::read_to_string(dir.join(relative)).map_err(|error| error.to_string());
    converge_spec::check_environment(&path.display().to_string(), &text, &loader, environment)
        .expect("the environment is declared")
}

#[test]
fn an_environment_is_the_base_with_its_values_laid_over_it() {
    let path = workspace_root().join("fixtures/spec/valid/environments.toml");
    let checked = check_path(&path);
    assert_eq!(checked.environments, ["staging", "production"]);
    assert!(checked.spec.is_none(), "a spec with environments is a stack only through one of them");

    let staging = check_environment(&path, "staging").spec.expect("valid");
    assert_eq!(staging.stack.account, "111111111111", "overridden");
    assert_eq!(staging.stack.name, "fixture", "inherited");
    assert_eq!(staging.stack.tags.get("environment").map(String::as_str), Some("staging"));
    let core = staging.emr_clusters["etl"].core.as_ref().expect("core fleet");
    assert_eq!(core.instance_types.len(), 1, "a table merges key by key: the base's instance types stay");

    let production = check_environment(&path, "production").spec.expect("valid");
    assert_eq!(production.stack.account, "123456789012");
    assert_ne!(production.emr_clusters["etl"], staging.emr_clusters["etl"]);
    assert!(converge_spec::check_environment("x.toml", "", &converge_spec::NoFiles, "staging").is_none());
}

#[test]
fn reference_specs_read_into_the_model() {
    let checked = check_path(&workspace_root().join("specs/etl-cluster.toml"));
    let spec = checked.spec.expect("valid");
    let hourly = &spec.emr_clusters["hourly"];
    let task = hourly.task.as_ref().expect("task fleet");
    assert_eq!(task.instance_types.len(), 6);
    assert_eq!(task.instance_types[1].weight, 96);
    assert_eq!(
        hourly.configuration_property("yarn-site", "yarn.node-labels.am.default-node-label-expression"),
        Some("CORE")
    );
    assert_eq!(spec.emr_clusters["shared"].scaling.as_ref().map(|s| s.max), Some(1936));

    let checked = check_path(&workspace_root().join("specs/studio-emr.toml"));
    let spec = checked.spec.expect("valid");
    let policy = &spec.iam_roles["sagemaker_execution"].inline_policies["AllowSagemakerProjectManagement"];
    assert!(policy.text.contains("servicecatalog:SearchProducts"), "the policy file was loaded");
    assert!(spec.catalog_products["two_node"].template.text.contains("AWS::EMR::Cluster"));
}

#[test]
fn json_output_is_stable() {
    let checked = check_path(&workspace_root().join("fixtures/spec/invalid/livy-port-closed.toml"));
    insta::assert_json_snapshot!(checked.to_json());
}
