//! From a spec and live state to an ordered, explained, executable plan.

use std::collections::{BTreeMap, BTreeSet};

use converge_model::live::{OWNER_ADDRESS_TAG, PREVENT_DESTROY_TAG, SPEC_DIGEST_TAG};
use converge_model::{Address, Claim, FleetRole, Ipv4Cidr, Kind, LiveState, Scope, Spec, Strength};
use converge_ops::{Direction, Id};

use crate::attrs::{self, Attrs, FleetPart, fleet_path};
use crate::change::{Action, DigestRewrite, FieldChange, Plan, ReplaceOrder, Replacement, ResourceChange};
use crate::desired::{self, Resolver, UNNUMBERED};
use crate::digest::Recorded;
use crate::emr_rules::EmrRules;
use crate::error::PlanError;
use crate::fields::{Effect, Mutability};
use crate::graph::DependencyGraph;
use crate::kinds::Desired;
use crate::live_index::{LiveIndex, LiveItem};
use crate::operations;
use crate::value::{Value, document_text, unified};

/// Plans the deletion of everything the spec's stack owns in `live`: the plan
/// of a spec with the same stack and VPCs and no resources, so resources
/// recorded as `prevent_destroy` stop it and deletions run in reverse order.
pub fn plan_destroy(spec: &Spec, live: &LiveState) -> Result<Plan, Vec<PlanError>> {
    let empty = Spec { stack: spec.stack.clone(), vpcs: spec.vpcs.clone(), ..Spec::default() };
    plan(&empty, live)
}

/// What to read of AWS to plan `spec`: its stack's resources (by ownership
/// tags), its VPCs, and the AWS names its resources claim (roles, security
/// groups, domains, user profiles), read even when another stack, or nobody,
/// owns them, to report conflicts or adopt them.
pub fn read_scope(spec: &Spec) -> Scope {
    Scope {
        stack: spec.stack.name.clone(),
        account: spec.stack.account.clone(),
        region: spec.stack.region.clone(),
        vpc_ids: spec.vpcs.values().map(|vpc| vpc.id.clone()).collect(),
        claims: spec
            .addresses()
            .iter()
            .filter_map(|address| Some(Claim { kind: address.kind, name: desired::aws_name(spec, address)? }))
            .collect(),
        cluster_names: spec.emr_clusters.values().map(|c| c.name.clone()).collect(),
        everything: false,
    }
}

/// Plans the changes that make `live` match `spec`.
///
/// Pure and deterministic: the same inputs give the same plan. Drift is not
/// an error; only situations no apply could resolve are.
pub fn plan(spec: &Spec, live: &LiveState) -> Result<Plan, Vec<PlanError>> {
    plan_replacing(spec, live, &[])
}

