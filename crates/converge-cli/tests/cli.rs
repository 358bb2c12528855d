//! End-to-end tests of the `converge` binary: exit codes and output shape.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// Runs `converge` from the workspace root, so paths in output are relative.
fn converge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_converge")).args(args).current_dir(root()).output().expect("converge runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn valid_specs_exit_zero() {
    for spec in ["specs/studio-emr.toml", "specs/etl-cluster.toml"] {
        let output = converge(&["validate", spec]);
        assert_eq!(output.status.code(), Some(0), "{spec}: {}", stderr(&output));
        assert!(stderr(&output).contains("is valid"), "{}", stderr(&output));
        assert!(output.stdout.is_empty(), "text diagnostics go to stderr");
    }
}

#[test]
fn invalid_spec_exits_one_with_diagnostics_on_stderr() {
    let output = converge(&["validate", "fixtures/spec/invalid/wrong-kind-reference.toml"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    insta::assert_snapshot!(stderr(&output));
}

#[test]
fn json_format_goes_to_stdout() {
    let output = converge(&["validate", "fixtures/spec/invalid/reference-cycle.toml", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    assert_eq!(document["version"], 1);
    assert_eq!(document["valid"], false);
    assert_eq!(document["errors"], 2);
    assert_eq!(document["diagnostics"][0]["code"], "reference-cycle");
    assert_eq!(document["diagnostics"][0]["location"]["line"], 7);

    let output = converge(&["validate", "specs/etl-cluster.toml", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    assert_eq!(document["valid"], true);
    assert_eq!(document["diagnostics"].as_array().map(Vec::len), Some(0));
}

#[test]
fn warnings_do_not_fail_validation() {
    let output = converge(&["validate", "fixtures/spec/invalid/single-subnet.toml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("warning[single-subnet]"));
    assert!(stderr(&output).contains("is valid: 6 resources, 1 warning"), "{}", stderr(&output));
}

#[test]
fn schema_prints_a_json_schema() {
    let output = converge(&["schema"]);
    assert_eq!(output.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert!(schema["properties"]["emr_cluster"].is_object());
}

#[test]
fn unreadable_specs_are_errors_not_panics() {
    let output = converge(&["validate", "no/such/spec.toml"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).starts_with("error: cannot read the spec `no/such/spec.toml`"), "{}", stderr(&output));

    let dir = std::env::temp_dir().join(format!("converge-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let binary = dir.join("binary.toml");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x5b]).expect("write");
    let output = converge(&["validate", binary.to_str().expect("utf-8 path")]);
    std::fs::remove_dir_all(&dir).expect("clean up");
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("is not UTF-8 text"), "{}", stderr(&output));
    assert!(stderr(&output).contains("hint: save the file as UTF-8"), "{}", stderr(&output));
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn plan_exit_codes_follow_detailed_exitcode() {
    let case = |name: &str| (format!("fixtures/plan/{name}/spec.toml"), format!("fixtures/plan/{name}/live.json"));
    let (spec, live) = case("no-changes");
    let output = converge(&["plan", &spec, "--live", &live, "--detailed-exitcode"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("No changes: 14 resources match the spec."));

    let (spec, live) = case("emr-core-resize-in-place");
    let output = converge(&["plan", &spec, "--live", &live, "--detailed-exitcode"]);
    assert_eq!(output.status.code(), Some(2));
    let text = stdout(&output);
    assert!(text.contains("~ core.on_demand: 16 → 32  # ModifyInstanceFleet"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour when stdout is not a terminal");
    let output = converge(&["plan", &spec, "--live", &live]);
    assert_eq!(output.status.code(), Some(0), "without --detailed-exitcode changes are not a failure");

    let (spec, live) = case("account-mismatch");
    let output = converge(&["plan", &spec, "--live", &live, "--detailed-exitcode"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("error[account-mismatch]: the live state is of account 999988887777"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("hint: "), "{}", stderr(&output));
    assert!(output.stdout.is_empty());

    // A cluster EMR would fail after RunJobFlow: a private subnet, custom groups, no service-access group.
    let (spec, live) = case("emr-private-subnet-service-access");
    let output = converge(&["plan", &spec, "--live", &live, "--detailed-exitcode"]);
    assert_eq!(output.status.code(), Some(1));
    let errors = stderr(&output);
    assert!(errors.contains("error[emr-service-access-required]"), "{errors}");
    assert!(errors.contains("hint: ") && errors.contains("service_access_security_group"), "{errors}");

    // Warnings do not change the exit code: an isolated Studio subnet is said, not refused.
    let (spec, live) = case("studio-subnet-offline");
    let output = converge(&["plan", &spec, "--live", &live, "--detailed-exitcode"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let said = format!("{}{}", stdout(&output), stderr(&output));
    assert!(said.contains("warning[studio-subnet-offline]") && said.contains("NAT gateway or VPC endpoints"), "{said}");
}

#[test]
fn plan_formats() {
    let spec = "fixtures/plan/sg-description-replaces-dependents/spec.toml";
    let live = "fixtures/plan/sg-description-replaces-dependents/live.json";
    let output = converge(&["plan", spec, "--live", live, "--format", "json"]);
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON plan");
    assert_eq!(document["format_version"], "2.2");
    assert_eq!(document["summary"]["replace"], 2);
    assert_eq!(document["changes"][1]["action_reason"], "replace_because_dependency_replaced");
    // The steps are a graph of typed operations: the new cluster names the new group by the step that creates it.
    let steps = document["steps"].as_array().expect("steps");
    let create_group = steps
        .iter()
        .find(|s| s["operation"]["operation"] == "create_security_group")
        .expect("a step creates the group");
    let run = steps.iter().find(|s| s["operation"]["operation"] == "run_job_flow").expect("a step runs the cluster");
    assert_eq!(run["operation"]["master_security_group"]["output_of"], create_group["id"]);
    assert!(run["after"].as_array().expect("after").len() >= 2, "{run}");
    let output = converge(&["plan", spec, "--live", live, "--format", "markdown"]);
    assert!(stdout(&output).contains("<details><summary><code>emr_cluster.etl</code>: replace</summary>"));
}

#[test]
fn plan_rejects_bad_inputs_with_hints() {
    let output = converge(&[
        "plan",
        "fixtures/spec/invalid/emr-core-fleet.toml",
        "--live",
        "fixtures/plan/no-changes/live.json",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("error[emr-core-fleet]"), "{}", stderr(&output));

    let output = converge(&["plan", "fixtures/plan/no-changes/spec.toml", "--live", "specs/studio-emr.toml"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("is not a converge snapshot"), "{}", stderr(&output));
    assert!(stderr(&output).contains("hint: docs/plan.md describes the snapshot format"), "{}", stderr(&output));

    // A snapshot is not AWS: flags about AWS are refused, not silently ignored.
    let snapshot = ["plan", "fixtures/plan/no-changes/spec.toml", "--live", "fixtures/plan/no-changes/live.json"];
    let output = converge(&[&snapshot[..], &["--stats", "--region", "us-east-1"]].concat());
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("`--stats`, `--region` cannot be used with `--live`"), "{text}");
    assert!(text.contains("hint: drop --stats and --region"), "{text}");
}

#[test]
fn simulated_state_plans_nothing() {
    let output = converge(&["simulate", "specs/studio-emr.toml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let dir = std::env::temp_dir().join(format!("converge-simulate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let live = dir.join("live.json");
    std::fs::write(&live, &output.stdout).expect("write snapshot");
    let output =
        converge(&["plan", "specs/studio-emr.toml", "--live", live.to_str().expect("utf-8"), "--detailed-exitcode"]);
    std::fs::remove_dir_all(&dir).expect("clean up");
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
}

#[test]
fn graph_formats() {
    let output = converge(&["graph", "specs/studio-emr.toml", "--format", "mermaid"]);
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!("graph_mermaid", stdout(&output));
    let output = converge(&["graph", "specs/etl-cluster.toml", "--format", "dot"]);
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!("graph_dot", stdout(&output));
}

/// With no credentials anywhere, `plan` says so, names the sources it tried
/// and what to set: not "AWS could not be reached", and not `apply`.
#[test]
fn plan_without_credentials_names_the_credential_sources() {
    let home = std::env::temp_dir().join(format!("converge-no-credentials-{}", std::process::id()));
    std::fs::create_dir_all(&home).expect("an empty home");
    let output = Command::new(env!("CARGO_BIN_EXE_converge"))
        .args(["plan", "specs/etl-cluster.toml"])
        .current_dir(root())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        // No instance role to find here; and the network must never be what is blamed.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .expect("converge runs");
    let _ = std::fs::remove_dir_all(&home);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("error: no AWS credentials (profile `default`)"), "{text}");
    for source in ["Environment", "Profile", "WebIdentityToken", "EcsContainer", "Ec2InstanceMetadata"] {
        assert!(text.contains(&format!("{source}:")), "names {source}: {text}");
    }
    assert!(text.contains("hint: set `AWS_PROFILE`") && text.contains("aws sso login"), "{text}");
    assert!(!text.contains("could not be reached") && !text.contains("apply"), "{text}");
}

/// A spec with environments is read through one of them; every mistake in
/// naming one is an error with a hint, before anything reads AWS.
#[test]
fn environments_are_named_or_refused_before_any_aws_call() {
    let spec = "specs/ml-platform.toml";
    let output = converge(&["validate", spec]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("is valid: 2 environments (staging, production)"), "{}", stderr(&output));
    let output = converge(&["validate", spec, "--env", "staging"]);
    assert!(stderr(&output).contains("(environment `staging`) is valid"), "{}", stderr(&output));

    let cases: [(&[&str], &str); 7] = [
        (&["plan", spec], "describes 2 environments: staging, production"),
        (&["drift", spec], "hint: add `--env staging`"),
        (&["plan", spec, "--env", "stagin"], "has no environment `stagin` (did you mean `staging`?)"),
        (&["graph", "specs/studio-emr.toml", "--env", "staging"], "has no environments, so `--env staging`"),
        (
            &["plan", spec, "--all-envs", "--env-profile", "stagin=stg"],
            "`--env-profile stagin=stg` names no environment",
        ),
        (&["compare", spec, "staging", "staging"], "needs two different environments"),
        (&["plan", "specs/studio-emr.toml", "--all-envs"], "has no environments to plan"),
    ];
    for (args, expected) in cases {
        let output = converge(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(expected), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains("hint:") || expected.contains("hint:"), "{args:?}: {}", stderr(&output));
    }
    let output = converge(&["compare", spec, "staging", "production", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(document["as_defined"], true);
    assert_eq!(document["live"], serde_json::Value::Null);
}
