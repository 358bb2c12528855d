//! Reading awsJson request bodies and writing their answers.

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::Tags;

pub(crate) fn validation(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("ValidationException", message)
}

pub(crate) fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

pub(crate) fn required<'a>(v: &'a Value, key: &str) -> Result<&'a str, ApiError> {
    str_of(v, key).ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value null at '{key}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

pub(crate) fn int_of(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

pub(crate) fn bool_of(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

pub(crate) fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

pub(crate) fn strings(v: &Value, key: &str) -> Vec<String> {
    array(v, key).iter().filter_map(Value::as_str).map(str::to_owned).collect()
}

/// `[{"Key": …, "Value": …}]`
pub(crate) fn tags_of(v: &Value, key: &str) -> Tags {
    array(v, key)
        .iter()
        .filter_map(|t| Some((str_of(t, "Key")?.to_owned(), str_of(t, "Value").unwrap_or("").to_owned())))
        .collect()
}

pub(crate) fn tags_json(tags: &Tags) -> Value {
    Value::Array(tags.iter().map(|(k, v)| json!({ "Key": k, "Value": v })).collect())
}
