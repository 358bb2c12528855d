//! The release workflow (`.github/workflows/release.yml`), its packaging
//! script, and the GitHub Action (`action.yml`), checked: the workflow
//! builds every promised target on a version tag and publishes checksums;
//! the packaging step, run here for the test binary, gives the archive the
//! action installs; and the action's shell steps, run here as a runner runs
//! them, install that archive (checksum checked) and plan and check drift of
//! the Studio spec against the sandbox.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use converge_sandbox::{Config, Sandbox};
use serde_json::Value;

mod common;

use common::{against_sandbox, root, yaml};

/// The target the action asks for on an x64 Linux runner; the test binary is
/// packaged under that name (the archive's layout is what is checked).
const LINUX_X64: &str = "x86_64-unknown-linux-musl";

fn read_yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    yaml(&text).unwrap_or_else(|e| panic!("{path} does not parse: {e}"))
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The test binary packaged as the release workflow packages each target,
/// once for all the tests here, laid out as GitHub's `releases/download`
/// (`<base>/v<version>/<archive>`): the base directory. Read-only.
fn releases() -> &'static Path {
    static PACKAGED: OnceLock<PathBuf> = OnceLock::new();
    PACKAGED.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("release-packaged");
        let _ = std::fs::remove_dir_all(&base);
        let status = Command::new(root().join("scripts/package-release"))
            .args([LINUX_X64, env!("CARGO_BIN_EXE_converge")])
            .arg(base.join(format!("v{}", version())))
            .status()
            .expect("scripts/package-release runs");
        assert!(status.success(), "packaging failed");
        base
    })
}

/// The archive under a releases base directory.
fn archive(base: &Path) -> PathBuf {
    base.join(format!("v{}/converge-{}-{LINUX_X64}.tar.gz", version(), version()))
}

#[test]
fn the_release_workflow_builds_every_target_on_a_version_tag_and_publishes_checksums() {
    let workflow = read_yaml(".github/workflows/release.yml");
    assert_eq!(workflow["on"]["push"]["tags"][0], "v*");
    let build = &workflow["jobs"]["build"];
    let targets: Vec<&str> = build["strategy"]["matrix"]["include"]
        .as_array()
        .expect("a target matrix")
        .iter()
        .map(|entry| entry["target"].as_str().expect("a target"))
        .collect();
    assert_eq!(
        targets,
        ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl", "x86_64-apple-darwin", "aarch64-apple-darwin"]
    );
    let steps = build["steps"].as_array().expect("steps");
    let step = |name: &str| steps.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no step `{name}`"));
    assert_eq!(step("Build")["env"]["CONVERGE_BUILD_COMMIT"], "${{ github.sha }}", "--version names the commit");
    let build_line = step("Build")["run"].as_str().expect("the build");
    assert!(build_line.contains("--locked") && build_line.contains("--release"), "{build_line}");
    assert!(build_line.contains("--no-default-features"), "the workspace hack stays out of releases");
    assert!(step("Package")["run"].as_str().is_some_and(|r| r.starts_with("scripts/package-release ")));
    assert!(step("The version the tag names")["run"].as_str().is_some_and(|r| r.contains("GITHUB_REF_NAME")));

    let release = &workflow["jobs"]["release"];
    assert_eq!(release["needs"], "build");
    assert_eq!(release["permissions"]["contents"], "write", "only the publishing job may write");
    assert_eq!(workflow["permissions"]["contents"], "read");
    let scripts: Vec<&str> =
        release["steps"].as_array().expect("steps").iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(scripts.iter().any(|s| s.contains("sha256sum --check") && s.contains("SHA256SUMS")));
    assert!(scripts.iter().any(|s| s.contains("gh release create") && s.contains("SHA256SUMS")));
}

