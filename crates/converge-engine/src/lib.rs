//! The apply engine: carries out a plan's step graph against an [`Executor`].
//!
//! [`apply`] starts every step the moment the steps it waits for are done, with
//! at most [`Config::concurrency`] calls to AWS in flight (a step waiting for
//! AWS between two polls, a cluster starting, holds no slot); when more are
//! ready than there is room for, first those that the calls AWS meters most
//! tightly wait for (`schedule`). A step resolves the ids earlier
//! steps produced, calls [`Executor::start`], and while AWS answers "pending"
//! polls after the delay it asks for. A failure is retried or not by its
//! [`ErrorClass`], decided by [`RetryPolicy::decide`] apart from the step
//! itself (kube-runtime's `reconcile` / `error_policy` split), with
//! exponential backoff, jitter and a bounded total time. A failed step stops
//! only the steps that depend on it; the rest of the plan goes on.
//! [`Cancel`] lets the calls in flight finish and starts nothing new. The
//! [`Report`] says, for every step, done, failed (with the AWS error and a
//! hint), interrupted, or skipped (and because of which failure); [`Event`]s
//! tell a progress display what happens as it happens.
//!
//! **Architecture invariant:** the engine knows the step graph and the
//! executor interface, not the planner nor AWS: it makes no choice the plan
//! did not state, and links no AWS SDK (`scripts/check-layers`).

mod policy;
mod schedule;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use converge_executor::{ErrorClass, ExecError, Executor, Outcome, Output};
use converge_model::Address;
use converge_ops::{Operation, Step, StepGraph, StepId};
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;

pub use policy::{Decision, RetryPolicy};

/// How the engine runs a plan.
#[derive(Clone, Debug)]
pub struct Config {
    /// Calls to AWS in flight at most: a step holds a slot while it starts
    /// or polls, not while it waits for AWS between two polls or before a retry.
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// How long one step may wait for AWS to reach the state it asked for
    /// (a cluster starting takes minutes; a domain, several).
    pub max_wait: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config { concurrency: 8, retry: RetryPolicy::default(), max_wait: Duration::from_secs(60 * 60) }
    }
}

/// Asks a running apply to stop: calls in flight finish, nothing new starts.
#[derive(Clone, Debug, Default)]
pub struct Cancel {
    inner: Arc<CancelInner>,
}

#[derive(Debug, Default)]
struct CancelInner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Completes once [`Cancel::cancel`] has been called.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// Why a step did not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// A step it waits for (directly or not) failed: this one.
    DependencyFailed(StepId),
    /// The apply was cancelled before it started.
    Cancelled,
}

/// What became of one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepResult {
    /// `attempts` counts the starts (the first and the retried), `polls` the
    /// looks at background work after AWS accepted the call.
    Done {
        output: Output,
        attempts: u32,
        polls: u32,
    },
    Failed {
        error: ExecError,
        attempts: u32,
        polls: u32,
    },
    /// Cancelled after AWS accepted the call, while waiting on it or to retry:
    /// AWS may still be carrying it out. The next plan shows where it got.
    Interrupted {
        output: Output,
    },
    Skipped(SkipReason),
}

/// What happens, as it happens, for a progress display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Started {
        step: StepId,
        address: Address,
        operation: String,
    },
    /// AWS accepted the call and is getting there.
    Waiting {
        step: StepId,
        waiting_for: String,
    },
    Retrying {
        step: StepId,
        error: ExecError,
        attempt: u32,
        after: Duration,
    },
    Done {
        step: StepId,
        output: Output,
    },
    Failed {
        step: StepId,
        error: ExecError,
    },
    Interrupted {
        step: StepId,
    },
    Skipped {
        step: StepId,
        reason: SkipReason,
    },
}

/// The outcome of every step of an apply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub results: BTreeMap<StepId, StepResult>,
    /// When each step that started began and ended, from the start of the apply.
    pub timings: BTreeMap<StepId, StepTiming>,
    /// From the start of the apply to its end.
    pub elapsed: Duration,
}

/// When a step ran, from the start of the apply: from its first call to AWS
/// until AWS was done (calls, waiting for AWS to get there, retries).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepTiming {
    pub started: Duration,
    pub ended: Duration,
}

impl Report {
    /// True when every step is done.
    pub fn is_success(&self) -> bool {
        self.results.values().all(|r| matches!(r, StepResult::Done { .. }))
    }

    pub fn failed(&self) -> impl Iterator<Item = (StepId, &ExecError)> {
        self.results.iter().filter_map(|(id, r)| match r {
            StepResult::Failed { error, .. } => Some((*id, error)),
            _ => None,
        })
    }

    pub fn count(&self, pick: impl Fn(&StepResult) -> bool) -> usize {
        self.results.values().filter(|r| pick(r)).count()
    }

