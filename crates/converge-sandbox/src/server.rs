//! The HTTP server: routing by protocol, faults, the request log, persistence.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::context::{Ctx, lock};
use crate::error::ApiError;
use crate::faults::{self, Draws, Fault, FaultKind, Faults};
use crate::query::Params;
use crate::state::{RequestRecord, World};

/// How to run a sandbox.
#[derive(Clone, Debug)]
pub struct Config {
    /// The loopback port; 0 picks a free one.
    pub port: u16,
    /// The emulated account id (any signature is accepted).
    pub account: String,
    pub region: String,
    /// Multiplies AWS's typical durations of state changes (1 = real time).
    pub time_scale: f64,
    /// Keep the state in this file across restarts (written atomically).
    pub state_file: Option<PathBuf>,
    /// Faults active from the start.
    pub faults: Vec<Fault>,
    /// For this many seconds of AWS time after an IAM role is created, EMR
    /// does not see its instance profile yet (IAM is eventually consistent).
    pub iam_propagation_seconds: f64,
    /// Caps every page of every paginated call, whatever the client asks
    /// (AWS's own page sizes otherwise), so tests exercise pagination.
    pub page_size: Option<usize>,
    /// Seeds the draws of faults with a `rate`, so a run can be replayed.
    pub seed: u64,
    /// Throttle by AWS's published request rates (`converge_rates`), their
    /// bursts and refills multiplied by this (1 = AWS's own); `None`: never
    /// throttle by rate. Not scaled by `time_scale`: AWS's rates are per
    /// second of real time.
    pub rate_limits: Option<f64>,
    /// A request whose signature's time stamp (`X-Amz-Date`) is older than
    /// this many seconds when it arrives is refused, as AWS refuses it after
    /// five minutes (`signature.rs`); tests make it short to catch a client
    /// that signs a request before holding it back.
    pub signature_expiry_seconds: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 0,
            account: "123456789012".into(),
            region: "us-east-1".into(),
            time_scale: 0.01,
            state_file: None,
            faults: Vec::new(),
            iam_propagation_seconds: 8.0,
            page_size: None,
            seed: 0x5eed,
            rate_limits: None,
            signature_expiry_seconds: 300.0,
        }
    }
}

/// Why a sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on 127.0.0.1:{port}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the state file `{}`", path.display())]
    ReadState {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the state file `{}` is not a sandbox state", path.display())]
    BadState {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) world: Mutex<World>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) log: Mutex<Vec<RequestRecord>>,
    /// The token buckets of AWS's published rates, by `converge_rates` key.
    limits: Mutex<crate::limits::Limits>,
    requests: AtomicU64,
    persist: Mutex<()>,
    /// Something may have taken a rule from a group EMR manages (an EC2
    /// change, the admin API, a seed) since `emr::maintain_rules` last looked.
    rules_changed: AtomicBool,
}

impl Shared {
    /// What the admin API may read and change.
    fn admin<'a>(
        &'a self,
        play: &'a dyn Fn(&crate::emr::ClusterEvent) -> Result<(), String>,
    ) -> crate::admin::Admin<'a> {
        crate::admin::Admin {
            account: &self.config.account,
            region: &self.config.region,
            world: &self.world,
            faults: &self.faults,
            log: &self.log,
            play,
        }
    }

    fn new(config: Config, world: World) -> Arc<Shared> {
        Arc::new(Shared {
            faults: Mutex::new(Faults { rules: config.faults.clone(), draws: Draws::new(config.seed) }),
            limits: Mutex::new(crate::limits::Limits::new(config.rate_limits)),
            config,
            world: Mutex::new(world),
            log: Mutex::new(Vec::new()),
            requests: AtomicU64::new(0),
            persist: Mutex::new(()),
            rules_changed: AtomicBool::new(true),
        })
    }
}

/// A sandbox without a socket: each request is handed to the same routing,
/// protocol parsers and services as over HTTP. For fuzzing the request
/// parsers (`fuzz/`), where a loopback round trip per input would be the
/// whole cost. Faults apply as configured; a `latency` fault needs a tokio runtime.
pub struct Offline {
    shared: Arc<Shared>,
}

impl Offline {
    /// An empty account (no state file is read or written).
    pub fn new(config: Config) -> Offline {
        Offline { shared: Shared::new(Config { state_file: None, ..config }, World::default()) }
    }

    /// Creates what a spec reads but does not manage, as [`Sandbox::seed`].
    pub fn seed(&self, seed: &crate::seed::Seed) {
        crate::seed::apply(&mut lock(&self.shared.world), seed, &self.shared.config.region);
        self.shared.rules_changed.store(true, Ordering::Relaxed);
    }

