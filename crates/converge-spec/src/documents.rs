//! Loads the documents a spec names (IAM policies, CloudFormation templates)
//! through the caller's [`FileLoader`] and checks what AWS would reject.

use std::borrow::Cow;

use converge_model::{Address, Document, Kind, Spec};
use saphyr::{LoadableYamlNode as _, Scalar, Yaml};

use crate::FileLoader;
use crate::check::{SourceMap, child};
use crate::codes;
use crate::diagnostic::{Diagnostic, Location};
use crate::source::SourceFile;

/// IAM's limit on the aggregate size of a role's inline policies (non-whitespace characters).
const INLINE_POLICY_LIMIT: usize = 10_240;
/// The largest template Service Catalog loads from S3.
const TEMPLATE_LIMIT: usize = 1_000_000;

pub(crate) fn load(
    spec: &mut Spec,
    map: &SourceMap,
    loader: &dyn FileLoader,
    sources: &mut Vec<SourceFile>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let spec_name = sources[0].name.clone();
    for (name, role) in &mut spec.iam_roles {
        let address = Address::new(Kind::IamRole, name.clone());
        let mut total = 0;
        for (policy_name, document) in &mut role.inline_policies {
            let path = child(&format!("{address}.inline_policies"), policy_name);
            let Some(file) = read(document, &path, &address, &spec_name, map, loader, sources, diagnostics) else {
                continue;
            };
            total += document.text.chars().filter(|c| !c.is_whitespace()).count();
            check_policy(&document.text, file, &path, &address, map, sources, diagnostics);
        }
        if total > INLINE_POLICY_LIMIT {
            let path = format!("{address}.inline_policies");
            diagnostics.push(
                Diagnostic::new(
                    codes::INVALID_POLICY,
                    format!(
                        "the inline policies of `{address}` have {total} characters; IAM allows {INLINE_POLICY_LIMIT}"
                    ),
                )
                .at(map.key(&path).map(|span| Location { file: 0, span }))
                .address(&address)
                .hint("move some statements into a managed policy and list it in `managed_policies`"),
            );
        }
    }
    for (name, product) in &mut spec.catalog_products {
        let address = Address::new(Kind::CatalogProduct, name.clone());
        let path = format!("{address}.template");
        let Some(file) = read(&mut product.template, &path, &address, &spec_name, map, loader, sources, diagnostics)
        else {
            continue;
        };
        check_template(&product.template.text, file, product.studio_visible, &path, &address, map, diagnostics);
    }
}

