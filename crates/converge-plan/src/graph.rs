//! The dependency graph of a spec: one node per resource, one edge per
//! reference, and a deterministic topological order.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use converge_model::{Address, RefTarget, Spec, Strength};
use petgraph::Direction;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};

/// An edge: `from` refers to `to` through `field`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    pub field: String,
    pub strength: Strength,
}

/// The resources of a spec and their references.
#[derive(Debug)]
pub struct DependencyGraph {
    graph: StableDiGraph<Address, Dependency>,
    nodes: BTreeMap<Address, NodeIndex>,
}

/// Resources that depend on each other in a loop, in reference order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cycle {
    pub path: Vec<Address>,
}

impl DependencyGraph {
    /// Edges point from a resource to what it refers to; only references to
    /// resources of the spec become edges (literal ids are outside the graph).
    pub fn from_spec(spec: &Spec) -> Self {
        let mut graph = StableDiGraph::new();
        let mut nodes = BTreeMap::new();
        for address in spec.addresses() {
            let index = graph.add_node(address.clone());
            nodes.insert(address, index);
        }
        for reference in spec.references() {
            if let RefTarget::Spec(to) = reference.to.target(reference.expected)
                && let (Some(&from), Some(&to)) = (nodes.get(&reference.from), nodes.get(&to))
            {
                graph.add_edge(from, to, Dependency { field: reference.field.clone(), strength: reference.strength });
            }
        }
        DependencyGraph { graph, nodes }
    }

    pub fn addresses(&self) -> impl Iterator<Item = &Address> {
        self.nodes.keys()
    }

    /// What `address` refers to, with the field, in address order.
    pub fn dependencies(&self, address: &Address) -> Vec<(&Address, &Dependency)> {
        self.neighbours(address, Direction::Outgoing)
    }

    /// What refers to `address`, with the field, in address order.
    pub fn dependents(&self, address: &Address) -> Vec<(&Address, &Dependency)> {
        self.neighbours(address, Direction::Incoming)
    }

    fn neighbours(&self, address: &Address, direction: Direction) -> Vec<(&Address, &Dependency)> {
        let Some(&index) = self.nodes.get(address) else { return Vec::new() };
        let mut out: Vec<(&Address, &Dependency)> = self
            .graph
            .edges_directed(index, direction)
            .map(|edge| {
                let other = if direction == Direction::Outgoing {
                    petgraph::visit::EdgeRef::target(&edge)
                } else {
                    petgraph::visit::EdgeRef::source(&edge)
                };
                (&self.graph[other], edge.weight())
            })
            .collect();
        out.sort_by(|a, b| (a.0, &a.1.field).cmp(&(b.0, &b.1.field)));
        out
    }

    /// Dependencies first, ties broken by address. Security group rule
    /// references do not order anything (rules are authorised after every
    /// group exists). A cycle of hard references is an error with its path.
    pub fn order(&self) -> Result<Vec<Address>, Cycle> {
        let mut remaining: BTreeMap<&Address, usize> = BTreeMap::new();
        for (address, &index) in &self.nodes {
            let hard = self
                .graph
                .edges_directed(index, Direction::Outgoing)
                .filter(|e| e.weight().strength == Strength::Hard)
                .map(|e| petgraph::visit::EdgeRef::target(&e))
                .collect::<BTreeSet<_>>()
                .len();
            remaining.insert(address, hard);
        }
        let mut ready: BTreeSet<&Address> = remaining.iter().filter(|(_, n)| **n == 0).map(|(a, _)| *a).collect();
        let mut order = Vec::with_capacity(self.nodes.len());
        while let Some(address) = ready.pop_first() {
            order.push(address.clone());
            let index = self.nodes[address];
            let dependents: BTreeSet<NodeIndex> = self
                .graph
                .edges_directed(index, Direction::Incoming)
                .filter(|e| e.weight().strength == Strength::Hard)
                .map(|e| petgraph::visit::EdgeRef::source(&e))
                .collect();
            for dependent in dependents {
                let dependent = &self.graph[dependent];
                if let Some(count) = remaining.get_mut(dependent) {
                    *count -= 1;
                    if *count == 0 {
                        ready.insert(dependent);
                    }
                }
            }
        }
        if order.len() == self.nodes.len() {
            return Ok(order);
        }
        let done: BTreeSet<&Address> = order.iter().collect();
        let start = self.nodes.keys().find(|a| !done.contains(a)).expect("a node is left in the cycle");
        Err(Cycle { path: self.cycle_from(start, &done) })
    }

    /// Walks hard edges among the unordered nodes until one repeats.
    fn cycle_from(&self, start: &Address, done: &BTreeSet<&Address>) -> Vec<Address> {
        let mut path: Vec<Address> = vec![start.clone()];
        loop {
            let current = path.last().expect("path is not empty");
            let next = self
                .dependencies(current)
                .into_iter()
                .find(|(to, d)| d.strength == Strength::Hard && !done.contains(to))
                .map(|(to, _)| to.clone());
            let Some(next) = next else { return path };
            if let Some(position) = path.iter().position(|a| *a == next) {
                return path.split_off(position);
            }
            path.push(next);
        }
    }

    /// Graphviz DOT: `converge graph --format dot`.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph converge {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n");
        for address in self.nodes.keys() {
            let _ = writeln!(out, "  \"{address}\";");
        }
        for (from, to, dependency) in self.edges() {
            let style = if dependency.strength == Strength::RulePeer { ", style=dashed" } else { "" };
            let _ = writeln!(out, "  \"{from}\" -> \"{to}\" [label=\"{}\"{style}];", dependency.field);
        }
        out.push_str("}\n");
        out
    }

    /// Mermaid flowchart: `converge graph --format mermaid`.
    pub fn to_mermaid(&self) -> String {
        let id = |a: &Address| a.to_string().replace(['.', '-'], "_");
        let mut out = String::from("flowchart LR\n");
        for address in self.nodes.keys() {
            let _ = writeln!(out, "  {}[\"{address}\"]", id(address));
        }
        for (from, to, dependency) in self.edges() {
            let arrow = if dependency.strength == Strength::RulePeer { "-.->" } else { "-->" };
            let _ = writeln!(out, "  {} {arrow}|\"{}\"| {}", id(from), dependency.field, id(to));
        }
        out
    }

    fn edges(&self) -> Vec<(&Address, &Address, &Dependency)> {
        let mut edges: Vec<_> = self
            .graph
            .edge_indices()
            .filter_map(|e| {
                let (from, to) = self.graph.edge_endpoints(e)?;
                Some((&self.graph[from], &self.graph[to], &self.graph[e]))
            })
            .collect();
        edges.sort_by(|a, b| (a.0, a.1, &a.2.field).cmp(&(b.0, b.1, &b.2.field)));
        edges
    }
}
