//! Plans a synthetic spec of about 2,000 resources (subnets, security groups
//! with cross-references, roles, domains, user profiles, portfolios,
//! products, EMR clusters) against three live states: the one a perfect
//! apply leaves (no changes), one with drift on about 10% of resources, and
//! an empty account (everything created). Also times checking the spec.
//!
//! `cargo bench -p converge-plan --bench plan` — results go to docs/performance.md.
//! With `-- --once` it plans each live state once and times nothing, for
//! counting instructions under `valgrind --tool=callgrind` (repeatable where
//! wall time on a shared machine is not).

#![expect(clippy::disallowed_methods, reason = "a benchmark reads the clock")]
#![expect(clippy::print_stdout, reason = "a bench binary reports its figures on stdout")]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use converge_model::LiveState;

fn synthetic_spec() -> String {
    let mut t = String::from(
        "[stack]\nname = \"bench\"\nregion = \"us-east-1\"\naccount = \"123456789012\"\ntags = { team = \"bench\" }\n\n[vpc.main]\nid = \"vpc-0123456789abcdef0\"\n",
    );
    for i in 0..200 {
        let _ = write!(
            t,
            "\n[subnet.s{i}]\nvpc = \"main\"\ncidr = \"10.{}.{}.0/24\"\navailability_zone = \"us-east-1{}\"\n",
            i / 250,
            i % 250,
            ["a", "b", "c"][i % 3]
        );
    }
    for i in 0..500 {
        let peer = (i + 1) % 500;
        let _ = write!(
            t,
            "\n[security_group.g{i}]\nvpc = \"main\"\ndescription = \"group {i}\"\ningress = [{{ protocol = \"tcp\", ports = 443, source = \"g{peer}\" }}, {{ protocol = \"all\", source = \"self\" }}, {{ protocol = \"tcp\", ports = \"8000-8100\", cidr = \"10.0.0.0/16\" }}]\n"
        );
    }
    for i in 0..400 {
        let _ = write!(
            t,
            "\n[iam_role.r{i}]\ntrust = [\"sagemaker.amazonaws.com\", \"elasticmapreduce.amazonaws.com\", \"ec2.amazonaws.com\", \"servicecatalog.amazonaws.com\"]\ninstance_profile = true\nmanaged_policies = [\"arn:aws:iam::aws:policy/ReadOnlyAccess\"]\ninline_policies.p = {{ json = '{{\"Version\": \"2012-10-17\", \"Statement\": [{{\"Effect\": \"Allow\", \"Action\": [\"s3:GetObject\", \"s3:ListBucket\"], \"Resource\": \"arn:aws:s3:::bucket-{i}/*\"}}]}}' }}\n"
        );
    }
    for i in 0..100 {
        let _ = write!(
            t,
            "\n[sagemaker_domain.d{i}]\nname = \"domain-{i}\"\nauth_mode = \"IAM\"\nvpc = \"main\"\nsubnets = [\"s{}\", \"s{}\"]\nexecution_role = \"r{}\"\nsecurity_groups = [\"g{}\"]\n",
            i % 200,
            (i + 1) % 200,
            i % 400,
            i % 500
        );
    }
    for i in 0..300 {
        let _ =
            write!(t, "\n[sagemaker_user.u{i}]\ndomain = \"d{}\"\nexecution_role = \"r{}\"\n", i % 100, (i + 7) % 400);
    }
    for i in 0..50 {
        let _ = write!(
            t,
            "\n[catalog_portfolio.p{i}]\ndisplay_name = \"P{i}\"\nprovider = \"Data\"\nprincipals = [\"r{}\", \"r{}\"]\n",
            i,
            i + 50
        );
    }
    for i in 0..100 {
        let _ = write!(
            t,
            "\n[catalog_product.x{i}]\nportfolio = \"p{}\"\nname = \"Product {i}\"\nowner = \"data\"\ntemplate = \"t.yaml\"\ntemplate_bucket = \"bucket\"\nlaunch_role = \"r{}\"\n",
            i % 50,
            i % 400
        );
    }
    for i in 0..349 {
        let _ = write!(
            t,
            "\n[emr_cluster.c{i}]\nname = \"c{i}\"\nrelease = \"emr-6.15.0\"\napplications = [\"Spark\", \"Hive\"]\nsubnets = [\"s{}\", \"s{}\"]\nservice_role = \"r{}\"\ninstance_profile = \"r{}\"\nmaster_security_group = \"g{}\"\ncore_security_group = \"g{}\"\nconfigurations = [{{ classification = \"yarn-site\", properties = {{ \"yarn.node-labels.enabled\" = \"true\", \"yarn.node-labels.am.default-node-label-expression\" = \"CORE\" }} }}]\n\n[emr_cluster.c{i}.master]\ninstance_types = [\"m5.xlarge\"]\non_demand = 1\n\n[emr_cluster.c{i}.core]\ninstance_types = [{{ type = \"r5.2xlarge\", weight = 8 }}]\non_demand = 16\n\n[emr_cluster.c{i}.task]\ninstance_types = [{{ type = \"r5.4xlarge\", weight = 16 }}, {{ type = \"c5.4xlarge\", weight = 16 }}, {{ type = \"m5.4xlarge\", weight = 16 }}]\nspot = 0\nspot_allocation = \"price-capacity-optimized\"\nspot_timeout_minutes = 20\nspot_timeout_action = \"switch-to-on-demand\"\n\n[emr_cluster.c{i}.scaling]\nunit = \"InstanceFleetUnits\"\nmin = 16\nmax = 496\n",
            i % 200,
            (i + 1) % 200,
            i % 400,
            (i + 1) % 400,
            i % 500,
            (i + 250) % 500
        );
    }
    t
}

