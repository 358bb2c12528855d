//! converge at scale against a refresh one resource at a time.
//!
//! For each size (100, 1,000 and 5,000 resources by default) a synthetic spec
//! of subnets, security groups whose rules name each other, IAM roles with
//! instance profiles and inline policies, Studio domains and user profiles,
//! portfolios, products with launch constraints and EMR clusters with three
//! fleets and managed scaling is applied from an empty account in a sandbox
//! that answers every call after `--latency-ms` (20 by default), through the
//! real SDK clients and the apply engine. Then, on the same sandbox and latency:
//!
//! - **converge plan**: the built binary (`--converge`, default
//!   `target/release/converge`) plans the applied stack, so its wall time is
//!   what a user waits for, start-up and spec check included; its peak
//!   resident memory is what it reports under `--stats`, its calls those in
//!   the sandbox's request log;
//! - **the baseline**: the refresh a per-resource tool makes, modelled on
//!   terraform-provider-aws's Read functions for the equivalent resources
//!   (a subnet: DescribeSubnets by id; a group: DescribeSecurityGroups by id;
//!   a role: GetRole, ListRolePolicies, GetRolePolicy per inline policy,
//!   ListAttachedRolePolicies for the role and again per attachment,
//!   GetInstanceProfile; a domain or user profile: its Describe and ListTags;
//!   a portfolio: DescribePortfolio and ListPrincipalsForPortfolio per
//!   principal association; a product: DescribeProductAsAdmin,
//!   ListPortfoliosForProduct per association, DescribeConstraint per
//!   constraint; a cluster: DescribeCluster, ListInstanceFleets,
//!   ListBootstrapActions, GetAutoTerminationPolicy, GetManagedScalingPolicy),
//!   `--baseline-parallelism` resources at a time (10, Terraform's default),
//!   its ids known beforehand as a state file would know them.
//!
//! The apply's wall time is set against two floors no schedule can beat: the
//! critical path of the step graph (each step weighted by what it really took)
//! and the time steps spent calling AWS (their spans less their waits between
//! polls, when they hold no slot) divided by the engine's concurrency.
//!
//! With `--limits`, each size is then measured again on a sandbox that
//! throttles at AWS's published rates (`converge_rates`), converge pacing
//! itself as it does by default: the plan and the apply are set against the
//! **rate floor** of the calls they made (for each token bucket, its calls
//! beyond its burst over its refill; the largest, `converge_rates::floor`),
//! the apply also against the critical path measured without limits, and
//! each phase starts once the buckets the previous one drew from are full
//! again (as a scheduled plan finds them), and
//! the baseline retries each throttled call as terraform-provider-aws's
//! clients do (up to 25 retries, `max_retries`' default, each after a random
//! wait of up to 2^attempt seconds, at most 20: aws-sdk-go-v2's standard
//! retryer). Throttling errors are counted in the sandbox's request log.
//!
//! The release profile, as users run converge: a debug build of the AWS SDK
//! spends more time signing and parsing than the 20 ms it waits for each
//! call (docs/performance.md has both). The first release build of the SDK
//! takes about 20 minutes on two cores.
//!
//! ```sh
//! cargo build --release --locked -p converge-cli
//! cargo bench --locked -p converge-aws --bench scale [-- --sizes 100,1000,5000 --latency-ms 20 --parallelism 64 --limits]
//! ```

#![expect(clippy::print_stdout, reason = "a bench binary reports its figures on stdout")]
#![expect(clippy::print_stderr, reason = "and its progress on stderr, as each size is measured")]

mod timing;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use converge_aws::{Aws, Options};
use converge_engine::Cancel;
use converge_executor::Executor as _;
use converge_model::{LiveState, Spec};
use converge_rates::Floor;
use converge_sandbox::{RequestRecord, Seed, SeedNetwork};
use futures_util::StreamExt as _;

