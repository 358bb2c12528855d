//! `converge compare`: how two environments of one spec differ.
//!
//! First in the definition: setting by setting (`converge_spec::settings`),
//! each value with the line that set it and whether the base or the
//! environment wrote it. Then, given each side's drift (read from its own
//! account by the CLI), in AWS: what is not as its environment's definition
//! says, and whether the two definitions agree there (then the environments
//! differ in AWS where the spec says they should not).
//!
//! **Architecture invariant:** pure: no I/O, clock, async runtime, AWS SDK or
//! CLI parser. The CLI reads the spec and both accounts and hands the results in.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use converge_model::{RefTarget, Spec};

use converge_plan::drift::{self, Drift, ResourceDrift};
use converge_spec::{Origin, Setting};
use serde_json::json;

/// The version of `converge compare --format json`.
pub const COMPARE_FORMAT_VERSION: &str = "1.0";

/// One side of a comparison, as the CLI read it.
pub struct Environment<'a> {
    /// The environment's checked spec (`stack.environment` names it).
    pub spec: &'a Spec,
    /// The environment's definition as written (`converge_spec::settings`).
    pub settings: &'a [Setting],
}

impl Environment<'_> {
    fn side(&self) -> Side {
        let stack = &self.spec.stack;
        Side {
            name: stack.environment.clone().unwrap_or_else(|| stack.name.clone()),
            account: stack.account.clone(),
            region: stack.region.clone(),
        }
    }
}

/// Which environment of the two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Side {
    pub name: String,
    pub account: String,
    pub region: String,
}

/// A value as one environment's definition writes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    pub value: serde_json::Value,
    /// 1-based line in the spec.
    pub line: usize,
    pub origin: Origin,
}

/// A setting the two environments define differently (absent on one side: not set there).
#[derive(Clone, Debug, PartialEq)]
pub struct SettingDifference {
    pub key: String,
    pub values: [Option<Written>; 2],
}

/// Whether a resource is in both environments or only one (the other omits it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Both,
    /// Only in environment 0 or 1.
    Only(usize),
}

/// The stack (`stack`) or a resource (its address) that differs.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    pub owner: String,
    pub presence: Presence,
    pub settings: Vec<SettingDifference>,
}

/// Two environments compared.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The spec's path, as given.
    pub spec: String,
    pub sides: [Side; 2],
    /// Where the definitions differ, by owner (the stack first, then addresses in order).
    pub differences: Vec<Difference>,
    /// Each side's drift, when AWS was read (`--live`).
    pub live: Option<[Drift; 2]>,
    /// The resources both environments define alike, and everything they
    /// refer to as well: AWS should hold them alike in both accounts.
    pub alike: BTreeSet<String>,
    /// Whether the stack's tags, which every resource carries, are alike.
    pub stack_tags_alike: bool,
}

