//! SDK errors to [`ExecError`]s: AWS's error code decides the class the
//! engine's retry policy acts on.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use converge_executor::{ErrorClass, ExecError};
use converge_model::Address;

/// The service a call went to: its error codes are read in its own table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AwsService {
    Ec2,
    Iam,
    Emr,
    Sagemaker,
    ServiceCatalog,
    S3,
    Sts,
}

impl AwsService {
    /// The service of an SDK error type, from its crate (`aws_sdk_ec2::…`).
    /// `tests::every_client_error_names_its_service` keeps this true.
    pub(crate) fn of_error<E>() -> Option<AwsService> {
        let path = std::any::type_name::<E>();
        let crate_name = path.split("::").next().unwrap_or_default();
        Some(match crate_name {
            "aws_sdk_ec2" => AwsService::Ec2,
            "aws_sdk_iam" => AwsService::Iam,
            "aws_sdk_emr" => AwsService::Emr,
            "aws_sdk_sagemaker" => AwsService::Sagemaker,
            "aws_sdk_servicecatalog" => AwsService::ServiceCatalog,
            "aws_sdk_s3" => AwsService::S3,
            "aws_sdk_sts" => AwsService::Sts,
            _ => return None,
        })
    }
}

/// One service's error codes by class. Sources: each service's error list in
/// its API reference and botocore's error shapes (EC2: "Error codes for the
/// Amazon EC2 API"; IAM, STS: the API reference's "Errors" of each action and
/// "Common Errors"; EMR, SageMaker, Service Catalog: botocore `*/service-2.json`
/// error shapes; S3: "Error responses"). Codes no table names fall back on the
/// HTTP status: 5xx transient, another 4xx invalid.
pub(crate) struct Codes {
    pub service: AwsService,
    /// "Slow down": the request was refused before it did anything.
    pub throttled: &'static [&'static str],
    /// AWS stumbled (5xx); the same call may succeed.
    pub transient: &'static [&'static str],
    /// In use, busy, or being changed by someone else: it may clear.
    pub conflict: &'static [&'static str],
    /// Not there (exact codes; EC2's `*.NotFound` family is matched by suffix).
    pub not_found: &'static [&'static str],
    /// The credentials may not do this.
    pub denied: &'static [&'static str],
    /// A service quota used up: waiting does not clear it (an invalid request, with its own hint).
    pub quota: &'static [&'static str],
    /// IAM's eventual consistency as this service words it (checked first: some reuse a denied or invalid code).
    pub propagating: &'static [Answer],
    /// Busy answers recognised by their words, where the code alone means "invalid".
    pub busy: &'static [Answer],
}

/// Codes every AWS service may answer (the API references' "Common Errors").
const COMMON: Codes = Codes {
    service: AwsService::Sts,
    throttled: &[
        "Throttling",
        "ThrottlingException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
    ],
    transient: &[
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    ],
    conflict: &[],
    not_found: &[],
    denied: &["AccessDenied", "AccessDeniedException", "NotAuthorized", "OptInRequired"],
    quota: &[],
    propagating: &[],
    busy: &[],
};

/// The answers of credentials that are missing, expired or not AWS's (any service).
const CREDENTIALS: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "AuthFailure",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "IncompleteSignature",
];

