//! The execution order: every change becomes one or more steps, ordered so
//! that nothing is created before what it needs nor destroyed while in use.

use std::collections::{BTreeMap, BTreeSet};

use converge_model::{Address, Kind, Spec, Strength};

use crate::fields::Effect;
use crate::graph::DependencyGraph;
use crate::live_index::LiveItem;
use crate::plan::{Action, ReplaceOrder, ResourceChange, Step, StepKind};

type Node = (Address, StepKind);

const BUILD: [StepKind; 3] = [StepKind::Create, StepKind::CreateReplacement, StepKind::Update];
const DESTROY: [StepKind; 2] = [StepKind::Delete, StepKind::DestroyReplaced];
const RELEASE: [StepKind; 3] = [StepKind::Update, StepKind::Delete, StepKind::DestroyReplaced];

/// Orders the steps; on a loop returns the steps left unordered.
pub(crate) fn order(
    spec: &Spec,
    graph: &DependencyGraph,
    changes: &BTreeMap<Address, ResourceChange>,
    matched: &BTreeMap<Address, LiveItem<'_>>,
) -> Result<Vec<Step>, Vec<String>> {
    let mut nodes: BTreeSet<Node> = BTreeSet::new();
    let mut edges: BTreeSet<(Node, Node)> = BTreeSet::new();
    for (address, change) in changes {
        let kinds: &[StepKind] = match change.action {
            Action::Create => &[StepKind::Create],
            Action::Update => &[StepKind::Update],
            Action::Replace => &[StepKind::CreateReplacement, StepKind::DestroyReplaced],
            Action::Delete => &[StepKind::Delete],
        };
        nodes.extend(kinds.iter().map(|k| (address.clone(), *k)));
        if let Some(replacement) = &change.replacement {
            let (first, second) = match replacement.order {
                ReplaceOrder::CreateBeforeDestroy => (StepKind::CreateReplacement, StepKind::DestroyReplaced),
                ReplaceOrder::DestroyBeforeCreate => (StepKind::DestroyReplaced, StepKind::CreateReplacement),
            };
            edges.insert(((address.clone(), first), (address.clone(), second)));
        }
        // A group whose rules name other groups revokes them before anything is
        // deleted: groups that name each other could not be deleted otherwise.
        let destroyed = matches!(change.action, Action::Delete | Action::Replace);
        if destroyed
            && matched.get(address).is_some_and(|item| item.kind() == Kind::SecurityGroup && !item.uses().is_empty())
        {
            nodes.insert((address.clone(), StepKind::RevokeRules));
            for kind in DESTROY {
                edges.insert(((address.clone(), StepKind::RevokeRules), (address.clone(), kind)));
            }
            // The old group keeps its rules until its replacement exists: no window without access.
            if change.replacement.as_ref().is_some_and(|r| r.order == ReplaceOrder::CreateBeforeDestroy) {
                edges
                    .insert(((address.clone(), StepKind::CreateReplacement), (address.clone(), StepKind::RevokeRules)));
            }
        }
        let created = matches!(change.action, Action::Create | Action::Replace);
        if address.kind == Kind::SecurityGroup && created && has_group_peers(graph, address) {
            nodes.insert((address.clone(), StepKind::AuthorizeRules));
            for kind in [StepKind::Create, StepKind::CreateReplacement] {
                edges.insert(((address.clone(), kind), (address.clone(), StepKind::AuthorizeRules)));
            }
        }
    }
    let present = |nodes: &BTreeSet<Node>, address: &Address, kinds: &[StepKind]| -> Vec<Node> {
        kinds.iter().map(|k| (address.clone(), *k)).filter(|n| nodes.contains(n)).collect()
    };

    // What the spec needs exists before what needs it.
    for address in graph.addresses() {
        for (dependency, edge) in graph.dependencies(address) {
            if dependency == address {
                continue;
            }
            let targets = match edge.strength {
                Strength::Hard => present(&nodes, address, &BUILD),
                Strength::RulePeer => present(&nodes, address, &[StepKind::AuthorizeRules, StepKind::Update]),
            };
            for before in present(&nodes, dependency, &BUILD) {
                for after in &targets {
                    edges.insert((before.clone(), after.clone()));
                }
            }
        }
    }
    // What AWS has in use now is released before it is destroyed.
    let by_id: BTreeMap<String, &Address> =
        matched.iter().flat_map(|(a, item)| item.aliases().into_iter().map(move |id| (id, a))).collect();
    for (user, item) in matched {
        for used in item.uses() {
            let Some(used) = by_id.get(&used) else { continue };
            if *used == user {
                continue;
            }
            let releases = if used.kind == Kind::IamRole {
                // IAM never refuses to delete a role in use; only what needs the
                // role to go away (EMR terminating) must go first.
                present(&nodes, user, &DESTROY)
            } else if nodes.contains(&(user.clone(), StepKind::RevokeRules)) {
                present(&nodes, user, &[StepKind::Update, StepKind::RevokeRules])
            } else {
                present(&nodes, user, &RELEASE)
            };
            // What still runs in the group (a cluster, a domain) keeps its rules until it lets go.
            let mut destroys = present(&nodes, used, &DESTROY);
            if item.kind() != Kind::SecurityGroup {
                destroys.extend(present(&nodes, used, &[StepKind::RevokeRules]));
            }
            for destroy in destroys {
                for release in &releases {
                    let release = release.clone();
                    edges.insert((release, destroy.clone()));
                }
            }
        }
    }

    let mut incoming: BTreeMap<&Node, usize> = nodes.iter().map(|n| (n, 0)).collect();
    let mut outgoing: BTreeMap<&Node, Vec<&Node>> = BTreeMap::new();
    for (before, after) in &edges {
        if let (Some(before), Some(after)) = (nodes.get(before), nodes.get(after)) {
            *incoming.get_mut(after).expect("node exists") += 1;
            outgoing.entry(before).or_default().push(after);
        }
    }
    let mut ready: BTreeSet<&Node> = incoming.iter().filter(|(_, n)| **n == 0).map(|(node, _)| *node).collect();
    let mut ordered = Vec::with_capacity(nodes.len());
    while let Some(node) = ready.pop_first() {
        ordered.push(node.clone());
        for next in outgoing.get(node).into_iter().flatten() {
            let count = incoming.get_mut(next).expect("node exists");
            *count -= 1;
            if *count == 0 {
                ready.insert(next);
            }
        }
    }
    if ordered.len() != nodes.len() {
        let done: BTreeSet<&Node> = ordered.iter().collect();
        return Err(nodes.iter().filter(|n| !done.contains(n)).map(|(a, k)| format!("{} {a}", k.as_str())).collect());
    }
    Ok(ordered
        .into_iter()
        .map(|(address, kind)| {
            let operations = operations(spec, &changes[&address], kind, matched.get(&address));
            Step { address, kind, operations }
        })
        .collect())
}

