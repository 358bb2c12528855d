//! What a service handler knows besides its request: the time, the account,
//! the request's id, the sandbox's settings ([`Ctx`]). The handlers take it
//! from here, never from the server that serves them (`server.rs` depends on
//! the handlers, not the other way round).

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, recovering the data if a handler panicked while holding it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a handler knows about the request besides its parameters.
pub(crate) struct Ctx<'a> {
    pub(crate) account: &'a str,
    pub(crate) region: &'a str,
    /// Seconds since the epoch.
    pub(crate) now: u64,
    /// Milliseconds since the epoch.
    pub(crate) now_ms: u64,
    /// Multiplies AWS's typical durations.
    pub(crate) time_scale: f64,
    pub(crate) request_id: &'a str,
    /// `http://127.0.0.1:<port>`, for URLs that point back at the sandbox.
    pub(crate) endpoint: &'a str,
    /// The cap on page sizes (`Config::page_size`).
    pub(crate) page_size: Option<usize>,
    /// Seconds of AWS time before another service sees a new IAM role (`Config::iam_propagation_seconds`).
    pub(crate) iam_propagation: f64,
}

impl Ctx<'_> {
    /// True while a role created at `created_ms` is still invisible to other services (IAM propagation).
    pub(crate) fn propagating(&self, created_ms: u64) -> bool {
        self.now_ms < created_ms + (self.iam_propagation * 1000.0 * self.time_scale) as u64
    }

    /// The time `real_seconds` of AWS time from now, in sandbox time.
    pub(crate) fn after(&self, real_seconds: f64) -> u64 {
        self.now_ms + (real_seconds * 1000.0 * self.time_scale).round() as u64
    }

    /// Seconds since the epoch of a millisecond time, as JSON timestamps carry them.
    pub(crate) fn seconds(ms: u64) -> f64 {
        ms as f64 / 1000.0
    }
}
