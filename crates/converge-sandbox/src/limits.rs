//! Throttling by rate, as AWS throttles: a token bucket per published rate
//! (`converge_rates`), per sandbox (one account and region). A call is
//! answered when every bucket it draws from holds a token, and takes one from
//! each; otherwise it gets the service's throttling error and takes nothing.
//! Buckets start full and refill in real time: AWS's rates are per second of
//! the wall clock, whatever the sandbox's `time_scale`.

use std::collections::BTreeMap;
use std::time::Instant;

use converge_rates::{Bucket, Call};

use crate::error::ApiError;
use crate::query::Params;

pub(crate) struct Limits {
    /// `None`: no throttling by rate; otherwise AWS's rates times this.
    scale: Option<f64>,
    started: Instant,
    buckets: BTreeMap<String, Bucket>,
}

impl Limits {
    pub(crate) fn new(scale: Option<f64>) -> Limits {
        Limits { scale, started: Instant::now(), buckets: BTreeMap::new() }
    }

    /// The throttling error `call` gets, if a bucket it draws from is empty.
    pub(crate) fn throttle(&mut self, call: &Call<'_>) -> Option<ApiError> {
        let scale = self.scale?;
        let now = self.started.elapsed().as_secs_f64();
        let draws = converge_rates::buckets(call);
        for draw in &draws {
            let bucket =
                self.buckets.entry(draw.key.clone()).or_insert_with(|| Bucket::full(draw.rate.scaled(scale), now));
            if bucket.wait(now) > 0.0 {
                return Some(crate::faults::throttled(call.service));
            }
        }
        for draw in &draws {
            if let Some(bucket) = self.buckets.get_mut(&draw.key) {
                let _ = bucket.take(now);
            }
        }
        None
    }
}

/// An EC2 call without a filter or a pagination parameter (a few Describe
/// actions then draw from a smaller bucket).
pub(crate) fn unfiltered(params: &Params) -> bool {
    !params.iter().any(|(name, _)| name.starts_with("Filter.") || name == "MaxResults" || name == "NextToken")
}
