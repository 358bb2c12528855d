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
    /// Carry the request out, then break the connection instead of
    /// answering: a timeout after AWS did the work, which a client can only
    /// tell from "never arrived" by looking.
    LoseResponse,
    /// HTTP 500 with an HTML page, as a proxy or load balancer in front of the
    /// endpoint answers: not an AWS error at all.
    Html,
}

/// A rule: for `service` (and `operation`, or every operation), do `kind`
/// for the next `times` matching requests (forever when absent), each with
/// probability `rate` (always when absent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    pub service: String,
    #[serde(default)]
    pub operation: Option<String>,
    pub kind: FaultKind,
    #[serde(default)]
    pub times: Option<u32>,
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// The probability, in 0..=1, that a matching request is hit; the draws
    /// come from the sandbox's seed, so a run with the same requests replays.
    #[serde(default)]
    pub rate: Option<f64>,
}

/// The sandbox's own random draws: splitmix64, seeded from `Config::seed`.
/// Not for cryptography; for replayable "10% of requests are throttled".
#[derive(Debug)]
pub(crate) struct Draws(u64);

impl Draws {
    pub(crate) fn new(seed: u64) -> Self {
        Draws(seed)
    }

    /// A uniform draw in `[0, 1)`.
    pub(crate) fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The active rules and the draws their rates use.
#[derive(Debug)]
pub(crate) struct Faults {
    pub(crate) rules: Vec<Fault>,
    pub(crate) draws: Draws,
}

impl Fault {
    fn matches(&self, service: &str, operation: &str) -> bool {
        self.service.eq_ignore_ascii_case(service) && self.operation.as_deref().is_none_or(|op| op == operation)
    }
}

/// Takes the fault that applies to a request, counting it down: the first
/// matching rule that fires (a rule with a `rate` fires on a draw below it;
/// when it does not, the next matching rule is tried).
pub(crate) fn take(faults: &mut Faults, service: &str, operation: &str) -> Option<Fault> {
    let Faults { rules, draws } = faults;
    let index =
        rules.iter().position(|f| f.matches(service, operation) && f.rate.is_none_or(|rate| draws.next() < rate))?;
    let fault = rules[index].clone();
    if let Some(times) = &mut rules[index].times {
        *times = times.saturating_sub(1);
        if *times == 0 {
            rules.remove(index);
        }
    }
    Some(fault)
}

/// The error a fault of `kind` answers with, spelt the way `service` spells it;
/// `None` for faults that do not answer with an error (latency, a dropped connection).
pub(crate) fn error(service: &str, kind: FaultKind) -> Option<ApiError> {
    Some(match kind {
        FaultKind::Throttle => throttled(service),
        FaultKind::InternalError => {
            let code = if matches!(service, "ec2" | "s3") { "InternalError" } else { "InternalFailure" };
            ApiError::new(500, code, "We encountered an internal error. Please try again.")
        }
        FaultKind::Unavailable => {
            ApiError::new(503, "ServiceUnavailable", "The service is unavailable. Please try again shortly.")
        }
        FaultKind::Latency | FaultKind::Drop | FaultKind::LoseResponse | FaultKind::Html => return None,
    })
}

/// The service's own throttling answer (docs/aws-fidelity.md, "Throttling"):
/// EC2 `RequestLimitExceeded` (503, "Request limit exceeded."), S3 `SlowDown`
/// (503), IAM and STS `Throttling` (400), the JSON services
/// `ThrottlingException` (400), each "Rate exceeded" but EC2's and S3's.
pub(crate) fn throttled(service: &str) -> ApiError {
    match service {
        "ec2" => ApiError::new(503, "RequestLimitExceeded", "Request limit exceeded."),
        "s3" => ApiError::new(503, "SlowDown", "Please reduce your request rate."),
        "iam" | "sts" => ApiError::new(400, "Throttling", "Rate exceeded"),
        _ => ApiError::new(400, "ThrottlingException", "Rate exceeded"),
    }
}

/// Parses `SERVICE[:OPERATION]=KIND[,times=N][,ms=N][,rate=P]`, the form of `converge sandbox --fault`:
/// `iam:GetRole=throttle,times=2`, `emr=latency,ms=500`, `s3=drop`, `ec2=throttle,rate=0.1`.
impl std::str::FromStr for Fault {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let usage = "write SERVICE[:OPERATION]=KIND[,times=N][,ms=N][,rate=P], e.g. `iam:GetRole=throttle,times=2`";
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
            "lose_response" => FaultKind::LoseResponse,
            "html" => FaultKind::Html,
            other => {
                return Err(format!(
                    "`{other}` is not a fault kind (throttle, internal_error, unavailable, latency, drop, lose_response, html)"
                ));
            }
        };
        let mut fault =
            Fault { service: service.to_owned(), operation, kind, times: None, latency_ms: None, rate: None };
        for part in parts {
            match part.split_once('=') {
                Some(("times", n)) => {
                    fault.times = Some(n.parse().map_err(|_| format!("`times={n}` needs a whole number"))?)
                }
                Some(("ms", n)) => {
                    fault.latency_ms = Some(n.parse().map_err(|_| format!("`ms={n}` needs a whole number"))?)
                }
                Some(("rate", p)) => match p.parse::<f64>() {
                    Ok(rate) if (0.0..=1.0).contains(&rate) => fault.rate = Some(rate),
                    _ => return Err(format!("`rate={p}` needs a probability between 0 and 1, e.g. `rate=0.1`")),
                },
                _ => return Err(format!("`{part}` is not `times=N`, `ms=N` or `rate=P`; {usage}")),
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
                latency_ms: None,
                rate: None,
            }
        );
        let latency: Fault = "emr=latency,ms=500".parse().expect("parses");
        assert_eq!((latency.kind, latency.latency_ms, latency.operation), (FaultKind::Latency, Some(500), None));
        assert!("lambda=drop".parse::<Fault>().unwrap_err().contains("not a sandbox service"));
        assert!("iam=explode".parse::<Fault>().unwrap_err().contains("not a fault kind"));
        assert!("iam".parse::<Fault>().unwrap_err().contains("no `=`"));
        let rated: Fault = "ec2=throttle,rate=0.1".parse().expect("parses");
        assert_eq!(rated.rate, Some(0.1));
        assert!("ec2=throttle,rate=2".parse::<Fault>().unwrap_err().contains("between 0 and 1"));
    }

    fn faults(rules: &[&str], seed: u64) -> Faults {
        Faults { rules: rules.iter().map(|r| r.parse().expect("parses")).collect(), draws: Draws::new(seed) }
    }

    #[test]
    fn rated_faults_hit_about_their_share_and_replay_with_the_seed() {
        let hits = |seed| -> Vec<bool> {
            let mut active = faults(&["ec2=throttle,rate=0.1"], seed);
            (0..10_000).map(|_| take(&mut active, "ec2", "DescribeVpcs").is_some()).collect()
        };
        let first = hits(7);
        let share = first.iter().filter(|hit| **hit).count();
        assert!((800..1200).contains(&share), "{share} of 10000 hit at rate 0.1");
        assert_eq!(first, hits(7), "the same seed, the same hits");
        assert_ne!(first, hits(8), "another seed, other hits");
    }

    #[test]
    fn a_rule_that_does_not_fire_lets_the_next_one_apply() {
        let mut active = faults(&["iam=throttle,rate=0", "iam=unavailable"], 1);
        assert_eq!(take(&mut active, "iam", "GetRole").map(|f| f.kind), Some(FaultKind::Unavailable));
    }

    #[test]
    fn counted_faults_run_out() {
        let mut faults = faults(&["iam:GetRole=throttle,times=2", "iam=unavailable"], 0);
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
