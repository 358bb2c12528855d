//! `converge plan`: against AWS, or offline against a snapshot.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::live::{self, AwsArgs};
use crate::{EXIT_CHANGES, PlanFormat, files};

/// How `converge plan` shows its plan, and where it saves it.
pub(crate) struct Show<'a> {
    pub(crate) format: PlanFormat,
    pub(crate) detailed: bool,
    /// `--out`: write the plan to apply later.
    pub(crate) out: Option<&'a Path>,
}

pub(crate) fn offline(spec_path: &Path, snapshot: &Path, how: &Show<'_>) -> anyhow::Result<ExitCode> {
    let Some(spec) = files::valid_spec(spec_path)? else { return Ok(ExitCode::from(1)) };
    let live = files::read_live(snapshot)?;
    show(spec_path, &spec, &live, how)
}

pub(crate) async fn online(spec_path: &Path, args: &AwsArgs, how: &Show<'_>, stats: bool) -> anyhow::Result<ExitCode> {
    let Some(spec) = files::valid_spec(spec_path)? else { return Ok(ExitCode::from(1)) };
    let session = live::connect(&spec, args).await?;
    let live = live::read(&session).await?;
    let code = show(spec_path, &spec, &live, how)?;
    if stats {
        write!(std::io::stderr().lock(), "\n{}", live::stats_table(&session.aws))?;
    }
    Ok(code)
}

fn show(
    spec_path: &Path,
    spec: &converge_model::Spec,
    live: &converge_model::LiveState,
    how: &Show<'_>,
) -> anyhow::Result<ExitCode> {
    let plan = match converge_plan::plan(spec, live) {
        Ok(plan) => plan,
        Err(errors) => return report_errors(&errors),
    };
    write!(std::io::stdout().lock(), "{}", render(&plan, how.format)?).context("cannot write to stdout")?;
    if let Some(out) = how.out {
        let saved = converge_plan::saved::save(spec, live, &plan, &spec_path.to_string_lossy(), &[]);
        files::write_saved_plan(out, &saved)?;
        writeln!(
            std::io::stderr().lock(),
            "Saved the plan to `{}`: `converge apply {}` carries it out while the {} resources it depends on stay as they are.",
            out.display(),
            out.display(),
            saved.depends_on.len()
        )?;
    }
    Ok(if how.detailed && !plan.is_empty() { ExitCode::from(EXIT_CHANGES) } else { ExitCode::SUCCESS })
}

/// Color on a terminal unless `NO_COLOR` is set.
pub(crate) fn color(stream: &impl std::io::IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub(crate) fn render(plan: &converge_plan::Plan, format: PlanFormat) -> anyhow::Result<String> {
    Ok(match format {
        PlanFormat::Text => {
            let style = converge_plan::render::Style { color: color(&std::io::stdout()) };
            converge_plan::render::text(plan, style)
        }
        PlanFormat::Markdown => converge_plan::render::markdown(plan),
        PlanFormat::Json => {
            let mut text = serde_json::to_string_pretty(&converge_plan::render::json(plan))
                .context("cannot serialise the plan")?;
            text.push('\n');
            text
        }
    })
}

/// Prints why no plan could be made (each error with its code and hint); exit status 1.
pub(crate) fn report_errors(errors: &[converge_plan::PlanError]) -> anyhow::Result<ExitCode> {
    let mut stderr = std::io::stderr().lock();
    for error in errors {
        writeln!(stderr, "error[{}]: {error}\n\nhint: {}\n", error.code(), error.hint())?;
    }
    writeln!(stderr, "error: no plan: {}", converge_spec::count(errors.len(), "error"))?;
    Ok(ExitCode::from(1))
}

/// The live state `plan` leaves when the in-memory AWS carries it out from `live`.
pub(crate) fn simulate(
    live: converge_model::LiveState,
    plan: &converge_plan::Plan,
) -> anyhow::Result<converge_model::LiveState> {
    converge_memory::run(live, &plan.steps).map_err(|failure| {
        anyhow::anyhow!(
            "step {} of the plan fails in the in-memory AWS: {}\n\nhint: {}",
            failure.step,
            failure.error,
            failure.error.hint()
        )
    })
}
