//! Where converge's messages to people go. Commands write them on stderr (and
//! a plan on stdout); `converge watch`, whose log goes through `tracing`
//! (`--log-format text|json`), sends each line of them as a log event
//! instead, so the rebuilds and repairs it runs keep its log one event per
//! line — one JSON object per line with `--log-format json`.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

static TO_LOG: AtomicBool = AtomicBool::new(false);

/// From now on, messages are log events (`converge watch`).
pub(crate) fn send_to_log() {
    TO_LOG.store(true, Ordering::Relaxed);
}

/// True once messages are log events: no live progress lines then.
pub(crate) fn to_log() -> bool {
    TO_LOG.load(Ordering::Relaxed)
}

/// A message, ended with a newline on stderr.
pub(crate) fn say(text: &str) {
    if to_log() {
        log_lines(text);
    } else {
        // Best effort: a closed stderr does not stop the command.
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }
}

/// Text on stderr as it is (blank lines and all).
pub(crate) fn write(text: &str) {
    if to_log() {
        log_lines(text);
    } else {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

/// A document a person reads (a plan) on stdout.
pub(crate) fn show(text: &str) -> std::io::Result<()> {
    if to_log() {
        log_lines(text);
        Ok(())
    } else {
        std::io::stdout().lock().write_all(text.as_bytes())
    }
}

fn log_lines(text: &str) {
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        tracing::info!(target: "watch", "{line}");
    }
}
