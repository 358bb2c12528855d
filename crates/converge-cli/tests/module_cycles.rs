//! No import cycles between the modules of a crate: a module that uses
//! another (`crate::x::…`, `super::x::…`) must not be used back by it, directly
//! or through others. A parent and its own submodules are one unit (a child
//! using `super::Context` is how Rust modules are built), so only modules
//! that are not each other's ancestors count. Reading each crate bottom-up
//! then always works: the planner's types before the planner, the sandbox's
//! context before the server and its handlers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path below its crate's root: `["operations", "ec2"]`.
type ModulePath = Vec<String>;

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/lib.rs` → `[]`, `src/plan.rs` → `["plan"]`, `src/operations/mod.rs` → `["operations"]`.
fn module_of(src: &Path, file: &Path) -> ModulePath {
    let relative = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "lib" | "main" | "mod") {
        parts.push(stem.to_owned());
    }
    parts
}

/// The modules a file's code names (`crate::a::b::Item`, `super::c::Item`),
/// as the longest known module path each reference starts with.
fn references(module: &ModulePath, text: &str, known: &BTreeSet<ModulePath>) -> BTreeSet<ModulePath> {
    let mut found = BTreeSet::new();
    // Code only: comments and doc comments may name anything.
    let code: String =
        text.lines().map(|line| line.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n");
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '{'))
        .filter(|w| w.starts_with("crate::") || w.starts_with("super::"))
        .collect();
    for word in words {
        let mut segments: Vec<&str> = word.split("::").filter(|s| !s.is_empty() && *s != "{").collect();
        let mut base: ModulePath = if segments.first() == Some(&"crate") {
            segments.remove(0);
            Vec::new()
        } else {
            let mut base = module.clone();
            while segments.first() == Some(&"super") {
                segments.remove(0);
                base.pop();
            }
            base
        };
        let mut target = base.clone();
        for segment in segments {
            base.push(segment.trim_end_matches('{').to_owned());
            if known.contains(&base) {
                target = base.clone();
            } else {
                break;
            }
        }
        found.insert(target);
    }
    found
}

fn is_ancestor(a: &ModulePath, b: &ModulePath) -> bool {
    a.len() <= b.len() && b[..a.len()] == a[..]
}

/// The import graph of one crate's sources: module → modules it names.
fn graph_of(files: &BTreeMap<ModulePath, String>) -> BTreeMap<ModulePath, BTreeSet<ModulePath>> {
    let known: BTreeSet<ModulePath> = files.keys().cloned().collect();
    files
        .iter()
        .map(|(module, text)| {
            let targets = references(module, text, &known)
                .into_iter()
                .filter(|target| !is_ancestor(target, module) && !is_ancestor(module, target))
                .collect();
            (module.clone(), targets)
        })
        .collect()
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(graph: &BTreeMap<ModulePath, BTreeSet<ModulePath>>) -> Vec<Vec<ModulePath>> {
    struct Search<'a> {
        graph: &'a BTreeMap<ModulePath, BTreeSet<ModulePath>>,
        index: BTreeMap<&'a ModulePath, usize>,
        low: BTreeMap<&'a ModulePath, usize>,
        stack: Vec<&'a ModulePath>,
        on_stack: BTreeSet<&'a ModulePath>,
        found: Vec<Vec<ModulePath>>,
    }
    impl<'a> Search<'a> {
        fn visit(&mut self, node: &'a ModulePath) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            let graph = self.graph;
            for next in graph.get(node).into_iter().flatten() {
                // A reference into a submodule counts as one to its top-most known module.
                let Some((next, _)) = graph.get_key_value(next) else { continue };
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[next].min(self.low[node]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.index[next].min(self.low[node]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    component.push(top.clone());
                    if top == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut search = Search {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !search.index.contains_key(node) {
            search.visit(node);
        }
    }
    search.found
}

fn shown(component: &[ModulePath]) -> String {
    component
        .iter()
        .map(|m| if m.is_empty() { "(root)".to_owned() } else { m.join("::") })
        .collect::<Vec<_>>()
        .join(" ↔ ")
}

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let mut found = Vec::new();
    let mut crates: Vec<PathBuf> =
        std::fs::read_dir(crates_dir()).expect("crates/").flatten().map(|e| e.path().join("src")).collect();
    crates.sort();
    let mut checked = 0;
    for src in crates.into_iter().filter(|src| src.is_dir()) {
        let mut paths = Vec::new();
        rust_files(&src, &mut paths);
        let files: BTreeMap<ModulePath, String> = paths
            .iter()
            .filter(|p| !p.components().any(|c| c.as_os_str() == "bin"))
            .map(|p| (module_of(&src, p), std::fs::read_to_string(p).unwrap_or_default()))
            .collect();
        checked += files.len();
        let graph = graph_of(&files);
        let name = src.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        for component in cycles(&graph) {
            // The edges inside the cycle, to say where to cut it.
            let inside: BTreeSet<&ModulePath> = component.iter().collect();
            let edges: Vec<String> = component
                .iter()
                .flat_map(|from| {
                    graph[from]
                        .iter()
                        .filter(|to| inside.contains(to))
                        .map(move |to| format!("{} → {}", from.join("::"), to.join("::")))
                })
                .collect();
            found.push(format!("{name}: {}\n  {}", shown(&component), edges.join("\n  ")));
        }
    }
    assert!(checked > 50, "the sources were found ({checked} files)");
    assert!(found.is_empty(), "import cycles between modules:\n{}", found.join("\n"));
}

/// The check finds what it looks for: two siblings naming each other, through
/// `crate::` and `super::`, and not a child naming its parent.
#[test]
fn the_cycle_check_sees_a_cycle() {
    let files: BTreeMap<ModulePath, String> = [
        (vec![], "mod plan; mod steps; mod operations;".to_owned()),
        (vec!["plan".to_owned()], "use crate::steps::order; use crate::operations::build;".to_owned()),
        (vec!["steps".to_owned()], "use crate::plan::PlanError;".to_owned()),
        (vec!["operations".to_owned()], "mod ec2; pub fn build() {}".to_owned()),
        (
            vec!["operations".to_owned(), "ec2".to_owned()],
            "use super::Context; use super::super::value::Value;".to_owned(),
        ),
        (vec!["value".to_owned()], "pub struct Value;".to_owned()),
    ]
    .into_iter()
    .collect();
    let found = cycles(&graph_of(&files));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(shown(&found[0]), "plan ↔ steps");
}
