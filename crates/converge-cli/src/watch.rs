//! `converge watch`: a long-running reconciler for one stack. Each cycle reads
//! the stack as `drift` does and acts as the spec's policies say
//! (`converge_watch::decide`): a failed cluster with `recover = "rebuild"` is
//! rebuilt exactly as `converge rebuild` does (the same lock, plan and
//! engine), at most `max_rebuilds` times an hour, and its new outputs are
//! published for the scheduler. Between cycles one `ListClusters` call checks
//! that the stack's clusters still run, so a failure is noticed within
//! `--cluster-interval`. With a state bucket, only the replica holding the
//! lease (`lease.rs`) reads and acts; one that loses it mid-rebuild starts no
//! new step.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use converge_model::{Address, Spec};
use converge_watch::{Action, Rebuilds};

use converge_engine::Cancel;

use crate::lease::{Lease, Role};
use crate::live::{self, AwsArgs, Session};
use crate::lock::LockOptions;
use crate::telemetry::{Outcome, Telemetry};
use crate::{apply, files, output};

pub(crate) struct Options {
    pub(crate) interval: Duration,
    pub(crate) cluster_interval: Duration,
    /// `s3://bucket/key.json`: where the outputs go after a rebuild.
    pub(crate) publish: Option<(String, String)>,
    /// A shell command run with the outputs (JSON) on stdin after a rebuild.
    pub(crate) on_change: Option<String>,
    pub(crate) parallelism: usize,
    pub(crate) lock_timeout: Duration,
    /// The wait before a failed rebuild is tried again.
    pub(crate) rebuild_backoff: converge_watch::Backoff,
    /// How long a lease lasts without renewal before a standby takes over.
    pub(crate) lease: Duration,
    /// Where to serve `/healthz` and `/metrics`.
    pub(crate) listen: Option<std::net::SocketAddr>,
}

