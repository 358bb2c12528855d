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

pub(crate) fn offline(
    spec_path: &Path,
    env: Option<&str>,
    snapshot: &Path,
    how: &Show<'_>,
) -> anyhow::Result<ExitCode> {
    let Some(spec) = files::valid_spec(spec_path, env)? else { return Ok(ExitCode::from(1)) };
    let live = files::read_live(snapshot)?;
    show(spec_path, &spec, &live, how)
}

pub(crate) async fn online(
    spec_path: &Path,
    env: Option<&str>,
    args: &AwsArgs,
    how: &Show<'_>,
    stats: bool,
) -> anyhow::Result<ExitCode> {
    let Some(spec) = files::valid_spec(spec_path, env)? else { return Ok(ExitCode::from(1)) };
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

/// One environment's part of `plan --all-envs`.
struct EnvironmentPlan {
    name: String,
    account: String,
    region: String,
    /// The plan, or why there is none (already printed on stderr).
    plan: Result<converge_plan::Plan, String>,
}

/// `converge plan SPEC --all-envs`: each environment planned against its own
/// account (read-only; in parallel where the accounts differ, in turn where
/// they are the same), then one summary line per environment.
pub(crate) async fn every_environment(spec_path: &Path, args: &AwsArgs, how: &Show<'_>) -> anyhow::Result<ExitCode> {
    let names = files::environments(spec_path)?;
    if names.is_empty() {
        anyhow::bail!(
            "`{}` has no environments to plan\n\nhint: drop `--all-envs`; docs/spec.md (\"Environments\") shows how a spec declares them",
            spec_path.display()
        );
    }
    let mut specs = Vec::new();
    let mut invalid = Vec::new();
    for name in &names {
        match files::valid_spec(spec_path, Some(name))? {
            Some(spec) => specs.push(spec),
            None => invalid.push(name.clone()),
        }
    }
    // One task per account: environments of one account are read in turn, accounts at once.
    let mut by_account: Vec<(String, Vec<converge_model::Spec>)> = Vec::new();
    for spec in specs {
        match by_account.iter_mut().find(|(account, _)| *account == spec.stack.account) {
            Some((_, group)) => group.push(spec),
            None => by_account.push((spec.stack.account.clone(), vec![spec])),
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (_, group) in by_account {
        let args = args.clone();
        tasks.spawn(async move {
            let mut out = Vec::new();
            for spec in group {
                let plan = plan_of(&spec, &args).await.map_err(|error| format!("{error:#}"));
                out.push(EnvironmentPlan {
                    name: spec.stack.environment.clone().unwrap_or_default(),
                    account: spec.stack.account.clone(),
                    region: spec.stack.region.clone(),
                    plan,
                });
            }
            out
        });
    }
    let mut planned: Vec<EnvironmentPlan> = tasks.join_all().await.into_iter().flatten().collect();
    for name in invalid {
        planned.push(EnvironmentPlan {
            name,
            account: String::new(),
            region: String::new(),
            plan: Err("the environment's spec is not valid (see above)".into()),
        });
    }
    planned.sort_by_key(|p| names.iter().position(|n| *n == p.name));
    for failed in planned.iter().filter_map(|p| p.plan.as_ref().err().map(|e| (&p.name, e))) {
        writeln!(std::io::stderr().lock(), "error ({}): {}", failed.0, failed.1)?;
    }
    write!(std::io::stdout().lock(), "{}", render_every(spec_path, &planned, how.format)?)
        .context("cannot write to stdout")?;
    let changes = planned.iter().any(|p| p.plan.as_ref().is_ok_and(|plan| !plan.is_empty()));
    Ok(if planned.iter().any(|p| p.plan.is_err()) {
        ExitCode::from(1)
    } else if how.detailed && changes {
        ExitCode::from(EXIT_CHANGES)
    } else {
        ExitCode::SUCCESS
    })
}

async fn plan_of(spec: &converge_model::Spec, args: &AwsArgs) -> anyhow::Result<converge_plan::Plan> {
    let session = live::connect(spec, args).await?;
    let live = live::read(&session).await?;
    converge_plan::plan(spec, &live).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(|e| format!("{e} ({})", e.code())).collect();
        anyhow::anyhow!("no plan: {}", list.join("; "))
    })
}

/// `staging (account 111111111111, eu-west-1): Plan: 1 to create, …`
fn summary_line(p: &EnvironmentPlan) -> String {
    let summary = match &p.plan {
        Ok(plan) => converge_plan::render::summary(plan),
        Err(error) => format!("error: {}", error.lines().next().unwrap_or_default()),
    };
    if p.account.is_empty() {
        return format!("{}: {summary}", p.name);
    }
    format!("{} (account {}, {}): {summary}", p.name, p.account, p.region)
}

fn render_every(spec_path: &Path, planned: &[EnvironmentPlan], format: PlanFormat) -> anyhow::Result<String> {
    use std::fmt::Write as _;
    let mut out = String::new();
    match format {
        PlanFormat::Text => {
            for p in planned {
                if let Ok(plan) = &p.plan {
                    let _ = writeln!(out, "━━ environment {} ━━\n{}", p.name, render(plan, PlanFormat::Text)?);
                }
            }
            let _ = writeln!(out, "Every environment of `{}`:", spec_path.display());
            for p in planned {
                let _ = writeln!(out, "  {}", summary_line(p));
            }
        }
        PlanFormat::Markdown => {
            let _ = writeln!(out, "### converge plan: every environment of `{}`\n", spec_path.display());
            let _ = writeln!(out, "| environment | account | region | plan |\n|---|---|---|---|");
            for p in planned {
                let summary = match &p.plan {
                    Ok(plan) => converge_plan::render::summary(plan),
                    Err(error) => format!("**error**: {}", error.lines().next().unwrap_or_default()),
                };
                let _ =
                    writeln!(out, "| `{}` | {} | {} | {} |", p.name, p.account, p.region, summary.replace('|', "\\|"));
            }
            for p in planned {
                if let Ok(plan) = &p.plan {
                    let _ = writeln!(
                        out,
                        "\n<details><summary><code>{}</code>: {}</summary>\n\n{}\n</details>",
                        p.name,
                        converge_plan::render::summary(plan),
                        converge_plan::render::markdown(plan)
                    );
                }
            }
        }
        PlanFormat::Json => {
            let environments: Vec<serde_json::Value> = planned
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "environment": p.name,
                        "account": p.account,
                        "region": p.region,
                        "plan": p.plan.as_ref().ok().map(converge_plan::render::json),
                        "error": p.plan.as_ref().err(),
                    })
                })
                .collect();
            let document = serde_json::json!({ "spec": spec_path.display().to_string(), "environments": environments });
            out = serde_json::to_string_pretty(&document).context("cannot serialise the plans")? + "\n";
        }
    }
    Ok(out)
}
