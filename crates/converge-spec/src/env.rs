//! Environments: one platform definition (the base) and, per environment, an
//! `[env.<name>]` table of the values that differ.
//!
//! An environment's stack is the base with its table laid over it: tables
//! merge key by key, anything else (a string, a number, an array) is replaced,
//! and `omit` leaves resources of the base out. Every value keeps the span it
//! was written at, so a diagnostic about an overridden value points at the
//! override and one about an inherited value at the base.

use std::collections::BTreeSet;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use converge_model::{Address, Kind};

use crate::check::child;
use crate::codes;
use crate::diagnostic::{Diagnostic, Location};
use crate::shape;
use crate::source::Span;
use crate::suggest::did_you_mean;

/// The top-level key of the environment tables.
pub(crate) const ENV_KEY: &str = "env";
/// The key of an environment that leaves resources of the base out.
pub(crate) const OMIT_KEY: &str = "omit";

/// One `[env.<name>]` table.
pub(crate) struct Overlay<'t, 'i> {
    pub(crate) name: String,
    /// Where the environment's name is written (its table header).
    pub(crate) header: Span,
    pub(crate) table: &'t DeTable<'i>,
}

fn at(span: Span) -> Option<Location> {
    Some(Location { file: 0, span })
}

/// The environments `root` declares, in the order written; problems with how
/// the `env` table itself is written go to `diagnostics`.
pub(crate) fn overlays<'t, 'i>(root: &'t DeTable<'i>, diagnostics: &mut Vec<Diagnostic>) -> Vec<Overlay<'t, 'i>> {
    let Some((key, value)) = root.iter().find(|(key, _)| key.get_ref().as_ref() == ENV_KEY) else {
        return Vec::new();
    };
    let DeValue::Table(environments) = value.get_ref() else {
        diagnostics.push(
            Diagnostic::new(codes::WRONG_TYPE, "`env` must be a table of environments")
                .at(at(key.span()))
                .hint("declare each environment as `[env.<name>]`, such as `[env.staging]`"),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, table) in environments.iter() {
        let name_text = name.get_ref().as_ref();
        if let Some(problem) = crate::rules::names::spec_name_problem(name_text) {
            diagnostics.push(
                Diagnostic::new(
                    codes::INVALID_NAME,
                    format!("`{name_text}` is not a valid environment name: {problem}"),
                )
                .at(at(name.span()))
                .hint("use letters, digits, `_` and `-`, starting with a letter or digit (at most 64)"),
            );
            continue;
        }
        let DeValue::Table(table) = table.get_ref() else {
            diagnostics.push(
                Diagnostic::new(codes::WRONG_TYPE, format!("`env.{name_text}` must be a table"))
                    .at(at(name.span()))
                    .hint(format!("write the environment's values under `[env.{name_text}]`")),
            );
            continue;
        };
        out.push(Overlay { name: name_text.to_owned(), header: name.span(), table });
    }
    out
}

/// The base `root` with `overlay` laid over it (without the `env` table).
/// What the environment cannot override goes to `diagnostics`.
pub(crate) fn merged<'i>(
    root: &DeTable<'i>,
    overlay: &Overlay<'_, 'i>,
    diagnostics: &mut Vec<Diagnostic>,
) -> DeTable<'i> {
    let mut base = root.clone();
    base.remove(ENV_KEY);
    let env = &overlay.name;
    let mut omitted: Vec<Address> = Vec::new();
    if let Some(omit) = overlay.table.get(OMIT_KEY) {
        omitted = omissions(&base, env, omit, diagnostics);
    }
    for (key, value) in overlay.table.iter() {
        let key_text = key.get_ref().as_ref();
        let path = format!("env.{env}.{key_text}");
        if key_text == OMIT_KEY {
            continue;
        }
        if key_text == "stack" {
            match base.get_mut("stack") {
                Some(stack) => lay_over(stack, value),
                None => {
                    base.insert(key.clone(), value.clone());
                }
            }
            continue;
        }
        let Some(kind) = Kind::ALL.iter().copied().find(|kind| kind.key() == key_text) else {
            let keys: Vec<&str> = ["stack", OMIT_KEY].into_iter().chain(Kind::ALL.iter().map(|k| k.key())).collect();
            let mut d = Diagnostic::new(
                codes::UNKNOWN_OVERRIDE,
                format!("environment `{env}` sets `{key_text}`, which is not part of a spec"),
            )
            .at(at(key.span()))
            .hint(format!("an environment sets {}", shape::quoted_list(&keys)));
            d = match did_you_mean(key_text, keys.iter().copied()) {
                Some(suggestion) => d.label(format!("did you mean `{suggestion}`?")),
                None => d.label("not something an environment can set"),
            };
            diagnostics.push(d);
            continue;
        };
        let DeValue::Table(resources) = value.get_ref() else {
            diagnostics.push(
                Diagnostic::new(codes::WRONG_TYPE, format!("`{path}` must be a table of the base's resources"))
                    .at(at(key.span()))
                    .hint(format!("override a resource as `[env.{env}.{key_text}.<name>]`")),
            );
            continue;
        };
        for (name, resource) in resources.iter() {
            let name_text = name.get_ref().as_ref();
            let address = Address::new(kind, name_text);
            let declared = base.get(key_text).and_then(|v| match v.get_ref() {
                DeValue::Table(t) => Some(t),
                _ => None,
            });
            let target = declared.and_then(|table| table.get(name_text));
            if omitted.contains(&address) {
                diagnostics.push(
                    Diagnostic::new(
                        codes::UNKNOWN_OVERRIDE,
                        format!("environment `{env}` overrides `{address}`, which it also omits"),
                    )
                    .at(at(name.span()))
                    .label("omitted in this environment")
                    .hint(format!("remove the override, or take `{address}` out of `env.{env}.omit`")),
                );
                continue;
            }
            if target.is_none() {
                let names: Vec<String> =
                    declared.map(|t| t.iter().map(|(k, _)| k.get_ref().to_string()).collect()).unwrap_or_default();
                let mut d = Diagnostic::new(
                    codes::UNKNOWN_OVERRIDE,
                    format!("environment `{env}` overrides `{address}`, which the base does not declare"),
                )
                .at(at(name.span()))
                .hint(format!(
                    "an environment changes values of the base's resources; declare `[{address}]` in the base (and add it to `omit` in the environments that do not have it)"
                ));
                d = match did_you_mean(name_text, names.iter().map(String::as_str)) {
                    Some(suggestion) => d.label(format!("did you mean `{suggestion}`?")),
                    None => d.label("no such resource in the base"),
                };
                diagnostics.push(d);
                continue;
            }
            if let Some(DeValue::Table(table)) = base.get_mut(key_text).map(|v| v.get_mut())
                && let Some(target) = table.get_mut(name_text)
            {
                lay_over(target, resource);
            }
        }
    }
    for address in &omitted {
        if let Some(DeValue::Table(table)) = base.get_mut(address.kind.key()).map(|v| v.get_mut()) {
            table.remove(address.name.as_str());
        }
    }
    base
}

