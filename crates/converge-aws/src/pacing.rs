//! converge paces its own calls by AWS's published request rates
//! (`converge_rates`), so that a plan or an apply at default settings meets
//! no throttling: before a request is sent, it reserves a token in every
//! bucket the call draws from (EC2's per action, EMR's per API and for all
//! of EMR's APIs) and waits until the last of them is there. Callers queue
//! in order, so concurrent reads go as fast as the slowest bucket lets them,
//! whatever order they were started in. Retries draw tokens too, as they do
//! at AWS. Services that publish no rates (IAM, STS, SageMaker, Service
//! Catalog) and S3 (thousands a second) are not paced. A throttle from AWS
//! anyway (another tool using the account) empties the call's buckets here,
//! so that what follows goes at the refill rate, and the call is retried
//! with exponential back-off (by the SDK for reads, by the engine for steps).
//!
//! Two pieces: an interceptor that names each attempt's call (service,
//! operation, whether an EC2 call is unfiltered) in the attempt's
//! configuration, and an identity cache around the SDK's own that waits for
//! the call's tokens before handing out the credentials. The wait has to
//! come before the request is signed: AWS refuses a request that arrives
//! more than five minutes after its signature's time stamp (IAM User Guide,
//! "AWS Signature Version 4 for API requests"), and a token can be minutes
//! away (64 steps queued on SetTerminationProtection's 0.2 a second). The
//! SDK resolves the identity of each attempt just before it signs it, so
//! the request is signed after the wait (aws-sdk-go once signed first and
//! sent late: aws/aws-sdk-go#2336).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::identity::{
    IdentityFuture, ResolveCachedIdentity, SharedIdentityCache, SharedIdentityResolver,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::{RuntimeComponents, RuntimeComponentsBuilder};
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use converge_executor::Metered;
use converge_rates::{Bucket, Call, Rate};

/// The token buckets of one connection to AWS (one account and region),
/// shared by all its clients.
#[derive(Clone, Debug)]
pub struct Pacer {
    /// AWS's published rates times this (1 = AWS's defaults; more after a quota increase).
    scale: f64,
    state: Arc<Mutex<Buckets>>,
}

#[derive(Debug)]
struct Buckets {
    started: Instant,
    by_key: BTreeMap<String, Bucket>,
}

impl Pacer {
    pub fn new(scale: f64) -> Pacer {
        Pacer { scale, state: Arc::new(Mutex::new(Buckets { started: Instant::now(), by_key: BTreeMap::new() })) }
    }

    /// The interval at which `call` can be sent forever: one over the
    /// slowest refill of its buckets (zero when it is not paced).
    pub fn sustained(&self, call: &Call<'_>) -> Duration {
        let slowest = self.metered(call).iter().map(|bucket| bucket.refill).fold(f64::INFINITY, f64::min);
        if slowest.is_finite() && slowest > 0.0 {
            Duration::try_from_secs_f64(1.0 / slowest).unwrap_or(Duration::MAX)
        } else {
            Duration::ZERO
        }
    }

    /// The buckets `call` draws from, at the rates this pacer keeps to.
    pub fn metered(&self, call: &Call<'_>) -> Vec<Metered> {
        converge_rates::buckets(call)
            .into_iter()
            .map(|draw| {
                let rate = headroom(draw.rate.scaled(self.scale));
                Metered { bucket: draw.key, burst: rate.burst, refill: rate.refill }
            })
            .collect()
    }

    /// Empties `call`'s buckets: AWS throttled it anyway (another tool is
    /// using the account's tokens), so this connection slows down to the
    /// refill rate until the buckets fill again.
    pub fn drain(&self, call: &Call<'_>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = state.started.elapsed().as_secs_f64();
        for draw in converge_rates::buckets(call) {
            if let Some(bucket) = state.by_key.get_mut(&draw.key) {
                bucket.drain(now);
            }
        }
    }

    /// Reserves `call`'s tokens: how long to wait before sending it.
    pub fn reserve(&self, call: &Call<'_>) -> Duration {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = state.started.elapsed().as_secs_f64();
        let mut wait: f64 = 0.0;
        for Metered { bucket, burst, refill } in self.metered(call) {
            let bucket = state.by_key.entry(bucket).or_insert_with(|| Bucket::full(Rate { burst, refill }, now));
            wait = wait.max(bucket.reserve(now));
        }
        Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX)
    }
}

/// The rate the pacer keeps to, a little under AWS's: half a token of the
/// burst kept spare and the refill 1% slower. Requests do not arrive at the
/// intervals they were sent at (connections, the network), and a bucket run
/// exactly to empty throttles the first one that comes early; the spare half
/// token absorbs half a refill interval of that (100 ms on EMR's 5 a second),
/// the slack any drift between converge's clock and AWS's.
fn headroom(rate: Rate) -> Rate {
    Rate { burst: (rate.burst - 0.5).max(1.0), refill: rate.refill * 0.99 }
}

/// What an attempt's call is, for the pacer: set by [`Namer`] on every attempt.
#[derive(Clone, Debug)]
struct Named {
    service: String,
    operation: String,
    unfiltered: bool,
}

impl Named {
    fn call(&self) -> Call<'_> {
        Call {
            service: &self.service,
            operation: &self.operation,
            unfiltered: self.unfiltered,
            // S3's rates (thousands a second a prefix) are never near: not paced.
            bucket: None,
        }
    }
}

impl Storable for Named {
    type Storer = StoreReplace<Self>;
}

/// Names each attempt's call in its configuration, before its identity is
/// resolved (and the pacer waits) and before it is signed; after a throttle
/// from AWS, empties the call's buckets in the pacer.
#[derive(Debug)]
pub(crate) struct Namer {
    pub(crate) pacer: Option<Pacer>,
}

