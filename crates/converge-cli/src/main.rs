//! `converge`: the command line.
//!
//! A thin edge: it parses arguments, reads files, calls the library crates
//! and turns their results into output and exit codes. Nothing here decides
//! what a spec means or what a plan does.
//!
//! Exit codes: 0 success; 1 an error (nothing was changed, or the command
//! changes nothing); 2 `plan --detailed-exitcode` found changes, or `drift`
//! found drift; 3 an apply
//! or destroy that changed AWS in part (some steps done, others failed,
//! skipped or interrupted; the next `apply` continues from there).

mod apply;
mod compare;
mod console;
mod demo;
mod drift;
mod files;
mod import;
mod lease;
mod live;
mod lock;
mod manual;
mod output;
mod plan;
mod progress;
mod sandbox;
mod telemetry;
mod watch;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

/// Applied in part: some steps done, others not.
pub(crate) const EXIT_PARTIAL: u8 = 3;
/// `plan --detailed-exitcode`: the plan has changes; `drift`: there is drift.
pub(crate) const EXIT_CHANGES: u8 = 2;

/// Keeps a SageMaker Studio + EMR platform in the shape one TOML file describes.
#[derive(Parser)]
#[command(name = "converge", version = manual::VERSION, long_about = None, after_long_help = manual::EXIT_STATUS)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a spec: syntax, the spec language, references and the platform's rules.
    ///
    /// Exit status: 0 when the spec is valid (warnings allowed), 1 when it has errors.
    Validate {
        /// The spec file (TOML).
        spec: PathBuf,
        /// Check only this environment (default: every environment of the spec).
        #[arg(long, value_name = "NAME")]
        env: Option<String>,
        /// How to print the findings: `text` on stderr, or `json` on stdout.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print the JSON Schema of the spec language (for taplo and other TOML editors).
    Schema,
    /// Show what would change to make AWS match the spec, and why. Read-only.
    ///
    /// Reads the stack's live state from AWS (or from a snapshot with `--live`).
    /// Exit status: 0 when the plan succeeds (with `--detailed-exitcode`: 0 no
    /// changes, 2 changes), 1 on any error.
    Plan {
        /// The spec file (TOML).
        spec: PathBuf,
        /// The environment of the spec to work on (`[env.<name>]`), when it has environments.
        #[arg(long, value_name = "NAME")]
        env: Option<String>,
        /// Plan against a live-state snapshot (JSON, see docs/plan.md) instead of AWS.
        #[arg(long, value_name = "SNAPSHOT.json")]
        live: Option<PathBuf>,
        /// `text` for people, `markdown` for pull-request comments, `json` for bots.
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
        /// Exit 2 when the plan has changes, 0 when it has none.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Also save the plan here, for `converge apply FILE` (refused once
        /// a resource it depends on, or the spec, has changed).
        #[arg(long, value_name = "FILE.json")]
        out: Option<PathBuf>,
        /// Print the AWS calls made, per service and operation, on stderr.
        #[arg(long)]
        stats: bool,
        /// Plan every environment of the spec, each against its own account
        /// (`--env-profile` says which credentials), and end with one summary line per environment.
        #[arg(long, conflicts_with_all = ["env", "live", "out", "stats"])]
        all_envs: bool,
        #[command(flatten)]
        aws: live::AwsArgs,
    },
    /// Show how two environments of a spec differ: in the definition, setting
    /// by setting with the line that set each value, and with `--live` in AWS
    /// (each side's account read, and what is not as its definition says). Read-only.
    ///
    /// Exit status: 0 when the environments differ only where the definition
    /// says they should; 2 when, with `--live`, AWS differs from either
    /// environment's definition; 1 on an error.
    Compare {
        /// The spec file (TOML).
        spec: PathBuf,
        /// The first environment (`staging`).
        first: String,
        /// The second environment (`production`).
        second: String,
        /// Also read both accounts (`--env-profile` says which credentials).
        #[arg(long)]
        live: bool,
        /// `text` for people, `markdown` for pull requests, `json` for machines.
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
        #[command(flatten)]
        aws: live::AwsArgs,
    },
    /// Write a spec for a platform built by hand, read from the account (read-only).
    ///
    /// Follows references outward from what is asked for (a cluster brings its
    /// subnets, groups and roles; a domain its subnets, groups, roles and user
    /// profiles; a portfolio its products, templates and principals), marks
    /// every resource `adopt = true`, lists what the spec cannot express, and
    /// checks the result with the platform's rules. Without `--emr-cluster`,
    /// `--domain`, `--portfolio`, `--tag` or `--name-prefix`, imports every
    /// cluster, domain and portfolio of the region (of `--vpc`, when given).
    ///
    /// Exit status: 0 when the spec is written and valid (warnings allowed);
    /// 2 when it is written but the platform it describes breaks a platform
    /// rule (the errors say what is miswired; fix the spec, then apply);
    /// 1 on an error, with nothing written.
    Import {
        /// The region to read.
        #[arg(long)]
        region: String,
        /// The profile of the shared AWS config and credentials files.
        #[arg(long)]
        profile: Option<String>,
        /// Only what is in this VPC; repeatable.
        #[arg(long, value_name = "VPC-ID")]
        vpc: Vec<String>,
        /// Import resources carrying this tag (and what they use); repeatable, all must match.
        #[arg(long, value_name = "KEY=VALUE")]
        tag: Vec<String>,
        /// Import resources whose AWS name starts with this (and what they use).
        #[arg(long, value_name = "PREFIX")]
        name_prefix: Option<String>,
        /// Import this EMR cluster (and what it uses); repeatable.
        #[arg(long, value_name = "ID")]
        emr_cluster: Vec<String>,
        /// Import this SageMaker domain (and its user profiles, and what they use); repeatable.
        #[arg(long, value_name = "ID")]
        domain: Vec<String>,
        /// Import this Service Catalog portfolio (and its products and principals); repeatable.
        #[arg(long, value_name = "ID")]
        portfolio: Vec<String>,
        /// The stack name of the spec (default: from `--name-prefix`, else `imported`).
        #[arg(long)]
        stack: Option<String>,
        /// Write the account as this environment's (`[env.NAME] stack.account`),
        /// ready for more environments; the spec is then checked as that environment.
        #[arg(long, value_name = "NAME")]
        env: Option<String>,
        /// The directory to write `<stack>.toml` and its documents into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Overwrite files that exist already.
        #[arg(long)]
        force: bool,
        /// Print the AWS calls made, per service and operation, on stderr.
        #[arg(long)]
        stats: bool,
    },
    /// Report what is not as the spec says, per resource and field, and why:
    /// changed in AWS, or a spec edited and not applied yet. Strictly read-only.
    ///
    /// Capacity that managed scaling or a scheduler owns is not drift inside
    /// its range. Exit status: 0 no drift, 2 drift, 1 an error.
    Drift {
        /// The spec file (TOML).
        spec: PathBuf,
        /// The environment of the spec to work on (`[env.<name>]`), when it has environments.
        #[arg(long, value_name = "NAME")]
        env: Option<String>,
        /// Compare with a live-state snapshot (JSON) instead of AWS.
        #[arg(long, value_name = "SNAPSHOT.json")]
        live: Option<PathBuf>,
        /// `text` for people, `markdown` for issues, `json` for machines.
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
        /// Leave out a resource or one of its fields (`emr_cluster.etl.task.spot`); repeatable.
        #[arg(long, value_name = "ADDR[.FIELD]")]
        ignore: Vec<String>,
        /// Print the AWS calls made, per service and operation, on stderr.
        #[arg(long)]
        stats: bool,
        #[command(flatten)]
        aws: live::AwsArgs,
    },
    /// Plan, then carry the plan out in AWS, in dependency order, in parallel;
    /// or carry out a plan saved with `converge plan --out` (SPEC is then that file).
    ///
    /// Exit status: 0 when every step is done (or nothing changes), 1 on an
    /// error before anything changed, 3 when AWS was changed in part.
    Apply {
        /// The spec file (TOML).
        spec: PathBuf,
        /// The environment of the spec to work on (`[env.<name>]`), when it has environments.
        #[arg(long, value_name = "NAME")]
        env: Option<String>,
        /// Apply without asking (needed when stdin is not a terminal).
        #[arg(long)]
        auto_approve: bool,
        /// AWS calls in flight at most (a step waiting for AWS, a cluster starting, holds none).
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
        parallelism: u16,
        /// Replace this resource even if nothing forces it (`emr_cluster.etl`); repeatable.
        #[arg(long, value_name = "ADDR", value_parser = parse_address)]
        replace: Vec<converge_model::Address>,
        #[command(flatten)]
        lock: LockArgs,
        #[command(flatten)]
        aws: live::AwsArgs,
    },
    /// Recreate a resource from the spec: for an EMR cluster, a new cluster
    /// that runs before the old one (if any is left) is terminated.
    ///
    /// The same as `apply --replace ADDR`: the rest of the stack is brought to
    /// the spec too. Prints the new id; exit status as for `apply`.
    Rebuild {
        /// The spec file (TOML).
        spec: PathBuf,
        /// The environment of the spec to work on (`[env.<name>]`), when it has environments.
        #[arg(long, value_name = "NAME")]
        env: Option<String>,
        /// What to rebuild (`emr_cluster.etl`).
        #[arg(value_parser = parse_address)]
        address: converge_model::Address,
        /// Rebuild without asking (needed when stdin is not a terminal).
        #[arg(long)]
        auto_approve: bool,
        /// AWS calls in flight at most (a step waiting for AWS, a cluster starting, holds none).
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
        parallelism: u16,
        #[command(flatten)]
        lock: LockArgs,
        #[command(flatten)]
        aws: live::AwsArgs,
    },
    /// Delete everything the spec's stack owns in AWS, dependents first.
    ///
    /// Only resources carrying the stack's ownership tag are touched; those
    /// created with `prevent_destroy` stop it. Exit status as for `apply`.
    Destroy {
        /// The spec file (TOML); its stack, account and region say what to delete.
        spec: PathBuf,
        /// The environment of the spec to work on (`[env.<name>]`), when it has environments.
        #[arg(long, value_name = "NAME")]
        env: Option<String>,
        /// Destroy without asking (needed when stdin is not a terminal).
        #[arg(long)]
        auto_approve: bool,
        /// AWS calls in flight at most (a step waiting for AWS, a cluster starting, holds none).
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
        parallelism: u16,
        #[command(flatten)]
        lock: LockArgs,
        #[command(flatten)]
        aws: live::AwsArgs,
    },
    /// Watch the stack and act as the spec's policies say: rebuild a failed
    /// cluster with `recover = "rebuild"` (at most `max_rebuilds` an hour, as
    /// `converge rebuild` does) and publish its new outputs; repair drift with
    /// `[stack] on_drift = "repair"`; report everything else. Runs until
    /// Ctrl-C or SIGTERM.
    ///
    /// Each cycle reads the stack as `drift` does; between cycles, one
    /// `ListClusters` call checks the stack's clusters still run.
    Watch {
        /// The spec file (TOML).
        spec: PathBuf,
        /// The environment of the spec to watch (`[env.<name>]`), when it has environments.
        #[arg(long, value_name = "NAME")]
        env: Option<String>,
        /// Seconds between full reads of the stack.
        #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = parse_seconds)]
        interval: f64,
        /// Seconds between the checks that the stack's clusters still run.
        #[arg(long, value_name = "SECONDS", default_value_t = 15.0, value_parser = parse_seconds)]
        cluster_interval: f64,
        /// After a rebuild, write the outputs (as `converge output --format json`) to this S3 object.
        #[arg(long, value_name = "s3://BUCKET/KEY.json", value_parser = watch::parse_s3_url)]
        publish: Option<(String, String)>,
        /// After a rebuild, run this shell command with the outputs (JSON) on stdin.
        #[arg(long, value_name = "COMMAND")]
        on_change: Option<String>,
        /// AWS calls in flight at most, in a rebuild or a repair (a step waiting for AWS holds none).
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
        parallelism: u16,
        /// How long a rebuild waits for the stack lock a person's run holds, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
        lock_timeout: u64,
        /// Seconds to wait before trying a failed rebuild again; doubled after
        /// each failure in a row, at most 10 minutes. Every try counts toward
        /// the cluster's `max_rebuilds`.
        #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
        rebuild_backoff: u64,
        /// Seconds a replica's lease lasts unrenewed before a standby takes
        /// over (with `[stack] state_bucket`; renewed every third of it).
        #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = parse_seconds)]
        lease: f64,
        /// Serve `/healthz` and `/metrics` (Prometheus) here, read-only; keep it
        /// on loopback (`127.0.0.1:9464`) unless a scraper elsewhere needs it.
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// How the log lines on stderr are written: `text`, or `json` (one object per line).
        #[arg(long, value_enum, default_value_t = watch::LogFormat::Text)]
        log_format: watch::LogFormat,
        #[command(flatten)]
        aws: live::AwsArgs,
    },
    /// Print the least-privilege IAM policy converge needs for this spec (JSON).
    ///
    /// Without `--read-only`: what `apply`, `rebuild` and `destroy` need (reads
    /// included); with it: what `plan`, `drift` and `output` need. Write actions
    /// are given for the kinds the spec holds, and IAM writes for the roles it
    /// names: when you remove a role, or every resource of a kind, apply that
    /// removal with the policy of the spec before it.
    IamPolicy {
        /// The spec file (TOML).
        spec: PathBuf,
        /// The environment of the spec to work on (`[env.<name>]`), when it has environments.
        #[arg(long, value_name = "NAME")]
        env: Option<String>,
        /// Only what plan, drift and output need.
        #[arg(long)]
        read_only: bool,
    },
    /// Print the live ids and endpoints of the stack's resources (cluster id and
    /// primary node DNS, Studio domain id and URL, portfolio and product ids). Read-only.
    ///
    /// Exit status: 0; 1 on an error, or when the one resource asked for is not in AWS.
    Output {
        /// The spec file (TOML).
        spec: PathBuf,
        /// The environment of the spec to work on (`[env.<name>]`), when it has environments.
        #[arg(long, value_name = "NAME")]
        env: Option<String>,
        /// Only this resource (`emr_cluster.notebooks`).
        address: Option<String>,
        /// `text` for people, `json` for scripts.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        aws: live::AwsArgs,
    },
    /// Walk through plan, apply, drift and repair of `specs/studio-emr.toml`
    /// against a sandbox started in this process. Touches no real AWS account.
    Demo {
        /// The spec to demonstrate with.
        #[arg(long, default_value = "specs/studio-emr.toml")]
        spec: PathBuf,
        /// The environment of the spec to work on (`[env.<name>]`), when it has environments.
        #[arg(long, value_name = "NAME")]
        env: Option<String>,
        /// Multiplies AWS's typical durations in the sandbox (0.01: an EMR cluster starts in about five seconds).
        #[arg(long, default_value_t = 0.01)]
        time_scale: f64,
    },
    /// Print the live-state snapshot an apply of the spec to an empty account
    /// leaves, computed by running the plan in converge's in-memory AWS (for
    /// tests, demos, and as a starting point for hand-written snapshots).
    Simulate {
        /// The spec file (TOML).
        spec: PathBuf,
        /// The environment of the spec to work on (`[env.<name>]`), when it has environments.
        #[arg(long, value_name = "NAME")]
        env: Option<String>,
    },
    /// Run the local AWS sandbox on a loopback port until interrupted.
    ///
    /// It speaks the wire protocols of the AWS SDKs (EMR, SageMaker, Service
    /// Catalog, EC2, IAM, S3, STS); point clients at it with
    /// `AWS_ENDPOINT_URL=http://127.0.0.1:<port>`.
    Sandbox(sandbox::SandboxArgs),
    /// Draw the dependency graph of a spec.
    Graph {
        /// The spec file (TOML).
        spec: PathBuf,
        /// The environment of the spec to work on (`[env.<name>]`), when it has environments.
        #[arg(long, value_name = "NAME")]
        env: Option<String>,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Print a shell's completion script for converge.
    ///
    /// bash: `converge completions bash > ~/.local/share/bash-completion/completions/converge`;
    /// zsh: into a directory of `$fpath` as `_converge`; fish:
    /// `~/.config/fish/completions/converge.fish`; PowerShell: dot-source it from `$PROFILE`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print converge's manual page (roff), or write one page per command into a directory.
    ///
    /// `converge man | man -l -` reads it; `converge man --dir /usr/local/share/man/man1`
    /// installs `converge.1` and `converge-<command>.1` for each command.
    Man {
        /// Write `converge.1` and a page per command here instead of printing `converge.1`.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// The stack lock apply, destroy and rebuild hold (see docs/ci.md).
#[derive(clap::Args)]
struct LockArgs {
    /// How long to wait for a lock another run holds, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
    lock_timeout: u64,
    /// Remove the lock with this id first: the lock of a run that died (the waiting message names it).
    #[arg(long, value_name = "LOCK_ID")]
    force_unlock: Option<String>,
}

impl LockArgs {
    fn options(self) -> lock::LockOptions {
        lock::LockOptions {
            timeout: std::time::Duration::from_secs(self.lock_timeout),
            force_unlock: self.force_unlock,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum PlanFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
}

/// A positive number of seconds (fractions allowed, for tests against the sandbox).
fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds.is_finite() => Ok(seconds),
        _ => Err(format!("`{text}` is not a positive number of seconds")),
    }
}

/// `kind.name`, as `--replace` and `rebuild` take it.
fn parse_address(text: &str) -> Result<converge_model::Address, String> {
    converge_model::Address::parse(text)
        .ok_or_else(|| format!("`{text}` is not an address: write `KIND.NAME`, such as `emr_cluster.etl`"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "error: {error:#}");
            ExitCode::from(1)
        }
    }
}

/// A runtime for the commands that talk to AWS or serve the sandbox.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Plan { spec, aws, .. }
        | Command::Compare { spec, aws, .. }
        | Command::Drift { spec, aws, .. }
        | Command::Apply { spec, aws, .. }
        | Command::Rebuild { spec, aws, .. }
        | Command::Destroy { spec, aws, .. }
        | Command::Output { spec, aws, .. }
        | Command::Watch { spec, aws, .. } => aws.check_env_profiles(spec)?,
        _ => {}
    }
    match cli.command {
        Command::Validate { spec, env, format } => files::validate(&spec, env.as_deref(), format),
        Command::Plan { spec, all_envs: true, format, detailed_exitcode, stats: _, aws, .. } => {
            let how = plan::Show { format, detailed: detailed_exitcode, out: None };
            runtime()?.block_on(plan::every_environment(&spec, &aws, &how))
        }
        Command::Compare { spec, first, second, live, format, aws } => {
            let options = compare::Options { live, format };
            runtime()?.block_on(compare::run(&spec, [&first, &second], &aws, &options))
        }
        Command::Plan { spec, env, live: Some(snapshot), format, detailed_exitcode, out, stats, aws, all_envs: _ } => {
            // A snapshot is read from a file: nothing of AWS to count, no profile or region to use.
            let ignored: Vec<&str> = [
                (stats, "--stats"),
                (aws.profile.is_some(), "--profile"),
                (aws.region.is_some(), "--region"),
                (!aws.env_profile.is_empty(), "--env-profile"),
            ]
            .into_iter()
            .filter_map(|(given, flag)| given.then_some(flag))
            .collect();
            if !ignored.is_empty() {
                anyhow::bail!(
                    "`{}` cannot be used with `--live`: the plan reads `{}`, not AWS\n\nhint: drop {}, or drop `--live` to read the spec's account",
                    ignored.join("`, `"),
                    snapshot.display(),
                    ignored.join(" and ")
                );
            }
            plan::offline(
                &spec,
                env.as_deref(),
                &snapshot,
                &plan::Show { format, detailed: detailed_exitcode, out: out.as_deref() },
            )
        }
        Command::Plan { spec, env, live: None, format, detailed_exitcode, out, stats, aws, all_envs: _ } => {
            let how = plan::Show { format, detailed: detailed_exitcode, out: out.as_deref() };
            runtime()?.block_on(plan::online(&spec, env.as_deref(), &aws, &how, stats))
        }
        Command::Import {
            region,
            profile,
            vpc,
            tag,
            name_prefix,
            emr_cluster,
            domain,
            portfolio,
            stack,
            env,
            out,
            force,
            stats,
        } => {
            let options = import::Options {
                region,
                profile,
                vpcs: vpc,
                tags: tag,
                name_prefix,
                emr_clusters: emr_cluster,
                domains: domain,
                portfolios: portfolio,
                stack,
                environment: env,
                out,
                force,
                stats,
            };
            runtime()?.block_on(import::run(&options))
        }
        Command::Drift { spec, env, live, format, ignore, stats, aws } => {
            let options = drift::Options { format, ignore: &ignore, stats };
            runtime()?.block_on(drift::run(&spec, env.as_deref(), live.as_deref(), &aws, &options))
        }
        Command::Apply { spec, env, auto_approve, parallelism, replace, lock, aws } => {
            let options = apply::Options {
                auto_approve,
                parallelism: usize::from(parallelism),
                destroy: false,
                replace,
                lock: lock.options(),
                cancel: converge_engine::Cancel::new(),
            };
            runtime()?.block_on(apply::run(&spec, env.as_deref(), &aws, &options))
        }
        Command::Rebuild { spec, env, address, auto_approve, parallelism, lock, aws } => {
            let options = apply::Options {
                auto_approve,
                parallelism: usize::from(parallelism),
                destroy: false,
                replace: vec![address],
                lock: lock.options(),
                cancel: converge_engine::Cancel::new(),
            };
            runtime()?.block_on(apply::run(&spec, env.as_deref(), &aws, &options))
        }
        Command::Destroy { spec, env, auto_approve, parallelism, lock, aws } => {
            let options = apply::Options {
                auto_approve,
                parallelism: usize::from(parallelism),
                destroy: true,
                replace: Vec::new(),
                lock: lock.options(),
                cancel: converge_engine::Cancel::new(),
            };
            runtime()?.block_on(apply::run(&spec, env.as_deref(), &aws, &options))
        }
        Command::Output { spec, env, address, format, aws } => {
            runtime()?.block_on(output::run(&spec, env.as_deref(), address.as_deref(), format, &aws))
        }
        Command::Watch {
            spec,
            env,
            interval,
            cluster_interval,
            publish,
            on_change,
            parallelism,
            lock_timeout,
            rebuild_backoff,
            lease,
            listen,
            log_format,
            aws,
        } => {
            watch::init_logging(log_format);
            let options = watch::Options {
                interval: std::time::Duration::from_secs_f64(interval),
                cluster_interval: std::time::Duration::from_secs_f64(cluster_interval),
                publish,
                on_change,
                parallelism: usize::from(parallelism),
                lock_timeout: std::time::Duration::from_secs(lock_timeout),
                rebuild_backoff: converge_watch::Backoff { first: rebuild_backoff, max: 600 },
                lease: std::time::Duration::from_secs_f64(lease),
                listen,
            };
            runtime()?.block_on(watch::run(&spec, env.as_deref(), &aws, &options))
        }
        Command::Demo { spec, env, time_scale } => runtime()?.block_on(demo::run(&spec, env.as_deref(), time_scale)),
        Command::Sandbox(args) => runtime()?.block_on(sandbox::run(args)),
        Command::Simulate { spec, env } => {
            let Some(spec) = files::valid_spec(&spec, env.as_deref())? else { return Ok(ExitCode::from(1)) };
            let empty = converge_model::LiveState::before_converge(&spec);
            let plan = match converge_plan::plan(&spec, &empty) {
                Ok(plan) => plan,
                Err(errors) => return plan::report_errors(&errors),
            };
            let live = plan::simulate(empty, &plan)?;
            let text = serde_json::to_string_pretty(&live).context("cannot serialise the live state")?;
            writeln!(std::io::stdout().lock(), "{text}").context("cannot write to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Graph { spec, env, format } => {
            let Some(spec) = files::valid_spec(&spec, env.as_deref())? else { return Ok(ExitCode::from(1)) };
            let graph = converge_plan::DependencyGraph::from_spec(&spec);
            let text = match format {
                GraphFormat::Dot => graph.to_dot(),
                GraphFormat::Mermaid => graph.to_mermaid(),
            };
            write!(std::io::stdout().lock(), "{text}").context("cannot write to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::IamPolicy { spec, env, read_only } => {
            let Some(spec) = files::valid_spec(&spec, env.as_deref())? else { return Ok(ExitCode::from(1)) };
            let access = if read_only { converge_policy::Access::ReadOnly } else { converge_policy::Access::Full };
            let document = converge_policy::policy(&spec, access).document();
            let text = serde_json::to_string_pretty(&document).context("cannot serialise the policy")?;
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{text}").context("cannot write to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            let mut stdout = std::io::stdout().lock();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "converge", &mut stdout);
            stdout.flush().context("cannot write to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { dir } => {
            let command = <Cli as clap::CommandFactory>::command();
            match dir {
                Some(dir) => manual::write_pages(command, &dir)?,
                None => {
                    let mut stdout = std::io::stdout().lock();
                    manual::render(&command, &mut stdout).context("cannot write to stdout")?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema => {
            let schema = converge_spec::schema::json_schema();
            let text = serde_json::to_string_pretty(&schema).context("cannot serialise the schema")?;
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{text}").context("cannot write to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
