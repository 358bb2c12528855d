//! S3, path-style: buckets and objects, enough to upload and read templates.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, Method};

use crate::context::Ctx;
use crate::error::ApiError;
use crate::state::World;
use crate::state::s3::{Bucket, Object};
use crate::xml::{Xml, iso8601};

/// A REST response: status, extra headers, body.
pub(crate) struct S3Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
}

fn etag(body: &[u8]) -> String {
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for byte in body {
        hash ^= u128::from(*byte);
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    format!("\"{hash:032x}\"")
}

/// Decodes `aws-chunked` bodies (`<hex size>[;chunk-signature=…]\r\n<data>\r\n … 0\r\n<trailers>`).
fn decode_chunked(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let header = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(header.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

fn error(status: u16, code: &str, message: &str, request_id: &str) -> S3Response {
    error_response(&ApiError::new(status, code, message), request_id)
}

/// An error as S3 answers it.
pub(crate) fn error_response(error: &ApiError, request_id: &str) -> S3Response {
    S3Response { status: error.status, headers: Vec::new(), body: error.s3_body(request_id).into_bytes() }
}

/// The object a template URL points at, if it points into this sandbox's S3.
pub(crate) fn object_at_url<'w>(world: &'w World, ctx: &Ctx<'_>, url: &str) -> Option<&'w Object> {
    let (bucket, key) = if let Some(path) = url.strip_prefix(ctx.endpoint) {
        path.trim_start_matches('/').split_once('/')?
    } else {
        let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
        let (host, path) = rest.split_once('/')?;
        if host == "s3.amazonaws.com" || (host.starts_with("s3.") && host.ends_with(".amazonaws.com")) {
            path.split_once('/')?
        } else if let Some((bucket, _)) = host.split_once(".s3") {
            (bucket, path)
        } else {
            return None;
        }
    };
    world.s3.buckets.get(bucket)?.objects.get(key)
}

pub(crate) fn handle(
    world: &mut World,
    ctx: &Ctx<'_>,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> (String, S3Response) {
    let path = path.trim_start_matches('/');
    let (bucket, key) = match path.split_once('/') {
        Some((bucket, key)) if !key.is_empty() => (bucket.to_owned(), Some(percent_decode(key))),
        _ => (path.trim_end_matches('/').to_owned(), None),
    };
    let params: BTreeMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let rid = ctx.request_id;
    let (operation, response) = match (method.as_str(), key) {
        ("PUT", None) => ("CreateBucket", {
            if world.s3.buckets.contains_key(&bucket) {
                error(
                    409,
                    "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named bucket succeeded and you already own it.",
                    rid,
                )
            } else {
                world.s3.buckets.insert(bucket.clone(), Bucket { created: ctx.now, objects: BTreeMap::new() });
                S3Response { status: 200, headers: vec![("location", format!("/{bucket}"))], body: Vec::new() }
            }
        }),
        ("GET", None) => (
            "ListObjectsV2",
            match world.s3.buckets.get(&bucket) {
                None => error(404, "NoSuchBucket", "The specified bucket does not exist", rid),
                Some(b) => {
                    let prefix = params.get("prefix").cloned().unwrap_or_default();
                    let objects: Vec<(&String, &Object)> =
                        b.objects.iter().filter(|(k, _)| k.starts_with(&prefix)).collect();
                    let asked = params.get("max-keys").and_then(|n| n.parse::<usize>().ok());
                    let token = params.get("continuation-token").map(String::as_str);
                    let (objects, next) =
                        match crate::paging::page(objects, token, asked, (1000, 1000), ctx, "InvalidArgument") {
                            Ok(page) => page,
                            Err(_) => {
                                let message = "The continuation token provided is incorrect";
                                return ("ListObjectsV2".to_owned(), error(400, "InvalidArgument", message, rid));
                            }
                        };
                    let mut x = Xml::new();
                    x.root("ListBucketResult", "http://s3.amazonaws.com/doc/2006-03-01/");
                    x.text("Name", &bucket).text("Prefix", &prefix).text("KeyCount", &objects.len().to_string());
                    x.text("MaxKeys", &asked.unwrap_or(1000).to_string());
                    x.text("IsTruncated", if next.is_some() { "true" } else { "false" });
                    x.opt("ContinuationToken", token).opt("NextContinuationToken", next.as_deref());
                    for (key, object) in objects {
                        x.open("Contents").text("Key", key).text("LastModified", &iso8601(object.modified));
                        x.text("ETag", &object.etag)
                            .text("Size", &object.body.len().to_string())
                            .text("StorageClass", "STANDARD");
                        x.close("Contents");
                    }
                    x.close("ListBucketResult");
                    S3Response { status: 200, headers: Vec::new(), body: x.finish().into_bytes() }
                }
            },
        ),
        ("DELETE", None) => (
            "DeleteBucket",
            match world.s3.buckets.get(&bucket) {
                None => error(404, "NoSuchBucket", "The specified bucket does not exist", rid),
                Some(b) if !b.objects.is_empty() => {
                    error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty", rid)
                }
                Some(_) => {
                    world.s3.buckets.remove(&bucket);
                    S3Response { status: 204, headers: Vec::new(), body: Vec::new() }
                }
            },
        ),
        ("PUT", Some(key)) => (
            "PutObject",
            match world.s3.buckets.get_mut(&bucket) {
                None => error(404, "NoSuchBucket", "The specified bucket does not exist", rid),
                Some(b) => {
                    let chunked = headers
                        .get("content-encoding")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.contains("aws-chunked"))
                        || headers
                            .get("x-amz-content-sha256")
                            .and_then(|v| v.to_str().ok())
                            .is_some_and(|v| v.starts_with("STREAMING-"));
                    let data = if chunked { decode_chunked(body) } else { Some(body.to_vec()) };
                    match data {
                        None => error(400, "IncompleteBody", "The aws-chunked body is malformed", rid),
                        // PutObject takes only `If-None-Match: *` (a measured answer: LocalStack's
                        // `test_put_object_if_none_match_validation`, marked validated against AWS).
                        Some(_) if headers.get("if-none-match").is_some_and(|v| v != "*") => error(
                            501,
                            "NotImplemented",
                            "A header you provided implies functionality that is not implemented",
                            rid,
                        ),
                        Some(_)
                            if headers.get("if-none-match").is_some_and(|v| v == "*")
                                && b.objects.contains_key(&key) =>
                        {
                            error(
                                412,
                                "PreconditionFailed",
                                "At least one of the pre-conditions you specified did not hold",
                                rid,
                            )
                        }
                        // `If-Match`: written only over the object with that ETag; 412 when it
                        // has another (botocore `s3 PutObjectRequest.IfMatch`), 404 NoSuchKey when
                        // there is none (the sandbox's reading of the S3 User Guide, "How to prevent
                        // object overwrites with conditional writes"; converge reads both as "not yours").
                        Some(_) if headers.get("if-match").is_some() && !b.objects.contains_key(&key) => {
                            error(404, "NoSuchKey", "The specified key does not exist.", rid)
                        }
                        Some(_)
                            if headers.get("if-match").is_some_and(|v| {
                                b.objects.get(&key).is_some_and(|o| v.to_str().ok() != Some(o.etag.as_str()))
                            }) =>
                        {
                            error(
                                412,
                                "PreconditionFailed",
                                "At least one of the pre-conditions you specified did not hold",
                                rid,
                            )
                        }
                        Some(data) => {
                            let tag = etag(&data);
                            b.objects.insert(key, Object { body: data, etag: tag.clone(), modified: ctx.now });
                            S3Response { status: 200, headers: vec![("etag", tag)], body: Vec::new() }
                        }
                    }
                }
            },
        ),
        ("GET" | "HEAD", Some(key)) => (if method == Method::HEAD { "HeadObject" } else { "GetObject" }, {
            match world.s3.buckets.get(&bucket).map(|b| b.objects.get(&key)) {
                None => error(404, "NoSuchBucket", "The specified bucket does not exist", rid),
                Some(None) => error(404, "NoSuchKey", "The specified key does not exist.", rid),
                Some(Some(object)) => S3Response {
                    status: 200,
                    headers: vec![
                        ("etag", object.etag.clone()),
                        ("last-modified", http_date(object.modified)),
                        ("content-length", object.body.len().to_string()),
                    ],
                    body: if method == Method::HEAD { Vec::new() } else { object.body.clone() },
                },
            }
        }),
        ("DELETE", Some(key)) => (
            "DeleteObject",
            match world.s3.buckets.get_mut(&bucket) {
                None => error(404, "NoSuchBucket", "The specified bucket does not exist", rid),
                Some(b) => {
                    b.objects.remove(&key);
                    S3Response { status: 204, headers: Vec::new(), body: Vec::new() }
                }
            },
        ),
        _ => (
            "Unknown",
            error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.", rid),
        ),
    };
    (operation.to_owned(), response)
}

fn percent_decode(text: &str) -> String {
    form_urlencoded::parse(format!("k={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map_or_else(|| text.to_owned(), |(_, v)| v.into_owned())
}

/// RFC 7231 date, as `Last-Modified` carries it.
fn http_date(epoch_seconds: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let iso = iso8601(epoch_seconds);
    let (year, month, day) = (&iso[0..4], iso[5..7].parse::<usize>().unwrap_or(1), &iso[8..10]);
    let weekday = DAYS[usize::try_from((epoch_seconds / 86_400) % 7).unwrap_or(0)];
    format!("{weekday}, {day} {} {year} {} GMT", MONTHS[month - 1], &iso[11..19])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_and_dates() {
        let body = b"5;chunk-signature=abc\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n";
        assert_eq!(decode_chunked(body).as_deref(), Some(&b"hello world"[..]));
        assert_eq!(decode_chunked(b"zz\r\n"), None);
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_795_000_000), "Wed, 18 Nov 2026 11:06:40 GMT");
    }
}
