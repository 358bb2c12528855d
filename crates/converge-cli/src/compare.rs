//! `converge compare SPEC A B`: how two environments differ, in the
//! definition and (`--live`) in AWS. Read-only.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use converge_compare::Environment;

use crate::live::{self, AwsArgs};
use crate::{EXIT_CHANGES, PlanFormat, files};

pub(crate) struct Options {
    pub(crate) live: bool,
    pub(crate) format: PlanFormat,
}

/// Exit 0 when the environments differ only where the definition says they
/// should (always, without `--live`); 2 when AWS differs from either
/// environment's definition; 1 on an error.
pub(crate) async fn run(
    spec_path: &Path,
    names: [&str; 2],
    args: &AwsArgs,
    options: &Options,
) -> anyhow::Result<ExitCode> {
    if names[0] == names[1] {
        anyhow::bail!(
            "`converge compare` needs two different environments, got `{}` twice\n\nhint: `converge drift {} --env {}` compares one environment with AWS",
            names[0],
            spec_path.display(),
            names[0]
        );
    }
    let mut specs = Vec::new();
    for name in names {
        let Some(spec) = files::valid_spec(spec_path, Some(name))? else { return Ok(ExitCode::from(1)) };
        specs.push(spec);
    }
    let text = std::fs::read_to_string(spec_path).with_context(|| format!("cannot read `{}`", spec_path.display()))?;
    let settings: Vec<Vec<converge_spec::Setting>> =
        names.iter().map(|name| converge_spec::settings(&text, Some(name)).unwrap_or_default()).collect();
    let side = |i: usize| Environment { spec: &specs[i], settings: &settings[i] };
    let mut comparison = converge_compare::compare(&spec_path.display().to_string(), &side(0), &side(1));
    if options.live {
        let (a, b) = tokio::join!(drift_of(&specs[0], args), drift_of(&specs[1], args));
        comparison = comparison.with_live(a?, b?);
    }
    let rendered = match options.format {
        PlanFormat::Text => converge_compare::text(&comparison),
        PlanFormat::Markdown => converge_compare::markdown(&comparison),
        PlanFormat::Json => {
            serde_json::to_string_pretty(&converge_compare::json(&comparison))
                .context("cannot serialise the comparison")?
                + "\n"
        }
    };
    write!(std::io::stdout().lock(), "{rendered}").context("cannot write to stdout")?;
    Ok(if comparison.as_defined() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_CHANGES) })
}

/// The environment's drift, read from its own account.
async fn drift_of(spec: &converge_model::Spec, args: &AwsArgs) -> anyhow::Result<converge_plan::drift::Drift> {
    let env = spec.stack.environment.as_deref().unwrap_or_default();
    let session = live::connect(spec, args).await.with_context(|| format!("environment `{env}`"))?;
    let live = live::read(&session).await.with_context(|| format!("environment `{env}`"))?;
    converge_plan::drift::drift(spec, &live, &[]).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(|e| format!("{e} ({})", e.code())).collect();
        anyhow::anyhow!("environment `{env}`: no drift report: {}", list.join("; "))
    })
}
