//! Pagination as AWS does it: a page of at most the size the client asks for
//! (AWS's default otherwise, and never more than the sandbox's cap), and an
//! opaque token for the next page. Items come in a stable order, so a token
//! stays valid while the client pages.

use crate::context::Ctx;
use crate::error::ApiError;

/// One page of `items`, starting where `token` says; the token of the next page, if any.
///
/// `asked` is the client's page size (`MaxResults`, `MaxItems`, `PageSize`,
/// `MaxKeys`), within its model's range (the model checks it before a service
/// sees the request), `default` AWS's page size when it asks for none, `max`
/// the most a page holds whatever is asked (S3's 1,000 keys), `code` the
/// error code the service answers a bad token with.
pub(crate) fn page<T>(
    items: Vec<T>,
    token: Option<&str>,
    asked: Option<usize>,
    (default, max): (usize, usize),
    ctx: &Ctx<'_>,
    code: &str,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let start = match token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => token
            .strip_prefix("page-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| ApiError::bad_request(code, format!("The pagination token `{token}` is not valid.")))?,
    };
    let size = asked.filter(|n| *n > 0).unwrap_or(default).min(max).min(ctx.page_size.unwrap_or(usize::MAX)).max(1);
    let end = start.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| format!("page-{end}"));
    Ok((items.into_iter().skip(start).take(end - start).collect(), next))
}
