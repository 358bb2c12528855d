//! Drift: what differs between the spec and AWS, told apart by cause.
//!
//! A drift report is the plan's diff read the other way round: not "what
//! apply would do" but "what is not as the spec says, and why". There is no
//! state file to remember the last apply, so the cause comes from AWS itself:
//! every resource converge creates or changes carries `converge:spec-digest`,
//! the digest of the spec's definition it was applied from
//! ([`crate::spec_digest`]). A resource that differs from the spec
//! - and still carries the digest of this spec was changed in AWS;
//! - and carries another digest belongs to a spec edited and not applied.
//!
//! Capacity that managed scaling or a scheduler owns is not drift while it
//! stays inside its range: the planner already compares it that way.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use converge_model::live::{OWNER_ADDRESS_TAG, OWNER_STACK_TAG, SPEC_DIGEST_TAG};
use converge_model::{Address, Kind, LiveState, Spec, Tags};
use serde_json::json;

use crate::change::{Action, FieldChange, Plan};
use crate::digest::{Recorded, spec_digest};
use crate::error::PlanError;
use crate::plan::plan;
use crate::value::Value;

/// The version of the JSON drift document.
pub const DRIFT_FORMAT_VERSION: &str = "1.0";

/// Why a resource is not as the spec says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// Changed outside converge: it carries the digest of this very spec.
    ChangedInAws,
    /// Differs from the spec, and converge has no record it can compare of
    /// which spec it applied (adopted and never changed, or recorded by an
    /// older converge in a format this one does not read).
    Differs,
    /// Created by an apply that stopped before the resource's last step (a
    /// policy attachment, a rule, an association): converge's unfinished
    /// work, not a change in AWS.
    ApplyNotFinished,
    /// Terminated in AWS (EMR keeps a terminated cluster's record for a
    /// while): its state and the reason AWS gives.
    TerminatedInAws { cluster: String, reason: Option<String> },
    /// In the spec and not in AWS: deleted outside converge, or never applied.
    Missing,
    /// The spec's definition changed since converge last applied it.
    SpecNotApplied,
    /// Carries this stack's ownership tags, and the spec no longer names it.
    NotInSpec,
}

impl Cause {
    /// True when AWS changed, not the spec.
    pub fn is_aws(&self) -> bool {
        matches!(self, Cause::ChangedInAws | Cause::TerminatedInAws { .. } | Cause::Differs | Cause::Missing)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Cause::ChangedInAws => "changed_in_aws",
            Cause::Differs => "differs",
            Cause::ApplyNotFinished => "apply_not_finished",
            Cause::TerminatedInAws { .. } => "terminated_in_aws",
            Cause::Missing => "missing",
            Cause::SpecNotApplied => "spec_not_applied",
            Cause::NotInSpec => "not_in_spec",
        }
    }

    /// What happened, in words (`changed in AWS`, `terminated in AWS: …`).
    pub fn describe(&self) -> String {
        match self {
            Cause::ChangedInAws => "changed in AWS".into(),
            Cause::Differs => "differs from the spec (no applied spec recorded on it that converge can compare)".into(),
            Cause::ApplyNotFinished => {
                "apply not finished: an apply created it and stopped before its last steps; apply again".into()
            }
            Cause::TerminatedInAws { cluster, reason } => match reason {
                Some(reason) => format!("terminated in AWS: `{cluster}` is {reason}"),
                None => format!("terminated in AWS: `{cluster}`"),
            },
            Cause::Missing => "not found in AWS: deleted outside converge, or never applied".into(),
            Cause::SpecNotApplied => "the spec changed since the last apply".into(),
            Cause::NotInSpec => "carries this stack's tags but the spec no longer names it".into(),
        }
    }
}

/// One field that is not as the spec says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDrift {
    pub path: String,
    /// What the spec says.
    pub expected: Value,
    /// What AWS has.
    pub actual: Value,
    /// Setting it back replaces the resource.
    pub forces_replacement: bool,
}

/// One resource that is not as the spec says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceDrift {
    pub address: Address,
    pub live_id: Option<String>,
    pub cause: Cause,
    pub fields: Vec<FieldDrift>,
}

