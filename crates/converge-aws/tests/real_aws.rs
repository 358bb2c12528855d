//! The acceptance suite: a minimal stack planned, applied, planned again
//! (empty) and destroyed in a real AWS account, as terraform-provider-aws's
//! `TF_ACC` tests do. Opt-in, and never in CI against AWS:
//!
//! ```sh
//! CONVERGE_ACCEPTANCE_AWS=1 CONVERGE_ACCEPTANCE_VPC=vpc-… CONVERGE_ACCEPTANCE_BUCKET=my-bucket \
//!   cargo test -p converge-aws --test real_aws -- --ignored --nocapture
//! ```
//!
//! `CONVERGE_ACCEPTANCE_COSTLY=1` adds an EMR cluster and a Studio domain
//! (their hourly cost is printed first). Everything the run creates carries
//! its stack's tag (`converge:stack = converge-acc-<run id>`) and is destroyed
//! at the end, also when a step failed. CI runs the same test against the
//! sandbox (`the_acceptance_run_passes_against_the_sandbox`), so it keeps working.
//! docs/aws-acceptance.md says what it needs and what it costs.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use converge_aws::{Aws, Options};
use converge_executor::Executor as _;
use converge_model::Spec;
use converge_sandbox::{Config, Sandbox, Seed, SeedNetwork};

/// Where the run happens and what it may use there.
struct Target {
    aws: Aws,
    account: String,
    region: String,
    /// An existing VPC (converge reads VPCs, never creates them) and its IPv4 range.
    vpc: (String, String),
    /// An existing bucket for the product's template.
    bucket: String,
    /// Also an EMR cluster and a Studio domain.
    costly: bool,
    /// Polls background work this often (a minute of EMR is a minute).
    engine: converge_engine::Config,
}

/// `converge-acc-<seconds since the epoch, base 36>`: unique per run, a valid name everywhere it goes.
fn run_id() -> String {
    let mut n = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut id = String::new();
    while n > 0 {
        id.insert(0, char::from_digit((n % 36) as u32, 36).unwrap_or('0'));
        n /= 36;
    }
    format!("converge-acc-{id}")
}

/// Two /28 blocks at the top of the VPC's range that no subnet holds.
fn free_blocks(vpc_cidr: &str, taken: &[String]) -> Vec<String> {
    let parse = |text: &str| -> Option<(u32, u32)> {
        let (address, prefix) = text.split_once('/')?;
        Some((u32::from(address.parse::<std::net::Ipv4Addr>().ok()?), prefix.parse().ok()?))
    };
    let Some((base, prefix)) = parse(vpc_cidr) else { return Vec::new() };
    let size = 1u32.checked_shl(32 - prefix).unwrap_or(0);
    let taken: Vec<(u32, u32)> = taken.iter().filter_map(|t| parse(t)).collect();
    let overlaps = |start: u32| {
        taken.iter().any(|(t, p)| {
            let end = t + (1u32.checked_shl(32 - p).unwrap_or(0)).saturating_sub(1);
            start <= end && *t <= start + 15
        })
    };
    let mut blocks = Vec::new();
    let mut start = (base + size).saturating_sub(16);
    while blocks.len() < 2 && start > base {
        if !overlaps(start) {
            blocks.push(format!("{}/28", std::net::Ipv4Addr::from(start)));
        }
        start -= 16;
    }
    blocks
}

