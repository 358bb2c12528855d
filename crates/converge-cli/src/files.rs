//! Spec and snapshot files: reading, checking, and reporting their problems.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use crate::Format;

pub(crate) fn validate(path: &Path, format: Format) -> anyhow::Result<ExitCode> {
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

/// A checked spec, or `None` after printing its diagnostics.
pub(crate) fn valid_spec(path: &Path) -> anyhow::Result<Option<converge_model::Spec>> {
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

/// Reads and checks a spec file; documents it names are read relative to its directory.
pub(crate) fn check_file(path: &Path) -> anyhow::Result<converge_spec::Checked> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read the spec `{}`", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!("the spec `{}` is not UTF-8 text\n\nhint: save the file as UTF-8", path.display())
    })?;
    let base: PathBuf = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let loader = |relative: &str| -> Result<String, String> {
        std::fs::read_to_string(base.join(relative)).map_err(|error| error.to_string())
    };
    Ok(converge_spec::check(&path.display().to_string(), &text, &loader))
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

/// Writes a saved plan atomically (a temporary file renamed over the target).
pub(crate) fn write_saved_plan(path: &Path, saved: &converge_plan::saved::SavedPlan) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(saved).context("cannot serialise the plan")?;
    let temporary = path.with_extension("json.partial");
    std::fs::write(&temporary, text + "\n").with_context(|| format!("cannot write `{}`", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("cannot write `{}`", path.display()))
}
