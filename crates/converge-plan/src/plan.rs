//! From a spec and live state to an ordered, explained plan.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use converge_model::live::{OWNER_ADDRESS_TAG, OWNER_STACK_TAG, PREVENT_DESTROY_TAG};
use converge_model::{Address, Ipv4Cidr, Kind, LiveState, Spec, Strength, Tags};

use crate::attrs::{self, Attrs, Resolver};
use crate::fields::{self, Effect};
use crate::graph::DependencyGraph;
use crate::live_index::{LiveIndex, LiveItem};
use crate::value::{Value, document_text, unified};

/// What happens to one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        }
    }
}

/// How a replacement is sequenced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplaceOrder {
    CreateBeforeDestroy,
    DestroyBeforeCreate,
}

impl ReplaceOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplaceOrder::CreateBeforeDestroy => "create before destroy",
            ReplaceOrder::DestroyBeforeCreate => "destroy before create",
        }
    }
}

/// Why and how a resource is replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replacement {
    /// The changed fields that AWS cannot change in place.
    pub forced_by: Vec<String>,
    /// Replaced resources whose new id feeds one of those fields.
    pub caused_by: Vec<Address>,
    pub order: ReplaceOrder,
    /// Why this order.
    pub order_reason: String,
}

/// One changed field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    pub path: String,
    pub before: Value,
    pub after: Value,
    pub effect: Effect,
    /// A unified diff, for policy documents and templates.
    pub diff: Option<String>,
}

/// The planned change of one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceChange {
    pub address: Address,
    /// The AWS id of the live resource, when there is one.
    pub live_id: Option<String>,
    pub action: Action,
    pub fields: Vec<FieldChange>,
    pub replacement: Option<Replacement>,
    /// Facts a reviewer should know (adoption, a task fleet that cannot be removed, …).
    pub notes: Vec<String>,
}

/// One unit of work, in execution order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepKind {
    RevokeRules,
    DestroyReplaced,
    Delete,
    Create,
    CreateReplacement,
    AuthorizeRules,
    Update,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::RevokeRules => "revoke the group rules of",
            StepKind::DestroyReplaced => "destroy the replaced",
            StepKind::Delete => "delete",
            StepKind::Create => "create",
            StepKind::CreateReplacement => "create the replacement of",
            StepKind::AuthorizeRules => "authorize the group rules of",
            StepKind::Update => "update",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub address: Address,
    pub kind: StepKind,
    /// The AWS operations of the step.
    pub operations: Vec<String>,
}

/// The ordered, explained changes that make live state match the spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub stack: String,
    pub account: String,
    pub region: String,
    /// Changed resources, in address order.
    pub changes: Vec<ResourceChange>,
    /// Resources that need nothing.
    pub unchanged: usize,
    /// The work, in an order that respects every dependency.
    pub steps: Vec<Step>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    pub fn change(&self, address: &Address) -> Option<&ResourceChange> {
        self.changes.iter().find(|c| &c.address == address)
    }
}

/// Why no plan could be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanError {
    AccountMismatch { spec: String, live: String },
    RegionMismatch { spec: String, live: String },
    MissingVpc { address: Address, id: String },
    NameConflict { address: Address, name: String, holder: String, owner: Option<String> },
    PreventDestroy { address: Address, action: Action },
    ReplaceBlocked { address: Address, dependent: Address, reason: String },
    Cycle { path: Vec<String> },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::AccountMismatch { spec, live } => {
                write!(f, "the live state is of account {live}, but the spec's stack is in account {spec}")
            }
            PlanError::RegionMismatch { spec, live } => {
                write!(f, "the live state is of region {live}, but the spec's stack is in {spec}")
            }
            PlanError::MissingVpc { address, id } => {
                write!(f, "`{address}` names the VPC `{id}`, which does not exist")
            }
            PlanError::NameConflict { address, name, holder, owner } => match owner {
                Some(owner) => {
                    write!(f, "`{address}` would be named `{name}`, which `{holder}` of stack `{owner}` already uses")
                }
                None => write!(f, "`{address}` would be named `{name}`, which the unmanaged `{holder}` already uses"),
            },
            PlanError::PreventDestroy { address, action } => {
                write!(f, "the plan would {} `{address}`, which has `prevent_destroy`", action.as_str())
            }
            PlanError::ReplaceBlocked { address, dependent, reason } => {
                write!(
                    f,
                    "`{address}` must be destroyed before it is created ({reason}), but `{dependent}` keeps using it"
                )
            }
            PlanError::Cycle { path } => write!(f, "the changes depend on each other in a loop: {}", path.join(" -> ")),
        }
    }
}

