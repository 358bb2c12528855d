//! AWS's published API request rates, as token buckets, and the arithmetic
//! of a bucket.
//!
//! AWS throttles every API per account and region with token buckets: a
//! bucket holds at most `burst` tokens, gains `refill` tokens a second, and
//! each request takes one; a request that finds the bucket empty is refused
//! with the service's throttling error. [`buckets`] says which buckets a call
//! draws from, with the numbers AWS publishes and where it publishes them:
//!
//! - **EC2**: one bucket per API action, sized by its category ("Request
//!   throttling for the Amazon EC2 API").
//! - **EMR**: one bucket per API, and one for all of EMR's APIs together
//!   (the EMR Management Guide's service quotas, and Service Quotas'
//!   defaults for `elasticmapreduce`).
//! - **S3**: per bucket (AWS says per partitioned prefix), 3,500 writes and
//!   5,500 reads a second ("Best practices design patterns: optimizing
//!   Amazon S3 performance").
//! - **IAM, STS, SageMaker, Service Catalog** publish no rates: no bucket
//!   here. They throttle all the same, with their own errors.
//!
//! The sandbox throttles by this table; converge paces its own calls by it,
//! so that a run at default settings meets no throttling at all.
//!
//! **Architecture invariant:** data and arithmetic only: no dependencies, no
//! I/O, no clock (the time is an argument), no async runtime, no AWS SDK.

use std::fmt;

/// A token bucket's size and refill: at most `burst` tokens, `refill` more a second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub burst: f64,
    pub refill: f64,
}

impl Rate {
    const fn new(burst: f64, refill: f64) -> Rate {
        Rate { burst, refill }
    }

    /// This rate with burst and refill multiplied by `factor` (after a
    /// quota increase, or to run a test faster); the burst stays at least one.
    pub fn scaled(self, factor: f64) -> Rate {
        Rate { burst: (self.burst * factor).max(1.0), refill: self.refill * factor }
    }
}

/// Where AWS publishes a rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// "Request throttling for the Amazon EC2 API".
    Ec2Throttling,
    /// The EMR Management Guide's "What are Amazon EMR service quotas" and
    /// the per-API defaults Service Quotas gives for `elasticmapreduce`.
    EmrApiQuota,
    /// The EMR quotas "applied at the account level": all APIs together.
    EmrAccountQuota,
    /// "Best practices design patterns: optimizing Amazon S3 performance".
    S3Prefix,
}

impl Source {
    /// The page, for people.
    pub fn citation(self) -> &'static str {
        match self {
            Source::Ec2Throttling => {
                "Amazon EC2 API Reference, \"Request throttling for the Amazon EC2 API\" (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html)"
            }
            Source::EmrApiQuota => {
                "Amazon EMR Management Guide, \"What are Amazon EMR service quotas\" (https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-service-limits-what-are.html); Service Quotas defaults for elasticmapreduce"
            }
            Source::EmrAccountQuota => {
                "Amazon EMR Management Guide, \"Amazon EMR service quotas: strategies\" (https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-service-limits-strategy.html): quotas L-283CCA2A and L-432FAB44"
            }
            Source::S3Prefix => {
                "Amazon S3 User Guide, \"Best practices design patterns: optimizing Amazon S3 performance\" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html)"
            }
        }
    }
}

/// One bucket a call draws from: its key (unique per account and region),
/// its rate, and where the rate is published.
#[derive(Clone, Debug, PartialEq)]
pub struct Draw {
    pub key: String,
    pub rate: Rate,
    pub source: Source,
}

/// A call, as far as its buckets depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call<'a> {
    /// The endpoint prefix: `ec2`, `emr`, `s3`, `iam`, `sts`, `sagemaker`, `servicecatalog`.
    pub service: &'a str,
    /// The API operation, as in the service's model (`DescribeCluster`).
    pub operation: &'a str,
    /// EC2: the call has no filter and no pagination parameter (a few
    /// Describe actions then draw from a smaller bucket).
    pub unfiltered: bool,
    /// S3: the bucket the call is on.
    pub bucket: Option<&'a str>,
}

impl fmt::Display for Call<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.service, self.operation)
    }
}

