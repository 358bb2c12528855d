//! The structural pass: walks the TOML tree against [`crate::shape`],
//! records the span of every key and value, and reports unknown keys, missing
//! keys, wrong types, unknown enum values and out-of-range numbers.

use std::collections::BTreeMap;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::codes;
use crate::diagnostic::{Diagnostic, Location};
use crate::shape::{self, Field, Shape};
use crate::source::Span;
use crate::suggest::did_you_mean;

/// Where each path of the spec was written (`emr_cluster.etl.core.on_demand`).
#[derive(Debug, Default)]
pub struct SourceMap {
    entries: BTreeMap<String, Entry>,
}

#[derive(Clone, Debug)]
struct Entry {
    key: Option<Span>,
    value: Span,
}

impl SourceMap {
    fn insert(&mut self, path: String, key: Option<Span>, value: Span) {
        self.entries.insert(path, Entry { key, value });
    }

    pub(crate) fn insert_entry(&mut self, path: &str, key: Span, value: Span) {
        self.insert(path.to_owned(), Some(key), value);
    }

    /// The span of the value at `path`, or of the closest enclosing path that has one.
    pub fn value(&self, path: &str) -> Option<Span> {
        self.lookup(path, |entry| Some(entry.value.clone()))
    }

    /// The span of the key at `path` (falls back like [`SourceMap::value`]).
    pub fn key(&self, path: &str) -> Option<Span> {
        self.lookup(path, |entry| entry.key.clone().or_else(|| Some(entry.value.clone())))
    }

    fn lookup(&self, mut path: &str, get: impl Fn(&Entry) -> Option<Span>) -> Option<Span> {
        loop {
            if let Some(span) = self.entries.get(path).and_then(&get) {
                return Some(span);
            }
            path = parent(path)?;
        }
    }
}

/// The path one level up: `a.b[2]` → `a.b`, `a.b` → `a`.
fn parent(path: &str) -> Option<&str> {
    if path.ends_with(']') {
        return path.rfind('[').map(|i| &path[..i]);
    }
    if let Some(quoted) = path.strip_suffix('"') {
        let open = quoted.rfind('"')?;
        return Some(path[..open].trim_end_matches('.'));
    }
    path.rfind('.').map(|i| &path[..i])
}

/// `parent.key`, quoting keys that are not bare TOML keys.
pub(crate) fn child(parent: &str, key: &str) -> String {
    let bare = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let key = if bare { key.to_owned() } else { format!("\"{}\"", key.replace('"', "\\\"")) };
    if parent.is_empty() { key } else { format!("{parent}.{key}") }
}

pub(crate) struct Walker<'a> {
    pub(crate) diagnostics: &'a mut Vec<Diagnostic>,
    pub(crate) map: &'a mut SourceMap,
    /// Errors found so far; a resource is well formed when walking it adds none.
    pub(crate) errors: usize,
    /// The path of every value an error was reported at.
    pub(crate) error_paths: Vec<String>,
    /// The environment whose stack this is: a required value it leaves unset is its to set.
    pub(crate) env: Option<&'a crate::EnvContext<'a>>,
}

