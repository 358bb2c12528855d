//! End-to-end harness: a sandbox on port 0 seeded with what a spec expects
//! to exist, the AWS layer connected to it through the real SDK clients, and
//! plan / apply helpers that go through the planner and the apply engine.
// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use converge_aws::{Aws, Options};
use converge_engine::{Report, StepResult};
use converge_executor::Executor as _;
use converge_model::{LiveState, Spec};
use converge_plan::{Action, Plan};
use converge_sandbox::{Config, Sandbox, Seed, SeedNetwork};

/// Small pages, so every paginated read really paginates.
pub(crate) const PAGE_SIZE: usize = 2;

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The text of a reference spec (`specs/studio-emr.toml`).
pub(crate) fn reference(name: &str) -> String {
    std::fs::read_to_string(repo().join("specs").join(name)).expect("the reference spec")
}

/// Checks spec text as if it were `specs/<name>` (documents resolve next to it).
pub(crate) fn spec(text: &str) -> Spec {
    spec_with(text, &[])
}

/// As [`spec`], with the documents in `files` (path relative to `specs/`, text) instead of those on disk.
pub(crate) fn spec_with(text: &str, files: &[(&str, String)]) -> Spec {
    let base = repo().join("specs");
    let loader = |relative: &str| match files.iter().find(|(path, _)| *path == relative) {
        Some((_, text)) => Ok(text.clone()),
        None => std::fs::read_to_string(base.join(relative)).map_err(|e| e.to_string()),
    };
    let checked = converge_spec::check("spec.toml", text, &loader);
    match checked.spec {
        Some(spec) => spec,
        None => panic!("the spec is not valid:\n{}", checked.render()),
    }
}

/// What `spec` reads but does not manage, for [`Sandbox::seed`]: its VPCs (private
/// subnets behind a NAT gateway, as the reference platforms have them) and template buckets.
pub(crate) fn seed(spec: &Spec) -> Seed {
    Seed {
        vpcs: spec.vpcs.values().map(|v| (v.id.clone(), v.cidrs.first().cloned().unwrap_or_default())).collect(),
        buckets: spec.catalog_products.values().map(|p| p.template_bucket.clone()).collect(),
        network: SeedNetwork::NatGateway,
        ..Seed::default()
    }
}

/// An EC2 client of the sandbox, for what converge never does (VPC endpoints, routes).
pub(crate) async fn ec2_client(env: &Env) -> aws_sdk_ec2::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(env.aws.region().to_owned()))
        .credentials_provider(aws_sdk_sts::config::Credentials::new("sandbox", "sandbox", None, None, "tests"))
        .endpoint_url(env.sandbox.endpoint())
        .load()
        .await;
    aws_sdk_ec2::Client::new(&config)
}

/// `text` with `from` replaced by `to`, which must occur exactly once.
pub(crate) fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once in the spec");
    text.replacen(from, to, 1)
}

pub(crate) struct Env {
    pub sandbox: Sandbox,
    pub aws: Aws,
}

impl Env {
    /// A sandbox for `spec`'s account and region, holding its VPCs and template
    /// buckets, with pages of [`PAGE_SIZE`] items so every reader pages.
    pub(crate) async fn start(spec: &Spec) -> Env {
        Env::start_with(spec, Config { page_size: Some(PAGE_SIZE), ..Config::default() }).await
    }

    /// As [`Env::start`], with `config`'s faults, seed and page size.
    pub(crate) async fn start_with(spec: &Spec, config: Config) -> Env {
        Env::start_seeded(spec, config, SeedNetwork::NatGateway).await
    }

    /// As [`Env::start_with`], with the seeded VPCs' network as `network` says.
    pub(crate) async fn start_seeded(spec: &Spec, config: Config, network: SeedNetwork) -> Env {
        let config = Config {
            port: 0,
            account: spec.stack.account.clone(),
            region: spec.stack.region.clone(),
            // An EMR cluster is WAITING in about a second.
            time_scale: 0.002,
            ..config
        };
        let sandbox = Sandbox::start(config).await.expect("the sandbox starts");
        sandbox.seed(&Seed { network, ..seed(spec) });
        let aws = Aws::connect(&Options::sandbox(&sandbox.endpoint(), &spec.stack.region))
            .await
            .expect("the AWS layer connects")
            .with_poll_interval(Duration::from_millis(100));
        Env { sandbox, aws }
    }

