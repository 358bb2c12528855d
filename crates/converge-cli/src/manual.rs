//! The version converge reports, and its manual pages.

use std::path::Path;

use anyhow::Context as _;

/// `0.1.0 (commit 0a1b2c3d4e5f)`: the crate's version and the commit it was
/// built from (`build.rs`: `CONVERGE_BUILD_COMMIT`, else `git`, else unknown).
pub(crate) const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("CONVERGE_COMMIT"), ")");

/// The exit codes, for `converge --help` and the manual (as the crate documentation lists them).
pub(crate) const EXIT_STATUS: &str = "Exit status:
  0  success (with `plan --detailed-exitcode` or `drift`: no changes, no drift)
  1  an error; nothing was changed, or the command changes nothing
  2  `plan --detailed-exitcode` found changes; `drift` found drift
  3  an apply or destroy changed AWS in part (the next `apply` continues from there)";

/// Renders `command`'s page, with an EXIT STATUS section where its help has one.
pub(crate) fn render(command: &clap::Command, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut command = command.clone();
    command.build();
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if command.get_arguments().any(|arg| !arg.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if command.has_subcommands() {
        man.render_subcommands_section(out)?;
    }
    if command.get_after_long_help().is_some_and(|help| help.to_string() == EXIT_STATUS) {
        writeln!(out, ".SH \"EXIT STATUS\"")?;
        for line in EXIT_STATUS.lines().skip(1) {
            let (code, meaning) = line.trim().split_once("  ").unwrap_or((line, ""));
            writeln!(out, ".TP\n\\fB{code}\\fR\n{}", roff_text(meaning.trim()))?;
        }
    }
    man.render_version_section(out)
}

/// `text` as a line of roff: backslashes and hyphens escaped, no line starting with a control character.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) { format!("\\&{escaped}") } else { escaped }
}

/// Writes `converge.1` and `converge-<command>.1` for each command into `dir`.
pub(crate) fn write_pages(command: clap::Command, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut command = command;
    command.build();
    let mut pages = vec![("converge".to_owned(), command.clone())];
    for sub in command.get_subcommands() {
        let name = format!("converge-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(name).version(VERSION)));
    }
    for (name, page) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut text = Vec::new();
        render(&page, &mut text).with_context(|| format!("cannot render {name}.1"))?;
        crate::files::write_atomically(&path, &text)?;
    }
    Ok(())
}