/// The minimal stack: subnets, groups naming each other, roles (one with an
/// instance profile), a portfolio shared with a role and a product with a
/// launch constraint; with `costly`, a Studio domain and an EMR cluster too.
fn spec_text(target: &Target, stack: &str, zones: &[String], blocks: &[String]) -> String {
    let (vpc, cidr) = &target.vpc;
    let mut text = format!(
        r#"[stack]
name = "{stack}"
region = "{region}"
account = "{account}"

[vpc.main]
id = "{vpc}"
cidrs = ["{cidr}"]

[subnet.a]
vpc = "main"
cidr = "{block_a}"
availability_zone = "{zone_a}"

[subnet.b]
vpc = "main"
cidr = "{block_b}"
availability_zone = "{zone_b}"

[security_group.clients]
vpc = "main"
description = "converge acceptance clients"
ingress = [{{ protocol = "all", source = "self", description = "among the clients" }}]

[security_group.servers]
vpc = "main"
description = "converge acceptance servers"
ingress = [{{ protocol = "tcp", ports = 8998, source = "clients", description = "from the clients" }}]

[iam_role.execution]
description = "converge acceptance execution role"
trust = ["sagemaker.amazonaws.com"]
inline_policies = {{ read = "policies/emr-discovery.json" }}

[iam_role.launch]
trust = ["servicecatalog.amazonaws.com"]
managed_policies = ["arn:{partition}:iam::aws:policy/AWSCloudFormationReadOnlyAccess"]

[iam_role.instances]
trust = ["ec2.amazonaws.com"]
instance_profile = true

[catalog_portfolio.templates]
display_name = "{stack}"
provider = "converge acceptance"
principals = ["execution"]

[catalog_product.template]
portfolio = "templates"
name = "{stack}"
owner = "converge acceptance"
template = "templates/emr-two-node.yaml"
template_bucket = "{bucket}"
launch_role = "launch"
studio_visible = true
"#,
        region = target.region,
        account = target.account,
        partition = converge_model::Partition::of_region(&target.region).name,
        block_a = blocks[0],
        block_b = blocks[1],
        zone_a = zones[0],
        zone_b = zones[zones.len().min(2) - 1],
        bucket = target.bucket,
    );
    if target.costly {
        text.push_str(&format!(
            r#"
[security_group.emr_service_access]
vpc = "main"
description = "converge acceptance EMR service access"
ingress = [{{ protocol = "tcp", ports = 9443, source = "servers" }}]

[iam_role.emr_service]
trust = ["elasticmapreduce.amazonaws.com"]
managed_policies = ["arn:{partition}:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2"]

[sagemaker_domain.studio]
name = "{stack}"
auth_mode = "IAM"
network_access = "VpcOnly"
vpc = "main"
subnets = ["a"]
execution_role = "execution"
security_groups = ["clients"]
home_efs_on_delete = "Delete"

[emr_cluster.cluster]
name = "{stack}"
release = "emr-7.1.0"
applications = ["Spark", "Livy"]
subnets = ["a", "b"]
service_role = "emr_service"
instance_profile = "instances"
master_security_group = "servers"
core_security_group = "clients"
service_access_security_group = "emr_service_access"

[emr_cluster.cluster.master]
instance_types = ["m5.xlarge"]
on_demand = 1

[emr_cluster.cluster.core]
instance_types = ["m5.xlarge"]
on_demand = 1
"#,
            partition = converge_model::Partition::of_region(&target.region).name,
        ));
    }
    text
}

/// The hourly cost of the costly part, printed before anything is created.
fn print_costs(target: &Target) {
    if target.costly {
        #[expect(clippy::print_stderr, reason = "the person running the suite must see what it costs")]
        {
            eprintln!(
                "CONVERGE_ACCEPTANCE_COSTLY: two m5.xlarge EMR nodes, about USD 0.48 an hour in us-east-1 \
                 (EC2 0.192 + EMR 0.048 each, list prices), billed per second while the run lasts (about \
                 25 minutes); a Studio domain (free without apps) with its home EFS. Check {}'s prices.",
                target.region
            );
        }
    }
}

/// Plans, applies, plans again (empty) and destroys; then nothing of the stack is left.
async fn acceptance_run(target: &Target) {
    let stack = run_id();
    let ec2 = &target.aws;
    let live_vpc = ec2
        .read(&converge_executor::Scope::everything(&target.account, &target.region, vec![target.vpc.0.clone()]))
        .await
        .unwrap_or_else(|e| panic!("reading the VPC's subnets: {e}"));
    let taken: Vec<String> = live_vpc.subnets.iter().map(|s| s.cidr.clone()).collect();
    let blocks = free_blocks(&target.vpc.1, &taken);
    assert_eq!(blocks.len(), 2, "the VPC {} has no two free /28 blocks at the top of {}", target.vpc.0, target.vpc.1);
    let mut zones: Vec<String> = live_vpc.subnets.iter().map(|s| s.availability_zone.clone()).collect();
    zones.sort();
    zones.dedup();
    if zones.is_empty() {
        zones = vec![format!("{}a", target.region), format!("{}b", target.region)];
    }
    let text = spec_text(target, &stack, &zones, &blocks);
    let spec = common::spec(&text);
    print_costs(target);

    // The body runs as a task, so that a failed step is still followed by the cleanup.
    let body = {
        let (aws, spec, engine) = (target.aws.clone(), spec.clone(), target.engine.clone());
        tokio::spawn(async move { plan_apply_replan(&aws, &spec, &engine).await })
    };
    let outcome = body.await;
    let cleaned = destroy(&target.aws, &spec, &target.engine).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
    cleaned.unwrap_or_else(|e| panic!("{e}"));
}

