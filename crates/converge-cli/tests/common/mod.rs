//! What the binary's end-to-end tests share: the repository root, and a
//! command pointed at a sandbox and away from any real AWS configuration.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use converge_sandbox::Sandbox;

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `command` with the sandbox at `endpoint` as its AWS: the sandbox's keys, no
/// profile, region, shared files or instance metadata, no colour, no stdin.
pub(crate) fn against_sandbox<'a>(command: &'a mut Command, endpoint: &str) -> &'a mut Command {
    command
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "sandbox")
        .env("AWS_SECRET_ACCESS_KEY", "sandbox")
        .env("AWS_CONFIG_FILE", "/nonexistent/converge-test-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/converge-test-credentials")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
}

/// A copy of `specs/<spec>` (edited) with the policies and templates it names,
/// in a directory `dir` of its own under the tests' temporary directory
/// (its lock file, `.converge/`, with it). Returns the copy's path.
#[allow(dead_code, reason = "not every test binary copies a spec")]
pub(crate) fn spec_copy(dir: &str, spec: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(dir);
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["policies", "templates"] {
        std::fs::create_dir_all(dir.join(sub)).expect("a directory");
        for entry in std::fs::read_dir(root().join("specs").join(sub)).expect("the spec's files") {
            let entry = entry.expect("an entry");
            std::fs::copy(entry.path(), dir.join(sub).join(entry.file_name())).expect("a copy");
        }
    }
    let text = std::fs::read_to_string(root().join("specs").join(spec)).expect("the spec");
    std::fs::write(dir.join(spec), edit(text)).expect("the spec written");
    dir.join(spec)
}

/// The accounts of `specs/ml-platform.toml`'s environments: staging's.
#[allow(dead_code, reason = "not every test binary has environments")]
pub(crate) const STAGING_ACCOUNT: &str = "111111111111";
/// … and production's.
#[allow(dead_code, reason = "not every test binary has environments")]
pub(crate) const PRODUCTION_ACCOUNT: &str = "222222222222";

/// Two sandboxes standing for `specs/ml-platform.toml`'s two accounts (each
/// with its environment's VPC), and an AWS config file with a profile per
/// account (`staging`, `production`) naming its sandbox as `endpoint_url`, as
/// a team reaches its accounts through profiles.
#[allow(dead_code, reason = "not every test binary has environments")]
pub(crate) struct Accounts {
    pub(crate) runtime: tokio::runtime::Runtime,
    staging: Option<converge_sandbox::Sandbox>,
    production: Option<converge_sandbox::Sandbox>,
    pub(crate) config_file: PathBuf,
}

#[allow(dead_code, reason = "not every test binary has environments")]
impl Accounts {
    /// Starts both sandboxes; the config file is written into `dir`.
    pub(crate) fn start(dir: &Path, time_scale: f64) -> Accounts {
        use converge_sandbox::{Config, Sandbox, Seed, SeedNetwork};
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        let start = |account: &str, vpc: &str| {
            let config =
                Config { account: account.into(), region: "ap-northeast-1".into(), time_scale, ..Config::default() };
            let sandbox = runtime.block_on(Sandbox::start(config)).expect("the sandbox starts");
            sandbox.seed(&Seed {
                vpcs: vec![(vpc.into(), "10.0.0.0/16".into())],
                network: SeedNetwork::NatGateway,
                ..Seed::default()
            });
            sandbox
        };
        let staging = start(STAGING_ACCOUNT, "vpc-05a1b2c3d4e5f6071");
        let production = start(PRODUCTION_ACCOUNT, "vpc-0b4cd1e283a3474c0");
        std::fs::create_dir_all(dir).expect("a directory");
        let config_file = dir.join("aws-config");
        let profile = |name: &str, sandbox: &Sandbox| {
            format!("[profile {name}]\nregion = ap-northeast-1\nendpoint_url = {}\n", sandbox.endpoint())
        };
        let text = format!("{}\n{}", profile("staging", &staging), profile("production", &production));
        std::fs::write(&config_file, text).expect("the config file");
        Accounts { runtime, staging: Some(staging), production: Some(production), config_file }
    }

    pub(crate) fn staging(&self) -> &converge_sandbox::Sandbox {
        self.staging.as_ref().expect("running")
    }

    pub(crate) fn production(&self) -> &converge_sandbox::Sandbox {
        self.production.as_ref().expect("running")
    }

    /// The sandbox of an environment (`staging` or `production`).
    pub(crate) fn of(&self, environment: &str) -> &converge_sandbox::Sandbox {
        if environment == "staging" { self.staging() } else { self.production() }
    }

    /// `command` with the sandboxes' keys and the two profiles, and no endpoint of its own.
    pub(crate) fn with_profiles<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        against_sandbox(command, "unused").env_remove("AWS_ENDPOINT_URL").env("AWS_CONFIG_FILE", &self.config_file)
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        for sandbox in [self.staging.take(), self.production.take()].into_iter().flatten() {
            self.runtime.block_on(sandbox.stop());
        }
    }
}

