//! Writing TOML the way the reference specs are written: bare keys where
//! they may be, inline tables, and arrays of tables one per line when there
//! are several.

/// A value of the spec.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum V {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(Vec<V>),
    Table(Vec<(String, V)>),
}

impl V {
    pub(crate) fn str(text: impl Into<String>) -> V {
        V::Str(text.into())
    }

    pub(crate) fn strs<'a>(items: impl IntoIterator<Item = &'a String>) -> V {
        V::List(items.into_iter().map(|s| V::Str(s.clone())).collect())
    }

    pub(crate) fn map<'a>(items: impl IntoIterator<Item = (&'a String, &'a String)>) -> V {
        V::Table(items.into_iter().map(|(k, v)| (k.clone(), V::Str(v.clone()))).collect())
    }

    fn is_table(&self) -> bool {
        matches!(self, V::Table(_))
    }
}

/// A basic string, escaped.
pub(crate) fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A key, bare when TOML allows it.
pub(crate) fn key(text: &str) -> String {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        text.to_owned()
    } else {
        string(text)
    }
}

/// The value on one line.
pub(crate) fn inline(value: &V) -> String {
    match value {
        V::Str(text) => string(text),
        V::Int(n) => n.to_string(),
        V::Float(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.1}"),
        V::Float(x) => x.to_string(),
        V::Bool(b) => b.to_string(),
        V::List(items) => format!("[{}]", items.iter().map(inline).collect::<Vec<_>>().join(", ")),
        V::Table(entries) if entries.is_empty() => "{}".to_owned(),
        V::Table(entries) => format!(
            "{{ {} }}",
            entries.iter().map(|(k, v)| format!("{} = {}", key(k), inline(v))).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// `key = value`, an array of several tables (or a long array) one item per line.
pub(crate) fn line(name: &str, value: &V) -> String {
    let one = format!("{} = {}", key(name), inline(value));
    match value {
        V::List(items) if items.len() > 1 && (items.iter().any(V::is_table) || one.len() > 100) => {
            let mut out = format!("{} = [\n", key(name));
            for item in items {
                out.push_str(&format!("  {},\n", inline(item)));
            }
            out.push(']');
            out
        }
        _ => one,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_keys_are_escaped_only_when_needed() {
        assert_eq!(string("a \"b\" \\ c\n"), r#""a \"b\" \\ c\n""#);
        assert_eq!(key("cost-center"), "cost-center");
        assert_eq!(key("livy.server.session.timeout"), "\"livy.server.session.timeout\"");
        assert_eq!(key("sagemaker:studio-visibility:emr"), "\"sagemaker:studio-visibility:emr\"");
        assert_eq!(inline(&V::Float(60.0)), "60.0");
        assert_eq!(inline(&V::Float(0.5)), "0.5");
    }

    #[test]
    fn several_tables_go_one_per_line() {
        let rule = |port: i64| V::Table(vec![("protocol".into(), V::str("tcp")), ("ports".into(), V::Int(port))]);
        assert_eq!(line("ingress", &V::List(vec![rule(22)])), "ingress = [{ protocol = \"tcp\", ports = 22 }]");
        assert_eq!(
            line("ingress", &V::List(vec![rule(22), rule(8998)])),
            "ingress = [\n  { protocol = \"tcp\", ports = 22 },\n  { protocol = \"tcp\", ports = 8998 },\n]"
        );
    }
}