const VPC: &str = "vpc-0be4c000000000001";
/// How often the apply polls background work (AWS's durations are x0.002 here).
const POLL_INTERVAL: Duration = Duration::from_millis(100);
const BUCKET: &str = "bench-templates";
const TEMPLATE: &str = "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n";

struct Settings {
    sizes: Vec<usize>,
    latency_ms: u64,
    parallelism: usize,
    baseline_parallelism: usize,
    time_scale: f64,
    converge: PathBuf,
    /// Also measure each size under AWS's published rates.
    limits: bool,
}

fn settings() -> Settings {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut settings = Settings {
        sizes: vec![100, 1_000, 5_000],
        latency_ms: 20,
        parallelism: 64,
        baseline_parallelism: 10,
        time_scale: 0.002,
        converge: root.join("target/release/converge"),
        limits: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |i: usize| args.get(i + 1).unwrap_or_else(|| panic!("{} needs a value", args[i])).clone();
    for (i, arg) in args.iter().enumerate() {
        match arg.as_str() {
            "--sizes" => settings.sizes = value(i).split(',').map(|s| s.parse().expect("--sizes N,N")).collect(),
            "--latency-ms" => settings.latency_ms = value(i).parse().expect("--latency-ms N"),
            "--parallelism" => settings.parallelism = value(i).parse().expect("--parallelism N"),
            "--baseline-parallelism" => settings.baseline_parallelism = value(i).parse().expect("N"),
            "--time-scale" => settings.time_scale = value(i).parse().expect("--time-scale F"),
            "--converge" => settings.converge = PathBuf::from(value(i)),
            "--limits" => settings.limits = true,
            _ => {}
        }
    }
    settings
}

/// How many of each kind make `n` resources: per 100, 5 subnets, 30 groups,
/// 30 roles, 1 domain, 15 user profiles, 2 portfolios, 7 products, 10 clusters.
struct Mix {
    subnets: usize,
    groups: usize,
    roles: usize,
    domains: usize,
    users: usize,
    portfolios: usize,
    products: usize,
    clusters: usize,
}

impl Mix {
    fn of(n: usize) -> Mix {
        let part = |per_100: usize| (n * per_100 / 100).max(1);
        Mix {
            subnets: part(5).max(2),
            groups: part(30),
            roles: part(30),
            domains: part(1),
            users: part(15),
            portfolios: part(2),
            products: part(7),
            clusters: part(10),
        }
    }

    fn total(&self) -> usize {
        self.subnets
            + self.groups
            + self.roles
            + self.domains
            + self.users
            + self.portfolios
            + self.products
            + self.clusters
    }
}

fn synthetic_spec(mix: &Mix) -> String {
    let mut t = format!(
        "[stack]\nname = \"scale\"\nregion = \"us-east-1\"\naccount = \"123456789012\"\ntags = {{ team = \"bench\" }}\n\n[vpc.main]\nid = \"{VPC}\"\ncidrs = [\"10.0.0.0/16\"]\n"
    );
    for i in 0..mix.subnets {
        let _ = write!(
            t,
            "\n[subnet.s{i}]\nvpc = \"main\"\ncidr = \"10.0.{}.{}/26\"\navailability_zone = \"us-east-1{}\"\n",
            i / 4,
            (i % 4) * 64,
            ["a", "b", "c"][i % 3]
        );
    }
    for i in 0..mix.groups {
        let peer = (i + 1) % mix.groups;
        let _ = write!(
            t,
            "\n[security_group.g{i}]\nvpc = \"main\"\ndescription = \"group {i}\"\ningress = [{{ protocol = \"tcp\", ports = 9443, source = \"g{peer}\" }}, {{ protocol = \"all\", source = \"self\" }}, {{ protocol = \"tcp\", ports = \"8000-8100\", cidr = \"10.0.0.0/16\" }}]\n"
        );
    }
    for i in 0..mix.roles {
        let _ = write!(
            t,
            "\n[iam_role.r{i}]\ntrust = [\"sagemaker.amazonaws.com\", \"elasticmapreduce.amazonaws.com\", \"ec2.amazonaws.com\", \"servicecatalog.amazonaws.com\"]\ninstance_profile = true\nmanaged_policies = [\"arn:aws:iam::aws:policy/ReadOnlyAccess\"]\ninline_policies.p = {{ json = '{{\"Version\": \"2012-10-17\", \"Statement\": [{{\"Effect\": \"Allow\", \"Action\": [\"s3:GetObject\", \"s3:ListBucket\"], \"Resource\": \"arn:aws:s3:::bucket-{i}/*\"}}]}}' }}\n"
        );
    }
    for i in 0..mix.domains {
        let _ = write!(
            t,
            "\n[sagemaker_domain.d{i}]\nname = \"domain-{i}\"\nauth_mode = \"IAM\"\nvpc = \"main\"\nsubnets = [\"s{}\", \"s{}\"]\nexecution_role = \"r{}\"\nsecurity_groups = [\"g{}\"]\n",
            i % mix.subnets,
            (i + 1) % mix.subnets,
            i % mix.roles,
            i % mix.groups
        );
    }
    for i in 0..mix.users {
        let _ = write!(
            t,
            "\n[sagemaker_user.u{i}]\ndomain = \"d{}\"\nexecution_role = \"r{}\"\n",
            i % mix.domains,
            (i + 7) % mix.roles
        );
    }
    for i in 0..mix.portfolios {
        let _ = write!(
            t,
            "\n[catalog_portfolio.p{i}]\ndisplay_name = \"P{i}\"\nprovider = \"Data\"\nprincipals = [\"r{}\", \"r{}\"]\n",
            i % mix.roles,
            (i + mix.portfolios) % mix.roles
        );
    }
    for i in 0..mix.products {
        let _ = write!(
            t,
            "\n[catalog_product.x{i}]\nportfolio = \"p{}\"\nname = \"Product {i}\"\nowner = \"data\"\ntemplate = \"t.yaml\"\ntemplate_bucket = \"{BUCKET}\"\nlaunch_role = \"r{}\"\n",
            i % mix.portfolios,
            i % mix.roles
        );
    }
    for i in 0..mix.clusters {
        let _ = write!(
            t,
            "\n[emr_cluster.c{i}]\nname = \"c{i}\"\nrelease = \"emr-6.15.0\"\napplications = [\"Spark\", \"Hive\"]\nsubnets = [\"s{}\", \"s{}\"]\nservice_role = \"r{}\"\ninstance_profile = \"r{}\"\nmaster_security_group = \"g{}\"\ncore_security_group = \"g{}\"\nservice_access_security_group = \"g{}\"\nconfigurations = [{{ classification = \"yarn-site\", properties = {{ \"yarn.node-labels.enabled\" = \"true\", \"yarn.node-labels.am.default-node-label-expression\" = \"CORE\" }} }}]\n\n[emr_cluster.c{i}.master]\ninstance_types = [\"m5.xlarge\"]\non_demand = 1\n\n[emr_cluster.c{i}.core]\ninstance_types = [{{ type = \"r5.2xlarge\", weight = 8 }}]\non_demand = 16\n\n[emr_cluster.c{i}.task]\ninstance_types = [{{ type = \"r5.4xlarge\", weight = 16 }}, {{ type = \"c5.4xlarge\", weight = 16 }}, {{ type = \"m5.4xlarge\", weight = 16 }}]\nspot = 0\nspot_allocation = \"price-capacity-optimized\"\nspot_timeout_minutes = 20\nspot_timeout_action = \"switch-to-on-demand\"\n\n[emr_cluster.c{i}.scaling]\nunit = \"InstanceFleetUnits\"\nmin = 16\nmax = 496\n",
            i % mix.subnets,
            (i + 1) % mix.subnets,
            i % mix.roles,
            (i + 1) % mix.roles,
            i % mix.groups,
            (i + mix.groups / 2) % mix.groups,
            // The group before the primary one admits it on 9443: EMR's service access.
            (i % mix.groups + mix.groups - 1) % mix.groups
        );
    }
    t
}

/// One size, measured.
struct Row {
    resources: usize,
    steps: usize,
    apply_wall: Duration,
    critical_path: Duration,
    work_over_concurrency: Duration,
    plan_wall: Duration,
    /// Of `plan_wall`, the binary's read of AWS (as it reports it).
    plan_read: f64,
    plan_calls: usize,
    /// The binary's `--stats` table: calls per service and operation.
    plan_stats: String,
    plan_peak_mib: f64,
    baseline_wall: Duration,
    baseline_calls: usize,
    /// Under AWS's rates (zero and empty without them): the throttling
    /// errors each met, and the floor of the calls each had answered.
    throttles: Throttles,
    plan_floor: Floor,
    apply_floor: Floor,
    baseline_floor: Floor,
}

#[derive(Default)]
struct Throttles {
    apply: usize,
    plan: usize,
    baseline: usize,
}

/// How long the buckets `requests` drew from take to fill again from empty:
/// a phase measured after this starts as a scheduled run does, with AWS's
/// buckets full (a run started right after another spent them meets a
/// throttle for each call it has in flight, then goes at the refill rate).
fn refill_time(requests: &[RequestRecord]) -> Duration {
    let seconds = requests
        .iter()
        .flat_map(|r| converge_rates::buckets(&r.call()))
        .map(|draw| draw.rate.burst / draw.rate.refill)
        .fold(0.0, f64::max);
    Duration::from_secs_f64(seconds)
}

/// The throttling errors among `requests`, and the rate floor of the others.
fn throttles_and_floor(requests: &[RequestRecord]) -> (usize, Floor) {
    let codes = ["ThrottlingException", "RequestLimitExceeded", "SlowDown", "Throttling"];
    let throttled = |r: &&RequestRecord| r.error.as_deref().is_some_and(|code| codes.contains(&code));
    let throttles = requests.iter().filter(throttled).count();
    if throttles > 0 {
        let mut which: Vec<String> = requests.iter().filter(throttled).map(|r| r.operation.clone()).collect();
        which.dedup();
        eprintln!("throttled: {}", which.join(", "));
    }
    let answered = requests.iter().filter(|r| !throttled(r)).map(RequestRecord::call);
    (throttles, converge_rates::floor(answered, 1.0))
}

/// Measures `n` resources; `limited`: on a sandbox that throttles at AWS's
/// published rates, converge pacing itself (its default).
async fn measure(n: usize, settings: &Settings, limited: bool) -> Row {
    let mix = Mix::of(n);
    let text = synthetic_spec(&mix);
    let dir = std::env::temp_dir().join(format!("converge-scale-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory for the spec");
    std::fs::write(dir.join("scale.toml"), &text).expect("writes the spec");
    std::fs::write(dir.join("t.yaml"), TEMPLATE).expect("writes the template");
    let loader = |_: &str| Ok(TEMPLATE.to_owned());
    let checked = converge_spec::check("scale.toml", &text, &loader);
    let rendered = checked.render();
    let spec: Spec = checked.spec.unwrap_or_else(|| panic!("the synthetic spec is invalid:\n{rendered}"));
    let resources = spec.addresses().len() - spec.vpcs.len();
    assert_eq!(resources, mix.total());

    let rate_limits = limited.then_some(1.0);
    let sandbox = timing::slow_sandbox(&spec, settings.latency_ms, settings.time_scale, rate_limits).await;
    sandbox.seed(&Seed {
        vpcs: vec![(VPC.into(), "10.0.0.0/16".into())],
        buckets: vec![BUCKET.into()],
        network: SeedNetwork::NatGateway,
        ..Seed::default()
    });
    let pace = if limited { converge_aws::Pace::Published(1.0) } else { converge_aws::Pace::Off };
    let options = Options { pace, ..Options::sandbox(&sandbox.endpoint(), &spec.stack.region) };
    let aws = Aws::connect(&options).await.expect("connects").with_poll_interval(POLL_INTERVAL);
    let scope = converge_plan::read_scope(&spec);

    // Apply from the empty account, each step's span stamped.
    let live = aws.read(&scope).await.expect("reads the empty account");
    let plan = converge_plan::plan(&spec, &live).expect("plans");
    let (events, received) = tokio::sync::mpsc::unbounded_channel();
    let stamps = timing::spans(received);
    let config = converge_engine::Config { concurrency: settings.parallelism, ..converge_engine::Config::default() };
    let before = sandbox.requests().len();
    let started = Instant::now();
    let report = converge_engine::apply(&plan.steps, &aws, &config, Some(&events), &Cancel::new()).await;
    let apply_wall = started.elapsed();
    drop(events);
    assert!(report.is_success(), "{n}: the apply failed: {:?}", report.failed().take(3).collect::<Vec<_>>());
    let spans = stamps.await.expect("the event task");
    let (critical_path, _) = timing::critical_path(&plan.steps, &spans.took);
    // A step holds a slot while it calls AWS, not while it waits between polls.
    let work_over_concurrency = spans.calling(POLL_INTERVAL) / u32::try_from(settings.parallelism).unwrap_or(1);
    let (apply_throttles, apply_floor) = throttles_and_floor(&sandbox.requests()[before..]);
    if limited {
        // At once: the plan and the baseline after it take as long again.
        eprintln!(
            "{n}: apply under AWS's rates {:.1} s, rate floor {:.1} s ({}), {apply_throttles} throttles",
            apply_wall.as_secs_f64(),
            apply_floor.seconds,
            apply_floor.bucket.as_deref().unwrap_or("within the bursts")
        );
    }

    // converge plan, the binary, as a user runs it.
    if limited {
        tokio::time::sleep(refill_time(&sandbox.requests()[before..])).await;
    }
    let before = sandbox.requests().len();
    let started = Instant::now();
    let mut args = vec!["plan", "scale.toml", "--stats", "--detailed-exitcode"];
    if !limited {
        // Without pacing, as the no-limit figures this bench has always given (docs/performance.md).
        args.extend(["--pace", "off"]);
    }
    let output = tokio::process::Command::new(&settings.converge)
        .args(&args)
        .current_dir(&dir)
        .env("AWS_ENDPOINT_URL", sandbox.endpoint())
        .env("AWS_ACCESS_KEY_ID", "sandbox")
        .env("AWS_SECRET_ACCESS_KEY", "sandbox")
        .env("AWS_CONFIG_FILE", "/nonexistent/converge-bench-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/converge-bench-credentials")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e} (build it first)", settings.converge.display()));
    let plan_wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{n}: the plan after the apply is not empty:\n{stderr}");
    let plan_calls = sandbox.requests().len() - before;
    let (plan_throttles, plan_floor) = throttles_and_floor(&sandbox.requests()[before..]);
    let plan_read = stderr
        .lines()
        .find_map(|line| line.strip_prefix("Read in "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or(f64::NAN);
    let plan_stats = stderr.split("AWS calls (calls / attempts):").nth(1).unwrap_or_default().trim_end().to_owned();
    let plan_peak_mib = stderr
        .lines()
        .find_map(|line| line.strip_prefix("Peak memory (resident): "))
        .and_then(|rest| rest.trim_end_matches(" MiB").parse().ok())
        .unwrap_or(f64::NAN);

    // The baseline: one resource at a time, `baseline_parallelism` at once.
    let applied = aws.read(&scope).await.expect("reads the applied stack");
    if limited {
        tokio::time::sleep(refill_time(&sandbox.requests()[before..])).await;
    }
    let before = sandbox.requests().len();
    let started = Instant::now();
    refresh_each(&options, &applied, settings.baseline_parallelism).await;
    let baseline_wall = started.elapsed();
    let baseline_calls = sandbox.requests().len() - before;
    let (baseline_throttles, baseline_floor) = throttles_and_floor(&sandbox.requests()[before..]);
    sandbox.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    Row {
        resources,
        steps: plan.steps.len(),
        apply_wall,
        critical_path,
        work_over_concurrency,
        plan_wall,
        plan_read,
        plan_calls,
        plan_stats,
        plan_peak_mib,
        baseline_wall,
        baseline_calls,
        throttles: Throttles { apply: apply_throttles, plan: plan_throttles, baseline: baseline_throttles },
        plan_floor,
        apply_floor,
        baseline_floor,
    }
}

/// Clients of their own, as another tool would have.
struct Clients {
    ec2: aws_sdk_ec2::Client,
    iam: aws_sdk_iam::Client,
    sagemaker: aws_sdk_sagemaker::Client,
    catalog: aws_sdk_servicecatalog::Client,
    emr: aws_sdk_emr::Client,
}

/// One refresh unit: what a per-resource tool reads for one resource.
enum Unit {
    Subnet(String),
    Group(String),
    Role { name: String, inline: Vec<String>, attachments: usize, profile: bool },
    Domain(String),
    User { domain: String, name: String },
    Portfolio { id: String, principals: usize },
    Product { id: String, associations: usize, constraints: Vec<String> },
    Cluster(String),
}

async fn refresh_each(options: &Options, live: &LiveState, parallelism: usize) {
    let credentials = aws_sdk_sts::config::Credentials::new("sandbox", "sandbox", None, None, "bench");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(options.region.clone().expect("a region")))
        .endpoint_url(options.endpoint_url.clone().expect("an endpoint"))
        .credentials_provider(credentials)
        // The baseline's own retries ([`retried`]), as terraform-provider-aws's clients retry.
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let clients = Clients {
        ec2: aws_sdk_ec2::Client::new(&sdk),
        iam: aws_sdk_iam::Client::new(&sdk),
        sagemaker: aws_sdk_sagemaker::Client::new(&sdk),
        catalog: aws_sdk_servicecatalog::Client::new(&sdk),
        emr: aws_sdk_emr::Client::new(&sdk),
    };
    let mut units = Vec::new();
    units.extend(live.subnets.iter().map(|s| Unit::Subnet(s.id.clone())));
    units.extend(live.security_groups.iter().map(|g| Unit::Group(g.id.clone())));
    units.extend(live.iam_roles.iter().map(|r| Unit::Role {
        name: r.name.clone(),
        inline: r.inline_policies.keys().cloned().collect(),
        attachments: r.managed_policies.len(),
        profile: r.instance_profile,
    }));
    units.extend(live.sagemaker_domains.iter().map(|d| Unit::Domain(d.id.clone())));
    units.extend(live.sagemaker_users.iter().map(|u| Unit::User { domain: u.domain_id.clone(), name: u.name.clone() }));
    units.extend(
        live.catalog_portfolios
            .iter()
            .map(|p| Unit::Portfolio { id: p.id.clone(), principals: p.principal_arns.len() }),
    );
    units.extend(live.catalog_products.iter().map(|p| Unit::Product {
        id: p.id.clone(),
        associations: p.portfolio_ids.len(),
        constraints: p.launch_constraints.iter().map(|c| c.id.clone()).collect(),
    }));
    units.extend(live.emr_clusters.iter().map(|c| Unit::Cluster(c.id.clone())));
    let failures: Vec<String> = futures_util::stream::iter(units)
        .map(|unit| refresh(&clients, unit))
        .buffer_unordered(parallelism)
        .filter_map(|result| async move { result.err() })
        .collect()
        .await;
    assert!(failures.is_empty(), "the baseline's reads failed: {:?}", &failures[..failures.len().min(3)]);
}

/// Sends a call until it is not throttled, as terraform-provider-aws's
/// clients do: up to 25 retries (its `max_retries` default), each after a
/// random wait of up to 2^attempt seconds and at most 20 (aws-sdk-go-v2's
/// standard retryer). Any other error fails the baseline.
async fn retried<T, E, Fut>(mut send: impl FnMut() -> Fut) -> Result<T, String>
where
    Fut: std::future::Future<Output = Result<T, E>>,
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::fmt::Debug,
{
    use std::hash::BuildHasher as _;
    let throttle = ["ThrottlingException", "RequestLimitExceeded", "SlowDown", "Throttling"];
    for attempt in 0_u32.. {
        match send().await {
            Ok(answer) => return Ok(answer),
            Err(e) if attempt < 25 && e.code().is_some_and(|code| throttle.contains(&code)) => {
                let random = std::hash::RandomState::new().hash_one(attempt) as f64 / u64::MAX as f64;
                let ceiling = 2_f64.powi(i32::try_from(attempt + 1).unwrap_or(i32::MAX)).min(20.0);
                tokio::time::sleep(Duration::from_secs_f64(random * ceiling)).await;
            }
            Err(e) => return Err(format!("{e:?}")),
        }
    }
    unreachable!("the loop returns")
}

async fn refresh(c: &Clients, unit: Unit) -> Result<(), String> {
    match unit {
        Unit::Subnet(id) => {
            retried(|| c.ec2.describe_subnets().subnet_ids(&id).send()).await?;
        }
        Unit::Group(id) => {
            retried(|| c.ec2.describe_security_groups().group_ids(&id).send()).await?;
        }
        Unit::Role { name, inline, attachments, profile } => {
            retried(|| c.iam.get_role().role_name(&name).send()).await?;
            retried(|| c.iam.list_role_policies().role_name(&name).send()).await?;
            for policy in inline {
                retried(|| c.iam.get_role_policy().role_name(&name).policy_name(&policy).send()).await?;
            }
            for _ in 0..=attachments {
                retried(|| c.iam.list_attached_role_policies().role_name(&name).send()).await?;
            }
            if profile {
                retried(|| c.iam.get_instance_profile().instance_profile_name(&name).send()).await?;
            }
        }
        Unit::Domain(id) => {
            let domain = retried(|| c.sagemaker.describe_domain().domain_id(&id).send()).await?;
            let arn = domain.domain_arn().unwrap_or_default().to_owned();
            retried(|| c.sagemaker.list_tags().resource_arn(&arn).send()).await?;
        }
        Unit::User { domain, name } => {
            let user =
                retried(|| c.sagemaker.describe_user_profile().domain_id(&domain).user_profile_name(&name).send())
                    .await?;
            let arn = user.user_profile_arn().unwrap_or_default().to_owned();
            retried(|| c.sagemaker.list_tags().resource_arn(&arn).send()).await?;
        }
        Unit::Portfolio { id, principals } => {
            retried(|| c.catalog.describe_portfolio().id(&id).send()).await?;
            for _ in 0..principals {
                retried(|| c.catalog.list_principals_for_portfolio().portfolio_id(&id).send()).await?;
            }
        }
        Unit::Product { id, associations, constraints } => {
            retried(|| c.catalog.describe_product_as_admin().id(&id).send()).await?;
            for _ in 0..associations {
                retried(|| c.catalog.list_portfolios_for_product().product_id(&id).send()).await?;
            }
            for constraint in constraints {
                retried(|| c.catalog.describe_constraint().id(&constraint).send()).await?;
            }
        }
        Unit::Cluster(id) => {
            retried(|| c.emr.describe_cluster().cluster_id(&id).send()).await?;
            retried(|| c.emr.list_instance_fleets().cluster_id(&id).send()).await?;
            retried(|| c.emr.list_bootstrap_actions().cluster_id(&id).send()).await?;
            retried(|| c.emr.get_auto_termination_policy().cluster_id(&id).send()).await?;
            retried(|| c.emr.get_managed_scaling_policy().cluster_id(&id).send()).await?;
        }
    }
    Ok(())
}

fn main() {
    let settings = settings();
    assert!(
        settings.converge.exists(),
        "{} does not exist: run `cargo build --release --locked -p converge-cli` first (or pass --converge PATH)",
        settings.converge.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    println!(
        "sandbox: every call answered after {} ms; AWS durations x{}; apply {} calls at a time; baseline {} resources at a time\n",
        settings.latency_ms, settings.time_scale, settings.parallelism, settings.baseline_parallelism
    );
    println!(
        "| resources | converge plan | of which reading AWS | API calls (per resource) | peak memory | per-resource refresh | its API calls (per resource) | apply | critical path | calling time / {} | apply / max(floors) | steps |",
        settings.parallelism
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut last_stats = String::new();
    let mut limited = Vec::new();
    for &n in &settings.sizes {
        let row = runtime.block_on(measure(n, &settings, false));
        last_stats = format!("calls of the plan of {} resources (calls / attempts):{}", row.resources, row.plan_stats);
        let floor = row.critical_path.max(row.work_over_concurrency);
        let per = |calls: usize| calls as f64 / row.resources as f64;
        println!(
            "| {} | {:.2} s | {:.1} s | {} ({:.2}) | {:.0} MiB | {:.2} s | {} ({:.2}) | {:.1} s | {:.1} s | {:.1} s | {:.2} | {} |",
            row.resources,
            row.plan_wall.as_secs_f64(),
            row.plan_read,
            row.plan_calls,
            per(row.plan_calls),
            row.plan_peak_mib,
            row.baseline_wall.as_secs_f64(),
            row.baseline_calls,
            per(row.baseline_calls),
            row.apply_wall.as_secs_f64(),
            row.critical_path.as_secs_f64(),
            row.work_over_concurrency.as_secs_f64(),
            row.apply_wall.as_secs_f64() / floor.as_secs_f64(),
            row.steps
        );
        if settings.limits {
            let under = runtime.block_on(measure(n, &settings, true));
            // Printed at once on stderr too: the larger sizes take a quarter of an hour each.
            let line = limited_row(&under, row.critical_path);
            eprintln!("under AWS's rates: {line}");
            last_stats = format!(
                "calls of the plan of {} resources under AWS's rates (calls / attempts):{}",
                under.resources, under.plan_stats
            );
            limited.push(line);
        }
    }
    if settings.limits {
        println!(
            "\nUnder AWS's published rates (the sandbox throttling, converge pacing itself; the apply's critical path as measured without limits):\n"
        );
        println!(
            "| resources | converge plan | its rate floor (bucket: calls) | plan / floor | throttles | apply | critical path | its rate floor (bucket: calls) | apply / max(critical path, floor) | throttles | per-resource refresh | its rate floor | its throttles |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for line in limited {
            println!("{line}");
        }
    }
    println!("\n{last_stats}");
}

/// A row of the table under AWS's rates.
fn limited_row(row: &Row, critical_path: Duration) -> String {
    let floor = |f: &Floor| match &f.bucket {
        Some(bucket) => format!("{:.1} s ({bucket}: {})", f.seconds, f.calls),
        None => "0 s (every bucket within its burst)".to_owned(),
    };
    let ratio = |wall: Duration, floor: f64| {
        if floor > 0.0 { format!("{:.2}", wall.as_secs_f64() / floor) } else { "n/a".to_owned() }
    };
    let apply_floor = critical_path.as_secs_f64().max(row.apply_floor.seconds);
    format!(
        "| {} | {:.1} s | {} | {} | {} | {:.1} s | {:.1} s | {} | {} | {} | {:.1} s | {} | {} |",
        row.resources,
        row.plan_wall.as_secs_f64(),
        floor(&row.plan_floor),
        ratio(row.plan_wall, row.plan_floor.seconds),
        row.throttles.plan,
        row.apply_wall.as_secs_f64(),
        critical_path.as_secs_f64(),
        floor(&row.apply_floor),
        ratio(row.apply_wall, apply_floor),
        row.throttles.apply,
        row.baseline_wall.as_secs_f64(),
        floor(&row.baseline_floor),
        row.throttles.baseline,
    )
}
