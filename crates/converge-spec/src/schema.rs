//! The spec language as a JSON Schema (for editors such as taplo) and as the
//! Markdown key reference of `docs/spec.md`, both generated from [`crate::shape`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use crate::codes::{self, Severity};
use crate::shape::{self, Field, Shape};

/// The JSON Schema (draft 2020-12) of a converge spec.
pub fn json_schema() -> Value {
    let mut generator = Generator::default();
    let mut properties = Map::new();
    properties.insert(
        "stack".into(),
        generator.field_schema("The stack: name, region, account, default tags.", shape::stack()),
    );
    for (kind, resource, doc) in shape::KINDS {
        let resource = generator.shape(resource);
        properties.insert(
            kind.key().into(),
            json!({
                "description": doc,
                "type": "object",
                "propertyNames": { "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$" },
                "additionalProperties": resource,
            }),
        );
    }
    properties.insert("env".into(), environments_schema(&properties));
    // With environments, the base's `[stack]` may leave values to each of them.
    let stack_required = properties["stack"]["required"].clone();
    if let Some(stack) = properties.get_mut("stack") {
        stack["required"] = json!([]);
    }
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://converge.invalid/schema/spec-v1.json",
        "title": "converge spec",
        "description": "The desired state of a SageMaker Studio + EMR platform, checked and applied by converge.",
        "type": "object",
        "additionalProperties": false,
        "required": ["stack"],
        "properties": properties,
        "if": { "not": { "required": ["env"] } },
        "then": { "properties": { "stack": { "required": stack_required } } },
    });
    if !generator.defs.is_empty() {
        schema["$defs"] = Value::Object(generator.defs.into_iter().collect());
    }
    schema
}

/// `[env.<name>]`: per environment, `omit` and partial overrides of `stack`
/// and of the base's resources (every key optional, none unknown).
fn environments_schema(base: &Map<String, Value>) -> Value {
    let mut overrides = Map::new();
    for (key, schema) in base {
        overrides.insert(key.clone(), optional(schema.clone()));
    }
    overrides.insert(
        "omit".into(),
        json!({
            "description": "Resources of the base this environment does not have (`sagemaker_user.dana`).",
            "type": "array",
            "items": { "type": "string", "pattern": "^[a-z_]+\\.[A-Za-z0-9][A-Za-z0-9_-]{0,63}$" },
        }),
    );
    json!({
        "description": "Environments: per environment (`[env.staging]`), the values that differ from the base. Tables merge key by key; other values replace the base's.",
        "type": "object",
        "propertyNames": { "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$" },
        "additionalProperties": { "type": "object", "additionalProperties": false, "properties": overrides },
    })
}

/// The schema with every `required` list dropped: an override sets only what differs.
fn optional(mut schema: Value) -> Value {
    match &mut schema {
        Value::Object(object) => {
            object.remove("required");
            // Arrays are replaced whole, so their items stay complete.
            for (_, value) in object.iter_mut().filter(|(key, _)| key.as_str() != "items") {
                *value = optional(value.take());
            }
        }
        Value::Array(items) => {
            for item in items {
                *item = optional(item.take());
            }
        }
        _ => {}
    }
    schema
}

#[derive(Default)]
struct Generator {
    /// Shapes being generated, innermost last (to spot recursion).
    visiting: Vec<*const Shape>,
    /// Recursive shapes and the name of their definition.
    recursive: BTreeMap<usize, String>,
    defs: BTreeMap<String, Value>,
}

impl Generator {
    fn field_schema(&mut self, doc: &str, shape: &'static Shape) -> Value {
        let mut schema = self.shape(shape);
        if let Value::Object(object) = &mut schema {
            object.insert("description".into(), Value::String(doc.into()));
        }
        schema
    }