/// The buckets `call` draws from under AWS's published rates: none for the
/// services that publish none. A call is answered only when each has a token.
pub fn buckets(call: &Call<'_>) -> Vec<Draw> {
    match call.service {
        "ec2" => {
            let (rate, unfiltered) = ec2(call.operation, call.unfiltered);
            let key = if unfiltered {
                format!("ec2:{}:unfiltered", call.operation)
            } else {
                format!("ec2:{}", call.operation)
            };
            vec![Draw { key, rate, source: Source::Ec2Throttling }]
        }
        "emr" => {
            let mut draws: Vec<Draw> = emr(call.operation)
                .map(|rate| Draw { key: format!("emr:{}", call.operation), rate, source: Source::EmrApiQuota })
                .into_iter()
                .collect();
            draws.push(Draw { key: "emr:*".into(), rate: EMR_ACCOUNT, source: Source::EmrAccountQuota });
            draws
        }
        "s3" => {
            let Some(bucket) = call.bucket else { return Vec::new() };
            let reads = ["GetObject", "HeadObject", "ListObjectsV2", "ListObjects", "GetBucketLocation"];
            let (kind, rate) = if reads.contains(&call.operation) { ("read", S3_READS) } else { ("write", S3_WRITES) };
            vec![Draw { key: format!("s3:{bucket}:{kind}"), rate, source: Source::S3Prefix }]
        }
        _ => Vec::new(),
    }
}

/// EC2's categories ("Request throttling for the Amazon EC2 API").
const EC2_NON_MUTATING: Rate = Rate::new(100.0, 20.0);
const EC2_UNFILTERED: Rate = Rate::new(50.0, 10.0);
const EC2_MUTATING: Rate = Rate::new(50.0, 5.0);
const EC2_RESOURCE_INTENSIVE: Rate = Rate::new(50.0, 5.0);

/// Describe actions whose unfiltered, unpaginated calls draw from the smaller bucket.
const EC2_UNFILTERED_ACTIONS: &[&str] = &[
    "DescribeInstances",
    "DescribeInstanceStatus",
    "DescribeNetworkInterfaces",
    "DescribeSecurityGroups",
    "DescribeSnapshots",
    "DescribeSpotInstanceRequests",
    "DescribeVolumes",
];

const EC2_RESOURCE_INTENSIVE_ACTIONS: &[&str] = &[
    "AcceptVpcPeeringConnection",
    "AuthorizeSecurityGroupIngress",
    "CancelSpotInstanceRequests",
    "CreateKeyPair",
    "CreateVpcPeeringConnection",
    "DeleteVpcPeeringConnection",
    "RejectVpcPeeringConnection",
    "RevokeSecurityGroupIngress",
    "RequestSpotInstances",
];

/// Actions the page gives their own bucket.
const EC2_OWN: &[(&str, Rate)] = &[
    ("CreateTags", Rate::new(100.0, 10.0)),
    ("DeleteTags", Rate::new(100.0, 10.0)),
    ("CreateVpcEndpoint", Rate::new(4.0, 0.3)),
    ("DeleteVpcEndpoints", Rate::new(4.0, 0.3)),
    ("ModifyVpcEndpoint", Rate::new(4.0, 0.3)),
    ("RunInstances", Rate::new(5.0, 2.0)),
    ("StartInstances", Rate::new(5.0, 2.0)),
    ("TerminateInstances", Rate::new(100.0, 5.0)),
    ("CreateNetworkInterface", Rate::new(100.0, 5.0)),
    ("CreateNatGateway", Rate::new(10.0, 1.0)),
    ("CreateDefaultVpc", Rate::new(1.0, 1.0)),
    ("CreateDefaultSubnet", Rate::new(1.0, 1.0)),
];

/// An EC2 action's rate, and whether it is the unfiltered bucket's.
fn ec2(operation: &str, unfiltered: bool) -> (Rate, bool) {
    if let Some((_, rate)) = EC2_OWN.iter().find(|(name, _)| *name == operation) {
        return (*rate, false);
    }
    if EC2_RESOURCE_INTENSIVE_ACTIONS.contains(&operation) {
        return (EC2_RESOURCE_INTENSIVE, false);
    }
    if unfiltered && EC2_UNFILTERED_ACTIONS.contains(&operation) {
        return (EC2_UNFILTERED, true);
    }
    let reads = ["Describe", "List", "Search", "Get"];
    if reads.iter().any(|prefix| operation.starts_with(prefix)) {
        (EC2_NON_MUTATING, false)
    } else {
        (EC2_MUTATING, false)
    }
}