/// As [`plan`], and replaces the resources at `replace` even where nothing
/// forces it (`converge apply --replace`, `converge rebuild`): their
/// dependents follow as for any replacement, and the order is the one a
/// forced replacement of the kind takes (an EMR cluster: the new one runs
/// before the old one is terminated). One that does not exist is created.
pub fn plan_replacing(spec: &Spec, live: &LiveState, replace: &[Address]) -> Result<Plan, Vec<PlanError>> {
    let mut errors = Vec::new();
    for address in replace {
        if address.kind == Kind::Vpc || spec.lifecycle(address).is_none() {
            errors.push(PlanError::ReplaceUnknown { address: address.clone() });
        }
    }
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
    // What both passes compute alike is computed once.
    // When the first pass keeps no id (an empty account), the second would
    // start from the same ids and find the same: it is skipped.
    let mut cache = Cache::default();
    let first = diff_pass(spec, live, &order, &graph, replace, BTreeMap::new(), &mut cache);
    let second = if first.ids.is_empty() {
        first
    } else {
        let seed = first.ids;
        diff_pass(spec, live, &order, &graph, replace, seed, &mut cache)
    };
    let Pass { mut changes, matched, mut wanted, unchanged, errors: pass_errors, ids, emr_rules } = second;
    errors.extend(pass_errors);

    let network = crate::network::Network { spec, live, ids: &ids };
    network.check_service_access(&mut errors);
    let warnings = network.warnings();
    check_blocked_replacements(&changes, &matched, &mut errors);
    check_domain_changes(&changes, &matched, &mut errors);
    check_subnet_deletes(spec, live, &changes, &matched, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let replaced = changes
        .values()
        .filter(|c| c.action == Action::Replace)
        .filter_map(|c| Some((c.address.clone(), c.live_id.clone()?)))
        .collect();
    let digests: BTreeMap<Address, String> = changes
        .iter()
        .filter(|(_, c)| c.action != Action::Delete)
        .filter_map(|(address, _)| Some((address.clone(), crate::digest::spec_digest(spec, address)?)))
        .collect();
    let context = operations::Context { spec, live, replaced, emr_rules: &emr_rules, digests: &digests };
    let mut built = BTreeMap::new();
    for (address, change) in &mut changes {
        let ops = crate::kinds::build(&context, change, wanted.remove(address).as_ref(), matched.get(address))?;
        attribute_effects(change, &ops)?;
        change.notes.extend(ops.notes.iter().cloned());
        built.insert(address.clone(), ops);
    }
    let mut digests = Vec::new();
    for (address, item) in matched.iter().filter(|(address, _)| !changes.contains_key(*address)) {
        let recorded = Recorded::of(item.tags().get(SPEC_DIGEST_TAG).map(String::as_str));
        if recorded.needs_rewrite()
            && let Some(ops) = crate::kinds::rewrite_digest(&context, address, item)
        {
            let pending = recorded == Recorded::Pending;
            digests.push(DigestRewrite { address: address.clone(), live_id: item.id(), pending });
            built.insert(address.clone(), ops);
        }
    }
    let steps = crate::steps::order(&graph, &changes, &matched, built)?;
    Ok(Plan {
        stack: spec.stack.name.clone(),
        environment: spec.stack.environment.clone(),
        account: spec.stack.account.clone(),
        region: spec.stack.region.clone(),
        changes: changes.into_values().collect(),
        unchanged,
        steps,
        warnings,
        digests,
    })
}

/// Names, for each in-place field, the AWS calls of the operations that change it.
fn attribute_effects(change: &mut ResourceChange, ops: &operations::ResourceOps) -> Result<(), Vec<PlanError>> {
    if change.action == Action::Create {
        return Ok(());
    }
    for field in &mut change.fields {
        let Effect::Update(calls) = &mut field.effect else { continue };
        for planned in ops.iter().filter(|p| p.fields.contains(&field.path.as_str())) {
            for call in planned.operation.aws_calls() {
                if !calls.contains(&call) {
                    calls.push(call);
                }
            }
        }
        if calls.is_empty() && change.action == Action::Update {
            return Err(vec![PlanError::Internal(format!(
                "`{}.{}` changes but no operation changes it",
                change.address, field.path
            ))]);
        }
    }
    Ok(())
}

/// What the diff passes share: the values of live resources (the same in
/// both) and the policy documents already normalised.
#[derive(Default)]
struct Cache {
    live_values: BTreeMap<(Kind, String), Attrs>,
    documents: attrs::Documents,
}

/// The result of one pass over the spec.
struct Pass<'a> {
    changes: BTreeMap<Address, ResourceChange>,
    matched: BTreeMap<Address, LiveItem<'a>>,
    /// What the spec wants of each changed resource (the operations are built from it).
    wanted: BTreeMap<Address, Desired>,
    ids: BTreeMap<Address, String>,
    unchanged: usize,
    errors: Vec<PlanError>,
    /// What EMR keeps in the groups it is handed, as this pass knew the ids.
    emr_rules: EmrRules,
}

