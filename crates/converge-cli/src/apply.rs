//! `converge apply` and `converge destroy`: plan, show, ask, carry out, report.

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::process::ExitCode;

use std::time::{Duration, Instant};

use anyhow::Context as _;
use converge_aws::Aws;
use converge_engine::{Event, Report, StepResult};
use converge_model::Address;
use converge_ops::Phase;
use converge_ops::StepGraph;
use converge_plan::Plan;
use converge_plan::saved::SavedPlan;

use crate::console::{self, say};
use crate::live::{self, AwsArgs};
use crate::lock::{LockOptions, StackLock};
use crate::progress::{Progress, label};
use crate::{EXIT_PARTIAL, PlanFormat, files, plan};

pub(crate) struct Options {
    pub auto_approve: bool,
    pub parallelism: usize,
    /// Delete everything the stack owns instead of applying the spec.
    pub destroy: bool,
    /// Replace these resources even where nothing forces it (`--replace`, `rebuild`).
    pub replace: Vec<Address>,
    pub lock: LockOptions,
    /// Stops the engine starting steps when cancelled (`converge watch`, on
    /// losing its lease or on SIGTERM), as Ctrl-C does.
    pub cancel: converge_engine::Cancel,
}

/// Where the time of a run went, for the timeline that closes it.
struct Clock {
    began: Instant,
    read: Duration,
    planned: Duration,
    /// When the engine started, from `began` (after any approval).
    engine: Duration,
}

pub(crate) async fn run(
    spec_path: &Path,
    env: Option<&str>,
    args: &AwsArgs,
    options: &Options,
) -> anyhow::Result<ExitCode> {
    if let Some(saved) = files::saved_plan(spec_path)? {
        if let Some(asked) = env
            && saved.environment.as_deref() != Some(asked)
        {
            anyhow::bail!(
                "`{}` is a plan of {}, not of environment `{asked}`\n\nhint: apply it without `--env`, or make a plan of `{asked}` with `converge plan {} --env {asked} --out FILE`",
                spec_path.display(),
                saved
                    .environment
                    .as_deref()
                    .map_or("a spec without environments".to_owned(), |e| format!("environment `{e}`")),
                saved.spec_path
            );
        }
        return run_saved(spec_path, &saved, args, options).await;
    }
    let Some(spec) = files::valid_spec(spec_path, env)? else { return Ok(ExitCode::from(1)) };
    let session = live::connect(&spec, args).await?;
    run_connected(spec_path, &spec, &session, options).await
}

/// The apply (a destroy, a rebuild) of `spec`, read from `spec_path`, through
/// an open session: what `run` does after connecting, and what `converge
/// watch` runs for its rebuilds and repairs (its AWS calls then count in
/// watch's metrics).
pub(crate) async fn run_connected(
    spec_path: &Path,
    spec: &converge_model::Spec,
    session: &live::Session,
    options: &Options,
) -> anyhow::Result<ExitCode> {
    let operation = match (options.destroy, options.replace.is_empty()) {
        (true, _) => "destroy",
        (false, true) => "apply",
        (false, false) => "rebuild",
    };
    let mut lock = StackLock::acquire(spec_path, spec, &session.aws, operation, &options.lock).await?;
    let result = locked(spec, session, options, &mut lock).await;
    let released = lock.release().await;
    let code = result?;
    released?;
    Ok(code)
}

/// `converge apply plan.json`: the saved plan's steps, once the spec it was
/// made from and every resource it depends on are found as they were.
async fn run_saved(plan_path: &Path, saved: &SavedPlan, args: &AwsArgs, options: &Options) -> anyhow::Result<ExitCode> {
    if options.destroy || !options.replace.is_empty() {
        anyhow::bail!(
            "`{}` is a saved plan: it is applied as it was written\n\nhint: `converge apply {}` alone; make another plan for other changes",
            plan_path.display(),
            plan_path.display()
        );
    }
    let spec_path = Path::new(&saved.spec_path);
    let Some(spec) = files::valid_spec(spec_path, saved.environment.as_deref())
        .with_context(|| format!("the saved plan `{}` was made from `{}`", plan_path.display(), saved.spec_path))?
    else {
        return Ok(ExitCode::from(1));
    };
    let session = live::connect(&spec, args).await?;
    let mut lock = StackLock::acquire(spec_path, &spec, &session.aws, "apply", &options.lock).await?;
    let result: anyhow::Result<ExitCode> = async {
        let began = Instant::now();
        let live_state = live::read(&session).await?;
        let read = began.elapsed();
        let steps = match converge_plan::saved::check(saved, &spec, &live_state) {
            Ok(steps) => steps,
            Err(error) => {
                say(&format!("error: cannot apply `{}`: {error}\n\nhint: {}", plan_path.display(), error.hint()));
                return Ok(ExitCode::from(1));
            }
        };
        let checked = began.elapsed();
        if steps.is_empty() {
            say("Nothing to do: the saved plan has no changes.");
            return Ok(ExitCode::SUCCESS);
        }
        console::show(&saved.text)?;
        say(&format!(
            "The saved plan still holds: {} it depends on {} as it was.",
            saved.depends_on.len(),
            if saved.depends_on.len() == 1 { "resource is" } else { "resources are" }
        ));
        if !options.auto_approve && !confirm("apply").await? {
            say("Not applying: only `yes` approves.");
            return Ok(ExitCode::from(1));
        }
        lock.record_plan(saved.spec_digest.get(..19).unwrap_or(&saved.spec_digest)).await?;
        let clock = Clock { began, read, planned: checked - read, engine: Duration::ZERO };
        Ok(carry_out(&session, &steps, "apply", options, clock).await)
    }
    .await;
    let released = lock.release().await;
    let code = result?;
    released?;
    Ok(code)
}