/// Compares the definitions of environments `a` and `b` of the spec at `spec`.
pub fn compare(spec: &str, a: &Environment<'_>, b: &Environment<'_>) -> Comparison {
    let index = |settings: &[Setting]| -> BTreeMap<(String, String), Written> {
        settings
            .iter()
            .map(|s| {
                let written = Written { value: s.value.clone(), line: s.line, origin: s.origin };
                ((s.owner.clone(), s.key.clone()), written)
            })
            .collect()
    };
    let (left, right) = (index(a.settings), index(b.settings));
    let owners = |settings: &[Setting]| -> BTreeSet<String> { settings.iter().map(|s| s.owner.clone()).collect() };
    let (left_owners, right_owners) = (owners(a.settings), owners(b.settings));
    let mut all: Vec<&String> = left_owners.union(&right_owners).collect();
    all.sort_by_key(|owner| (owner.as_str() != "stack", owner.as_str()));
    // The settings of one owner: a range of the index.
    let of = |index: &'_ BTreeMap<(String, String), Written>, owner: &str| -> Vec<String> {
        index
            .range((owner.to_owned(), String::new())..)
            .take_while(|((o, _), _)| o == owner)
            .map(|((_, key), _)| key.clone())
            .collect()
    };

    let mut differences = Vec::new();
    let mut alike: BTreeSet<String> = BTreeSet::new();
    for owner in all {
        let presence = match (left_owners.contains(owner), right_owners.contains(owner)) {
            (true, false) => Presence::Only(0),
            (false, true) => Presence::Only(1),
            _ => Presence::Both,
        };
        if presence != Presence::Both {
            differences.push(Difference { owner: owner.clone(), presence, settings: Vec::new() });
            continue;
        }
        let keys: BTreeSet<String> = of(&left, owner).into_iter().chain(of(&right, owner)).collect();
        let settings: Vec<SettingDifference> = keys
            .into_iter()
            .filter_map(|key| {
                let lookup = (owner.clone(), key);
                let (l, r) = (left.get(&lookup), right.get(&lookup));
                let same = matches!((l, r), (Some(l), Some(r)) if l.value == r.value);
                (!same).then(|| SettingDifference { key: lookup.1.clone(), values: [l.cloned(), r.cloned()] })
            })
            .collect();
        if settings.is_empty() {
            alike.insert(owner.clone());
        } else {
            differences.push(Difference { owner: owner.clone(), presence, settings });
        }
    }
    alike.remove("stack");
    // A resource is alike only if what it refers to is alike too (a subnet of a
    // VPC whose id differs is not), in both environments' specs.
    loop {
        let before = alike.len();
        for spec in [a.spec, b.spec] {
            for reference in spec.references() {
                let RefTarget::Spec(target) = reference.to.target(reference.expected) else { continue };
                if !alike.contains(&target.to_string()) {
                    alike.remove(&reference.from.to_string());
                }
            }
        }
        if alike.len() == before {
            break;
        }
    }
    let stack_tags_alike = !differences
        .iter()
        .any(|d| d.owner == "stack" && d.settings.iter().any(|s| s.key == "tags" || s.key.starts_with("tags.")));
    Comparison { spec: spec.to_owned(), sides: [a.side(), b.side()], differences, live: None, alike, stack_tags_alike }
}

impl Comparison {
    /// The comparison with each side's drift, read from its own account.
    #[must_use]
    pub fn with_live(mut self, a: Drift, b: Drift) -> Self {
        self.live = Some([a, b]);
        self
    }

    /// `true` unless AWS was read and either side is not as its definition says.
    pub fn as_defined(&self) -> bool {
        self.live.as_ref().is_none_or(|[a, b]| a.is_empty() && b.is_empty())
    }

    /// Whether the two definitions agree on what AWS should hold for `path`
    /// (a planner field such as `core.on_demand` or `tags`) of `owner`: the
    /// resource, and what it refers to, are defined alike (and for its tags,
    /// the stack's tags too). Conservative: a field the environments define
    /// alike in a resource that differs elsewhere is not claimed alike.
    pub fn defined_alike(&self, owner: &str, path: &str) -> bool {
        let tags = path == "tags" || path.starts_with("tags.");
        self.alike.contains(owner) && (!tags || self.stack_tags_alike)
    }
}

fn show(value: &serde_json::Value) -> String {
    value.to_string()
}

fn origin(side: &Side, written: &Written) -> String {
    match written.origin {
        Origin::Base => format!("line {}, base", written.line),
        Origin::Environment => format!("line {}, env.{}", written.line, side.name),
    }
}

fn heading(comparison: &Comparison) -> String {
    let [a, b] = &comparison.sides;
    format!(
        "converge compare `{}`: {} (account {}, {}) with {} (account {}, {})",
        comparison.spec, a.name, a.account, a.region, b.name, b.account, b.region
    )
}