    pub(crate) async fn read(&self, spec: &Spec) -> LiveState {
        self.aws.read(&converge_plan::read_scope(spec)).await.unwrap_or_else(|e| panic!("reading fails: {e}"))
    }

    pub(crate) async fn plan(&self, spec: &Spec) -> Plan {
        let live = self.read(spec).await;
        converge_plan::plan(spec, &live).unwrap_or_else(|errors| panic!("no plan: {errors:?}"))
    }

    /// Plans and applies `spec`; every step must succeed. Returns the plan applied.
    pub(crate) async fn apply(&self, spec: &Spec) -> Plan {
        let plan = self.plan(spec).await;
        let report = self.run(&plan).await;
        assert_success(&plan, &report);
        plan
    }

    pub(crate) async fn run(&self, plan: &Plan) -> Report {
        let config = converge_engine::Config {
            retry: converge_engine::RetryPolicy {
                base_delay: Duration::from_millis(50),
                max_delay: Duration::from_millis(500),
                max_elapsed: Duration::from_secs(60),
                not_found_window: Duration::from_secs(10),
                ..converge_engine::RetryPolicy::default()
            },
            ..converge_engine::Config::default()
        };
        converge_engine::apply(&plan.steps, &self.aws, &config, None, &converge_engine::Cancel::new()).await
    }

    /// Asserts the next plan of `spec` is empty, showing it when it is not.
    pub(crate) async fn assert_converged(&self, spec: &Spec) {
        let plan = self.plan(spec).await;
        assert!(
            plan.is_empty(),
            "the plan after the apply is not empty:\n{}",
            converge_plan::render::text(&plan, converge_plan::render::Style::plain())
        );
    }

    /// The sandbox's whole account (its admin API's state).
    pub(crate) fn state(&self) -> serde_json::Value {
        self.sandbox.state()
    }

    pub(crate) async fn stop(self) {
        self.sandbox.stop().await;
    }
}

pub(crate) fn assert_success(plan: &Plan, report: &Report) {
    let failures: Vec<String> = report
        .results
        .iter()
        .filter(|(_, r)| !matches!(r, StepResult::Done { .. }))
        .map(|(id, r)| {
            let step = plan.steps.get(*id).map(|s| format!("{} {}", s.address, s.operation)).unwrap_or_default();
            format!("step {id} ({step}): {r:?}")
        })
        .collect();
    assert!(failures.is_empty(), "the apply did not succeed:\n{}", failures.join("\n"));
}

/// The planned action of each changed resource, as `address=action`.
pub(crate) fn actions(plan: &Plan) -> Vec<String> {
    plan.changes.iter().map(|c| format!("{}={}", c.address, c.action.as_str())).collect()
}

pub(crate) fn action_of(plan: &Plan, address: &str) -> Option<Action> {
    plan.changes.iter().find(|c| c.address.to_string() == address).map(|c| c.action)
}

/// Calls one operation by hand, outside any plan, and waits for it.
pub(crate) async fn by_hand(env: &Env, operation: &converge_ops::Operation) {
    let address = converge_model::Address::new(converge_model::Kind::SecurityGroup, "by-hand");
    match env.aws.start(&address, operation).await.unwrap_or_else(|e| panic!("{e}")) {
        converge_executor::Outcome::Done(_) => {}
        converge_executor::Outcome::Pending { output, .. } => {
            for _ in 0..200 {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                if matches!(env.aws.poll(&address, operation, &output).await, Ok(converge_executor::Outcome::Done(_))) {
                    return;
                }
            }
            panic!("{operation:?} did not finish");
        }
    }
}
