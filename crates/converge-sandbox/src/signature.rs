//! How old a signed request may be when it arrives. AWS refuses a request
//! whose Signature Version 4 time stamp (`X-Amz-Date`) is too old: "in most
//! cases, a request must reach AWS within five minutes of the time stamp in
//! the request" (IAM User Guide, "AWS Signature Version 4 for API
//! requests"); EC2's and S3's error lists allow 15 minutes (`RequestExpired`,
//! `RequestTimeTooSkewed`). The sandbox holds every service to the stricter
//! five minutes (`Config::signature_expiry_seconds`), so that a client that
//! signs a request and then holds it back (waiting for a rate limit's token,
//! as aws-sdk-go once did: aws/aws-sdk-go#2336) is caught here.
//!
//! A request without `X-Amz-Date` (an unsigned probe, a test's raw request)
//! is not checked: the sandbox accepts any signature.

use axum::http::HeaderMap;

use crate::error::ApiError;

/// The error a request signed at its `X-Amz-Date` gets at `now` (seconds
/// since the epoch) when that is more than `expiry` seconds ago.
pub(crate) fn expired(headers: &HeaderMap, service: &str, expiry: f64, now: f64) -> Option<ApiError> {
    let stamp = headers.get("x-amz-date")?.to_str().ok()?;
    let signed = parse(stamp)?;
    if now - signed <= expiry {
        return None;
    }
    let basic = |seconds: f64| crate::xml::iso8601(seconds.max(0.0) as u64).replace(['-', ':'], "");
    let minutes = expiry / 60.0;
    let message = format!(
        "Signature expired: {stamp} is now earlier than {} ({} - {minutes} min.)",
        basic(now - expiry),
        basic(now)
    );
    Some(match service {
        "ec2" => ApiError::bad_request("RequestExpired", "Request has expired."),
        "s3" => ApiError::new(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        ),
        "iam" | "sts" => ApiError::new(403, "SignatureDoesNotMatch", message),
        _ => ApiError::bad_request("InvalidSignatureException", message),
    })
}

/// `20261207T031805Z` as seconds since the epoch.
fn parse(stamp: &str) -> Option<f64> {
    let digits = |range: std::ops::Range<usize>| stamp.get(range)?.parse::<i64>().ok();
    if stamp.len() != 16 || stamp.as_bytes()[8] != b'T' || !stamp.ends_with('Z') {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (hour, minute, second) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(seconds as f64)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(stamp: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-date", stamp.parse().expect("a header value"));
        headers
    }

    #[test]
    fn a_request_older_than_the_expiry_is_refused_in_each_services_words() {
        let now = parse("20261207T031805Z").expect("parses");
        assert_eq!(crate::xml::iso8601(now as u64), "2026-12-07T03:18:05Z");
        assert!(expired(&signed("20261207T031305Z"), "emr", 300.0, now).is_none(), "five minutes is still in time");
        let late = signed("20261207T031304Z");
        let emr = expired(&late, "emr", 300.0, now).expect("refused");
        assert_eq!((emr.status, emr.code.as_str()), (400, "InvalidSignatureException"));
        assert_eq!(
            emr.message,
            "Signature expired: 20261207T031304Z is now earlier than 20261207T031305Z (20261207T031805Z - 5 min.)"
        );
        assert_eq!(expired(&late, "iam", 300.0, now).map(|e| e.code), Some("SignatureDoesNotMatch".into()));
        assert_eq!(expired(&late, "ec2", 300.0, now).map(|e| e.code), Some("RequestExpired".into()));
        assert_eq!(expired(&late, "s3", 300.0, now).map(|e| e.code), Some("RequestTimeTooSkewed".into()));
        assert!(expired(&HeaderMap::new(), "emr", 300.0, now).is_none(), "unsigned: not checked");
        assert!(expired(&signed("yesterday"), "emr", 300.0, now).is_none());
    }
}