/// All of EMR's APIs together, per account and region.
const EMR_ACCOUNT: Rate = Rate::new(25.0, 5.0);

/// EMR's per-API quotas (burst, refill a second): Service Quotas' defaults.
const EMR_APIS: &[(&str, Rate)] = &[
    ("AddInstanceFleet", Rate::new(5.0, 0.5)),
    ("AddInstanceGroups", Rate::new(5.0, 0.2)),
    ("AddJobFlowSteps", Rate::new(10.0, 0.5)),
    ("AddTags", Rate::new(5.0, 0.5)),
    ("CancelSteps", Rate::new(10.0, 0.5)),
    ("DescribeCluster", Rate::new(10.0, 1.0)),
    ("DescribeJobFlows", Rate::new(20.0, 0.2)),
    ("DescribeStep", Rate::new(10.0, 0.5)),
    ("ListBootstrapActions", Rate::new(10.0, 1.0)),
    ("ListClusters", Rate::new(20.0, 0.5)),
    ("ListInstanceFleets", Rate::new(5.0, 0.5)),
    ("ListInstanceGroups", Rate::new(10.0, 1.0)),
    ("ListInstances", Rate::new(10.0, 0.5)),
    ("ListSteps", Rate::new(10.0, 0.5)),
    ("ModifyCluster", Rate::new(10.0, 0.5)),
    ("ModifyInstanceFleet", Rate::new(5.0, 0.5)),
    ("ModifyInstanceGroups", Rate::new(5.0, 0.5)),
    ("RemoveTags", Rate::new(5.0, 0.5)),
    ("RunJobFlow", Rate::new(10.0, 0.5)),
    ("SetTerminationProtection", Rate::new(5.0, 0.2)),
    ("SetVisibleToAllUsers", Rate::new(5.0, 0.2)),
    ("TerminateJobFlows", Rate::new(10.0, 0.5)),
];

fn emr(operation: &str) -> Option<Rate> {
    EMR_APIS.iter().find(|(name, _)| *name == operation).map(|(_, rate)| *rate)
}

/// S3, per partitioned prefix: "at least" these many a second (a bucket of
/// one second's worth).
const S3_WRITES: Rate = Rate::new(3500.0, 3500.0);
const S3_READS: Rate = Rate::new(5500.0, 5500.0);

/// Every published rate, for the documentation and the benches: (service,
/// operation or category, rate, source).
pub fn table() -> Vec<(&'static str, String, Rate, Source)> {
    let mut rows = vec![
        (
            "ec2",
            "non-mutating actions (Describe*, List*, Get*, Search*)".to_owned(),
            EC2_NON_MUTATING,
            Source::Ec2Throttling,
        ),
        (
            "ec2",
            format!("unfiltered and unpaginated: {}", EC2_UNFILTERED_ACTIONS.join(", ")),
            EC2_UNFILTERED,
            Source::Ec2Throttling,
        ),
        ("ec2", "mutating actions".to_owned(), EC2_MUTATING, Source::Ec2Throttling),
        (
            "ec2",
            format!("resource-intensive: {}", EC2_RESOURCE_INTENSIVE_ACTIONS.join(", ")),
            EC2_RESOURCE_INTENSIVE,
            Source::Ec2Throttling,
        ),
    ];
    rows.extend(EC2_OWN.iter().map(|(name, rate)| ("ec2", (*name).to_owned(), *rate, Source::Ec2Throttling)));
    rows.extend(EMR_APIS.iter().map(|(name, rate)| ("emr", (*name).to_owned(), *rate, Source::EmrApiQuota)));
    rows.push(("emr", "all APIs together".to_owned(), EMR_ACCOUNT, Source::EmrAccountQuota));
    rows.push(("s3", "PUT, COPY, POST, DELETE per prefix".to_owned(), S3_WRITES, Source::S3Prefix));
    rows.push(("s3", "GET, HEAD per prefix".to_owned(), S3_READS, Source::S3Prefix));
    rows
}

/// The least time a set of calls can take under the published rates,
/// whatever their order: for each bucket, the calls drawing from it beyond
/// its burst over its refill; the largest of these, and the bucket that sets it.
#[derive(Clone, Debug, PartialEq)]
pub struct Floor {
    pub seconds: f64,
    /// The bucket that sets it (`emr:ListInstanceFleets`), `None` when no
    /// bucket is drawn beyond its burst.
    pub bucket: Option<String>,
    /// The calls that drew from that bucket.
    pub calls: usize,
}

