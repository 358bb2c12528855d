//! `converge`: the command line.
//!
//! A thin edge: it parses arguments, reads files, calls the library crates
//! and turns their results into output and exit codes. Nothing here decides
//! what a spec means.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

/// converge keeps a SageMaker Studio + EMR platform in the shape one TOML file describes.
#[derive(Parser)]
#[command(name = "converge", version, about, long_about = None)]
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
        /// How to print the findings: `text` on stderr, or `json` on stdout.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print the JSON Schema of the spec language (for taplo and other TOML editors).
    Schema,
    /// Show what would change to make live state match the spec, and why.
    ///
    /// Exit status: 0 when the plan succeeds (with `--detailed-exitcode`: 0 no
    /// changes, 2 changes), 1 on any error.
    Plan {
        /// The spec file (TOML).
        spec: PathBuf,
        /// A live-state snapshot (JSON, see docs/plan.md); reading AWS directly comes with the aws crate.
        #[arg(long, value_name = "SNAPSHOT.json")]
        live: PathBuf,
        /// `text` for people, `markdown` for pull-request comments, `json` for bots.
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
        /// Exit 2 when the plan has changes, 0 when it has none.
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Print the live-state snapshot an apply of the spec to an empty account
    /// leaves, computed by running the plan in converge's in-memory AWS (for
    /// tests, demos, and as a starting point for hand-written snapshots).
    Simulate {
        /// The spec file (TOML).
        spec: PathBuf,
    },
    /// Run the local AWS sandbox on a loopback port until interrupted.
    ///
    /// It speaks the wire protocols of the AWS SDKs (today EC2, IAM and STS);
    /// point clients at it with `AWS_ENDPOINT_URL=http://127.0.0.1:<port>`.
    Sandbox {
        /// The loopback port; 0 picks a free one (printed on start).
        #[arg(long, default_value_t = 4566)]
        port: u16,
        /// Keep the emulated account in this file across restarts.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
        /// Multiplies AWS's typical durations of state changes (1 = real time).
        #[arg(long, default_value_t = 0.01)]
        time_scale: f64,
        /// The account id the sandbox pretends to be.
        #[arg(long, default_value = "123456789012")]
        account: String,
        #[arg(long, default_value = "us-east-1")]
        region: String,
        /// A fault from the start: `SERVICE[:OPERATION]=KIND[,times=N][,ms=N]`, e.g.
        /// `iam:GetRole=throttle,times=2`; KIND is throttle, internal_error,
        /// unavailable, latency or drop. Repeatable; `/_sandbox/faults` changes them later.
        #[arg(long = "fault", value_name = "FAULT")]
        faults: Vec<converge_sandbox::Fault>,
        /// Seconds of AWS time after a role is created before EMR sees its instance profile.
        #[arg(long, default_value_t = 8.0)]
        iam_propagation_seconds: f64,
    },
    /// Draw the dependency graph of a spec.
    Graph {
        /// The spec file (TOML).
        spec: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum PlanFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
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

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate { spec, format } => validate(&spec, format),
        Command::Plan { spec, live, format, detailed_exitcode } => plan(&spec, &live, format, detailed_exitcode),
        Command::Sandbox { port, state, time_scale, account, region, faults, iam_propagation_seconds } => {
            let config = converge_sandbox::Config {
                port,
                account,
                region,
                time_scale,
                state_file: state,
                faults,
                iam_propagation_seconds,
            };
            sandbox(config)
        }
        Command::Simulate { spec } => {
            let Some(spec) = valid_spec(&spec)? else { return Ok(ExitCode::from(1)) };
            let empty = converge_model::LiveState::before_converge(&spec);
            let plan = match converge_plan::plan(&spec, &empty) {
                Ok(plan) => plan,
                Err(errors) => return report_plan_errors(&errors),
            };
            let live = simulate(empty, &plan)?;
            let text = serde_json::to_string_pretty(&live).context("cannot serialise the live state")?;
            writeln!(std::io::stdout().lock(), "{text}").context("cannot write to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Graph { spec, format } => {
            let Some(spec) = valid_spec(&spec)? else { return Ok(ExitCode::from(1)) };
            let graph = converge_plan::DependencyGraph::from_spec(&spec);
            let text = match format {
                GraphFormat::Dot => graph.to_dot(),
                GraphFormat::Mermaid => graph.to_mermaid(),
            };
            write!(std::io::stdout().lock(), "{text}").context("cannot write to stdout")?;
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

fn validate(path: &Path, format: Format) -> anyhow::Result<ExitCode> {
    let checked = check_file(path)?;
    let display = path.display().to_string();
    match format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&checked.to_json()).context("cannot serialise the diagnostics")?;
            writeln!(std::io::stdout().lock(), "{text}").context("cannot write to stdout")?;
        }
        Format::Text => {
            let mut stderr = std::io::stderr().lock();
            if !checked.diagnostics.is_empty() {
                writeln!(stderr, "{}", checked.render())?;
            }
            let (errors, warnings) = (checked.error_count(), checked.warning_count());
            if errors > 0 {
                writeln!(
                    stderr,
                    "error: `{display}` is not valid: {}, {}",
                    converge_spec::count(errors, "error"),
                    converge_spec::count(warnings, "warning")
                )?;
            } else {
                let resources = checked.spec.as_ref().map_or(0, |spec| spec.addresses().len());
                let warnings = if warnings > 0 {
                    format!(", {}", converge_spec::count(warnings, "warning"))
                } else {
                    String::new()
                };
                writeln!(stderr, "`{display}` is valid: {}{warnings}", converge_spec::count(resources, "resource"))?;
            }
        }
    }
    Ok(if checked.error_count() > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn sandbox(config: converge_sandbox::Config) -> anyhow::Result<ExitCode> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let (account, region) = (config.account.clone(), config.region.clone());
        let sandbox = converge_sandbox::Sandbox::start(config).await.map_err(|error| {
            anyhow::Error::new(error).context("cannot start the sandbox\n\nhint: choose another `--port`, or `--port 0` for a free one")
        })?;
        // The announcement is best effort: a sandbox whose stdout nobody reads keeps serving.
        let announcement = format!(
            "converge sandbox listening on {0} (account {account}, region {region})\n  export AWS_ENDPOINT_URL={0} AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox AWS_REGION={region}\n  admin API: {0}/_sandbox/health, /_sandbox/requests, /_sandbox/faults, /_sandbox/state\n",
            sandbox.endpoint()
        );
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(announcement.as_bytes()).and_then(|()| stdout.flush());
        drop(stdout);
        sandbox.serve_until_interrupted().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// A checked spec, or `None` after printing its diagnostics.
fn valid_spec(path: &Path) -> anyhow::Result<Option<converge_model::Spec>> {
    let checked = check_file(path)?;
    let mut stderr = std::io::stderr().lock();
    if !checked.diagnostics.is_empty() {
        writeln!(stderr, "{}", checked.render())?;
    }
    if checked.spec.is_none() {
        writeln!(
            stderr,
            "error: `{}` is not valid: {}\n\nhint: `converge validate {}` lists the problems",
            path.display(),
            converge_spec::count(checked.error_count(), "error"),
            path.display()
        )?;
    }
    Ok(checked.spec)
}

fn read_live(path: &Path) -> anyhow::Result<converge_model::LiveState> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the live state `{}`", path.display()))?;
    let live: converge_model::LiveState = serde_json::from_str(&text).map_err(|error| {
        anyhow::anyhow!(
            "the live state `{}` is not a converge snapshot: {error}\n\nhint: docs/plan.md describes the snapshot format (version {})",
            path.display(),
            converge_model::live::LIVE_STATE_VERSION
        )
    })?;
    if live.version != converge_model::live::LIVE_STATE_VERSION {
        anyhow::bail!(
            "the live state `{}` has snapshot version {}, converge reads version {}\n\nhint: take the snapshot again with this converge",
            path.display(),
            live.version,
            converge_model::live::LIVE_STATE_VERSION
        );
    }
    Ok(live)
}

fn plan(spec_path: &Path, live_path: &Path, format: PlanFormat, detailed_exitcode: bool) -> anyhow::Result<ExitCode> {
    let Some(spec) = valid_spec(spec_path)? else { return Ok(ExitCode::from(1)) };
    let live = read_live(live_path)?;
    let plan = match converge_plan::plan(&spec, &live) {
        Ok(plan) => plan,
        Err(errors) => return report_plan_errors(&errors),
    };
    let text = match format {
        PlanFormat::Text => {
            let color = std::io::IsTerminal::is_terminal(&std::io::stdout()) && std::env::var_os("NO_COLOR").is_none();
            converge_plan::render::text(&plan, converge_plan::render::Style { color })
        }
        PlanFormat::Markdown => converge_plan::render::markdown(&plan),
        PlanFormat::Json => {
            let mut text = serde_json::to_string_pretty(&converge_plan::render::json(&plan))
                .context("cannot serialise the plan")?;
            text.push('\n');
            text
        }
    };
    write!(std::io::stdout().lock(), "{text}").context("cannot write to stdout")?;
    Ok(if detailed_exitcode && !plan.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// Prints why no plan could be made (each error with its code and hint); exit status 1.
fn report_plan_errors(errors: &[converge_plan::PlanError]) -> anyhow::Result<ExitCode> {
    let mut stderr = std::io::stderr().lock();
    for error in errors {
        writeln!(stderr, "error[{}]: {error}\n\nhint: {}\n", error.code(), error.hint())?;
    }
    writeln!(stderr, "error: no plan: {}", converge_spec::count(errors.len(), "error"))?;
    Ok(ExitCode::from(1))
}

/// The live state `plan` leaves when the in-memory AWS carries it out from `live`.
fn simulate(live: converge_model::LiveState, plan: &converge_plan::Plan) -> anyhow::Result<converge_model::LiveState> {
    converge_memory::run(live, &plan.steps).map_err(|failure| {
        anyhow::anyhow!(
            "step {} of the plan fails in the in-memory AWS: {}\n\nhint: {}",
            failure.step,
            failure.error,
            failure.error.hint()
        )
    })
}

/// Reads and checks a spec file; documents it names are read relative to its directory.
fn check_file(path: &Path) -> anyhow::Result<converge_spec::Checked> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read the spec `{}`", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!("the spec `{}` is not UTF-8 text\n\nhint: save the file as UTF-8", path.display())
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let loader = |relative: &str| -> Result<String, String> {
        std::fs::read_to_string(base.join(relative)).map_err(|error| error.to_string())
    };
    Ok(converge_spec::check(&path.display().to_string(), &text, &loader))
}
