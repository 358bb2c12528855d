//! `docs/spec.md` carries the key reference generated from the spec language.
//! Run with `UPDATE_DOCS=1` to rewrite it after changing `shape.rs` or `codes.rs`.

#![expect(clippy::disallowed_methods, reason = "the test reads and rewrites docs/spec.md")]

use std::path::Path;

const BEGIN: &str =
    "<!-- BEGIN GENERATED REFERENCE: cargo test -p converge-spec --test docs (UPDATE_DOCS=1 rewrites) -->\n";
const END: &str = "<!-- END GENERATED REFERENCE -->";

#[test]
fn spec_reference_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/spec.md");
    let text = std::fs::read_to_string(&path).expect("docs/spec.md exists");
    let start = text.find(BEGIN).expect("docs/spec.md has the BEGIN marker") + BEGIN.len();
    let end = text.find(END).expect("docs/spec.md has the END marker");
    let generated = converge_spec::schema::markdown_reference();
    if text[start..end] != generated {
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let updated = format!("{}{generated}{}", &text[..start], &text[end..]);
            std::fs::write(&path, updated).expect("docs/spec.md is writable");
        } else {
            panic!(
                "docs/spec.md is out of date with the spec language; run `UPDATE_DOCS=1 cargo test -p converge-spec --test docs`"
            );
        }
    }
}