#[test]
fn a_packaged_release_holds_the_binary_its_licences_completions_and_manual() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("release-package");
    let _ = std::fs::remove_dir_all(&dir);
    let archive = archive(releases());
    let listing = Command::new("tar").arg("-tzf").arg(&archive).output().expect("tar runs");
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    let top = format!("converge-{}-{LINUX_X64}", version());
    for file in [
        "converge",
        "LICENSE",
        "README.md",
        "THIRD-PARTY-LICENSES.md",
        "completions/converge.bash",
        "completions/_converge",
        "completions/converge.fish",
        "completions/_converge.ps1",
        "man/man1/converge.1",
        "man/man1/converge-plan.1",
        "man/man1/converge-watch.1",
    ] {
        assert!(listing.lines().any(|l| l == format!("{top}/{file}")), "{file} missing from:\n{listing}");
    }
    let checked = Command::new("sha256sum")
        .args(["--check", &format!("{}.sha256", archive.file_name().unwrap().to_string_lossy())])
        .current_dir(archive.parent().unwrap())
        .output()
        .expect("sha256sum runs");
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stdout));

    let unpacked = dir.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    let status = Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(&unpacked).status().unwrap();
    assert!(status.success());
    let notices = std::fs::read_to_string(unpacked.join(&top).join("THIRD-PARTY-LICENSES.md")).unwrap();
    for linked in ["## tokio ", "## aws-sdk-emr ", "## saphyr ", "## clap "] {
        assert!(notices.contains(linked), "{linked} missing from the notices");
    }
    assert!(notices.contains("- licence: MIT OR Apache-2.0"), "licence expressions");
    assert!(notices.contains("Permission is hereby granted"), "licence texts");
    assert!(!notices.contains("## insta ") && !notices.contains("## proptest "), "test-only crates are not linked");
    assert!(!notices.contains("## converge-"), "converge's own crates are not third-party");
}

/// A GitHub runner for the action's steps: `${{ … }}` evaluated from the
/// inputs, earlier steps' outputs and the context, each `run:` given to
/// `bash -eo pipefail` as the runner does, `GITHUB_OUTPUT` and `GITHUB_PATH` read back.
struct Runner {
    action: Value,
    inputs: BTreeMap<String, String>,
    outputs: BTreeMap<String, BTreeMap<String, String>>,
    path: Vec<PathBuf>,
    workspace: PathBuf,
    tool_cache: PathBuf,
    endpoint: String,
}

impl Runner {
    fn new(workspace: &Path, endpoint: &str, given: &[(&str, &str)]) -> Runner {
        let action = read_yaml("action.yml");
        let mut inputs: BTreeMap<String, String> = action["inputs"]
            .as_object()
            .expect("inputs")
            .iter()
            .map(|(name, input)| (name.clone(), input["default"].as_str().unwrap_or_default().to_owned()))
            .collect();
        inputs.insert("github-token".into(), "test-token".into());
        for (name, value) in given {
            assert!(inputs.contains_key(*name), "the action has no input `{name}`");
            inputs.insert((*name).to_owned(), (*value).to_owned());
        }
        Runner {
            action,
            inputs,
            outputs: BTreeMap::new(),
            path: Vec::new(),
            workspace: workspace.to_owned(),
            tool_cache: workspace.join("../tool-cache"),
            endpoint: endpoint.to_owned(),
        }
    }

