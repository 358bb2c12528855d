//! Spec and snapshot files: reading, checking, and reporting their problems.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use crate::Format;

pub(crate) fn validate(path: &Path, env: Option<&str>, format: Format) -> anyhow::Result<ExitCode> {
    let checked = match env {
        Some(env) => check_environment(path, env)?,
        None => check_file(path)?,
    };
    let display = match env {
        Some(env) => format!("`{}` (environment `{env}`)", path.display()),
        None => format!("`{}`", path.display()),
    };
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
                    "error: {display} is not valid: {}, {}",
                    converge_spec::count(errors, "error"),
                    converge_spec::count(warnings, "warning")
                )?;
            } else {
                let warnings = if warnings > 0 {
                    format!(", {}", converge_spec::count(warnings, "warning"))
                } else {
                    String::new()
                };
                match &checked.spec {
                    Some(spec) => writeln!(
                        stderr,
                        "{display} is valid: {}{warnings}",
                        converge_spec::count(spec.addresses().len(), "resource")
                    )?,
                    None => writeln!(
                        stderr,
                        "{display} is valid: {} ({}){warnings}",
                        converge_spec::count(checked.environments.len(), "environment"),
                        checked.environments.join(", ")
                    )?,
                }
            }
        }
    }
    Ok(if checked.error_count() > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// A checked spec (of environment `env`, when the spec has environments), or
/// `None` after printing its diagnostics.
pub(crate) fn valid_spec(path: &Path, env: Option<&str>) -> anyhow::Result<Option<converge_model::Spec>> {
    let checked = match env {
        Some(env) => check_environment(path, env)?,
        None => check_file(path)?,
    };
    if env.is_none() && !checked.environments.is_empty() {
        anyhow::bail!(
            "`{}` describes {}: {}; name the one to work on\n\nhint: add `--env {}` (each environment is its own stack, in its own account)",
            path.display(),
            converge_spec::count(checked.environments.len(), "environment"),
            checked.environments.join(", "),
            checked.environments[0]
        );
    }
    let mut stderr = std::io::stderr().lock();
    if !checked.diagnostics.is_empty() {
        writeln!(stderr, "{}", checked.render())?;
    }
    if checked.spec.is_none() {
        let command = match env {
            Some(env) => format!("converge validate {} --env {env}", path.display()),
            None => format!("converge validate {}", path.display()),
        };
        writeln!(
            stderr,
            "error: `{}` is not valid: {}\n\nhint: `{command}` lists the problems",
            path.display(),
            converge_spec::count(checked.error_count(), "error"),
        )?;
    }
    Ok(checked.spec)
}

/// The environments a spec declares (none for a spec without them).
pub(crate) fn environments(path: &Path) -> anyhow::Result<Vec<String>> {
    Ok(check_file(path)?.environments)
}

pub(crate) fn read_live(path: &Path) -> anyhow::Result<converge_model::LiveState> {
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

/// Reads and checks one environment of a spec file.
pub(crate) fn check_environment(path: &Path, env: &str) -> anyhow::Result<converge_spec::Checked> {
    let (text, loader) = read_spec(path)?;
    if let Some(checked) = converge_spec::check_environment(&path.display().to_string(), &text, &loader, env) {
        return Ok(checked);
    }
    let declared = converge_spec::check(&path.display().to_string(), &text, &loader).environments;
    if declared.is_empty() {
        anyhow::bail!(
            "`{}` has no environments, so `--env {env}` names none of them\n\nhint: drop `--env`; docs/spec.md (\"Environments\") shows how a spec declares them",
            path.display()
        );
    }
    let suggestion = declared
        .iter()
        .find(|name| name.eq_ignore_ascii_case(env) || name.starts_with(env) || env.starts_with(name.as_str()))
        .map(|name| format!(" (did you mean `{name}`?)"))
        .unwrap_or_default();
    anyhow::bail!(
        "`{}` has no environment `{env}`{suggestion}\n\nhint: it declares {}",
        path.display(),
        declared.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
    )
}

/// Reads and checks a spec file; documents it names are read relative to its directory.
pub(crate) fn check_file(path: &Path) -> anyhow::Result<converge_spec::Checked> {
    let (text, loader) = read_spec(path)?;
    Ok(converge_spec::check(&path.display().to_string(), &text, &loader))
}

/// A spec's text, and a loader of the documents it names (relative to its directory).
fn read_spec(path: &Path) -> anyhow::Result<(String, impl Fn(&str) -> Result<String, String>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read the spec `{}`", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!("the spec `{}` is not UTF-8 text\n\nhint: save the file as UTF-8", path.display())
    })?;
    let base: PathBuf = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let loader = move |relative: &str| -> Result<String, String> {
        std::fs::read_to_string(base.join(relative)).map_err(|error| error.to_string())
    };
    Ok((text, loader))
}

/// The saved plan at `path` (`converge plan --out`), or `None` when the file
/// is not one (a spec).
pub(crate) fn saved_plan(path: &Path) -> anyhow::Result<Option<converge_plan::saved::SavedPlan>> {
    if path.extension().is_none_or(|e| e != "json") {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not JSON; apply takes a spec (TOML) or a saved plan", path.display()))?;
    if value["format"] != converge_plan::saved::SAVED_PLAN_FORMAT {
        anyhow::bail!(
            "`{}` is not a saved plan\n\nhint: write one with `converge plan SPEC --out {}`",
            path.display(),
            path.display()
        );
    }
    let saved = serde_json::from_value(value)
        .with_context(|| format!("`{}` is a saved plan of another converge version, or was edited", path.display()))?;
    Ok(Some(saved))
}

/// Writes a saved plan atomically.
pub(crate) fn write_saved_plan(path: &Path, saved: &converge_plan::saved::SavedPlan) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(saved).context("cannot serialise the plan")?;
    write_atomically(path, (text + "\n").as_bytes())
}

/// Writes `contents` to `path` through a temporary file renamed over it, so
/// that `path` holds either what it held or all of `contents`, never a part.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".converge-partial");
    let temporary = std::path::PathBuf::from(temporary);
    std::fs::write(&temporary, contents).with_context(|| format!("cannot write `{}`", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("cannot write `{}`", path.display()))
}
