//! What an installation gets besides the binary: shell completions, manual
//! pages, and a version that names its commit.

use std::path::Path;
use std::process::Command;

fn converge(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_converge")).args(args).output().expect("runs converge");
    assert!(output.status.success(), "converge {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// The commands `converge --help` lists (as a user discovers them).
fn commands() -> Vec<String> {
    let help = converge(&["--help"]);
    let listed = help.split("Commands:").nth(1).expect("a Commands section");
    let names: Vec<String> = listed
        .lines()
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect();
    for expected in ["plan", "apply", "drift", "watch", "completions", "man", "help"] {
        assert!(names.iter().any(|n| n == expected), "`{expected}` missing from {names:?}");
    }
    names
}

#[test]
fn completions_complete_every_command_in_every_shell() {
    let commands = commands();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = converge(&["completions", shell]);
        for command in &commands {
            assert!(script.contains(command.as_str()), "{shell}: `{command}` is not completed");
        }
        // A flag of one command, completed in that command's context.
        assert!(script.contains("detailed-exitcode"), "{shell}: plan's flags are not completed");
    }
    let bash = converge(&["completions", "bash"]);
    assert!(bash.contains("complete -F _converge") && bash.contains("converge__subcmd__plan"), "{}", &bash[..200]);
    let output = Command::new(env!("CARGO_BIN_EXE_converge")).args(["completions", "tcsh"]).output().unwrap();
    assert!(!output.status.success(), "an unknown shell is refused");
    assert!(String::from_utf8_lossy(&output.stderr).contains("possible values"), "and the known ones listed");
}

#[test]
fn the_manual_has_a_page_for_converge_and_one_per_command() {
    let commands = commands();
    let page = converge(&["man"]);
    assert!(page.contains(".TH converge 1"), "{}", &page[..300]);
    for command in &commands {
        assert!(page.contains(&format!("converge\\-{}(1)", command.replace('-', "\\-"))), "`{command}` not listed");
    }
    assert!(page.contains(".SH \"EXIT STATUS\""), "the exit codes");
    assert!(page.contains("detailed\\-exitcode"));

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("man-pages");
    let _ = std::fs::remove_dir_all(&dir);
    converge(&["man", "--dir", dir.to_str().expect("UTF-8 path")]);
    assert_eq!(std::fs::read_to_string(dir.join("converge.1")).expect("converge.1"), page);
    for command in &commands {
        let sub = std::fs::read_to_string(dir.join(format!("converge-{command}.1")))
            .unwrap_or_else(|e| panic!("converge-{command}.1: {e}"));
        assert!(sub.contains(&format!(".TH converge-{command} 1")), "{sub}");
    }
    let plan = std::fs::read_to_string(dir.join("converge-plan.1")).unwrap();
    assert!(plan.contains("detailed\\-exitcode") && plan.contains("\\-\\-env"), "plan's options: {plan}");
}

#[test]
fn the_version_names_the_commit_it_was_built_from() {
    let version = converge(&["--version"]);
    let expected_prefix = format!("converge {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(version.starts_with(&expected_prefix), "{version}");
    let commit = version.trim_end().trim_start_matches(&expected_prefix).trim_end_matches(')');
    // The checkout's commit when built from one (CI's clean clone), the
    // release workflow's CONVERGE_BUILD_COMMIT, or `unknown` from an archive.
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match (option_env!("CONVERGE_BUILD_COMMIT"), head) {
        (Some(set), _) if !set.trim().is_empty() => assert_eq!(commit, set.trim()),
        (_, Some(head)) => assert_eq!(commit, head, "built from this checkout"),
        (_, None) => assert_eq!(commit, "unknown"),
    }
}
