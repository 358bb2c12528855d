//! docs/watch.md's deployment manifests, checked: the systemd unit, the
//! Kubernetes Deployment and the ECS task definition parse, and the
//! `converge watch` command line of each runs against a sandbox until its
//! first cycle, changes nothing (the spec's default policies only report),
//! and ends cleanly on SIGTERM.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use converge_sandbox::{Config, Sandbox, Seed, SeedNetwork};

mod common;

use common::{against_sandbox, root};

/// The fenced blocks of docs/watch.md in `language`.
fn blocks(language: &str) -> Vec<String> {
    common::doc_blocks("docs/watch.md", language)
}

/// The arguments after `converge` of each manifest: systemd, Kubernetes, ECS.
fn command_lines() -> Vec<(&'static str, Vec<String>)> {
    let unit = blocks("ini").into_iter().next().expect("the systemd unit");
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("ExecStart");
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/converge"));
    let systemd: Vec<String> = words.map(str::to_owned).collect();
    assert!(unit.contains("KillSignal=SIGTERM"));

    let deployment = common::yaml(blocks("yaml").last().expect("the Deployment")).expect("the Deployment parses");
    assert_eq!(deployment["kind"], "Deployment");
    assert_eq!(deployment["spec"]["replicas"], 2, "two replicas, one leader");
    let pod = &deployment["spec"]["template"]["spec"];
    assert!(pod["serviceAccountName"].is_string(), "credentials through IRSA");
    let container = &pod["containers"][0];
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/healthz");
    let kubernetes: Vec<String> = serde_json::from_value(container["args"].clone()).expect("args");

    let task: serde_json::Value =
        serde_json::from_str(blocks("json").last().expect("the task definition")).expect("the task definition parses");
    let container = &task["containerDefinitions"][0];
    assert!(task["taskRoleArn"].is_string());
    let ecs: Vec<String> = serde_json::from_value(container["command"].clone()).expect("command");
    vec![("systemd", systemd), ("kubernetes", kubernetes), ("ecs", ecs)]
}

#[test]
fn the_deployment_manifests_run_converge_watch_against_the_sandbox() {
    let lines = command_lines();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("watch-docs");
    let spec = common::spec_copy("watch-docs", "etl-cluster.toml", |spec| spec);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    let config = Config { region: "us-east-1".into(), time_scale: 0.003, ..Config::default() };
    let sandbox = runtime.block_on(Sandbox::start(config)).expect("the sandbox starts");
    sandbox.seed(&Seed {
        vpcs: vec![("vpc-0a1b2c3d4e5f60718".into(), "10.20.0.0/16".into())],
        buckets: vec!["etl-artifacts".into()],
        network: SeedNetwork::NatGateway,
        ..Seed::default()
    });
    for (name, args) in lines {
        assert_eq!(args[0], "watch", "{name}");
        let args: Vec<String> = args
            .into_iter()
            .map(|a| match a.as_str() {
                "/etc/converge/etl-cluster.toml" | "/spec/etl-cluster.toml" => spec.display().to_string(),
                "0.0.0.0:9464" | "127.0.0.1:9464" => "127.0.0.1:0".to_owned(),
                _ => a,
            })
            .collect();
        let log = dir.join(format!("{name}.log"));
        let before = sandbox.requests().len();
        let mut command = Command::new(env!("CARGO_BIN_EXE_converge"));
        against_sandbox(command.args(&args).current_dir(root()), &sandbox.endpoint());
        let mut child = common::Reaped(
            command
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("the log"))
                .spawn()
                .expect("watch starts"),
        );
        let started = Instant::now();
        let read = || std::fs::read_to_string(&log).unwrap_or_default();
        while !read().contains("reported only") && !read().contains("in sync") {
            assert!(started.elapsed() < Duration::from_secs(30), "{name}: no first cycle:\n{}", read());
            std::thread::sleep(Duration::from_millis(100));
        }
        let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
        assert!(term.success());
        let status = child.wait().expect("watch ends");
        assert_eq!(status.code(), Some(0), "{name}: {}", read());
        let changed: Vec<String> =
            sandbox.requests()[before..].iter().filter(|r| r.may_change()).map(|r| r.operation.clone()).collect();
        assert!(changed.is_empty(), "{name}: the default policies change nothing: {changed:?}");
        assert!(read().contains("serving /healthz and /metrics"), "{name}: {}", read());
    }
    runtime.block_on(sandbox.stop());
}