    /// `text` with every `${{ … }}` evaluated (the expressions the action uses).
    fn evaluate(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("a closed expression") + start;
            let expression = rest[start + 3..end].trim();
            let value = if let Some(name) = expression.strip_prefix("inputs.") {
                self.inputs.get(name).cloned().unwrap_or_else(|| panic!("no input `{name}`"))
            } else if let Some(path) = expression.strip_prefix("steps.") {
                let (step, output) = path.split_once(".outputs.").expect("steps.ID.outputs.NAME");
                self.outputs.get(step).and_then(|o| o.get(output)).cloned().unwrap_or_default()
            } else if expression == "github.action_repository" {
                "converge-dev/converge".to_owned()
            } else {
                panic!("the test runner does not know `{expression}`")
            };
            out.push_str(&value);
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// Runs the step named `name`: its exit code and stderr.
    fn run(&mut self, name: &str) -> (i32, String) {
        let steps = self.action["runs"]["steps"].as_array().expect("steps").clone();
        let step = steps.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no step `{name}`"));
        assert_eq!(step["shell"], "bash", "{name}");
        let script = self.evaluate(step["run"].as_str().expect("a script"));
        let dir = match step["working-directory"].as_str() {
            Some(dir) => self.workspace.join(self.evaluate(dir)),
            None => self.workspace.clone(),
        };
        let files = self.workspace.join("../runner-files");
        std::fs::create_dir_all(&files).unwrap();
        let (output_file, path_file) = (files.join("output"), files.join("path"));
        std::fs::write(&output_file, "").unwrap();
        std::fs::write(&path_file, "").unwrap();
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
            .current_dir(&dir)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TOOL_CACHE", &self.tool_cache)
            .env("GITHUB_ACTION_PATH", root())
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_PATH", &path_file);
        // Only what the action installs: no converge from the build on the PATH.
        let mut path: Vec<PathBuf> = self.path.clone();
        path.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
        command.env("PATH", std::env::join_paths(path).unwrap());
        for (key, value) in step["env"].as_object().into_iter().flatten() {
            command.env(key, self.evaluate(value.as_str().expect("a string")));
        }
        let output = against_sandbox(&mut command, &self.endpoint).output().expect("bash runs");
        let mut outputs = BTreeMap::new();
        for line in std::fs::read_to_string(&output_file).unwrap().lines() {
            let (key, value) = line.split_once('=').expect("KEY=VALUE");
            outputs.insert(key.to_owned(), value.to_owned());
        }
        if let Some(id) = step["id"].as_str() {
            self.outputs.insert(id.to_owned(), outputs);
        }
        self.path.extend(std::fs::read_to_string(&path_file).unwrap().lines().map(PathBuf::from));
        (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
    }

    fn output(&self, step: &str, name: &str) -> &str {
        self.outputs.get(step).and_then(|o| o.get(name)).map_or("", String::as_str)
    }

    /// The action's steps up to converge itself, as a runner with a cold cache runs them.
    fn install(&mut self) {
        let steps: Vec<String> = self.action["runs"]["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| s["name"].as_str().expect("a named step").to_owned())
            .collect();
        assert_eq!(
            steps,
            [
                "Which converge",
                "Cached converge",
                "Install converge",
                "Put converge on the PATH",
                "converge",
                "Post the plan (one comment per stack, updated on each push)"
            ]
        );
        for name in ["Which converge", "Install converge", "Put converge on the PATH"] {
            let (code, stderr) = self.run(name);
            assert_eq!(code, 0, "{name}: {stderr}");
        }
    }
}

#[test]
fn the_action_installs_the_release_then_plans_and_checks_drift_against_the_sandbox() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("release-action");
    let spec = common::spec_copy("release-action/workspace", "studio-emr.toml", |text| text);
    let workspace = spec.parent().expect("the workspace").to_owned();

    let action = read_yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    for input in ["command", "spec", "env", "working-directory", "version"] {
        assert!(action["inputs"][input].is_object(), "input `{input}`");
    }
    let steps = action["runs"]["steps"].as_array().expect("steps");
    let cache = steps.iter().find(|s| s["id"] == "cache").expect("the cache step");
    assert!(cache["uses"].as_str().is_some_and(|u| u.starts_with("actions/cache@")));
    assert!(cache["with"]["key"].as_str().is_some_and(|k| k.contains("version") && k.contains("target")));
    let comment = steps.iter().find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("actions/github-script")));
    let comment = comment.expect("the comment step");
    let script = comment["with"]["script"].as_str().expect("a script");
    assert!(script.contains("updateComment") && script.contains("createComment") && script.contains("marker"));
    assert!(comment["if"].as_str().is_some_and(|c| c.contains("github.event.pull_request")));

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let sandbox: Sandbox = common::studio_sandbox(&runtime, Config { time_scale: 0.005, ..Config::default() });
    let release_url = format!("file://{}", releases().display());
    let inputs = [("spec", "studio-emr.toml"), ("version", version()), ("release-url", release_url.as_str())];

    // A pull request: the plan of an empty account, with changes.
    let mut runner = Runner::new(&workspace, &sandbox.endpoint(), &inputs);
    runner.install();
    assert_eq!(runner.output("which", "target"), LINUX_X64);
    let installed = PathBuf::from(runner.output("which", "dir")).join("converge");
    assert!(installed.starts_with(&runner.tool_cache) && installed.exists(), "{}", installed.display());
    let (code, stderr) = runner.run("converge");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(runner.output("run", "exit-code"), "2");
    assert_eq!(runner.output("run", "changes"), "true");
    assert_eq!(runner.output("run", "stack"), "studio-emr");
    let plan = std::fs::read_to_string(workspace.join("plan.md")).expect("plan.md");
    assert!(plan.contains("emr_cluster.notebooks"), "{plan}");
    assert!(workspace.join("plan.json").exists(), "the saved plan for the apply job");

