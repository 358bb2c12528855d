//! `silence = { <warning-code> = "<reason>" }` on a resource.

use converge_model::{Address, Spec};

use crate::check::{SourceMap, child};
use crate::codes::{self, Severity};
use crate::diagnostic::{Diagnostic, Location};
use crate::suggest::did_you_mean;

/// Drops the warnings a resource silences, and reports silences that are
/// malformed (unknown code, an error code, no reason) or silence nothing.
pub(crate) fn apply_silences(spec: &Spec, map: &SourceMap, diagnostics: &mut Vec<Diagnostic>) {
    let mut found = Vec::new();
    for address in spec.addresses() {
        let Some(lifecycle) = spec.lifecycle(&address) else { continue };
        for (code_name, reason) in &lifecycle.silence {
            let path = child(&format!("{address}.silence"), code_name);
            let at = map.key(&path).map(|span| Location { file: 0, span });
            let invalid = |message: String, hint: String| {
                Diagnostic::new(codes::INVALID_SILENCE, message).at(at.clone()).address(&address).hint(hint)
            };
            let plan_time = codes::PLAN_TIME.iter().find(|c| c.name == code_name);
            match codes::by_name(code_name).or(plan_time.copied()) {
                Some(_) if plan_time.is_some() && reason.trim().is_empty() => {
                    found.push(invalid(
                        format!("silencing `{code_name}` needs a reason"),
                        format!("write why the warning does not apply: `{code_name} = \"…\"`"),
                    ));
                }
                // Raised by the planner from live state: only a plan can tell whether it silences something.
                Some(_) if plan_time.is_some() => {}
                None => {
                    let warnings = codes::ALL
                        .iter()
                        .chain(codes::PLAN_TIME)
                        .filter(|c| c.severity == Severity::Warning)
                        .map(|c| c.name);
                    let mut d = invalid(format!("`{code_name}` is not a warning code"), "`converge validate` prints the code of each warning in brackets, e.g. `warning[single-subnet]`".into());
                    if let Some(s) = did_you_mean(code_name, warnings) {
                        d = d.label(format!("did you mean `{s}`?"));
                    }
                    found.push(d);
                }
                Some(code) if code.severity == Severity::Error => {
                    found.push(invalid(
                        format!("`{code_name}` is an error, and errors cannot be silenced"),
                        "fix the spec instead".into(),
                    ));
                }
                Some(_) if reason.trim().is_empty() => {
                    found.push(invalid(
                        format!("silencing `{code_name}` needs a reason"),
                        format!("write why the warning does not apply: `{code_name} = \"…\"`"),
                    ));
                }
                Some(code) => {
                    let before = diagnostics.len();
                    diagnostics.retain(|d| !(d.code == code && d.address.as_deref() == Some(&address.to_string())));
                    if diagnostics.len() == before {
                        found.push(unused(&address, code_name, at.clone()));
                    }
                }
            }
        }
    }
    diagnostics.extend(found);
}

fn unused(address: &Address, code_name: &str, at: Option<Location>) -> Diagnostic {
    Diagnostic::new(
        codes::UNUSED_SILENCE,
        format!("`{address}` silences `{code_name}`, but no such warning was raised"),
    )
    .at(at)
    .address(address)
    .hint("remove the entry from `silence`")
}