/// Fills `document.text` from its file. Returns the index of the source
/// holding the text (the spec itself for inline documents).
#[expect(clippy::too_many_arguments, reason = "one call site per document kind")]
fn read(
    document: &mut Document,
    path: &str,
    address: &Address,
    spec_name: &str,
    map: &SourceMap,
    loader: &dyn FileLoader,
    sources: &mut Vec<SourceFile>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<usize> {
    let Some(file) = document.file.clone() else {
        return Some(0);
    };
    match loader.load(&file) {
        Ok(text) => {
            document.text = text.clone();
            sources.push(SourceFile::new(beside(spec_name, &file), text));
            Some(sources.len() - 1)
        }
        Err(reason) => {
            diagnostics.push(
                Diagnostic::new(codes::FILE_NOT_FOUND, format!("cannot read `{file}`: {reason}"))
                    .at(map.value(path).map(|span| Location { file: 0, span }))
                    .label("named here")
                    .address(address)
                    .hint(format!(
                        "paths are relative to the spec's directory; `{}` was looked for",
                        beside(spec_name, &file)
                    )),
            );
            None
        }
    }
}

/// `specs/x.toml` + `policies/p.json` → `specs/policies/p.json`
fn beside(spec_name: &str, relative: &str) -> String {
    match spec_name.rfind('/') {
        Some(i) => format!("{}/{relative}", &spec_name[..i]),
        None => relative.to_owned(),
    }
}

fn location_in(file: usize, text: &str, needle: Option<&str>, map: &SourceMap, path: &str) -> Option<Location> {
    if file == 0 {
        return map.value(path).map(|span| Location { file: 0, span });
    }
    let span = needle
        .and_then(|needle| text.find(needle).map(|start| start..start + needle.len()))
        .unwrap_or(0..text.find('\n').unwrap_or(text.len()));
    Some(Location { file, span })
}

fn check_policy(
    text: &str,
    file: usize,
    path: &str,
    address: &Address,
    map: &SourceMap,
    sources: &[SourceFile],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let invalid = |message: String, location: Option<Location>, hint: &str| {
        Diagnostic::new(codes::INVALID_POLICY, message).at(location).address(address).hint(hint.to_owned())
    };
    let document: serde_json::Value = match serde_json::from_str(text) {
        Ok(document) => document,
        Err(error) => {
            let location = if file == 0 {
                map.value(path).map(|span| Location { file: 0, span })
            } else {
                let offset = sources[file].offset_of(error.line(), error.column());
                Some(Location { file, span: offset..offset + 1 })
            };
            let message = format!("the policy `{}` is not valid JSON: {error}", crate::check::last_key(path));
            diagnostics.push(invalid(
                message,
                location,
                "IAM policies are JSON documents with `Version` and `Statement`",
            ));
            return;
        }
    };
    let policy = crate::check::last_key(path);
    let whole = location_in(file, text, None, map, path);
    let Some(object) = document.as_object() else {
        diagnostics.push(invalid(
            format!("the policy `{policy}` must be a JSON object"),
            whole,
            "write `{ \"Version\": \"2012-10-17\", \"Statement\": [ … ] }`",
        ));
        return;
    };
    if let Some(version) = object.get("Version").and_then(|v| v.as_str())
        && version != "2012-10-17"
        && version != "2008-10-17"
    {
        let at = location_in(file, text, Some(version), map, path);
        diagnostics.push(invalid(
            format!("the policy `{policy}` has the unknown version `{version}`"),
            at,
            "use `\"Version\": \"2012-10-17\"`",
        ));
    }
    let statements: Vec<&serde_json::Value> = match object.get("Statement") {
        Some(serde_json::Value::Array(statements)) => statements.iter().collect(),
        Some(statement @ serde_json::Value::Object(_)) => vec![statement],
        _ => {
            diagnostics.push(invalid(
                format!("the policy `{policy}` has no `Statement`"),
                whole,
                "add `\"Statement\": [ { \"Effect\": \"Allow\", \"Action\": …, \"Resource\": … } ]`",
            ));
            return;
        }
    };
    for (i, statement) in statements.iter().enumerate() {
        let sid = statement.get("Sid").and_then(|s| s.as_str());
        let at = location_in(file, text, sid, map, path);
        let name = sid.map_or_else(|| format!("statement {}", i + 1), |sid| format!("statement `{sid}`"));
        match statement.get("Effect").and_then(|e| e.as_str()) {
            Some("Allow" | "Deny") => {}
            _ => diagnostics.push(invalid(
                format!("{name} of the policy `{policy}` needs `\"Effect\": \"Allow\"` or `\"Deny\"`"),
                at.clone(),
                "set `Effect` to `Allow` or `Deny`",
            )),
        }
        if statement.get("Action").is_none() && statement.get("NotAction").is_none() {
            diagnostics.push(invalid(
                format!("{name} of the policy `{policy}` has no `Action`"),
                at.clone(),
                "list the allowed actions, e.g. `\"Action\": [\"elasticmapreduce:ListClusters\"]`",
            ));
        }
        if statement.get("Resource").is_none() && statement.get("NotResource").is_none() {
            diagnostics.push(invalid(
                format!("{name} of the policy `{policy}` has no `Resource`"),
                at,
                "add `\"Resource\": \"*\"` or the ARNs the statement covers",
            ));
        }
    }
    if let Some(placeholder) = find_placeholder(text) {
        let at = location_in(file, text, Some(&placeholder), map, path);
        diagnostics.push(invalid(
            format!("the policy `{policy}` still contains the placeholder `{placeholder}`"),
            at,
            "replace it with the real value (the stack's region or account id)",
        ));
    }
}

/// `<region>`, `<account-id>` and the like, left over from copied examples.
fn find_placeholder(text: &str) -> Option<String> {
    let start = text.find('<')?;
    let end = start + text[start..].find('>')?;
    let inner = &text[start + 1..end];
    let looks_like = !inner.is_empty()
        && inner.len() <= 40
        && inner.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    looks_like.then(|| text[start..=end].to_owned())
}

fn check_template(
    text: &str,
    file: usize,
    studio_visible: bool,
    path: &str,
    address: &Address,
    map: &SourceMap,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let invalid = |message: String, location: Option<Location>, hint: &str| {
        Diagnostic::new(codes::INVALID_TEMPLATE, message).at(location).address(address).hint(hint.to_owned())
    };
    if text.len() > TEMPLATE_LIMIT {
        diagnostics.push(invalid(
            format!("the template has {} bytes; Service Catalog loads at most {TEMPLATE_LIMIT}", text.len()),
            location_in(file, text, None, map, path),
            "split the template or move resources into nested stacks",
        ));
        return;
    }
    let documents = match Yaml::load_from_str(text) {
        Ok(documents) => documents,
        Err(error) => {
            let location = if file == 0 {
                location_in(file, text, None, map, path)
            } else {
                // saphyr's lines count from 1 and its columns from 0.
                let at = error.marker();
                let offset = SourceFile::new("", text).offset_of(at.line(), at.col() + 1);
                Some(Location { file, span: offset..(offset + 1).min(text.len()) })
            };
            let message = format!("the template is not valid YAML or JSON: {}", error.info());
            diagnostics.push(invalid(
                message,
                location,
                "CloudFormation templates are YAML or JSON; check quotes and indentation",
            ));
            return;
        }
    };
    let document = documents.first();
    let resources = document.and_then(|d| yaml_get(d, "Resources")).and_then(Yaml::as_mapping);
    if resources.is_none_or(|resources| resources.is_empty()) {
        diagnostics.push(invalid(
            "the template has no `Resources`".into(),
            location_in(file, text, None, map, path),
            "a CloudFormation template needs a `Resources` section with at least one resource",
        ));
        return;
    }
    if studio_visible {
        let parameters = document.and_then(|d| yaml_get(d, "Parameters"));
        let missing: Vec<&str> = ["SageMakerProjectName", "SageMakerProjectId"]
            .into_iter()
            .filter(|name| parameters.and_then(|p| yaml_get(p, name)).is_none())
            .collect();
        if !missing.is_empty() {
            diagnostics.push(
                Diagnostic::new(
                    codes::STUDIO_TEMPLATE_PARAMETERS,
                    format!("the Studio template of `{address}` lacks the parameters {}", crate::shape::quoted_list(&missing)),
                )
                .at(map.value(path).map(|span| Location { file: 0, span }))
                .address(address)
                .hint("Studio passes `SageMakerProjectName` and `SageMakerProjectId` when it launches the template; declare both as `Type: String` parameters"),
            );
        }
    }
}

/// The value of `key` in a YAML mapping (`None` for a missing key or a node that is not a mapping).
pub(crate) fn yaml_get<'a, 'input>(node: &'a Yaml<'input>, key: &str) -> Option<&'a Yaml<'input>> {
    node.as_mapping()?.get(&Yaml::Value(Scalar::String(Cow::Owned(key.to_owned()))))
}
