//! `converge import`: read the region, write a spec for what was asked, check it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use converge_aws::Aws;
use converge_executor::{Executor as _, Scope};
use converge_import::Request;

use crate::Format;

pub(crate) struct Options {
    pub region: String,
    pub profile: Option<String>,
    pub vpcs: Vec<String>,
    pub tags: Vec<String>,
    pub name_prefix: Option<String>,
    pub emr_clusters: Vec<String>,
    pub domains: Vec<String>,
    pub portfolios: Vec<String>,
    pub stack: Option<String>,
    /// The environment the account is (`[env.<name>]`), when the spec is to have several.
    pub environment: Option<String>,
    pub out: PathBuf,
    pub force: bool,
    pub stats: bool,
}

pub(crate) async fn run(options: &Options) -> anyhow::Result<ExitCode> {
    let mut tags = Vec::new();
    for tag in &options.tags {
        let Some((key, value)) = tag.split_once('=') else {
            anyhow::bail!("`--tag {tag}` is not KEY=VALUE\n\nhint: write the tag as `--tag team=data-platform`");
        };
        tags.push((key.to_owned(), value.to_owned()));
    }
    let stack = options.stack.clone().unwrap_or_else(|| default_stack(options.name_prefix.as_deref()));
    let request = Request {
        stack,
        vpc_ids: options.vpcs.clone(),
        tags,
        name_prefix: options.name_prefix.clone(),
        emr_clusters: options.emr_clusters.clone(),
        domains: options.domains.clone(),
        portfolios: options.portfolios.clone(),
        environment: options.environment.clone(),
    };
    let spec_path = options.out.join(format!("{}.toml", request.stack));
    if spec_path.exists() && !options.force {
        anyhow::bail!(
            "`{}` exists already\n\nhint: choose another `--out` directory or `--stack` name, or pass `--force` to overwrite it",
            spec_path.display()
        );
    }

    let connect = converge_aws::Options {
        profile: options.profile.clone(),
        region: Some(options.region.clone()),
        ..converge_aws::Options::default()
    };
    let aws = Aws::connect(&connect).await.map_err(|error| anyhow::anyhow!("{error}\n\nhint: {}", error.hint()))?;
    let account = aws
        .account()
        .await
        .map_err(|error| anyhow::anyhow!("cannot tell the account: {error}\n\nhint: {}", error.hint()))?;
    let started = Instant::now();
    let _ = writeln!(
        std::io::stderr().lock(),
        "Reading account {account} in {}{} (read-only)…",
        options.region,
        if options.vpcs.is_empty() { String::new() } else { format!(", VPC {}", options.vpcs.join(", ")) }
    );
    let scope = Scope::everything(&account, &options.region, options.vpcs.clone());
    let live = aws
        .read(&scope)
        .await
        .map_err(|error| anyhow::anyhow!("cannot read the account: {error}\n\nhint: {}", error.hint()))?;
    let _ = writeln!(
        std::io::stderr().lock(),
        "Read in {:.1} s with {} API calls.\n",
        started.elapsed().as_secs_f64(),
        aws.stats().total_calls()
    );
    let imported = converge_import::import(&live, &request)
        .map_err(|error| anyhow::anyhow!("{error}\n\nhint: {}", error.hint()))?;

    let written = write_files(&options.out, &imported.files, options.force)?;
    let mut stderr = std::io::stderr().lock();
    writeln!(stderr, "Imported {} resources into `{}`:", imported.resources.len(), spec_path.display())?;
    for (address, id) in &imported.resources {
        writeln!(stderr, "  {:<48} {id}", address.to_string())?;
    }
    if written.len() > 1 {
        writeln!(stderr, "with {} documents beside it (policies, templates).", written.len() - 1)?;
    }
    if imported.left_out.is_empty() {
        writeln!(stderr, "\nEverything found is in the spec; its first plan only adds ownership tags.")?;
    } else {
        writeln!(stderr, "\nWhat converge cannot express ({}; also at the end of the spec):", imported.left_out.len())?;
        for item in &imported.left_out {
            writeln!(stderr, "  - {item}")?;
        }
    }
    if options.stats {
        writeln!(stderr, "\n{}", crate::live::stats_table(&aws))?;
    }
    writeln!(stderr, "\nChecking the imported platform (`converge validate`):")?;
    drop(stderr);
    let validated = crate::files::validate(&spec_path, options.environment.as_deref(), Format::Text)?;
    if validated == ExitCode::SUCCESS {
        return Ok(validated);
    }
    writeln!(
        std::io::stderr().lock(),
        "\nThe spec is written, and says what is miswired in the platform as built: fix it in the spec, \
         then `converge plan` shows the repair and `converge apply` makes it."
    )?;
    Ok(ExitCode::from(2))
}

/// A stack name from the name prefix (`optimus-etl-` → `optimus-etl`), else `imported`.
fn default_stack(prefix: Option<&str>) -> String {
    let name: String = prefix
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let name = name.trim_matches('-').to_owned();
    if name.is_empty() { "imported".to_owned() } else { name }
}

/// Writes every file (each through a temporary file and a rename, so none is
/// left half-written), refusing to overwrite one unless `force`.
fn write_files(
    dir: &Path,
    files: &std::collections::BTreeMap<String, String>,
    force: bool,
) -> anyhow::Result<Vec<PathBuf>> {
    let paths: Vec<PathBuf> = files.keys().map(|relative| dir.join(relative)).collect();
    if !force && let Some(existing) = paths.iter().find(|p| p.exists()) {
        anyhow::bail!(
            "`{}` exists already\n\nhint: choose another `--out` directory, or pass `--force` to overwrite it",
            existing.display()
        );
    }
    for (path, text) in paths.iter().zip(files.values()) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        crate::files::write_atomically(path, text.as_bytes())?;
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_is_named_after_the_prefix() {
        assert_eq!(default_stack(Some("optimus-etl-")), "optimus-etl");
        assert_eq!(default_stack(Some("Studio_")), "studio");
        assert_eq!(default_stack(None), "imported");
    }
}