/// The run, under the stack's lock: read, plan, show, ask, carry out, report.
async fn locked(
    spec: &converge_model::Spec,
    session: &live::Session,
    options: &Options,
    lock: &mut StackLock<'_>,
) -> anyhow::Result<ExitCode> {
    let began = Instant::now();
    let live_state = live::read(session).await?;
    let read = began.elapsed();
    let planned = if options.destroy {
        converge_plan::plan_destroy(spec, &live_state)
    } else {
        converge_plan::plan_replacing(spec, &live_state, &options.replace)
    };
    let planned_at = began.elapsed();
    let plan = match planned {
        Ok(plan) => plan,
        Err(errors) => return plan::report_errors(&errors),
    };
    let (verb, nothing) = if options.destroy {
        ("destroy", "Nothing to destroy: the stack owns nothing in this account and region.")
    } else {
        ("apply", "Nothing to do: AWS matches the spec.")
    };
    if plan.is_empty() {
        say(nothing);
        // Only converge's own tags on resources that need nothing else: no question to ask.
        let Some(line) = converge_plan::render::digests_line(&plan) else { return Ok(ExitCode::SUCCESS) };
        say(&line);
    } else {
        console::show(&plan::render(&plan, PlanFormat::Text)?)?;
        if !options.auto_approve && !confirm(verb).await? {
            say(&format!("Not {verb}ing: only `yes` approves."));
            return Ok(ExitCode::from(1));
        }
    }
    lock.record_plan(&plan_id(&plan)).await?;
    let clock = Clock { began, read, planned: planned_at - read, engine: Duration::ZERO };
    Ok(carry_out(session, &plan.steps, verb, options, clock).await)
}

/// Runs the steps with progress, then the report, the timeline and the new ids of what was replaced.
async fn carry_out(
    session: &live::Session,
    steps: &StepGraph,
    verb: &str,
    options: &Options,
    mut clock: Clock,
) -> ExitCode {
    clock.engine = clock.began.elapsed();
    let report = execute(&session.aws, steps, options.parallelism, &options.cancel).await;
    let code = summarize(steps, &report, verb);
    console::write(&timeline(steps, &report, &clock));
    for address in &options.replace {
        if let Some(id) = new_id(steps, &report, address) {
            say(&format!("{address} is now `{id}`: `converge output` prints it for the scheduler and the notebooks."));
        }
    }
    code
}

/// A short digest of the plan's JSON, to name it in the lock and in logs
/// (converge's one hash: `converge_plan::digest::sha256_hex`).
pub(crate) fn plan_id(plan: &Plan) -> String {
    let mut id = converge_plan::digest::sha256_hex(converge_plan::render::json(plan).to_string().as_bytes());
    id.truncate(16);
    id
}

/// The id the replacement (or the creation) of `address` got.
fn new_id<'a>(steps: &StepGraph, report: &'a Report, address: &Address) -> Option<&'a str> {
    steps
        .steps()
        .iter()
        .filter(|s| &s.address == address && matches!(s.phase, Phase::CreateReplacement | Phase::Create))
        .find_map(|s| match report.results.get(&s.id) {
            Some(StepResult::Done { output, .. }) => output.id.as_deref(),
            _ => None,
        })
}

/// Each step's start and end, the time spent waiting for AWS, and converge's own.
fn timeline(steps: &StepGraph, report: &Report, clock: &Clock) -> String {
    let at = |d: Duration| format!("{:>8.2} s", d.as_secs_f64());
    let mut out = String::from("\nTimeline (from the start of the run):\n");
    out.push_str(&format!("  {} → {}  read AWS\n", at(Duration::ZERO), at(clock.read)));
    out.push_str(&format!("  {} → {}  plan\n", at(clock.read), at(clock.read + clock.planned)));
    let mut spans: Vec<_> = report.timings.iter().collect();
    spans.sort_by_key(|(id, t)| (t.started, **id));
    for (id, timing) in spans {
        let step = steps.get(*id).map_or_else(|| format!("step {id}"), label);
        // Starts and polls apart: a step that waited on AWS polled; one that was retried attempted more than once.
        let calls = match report.results.get(id) {
            Some(StepResult::Done { attempts, polls, .. } | StepResult::Failed { attempts, polls, .. }) => {
                match (*attempts, *polls) {
                    (0 | 1, 0) => String::new(),
                    (0 | 1, polls) => format!("  ({polls} polls)"),
                    (attempts, 0) => format!("  ({attempts} attempts)"),
                    (attempts, polls) => format!("  ({attempts} attempts, {polls} polls)"),
                }
            }
            _ => String::new(),
        };
        out.push_str(&format!(
            "  {} → {}  {id:>3}. {step}{calls}\n",
            at(clock.engine + timing.started),
            at(clock.engine + timing.ended)
        ));
    }
    let total = clock.began.elapsed();
    let aws = clock.read + report.aws_time();
    let own = clock.planned + report.overhead();
    out.push_str(&format!(
        "Total {:.1} s: waiting for AWS {:.1} s (reading {:.1} s, steps {:.1} s); converge's own time {:.2} s.\n",
        total.as_secs_f64(),
        aws.as_secs_f64(),
        clock.read.as_secs_f64(),
        report.aws_time().as_secs_f64(),
        own.as_secs_f64()
    ));
    out
}

