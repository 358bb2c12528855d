//! docs/ci.md's GitHub Actions workflows, checked: each YAML block parses,
//! has the triggers, permissions and steps its section promises, and every
//! `converge` line of its `run:` scripts runs against a sandbox, in the order
//! a stack lives through them: plan on a pull request, apply on merge from
//! the saved plan, scheduled drift (none, then a failed cluster), a manual
//! rebuild and its output. For each stack of the workflows' matrix.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use converge_sandbox::{ClusterEvent, Config, Sandbox, Seed, SeedNetwork};
use serde_json::Value;

mod common;

use common::{Accounts, against_sandbox, root, yaml};

/// The YAML blocks of docs/ci.md, parsed, by workflow name.
fn workflows() -> Vec<(String, Value)> {
    common::doc_blocks("docs/ci.md", "yaml")
        .into_iter()
        .map(|block| {
            let value: Value =
                yaml(&block).unwrap_or_else(|e| panic!("a YAML block of docs/ci.md does not parse: {e}\n{block}"));
            let name = value["name"].as_str().expect("every workflow has a name").to_owned();
            (name, value)
        })
        .collect()
}

fn workflow<'a>(all: &'a [(String, Value)], name: &str) -> &'a Value {
    &all.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no workflow `{name}` in docs/ci.md")).1
}

fn job(workflow: &Value) -> &Value {
    let jobs = workflow["jobs"].as_object().expect("jobs");
    assert_eq!(jobs.len(), 1, "one job per workflow");
    jobs.values().next().expect("a job")
}

/// Every `run:` script of the job, in step order.
fn scripts(workflow: &Value) -> Vec<String> {
    job_scripts(job(workflow))
}

/// Every `run:` script of `job`, in step order.
fn job_scripts(job: &Value) -> Vec<String> {
    job["steps"].as_array().expect("steps").iter().filter_map(|step| step["run"].as_str().map(str::to_owned)).collect()
}

/// The `converge` lines of a workflow's scripts.
fn converge_lines(workflow: &Value) -> Vec<String> {
    lines_of(&scripts(workflow))
}

/// The `converge` lines of scripts.
fn lines_of(scripts: &[String]) -> Vec<String> {
    scripts
        .iter()
        .flat_map(|script| script.lines().map(str::trim).map(str::to_owned).collect::<Vec<_>>())
        .filter(|line| line.starts_with("converge "))
        .collect()
}

fn uses(workflow: &Value, action: &str) -> Option<Value> {
    job(workflow)["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|step| step["uses"].as_str().is_some_and(|u| u.starts_with(action)))
        .cloned()
}

#[test]
fn the_workflows_have_the_triggers_and_steps_their_sections_promise() {
    let all = workflows();
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "converge plan (action)",
            "converge drift (action)",
            "converge plan",
            "converge apply",
            "converge drift",
            "converge rebuild",
            "converge plan environments",
            "converge promote"
        ]
    );

    // The action's workflows give it inputs it has, the spec among them.
    let action = yaml(&std::fs::read_to_string(root().join("action.yml")).expect("action.yml")).expect("parses");
    let inputs = action["inputs"].as_object().expect("the action's inputs");
    for (name, command) in [("converge plan (action)", "plan"), ("converge drift (action)", "drift")] {
        let step = uses(workflow(&all, name), "OWNER/converge@").expect("the action");
        let with = step["with"].as_object().expect("its inputs");
        assert!(with.keys().all(|key| inputs.contains_key(key)), "{name}: {with:?}");
        assert_eq!(with["spec"], "${{ matrix.spec }}", "{name}");
        assert_eq!(with.get("command").and_then(Value::as_str).unwrap_or("plan"), command, "{name}");
    }
    let upload = uses(workflow(&all, "converge plan (action)"), "actions/upload-artifact").expect("the upload");
    assert_eq!(upload["with"]["name"], "converge-plan-${{ steps.converge.outputs.stack }}");
    assert!(action["outputs"]["stack"].is_object(), "the action outputs the stack's name");

    let plan = workflow(&all, "converge plan");
    assert!(plan["on"]["pull_request"].is_object());
    assert_eq!(plan["permissions"]["pull-requests"], "write");
    let comment = uses(plan, "actions/github-script").expect("the comment step");
    let script = comment["with"]["script"].as_str().expect("a script");
    assert!(script.contains("updateComment") && script.contains("createComment") && script.contains("marker"));
    assert!(uses(plan, "actions/upload-artifact").is_some_and(|s| s["with"]["path"] == "plan.json"));

    let apply = workflow(&all, "converge apply");
    assert_eq!(apply["on"]["pull_request"]["types"][0], "closed");
    assert!(job(apply)["if"].as_str().is_some_and(|c| c.contains("merged == true")));
    assert_eq!(converge_lines(apply), ["converge apply plan.json --auto-approve"]);

    let drift = workflow(&all, "converge drift");
    assert!(drift["on"]["schedule"][0]["cron"].is_string());
    assert!(scripts(drift).iter().any(|s| s.contains("\"$code\" = 2") && s.contains("gh issue create")));
    assert!(!converge_lines(drift).iter().any(|l| l.contains("apply")), "drift changes nothing");

    let rebuild = workflow(&all, "converge rebuild");
    assert!(rebuild["on"]["workflow_dispatch"]["inputs"]["address"]["required"] == true);

    // Many stacks: every matrix job runs each spec, and none cancels the others.
    for name in ["converge plan", "converge apply", "converge drift"] {
        let strategy = &job(workflow(&all, name))["strategy"];
        assert_eq!(strategy["fail-fast"], false, "{name}");
        assert!(strategy["matrix"]["spec"].as_array().is_some_and(|s| s.len() >= 2), "{name}");
    }
}

