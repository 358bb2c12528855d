//! Survival: the binary applies and destroys the reference specs against a
//! sandbox injecting throttling, 5xx, latency spikes and dropped connections,
//! and `converge apply` is killed with SIGKILL at random points and then run
//! again. After every run: the stack converged (the next plan is empty), no
//! resource exists twice, nothing converge made lacks its ownership tag, and
//! after destroy nothing of the stack is left.
//!
//! The normal suite runs a short version (one faulty run of the ETL spec,
//! three kills); the soak (`just soak`) runs the long one:
//! `CONVERGE_SOAK_RUNS=3 CONVERGE_SOAK_KILLS=50 cargo test --locked -p converge-cli --test soak -- --ignored --nocapture`.

#![cfg(unix)]
#![expect(clippy::print_stderr, reason = "the soak reports each run as it goes (`--nocapture`)")]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use converge_sandbox::{Config, Fault, Sandbox, Seed, SeedNetwork};

mod common;

use common::{against_sandbox, root};

/// A reference spec, with what its sandbox must hold beforehand.
struct Reference {
    file: &'static str,
    stack: &'static str,
    region: &'static str,
    seed: fn() -> Seed,
    resources: usize,
}

const STUDIO: Reference = Reference {
    file: "studio-emr.toml",
    stack: "ml-platform",
    region: "ap-northeast-1",
    seed: || Seed {
        vpcs: vec![("vpc-0b4cd1e283a3474c0".into(), "10.0.0.0/16".into())],
        buckets: vec!["ml-platform-artifacts".into()],
        network: SeedNetwork::NatGateway,
        ..Seed::default()
    },
    resources: 15,
};

const ETL: Reference = Reference {
    file: "etl-cluster.toml",
    stack: "etl-platform",
    region: "us-east-1",
    seed: || Seed {
        vpcs: vec![("vpc-0a1b2c3d4e5f60718".into(), "10.20.0.0/16".into())],
        buckets: vec![],
        network: SeedNetwork::NatGateway,
        ..Seed::default()
    },
    resources: 9,
};

/// Every service throttles 10% of calls, fails 2% with a 500 and 1% with a
/// 503, drops the connection of 1%, and answers 5% after a 400 ms spike.
fn faults() -> Vec<Fault> {
    let mut faults = Vec::new();
    for service in ["ec2", "iam", "sts", "emr", "sagemaker", "servicecatalog", "s3"] {
        for kind in [
            "throttle,rate=0.1",
            "internal_error,rate=0.02",
            "unavailable,rate=0.01",
            "drop,rate=0.01",
            "latency,ms=400,rate=0.05",
        ] {
            faults.push(format!("{service}={kind}").parse().expect("a fault"));
        }
    }
    faults
}

struct Env {
    runtime: tokio::runtime::Runtime,
    sandbox: Option<Sandbox>,
    endpoint: String,
    spec: PathBuf,
    reference: &'static Reference,
}