    /// Serves one request: the response's status and body. `uri` is a path
    /// and query (`/bucket/key?x-id=GetObject`); an unparsable one is a 400.
    pub async fn request(&self, method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
        let (Ok(method), Ok(uri)) = (Method::from_bytes(method.as_bytes()), uri.parse::<Uri>()) else {
            return (400, Vec::new());
        };
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            if let (Ok(name), Ok(value)) =
                (header::HeaderName::from_bytes(name.as_bytes()), header::HeaderValue::from_str(value))
            {
                map.append(name, value);
            }
        }
        let response = handle(State(Arc::clone(&self.shared)), method, uri, map, Bytes::copy_from_slice(body)).await;
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.map(|b| b.to_vec()).unwrap_or_default();
        (status, body)
    }

    /// Every request served so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.log).clone()
    }
}

/// A running sandbox.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Sandbox {
    /// Binds 127.0.0.1:`port` and serves until [`Sandbox::stop`].
    pub async fn start(config: Config) -> Result<Sandbox, SandboxError> {
        if let Some(path) = &config.state_file {
            remove_stale_temporaries(path);
        }
        let world = match &config.state_file {
            Some(path) if path.exists() => load_state(path)?,
            _ => World::default(),
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
            .await
            .map_err(|source| SandboxError::Bind { port: config.port, source })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind { port: config.port, source })?;
        let shared = Shared::new(config, world);
        let app = Router::new().fallback(handle).with_state(Arc::clone(&shared));
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = signal.await;
                })
                .await;
        });
        Ok(Sandbox { addr, shared, shutdown: Some(shutdown), task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL` or an SDK's `endpoint_url`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.log).clone()
    }

    /// Replaces the active faults.
    pub fn set_faults(&self, faults: Vec<Fault>) {
        lock(&self.shared.faults).rules = faults;
    }

    /// The whole emulated account, as `GET /_sandbox/state` returns it.
    pub fn state(&self) -> serde_json::Value {
        serde_json::to_value(&*lock(&self.shared.world)).unwrap_or_default()
    }

    /// Plays out what happens to a cluster outside converge: managed scaling
    /// moving a fleet's capacity, a failure, Spot instances reclaimed.
    pub fn cluster_event(&self, event: &crate::emr::ClusterEvent) -> Result<(), String> {
        self.shared.play(event)
    }

    /// Creates what a spec expects to exist already (its VPCs and buckets), as given.
    pub fn seed(&self, seed: &crate::seed::Seed) {
        crate::seed::apply(&mut lock(&self.shared.world), seed, &self.shared.config.region);
        self.shared.rules_changed.store(true, Ordering::Relaxed);
        self.shared.persist();
    }

    /// Serves until the process is interrupted (Ctrl-C) or the server fails.
    pub async fn serve_until_interrupted(mut self) {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = &mut self.task => return,
        }
        self.stop().await;
    }

    /// Stops accepting requests and waits for the server to finish.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Temporary files a killed sandbox left beside the state file (the state itself is intact).
fn remove_stale_temporaries(path: &Path) {
    let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else { return };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let prefix = format!(".{file_name}.");
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn load_state(path: &Path) -> Result<World, SandboxError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| SandboxError::ReadState { path: path.to_owned(), source })?;
    serde_json::from_str(&text).map_err(|source| SandboxError::BadState { path: path.to_owned(), source })
}

/// Writes the state next to the file, syncs it, then renames it over the file:
/// a reader (or a restart after a crash) sees the old state or the new one, never half of one.
fn save_state(path: &Path, world: &World, sequence: u64) -> std::io::Result<()> {
    use std::io::Write as _;
    let text = serde_json::to_vec_pretty(world).map_err(std::io::Error::other)?;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("sandbox-state.json");
    let temporary = path.with_file_name(format!(".{file_name}.{}.{sequence}.tmp", std::process::id()));
    {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&text)?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

impl Shared {
    fn now_ms(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// The error a request gets when its signature is too old (`signature.rs`).
    fn expired(&self, headers: &HeaderMap, service: &str) -> Option<ApiError> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        crate::signature::expired(headers, service, self.config.signature_expiry_seconds, now)
    }

    /// What a service handler sees of this request.
    fn context<'a>(&'a self, now_ms: u64, request_id: &'a str, endpoint: &'a str) -> Ctx<'a> {
        Ctx {
            account: &self.config.account,
            region: &self.config.region,
            now: now_ms / 1000,
            now_ms,
            time_scale: self.config.time_scale,
            request_id,
            endpoint,
            page_size: self.config.page_size,
            iam_propagation: self.config.iam_propagation_seconds,
        }
    }

    /// Plays out an event outside the API, now, and keeps the state.
    pub(crate) fn play(&self, event: &crate::emr::ClusterEvent) -> Result<(), String> {
        let now_ms = self.now_ms();
        let endpoint = String::new();
        let ctx = self.context(now_ms, "admin", &endpoint);
        crate::emr::play(&mut lock(&self.world), &ctx, event)?;
        self.rules_changed.store(true, Ordering::Relaxed);
        self.persist();
        Ok(())
    }

    fn request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        format!("00000000-0000-4000-8000-{n:012x}")
    }

    fn persist(&self) {
        let Some(path) = &self.config.state_file else { return };
        let _writer = lock(&self.persist);
        let world = lock(&self.world).clone();
        let sequence = self.requests.load(Ordering::Relaxed);
        if let Err(error) = save_state(path, &world, sequence) {
            #[expect(clippy::print_stderr, reason = "the sandbox has no other channel to report a failed write")]
            {
                eprintln!("sandbox: cannot write the state file `{}`: {error}", path.display());
            }
        }
    }
}

/// `http://<Host>`: how the client reached the sandbox, for URLs that point back at it.
fn endpoint_of(headers: &HeaderMap) -> String {
    format!("http://{}", headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1"))
}

/// Which protocol and service a request is for.
enum Route {
    Query { service: &'static str, operation: String, params: Params },
    Json { service: String, operation: String },
    S3,
    Unknown,
}

fn route(method: &Method, headers: &HeaderMap, body: &[u8]) -> Route {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (prefix, operation) = target.split_once('.').unwrap_or((target, ""));
        let service = match prefix {
            "ElasticMapReduce" => "emr",
            "SageMaker" => "sagemaker",
            "AWS242ServiceCatalogService" => "servicecatalog",
            other => other,
        };
        return Route::Json { service: service.to_owned(), operation: operation.to_owned() };
    }
    if method == Method::POST {
        let params = Params::parse(body);
        if let Some(operation) = params.get("Action").map(str::to_owned) {
            let scope = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|auth| auth.split("Credential=").nth(1))
                .and_then(|credential| credential.split('/').nth(3))
                .unwrap_or_default()
                .to_owned();
            let service = match (params.get("Version"), scope.as_str()) {
                (Some("2016-11-15"), _) | (None, "ec2") => "ec2",
                (Some("2010-05-08"), _) | (None, "iam") => "iam",
                (Some("2011-06-15"), _) | (None, "sts") => "sts",
                _ => return Route::Unknown,
            };
            return Route::Query { service, operation, params };
        }
    }
    if matches!(*method, Method::PUT | Method::GET | Method::HEAD | Method::DELETE) {
        return Route::S3;
    }
    Route::Unknown
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if uri.path().starts_with("/_sandbox") {
        shared.rules_changed.store(true, Ordering::Relaxed);
        return {
            let play = |event: &crate::emr::ClusterEvent| shared.play(event);
            crate::admin::handle(&shared.admin(&play), &method, uri.path(), &body)
        };
    }
    let started = Instant::now();
    let request_id = shared.request_id();
    let (service, operation, params) = match route(&method, &headers, &body) {
        Route::Query { service, operation, params } => (service.to_owned(), operation, Some(params)),
        Route::Json { service, operation } => (service, operation, None),
        Route::S3 => return handle_s3(&shared, &method, &uri, &headers, &body, &request_id, started).await,
        Route::Unknown => {
            let error = ApiError::bad_request("UnknownOperation", format!("the sandbox does not serve {method} {uri}"));
            let unknown =
                converge_rates::Call { service: "unknown", operation: "unknown", unfiltered: false, bucket: None };
            return respond(&shared, &unknown, &request_id, Err(error), started, false);
        }
    };
    let unfiltered = params.as_ref().is_some_and(crate::limits::unfiltered);
    let call = converge_rates::Call { service: &service, operation: &operation, unfiltered, bucket: None };
    if let Some(error) = shared.expired(&headers, &service) {
        return respond(&shared, &call, &request_id, Err(error), started, false);
    }
    let (injected, lose) = match inject(&shared, &call, &request_id, started).await {
        Injected::Answer(response) => return response,
        Injected::Proceed { injected } => (injected, false),
        Injected::ProceedThenDrop => (true, true),
    };
    if let Some(error) = lock(&shared.limits).throttle(&call) {
        return respond(&shared, &call, &request_id, Err(error), started, false);
    }
    let endpoint = endpoint_of(&headers);
    let result = {
        let mut world = lock(&shared.world);
        let now_ms = shared.now_ms();
        crate::sagemaker::advance(&mut world, now_ms);
        // EMR's rules go missing only through a change to EC2 (or by hand through the admin
        // API): the groups are looked at again after one, and while a rule waits to come back.
        if shared.rules_changed.swap(false, Ordering::Relaxed) || !world.ec2.readd.is_empty() {
            crate::emr::maintain_rules(&mut world, now_ms, shared.config.time_scale);
        }
        let ctx = shared.context(now_ms, &request_id, &endpoint);
        let json_input = || crate::model::json_body(&body);
        let to_text = |value: serde_json::Value| value.to_string();
        // Every request is first held against its operation's model, as AWS's front ends do.
        let checked_json =
            || json_input().and_then(|input| crate::model::check_json(&service, &operation, &input).map(|()| input));
        let checked = |params: &Params| crate::model::check_query(&service, &operation, params);
        match (service.as_str(), &params) {
            ("ec2", Some(params)) => {
                if crate::state::may_change(&operation) {
                    shared.rules_changed.store(true, Ordering::Relaxed);
                }
                checked(params).and_then(|()| crate::ec2::handle(&mut world, &ctx, &operation, params))
            }
            ("iam", Some(params)) => {
                checked(params).and_then(|()| crate::iam::handle(&mut world, &ctx, &operation, params))
            }
            ("sts", Some(params)) => checked(params).and_then(|()| crate::sts::handle(&ctx, &operation, params)),
            ("emr", None) => checked_json()
                .and_then(|input| {
                    crate::emr::handle(&mut world, &ctx, &operation, &input, shared.config.iam_propagation_seconds)
                })
                .map(to_text),
            ("sagemaker", None) => checked_json()
                .and_then(|input| crate::sagemaker::handle(&mut world, &ctx, &operation, &input))
                .map(to_text),
            ("servicecatalog", None) => checked_json()
                .and_then(|input| crate::catalog::handle(&mut world, &ctx, &operation, &input))
                .map(to_text),
            _ => {
                Err(ApiError::bad_request("UnknownOperationException", format!("the sandbox does not serve {service}")))
            }
        }
    };
    if result.is_ok() && crate::state::may_change(&operation) {
        shared.persist();
    }
    if lose {
        let error = Some(format!("ResponseLost({})", result.as_ref().err().map_or("done", |e| e.code.as_str())));
        record(&shared, &call, 0, error, started, true);
        return dropped();
    }
    respond(&shared, &call, &request_id, result, started, injected)
}

/// A response whose body fails at once: the client sees the connection break.
fn dropped() -> Response {
    let error = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "fault: dropped connection");
    let body = Body::from_stream(futures_util::stream::iter([Err::<Bytes, std::io::Error>(error)]));
    Response::builder().status(StatusCode::OK).body(body).unwrap_or_default()
}

async fn handle_s3(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    request_id: &str,
    started: Instant,
) -> Response {
    let probe = uri.path().trim_start_matches('/');
    let guess = match (method.as_str(), probe.trim_end_matches('/').contains('/')) {
        ("PUT", false) => "CreateBucket",
        ("GET", false) => "ListObjectsV2",
        ("PUT", true) => "PutObject",
        ("GET", true) => "GetObject",
        ("HEAD", true) => "HeadObject",
        _ => "DeleteObject",
    };
    let bucket = probe.split('/').next().filter(|b| !b.is_empty());
    let call = converge_rates::Call { service: "s3", operation: guess, unfiltered: false, bucket };
    if let Some(error) = shared.expired(headers, "s3") {
        return respond(shared, &call, request_id, Err(error), started, false);
    }
    let (injected, lose) = match inject(shared, &call, request_id, started).await {
        Injected::Answer(response) => return response,
        Injected::Proceed { injected } => (injected, false),
        Injected::ProceedThenDrop => (true, true),
    };
    if let Some(error) = lock(&shared.limits).throttle(&call) {
        return respond(shared, &call, request_id, Err(error), started, false);
    }
    let endpoint = endpoint_of(headers);
    let (operation, response) = {
        let mut world = lock(&shared.world);
        let now_ms = shared.now_ms();
        let ctx = shared.context(now_ms, request_id, &endpoint);
        match crate::model::check_s3_headers(guess, headers) {
            Ok(()) => crate::s3::handle(&mut world, &ctx, method, uri.path(), uri.query().unwrap_or(""), headers, body),
            Err(error) => (guess.to_owned(), crate::s3::error_response(&error, request_id)),
        }
    };
    let error = (response.status >= 300).then(|| {
        let text = String::from_utf8_lossy(&response.body);
        text.split("<Code>").nth(1).and_then(|r| r.split("</Code>").next()).unwrap_or("Error").to_owned()
    });
    if error.is_none() && matches!(*method, Method::PUT | Method::DELETE) {
        shared.persist();
    }
    let call = converge_rates::Call { operation: &operation, ..call };
    if lose {
        record(shared, &call, 0, Some("ResponseLost".into()), started, true);
        return dropped();
    }
    record(shared, &call, response.status, error, started, injected);
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("x-amz-request-id", request_id);
    if !response.body.is_empty() && *method != Method::HEAD {
        let content_type = if operation == "GetObject" { "application/octet-stream" } else { "application/xml" };
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    for (name, value) in response.headers {
        builder = builder.header(name, value);
    }
    let body = if *method == Method::HEAD { Body::empty() } else { Body::from(response.body) };
    builder.body(body).unwrap_or_default()
}

/// What an injected fault makes of a request.
enum Injected {
    /// Serve it (after any injected latency); `injected` says whether a fault applied.
    Proceed { injected: bool },
    /// Carry it out, then break the connection instead of answering.
    ProceedThenDrop,
    /// Answer with this instead: the fault's error, or a broken connection.
    Answer(Response),
}

/// Applies the first fault rule matching the request, the same way for every protocol.
async fn inject(shared: &Shared, call: &converge_rates::Call<'_>, request_id: &str, started: Instant) -> Injected {
    let fault = faults::take(&mut lock(&shared.faults), call.service, call.operation);
    let Some(fault) = fault else { return Injected::Proceed { injected: false } };
    if let Some(error) = faults::error(call.service, fault.kind) {
        return Injected::Answer(respond(shared, call, request_id, Err(error), started, true));
    }
    match fault.kind {
        FaultKind::Drop => {
            record(shared, call, 0, Some("ConnectionDropped".into()), started, true);
            return Injected::Answer(dropped());
        }
        FaultKind::LoseResponse => return Injected::ProceedThenDrop,
        FaultKind::Html => {
            record(shared, call, 500, Some("HtmlPage".into()), started, true);
            let page = "<html><head><title>500 Internal Server Error</title></head><body><center><h1>500 Internal Server Error</h1></center></body></html>";
            return Injected::Answer(
                Response::builder()
                    .status(StatusCode::INTERNAL_SERVER_ERROR)
                    .header(header::CONTENT_TYPE, "text/html")
                    .body(Body::from(page))
                    .unwrap_or_default(),
            );
        }
        _ => {}
    }
    tokio::time::sleep(std::time::Duration::from_millis(fault.latency_ms.unwrap_or(1000))).await;
    Injected::Proceed { injected: true }
}

fn record(
    shared: &Shared,
    call: &converge_rates::Call<'_>,
    status: u16,
    error: Option<String>,
    started: Instant,
    injected: bool,
) {
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    lock(&shared.log).push(RequestRecord {
        service: call.service.to_owned(),
        operation: call.operation.to_owned(),
        status,
        error,
        latency_ms,
        injected,
        unfiltered: call.unfiltered,
        bucket: call.bucket.map(str::to_owned),
    });
}

fn respond(
    shared: &Shared,
    call: &converge_rates::Call<'_>,
    request_id: &str,
    result: Result<String, ApiError>,
    started: Instant,
    injected: bool,
) -> Response {
    let service = call.service;
    let json = !matches!(service, "ec2" | "iam" | "sts" | "s3" | "unknown");
    let (status, body, error) = match result {
        Ok(body) => (200, body, None),
        Err(error) => {
            let body = match service {
                "ec2" | "unknown" => error.ec2_body(request_id),
                "iam" | "sts" => error.query_body(request_id),
                "s3" => error.s3_body(request_id),
                _ => error.json_body(),
            };
            (error.status, body, Some(error.code))
        }
    };
    record(shared, call, status, error.clone(), started, injected);
    let (content_type, request_id_header) = match service {
        "s3" => ("application/xml", "x-amz-request-id"),
        _ if json => ("application/x-amz-json-1.1", "x-amzn-requestid"),
        _ => ("text/xml", "x-amzn-requestid"),
    };
    let mut response = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, content_type)
        .header(request_id_header, request_id)
        .body(Body::from(body))
        .unwrap_or_default();
    if let (true, Some(code)) = (json, error)
        && let Ok(value) = HeaderValue::from_str(&code)
    {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}
