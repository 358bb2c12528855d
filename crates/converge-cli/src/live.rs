//! Connecting to AWS for a spec: the account and region guards, and reading
//! the stack's live state.

use std::time::Instant;

use converge_aws::{Aws, Options};
use converge_executor::{Executor as _, Scope};
use converge_model::{LiveState, Spec};

/// Where and as whom converge talks to AWS.
#[derive(clap::Args, Clone, Debug, Default)]
pub(crate) struct AwsArgs {
    /// The profile of the shared AWS config and credentials files (default: the standard credential chain).
    #[arg(long)]
    pub profile: Option<String>,
    /// The region; it must be the spec's `[stack].region`, which is the default.
    #[arg(long)]
    pub region: Option<String>,
    /// The profile for one environment's account (`staging=stg-admin`), for
    /// commands that reach several accounts (`plan --all-envs`, `compare --live`)
    /// or an alias that serves every environment; repeatable. It wins over `--profile`.
    #[arg(long, value_name = "ENV=PROFILE", value_parser = parse_env_profile)]
    pub env_profile: Vec<(String, String)>,
    /// Pace AWS calls by AWS's published request rates times FACTOR (`1`,
    /// the default: AWS's default quotas; more after a quota increase), or
    /// not at all (`off`). EC2 per action, EMR per API and for all its APIs.
    #[arg(long, value_name = "FACTOR|off", default_value = "1", value_parser = parse_pace)]
    pub pace: converge_aws::Pace,
}

fn parse_pace(text: &str) -> Result<converge_aws::Pace, String> {
    match text {
        "off" => Ok(converge_aws::Pace::Off),
        _ => match text.parse::<f64>() {
            Ok(factor) if factor > 0.0 && factor.is_finite() => Ok(converge_aws::Pace::Published(factor)),
            _ => Err(format!("`{text}` is neither `off` nor a positive factor (`1` = AWS's published rates)")),
        },
    }
}

fn parse_env_profile(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((env, profile)) if !env.is_empty() && !profile.is_empty() => Ok((env.to_owned(), profile.to_owned())),
        _ => Err(format!("`{text}` is not `ENV=PROFILE`, such as `staging=stg-admin`")),
    }
}

impl AwsArgs {
    /// Refuses `--env-profile` for an environment the spec at `path` does not
    /// declare (a typo would otherwise fall back to `--profile` in silence).
    pub(crate) fn check_env_profiles(&self, path: &std::path::Path) -> anyhow::Result<()> {
        if self.env_profile.is_empty() || path.extension().is_some_and(|e| e == "json") {
            return Ok(());
        }
        let declared = crate::files::environments(path)?;
        for (env, profile) in &self.env_profile {
            if !declared.contains(env) {
                let list = if declared.is_empty() {
                    "it declares no environments".to_owned()
                } else {
                    format!("it declares {}", declared.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "))
                };
                anyhow::bail!(
                    "`--env-profile {env}={profile}` names no environment of `{}`\n\nhint: {list}",
                    path.display()
                );
            }
        }
        Ok(())
    }

    /// The profile to reach `environment`'s account with.
    pub(crate) fn profile_for(&self, environment: Option<&str>) -> Option<String> {
        let mapped = environment.and_then(|env| self.env_profile.iter().find(|(e, _)| e == env));
        mapped.map(|(_, profile)| profile.clone()).or_else(|| self.profile.clone())
    }
}

/// A connection to the spec's account and region, and what to read there.
pub(crate) struct Session {
    pub aws: Aws,
    pub scope: Scope,
}

/// Connects for `spec`, refusing another region or account before any other call.
pub(crate) async fn connect(spec: &Spec, args: &AwsArgs) -> anyhow::Result<Session> {
    let region = spec.stack.region.clone();
    if let Some(asked) = &args.region
        && *asked != region
    {
        anyhow::bail!(
            "`--region {asked}` is not the spec's region `{region}`\n\nhint: the spec's `[stack].region` says where the stack lives; drop `--region` or fix the spec"
        );
    }
    let profile = args.profile_for(spec.stack.environment.as_deref());
    let options = Options { profile, region: Some(region), pace: args.pace, ..Options::default() };
    let aws = Aws::connect(&options).await.map_err(|error| anyhow::anyhow!("{error}\n\nhint: {}", error.hint()))?;
    aws.guard_account(&spec.stack.account).await.map_err(|error| match (&error, &spec.stack.environment) {
        (converge_aws::AccountError::Mismatch { expected, actual }, Some(env)) => anyhow::anyhow!(
            "environment `{env}` lives in account {expected}, but the credentials are for account {actual}: converge reads and changes nothing there\n\nhint: run `--env {env}` with the credentials of account {expected} (`--profile`), or name the environment whose account {actual} is"
        ),
        _ => anyhow::anyhow!("{error}\n\nhint: {}", error.hint()),
    })?;
    Ok(Session { aws, scope: converge_plan::read_scope(spec) })
}

/// Reads the stack's live state without a word (`converge watch` logs its own).
pub(crate) async fn read_quietly(session: &Session) -> anyhow::Result<LiveState> {
    session
        .aws
        .read(&session.scope)
        .await
        .map_err(|error| anyhow::anyhow!("cannot read the live state: {error}\n\nhint: {}", error.hint()))
}

/// Reads the stack's live state, saying so on stderr.
pub(crate) async fn read(session: &Session) -> anyhow::Result<LiveState> {
    let scope = &session.scope;
    let started = Instant::now();
    let calls_before = session.aws.stats().total_calls();
    crate::console::say(&format!("Reading stack `{}` in account {} ({})…", scope.stack, scope.account, scope.region));
    let live = session
        .aws
        .read(scope)
        .await
        .map_err(|error| anyhow::anyhow!("cannot read the live state: {error}\n\nhint: {}", error.hint()))?;
    let calls = session.aws.stats().total_calls() - calls_before;
    crate::console::say(&format!("Read in {:.1} s with {calls} API calls.\n", started.elapsed().as_secs_f64()));
    Ok(live)
}

/// The calls made so far, per service and operation, for `--stats`.
pub(crate) fn stats_table(aws: &Aws) -> String {
    let mut out = String::from("AWS calls (calls / attempts):\n");
    let snapshot = aws.stats().snapshot();
    for ((service, operation), count) in &snapshot {
        let throttled = match count.throttles {
            0 => String::new(),
            n => format!(" ({n} throttled)"),
        };
        out.push_str(&format!("  {service:<16} {operation:<34} {:>4} / {}{throttled}\n", count.calls, count.attempts));
    }
    out.push_str(&format!(
        "  {:<51} {:>4} ({} changing AWS)\n",
        "total",
        aws.stats().total_calls(),
        aws.stats().mutating_calls()
    ));
    if let Some(kib) = peak_memory_kib() {
        out.push_str(&format!("Peak memory (resident): {:.1} MiB\n", kib as f64 / 1024.0));
    }
    out
}

/// The most memory this process has held resident so far (`VmHWM`; Linux only).
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
