//! The constraints of a model, checked on a request's members as a JSON tree.

use serde_json::Value;

use super::{MemberRef, Range, ServiceModel, Shape, overrides, pattern};

/// One step into a request: a structure's member, a list's element (from 1), a map's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    Member(String),
    Index(usize),
    Key(String),
}

pub(crate) type Path = Vec<Segment>;

/// A value that breaks a constraint of its shape.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Violation {
    pub(crate) path: Path,
    /// The value, or `None` when a required member is missing.
    pub(crate) value: Option<Value>,
    pub(crate) constraint: Constraint,
}

/// Which constraint, with its bound.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Constraint {
    Required,
    MinLength(u64),
    MaxLength(u64),
    MinValue(f64),
    MaxValue(f64),
    Pattern(String),
    Enum(Vec<String>),
}

/// A member whose JSON type is not its shape's (a string for an integer): not
/// a validation error but a request the service cannot deserialize.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Mismatch {
    pub(crate) path: Path,
    pub(crate) expected: &'static str,
    pub(crate) found: Value,
}

/// Every constraint `value` breaks, in the order of the model's members.
pub(crate) fn check(
    model: &ServiceModel,
    service: &str,
    operation: &str,
    shape: &str,
    value: &Value,
) -> Result<Vec<Violation>, Mismatch> {
    let mut walk = Walk { model, service, operation, violations: Vec::new(), path: Vec::new() };
    walk.value(shape, value)?;
    Ok(walk.violations)
}

struct Walk<'a> {
    model: &'a ServiceModel,
    service: &'a str,
    operation: &'a str,
    violations: Vec<Violation>,
    path: Path,
}

impl Walk<'_> {
    fn violation(&mut self, value: Option<&Value>, constraint: Constraint) {
        self.violations.push(Violation { path: self.path.clone(), value: value.cloned(), constraint });
    }

    fn mismatch(&self, expected: &'static str, found: &Value) -> Mismatch {
        Mismatch { path: self.path.clone(), expected, found: found.clone() }
    }

    fn nested(&mut self, segment: Segment, member: &MemberRef, value: &Value) -> Result<(), Mismatch> {
        self.path.push(segment);
        let result = self.value(&member.shape, value);
        self.path.pop();
        result
    }

    fn value(&mut self, shape_name: &str, value: &Value) -> Result<(), Mismatch> {
        let Some(shape) = self.model.shape(shape_name) else { return Ok(()) };
        if value.is_null() {
            // An explicit null is an absent member.
            return Ok(());
        }
        match shape {
            Shape::Structure { required, members } => {
                let Value::Object(object) = value else { return Err(self.mismatch("Structure", value)) };
                for (name, member) in members {
                    let present = object.get(name).filter(|v| !v.is_null());
                    match present {
                        None if required.contains(name) => {
                            self.path.push(Segment::Member(name.clone()));
                            self.violation(None, Constraint::Required);
                            self.path.pop();
                        }
                        None => {}
                        Some(v) => self.nested(Segment::Member(name.clone()), member, v)?,
                    }
                }
                Ok(())
            }
            Shape::List { member, min, max, .. } => {
                let Value::Array(items) = value else { return Err(self.mismatch("List", value)) };
                self.length(value, items.len() as u64, *min, *max);
                for (i, item) in items.iter().enumerate() {
                    self.nested(Segment::Index(i + 1), member, item)?;
                }
                Ok(())
            }
            Shape::Map { key, value: member, min, max, .. } => {
                let Value::Object(entries) = value else { return Err(self.mismatch("Map", value)) };
                self.length(value, entries.len() as u64, *min, *max);
                for (k, v) in entries {
                    self.nested(Segment::Key(k.clone()), key, &Value::String(k.clone()))?;
                    self.nested(Segment::Key(k.clone()), member, v)?;
                }
                Ok(())
            }
            Shape::String { min, max, pattern: regex, values } => {
                let Value::String(text) = value else { return Err(self.mismatch("String", value)) };
                // AWS counts UTF-16 code units, as Java's String.length does.
                self.length(value, text.encode_utf16().count() as u64, *min, *max);
                if let Some(values) = values
                    && !values.iter().any(|v| v == text)
                {
                    self.violation(Some(value), Constraint::Enum(values.clone()));
                }
                if let Some(regex) = regex
                    && !pattern::matches(regex, text)
                {
                    self.violation(Some(value), Constraint::Pattern(regex.clone()));
                }
                Ok(())
            }
            Shape::Integer(range) => {
                let Some(number) = value.as_i64() else { return Err(self.mismatch("Integer", value)) };
                self.range(value, number as f64, range);
                Ok(())
            }
            Shape::Long(range) => {
                let Some(number) = value.as_i64() else { return Err(self.mismatch("Long", value)) };
                self.range(value, number as f64, range);
                Ok(())
            }
            Shape::Float(range) | Shape::Double(range) => {
                let Some(number) = value.as_f64() else { return Err(self.mismatch("Double", value)) };
                self.range(value, number, range);
                Ok(())
            }
            Shape::Boolean => {
                if value.is_boolean() {
                    Ok(())
                } else {
                    Err(self.mismatch("Boolean", value))
                }
            }
            Shape::Timestamp => {
                if value.is_number() {
                    Ok(())
                } else {
                    Err(self.mismatch("Timestamp", value))
                }
            }
            Shape::Blob => {
                if value.is_string() {
                    Ok(())
                } else {
                    Err(self.mismatch("Blob", value))
                }
            }
        }
    }

    fn length(&mut self, value: &Value, length: u64, min: Option<u64>, max: Option<u64>) {
        if let Some(min) = min.filter(|min| length < *min) {
            self.violation(Some(value), Constraint::MinLength(min));
        }
        if let Some(max) = max.filter(|max| length > *max) {
            self.violation(Some(value), Constraint::MaxLength(max));
        }
    }

    fn range(&mut self, value: &Value, number: f64, range: &Range) {
        let stricter = overrides::range(self.service, self.operation, &self.path);
        let min = stricter.and_then(|r| r.min).or(range.min);
        let max = stricter.and_then(|r| r.max).or(range.max);
        if let Some(min) = min.filter(|min| number < *min) {
            self.violation(Some(value), Constraint::MinValue(min));
        }
        if let Some(max) = max.filter(|max| number > *max) {
            self.violation(Some(value), Constraint::MaxValue(max));
        }
    }
}
