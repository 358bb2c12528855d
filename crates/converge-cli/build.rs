//! Stamps the commit converge is built from into `converge --version`:
//! `CONVERGE_BUILD_COMMIT` when set (the release workflow sets it), else what
//! `git` says of the checkout, else `unknown` (a build from a source archive).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CONVERGE_BUILD_COMMIT");
    let commit = std::env::var("CONVERGE_BUILD_COMMIT")
        .ok()
        .filter(|commit| !commit.trim().is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=CONVERGE_COMMIT={}", commit.trim());
}

/// The checkout's commit, watching the files that change when it moves.
fn git_commit() -> Option<String> {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let git = |args: &[&str]| -> Option<String> {
        let output = Command::new("git").args(args).current_dir(&manifest).output().ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    // HEAD names a branch whose ref file (or packed-refs) moves with each commit.
    for path in ["HEAD", "packed-refs"].map(str::to_owned).into_iter().chain(git(&["symbolic-ref", "-q", "HEAD"])) {
        if let Some(file) = git(&["rev-parse", "--git-path", &path]) {
            let file = manifest.join(file);
            // A path that does not exist would make cargo run this script on every build.
            if Path::new(&file).exists() {
                println!("cargo:rerun-if-changed={}", file.display());
            }
        }
    }
    Some(commit)
}
