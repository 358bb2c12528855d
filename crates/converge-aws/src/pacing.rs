//! converge paces its own calls by AWS's published request rates
//! (`converge_rates`), so that a plan or an apply at default settings meets
//! no throttling: before a request is sent, it reserves a token in every
//! bucket the call draws from (EC2's per action, EMR's per API and for all
//! of EMR's APIs) and waits until the last of them is there. Callers queue
//! in order, so concurrent reads go as fast as the slowest bucket lets them,
//! whatever order they were started in. Retries draw tokens too, as they do
//! at AWS. Services that publish no rates (IAM, STS, SageMaker, Service
//! Catalog) and S3 (thousands a second) are not paced; a throttle from AWS
//! anyway (another tool using the account) is retried by the SDK with
//! exponential back-off.
//!
//! Two pieces: an interceptor that names each request's call (service,
//! operation, whether an EC2 call is unfiltered) in the request's
//! extensions, and an HTTP client that waits for the tokens before handing
//! the request to the SDK's own client.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use converge_rates::{Bucket, Call};

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
        let slowest = converge_rates::buckets(call)
            .iter()
            .map(|draw| draw.rate.scaled(self.scale).refill)
            .fold(f64::INFINITY, f64::min);
        if slowest.is_finite() && slowest > 0.0 {
            Duration::try_from_secs_f64(1.0 / slowest).unwrap_or(Duration::MAX)
        } else {
            Duration::ZERO
        }
    }

    /// Reserves `call`'s tokens: how long to wait before sending it.
    pub fn reserve(&self, call: &Call<'_>) -> Duration {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = state.started.elapsed().as_secs_f64();
        let mut wait: f64 = 0.0;
        for draw in converge_rates::buckets(call) {
            let scale = self.scale;
            let bucket = state.by_key.entry(draw.key).or_insert_with(|| Bucket::full(draw.rate.scaled(scale), now));
            wait = wait.max(bucket.reserve(now));
        }
        Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX)
    }
}

/// What a request is, for the pacer: set by [`Namer`] on every attempt.
#[derive(Clone, Debug)]
struct Named {
    service: String,
    operation: String,
    unfiltered: bool,
}

/// Names each request's call in its extensions.
#[derive(Debug)]
pub(crate) struct Namer;

impl Intercept for Namer {
    fn name(&self) -> &'static str {
        "ConvergePacingNamer"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(metadata) = cfg.load::<Metadata>() else { return Ok(()) };
        // `EC2`, `EMR`, `Service Catalog`, … → the endpoint prefix the rates are keyed by.
        let service = metadata.service().to_ascii_lowercase().replace(' ', "");
        let operation = metadata.name().to_owned();
        let request = context.request_mut();
        let unfiltered = service == "ec2" && request.body().bytes().is_some_and(|body| !filtered(body));
        request.add_extension(Named { service, operation, unfiltered });
        Ok(())
    }
}

/// An EC2 query body with a filter or a pagination parameter.
fn filtered(body: &[u8]) -> bool {
    body.split(|b| *b == b'&')
        .any(|pair| pair.starts_with(b"Filter.") || pair.starts_with(b"MaxResults=") || pair.starts_with(b"NextToken="))
}

/// The SDK's HTTP client, behind the pacer.
#[derive(Debug)]
pub(crate) struct PacedClient {
    pub(crate) inner: SharedHttpClient,
    pub(crate) pacer: Pacer,
}

impl HttpClient for PacedClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        let inner = self.inner.http_connector(settings, components);
        SharedHttpConnector::new(PacedConnector { inner, pacer: self.pacer.clone() })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    pacer: Pacer,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let wait = request.extension::<Named>().map_or(Duration::ZERO, |named| {
            let call = Call {
                service: &named.service,
                operation: &named.operation,
                unfiltered: named.unfiltered,
                // S3's rates (thousands a second a prefix) are never near: not paced.
                bucket: None,
            };
            self.pacer.reserve(&call)
        });
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_goes_at_once_and_the_rest_one_refill_interval_apart() {
        let pacer = Pacer::new(1.0);
        let call = Call { service: "emr", operation: "ListInstanceFleets", unfiltered: false, bucket: None };
        // ListInstanceFleets: burst 5, refill 0.5 a second.
        let waits: Vec<u64> = (0..7).map(|_| pacer.reserve(&call).as_secs()).collect();
        assert_eq!(&waits[..5], [0, 0, 0, 0, 0]);
        assert_eq!((waits[5], waits[6]), (1, 3), "2 s apart (the first is almost 2 s, less the time taken)");
        let iam = Call { service: "iam", operation: "ListRoles", unfiltered: false, bucket: None };
        assert!((0..1_000).all(|_| pacer.reserve(&iam).is_zero()), "no published rate: not paced");
    }

    #[test]
    fn an_ec2_query_with_a_filter_or_a_page_is_filtered() {
        assert!(filtered(b"Action=DescribeSecurityGroups&Filter.1.Name=tag-key&Version=2016-11-15"));
        assert!(filtered(b"Action=DescribeSecurityGroups&MaxResults=1000"));
        assert!(!filtered(b"Action=DescribeSecurityGroups&GroupId.1=sg-1&Version=2016-11-15"));
    }
}
