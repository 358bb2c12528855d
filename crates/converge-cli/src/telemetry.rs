//! `converge watch --listen ADDR`: what an operator's probes and Prometheus
//! read. Two read-only endpoints: `/healthz` (leader or standby, the last
//! successful cycle) and `/metrics` (the Prometheus text format, through
//! `prometheus-client`). Nothing served here can change the stack.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use converge_aws::Count;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Outcome {
    pub(crate) result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Service {
    pub(crate) service: String,
}

/// The figures `/metrics` serves, and what `/healthz` says.
pub(crate) struct Telemetry {
    registry: Registry,
    pub(crate) cycles: Counter,
    pub(crate) drifted: Gauge,
    pub(crate) rebuilds: Family<Outcome, Counter>,
    pub(crate) rebuild_seconds: Histogram,
    pub(crate) recovery_seconds: Histogram,
    pub(crate) leader: Gauge,
    pub(crate) last_success: Gauge,
    aws_calls: Family<Service, Counter>,
    aws_retries: Family<Service, Counter>,
    aws_throttles: Family<Service, Counter>,
    /// The AWS counts already added, per service.
    counted: Mutex<BTreeMap<String, Count>>,
    health: Mutex<Health>,
}

#[derive(Clone, Debug, Default)]
struct Health {
    leader: bool,
    last_success: Option<u64>,
}

fn seconds_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Telemetry {
    pub(crate) fn new() -> Telemetry {
        let mut registry = Registry::with_prefix("converge_watch");
        let cycles = Counter::default();
        registry.register("cycles", "Full reads of the stack", cycles.clone());
        let drifted = Gauge::default();
        registry.register("drifted_resources", "Resources not as the spec says at the last cycle", drifted.clone());
        let rebuilds = Family::<Outcome, Counter>::default();
        registry.register("rebuilds", "Rebuilds of failed clusters, by result (done, failed)", rebuilds.clone());
        let rebuild_seconds = Histogram::new(exponential_buckets(1.0, 2.0, 12));
        registry.register("rebuild_seconds", "Duration of a rebuild (lock, plan, steps)", rebuild_seconds.clone());
        let recovery_seconds = Histogram::new(exponential_buckets(1.0, 2.0, 12));
        registry.register(
            "recovery_seconds",
            "From a failed cluster noticed to its rebuild done (the new cluster WAITING)",
            recovery_seconds.clone(),
        );
        let leader = Gauge::default();
        registry.register("leader", "1 while this replica holds the lease (or runs without one)", leader.clone());
        let last_success = Gauge::default();
        registry.register(
            "last_success_timestamp_seconds",
            "When the last cycle read the stack successfully (Unix time)",
            last_success.clone(),
        );
        let aws_calls = Family::<Service, Counter>::default();
        registry.register(
            "aws_calls",
            "AWS API calls made by watch (reads, checks, the lease, its rebuilds and repairs), per service",
            aws_calls.clone(),
        );
        let aws_retries = Family::<Service, Counter>::default();
        registry.register(
            "aws_retries",
            "Requests sent again after a throttle or a transient error, per service",
            aws_retries.clone(),
        );
        let aws_throttles = Family::<Service, Counter>::default();
        registry.register(
            "aws_throttles",
            "Requests AWS answered with a throttling error (retried or not), per service",
            aws_throttles.clone(),
        );
        Telemetry {
            registry,
            cycles,
            drifted,
            rebuilds,
            rebuild_seconds,
            recovery_seconds,
            leader,
            last_success,
            aws_calls,
            aws_retries,
            aws_throttles,
            counted: Mutex::new(BTreeMap::new()),
            health: Mutex::new(Health::default()),
        }
    }

    pub(crate) fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
        self.health.lock().unwrap_or_else(PoisonError::into_inner).leader = leader;
    }

    pub(crate) fn cycle_succeeded(&self, drifted: usize) {
        let now = seconds_now();
        self.cycles.inc();
        self.drifted.set(i64::try_from(drifted).unwrap_or(i64::MAX));
        self.last_success.set(i64::try_from(now).unwrap_or(i64::MAX));
        self.health.lock().unwrap_or_else(PoisonError::into_inner).last_success = Some(now);
    }

    /// Adds what the AWS client counted since the last call: its reads,
    /// checks, rebuilds and repairs alike (they share one client).
    pub(crate) fn count_aws(&self, stats: &converge_aws::Stats) {
        let mut per_service: BTreeMap<String, Count> = BTreeMap::new();
        for ((service, _), count) in stats.snapshot() {
            let total = per_service.entry(service).or_default();
            total.calls += count.calls;
            total.attempts += count.attempts;
            total.throttles += count.throttles;
        }
        let mut counted = self.counted.lock().unwrap_or_else(PoisonError::into_inner);
        for (service, now) in per_service {
            let before = counted.insert(service.clone(), now).unwrap_or_default();
            let label = Service { service };
            let retries = |c: &Count| c.attempts.saturating_sub(c.calls);
            self.aws_calls.get_or_create(&label).inc_by(now.calls.saturating_sub(before.calls));
            self.aws_retries.get_or_create(&label).inc_by(retries(&now).saturating_sub(retries(&before)));
            self.aws_throttles.get_or_create(&label).inc_by(now.throttles.saturating_sub(before.throttles));
        }
    }

    fn encode(&self) -> anyhow::Result<String> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).context("cannot encode the metrics")?;
        Ok(text)
    }

    fn health_json(&self) -> serde_json::Value {
        let health = self.health.lock().unwrap_or_else(PoisonError::into_inner).clone();
        serde_json::json!({
            "role": if health.leader { "leader" } else { "standby" },
            "last_success": health.last_success,
            "seconds_since_last_success": health.last_success.map(|t| seconds_now().saturating_sub(t)),
        })
    }
}

/// Serves `/healthz` and `/metrics` on `addr` until the process ends; the bound address.
pub(crate) async fn serve(addr: SocketAddr, telemetry: Arc<Telemetry>) -> anyhow::Result<SocketAddr> {
    let listener =
        tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} (`--listen`)"))?;
    let bound = listener.local_addr().context("the listening address")?;
    let app = Router::new().route("/healthz", get(healthz)).route("/metrics", get(metrics)).with_state(telemetry);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(bound)
}

async fn healthz(State(telemetry): State<Arc<Telemetry>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], telemetry.health_json().to_string())
}

async fn metrics(State(telemetry): State<Arc<Telemetry>>) -> impl IntoResponse {
    match telemetry.encode() {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
            text,
        ),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/plain")], error.to_string()),
    }
}
