//! One spec, two environments, two accounts: `specs/ml-platform.toml`'s
//! staging and production applied each to its own sandbox (one per account),
//! reached through two profiles of an AWS config file, as a team reaches its
//! accounts. Re-plans are empty; drift in one is not reported in the other;
//! staging's plan with production's credentials is refused before anything
//! else is asked; `compare --live` shows a change made by hand in production;
//! destroying staging leaves production as it was.

use std::process::{Command, Output};

use converge_ops::{IamOp, Operation};
use converge_sandbox::{RequestRecord, Sandbox};

mod common;

use common::{Accounts, root};

const STAGING: &str = common::STAGING_ACCOUNT;
const PRODUCTION: &str = common::PRODUCTION_ACCOUNT;

/// `converge ARGS` through the two accounts' profiles.
fn run(accounts: &Accounts, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_converge"));
    accounts.with_profiles(command.args(args).current_dir(root()));
    command.output().expect("converge runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn mutating(requests: &[RequestRecord]) -> Vec<String> {
    requests.iter().filter(|r| r.may_change()).map(|r| format!("{} {}", r.service, r.operation)).collect()
}

#[track_caller]
fn expect(output: &Output, code: i32) -> String {
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(code), "stdout:\n{stdout}\nstderr:\n{}", text(&output.stderr));
    stdout
}

/// Detaches EMR's service policy from production's EMR service role, as
/// someone might by hand (both environments define the role alike).
fn detach_the_service_policy_in_production(accounts: &Accounts, role: &str) {
    let options = converge_aws::Options::sandbox(&accounts.production().endpoint(), "ap-northeast-1");
    let policy = "arn:aws:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2".to_owned();
    let operation = Operation::Iam(IamOp::DetachRolePolicies { role: role.to_owned(), policy_arns: vec![policy] });
    let address = converge_model::Address::parse("iam_role.EMR_DefaultRole").expect("an address");
    accounts.runtime.block_on(async {
        let aws = converge_aws::Aws::connect(&options).await.expect("connects");
        converge_executor::Executor::start(&aws, &address, &operation).await.expect("detached");
    });
}