impl Walker<'_> {
    fn report(&mut self, path: &str, diagnostic: Diagnostic) {
        if diagnostic.is_error() {
            self.errors += 1;
            self.error_paths.push(path.to_owned());
        }
        self.diagnostics.push(diagnostic);
    }

    fn at(span: &Span) -> Option<Location> {
        Some(Location { file: 0, span: span.clone() })
    }

    /// Checks `value` against `shape`; `address` is the resource the path belongs to.
    pub(crate) fn walk(&mut self, path: &str, address: &str, value: &Spanned<DeValue<'_>>, shape: &Shape) {
        let span = value.span();
        let here = Self::at(&span);
        match (shape, value.get_ref()) {
            (Shape::Str, DeValue::String(_)) | (Shape::Bool, DeValue::Boolean(_)) => {}
            (Shape::Enum(values), DeValue::String(text)) => {
                if !values.contains(&text.as_ref()) {
                    let suggestion = did_you_mean(text, values.iter().copied());
                    let mut d = Diagnostic::new(codes::INVALID_VALUE, format!("`{path}` cannot be `{text}`"))
                        .at(here)
                        .address(address)
                        .hint(format!("`{}` takes {}", last_key(path), shape::quoted_list(values)));
                    if let Some(s) = suggestion {
                        d = d.label(format!("did you mean `{s}`?"));
                    }
                    self.report(path, d);
                }
            }
            (Shape::Int { min, max, code }, DeValue::Integer(int)) => {
                let parsed = i64::from_str_radix(int.as_str(), int.radix()).ok();
                let in_range = parsed.is_some_and(|n| min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m));
                if !in_range {
                    self.report(path, out_of_range(path, address, here, *min, *max, *code));
                }
            }
            (Shape::Float { min, max }, DeValue::Integer(_) | DeValue::Float(_)) => {
                let number = match value.get_ref() {
                    DeValue::Integer(int) => i64::from_str_radix(int.as_str(), int.radix()).ok().map(|n| n as f64),
                    DeValue::Float(float) => float.as_str().replace('_', "").parse::<f64>().ok(),
                    _ => None,
                };
                if !number.is_some_and(|n| n >= *min && n <= *max) {
                    self.report(
                        path,
                        Diagnostic::new(codes::OUT_OF_RANGE, format!("`{path}` must be between {min} and {max}"))
                            .at(here)
                            .address(address)
                            .hint(format!("set `{}` to a number from {min} to {max}", last_key(path))),
                    );
                }
            }
            (Shape::Array(item), DeValue::Array(items)) => {
                for (i, element) in items.iter().enumerate() {
                    let element_path = format!("{path}[{i}]");
                    self.map.insert(element_path.clone(), None, element.span());
                    self.walk(&element_path, address, element, item);
                }
            }
            (Shape::Table(_) | Shape::Resource(_), DeValue::Table(table)) => {
                self.table(path, address, &span, table, &shape.fields());
            }
            (Shape::Map(item), DeValue::Table(table)) => {
                for (key, entry) in table.iter() {
                    let entry_path = child(path, key.get_ref());
                    self.map.insert(entry_path.clone(), Some(key.span()), entry.span());
                    self.walk(&entry_path, address, entry, item);
                }
            }
            (Shape::OneOf(alternatives), found) => {
                match alternatives.iter().find(|alternative| type_matches(alternative, found)) {
                    Some(alternative) => self.walk(path, address, value, alternative),
                    None => self.report(path, wrong_type(path, address, here, shape, found)),
                }
            }
            (_, found) => self.report(path, wrong_type(path, address, here, shape, found)),
        }
    }

    fn table(&mut self, path: &str, address: &str, span: &Span, table: &DeTable<'_>, fields: &[&'static Field]) {
        for (key, value) in table.iter() {
            let key_text = key.get_ref().as_ref();
            let field_path = child(path, key_text);
            self.map.insert(field_path.clone(), Some(key.span()), value.span());
            match fields.iter().find(|field| field.key == key_text) {
                Some(field) => self.walk(&field_path, address, value, field.shape),
                None => {
                    let mut d = Diagnostic::new(codes::UNKNOWN_KEY, format!("unknown key `{key_text}` in `{path}`"))
                        .at(Self::at(&key.span()))
                        .address(address);
                    d = match did_you_mean(key_text, fields.iter().map(|field| field.key)) {
                        Some(suggestion) => d.label(format!("did you mean `{suggestion}`?")),
                        None => d.label("not a key of this table"),
                    };
                    let keys: Vec<&str> = fields.iter().map(|field| field.key).collect();
                    self.report(&field_path, d.hint(format!("`{path}` accepts {}", shape::quoted_list(&keys))));
                }
            }
        }
        for field in fields.iter().filter(|field| field.required) {
            if !table.iter().any(|(key, _)| key.get_ref().as_ref() == field.key) {
                if let Some(env) = self.env
                    && (path == "stack" || env.written.contains(&child(path, field.key)))
                {
                    let missing = child(path, field.key);
                    let d = Diagnostic::new(
                        codes::ENV_MISSING_VALUE,
                        format!("environment `{}` leaves `{missing}` unset, and the base does not set it", env.name),
                    )
                    .at(Self::at(&env.header))
                    .label(format!("`{missing}` is required: {}", field.doc.trim_end_matches('.')))
                    .address(address)
                    .hint(format!("set `{missing}` in `[env.{}]`, or in the base for every environment", env.name));
                    self.report(path, d);
                    continue;
                }
                let location = self.map.key(path).or_else(|| Some(span.clone()));
                self.report(
                    path,
                    Diagnostic::new(
                        codes::MISSING_KEY,
                        format!("`{path}` is missing the required key `{}`", field.key),
                    )
                    .at(location.map(|span| Location { file: 0, span }))
                    .label(format!("`{}` is required here", field.key))
                    .address(address)
                    .hint(format!("add `{} = …`: {}", field.key, field.doc.trim_end_matches('.'))),
                );
            }
        }
    }
}

