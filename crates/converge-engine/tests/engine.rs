//! The engine against a scripted executor, on tokio's paused clock: every
//! duration is virtual, so the tests are exact and take no real time.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use converge_engine::{Cancel, Config, Event, SkipReason, StepResult, apply};
use converge_executor::{ErrorClass, ExecError, Executor, Metered, Outcome, Output, Scope};
use converge_model::{Address, Kind, LiveState};
use converge_ops::{Ec2Op, Id, Operation, Phase, Step, StepGraph, StepId, TagOp, Tagged};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What one call answers, after taking `takes`.
#[derive(Clone, Debug)]
enum Answer {
    Done,
    Pending(Duration),
    Fail(ErrorClass),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    Start,
    Poll,
}

/// An executor that answers from a script per address, and records every
/// call with its (virtual) time and the operation it was given.
struct Scripted {
    origin: Instant,
    takes: Duration,
    script: Mutex<BTreeMap<String, VecDeque<Answer>>>,
    log: Mutex<Vec<(String, Call, Duration, Operation)>>,
    in_flight: Mutex<(usize, usize)>,
    /// Token buckets by the first letter of a created group's name: (burst,
    /// refill a second). A start waits for its token, as converge's pacer
    /// makes it, and is logged when it goes.
    meters: BTreeMap<char, (f64, f64)>,
    /// Each bucket's tokens (less than zero: reserved ahead) and when they were counted.
    tokens: Mutex<BTreeMap<char, (f64, Duration)>>,
}

impl Scripted {
    fn new(takes: Duration, script: &[(&str, Vec<Answer>)]) -> Scripted {
        Scripted {
            origin: Instant::now(),
            takes,
            script: Mutex::new(
                script.iter().map(|(a, answers)| ((*a).to_owned(), answers.iter().cloned().collect())).collect(),
            ),
            log: Mutex::new(Vec::new()),
            in_flight: Mutex::new((0, 0)),
            meters: BTreeMap::new(),
            tokens: Mutex::new(BTreeMap::new()),
        }
    }

    fn metered(mut self, meters: &[(char, f64, f64)]) -> Scripted {
        self.meters = meters.iter().map(|(letter, burst, refill)| (*letter, (*burst, *refill))).collect();
        self
    }

    /// How long a start of `operation` waits for its bucket's token, reserved now.
    fn reserve(&self, operation: &Operation) -> Duration {
        let Some((letter, (burst, refill))) = meter(&self.meters, operation) else { return Duration::ZERO };
        let now = self.origin.elapsed();
        let mut tokens = self.tokens.lock().unwrap();
        let (left, at) = tokens.entry(letter).or_insert((burst, now));
        *left = (*left + (now - *at).as_secs_f64() * refill).min(burst) - 1.0;
        *at = now;
        Duration::from_secs_f64((-*left / refill).max(0.0))
    }

    async fn answer(&self, address: &Address, operation: &Operation, call: Call) -> Result<Outcome, ExecError> {
        if call == Call::Start {
            tokio::time::sleep(self.reserve(operation)).await;
        }
        let at = self.origin.elapsed();
        self.log.lock().unwrap().push((address.name.clone(), call, at, operation.clone()));
        {
            let mut flight = self.in_flight.lock().unwrap();
            flight.0 += 1;
            flight.1 = flight.1.max(flight.0);
        }
        tokio::time::sleep(self.takes).await;
        self.in_flight.lock().unwrap().0 -= 1;
        let answer = self.script.lock().unwrap().get_mut(&address.name).and_then(VecDeque::pop_front);
        let output =
            if operation.outputs_id() { Output::id(format!("id-of-{}", address.name)) } else { Output::none() };
        match answer.unwrap_or(Answer::Done) {
            Answer::Done => Ok(Outcome::Done(output)),
            Answer::Pending(poll_after) => {
                Ok(Outcome::Pending { output, waiting_for: format!("{} to be ready", address.name), poll_after })
            }
            Answer::Fail(class) => {
                Err(ExecError::new(class, operation.aws_operation(), address, "Scripted", "scripted failure"))
            }
        }
    }

