//! Parses and checks a converge spec.
//!
//! [`check`] turns the text of a spec into a typed [`converge_model::Spec`]
//! plus every [`Diagnostic`] it found, all in one run: TOML syntax, the
//! structural pass against the spec language ([`shape`]), then the platform
//! rules ([`rules`]: references, cycles, networks, EMR limits, Studio↔EMR
//! wiring). Each diagnostic has a stable [`codes::Code`], a span, and a hint.
//! [`schema::json_schema`] describes the same language for editors.
//!
//! **Architecture invariant:** this crate never touches the file system, the
//! clock, the environment or the network. Documents the spec names (policy
//! JSON, CloudFormation templates) come in through a [`FileLoader`] the caller
//! provides. No tokio, AWS SDK, HTTP or CLI crates.
//!
//! **Architecture invariant:** any input, however broken, produces
//! diagnostics, never a panic (a property test feeds it random TOML).

mod check;
pub mod codes;
mod diagnostic;
mod documents;
mod rules;
pub mod schema;
pub mod shape;
mod source;
mod suggest;

use std::collections::{BTreeMap, BTreeSet};

use converge_model::{Address, Kind, Spec};
use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

pub use check::SourceMap;
pub use codes::{Code, Severity};
pub use diagnostic::{Diagnostic, Location, count};
pub use source::{SourceFile, Span};

/// Reads the documents a spec names, by the path written in the spec
/// (relative to the spec's directory).
pub trait FileLoader {
    /// The file's text, or a short reason it cannot be read (`No such file or directory`).
    fn load(&self, relative_path: &str) -> Result<String, String>;
}

impl<F: Fn(&str) -> Result<String, String>> FileLoader for F {
    fn load(&self, relative_path: &str) -> Result<String, String> {
        self(relative_path)
    }
}

/// A loader for specs that name no files, or for tests.
pub struct NoFiles;

impl FileLoader for NoFiles {
    fn load(&self, _relative_path: &str) -> Result<String, String> {
        Err("no files can be loaded here".into())
    }
}

/// The outcome of checking a spec.
#[derive(Debug)]
pub struct Checked {
    /// The typed spec; `None` when there are errors.
    pub spec: Option<Spec>,
    /// The typed spec whenever it can be read, even when platform rules
    /// ([`codes::PLATFORM`]) found errors in what it describes; `None` when
    /// anything else is wrong. Only `converge import` uses it, to plan a
    /// miswired platform as it is: converge never applies such a spec.
    pub model: Option<Spec>,
    /// Errors and warnings, ordered by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// The spec (index 0) and the documents it names, for rendering.
    pub sources: Vec<SourceFile>,
}

impl Checked {
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }

    /// Every diagnostic as plain text, separated by blank lines.
    pub fn render(&self) -> String {
        let rendered: Vec<String> = self.diagnostics.iter().map(|d| d.render(&self.sources)).collect();
        rendered.join("\n")
    }

    /// The `--format json` document (schema version 1).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "version": 1,
            "file": self.sources.first().map(|s| s.name.clone()),
            "valid": self.error_count() == 0,
            "errors": self.error_count(),
            "warnings": self.warning_count(),
            "diagnostics": self.diagnostics.iter().map(|d| d.to_json(&self.sources)).collect::<Vec<_>>(),
        })
    }
}