/// Tables merge key by key; anything else is replaced by the override.
fn lay_over<'i>(base: &mut Spanned<DeValue<'i>>, over: &Spanned<DeValue<'i>>) {
    if let (DeValue::Table(base_table), DeValue::Table(over_table)) = (base.get_mut(), over.get_ref()) {
        for (key, value) in over_table.iter() {
            match base_table.get_mut(key.get_ref().as_ref()) {
                Some(existing) => lay_over(existing, value),
                None => {
                    base_table.insert(key.clone(), value.clone());
                }
            }
        }
        return;
    }
    *base = over.clone();
}

/// The resources `omit` names, each checked to be one the base declares.
fn omissions(
    base: &DeTable<'_>,
    env: &str,
    omit: &Spanned<DeValue<'_>>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Address> {
    let DeValue::Array(items) = omit.get_ref() else {
        diagnostics.push(
            Diagnostic::new(codes::WRONG_TYPE, format!("`env.{env}.omit` must be an array of resource addresses"))
                .at(at(omit.span()))
                .hint("write `omit = [\"sagemaker_user.dana\"]`"),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items.iter() {
        let DeValue::String(text) = item.get_ref() else {
            diagnostics.push(
                Diagnostic::new(codes::WRONG_TYPE, format!("`env.{env}.omit` lists resource addresses as strings"))
                    .at(at(item.span()))
                    .hint("write `omit = [\"sagemaker_user.dana\"]`"),
            );
            continue;
        };
        let declared = Address::parse(text).filter(|address| {
            base.get(address.kind.key()).is_some_and(|v| match v.get_ref() {
                DeValue::Table(t) => t.contains_key(address.name.as_str()),
                _ => false,
            })
        });
        match declared {
            Some(address) => out.push(address),
            None => diagnostics.push(
                Diagnostic::new(
                    codes::UNKNOWN_OVERRIDE,
                    format!("environment `{env}` omits `{text}`, which the base does not declare"),
                )
                .at(at(item.span()))
                .label("no such resource in the base")
                .hint("`omit` lists addresses of the base's resources, such as `sagemaker_user.dana`"),
            ),
        }
    }
    out
}

/// Every path some environment writes a value at (`stack.account`,
/// `emr_cluster.etl.core.on_demand`), as the structural pass names paths.
pub(crate) fn written_paths(overlays: &[Overlay<'_, '_>]) -> BTreeSet<String> {
    fn walk(path: &str, table: &DeTable<'_>, out: &mut BTreeSet<String>) {
        for (key, value) in table.iter() {
            let here = child(path, key.get_ref());
            if let DeValue::Table(inner) = value.get_ref() {
                walk(&here, inner, out);
            }
            out.insert(here);
        }
    }
    let mut out = BTreeSet::new();
    for overlay in overlays {
        walk("", overlay.table, &mut out);
    }
    out
}

/// The stack name and account an environment's merged tree gives, when both are strings.
pub(crate) fn stack_identity(tree: &DeTable<'_>) -> Option<(String, String)> {
    let DeValue::Table(stack) = tree.get("stack")?.get_ref() else { return None };
    let text = |key: &str| match stack.get(key)?.get_ref() {
        DeValue::String(s) => Some(s.to_string()),
        _ => None,
    };
    Some((text("name")?, text("account")?))
}
