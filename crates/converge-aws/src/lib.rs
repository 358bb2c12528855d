//! converge's AWS layer: the [`Executor`] that reads a stack's live state and
//! carries out operations through the AWS SDK.
//!
//! [`Aws::connect`] loads the standard configuration (environment, shared
//! profiles, SSO, IMDS; `--profile`, `--region`), honours `AWS_ENDPOINT_URL`
//! and `AWS_ENDPOINT_URL_<SERVICE>` (with an endpoint override, S3 uses
//! path-style addressing, so the environment `converge sandbox` prints is all
//! it takes). Every call is paced by AWS's published request rates
//! (`pacing.rs`, [`Pace`]), so a run meets no throttling of its own making.
//! Reads retry in the SDK (standard mode, 5 attempts: a read is safe
//! to send twice); the clients of the executor's steps do not retry at all,
//! so that every retry of a step is the engine's, bounded by its one policy,
//! and goes through the step's look-first start (an SDK retry of a create
//! whose answer was lost would create a second resource). Every client counts its calls
//! ([`Stats`]). [`Aws::guard_account`] refuses another account before any
//! other call. Reading is in `read/`, operations in `exec/`: SDK types become
//! the model's types and SDK errors become classified [`ExecError`]s here,
//! and nowhere else.
//!
//! **Architecture invariant:** the only crate that links `aws-config` and
//! `aws-sdk-*` (besides the CLI and tests); it knows operations, not plans or
//! their order (`scripts/check-layers`).

mod errors;
mod exec;
mod lock;
mod pacing;
mod read;
mod stats;

use aws_config::BehaviorVersion;
use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_smithy_runtime_api::client::identity::SharedIdentityCache;
use converge_executor::{ErrorClass, ExecError, Executor, Metered, Outcome, Output, Scope};
use converge_model::{Address, Kind, LiveState};
use converge_ops::{Operation, Service};

pub use lock::LockStoreError;
pub use pacing::Pacer;
pub use stats::{Count, Stats, is_read_only};

/// The SDK's retries of reads: at most 5 attempts with its exponential
/// back-off (at most 20 s apart). Standard, not adaptive: converge paces
/// itself by AWS's published rates ([`Pace`]); the adaptive mode's client
/// limiter, after one throttle, held a client that sends little for up to 20 s.
fn read_retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(5)
}

/// How converge paces its calls.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// By AWS's published request rates (`converge_rates`), their bursts and
    /// refills times this factor: 1 for AWS's defaults, more after a quota increase.
    Published(f64),
    /// Not at all: as fast as the answers come (benches without limits).
    Off,
}

impl Default for Pace {
    fn default() -> Self {
        Pace::Published(1.0)
    }
}

/// How often background work is polled against AWS (EMR's own waiters poll every 30 s).
pub const DEFAULT_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);
/// How often background work is polled behind an endpoint override (the sandbox, LocalStack).
pub const EMULATOR_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// Where and as whom to connect; unset fields come from the environment and profiles.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// An endpoint for every service (tests; users set `AWS_ENDPOINT_URL`).
    pub endpoint_url: Option<String>,
    /// An access key id and secret to use instead of the credential chain
    /// (the sandbox, which accepts any; never real keys on a command line).
    pub static_keys: Option<(String, String)>,
    /// How to pace the calls (AWS's published rates by default).
    pub pace: Pace,
}

impl Options {
    /// Everything pointed at a sandbox at `endpoint`.
    pub fn sandbox(endpoint: &str, region: &str) -> Options {
        Options {
            profile: None,
            region: Some(region.to_owned()),
            endpoint_url: Some(endpoint.to_owned()),
            static_keys: Some(("sandbox".to_owned(), "sandbox".to_owned())),
            pace: Pace::default(),
        }
    }
}

/// Why converge cannot talk to AWS at all.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no AWS region is configured")]
    NoRegion,
}

impl ConnectError {
    pub fn hint(&self) -> &'static str {
        match self {
            ConnectError::NoRegion => "pass `--region`, or set `AWS_REGION` or a profile's `region`",
        }
    }
}