/// The rate floor of `calls` (see [`Floor`]), at AWS's rates times `scale`.
pub fn floor<'a>(calls: impl IntoIterator<Item = Call<'a>>, scale: f64) -> Floor {
    let mut drawn: std::collections::BTreeMap<String, (Rate, usize)> = std::collections::BTreeMap::new();
    for call in calls {
        for draw in buckets(&call) {
            drawn.entry(draw.key).or_insert((draw.rate.scaled(scale), 0)).1 += 1;
        }
    }
    let mut floor = Floor { seconds: 0.0, bucket: None, calls: 0 };
    for (key, (rate, calls)) in drawn {
        let beyond = calls as f64 - rate.burst;
        let seconds = if beyond <= 0.0 { 0.0 } else { beyond / rate.refill };
        if seconds > floor.seconds {
            floor = Floor { seconds, bucket: Some(key), calls };
        }
    }
    floor
}

/// A token bucket's state: its tokens as of `at` (seconds, any epoch).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    rate: Rate,
    tokens: f64,
    at: f64,
}

impl Bucket {
    /// A full bucket at `now`.
    pub fn full(rate: Rate, now: f64) -> Bucket {
        Bucket { rate, tokens: rate.burst, at: now }
    }

    fn refilled(&self, now: f64) -> f64 {
        let elapsed = (now - self.at).max(0.0);
        (self.tokens + elapsed * self.rate.refill).min(self.rate.burst)
    }

    /// The tokens at `now`.
    pub fn tokens(&self, now: f64) -> f64 {
        self.refilled(now)
    }

    /// How long from `now` until a token is there (0 when one is).
    pub fn wait(&self, now: f64) -> f64 {
        let tokens = self.refilled(now);
        if tokens >= 1.0 {
            0.0
        } else if self.rate.refill <= 0.0 {
            f64::INFINITY
        } else {
            (1.0 - tokens) / self.rate.refill
        }
    }

