//! `converge plan`, `apply` and `destroy` as processes against a sandbox in
//! this test's process, configured only through the environment a user
//! would set: the account guard, approval, the exit codes, and an apply
//! killed with SIGKILL that the next apply finishes without duplicates.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use converge_sandbox::{Config, RequestRecord, Sandbox};

mod common;

use common::{against_sandbox, root};

struct Env {
    runtime: tokio::runtime::Runtime,
    sandbox: Option<Sandbox>,
    endpoint: String,
}

impl Env {
    /// A sandbox pretending to be account 123456789012 in ap-northeast-1, with studio-emr's VPC and bucket.
    fn start(time_scale: f64) -> Env {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        let sandbox = common::studio_sandbox(&runtime, Config { time_scale, ..Config::default() });
        let endpoint = sandbox.endpoint();
        Env { runtime, sandbox: Some(sandbox), endpoint }
    }

    fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().expect("running")
    }

    /// `converge ARGS` with the environment pointing at the sandbox (and away from any real AWS configuration).
    fn converge(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_converge"));
        against_sandbox(command.args(args).current_dir(root()), &self.endpoint);
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.converge(args).output().expect("converge runs")
    }

    fn requests(&self) -> Vec<RequestRecord> {
        self.sandbox().requests()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            self.runtime.block_on(sandbox.stop());
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn mutating(requests: &[RequestRecord]) -> Vec<String> {
    requests.iter().filter(|r| r.may_change()).map(|r| format!("{} {}", r.service, r.operation)).collect()
}

/// studio-emr.toml, edited by `edit`, written to a directory of its own
/// next to copies of the files it names (so each test has its own lock file).
fn spec_copy(name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    common::spec_copy(name, "studio-emr.toml", edit)
}

/// studio-emr.toml for another account.
fn spec_for_account(account: &str) -> PathBuf {
    spec_copy(&format!("other-account-{account}"), |spec| {
        spec.replace("account = \"123456789012\"", &format!("account = \"{account}\""))
    })
}

#[test]
fn the_account_guard_refuses_another_account_before_any_other_call() {
    let env = Env::start(0.01);
    let spec = spec_for_account("210987654321");
    let spec = spec.to_str().expect("a UTF-8 path");
    for command in [&["plan", spec][..], &["apply", spec, "--auto-approve"], &["destroy", spec, "--auto-approve"]] {
        let output = env.run(command);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{command:?}: {stderr}");
        assert!(stderr.contains("account 123456789012") && stderr.contains("210987654321"), "{stderr}");
        assert!(stderr.contains("hint:"), "{stderr}");
    }
    let operations: Vec<String> = env.requests().into_iter().map(|r| r.operation).collect();
    assert!(operations.iter().all(|op| op == "GetCallerIdentity"), "only the identity is asked: {operations:?}");
    assert!(mutating(&env.requests()).is_empty());
}

#[test]
fn apply_without_approval_and_without_a_terminal_refuses() {
    let env = Env::start(0.01);
    let spec = spec_copy("unapproved", |spec| spec);
    let output = env.run(&["apply", spec.to_str().expect("a UTF-8 path")]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--auto-approve"), "{stderr}");
    // The plan was shown, nothing was changed.
    assert!(text(&output.stdout).contains("will be created"));
    assert!(mutating(&env.requests()).is_empty(), "{:?}", mutating(&env.requests()));
}

#[test]
fn plan_apply_plan_destroy_through_the_binary() {
    let env = Env::start(0.005);
    let plan = env.run(&["plan", "specs/studio-emr.toml", "--detailed-exitcode", "--stats"]);
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan.stderr));
    assert!(text(&plan.stderr).contains("GetAccountAuthorizationDetails"), "--stats lists the calls");
    assert!(mutating(&env.requests()).is_empty(), "plan is read-only");

    let apply = env.run(&["apply", "specs/studio-emr.toml", "--auto-approve"]);
    let stderr = text(&apply.stderr);
    assert_eq!(apply.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Apply complete"), "{stderr}");
    // Not a terminal: plain progress lines, stamped.
    assert!(stderr.contains("done") && stderr.contains("RunJobFlow"), "{stderr}");

    let again = env.run(&["plan", "specs/studio-emr.toml", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}{}", text(&again.stdout), text(&again.stderr));

    // `converge output`: the ids the notebooks and the scheduler need, read-only.
    let before = env.requests().len();
    let output = env.run(&["output", "specs/studio-emr.toml", "emr_cluster.notebooks", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    let cluster = &document["resources"]["emr_cluster.notebooks"];
    let state = env.sandbox().state();
    let live_id = state["emr"]["clusters"].as_object().and_then(|clusters| {
        clusters.values().find(|c| c["name"] == "studio-notebooks").and_then(|c| c["id"].as_str())
    });
    assert_eq!(cluster["id"].as_str(), live_id, "{document}");
    assert_eq!(cluster["state"], "WAITING");
    assert!(cluster["master_dns"].as_str().is_some_and(|dns| !dns.is_empty()), "{document}");
    let all = env.run(&["output", "specs/studio-emr.toml"]);
    let listing = text(&all.stdout);
    for line in ["sagemaker_domain.studio", "url=https://", "catalog_product.two_node", "id=prod-"] {
        assert!(listing.contains(line), "{line} in:\n{listing}");
    }
    assert_eq!(mutating(&env.requests()[before..]), Vec::<String>::new(), "output is read-only");

    // `converge drift`: none right after the apply; a failed cluster is drift,
    // exit 2, and finding it changes nothing.
    let quiet = env.run(&["drift", "specs/studio-emr.toml"]);
    assert_eq!(quiet.status.code(), Some(0), "{}{}", text(&quiet.stdout), text(&quiet.stderr));
    assert!(text(&quiet.stdout).contains("No drift"), "{}", text(&quiet.stdout));
    let failure = converge_sandbox::ClusterEvent::Fail {
        cluster: live_id.expect("a cluster").to_owned(),
        code: "INSTANCE_FAILURE".into(),
        message: "The master node was lost".into(),
    };
    env.sandbox().cluster_event(&failure).expect("the cluster fails");
    std::thread::sleep(Duration::from_millis(1500)); // TERMINATING lasts 90 s × 0.005
    let before = env.requests().len();
    let drift = env.run(&["drift", "specs/studio-emr.toml", "--format", "json"]);
    assert_eq!(drift.status.code(), Some(2), "{}", text(&drift.stderr));
    let report: serde_json::Value = serde_json::from_slice(&drift.stdout).expect("JSON on stdout");
    let cluster = &report["resources"][0];
    assert_eq!(cluster["address"], "emr_cluster.notebooks", "{report}");
    assert_eq!(cluster["cause"], "terminated_in_aws", "{report}");
    assert!(
        cluster["terminated"]["reason"].as_str().is_some_and(|r| r.starts_with("TERMINATED_WITH_ERRORS")),
        "{report}"
    );
    assert_eq!(mutating(&env.requests()[before..]), Vec::<String>::new(), "drift is read-only");
    let markdown = env.run(&["drift", "specs/studio-emr.toml", "--format", "markdown"]);
    assert!(text(&markdown.stdout).contains("| `emr_cluster.notebooks`"), "{}", text(&markdown.stdout));

    // `converge rebuild`: a new cluster identical to the spec, a timeline, and `output` names it.
    let rebuild = env.run(&["rebuild", "specs/studio-emr.toml", "emr_cluster.notebooks", "--auto-approve"]);
    let stderr = text(&rebuild.stderr);
    assert_eq!(rebuild.status.code(), Some(0), "{stderr}");
    for line in
        ["Timeline (from the start of the run)", "read AWS", "RunJobFlow", "waiting for AWS", "converge's own time"]
    {
        assert!(stderr.contains(line), "`{line}` in:\n{stderr}");
    }
    let output = env.run(&["output", "specs/studio-emr.toml", "emr_cluster.notebooks", "--format", "json"]);
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    let rebuilt =
        document["resources"]["emr_cluster.notebooks"]["id"].as_str().expect("the new cluster's id").to_owned();
    assert_ne!(Some(rebuilt.as_str()), live_id, "a new cluster");
    assert!(stderr.contains(&format!("emr_cluster.notebooks is now `{rebuilt}`")), "{stderr}");
    let again = env.run(&["plan", "specs/studio-emr.toml", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "the rebuilt cluster is the spec's:\n{}", text(&again.stdout));

    let destroy = env.run(&["destroy", "specs/studio-emr.toml", "--auto-approve"]);
    assert_eq!(destroy.status.code(), Some(0), "{}", text(&destroy.stderr));
    let after = env.run(&["plan", "specs/studio-emr.toml", "--detailed-exitcode"]);
    assert_eq!(after.status.code(), Some(2));
    assert!(text(&after.stdout).contains("Plan: 15 to create"), "{}", text(&after.stdout));
}

#[cfg(unix)]
#[test]
fn an_apply_killed_mid_way_is_finished_by_the_next_without_duplicates() {
    let env = Env::start(0.01);
    let spec = spec_copy("killed", |spec| spec);
    let spec = spec.to_str().expect("a UTF-8 path");
    let mut child = env
        .converge(&["apply", spec, "--auto-approve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("apply starts");
    // Kill it while the cluster and the domain are being created.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !env.requests().iter().any(|r| r.operation == "RunJobFlow" && r.status == 200) {
        assert!(Instant::now() < deadline, "the apply never got to RunJobFlow");
        assert!(child.try_wait().expect("the apply's state").is_none(), "the apply ended before it was killed");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let at_kill = env.requests().len();

    // The killed run still holds the stack's lock: the next one says who, and
    // the id that `--force-unlock` takes.
    let refused = env.run(&["apply", spec, "--auto-approve", "--lock-timeout", "0"]);
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is locked by") && stderr.contains("running apply"), "{stderr}");
    let id = stderr
        .split("--force-unlock ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the lock id in the hint")
        .trim_end_matches('`')
        .to_owned();
    let wrong = env.run(&["apply", spec, "--auto-approve", "--force-unlock", "0000000000000000"]);
    assert_eq!(wrong.status.code(), Some(1), "a wrong id removes nothing: {}", text(&wrong.stderr));

    let output = env.run(&["apply", spec, "--auto-approve", "--force-unlock", &id]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("Removed the lock"), "{}", text(&output.stderr));
    let again = env.run(&["plan", spec, "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));

    // Every resource was created once: no second cluster, domain, group, role …
    let requests = env.requests();
    let created = |operation: &str| requests.iter().filter(|r| r.operation == operation && r.status == 200).count();
    assert_eq!(created("RunJobFlow"), 1, "one cluster");
    assert_eq!(created("CreateDomain"), 1, "one domain");
    assert_eq!(created("CreateSubnet"), 2);
    assert_eq!(created("CreateSecurityGroup"), 4);
    assert_eq!(created("CreateRole"), 4);
    assert_eq!(created("CreatePortfolio"), 1);
    assert_eq!(created("CreateProduct"), 1);
    assert!(requests.len() > at_kill);
}

/// Two applies of one stack started together: one holds the lock while the
/// other waits and says who holds it, then finds nothing left to do. With the
/// lock in a state bucket (an S3 conditional put) and in a local file.
#[test]
fn two_concurrent_applies_never_both_change_the_stack() {
    for (name, bucket) in [("concurrent-file", false), ("concurrent-s3", true)] {
        let env = Env::start(0.01);
        let spec = spec_copy(name, |spec| {
            if bucket {
                spec.replace(
                    "account = \"123456789012\"",
                    "account = \"123456789012\"\nstate_bucket = \"ml-platform-artifacts\"",
                )
            } else {
                spec
            }
        });
        let spec = spec.to_str().expect("a UTF-8 path");
        let start = || {
            env.converge(&["apply", spec, "--auto-approve", "--lock-timeout", "120"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("apply starts")
        };
        let first = start();
        let second = start();
        let (first, second) = (first.wait_with_output().expect("ends"), second.wait_with_output().expect("ends"));
        let (one, two) = (text(&first.stderr), text(&second.stderr));
        assert_eq!((first.status.code(), second.status.code()), (Some(0), Some(0)), "{one}\n---\n{two}");
        // One changed the stack; the other waited, named the holder, and found it done.
        let (changed, waited) = if one.contains("Apply complete") { (&one, &two) } else { (&two, &one) };
        assert!(changed.contains("Apply complete"), "{changed}");
        assert!(
            waited.contains("Waiting for the lock of stack `ml-platform`") && waited.contains("running apply"),
            "{waited}"
        );
        assert!(waited.contains("Nothing to do"), "{waited}");
        let requests = env.requests();
        let created = |operation: &str| requests.iter().filter(|r| r.operation == operation && r.status == 200).count();
        assert_eq!((created("RunJobFlow"), created("CreateDomain"), created("CreateRole")), (1, 1, 4), "{name}");
        if bucket {
            assert!(created("PutObject") >= 2, "the lock is an S3 object");
            let state = env.sandbox().state();
            let objects = &state["s3"]["buckets"]["ml-platform-artifacts"]["objects"];
            assert!(
                objects.is_object() && objects.get("converge/ml-platform/lock.json").is_none(),
                "released: {objects}"
            );
        } else {
            assert!(!Path::new(spec).with_file_name(".converge").join("ml-platform.lock").exists(), "released");
        }
    }
}

/// `plan --out` then `apply plan.json`: applied while only unrelated
/// resources changed; refused, naming the resource, once one it depends on
/// changed; refused once the spec changed.
#[test]
fn a_saved_plan_applies_until_what_it_depends_on_changes() {
    let env = Env::start(0.005);
    let spec = spec_copy("saved-plan", |spec| spec);
    let dir = spec.parent().expect("a directory").to_owned();
    let spec_text = std::fs::read_to_string(&spec).expect("the spec");
    let spec = spec.to_str().expect("a UTF-8 path");
    let write = |text: &str| std::fs::write(spec, text).expect("the spec written");
    let apply = env.run(&["apply", spec, "--auto-approve"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply.stderr));
    let state = env.sandbox().state();
    let cluster = state["emr"]["clusters"]
        .as_object()
        .and_then(|clusters| clusters.values().find(|c| c["name"] == "studio-notebooks"))
        .and_then(|c| c["id"].as_str())
        .expect("the cluster")
        .to_owned();
    let resize_core = |on_demand: i64| {
        let event = converge_sandbox::ClusterEvent::Capacity {
            cluster: cluster.clone(),
            fleet: "core".into(),
            on_demand,
            spot: 0,
        };
        env.sandbox().cluster_event(&event).expect("the core fleet resizes");
    };

    // A rule for the Spark UI, planned and saved; meanwhile someone resizes the cluster.
    let livy =
        "ingress = [{ protocol = \"tcp\", ports = 8998, source = \"studio\", description = \"Livy from Studio\" }]";
    let with_ui = "ingress = [{ protocol = \"tcp\", ports = 8998, source = \"studio\", description = \"Livy from Studio\" }, { protocol = \"tcp\", ports = 18080, source = \"studio\", description = \"Spark UI\" }]";
    assert_eq!(spec_text.matches(livy).count(), 1);
    let edited = spec_text.replace(livy, with_ui);
    write(&edited);
    let first = dir.join("first.json");
    let plan = env.run(&["plan", spec, "--out", first.to_str().expect("UTF-8")]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));
    assert!(text(&plan.stdout).contains("security_group.emr_master"), "{}", text(&plan.stdout));
    resize_core(3);
    let applied = env.run(&["apply", first.to_str().expect("UTF-8"), "--auto-approve"]);
    let stderr = text(&applied.stderr);
    assert_eq!(applied.status.code(), Some(0), "an unrelated change does not stale the plan:\n{stderr}");
    assert!(stderr.contains("The saved plan still holds"), "{stderr}");
    assert!(text(&applied.stdout).contains("18080"), "the saved plan is shown: {}", text(&applied.stdout));

    // A plan that changes the cluster goes stale when the cluster changes.
    write(&edited.replace("auto_termination_idle_seconds = 7200", "auto_termination_idle_seconds = 3600"));
    let second = dir.join("second.json");
    let plan = env.run(&["plan", spec, "--out", second.to_str().expect("UTF-8")]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));
    resize_core(4);
    let before = env.requests().len();
    let refused = env.run(&["apply", second.to_str().expect("UTF-8"), "--auto-approve"]);
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the plan is stale") && stderr.contains(&format!("emr_cluster.notebooks ({cluster})")),
        "{stderr}"
    );
    assert!(stderr.contains("changed: fleets"), "says how: {stderr}");
    assert!(mutating(&env.requests()[before..]).iter().all(|r| r.contains("Object")), "nothing but the lock changed");

    // A plan whose spec changed afterwards is refused too.
    let third = dir.join("third.json");
    let plan = env.run(&["plan", spec, "--out", third.to_str().expect("UTF-8")]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));
    write(&spec_text);
    let refused = env.run(&["apply", third.to_str().expect("UTF-8"), "--auto-approve"]);
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the spec has changed since the plan was made"), "{stderr}");
}