    /// The time at least one step was calling AWS or waiting for it.
    pub fn aws_time(&self) -> Duration {
        let mut spans: Vec<(Duration, Duration)> = self.timings.values().map(|t| (t.started, t.ended)).collect();
        spans.sort();
        let mut total = Duration::ZERO;
        let mut current: Option<(Duration, Duration)> = None;
        for (start, end) in spans {
            current = match current {
                Some((from, to)) if start <= to => Some((from, to.max(end))),
                Some((from, to)) => {
                    total += to - from;
                    Some((start, end))
                }
                None => Some((start, end)),
            };
        }
        total + current.map_or(Duration::ZERO, |(from, to)| to - from)
    }

    /// converge's own time in the apply: when no step was calling AWS or waiting for it.
    pub fn overhead(&self) -> Duration {
        self.elapsed.saturating_sub(self.aws_time())
    }
}

/// Where events go; `None` when nobody listens.
type Events<'a> = Option<&'a mpsc::UnboundedSender<Event>>;

fn emit(events: Events<'_>, event: Event) {
    if let Some(events) = events {
        // A display that went away does not stop the apply.
        let _ = events.send(event);
    }
}

/// Runs the steps of `graph` with `executor`; see the crate documentation.
pub async fn apply<E: Executor>(
    graph: &StepGraph,
    executor: &E,
    config: &Config,
    events: Option<&mpsc::UnboundedSender<Event>>,
    cancel: &Cancel,
) -> Report {
    let began = Instant::now();
    let mut report = Report::default();
    let mut started: BTreeMap<StepId, Duration> = BTreeMap::new();
    // Each step's unfinished dependencies, and the steps ready to start (by deadline, then step order).
    let deadlines = schedule::deadlines(graph, executor);
    let deadline = |id: StepId| (deadlines.get(&id).copied().unwrap_or_default(), id);
    let mut waiting: BTreeMap<StepId, BTreeSet<StepId>> =
        graph.steps().iter().map(|s| (s.id, s.after.iter().copied().collect())).collect();
    let mut ready: BTreeSet<(Duration, StepId)> =
        waiting.iter().filter(|(_, after)| after.is_empty()).map(|(id, _)| deadline(*id)).collect();
    let mut dependents: BTreeMap<StepId, Vec<StepId>> = BTreeMap::new();
    for step in graph.steps() {
        for before in &step.after {
            dependents.entry(*before).or_default().push(step.id);
        }
    }
    let mut outputs: BTreeMap<StepId, String> = BTreeMap::new();
    let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let mut running = FuturesUnordered::new();

    loop {
        // Start what is ready, most urgent first, while a call slot is free.
        while !cancel.is_cancelled() && !ready.is_empty() {
            let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else { break };
            let Some((_, id)) = ready.pop_first() else { break };
            waiting.remove(&id);
            let Some(step) = graph.get(id) else { continue };
            emit(
                events,
                Event::Started { step: id, address: step.address.clone(), operation: step.operation.to_string() },
            );
            started.insert(id, began.elapsed());
            let resolved = step.operation.resolve(|s| outputs.get(&s).cloned());
            running.push(run_step(
                step,
                resolved,
                Calls { slot: Some(slot), slots: &slots },
                executor,
                config,
                events,
                cancel,
            ));
        }
        // The next step to end; or, while steps are ready, a slot freed by a step that went to wait.
        let next = if ready.is_empty() || cancel.is_cancelled() {
            running.next().await
        } else {
            tokio::select! {
                next = running.next() => next,
                freed = Arc::clone(&slots).acquire_owned() => {
                    drop(freed);
                    continue;
                }
            }
        };
        let Some((id, result)) = next else { break };
        let timing = StepTiming { started: started.get(&id).copied().unwrap_or_default(), ended: began.elapsed() };
        report.timings.insert(id, timing);
        match &result {
            StepResult::Done { output, .. } => {
                emit(events, Event::Done { step: id, output: output.clone() });
                if let Some(new_id) = &output.id {
                    outputs.insert(id, new_id.clone());
                }
                for dependent in dependents.get(&id).into_iter().flatten() {
                    if let Some(after) = waiting.get_mut(dependent) {
                        after.remove(&id);
                        if after.is_empty() {
                            ready.insert(deadline(*dependent));
                        }
                    }
                }
            }
            StepResult::Failed { error, .. } => {
                emit(events, Event::Failed { step: id, error: error.clone() });
                skip_dependents(&dependents, id, &mut waiting, &mut report, events);
            }
            StepResult::Interrupted { .. } => emit(events, Event::Interrupted { step: id }),
            StepResult::Skipped(_) => {}
        }
        report.results.insert(id, result);
    }
    // What never started: cancelled, or waiting on a step that never finished.
    for id in waiting.into_keys() {
        let reason = SkipReason::Cancelled;
        emit(events, Event::Skipped { step: id, reason: reason.clone() });
        report.results.insert(id, StepResult::Skipped(reason));
    }
    report.elapsed = began.elapsed();
    report
}