/// The account converge is connected to is not the spec's.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("the credentials are for AWS account {actual}, but the spec's stack is in account {expected}")]
    Mismatch { expected: String, actual: String },
    #[error("cannot tell which AWS account the credentials are for")]
    Unknown(#[source] ExecError),
    /// No source of the credential chain gave credentials: `tried` is the
    /// chain's own account of each source (environment, profile, web
    /// identity, ECS container, EC2 instance role) and why it had none.
    #[error("no AWS credentials (profile `{profile}`): {tried}")]
    NoCredentials { profile: String, tried: String },
    /// AWS refused the credentials it was given (expired, revoked, another partition's).
    #[error("AWS refuses the credentials: {0}")]
    Refused(#[source] ExecError),
}

impl AccountError {
    pub fn hint(&self) -> String {
        match self {
            AccountError::Mismatch { expected, .. } => {
                format!(
                    "use credentials of account {expected} (`--profile`), or fix `[stack].account`; converge never touches another account"
                )
            }
            AccountError::Unknown(error) => error.hint(),
            AccountError::NoCredentials { .. } => "set `AWS_PROFILE` (or pass `--profile`) to a profile with credentials, run `aws sso login --profile NAME` for an SSO profile, or export `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`".into(),
            AccountError::Refused(_) => errors::CREDENTIALS_HINT.into(),
        }
    }
}

/// Clients for every service converge uses, sharing one configuration and one [`Stats`].
#[derive(Clone, Debug)]
pub struct Aws {
    /// The profile asked for (`--profile`), to name it in errors.
    profile: Option<String>,
    /// The credential chain (or the given keys), asked again only to explain a failure.
    credentials: Option<aws_sdk_sts::config::SharedCredentialsProvider>,
    /// The same clients without SDK retries, for the executor's steps (the
    /// engine retries them); `None` in that copy itself.
    steps: Option<Box<Aws>>,
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) emr: aws_sdk_emr::Client,
    pub(crate) sagemaker: aws_sdk_sagemaker::Client,
    pub(crate) catalog: aws_sdk_servicecatalog::Client,
    pub(crate) s3: aws_sdk_s3::Client,
    pub(crate) sts: aws_sdk_sts::Client,
    region: String,
    stats: Stats,
    /// How long to wait between polls of work AWS does in the background.
    pub(crate) poll_interval: std::time::Duration,
    /// The calls' pacing by AWS's published rates (`None`: off).
    pub(crate) pacer: Option<Pacer>,
    /// The addresses whose create this connection has sent (`exec::Sent`).
    pub(crate) sent: exec::Sent,
}