fn measure(name: &str, iterations: u32, mut run: impl FnMut()) -> Duration {
    run(); // warm-up
    let mut samples: Vec<Duration> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .collect();
    samples.sort();
    let median = samples[samples.len() / 2];
    println!("{name:<44} median {:>9.2?}  min {:>9.2?}  ({iterations} runs)", median, samples[0]);
    median
}

fn main() {
    let text = synthetic_spec();
    let template = "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n".to_owned();
    let loader = move |_: &str| Ok(template.clone());
    let checked = converge_spec::check("bench.toml", &text, &loader);
    let rendered = checked.render();
    let spec = checked.spec.unwrap_or_else(|| panic!("the synthetic spec is invalid:\n{rendered}"));
    let resources = spec.addresses().len();
    println!(
        "synthetic spec: {resources} resources, {} references, {} KiB of TOML",
        spec.references().len(),
        text.len() / 1024
    );

    let empty = LiveState::before_converge(&spec);
    // The account a perfect apply leaves: the plan from empty, run by the in-memory AWS.
    let creation = converge_plan::plan(&spec, &empty).expect("plans");
    let perfect = converge_memory::run(empty.clone(), &creation.steps).expect("the creation plan runs");
    let mut drifted = perfect.clone();
    for (i, cluster) in drifted.emr_clusters.iter_mut().enumerate().filter(|(i, _)| i % 5 == 0) {
        cluster.fleets[1].target_on_demand += 8;
        cluster.termination_protection = i % 2 == 0;
    }
    for group in drifted.security_groups.iter_mut().step_by(10) {
        group.tags.insert("drift".into(), "yes".into());
    }
    for role in drifted.iam_roles.iter_mut().step_by(10) {
        role.managed_policies.push("arn:aws:iam::aws:policy/AdministratorAccess".into());
    }

    if std::env::args().any(|arg| arg == "--once") {
        for live in [&perfect, &drifted, &empty] {
            let plan = converge_plan::plan(&spec, live).expect("plans");
            println!("planned once: {} changes, {} steps", plan.changes.len(), plan.steps.len());
        }
        return;
    }
    let check_time = measure("check the spec (converge-spec)", 10, || {
        std::hint::black_box(converge_spec::check("bench.toml", &text, &loader));
    });
    let mut changes = [0usize; 3];
    let times = [
        ("plan: no changes (after a perfect apply)", &perfect),
        ("plan: drift on ~10% of resources", &drifted),
        ("plan: empty account (create everything)", &empty),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (name, live))| {
        measure(name, 20, || {
            let plan = converge_plan::plan(&spec, live).expect("plans");
            changes[i] = plan.changes.len();
            std::hint::black_box(plan);
        })
    })
    .collect::<Vec<_>>();
    let plan = converge_plan::plan(&spec, &drifted).expect("plans");
    measure("render the drift plan as text + JSON", 20, || {
        std::hint::black_box(converge_plan::render::text(&plan, converge_plan::render::Style::plain()));
        std::hint::black_box(converge_plan::render::json(&plan).to_string());
    });
    println!("changes planned: {} / {} / {}", changes[0], changes[1], changes[2]);
    let creation = converge_plan::plan(&spec, &empty).expect("plans");
    println!("steps: {} for the drift plan, {} for the empty account", plan.steps.len(), creation.steps.len());
    println!(
        "slowest plan: {:.2?} for {resources} resources (goal: well under 100 ms); check: {check_time:.2?}",
        times.iter().max().expect("three")
    );
}
