//! One AWS, checked twice: the same sequences of specs applied through the
//! in-memory AWS (`converge-memory`, the oracle of the planner's property
//! tests) and through the AWS executor against the sandbox (the model every
//! end-to-end test meets, which cites AWS for each behaviour) leave the same
//! account, ids aside. Where they differ the sandbox is right
//! (docs/aws-fidelity.md): fix `converge-memory`.

mod common;

use std::collections::BTreeMap;

use common::{Env, reference, spec};
use converge_model::live::{OWNER_ADDRESS_TAG, OWNER_STACK_TAG};
use converge_model::{LiveState, Spec};
use proptest::prelude::*;
use serde_json::Value;

/// `text` with `from` replaced, or as it is when an earlier edit took `from` away.
fn edit(text: &str, from: &str, to: &str) -> String {
    text.replacen(from, to, 1)
}

/// Versions of the Studio platform a team goes through: each a spec edit.
fn variant(text: &str, which: u8) -> String {
    match which {
        // A rule added to a group.
        0 => edit(
            text,
            r#"ingress = [{ protocol = "tcp", ports = 8998, source = "studio", description = "Livy from Studio" }]"#,
            r#"ingress = [{ protocol = "tcp", ports = 8998, source = "studio", description = "Livy from Studio" }, { protocol = "tcp", ports = "18080-18081", cidr = "10.0.1.0/24", description = "Spark history UI" }]"#,
        ),
        // A managed policy detached.
        1 => edit(text, "  \"arn:aws:iam::aws:policy/AmazonS3FullAccess\",\n", ""),
        // A fleet resized.
        2 => edit(text, "on_demand = 2", "on_demand = 3"),
        // A task fleet added.
        3 if text.contains("[emr_cluster.notebooks.task]") => text.to_owned(),
        3 => format!("{text}\n[emr_cluster.notebooks.task]\ninstance_types = [\"m5.xlarge\"]\nspot = 2\n"),
        // A portfolio reworded.
        4 => edit(text, "EMR clusters data scientists can launch from SageMaker Studio", "EMR clusters for notebooks"),
        // A user's own settings.
        5 if text.contains("security_groups = [\"studio\"]\n\n[catalog") => text.to_owned(),
        5 => edit(
            text,
            "[sagemaker_user.alice]\ndomain = \"studio\"\nexecution_role = \"sagemaker_execution\"",
            "[sagemaker_user.alice]\ndomain = \"studio\"\nexecution_role = \"sagemaker_execution\"\nsecurity_groups = [\"studio\"]",
        ),
        // A role's description and tags.
        _ => edit(
            text,
            "description = \"Service Catalog launch role for EMR templates\"",
            "description = \"Launch role of the EMR templates\"\ntags = { purpose = \"launch\" }",
        ),
    }
}

/// The resources a stack owns, as JSON, with every AWS id replaced by the
/// address of what it names and every list in a stable order.
fn projection(live: &LiveState, stack: &str) -> Value {
    let mut document = serde_json::to_value(live).expect("a live state serialises");
    let kinds = [
        "subnets",
        "security_groups",
        "iam_roles",
        "sagemaker_domains",
        "sagemaker_users",
        "catalog_portfolios",
        "catalog_products",
        "emr_clusters",
    ];
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut owned = serde_json::Map::new();
    for kind in kinds {
        let items: Vec<Value> = document[kind]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|item| item["tags"][OWNER_STACK_TAG] == stack)
            .filter(|item| item["state"].as_str().is_none_or(|s| !s.starts_with("TERMINAT")))
            .collect();
        for item in &items {
            let address = item["tags"][OWNER_ADDRESS_TAG].as_str().unwrap_or_default();
            for key in ["id", "arn", "domain_arn", "user_profile_arn", "portfolio_arn", "product_arn", "cluster_arn"] {
                if let Some(id) = item[key].as_str().filter(|id| !id.is_empty()) {
                    ids.insert(id.to_owned(), format!("<{address}>"));
                }
            }
        }
        owned.insert(kind.to_owned(), Value::Array(items));
    }
    document = Value::Object(owned);
    normalise(&mut document, &ids);
    document
}