pub(crate) const TABLES: [Codes; 7] = [
    Codes {
        service: AwsService::Ec2,
        throttled: &["RequestLimitExceeded", "EC2ThrottledException"],
        transient: &["InternalError", "Unavailable", "ServiceUnavailable"],
        conflict: &["DependencyViolation", "InvalidGroup.InUse", "IncorrectState", "ConcurrentModification"],
        not_found: &[],
        denied: &["UnauthorizedOperation", "Blocked"],
        quota: &[
            "SecurityGroupLimitExceeded",
            "RulesPerSecurityGroupLimitExceeded",
            "SubnetLimitExceeded",
            "TagLimitExceeded",
            "ResourceLimitExceeded",
        ],
        propagating: &[],
        busy: &[],
    },
    Codes {
        service: AwsService::Iam,
        throttled: &["Throttling"],
        transient: &["ServiceFailure"],
        conflict: &["DeleteConflict", "ConcurrentModification"],
        not_found: &["NoSuchEntity"],
        denied: &[],
        quota: &["LimitExceeded"],
        propagating: &[],
        busy: &[],
    },
    Codes {
        service: AwsService::Emr,
        throttled: &["ThrottlingException"],
        transient: &["InternalServerError", "InternalServerException"],
        conflict: &[],
        not_found: &[],
        denied: &[],
        quota: &[],
        // terraform-provider-aws `internal/service/emr/cluster.go`: RunJobFlow retries both.
        propagating: &[
            Answer::saying("ValidationException", "Invalid InstanceProfile"),
            Answer::saying("AccessDeniedException", "Failed to authorize instance profile"),
        ],
        busy: FLEET_BUSY,
    },
    Codes {
        service: AwsService::Sagemaker,
        throttled: &["ThrottlingException"],
        transient: &[],
        conflict: &["ResourceInUse", "ConflictException"],
        not_found: &["ResourceNotFound"],
        denied: &[],
        quota: &["ResourceLimitExceeded"],
        // A field report: awslabs/predictive-maintenance-using-machine-learning#3.
        propagating: &[Answer::saying("ValidationException", "Could not assume role")],
        busy: &[],
    },
    Codes {
        service: AwsService::ServiceCatalog,
        throttled: &["ThrottlingException"],
        transient: &[],
        conflict: &["ResourceInUseException"],
        not_found: &["ResourceNotFoundException"],
        denied: &[],
        // Too many portfolios, products, constraints: a quota, not a rate.
        quota: &["LimitExceededException"],
        // terraform-provider-aws `internal/service/servicecatalog/principal_portfolio_association.go`, `constraint.go`.
        propagating: &[Answer::saying("InvalidParametersException", "profile does not exist")],
        busy: &[],
    },
    Codes {
        service: AwsService::S3,
        throttled: &["SlowDown"],
        transient: &["InternalError", "ServiceUnavailable"],
        conflict: &["OperationAborted", "ConditionalRequestConflict"],
        not_found: &["NoSuchKey", "NoSuchBucket", "NotFound"],
        denied: &[],
        quota: &["TooManyBuckets"],
        propagating: &[],
        busy: &[],
    },
    Codes {
        service: AwsService::Sts,
        throttled: &["Throttling"],
        transient: &[],
        conflict: &[],
        not_found: &[],
        denied: &["RegionDisabledException"],
        quota: &[],
        propagating: &[],
        busy: &[],
    },
];

fn table(service: AwsService) -> &'static Codes {
    TABLES.iter().find(|t| t.service == service).unwrap_or(&COMMON)
}

/// How an AWS answer reads: its class, and whether it names the credentials or a quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reading {
    pub class: ErrorClass,
    pub credentials: bool,
    pub quota: bool,
}

