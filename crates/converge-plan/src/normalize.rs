//! One canonical spelling for everything AWS spells several ways, so that a
//! plan against the state a successful apply leaves behind is empty.

use serde_json::Value as Json;

pub(crate) use converge_ops::canonical_cidr as cidr;

/// `s3n://bucket/x` → `s3://bucket/x` (EMRFS treats them alike).
pub(crate) fn s3_uri(text: &str) -> String {
    match text.strip_prefix("s3n://") {
        Some(rest) => format!("s3://{rest}"),
        None => text.to_owned(),
    }
}

/// IAM's URL encoding undone: the model's decoder (live state read from AWS is
/// decoded already; a hand-written snapshot may not be).
pub use converge_model::live::decode_policy;

/// An IAM policy in canonical form: URL-decoded, keys sorted, single strings
/// made one-element lists, lists of strings sorted, statements sorted.
/// Returns `None` when the text is not JSON (then it is compared verbatim).
pub(crate) fn policy(text: &str) -> Option<String> {
    let decoded = decode_policy(text);
    let mut document: Json = serde_json::from_str(&decoded).ok()?;
    if let Some(object) = document.as_object_mut()
        && let Some(statement) = object.get_mut("Statement")
    {
        {
            if statement.is_object() {
                *statement = Json::Array(vec![statement.take()]);
            }
            if let Json::Array(statements) = statement {
                for statement in statements.iter_mut() {
                    canonical_statement(statement);
                }
                let mut keyed: Vec<(String, Json)> =
                    statements.drain(..).map(|s| (sorted(&s).to_string(), s)).collect();
                keyed.sort_by(|a, b| a.0.cmp(&b.0));
                keyed.dedup_by(|a, b| a.0 == b.0);
                statements.extend(keyed.into_iter().map(|(_, s)| s));
            }
        }
    }
    serde_json::to_string_pretty(&sorted(&document)).ok()
}

fn canonical_statement(statement: &mut Json) {
    let Some(object) = statement.as_object_mut() else { return };
    for key in ["Action", "NotAction", "Resource", "NotResource"] {
        if let Some(value) = object.get_mut(key) {
            string_list(value);
        }
    }
    for key in ["Principal", "NotPrincipal"] {
        if let Some(Json::Object(principals)) = object.get_mut(key) {
            for value in principals.values_mut() {
                string_list(value);
            }
        }
    }
    if let Some(Json::Object(conditions)) = object.get_mut("Condition") {
        for operator in conditions.values_mut() {
            if let Json::Object(keys) = operator {
                for value in keys.values_mut() {
                    string_list(value);
                }
            }
        }
    }
}

/// A string becomes a one-element list; a list of strings is sorted and deduplicated.
fn string_list(value: &mut Json) {
    if let Json::String(s) = value {
        *value = Json::Array(vec![Json::String(s.clone())]);
    }
    if let Json::Array(items) = value
        && items.iter().all(Json::is_string)
    {
        items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        items.dedup();
    }
}

/// A copy with every object's keys in sorted order.
fn sorted(value: &Json) -> Json {
    match value {
        Json::Object(object) => {
            let mut entries: Vec<(&String, &Json)> = object.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Json::Object(entries.into_iter().map(|(k, v)| (k.clone(), sorted(v))).collect())
        }
        Json::Array(items) => Json::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Any JSON value in canonical (sorted keys, pretty) text.
pub(crate) fn json(value: &Json) -> String {
    serde_json::to_string_pretty(&sorted(value)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_compare_by_meaning() {
        let a = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":["sts:AssumeRole"]}]}"#;
        let b = r#"{"Statement":[{"Action":"sts:AssumeRole","Principal":{"Service":["ec2.amazonaws.com"]},"Effect":"Allow"},{"Resource":["*"],"Action":["s3:GetObject"],"Effect":"Allow"}],"Version":"2012-10-17"}"#;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22*%22%7D%2C%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ec2.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
        assert_eq!(policy(a), policy(b));
        assert_eq!(policy(a), policy(encoded));
        let different = a.replace("s3:GetObject", "s3:PutObject");
        assert_ne!(policy(a), policy(&different));
        assert_eq!(policy("not json"), None);
    }

    #[test]
    fn spellings_fold() {
        assert_eq!(s3_uri("s3n://logs/emr/"), "s3://logs/emr/");
        assert_eq!(cidr("100.68.0.18/18"), "100.68.0.0/18");
    }
}
