//! Parses and checks a converge spec.
//!
//! [`check`] turns the text of a spec into a typed [`converge_model::Spec`]
//! plus every [`Diagnostic`] it found, all in one run: TOML syntax, the
//! structural pass against the spec language ([`shape`]), then the platform
//! rules ([`rules`]: references, cycles, networks, EMR limits, Studio↔EMR
//! wiring). Each diagnostic has a stable [`codes::Code`], a span, and a hint.
//! A spec may declare environments (`[env.<name>]`, see `env.rs`): each is
//! the base with its own values laid over it, checked as a stack of its own
//! ([`check_environment`]); [`settings`] lists one environment's values with
//! the line that set each, for `converge compare`.
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
mod env;
mod rules;
pub mod schema;
mod settings;
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
pub use settings::{Origin, Setting, settings};
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
    /// The environments the spec declares (`[env.<name>]`), in the order written.
    pub environments: Vec<String>,
    /// The environment this check is of: its stack is `spec`. `None` for a
    /// spec without environments, and for the check of every environment at
    /// once ([`check`] of a spec that has them).
    pub environment: Option<String>,
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
            "environments": self.environments,
            "environment": self.environment,
        })
    }
}

/// Checks the spec `text`, shown to the user as `file_name`.
///
/// A spec with environments is checked once per environment, and each
/// diagnostic says which environments it concerns; such a check has no
/// [`Checked::spec`]: [`check_environment`] gives one environment's.
pub fn check(file_name: &str, text: &str, loader: &dyn FileLoader) -> Checked {
    let (root, syntax_errors) = DeTable::parse_recoverable(text);
    let syntax = syntax_diagnostics(text, &syntax_errors);
    let mut structure = Vec::new();
    let overlays = env::overlays(root.get_ref(), &mut structure);
    if overlays.is_empty() {
        let mut checked = check_tree(file_name, text, root.get_ref(), syntax, syntax_errors.len(), loader, None);
        if structure.iter().any(Diagnostic::is_error) {
            // A broken `env` table: the file is not a stack until it is fixed.
            checked.spec = None;
            checked.model = None;
        }
        checked.diagnostics.extend(structure);
        finish(&mut checked.diagnostics);
        return checked;
    }
    let names: Vec<String> = overlays.iter().map(|o| o.name.clone()).collect();
    let written = env::written_paths(&overlays);
    let mut sources = vec![SourceFile::new(file_name, text)];
    let mut diagnostics: Vec<Diagnostic> = syntax.clone();
    diagnostics.extend(structure);
    for overlay in &overlays {
        let mut own = Vec::new();
        let tree = env::merged(root.get_ref(), overlay, &mut own);
        let context = EnvContext { name: overlay.name.clone(), header: overlay.header.clone(), written: &written };
        let checked = check_tree(file_name, text, &tree, Vec::new(), syntax_errors.len(), loader, Some(&context));
        own.extend(checked.diagnostics);
        for mut diagnostic in own {
            if let Some(location) = &mut diagnostic.location {
                // Documents are numbered per check: renumber them by name for this one.
                match checked.sources.get(location.file) {
                    Some(source) => {
                        location.file = match sources.iter().position(|s| s.name == source.name) {
                            Some(index) => index,
                            None => {
                                sources.push(source.clone());
                                sources.len() - 1
                            }
                        };
                    }
                    None => diagnostic.location = None,
                }
            }
            diagnostic.environments = vec![overlay.name.clone()];
            match diagnostics.iter_mut().find(|d| same_finding(d, &diagnostic)) {
                Some(found) => found.environments.push(overlay.name.clone()),
                None => diagnostics.push(diagnostic),
            }
        }
    }
    diagnostics.extend(duplicate_stacks(root.get_ref(), &overlays));
    finish(&mut diagnostics);
    Checked { spec: None, model: None, diagnostics, sources, environments: names, environment: None }
}

/// Checks one environment of the spec `text`: the base with `[env.<environment>]`
/// laid over it. The spec, when valid, is that environment's stack. `None`
/// when `environment` is not one the spec declares (see [`Checked::environments`]).
/// Problems of other environments are left out, except one that makes another
/// environment the same stack as this one.
pub fn check_environment(file_name: &str, text: &str, loader: &dyn FileLoader, environment: &str) -> Option<Checked> {
    let (root, syntax_errors) = DeTable::parse_recoverable(text);
    let syntax = syntax_diagnostics(text, &syntax_errors);
    let mut structure = Vec::new();
    let overlays = env::overlays(root.get_ref(), &mut structure);
    let names: Vec<String> = overlays.iter().map(|o| o.name.clone()).collect();
    let overlay = overlays.iter().find(|o| o.name == environment)?;
    let concerns_this = |d: &Diagnostic| d.environments.is_empty() || d.environments.iter().any(|e| e == environment);
    let mut own: Vec<Diagnostic> = structure.into_iter().filter(concerns_this).collect();
    let tree = env::merged(root.get_ref(), overlay, &mut own);
    let written = env::written_paths(&overlays);
    let context = EnvContext { name: overlay.name.clone(), header: overlay.header.clone(), written: &written };
    let mut checked = check_tree(file_name, text, &tree, Vec::new(), syntax_errors.len(), loader, Some(&context));
    own.append(&mut checked.diagnostics);
    for diagnostic in &mut own {
        diagnostic.environments = vec![overlay.name.clone()];
    }
    own.extend(duplicate_stacks(root.get_ref(), &overlays).into_iter().filter(concerns_this));
    own.extend(syntax);
    if own.iter().any(Diagnostic::is_error) {
        checked.spec = None;
        checked.model = None;
    }
    checked.diagnostics = own;
    finish(&mut checked.diagnostics);
    checked.environments = names;
    Some(checked)
}