    /// Takes a token at `now`: `Err(wait)` when there is none yet.
    pub fn take(&mut self, now: f64) -> Result<(), f64> {
        let tokens = self.refilled(now);
        self.at = now.max(self.at);
        self.tokens = tokens;
        if tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(self.wait(now))
        }
    }

    /// Reserves the next token, whenever it comes: the seconds from `now`
    /// to wait before sending. Tokens go negative, so callers queue in order.
    pub fn reserve(&mut self, now: f64) -> f64 {
        let tokens = self.refilled(now);
        self.at = now.max(self.at);
        self.tokens = tokens - 1.0;
        if self.tokens >= 0.0 || self.rate.refill <= 0.0 { 0.0 } else { -self.tokens / self.rate.refill }
    }

    /// Empties the bucket at `now`, keeping what callers already reserved:
    /// AWS said it is empty (another client shares it), so the next token
    /// comes one refill interval later.
    pub fn drain(&mut self, now: f64) {
        let tokens = self.refilled(now);
        self.at = now.max(self.at);
        self.tokens = tokens.min(0.0);
    }

    /// Takes the token a request that will be sent anyway uses (a retry the
    /// caller cannot hold back): the bucket may go below zero.
    pub fn charge(&mut self, now: f64) {
        let _ = self.reserve(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call<'a>(service: &'a str, operation: &'a str) -> Call<'a> {
        Call { service, operation, unfiltered: false, bucket: None }
    }

    #[test]
    fn ec2_actions_draw_from_their_categorys_bucket_each_their_own() {
        let rate = |operation, unfiltered| {
            let draws = buckets(&Call { unfiltered, ..call("ec2", operation) });
            assert_eq!(draws.len(), 1);
            (draws[0].key.clone(), draws[0].rate)
        };
        assert_eq!(rate("DescribeVpcs", false), ("ec2:DescribeVpcs".into(), Rate::new(100.0, 20.0)));
        assert_eq!(rate("DescribeSubnets", true), ("ec2:DescribeSubnets".into(), Rate::new(100.0, 20.0)));
        assert_eq!(
            rate("DescribeSecurityGroups", true),
            ("ec2:DescribeSecurityGroups:unfiltered".into(), Rate::new(50.0, 10.0))
        );
        assert_eq!(rate("DescribeSecurityGroups", false).1, Rate::new(100.0, 20.0));
        assert_eq!(rate("CreateSubnet", false).1, Rate::new(50.0, 5.0));
        assert_eq!(rate("AuthorizeSecurityGroupIngress", false).1, Rate::new(50.0, 5.0));
        assert_eq!(rate("CreateTags", false).1, Rate::new(100.0, 10.0));
        assert_eq!(rate("CreateVpcEndpoint", false).1, Rate::new(4.0, 0.3));
    }

    #[test]
    fn emr_calls_draw_from_their_api_and_from_emrs_account_bucket() {
        let draws = buckets(&call("emr", "DescribeCluster"));
        let keys: Vec<&str> = draws.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["emr:DescribeCluster", "emr:*"]);
        assert_eq!(draws[0].rate, Rate::new(10.0, 1.0));
        assert_eq!(draws[1].rate, Rate::new(25.0, 5.0));
        // No published quota of its own: only the account's.
        let keys: Vec<String> = buckets(&call("emr", "GetManagedScalingPolicy")).into_iter().map(|d| d.key).collect();
        assert_eq!(keys, ["emr:*"]);
    }

    #[test]
    fn services_without_published_rates_have_no_bucket() {
        for service in ["iam", "sts", "sagemaker", "servicecatalog"] {
            assert!(buckets(&call(service, "List")).is_empty(), "{service}");
        }
        let s3 = Call { bucket: Some("b"), ..call("s3", "PutObject") };
        assert_eq!(buckets(&s3)[0].key, "s3:b:write");
    }

    #[test]
    fn a_bucket_answers_its_burst_then_one_token_per_refill_interval() {
        let mut bucket = Bucket::full(Rate::new(5.0, 0.5), 100.0);
        for _ in 0..5 {
            assert_eq!(bucket.take(100.0), Ok(()));
        }
        assert_eq!(bucket.take(100.0), Err(2.0), "0.5 a second: the next in 2 s");
        assert_eq!(bucket.take(101.0), Err(1.0));
        assert_eq!(bucket.take(102.0), Ok(()));
        assert_eq!(bucket.tokens(1_000.0), 5.0, "never more than the burst");
    }

    #[test]
    fn the_floor_is_the_slowest_bucket_beyond_its_burst() {
        // 12 ListInstanceFleets (burst 5, 0.5 a second): 14 s; 12 of EMR's 25 for all APIs: none.
        let mut calls = vec![call("emr", "ListInstanceFleets"); 12];
        calls.extend(vec![call("iam", "GetRole"); 1_000]);
        let floor = floor(calls.clone(), 1.0);
        assert_eq!((floor.seconds, floor.bucket.as_deref(), floor.calls), (14.0, Some("emr:ListInstanceFleets"), 12));
        // 40 more EMR calls without a quota of their own: 52 of the account's 25, 5 a second.
        calls.extend(vec![call("emr", "GetManagedScalingPolicy"); 40]);
        assert_eq!(super::floor(calls.clone(), 1.0).bucket.as_deref(), Some("emr:ListInstanceFleets"));
        calls.extend(vec![call("emr", "GetManagedScalingPolicy"); 100]);
        let floor = super::floor(calls, 1.0);
        assert_eq!((floor.seconds, floor.bucket.as_deref()), (25.4, Some("emr:*")));
        assert_eq!(super::floor(vec![call("emr", "ListInstanceFleets"); 5], 1.0).bucket, None, "within the burst");
    }

    #[test]
    fn reservations_queue_callers_one_refill_interval_apart() {
        let mut bucket = Bucket::full(Rate::new(2.0, 1.0), 0.0);
        let waits: Vec<f64> = (0..5).map(|_| bucket.reserve(0.0)).collect();
        assert_eq!(waits, [0.0, 0.0, 1.0, 2.0, 3.0]);
        assert_eq!(Rate::new(10.0, 0.5).scaled(0.01), Rate::new(1.0, 0.005));
        let mut drained = Bucket::full(Rate::new(5.0, 0.5), 0.0);
        drained.drain(0.0);
        assert_eq!(drained.reserve(0.0), 2.0, "emptied: the next token in one refill interval");
        drained.drain(0.0);
        assert_eq!(drained.reserve(0.0), 4.0, "a reservation already made is kept");
    }
}
