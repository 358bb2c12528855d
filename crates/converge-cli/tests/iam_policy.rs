//! `converge iam-policy` against what converge really calls: both reference
//! specs are planned, applied, changed, drifted, rebuilt and destroyed by the
//! binary against a sandbox, and every call in the sandbox's request log must
//! be allowed by the policy printed for the spec; the read-only policy must
//! allow every call of plan, drift and output, and grant nothing that writes.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};

use converge_sandbox::{Config, RequestRecord, Sandbox, Seed, SeedNetwork};

mod common;

use common::{against_sandbox, root};

struct Env {
    runtime: tokio::runtime::Runtime,
    sandbox: Option<Sandbox>,
    endpoint: String,
}

impl Env {
    fn start(region: &str, seed: Seed) -> Env {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        let config = Config { region: region.into(), time_scale: 0.002, page_size: Some(2), ..Config::default() };
        let sandbox = runtime.block_on(Sandbox::start(config)).expect("the sandbox starts");
        sandbox.seed(&seed);
        let endpoint = sandbox.endpoint();
        Env { runtime, sandbox: Some(sandbox), endpoint }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_converge"));
        against_sandbox(command.args(args).current_dir(root()), &self.endpoint).output().expect("converge runs")
    }

    /// Runs `args`, expecting exit status `code`, and returns the calls it made.
    fn calls(&self, args: &[&str], code: i32) -> Vec<RequestRecord> {
        let before = self.requests().len();
        let output = self.run(args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "converge {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        self.requests().split_off(before)
    }

    fn requests(&self) -> Vec<RequestRecord> {
        self.sandbox.as_ref().expect("running").requests()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            self.runtime.block_on(sandbox.stop());
        }
    }
}

/// The actions of the policy `converge iam-policy ARGS` prints.
fn policy_actions(env: &Env, args: &[&str]) -> BTreeSet<String> {
    let output = env.run(&[&["iam-policy"], args].concat());
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON policy on stdout");
    assert_eq!(document["Version"], "2012-10-17");
    let statements = document["Statement"].as_array().expect("statements");
    let mut sids = BTreeSet::new();
    for statement in statements {
        assert_eq!(statement["Effect"], "Allow", "{statement}");
        assert!(sids.insert(statement["Sid"].as_str().expect("a Sid")), "Sids are unique: {statement}");
        assert!(statement["Resource"].as_array().is_some_and(|r| !r.is_empty()), "{statement}");
    }
    statements
        .iter()
        .flat_map(|s| s["Action"].as_array().expect("actions").iter())
        .map(|a| a.as_str().expect("an action").to_owned())
        .collect()
}

/// The calls of `requests` that `actions` does not allow, as `service Operation`.
fn denied(requests: &[RequestRecord], actions: &BTreeSet<String>) -> BTreeSet<String> {
    requests
        .iter()
        .filter(|r| !actions.contains(&converge_policy::iam_action(&r.service, &r.operation)))
        .map(|r| format!("{} {}", r.service, r.operation))
        .collect()
}

fn spec_copy(name: &str, version: &str, edit: impl Fn(String) -> String) -> PathBuf {
    common::spec_copy(&format!("iam-policy-{version}-{name}"), name, edit)
}

/// Every call of a stack's life, checked against the policies printed for its spec.
fn check_life(env: &Env, spec: &str, changed: &str, cluster: &str) {
    let full = policy_actions(env, &[spec]);
    let read_only = policy_actions(env, &[spec, "--read-only"]);
    assert!(read_only.is_subset(&full), "the full policy includes the read-only one");
    let writes: Vec<&String> = read_only
        .iter()
        .filter(|a| !a.split(':').nth(1).is_some_and(converge_aws::is_read_only) && *a != "s3:GetObject")
        .collect();
    assert!(writes.is_empty(), "the read-only policy grants only reads: {writes:?}");

    let mut reads = env.calls(&["plan", spec, "--detailed-exitcode"], 2);
    let mut writes = env.calls(&["apply", spec, "--auto-approve"], 0);
    reads.extend(env.calls(&["plan", spec, "--detailed-exitcode"], 0));
    reads.extend(env.calls(&["drift", spec], 0));
    reads.extend(env.calls(&["output", spec], 0));
    // An edited spec: drift reports it, apply changes it in place.
    reads.extend(env.calls(&["drift", changed], 2));
    writes.extend(env.calls(&["apply", changed, "--auto-approve"], 0));
    writes.extend(env.calls(&["rebuild", changed, cluster, "--auto-approve"], 0));
    writes.extend(env.calls(&["destroy", changed, "--auto-approve"], 0));
    assert!(reads.iter().all(|r| !r.may_change()), "plan, drift and output only read");
    assert!(writes.iter().any(RequestRecord::may_change), "apply and destroy were exercised");

    assert_eq!(denied(&reads, &read_only), BTreeSet::new(), "read-only policy of {spec}: calls it does not allow");
    writes.extend(reads);
    assert_eq!(denied(&writes, &full), BTreeSet::new(), "policy of {spec}: calls it does not allow");
}

