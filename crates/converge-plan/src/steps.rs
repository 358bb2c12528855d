//! The step graph: every operation becomes a step; steps wait for what their
//! resource needs to exist and for what uses their resource to let go; the
//! display order is a topological order with ties broken by address, phase
//! and position, so the same plan always reads the same.

use std::collections::{BTreeMap, BTreeSet};

use converge_model::{Address, Kind, Strength};
use converge_ops::{Id, Phase, Step, StepGraph, StepId};

use crate::change::{ReplaceOrder, ResourceChange};
use crate::error::PlanError;
use crate::graph::DependencyGraph;
use crate::live_index::LiveItem;
use crate::operations::{Planned, ResourceOps};

/// What a resource's dependents wait for before they are built.
const BUILD: [Phase; 4] = [Phase::Create, Phase::CreateReplacement, Phase::AuthorizeRules, Phase::Update];
/// The same, for a dependency whose updates do not change what its
/// dependents can do (a subnet's tags, a portfolio's name).
const BUILT: [Phase; 3] = [Phase::Create, Phase::CreateReplacement, Phase::AuthorizeRules];
/// What a rule naming a group waits for: the group existing.
const EXISTS: [Phase; 2] = [Phase::Create, Phase::CreateReplacement];
const DESTROY: [Phase; 2] = [Phase::Delete, Phase::DestroyReplaced];
const RELEASE: [Phase; 3] = [Phase::Update, Phase::Delete, Phase::DestroyReplaced];

struct Node {
    address: Address,
    phase: Phase,
    planned: Planned,
}

/// The steps of one resource in one phase: the first ones (nothing of the
/// group before them) and the last ones (nothing of the group after them).
#[derive(Default)]
struct Group {
    entries: Vec<usize>,
    exits: Vec<usize>,
}

/// The operations of the plan as nodes, with the phase groups they form.
struct Builder {
    nodes: Vec<Node>,
    groups: BTreeMap<Address, BTreeMap<Phase, Group>>,
    edges: BTreeSet<(usize, usize)>,
}

impl Builder {
    fn group(&self, address: &Address, phase: Phase) -> Option<&Group> {
        self.groups.get(address)?.get(&phase)
    }

    fn has(&self, address: &Address, phase: Phase) -> bool {
        self.group(address, phase).is_some()
    }

    /// Every step of `from`'s groups before every step of `to`'s: edges from
    /// the groups' last steps to their first.
    fn connect(&mut self, from: (&Address, &[Phase]), to: (&Address, &[Phase])) {
        let ends = |address: &Address, phases: &[Phase], exits: bool| -> Vec<usize> {
            phases
                .iter()
                .filter_map(|p| self.group(address, *p))
                .flat_map(|g| if exits { g.exits.clone() } else { g.entries.clone() })
                .collect()
        };
        let exits = ends(from.0, from.1, true);
        let entries = ends(to.0, to.1, false);
        for &exit in &exits {
            for &entry in &entries {
                if exit != entry {
                    self.edges.insert((exit, entry));
                }
            }
        }
    }
}