impl PlanError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            PlanError::AccountMismatch { .. } | PlanError::RegionMismatch { .. } => {
                "read the live state with credentials of the stack's account and region, or fix `[stack]`".into()
            }
            PlanError::MissingVpc { address, .. } => {
                format!("fix `{address}.id`; converge reads VPCs but never creates them")
            }
            PlanError::NameConflict { address, owner: None, .. } => {
                format!("set `adopt = true` on `{address}` to manage the existing resource, or give it another `name`")
            }
            PlanError::NameConflict { address, .. } => {
                format!("give `{address}` another `name`; converge never takes a resource from another stack")
            }
            PlanError::PreventDestroy { address, .. } => {
                format!(
                    "undo the change that forces it, or remove `prevent_destroy` from `{address}` in a reviewed change first"
                )
            }
            PlanError::ReplaceBlocked { address, .. } => {
                format!("give `{address}` a new `name` so the new one can exist beside the old one")
            }
            PlanError::Cycle { .. } => "split the change into two applies".into(),
        }
    }
}

/// Plans the changes that make `live` match `spec`.
///
/// Pure and deterministic: the same inputs give the same plan. Drift is not
/// an error; only situations no apply could resolve are.
pub fn plan(spec: &Spec, live: &LiveState) -> Result<Plan, Vec<PlanError>> {
    let mut errors = Vec::new();
    if live.account != spec.stack.account {
        errors.push(PlanError::AccountMismatch { spec: spec.stack.account.clone(), live: live.account.clone() });
    }
    if live.region != spec.stack.region {
        errors.push(PlanError::RegionMismatch { spec: spec.stack.region.clone(), live: live.region.clone() });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let graph = DependencyGraph::from_spec(spec);
    let order = graph
        .order()
        .map_err(|cycle| vec![PlanError::Cycle { path: cycle.path.iter().map(ToString::to_string).collect() }])?;
    // Security group rules may name groups that come later in the order (their
    // references do not order anything), so a first pass settles which
    // resources keep their ids and the second plans with all of them known.
    // Rules never force a replacement, so both passes agree on every action.
    let first = diff_pass(spec, live, &order, &graph, BTreeMap::new());
    let seeded = first.ids;
    let Pass { changes, matched, unchanged, errors: pass_errors, .. } = diff_pass(spec, live, &order, &graph, seeded);
    errors.extend(pass_errors);

    check_blocked_replacements(&changes, &matched, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let steps =
        crate::steps::order(spec, &graph, &changes, &matched).map_err(|path| vec![PlanError::Cycle { path }])?;
    Ok(Plan {
        stack: spec.stack.name.clone(),
        account: spec.stack.account.clone(),
        region: spec.stack.region.clone(),
        changes: changes.into_values().collect(),
        unchanged,
        steps,
    })
}

/// The result of one pass over the spec.
struct Pass<'a> {
    changes: BTreeMap<Address, ResourceChange>,
    matched: BTreeMap<Address, LiveItem<'a>>,
    ids: BTreeMap<Address, String>,
    unchanged: usize,
    errors: Vec<PlanError>,
}

fn diff_pass<'a>(
    spec: &Spec,
    live: &'a LiveState,
    order: &[Address],
    graph: &DependencyGraph,
    seed: BTreeMap<Address, String>,
) -> Pass<'a> {
    let mut errors = Vec::new();
    let mut index = LiveIndex::new(live, &spec.stack.name, spec.addresses().into_iter().collect());
    let mut resolver = Resolver { spec, account: &spec.stack.account, ids: seed };
    let mut changes: BTreeMap<Address, ResourceChange> = BTreeMap::new();
    let mut matched: BTreeMap<Address, LiveItem<'_>> = BTreeMap::new();
    let mut unchanged = 0;

    for address in order {
        if address.kind == Kind::Vpc {
            let vpc = &spec.vpcs[&address.name];
            if !live.vpcs.iter().any(|v| v.id == vpc.id) {
                errors.push(PlanError::MissingVpc { address: address.clone(), id: vpc.id.clone() });
            }
            continue;
        }
        let desired = attrs::desired(&resolver, address);
        let lifecycle = spec.lifecycle(address).cloned().unwrap_or_default();
        let mut notes = Vec::new();
        let mut retag = false;
        let live_item = match index.take_owned(address) {
            Some(item) => Some(item),
            None => match attrs::aws_name(spec, address) {
                Some(name) => {
                    let scope = name_scope(address, &desired);
                    if let Some((orphan_address, item)) = index.take_orphan_named(address.kind, &name, &scope) {
                        notes.push(format!(
                            "takes over `{}` from `{orphan_address}` (same name `{name}`), retagging it",
                            item.id()
                        ));
                        retag = true;
                        Some(item)
                    } else if let Some(item) = index.foreign_named(address.kind, &name, &scope) {
                        if lifecycle.adopt && item.owner_stack().is_none() {
                            notes
                                .push(format!("adopts the existing `{}`: converge adds its ownership tags", item.id()));
                            index.forget_foreign(&item);
                            retag = true;
                            Some(item)
                        } else {
                            errors.push(PlanError::NameConflict {
                                address: address.clone(),
                                name,
                                holder: item.id(),
                                owner: item.owner_stack(),
                            });
                            continue;
                        }
                    } else {
                        None
                    }
                }
                None => None,
            },
        };
        let Some(item) = live_item else {
            let fields = create_fields(address.kind, &desired);
            changes.insert(
                address.clone(),
                ResourceChange {
                    address: address.clone(),
                    live_id: None,
                    action: Action::Create,
                    fields,
                    replacement: None,
                    notes,
                },
            );
            continue;
        };
        let mut desired = desired;
        let live_attrs = item.attrs();
        let mut overrides: BTreeMap<&'static str, Effect> = BTreeMap::new();
        if let (Kind::EmrCluster, LiveItem::Emr(cluster)) = (address.kind, &item) {
            emr_adjust(
                &spec.emr_clusters[&address.name],
                cluster,
                &mut desired,
                &live_attrs,
                &mut overrides,
                &mut notes,
            );
        }
        let mut fields = diff(address.kind, &desired, &live_attrs, &overrides);
        if retag {
            fields.push(FieldChange {
                path: "ownership".into(),
                before: Value::opt_str(item.tags().get(OWNER_ADDRESS_TAG).map(String::as_str)),
                after: Value::Str(address.to_string()),
                effect: Effect::Update("tag with converge:stack and converge:address"),
                diff: None,
            });
        }
        let forced: Vec<&FieldChange> = fields.iter().filter(|f| matches!(f.effect, Effect::Replace(_))).collect();
        let live_id = item.id();
        let action = if forced.is_empty() { Action::Update } else { Action::Replace };
        if fields.is_empty() {
            unchanged += 1;
            resolver.ids.insert(address.clone(), live_id);
            matched.insert(address.clone(), item);
            continue;
        }
        let replacement = (action == Action::Replace).then(|| {
            let caused_by = forced
                .iter()
                .flat_map(|f| unknown_causes(&f.after))
                .filter(|cause| cause != address)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let (order, order_reason) = replace_order(spec, address, &fields, &changes, graph);
            Replacement { forced_by: forced.iter().map(|f| f.path.clone()).collect(), caused_by, order, order_reason }
        });
        if action != Action::Replace {
            resolver.ids.insert(address.clone(), live_id.clone());
        }
        if lifecycle.prevent_destroy && action == Action::Replace {
            errors.push(PlanError::PreventDestroy { address: address.clone(), action });
        }
        changes.insert(
            address.clone(),
            ResourceChange { address: address.clone(), live_id: Some(live_id), action, fields, replacement, notes },
        );
        matched.insert(address.clone(), item);
    }

    // Owned resources the spec no longer has.
    for (address, item) in index.orphans() {
        if item.tags().get(PREVENT_DESTROY_TAG).is_some_and(|v| v == "true") {
            errors.push(PlanError::PreventDestroy { address: address.clone(), action: Action::Delete });
        }
        let note = if spec.lifecycle(&address).is_some() {
            format!(
                "a second `{}` claims this address; only `{}` is kept",
                item.id(),
                matched.get(&address).map(LiveItem::id).unwrap_or_default()
            )
        } else {
            "owned by this stack and no longer in the spec".to_owned()
        };
        let delete_address = if changes.contains_key(&address) || matched.contains_key(&address) {
            Address::new(address.kind, format!("{}#{}", address.name, item.id()))
        } else {
            address.clone()
        };
        changes.insert(
            delete_address.clone(),
            ResourceChange {
                address: delete_address.clone(),
                live_id: Some(item.id()),
                action: Action::Delete,
                fields: Vec::new(),
                replacement: None,
                notes: vec![note],
            },
        );
        matched.insert(delete_address, item);
    }

    Pass { changes, matched, ids: resolver.ids, unchanged, errors }
}