impl Env {
    fn start(reference: &'static Reference, faults: Vec<Fault>, seed: u64, dir: &str) -> Env {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        let config = Config {
            region: reference.region.into(),
            time_scale: 0.002,
            page_size: Some(2),
            faults,
            seed,
            ..Config::default()
        };
        let sandbox = runtime.block_on(Sandbox::start(config)).expect("the sandbox starts");
        sandbox.seed(&(reference.seed)());
        let endpoint = sandbox.endpoint();
        let spec = common::spec_copy(dir, reference.file, |text| text);
        Env { runtime, sandbox: Some(sandbox), endpoint, spec, reference }
    }

    fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().expect("running")
    }

    fn converge(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_converge"));
        let spec = self.spec.to_str().expect("UTF-8");
        let args: Vec<&str> = args.iter().map(|a| if *a == "SPEC" { spec } else { a }).collect();
        against_sandbox(command.args(args).current_dir(root()), &self.endpoint);
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.converge(args).output().expect("converge runs")
    }

    /// Runs `args`, which must exit with `code`.
    fn expect(&self, args: &[&str], code: i32, context: &str) {
        let output = self.run(args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{context}: converge {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The lock file a killed run leaves next to the spec (what `--force-unlock` removes).
    fn remove_stale_lock(&self) {
        let lock =
            self.spec.parent().expect("a directory").join(".converge").join(format!("{}.lock", self.reference.stack));
        let _ = std::fs::remove_file(lock);
    }

    /// Converged: the plan is empty, each address is held once, and every
    /// resource converge made carries the stack's tag.
    fn assert_converged(&self, context: &str) {
        self.expect(&["plan", "SPEC", "--detailed-exitcode"], 0, context);
        let world = self.sandbox().state();
        let held = owned(&world, self.reference.stack);
        let unique: BTreeSet<&String> = held.iter().collect();
        assert_eq!(unique.len(), held.len(), "{context}: a resource exists twice: {held:?}");
        let addresses: BTreeSet<&str> = held.iter().filter_map(|h| h.split(' ').nth(1)).collect();
        assert_eq!(addresses.len(), self.reference.resources, "{context}: {held:?}");
        assert_eq!(untagged(&world), Vec::<String>::new(), "{context}: made without the ownership tag");
    }

    /// Destroyed: nothing running holds the stack's tag, and nothing untagged was left behind.
    fn assert_destroyed(&self, context: &str) {
        let world = self.sandbox().state();
        assert_eq!(owned(&world, self.reference.stack), Vec::<String>::new(), "{context}: left after destroy");
        assert_eq!(untagged(&world), Vec::<String>::new(), "{context}: left without the ownership tag");
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            self.runtime.block_on(sandbox.stop());
        }
    }
}

/// `collection address` of every live resource tagged with `stack` (terminated clusters left out: EMR lists them for two months).
fn owned(world: &serde_json::Value, stack: &str) -> Vec<String> {
    let mut out = Vec::new();
    walk(world, "", &mut |path, value| {
        let tags = &value["tags"];
        if tags["converge:stack"] != stack || terminated(value) {
            return;
        }
        let collection = path.rsplit_once('/').map_or("", |(c, _)| c);
        out.push(format!("{collection} {}", tags["converge:address"].as_str().unwrap_or("?")));
    });
    out.sort();
    out
}

/// Resources of the kinds converge creates that carry no `converge:stack`
/// tag: a leak (the seeded VPC, the groups EC2 and SageMaker make, and
/// terminated clusters are not converge's).
fn untagged(world: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(world, "", &mut |path, value| {
        let converge_makes = ["/ec2/subnets/", "/ec2/groups/", "/iam/roles/", "/sagemaker/domains/", "/emr/clusters/"]
            .iter()
            .any(|prefix| path.starts_with(prefix))
            || path.starts_with("/sagemaker/users/")
            || path.starts_with("/catalog/portfolios/")
            || path.starts_with("/catalog/products/");
        // The seed's public subnet (it holds the NAT gateway) is the network's, like the VPC.
        let not_ours = value["name"] == "default"
            || value["name"].as_str().is_some_and(|n| n.starts_with("security-group-for-"))
            || value["tags"]["Name"] == "public"
            || terminated(value);
        if converge_makes && !not_ours && value["tags"].get("converge:stack").is_none() {
            out.push(path.to_owned());
        }
    });
    out
}

fn terminated(value: &serde_json::Value) -> bool {
    value["timeline"].to_string().contains("TERMINAT")
}

/// Calls `f` on every object with a `tags` map, with its path (`/ec2/groups/sg-…`).
fn walk(value: &serde_json::Value, path: &str, f: &mut dyn FnMut(&str, &serde_json::Value)) {
    match value {
        serde_json::Value::Object(map) => {
            if map.get("tags").is_some_and(serde_json::Value::is_object) {
                f(path, value);
            }
            for (key, child) in map {
                walk(child, &format!("{path}/{key}"), f);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, &format!("{path}/{i}"), f);
            }
        }
        _ => {}
    }
}

