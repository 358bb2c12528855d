//! `converge drift`: what is not as the spec says, and why. Strictly read-only.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use converge_plan::drift::{self, Drift, Ignore};

use crate::live::{self, AwsArgs};
use crate::{EXIT_CHANGES, PlanFormat, files};

pub(crate) struct Options<'a> {
    pub(crate) format: PlanFormat,
    pub(crate) ignore: &'a [String],
    pub(crate) stats: bool,
}

/// Exit 0 no drift, 2 drift, 1 an error.
pub(crate) async fn run(
    spec: &Path,
    env: Option<&str>,
    live_file: Option<&Path>,
    args: &AwsArgs,
    options: &Options<'_>,
) -> anyhow::Result<ExitCode> {
    let ignore: Vec<Ignore> = options
        .ignore
        .iter()
        .map(|text| {
            Ignore::parse(text).map_err(|e| {
                anyhow::anyhow!(
                    "--ignore {e}\n\nhint: write `--ignore emr_cluster.etl` or `--ignore emr_cluster.etl.task.spot`"
                )
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let Some(spec) = files::valid_spec(spec, env)? else { return Ok(ExitCode::from(1)) };
    let (live, session) = match live_file {
        Some(path) => (files::read_live(path)?, None),
        None => {
            let session = live::connect(&spec, args).await?;
            (live::read(&session).await?, Some(session))
        }
    };
    let report = match drift::drift(&spec, &live, &ignore) {
        Ok(report) => report,
        Err(errors) => return crate::plan::report_errors(&errors),
    };
    write!(std::io::stdout().lock(), "{}", render(&report, options.format)?).context("cannot write to stdout")?;
    if let (true, Some(session)) = (options.stats, &session) {
        write!(std::io::stderr().lock(), "\n{}", live::stats_table(&session.aws))?;
    }
    Ok(if report.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_CHANGES) })
}

fn render(report: &Drift, format: PlanFormat) -> anyhow::Result<String> {
    Ok(match format {
        PlanFormat::Text => drift::text(report),
        PlanFormat::Markdown => drift::markdown(report),
        PlanFormat::Json => {
            let mut text = serde_json::to_string_pretty(&drift::json(report)).context("cannot serialise the report")?;
            text.push('\n');
            text
        }
    })
}
