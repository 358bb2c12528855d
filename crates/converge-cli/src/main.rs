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
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
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
