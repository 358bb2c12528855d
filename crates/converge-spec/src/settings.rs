//! An environment's definition as a flat list of settings, each with the line
//! that set it: what `converge compare` lays side by side.

use std::collections::BTreeSet;

use serde::Serialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::check::{child, to_json};
use crate::env;
use crate::shape::{self, Shape};
use crate::source::{SourceFile, Span};

/// Where a setting's value was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// In the base definition, shared by every environment that does not override it.
    Base,
    /// In the environment's own `[env.<name>]` table.
    Environment,
}

/// One value of a stack's definition, as written.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Setting {
    /// `stack` or the resource's address (`emr_cluster.etl`).
    pub owner: String,
    /// The key within it (`core.on_demand`; arrays are one value).
    pub key: String,
    pub value: serde_json::Value,
    /// 1-based line of the value in the spec.
    pub line: usize,
    pub origin: Origin,
}

/// The settings of `environment` of the spec `text` (of the whole spec when
/// `None`), ordered by owner and key; `None` when the spec does not declare
/// that environment or is not TOML enough to read.
pub fn settings(text: &str, environment: Option<&str>) -> Option<Vec<Setting>> {
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        return None;
    }
    let root = root.get_ref();
    let mut ignored = Vec::new();
    let (tree, overridden) = match environment {
        None => {
            let mut tree = root.clone();
            tree.remove(env::ENV_KEY);
            (tree, BTreeSet::new())
        }
        Some(name) => {
            let overlays = env::overlays(root, &mut ignored);
            let overlay = overlays.iter().find(|o| o.name == name)?;
            let mut spans = BTreeSet::new();
            leaf_spans(overlay.table, &mut spans);
            (env::merged(root, overlay, &mut ignored), spans)
        }
    };
    let source = SourceFile::new("", text);
    let context = Context { source: &source, overridden: &overridden };
    let mut out = Vec::new();
    for (key, value) in tree.iter() {
        let key_text = key.get_ref().as_ref();
        if key_text == "stack" {
            flatten("stack", "", value, Some(shape::stack()), &context, &mut out);
            continue;
        }
        let Some((_, resource_shape, _)) = shape::KINDS.iter().find(|(kind, _, _)| kind.key() == key_text) else {
            continue;
        };
        let DeValue::Table(resources) = value.get_ref() else { continue };
        for (name, resource) in resources.iter() {
            let owner = format!("{key_text}.{}", name.get_ref());
            flatten(&owner, "", resource, Some(resource_shape), &context, &mut out);
        }
    }
    out.sort_by(|a, b| (&a.owner, &a.key).cmp(&(&b.owner, &b.key)));
    Some(out)
}

/// Adds the settings of `value` (of shape `shape`, when known) under `key`:
/// a table of the language is opened key by key, as is an open table (tags);
/// anything else is one setting (an array, a number or a capacity range alike).
fn flatten(
    owner: &str,
    key: &str,
    value: &Spanned<DeValue<'_>>,
    shape: Option<&'static Shape>,
    context: &Context<'_>,
    out: &mut Vec<Setting>,
) {
    if let DeValue::Table(table) = value.get_ref()
        && !table.is_empty()
        && matches!(shape, Some(Shape::Table(_) | Shape::Resource(_) | Shape::Map(_)))
    {
        for (k, v) in table.iter() {
            let inner = match shape {
                Some(Shape::Map(item)) => Some(*item),
                Some(shape) => shape.fields().into_iter().find(|f| f.key == k.get_ref().as_ref()).map(|f| f.shape),
                None => None,
            };
            flatten(owner, &child(key, k.get_ref()), v, inner, context, out);
        }
        return;
    }
    // A value the environment wrote, or one it changed a part of (`task.spot.max`
    // over the base's range): the environment's, at the line it wrote.
    let (origin, span) = match overridden_within(value, context.overridden) {
        Some(span) => (Origin::Environment, span),
        None => (Origin::Base, value.span()),
    };
    out.push(Setting {
        owner: owner.to_owned(),
        key: key.to_owned(),
        value: to_json(value.get_ref()),
        line: context.source.line_col(span.start).0,
        origin,
    });
}

/// The span of `value`, or of the first value within it, that the environment wrote.
fn overridden_within(value: &Spanned<DeValue<'_>>, overridden: &BTreeSet<(usize, usize)>) -> Option<Span> {
    let span = value.span();
    if overridden.contains(&(span.start, span.end)) {
        return Some(span);
    }
    match value.get_ref() {
        DeValue::Table(table) => table.iter().find_map(|(_, inner)| overridden_within(inner, overridden)),
        _ => None,
    }
}

struct Context<'a> {
    source: &'a SourceFile,
    /// The spans of the values the environment wrote.
    overridden: &'a BTreeSet<(usize, usize)>,
}

/// The spans of every value an overlay writes, tables included (a capacity
/// range replacing a number is one setting).
fn leaf_spans(table: &DeTable<'_>, out: &mut BTreeSet<(usize, usize)>) {
    for (_, value) in table.iter() {
        let span = value.span();
        out.insert((span.start, span.end));
        if let DeValue::Table(inner) = value.get_ref() {
            leaf_spans(inner, out);
        }
    }
}
