//! SDK errors to [`ExecError`]s: AWS's error code decides the class the
//! engine's retry policy acts on.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use converge_executor::{ErrorClass, ExecError};
use converge_model::Address;

const THROTTLED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
    "EC2ThrottledException",
    "PriorRequestNotComplete",
];

/// A quota, not a rate: Service Catalog's `LimitExceededException` (too many
/// portfolios, products, constraints), IAM's `LimitExceeded`, SageMaker's
/// `ResourceLimitExceeded`. Waiting does not clear them.
const QUOTA: &[&str] = &["LimitExceededException", "LimitExceeded", "ResourceLimitExceeded"];

const TRANSIENT: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServerException",
    "InternalServiceError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "Unavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];

const DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "AuthFailure",
    "SignatureDoesNotMatch",
    "NotAuthorized",
    "OptInRequired",
];

const CONFLICT: &[&str] = &[
    "DependencyViolation",
    "DeleteConflict",
    "ResourceInUse",
    "ResourceInUseException",
    "ConcurrentModification",
    "ConcurrentModificationException",
    "IncorrectState",
    "OperationAborted",
    "InvalidGroup.InUse",
];

const NOT_FOUND: &[&str] =
    &["NoSuchEntity", "ResourceNotFound", "ResourceNotFoundException", "NoSuchKey", "NoSuchBucket", "NotFound"];

/// The class of an AWS error code (and message, for the few codes AWS reuses
/// for something that clears by itself).
pub(crate) fn class_of(code: &str, message: &str, status: Option<u16>) -> ErrorClass {
    if PROPAGATING.iter().any(|answer| answer.matches(code, message)) {
        // A role or instance profile created moments ago that another service cannot see yet.
        ErrorClass::Conflict
    } else if THROTTLED.contains(&code) {
        ErrorClass::Throttled
    } else if TRANSIENT.contains(&code) || status.is_some_and(|s| s >= 500) {
        ErrorClass::Transient
    } else if DENIED.contains(&code) {
        ErrorClass::Denied
    } else if CONFLICT.contains(&code) || FLEET_BUSY.iter().any(|answer| answer.matches(code, message)) {
        ErrorClass::Conflict
    } else if NOT_FOUND.contains(&code) || code.ends_with(".NotFound") || code.ends_with("NotFound") {
        ErrorClass::NotFound
    } else if status.is_some_and(|s| (400..500).contains(&s)) || !code.is_empty() {
        ErrorClass::Invalid
    } else {
        ErrorClass::Fatal
    }
}

/// An AWS answer recognised by its code and, where AWS uses one code for
/// several things, by words of its message.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Answer {
    code: &'static str,
    containing: Option<&'static str>,
}

impl Answer {
    /// Any answer with this code.
    pub(crate) const fn code(code: &'static str) -> Answer {
        Answer { code, containing: None }
    }

    /// An answer with this code whose message contains these words (compared without case).
    pub(crate) const fn saying(code: &'static str, containing: &'static str) -> Answer {
        Answer { code, containing: Some(containing) }
    }

    pub(crate) fn matches(&self, code: &str, message: &str) -> bool {
        self.code == code
            && self.containing.is_none_or(|words| message.to_ascii_lowercase().contains(&words.to_ascii_lowercase()))
    }
}

/// IAM's eventual consistency as each service words it: a role or instance
/// profile created moments ago that the service cannot see yet. Sources:
/// terraform-provider-aws `internal/service/emr/cluster.go` (RunJobFlow retries
/// both EMR forms), `internal/service/servicecatalog/principal_portfolio_association.go`
/// and `constraint.go` ("profile does not exist"); SageMaker's "Could not assume
/// role" (a field report: awslabs/predictive-maintenance-using-machine-learning#3).
const PROPAGATING: &[Answer] = &[
    Answer::saying("ValidationException", "Invalid InstanceProfile"),
    Answer::saying("AccessDeniedException", "Failed to authorize instance profile"),
    Answer::saying("InvalidParametersException", "profile does not exist"),
    Answer::saying("ValidationException", "Could not assume role"),
];

/// EMR refusing to modify a fleet while it resizes or reconfigures: it clears
/// once the fleet is RUNNING (the wording is unknown: docs/aws-fidelity.md).
const FLEET_BUSY: &[Answer] =
    &[Answer::saying("InvalidRequestException", "resiz"), Answer::saying("InvalidRequestException", "reconfigur")];