/// Marks every step that waits, directly or not, on `failed` as skipped because of it.
fn skip_dependents(
    dependents: &BTreeMap<StepId, Vec<StepId>>,
    failed: StepId,
    waiting: &mut BTreeMap<StepId, BTreeSet<StepId>>,
    report: &mut Report,
    events: Events<'_>,
) {
    let mut stack = vec![failed];
    while let Some(id) = stack.pop() {
        for &dependent in dependents.get(&id).into_iter().flatten() {
            if waiting.remove(&dependent).is_some() {
                let reason = SkipReason::DependencyFailed(failed);
                emit(events, Event::Skipped { step: dependent, reason: reason.clone() });
                report.results.insert(dependent, StepResult::Skipped(reason));
                stack.push(dependent);
            }
        }
    }
}

/// Sleeps, unless the apply is cancelled first (then `false`).
async fn pause(duration: Duration, cancel: &Cancel) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => true,
        () = cancel.cancelled() => false,
    }
}

/// A step's call slot: held while it calls AWS, given back while it waits.
struct Calls<'a> {
    slot: Option<OwnedSemaphorePermit>,
    slots: &'a Arc<Semaphore>,
}

impl Calls<'_> {
    /// Gives the slot back: the step waits for AWS or for a retry.
    fn release(&mut self) {
        self.slot = None;
    }

    /// Holds a slot again before the next call (steps already started go
    /// before new ones: the semaphore serves its waiters first).
    async fn hold(&mut self) {
        if self.slot.is_none() {
            self.slot = Arc::clone(self.slots).acquire_owned().await.ok();
        }
    }
}

/// One step: start, wait while AWS gets there, retry what the policy retries.
async fn run_step<E: Executor>(
    step: &Step,
    resolved: Result<Operation, StepId>,
    mut calls: Calls<'_>,
    executor: &E,
    config: &Config,
    events: Events<'_>,
    cancel: &Cancel,
) -> (StepId, StepResult) {
    let id = step.id;
    let operation = match resolved {
        Ok(operation) => operation,
        Err(missing) => {
            let error = ExecError::new(
                ErrorClass::Fatal,
                step.operation.aws_operation(),
                &step.address,
                "UnresolvedOutput",
                format!("step {id} needs the id step {missing} produces, and it has none"),
            )
            .with_hint("this is a bug in converge's plan; run `converge plan` again and report it");
            return (id, StepResult::Failed { error, attempts: 0, polls: 0 });
        }
    };
    let began = Instant::now();
    // Starts and polls made, and failures in a row (what the retry policy looks at).
    let (mut attempts, mut polls, mut failures) = (0, 0, 0);
    // The output of a call AWS accepted, while it is pending.
    let mut accepted: Option<Output> = None;
    let mut waited_since: Option<Instant> = None;
    loop {
        calls.hold().await;
        let outcome = match &accepted {
            None => {
                attempts += 1;
                executor.start(&step.address, &operation).await
            }
            Some(progress) => {
                polls += 1;
                executor.poll(&step.address, &operation, progress).await
            }
        };
        if outcome.is_ok() {
            failures = 0;
        }
        match outcome {
            Ok(Outcome::Done(output)) => return (id, StepResult::Done { output, attempts, polls }),
            Ok(Outcome::Pending { output, waiting_for, poll_after }) => {
                let since = *waited_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= config.max_wait {
                    let error = ExecError::new(
                        ErrorClass::Fatal,
                        step.operation.aws_operation(),
                        &step.address,
                        "WaitTimedOut",
                        format!("still waiting for {waiting_for} after {:?}", config.max_wait),
                    )
                    .with_hint("look at the resource in the AWS console; run the command again once it is ready");
                    return (id, StepResult::Failed { error, attempts, polls });
                }
                emit(events, Event::Waiting { step: id, waiting_for });
                accepted = Some(output);
                calls.release();
                if !pause(poll_after, cancel).await {
                    return (id, StepResult::Interrupted { output: accepted.unwrap_or_default() });
                }
            }
            Err(error) => match config.retry.decide(error.class, failures + 1, began.elapsed(), id) {
                Decision::Retry(after) => {
                    failures += 1;
                    emit(events, Event::Retrying { step: id, error, attempt: failures, after });
                    calls.release();
                    if !pause(after, cancel).await {
                        return match accepted {
                            Some(output) => (id, StepResult::Interrupted { output }),
                            None => (id, StepResult::Skipped(SkipReason::Cancelled)),
                        };
                    }
                }
                Decision::GiveUp => return (id, StepResult::Failed { error, attempts, polls }),
            },
        }
    }
}
