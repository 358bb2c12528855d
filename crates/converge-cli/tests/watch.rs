//! `converge watch` as a process against a sandbox: a cluster with
//! `recover = "rebuild"` loses its primary node, watch notices it between
//! full reads, rebuilds it (a first try that fails is tried again after its
//! back-off), publishes the new outputs to S3 and to the `--on-change`
//! command; the plan afterwards is empty; a third failure within the hour,
//! past `max_rebuilds`, is left to a person; SIGTERM ends it cleanly.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use converge_sandbox::{ClusterEvent, Config, Fault, FaultKind, Sandbox};

mod common;

use common::{Reaped, against_sandbox, root};

struct Env {
    runtime: tokio::runtime::Runtime,
    sandbox: Option<Sandbox>,
}

impl Env {
    fn start() -> Env {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        let sandbox = common::studio_sandbox(&runtime, Config { time_scale: 0.003, ..Config::default() });
        Env { runtime, sandbox: Some(sandbox) }
    }

    fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().expect("running")
    }

    fn converge(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_converge"));
        against_sandbox(command.args(args).current_dir(root()), &self.sandbox().endpoint());
        command
    }

    /// A copy of studio-emr.toml, edited, applied to the sandbox: its directory and path.
    fn applied(&self, name: &str, edit: impl Fn(String) -> String) -> (std::path::PathBuf, String) {
        let spec = common::spec_copy(name, "studio-emr.toml", edit);
        let dir = spec.parent().expect("a directory").to_owned();
        let spec = spec.to_str().expect("a UTF-8 path").to_owned();
        let applied = self.converge(&["apply", &spec, "--auto-approve"]).output().expect("converge runs");
        assert_eq!(applied.status.code(), Some(0), "{}", String::from_utf8_lossy(&applied.stderr));
        (dir, spec)
    }

    /// `converge watch ARGS` in the background, its log (stderr) in `log`.
    fn watch(&self, args: &[&str], log: &Path) -> Reaped {
        let mut all = vec!["watch"];
        all.extend_from_slice(args);
        Reaped(
            self.converge(&all)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(log).expect("the log file"))
                .spawn()
                .expect("watch starts"),
        )
    }

    fn calls(&self, operation: &str) -> usize {
        self.sandbox().requests().iter().filter(|r| r.operation == operation).count()
    }

    /// The id of the running cluster converge made for `address`.
    fn running_cluster(&self, address: &str) -> Option<String> {
        common::running_cluster(self.sandbox(), address)
    }

    fn fail(&self, cluster: &str) {
        let failure =
            ClusterEvent::Fail { cluster: cluster.to_owned(), code: "INSTANCE_FAILURE".into(), message: "lost".into() };
        self.sandbox().cluster_event(&failure).expect("the cluster fails");
    }

    /// Calls of `operation` that AWS carried out (not those a fault answered).
    fn answered(&self, operation: &str) -> usize {
        self.sandbox().requests().iter().filter(|r| r.operation == operation && r.status == 200).count()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            self.runtime.block_on(sandbox.stop());
        }
    }
}

#[track_caller]
fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The address watch's log says it serves `/healthz` and `/metrics` on.
fn served_at(log: &Path) -> String {
    let text = read(log);
    let at = text.find("serving /healthz and /metrics on http://").expect("serving")
        + "serving /healthz and /metrics on http://".len();
    text[at..].lines().next().expect("an address").trim().to_owned()
}

/// `GET path` over plain HTTP/1.0: the body.
fn get(addr: &str, path: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).expect("connects");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("the request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("the response");
    assert!(response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"), "{response}");
    response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default()
}

/// The samples of `/metrics`, parsed as Prometheus parses the text format.
fn metrics(addr: &str) -> Vec<prometheus_parse::Sample> {
    let body = get(addr, "/metrics");
    let lines = body.lines().map(|l| Ok(l.to_owned()));
    prometheus_parse::Scrape::parse(lines).expect("the Prometheus text format").samples
}

fn value(samples: &[prometheus_parse::Sample], name: &str, label: Option<(&str, &str)>) -> f64 {
    let found = samples.iter().find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)));
    match found.map(|s| &s.value) {
        Some(
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v),
        ) => *v,
        other => panic!("no sample `{name}` {label:?}: {other:?}"),
    }
}

