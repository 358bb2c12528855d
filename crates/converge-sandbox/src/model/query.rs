//! Query requests (awsQuery: IAM, STS; ec2Query: EC2) decoded by the model
//! into the JSON tree an awsJson request would carry, so one checker serves
//! both. A parameter no member of the operation explains is refused, as AWS
//! refuses it, and so is a value that is not of its member's type.
//!
//! Wire names: awsQuery uses a member's `locationName` or its name, lists as
//! `Name.member.N` (`Name.N` when flattened), maps as `Name.entry.N.key`;
//! ec2Query uses `queryName`, else `locationName` capitalised, else the name,
//! and every list is flattened (`Name.N`).
//!
//! EC2 refuses a parameter it does not know (`UnknownParameter`, naming the
//! first part of it it does not know); IAM and STS, like the awsJson
//! services, ignore it (docs/aws-fidelity.md).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::{MemberRef, ServiceModel, Shape};
use crate::query::Params;

/// Why a query request cannot be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum QueryError {
    /// A parameter the operation does not have: the first part of the first
    /// such parameter (in key order) that no member explains (`Filters` of `Filters.1.Name`).
    Unknown(String),
    /// A value that is not of its member's type: the parameter, its value, the type.
    Malformed { parameter: String, value: String, expected: &'static str },
}

/// The request's members as a JSON tree; `Action` and `Version` are the protocol's.
pub(crate) fn decode(
    model: &ServiceModel,
    input: Option<&str>,
    params: &Params,
    ec2: bool,
) -> Result<Value, QueryError> {
    let keys: BTreeMap<&str, &str> = params.iter().filter(|(k, _)| !matches!(*k, "Action" | "Version")).collect();
    let mut decoder = Decoder { model, keys: &keys, used: BTreeSet::new(), explained: BTreeSet::new(), ec2 };
    let value = match input {
        Some(shape) => decoder.structure_at(shape, "")?,
        None => Value::Object(Map::new()),
    };
    if ec2 && let Some(unknown) = keys.keys().find(|k| !decoder.used.contains(**k)) {
        return Err(QueryError::Unknown(decoder.first_unknown_part(unknown)));
    }
    Ok(value)
}

struct Decoder<'a> {
    model: &'a ServiceModel,
    keys: &'a BTreeMap<&'a str, &'a str>,
    used: BTreeSet<String>,
    /// Every prefix a member or list element explains (`IpPermissions`, `IpPermissions.1`).
    explained: BTreeSet<String>,
    ec2: bool,
}

/// A member's name in an ec2Query request: `queryName`, else `locationName` capitalised, else its name.
pub(super) fn ec2_wire_name(name: &str, member: &MemberRef) -> String {
    if let Some(query) = &member.query_name {
        return query.clone();
    }
    if let Some(location) = &member.location_name {
        let mut chars = location.chars();
        return chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default();
    }
    name.to_owned()
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") }
}