#[test]
fn the_policies_allow_every_call_of_the_studio_stacks_life_and_the_read_only_one_only_reads() {
    let env = Env::start(
        "ap-northeast-1",
        Seed {
            vpcs: vec![("vpc-0b4cd1e283a3474c0".into(), "10.0.0.0/16".into())],
            buckets: vec!["ml-platform-artifacts".into(), "converge-state".into()],
            network: SeedNetwork::NatGateway,
            ..Seed::default()
        },
    );
    // The stack lock in S3, so its calls are checked too.
    let locked = |text: String| text.replacen("[stack]\n", "[stack]\nstate_bucket = \"converge-state\"\n", 1);
    let spec = spec_copy("studio-emr.toml", "applied", locked);
    let changed = spec_copy("studio-emr.toml", "edited", |text| {
        let text = locked(text).replace("on_demand = 2", "on_demand = 3");
        text.replace("\"Execution role of SageMaker Studio users\"", "\"Execution role of Studio users\"")
    });
    let (spec, changed) = (spec.to_str().expect("UTF-8"), changed.to_str().expect("UTF-8"));
    check_life(&env, spec, changed, "emr_cluster.notebooks");
}

#[test]
fn the_policies_allow_every_call_of_the_etl_stacks_life() {
    let env = Env::start(
        "us-east-1",
        Seed {
            vpcs: vec![("vpc-0a1b2c3d4e5f60718".into(), "10.20.0.0/16".into())],
            buckets: vec![],
            network: SeedNetwork::NatGateway,
            ..Seed::default()
        },
    );
    let spec = spec_copy("etl-cluster.toml", "applied", |text| text);
    let changed =
        spec_copy("etl-cluster.toml", "edited", |text| text.replace("step_concurrency = 4", "step_concurrency = 8"));
    let (spec, changed) = (spec.to_str().expect("UTF-8"), changed.to_str().expect("UTF-8"));
    check_life(&env, spec, changed, "emr_cluster.hourly");
}

#[test]
fn a_spec_without_clusters_gets_no_emr_writes_and_passes_roles_only_where_it_must() {
    let text = std::fs::read_to_string(root().join("specs/studio-emr.toml")).expect("the spec");
    let full = policy_document("studio-emr.toml");
    let pass_to_emr = full["Statement"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["Sid"] == "ConvergePassRoleToEmr"))
        .expect("studio-emr passes roles to EMR");
    assert_eq!(pass_to_emr["Condition"]["StringEquals"]["iam:PassedToService"], "elasticmapreduce.amazonaws.com");
    let roles: Vec<&str> =
        pass_to_emr["Resource"].as_array().expect("roles").iter().filter_map(|r| r.as_str()).collect();
    assert!(!roles.is_empty() && roles.iter().all(|r| r.starts_with("arn:aws:iam::123456789012:role/")), "{roles:?}");

    // Cut the spec at its first cluster: what remains creates no cluster.
    let cut = text.split("\n[emr_cluster.").next().expect("text before the clusters").to_owned();
    let path = common::spec_copy("iam-policy-cut", "studio-emr.toml", |_| cut.clone());
    let output = Command::new(env!("CARGO_BIN_EXE_converge"))
        .args(["iam-policy", path.to_str().expect("UTF-8")])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let actions = document.to_string();
    assert!(!actions.contains("elasticmapreduce:RunJobFlow"), "{actions}");
    assert!(actions.contains("elasticmapreduce:ListClusters"), "orphan clusters are still found: {actions}");
}

fn policy_document(name: &str) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_converge"))
        .args(["iam-policy", &format!("specs/{name}")])
        .current_dir(root())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON")
}