impl Aws {
    pub async fn connect(options: &Options) -> Result<Aws, ConnectError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(read_retries());
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &options.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(endpoint) = &options.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some((key, secret)) = &options.static_keys {
            loader =
                loader.credentials_provider(aws_sdk_sts::config::Credentials::new(key, secret, None, None, "converge"));
        }
        let sdk = loader.load().await;
        let region = sdk.region().ok_or(ConnectError::NoRegion)?.to_string();
        let stats = Stats::default();
        // Behind an endpoint override (the sandbox, LocalStack, a proxy) buckets are not DNS names,
        // and emulators finish background work in seconds: poll them often.
        let overridden = sdk.endpoint_url().is_some();
        let path_style = overridden || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let poll_interval = if overridden { EMULATOR_POLL_INTERVAL } else { DEFAULT_POLL_INTERVAL };
        // One pacer for every client of this connection: AWS's buckets are per account and region.
        let pacer = match options.pace {
            Pace::Off => None,
            Pace::Published(scale) => Some(Pacer::new(scale)),
        };
        // The pacer waits in the identity cache, before each attempt is signed (pacing.rs says why).
        let paced = pacer.as_ref().map(|pacer| {
            let inner = sdk.identity_cache().unwrap_or_else(|| IdentityCache::lazy().build());
            SharedIdentityCache::new(pacing::PacedIdentity { inner, pacer: pacer.clone() })
        });
        let sent = exec::Sent::default();
        let clients = |retries: RetryConfig, steps: Option<Box<Aws>>| {
            macro_rules! client {
                ($sdk_crate:ident $(, $extra:ident($value:expr))?) => {{
                    let mut builder = $sdk_crate::config::Builder::from(&sdk)
                        .retry_config(retries.clone())
                        .interceptor(stats.interceptor())
                        .interceptor(pacing::Namer { pacer: pacer.clone() })
                        $(.$extra($value))?;
                    if let Some(paced) = &paced {
                        builder = builder.identity_cache(paced.clone());
                    }
                    $sdk_crate::Client::from_conf(builder.build())
                }};
            }
            Aws {
                profile: options.profile.clone(),
                credentials: sdk.credentials_provider(),
                steps,
                ec2: client!(aws_sdk_ec2),
                iam: client!(aws_sdk_iam),
                emr: client!(aws_sdk_emr),
                sagemaker: client!(aws_sdk_sagemaker),
                catalog: client!(aws_sdk_servicecatalog),
                s3: client!(aws_sdk_s3, force_path_style(path_style)),
                sts: client!(aws_sdk_sts),
                region: region.clone(),
                stats: stats.clone(),
                poll_interval,
                pacer: pacer.clone(),
                sent: sent.clone(),
            }
        };
        let steps = clients(RetryConfig::disabled(), None);
        Ok(clients(read_retries(), Some(Box::new(steps))))
    }

    /// The clients the executor's steps call through: without SDK retries.
    pub(crate) fn for_steps(&self) -> &Aws {
        self.steps.as_deref().unwrap_or(self)
    }

    /// Polls background work (a cluster starting) every `interval` instead of
    /// every [`DEFAULT_POLL_INTERVAL`]: the sandbox, whose time runs faster, needs less.
    pub fn with_poll_interval(mut self, interval: std::time::Duration) -> Aws {
        self.poll_interval = interval;
        self.steps = self.steps.map(|steps| Box::new(steps.with_poll_interval(interval)));
        self
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// The calls made so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The ids of the EMR clusters of the region that are starting, running,
    /// waiting or terminating (one `ListClusters`): a cluster of the stack
    /// missing from it has ended, which `converge watch` checks between reads.
    pub async fn active_cluster_ids(&self) -> Result<std::collections::BTreeSet<String>, ExecError> {
        read::emr::active_ids(self).await
    }

    /// The account the credentials belong to (STS GetCallerIdentity).
    pub async fn account(&self) -> Result<String, ExecError> {
        let address = Address::new(Kind::Vpc, "*");
        let identity = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| errors::exec_error(e, "GetCallerIdentity", &address))?;
        identity.account().map(str::to_owned).ok_or_else(|| {
            ExecError::new(ErrorClass::Fatal, "GetCallerIdentity", &address, "NoAccount", "STS named no account")
        })
    }

    /// Refuses, before any other call, credentials of another account than
    /// `expected`, and says which sources of credentials were tried when
    /// there are none (the first call is where a missing credential shows).
    pub async fn guard_account(&self, expected: &str) -> Result<(), AccountError> {
        let actual = match self.account().await {
            Ok(actual) => actual,
            Err(error) if error.code == "NetworkError" || error.code == "NoCredentials" => {
                return Err(self.missing_credentials().await.unwrap_or(AccountError::Unknown(error)));
            }
            Err(error) if error.hint.as_deref() == Some(errors::CREDENTIALS_HINT) => {
                return Err(AccountError::Refused(error));
            }
            Err(error) => return Err(AccountError::Unknown(error)),
        };
        if actual == expected { Ok(()) } else { Err(AccountError::Mismatch { expected: expected.to_owned(), actual }) }
    }

    /// After a call that never reached AWS: `NoCredentials` when the chain
    /// has none to give (then the call failed for that reason, not the network).
    async fn missing_credentials(&self) -> Option<AccountError> {
        use aws_sdk_sts::config::ProvideCredentials;
        let provider = self.credentials.as_ref()?;
        let error = provider.provide_credentials().await.err()?;
        let profile =
            self.profile.clone().or_else(|| std::env::var("AWS_PROFILE").ok()).unwrap_or_else(|| "default".into());
        // The chain's own words, source by source, without its debug dump.
        let mut tried = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            tried.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        Some(AccountError::NoCredentials { profile, tried })
    }
}

impl Executor for Aws {
    fn read(&self, scope: &Scope) -> impl Future<Output = Result<LiveState, ExecError>> + Send {
        read::read(self, scope)
    }

    fn start(
        &self,
        address: &Address,
        operation: &Operation,
    ) -> impl Future<Output = Result<Outcome, ExecError>> + Send {
        exec::start(self, address, operation)
    }

    fn poll(
        &self,
        address: &Address,
        operation: &Operation,
        progress: &Output,
    ) -> impl Future<Output = Result<Outcome, ExecError>> + Send {
        exec::poll(self, address, operation, progress)
    }

    fn metered(&self, operation: &Operation) -> Vec<Metered> {
        let Some(pacer) = &self.pacer else { return Vec::new() };
        let service = match operation.service() {
            Service::Ec2 => "ec2",
            Service::Iam => "iam",
            Service::Sagemaker => "sagemaker",
            Service::ServiceCatalog => "servicecatalog",
            Service::S3 => "s3",
            Service::Emr => "emr",
        };
        pacer.metered(&converge_rates::Call {
            service,
            operation: operation.aws_operation(),
            unfiltered: false,
            bucket: None,
        })
    }
}