/// One line on how the definitions differ.
pub fn summary(comparison: &Comparison) -> String {
    let [a, b] = &comparison.sides;
    let only = |i: usize| comparison.differences.iter().filter(|d| d.presence == Presence::Only(i)).count();
    let differ = comparison.differences.iter().filter(|d| d.presence == Presence::Both && d.owner != "stack").count();
    let count = |n: usize| if n == 1 { "1 resource".to_owned() } else { format!("{n} resources") };
    let mut parts = vec![format!("{} defined differently", count(differ))];
    for (i, side) in [a, b].into_iter().enumerate() {
        if only(i) > 0 {
            parts.push(format!("{} only in {}", count(only(i)), side.name));
        }
    }
    if comparison.differences.iter().any(|d| d.owner == "stack") {
        parts.insert(0, "the stack".to_owned());
    }
    if comparison.differences.is_empty() {
        return "Definition: the environments are defined alike.".to_owned();
    }
    format!("Definition: {}.", parts.join(", "))
}

/// The verdict on AWS, when it was read.
fn live_verdict(comparison: &Comparison) -> Option<String> {
    let [a, b] = comparison.live.as_ref()?;
    let [left, right] = &comparison.sides;
    let part = |side: &Side, drift: &Drift| {
        if drift.is_empty() {
            format!("{} is as its definition says", side.name)
        } else {
            let n = drift.resources.len();
            format!(
                "{} has {} not as its definition says",
                side.name,
                if n == 1 { "1 resource".into() } else { format!("{n} resources") }
            )
        }
    };
    Some(format!("AWS: {}; {}.", part(left, a), part(right, b)))
}

/// The plain-text report.
pub fn text(comparison: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", heading(comparison));
    let sides = &comparison.sides;
    let width = sides.iter().map(|s| s.name.len()).max().unwrap_or(0) + 1;
    for difference in &comparison.differences {
        match difference.presence {
            Presence::Only(i) => {
                let _ = writeln!(
                    out,
                    "\n  {}: only in {} ({} omits it)",
                    difference.owner,
                    sides[i].name,
                    sides[1 - i].name
                );
            }
            Presence::Both => {
                let _ = writeln!(out, "\n  {}", difference.owner);
                for setting in &difference.settings {
                    let _ = writeln!(out, "    {}", setting.key);
                    for (side, value) in sides.iter().zip(&setting.values) {
                        let label = format!("{}:", side.name);
                        let shown = match value {
                            Some(written) => format!("{}  ({})", show(&written.value), origin(side, written)),
                            None => "(not set)".to_owned(),
                        };
                        let _ = writeln!(out, "      {label:<width$} {shown}", width = width);
                    }
                }
            }
        }
    }
    let _ = writeln!(out, "\n{}", summary(comparison));
    if let Some(drifts) = &comparison.live {
        for (side, drift) in sides.iter().zip(drifts) {
            if drift.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\nIn AWS, {} (account {}):", side.name, side.account);
            for resource in &drift.resources {
                write_resource(&mut out, comparison, resource);
            }
        }
        let _ = writeln!(out, "\n{}", live_verdict(comparison).unwrap_or_default());
    }
    out
}

fn write_resource(out: &mut String, comparison: &Comparison, resource: &ResourceDrift) {
    let _ = writeln!(out, "  {}: {}", resource.address, resource.cause.describe());
    let owner = resource.address.to_string();
    for field in &resource.fields {
        let alike = if comparison.defined_alike(&owner, &field.path) {
            "  # defined alike in both environments: they differ in AWS only"
        } else {
            ""
        };
        let _ = writeln!(out, "      {}: {} in the spec, {} in AWS{alike}", field.path, field.expected, field.actual);
    }
}