/// The class of an AWS error code of `service` (and its message, for the
/// few answers AWS words differently for something that clears by itself).
pub(crate) fn read(service: Option<AwsService>, code: &str, message: &str, status: Option<u16>) -> Reading {
    let own = service.map_or(&COMMON, table);
    let reading = |class| Reading { class, credentials: false, quota: false };
    let in_either =
        |pick: fn(&Codes) -> &'static [&'static str]| pick(own).contains(&code) || pick(&COMMON).contains(&code);
    if own.propagating.iter().any(|answer| answer.matches(code, message)) {
        reading(ErrorClass::Propagating)
    } else if own.busy.iter().any(|answer| answer.matches(code, message)) {
        reading(ErrorClass::Conflict)
    } else if CREDENTIALS.contains(&code) {
        Reading { class: ErrorClass::Denied, credentials: true, quota: false }
    } else if in_either(|t| t.throttled) {
        reading(ErrorClass::Throttled)
    } else if own.quota.contains(&code) {
        Reading { class: ErrorClass::Invalid, credentials: false, quota: true }
    } else if in_either(|t| t.transient) {
        reading(ErrorClass::Transient)
    } else if in_either(|t| t.denied) {
        reading(ErrorClass::Denied)
    } else if in_either(|t| t.conflict) {
        reading(ErrorClass::Conflict)
    } else if in_either(|t| t.not_found) || (own.service == AwsService::Ec2 && code.ends_with(".NotFound")) {
        reading(ErrorClass::NotFound)
    } else if code.is_empty() {
        // No AWS error in the answer at all: not something to read as AWS's.
        reading(ErrorClass::Unexpected)
    } else if status.is_some_and(|s| s >= 500) {
        reading(ErrorClass::Transient)
    } else {
        reading(ErrorClass::Invalid)
    }
}

/// [`read`]'s class alone.
#[cfg(test)]
pub(crate) fn class_of(service: Option<AwsService>, code: &str, message: &str, status: Option<u16>) -> ErrorClass {
    read(service, code, message, status).class
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

/// EMR refusing to modify a fleet while it resizes or reconfigures: it clears
/// once the fleet is RUNNING (the wording is unknown: docs/aws-fidelity.md).
const FLEET_BUSY: &[Answer] =
    &[Answer::saying("InvalidRequestException", "resiz"), Answer::saying("InvalidRequestException", "reconfigur")];

/// An SDK error as converge reports it: class, AWS operation, address, code, message.
pub(crate) fn exec_error<E>(error: SdkError<E, HttpResponse>, operation: &'static str, address: &Address) -> ExecError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let service = AwsService::of_error::<E>();
    let status = error.raw_response().map(|r| r.status().as_u16());
    match &error {
        SdkError::ServiceError(service_error) if service_error.err().code().is_some() => {
            let code = service_error.err().code().unwrap_or_default().to_owned();
            let message = service_error.err().message().unwrap_or_default().to_owned();
            let reading = read(service, &code, &message, status);
            let error = ExecError::new(reading.class, operation, address, code, message);
            if reading.credentials {
                error.with_hint(CREDENTIALS_HINT)
            } else if reading.quota {
                error.with_hint(
                    "an AWS service quota is used up: delete what is no longer needed or ask for more in Service Quotas, then run the command again",
                )
            } else {
                error
            }
        }
        // An answer without an AWS error in it: a proxy's or load balancer's page, not AWS's.
        SdkError::ServiceError(_) => {
            let body = error.raw_response().map(|r| r.body().bytes().unwrap_or_default()).unwrap_or_default();
            let excerpt: String = String::from_utf8_lossy(body).chars().filter(|c| !c.is_control()).take(120).collect();
            let status = status.map_or_else(|| "no status".to_owned(), |s| format!("HTTP {s}"));
            ExecError::new(
                ErrorClass::Unexpected,
                operation,
                address,
                "UnexpectedAnswer",
                format!("unexpected answer from the endpoint ({status}): {excerpt}"),
            )
            .with_hint("something between converge and AWS answered instead of AWS (a proxy, a firewall, a wrong `--endpoint-url`); check the endpoint and the network path, then run the command again")
        }
        // No answer, or one that broke off: the call may or may not have been carried out.
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            let detail = DisplayErrorContext(&error).to_string();
            if detail.contains("credentials") || detail.contains("NoMatchingAuthScheme") || detail.contains("identity")
            {
                return ExecError::new(ErrorClass::Denied, operation, address, "NoCredentials", detail)
                    .with_hint(CREDENTIALS_HINT);
            }
            ExecError::new(ErrorClass::Transient, operation, address, "NetworkError", detail)
                .with_hint("AWS could not be reached; check the network and the endpoint, then run the command again")
        }
        _ => ExecError::new(
            ErrorClass::Fatal,
            operation,
            address,
            "RequestNotBuilt",
            DisplayErrorContext(&error).to_string(),
        ),
    }
}