/// Checks the spec `text`, shown to the user as `file_name`.
pub fn check(file_name: &str, text: &str, loader: &dyn FileLoader) -> Checked {
    let mut diagnostics = Vec::new();
    let mut map = SourceMap::default();
    let mut sources = vec![SourceFile::new(file_name, text)];

    let (root, syntax_errors) = DeTable::parse_recoverable(text);
    diagnostics.extend(syntax_diagnostics(text, &syntax_errors));

    let mut walker = check::Walker {
        diagnostics: &mut diagnostics,
        map: &mut map,
        errors: syntax_errors.len(),
        error_paths: Vec::new(),
    };
    let mut well_formed: BTreeMap<Address, serde_json::Value> = BTreeMap::new();
    let mut malformed: BTreeMap<Address, serde_json::Value> = BTreeMap::new();
    let mut declared: BTreeSet<Address> = BTreeSet::new();
    let mut stack_json = None;
    let root = root.get_ref();
    for (key, value) in root.iter() {
        let key_text = key.get_ref().as_ref();
        walker.map.insert_entry(key_text, key.span(), value.span());
        if key_text == "stack" {
            let before = walker.errors;
            walker.walk("stack", "stack", value, shape::stack());
            if walker.errors == before {
                stack_json = Some(check::to_json(value.get_ref()));
            }
            continue;
        }
        let Some((kind, resource_shape, _)) = shape::KINDS.iter().find(|(kind, _, _)| kind.key() == key_text) else {
            let kinds: Vec<&str> = std::iter::once("stack").chain(Kind::ALL.iter().map(|k| k.key())).collect();
            let mut d = Diagnostic::new(codes::UNKNOWN_KIND, format!("`{key_text}` is not a resource kind"))
                .at(Some(Location { file: 0, span: key.span() }))
                .hint(format!("top-level tables are {}", shape::quoted_list(&kinds)));
            if let Some(s) = suggest::did_you_mean(key_text, kinds.iter().copied()) {
                d = d.label(format!("did you mean `{s}`?"));
            }
            walker.errors += 1;
            walker.diagnostics.push(d);
            continue;
        };
        let DeValue::Table(resources) = value.get_ref() else {
            walker.errors += 1;
            walker.diagnostics.push(
                Diagnostic::new(codes::WRONG_TYPE, format!("`{key_text}` must be a table of named resources"))
                    .at(Some(Location { file: 0, span: key.span() }))
                    .hint(format!("declare each resource as `[{key_text}.<name>]`")),
            );
            continue;
        };
        for (name, resource) in resources.iter() {
            let address = Address::new(*kind, name.get_ref().as_ref());
            let path = address.to_string();
            walker.map.insert_entry(&path, name.span(), resource.span());
            let before = walker.errors;
            if let Some(problem) = rules::names::spec_name_problem(&address.name) {
                walker.errors += 1;
                walker.diagnostics.push(
                    Diagnostic::new(
                        codes::INVALID_NAME,
                        format!("`{}` is not a valid resource name: {problem}", address.name),
                    )
                    .at(Some(Location { file: 0, span: name.span() }))
                    .hint("use letters, digits, `_` and `-`, starting with a letter or digit (at most 64)"),
                );
            }
            walker.walk(&path, &path, resource, resource_shape);
            let json = check::to_json(resource.get_ref());
            if walker.errors == before {
                well_formed.insert(address.clone(), json);
            } else {
                malformed.insert(address.clone(), without_broken_fields(json, &path, &walker.error_paths));
            }
            declared.insert(address);
        }
    }
    if !root.iter().any(|(key, _)| key.get_ref().as_ref() == "stack") && syntax_errors.is_empty() {
        walker.errors += 1;
        walker.diagnostics.push(
            Diagnostic::new(codes::MISSING_KEY, "the spec has no `[stack]` table")
                .at(Some(Location { file: 0, span: 0..0 }))
                .hint("start the spec with `[stack]` and its `name`, `region` and `account`"),
        );
    }

    let mut spec = Spec::default();
    let mut read_ok = true;
    if let Some(json) = stack_json {
        read_ok &= read_into(json, "stack", &mut diagnostics, |stack| spec.stack = stack);
    }
    for (address, json) in &well_formed {
        read_ok &= read_resource(&mut spec, address, json.clone(), &mut diagnostics);
    }
    // The reference rules also look at resources with structural errors, read
    // without their broken fields, so one run reports every dangling reference.
    let mut partial = spec.clone();
    for (address, json) in malformed {
        let _ = read_resource(&mut partial, &address, json, &mut Vec::new());
    }

    documents::load(&mut spec, &map, loader, &mut sources, &mut diagnostics);
    let stack_ok = !spec.stack.name.is_empty();
    diagnostics.extend(rules::run(&spec, &partial, &map, &declared, stack_ok));
    rules::apply_silences(&spec, &map, &mut diagnostics);

    if !syntax_errors.is_empty() {
        // A broken line cuts its table short: "missing key" is then a cascade, not news.
        diagnostics.retain(|d| d.code != codes::MISSING_KEY);
    }
    diagnostics.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            let location = d.location.as_ref().map(|l| (l.file, l.span.start, l.span.end));
            (location.is_none(), location, d.code.name, d.message.clone())
        };
        key(a).cmp(&key(b))
    });
    diagnostics.dedup();
    let valid = read_ok && !diagnostics.iter().any(Diagnostic::is_error);
    let readable = read_ok && !diagnostics.iter().any(|d| d.is_error() && !codes::PLATFORM.contains(&d.code));
    let model = readable.then(|| spec.clone());
    Checked { spec: valid.then_some(spec), model, diagnostics, sources }
}