    /// Calls to `name`, in order, with when they began.
    fn calls(&self, name: &str) -> Vec<(Call, Duration)> {
        self.log.lock().unwrap().iter().filter(|(n, ..)| n == name).map(|(_, c, at, _)| (c.clone(), *at)).collect()
    }

    fn started(&self, name: &str) -> Option<Duration> {
        self.calls(name).first().map(|(_, at)| *at)
    }
}

/// The bucket a created group's name meters its start with.
fn meter(meters: &BTreeMap<char, (f64, f64)>, operation: &Operation) -> Option<(char, (f64, f64))> {
    let Operation::Ec2(Ec2Op::CreateSecurityGroup { name, .. }) = operation else { return None };
    let letter = name.chars().next()?;
    Some((letter, *meters.get(&letter)?))
}

impl Executor for Scripted {
    fn metered(&self, operation: &Operation) -> Vec<Metered> {
        meter(&self.meters, operation)
            .map(|(letter, (burst, refill))| Metered { bucket: letter.to_string(), burst, refill })
            .into_iter()
            .collect()
    }

    fn read(&self, _scope: &Scope) -> impl Future<Output = Result<LiveState, ExecError>> + Send {
        std::future::ready(Ok(LiveState::default()))
    }

    fn start(
        &self,
        address: &Address,
        operation: &Operation,
    ) -> impl Future<Output = Result<Outcome, ExecError>> + Send {
        self.answer(address, operation, Call::Start)
    }

    fn poll(
        &self,
        address: &Address,
        operation: &Operation,
        _progress: &Output,
    ) -> impl Future<Output = Result<Outcome, ExecError>> + Send {
        self.answer(address, operation, Call::Poll)
    }
}

fn address(name: &str) -> Address {
    Address::new(Kind::SecurityGroup, name)
}

fn create(name: &str) -> Operation {
    Operation::Ec2(Ec2Op::CreateSecurityGroup {
        vpc: Id::known("vpc-1"),
        name: name.into(),
        description: "d".into(),
        tags: Default::default(),
    })
}

/// A graph from `(name, after)`: each step creates a group named like its address.
fn graph(steps: &[(&str, &[u32])]) -> StepGraph {
    let steps = steps
        .iter()
        .enumerate()
        .map(|(i, (name, after))| Step {
            id: StepId(u32::try_from(i).unwrap() + 1),
            address: address(name),
            phase: Phase::Create,
            operation: create(name),
            after: after.iter().map(|a| StepId(*a)).collect(),
        })
        .collect();
    StepGraph::new(steps).expect("a valid graph")
}

const TEN: Duration = Duration::from_secs(10);

async fn run(graph: &StepGraph, executor: &Scripted, config: &Config) -> (converge_engine::Report, Vec<Event>) {
    let (sender, mut receiver) = mpsc::unbounded_channel();
    let report = apply(graph, executor, config, Some(&sender), &Cancel::new()).await;
    drop(sender);
    let mut events = Vec::new();
    while let Some(event) = receiver.recv().await {
        events.push(event);
    }
    (report, events)
}