/// The Markdown report (pull-request comments, release checklists).
pub fn markdown(comparison: &Comparison) -> String {
    let mut out = String::new();
    let [a, b] = &comparison.sides;
    let _ = writeln!(out, "### converge compare: `{}` and `{}`\n", a.name, b.name);
    let _ = writeln!(
        out,
        "`{}`: **{}** (account {}, {}) and **{}** (account {}, {}).\n",
        comparison.spec, a.name, a.account, a.region, b.name, b.account, b.region
    );
    let _ = writeln!(out, "{}\n", summary(comparison));
    if !comparison.differences.is_empty() {
        let _ = writeln!(out, "| resource | setting | {} | {} |", a.name, b.name);
        let _ = writeln!(out, "|---|---|---|---|");
        for difference in &comparison.differences {
            match difference.presence {
                Presence::Only(i) => {
                    let cells = if i == 0 { ["present", "omitted"] } else { ["omitted", "present"] };
                    let _ = writeln!(out, "| `{}` | | {} | {} |", difference.owner, cells[0], cells[1]);
                }
                Presence::Both => {
                    for setting in &difference.settings {
                        let cell = |side: &Side, value: &Option<Written>| match value {
                            Some(w) => format!("`{}` ({})", show(&w.value).replace('|', "\\|"), origin(side, w)),
                            None => "not set".to_owned(),
                        };
                        let _ = writeln!(
                            out,
                            "| `{}` | `{}` | {} | {} |",
                            difference.owner,
                            setting.key,
                            cell(a, &setting.values[0]),
                            cell(b, &setting.values[1])
                        );
                    }
                }
            }
        }
        out.push('\n');
    }
    if let Some(drifts) = &comparison.live {
        for (side, drift) in comparison.sides.iter().zip(drifts) {
            if drift.is_empty() {
                continue;
            }
            let _ = writeln!(out, "**In AWS, {}** (account {}):\n", side.name, side.account);
            let mut text = String::new();
            for resource in &drift.resources {
                write_resource(&mut text, comparison, resource);
            }
            let _ = writeln!(out, "```text\n{text}```\n");
        }
        let _ = writeln!(out, "{}", live_verdict(comparison).unwrap_or_default());
    }
    out
}

/// The `--format json` document.
pub fn json(comparison: &Comparison) -> serde_json::Value {
    let side = |s: &Side| json!({ "name": s.name, "account": s.account, "region": s.region });
    let written =
        |w: &Option<Written>| w.as_ref().map(|w| json!({ "value": w.value, "line": w.line, "origin": w.origin }));
    let differences: Vec<serde_json::Value> = comparison
        .differences
        .iter()
        .map(|d| {
            let presence = match d.presence {
                Presence::Both => json!("both"),
                Presence::Only(i) => json!(format!("only_{}", comparison.sides[i].name)),
            };
            json!({
                "owner": d.owner,
                "presence": presence,
                // `values` in the order of `environments`.
                "settings": d.settings.iter().map(|s| json!({
                    "key": s.key,
                    "values": [written(&s.values[0]), written(&s.values[1])],
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let live = comparison.live.as_ref().map(|drifts| {
        let unexplained: Vec<serde_json::Value> = comparison
            .sides
            .iter()
            .zip(drifts)
            .flat_map(|(side, drift)| {
                drift.resources.iter().flat_map(move |r| {
                    r.fields.iter().map(move |f| (side, r, f))
                })
            })
            .filter(|(_, r, f)| comparison.defined_alike(&r.address.to_string(), &f.path))
            .map(|(side, r, f)| {
                json!({ "environment": side.name, "address": r.address.to_string(), "field": f.path,
                        "expected": f.expected.to_json(), "actual": f.actual.to_json() })
            })
            .collect();
        json!({
            "drift": comparison.sides.iter().zip(drifts).map(|(s, d)| json!({ "environment": s.name, "report": drift::json(d) })).collect::<Vec<_>>(),
            "defined_alike_but_differ": unexplained,
        })
    });
    json!({
        "format_version": COMPARE_FORMAT_VERSION,
        "spec": comparison.spec,
        "environments": comparison.sides.iter().map(side).collect::<Vec<_>>(),
        "differences": differences,
        "live": live,
        "as_defined": comparison.as_defined(),
    })
}
