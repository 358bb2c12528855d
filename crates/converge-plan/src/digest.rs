//! The digests converge persists, and the one hash behind them.
//!
//! Two digests outlive a run of converge: `converge:spec-digest`, a tag on
//! every resource converge creates or changes (what `drift` reads to tell "changed in
//! AWS" from "spec edited, not applied"), and the spec digest of a saved plan.
//! Both hash the *canonical encoding* of the parsed definition, never Rust's
//! `Debug` output, so a new converge, a new field or a new compiler leaves
//! them as they were:
//!
//! - the definition is serialised with the spec language's own key names;
//! - keys left at their defaults are not written, nor absent optional keys
//!   (a key added to the language with a default changes no digest of a
//!   spec that does not set it);
//! - object keys are sorted by their bytes, nothing is indented, strings and
//!   numbers are written as JSON writes them;
//! - the hash is SHA-256, written as lower-case hex after the format's
//!   version, `v2:` (earlier releases wrote 20 hex digits of a
//!   hash of Rust's `Debug` output, unversioned).
//!
//! docs/drift.md documents the encoding for users; the golden tests in
//! `tests/digests.rs` pin the digest of every resource of the reference specs,
//! so that a change to it is a deliberate, reviewed one (and takes a new
//! version prefix).

use converge_model::{Address, Kind, Spec};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The version prefix of the digests this converge writes.
pub const DIGEST_VERSION: &str = "v2";

/// The `converge:spec-digest` of a resource converge created and has not
/// finished applying: its other steps (policies, rules, associations) are
/// still to come, and the digest is written after the last of them.
pub const PENDING: &str = "pending";

/// What a resource's `converge:spec-digest` tag says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded<'a> {
    /// A digest of this format: the definition last applied in full.
    Applied(&'a str),
    /// Created by an apply that has not finished (or failed part-way).
    Pending,
    /// Written by an older converge, in a format this one cannot compare.
    Unknown,
    /// No tag at all.
    Absent,
}

impl Recorded<'_> {
    pub fn of(tag: Option<&str>) -> Recorded<'_> {
        match tag {
            None => Recorded::Absent,
            Some(PENDING) => Recorded::Pending,
            Some(digest) if is_current(digest) => Recorded::Applied(digest),
            Some(_) => Recorded::Unknown,
        }
    }

    /// True when the next apply should write the current digest even if
    /// nothing else of the resource changes.
    pub fn needs_rewrite(self) -> bool {
        matches!(self, Recorded::Pending | Recorded::Unknown)
    }
}

fn is_current(digest: &str) -> bool {
    digest
        .strip_prefix(DIGEST_VERSION)
        .and_then(|rest| rest.strip_prefix(':'))
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The digest of the spec's definition of `address`, with the stack's tags
/// (which every resource carries): `v2:<sha256 hex>` of the canonical
/// encoding of `{"address", "definition", "stack_tags"}`. `None` for VPCs,
/// which converge reads and never tags.
pub fn spec_digest(spec: &Spec, address: &Address) -> Option<String> {
    let name = address.name.as_str();
    let definition = match address.kind {
        Kind::Vpc => return None,
        Kind::Subnet => serde_json::to_value(spec.subnets.get(name)?),
        Kind::SecurityGroup => serde_json::to_value(spec.security_groups.get(name)?),
        Kind::IamRole => serde_json::to_value(spec.iam_roles.get(name)?),
        Kind::SagemakerDomain => serde_json::to_value(spec.sagemaker_domains.get(name)?),
        Kind::SagemakerUser => serde_json::to_value(spec.sagemaker_users.get(name)?),
        Kind::CatalogPortfolio => serde_json::to_value(spec.catalog_portfolios.get(name)?),
        Kind::CatalogProduct => serde_json::to_value(spec.catalog_products.get(name)?),
        Kind::EmrCluster => serde_json::to_value(spec.emr_clusters.get(name)?),
    }
    .ok()?;
    let whole = serde_json::json!({
        "address": address.to_string(),
        "definition": definition,
        "stack_tags": spec.stack.tags,
    });
    Some(versioned(&whole))
}

/// The digest of everything the spec says (documents included), not of its
/// layout: what a saved plan was made from.
pub fn spec_content_digest(spec: &Spec) -> String {
    serde_json::to_value(spec).map(|value| versioned(&value)).unwrap_or_default()
}

/// `v2:` and the SHA-256 of the canonical encoding of `value`.
fn versioned(value: &Value) -> String {
    format!("{DIGEST_VERSION}:{}", sha256_hex(canonical(value).as_bytes()))
}

/// The canonical encoding of a serialisable value (see the module's docs).
pub fn canonical_of(value: &impl Serialize) -> Option<String> {
    serde_json::to_value(value).ok().map(|value| canonical(&value))
}

/// The canonical encoding: sorted keys, no nulls, no whitespace.
pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write(&mut out, value);
    out
}

fn write(out: &mut String, value: &Value) {
    match value {
        Value::Object(members) => {
            let mut members: Vec<(&String, &Value)> = members.iter().filter(|(_, v)| !v.is_null()).collect();
            members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, value)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, key);
                out.push(':');
                write(out, value);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, item);
            }
            out.push(']');
        }
        Value::String(text) => write_str(out, text),
        Value::Number(number) => out.push_str(&number.to_string()),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Null => out.push_str("null"),
    }
}

/// A JSON string as serde_json writes it: `"` and `\` escaped, the short
/// escapes for the usual control characters, `\u00XX` for the others.
fn write_str(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let code = u32::from(c);
                out.push_str("\\u00");
                out.push(HEX[(code >> 4) as usize] as char);
                out.push(HEX[(code & 0xf) as usize] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// SHA-256 as lower-case hex: the one hash of converge's persisted names and digests.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(64);
    for byte in Sha256::digest(bytes) {
        out.push(HEX[usize::from(byte >> 4)] as char);
        out.push(HEX[usize::from(byte & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_encoding_sorts_keys_and_drops_nulls() {
        let value = serde_json::json!({"b": 1, "a": {"z": null, "y": [true, "x\"y"]}, "c": null});
        assert_eq!(canonical(&value), r#"{"a":{"y":[true,"x\"y"]},"b":1}"#);
    }

    /// Strings are escaped exactly as serde_json escapes them.
    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        for text in ["plain", "quote \" and \\ back", "lines\n\r\t", "\u{1}\u{8}\u{c}\u{1f}", "unicode é ✓ 𝄞", "<&>'"]
        {
            let mut ours = String::new();
            write_str(&mut ours, text);
            assert_eq!(ours, serde_json::to_string(text).expect("a string"), "{text:?}");
        }
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn recorded_digests_are_read_by_format() {
        let current = format!("v2:{}", "ab".repeat(32));
        assert_eq!(Recorded::of(Some(&current)), Recorded::Applied(&current));
        assert_eq!(Recorded::of(Some("pending")), Recorded::Pending);
        assert_eq!(Recorded::of(Some("00c1d6ce0f80647fa8ac")), Recorded::Unknown, "converge 0.1's digest");
        assert_eq!(Recorded::of(Some("v2:short")), Recorded::Unknown);
        assert_eq!(Recorded::of(None), Recorded::Absent);
        assert!(Recorded::Unknown.needs_rewrite() && Recorded::Pending.needs_rewrite());
        assert!(!Recorded::Applied(&current).needs_rewrite() && !Recorded::Absent.needs_rewrite());
    }
}