/// A sandbox for `specs/studio-emr.toml` in ap-northeast-1 on `runtime`, its
/// VPC (NAT-routed) and artifacts bucket seeded.
#[allow(dead_code, reason = "not every test binary runs the Studio spec")]
pub(crate) fn studio_sandbox(runtime: &tokio::runtime::Runtime, config: converge_sandbox::Config) -> Sandbox {
    use converge_sandbox::{Seed, SeedNetwork};
    let config = converge_sandbox::Config { region: "ap-northeast-1".into(), ..config };
    let sandbox = runtime.block_on(Sandbox::start(config)).expect("the sandbox starts");
    sandbox.seed(&Seed {
        vpcs: vec![("vpc-0b4cd1e283a3474c0".into(), "10.0.0.0/16".into())],
        buckets: vec!["ml-platform-artifacts".into()],
        network: SeedNetwork::NatGateway,
        ..Seed::default()
    });
    sandbox
}

/// The id of the cluster converge made for `address` that is not ending, if one runs.
#[allow(dead_code, reason = "not every test binary runs a cluster")]
pub(crate) fn running_cluster(sandbox: &Sandbox, address: &str) -> Option<String> {
    let state = sandbox.state();
    let clusters = state["emr"]["clusters"].as_object()?.clone();
    clusters.values().find_map(|c| {
        let ours = c["tags"]["converge:address"].as_str() == Some(address);
        // The sandbox keeps each cluster's timeline of states: not yet ending.
        let entries = c["timeline"].as_array().cloned().unwrap_or_default();
        let live = !entries.iter().any(|e| e[1].as_str().is_some_and(|s| s.starts_with("TERMINAT")));
        (ours && live).then(|| c["id"].as_str().unwrap_or_default().to_owned())
    })
}

/// Opens TCP 22 to 0.0.0.0/0 on the group converge made for `address`, as
/// someone might at the console: the group's id.
#[allow(dead_code, reason = "not every test binary changes AWS by hand")]
pub(crate) fn open_ssh_by_hand(runtime: &tokio::runtime::Runtime, sandbox: &Sandbox, address: &str) -> String {
    use converge_ops::{Direction, Ec2Op, Id, IpProtocol, Operation, Peer, Rule};
    let state = sandbox.state();
    let groups = state["ec2"]["groups"].as_object().expect("groups").clone();
    let group = groups
        .values()
        .find(|g| g["tags"]["converge:address"].as_str() == Some(address))
        .and_then(|g| g["id"].as_str())
        .expect("the group")
        .to_owned();
    let operation = Operation::Ec2(Ec2Op::AuthorizeRules {
        group: Id::known(group.clone()),
        direction: Direction::Ingress,
        rules: vec![Rule {
            protocol: IpProtocol::Tcp,
            from_port: Some(22),
            to_port: Some(22),
            peer: Peer::Cidr("0.0.0.0/0".into()),
            description: Some("debugging".into()),
        }],
    });
    let options = converge_aws::Options::sandbox(&sandbox.endpoint(), "ap-northeast-1");
    let address = converge_model::Address::parse(address).expect("an address");
    runtime.block_on(async {
        let aws = converge_aws::Aws::connect(&options).await.expect("connects");
        converge_executor::Executor::start(&aws, &address, &operation).await.expect("opened");
    });
    group
}

/// A child process killed and reaped when dropped, so a test that fails
/// half-way leaves no `converge watch` running behind it.
#[allow(dead_code, reason = "not every test binary runs a long-lived process")]
pub(crate) struct Reaped(pub(crate) std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Reaped {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for Reaped {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

/// The fenced blocks of `doc` (`docs/ci.md`) in `language` (```` ```yaml ````), in order.
#[allow(dead_code, reason = "not every test binary reads the docs")]
pub(crate) fn doc_blocks(doc: &str, language: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(doc)).unwrap_or_else(|e| panic!("{doc}: {e}"));
    let fence = format!("```{language}");
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == fence {
            blocks.push(lines.by_ref().take_while(|l| l.trim() != "```").collect::<Vec<_>>().join("\n"));
        }
    }
    blocks
}

/// A YAML document of the docs (a workflow, a manifest, `action.yml`) as
/// JSON: mappings keep their order, tags (`!Ref`) are dropped for what they
/// tag, and a missing key indexes as `null`.
#[allow(dead_code, reason = "not every test binary reads YAML")]
pub(crate) fn yaml(text: &str) -> Result<serde_json::Value, String> {
    use saphyr::LoadableYamlNode as _;
    let documents = saphyr::Yaml::load_from_str(text).map_err(|e| e.to_string())?;
    let document = documents.first().ok_or("no YAML document")?;
    Ok(yaml_to_json(document))
}

fn yaml_to_json(node: &saphyr::Yaml<'_>) -> serde_json::Value {
    use saphyr::{Scalar, Yaml};
    use serde_json::Value;
    match node {
        Yaml::Value(Scalar::Null) | Yaml::Alias(_) | Yaml::BadValue => Value::Null,
        Yaml::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        Yaml::Value(Scalar::Integer(i)) => Value::from(*i),
        Yaml::Value(Scalar::FloatingPoint(f)) => Value::from(f.into_inner()),
        Yaml::Value(Scalar::String(s)) => Value::String(s.to_string()),
        Yaml::Representation(text, ..) => Value::String(text.to_string()),
        Yaml::Sequence(items) => items.iter().map(yaml_to_json).collect(),
        Yaml::Mapping(entries) => entries
            .iter()
            .map(|(key, value)| {
                let key = match yaml_to_json(key) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (key, yaml_to_json(value))
            })
            .collect::<serde_json::Map<_, _>>()
            .into(),
        Yaml::Tagged(_, inner) => yaml_to_json(inner),
    }
}