fn has_group_peers(graph: &DependencyGraph, address: &Address) -> bool {
    graph.dependencies(address).iter().any(|(_, edge)| edge.strength == Strength::RulePeer)
}

fn operations(spec: &Spec, change: &ResourceChange, kind: StepKind, live: Option<&LiveItem<'_>>) -> Vec<String> {
    let address = &change.address;
    let ops: Vec<&str> = match kind {
        StepKind::Create | StepKind::CreateReplacement => create_operations(spec, address),
        StepKind::AuthorizeRules => vec!["AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress"],
        StepKind::RevokeRules => vec!["RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress"],
        StepKind::Update => {
            let mut ops: Vec<&str> = Vec::new();
            for field in &change.fields {
                if let Effect::Update(op) = field.effect
                    && !ops.contains(&op)
                {
                    ops.push(op);
                }
            }
            ops
        }
        StepKind::Delete | StepKind::DestroyReplaced => {
            let mut ops = Vec::new();
            if live.is_some_and(LiveItem::termination_protected) {
                ops.push("SetTerminationProtection (off)");
            }
            ops.extend(delete_operations(address.kind));
            ops
        }
    };
    ops.into_iter().map(str::to_owned).collect()
}

fn create_operations(spec: &Spec, address: &Address) -> Vec<&'static str> {
    let name = address.name.as_str();
    match address.kind {
        Kind::Vpc => vec![],
        Kind::Subnet => vec!["CreateSubnet"],
        Kind::SecurityGroup => vec![
            "CreateSecurityGroup",
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress / RevokeSecurityGroupEgress",
        ],
        Kind::IamRole => {
            let mut ops = vec!["CreateRole"];
            if let Some(role) = spec.iam_roles.get(name) {
                if !role.managed_policies.is_empty() {
                    ops.push("AttachRolePolicy");
                }
                if !role.inline_policies.is_empty() {
                    ops.push("PutRolePolicy");
                }
                if role.instance_profile {
                    ops.extend(["CreateInstanceProfile", "AddRoleToInstanceProfile"]);
                }
            }
            ops
        }
        Kind::SagemakerDomain => vec!["CreateDomain"],
        Kind::SagemakerUser => vec!["CreateUserProfile"],
        Kind::CatalogPortfolio => {
            let principals = spec.catalog_portfolios.get(name).is_some_and(|p| !p.principals.is_empty());
            if principals {
                vec!["CreatePortfolio", "AssociatePrincipalWithPortfolio"]
            } else {
                vec!["CreatePortfolio"]
            }
        }
        Kind::CatalogProduct => {
            let mut ops = vec!["PutObject (template)", "CreateProduct", "AssociateProductWithPortfolio"];
            if spec.catalog_products.get(name).is_some_and(|p| p.launch_role.is_some()) {
                ops.push("CreateConstraint (LAUNCH)");
            }
            ops
        }
        Kind::EmrCluster => vec!["RunJobFlow"],
    }
}

fn delete_operations(kind: Kind) -> Vec<&'static str> {
    match kind {
        Kind::Vpc => vec![],
        Kind::Subnet => vec!["DeleteSubnet"],
        Kind::SecurityGroup => vec!["DeleteSecurityGroup"],
        Kind::IamRole => vec![
            "RemoveRoleFromInstanceProfile",
            "DeleteInstanceProfile",
            "DetachRolePolicy",
            "DeleteRolePolicy",
            "DeleteRole",
        ],
        Kind::SagemakerDomain => vec!["DeleteDomain"],
        Kind::SagemakerUser => vec!["DeleteUserProfile"],
        Kind::CatalogPortfolio => vec!["DisassociatePrincipalFromPortfolio", "DeletePortfolio"],
        Kind::CatalogProduct => vec!["DeleteConstraint", "DisassociateProductFromPortfolio", "DeleteProduct"],
        Kind::EmrCluster => vec!["TerminateJobFlows"],
    }
}
