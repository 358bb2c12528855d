//! What `converge watch` buys in a disaster, and what it costs to leave running.
//!
//! **Recovery.** The Studio reference spec with `recover = "rebuild"` is
//! applied to a sandbox that answers every call after `--latency-ms` and runs
//! AWS's durations at `--time-scale` (as the apply bench does: an EMR cluster
//! is WAITING after 480 s of AWS time). `converge watch` runs with its default
//! intervals (a full read every 60 s, the clusters every 15 s) and publishes
//! the outputs to S3. The cluster's primary node is lost at a different point
//! of the 15 s check period in each trial; the bench stamps, from the
//! moment of the loss: the rebuild's `RunJobFlow` (detection), the rebuild
//! done (the new cluster WAITING) and the outputs published. Then the path
//! watch replaces, on the same failure: `converge drift` (what the scheduled
//! job runs), `converge rebuild` and `converge output` as a person runs them;
//! only the machine's part is measured (the schedule's wait and the person's
//! are not machine time).
//!
//! **Memory.** watch runs full cycles back to back (`--interval 0.001`) in
//! report mode against the same stack with drift present (a port opened by
//! hand), and the bench reads its resident memory (`VmRSS`) as its
//! `/metrics` cycle count passes 10, 100, 1,000, … `--cycles`.
//!
//! ```sh
//! cargo bench --profile dev -p converge-cli --bench watch [-- --latency-ms 50 --time-scale 0.01 --trials 4 --cycles 10000]
//! ```

#![expect(clippy::print_stdout, reason = "a bench binary reports its figures on stdout")]

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use converge_sandbox::{ClusterEvent, Config, Fault, FaultKind, Sandbox};

struct Settings {
    latency_ms: u64,
    time_scale: f64,
    trials: usize,
    cycles: u64,
}

fn settings() -> Settings {
    let mut settings = Settings { latency_ms: 50, time_scale: 0.01, trials: 4, cycles: 10_000 };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |i: usize| args.get(i + 1).unwrap_or_else(|| panic!("{} needs a value", args[i]));
    for (i, arg) in args.iter().enumerate() {
        match arg.as_str() {
            "--latency-ms" => settings.latency_ms = value(i).parse().expect("--latency-ms N"),
            "--time-scale" => settings.time_scale = value(i).parse().expect("--time-scale F"),
            "--trials" => settings.trials = value(i).parse().expect("--trials N"),
            "--cycles" => settings.cycles = value(i).parse().expect("--cycles N"),
            _ => {}
        }
    }
    settings
}

const OUTPUTS: &str = "s3://ml-platform-artifacts/converge/outputs.json";
/// watch's default cluster check period, which the trials spread the failures over.
const CLUSTER_INTERVAL: f64 = 15.0;

/// A sandbox with the Studio spec applied, and the spec's path.
struct Stack {
    runtime: tokio::runtime::Runtime,
    sandbox: Option<Sandbox>,
    spec: PathBuf,
}

impl Stack {
    fn start(name: &str, latency_ms: u64, time_scale: f64, edit: impl Fn(String) -> String) -> Stack {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        let latency = ["ec2", "iam", "sts", "emr", "sagemaker", "servicecatalog", "s3"].map(|service| Fault {
            service: service.to_owned(),
            operation: None,
            kind: FaultKind::Latency,
            times: None,
            latency_ms: Some(latency_ms),
            rate: None,
        });
        let faults = if latency_ms == 0 { Vec::new() } else { latency.to_vec() };
        let sandbox = common::studio_sandbox(&runtime, Config { time_scale, faults, ..Config::default() });
        let spec = common::spec_copy(name, "studio-emr.toml", edit);
        let stack = Stack { runtime, sandbox: Some(sandbox), spec };
        let applied = stack.converge(&["apply", "--auto-approve"]).output().expect("converge runs");
        assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
        stack
    }

    fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().expect("running")
    }

    /// `converge VERB SPEC ARGS…` against the sandbox.
    fn converge(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_converge"));
        let spec = self.spec.to_str().expect("a UTF-8 path");
        command.arg(args[0]).arg(spec).args(&args[1..]).current_dir(common::root());
        common::against_sandbox(&mut command, &self.sandbox().endpoint());
        command
    }

    fn watch(&self, args: &[&str], log: &Path) -> Child {
        let mut all = vec!["watch"];
        all.extend_from_slice(args);
        self.converge(&all)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).expect("the log"))
            .spawn()
            .expect("watch starts")
    }

    /// The running cluster converge made for the spec's `notebooks` cluster.
    fn cluster(&self) -> String {
        common::running_cluster(self.sandbox(), "emr_cluster.notebooks").expect("the cluster runs")
    }

    fn calls(&self, operation: &str) -> usize {
        self.sandbox().requests().iter().filter(|r| r.operation == operation && r.status == 200).count()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            self.runtime.block_on(sandbox.stop());
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Waits (polling every 10 ms, at most `limit`) until `done`; the time from `since`.
fn stamp(since: Instant, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    while !done() {
        assert!(since.elapsed() < limit, "waited {limit:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    since.elapsed()
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}

fn with_rebuild(spec: String) -> String {
    spec.replace(
        "silence = { single-subnet = \"the design document keeps Studio and EMR in the same subnet\" }",
        "silence = { single-subnet = \"the design document keeps Studio and EMR in the same subnet\" }\nrecover = \"rebuild\"",
    )
}

/// From the primary node's loss: rebuild started, new cluster WAITING, outputs published.
struct Recovery {
    offset: f64,
    detected: Duration,
    waiting: Duration,
    published: Duration,
}

fn recovery(trial: usize, settings: &Settings) -> Recovery {
    let stack = Stack::start(&format!("bench-watch-{trial}"), settings.latency_ms, settings.time_scale, with_rebuild);
    let log = stack.spec.with_file_name("watch.log");
    let watch = stack.watch(&["--publish", OUTPUTS], &log);
    let started = Instant::now();
    stamp(started, Duration::from_secs(60), || read(&log).contains("in sync"));
    // The first cycle just ended: the first cluster check is due 15 s from
    // now. The failure comes at a chosen point of that period.
    let synced = Instant::now();
    let offset = CLUSTER_INTERVAL * (trial as f64 + 0.5) / settings.trials as f64;
    std::thread::sleep(Duration::from_secs_f64(offset).saturating_sub(synced.elapsed()));
    let created = stack.calls("RunJobFlow");
    let cluster = stack.cluster();
    let lost = Instant::now();
    stack.sandbox().cluster_event(&ClusterEvent::LosePrimary { cluster }).expect("the node is lost");
    let limit = Duration::from_secs(120);
    let detected = stamp(lost, limit, || stack.calls("RunJobFlow") > created);
    let waiting = stamp(lost, limit, || read(&log).contains("rebuilt, "));
    let published = stamp(lost, limit, || read(&log).contains("published the outputs"));
    stop(watch);
    Recovery { offset, detected, waiting, published }
}

/// The path watch replaces, machine time only: the scheduled `converge drift`
/// that finds the failure, then a person's `converge rebuild` and `converge output`.
struct ByHand {
    drift: Duration,
    rebuild: Duration,
    output: Duration,
}

fn by_hand(settings: &Settings) -> ByHand {
    let stack = Stack::start("bench-watch-by-hand", settings.latency_ms, settings.time_scale, with_rebuild);
    let cluster = stack.cluster();
    stack.sandbox().cluster_event(&ClusterEvent::LosePrimary { cluster }).expect("the node is lost");
    // The scheduled job runs after the cluster has ended (it runs at most hourly).
    let ended = Instant::now();
    stamp(ended, Duration::from_secs(60), || {
        stack.sandbox().state()["emr"]["clusters"].to_string().contains("TERMINATED_WITH_ERRORS")
    });
    std::thread::sleep(Duration::from_secs(1));
    let timed = |args: &[&str], code: i32| {
        let started = Instant::now();
        let out = stack.converge(args).output().expect("converge runs");
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        started.elapsed()
    };
    let drift = timed(&["drift"], 2);
    let rebuild = timed(&["rebuild", "emr_cluster.notebooks", "--auto-approve"], 0);
    let output = timed(&["output", "--format", "json"], 0);
    ByHand { drift, rebuild, output }
}

/// `VmRSS` of a process, in KiB (Linux).
fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `GET /metrics`: the cycles counted so far.
fn cycles(addr: &str) -> Option<u64> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    write!(stream, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let line = response.lines().find(|l| l.starts_with("converge_watch_cycles_total "))?;
    line.split_whitespace().nth(1)?.parse::<f64>().ok().map(|v| v as u64)
}

fn memory(settings: &Settings) -> Vec<(u64, u64, Duration)> {
    let stack = Stack::start("bench-watch-memory", 0, settings.time_scale, |spec| spec);
    // Drift every cycle: a port opened by hand on the primary group, reported.
    common::open_ssh_by_hand(&stack.runtime, stack.sandbox(), "security_group.emr_master");
    let log = stack.spec.with_file_name("watch-memory.log");
    let watch = stack.watch(&["--interval", "0.001", "--cluster-interval", "3600", "--listen", "127.0.0.1:0"], &log);
    let started = Instant::now();
    stamp(started, Duration::from_secs(60), || read(&log).contains("serving /healthz"));
    let text = read(&log);
    let at = text.find("on http://").expect("the address") + "on http://".len();
    let addr = text[at..].lines().next().expect("an address").trim().to_owned();
    let mut marks: Vec<u64> = [10, 100, 1_000, 2_500, 5_000, 7_500, 10_000, 25_000, 50_000, 100_000]
        .into_iter()
        .filter(|m| *m < settings.cycles)
        .collect();
    marks.push(settings.cycles);
    let mut samples = Vec::new();
    for mark in marks {
        loop {
            let done = cycles(&addr).unwrap_or(0);
            if done >= mark {
                let kib = resident_kib(watch.id()).expect("VmRSS");
                samples.push((done, kib, started.elapsed()));
                println!(
                    "  {done} cycles: {:.1} MiB resident after {:.0} s",
                    kib as f64 / 1024.0,
                    started.elapsed().as_secs_f64()
                );
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert!(
        read(&log).contains("reported only"),
        "drift was present: {}",
        read(&log).lines().last().unwrap_or_default()
    );
    stop(watch);
    samples
}

fn main() {
    let settings = settings();
    println!(
        "sandbox: every call answered after {} ms; AWS durations x{} (an EMR cluster WAITING {:.1} s after RunJobFlow)\n",
        settings.latency_ms,
        settings.time_scale,
        480.0 * settings.time_scale
    );
    println!("converge watch (a full read every 60 s, the clusters every 15 s), from the primary node's loss:\n");
    println!(
        "| trial | lost at (s into the check period) | rebuild started | new cluster WAITING | outputs published |"
    );
    println!("|---|---|---|---|---|");
    for trial in 0..settings.trials {
        let r = recovery(trial, &settings);
        println!(
            "| {} | {:.1} | {:.2} s | {:.2} s | {:.2} s |",
            trial + 1,
            r.offset,
            r.detected.as_secs_f64(),
            r.waiting.as_secs_f64(),
            r.published.as_secs_f64()
        );
    }
    let hand = by_hand(&settings);
    println!("\nThe path it replaces, machine time only (the schedule's wait and the person's are not in it):\n");
    println!("| converge drift | converge rebuild | converge output |");
    println!("|---|---|---|");
    println!(
        "| {:.2} s | {:.2} s | {:.2} s |",
        hand.drift.as_secs_f64(),
        hand.rebuild.as_secs_f64(),
        hand.output.as_secs_f64()
    );
    println!(
        "\nconverge watch's resident memory, full cycles back to back with drift reported ({} cycles):\n",
        settings.cycles
    );
    let samples = memory(&settings);
    println!("\n| cycles | resident memory | elapsed |");
    println!("|---|---|---|");
    for (cycles, kib, elapsed) in samples {
        println!("| {cycles} | {:.1} MiB | {:.0} s |", kib as f64 / 1024.0, elapsed.as_secs_f64());
    }
}