async fn plan_apply_replan(aws: &Aws, spec: &Spec, engine: &converge_engine::Config) {
    aws.guard_account(&spec.stack.account).await.unwrap_or_else(|e| panic!("{e}"));
    let scope = converge_plan::read_scope(spec);
    let live = aws.read(&scope).await.unwrap_or_else(|e| panic!("{e}"));
    let plan = converge_plan::plan(spec, &live).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(plan.count(converge_plan::Action::Create), spec.addresses().len() - spec.vpcs.len());
    let report = converge_engine::apply(&plan.steps, aws, engine, None, &converge_engine::Cancel::new()).await;
    common::assert_success(&plan, &report);
    let again = converge_plan::plan(spec, &aws.read(&scope).await.unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(
        again.is_empty(),
        "the plan after the apply is not empty:\n{}",
        converge_plan::render::text(&again, converge_plan::render::Style::plain())
    );
}

/// Deletes everything the run's stack owns, and checks that nothing is left.
async fn destroy(aws: &Aws, spec: &Spec, engine: &converge_engine::Config) -> Result<(), String> {
    let scope = converge_plan::read_scope(spec);
    for _ in 0..3 {
        let live = aws.read(&scope).await.map_err(|e| e.to_string())?;
        let plan = converge_plan::plan_destroy(spec, &live).map_err(|e| format!("{e:?}"))?;
        if plan.is_empty() {
            return Ok(());
        }
        converge_engine::apply(&plan.steps, aws, engine, None, &converge_engine::Cancel::new()).await;
    }
    let live = aws.read(&scope).await.map_err(|e| e.to_string())?;
    let left = converge_plan::plan_destroy(spec, &live).map_err(|e| format!("{e:?}"))?;
    if left.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "left behind (tagged converge:stack = {}):\n{}",
            spec.stack.name,
            converge_plan::render::text(&left, converge_plan::render::Style::plain())
        ))
    }
}

/// The suite in a real account: only with `CONVERGE_ACCEPTANCE_AWS=1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "creates resources in a real AWS account: CONVERGE_ACCEPTANCE_AWS=1 … -- --ignored (docs/aws-acceptance.md)"]
async fn a_minimal_stack_in_a_real_account() {
    if std::env::var("CONVERGE_ACCEPTANCE_AWS").as_deref() != Ok("1") {
        panic!("set CONVERGE_ACCEPTANCE_AWS=1 to run the suite against the account your credentials name");
    }
    let variable = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("set {name} (docs/aws-acceptance.md)"));
    let aws = Aws::connect(&Options::default()).await.unwrap_or_else(|e| panic!("{e}: {}", e.hint()));
    let account = aws.account().await.unwrap_or_else(|e| panic!("{e}"));
    let vpc = variable("CONVERGE_ACCEPTANCE_VPC");
    let scope = converge_executor::Scope::everything(&account, aws.region(), vec![vpc.clone()]);
    let live = aws.read(&scope).await.unwrap_or_else(|e| panic!("{e}"));
    let cidr = live.vpcs.first().and_then(|v| v.cidrs.first()).cloned().unwrap_or_else(|| panic!("no VPC {vpc}"));
    let target = Target {
        region: aws.region().to_owned(),
        aws,
        account,
        vpc: (vpc, cidr),
        bucket: variable("CONVERGE_ACCEPTANCE_BUCKET"),
        costly: std::env::var("CONVERGE_ACCEPTANCE_COSTLY").as_deref() == Ok("1"),
        engine: converge_engine::Config::default(),
    };
    acceptance_run(&target).await;
}

/// The same run against the sandbox, in every test run, costly part included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_acceptance_run_passes_against_the_sandbox() {
    let (account, region) = ("123456789012".to_owned(), "eu-west-1".to_owned());
    let config = Config { account: account.clone(), region: region.clone(), time_scale: 0.002, ..Config::default() };
    let sandbox = Sandbox::start(config).await.expect("the sandbox starts");
    let vpc = ("vpc-0a7c3e5f1b2d49680".to_owned(), "10.40.0.0/16".to_owned());
    sandbox.seed(&Seed {
        vpcs: vec![vpc.clone()],
        buckets: vec!["converge-acceptance".into()],
        network: SeedNetwork::NatGateway,
        ..Seed::default()
    });
    let aws = Aws::connect(&Options::sandbox(&sandbox.endpoint(), &region))
        .await
        .expect("connects")
        .with_poll_interval(Duration::from_millis(100));
    let engine = converge_engine::Config {
        retry: converge_engine::RetryPolicy {
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(500),
            max_elapsed: Duration::from_secs(60),
            ..converge_engine::RetryPolicy::default()
        },
        ..converge_engine::Config::default()
    };
    let target = Target { aws, account, region, vpc, bucket: "converge-acceptance".into(), costly: true, engine };
    acceptance_run(&target).await;
    // The run made the costly part too, and destroyed it with the rest (`destroy` checks nothing is left).
    let made: Vec<String> =
        sandbox.requests().iter().filter(|r| r.status == 200).map(|r| r.operation.clone()).collect();
    for operation in
        ["RunJobFlow", "CreateDomain", "CreateProduct", "TerminateJobFlows", "DeleteDomain", "DeleteProduct"]
    {
        assert!(made.iter().any(|m| m == operation), "the run never called {operation}");
    }
    sandbox.stop().await;
}

#[test]
fn free_blocks_avoid_the_subnets_there() {
    assert_eq!(free_blocks("10.0.0.0/16", &[]), ["10.0.255.240/28", "10.0.255.224/28"]);
    assert_eq!(free_blocks("10.0.0.0/16", &["10.0.255.240/28".into()]), ["10.0.255.224/28", "10.0.255.208/28"]);
    assert_eq!(free_blocks("10.0.0.0/16", &["10.0.255.0/24".into()]), ["10.0.254.240/28", "10.0.254.224/28"]);
}