#[test]
fn a_failed_cluster_is_rebuilt_once_published_and_then_left_to_a_person() {
    let env = Env::start();
    let (dir, spec) = env.applied("watch-rebuild", |spec| {
        spec.replace(
            "silence = { single-subnet = \"the design document keeps Studio and EMR in the same subnet\" }",
            "silence = { single-subnet = \"the design document keeps Studio and EMR in the same subnet\" }\nrecover = \"rebuild\"\nmax_rebuilds = 3",
        )
    });
    let spec = spec.as_str();
    let first = env.running_cluster("emr_cluster.notebooks").expect("the cluster runs");

    let (log, hook) = (dir.join("watch.log"), dir.join("hook.json"));
    let hook_command = format!("cat > {}", hook.display());
    let mut watch = env.watch(
        &[
            spec,
            "--interval",
            "30",
            "--cluster-interval",
            "0.2",
            "--rebuild-backoff",
            "1",
            "--publish",
            "s3://ml-platform-artifacts/converge/outputs.json",
            "--on-change",
            &hook_command,
            "--listen",
            "127.0.0.1:0",
        ],
        &log,
    );
    wait_for("the first cycle", Duration::from_secs(30), || read(&log).contains("in sync"));
    let created = env.answered("RunJobFlow");

    // The primary node is lost: noticed between full reads. The first try
    // meets a proxy's error page three times and fails; after its back-off
    // the second is throttled once, and the engine's retry builds the
    // cluster; the outputs are published.
    let fault = |kind, times| Fault {
        service: "emr".into(),
        operation: Some("RunJobFlow".into()),
        kind,
        times: Some(times),
        latency_ms: None,
        rate: None,
    };
    env.sandbox().set_faults(vec![fault(FaultKind::Html, 3), fault(FaultKind::Throttle, 1)]);
    env.sandbox().cluster_event(&ClusterEvent::LosePrimary { cluster: first.clone() }).expect("the node is lost");
    wait_for("the outputs", Duration::from_secs(60), || read(&hook).contains("emr_cluster.notebooks"));
    let outputs: serde_json::Value = serde_json::from_str(&read(&hook)).expect("JSON on the hook's stdin");
    let second = outputs["resources"]["emr_cluster.notebooks"]["id"].as_str().expect("the new id").to_owned();
    assert_ne!(second, first, "{}", read(&log));
    assert_eq!(env.answered("RunJobFlow"), created + 1, "one new cluster: {}", read(&log));
    assert!(env.sandbox().state().to_string().contains("converge/outputs.json"), "published to S3");
    let log_text = read(&log);
    assert!(log_text.contains("is no longer running"), "noticed by the cluster check: {log_text}");
    assert!(log_text.contains("the rebuild did not finish; trying again in 1 s"), "{log_text}");
    let plan = env.converge(&["plan", spec, "--detailed-exitcode"]).output().expect("converge runs");
    assert_eq!(plan.status.code(), Some(0), "the plan after the rebuild is empty: {}", read(&log));
    let addr = served_at(&log);
    let samples = metrics(&addr);
    assert!(value(&samples, "converge_watch_cycles_total", None) >= 2.0);
    assert_eq!(value(&samples, "converge_watch_rebuilds_total", Some(("result", "failed"))), 1.0);
    assert_eq!(value(&samples, "converge_watch_rebuilds_total", Some(("result", "done"))), 1.0);
    assert_eq!(value(&samples, "converge_watch_leader", None), 1.0, "no lease: the one replica leads");
    // The rebuilds' calls count too (the five RunJobFlow among EMR's), and
    // the throttle is told apart from the error pages.
    assert!(value(&samples, "converge_watch_aws_calls_total", Some(("service", "EMR"))) >= 10.0);
    assert_eq!(value(&samples, "converge_watch_aws_throttles_total", Some(("service", "EMR"))), 1.0);
    assert_eq!(value(&samples, "converge_watch_aws_throttles_total", Some(("service", "IAM"))), 0.0);
    assert!(samples.iter().any(|s| s.metric.starts_with("converge_watch_recovery_seconds")));
    let health: serde_json::Value = serde_json::from_str(&get(&addr, "/healthz")).expect("JSON");
    assert_eq!(health["role"], "leader");
    assert!(health["last_success"].as_u64().is_some());

    // It fails again: rebuilt, the third try this hour.
    wait_for("the new cluster to run", Duration::from_secs(30), || {
        env.running_cluster("emr_cluster.notebooks").as_deref() == Some(second.as_str())
    });
    env.fail(&second);
    wait_for("the second rebuild", Duration::from_secs(60), || read(&log).matches("rebuilt, ").count() == 2);
    assert_eq!(env.answered("RunJobFlow"), created + 2, "{}", read(&log));
    let third = loop {
        match env.running_cluster("emr_cluster.notebooks") {
            Some(id) if id != second => break id,
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    };

    // A third failure within the hour: past max_rebuilds, left to a person.
    env.fail(&third);
    // Noticed well before the next full read at the 30 s interval: by the
    // cluster check, or by the full read a cluster interval after a rebuild.
    wait_for("the report", Duration::from_secs(20), || read(&log).contains("NEEDS A PERSON"));
    assert_eq!(env.answered("RunJobFlow"), created + 2, "not rebuilt again: {}", read(&log));

    // SIGTERM ends it cleanly.
    let killed = Command::new("kill").args(["-TERM", &watch.id().to_string()]).status().expect("kill runs");
    assert!(killed.success());
    let status = watch.wait().expect("watch ends");
    assert_eq!(status.code(), Some(0), "{}", read(&log));
    assert!(read(&log).contains("stopping"));
}

/// The default policies only report: over many cycles with a failed cluster
/// and drift present (a port opened by hand), watch makes no call that
/// changes anything. With `on_drift = "repair"` the opened port is closed.
#[test]
fn report_mode_changes_nothing_and_repair_mode_repairs() {
    let env = Env::start();
    let (dir, spec) = env.applied("watch-report", |spec| spec);
    let spec = spec.as_str();
    let cluster = env.running_cluster("emr_cluster.notebooks").expect("the cluster runs");
    common::open_ssh_by_hand(&env.runtime, env.sandbox(), "security_group.emr_master");
    env.fail(&cluster);

    let log = dir.join("watch.log");
    let before = env.sandbox().requests().len();
    let mut watch = env.watch(&[spec, "--interval", "0.3", "--cluster-interval", "0.1", "--log-format", "json"], &log);
    wait_for("five cycles", Duration::from_secs(30), || read(&log).matches("reported only (recover").count() >= 5);
    watch.kill().expect("stopped");
    let _ = watch.wait();
    // `--log-format json`: one object per line, the message in `fields.message`.
    let messages: Vec<String> = read(&log)
        .lines()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert!(event["timestamp"].is_string() && event["level"].is_string(), "{line}");
            event["fields"]["message"].as_str().expect("a message").to_owned()
        })
        .collect();
    assert!(
        messages.iter().any(|m| m == "1 resources not as the spec says; reported only (on_drift = \"report\")"),
        "{messages:#?}"
    );
    let changed: Vec<String> = env.sandbox().requests()[before..]
        .iter()
        .filter(|r| r.may_change())
        .map(|r| format!("{} {}", r.service, r.operation))
        .collect();
    assert!(changed.is_empty(), "report mode changes nothing: {changed:?}");

    // The same stack with `on_drift = "repair"` and the cluster rebuilt by a
    // person first; someone opens SSH to the world on the primary group.
    let rebuilt = env.converge(&["rebuild", spec, "emr_cluster.notebooks", "--auto-approve"]).output().expect("runs");
    assert_eq!(rebuilt.status.code(), Some(0), "{}", String::from_utf8_lossy(&rebuilt.stderr));
    let opened = common::open_ssh_by_hand(&env.runtime, env.sandbox(), "security_group.emr_master");
    assert!(ssh_open(&env, &opened));
    let revoked = env.calls("RevokeSecurityGroupIngress");
    let text = std::fs::read_to_string(spec).expect("the spec");
    std::fs::write(
        spec,
        text.replace(
            "tags = { team = \"data-platform\" }",
            "tags = { team = \"data-platform\" }\non_drift = \"repair\"",
        ),
    )
    .expect("the spec written");
    let mut watch = env.watch(&[spec, "--interval", "0.3", "--cluster-interval", "0.1"], &log);
    wait_for("the repair", Duration::from_secs(30), || read(&log).contains("in sync"));
    watch.kill().expect("stopped");
    let _ = watch.wait();
    assert!(read(&log).contains("repairing (on_drift = \"repair\")"), "{}", read(&log));
    assert!(!ssh_open(&env, &opened), "the port is closed again: {}", read(&log));
    assert_eq!(env.calls("RevokeSecurityGroupIngress"), revoked + 1, "the one call that closes it: {}", read(&log));
    let drift = env.converge(&["drift", spec]).output().expect("converge runs");
    assert_eq!(drift.status.code(), Some(0), "repaired: {}", String::from_utf8_lossy(&drift.stdout));
}

