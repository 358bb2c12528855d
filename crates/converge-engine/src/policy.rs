//! Whether and when to try a failed call again: decided by the error's class
//! alone, apart from the step (kube-runtime's `error_policy`).

use std::time::Duration;

use converge_executor::ErrorClass;
use converge_ops::StepId;

/// What to do after a failed call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Retry(Duration),
    GiveUp,
}

/// Exponential backoff with jitter, bounded in total time, by error class.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// The first delay; each failure in a row doubles it.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// How long one step keeps retrying throttling, 5xx and conflicts.
    pub max_elapsed: Duration,
    /// How long a resource may stay not found: AWS is eventually consistent
    /// right after a create (an EC2 group, an IAM role), not longer.
    pub not_found_window: Duration,
    /// How long another service may not see a new IAM role or instance
    /// profile (terraform-provider-aws waits 2 minutes: `internal/service/iam/wait.go`,
    /// `propagationTimeout`).
    pub propagation_window: Duration,
    /// How many times in a row an endpoint may answer something that is not
    /// AWS before the step fails (a proxy's error page does not clear by waiting).
    pub unexpected_attempts: u32,
    /// Seeds the jitter, so a run can be replayed.
    pub jitter_seed: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(10 * 60),
            not_found_window: Duration::from_secs(60),
            propagation_window: Duration::from_secs(2 * 60),
            unexpected_attempts: 3,
            jitter_seed: 0x5eed,
        }
    }
}

impl RetryPolicy {
    /// The decision after the `failures`-th failure in a row of step `step`,
    /// `elapsed` after the step began.
    pub fn decide(&self, class: ErrorClass, failures: u32, elapsed: Duration, step: StepId) -> Decision {
        let window = match class {
            // AWS asked to slow down, or stumbled: the same call can succeed.
            ErrorClass::Throttled | ErrorClass::Transient => self.max_elapsed,
            // In use, or not visible yet to another service (a new role): it may clear.
            ErrorClass::Conflict => self.max_elapsed,
            ErrorClass::NotFound => self.not_found_window,
            ErrorClass::Propagating => self.propagation_window,
            // Not AWS answering: a few tries, in case it was a blip of a proxy.
            ErrorClass::Unexpected if failures >= self.unexpected_attempts => return Decision::GiveUp,
            ErrorClass::Unexpected => self.max_elapsed,
            // Retrying cannot fix a request AWS rejects or credentials that may not.
            ErrorClass::Denied | ErrorClass::Invalid | ErrorClass::Fatal => return Decision::GiveUp,
        };
        let delay = self.delay(class, failures, step);
        if elapsed + delay > window { Decision::GiveUp } else { Decision::Retry(delay) }
    }

    /// `base · 2^(failures-1)`, capped, with "equal jitter": half fixed, half
    /// spread by a hash of the step and the attempt, so steps throttled
    /// together do not retry together.
    fn delay(&self, class: ErrorClass, failures: u32, step: StepId) -> Duration {
        // Throttling asks for more room than a blip.
        let base = if class == ErrorClass::Throttled { self.base_delay * 2 } else { self.base_delay };
        let exponential = base.saturating_mul(1 << failures.saturating_sub(1).min(16));
        let capped = exponential.min(self.max_delay);
        let half = capped / 2;
        let spread = u32::try_from(mix(self.jitter_seed, u64::from(step.0), u64::from(failures)) % 1000).unwrap_or(0);
        half + half.mul_f64(f64::from(spread) / 1000.0)
    }
}

/// SplitMix64 over the inputs: deterministic, well spread.
fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z = seed ^ a.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ b.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_decide() {
        let policy = RetryPolicy::default();
        let step = StepId(1);
        for class in [ErrorClass::Denied, ErrorClass::Invalid, ErrorClass::Fatal] {
            assert_eq!(policy.decide(class, 1, Duration::ZERO, step), Decision::GiveUp, "{class}");
        }
        for class in [ErrorClass::Throttled, ErrorClass::Transient, ErrorClass::Conflict, ErrorClass::NotFound] {
            assert!(matches!(policy.decide(class, 1, Duration::ZERO, step), Decision::Retry(_)), "{class}");
        }
        // Not found clears within a minute or not at all; throttling is given ten.
        let late = Duration::from_secs(120);
        assert_eq!(policy.decide(ErrorClass::NotFound, 5, late, step), Decision::GiveUp);
        assert!(matches!(policy.decide(ErrorClass::Throttled, 5, late, step), Decision::Retry(_)));
        assert_eq!(policy.decide(ErrorClass::Throttled, 30, Duration::from_secs(599), step), Decision::GiveUp);
    }

    #[test]
    fn delays_grow_are_capped_and_spread() {
        let policy = RetryPolicy::default();
        let delay = |failures, step| match policy.decide(ErrorClass::Transient, failures, Duration::ZERO, StepId(step))
        {
            Decision::Retry(delay) => delay,
            Decision::GiveUp => panic!("transient errors are retried"),
        };
        assert!(delay(1, 1) >= Duration::from_millis(500) && delay(1, 1) <= Duration::from_secs(1));
        assert!(delay(3, 1) >= Duration::from_secs(2) && delay(3, 1) <= Duration::from_secs(4));
        assert!(delay(12, 1) <= Duration::from_secs(30), "capped");
        assert_ne!(delay(3, 1), delay(3, 2), "two steps failing together do not retry in step");
    }
}
