//! What the binary's end-to-end tests share: the repository root, and a
//! command pointed at a sandbox and away from any real AWS configuration.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `command` with the sandbox at `endpoint` as its AWS: the sandbox's keys, no
/// profile, region, shared files or instance metadata, no colour, no stdin.
pub(crate) fn against_sandbox<'a>(command: &'a mut Command, endpoint: &str) -> &'a mut Command {
    command
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "sandbox")
        .env("AWS_SECRET_ACCESS_KEY", "sandbox")
        .env("AWS_CONFIG_FILE", "/nonexistent/converge-test-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/converge-test-credentials")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
}

/// A copy of `specs/<spec>` (edited) with the policies and templates it names,
/// in a directory `dir` of its own under the tests' temporary directory
/// (its lock file, `.converge/`, with it). Returns the copy's path.
#[allow(dead_code, reason = "not every test binary copies a spec")]
pub(crate) fn spec_copy(dir: &str, spec: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(dir);
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["policies", "templates"] {
        std::fs::create_dir_all(dir.join(sub)).expect("a directory");
        for entry in std::fs::read_dir(root().join("specs").join(sub)).expect("the spec's files") {
            let entry = entry.expect("an entry");
            std::fs::copy(entry.path(), dir.join(sub).join(entry.file_name())).expect("a copy");
        }
    }
    let text = std::fs::read_to_string(root().join("specs").join(spec)).expect("the spec");
    std::fs::write(dir.join(spec), edit(text)).expect("the spec written");
    dir.join(spec)
}