/// A sandbox for a spec's account and region with what it reads but does not own.
struct Stack {
    runtime: tokio::runtime::Runtime,
    sandbox: Option<Sandbox>,
    dir: PathBuf,
    spec: String,
}

impl Stack {
    fn start(spec: &str) -> Stack {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ci-docs-{}", spec.replace('/', "-")));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&root().join("specs"), &dir.join("specs"));
        let text = std::fs::read_to_string(dir.join(spec)).expect("the spec");
        let base = dir.join("specs");
        let loader = move |rel: &str| std::fs::read_to_string(base.join(rel)).map_err(|e| e.to_string());
        let checked = converge_spec::check(spec, &text, &loader).spec.expect("a valid spec");
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        let config = Config {
            account: checked.stack.account.clone(),
            region: checked.stack.region.clone(),
            time_scale: 0.005,
            ..Config::default()
        };
        let sandbox = runtime.block_on(Sandbox::start(config)).expect("the sandbox starts");
        sandbox.seed(&Seed {
            vpcs: checked.vpcs.values().map(|v| (v.id.clone(), v.cidrs.first().cloned().unwrap_or_default())).collect(),
            buckets: checked.catalog_products.values().map(|p| p.template_bucket.clone()).collect(),
            network: SeedNetwork::NatGateway,
            ..Seed::default()
        });
        Stack { runtime, sandbox: Some(sandbox), dir, spec: spec.to_owned() }
    }

    fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().expect("running")
    }

    /// Runs one line of a workflow's script as the runner would (bash, the
    /// job's environment), against the sandbox; returns its exit code and stderr.
    fn run(&self, line: &str, address: &str) -> (i32, String) {
        let bin = Path::new(env!("CARGO_BIN_EXE_converge")).parent().expect("the binary's directory").to_owned();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        let mut command = Command::new("bash");
        command
            .args(["-c", line])
            .current_dir(&self.dir)
            .env("PATH", path)
            .env("SPEC", &self.spec)
            .env("ADDRESS", address);
        let output = against_sandbox(&mut command, &self.sandbox().endpoint()).output().expect("bash runs");
        (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            self.runtime.block_on(sandbox.stop());
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a directory");
    for entry in std::fs::read_dir(from).expect("a directory to copy") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("a copy");
        }
    }
}

#[test]
fn the_converge_commands_of_the_workflows_run_against_the_sandbox() {
    let all = workflows();
    let matrix: Vec<String> = job(workflow(&all, "converge plan"))["strategy"]["matrix"]["spec"]
        .as_array()
        .expect("the stacks")
        .iter()
        .map(|s| s.as_str().expect("a spec path").to_owned())
        .collect();
    for spec in &matrix {
        let stack = Stack::start(spec);
        let expect = |workflow_name: &str, allowed: &[i32], address: &str| {
            for line in converge_lines(workflow(&all, workflow_name)) {
                let (code, stderr) = stack.run(&line, address);
                assert!(allowed.contains(&code), "{spec}: `{line}` exited {code}:\n{stderr}");
            }
        };
        // A pull request: the plan (changes: exit 2), saved and as Markdown.
        expect("converge plan", &[0, 2], "");
        assert!(stack.file("plan.md").starts_with("### converge plan"), "{}", stack.file("plan.md"));
        assert!(stack.file("plan.json").contains("converge-saved-plan"));
        // Merged: the saved plan applies.
        expect("converge apply", &[0], "");
        // The hourly drift check finds nothing.
        expect("converge drift", &[0], "");
        assert!(stack.file("drift.md").contains("No drift"), "{}", stack.file("drift.md"));

        // A cluster fails: drift exits 2 (the workflow opens an issue) …
        let state = stack.sandbox().state();
        let (cluster, address) = state["emr"]["clusters"]
            .as_object()
            .and_then(|clusters| clusters.values().next())
            .map(|c| {
                let id = c["id"].as_str().expect("an id").to_owned();
                let address = c["tags"]["converge:address"].as_str().expect("converge's cluster").to_owned();
                (id, address)
            })
            .expect("a cluster");
        let failure =
            ClusterEvent::Fail { cluster: cluster.clone(), code: "INSTANCE_FAILURE".into(), message: "lost".into() };
        stack.sandbox().cluster_event(&failure).expect("the cluster fails");
        std::thread::sleep(Duration::from_millis(1500)); // TERMINATING lasts 90 s × 0.005
        expect("converge drift", &[2], "");
        assert!(stack.file("drift.md").contains("terminated in AWS"), "{}", stack.file("drift.md"));

        // … and the manual rebuild recreates it; its output names the new cluster.
        expect("converge rebuild", &[0], &address);
        let output: serde_json::Value = serde_json::from_str(&stack.file("output.json")).expect("JSON");
        let rebuilt = output["resources"][&address]["id"].as_str().expect("the new id");
        assert_ne!(rebuilt, cluster);
        expect("converge drift", &[0], "");
    }
}

