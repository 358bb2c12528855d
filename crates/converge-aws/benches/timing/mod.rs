//! What both apply benches share: a sandbox for a spec whose every call is
//! answered after a set latency, each step's span as the engine reports it,
//! and the critical path of the step graph.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use converge_engine::Event;
use converge_model::Spec;
use converge_ops::StepId;
use converge_sandbox::{Config, Fault, FaultKind, Sandbox};

/// A sandbox for `spec`'s account and region where every service answers each
/// call after `latency_ms`, AWS's durations multiplied by `time_scale`, and
/// throttles by AWS's published rates times `rate_limits` (`None`: never).
pub(crate) async fn slow_sandbox(spec: &Spec, latency_ms: u64, time_scale: f64, rate_limits: Option<f64>) -> Sandbox {
    let latency = ["ec2", "iam", "sts", "emr", "sagemaker", "servicecatalog", "s3"].map(|service| Fault {
        service: service.to_owned(),
        operation: None,
        kind: FaultKind::Latency,
        times: None,
        latency_ms: Some(latency_ms),
        rate: None,
    });
    Sandbox::start(Config {
        account: spec.stack.account.clone(),
        region: spec.stack.region.clone(),
        time_scale,
        faults: latency.to_vec(),
        rate_limits,
        ..Config::default()
    })
    .await
    .expect("the sandbox starts")
}

/// What the engine's events say of each step: how long it took from start to
/// done, and how many times it waited for AWS between calls.
pub(crate) struct Spans {
    pub(crate) took: BTreeMap<StepId, Duration>,
    #[allow(dead_code, reason = "the apply bench reads only the spans")]
    pub(crate) waits: BTreeMap<StepId, u32>,
}

impl Spans {
    /// The time steps held a call slot: their spans less their waits of
    /// `poll_interval` each (a waiting step holds none; exact when every
    /// wait is one poll interval, as without pacing).
    #[allow(dead_code, reason = "the apply bench reads only the spans")]
    pub(crate) fn calling(&self, poll_interval: Duration) -> Duration {
        self.took
            .iter()
            .map(|(step, took)| took.saturating_sub(poll_interval * self.waits.get(step).copied().unwrap_or(0)))
            .sum()
    }
}

/// Collects each step's start, waits and end from the engine's events until the sender is dropped.
pub(crate) fn spans(mut received: tokio::sync::mpsc::UnboundedReceiver<Event>) -> tokio::task::JoinHandle<Spans> {
    tokio::spawn(async move {
        let mut spans: BTreeMap<StepId, (Instant, Option<Instant>)> = BTreeMap::new();
        let mut waits: BTreeMap<StepId, u32> = BTreeMap::new();
        while let Some(event) = received.recv().await {
            match event {
                Event::Started { step, .. } => {
                    spans.entry(step).or_insert((Instant::now(), None));
                }
                Event::Waiting { step, .. } => *waits.entry(step).or_default() += 1,
                Event::Done { step, .. } => {
                    if let Some(span) = spans.get_mut(&step) {
                        span.1 = Some(Instant::now());
                    }
                }
                _ => {}
            }
        }
        let took = spans
            .iter()
            .filter_map(|(step, (start, end))| Some((*step, end.as_ref()?.duration_since(*start))))
            .collect();
        Spans { took, waits }
    })
}

/// The longest chain through the graph's `after` edges, each step weighing what it took.
pub(crate) fn critical_path(
    graph: &converge_ops::StepGraph,
    took: &BTreeMap<StepId, Duration>,
) -> (Duration, Vec<String>) {
    // Steps come in an order where every edge points backwards.
    let mut finish: BTreeMap<StepId, (Duration, Option<StepId>)> = BTreeMap::new();
    for step in graph.steps() {
        let before = step.after.iter().filter_map(|a| Some((finish.get(a)?.0, *a))).max();
        let own = took.get(&step.id).copied().unwrap_or_default();
        finish.insert(step.id, (before.map_or(Duration::ZERO, |b| b.0) + own, before.map(|b| b.1)));
    }
    let Some((&last, &(length, _))) = finish.iter().max_by_key(|(_, (length, _))| *length) else {
        return (Duration::ZERO, Vec::new());
    };
    let mut path = Vec::new();
    let mut at = Some(last);
    while let Some(id) = at {
        if let Some(step) = graph.get(id) {
            let seconds = took.get(&id).copied().unwrap_or_default().as_secs_f64();
            path.push(format!("{} {} ({seconds:.2} s)", step.address, step.operation.aws_operation()));
        }
        at = finish.get(&id).and_then(|f| f.1);
    }
    path.reverse();
    (length, path)
}