impl Intercept for Namer {
    fn name(&self) -> &'static str {
        "ConvergePacingNamer"
    }

    fn read_before_attempt(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(metadata) = cfg.load::<Metadata>() else { return Ok(()) };
        // `EC2`, `EMR`, `Service Catalog`, … → the endpoint prefix the rates are keyed by.
        let service = metadata.service().to_ascii_lowercase().replace(' ', "");
        let operation = metadata.name().to_owned();
        let unfiltered = service == "ec2" && context.request().body().bytes().is_some_and(|body| !filtered(body));
        cfg.interceptor_state().store_put(Named { service, operation, unfiltered });
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let (Some(pacer), Some(named)) = (&self.pacer, cfg.load::<Named>())
            && crate::stats::is_throttle(context, components)
        {
            pacer.drain(&named.call());
        }
        Ok(())
    }
}

/// An EC2 query body with a filter or a pagination parameter.
fn filtered(body: &[u8]) -> bool {
    body.split(|b| *b == b'&')
        .any(|pair| pair.starts_with(b"Filter.") || pair.starts_with(b"MaxResults=") || pair.starts_with(b"NextToken="))
}

/// The SDK's identity cache, behind the pacer: an attempt gets its
/// credentials (and is signed) once its call's tokens are there.
#[derive(Debug)]
pub(crate) struct PacedIdentity {
    pub(crate) inner: SharedIdentityCache,
    pub(crate) pacer: Pacer,
}

impl ResolveCachedIdentity for PacedIdentity {
    fn resolve_cached_identity<'a>(
        &'a self,
        resolver: SharedIdentityResolver,
        components: &'a RuntimeComponents,
        cfg: &'a ConfigBag,
    ) -> IdentityFuture<'a> {
        let wait = cfg.load::<Named>().map_or(Duration::ZERO, |named| self.pacer.reserve(&named.call()));
        IdentityFuture::new(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            self.inner.resolve_cached_identity(resolver, components, cfg).await
        })
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.validate_base_client_config(components, cfg)
    }

    fn validate_final_config(&self, components: &RuntimeComponents, cfg: &ConfigBag) -> Result<(), BoxError> {
        self.inner.validate_final_config(components, cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_goes_at_once_and_the_rest_one_refill_interval_apart() {
        let pacer = Pacer::new(1.0);
        let call = Call { service: "emr", operation: "ListInstanceFleets", unfiltered: false, bucket: None };
        // ListInstanceFleets: burst 5, refill 0.5 a second; the pacer keeps half
        // a token spare and refills 1% slower: 4 at once, then 1.01 s, then 2.02 s apart.
        let waits: Vec<u64> =
            (0..7).map(|_| pacer.reserve(&call).as_millis().div_ceil(1_000).try_into().unwrap_or(u64::MAX)).collect();
        assert_eq!(&waits[..4], [0, 0, 0, 0]);
        assert_eq!(&waits[4..], [2, 4, 6], "1.01, 3.03 and 5.05 s, less the time taken, rounded up");
        let iam = Call { service: "iam", operation: "ListRoles", unfiltered: false, bucket: None };
        assert!((0..1_000).all(|_| pacer.reserve(&iam).is_zero()), "no published rate: not paced");
    }

    #[test]
    fn a_throttle_from_aws_empties_the_calls_buckets() {
        let pacer = Pacer::new(1.0);
        let call = Call { service: "emr", operation: "ListInstanceFleets", unfiltered: false, bucket: None };
        assert!(pacer.reserve(&call).is_zero(), "a full bucket");
        pacer.drain(&call);
        // ListInstanceFleets refills 0.5 a second: the next token in 2 s.
        assert!(pacer.reserve(&call) > Duration::from_millis(1_900));
    }

    /// AWS refuses a request that arrives long after its signature's time
    /// stamp: a call held back for its token must be signed after the wait.
    /// The sandbox here refuses signatures older than 2 s; the 5th to 7th
    /// ListInstanceFleets (burst 5, 0.5 a second; the pacer keeps half a
    /// token spare) wait 1, 3 and 5 s.
    #[tokio::test]
    async fn a_call_waiting_for_its_token_is_signed_after_the_wait() {
        use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;
        let config = converge_sandbox::Config { signature_expiry_seconds: 2.0, ..converge_sandbox::Config::default() };
        let sandbox = converge_sandbox::Sandbox::start(config).await.expect("the sandbox starts");
        let options = crate::Options {
            pace: crate::Pace::Published(1.0),
            ..crate::Options::sandbox(&sandbox.endpoint(), "us-east-1")
        };
        let aws = crate::Aws::connect(&options).await.expect("connects");
        let calls = (0..7).map(|_| aws.emr.list_instance_fleets().cluster_id("j-2AXXXXXXGAPLF").send());
        let answers = futures_util::future::join_all(calls).await;
        let codes: Vec<&str> =
            answers.iter().map(|a| a.as_ref().err().and_then(|e| e.code()).unwrap_or("ok")).collect();
        assert_eq!(codes, ["InvalidRequestException"; 7], "each answered by EMR, none refused as signed too early");
        sandbox.stop().await;
    }

    #[test]
    fn an_ec2_query_with_a_filter_or_a_page_is_filtered() {
        assert!(filtered(b"Action=DescribeSecurityGroups&Filter.1.Name=tag-key&Version=2016-11-15"));
        assert!(filtered(b"Action=DescribeSecurityGroups&MaxResults=1000"));
        assert!(!filtered(b"Action=DescribeSecurityGroups&GroupId.1=sg-1&Version=2016-11-15"));
    }
}