/// An SDK error as converge reports it: class, AWS operation, address, code, message.
pub(crate) fn exec_error<E>(error: SdkError<E, HttpResponse>, operation: &'static str, address: &Address) -> ExecError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = error.raw_response().map(|r| r.status().as_u16());
    match &error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown").to_owned();
            let message = service.err().message().unwrap_or_default().to_owned();
            let class = class_of(&code, &message, status);
            let quota = QUOTA.contains(&code.as_str());
            let error = ExecError::new(class, operation, address, code, message);
            if quota {
                error.with_hint(
                    "an AWS service quota is used up: delete what is no longer needed or ask for more in Service Quotas, then apply again",
                )
            } else {
                error
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => ExecError::new(
            ErrorClass::Transient,
            operation,
            address,
            "NetworkError",
            DisplayErrorContext(&error).to_string(),
        )
        .with_hint("AWS could not be reached (or answered garbled); check the network and endpoint, then apply again"),
        _ => ExecError::new(
            ErrorClass::Fatal,
            operation,
            address,
            "RequestNotBuilt",
            DisplayErrorContext(&error).to_string(),
        ),
    }
}

/// The call's result, with the answers that mean "already so" (a delete of
/// what is gone: `NoSuchEntity`) as `Ok(None)`.
pub(crate) fn unless<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
    answers: &[Answer],
    operation: &'static str,
    address: &Address,
) -> Result<Option<T>, ExecError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(error) if is_any(&error, answers) => Ok(None),
        Err(error) => Err(exec_error(error, operation, address)),
    }
}

/// True when AWS answered one of `answers`.
pub(crate) fn is_any<E>(error: &SdkError<E, HttpResponse>, answers: &[Answer]) -> bool
where
    E: ProvideErrorMetadata,
{
    let SdkError::ServiceError(service) = error else { return false };
    let (code, message) = (service.err().code().unwrap_or_default(), service.err().message().unwrap_or_default());
    answers.iter().any(|answer| answer.matches(code, message))
}

/// The AWS error code of a failed call, when AWS answered with one.
pub(crate) fn code_of<E>(error: &SdkError<E, HttpResponse>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_decide_the_class() {
        assert_eq!(class_of("RequestLimitExceeded", "", Some(503)), ErrorClass::Throttled);
        assert_eq!(class_of("Throttling", "Rate exceeded", Some(400)), ErrorClass::Throttled);
        assert_eq!(class_of("InternalFailure", "", Some(500)), ErrorClass::Transient);
        assert_eq!(class_of("Whatever", "", Some(503)), ErrorClass::Transient);
        assert_eq!(class_of("UnauthorizedOperation", "", Some(403)), ErrorClass::Denied);
        assert_eq!(class_of("DependencyViolation", "", Some(400)), ErrorClass::Conflict);
        assert_eq!(class_of("InvalidGroup.NotFound", "", Some(400)), ErrorClass::NotFound);
        assert_eq!(class_of("NoSuchEntity", "", Some(404)), ErrorClass::NotFound);
        assert_eq!(class_of("InvalidPermission.Duplicate", "", Some(400)), ErrorClass::Invalid);
        // IAM propagation: a fresh instance profile EMR cannot see yet clears by itself.
        let emr = "Invalid InstanceProfile: arn:aws:iam::123456789012:instance-profile/EMR_EC2_DefaultRole.";
        assert_eq!(class_of("ValidationException", emr, Some(400)), ErrorClass::Conflict);
        assert_eq!(class_of("ValidationException", "Release label is invalid", Some(400)), ErrorClass::Invalid);
        assert_eq!(class_of("InvalidRequestException", "fleet is in RESIZING state", Some(400)), ErrorClass::Conflict);
        // EMR's other propagation answer is an AccessDeniedException, which must not read as denied.
        let denied =
            "Failed to authorize instance profile arn:aws:iam::123456789012:instance-profile/EMR_EC2_DefaultRole";
        assert_eq!(class_of("AccessDeniedException", denied, Some(400)), ErrorClass::Conflict);
        assert_eq!(class_of("AccessDeniedException", "User is not authorized", Some(400)), ErrorClass::Denied);
        let catalog = "The principal profile does not exist";
        assert_eq!(class_of("InvalidParametersException", catalog, Some(400)), ErrorClass::Conflict);
        let sagemaker = "Could not assume role arn:aws:iam::123456789012:role/x. Please ensure that the role exists and allows principal 'sagemaker.amazonaws.com' to assume the role.";
        assert_eq!(class_of("ValidationException", sagemaker, Some(400)), ErrorClass::Conflict);
        // Service Catalog's LimitExceededException is a quota: waiting does not clear it.
        assert_eq!(class_of("LimitExceededException", "portfolio limit", Some(400)), ErrorClass::Invalid);
    }
}
