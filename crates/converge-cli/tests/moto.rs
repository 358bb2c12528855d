//! The end-to-end suite's EC2, IAM, S3 and STS parts against a second AWS
//! emulator written by others: moto's server (`moto[server]` from PyPI),
//! which `.ci/run`'s moto leg installs, starts and names in
//! `CONVERGE_MOTO_ENDPOINT`. The binary is pointed at moto for those four
//! services (`AWS_ENDPOINT_URL_EC2` …) and at a sandbox for the others, as a
//! user would point it at two endpoints.
//!
//! Ignored in the README's test command (it needs the server):
//! `CONVERGE_MOTO_ENDPOINT=http://127.0.0.1:5000 cargo test -p converge-cli --test moto -- --ignored`.
//! Differences from the sandbox, and which side matches AWS: docs/sandbox.md.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output};

use converge_sandbox::{Config, Sandbox};

mod common;

use common::{against_sandbox, root};

fn moto_endpoint() -> String {
    std::env::var("CONVERGE_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("CONVERGE_MOTO_ENDPOINT is not set: start `moto_server -p 5000` and set it to http://127.0.0.1:5000")
    })
}

/// One raw call to moto (it checks no signature): what a console user would
/// click, made without converge. Returns the status and the body.
fn moto(method: &str, path: &str, service: &str, body: &str) -> (u16, String) {
    let endpoint = moto_endpoint();
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).expect("moto listens");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("writes");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reads");
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response)
}

/// The text of the first `<tag>` in `xml`.
fn xml_value(xml: &str, tag: &str) -> String {
    xml.split(&format!("<{tag}>"))
        .nth(1)
        .and_then(|r| r.split(&format!("</{tag}>")).next())
        .unwrap_or_default()
        .to_owned()
}

struct Env {
    runtime: tokio::runtime::Runtime,
    sandbox: Option<Sandbox>,
    dir: PathBuf,
    vpc: String,
    /// The stack's name: `name` and this process, so a moto server can serve many runs.
    stack: String,
}