/// Orders the operations of every change into a numbered, checked step graph.
pub(crate) fn order(
    graph: &DependencyGraph,
    changes: &BTreeMap<Address, ResourceChange>,
    matched: &BTreeMap<Address, LiveItem<'_>>,
    built: BTreeMap<Address, ResourceOps>,
) -> Result<StepGraph, Vec<PlanError>> {
    let mut b = Builder { nodes: Vec::new(), groups: BTreeMap::new(), edges: BTreeSet::new() };
    for (address, ops) in built {
        let first = b.nodes.len();
        let ops = ops.into_vec();
        for (local, planned) in ops.iter().enumerate() {
            let node = first + local;
            let inside = |other: usize| ops[other].phase == planned.phase;
            let group = b.groups.entry(address.clone()).or_default().entry(planned.phase).or_default();
            if !planned.after.iter().any(|&before| inside(before)) {
                group.entries.push(node);
            }
            if !ops.iter().any(|later| later.phase == planned.phase && later.after.contains(&local)) {
                group.exits.push(node);
            }
            for &before in &planned.after {
                b.edges.insert((first + before, node));
            }
        }
        for planned in ops {
            b.nodes.push(Node { address: address.clone(), phase: planned.phase, planned });
        }
    }

    for (address, change) in changes {
        if let Some(replacement) = &change.replacement {
            match replacement.order {
                ReplaceOrder::CreateBeforeDestroy => {
                    // The old resource (and a group's rules naming others) stays until the new one is whole.
                    let new = [Phase::CreateReplacement, Phase::AuthorizeRules];
                    b.connect((address, &new), (address, &[Phase::RevokeRules, Phase::DestroyReplaced]));
                }
                ReplaceOrder::DestroyBeforeCreate => {
                    b.connect((address, &[Phase::DestroyReplaced]), (address, &[Phase::CreateReplacement]));
                }
            }
        }
    }

    // What the spec needs exists before what needs it.
    for address in graph.addresses() {
        for (dependency, edge) in graph.dependencies(address) {
            if dependency == address {
                continue;
            }
            match edge.strength {
                Strength::Hard => {
                    // A role's policies and trust, a group's rules: the dependent may need them as they will be.
                    let gates = matches!(dependency.kind, Kind::IamRole | Kind::SecurityGroup);
                    b.connect((dependency, if gates { &BUILD } else { &BUILT }), (address, &BUILD));
                }
                Strength::RulePeer => {
                    b.connect((dependency, &EXISTS), (address, &[Phase::AuthorizeRules, Phase::Update]));
                }
            }
        }
    }

    // What AWS has in use now is released before it is destroyed.
    let by_id: BTreeMap<String, &Address> =
        matched.iter().flat_map(|(a, item)| item.aliases().into_iter().map(move |id| (id, a))).collect();
    for (user, item) in matched {
        for used in item.uses() {
            let Some(&used) = by_id.get(&used) else { continue };
            if used == user {
                continue;
            }
            let releases: &[Phase] = if used.kind == Kind::IamRole {
                // IAM never refuses to delete a role in use; only what needs the
                // role to go away (EMR terminating) must go first.
                &DESTROY
            } else if b.has(user, Phase::RevokeRules) {
                &[Phase::Update, Phase::RevokeRules]
            } else {
                &RELEASE
            };
            // What still runs in the group (a cluster, a domain) keeps its rules until it lets go.
            let destroys: &[Phase] = if item.kind() == Kind::SecurityGroup {
                &DESTROY
            } else {
                &[Phase::Delete, Phase::DestroyReplaced, Phase::RevokeRules]
            };
            b.connect((user, releases), (used, destroys));
        }
    }

    let ordered = topological(&b)?;
    let position: BTreeMap<usize, StepId> =
        ordered.iter().enumerate().map(|(i, node)| (*node, StepId(u32::try_from(i + 1).unwrap_or(u32::MAX)))).collect();
    let mut predecessors: BTreeMap<usize, BTreeSet<StepId>> = BTreeMap::new();
    for &(before, after) in &b.edges {
        predecessors.entry(after).or_default().insert(position[&before]);
    }
    // The step that creates each new resource (its id is the output others use).
    let producers: BTreeMap<Address, StepId> = ordered
        .iter()
        .filter(|n| EXISTS.contains(&b.nodes[**n].phase) && b.nodes[**n].planned.operation.outputs_id())
        .map(|n| (b.nodes[*n].address.clone(), position[n]))
        .collect();
    let mut nodes: Vec<Option<Node>> = b.nodes.into_iter().map(Some).collect();
    let mut steps = Vec::with_capacity(ordered.len());
    let mut unproduced = None;
    for index in ordered {
        let Some(node) = nodes[index].take() else { continue };
        let mut operation = node.planned.operation;
        operation.ids_mut(&mut |id| {
            if let Id::Output { output_of, address } = id {
                match producers.get(address) {
                    Some(step) => *output_of = *step,
                    None => unproduced = Some(address.clone()),
                }
            }
        });
        steps.push(Step {
            id: position[&index],
            address: node.address,
            phase: node.phase,
            operation,
            after: predecessors.remove(&index).map(|s| s.into_iter().collect()).unwrap_or_default(),
        });
    }
    if let Some(address) = unproduced {
        return Err(vec![PlanError::Internal(format!("a step uses the id of `{address}`, which no step creates"))]);
    }
    StepGraph::new(steps).map_err(|error| vec![PlanError::Internal(error.to_string())])
}

/// Kahn's algorithm; ready steps go in (address, phase, position) order.
fn topological(b: &Builder) -> Result<Vec<usize>, Vec<PlanError>> {
    let key = |node: usize| (&b.nodes[node].address, b.nodes[node].phase, node);
    let mut incoming = vec![0usize; b.nodes.len()];
    let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); b.nodes.len()];
    for &(before, after) in &b.edges {
        incoming[after] += 1;
        outgoing[before].push(after);
    }
    let mut ready: BTreeSet<(&Address, Phase, usize)> =
        (0..b.nodes.len()).filter(|n| incoming[*n] == 0).map(key).collect();
    let mut ordered = Vec::with_capacity(b.nodes.len());
    while let Some((_, _, node)) = ready.pop_first() {
        ordered.push(node);
        for &next in &outgoing[node] {
            incoming[next] -= 1;
            if incoming[next] == 0 {
                ready.insert(key(next));
            }
        }
    }
    if ordered.len() == b.nodes.len() {
        return Ok(ordered);
    }
    let done: BTreeSet<usize> = ordered.into_iter().collect();
    let mut left: Vec<String> = (0..b.nodes.len())
        .filter(|n| !done.contains(n))
        .map(|n| format!("{} {}", b.nodes[n].phase.as_str(), b.nodes[n].address))
        .collect();
    left.dedup();
    Err(vec![PlanError::Cycle { path: left }])
}