/// Where a unique name must be unique: the VPC of a group, the domain of a user profile.
fn name_scope(address: &Address, desired: &Attrs) -> String {
    match address.kind {
        Kind::SecurityGroup => desired.get("vpc").to_string(),
        Kind::SagemakerUser => desired.get("domain").to_string(),
        _ => String::new(),
    }
}

fn create_fields(kind: Kind, desired: &Attrs) -> Vec<FieldChange> {
    fields::of(kind)
        .iter()
        .filter_map(|field| {
            let after = desired.get(field.path);
            let empty = matches!(after, Value::Null)
                || matches!(after, Value::Map(m) if m.is_empty())
                || matches!(after, Value::Set(s) | Value::List(s) if s.is_empty());
            (!empty).then(|| FieldChange {
                path: field.path.to_owned(),
                before: Value::Null,
                after: after.clone(),
                effect: field.effect,
                diff: None,
            })
        })
        .collect()
}

fn diff(kind: Kind, desired: &Attrs, live: &Attrs, overrides: &BTreeMap<&'static str, Effect>) -> Vec<FieldChange> {
    fields::of(kind)
        .iter()
        .filter_map(|field| {
            let (after, before) = (desired.get(field.path), live.get(field.path));
            if after == before && !after.has_unknown() {
                return None;
            }
            let diff = match (before, after) {
                (Value::Doc(_) | Value::Null, Value::Doc(_)) | (Value::Doc(_), Value::Null) => {
                    Some(unified(&document_text(before), &document_text(after)))
                }
                _ => match (live.texts.get(field.path), desired.texts.get(field.path)) {
                    (Some(old), Some(new)) => Some(unified(old, new)),
                    _ => None,
                },
            };
            let effect = match overrides.get(field.path).copied().unwrap_or(field.effect) {
                Effect::Update(operations) => Effect::Update(specific_operation(operations, before, after)),
                replace => replace,
            };
            Some(FieldChange {
                path: field.path.to_owned(),
                before: before.clone(),
                after: after.clone(),
                effect,
                diff,
            })
        })
        .collect()
}

