//! AWS's wording of a refused request, per protocol.
//!
//! awsJson and awsQuery services validate with the same framework and answer
//! `1 validation error detected: Value '100' at 'pageSize' failed to satisfy
//! constraint: Member must have value less than or equal to 20` (code
//! `ValidationException`, IAM and STS `ValidationError`), listing at most ten
//! violations; EC2 names the parameter in its own words (`MissingParameter`,
//! `InvalidParameterValue`, `UnknownParameter`). Sources: docs/aws-fidelity.md.

use serde_json::Value;

use super::check::{Constraint, Mismatch, Path, Segment, Violation};
use super::query::QueryError;
use super::{ServiceModel, Shape};
use crate::error::ApiError;

/// The framework lists at most this many violations (a measured DynamoDB answer; dynalite's tests).
const LISTED: usize = 10;

/// The refusal of a request to `service` whose input (of shape `input`) has `violations` (none: accepted).
pub(crate) fn violations(
    model: &ServiceModel,
    service: &str,
    input: &str,
    violations: &[Violation],
) -> Result<(), ApiError> {
    let protocol = model.protocol.as_str();
    let Some(first) = violations.first() else { return Ok(()) };
    if protocol == "ec2" {
        return Err(ec2_violation(&ec2_wire_path(model, input, &first.path), first));
    }
    let listed = &violations[..violations.len().min(LISTED)];
    let count = listed.len();
    let items: Vec<String> = listed.iter().map(|v| coral_item(service, v)).collect();
    let message =
        format!("{count} validation error{} detected: {}", if count == 1 { "" } else { "s" }, items.join("; "));
    let code = if protocol == "query" { "ValidationError" } else { "ValidationException" };
    Err(ApiError::bad_request(code, message))
}

/// `Value '100' at 'pageSize' failed to satisfy constraint: Member must …`
fn coral_item(service: &str, violation: &Violation) -> String {
    // IAM leaves out the value and the values of an enum (a measured answer of UpdateServiceSpecificCredential).
    if service == "iam"
        && let Constraint::Enum(_) = violation.constraint
    {
        let path = coral_path(&violation.path);
        return format!("Value at '{path}' failed to satisfy constraint: Member must satisfy enum value set");
    }
    let value = match &violation.value {
        None => "null".to_owned(),
        Some(value) => format!("'{}'", java_text(value)),
    };
    format!(
        "Value {value} at '{}' failed to satisfy constraint: {}",
        coral_path(&violation.path),
        coral_constraint(&violation.constraint)
    )
}

/// `instances.instanceFleets.1.member.instanceFleetType`: members with a lower-case first
/// letter (only the first: `sSESpecification`), list elements numbered from 1
/// and followed by `member`, map values by their key and `member`.
pub(crate) fn coral_path(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for segment in path {
        match segment {
            Segment::Member(name) => parts.push(lower_first(name)),
            Segment::Index(i) => {
                parts.push(i.to_string());
                parts.push("member".to_owned());
            }
            Segment::Key(key) => {
                parts.push(key.clone());
                parts.push("member".to_owned());
            }
        }
    }
    parts.join(".")
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
}

fn coral_constraint(constraint: &Constraint) -> String {
    match constraint {
        Constraint::Required => "Member must not be null".to_owned(),
        Constraint::MinLength(n) => format!("Member must have length greater than or equal to {n}"),
        Constraint::MaxLength(n) => format!("Member must have length less than or equal to {n}"),
        Constraint::MinValue(n) => format!("Member must have value greater than or equal to {}", number(*n)),
        Constraint::MaxValue(n) => format!("Member must have value less than or equal to {}", number(*n)),
        Constraint::Pattern(p) => format!("Member must satisfy regular expression pattern: {p}"),
        Constraint::Enum(values) => format!("Member must satisfy enum value set: [{}]", values.join(", ")),
    }
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { n.to_string() }
}

/// A value as Java's `toString` writes it: lists as `[a, b]`, maps as `{k=v}`.
fn java_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(java_text).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => {
            format!("{{{}}}", map.iter().map(|(k, v)| format!("{k}={}", java_text(v))).collect::<Vec<_>>().join(", "))
        }
        other => other.to_string(),
    }
}

/// EC2 names a parameter by its wire name (`GroupDescription`, `TagSpecification.1.ResourceType`).
fn ec2_wire_path(model: &ServiceModel, input: &str, path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut shape = input.to_owned();
    for segment in path {
        match (segment, model.shape(&shape)) {
            (Segment::Member(name), Some(Shape::Structure { members, .. })) if members.contains_key(name) => {
                parts.push(super::query::ec2_wire_name(name, &members[name]));
                shape = members[name].shape.clone();
            }
            (Segment::Index(i), Some(Shape::List { member, .. })) => {
                parts.push(i.to_string());
                shape = member.shape.clone();
            }
            (Segment::Key(key), Some(Shape::Map { value, .. })) => {
                parts.push(key.clone());
                shape = value.shape.clone();
            }
            (Segment::Member(name) | Segment::Key(name), _) => parts.push(name.clone()),
            (Segment::Index(i), _) => parts.push(i.to_string()),
        }
    }
    parts.join(".")
}