#[tokio::test(start_paused = true)]
async fn independent_branches_overlap() {
    // a → b, and c on its own: c runs beside a, not after b.
    let graph = graph(&[("a", &[]), ("b", &[1]), ("c", &[])]);
    let executor = Scripted::new(TEN, &[]);
    let (report, events) = run(&graph, &executor, &Config::default()).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(executor.started("a"), Some(Duration::ZERO));
    assert_eq!(executor.started("c"), Some(Duration::ZERO), "c does not wait for a");
    assert_eq!(executor.started("b"), Some(TEN), "b starts the moment a is done");
    let position = |wanted: &Event| events.iter().position(|e| e == wanted).expect("event");
    let a_done = events.iter().position(|e| matches!(e, Event::Done { step, .. } if *step == StepId(1))).unwrap();
    let c_started =
        position(&Event::Started { step: StepId(3), address: address("c"), operation: create("c").to_string() });
    assert!(c_started < a_done, "{events:#?}");
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_bounded() {
    let graph = graph(&[("a", &[]), ("b", &[]), ("c", &[]), ("d", &[]), ("e", &[])]);
    let executor = Scripted::new(TEN, &[]);
    let config = Config { concurrency: 2, ..Config::default() };
    let (report, _) = run(&graph, &executor, &config).await;
    assert!(report.is_success());
    assert_eq!(executor.in_flight.lock().unwrap().1, 2, "never more than two calls at once");
    assert_eq!(executor.started("e"), Some(TEN * 2), "the fifth step waits for a free slot twice");
}

#[tokio::test(start_paused = true)]
async fn a_step_waiting_for_aws_holds_no_call_slot() {
    // One slot. The cluster's start takes 10 s, then it is pending for a
    // minute twice; a and b run in the slot while it waits, its polls come
    // on time, and `after` starts once it is done. Counting waiting steps,
    // a would start only at 150 s.
    let graph = graph(&[("cluster", &[]), ("a", &[]), ("b", &[]), ("after", &[1])]);
    let minute = Duration::from_secs(60);
    let executor =
        Scripted::new(TEN, &[("cluster", vec![Answer::Pending(minute), Answer::Pending(minute), Answer::Done])]);
    let config = Config { concurrency: 1, ..Config::default() };
    let (report, _) = run(&graph, &executor, &config).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(executor.in_flight.lock().unwrap().1, 1, "never more than one call at once");
    let s = Duration::from_secs;
    assert_eq!(executor.started("a"), Some(s(10)), "a goes as soon as the cluster's call is answered");
    assert_eq!(executor.started("b"), Some(s(20)));
    let polls: Vec<Duration> = executor.calls("cluster").into_iter().map(|(_, at)| at).collect();
    assert_eq!(polls, [s(0), s(70), s(140)], "the cluster is polled when it asked to be");
    assert_eq!(executor.started("after"), Some(s(150)));
}

#[tokio::test(start_paused = true)]
async fn what_the_most_metered_calls_wait_for_starts_first() {
    // Six groups at 2 at once then 1 a second, two clusters at 1 then one
    // every 10 s; the first cluster needs the last group, the second the
    // fifth. In step order, c1 would wait for g3, g4 and g5 (4 s) and c2 go
    // at 14 s; started by deadline, g6 goes third and the clusters at 1 s and 11 s.
    let graph = graph(&[
        ("g1", &[]),
        ("g2", &[]),
        ("g3", &[]),
        ("g4", &[]),
        ("g5", &[]),
        ("g6", &[]),
        ("c1", &[6]),
        ("c2", &[5]),
    ]);
    let executor = Scripted::new(Duration::ZERO, &[]).metered(&[('g', 2.0, 1.0), ('c', 1.0, 0.1)]);
    let config = Config { concurrency: 1, ..Config::default() };
    let (report, _) = run(&graph, &executor, &config).await;
    assert!(report.is_success(), "{report:?}");
    let order: Vec<String> = executor.log.lock().unwrap().iter().map(|(name, ..)| name.clone()).collect();
    assert_eq!(order, ["g1", "g2", "g6", "c1", "g3", "g4", "g5", "c2"]);
    let s = Duration::from_secs;
    assert_eq!(executor.started("c1"), Some(s(1)), "the first cluster's group goes within the burst");
    assert_eq!(executor.started("c2"), Some(s(11)), "then the clusters' bucket sets the pace");
}

#[tokio::test(start_paused = true)]
async fn a_failure_stops_only_its_dependents() {
    // a fails; b waits for a, d for b; c and e (after c) are independent.
    let graph = graph(&[("a", &[]), ("b", &[1]), ("c", &[]), ("d", &[2]), ("e", &[3])]);
    let executor = Scripted::new(TEN, &[("a", vec![Answer::Fail(ErrorClass::Invalid)])]);
    let (report, events) = run(&graph, &executor, &Config::default()).await;
    let result = |id| report.results[&StepId(id)].clone();
    assert!(
        matches!(result(1), StepResult::Failed { attempts: 1, ref error, .. } if error.class == ErrorClass::Invalid)
    );
    assert_eq!(result(2), StepResult::Skipped(SkipReason::DependencyFailed(StepId(1))));
    assert_eq!(result(4), StepResult::Skipped(SkipReason::DependencyFailed(StepId(1))), "skipped because of a, not b");
    assert!(matches!(result(3), StepResult::Done { .. }));
    assert!(matches!(result(5), StepResult::Done { .. }), "the independent branch finishes");
    assert!(executor.calls("b").is_empty() && executor.calls("d").is_empty());
    assert!(events.contains(&Event::Skipped { step: StepId(4), reason: SkipReason::DependencyFailed(StepId(1)) }));
}

#[tokio::test(start_paused = true)]
async fn retries_follow_the_error_class() {
    let graph = graph(&[("throttled", &[]), ("invalid", &[]), ("denied", &[]), ("missing", &[]), ("busy", &[])]);
    let executor = Scripted::new(
        Duration::ZERO,
        &[
            ("throttled", vec![Answer::Fail(ErrorClass::Throttled), Answer::Fail(ErrorClass::Throttled)]),
            ("invalid", vec![Answer::Fail(ErrorClass::Invalid)]),
            ("denied", vec![Answer::Fail(ErrorClass::Denied)]),
            ("missing", vec![Answer::Fail(ErrorClass::NotFound); 100]),
            ("busy", vec![Answer::Fail(ErrorClass::Conflict), Answer::Fail(ErrorClass::Transient)]),
        ],
    );
    let (report, events) = run(&graph, &executor, &Config::default()).await;
    let result = |id| report.results[&StepId(id)].clone();
    assert!(matches!(result(1), StepResult::Done { attempts: 3, .. }), "{:?}", result(1));
    assert!(matches!(result(2), StepResult::Failed { attempts: 1, .. }), "invalid is not retried");
    assert!(matches!(result(3), StepResult::Failed { attempts: 1, .. }), "denied is not retried");
    assert!(matches!(result(5), StepResult::Done { attempts: 3, .. }), "conflicts and 5xx clear");
    // Not found is retried for a minute (eventual consistency), then given up.
    let StepResult::Failed { attempts, .. } = result(4) else { panic!("not found forever fails") };
    assert!(attempts > 2, "{attempts}");
    let last = executor.calls("missing").last().unwrap().1;
    assert!(last <= Duration::from_secs(60), "{last:?}");
    // Backoff grows between the retries of one step.
    let delays: Vec<Duration> = events
        .iter()
        .filter_map(|e| match e {
            Event::Retrying { step, after, .. } if *step == StepId(4) => Some(*after),
            _ => None,
        })
        .collect();
    assert!(delays.windows(2).take(4).all(|w| w[1] > w[0]), "{delays:?}");
}

#[tokio::test(start_paused = true)]
async fn pending_calls_are_polled_not_started_again() {
    let graph = graph(&[("cluster", &[]), ("after", &[1])]);
    let minute = Duration::from_secs(60);
    let executor = Scripted::new(
        Duration::ZERO,
        &[("cluster", vec![Answer::Pending(minute), Answer::Pending(minute), Answer::Done])],
    );
    let (report, events) = run(&graph, &executor, &Config::default()).await;
    assert!(report.is_success());
    let calls: Vec<Call> = executor.calls("cluster").into_iter().map(|(c, _)| c).collect();
    assert_eq!(calls, vec![Call::Start, Call::Poll, Call::Poll]);
    assert_eq!(executor.started("after"), Some(minute * 2), "the dependent waits for the state, not the call");
    let waiting = events.iter().filter(|e| matches!(e, Event::Waiting { .. })).count();
    assert_eq!(waiting, 2);
}

#[tokio::test(start_paused = true)]
async fn waiting_is_bounded() {
    let graph = graph(&[("stuck", &[])]);
    let executor = Scripted::new(Duration::ZERO, &[("stuck", vec![Answer::Pending(Duration::from_secs(30)); 1000])]);
    let config = Config { max_wait: Duration::from_secs(300), ..Config::default() };
    let (report, _) = run(&graph, &executor, &config).await;
    let StepResult::Failed { error, .. } = &report.results[&StepId(1)] else { panic!("{report:?}") };
    assert_eq!(error.code, "WaitTimedOut");
    assert!(error.hint().contains("run the command again"), "{}", error.hint());
}

#[tokio::test(start_paused = true)]
async fn outputs_reach_the_steps_that_use_them() {
    let group = address("g");
    let steps = vec![
        Step { id: StepId(1), address: group.clone(), phase: Phase::Create, operation: create("g"), after: vec![] },
        Step {
            id: StepId(2),
            address: group.clone(),
            phase: Phase::Update,
            operation: Operation::Tags(TagOp::SetTags {
                target: Tagged::Ec2 { id: Id::Output { output_of: StepId(1), address: group.clone() } },
                set: [("k".to_owned(), "v".to_owned())].into_iter().collect(),
                remove: vec![],
            }),
            after: vec![StepId(1)],
        },
    ];
    let graph = StepGraph::new(steps).unwrap();
    let executor = Scripted::new(Duration::ZERO, &[]);
    let (report, _) = run(&graph, &executor, &Config::default()).await;
    assert!(report.is_success());
    let given = executor.log.lock().unwrap()[1].3.clone();
    assert_eq!(given.ids(), vec![Id::known("id-of-g")], "the executor gets the id step 1 produced");
}

#[tokio::test(start_paused = true)]
async fn cancelling_lets_calls_in_flight_finish_and_starts_nothing_new() {
    // One slot: a (a 20 s call) runs, b waits for the slot; cancelled at 5 s.
    let graph = graph(&[("a", &[]), ("b", &[])]);
    let executor = Scripted::new(Duration::from_secs(20), &[]);
    let config = Config { concurrency: 1, ..Config::default() };
    let cancel = Cancel::new();
    let trigger = cancel.clone();
    let (report, ()) = tokio::join!(apply(&graph, &executor, &config, None, &cancel), async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        trigger.cancel();
    });
    assert!(matches!(report.results[&StepId(1)], StepResult::Done { .. }), "the call in flight finished");
    assert_eq!(report.results[&StepId(2)], StepResult::Skipped(SkipReason::Cancelled));
    assert!(executor.calls("b").is_empty(), "nothing new started");
}