fn diff_pass<'a>(
    spec: &Spec,
    live: &'a LiveState,
    order: &[Address],
    graph: &DependencyGraph,
    replace: &[Address],
    seed: BTreeMap<Address, String>,
    cache: &mut Cache,
) -> Pass<'a> {
    let mut errors = Vec::new();
    let emr_rules = EmrRules::of(spec, live, &seed);
    let mut index = LiveIndex::new(live, &spec.stack.name, spec.addresses().into_iter().collect());
    let mut resolver = Resolver { spec, account: &spec.stack.account, ids: seed };
    let mut changes: BTreeMap<Address, ResourceChange> = BTreeMap::new();
    let mut matched: BTreeMap<Address, LiveItem<'_>> = BTreeMap::new();
    let mut wanted_of: BTreeMap<Address, Desired> = BTreeMap::new();
    let mut unchanged = 0;

    for address in order {
        if address.kind == Kind::Vpc {
            let vpc = &spec.vpcs[&address.name];
            if !live.vpcs.iter().any(|v| v.id == vpc.id) {
                errors.push(PlanError::MissingVpc { address: address.clone(), id: vpc.id.clone() });
            }
            continue;
        }
        let Some(wanted) = crate::kinds::of(&resolver, address) else { continue };
        let lifecycle = spec.lifecycle(address).cloned().unwrap_or_default();
        let mut notes = Vec::new();
        let mut retag = false;
        let scope = name_scope(&wanted);
        let live_item = match index.take_owned(address) {
            Some(item) => Some(item),
            None => match desired::aws_name(spec, address) {
                Some(name) => {
                    if let Some((orphan_address, item)) = index.take_orphan_named(address.kind, &name, &scope) {
                        notes.push(format!(
                            "takes over `{}` from `{orphan_address}` (same name `{name}`), retagging it",
                            item.id()
                        ));
                        retag = true;
                        Some(item)
                    } else if let candidates = index.foreign_named(address.kind, &name, &scope)
                        && let Some(&item) = candidates.first()
                    {
                        if lifecycle.adopt && candidates.len() > 1 {
                            errors.push(PlanError::AmbiguousAdoption {
                                address: address.clone(),
                                name,
                                candidates: candidates.iter().map(LiveItem::id).collect(),
                            });
                            continue;
                        }
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
            notes.extend(creation_notes(spec, address));
            let own = Id::Output { output_of: UNNUMBERED, address: address.clone() };
            let fields = create_fields(address.kind, &crate::kinds::desired(&wanted, &own, &cache.documents));
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
            wanted_of.insert(address.clone(), wanted);
            continue;
        };
        let live_id = item.id();
        let mut desired_attrs = crate::kinds::desired(&wanted, &Id::known(&live_id), &cache.documents);
        let mut live_attrs = cache
            .live_values
            .entry((item.kind(), live_id.clone()))
            .or_insert_with(|| crate::kinds::live(&item))
            .clone();
        let mut in_place = BTreeSet::new();
        if let (Desired::Cluster(cluster), LiveItem::Emr(live_cluster)) = (&wanted, &item) {
            emr_adjust(cluster, live_cluster, &mut desired_attrs, &mut live_attrs, &mut in_place, &mut notes);
        }
        if let (Desired::Group(group), LiveItem::SecurityGroup(live_group)) = (&wanted, &item) {
            // The rules EMR keeps in the groups it is handed are EMR's, not drift.
            for (field, direction, live_rules, wanted) in [
                ("ingress", Direction::Ingress, &live_group.ingress, &group.ingress),
                ("egress", Direction::Egress, &live_group.egress, &group.egress),
            ] {
                let kept = emr_rules.without_emrs(&live_group.id, direction, attrs::live_rules(live_rules), wanted);
                live_attrs.set(field, attrs::rules_value(&kept, &Id::known(&live_group.id)));
            }
        }
        let mut fields = diff(address.kind, &desired_attrs, &live_attrs, &in_place);
        if retag {
            fields.push(FieldChange {
                path: "ownership".into(),
                before: Value::opt_str(item.tags().get(OWNER_ADDRESS_TAG).map(String::as_str)),
                after: Value::Str(address.to_string()),
                effect: Effect::Update(Vec::new()),
                diff: None,
            });
        }
        if let (Desired::Domain(_), LiveItem::Domain(_)) = (&wanted, &item)
            && fields.iter().any(|f| {
                use crate::kinds::sagemaker_domain::Field;
                f.path == Field::NetworkAccess.path() || f.path == Field::Subnets.path()
            })
        {
            notes.push(
                "SageMaker refuses network access and subnet removals while Studio apps run; converge checks the live apps first"
                    .into(),
            );
        }
        let forced: Vec<&FieldChange> = fields.iter().filter(|f| matches!(f.effect, Effect::Replace(_))).collect();
        let requested = replace.contains(address);
        if requested {
            notes.push("replaced on request (`--replace`)".to_owned());
        }
        let action = if forced.is_empty() && !requested { Action::Update } else { Action::Replace };
        if fields.is_empty() && !requested {
            unchanged += 1;
            resolver.ids.insert(address.clone(), live_id);
            matched.insert(address.clone(), item);
            continue;
        }
        let replacement = (action == Action::Replace).then(|| {
            let caused_by = forced
                .iter()
                .flat_map(|f| f.after.unknowns())
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
        wanted_of.insert(address.clone(), wanted);
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

    Pass { changes, matched, wanted: wanted_of, ids: resolver.ids, unchanged, errors, emr_rules }
}

/// What a reviewer should know about how a resource is created: a task fleet
/// EMR will not create with no capacity at all.
fn creation_notes(spec: &Spec, address: &Address) -> Vec<String> {
    let Some(cluster) = spec.emr_clusters.get(&address.name).filter(|_| address.kind == Kind::EmrCluster) else {
        return Vec::new();
    };
    let Some(task) = &cluster.task else { return Vec::new() };
    let why = "EMR wants at least one of a fleet's targets above 0";
    match crate::kinds::emr_cluster::creation_targets(FleetRole::Task, task, cluster.scaling.is_some()) {
        None => vec![format!("the task fleet is created once the spec gives it capacity: {why}")],
        Some((on_demand, spot)) if (on_demand, spot) != (task.on_demand.at_creation(), task.spot.at_creation()) => {
            let market = if spot > 0 { "Spot" } else { "On-Demand" };
            vec![format!(
                "the task fleet starts with 1 {market} unit ({why}); what owns its capacity sizes it from there"
            )]
        }
        Some(_) => Vec::new(),
    }
}

/// Where a unique name must be unique: the id of a group's VPC, of a user
/// profile's domain (a domain not created yet holds no live profile).
fn name_scope(wanted: &Desired) -> String {
    let scope = |id: &Id| id.as_known().unwrap_or_default().to_owned();
    match wanted {
        Desired::Group(g) => scope(&g.vpc),
        Desired::User(u) => scope(&u.domain),
        Desired::Subnet(s) => scope(&s.vpc),
        _ => String::new(),
    }
}

fn create_fields(kind: Kind, desired: &Attrs) -> Vec<FieldChange> {
    crate::kinds::fields_of(kind)
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
                effect: effect(field.mutability),
                diff: None,
            })
        })
        .collect()
}

fn effect(mutability: Mutability) -> Effect {
    match mutability {
        Mutability::Replace(why) => Effect::Replace(why),
        Mutability::InPlace => Effect::Update(Vec::new()),
    }
}

fn diff(kind: Kind, desired: &Attrs, live: &Attrs, in_place: &BTreeSet<&'static str>) -> Vec<FieldChange> {
    crate::kinds::fields_of(kind)
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
            let mutability = if in_place.contains(field.path) { Mutability::InPlace } else { field.mutability };
            Some(FieldChange {
                path: field.path.to_owned(),
                before: before.clone(),
                after: after.clone(),
                effect: effect(mutability),
                diff,
            })
        })
        .collect()
}