impl Env {
    /// A VPC and a state bucket in moto (as a team that made them by hand), and
    /// a sandbox for the services moto is not asked to play here.
    fn start(name: &str) -> Env {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        let sandbox = runtime.block_on(Sandbox::start(Config::default())).expect("the sandbox starts");
        let (status, body) = moto("POST", "/", "ec2", "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16");
        assert_eq!(status, 200, "{body}");
        let vpc = xml_value(&body, "vpcId");
        let stack = format!("{name}-{}", std::process::id());
        let (status, body) = moto("PUT", &format!("/converge-state-{stack}"), "s3", "");
        assert_eq!(status, 200, "{body}");
        let dir = std::env::temp_dir().join(format!("converge-moto-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("policies")).expect("a directory");
        std::fs::write(
            dir.join("policies/read-artifacts.json"),
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::ml-platform-artifacts", "arn:aws:s3:::ml-platform-artifacts/*"]}]}"#,
        )
        .expect("writes the policy");
        Env { runtime, sandbox: Some(sandbox), dir, vpc, stack }
    }

    /// Writes the spec (`{vpc}` and `STACK` replaced) and returns its path.
    fn spec(&self, name: &str, text: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, text.replace("{vpc}", &self.vpc).replace("STACK", &self.stack)).expect("writes the spec");
        path.to_str().expect("UTF-8").to_owned()
    }

    fn run(&self, args: &[&str]) -> Output {
        let sandbox = self.sandbox.as_ref().expect("running").endpoint();
        let moto = moto_endpoint();
        let mut command = Command::new(env!("CARGO_BIN_EXE_converge"));
        against_sandbox(command.args(args).current_dir(root()), &sandbox);
        for service in ["EC2", "IAM", "S3", "STS"] {
            command.env(format!("AWS_ENDPOINT_URL_{service}"), &moto);
        }
        command.output().expect("converge runs")
    }

    /// Runs `args`; the exit status must be `code`. Returns stdout and stderr.
    fn expect(&self, args: &[&str], code: i32) -> String {
        let output = self.run(args);
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert_eq!(output.status.code(), Some(code), "converge {}:\n{text}", args.join(" "));
        text
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            self.runtime.block_on(sandbox.stop());
        }
    }
}

/// Studio's and EMR's network and IAM side of `specs/studio-emr.toml`.
const SPEC: &str = r#"
[stack]
name = "STACK"
region = "us-east-1"
account = "123456789012"
state_bucket = "converge-state-STACK"
tags = { team = "data-platform" }

[vpc.main]
id = "{vpc}"
cidrs = ["10.0.0.0/16"]

[subnet.studio]
vpc = "main"
cidr = "10.0.1.0/24"
availability_zone = "us-east-1a"

[subnet.emr]
vpc = "main"
cidr = "10.0.2.0/24"
availability_zone = "us-east-1b"
tags = { tier = "compute" }

[security_group.studio]
vpc = "main"
description = "SageMaker Studio notebooks"
ingress = [{ protocol = "all", source = "self", description = "Studio apps and the home EFS" }]
egress = [{ protocol = "all", cidr = "0.0.0.0/0" }]

[security_group.emr_master]
vpc = "main"
description = "EMR primary node"
ingress = [{ protocol = "tcp", ports = 8998, source = "studio", description = "Livy from Studio" }]

[security_group.emr_core]
vpc = "main"
description = "EMR core and task nodes"
ingress = [{ protocol = "all", source = "emr_master" }, { protocol = "all", source = "self" }]

[iam_role.studio_execution]
name = "STACK-studio-execution"
description = "Execution role of SageMaker Studio users"
trust = ["sagemaker.amazonaws.com"]
managed_policies = ["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"]
inline_policies.read_artifacts = "policies/read-artifacts.json"

[iam_role.emr_ec2]
name = "STACK-emr-ec2"
trust = ["ec2.amazonaws.com"]
instance_profile = true
managed_policies = ["arn:aws:iam::aws:policy/service-role/AmazonElasticMapReduceforEC2Role"]
"#;

#[test]
#[ignore = "needs moto's server: set CONVERGE_MOTO_ENDPOINT (.ci/run's moto leg does)"]
fn network_and_iam_apply_change_and_destroy_against_moto() {
    let env = Env::start("life");
    let text = SPEC.to_owned();
    let spec = env.spec("life.toml", &text);
    let plan = env.expect(&["plan", &spec, "--detailed-exitcode"], 2);
    assert!(plan.contains("Plan: 7 to create"), "{plan}");
    env.expect(&["apply", &spec, "--auto-approve"], 0);
    let again = env.expect(&["plan", &spec, "--detailed-exitcode"], 0);
    assert!(again.contains("No changes"), "{again}");
    env.expect(&["drift", &spec], 0);

    // In place: a rule added, a description changed, a managed policy and a tag added.
    let edited = text
        .replace(
            "description = \"Livy from Studio\" }]",
            "description = \"Livy from Studio\" }, { protocol = \"tcp\", ports = 18080, source = \"studio\" }]",
        )
        .replace("Execution role of SageMaker Studio users", "Execution role of Studio users")
        .replace(
            "managed_policies = [\"arn:aws:iam::aws:policy/AmazonSageMakerFullAccess\"]",
            "managed_policies = [\"arn:aws:iam::aws:policy/AmazonSageMakerFullAccess\", \"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess\"]",
        )
        .replace("tags = { tier = \"compute\" }", "tags = { tier = \"compute\", cost = \"emr\" }");
    let edited = env.spec("life.toml", &edited);
    let plan = env.expect(&["plan", &edited, "--detailed-exitcode"], 2);
    assert!(plan.contains("Plan: 0 to create, 3 to update, 0 to replace, 0 to delete"), "in place only:\n{plan}");
    env.expect(&["apply", &edited, "--auto-approve"], 0);
    env.expect(&["plan", &edited, "--detailed-exitcode"], 0);

    // Drift made behind converge's back (a port opened by hand) is found and repaired.
    let group = group_id(&env.vpc, &format!("{}-emr_master", env.stack));
    let (status, body) = moto(
        "POST",
        "/",
        "ec2",
        &format!(
            "Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupId={group}&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=22&IpPermissions.1.ToPort=22&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0%2F0"
        ),
    );
    assert_eq!(status, 200, "{body}");
    let drift = env.expect(&["drift", &edited], 2);
    assert!(drift.contains("security_group.emr_master"), "{drift}");
    env.expect(&["apply", &edited, "--auto-approve"], 0);
    env.expect(&["plan", &edited, "--detailed-exitcode"], 0);

    // A hand-made group in the same VPC, without the ownership tag, survives destroy.
    let (status, body) = moto(
        "POST",
        "/",
        "ec2",
        &format!(
            "Action=CreateSecurityGroup&Version=2016-11-15&GroupName=hand-made&GroupDescription=hand&VpcId={}",
            env.vpc
        ),
    );
    assert_eq!(status, 200, "{body}");
    let report = env.expect(&["destroy", &edited, "--auto-approve"], 0);
    assert!(report.contains("Destroy complete") || report.contains("complete"), "{report}");
    let after = env.expect(&["plan", &edited, "--detailed-exitcode"], 2);
    assert!(after.contains("Plan: 7 to create"), "nothing of the stack is left:\n{after}");
    assert!(!group_id(&env.vpc, "hand-made").is_empty(), "the hand-made group survives");
}

#[test]
#[ignore = "needs moto's server: set CONVERGE_MOTO_ENDPOINT (.ci/run's moto leg does)"]
fn the_account_guard_reads_moto_sts_and_refuses_another_account() {
    let env = Env::start("guard");
    let spec = env.spec("guard.toml", &SPEC.replace("123456789012", "210987654321"));
    let refused = env.expect(&["apply", &spec, "--auto-approve"], 1);
    assert!(refused.contains("account 123456789012") && refused.contains("210987654321"), "{refused}");
    let group = group_id(&env.vpc, &format!("{}-studio", env.stack));
    assert!(group.is_empty(), "nothing was created");
}

/// The id of the group named `name` in `vpc`, or "" when there is none.
fn group_id(vpc: &str, name: &str) -> String {
    let (status, body) = moto(
        "POST",
        "/",
        "ec2",
        &format!(
            "Action=DescribeSecurityGroups&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1={vpc}&Filter.2.Name=group-name&Filter.2.Value.1={name}"
        ),
    );
    assert_eq!(status, 200, "{body}");
    xml_value(&body, "groupId")
}
