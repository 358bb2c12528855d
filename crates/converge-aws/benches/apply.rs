//! What a real run of the reference specs costs against the sandbox with AWS-like
//! latency: API calls per plan, and an apply's wall time against the critical
//! path of its step graph.
//!
//! For each reference spec: a sandbox (time-scaled) that answers every call
//! after `--latency-ms`, seeded with the VPC and bucket the spec reads; one
//! apply from the empty account through the real SDK clients and the apply
//! engine (as `converge apply` runs it: 8 steps at a time); then a plan of the
//! applied stack. The critical path is the longest chain of steps through the
//! plan's `after` edges, each step weighted by the time it really took (from
//! its start to its end, its waits for AWS and retries included): no schedule
//! can finish sooner, so wall time over critical path is what the engine's
//! scheduling costs.
//!
//! The dev profile: the time goes to waiting for the sandbox, not to converge's
//! own work, and a release build of the AWS SDK takes a quarter of an hour here.
//!
//! ```sh
//! cargo bench --profile dev -p converge-aws --bench apply [-- --latency-ms 50 --time-scale 0.01 --runs 3]
//! ```

#![expect(clippy::print_stdout, reason = "a bench binary reports its figures on stdout")]

// The end-to-end tests' harness: the reference specs, checked, and what a sandbox needs seeded for them.
#[path = "../tests/common/mod.rs"]
mod common;
// Step spans and the critical path, shared with the scale bench.
mod timing;

use std::time::{Duration, Instant};

use converge_aws::{Aws, Options};
use converge_engine::Cancel;
use converge_executor::Executor as _;

struct Settings {
    latency_ms: u64,
    time_scale: f64,
    runs: usize,
}

fn settings() -> Settings {
    let mut settings = Settings { latency_ms: 50, time_scale: 0.01, runs: 3 };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |i: usize| args.get(i + 1).unwrap_or_else(|| panic!("{} needs a value", args[i]));
    for (i, arg) in args.iter().enumerate() {
        match arg.as_str() {
            "--latency-ms" => settings.latency_ms = value(i).parse().expect("--latency-ms N"),
            "--time-scale" => settings.time_scale = value(i).parse().expect("--time-scale F"),
            "--runs" => settings.runs = value(i).parse().expect("--runs N"),
            _ => {}
        }
    }
    settings
}

/// One apply from the empty account and one plan of the result.
struct Run {
    steps: usize,
    wall: Duration,
    critical_path: Duration,
    /// The steps on the critical path, first to last.
    path: Vec<String>,
    plan_calls: u64,
    /// The plan's calls by service and operation.
    plan_stats: Vec<String>,
    plan_wall: Duration,
    /// `rebuild` of the spec's first cluster: wall time, and converge's own
    /// share of it (planning, and the engine's time with nothing in AWS).
    rebuild_wall: Duration,
    rebuild_own: Duration,
}

async fn run(name: &str, settings: &Settings) -> Run {
    let spec = common::spec(&common::reference(name));
    let sandbox = timing::slow_sandbox(&spec, settings.latency_ms, settings.time_scale, None).await;
    sandbox.seed(&common::seed(&spec));
    let aws = Aws::connect(&Options::sandbox(&sandbox.endpoint(), &spec.stack.region)).await.expect("connects");
    let scope = converge_plan::read_scope(&spec);

    let live = aws.read(&scope).await.expect("reads the empty account");
    let plan = converge_plan::plan(&spec, &live).expect("plans");
    // Each step's start and end, stamped as the engine reports them.
    let (events, received) = tokio::sync::mpsc::unbounded_channel();
    let stamps = timing::spans(received);
    let started = Instant::now();
    let config = converge_engine::Config::default();
    let report = converge_engine::apply(&plan.steps, &aws, &config, Some(&events), &Cancel::new()).await;
    let wall = started.elapsed();
    drop(events);
    assert!(report.is_success(), "{name}: the apply failed: {:?}", report.failed().collect::<Vec<_>>());
    let took = stamps.await.expect("the event task").took;
    let (critical_path, path) = timing::critical_path(&plan.steps, &took);

    aws.stats().reset();
    let planned = Instant::now();
    let live = aws.read(&scope).await.expect("reads the applied stack");
    let again = converge_plan::plan(&spec, &live).expect("plans");
    let plan_wall = planned.elapsed();
    assert!(again.is_empty(), "{name}: the plan after the apply is not empty");
    let plan_calls = aws.stats().total_calls();
    let plan_stats = aws
        .stats()
        .snapshot()
        .iter()
        .map(|((service, operation), count)| format!("{service} {operation} {}", count.calls))
        .collect();
    // `converge rebuild` of the first cluster: read, plan with the replacement, apply.
    let cluster = spec.emr_clusters.keys().next().expect("a cluster");
    let replace = [converge_model::Address::new(converge_model::Kind::EmrCluster, cluster.clone())];
    let rebuilding = Instant::now();
    let live = aws.read(&scope).await.expect("reads the stack");
    let read = rebuilding.elapsed();
    let rebuild = converge_plan::plan_replacing(&spec, &live, &replace).expect("plans the rebuild");
    let planning = rebuilding.elapsed() - read;
    let report = converge_engine::apply(&rebuild.steps, &aws, &config, None, &Cancel::new()).await;
    assert!(report.is_success(), "{name}: the rebuild failed");
    let rebuild_wall = rebuilding.elapsed();
    let rebuild_own = planning + report.overhead();
    sandbox.stop().await;
    Run {
        steps: plan.steps.len(),
        wall,
        critical_path,
        path,
        plan_calls,
        plan_stats,
        plan_wall,
        rebuild_wall,
        rebuild_own,
    }
}

fn main() {
    let settings = settings();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    println!(
        "sandbox: every call answered after {} ms; AWS durations x{} (an EMR cluster WAITING in about {:.1} s)\n",
        settings.latency_ms,
        settings.time_scale,
        480.0 * settings.time_scale
    );
    println!(
        "| spec | steps | API calls per plan | plan (read + plan) | apply wall time | critical path | wall / critical path | rebuild wall time | rebuild: converge's own time |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for name in ["studio-emr.toml", "etl-cluster.toml"] {
        let runs: Vec<Run> = (0..settings.runs).map(|_| runtime.block_on(run(name, &settings))).collect();
        for run in &runs {
            println!(
                "| {name} | {} | {} | {:.2} s | {:.2} s | {:.2} s | {:.3} | {:.2} s | {:.3} s |",
                run.steps,
                run.plan_calls,
                run.plan_wall.as_secs_f64(),
                run.wall.as_secs_f64(),
                run.critical_path.as_secs_f64(),
                run.wall.as_secs_f64() / run.critical_path.as_secs_f64(),
                run.rebuild_wall.as_secs_f64(),
                run.rebuild_own.as_secs_f64()
            );
        }
        if let Some(run) = runs.last() {
            println!("|  | critical path of the last run: {} |  |  |  |  |  |  |  |", run.path.join(" → "));
            println!("|  | calls of its plan: {} |  |  |  |  |  |  |  |", run.plan_stats.join(", "));
        }
    }
}