/// Whether the group lets TCP 22 in from anywhere.
fn ssh_open(env: &Env, group: &str) -> bool {
    let state = env.sandbox().state();
    state["ec2"]["groups"][group]["ingress"].as_array().is_some_and(|rules| {
        rules.iter().any(|r| r["cidr"] == "0.0.0.0/0" && r["from_port"] == 22 && r["to_port"] == 22)
    })
}

/// Two replicas with a lease in the state bucket: only the leader acts; it is
/// killed with SIGKILL; the standby takes over once the lease has gone
/// unrenewed for its length, and the failed cluster is rebuilt exactly once.
#[test]
fn two_replicas_one_leader_the_standby_takes_over_after_the_lease() {
    let env = Env::start();
    let (dir, spec) = env.applied("watch-replicas", |spec| {
        spec.replace("tags = { team = \"data-platform\" }", "tags = { team = \"data-platform\" }\nstate_bucket = \"ml-platform-artifacts\"")
            .replace(
                "silence = { single-subnet = \"the design document keeps Studio and EMR in the same subnet\" }",
                "silence = { single-subnet = \"the design document keeps Studio and EMR in the same subnet\" }\nrecover = \"rebuild\"",
            )
    });
    let spec = spec.as_str();
    let first = env.running_cluster("emr_cluster.notebooks").expect("the cluster runs");

    let start = |name: &str| {
        let log = dir.join(format!("{name}.log"));
        let child = env.watch(
            &[spec, "--interval", "30", "--cluster-interval", "0.2", "--lease", "2", "--listen", "127.0.0.1:0"],
            &log,
        );
        (child, log)
    };
    let (mut a, a_log) = start("a");
    wait_for("a to lead", Duration::from_secs(30), || read(&a_log).contains("leader:"));
    let (mut b, b_log) = start("b");
    wait_for("b to stand by", Duration::from_secs(30), || read(&b_log).contains("standby:"));
    assert!(!read(&b_log).contains("Reading stack"), "a standby does not read the stack: {}", read(&b_log));
    let health =
        |log: &Path| -> serde_json::Value { serde_json::from_str(&get(&served_at(log), "/healthz")).expect("JSON") };
    assert_eq!((health(&a_log)["role"].clone(), health(&b_log)["role"].clone()), ("leader".into(), "standby".into()));
    assert_eq!(value(&metrics(&served_at(&b_log)), "converge_watch_leader", None), 0.0);

    a.kill().expect("SIGKILL");
    let _ = a.wait();
    let created = env.calls("RunJobFlow");
    env.fail(&first);
    wait_for("b to take over and rebuild", Duration::from_secs(60), || read(&b_log).contains("rebuilt"));
    let log = read(&b_log);
    assert!(log.find("leader:") < log.find("rebuilding it"), "{log}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(env.calls("RunJobFlow"), created + 1, "rebuilt exactly once: {log}");
    b.kill().expect("stopped");
    let _ = b.wait();
    let plan = env.converge(&["plan", spec, "--detailed-exitcode"]).output().expect("converge runs");
    assert_eq!(plan.status.code(), Some(0), "one cluster, as the spec says: {}", String::from_utf8_lossy(&plan.stdout));
}