/// TOML syntax errors, with the cascade of a redefined table folded into one.
fn syntax_diagnostics(text: &str, errors: &[toml::de::Error]) -> Vec<Diagnostic> {
    let source = SourceFile::new("", text);
    let mut out = Vec::new();
    let mut inside_duplicate_table = false;
    for error in errors {
        let span = error.span().unwrap_or(0..0);
        let message = error.message().trim_end_matches('\n');
        let line = source.line(source.line_col(span.start).0).trim_start();
        let is_header = line.starts_with('[');
        if message == "duplicate key" {
            if is_header {
                inside_duplicate_table = true;
                let header = line.split(']').next().unwrap_or(line).trim_start_matches('[');
                out.push(
                    Diagnostic::new(codes::TOML_SYNTAX, format!("the table `[{header}]` is defined twice"))
                        .at(Some(Location { file: 0, span }))
                        .label("second definition")
                        .hint("merge the two tables; each resource is declared once"),
                );
                continue;
            }
            if inside_duplicate_table {
                continue;
            }
        } else {
            inside_duplicate_table = false;
        }
        out.push(
            Diagnostic::new(codes::TOML_SYNTAX, format!("invalid TOML: {message}"))
                .at(Some(Location { file: 0, span }))
                .hint("fix the TOML syntax first; https://toml.io/en/v1.0.0 describes it"),
        );
    }
    out
}

fn insert<T>(map: &mut BTreeMap<String, T>, name: String, value: T) {
    map.insert(name, value);
}

/// Reads one resource into its map of `spec`.
fn read_resource(spec: &mut Spec, address: &Address, json: serde_json::Value, d: &mut Vec<Diagnostic>) -> bool {
    let path = address.to_string();
    let name = address.name.clone();
    match address.kind {
        Kind::Vpc => read_into(json, &path, d, |r| insert(&mut spec.vpcs, name, r)),
        Kind::Subnet => read_into(json, &path, d, |r| insert(&mut spec.subnets, name, r)),
        Kind::SecurityGroup => read_into(json, &path, d, |r| insert(&mut spec.security_groups, name, r)),
        Kind::IamRole => read_into(json, &path, d, |r| insert(&mut spec.iam_roles, name, r)),
        Kind::SagemakerDomain => read_into(json, &path, d, |r| insert(&mut spec.sagemaker_domains, name, r)),
        Kind::SagemakerUser => read_into(json, &path, d, |r| insert(&mut spec.sagemaker_users, name, r)),
        Kind::CatalogPortfolio => read_into(json, &path, d, |r| insert(&mut spec.catalog_portfolios, name, r)),
        Kind::CatalogProduct => read_into(json, &path, d, |r| insert(&mut spec.catalog_products, name, r)),
        Kind::EmrCluster => read_into(json, &path, d, |r| insert(&mut spec.emr_clusters, name, r)),
    }
}

/// The resource's JSON without the top-level fields that hold an error.
fn without_broken_fields(mut json: serde_json::Value, resource: &str, error_paths: &[String]) -> serde_json::Value {
    if let serde_json::Value::Object(object) = &mut json {
        let prefix = format!("{resource}.");
        for path in error_paths {
            let Some(rest) = path.strip_prefix(&prefix) else { continue };
            let field = rest.split(['.', '[']).next().unwrap_or(rest);
            object.remove(field);
        }
    }
    json
}

/// Reads a checked JSON value into a model struct. The structural pass has
/// already accepted the value, so a failure here is a bug in converge.
fn read_into<T: DeserializeOwned>(
    json: serde_json::Value,
    path: &str,
    diagnostics: &mut Vec<Diagnostic>,
    store: impl FnOnce(T),
) -> bool {
    match serde_json::from_value::<T>(json) {
        Ok(value) => {
            store(value);
            true
        }
        Err(error) => {
            diagnostics.push(
                Diagnostic::new(codes::INTERNAL, format!("converge could not read `{path}`: {error}"))
                    .address(path)
                    .hint("this is a bug in converge; please report it with the spec"),
            );
            false
        }
    }
}