/// What to leave out of a drift report: `ADDR` or `ADDR.FIELD` (a field and
/// everything under it: `emr_cluster.etl.task` covers `task.spot`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ignore {
    pub address: Address,
    pub field: Option<String>,
}

impl Ignore {
    /// Parses `kind.name[.field.path]`.
    pub fn parse(text: &str) -> Result<Ignore, String> {
        let mut parts = text.splitn(3, '.');
        let (Some(kind), Some(name)) = (parts.next(), parts.next()) else {
            return Err(format!("`{text}` is not `KIND.NAME[.FIELD]`"));
        };
        let kind = Kind::from_key(kind).ok_or_else(|| format!("`{kind}` is not a resource kind"))?;
        if name.is_empty() {
            return Err(format!("`{text}` names no resource"));
        }
        Ok(Ignore { address: Address::new(kind, name), field: parts.next().map(str::to_owned) })
    }

    fn covers_field(&self, address: &Address, path: &str) -> bool {
        &self.address == address
            && self
                .field
                .as_deref()
                .is_some_and(|f| path == f || path.strip_prefix(f).is_some_and(|r| r.starts_with('.')))
    }

    fn covers_resource(&self, address: &Address) -> bool {
        self.field.is_none() && (&self.address == address || base(address) == self.address)
    }
}

/// `security_group.x#sg-1` (a second holder of an address) → `security_group.x`.
fn base(address: &Address) -> Address {
    Address::new(address.kind, address.name.split('#').next().unwrap_or_default())
}

/// Everything that is not as the spec says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drift {
    pub stack: String,
    pub account: String,
    pub region: String,
    pub resources: Vec<ResourceDrift>,
    /// Resources that match the spec.
    pub in_sync: usize,
    /// What `--ignore` left out, as given.
    pub ignored: Vec<String>,
}

impl Drift {
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// Resources changed, terminated or missing in AWS.
    pub fn aws(&self) -> impl Iterator<Item = &ResourceDrift> {
        self.resources.iter().filter(|r| r.cause.is_aws())
    }

    /// Resources whose spec changed and was not applied.
    pub fn pending(&self) -> impl Iterator<Item = &ResourceDrift> {
        self.resources.iter().filter(|r| !r.cause.is_aws())
    }
}

/// Compares `live` with `spec` and says, per resource and field, what is not
/// as the spec says and why. Pure; reads nothing.
pub fn drift(spec: &Spec, live: &LiveState, ignore: &[Ignore]) -> Result<Drift, Vec<PlanError>> {
    let plan = plan(spec, live)?;
    Ok(from_plan(spec, live, &plan, ignore))
}

fn from_plan(spec: &Spec, live: &LiveState, plan: &Plan, ignore: &[Ignore]) -> Drift {
    let mut resources = Vec::new();
    for change in &plan.changes {
        if ignore.iter().any(|i| i.covers_resource(&change.address)) {
            continue;
        }
        let fields: Vec<FieldDrift> = change
            .fields
            .iter()
            .filter(|f| change.action != Action::Create && f.path != "ownership")
            .filter(|f| !ignore.iter().any(|i| i.covers_field(&change.address, &f.path)))
            .map(field_drift)
            .collect();
        let cause = match change.action {
            Action::Create => terminated(live, &spec.stack.name, &change.address).unwrap_or(Cause::Missing),
            Action::Delete => Cause::NotInSpec,
            Action::Update | Action::Replace => {
                if fields.is_empty() {
                    continue; // every differing field is ignored
                }
                let recorded = change.live_id.as_deref().and_then(|id| tags_of(live, change.address.kind, id));
                match Recorded::of(recorded.and_then(|tags| tags.get(SPEC_DIGEST_TAG)).map(String::as_str)) {
                    Recorded::Absent | Recorded::Unknown => Cause::Differs,
                    Recorded::Pending => Cause::ApplyNotFinished,
                    Recorded::Applied(digest) if Some(digest) == spec_digest(spec, &change.address).as_deref() => {
                        Cause::ChangedInAws
                    }
                    Recorded::Applied(_) => Cause::SpecNotApplied,
                }
            }
        };
        resources.push(ResourceDrift {
            address: change.address.clone(),
            live_id: change.live_id.clone(),
            cause,
            fields,
        });
    }
    let unchanged_but_ignored = plan.changes.len() - resources.len();
    Drift {
        stack: plan.stack.clone(),
        account: plan.account.clone(),
        region: plan.region.clone(),
        resources,
        in_sync: plan.unchanged + unchanged_but_ignored,
        ignored: ignore
            .iter()
            .map(|i| match &i.field {
                Some(field) => format!("{}.{field}", i.address),
                None => i.address.to_string(),
            })
            .collect(),
    }
}

