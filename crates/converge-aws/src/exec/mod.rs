//! Operations through the SDK: one module per service, each turning an
//! [`Operation`] into its calls and, where AWS works in the background, into
//! [`Outcome::Pending`] and the polls that follow it.
//!
//! Every operation is safe to start again after a failure or a crash:
//! - creates look for the resource first, by converge's ownership tags (an
//!   interrupted apply may have made it), or treat "already exists" as
//!   success when the existing resource carries the same tags;
//! - deletes treat "not found" as done;
//! - adding what is there and removing what is not are no-ops.

mod catalog;
mod ec2;
pub(crate) mod emr;
mod iam;
mod sagemaker;
mod tags;

use aws_smithy_types::error::operation::BuildError;
use converge_executor::{ErrorClass, ExecError, Outcome, Output};
use converge_model::live::{OWNER_ADDRESS_TAG, OWNER_STACK_TAG, REPLACES_TAG};
use converge_model::{Address, Tags};
use converge_ops::{Id, Operation, TagOp};

use crate::Aws;

/// The addresses whose create a connection has sent, shared by its clients.
/// A create that has not been sent by this connection cannot have happened
/// since the plan's read, which ran under the stack's lock (or checked a
/// saved plan against AWS) and saw every resource of the stack: only a start
/// again after a lost answer or an error must look for what it may have
/// made. For EMR, whose RunJobFlow takes no idempotency token, that look is
/// a ListClusters of every active cluster (a page per 50), against a bucket
/// of 0.5 a second: looking on every first start made the creates of 500
/// clusters send thousands of them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sent(std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>);

impl Sent {
    /// Records that `address`'s create is being sent: true when it was sent before.
    pub(crate) fn again(&self, address: &Address) -> bool {
        let mut sent = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        !sent.insert(address.to_string())
    }
}

/// Where errors of one operation come from.
#[derive(Clone, Copy)]
pub(crate) struct Call<'a> {
    pub address: &'a Address,
    pub aws: &'a Aws,
}

impl Call<'_> {
    pub(crate) fn fail(
        &self,
        class: ErrorClass,
        operation: &'static str,
        code: &str,
        message: impl Into<String>,
    ) -> ExecError {
        ExecError::new(class, operation, self.address, code, message)
    }

    /// A request the SDK would not build (a required field missing): a bug in converge, never retried.
    pub(crate) fn built<T>(&self, operation: &'static str, result: Result<T, BuildError>) -> Result<T, ExecError> {
        result.map_err(|e| self.fail(ErrorClass::Fatal, operation, "RequestNotBuilt", e.to_string()))
    }

    /// The id a create call answered with. AWS always sends one; an answer
    /// without it is an error naming the call, never an empty id that later
    /// steps would use.
    pub(crate) fn created_id(&self, operation: &'static str, id: Option<&str>) -> Result<String, ExecError> {
        match id.filter(|id| !id.is_empty()) {
            Some(id) => Ok(id.to_owned()),
            None => Err(self
                .fail(ErrorClass::Fatal, operation, "MissingId", "AWS answered without the id of what it created")
                .with_hint(format!(
                    "apply again: converge finds what `{operation}` made by its tags; if this repeats, the endpoint is not AWS's (check `--endpoint-url`)"
                ))),
        }
    }

    /// Waiting for AWS: poll again after the client's interval.
    pub(crate) fn pending(&self, output: Output, waiting_for: impl Into<String>) -> Outcome {
        Outcome::Pending { output, waiting_for: waiting_for.into(), poll_after: self.aws.poll_interval }
    }

    /// Waiting for AWS, polled with `poll` (`(service, operation)`): again
    /// after the client's interval, or the interval at which AWS's published
    /// rate lets that call go on, whichever is longer (against AWS the first;
    /// against an emulator polled every 250 ms, polls would otherwise spend
    /// the burst the next read needs).
    pub(crate) fn pending_polled(
        &self,
        output: Output,
        waiting_for: impl Into<String>,
        (service, operation): (&str, &str),
    ) -> Outcome {
        let call = converge_rates::Call { service, operation, unfiltered: false, bucket: None };
        let sustained = self.aws.pacer.as_ref().map_or(std::time::Duration::ZERO, |pacer| pacer.sustained(&call));
        Outcome::Pending { output, waiting_for: waiting_for.into(), poll_after: self.aws.poll_interval.max(sustained) }
    }
}

pub(crate) fn known(id: &Id) -> &str {
    id.as_known().unwrap_or_default()
}

pub(crate) fn known_all(ids: &[Id]) -> Vec<String> {
    ids.iter().map(|id| known(id).to_owned()).collect()
}

/// converge's tags among `tags`: what tells one incarnation of a resource from another.
pub(crate) fn ownership(tags: &Tags) -> Tags {
    tags.iter().filter(|(k, _)| k.starts_with("converge:")).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// True when a live resource's tags show it is the one this create makes:
/// the same stack, address and replaced resource.
pub(crate) fn is_ours(live: &Tags, wanted: &Tags) -> bool {
    let (live, wanted) = (ownership(live), ownership(wanted));
    let key = |tags: &Tags, k: &str| tags.get(k).cloned();
    !wanted.is_empty()
        && [OWNER_STACK_TAG, OWNER_ADDRESS_TAG, REPLACES_TAG].iter().all(|k| key(&live, k) == key(&wanted, k))
}

/// The error for a name that a resource outside the stack holds.
pub(crate) fn taken(call: &Call<'_>, operation: &'static str, code: &str, what: &str) -> ExecError {
    call.fail(ErrorClass::Invalid, operation, code, format!("{what} already exists and is not this stack's")).with_hint(
        format!(
            "rename `{}` in the spec, or delete the existing one; converge never takes over what it did not create",
            call.address
        ),
    )
}

pub(crate) async fn start(aws: &Aws, address: &Address, operation: &Operation) -> Result<Outcome, ExecError> {
    let call = Call { address, aws: aws.for_steps() };
    if let Some(unresolved) = operation.ids().iter().find(|id| id.as_known().is_none()) {
        return Err(call.fail(
            ErrorClass::Fatal,
            operation.aws_operation(),
            "Unresolved",
            format!("the operation still names {unresolved}, the output of a step not run"),
        ));
    }
    match operation {
        Operation::Ec2(op) => ec2::start(&call, operation, op).await,
        Operation::Iam(op) => iam::start(&call, operation, op).await,
        Operation::Sagemaker(op) => sagemaker::start(&call, operation, op).await,
        // Templates are uploaded to S3 on the way to the product that uses them.
        Operation::Catalog(op) => catalog::start(&call, operation, op).await,
        Operation::Emr(op) => emr::start(&call, operation, op).await,
        Operation::Tags(TagOp::SetTags { target, set, remove }) => {
            tags::set(&call, target, set, remove).await.map(|()| Outcome::Done(Output::none()))
        }
    }
}

pub(crate) async fn poll(
    aws: &Aws,
    address: &Address,
    operation: &Operation,
    progress: &Output,
) -> Result<Outcome, ExecError> {
    let call = Call { address, aws: aws.for_steps() };
    match operation {
        Operation::Sagemaker(_) => sagemaker::poll(&call, operation, progress).await,
        Operation::Catalog(_) => catalog::poll(&call, operation, progress).await,
        Operation::Emr(_) => emr::poll(&call, operation, progress).await,
        Operation::Ec2(_) | Operation::Iam(_) | Operation::Tags(_) => Ok(Outcome::Done(progress.clone())),
    }
}
