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
