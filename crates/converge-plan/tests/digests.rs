//! Golden digests: `converge:spec-digest` of every resource of the reference
//! specs, and the canonical encoding behind them.
//!
//! These values live on AWS resources. A change to any of them makes `drift`
//! read every resource of every stack as recorded by "an older converge", so
//! a failing test here is a question for the reviewer, not a snapshot to
//! accept: change the encoding only on purpose, with a new version prefix
//! (`converge_plan::digest::DIGEST_VERSION`) and a note in docs/drift.md.

#![expect(clippy::disallowed_methods, reason = "a test reads the reference specs")]

use std::fmt::Write;
use std::path::{Path, PathBuf};

use converge_model::{Kind, Spec};
use converge_plan::digest::{canonical_of, spec_content_digest};
use converge_plan::spec_digest;

fn specs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs")
}

fn check(name: &str, text: &str) -> Spec {
    let dir = specs_dir();
    let loader = move |rel: &str| std::fs::read_to_string(dir.join(rel)).map_err(|e| e.to_string());
    let checked = converge_spec::check(name, text, &loader);
    let rendered = checked.render();
    checked.spec.unwrap_or_else(|| panic!("{name}: invalid spec\n{rendered}"))
}

fn reference(name: &str) -> Spec {
    let text = std::fs::read_to_string(specs_dir().join(name)).expect("reference spec");
    check(name, &text)
}

fn digests(spec: &Spec) -> String {
    let mut out = String::new();
    for address in spec.addresses() {
        let digest = spec_digest(spec, &address).unwrap_or_else(|| "(none: never tagged)".to_owned());
        let _ = writeln!(out, "{address} {digest}");
    }
    let _ = writeln!(out, "saved plans: {}", spec_content_digest(spec));
    out
}

#[test]
fn the_reference_specs_digests_are_pinned() {
    insta::assert_snapshot!("studio-emr", digests(&reference("studio-emr.toml")));
    insta::assert_snapshot!("etl-cluster", digests(&reference("etl-cluster.toml")));
}

#[test]
fn the_canonical_encoding_of_a_cluster_is_pinned() {
    let spec = reference("etl-cluster.toml");
    let (name, cluster) = spec.emr_clusters.iter().next().expect("a cluster");
    let encoding = canonical_of(cluster).expect("serialisable");
    insta::assert_snapshot!("etl-cluster-encoding", format!("emr_cluster.{name}\n{encoding}"));
}

/// A key written at its default value and the same key left out are the same
/// definition: the second is what a spec looks like before a key is added to
/// the language with that default.
#[test]
fn keys_at_their_defaults_do_not_change_a_digest() {
    let base = r#"
[stack]
name = "s"
region = "us-east-1"
account = "123456789012"

[vpc.main]
id = "vpc-0a1b2c3d4e5f60718"

[iam_role.r]
trust = ["ec2.amazonaws.com"]
"#;
    let explicit = base.replace(
        r#"trust = ["ec2.amazonaws.com"]"#,
        r#"trust = ["ec2.amazonaws.com"]
path = "/"
max_session_duration = 3600
instance_profile = false
managed_policies = []
tags = {}
prevent_destroy = false"#,
    );
    let (a, b) = (check("a.toml", base), check("b.toml", &explicit));
    let role = converge_model::Address::new(Kind::IamRole, "r");
    assert_eq!(spec_digest(&a, &role), spec_digest(&b, &role));
    assert!(spec_digest(&a, &role).is_some_and(|d| d.starts_with("v2:") && d.len() == 67));

    let changed = base.replace("ec2.amazonaws.com", "sagemaker.amazonaws.com");
    assert_ne!(spec_digest(&a, &role), spec_digest(&check("c.toml", &changed), &role), "a real edit changes it");
    let layout = base.replace("[iam_role.r]\n", "# a comment\n[iam_role.r]\n\n");
    assert_eq!(spec_digest(&a, &role), spec_digest(&check("d.toml", &layout), &role), "layout does not");
}