/// Asks on the terminal; refuses when there is none to ask on.
async fn confirm(verb: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to {verb} without approval: stdin is not a terminal\n\nhint: review the plan (`converge plan`), then run again with `--auto-approve`"
        );
    }
    let question = format!("\nDo you want to {verb} these changes? Only `yes` is accepted: ");
    let answer = tokio::task::spawn_blocking(move || {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(question.as_bytes()).and_then(|()| stderr.flush());
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await??;
    Ok(answer.trim() == "yes")
}

/// Carries out `plan` with live progress on stderr. Ctrl-C stops starting
/// steps and lets the calls in flight finish; a second Ctrl-C quits at once.
pub(crate) async fn execute(
    aws: &Aws,
    steps: &StepGraph,
    parallelism: usize,
    cancel: &converge_engine::Cancel,
) -> Report {
    let config = converge_engine::Config { concurrency: parallelism, ..converge_engine::Config::default() };
    let cancel = cancel.clone();
    let watcher = tokio::spawn({
        let cancel = cancel.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
                say(
                    "\nStopping: no new steps start; the calls in flight finish (Ctrl-C again quits now, leaving them to AWS).",
                );
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        }
    });
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let interactive = std::io::stderr().is_terminal() && !console::to_log();
    let mut progress = Progress::new(steps, interactive, plan::color(&std::io::stderr()));
    let run = async move {
        let report = converge_engine::apply(steps, aws, &config, Some(&events), &cancel).await;
        drop(events);
        report
    };
    let show = async {
        while let Some(event) = received.recv().await {
            progress.event(&event);
        }
        progress.finish_all();
    };
    let (report, ()) = tokio::join!(run, show);
    watcher.abort();
    report
}

/// Prints what became of every step that did not simply succeed, and the exit code it gives.
pub(crate) fn summarize(steps: &StepGraph, report: &Report, verb: &str) -> ExitCode {
    let done = report.count(|r| matches!(r, StepResult::Done { .. }));
    let failed = report.count(|r| matches!(r, StepResult::Failed { .. }));
    let skipped = report.count(|r| matches!(r, StepResult::Skipped(_)));
    let interrupted = report.count(|r| matches!(r, StepResult::Interrupted { .. }));
    let mut out = String::new();
    for (id, result) in &report.results {
        let step = steps.get(*id).map_or_else(|| format!("step {id}"), label);
        match result {
            StepResult::Failed { error, attempts, polls } => {
                let tries = match (*attempts, *polls) {
                    (0 | 1, 0) => String::new(),
                    (attempts, 0) => format!(" (after {attempts} attempts)"),
                    (attempts, polls) => format!(" (after {attempts} attempts and {polls} polls)"),
                };
                out.push_str(&format!("\nerror: step {id}, {step}{tries}: {error}\n  hint: {}\n", error.hint()));
            }
            StepResult::Interrupted { .. } => {
                out.push_str(&format!(
                    "\ninterrupted: step {id}, {step}: AWS accepted it and may still be carrying it out\n"
                ));
            }
            StepResult::Skipped(converge_engine::SkipReason::DependencyFailed(cause)) => {
                out.push_str(&format!("skipped: step {id}, {step}: it needs step {cause}, which failed\n"));
            }
            StepResult::Skipped(converge_engine::SkipReason::Cancelled) => {
                out.push_str(&format!("skipped: step {id}, {step}: the {verb} was stopped first\n"));
            }
            StepResult::Done { .. } => {}
        }
    }
    let total = report.results.len();
    let code = if report.is_success() {
        out.push_str(&format!("\n{} complete: {}.\n", capitalized(verb), converge_spec::count(done, "step")));
        ExitCode::SUCCESS
    } else {
        let head = if done > 0 {
            format!("{} done in part", capitalized(verb))
        } else {
            format!("Nothing done: the {verb} failed")
        };
        out.push_str(&format!(
            "\n{head}: {done} of {total} steps done, {failed} failed, {skipped} skipped, {interrupted} interrupted.\nhint: fix what the errors say, then run `converge {verb}` again: it plans from what AWS has now\n"
        ));
        if done > 0 { ExitCode::from(EXIT_PARTIAL) } else { ExitCode::from(1) }
    };
    console::write(&out);
    code
}

fn capitalized(verb: &str) -> String {
    let mut chars = verb.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}