/// `s3://bucket/key` → (bucket, key).
pub(crate) fn parse_s3_url(text: &str) -> Result<(String, String), String> {
    let rest = text.strip_prefix("s3://").ok_or_else(|| format!("`{text}` is not an `s3://bucket/key` URL"))?;
    match rest.split_once('/') {
        Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok((bucket.to_owned(), key.to_owned())),
        _ => Err(format!("`{text}` names no object: write `s3://bucket/key.json`")),
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// One line of watch's log (`tracing`, as text or JSON: `--log-format`).
fn log(line: &str) {
    tracing::info!(target: "watch", "{line}");
}

/// `--log-format`: how watch's log lines are written on stderr.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// `2026-12-06T22:50:15Z  INFO watch: …`
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields.message`.
    Json,
}

/// Sends watch's `tracing` events to stderr; the AWS SDK's own only from
/// warnings up. What its rebuilds and repairs print (the plan, the progress,
/// the summary) becomes log events too (`console`).
pub(crate) fn init_logging(format: LogFormat) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = Targets::new().with_target("watch", LevelFilter::INFO).with_default(LevelFilter::WARN);
    let registry = tracing_subscriber::registry().with(filter);
    crate::console::send_to_log();
    let _ = match format {
        LogFormat::Text => registry.with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr)).try_init(),
        LogFormat::Json => {
            registry.with(tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr)).try_init()
        }
    };
}

/// Runs until interrupted (Ctrl-C or SIGTERM); exit 0 then, 1 when the spec is invalid.
pub(crate) async fn run(
    spec_path: &Path,
    env: Option<&str>,
    args: &AwsArgs,
    options: &Options,
) -> anyhow::Result<ExitCode> {
    let Some(spec) = files::valid_spec(spec_path, env)? else { return Ok(ExitCode::from(1)) };
    let session = live::connect(&spec, args).await?;
    log(&format!(
        "watching stack `{}`{} in account {} ({}): a full read every {} s, the clusters every {} s",
        spec.stack.name,
        env.map(|e| format!(" (environment `{e}`)")).unwrap_or_default(),
        spec.stack.account,
        spec.stack.region,
        options.interval.as_secs_f64(),
        options.cluster_interval.as_secs_f64()
    ));
    let telemetry = std::sync::Arc::new(Telemetry::new());
    if let Some(addr) = options.listen {
        let bound = crate::telemetry::serve(addr, std::sync::Arc::clone(&telemetry)).await?;
        log(&format!("serving /healthz and /metrics on http://{bound}"));
    }
    let mut lease = match &spec.stack.state_bucket {
        Some(bucket) => {
            let key = match env {
                Some(env) => format!("converge/{}/{env}/watch-lease.json", spec.stack.name),
                None => format!("converge/{}/watch-lease.json", spec.stack.name),
            };
            let lease = Lease::new(&session.aws, bucket, key, options.lease);
            log(&format!("leadership: the lease {} ({} s)", lease.location(), options.lease.as_secs_f64()));
            Some(lease)
        }
        None => {
            log("no `[stack] state_bucket`, so no leader election: run one replica only");
            None
        }
    };
    // Ctrl-C or SIGTERM: stop between cycles, or stop a rebuild starting steps.
    let stopping = Cancel::new();
    tokio::spawn({
        let stopping = stopping.clone();
        async move {
            stop_signal().await;
            stopping.cancel();
        }
    });
    let mut rebuilds = Rebuilds::new(options.rebuild_backoff);
    let mut role = if lease.is_some() { Role::Standby } else { Role::Leader };
    telemetry.set_leader(role == Role::Leader);
    let mut announced = false;
    // When a failed cluster was first noticed (by the cluster check or a
    // cycle), for the recovery time; kept while its rebuild is retried.
    let mut noticed: Option<Instant> = None;
    let mut running: Vec<String> = Vec::new();
    // Whether the last full cycle repaired drift.
    let mut repaired_last = false;
    let (mut next_full, mut next_check, mut next_tick) = (Instant::now(), Instant::now(), Instant::now());
    loop {
        if stopping.is_cancelled() {
            log("stopping");
            if let Some(lease) = &mut lease {
                lease.release().await;
            }
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(lease) = &mut lease
            && Instant::now() >= next_tick
        {
            let now_role = lease.tick().await.unwrap_or_else(|error| {
                log(&format!("{error:#}"));
                Role::Standby
            });
            if now_role != role || !announced {
                announced = true;
                log(match now_role {
                    Role::Leader => "leader: this replica acts for the stack",
                    Role::Standby => "standby: another replica holds the lease; this one waits",
                });
                next_full = Instant::now();
            }
            role = now_role;
            telemetry.set_leader(role == Role::Leader);
            telemetry.count_aws(session.aws.stats());
            next_tick = Instant::now() + lease.renew_every();
        }
        if role == Role::Leader && Instant::now() >= next_full {
            let cycle_noticed = noticed.unwrap_or_else(Instant::now);
            let context = Context {
                spec_path,
                spec: &spec,
                session: &session,
                options,
                stopping: &stopping,
                telemetry: &telemetry,
                noticed: cycle_noticed,
            };
            let done = cycle(&context, &mut rebuilds, &mut lease).await.unwrap_or_else(|error| {
                log(&format!("the cycle failed, trying again next cycle: {error:#}"));
                Cycle { running: Vec::new(), rebuilt: false, repaired: false }
            });
            running = done.running;
            telemetry.count_aws(session.aws.stats());
            // After a rebuild or a repair, the next full read comes a cluster
            // interval later, to see what they left (the checks do not know a
            // new cluster yet, and it may fail at once). Rebuilds are bounded
            // by `max_rebuilds`; a repair is followed so only once in a row,
            // so a repair that leaves drift behind does not loop.
            let verify = done.rebuilt || (done.repaired && !repaired_last);
            repaired_last = done.repaired;
            next_full = Instant::now() + if verify { options.cluster_interval } else { options.interval };
            next_check = Instant::now() + options.cluster_interval;
            // A failed rebuild waits out its back-off, then the next cycle tries again.
            noticed = None;
            if let Some(retry_at) = rebuilds.next_retry(now()) {
                noticed = Some(cycle_noticed);
                next_full = next_full.min(Instant::now() + Duration::from_secs(retry_at.saturating_sub(now())));
            }
        }
        if role == Role::Leader && !running.is_empty() && Instant::now() >= next_check {
            next_check = Instant::now() + options.cluster_interval;
            let checked = session.aws.active_cluster_ids().await;
            telemetry.count_aws(session.aws.stats());
            match checked {
                Ok(active) => {
                    if let Some(ended) = running.iter().find(|id| !active.contains(*id)) {
                        log(&format!("cluster `{ended}` is no longer running: reading the stack now"));
                        noticed = Some(Instant::now());
                        next_full = Instant::now();
                        continue;
                    }
                }
                Err(error) => log(&format!("cannot list the clusters: {error}")),
            }
        }
        // The next thing due: the lease's renewal, and for the leader the next
        // full read and the next check of the clusters that run.
        let mut due = Vec::new();
        if lease.is_some() {
            due.push(next_tick);
        }
        if role == Role::Leader {
            due.push(next_full);
            if !running.is_empty() {
                due.push(next_check);
            }
        }
        let wake = due.into_iter().min().unwrap_or_else(|| Instant::now() + options.interval);
        tokio::select! {
            () = stopping.cancelled() => {}
            () = tokio::time::sleep(wake.saturating_duration_since(Instant::now())) => {}
        }
    }
}

/// What a cycle needs besides its state.
struct Context<'a> {
    spec_path: &'a Path,
    spec: &'a Spec,
    session: &'a Session,
    options: &'a Options,
    stopping: &'a Cancel,
    telemetry: &'a Telemetry,
    /// When the failure this cycle may act on was noticed.
    noticed: Instant,
}

/// Ctrl-C, or SIGTERM (what systemd, Kubernetes and ECS send).
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// What a full cycle found and did.
struct Cycle {
    /// The stack's clusters that ran when it read (those the checks watch).
    running: Vec<String>,
    /// Whether it started a rebuild, or a repair.
    rebuilt: bool,
    repaired: bool,
}

/// One full cycle: read, decide, act.
async fn cycle(context: &Context<'_>, rebuilds: &mut Rebuilds, lease: &mut Option<Lease<'_>>) -> anyhow::Result<Cycle> {
    let (spec, session, options) = (context.spec, context.session, context.options);
    let live_state = live::read_quietly(session).await?;
    let drift = converge_plan::drift::drift(spec, &live_state, &[]).map_err(|errors| {
        anyhow::anyhow!("no drift report: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
    })?;
    context.telemetry.cycle_succeeded(drift.resources.len());
    let actions = converge_watch::decide(spec, &drift, rebuilds, now());
    let rebuilt = actions.iter().any(|a| matches!(a, Action::Rebuild { .. }));
    let repaired = actions.iter().any(|a| matches!(a, Action::Repair { .. }));
    if actions.is_empty() {
        log(&format!("in sync: {} resources as the spec says", drift.in_sync));
    }
    for action in actions {
        match action {
            Action::Rebuild { address, reason } => {
                log(&format!("{address}: {reason}; rebuilding it (recover = \"rebuild\")"));
                rebuilds.record(&address, now());
                let started = Instant::now();
                let done = guarded_apply(context, vec![address.clone()], lease).await?;
                rebuilds.finished(&address, now(), done);
                let telemetry = context.telemetry;
                telemetry.rebuild_seconds.observe(started.elapsed().as_secs_f64());
                let result = if done { "done" } else { "failed" };
                telemetry.rebuilds.get_or_create(&Outcome { result: result.into() }).inc();
                if done {
                    let recovery = context.noticed.elapsed().as_secs_f64();
                    telemetry.recovery_seconds.observe(recovery);
                    log(&format!("{address}: rebuilt, {recovery:.1} s after the failure was noticed"));
                    publish(spec, session, options).await;
                } else {
                    let wait = rebuilds.retry_at(&address).unwrap_or_default().saturating_sub(now());
                    log(&format!(
                        "{address}: the rebuild did not finish; trying again in {wait} s if `max_rebuilds` allows"
                    ));
                }
            }
            Action::Wait { address, reason, retry_at } => log(&format!(
                "{address}: {reason}; the last rebuild failed, the next starts in {} s",
                retry_at.saturating_sub(now())
            )),
            Action::Report { address, reason } => {
                log(&format!("{address}: {reason}; reported only (recover = \"report\")"));
            }
            Action::NeedsPerson { address, reason, rebuilds } => log(&format!(
                "{address}: {reason}; NEEDS A PERSON: rebuilt {rebuilds} times in the last hour (max_rebuilds), watch leaves it alone"
            )),
            Action::Repair { resources } => {
                log(&format!("{resources} resources not as the spec says; repairing (on_drift = \"repair\")"));
                if !guarded_apply(context, Vec::new(), lease).await? {
                    log("the repair did not finish; the next cycle tries again");
                }
            }
            Action::ReportDrift { resources, held } => {
                let why = if held {
                    "reported only: a repair would also recreate a failed cluster watch must not rebuild"
                } else {
                    "reported only (on_drift = \"report\")"
                };
                log(&format!("{resources} resources not as the spec says; {why}"));
            }
        }
    }
    let running = live_state
        .emr_clusters
        .iter()
        .filter(|c| c.tags.get(converge_model::live::OWNER_STACK_TAG) == Some(&spec.stack.name) && !c.is_terminated())
        .map(|c| c.id.clone())
        .collect();
    Ok(Cycle { running, rebuilt, repaired })
}

/// An apply (a rebuild when `replace` names a cluster) as `converge apply`
/// and `converge rebuild` run it, while the lease is renewed: on losing the
/// lease, or on SIGTERM, the engine starts no new step and the calls in
/// flight finish. `true` when it finished.
async fn guarded_apply(
    context: &Context<'_>,
    replace: Vec<Address>,
    lease: &mut Option<Lease<'_>>,
) -> anyhow::Result<bool> {
    let cancel = Cancel::new();
    let options = apply_options(context.options, replace, cancel.clone());
    let apply = apply::run_connected(context.spec_path, context.spec, context.session, &options);
    tokio::pin!(apply);
    let renew_every = lease.as_ref().map_or(Duration::from_secs(3600), Lease::renew_every);
    loop {
        tokio::select! {
            code = &mut apply => return Ok(code? == ExitCode::SUCCESS),
            () = context.stopping.cancelled(), if !cancel.is_cancelled() => {
                log("stopping: no new steps start; the calls in flight finish");
                cancel.cancel();
            }
            () = tokio::time::sleep(renew_every), if lease.is_some() && !cancel.is_cancelled() => {
                let Some(lease) = lease.as_mut() else { continue };
                let role = lease.tick().await.unwrap_or_else(|error| {
                    log(&format!("{error:#}"));
                    Role::Standby
                });
                if role == Role::Standby {
                    log("lost the lease: no new steps start; the calls in flight finish");
                    cancel.cancel();
                }
            }
        }
    }
}

fn apply_options(options: &Options, replace: Vec<Address>, cancel: Cancel) -> apply::Options {
    apply::Options {
        auto_approve: true,
        parallelism: options.parallelism,
        destroy: false,
        replace,
        lock: LockOptions { timeout: options.lock_timeout, force_unlock: None },
        cancel,
    }
}

/// Publishes the stack's outputs (as `converge output --format json`) to S3
/// and to the `--on-change` command; a failure is logged, not fatal.
async fn publish(spec: &Spec, session: &Session, options: &Options) {
    let result: anyhow::Result<()> = async {
        let live_state = live::read_quietly(session).await?;
        let outputs = converge_plan::outputs(spec, &live_state, None);
        let document = output::json(&spec.stack, &outputs)?;
        if let Some((bucket, key)) = &options.publish {
            session
                .aws
                .put_object_text(bucket, key, &document)
                .await
                .map_err(|error| anyhow::anyhow!("cannot publish to s3://{bucket}/{key}: {error}"))?;
            log(&format!("published the outputs to s3://{bucket}/{key}"));
        }
        if let Some(command) = &options.on_change {
            run_hook(command, &document).await?;
        }
        Ok(())
    }
    .await;
    if let Err(error) = result {
        log(&format!("{error:#}"));
    }
}

/// Runs `sh -c COMMAND` with `document` on stdin (on a blocking thread).
async fn run_hook(command: &str, document: &str) -> anyhow::Result<()> {
    let (command, document) = (command.to_owned(), document.to_owned());
    let shown = command.clone();
    let status = tokio::task::spawn_blocking(move || -> anyhow::Result<std::process::ExitStatus> {
        let mut child = std::process::Command::new("sh")
            .args(["-c", &command])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run `--on-change {command}`"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(document.as_bytes()).context("cannot write the outputs to the hook")?;
        }
        child.wait().context("the hook did not finish")
    })
    .await
    .context("the hook's thread failed")??;
    if status.success() {
        log(&format!("ran `{shown}` with the outputs"));
        Ok(())
    } else {
        anyhow::bail!("`--on-change {shown}` exited with {status}")
    }
}
