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
    "LimitExceededException",
];

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
    let message = message.to_ascii_lowercase();
    // A role or instance profile created moments ago that another service cannot see yet (IAM propagation).
    let propagating = message.contains("invalid instanceprofile")
        || message.contains("instance profile")
        || message.contains("cannot be assumed")
        || message.contains("unable to assume")
        || message.contains("not authorized to assume")
        || (code == "InvalidParametersException" && (message.contains("role") || message.contains("principal")));
    if THROTTLED.contains(&code) {
        ErrorClass::Throttled
    } else if TRANSIENT.contains(&code) || status.is_some_and(|s| s >= 500) {
        ErrorClass::Transient
    } else if DENIED.contains(&code) {
        ErrorClass::Denied
    } else if CONFLICT.contains(&code) || (code.contains("Validation") || code.contains("Invalid")) && propagating {
        ErrorClass::Conflict
    } else if code == "InvalidRequestException" && (message.contains("resiz") || message.contains("reconfigur")) {
        // EMR refuses to modify a fleet while it resizes or reconfigures.
        ErrorClass::Conflict
    } else if NOT_FOUND.contains(&code) || code.ends_with(".NotFound") || code.ends_with("NotFound") {
        ErrorClass::NotFound
    } else if status.is_some_and(|s| (400..500).contains(&s)) || !code.is_empty() {
        ErrorClass::Invalid
    } else {
        ErrorClass::Fatal
    }
}

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
            ExecError::new(class, operation, address, code, message)
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

/// The call's result, with the error codes that mean "already so" (a delete
/// of what is gone: `NoSuchEntity`) as `Ok(None)`.
pub(crate) fn unless<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
    codes: &[&str],
    operation: &'static str,
    address: &Address,
) -> Result<Option<T>, ExecError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(error) if code_of(&error).is_some_and(|code| codes.contains(&code)) => Ok(None),
        Err(error) => Err(exec_error(error, operation, address)),
    }
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
    }
}
