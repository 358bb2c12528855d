//! The sandbox throttles by rate as AWS does (`Config::rate_limits`): per
//! service, a burst is answered, the next call gets that service's throttling
//! error, and the bucket refills at the published rate (docs/aws-fidelity.md,
//! "Throttling by rate").

use std::time::Duration;

mod common;

use common::{json, query};
use converge_sandbox::{Config, Offline};

fn limited(scale: f64) -> Offline {
    Offline::new(Config { iam_propagation_seconds: 0.0, rate_limits: Some(scale), ..Config::default() })
}

#[tokio::test]
async fn emr_answers_an_apis_burst_then_throttles_until_it_refills() {
    let sandbox = limited(1.0);
    let fleets = || json(&sandbox, "ElasticMapReduce.ListInstanceFleets", r#"{"ClusterId":"j-NONE"}"#);
    // ListInstanceFleets: burst 5, refill 0.5 a second.
    for _ in 0..5 {
        let (_, code, _) = fleets().await;
        assert_ne!(code, "ThrottlingException", "within the burst");
    }
    assert_eq!(fleets().await, (400, "ThrottlingException".into(), "Rate exceeded".into()));
    // Another API has its own bucket.
    let (_, code, _) = json(&sandbox, "ElasticMapReduce.DescribeCluster", r#"{"ClusterId":"j-NONE"}"#).await;
    assert_ne!(code, "ThrottlingException");
    // One token every 2 s.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_ne!(fleets().await.1, "ThrottlingException", "refilled");
    assert_eq!(fleets().await.1, "ThrottlingException");
}

#[tokio::test]
async fn emr_also_throttles_all_its_apis_together_per_account() {
    let sandbox = limited(1.0);
    // GetManagedScalingPolicy has no quota of its own; EMR's account bucket: burst 25, refill 5 a second.
    let policy = || json(&sandbox, "ElasticMapReduce.GetManagedScalingPolicy", r#"{"ClusterId":"j-NONE"}"#);
    let mut answered = 0;
    while policy().await.1 != "ThrottlingException" {
        answered += 1;
        assert!(answered <= 26, "never throttled");
    }
    assert!((25..=26).contains(&answered), "the account's burst, and what refilled meanwhile: {answered}");
    let (_, code, _) = json(&sandbox, "ElasticMapReduce.DescribeCluster", r#"{"ClusterId":"j-NONE"}"#).await;
    assert_eq!(code, "ThrottlingException", "every EMR API draws from the account's bucket");
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_ne!(policy().await.1, "ThrottlingException", "5 a second");
}

#[tokio::test]
async fn ec2_throttles_each_action_by_its_category_with_request_limit_exceeded() {
    let sandbox = limited(1.0);
    // A mutating action: burst 50, refill 5 a second (a missing subnet still costs a token).
    let delete = || query(&sandbox, "Action=DeleteSubnet&Version=2016-11-15&SubnetId=subnet-0000000000000000a");
    for _ in 0..50 {
        assert_ne!(delete().await.1, "RequestLimitExceeded", "within the burst");
    }
    assert_eq!(delete().await, (503, "RequestLimitExceeded".into(), "Request limit exceeded.".into()));
    // Each action is throttled on its own.
    assert_ne!(query(&sandbox, "Action=DescribeVpcs&Version=2016-11-15").await.1, "RequestLimitExceeded");
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_ne!(delete().await.1, "RequestLimitExceeded", "refilled: 5 a second");

    // DescribeSecurityGroups without a filter: burst 50, refill 10 a second;
    // with a filter it draws from the non-mutating bucket (100, 20).
    let unfiltered = || query(&sandbox, "Action=DescribeSecurityGroups&Version=2016-11-15");
    let mut answered = 0;
    while unfiltered().await.1 != "RequestLimitExceeded" {
        answered += 1;
        assert!(answered <= 52, "never throttled");
    }
    assert!((50..=52).contains(&answered), "{answered}");
    let filtered = query(
        &sandbox,
        "Action=DescribeSecurityGroups&Version=2016-11-15&Filter.1.Name=tag-key&Filter.1.Value.1=converge:stack",
    )
    .await;
    assert_eq!(filtered.0, 200, "{filtered:?}");
}

#[tokio::test]
async fn s3_throttles_a_buckets_writes_with_slow_down() {
    // 3,500 writes a second per prefix: scaled down to 3.5 so a test can meet the limit.
    let sandbox = limited(0.001);
    let put = || sandbox.request("PUT", "/artifacts/key.json", &[("content-length", "2")], b"{}");
    let (status, _) = sandbox.request("PUT", "/artifacts", &[], b"").await;
    assert_eq!(status, 200, "the bucket is created");
    let mut answered = 0;
    loop {
        let (status, body) = put().await;
        if status == 503 {
            assert!(String::from_utf8_lossy(&body).contains("<Code>SlowDown</Code>"));
            break;
        }
        answered += 1;
        assert!(answered <= 4, "never throttled");
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(put().await.0, 200, "refilled: 3.5 a second");
}

#[tokio::test]
async fn services_that_publish_no_rates_are_not_throttled_by_rate() {
    let sandbox = limited(1.0);
    for _ in 0..200 {
        assert_ne!(query(&sandbox, "Action=ListRoles&Version=2010-05-08").await.1, "Throttling");
        assert_ne!(json(&sandbox, "SageMaker.ListDomains", "{}").await.1, "ThrottlingException");
        assert_ne!(json(&sandbox, "AWS242ServiceCatalogService.ListPortfolios", "{}").await.1, "ThrottlingException");
    }
    // And without `rate_limits`, nothing is throttled by rate.
    let unlimited = Offline::new(Config::default());
    for _ in 0..30 {
        let (_, code, _) = json(&unlimited, "ElasticMapReduce.ListInstanceFleets", r#"{"ClusterId":"j-NONE"}"#).await;
        assert_ne!(code, "ThrottlingException");
    }
}
