//! `converge watch`: a long-running reconciler for one stack. Each cycle reads
//! the stack as `drift` does and acts as the spec's policies say
//! (`converge_watch::decide`): a failed cluster with `recover = "rebuild"` is
//! rebuilt exactly as `converge rebuild` does (the same lock, plan and
//! engine), at most `max_rebuilds` times an hour, and its new outputs are
//! published for the scheduler. Between cycles one `ListClusters` call checks
//! that the stack's clusters still run, so a failure is noticed within
//! `--cluster-interval`.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use converge_model::{Address, Spec};
use converge_watch::{Action, Rebuilds};

use crate::live::{self, AwsArgs, Session};
use crate::lock::LockOptions;
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

fn log(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "watch: {line}");
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
    let mut rebuilds = Rebuilds::default();
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        let running = match cycle(spec_path, env, &spec, &session, args, options, &mut rebuilds).await {
            Ok(running) => running,
            Err(error) => {
                log(&format!("the cycle failed, trying again next cycle: {error:#}"));
                Vec::new()
            }
        };
        // Until the next full read: is every cluster that ran still running?
        let next = Instant::now() + options.interval;
        loop {
            let wait = options.cluster_interval.min(next.saturating_duration_since(Instant::now()));
            tokio::select! {
                () = &mut stop => {
                    log("stopping");
                    return Ok(ExitCode::SUCCESS);
                }
                () = tokio::time::sleep(wait) => {}
            }
            if Instant::now() >= next {
                break;
            }
            if running.is_empty() {
                continue;
            }
            match session.aws.active_cluster_ids().await {
                Ok(active) => {
                    if let Some(ended) = running.iter().find(|id| !active.contains(*id)) {
                        log(&format!("cluster `{ended}` is no longer running: reading the stack now"));
                        break;
                    }
                }
                Err(error) => log(&format!("cannot list the clusters: {error}")),
            }
        }
    }
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

/// One full cycle: read, decide, act. Returns the ids of the stack's clusters that run.
async fn cycle(
    spec_path: &Path,
    env: Option<&str>,
    spec: &Spec,
    session: &Session,
    args: &AwsArgs,
    options: &Options,
    rebuilds: &mut Rebuilds,
) -> anyhow::Result<Vec<String>> {
    let live_state = live::read(session).await?;
    let drift = converge_plan::drift::drift(spec, &live_state, &[]).map_err(|errors| {
        anyhow::anyhow!("no drift report: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
    })?;
    let actions = converge_watch::decide(spec, &drift, rebuilds, now());
    let acts = actions.iter().any(|a| matches!(a, Action::Rebuild { .. } | Action::Repair { .. }));
    if actions.is_empty() {
        log(&format!("in sync: {} resources as the spec says", drift.in_sync));
    }
    for action in actions {
        match action {
            Action::Rebuild { address, reason } => {
                log(&format!("{address}: {reason}; rebuilding it (recover = \"rebuild\")"));
                rebuilds.record(&address, now());
                let code = apply::run(spec_path, env, args, &apply_options(options, vec![address.clone()])).await?;
                if code == ExitCode::SUCCESS {
                    log(&format!("{address}: rebuilt"));
                    publish(spec, session, options).await;
                } else {
                    log(&format!("{address}: the rebuild did not finish; the next cycle tries again within the bound"));
                }
            }
            Action::Report { address, reason } => {
                log(&format!("{address}: {reason}; reported only (recover = \"report\")"));
            }
            Action::NeedsPerson { address, reason, rebuilds } => log(&format!(
                "{address}: {reason}; NEEDS A PERSON: rebuilt {rebuilds} times in the last hour (max_rebuilds), watch leaves it alone"
            )),
            Action::Repair { resources } => {
                log(&format!("{resources} resources not as the spec says; repairing (on_drift = \"repair\")"));
                let code = apply::run(spec_path, env, args, &apply_options(options, Vec::new())).await?;
                if code != ExitCode::SUCCESS {
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
    // After a rebuild or a repair, the clusters to check are the ones running now.
    let live_state = if acts { live::read(session).await? } else { live_state };
    Ok(live_state
        .emr_clusters
        .iter()
        .filter(|c| c.tags.get(converge_model::live::OWNER_STACK_TAG) == Some(&spec.stack.name) && !c.is_terminated())
        .map(|c| c.id.clone())
        .collect())
}

fn apply_options(options: &Options, replace: Vec<Address>) -> apply::Options {
    apply::Options {
        auto_approve: true,
        parallelism: options.parallelism,
        destroy: false,
        replace,
        lock: LockOptions { timeout: options.lock_timeout, force_unlock: None },
    }
}

/// Publishes the stack's outputs (as `converge output --format json`) to S3
/// and to the `--on-change` command; a failure is logged, not fatal.
async fn publish(spec: &Spec, session: &Session, options: &Options) {
    let result: anyhow::Result<()> = async {
        let live_state = live::read(session).await?;
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