/// What to do about credentials AWS does not take.
pub(crate) const CREDENTIALS_HINT: &str = "the AWS credentials are missing, expired or not valid: refresh them (`aws sso login --profile P` for an SSO profile, new keys in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or `--profile` naming a profile that has them), then run the command again";

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
    use AwsService::*;
    use ErrorClass::*;

    /// One answer per class per service, as each service words it.
    #[test]
    fn every_service_reads_its_own_codes() {
        let cases: &[(AwsService, &str, &str, u16, ErrorClass)] = &[
            (Ec2, "RequestLimitExceeded", "Request limit exceeded.", 503, Throttled),
            (Ec2, "InternalError", "An internal error has occurred.", 500, Transient),
            (Ec2, "DependencyViolation", "resource sg-1 has a dependent object", 400, Conflict),
            (Ec2, "InvalidGroup.NotFound", "The security group 'sg-1' does not exist", 400, NotFound),
            (Ec2, "InvalidSubnetID.NotFound", "The subnet ID 'subnet-1' does not exist", 400, NotFound),
            (Ec2, "UnauthorizedOperation", "You are not authorized to perform this operation.", 403, Denied),
            (Ec2, "InvalidPermission.Duplicate", "the specified rule already exists", 400, Invalid),
            (
                Ec2,
                "RulesPerSecurityGroupLimitExceeded",
                "The maximum number of rules per security group has been reached.",
                400,
                Invalid,
            ),
            (Iam, "Throttling", "Rate exceeded", 400, Throttled),
            (Iam, "ServiceFailure", "The request processing has failed because of an unknown error", 500, Transient),
            (Iam, "DeleteConflict", "Cannot delete entity, must detach all policies first.", 409, Conflict),
            (Iam, "NoSuchEntity", "The role with name x cannot be found.", 404, NotFound),
            (Iam, "AccessDenied", "User is not authorized to perform: iam:CreateRole", 403, Denied),
            (Iam, "MalformedPolicyDocument", "Syntax errors in policy.", 400, Invalid),
            (Iam, "LimitExceeded", "Cannot exceed quota for RolesPerAccount: 1000", 409, Invalid),
            (Emr, "ThrottlingException", "Rate exceeded", 400, Throttled),
            (Emr, "InternalServerError", "Internal error", 500, Transient),
            (Emr, "InvalidRequestException", "Instance fleet is in RESIZING state", 400, Conflict),
            (
                Emr,
                "ValidationException",
                "Invalid InstanceProfile: arn:aws:iam::123456789012:instance-profile/x.",
                400,
                Propagating,
            ),
            (
                Emr,
                "AccessDeniedException",
                "Failed to authorize instance profile arn:aws:iam::123456789012:instance-profile/x",
                400,
                Propagating,
            ),
            (Emr, "AccessDeniedException", "User is not authorized", 400, Denied),
            (Emr, "ValidationException", "Release label is invalid", 400, Invalid),
            (Sagemaker, "ThrottlingException", "Rate exceeded", 400, Throttled),
            (Sagemaker, "InternalFailure", "We encountered an internal error.", 500, Transient),
            (Sagemaker, "ResourceInUse", "Domain has apps", 400, Conflict),
            (Sagemaker, "ResourceNotFound", "Domain d-1 does not exist", 400, NotFound),
            (
                Sagemaker,
                "ValidationException",
                "Could not assume role arn:aws:iam::123456789012:role/x.",
                400,
                Propagating,
            ),
            (Sagemaker, "ResourceLimitExceeded", "The account-level service limit", 400, Invalid),
            (Sagemaker, "AccessDeniedException", "not authorized", 400, Denied),
            (ServiceCatalog, "ThrottlingException", "Rate exceeded", 400, Throttled),
            (ServiceCatalog, "InternalFailure", "", 500, Transient),
            (ServiceCatalog, "ResourceInUseException", "The product is associated", 400, Conflict),
            (ServiceCatalog, "ResourceNotFoundException", "Product not found", 400, NotFound),
            (ServiceCatalog, "InvalidParametersException", "The principal profile does not exist", 400, Propagating),
            (ServiceCatalog, "LimitExceededException", "portfolio limit", 400, Invalid),
            (ServiceCatalog, "DuplicateResourceException", "already exists", 400, Invalid),
            (S3, "SlowDown", "Please reduce your request rate.", 503, Throttled),
            (S3, "InternalError", "We encountered an internal error.", 500, Transient),
            (S3, "OperationAborted", "A conflicting conditional operation is in progress", 409, Conflict),
            (S3, "NoSuchKey", "The specified key does not exist.", 404, NotFound),
            (S3, "AccessDenied", "Access Denied", 403, Denied),
            (S3, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412, Invalid),
            (Sts, "Throttling", "Rate exceeded", 400, Throttled),
            (Sts, "AccessDenied", "not authorized", 403, Denied),
            (Sts, "ExpiredToken", "The security token included in the request is expired", 400, Denied),
            (Sts, "InvalidClientTokenId", "The security token included in the request is invalid.", 403, Denied),
        ];
        for &(service, code, message, status, class) in cases {
            assert_eq!(class_of(Some(service), code, message, Some(status)), class, "{service:?} {code}: {message}");
        }
        // A code a table does not know: 5xx is transient, another 4xx invalid.
        assert_eq!(class_of(Some(Emr), "SomethingNew", "", Some(503)), Transient);
        assert_eq!(class_of(Some(Emr), "SomethingNew", "", Some(400)), Invalid);
        // Codes that are one thing in one service and another elsewhere.
        assert_eq!(class_of(Some(ServiceCatalog), "LimitExceededException", "", Some(400)), Invalid, "a quota");
        assert_eq!(class_of(Some(Iam), "InvalidParametersException", "profile does not exist", Some(400)), Invalid);
        assert_eq!(class_of(Some(Ec2), "ResourceNotFound.Whatever", "", Some(400)), Invalid, "no .NotFound suffix");
    }

    #[test]
    fn credentials_and_quotas_are_named() {
        for code in ["ExpiredToken", "UnrecognizedClientException", "AuthFailure", "InvalidAccessKeyId"] {
            let reading = read(Some(Sts), code, "", Some(403));
            assert!(reading.credentials && reading.class == Denied, "{code}");
        }
        assert!(read(Some(ServiceCatalog), "LimitExceededException", "", Some(400)).quota);
        assert!(!read(Some(Emr), "ThrottlingException", "", Some(400)).quota);
    }

    #[test]
    fn every_client_error_names_its_service() {
        assert_eq!(AwsService::of_error::<aws_sdk_ec2::operation::create_subnet::CreateSubnetError>(), Some(Ec2));
        assert_eq!(AwsService::of_error::<aws_sdk_iam::operation::create_role::CreateRoleError>(), Some(Iam));
        assert_eq!(AwsService::of_error::<aws_sdk_emr::operation::run_job_flow::RunJobFlowError>(), Some(Emr));
        assert_eq!(
            AwsService::of_error::<aws_sdk_sagemaker::operation::create_domain::CreateDomainError>(),
            Some(Sagemaker)
        );
        assert_eq!(
            AwsService::of_error::<aws_sdk_servicecatalog::operation::create_product::CreateProductError>(),
            Some(ServiceCatalog)
        );
        assert_eq!(AwsService::of_error::<aws_sdk_s3::operation::put_object::PutObjectError>(), Some(S3));
        assert_eq!(
            AwsService::of_error::<aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError>(),
            Some(Sts)
        );
        assert_eq!(AwsService::of_error::<std::io::Error>(), None);
    }
}
