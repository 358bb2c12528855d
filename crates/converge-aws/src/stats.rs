//! How many AWS calls a run made, per service and operation: an interceptor
//! every client carries, so pages of a paginated call and SDK retries count
//! as what they are.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry as _, RetryAction, RetryReason};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Calls and attempts of one operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    /// API calls (each page of a paginated call is one).
    pub calls: u64,
    /// Requests sent, retries included.
    pub attempts: u64,
    /// Attempts AWS answered with a throttling error (as the SDK's retry
    /// classifiers judge it: `ThrottlingException`, `RequestLimitExceeded`,
    /// `Throttling`, …), whether or not a retry then succeeded.
    pub throttles: u64,
}

/// The counts of a run, shared by every client of one [`crate::Aws`].
#[derive(Clone, Debug, Default)]
pub struct Stats {
    counts: Arc<Mutex<BTreeMap<(String, String), Count>>>,
}

impl Stats {
    /// Every (service, operation) called, in order, with its counts.
    pub fn snapshot(&self) -> BTreeMap<(String, String), Count> {
        self.lock().clone()
    }

    /// The API calls made, all operations together.
    pub fn total_calls(&self) -> u64 {
        self.lock().values().map(|c| c.calls).sum()
    }

    /// The calls of operations that change something (all but Describe/Get/List/Search).
    pub fn mutating_calls(&self) -> u64 {
        self.lock().iter().filter(|((_, op), _)| !is_read_only(op)).map(|(_, c)| c.calls).sum()
    }

    pub fn reset(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Count>> {
        self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn record(&self, cfg: &ConfigBag, bump: impl FnOnce(&mut Count)) {
        if let Some(metadata) = cfg.load::<Metadata>() {
            let key = (metadata.service().to_owned(), metadata.name().to_owned());
            bump(self.lock().entry(key).or_default());
        }
    }

    /// The interceptor to give every client.
    pub(crate) fn interceptor(&self) -> Counter {
        Counter { stats: self.clone() }
    }
}

/// True for operations that only read.
pub fn is_read_only(operation: &str) -> bool {
    ["Describe", "Get", "List", "Search", "Head"].iter().any(|prefix| operation.starts_with(prefix))
}

#[derive(Clone, Debug)]
pub(crate) struct Counter {
    stats: Stats,
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "ConvergeCallCounter"
    }

    // Not `read_before_execution`: a client's interceptors see that before the
    // operation's configuration (and its `Metadata`) is in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.stats.record(cfg, |c| c.calls += 1);
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.stats.record(cfg, |c| c.attempts += 1);
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if is_throttle(context, components) {
            self.stats.record(cfg, |c| c.throttles += 1);
        }
        Ok(())
    }
}

/// Whether the attempt's answer was a throttle, by the client's own retry
/// classifiers run in their order, as the SDK's retry strategy runs them
/// (aws-smithy-runtime's `run_classifiers_on_ctx`):
/// every service's throttling codes are known to them, none to converge.
pub(crate) fn is_throttle(context: &FinalizerInterceptorContextRef<'_>, components: &RuntimeComponents) -> bool {
    let context = context.inner();
    if !context.is_failed() {
        return false;
    }
    let mut verdict = RetryAction::NoActionIndicated;
    for classifier in components.retry_classifiers() {
        let next = classifier.classify_retry_v2(context, &verdict);
        if next == RetryAction::NoActionIndicated {
            continue;
        }
        verdict = next;
        if verdict == RetryAction::RetryForbidden {
            break;
        }
    }
    matches!(
        verdict,
        RetryAction::RetryIndicated(RetryReason::RetryableError {
            kind: aws_smithy_types::retry::ErrorKind::ThrottlingError,
            ..
        })
    )
}
