//! Property tests: arbitrary and mutated input never panics the checker, and
//! the checker is deterministic.

#![expect(clippy::disallowed_methods, reason = "a test reads its fixtures")]

use std::path::Path;

use converge_spec::{Checked, codes};
use proptest::prelude::*;

fn reference(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs").join(name);
    std::fs::read_to_string(path).expect("reference spec")
}

fn reference_loader(relative: &str) -> Result<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs").join(relative);
    std::fs::read_to_string(path).map_err(|error| error.to_string())
}

/// Checks `text` twice and asserts the invariants every input must keep.
fn check_invariants(text: &str) -> Result<(), TestCaseError> {
    let first: Checked = converge_spec::check("fuzz.toml", text, &reference_loader);
    let second = converge_spec::check("fuzz.toml", text, &reference_loader);
    prop_assert_eq!(&first.render(), &second.render(), "the same input must give the same diagnostics");
    prop_assert!(
        !first.diagnostics.iter().any(|d| d.code == codes::INTERNAL),
        "internal error on input:\n{}\n{}",
        text,
        first.render()
    );
    // A spec with environments is a stack only through one of them.
    prop_assert_eq!(first.spec.is_some(), first.error_count() == 0 && first.environments.is_empty());
    spans_in_bounds(&first)?;
    for environment in &first.environments {
        let one = converge_spec::check_environment("fuzz.toml", text, &reference_loader, environment);
        prop_assert!(one.is_some(), "a declared environment `{}` is checked", environment);
        let Some(one) = one else { continue };
        let again = converge_spec::check_environment("fuzz.toml", text, &reference_loader, environment);
        prop_assert_eq!(Some(one.render()), again.map(|c| c.render()));
        prop_assert!(!one.diagnostics.iter().any(|d| d.code == codes::INTERNAL), "internal error:\n{}", one.render());
        prop_assert_eq!(one.spec.is_some(), one.error_count() == 0);
        spans_in_bounds(&one)?;
        // Every error of one environment is an error of the check of them all.
        prop_assert!(one.error_count() == 0 || first.error_count() > 0);
    }
    Ok(())
}

fn spans_in_bounds(checked: &Checked) -> Result<(), TestCaseError> {
    for d in &checked.diagnostics {
        if let Some(location) = &d.location {
            let source = &checked.sources[location.file];
            prop_assert!(location.span.start <= source.text.len() && location.span.end <= source.text.len() + 1);
        }
    }
    Ok(())
}

#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    ReplaceChar(usize, char),
    Insert(usize, String),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let snippet = prop_oneof![
        Just("[emr_cluster.etl.task]\n".to_owned()),
        Just("on_demand = -1\n".to_owned()),
        Just("spot = \"lots\"\n".to_owned()),
        Just("subnets = []\n".to_owned()),
        Just("trust = [\"EMR_DefaultRole\"]\n".to_owned()),
        Just("silence = { x = 1 }\n".to_owned()),
        Just("= \n".to_owned()),
        Just("[[stack]]\n".to_owned()),
        Just("ports = 99999999999999999999\n".to_owned()),
        Just("cidr = \"::::/999\"\n".to_owned()),
        Just("[env.qa]\n".to_owned()),
        Just("[env.staging.emr_cluster.nope]\n".to_owned()),
        Just("omit = [\"vpc.main\", 3]\n".to_owned()),
        Just("stack.account = 1\n".to_owned()),
        Just("env = 3\n".to_owned()),
        "[a-z_\\.\\[\\]=\" 0-9{}\n]{0,30}",
    ];
    prop_oneof![
        (0usize..400).prop_map(Mutation::DeleteLine),
        (0usize..400).prop_map(Mutation::DuplicateLine),
        (0usize..400, 0usize..400).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (0usize..20_000, any::<char>()).prop_map(|(i, c)| Mutation::ReplaceChar(i, c)),
        (0usize..400, snippet).prop_map(|(i, s)| Mutation::Insert(i, s)),
        (0usize..20_000).prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for mutation in mutations {
        let n = lines.len().max(1);
        match mutation {
            Mutation::DeleteLine(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            Mutation::DuplicateLine(i) if !lines.is_empty() => {
                let line = lines[i % n].clone();
                lines.insert(i % n, line);
            }
            Mutation::SwapLines(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
            Mutation::ReplaceChar(i, c) => {
                let mut joined: Vec<char> = lines.join("\n").chars().collect();
                if !joined.is_empty() {
                    let len = joined.len();
                    joined[i % len] = *c;
                }
                lines = joined.into_iter().collect::<String>().lines().map(str::to_owned).collect();
            }
            Mutation::Insert(i, snippet) => lines.insert(i % (lines.len() + 1), snippet.trim_end().to_owned()),
            Mutation::Truncate(i) => {
                let joined = lines.join("\n");
                let cut =
                    joined.char_indices().nth(i % joined.chars().count().max(1)).map_or(joined.len(), |(at, _)| at);
                lines = joined[..cut].lines().map(str::to_owned).collect();
            }
            _ => {}
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check_invariants(&text)?;
    }

    #[test]
    fn toml_like_text_never_panics(text in "(\\[[a-z_\\.\"]{0,20}\\]\n|[a-z_]{1,12} = (\"[^\"\n]{0,12}\"|[0-9]{1,6}|true|\\[\\]|\\{\\})\n){0,25}") {
        check_invariants(&text)?;
    }

    #[test]
    fn mutated_studio_spec_never_panics(mutations in proptest::collection::vec(mutation(), 1..6)) {
        check_invariants(&apply(&reference("studio-emr.toml"), &mutations))?;
    }

    #[test]
    fn mutated_environments_spec_never_panics(mutations in proptest::collection::vec(mutation(), 1..6)) {
        check_invariants(&apply(&reference("ml-platform.toml"), &mutations))?;
    }

    #[test]
    fn mutated_etl_spec_never_panics(mutations in proptest::collection::vec(mutation(), 1..6)) {
        check_invariants(&apply(&reference("etl-cluster.toml"), &mutations))?;
    }
}

#[test]
fn a_changed_value_changes_only_its_diagnostic() {
    let text = reference("etl-cluster.toml").replace("spot_timeout_minutes = 20", "spot_timeout_minutes = 2000");
    let checked = converge_spec::check("etl.toml", &text, &reference_loader);
    let codes: Vec<&str> = checked.diagnostics.iter().map(|d| d.code.name).collect();
    assert_eq!(codes, ["emr-spot-timeout", "emr-spot-timeout"], "{}", checked.render());
}
