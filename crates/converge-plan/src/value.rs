//! The values the planner compares: both sides of every field are turned
//! into a [`Value`] in one canonical form, so equal meaning is equal data.

use std::collections::BTreeMap;
use std::fmt;

use converge_model::Address;
use converge_ops::Id;

/// A normalised field value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    /// Order matters (bootstrap actions).
    List(Vec<Value>),
    /// Order does not matter; sorted and without duplicates.
    Set(Vec<Value>),
    /// Keyed entries (tags, inline policies, rules and their descriptions).
    Map(BTreeMap<String, Value>),
    /// A JSON document in canonical form (IAM policies, configurations): equal text is equal meaning.
    Doc(String),
    /// A large text compared verbatim (a CloudFormation template), shown as a unified diff.
    Text(String),
    /// Not known until apply: the id of a resource that is created or replaced.
    Unknown(Address),
}

impl Value {
    pub fn str(text: impl Into<String>) -> Value {
        Value::Str(text.into())
    }

    pub fn opt_str(text: Option<&str>) -> Value {
        text.map_or(Value::Null, Value::str)
    }

    pub fn set(items: impl IntoIterator<Item = Value>) -> Value {
        let mut items: Vec<Value> = items.into_iter().collect();
        items.sort();
        items.dedup();
        Value::Set(items)
    }

    pub fn strings<'a>(items: impl IntoIterator<Item = &'a String>) -> Value {
        Value::set(items.into_iter().map(|s| Value::Str(s.clone())))
    }

    /// An id: the id itself, or "known after apply" for the output of a step.
    pub fn id(id: &Id) -> Value {
        match id {
            Id::Known(id) => Value::str(id),
            Id::Output { address, .. } => Value::Unknown(address.clone()),
        }
    }

    pub fn ids<'a>(ids: impl IntoIterator<Item = &'a Id>) -> Value {
        Value::set(ids.into_iter().map(Value::id))
    }

    /// The addresses whose ids are not known yet, anywhere inside the value.
    pub fn unknowns(&self) -> Vec<Address> {
        match self {
            Value::Unknown(address) => vec![address.clone()],
            Value::List(items) | Value::Set(items) => items.iter().flat_map(Value::unknowns).collect(),
            Value::Map(entries) => entries.values().flat_map(Value::unknowns).collect(),
            _ => Vec::new(),
        }
    }

    /// True when the value contains something only known after apply.
    pub fn has_unknown(&self) -> bool {
        match self {
            Value::Unknown(_) => true,
            Value::List(items) | Value::Set(items) => items.iter().any(Value::has_unknown),
            Value::Map(entries) => entries.values().any(Value::has_unknown),
            _ => false,
        }
    }

    /// True for values shown as multi-line documents.
    pub fn is_document(&self) -> bool {
        matches!(self, Value::Doc(_) | Value::Text(_))
    }

    /// The JSON form used by the JSON plan.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(n) => serde_json::Value::from(*n),
            Value::Str(s) | Value::Text(s) => serde_json::Value::String(s.clone()),
            Value::Doc(text) => serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.clone())),
            Value::List(items) | Value::Set(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Map(entries) => {
                serde_json::Value::Object(entries.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Value::Unknown(cause) => serde_json::json!({ "known_after_apply": cause.to_string() }),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("(none)"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::List(items) | Value::Set(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key:?} = {value}")?;
                }
                f.write_str("}")
            }
            Value::Doc(_) => f.write_str("(document)"),
            Value::Text(text) => write!(f, "(text, {} lines)", text.lines().count()),
            Value::Unknown(_) => f.write_str("(known after apply)"),
        }
    }
}

/// A unified diff of two texts (three lines of context), without file headers.
pub(crate) fn unified(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new).unified_diff().context_radius(3).to_string()
}

/// The text a document value shows in a diff (empty for a missing one).
pub(crate) fn document_text(value: &Value) -> String {
    match value {
        Value::Doc(text) | Value::Text(text) => format!("{text}\n"),
        _ => String::new(),
    }
}