/// The environment a tree is the stack of.
pub(crate) struct EnvContext<'a> {
    pub(crate) name: String,
    /// The span of `[env.<name>]`'s name.
    pub(crate) header: Span,
    /// Every path some environment sets (`stack.account`): a required value
    /// missing there is left to the environments, not forgotten in the base.
    pub(crate) written: &'a std::collections::BTreeSet<String>,
}

/// The same problem found in two environments' checks.
fn same_finding(a: &Diagnostic, b: &Diagnostic) -> bool {
    (&a.code.name, &a.message, &a.location, &a.label, &a.address, &a.notes, &a.hint)
        == (&b.code.name, &b.message, &b.location, &b.label, &b.address, &b.notes, &b.hint)
}

/// Two environments that would be one stack: the same name in the same account.
fn duplicate_stacks(root: &DeTable<'_>, overlays: &[env::Overlay<'_, '_>]) -> Vec<Diagnostic> {
    let identities: Vec<Option<(String, String)>> =
        overlays.iter().map(|overlay| env::stack_identity(&env::merged(root, overlay, &mut Vec::new()))).collect();
    let mut out = Vec::new();
    for (i, (overlay, identity)) in overlays.iter().zip(&identities).enumerate() {
        let Some(identity) = identity else { continue };
        let Some(first) = identities[..i].iter().position(|other| other.as_ref() == Some(identity)) else {
            continue;
        };
        let (name, first) = (&overlay.name, &overlays[first].name);
        let (stack_name, account) = identity;
        let mut d = Diagnostic::new(
            codes::DUPLICATE_ENVIRONMENT,
            format!("environments `{first}` and `{name}` are the same stack: `{stack_name}` in account {account}"),
        )
        .at(Some(Location { file: 0, span: overlay.header.clone() }))
        .label(format!("the same stack as `{first}`"))
        .hint(format!(
            "give `{name}` its own `stack.name` (or its own `stack.account`): each environment's resources, ownership tags and lock are its own"
        ));
        d.environments = vec![first.clone(), name.clone()];
        out.push(d);
    }
    out
}

/// Orders diagnostics by file and position and drops repeats.
fn finish(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            let location = d.location.as_ref().map(|l| (l.file, l.span.start, l.span.end));
            (location.is_none(), location, d.code.name, d.message.clone(), d.environments.clone())
        };
        key(a).cmp(&key(b))
    });
    diagnostics.dedup();
}

/// Checks one tree: the spec without environments, or one environment's
/// stack (`env`), whose missing values are the environment's to set.
fn check_tree(
    file_name: &str,
    text: &str,
    root: &DeTable<'_>,
    syntax: Vec<Diagnostic>,
    syntax_error_count: usize,
    loader: &dyn FileLoader,
    env: Option<&EnvContext>,
) -> Checked {
    let mut diagnostics = syntax;
    let mut map = SourceMap::default();
    let mut sources = vec![SourceFile::new(file_name, text)];

    let mut walker = check::Walker {
        diagnostics: &mut diagnostics,
        map: &mut map,
        errors: syntax_error_count,
        error_paths: Vec::new(),
        env,
    };
    let mut well_formed: BTreeMap<Address, serde_json::Value> = BTreeMap::new();
    let mut malformed: BTreeMap<Address, serde_json::Value> = BTreeMap::new();
    let mut declared: BTreeSet<Address> = BTreeSet::new();
    let mut stack_json = None;
    for (key, value) in root.iter() {
        let key_text = key.get_ref().as_ref();
        if key_text == env::ENV_KEY {
            continue;
        }
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
    if !root.iter().any(|(key, _)| key.get_ref().as_ref() == "stack") && syntax_error_count == 0 {
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
    spec.stack.environment = env.map(|env| env.name.clone());
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

    if syntax_error_count > 0 {
        // A broken line cuts its table short: "missing key" is then a cascade, not news.
        diagnostics.retain(|d| d.code != codes::MISSING_KEY && d.code != codes::ENV_MISSING_VALUE);
    }
    finish(&mut diagnostics);
    let valid = read_ok && !diagnostics.iter().any(Diagnostic::is_error);
    let readable = read_ok && !diagnostics.iter().any(|d| d.is_error() && !codes::PLATFORM.contains(&d.code));
    let model = readable.then(|| spec.clone());
    let environment = env.map(|env| env.name.clone());
    Checked { spec: valid.then_some(spec), model, diagnostics, sources, environments: Vec::new(), environment }
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
                if let Some(name) = header.trim().strip_prefix("env.").filter(|name| !name.contains('.')) {
                    out.push(
                        Diagnostic::new(
                            codes::DUPLICATE_ENVIRONMENT,
                            format!("the environment `{}` is defined twice", name.trim()),
                        )
                        .at(Some(Location { file: 0, span }))
                        .label("second definition")
                        .hint("merge the two tables: an environment's values are written in one `[env.<name>]` table and the tables under it"),
                    );
                    continue;
                }
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
