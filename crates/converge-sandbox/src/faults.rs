//! Fault injection: make chosen operations fail or slow down, as AWS does under load.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

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

/// The error a fault of `kind` answers with, spelt the way `service` spells it;
/// `None` for faults that do not answer with an error (latency, a dropped connection).
pub(crate) fn error(service: &str, kind: FaultKind) -> Option<ApiError> {
    Some(match kind {
        FaultKind::Throttle => {
            let (status, code) = match service {
                "ec2" => (503, "RequestLimitExceeded"),
                "s3" => (503, "SlowDown"),
                "iam" | "sts" => (400, "Throttling"),
                _ => (400, "ThrottlingException"),
            };
            ApiError::new(status, code, "Rate exceeded")
        }
        FaultKind::InternalError => {
            let code = if matches!(service, "ec2" | "s3") { "InternalError" } else { "InternalFailure" };
            ApiError::new(500, code, "We encountered an internal error. Please try again.")
        }
        FaultKind::Unavailable => {
            ApiError::new(503, "ServiceUnavailable", "The service is unavailable. Please try again shortly.")
        }
        FaultKind::Latency | FaultKind::Drop => return None,
    })
}

/// Parses `SERVICE[:OPERATION]=KIND[,times=N][,ms=N]`, the form of `converge sandbox --fault`:
/// `iam:GetRole=throttle,times=2`, `emr=latency,ms=500`, `s3=drop`.
impl std::str::FromStr for Fault {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let usage = "write SERVICE[:OPERATION]=KIND[,times=N][,ms=N], e.g. `iam:GetRole=throttle,times=2`";
        let (target, spec) = text.split_once('=').ok_or_else(|| format!("`{text}` has no `=`; {usage}"))?;
        let (service, operation) = match target.split_once(':') {
            Some((service, operation)) => (service, Some(operation.to_owned())),
            None => (target, None),
        };
        const SERVICES: [&str; 7] = ["emr", "sagemaker", "servicecatalog", "ec2", "iam", "s3", "sts"];
        if !SERVICES.contains(&service) {
            return Err(format!("`{service}` is not a sandbox service ({})", SERVICES.join(", ")));
        }
        let mut parts = spec.split(',');
        let kind = match parts.next().unwrap_or_default() {
            "throttle" => FaultKind::Throttle,
            "internal_error" => FaultKind::InternalError,
            "unavailable" => FaultKind::Unavailable,
            "latency" => FaultKind::Latency,
            "drop" => FaultKind::Drop,
            other => {
                return Err(format!(
                    "`{other}` is not a fault kind (throttle, internal_error, unavailable, latency, drop)"
                ));
            }
        };
        let mut fault = Fault { service: service.to_owned(), operation, kind, times: None, latency_ms: None };
        for part in parts {
            match part.split_once('=') {
                Some(("times", n)) => {
                    fault.times = Some(n.parse().map_err(|_| format!("`times={n}` needs a whole number"))?)
                }
                Some(("ms", n)) => {
                    fault.latency_ms = Some(n.parse().map_err(|_| format!("`ms={n}` needs a whole number"))?)
                }
                _ => return Err(format!("`{part}` is not `times=N` or `ms=N`; {usage}")),
            }
        }
        Ok(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse() {
        let fault: Fault = "iam:GetRole=throttle,times=2".parse().expect("parses");
        assert_eq!(
            fault,
            Fault {
                service: "iam".into(),
                operation: Some("GetRole".into()),
                kind: FaultKind::Throttle,
                times: Some(2),
                latency_ms: None
            }
        );
        let latency: Fault = "emr=latency,ms=500".parse().expect("parses");
        assert_eq!((latency.kind, latency.latency_ms, latency.operation), (FaultKind::Latency, Some(500), None));
        assert!("lambda=drop".parse::<Fault>().unwrap_err().contains("not a sandbox service"));
        assert!("iam=explode".parse::<Fault>().unwrap_err().contains("not a fault kind"));
        assert!("iam".parse::<Fault>().unwrap_err().contains("no `=`"));
    }

    #[test]
    fn counted_faults_run_out() {
        let mut faults = vec![
            "iam:GetRole=throttle,times=2".parse::<Fault>().expect("parses"),
            "iam=unavailable".parse().expect("parses"),
        ];
        assert_eq!(take(&mut faults, "iam", "GetRole").map(|f| f.kind), Some(FaultKind::Throttle));
        assert_eq!(take(&mut faults, "iam", "GetRole").map(|f| f.kind), Some(FaultKind::Throttle));
        assert_eq!(
            take(&mut faults, "iam", "GetRole").map(|f| f.kind),
            Some(FaultKind::Unavailable),
            "then the next rule applies"
        );
        assert_eq!(take(&mut faults, "ec2", "DescribeVpcs"), None);
    }
}