/// EC2's words: the wire name as sent in `MissingParameter`, with a lower-case
/// first letter in value errors (`maxResults`).
fn ec2_violation(name: &str, violation: &Violation) -> ApiError {
    let parameter = lower_first(name);
    let value = violation.value.as_ref().map(java_text).unwrap_or_default();
    let invalid = |message: String| ApiError::bad_request("InvalidParameterValue", message);
    match &violation.constraint {
        Constraint::Required => {
            ApiError::bad_request("MissingParameter", format!("The request must contain the parameter {name}"))
        }
        // "greater than 5" although 5 is allowed: EC2's own words (DescribeInstances).
        Constraint::MinValue(n) => invalid(format!(
            "Value ( {value} ) for parameter {parameter} is invalid. Expecting a value greater than {}.",
            number(*n)
        )),
        Constraint::MaxValue(n) => invalid(format!(
            "Value ( {value} ) for parameter {parameter} is invalid. Expecting a value less than or equal to {}.",
            number(*n)
        )),
        Constraint::Enum(_) if name.ends_with("ResourceType") => {
            invalid(format!("'{value}' is not a valid taggable resource type for this operation."))
        }
        Constraint::Enum(_) | Constraint::MinLength(_) | Constraint::MaxLength(_) | Constraint::Pattern(_) => {
            invalid(format!("Value ({value}) for parameter {parameter} is invalid."))
        }
    }
}

/// A member of the wrong JSON type: the service cannot deserialize the request
/// (the framework's words, as measured on Athena and seen on EMR).
pub(crate) fn serialization(mismatch: Mismatch) -> ApiError {
    let message = match (&mismatch.found, mismatch.expected) {
        (Value::Array(_), _) => "Start of list found where not expected".to_owned(),
        (Value::Object(_), _) => "Start of structure or map found where not expected.".to_owned(),
        (_, "List") => "Expected list or null".to_owned(),
        (_, "Structure" | "Map") => "Expected map or null".to_owned(),
        (found, expected) => {
            let found = match found {
                Value::String(_) => "STRING_VALUE",
                Value::Number(_) => "NUMBER_VALUE",
                Value::Bool(true) => "TRUE_VALUE",
                Value::Bool(false) => "FALSE_VALUE",
                _ => "NULL_VALUE",
            };
            let article = if expected.starts_with(['A', 'E', 'I', 'O', 'U']) { "an" } else { "a" };
            format!("{found} can not be converted to {article} {expected}")
        }
    };
    ApiError::bad_request("SerializationException", message)
}

/// A body that is not a JSON object at all: AWS says nothing more.
pub(crate) fn unreadable_body() -> ApiError {
    ApiError::bad_request("SerializationException", "")
}

/// A query request the model cannot explain.
pub(crate) fn query_error(service: &str, error: QueryError) -> ApiError {
    match (service, error) {
        (_, QueryError::Unknown(part)) => {
            ApiError::bad_request("UnknownParameter", format!("The parameter {part} is not recognized"))
        }
        ("ec2", QueryError::Malformed { parameter, value, .. }) => ApiError::bad_request(
            "InvalidParameterValue",
            format!("Value ({value}) for parameter {} is invalid.", lower_first(&parameter)),
        ),
        (_, QueryError::Malformed { parameter, value, expected }) => ApiError::bad_request(
            "MalformedInput",
            format!("Value {value} for parameter {parameter} is not a valid {expected}"),
        ),
    }
}

/// The answer to an operation the service does not have.
pub(crate) fn unknown_operation(service: &str, operation: &str, version: &str) -> ApiError {
    match service {
        "ec2" => {
            ApiError::bad_request("InvalidAction", format!("The action {operation} is not valid for this web service."))
        }
        "iam" | "sts" => ApiError::bad_request(
            "InvalidAction",
            format!("Could not find operation {operation} for version {version}"),
        ),
        // Coral's JSON services name nothing (measured on Athena and DynamoDB).
        _ => ApiError::bad_request("UnknownOperationException", ""),
    }
}

/// An S3 header whose value is not one S3 knows.
pub(crate) fn s3_bad_header(member: &str, header: &str, value: &str) -> ApiError {
    match member {
        "StorageClass" => ApiError::bad_request("InvalidStorageClass", "The storage class you specified is not valid"),
        "ServerSideEncryption" => {
            ApiError::bad_request("InvalidArgument", "The encryption method specified is not supported")
        }
        _ => ApiError::bad_request("InvalidArgument", format!("Invalid value '{value}' for header {header}")),
    }
}
