//! Saved plans: `converge plan --out plan.json`, then `converge apply plan.json`.
//!
//! A saved plan carries its steps, the digest of the spec it was made from,
//! and a snapshot of every live resource it depends on: the resources it
//! changes (or finds absent, for a create) and those their spec definitions
//! refer to (whose ids its operations use). Before applying, the live state is
//! read again and compared with those snapshots only: a plan goes stale when
//! one of them changed, and not when something unrelated did (Terraform's
//! saved plans go stale on any change to the state).

use std::collections::{BTreeMap, BTreeSet};

use converge_model::live::{OWNER_ADDRESS_TAG, OWNER_STACK_TAG};
use converge_model::{Address, Kind, LiveState, RefTarget, Spec};
use converge_ops::StepGraph;
use serde::{Deserialize, Serialize};

use crate::change::{Action, Plan};
pub use crate::digest::spec_content_digest;

/// What `--out` writes: this name and version head the document.
pub const SAVED_PLAN_FORMAT: &str = "converge-saved-plan";
/// 2: the spec digest is `v2:` of the canonical encoding (docs/drift.md).
pub const SAVED_PLAN_VERSION: u32 = 2;

/// A plan written to a file, to apply later exactly as reviewed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format: String,
    pub version: u32,
    /// The spec's path as given to `converge plan` (relative to where it ran).
    pub spec_path: String,
    /// The spec's environment the plan is of (`--env`), when it has environments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// [`spec_content_digest`] of the spec the plan was made from.
    pub spec_digest: String,
    pub stack: String,
    pub account: String,
    pub region: String,
    /// `--replace` addresses the plan was made with.
    #[serde(default)]
    pub replace: Vec<Address>,
    /// The plan as `converge plan` printed it, shown again before applying.
    pub text: String,
    /// The steps to carry out.
    pub steps: StepGraph,
    /// The live state the plan depends on, per address: `None` when absent.
    pub depends_on: BTreeMap<String, Option<serde_json::Value>>,
}

/// A dependency that is not as it was when the plan was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stale {
    pub address: String,
    /// What changed: "created since", "deleted since", or the fields that differ.
    pub how: String,
}

/// Why a saved plan cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SavedPlanError {
    #[error("the saved plan is not a converge plan (or of an unknown version)")]
    Format,
    #[error("the spec has changed since the plan was made")]
    SpecChanged,
    #[error("the plan is stale: AWS changed since it was made: {}", .0.iter().map(|s| format!("`{}` ({})", s.address, s.how)).collect::<Vec<_>>().join(", "))]
    Stale(Vec<Stale>),
    #[error("the saved steps are inconsistent: {0}")]
    Steps(String),
}

impl SavedPlanError {
    pub fn hint(&self) -> &'static str {
        match self {
            SavedPlanError::Format => "write the plan with `converge plan SPEC --out FILE` of this converge version",
            SavedPlanError::SpecChanged => {
                "plan again from the spec as it is now (`converge plan SPEC --out FILE`), review it, and apply that"
            }
            SavedPlanError::Stale(_) => {
                "plan again (`converge plan SPEC --out FILE`): the resources named above changed after the plan was reviewed"
            }
            SavedPlanError::Steps(_) => "plan again; a saved plan is applied as written and this one was edited",
        }
    }
}

/// Makes the saved form of `plan`, made from `spec` and `live`.
pub fn save(spec: &Spec, live: &LiveState, plan: &Plan, spec_path: &str, replace: &[Address]) -> SavedPlan {
    let depends_on = dependencies(spec, plan)
        .into_iter()
        .map(|(key, lookup)| {
            let snapshot = lookup.find(live, &spec.stack.name);
            (key, snapshot)
        })
        .collect();
    SavedPlan {
        format: SAVED_PLAN_FORMAT.to_owned(),
        version: SAVED_PLAN_VERSION,
        spec_path: spec_path.to_owned(),
        environment: spec.stack.environment.clone(),
        spec_digest: spec_content_digest(spec),
        stack: plan.stack.clone(),
        account: plan.account.clone(),
        region: plan.region.clone(),
        replace: replace.to_vec(),
        text: crate::render::text(plan, crate::render::Style::plain()),
        steps: plan.steps.clone(),
        depends_on,
    }
}

/// Checks that `saved` still applies to `spec` and `live` (read again just
/// now): the same spec, and every resource it depends on as it was. Returns
/// the steps to carry out.
pub fn check(saved: &SavedPlan, spec: &Spec, live: &LiveState) -> Result<StepGraph, SavedPlanError> {
    if saved.format != SAVED_PLAN_FORMAT || saved.version != SAVED_PLAN_VERSION {
        return Err(SavedPlanError::Format);
    }
    if saved.spec_digest != spec_content_digest(spec) {
        return Err(SavedPlanError::SpecChanged);
    }
    let mut stale = Vec::new();
    for (key, before) in &saved.depends_on {
        let lookup = Lookup::parse(key).ok_or(SavedPlanError::Format)?;
        let now = lookup.find(live, &spec.stack.name);
        if &now != before {
            stale.push(Stale { address: lookup.address(), how: how(before.as_ref(), now.as_ref()) });
        }
    }
    if !stale.is_empty() {
        return Err(SavedPlanError::Stale(stale));
    }
    StepGraph::new(saved.steps.steps().to_vec()).map_err(|e| SavedPlanError::Steps(format!("{e:?}")))
}

