//! `converge sandbox` as a process: it announces its endpoint, answers at
//! once, and a kill at any moment never leaves a corrupt state file.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `converge sandbox`, killed when dropped, so a failing assertion
/// never leaves a server behind.
struct Running(Child);

impl Running {
    fn kill(&mut self) -> std::io::Result<()> {
        self.0.kill()
    }

    fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.0.wait()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `converge sandbox --port 0` and returns it with its `127.0.0.1:port`.
fn start(extra: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_converge"))
        .args(["sandbox", "--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("converge sandbox starts");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("first line");
    // Keep reading, as a terminal would, until the process ends.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("endpoint in the first line")
        .to_owned();
    (Running(child), address)
}

fn http(address: &str, method: &str, path: &str, body: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

#[test]
fn announces_its_endpoint_and_answers() {
    let (mut child, address) = start(&[]);
    let health = http(&address, "GET", "/_sandbox/health", "").expect("health");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"ok\":true"), "{health}");
    let identity = http(&address, "POST", "/", "Action=GetCallerIdentity&Version=2011-06-15").expect("sts");
    assert!(identity.contains("<Account>123456789012</Account>"), "{identity}");
    child.kill().expect("kill");
    child.wait().expect("wait");
}

#[test]
fn faults_can_be_set_by_flag() {
    let (mut child, address) = start(&["--fault", "sts:GetCallerIdentity=unavailable,times=1"]);
    let first = http(&address, "POST", "/", "Action=GetCallerIdentity&Version=2011-06-15").expect("sts");
    assert!(first.starts_with("HTTP/1.1 503"), "{first}");
    assert!(first.contains("<Code>ServiceUnavailable</Code>"), "{first}");
    let second = http(&address, "POST", "/", "Action=GetCallerIdentity&Version=2011-06-15").expect("sts");
    assert!(second.starts_with("HTTP/1.1 200"), "the fault ran out after one request: {second}");
    child.kill().expect("kill");
    child.wait().expect("wait");

    let output = Command::new(env!("CARGO_BIN_EXE_converge"))
        .args(["sandbox", "--fault", "lambda=drop"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "a malformed flag is a usage error");
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a sandbox service"));
}

#[test]
fn rate_limits_are_set_by_flag() {
    // EMR's ListInstanceFleets: burst 5 at AWS's rates, so 1 at a tenth of them.
    let (mut child, address) = start(&["--rate-limits", "0.1"]);
    let call = || {
        let mut stream = TcpStream::connect(&address).expect("connects");
        let body = r#"{"ClusterId":"j-NONE"}"#;
        write!(
            stream,
            "POST / HTTP/1.1\r\nHost: {address}\r\nX-Amz-Target: ElasticMapReduce.ListInstanceFleets\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("sent");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("answered");
        response
    };
    assert!(!call().contains("ThrottlingException"), "the burst");
    let second = call();
    assert!(second.contains("ThrottlingException") && second.contains("Rate exceeded"), "{second}");
    child.kill().expect("kill");
    child.wait().expect("wait");

    let output =
        Command::new(env!("CARGO_BIN_EXE_converge")).args(["sandbox", "--rate-limits", "fast"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2), "a malformed flag is a usage error");
    assert!(String::from_utf8_lossy(&output.stderr).contains("neither `off` nor a positive factor"));
}

#[test]
fn a_kill_at_any_moment_never_corrupts_the_state_file() {
    let dir = std::env::temp_dir().join(format!("converge-sandbox-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let state = dir.join("state.json");
    let state_arg = state.to_str().expect("utf-8 path").to_owned();
    let trust = "%7B%22Statement%22%3A%5B%5D%7D";
    let mut roles_seen = 0;
    for round in 0..6u64 {
        let (mut child, address) = start(&["--state", &state_arg]);
        let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = written.clone();
        let writer = std::thread::spawn(move || {
            let mut created = 0;
            for i in 0.. {
                let body = format!(
                    "Action=CreateRole&Version=2010-05-08&RoleName=r{round}x{i}&AssumeRolePolicyDocument={trust}"
                );
                match http(&address, "POST", "/", &body) {
                    Ok(response) if response.starts_with("HTTP/1.1 200") => {
                        created += 1;
                        counter.store(created, std::sync::atomic::Ordering::SeqCst);
                    }
                    _ => break,
                }
            }
            created
        });
        // Kill while the writer is writing, at a different moment each round
        // (however slow the machine is, the first write has landed by then).
        let mut waited = 0;
        while written.load(std::sync::atomic::Ordering::SeqCst) == 0 && waited < 30_000 {
            std::thread::sleep(Duration::from_millis(5));
            waited += 5;
        }
        std::thread::sleep(Duration::from_millis(round * 37));
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        let created = writer.join().expect("writer");
        assert!(created > 0, "round {round}: the writer created nothing before the kill");
        let text = std::fs::read_to_string(&state).expect("the state file exists after writes");
        let world: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("round {round}: corrupt state file: {e}"));
        let roles = world["iam"]["roles"].as_object().map_or(0, serde_json::Map::len);
        assert!(roles >= roles_seen, "round {round}: roles went from {roles_seen} to {roles}");
        assert!(roles > 0);
        roles_seen = roles;
    }
    // A restart removes what a kill left mid-write and keeps the state.
    let (mut child, address) = start(&["--state", &state_arg]);
    // IAM pages of at most 1,000 roles (100 unless asked).
    let listed = http(&address, "POST", "/", "Action=ListRoles&MaxItems=1000&Version=2010-05-08").expect("list");
    assert_eq!(listed.matches("<RoleName>").count(), roles_seen, "every persisted role is served after a restart");
    child.kill().expect("kill");
    child.wait().expect("wait");
    let files: Vec<String> =
        std::fs::read_dir(&dir).expect("dir").flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(files, ["state.json"], "stale temporaries are removed on start");
    std::fs::remove_dir_all(&dir).expect("clean up");
}