fn type_matches(shape: &Shape, value: &DeValue<'_>) -> bool {
    matches!(
        (shape, value),
        (Shape::Str | Shape::Enum(_), DeValue::String(_))
            | (Shape::Int { .. }, DeValue::Integer(_))
            | (Shape::Float { .. }, DeValue::Integer(_) | DeValue::Float(_))
            | (Shape::Bool, DeValue::Boolean(_))
            | (Shape::Array(_), DeValue::Array(_))
            | (Shape::Table(_) | Shape::Resource(_) | Shape::Map(_), DeValue::Table(_))
    )
}

fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn wrong_type(path: &str, address: &str, at: Option<Location>, shape: &Shape, found: &DeValue<'_>) -> Diagnostic {
    let expected = shape.describe();
    let mut d = Diagnostic::new(codes::WRONG_TYPE, format!("`{path}` must be {expected}, found {}", type_name(found)))
        .at(at)
        .address(address)
        .label(format!("expected {expected}"));
    if let (Shape::Bool, DeValue::String(_)) = (shape, found) {
        d = d.hint(format!("write `{} = true` or `false`, without quotes", last_key(path)));
    } else if let (Shape::Str | Shape::Enum(_), DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_)) =
        (shape, found)
    {
        d = d.hint("put the value in double quotes");
    } else if let (Shape::Int { .. }, DeValue::String(text)) = (shape, found) {
        d = d.hint(format!("write the number without quotes: `{} = {}`", last_key(path), text.trim()));
    } else if let (Shape::Array(_), DeValue::String(text)) = (shape, found) {
        d = d.hint(format!("wrap it in brackets: `{} = [\"{text}\"]`", last_key(path)));
    }
    d
}

fn out_of_range(
    path: &str,
    address: &str,
    at: Option<Location>,
    min: Option<i64>,
    max: Option<i64>,
    code: codes::Code,
) -> Diagnostic {
    let key = last_key(path);
    let (message, hint) = match (min, max) {
        (Some(min), Some(max)) => (
            format!("`{path}` must be between {min} and {max}"),
            format!("set `{key}` to a whole number from {min} to {max}"),
        ),
        (Some(min), None) => (format!("`{path}` must be at least {min}"), format!("set `{key}` to {min} or more")),
        (None, Some(max)) => (format!("`{path}` must be at most {max}"), format!("set `{key}` to {max} or less")),
        (None, None) => (format!("`{path}` is too large"), format!("set `{key}` to a smaller number")),
    };
    Diagnostic::new(code, message).at(at).address(address).hint(hint)
}

/// The last key of a path, for hints: `a.b[0].c` → `c`.
pub(crate) fn last_key(path: &str) -> &str {
    let path = path.trim_end_matches(|c: char| c == ']' || c.is_ascii_digit()).trim_end_matches('[');
    path.rsplit('.').next().unwrap_or(path).trim_matches('"')
}

/// Converts a checked TOML value to JSON, the form the model is read from
/// and the JSON Schema describes.
pub(crate) fn to_json(value: &DeValue<'_>) -> serde_json::Value {
    match value {
        DeValue::String(text) => serde_json::Value::String(text.to_string()),
        DeValue::Integer(int) => {
            i64::from_str_radix(int.as_str(), int.radix()).map_or(serde_json::Value::Null, serde_json::Value::from)
        }
        DeValue::Float(float) => float
            .as_str()
            .replace('_', "")
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        DeValue::Boolean(b) => serde_json::Value::Bool(*b),
        DeValue::Datetime(datetime) => serde_json::Value::String(datetime.to_string()),
        DeValue::Array(items) => serde_json::Value::Array(items.iter().map(|item| to_json(item.get_ref())).collect()),
        DeValue::Table(table) => serde_json::Value::Object(
            table.iter().map(|(key, value)| (key.get_ref().to_string(), to_json(value.get_ref()))).collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_go_up_one_level() {
        assert_eq!(parent("a.b[2]"), Some("a.b"));
        assert_eq!(parent("a.b"), Some("a"));
        assert_eq!(parent("a.tags.\"x.y\""), Some("a.tags"));
        assert_eq!(parent("a"), None);
        assert_eq!(child("a", "x.y"), "a.\"x.y\"");
        assert_eq!(last_key("emr_cluster.etl.task.instance_types[3]"), "instance_types");
    }
}