impl Decoder<'_> {
    /// True when some parameter is `key` or lies under it.
    fn present(&self, key: &str) -> bool {
        let under = format!("{key}.");
        self.keys.range(key..).take_while(|(k, _)| k.starts_with(key)).any(|(k, _)| *k == key || k.starts_with(&under))
    }

    fn wire_name(&self, name: &str, member: &MemberRef) -> String {
        if self.ec2 {
            ec2_wire_name(name, member)
        } else {
            member.location_name.clone().unwrap_or_else(|| name.to_owned())
        }
    }

    fn structure_at(&mut self, shape: &str, prefix: &str) -> Result<Value, QueryError> {
        let Some(Shape::Structure { members, .. }) = self.model.shape(shape) else {
            return Ok(Value::Object(Map::new()));
        };
        let mut object = Map::new();
        for (name, member) in members {
            let key = join(prefix, &self.wire_name(name, member));
            if self.present(&key) {
                self.explained.insert(key.clone());
                object.insert(name.clone(), self.member_at(member, &key)?);
            }
        }
        Ok(Value::Object(object))
    }

    fn member_at(&mut self, member: &MemberRef, key: &str) -> Result<Value, QueryError> {
        let Some(shape) = self.model.shape(&member.shape) else { return Ok(Value::Null) };
        match shape {
            Shape::Structure { .. } => self.structure_at(&member.shape, key),
            Shape::List { member: item, flattened, .. } => {
                let base = if self.ec2 || *flattened || member.flattened {
                    key.to_owned()
                } else {
                    join(key, item.location_name.as_deref().unwrap_or("member"))
                };
                // An empty list travels as the bare name with an empty value.
                if self.keys.get(key) == Some(&"") {
                    self.used.insert(key.to_owned());
                    return Ok(Value::Array(Vec::new()));
                }
                self.explained.insert(base.clone());
                let mut items = Vec::new();
                for index in self.indices(&base) {
                    let element = format!("{base}.{index}");
                    self.explained.insert(element.clone());
                    items.push(self.member_at(item, &element)?);
                }
                Ok(Value::Array(items))
            }
            Shape::Map { key: key_ref, value: value_ref, flattened, .. } => {
                let base = if *flattened || member.flattened { key.to_owned() } else { join(key, "entry") };
                let key_name = key_ref.location_name.as_deref().unwrap_or("key");
                let value_name = value_ref.location_name.as_deref().unwrap_or("value");
                let mut object = Map::new();
                for index in self.indices(&base) {
                    let entry = format!("{base}.{index}");
                    let k = self.member_at(key_ref, &join(&entry, key_name))?;
                    let v = self.member_at(value_ref, &join(&entry, value_name))?;
                    object.insert(k.as_str().unwrap_or_default().to_owned(), v);
                }
                Ok(Value::Object(object))
            }
            scalar => {
                let Some(text) = self.keys.get(key).copied() else { return Ok(Value::Null) };
                self.used.insert(key.to_owned());
                scalar_value(scalar, text).ok_or_else(|| QueryError::Malformed {
                    parameter: key.to_owned(),
                    value: text.to_owned(),
                    expected: expected(scalar),
                })
            }
        }
    }

    /// The first part of `key` no member explains: `Filters` of `Filters.1.Name`, `Foo` of `IpPermissions.1.Foo`.
    fn first_unknown_part(&self, key: &str) -> String {
        let parts: Vec<&str> = key.split('.').collect();
        for end in 1..=parts.len() {
            if !self.explained.contains(&parts[..end].join(".")) {
                return parts[end - 1].to_owned();
            }
        }
        key.to_owned()
    }

    /// The indices under `base` (`base.1…`, `base.2…`) in numeric order.
    fn indices(&self, base: &str) -> Vec<u64> {
        let start = format!("{base}.");
        let mut indices: Vec<u64> = self
            .keys
            .range(start.as_str()..)
            .take_while(|(k, _)| k.starts_with(&start))
            .filter_map(|(k, _)| k[start.len()..].split('.').next()?.parse().ok())
            .collect();
        indices.sort_unstable();
        indices.dedup();
        indices
    }
}

fn scalar_value(shape: &Shape, text: &str) -> Option<Value> {
    Some(match shape {
        Shape::Integer(_) | Shape::Long(_) => Value::from(text.parse::<i64>().ok()?),
        Shape::Float(_) | Shape::Double(_) => Value::from(text.parse::<f64>().ok().filter(|f| f.is_finite())?),
        Shape::Boolean => Value::Bool(match text {
            "true" => true,
            "false" => false,
            _ => return None,
        }),
        // Query timestamps are ISO-8601 text; the checker has no constraint on them.
        Shape::Timestamp => Value::from(0),
        _ => Value::String(text.to_owned()),
    })
}

fn expected(shape: &Shape) -> &'static str {
    match shape {
        Shape::Integer(_) => "integer",
        Shape::Long(_) => "long",
        Shape::Float(_) | Shape::Double(_) => "double",
        Shape::Boolean => "boolean",
        _ => "string",
    }
}