    fn shape(&mut self, shape: &'static Shape) -> Value {
        let pointer = std::ptr::from_ref(shape);
        if self.visiting.contains(&pointer) {
            let name = format!("recursive{}", self.recursive.len() + 1);
            let name = self.recursive.entry(pointer as usize).or_insert(name).clone();
            return json!({ "$ref": format!("#/$defs/{name}") });
        }
        self.visiting.push(pointer);
        let schema = match shape {
            Shape::Str => json!({ "type": "string" }),
            Shape::Enum(values) => json!({ "enum": values }),
            Shape::Int { min, max, .. } => {
                let mut schema = json!({ "type": "integer" });
                if let Some(min) = min {
                    schema["minimum"] = json!(min);
                }
                if let Some(max) = max {
                    schema["maximum"] = json!(max);
                }
                schema
            }
            Shape::Float { min, max } => json!({ "type": "number", "minimum": min, "maximum": max }),
            Shape::Bool => json!({ "type": "boolean" }),
            Shape::Array(item) => json!({ "type": "array", "items": self.shape(item) }),
            Shape::Table(_) | Shape::Resource(_) => {
                let mut properties = Map::new();
                let mut required = Vec::new();
                for field in shape.fields() {
                    properties.insert(field.key.into(), self.field_schema(field.doc, field.shape));
                    if field.required {
                        required.push(field.key);
                    }
                }
                json!({ "type": "object", "additionalProperties": false, "properties": properties, "required": required })
            }
            Shape::Map(item) => json!({ "type": "object", "additionalProperties": self.shape(item) }),
            Shape::OneOf(alternatives) => {
                let alternatives: Vec<Value> = alternatives.iter().map(|a| self.shape(a)).collect();
                json!({ "anyOf": alternatives })
            }
        };
        self.visiting.pop();
        match self.recursive.get(&(pointer as usize)) {
            Some(name) => {
                self.defs.insert(name.clone(), schema);
                json!({ "$ref": format!("#/$defs/{name}") })
            }
            None => schema,
        }
    }
}

/// The key reference and the list of diagnostic codes, as Markdown.
pub fn markdown_reference() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### `[stack]`\n");
    table(&mut out, &shape::stack().fields());
    for (kind, resource, doc) in shape::KINDS {
        let _ = writeln!(out, "### `[{}.<name>]`\n\n{doc}\n", kind.key());
        table(&mut out, &resource.fields());
        for field in resource.fields() {
            nested(&mut out, &format!("{}.<name>.{}", kind.key(), field.key), field.shape, 0);
        }
    }
    let _ = writeln!(out, "### Diagnostic codes\n");
    let _ = writeln!(out, "| code | severity | meaning |\n|---|---|---|");
    for code in codes::ALL {
        let severity = if code.severity == Severity::Error { "error" } else { "warning" };
        let _ = writeln!(out, "| `{}` | {severity} | {} |", code.name, code.summary);
    }
    out
}

fn nested(out: &mut String, path: &str, shape: &'static Shape, depth: usize) {
    if depth > 2 {
        return;
    }
    let inner = match shape {
        Shape::Array(item) => item,
        Shape::Map(item) => item,
        other => other,
    };
    let table_shape = match inner {
        Shape::Table(_) => Some(inner),
        Shape::OneOf(alternatives) => alternatives.iter().find(|a| matches!(a, Shape::Table(_))),
        _ => None,
    };
    if let Some(table_shape) = table_shape {
        let suffix = match shape {
            Shape::Array(_) => "[]",
            Shape::Map(_) => ".<key>",
            _ => "",
        };
        let _ = writeln!(out, "#### `{path}{suffix}`\n");
        table(out, &table_shape.fields());
        for field in table_shape.fields() {
            if !std::ptr::eq(field.shape, shape) {
                nested(out, &format!("{path}{suffix}.{}", field.key), field.shape, depth + 1);
            }
        }
    }
}

fn table(out: &mut String, fields: &[&'static Field]) {
    let _ = writeln!(out, "| key | type | required | meaning |\n|---|---|---|---|");
    for field in fields {
        let required = if field.required { "yes" } else { "" };
        let _ = writeln!(out, "| `{}` | {} | {required} | {} |", field.key, type_text(field.shape), field.doc);
    }
    out.push('\n');
}

fn type_text(shape: &Shape) -> String {
    match shape {
        Shape::Str => "string".into(),
        Shape::Enum(values) => values.iter().map(|v| format!("`\"{v}\"`")).collect::<Vec<_>>().join(" \\| "),
        Shape::Int { min: Some(min), max: Some(max), .. } => format!("integer {min}-{max}"),
        Shape::Int { min: Some(min), max: None, .. } => format!("integer ≥ {min}"),
        Shape::Int { .. } => "integer".into(),
        Shape::Float { min, max } => format!("number {min}-{max}"),
        Shape::Bool => "boolean".into(),
        Shape::Array(item) => format!("array of {}", type_text(item)),
        Shape::Table(_) | Shape::Resource(_) => "table".into(),
        Shape::Map(item) => format!("table of {}", type_text(item)),
        Shape::OneOf(alternatives) => alternatives.iter().map(type_text).collect::<Vec<_>>().join(" or "),
    }
}