    // Merged and applied (the installed binary), then the scheduled drift check: none.
    let mut apply = Command::new(&installed);
    apply.args(["apply", "plan.json", "--auto-approve"]).current_dir(&workspace);
    let applied = against_sandbox(&mut apply, &sandbox.endpoint()).output().unwrap();
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
    let mut runner = Runner::new(&workspace, &sandbox.endpoint(), &[&inputs[..], &[("command", "drift")]].concat());
    runner.install();
    let (code, stderr) = runner.run("converge");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(runner.output("run", "changes"), "false");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(workspace.join("drift.json")).unwrap()).unwrap();
    assert!(report.is_object(), "{report}");

    // A tampered archive (in a copy of the release) is refused.
    let tampered = dir.join("tampered");
    let _ = std::fs::remove_dir_all(&tampered);
    std::fs::create_dir_all(archive(&tampered).parent().unwrap()).unwrap();
    let checksum = |base: &Path| archive(base).with_extension("gz.sha256");
    std::fs::copy(checksum(releases()), checksum(&tampered)).unwrap();
    std::fs::write(archive(&tampered), b"not the release").unwrap();
    let tampered_url = format!("file://{}", tampered.display());
    let inputs = [("spec", "studio-emr.toml"), ("version", version()), ("release-url", tampered_url.as_str())];
    let mut runner = Runner::new(&workspace, &sandbox.endpoint(), &inputs);
    runner.tool_cache = dir.join("cold-cache");
    assert_eq!(runner.run("Which converge").0, 0);
    let (code, stderr) = runner.run("Install converge");
    assert_ne!(code, 0);
    assert!(stderr.contains("does not match its published SHA-256"), "{stderr}");
    runtime.block_on(sandbox.stop());
}

#[test]
fn the_install_page_installs_a_release_and_its_completions_and_manual() {
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install-docs");
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    let blocks = common::doc_blocks("docs/install.md", "sh");
    let run = |script: &str, path: &std::ffi::OsStr| {
        let output = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(&home)
            .env("HOME", &home)
            .env("PATH", path)
            .output()
            .expect("bash runs");
        assert!(output.status.success(), "{script}\n{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };

    // The release binary, from a mirror of GitHub's layout (the one line the test changes).
    let release = blocks.iter().find(|b| b.contains("curl -fsSLO")).expect("the release block");
    let base = format!("base=file://{}", releases().display());
    assert!(release.contains("base=https://github.com/OWNER/converge/releases/download"));
    let release = release.replace("base=https://github.com/OWNER/converge/releases/download", &base);
    let release = release.replace("target=x86_64-unknown-linux-musl", &format!("target={LINUX_X64}"));
    let system_path = std::env::var_os("PATH").unwrap_or_default();
    let printed = run(&release, &system_path);
    assert!(printed.contains(": OK"), "the checksum is checked: {printed}");
    let last = printed.lines().last().unwrap_or_default();
    assert!(last.starts_with(&format!("converge {} (commit ", version())), "{printed}");
    let installed = home.join(".local/bin/converge");
    assert!(installed.exists());

    // Completions and the manual, with the installed binary first on the PATH.
    let extras = blocks.iter().find(|b| b.contains("converge completions bash")).expect("the completions block");
    let mut path = vec![installed.parent().unwrap().to_owned()];
    path.extend(std::env::split_paths(&system_path));
    run(extras, &std::env::join_paths(path).unwrap());
    for file in [
        ".local/share/bash-completion/completions/converge",
        ".zfunc/_converge",
        ".config/fish/completions/converge.fish",
        ".local/share/man/man1/converge.1",
        ".local/share/man/man1/converge-plan.1",
    ] {
        let written = std::fs::metadata(home.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(written.len() > 100, "{file} is empty");
    }
}
