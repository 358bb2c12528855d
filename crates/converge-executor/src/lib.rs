//! The executor interface: what the apply engine asks of AWS, or of anything
//! that stands in for it.
//!
//! An [`Executor`] reads the live state of a stack and carries out one
//! [`Operation`] at a time: [`Executor::start`] makes the call, and when AWS
//! takes a while (a cluster starting, a domain being created) it answers
//! [`Outcome::Pending`]; the engine then calls [`Executor::poll`] after the
//! delay it asks for, never `start` again. Failures are [`ExecError`]s whose
//! [`ErrorClass`] is all the engine needs to decide on a retry.
//!
//! Implementations: `converge-memory` (an in-memory AWS for tests and
//! `converge simulate`) and the `aws` crate (the AWS SDK).
//!
//! **Architecture invariant:** no async runtime, no AWS SDK, no planner. The
//! futures are plain `std::future::Future`s; durations are data, never a
//! clock reading.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use converge_model::{Address, LiveState};
use converge_ops::Operation;

/// What an operation produced: the id of the resource it created, if any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub id: Option<String>,
}

impl Output {
    pub fn none() -> Output {
        Output { id: None }
    }

    pub fn id(id: impl Into<String>) -> Output {
        Output { id: Some(id.into()) }
    }
}

/// How far an operation got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done: AWS is in the state the operation asked for.
    Done(Output),
    /// Accepted, but AWS has not reached the state yet: poll after `poll_after`.
    Pending {
        /// What is known so far (a new cluster's id, before it runs).
        output: Output,
        /// The AWS state being waited for, for progress (`cluster j-… to be WAITING`).
        waiting_for: String,
        poll_after: Duration,
    },
}

/// What kind of failure, which is what decides a retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorClass {
    /// AWS asked to slow down (`Throttling`, `RequestLimitExceeded`).
    Throttled,
    /// A 5xx, a timeout or a dropped connection: the same call may succeed.
    Transient,
    /// The resource is busy or in use (`DependencyViolation`, `ResourceInUse`,
    /// a fleet still resizing): it may clear.
    Conflict,
    /// A role or instance profile created moments ago that another service
    /// cannot see yet (IAM is eventually consistent): it clears in a minute or two.
    Propagating,
    /// The resource is not there (it may be eventual consistency right after a create).
    NotFound,
    /// The credentials may not do this (`AccessDenied`, `UnauthorizedOperation`).
    Denied,
    /// AWS rejects the request itself (`ValidationException`, `InvalidParameterValue`).
    Invalid,
    /// The endpoint answered something that is not an AWS answer (an HTML
    /// page from a proxy, a 500 without an AWS error): tried a few times only.
    Unexpected,
    /// Anything else: do not retry.
    Fatal,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Throttled => "throttled",
            ErrorClass::Transient => "transient",
            ErrorClass::Conflict => "conflict",
            ErrorClass::Propagating => "propagating",
            ErrorClass::NotFound => "not found",
            ErrorClass::Denied => "denied",
            ErrorClass::Invalid => "invalid",
            ErrorClass::Unexpected => "unexpected answer",
            ErrorClass::Fatal => "fatal",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed AWS call, with where it happened and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{aws_operation} for `{address}` failed: {code}: {message}")]
pub struct ExecError {
    pub class: ErrorClass,
    /// The AWS API operation that failed (`AuthorizeSecurityGroupIngress`).
    pub aws_operation: &'static str,
    /// The resource of the spec the step works on.
    pub address: Address,
    /// AWS's error code (`InvalidPermission.Duplicate`).
    pub code: String,
    pub message: String,
    /// What to do about it, when the executor knows better than the class says.
    pub hint: Option<String>,
}

impl ExecError {
    pub fn new(
        class: ErrorClass,
        aws_operation: &'static str,
        address: &Address,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> ExecError {
        ExecError {
            class,
            aws_operation,
            address: address.clone(),
            code: code.into(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> ExecError {
        self.hint = Some(hint.into());
        self
    }

    /// What to do: the executor's hint, or one for the class.
    pub fn hint(&self) -> String {
        if let Some(hint) = &self.hint {
            return hint.clone();
        }
        match self.class {
            ErrorClass::Throttled | ErrorClass::Transient => {
                "AWS kept failing; run the command again: an apply continues from where this one stopped".into()
            }
            ErrorClass::Propagating => format!(
                "AWS still does not see a role or instance profile `{}` uses, minutes after it was created; check it exists, then run the command again",
                self.address
            ),
            ErrorClass::Unexpected => {
                "the endpoint kept answering something that is not AWS; check `--endpoint-url`, proxies and the network"
                    .into()
            }
            ErrorClass::Conflict => format!(
                "something else is changing `{}` or still uses it; wait for it, then run `converge plan` again",
                self.address
            ),
            ErrorClass::NotFound => format!(
                "`{}` changed outside converge while it applied; run `converge plan` again to see the state now",
                self.address
            ),
            ErrorClass::Denied => format!(
                "the credentials may not call {}; grant it (`converge iam-policy` prints what converge needs)",
                self.aws_operation
            ),
            ErrorClass::Invalid => format!("AWS rejects the request; check the spec of `{}`", self.address),
            ErrorClass::Fatal => "see AWS's message above".into(),
        }
    }
}

/// A token bucket AWS meters a kind of call with (EC2's per action, EMR's per
/// API): at most `burst` calls at once, then `refill` a second. Calls named
/// by the same `bucket` share it.
#[derive(Clone, Debug, PartialEq)]
pub struct Metered {
    pub bucket: String,
    pub burst: f64,
    pub refill: f64,
}

/// What to read ([`Scope`]) is the model's: the planner says it, the executor reads it.
pub use converge_model::{Claim, Scope};

/// Reads and changes AWS, one operation at a time.
///
/// `start` must not be called twice for one step: a retry after an error is
/// a new `start` (which must then be safe to repeat: a create that may have
/// happened looks for its resource first, or uses an idempotency token).
pub trait Executor: Sync {
    /// The live state of the stack's resources and of everything the scope names.
    fn read(&self, scope: &Scope) -> impl Future<Output = Result<LiveState, ExecError>> + Send;

    /// Makes the call (or calls) of one operation whose ids are all known.
    fn start(
        &self,
        address: &Address,
        operation: &Operation,
    ) -> impl Future<Output = Result<Outcome, ExecError>> + Send;

    /// Checks on an operation that answered [`Outcome::Pending`].
    fn poll(
        &self,
        address: &Address,
        operation: &Operation,
        progress: &Output,
    ) -> impl Future<Output = Result<Outcome, ExecError>> + Send;

    /// The token buckets the call that starts `operation` draws from, as
    /// this executor paces its calls; none when it does not. The engine uses
    /// them to start first what the most metered calls wait for.
    fn metered(&self, operation: &Operation) -> Vec<Metered> {
        let _ = operation;
        Vec::new()
    }
}