fn field_drift(field: &FieldChange) -> FieldDrift {
    FieldDrift {
        path: field.path.clone(),
        expected: field.after.clone(),
        actual: field.before.clone(),
        forces_replacement: matches!(field.effect, crate::fields::Effect::Replace(_)),
    }
}

/// A terminated cluster of this stack at this address: the newest by id is as good as any.
fn terminated(live: &LiveState, stack: &str, address: &Address) -> Option<Cause> {
    if address.kind != Kind::EmrCluster {
        return None;
    }
    let address_text = address.to_string();
    live.emr_clusters
        .iter()
        .filter(|c| c.is_terminated())
        .filter(|c| {
            c.tags.get(OWNER_STACK_TAG).map(String::as_str) == Some(stack)
                && c.tags.get(OWNER_ADDRESS_TAG) == Some(&address_text)
        })
        .max_by(|a, b| a.id.cmp(&b.id))
        .map(|c| Cause::TerminatedInAws {
            cluster: c.id.clone(),
            reason: Some(match &c.state_reason {
                Some(reason) => format!("{} ({reason})", c.state.aws()),
                None => c.state.aws().to_owned(),
            }),
        })
}

fn tags_of<'a>(live: &'a LiveState, kind: Kind, id: &str) -> Option<&'a Tags> {
    match kind {
        Kind::Vpc => None,
        Kind::Subnet => live.subnets.iter().find(|x| x.id == id).map(|x| &x.tags),
        Kind::SecurityGroup => live.security_groups.iter().find(|x| x.id == id).map(|x| &x.tags),
        Kind::IamRole => live.iam_roles.iter().find(|x| x.name == id).map(|x| &x.tags),
        Kind::SagemakerDomain => live.sagemaker_domains.iter().find(|x| x.id == id).map(|x| &x.tags),
        Kind::SagemakerUser => {
            live.sagemaker_users.iter().find(|x| format!("{}/{}", x.domain_id, x.name) == id).map(|x| &x.tags)
        }
        Kind::CatalogPortfolio => live.catalog_portfolios.iter().find(|x| x.id == id).map(|x| &x.tags),
        Kind::CatalogProduct => live.catalog_products.iter().find(|x| x.id == id).map(|x| &x.tags),
        Kind::EmrCluster => live.emr_clusters.iter().find(|x| x.id == id).map(|x| &x.tags),
    }
}

// ---- rendering -------------------------------------------------------------------

/// "2 changed in AWS, 1 spec change not applied (11 in sync)"
pub fn summary(drift: &Drift) -> String {
    if drift.is_empty() {
        return format!("No drift: {} resources match the spec.", drift.in_sync);
    }
    format!(
        "Drift: {} changed in AWS, {} spec change{} not applied ({} in sync).",
        drift.aws().count(),
        drift.pending().count(),
        if drift.pending().count() == 1 { "" } else { "s" },
        drift.in_sync
    )
}

/// The human report.
pub fn text(drift: &Drift) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "converge drift for stack `{}` in {} (account {})", drift.stack, drift.region, drift.account);
    if !drift.ignored.is_empty() {
        let _ = writeln!(out, "ignoring: {}", drift.ignored.join(", "));
    }
    for (title, items) in [
        ("Changed in AWS (outside converge):", drift.aws().collect::<Vec<_>>()),
        ("Spec changes not applied yet:", drift.pending().collect()),
    ] {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title}");
        for resource in items {
            let id = resource.live_id.as_ref().map(|id| format!(" ({id})")).unwrap_or_default();
            let _ = writeln!(out, "  {}{id}: {}", resource.address, resource.cause.describe());
            for field in &resource.fields {
                write_field(&mut out, field);
            }
        }
    }
    let _ = writeln!(out, "\n{}", summary(drift));
    out
}