/// `runs` applies and destroys of each of `references` under faults, each with its own fault seed.
fn faulty_runs(references: &[&'static Reference], runs: u64, dir: &str) {
    for &reference in references {
        for run in 0..runs {
            let context = format!("{} run {run}", reference.file);
            let started = Instant::now();
            let env = Env::start(reference, faults(), 1000 + run, &format!("{dir}-{}-{run}", reference.stack));
            env.expect(&["apply", "SPEC", "--auto-approve"], 0, &context);
            env.assert_converged(&context);
            env.expect(&["destroy", "SPEC", "--auto-approve"], 0, &context);
            env.assert_destroyed(&context);
            let injected = env.sandbox().requests().iter().filter(|r| r.injected).count();
            assert!(injected > 0, "{context}: faults were injected");
            eprintln!("{context}: converged and destroyed in {:.1?} ({injected} faults injected)", started.elapsed());
        }
    }
}

/// A small deterministic generator for kill points (no dependency for one number).
struct Draws(u64);

impl Draws {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `trials` applies of studio-emr.toml killed with SIGKILL after a random
/// delay within the time a whole apply takes, each followed by an apply that
/// must converge with no duplicate and no untagged leftover, and a destroy.
/// No injected faults: the kill is the fault, and the adaptive retry's
/// slow-down under steady throttling would make each trial minutes long.
fn kill_trials(trials: u64, dir: &str) {
    let env = Env::start(&STUDIO, Vec::new(), 7, dir);
    // How long a whole apply takes here: kill points are drawn within it.
    let started = Instant::now();
    env.expect(&["apply", "SPEC", "--auto-approve"], 0, "the timing apply");
    let whole = started.elapsed();
    env.expect(&["destroy", "SPEC", "--auto-approve"], 0, "the timing destroy");
    let mut draws = Draws(0x9e37_79b9_7f4a_7c15);
    let mut killed_mid_way = 0;
    for trial in 0..trials {
        let context = format!("kill trial {trial}");
        let started = Instant::now();
        let delay = Duration::from_millis(draws.next() % u64::try_from(whole.as_millis()).unwrap_or(1).max(1));
        let mut child = env
            .converge(&["apply", "SPEC", "--auto-approve"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("apply starts");
        std::thread::sleep(delay);
        if child.try_wait().expect("the apply's state").is_none() {
            killed_mid_way += 1;
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        env.remove_stale_lock();
        env.expect(&["apply", "SPEC", "--auto-approve"], 0, &context);
        env.assert_converged(&context);
        env.expect(&["destroy", "SPEC", "--auto-approve"], 0, &context);
        env.assert_destroyed(&context);
        eprintln!("{context}: killed after {delay:.1?}, converged and destroyed in {:.1?}", started.elapsed());
    }
    assert!(killed_mid_way * 2 >= trials, "most kills land mid-apply ({killed_mid_way} of {trials})");
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn the_etl_spec_applies_and_destroys_under_faults() {
    faulty_runs(&[&ETL], 1, "soak-short");
}

#[test]
fn applies_killed_at_random_points_are_finished_by_the_next() {
    kill_trials(3, "kills-short");
}

#[test]
#[ignore = "the soak: a quarter of an hour; run by `just soak`"]
fn soak() {
    kill_trials(env_number("CONVERGE_SOAK_KILLS", 50), "kills");
    faulty_runs(&[&STUDIO, &ETL], env_number("CONVERGE_SOAK_RUNS", 3), "soak");
}

#[test]
fn the_leak_and_duplicate_checks_see_what_they_look_for() {
    let world = serde_json::json!({
        "ec2": { "groups": {
            "sg-1": { "name": "hand-made", "tags": {} },
            "sg-2": { "name": "default", "tags": {} },
            "sg-3": { "name": "a", "tags": { "converge:stack": "s", "converge:address": "security_group.a" } },
            "sg-4": { "name": "a", "tags": { "converge:stack": "s", "converge:address": "security_group.a" } },
        } },
        "emr": { "clusters": { "j-1": { "tags": {}, "timeline": [[0, "TERMINATED"]] } } },
    });
    assert_eq!(untagged(&world), vec!["/ec2/groups/sg-1".to_owned()]);
    let held = owned(&world, "s");
    assert_eq!(held, vec!["/ec2/groups security_group.a".to_owned(); 2], "a duplicate shows as the same line twice");
}