/// The promotion workflows: the pull request plans every environment in one
/// comment; a merge applies staging, plans production from the same commit
/// and applies that plan in a job that waits for the `production`
/// environment's reviewers. Their `converge` lines run against two
/// sandboxes, one per account, each job with its environment's credentials.
#[test]
fn the_promotion_workflows_plan_every_environment_and_promote_the_same_commit() {
    let all = workflows();
    let pull_request = workflow(&all, "converge plan environments");
    assert!(pull_request["on"]["pull_request"].is_object());
    assert_eq!(pull_request["permissions"]["pull-requests"], "write");
    let plan_lines = converge_lines(pull_request);
    assert!(plan_lines.iter().any(|l| l.contains("--all-envs") && l.contains("--format markdown")), "{plan_lines:?}");
    let comment = uses(pull_request, "actions/github-script").expect("the comment step");
    assert!(comment["with"]["script"].as_str().is_some_and(|s| s.contains("updateComment") && s.contains("marker")));

    let promote = workflow(&all, "converge promote");
    assert_eq!(promote["on"]["push"]["branches"][0], "main");
    assert_eq!(promote["concurrency"]["cancel-in-progress"], false, "a later merge never overtakes an earlier one");
    let jobs = promote["jobs"].as_object().expect("jobs");
    let names: Vec<&str> = jobs.keys().map(String::as_str).collect();
    assert_eq!(names, ["staging", "production-plan", "production"]);
    let job_of = |name: &str| &promote["jobs"][name];
    assert_eq!(job_of("staging")["environment"], "staging");
    assert_eq!(job_of("production-plan")["needs"], "staging");
    assert_eq!(job_of("production")["needs"], "production-plan");
    assert_eq!(job_of("production")["environment"], "production", "the reviewers of `production` approve");
    for name in names.iter().copied() {
        let checkout = job_of(name)["steps"][0].clone();
        assert_eq!(checkout["with"]["ref"], "${{ github.sha }}", "{name} works on the merged commit");
    }
    assert_eq!(lines_of(&job_scripts(job_of("production"))), ["converge apply plan.json --auto-approve"]);

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ci-docs-promotion");
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&root().join("specs"), &dir.join("specs"));
    let accounts = Accounts::start(&dir.join("aws"), 0.003);
    // Runs one line as the runner would: bash in the checkout, with the
    // credentials of an environment (`Some`), or the profiles of every account.
    let run = |line: &str, environment: Option<&str>| -> (i32, String) {
        let bin = Path::new(env!("CARGO_BIN_EXE_converge")).parent().expect("the binary's directory").to_owned();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        let mut command = Command::new("bash");
        command.args(["-c", line]).current_dir(&dir).env("PATH", path).env("SPEC", "specs/ml-platform.toml");
        match environment {
            Some(environment) => against_sandbox(&mut command, &accounts.of(environment).endpoint()),
            None => accounts.with_profiles(&mut command),
        };
        let output = command.output().expect("bash runs");
        (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let expect = |lines: &[String], environment: Option<&str>, allowed: &[i32]| {
        for line in lines {
            let (code, stderr) = run(line, environment);
            assert!(allowed.contains(&code), "`{line}` exited {code}:\n{stderr}");
        }
    };
    let file = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));

    // The pull request: both environments planned, in one comment.
    expect(&plan_lines, None, &[0, 2]);
    let comment = file("plan.md");
    assert!(
        comment.contains("| `staging` | 111111111111 |") && comment.contains("| `production` | 222222222222 |"),
        "{comment}"
    );
    assert!(comment.contains("to create"), "{comment}");

    // The merge: staging applied, production planned from the same commit, approved, applied.
    expect(&lines_of(&job_scripts(job_of("staging"))), Some("staging"), &[0]);
    assert!(!accounts.staging().state()["emr"]["clusters"].as_object().is_none_or(|c| c.is_empty()));
    assert!(
        accounts.production().state()["emr"]["clusters"].as_object().is_none_or(|c| c.is_empty()),
        "production waits"
    );
    expect(&lines_of(&job_scripts(job_of("production-plan"))), Some("production"), &[2]);
    assert!(file("plan.json").contains("\"environment\": \"production\""), "the saved plan names its environment");
    expect(&lines_of(&job_scripts(job_of("production"))), Some("production"), &[0]);

    // The next pull request finds both environments as their definitions say.
    expect(&plan_lines, None, &[0]);
    assert!(file("plan.md").matches("No changes").count() >= 2, "{}", file("plan.md"));
}