/// `"PutX / RemoveX"` names an operation for adding and one for removing:
/// pick what this change needs, from the values before and after.
fn specific_operation(operations: &'static str, before: &Value, after: &Value) -> &'static str {
    let Some((add, remove)) = operations.split_once(" / ") else { return operations };
    let absent = |v: &Value| matches!(v, Value::Null | Value::Bool(false));
    let (added, removed) = match (before, after) {
        (b, _) if absent(b) => (true, false),
        (_, a) if absent(a) => (false, true),
        (Value::Set(b), Value::Set(a)) => (a.iter().any(|x| !b.contains(x)), b.iter().any(|x| !a.contains(x))),
        (Value::Map(b), Value::Map(a)) => {
            (a.iter().any(|(k, v)| b.get(k) != Some(v)), b.keys().any(|k| !a.contains_key(k)))
        }
        _ => (true, false),
    };
    match (added, removed) {
        (true, true) => operations,
        (false, true) => remove,
        _ => add,
    }
}

fn unknown_causes(value: &Value) -> Vec<Address> {
    match value {
        Value::Unknown(address) => address
            .split_once('.')
            .and_then(|(kind, name)| Kind::from_key(kind).map(|k| Address::new(k, name)))
            .into_iter()
            .collect(),
        Value::List(items) | Value::Set(items) => items.iter().flat_map(unknown_causes).collect(),
        Value::Map(entries) => entries.values().flat_map(unknown_causes).collect(),
        _ => Vec::new(),
    }
}

/// Managed scaling moves core and task capacity: observe it, do not fight it.
/// A task fleet cannot be removed, only scaled to zero; one can be added.
fn emr_adjust(
    cluster: &converge_model::EmrCluster,
    live: &converge_model::live::LiveEmrCluster,
    desired: &mut Attrs,
    live_attrs: &Attrs,
    overrides: &mut BTreeMap<&'static str, Effect>,
    notes: &mut Vec<String>,
) {
    match (&cluster.task, live.fleet("TASK")) {
        (None, Some(_)) => {
            for path in ["task.instance_types", "task.launch"] {
                desired.values.insert(path, live_attrs.get(path).clone());
            }
            desired.values.insert("task.on_demand", Value::Int(0));
            desired.values.insert("task.spot", Value::Int(0));
            notes.push("EMR cannot remove a task fleet; converge scales it to 0".into());
        }
        (Some(_), None) => {
            for path in ["task.instance_types", "task.launch", "task.on_demand", "task.spot"] {
                overrides.insert(path, Effect::Update("AddInstanceFleet"));
            }
        }
        _ => {}
    }
    let Some(scaling) = &cluster.scaling else { return };
    let max_on_demand = scaling.max_on_demand.unwrap_or(scaling.max);
    for (role, fleet_type, limit) in
        [("core", "CORE", scaling.max_core.unwrap_or(scaling.max)), ("task", "TASK", scaling.max)]
    {
        let Some(fleet) = live.fleet(fleet_type) else { continue };
        let declared = if role == "core" { cluster.core.is_some() } else { cluster.task.is_some() };
        let within = fleet.target_on_demand + fleet.target_spot <= limit && fleet.target_on_demand <= max_on_demand;
        if declared && within {
            let (_, _, on_demand, spot) = attrs::fleet_paths(role);
            if let (Some(on_demand), Some(spot)) = (on_demand, spot) {
                desired.values.insert(on_demand, Value::Int(fleet.target_on_demand));
                desired.values.insert(spot, Value::Int(fleet.target_spot));
            }
        }
    }
}

/// Create-before-destroy wherever AWS lets the old and the new exist side by side.
fn replace_order(
    spec: &Spec,
    address: &Address,
    fields: &[FieldChange],
    planned: &BTreeMap<Address, ResourceChange>,
    graph: &DependencyGraph,
) -> (ReplaceOrder, String) {
    let changed = |path: &str| fields.iter().any(|f| f.path == path);
    let after = |path: &str| fields.iter().find(|f| f.path == path).map(|f| f.after.to_string()).unwrap_or_default();
    let name = attrs::aws_name(spec, address).unwrap_or_default();
    for (dependency, edge) in graph.dependencies(address) {
        if edge.strength != Strength::Hard {
            continue;
        }
        if let Some(Replacement { order: ReplaceOrder::DestroyBeforeCreate, .. }) =
            planned.get(dependency).and_then(|c| c.replacement.as_ref())
        {
            return (
                ReplaceOrder::DestroyBeforeCreate,
                format!("`{dependency}` is destroyed before it is created, and this resource uses it"),
            );
        }
    }
    let (order, reason) = match address.kind {
        Kind::EmrCluster => {
            (ReplaceOrder::CreateBeforeDestroy, "the new cluster runs before the old one is terminated".to_owned())
        }
        Kind::IamRole if !changed("name") => {
            (ReplaceOrder::DestroyBeforeCreate, format!("the role name `{name}` must be free"))
        }
        Kind::SecurityGroup if !changed("name") && !changed("vpc") => {
            (ReplaceOrder::DestroyBeforeCreate, format!("the group name `{name}` must be free in its VPC"))
        }
        Kind::SagemakerDomain if !changed("name") => {
            (ReplaceOrder::DestroyBeforeCreate, format!("the domain name `{name}` must be free"))
        }
        Kind::SagemakerUser if !changed("name") && !changed("domain") => {
            (ReplaceOrder::DestroyBeforeCreate, format!("the user profile name `{name}` must be free in its domain"))
        }
        Kind::Subnet => {
            let old = fields.iter().find(|f| f.path == "cidr").map(|f| f.before.to_string());
            let overlap = match old {
                None => true,
                Some(old) => {
                    let parse = |t: &str| Ipv4Cidr::parse(t.trim_matches('"')).ok();
                    match (parse(&old), parse(&after("cidr"))) {
                        (Some(a), Some(b)) => a.overlaps(b),
                        _ => true,
                    }
                }
            };
            if overlap {
                (ReplaceOrder::DestroyBeforeCreate, "the new CIDR block overlaps the old one".to_owned())
            } else {
                (ReplaceOrder::CreateBeforeDestroy, "the new CIDR block does not overlap the old one".to_owned())
            }
        }
        Kind::SecurityGroup if changed("vpc") => {
            (ReplaceOrder::CreateBeforeDestroy, "the new group is in another VPC".to_owned())
        }
        Kind::SagemakerUser if changed("domain") => {
            (ReplaceOrder::CreateBeforeDestroy, "the new user profile is in another domain".to_owned())
        }
        Kind::IamRole | Kind::SecurityGroup | Kind::SagemakerDomain | Kind::SagemakerUser => {
            (ReplaceOrder::CreateBeforeDestroy, format!("the new {} has another name", address.kind.noun()))
        }
        _ => (ReplaceOrder::CreateBeforeDestroy, "the new resource does not collide with the old one".to_owned()),
    };
    (order, reason)
}

/// A resource destroyed before it is created cannot be in use by something that is only updated.
fn check_blocked_replacements(
    changes: &BTreeMap<Address, ResourceChange>,
    matched: &BTreeMap<Address, LiveItem<'_>>,
    errors: &mut Vec<PlanError>,
) {
    let ids: BTreeMap<String, &Address> =
        matched.iter().flat_map(|(a, item)| item.aliases().into_iter().map(move |id| (id, a))).collect();
    for (user, item) in matched {
        let user_action = changes.get(user).map(|c| c.action);
        if matches!(user_action, Some(Action::Replace | Action::Delete)) {
            continue;
        }
        for used in item.uses() {
            let Some(used_address) = ids.get(&used) else { continue };
            if used_address.kind == Kind::IamRole {
                continue; // IAM does not refuse to delete a role in use
            }
            if let Some(change) = changes.get(*used_address)
                && let Some(Replacement { order: ReplaceOrder::DestroyBeforeCreate, order_reason, .. }) =
                    &change.replacement
            {
                errors.push(PlanError::ReplaceBlocked {
                    address: (*used_address).clone(),
                    dependent: user.clone(),
                    reason: order_reason.clone(),
                });
            }
        }
    }
}

/// Tags a created resource gets besides the spec's own.
pub fn ownership_tags(stack: &str, address: &Address, prevent_destroy: bool) -> Tags {
    let mut tags = Tags::new();
    tags.insert(OWNER_STACK_TAG.to_owned(), stack.to_owned());
    tags.insert(OWNER_ADDRESS_TAG.to_owned(), address.to_string());
    if prevent_destroy {
        tags.insert(PREVENT_DESTROY_TAG.to_owned(), "true".to_owned());
    }
    tags
}