fn how(before: Option<&serde_json::Value>, now: Option<&serde_json::Value>) -> String {
    match (before, now) {
        (None, Some(_)) => "created since".to_owned(),
        (Some(_), None) => "deleted since".to_owned(),
        (Some(serde_json::Value::Object(a)), Some(serde_json::Value::Object(b))) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            let changed: Vec<&str> = keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).map(String::as_str).collect();
            format!("changed: {}", changed.join(", "))
        }
        _ => "changed".to_owned(),
    }
}

/// How a dependency is found again: by the stack's ownership tag at an
/// address, or by live id for a resource the plan changes (keyed
/// `address@id`, so a refusal names both).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Lookup {
    Owned(Address),
    Id(Address, String),
}

impl Lookup {
    fn key(&self) -> String {
        match self {
            Lookup::Owned(address) => address.to_string(),
            Lookup::Id(address, id) => format!("{address}@{id}"),
        }
    }

    fn parse(key: &str) -> Option<Lookup> {
        match key.split_once('@') {
            Some((address, id)) => Some(Lookup::Id(Address::parse(address)?, id.to_owned())),
            None => Some(Lookup::Owned(Address::parse(key)?)),
        }
    }

    fn address(&self) -> String {
        match self {
            Lookup::Owned(address) => address.to_string(),
            Lookup::Id(address, id) => format!("{address} ({id})"),
        }
    }

    /// The resource's live snapshot, or `None` when AWS does not have it.
    fn find(&self, live: &LiveState, stack: &str) -> Option<serde_json::Value> {
        match self {
            Lookup::Id(address, id) => snapshots(live, address.kind).into_iter().find(|(item_id, _, _)| item_id == id),
            Lookup::Owned(address) => snapshots(live, address.kind).into_iter().find(|(_, tags, _)| {
                tags.get(OWNER_STACK_TAG).is_some_and(|s| s == stack)
                    && tags.get(OWNER_ADDRESS_TAG).is_some_and(|a| *a == address.to_string())
            }),
        }
        .map(|(_, _, value)| value)
    }
}

/// Every live resource of a kind: its id, tags and snapshot (terminated clusters left out).
fn snapshots(live: &LiveState, kind: Kind) -> Vec<(String, converge_model::Tags, serde_json::Value)> {
    fn entry<T: Serialize>(
        id: &str,
        tags: &converge_model::Tags,
        item: &T,
    ) -> (String, converge_model::Tags, serde_json::Value) {
        (id.to_owned(), tags.clone(), serde_json::to_value(item).unwrap_or_default())
    }
    match kind {
        Kind::Vpc => live.vpcs.iter().map(|v| entry(&v.id, &converge_model::Tags::new(), v)).collect(),
        Kind::Subnet => live.subnets.iter().map(|x| entry(&x.id, &x.tags, x)).collect(),
        Kind::SecurityGroup => live.security_groups.iter().map(|x| entry(&x.id, &x.tags, x)).collect(),
        Kind::IamRole => live.iam_roles.iter().map(|x| entry(&x.name, &x.tags, x)).collect(),
        Kind::SagemakerDomain => live.sagemaker_domains.iter().map(|x| entry(&x.id, &x.tags, x)).collect(),
        Kind::SagemakerUser => {
            live.sagemaker_users.iter().map(|x| entry(&format!("{}/{}", x.domain_id, x.name), &x.tags, x)).collect()
        }
        Kind::CatalogPortfolio => live.catalog_portfolios.iter().map(|x| entry(&x.id, &x.tags, x)).collect(),
        Kind::CatalogProduct => live.catalog_products.iter().map(|x| entry(&x.id, &x.tags, x)).collect(),
        Kind::EmrCluster => {
            live.emr_clusters.iter().filter(|c| !c.is_terminated()).map(|x| entry(&x.id, &x.tags, x)).collect()
        }
    }
}

/// What the plan depends on: each changed resource (by live id when it has
/// one, else by the address it will be created at) and each resource of the
/// spec that a changed one refers to.
fn dependencies(spec: &Spec, plan: &Plan) -> BTreeMap<String, Lookup> {
    let mut lookups = BTreeMap::new();
    let mut add = |lookup: Lookup| {
        lookups.insert(lookup.key(), lookup);
    };
    let changed: BTreeSet<&Address> = plan.changes.iter().map(|c| &c.address).collect();
    for change in &plan.changes {
        match (&change.live_id, change.action) {
            (Some(id), _) => add(Lookup::Id(change.address.clone(), id.clone())),
            (None, Action::Create) => add(Lookup::Owned(change.address.clone())),
            (None, _) => {}
        }
    }
    for reference in spec.references() {
        if !changed.contains(&reference.from) {
            continue;
        }
        if let RefTarget::Spec(to) = reference.to.target(reference.expected)
            && to.kind != Kind::Vpc
            && to != reference.from
        {
            add(Lookup::Owned(to));
        }
    }
    lookups
}
