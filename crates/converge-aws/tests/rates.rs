//! With the sandbox throttling at AWS's published rates, converge's apply and
//! plan of both reference specs meet no throttling error: converge paces
//! itself by the same table (`converge_rates`). Without its pacing, the same
//! apply is throttled (the emulator's polls of a starting cluster outrun
//! EMR's DescribeCluster bucket), so the check can fail.

mod common;

use std::time::Duration;

use common::{Env, reference, spec};
use converge_aws::{Aws, Options, Pace};
use converge_sandbox::Config;

fn throttles(env: &Env) -> Vec<String> {
    let codes = ["ThrottlingException", "RequestLimitExceeded", "SlowDown", "Throttling"];
    env.sandbox
        .requests()
        .iter()
        .filter(|r| r.error.as_deref().is_some_and(|code| codes.contains(&code)))
        .map(|r| format!("{} {}", r.service, r.operation))
        .collect()
}

#[tokio::test]
async fn reference_specs_apply_and_plan_without_a_throttle_at_awss_rates() {
    for name in ["studio-emr.toml", "etl-cluster.toml"] {
        let spec = spec(&reference(name));
        let env = Env::start_with(&spec, Config { rate_limits: Some(1.0), ..Config::default() }).await;
        env.apply(&spec).await;
        env.assert_converged(&spec).await;
        assert_eq!(throttles(&env), Vec::<String>::new(), "{name}: converge paced itself");
        env.stop().await;
    }
}

#[tokio::test]
async fn without_pacing_the_same_apply_is_throttled() {
    let spec = spec(&reference("etl-cluster.toml"));
    let mut env = Env::start_with(&spec, Config { rate_limits: Some(1.0), ..Config::default() }).await;
    let options = Options { pace: Pace::Off, ..Options::sandbox(&env.sandbox.endpoint(), &spec.stack.region) };
    env.aws = Aws::connect(&options).await.expect("connects").with_poll_interval(Duration::from_millis(100));
    let plan = env.plan(&spec).await;
    let _ = env.run(&plan).await;
    assert!(!throttles(&env).is_empty(), "the polls outrun DescribeCluster's bucket (10, 1 a second)");
    env.stop().await;
}
