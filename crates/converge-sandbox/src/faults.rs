//! Fault injection: make chosen operations fail or slow down, as AWS does under load.

use serde::{Deserialize, Serialize};

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The service's throttling error (`ThrottlingException`, `RequestLimitExceeded`, `Throttling`).
    Throttle,
    /// HTTP 500 with an internal error.
    InternalError,
    /// HTTP 503 service unavailable.
    Unavailable,
    /// Answer normally after `latency_ms`.
    Latency,
    /// Break the connection without a complete response.
    Drop,
}

/// A rule: for `service` (and `operation`, or every operation), do `kind`
/// for the next `times` matching requests (forever when absent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub service: String,
    #[serde(default)]
    pub operation: Option<String>,
    pub kind: FaultKind,
    #[serde(default)]
    pub times: Option<u32>,
    #[serde(default)]
    pub latency_ms: Option<u64>,
}

impl Fault {
    fn matches(&self, service: &str, operation: &str) -> bool {
        self.service.eq_ignore_ascii_case(service) && self.operation.as_deref().is_none_or(|op| op == operation)
    }
}

/// Takes the fault that applies to a request, counting it down.
pub(crate) fn take(faults: &mut Vec<Fault>, service: &str, operation: &str) -> Option<Fault> {
    let index = faults.iter().position(|f| f.matches(service, operation))?;
    let fault = faults[index].clone();
    if let Some(times) = &mut faults[index].times {
        *times = times.saturating_sub(1);
        if *times == 0 {
            faults.remove(index);
        }
    }
    Some(fault)
}

/// How each service spells throttling.
pub(crate) fn throttling_code(service: &str) -> &'static str {
    match service {
        "ec2" => "RequestLimitExceeded",
        "iam" | "sts" => "Throttling",
        "s3" => "SlowDown",
        _ => "ThrottlingException",
    }
}
