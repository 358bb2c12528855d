//! The order in which ready steps start.
//!
//! AWS meters calls with token buckets (EC2's per action, EMR's per API):
//! once a plan makes more calls of one kind than the bucket's burst, they go
//! at its refill rate, and that queue, not latency, sets how long the apply
//! takes (100 clusters are created at RunJobFlow's 0.5 a second, whatever
//! happens around them). Such a queue has to start as early as it can and
//! never run dry, so what its calls wait for goes first: a cluster's
//! security groups before the groups only later clusters use.
//!
//! Each step gets a **deadline**: the earliest its own call could go if every
//! bucket served its calls in step order (the k-th of a bucket with burst b
//! and refill r after (k - b) / r seconds, never before zero; zero for a call
//! that is not metered), brought forward to the deadline of any step that
//! waits on it. Ready steps start by deadline, then in step order. Without
//! metered calls every deadline is zero and steps start in step order.

use std::collections::BTreeMap;
use std::time::Duration;

use converge_executor::Executor;
use converge_ops::{StepGraph, StepId};

/// Each step's deadline (see the module documentation).
pub(crate) fn deadlines<E: Executor>(graph: &StepGraph, executor: &E) -> BTreeMap<StepId, Duration> {
    let mut drawn: BTreeMap<String, f64> = BTreeMap::new();
    let mut seconds: BTreeMap<StepId, f64> = graph
        .steps()
        .iter()
        .map(|step| {
            let own = executor
                .metered(&step.operation)
                .into_iter()
                .map(|metered| {
                    let calls = drawn.entry(metered.bucket).or_insert(0.0);
                    *calls += 1.0;
                    let after = (*calls - metered.burst) / metered.refill;
                    if after.is_finite() { after.max(0.0) } else { 0.0 }
                })
                .fold(0.0, f64::max);
            (step.id, own)
        })
        .collect();
    // Steps come in an order where every edge points backwards: a step's
    // deadline is final once every later step has been seen.
    for step in graph.steps().iter().rev() {
        let mine = seconds.get(&step.id).copied().unwrap_or_default();
        for before in &step.after {
            if let Some(theirs) = seconds.get_mut(before) {
                *theirs = theirs.min(mine);
            }
        }
    }
    seconds.into_iter().map(|(id, s)| (id, Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX))).collect()
}
