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

/// How an awsJson service pages a list: its token and size parameters, the
/// token of the next page in the answer, and its page size when none is asked.
pub(crate) struct Paging {
    pub(crate) token: &'static str,
    /// Empty when the client cannot choose (EMR).
    pub(crate) size: &'static str,
    pub(crate) next: &'static str,
    pub(crate) default: usize,
    /// The largest page the service answers with (what a client may ask for is its model's range).
    pub(crate) max: usize,
}

/// SageMaker's `List*`: `MaxResults` (default 10), `NextToken`.
pub(crate) const SAGEMAKER_PAGES: Paging =
    Paging { token: "NextToken", size: "MaxResults", next: "NextToken", default: 10, max: 100 };
/// EMR's `List*`: pages of 50, `Marker`.
pub(crate) const EMR_PAGES: Paging = Paging { token: "Marker", size: "", next: "Marker", default: 50, max: 50 };
/// Service Catalog: `PageSize` (default 20, at most 20: botocore `PageSize`,
/// and a field report for `ListPortfolios`, whose model says 100), `PageToken`, `NextPageToken`.
pub(crate) const CATALOG_PAGES: Paging =
    Paging { token: "PageToken", size: "PageSize", next: "NextPageToken", default: 20, max: 20 };

/// `{list: [one page of items], next: token}`, as the service pages.
pub(crate) fn paged(
    items: Vec<Value>,
    input: &Value,
    list: &str,
    paging: &Paging,
    ctx: &crate::context::Ctx<'_>,
) -> Result<Value, ApiError> {
    let asked =
        if paging.size.is_empty() { None } else { int_of(input, paging.size).and_then(|n| usize::try_from(n).ok()) };
    let (items, next) = crate::paging::page(
        items,
        str_of(input, paging.token),
        asked,
        (paging.default, paging.max),
        ctx,
        "ValidationException",
    )?;
    let mut out = json!({ list: items });
    if let Some(next) = next {
        out[paging.next] = json!(next);
    }
    Ok(out)
}