fn write_field(out: &mut String, field: &FieldDrift) {
    let replace = if field.forces_replacement { "  # setting it back replaces the resource" } else { "" };
    match (&field.expected, &field.actual) {
        (Value::Set(expected), Value::Set(actual)) => {
            let _ = writeln!(out, "      {}{replace}", field.path);
            for item in actual.iter().filter(|i| !expected.contains(i)) {
                let _ = writeln!(out, "          + {item}  (in AWS, not in the spec)");
            }
            for item in expected.iter().filter(|i| !actual.contains(i)) {
                let _ = writeln!(out, "          - {item}  (in the spec, not in AWS)");
            }
        }
        (Value::Map(expected), Value::Map(actual)) => {
            let _ = writeln!(out, "      {}{replace}", field.path);
            let keys: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
            for key in keys {
                match (expected.get(key), actual.get(key)) {
                    (None, Some(v)) => {
                        let _ = writeln!(out, "          + {key:?} = {v}  (in AWS, not in the spec)");
                    }
                    (Some(v), None) => {
                        let _ = writeln!(out, "          - {key:?} = {v}  (in the spec, not in AWS)");
                    }
                    (Some(e), Some(a)) if e != a => {
                        let _ = writeln!(out, "          ~ {key:?}: spec {e}, AWS {a}");
                    }
                    _ => {}
                }
            }
        }
        (expected, actual) => {
            let _ = writeln!(out, "      {}: spec {expected}, AWS {actual}{replace}", field.path);
        }
    }
}

/// The report as Markdown, for an issue or a chat message.
pub fn markdown(drift: &Drift) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### converge drift: `{}` ({}, account {})\n", drift.stack, drift.region, drift.account);
    let _ = writeln!(out, "**{}**\n", summary(drift));
    if drift.is_empty() {
        return out;
    }
    let _ = writeln!(out, "| resource | cause | field | spec | AWS |\n|---|---|---|---|---|");
    let cell = |text: String| text.replace('|', "\\|").replace('\n', " ");
    for resource in &drift.resources {
        let id = resource.live_id.as_ref().map(|id| format!(" ({id})")).unwrap_or_default();
        let head = cell(format!("`{}`{id}", resource.address));
        if resource.fields.is_empty() {
            let _ = writeln!(out, "| {head} | {} | | | |", cell(resource.cause.describe()));
        }
        for field in &resource.fields {
            let _ = writeln!(
                out,
                "| {head} | {} | `{}` | {} | {} |",
                cell(resource.cause.describe()),
                field.path,
                cell(field.expected.to_string()),
                cell(field.actual.to_string())
            );
        }
    }
    out
}

/// The report for machines.
pub fn json(drift: &Drift) -> serde_json::Value {
    json!({
        "format_version": DRIFT_FORMAT_VERSION,
        "stack": drift.stack,
        "account": drift.account,
        "region": drift.region,
        "drifted": !drift.is_empty(),
        "in_sync": drift.in_sync,
        "ignored": drift.ignored,
        "resources": drift.resources.iter().map(|r| {
            let mut value = json!({
                "address": r.address.to_string(),
                "live_id": r.live_id,
                "cause": r.cause.as_str(),
                "aws_changed": r.cause.is_aws(),
                "fields": r.fields.iter().map(|f| json!({
                    "path": f.path,
                    "expected": f.expected.to_json(),
                    "actual": f.actual.to_json(),
                    "forces_replacement": f.forces_replacement,
                })).collect::<Vec<_>>(),
            });
            if let Cause::TerminatedInAws { cluster, reason } = &r.cause {
                value["terminated"] = json!({ "cluster": cluster, "reason": reason });
            }
            value
        }).collect::<Vec<_>>(),
    })
}