/// Capacity that managed scaling or a scheduler owns is observed, not fought;
/// a task fleet cannot be removed, only scaled to zero, and one can be added;
/// what the spec leaves out of a fleet (its name, resize keys) is not compared.
fn emr_adjust(
    wanted: &crate::kinds::emr_cluster::DesiredCluster,
    live: &converge_model::live::LiveEmrCluster,
    desired: &mut Attrs,
    live_attrs: &mut Attrs,
    in_place: &mut BTreeSet<&'static str>,
    notes: &mut Vec<String>,
) {
    match (wanted.fleet(FleetRole::Task), live.fleet(FleetRole::Task)) {
        (None, Some(_)) => {
            for part in FleetPart::RESIZABLE {
                let path = fleet_path(FleetRole::Task, part);
                desired.set(path, live_attrs.get(path).clone());
            }
            desired.set(fleet_path(FleetRole::Task, FleetPart::OnDemand), Value::Int(0));
            desired.set(fleet_path(FleetRole::Task, FleetPart::Spot), Value::Int(0));
            notes.push("EMR cannot remove a task fleet; converge scales it to 0".into());
        }
        (Some(_), None) => {
            for part in FleetPart::RESIZABLE {
                in_place.insert(fleet_path(FleetRole::Task, part));
            }
        }
        _ => {}
    }
    for live_fleet in &live.fleets {
        let role = live_fleet.role;
        let Some(fleet) = wanted.fleet(role) else { continue };
        // Volumes the spec does not name for an instance type are EMR's defaults, not drift.
        let default_ebs: Vec<&str> =
            fleet.instance_types.iter().filter(|t| t.ebs.is_empty()).map(|t| t.instance_type.as_str()).collect();
        if !default_ebs.is_empty() {
            live_attrs.set(fleet_path(role, FleetPart::InstanceTypes), attrs::live_types(live_fleet, &default_ebs));
        }
        if fleet.name.is_none() {
            let path = fleet_path(role, FleetPart::Name);
            desired.set(path, live_attrs.get(path).clone());
        }
        // Only the resize keys the spec writes are managed.
        let resize = fleet_path(role, FleetPart::Resize);
        let wanted_keys = match desired.get(resize) {
            Value::Map(keys) => keys.clone(),
            _ => BTreeMap::new(),
        };
        let projected: BTreeMap<String, Value> = match live_attrs.get(resize) {
            Value::Map(live_keys) => live_keys
                .iter()
                .filter(|(k, _)| wanted_keys.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            _ => BTreeMap::new(),
        };
        live_attrs.set(resize, if projected.is_empty() { Value::Null } else { Value::Map(projected) });
        if role == FleetRole::Master {
            continue;
        }
        let Some(capacity) = wanted.capacity.get(&role) else { continue };
        let on_demand = capacity.on_demand.wanted(live_fleet.target_on_demand);
        let spot = capacity.spot.wanted(live_fleet.target_spot);
        desired.set(fleet_path(role, FleetPart::OnDemand), Value::Int(on_demand));
        desired.set(fleet_path(role, FleetPart::Spot), Value::Int(spot));
    }
    let Some(scaling) = &wanted.run.scaling else { return };
    let max_on_demand = scaling.max_on_demand.unwrap_or(scaling.max);
    for (role, limit) in [(FleetRole::Core, scaling.max_core.unwrap_or(scaling.max)), (FleetRole::Task, scaling.max)] {
        let Some(fleet) = live.fleet(role) else { continue };
        let within = fleet.target_on_demand + fleet.target_spot <= limit && fleet.target_on_demand <= max_on_demand;
        if wanted.fleet(role).is_some() && within {
            desired.set(fleet_path(role, FleetPart::OnDemand), Value::Int(fleet.target_on_demand));
            desired.set(fleet_path(role, FleetPart::Spot), Value::Int(fleet.target_spot));
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
    let name = desired::aws_name(spec, address).unwrap_or_default();
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
    match address.kind {
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
            let cidr = |value: Option<&Value>| match value {
                Some(Value::Str(text)) => Ipv4Cidr::parse(text).ok(),
                _ => None,
            };
            let change = fields.iter().find(|f| f.path == crate::kinds::subnet::Field::Cidr.path());
            let overlap = match change {
                None => true,
                Some(f) => match (cidr(Some(&f.before)), cidr(Some(&f.after))) {
                    (Some(a), Some(b)) => a.overlaps(b),
                    _ => true,
                },
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
    }
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

/// SageMaker refuses a domain's network access change, and the removal of a
/// subnet, while Studio apps run (botocore `sagemaker UpdateDomainRequest.AppNetworkAccessType`).
fn check_domain_changes(
    changes: &BTreeMap<Address, ResourceChange>,
    matched: &BTreeMap<Address, LiveItem<'_>>,
    errors: &mut Vec<PlanError>,
) {
    for change in changes.values().filter(|c| c.action == Action::Update) {
        let Some(LiveItem::Domain(domain)) = matched.get(&change.address) else { continue };
        let running: Vec<String> =
            domain.running_apps().map(|app| format!("{} `{}`", app.app_type, app.name)).collect();
        if running.is_empty() {
            continue;
        }
        for field in &change.fields {
            let blocked = match (field.path.as_str(), &field.before, &field.after) {
                ("network_access", _, _) => true,
                ("subnets", Value::Set(before), Value::Set(after)) => before.iter().any(|s| !after.contains(s)),
                _ => false,
            };
            if blocked {
                errors.push(PlanError::AppsBlockDomainChange {
                    address: change.address.clone(),
                    field: field.path.clone(),
                    apps: running.clone(),
                });
            }
        }
    }
}

/// EC2 cannot delete a subnet that holds an EFS mount target: a home volume
/// SageMaker keeps after its domain is deleted with `Retain` holds its subnets.
fn check_subnet_deletes(
    spec: &Spec,
    live: &LiveState,
    changes: &BTreeMap<Address, ResourceChange>,
    matched: &BTreeMap<Address, LiveItem<'_>>,
    errors: &mut Vec<PlanError>,
) {
    let deleted = |change: &ResourceChange| matches!(change.action, Action::Delete | Action::Replace);
    // File systems that outlive this plan: those of no domain, and those of domains deleted here with Retain.
    let mut kept: Vec<(&str, Option<&str>, &[String])> = Vec::new();
    for fs in &live.file_systems {
        let domain = fs.domain_id.as_deref();
        let domain_change = domain.and_then(|id| {
            matched.iter().find(|(_, item)| matches!(item, LiveItem::Domain(d) if d.id == id)).map(|(a, _)| a)
        });
        let outlives = match domain_change {
            None => true,
            Some(address) => match (changes.get(address), matched.get(address)) {
                (Some(change), Some(LiveItem::Domain(live_domain))) if deleted(change) => {
                    match spec.sagemaker_domains.get(&address.name) {
                        Some(d) => d.home_efs_on_delete == converge_model::HomeEfsOnDelete::Retain,
                        None => live_domain.retains_home_efs(),
                    }
                }
                _ => true,
            },
        };
        if outlives {
            kept.push((&fs.id, domain, &fs.mount_target_subnet_ids));
        }
    }
    for change in changes.values().filter(|c| c.address.kind == Kind::Subnet && deleted(c)) {
        let Some(subnet) = &change.live_id else { continue };
        // A subnet replaced create-before-destroy still goes away; so does one deleted.
        if let Some((fs, domain, _)) = kept.iter().find(|(_, _, subnets)| subnets.contains(subnet)) {
            // A domain that stays keeps its mount targets: its own subnets are only a problem once it is gone.
            let domain_stays = domain.is_some_and(|id| {
                matched.iter().any(|(a, item)| {
                    matches!(item, LiveItem::Domain(d) if d.id == id) && changes.get(a).is_none_or(|c| !deleted(c))
                })
            });
            if domain_stays {
                continue;
            }
            errors.push(PlanError::SubnetHoldsFileSystem {
                address: change.address.clone(),
                file_system: (*fs).to_owned(),
                domain: domain.map(str::to_owned),
            });
        }
    }
}