#[tokio::test(start_paused = true)]
async fn cancelling_stops_waiting_on_aws() {
    let graph = graph(&[("cluster", &[]), ("after", &[1])]);
    let executor = Scripted::new(Duration::ZERO, &[("cluster", vec![Answer::Pending(Duration::from_secs(30)); 100])]);
    let (config, cancel) = (Config::default(), Cancel::new());
    let trigger = cancel.clone();
    let (report, ()) = tokio::join!(apply(&graph, &executor, &config, None, &cancel), async move {
        tokio::time::sleep(Duration::from_secs(95)).await;
        trigger.cancel();
    });
    assert_eq!(
        report.results[&StepId(1)],
        StepResult::Interrupted { output: Output::id("id-of-cluster") },
        "AWS accepted the call: the step is interrupted, not failed"
    );
    assert_eq!(report.results[&StepId(2)], StepResult::Skipped(SkipReason::Cancelled));
    assert_eq!(executor.calls("cluster").len(), 4, "start at 0 s, polls at 30, 60 and 90 s, none after");
}

#[test]
fn aws_time_is_the_union_of_the_steps_and_overhead_the_rest() {
    use converge_engine::{Report, StepTiming};
    let s = Duration::from_secs;
    let mut report = Report { elapsed: s(10), ..Report::default() };
    for (id, (started, ended)) in [(1, (s(0), s(2))), (2, (s(1), s(3))), (3, (s(5), s(6))), (4, (s(5), s(5)))] {
        report.timings.insert(converge_ops::StepId(id), StepTiming { started, ended });
    }
    assert_eq!(report.aws_time(), s(4));
    assert_eq!(report.overhead(), s(6));
}