/// What each model fills in its own way and converge never compares: kept
/// out, each with its reason.
const UNCOMPARED: &[(&str, &str)] = &[
    ("created", "a time"),
    ("last_modified", "a time"),
    ("master_dns", "a host name the sandbox makes up"),
    ("home_efs_id", "the id of the home file system SageMaker makes, which neither side tags"),
    ("url", "the Studio URL, made of the domain id"),
    ("template", "read only for a product version converge did not name by its content"),
    ("template_url", "the same"),
    ("provisioned_on_demand", "where a resize has got to, in AWS's own time; converge compares targets"),
    ("provisioned_spot", "the same"),
];

fn normalise(value: &mut Value, ids: &BTreeMap<String, String>) {
    match value {
        Value::String(text) => {
            for (id, address) in ids.iter().rev() {
                if text.contains(id.as_str()) {
                    *text = text.replace(id.as_str(), address);
                }
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                normalise(item, ids);
            }
            items.sort_by_key(ToString::to_string);
        }
        Value::Object(members) => {
            members.retain(|key, _| !UNCOMPARED.iter().any(|(k, _)| k == key));
            for member in members.values_mut() {
                normalise(member, ids);
            }
            // The id of a part without tags of its own (a product version, a constraint).
            if let Some(Value::String(id)) = members.get_mut("id")
                && !id.starts_with('<')
            {
                *id = "<id>".to_owned();
            }
        }
        _ => {}
    }
}

/// The first lines where the two projections differ, with some context.
fn difference(memory: &Value, sandbox: &Value) -> Option<String> {
    let (a, b) = (
        serde_json::to_string_pretty(memory).unwrap_or_default(),
        serde_json::to_string_pretty(sandbox).unwrap_or_default(),
    );
    if a == b {
        return None;
    }
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let first = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let from = first.saturating_sub(12);
    let show = |lines: &[&str]| lines.iter().skip(from).take(24).copied().collect::<Vec<_>>().join("\n");
    Some(format!("memory:\n{}\n\nsandbox:\n{}", show(&a), show(&b)))
}

/// Applies each spec in turn both ways and compares after each.
async fn compare(specs: &[Spec]) -> Result<(), String> {
    let first = &specs[0];
    let env = Env::start(first).await;
    let mut memory = LiveState::before_converge(first);
    let stack = first.stack.name.clone();
    let mut outcome = Ok(());
    for (round, spec) in specs.iter().enumerate() {
        let plan = converge_plan::plan(spec, &memory).map_err(|e| format!("round {round}: no plan: {e:?}"))?;
        memory = converge_memory::run(memory, &plan.steps)
            .map_err(|f| format!("round {round}: memory refused step {}: {}", f.step, f.error))?;
        env.apply(spec).await;
        let live = env.read(spec).await;
        if let Some(diff) = difference(&projection(&memory, &stack), &projection(&live, &stack)) {
            outcome = Err(format!("round {round}: the two AWSs differ\n{diff}"));
            break;
        }
    }
    env.stop().await;
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_platforms_end_the_same_in_both() {
    for name in ["studio-emr.toml", "etl-cluster.toml"] {
        let spec = spec(&reference(name));
        if let Err(diff) = compare(&[spec]).await {
            panic!("{name}: {diff}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random sequences of edits of the Studio platform, applied in turn.
    #[test]
    fn random_edit_sequences_end_the_same_in_both(edits in proptest::collection::vec(0u8..7, 1..4)) {
        let text = reference("studio-emr.toml");
        let mut specs = vec![spec(&text)];
        let mut current = text.clone();
        for which in &edits {
            current = variant(&current, *which);
            specs.push(spec(&current));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        if let Err(diff) = runtime.block_on(compare(&specs)) {
            return Err(TestCaseError::fail(format!("edits {edits:?}: {diff}")));
        }
    }
}