#[test]
fn two_environments_in_two_accounts_from_one_spec() {
    let spec = common::spec_copy("environments", "ml-platform.toml", |spec| spec);
    let accounts = Accounts::start(spec.parent().expect("a directory"), 0.003);
    let spec = spec.to_str().expect("a UTF-8 path");
    let profiles = ["--env-profile", "staging=staging", "--env-profile", "production=production"];

    // Each environment to its own account.
    for env in ["staging", "production"] {
        let output = run(&accounts, &["apply", spec, "--env", env, "--profile", env, "--auto-approve"]);
        expect(&output, 0);
        let output = run(&accounts, &["plan", spec, "--env", env, "--profile", env, "--detailed-exitcode"]);
        assert!(expect(&output, 0).contains("No changes"), "{env}: the re-plan is empty");
    }
    let users = |sandbox: &Sandbox| sandbox.requests().iter().filter(|r| r.operation == "CreateUserProfile").count();
    assert_eq!((users(accounts.staging()), users(accounts.production())), (1, 3), "staging omits two users");
    assert!(accounts.staging().state().to_string().contains("\"environment\""), "the environment's tags are applied");

    // Every environment in one run: one summary line each, no changes, nothing changed.
    let before = (mutating(&accounts.staging().requests()).len(), mutating(&accounts.production().requests()).len());
    let mut args = vec!["plan", spec, "--all-envs", "--detailed-exitcode"];
    args.extend(profiles);
    let stdout = expect(&run(&accounts, &args), 0);
    assert!(stdout.contains(&format!("staging (account {STAGING}, ap-northeast-1): No changes")), "{stdout}");
    assert!(stdout.contains(&format!("production (account {PRODUCTION}, ap-northeast-1): No changes")), "{stdout}");
    let after = (mutating(&accounts.staging().requests()).len(), mutating(&accounts.production().requests()).len());
    assert_eq!(before, after, "planning every environment changes nothing");

    // Staging's stack with production's credentials: refused at the identity call.
    let production_calls = accounts.production().requests().len();
    for command in [
        &["plan", spec, "--env", "staging", "--profile", "production"][..],
        &["apply", spec, "--env", "staging", "--profile", "production", "--auto-approve"],
        &["destroy", spec, "--env", "staging", "--profile", "production", "--auto-approve"],
    ] {
        let output = run(&accounts, command);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{command:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "environment `staging` lives in account {STAGING}, but the credentials are for account {PRODUCTION}"
            )),
            "{stderr}"
        );
    }
    let asked: Vec<String> =
        accounts.production().requests()[production_calls..].iter().map(|r| r.operation.clone()).collect();
    assert!(asked.iter().all(|op| op == "GetCallerIdentity"), "only the identity is asked: {asked:?}");

    // A change by hand in production: drift there, none in staging.
    let outputs = expect(
        &run(&accounts, &["output", spec, "--env", "production", "--profile", "production", "--format", "json"]),
        0,
    );
    let outputs: serde_json::Value = serde_json::from_str(&outputs).expect("JSON");
    let role = outputs["resources"]["iam_role.EMR_DefaultRole"]["name"].as_str().expect("the role's name").to_owned();
    detach_the_service_policy_in_production(&accounts, &role);
    let drift = expect(&run(&accounts, &["drift", spec, "--env", "production", "--profile", "production"]), 2);
    assert!(drift.contains("iam_role.EMR_DefaultRole"), "{drift}");
    expect(&run(&accounts, &["drift", spec, "--env", "staging", "--profile", "staging"]), 0);

    // compare: the intended differences, and with --live the change by hand.
    let definition = expect(&run(&accounts, &["compare", spec, "staging", "production"]), 0);
    assert!(definition.contains("sagemaker_user.bob: only in production"), "{definition}");
    assert!(!definition.contains("In AWS"), "{definition}");
    let mut snapshots = Vec::new();
    for format in ["text", "markdown", "json"] {
        let mut args = vec!["compare", spec, "staging", "production", "--live", "--format", format];
        args.extend(profiles);
        let mut stdout = expect(&run(&accounts, &args), 2).replace(spec, "specs/ml-platform.toml");
        if format == "json" {
            let mut value: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
            drop_live_ids(&mut value);
            stdout = serde_json::to_string_pretty(&value).expect("JSON");
        }
        snapshots.push((format, without_group_ids(&stdout)));
    }
    assert!(snapshots[0].1.contains("managed_policies"), "{}", snapshots[0].1);
    assert!(snapshots[0].1.contains("defined alike in both environments"), "{}", snapshots[0].1);
    for (format, stdout) in snapshots {
        insta::assert_snapshot!(format!("compare_live_{format}"), stdout);
    }

    // Destroying staging leaves production as it was (with its drift).
    expect(&run(&accounts, &["destroy", spec, "--env", "staging", "--profile", "staging", "--auto-approve"]), 0);
    let plan = expect(&run(&accounts, &["plan", spec, "--env", "staging", "--profile", "staging"]), 0);
    assert!(plan.contains("to create"), "{plan}");
    let drift = expect(
        &run(&accounts, &["drift", spec, "--env", "production", "--profile", "production", "--format", "json"]),
        2,
    );
    let drift: serde_json::Value = serde_json::from_str(&drift).expect("JSON");
    let drifted: Vec<&str> =
        drift["resources"].as_array().expect("resources").iter().filter_map(|r| r["address"].as_str()).collect();
    assert_eq!(drifted, ["iam_role.EMR_DefaultRole"], "production keeps its resources and only its own drift");
}

/// `sg-0123…` → `sg-…`: ids depend on the order of an apply's parallel steps.
fn without_group_ids(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("sg-") {
        out.push_str(&rest[..at + 3]);
        rest = rest[at + 3..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
        out.push('…');
    }
    out.push_str(rest);
    out
}

/// Live ids differ from run to run.
fn drop_live_ids(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(object) => {
            object.remove("live_id");
            object.values_mut().for_each(drop_live_ids);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_live_ids),
        _ => {}
    }
}
