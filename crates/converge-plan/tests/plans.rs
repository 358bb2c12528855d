//! Plan scenarios: `fixtures/plan/<case>/{spec.toml, live.json}`.
//!
//! The first line of each `spec.toml` states the case's claim, checked here
//! independently of the snapshots:
//! `# expect: empty`, `# expect: error`, `# expect: error=<code>`, `# expect: create=15`, or
//! `# expect: <address>=<action> …`; `warning=<code>` among the claims says the
//! plan warns with that code (`# expect: empty warning=studio-subnet-offline`). The text and JSON plans (or the errors)
//! are snapshotted; review changes with `cargo insta review`.

#![expect(clippy::disallowed_methods, reason = "a test reads its fixtures")]

use std::path::Path;

use converge_model::{Address, Kind, LiveState, Spec};
use converge_plan::{Action, Plan, PlanError, render};

fn load(dir: &Path) -> (Spec, LiveState, String) {
    let text = std::fs::read_to_string(dir.join("spec.toml")).expect("spec.toml");
    let base = dir.to_path_buf();
    let loader = move |rel: &str| std::fs::read_to_string(base.join(rel)).map_err(|e| e.to_string());
    let checked = converge_spec::check("spec.toml", &text, &loader);
    let rendered = checked.render();
    let spec = checked.spec.unwrap_or_else(|| panic!("{}: invalid spec\n{rendered}", dir.display()));
    let live: LiveState = serde_json::from_str(&std::fs::read_to_string(dir.join("live.json")).expect("live.json"))
        .expect("live.json is a snapshot");
    let expect = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# expect: "))
        .expect("first line states `# expect: …`")
        .to_owned();
    (spec, live, expect)
}

fn action(name: &str) -> Action {
    match name {
        "create" => Action::Create,
        "update" => Action::Update,
        "replace" => Action::Replace,
        "delete" => Action::Delete,
        other => panic!("unknown action `{other}` in an expect line"),
    }
}

fn check_expectation(case: &str, expect: &str, result: &Result<Plan, Vec<PlanError>>) {
    if let (Some(code), Err(errors)) = (expect.strip_prefix("error="), result) {
        let codes: Vec<&str> = errors.iter().map(PlanError::code).collect();
        assert!(codes.contains(&code), "{case}: expected error `{code}`, got {codes:?}");
        return;
    }
    let (warnings, expect): (Vec<&str>, Vec<&str>) =
        expect.split_whitespace().partition(|claim| claim.starts_with("warning="));
    if let Ok(plan) = result {
        let raised: Vec<&str> = plan.warnings.iter().map(|w| w.code).collect();
        let expected: Vec<&str> = warnings.iter().filter_map(|w| w.strip_prefix("warning=")).collect();
        assert_eq!(raised, expected, "{case}: warnings");
    }
    let expect = expect.join(" ");
    match (expect.as_str(), result) {
        ("error", Err(_)) => {}
        ("error", Ok(plan)) => panic!("{case}: expected an error, got {}", render::summary(plan)),
        (claim, Ok(plan)) if claim.starts_with("error=") => {
            panic!("{case}: expected an error, got {}", render::summary(plan))
        }
        (_, Err(errors)) => panic!("{case}: expected a plan, got {errors:?}"),
        ("empty" | "", Ok(plan)) => {
            assert!(plan.is_empty(), "{case}: expected no changes:\n{}", render::text(plan, render::Style::plain()))
        }
        (claims, Ok(plan)) => {
            for claim in claims.split_whitespace() {
                let (target, expected) = claim.split_once('=').expect("claim is address=action or action=count");
                if let Ok(count) = expected.parse::<usize>() {
                    assert_eq!(plan.count(action(target)), count, "{case}: number of `{target}`");
                    continue;
                }
                let (kind, name) = target.split_once('.').expect("address");
                let address = Address::new(Kind::from_key(kind).expect("kind"), name);
                let change = plan.change(&address).unwrap_or_else(|| panic!("{case}: `{address}` has no change"));
                assert_eq!(change.action, action(expected), "{case}: action of `{address}`");
            }
        }
    }
}

#[test]
fn plan_scenarios() {
    insta::glob!("../../../fixtures/plan", "*/spec.toml", |path| {
        let dir = path.parent().expect("case directory");
        let case = dir.file_name().and_then(|n| n.to_str()).expect("case name");
        let (spec, live, expect) = load(dir);
        let result = converge_plan::plan(&spec, &live);
        check_expectation(case, &expect, &result);
        // The planner is deterministic: a second run gives the same plan.
        assert_eq!(converge_plan::plan(&spec, &live), result, "{case}: two runs differ");
        match &result {
            Ok(plan) => {
                insta::assert_snapshot!("text", render::text(plan, render::Style::plain()));
                insta::assert_json_snapshot!("json", render::json(plan));
            }
            Err(errors) => {
                let text: Vec<String> =
                    errors.iter().map(|e| format!("error[{}]: {e}\n\nhint: {}", e.code(), e.hint())).collect();
                insta::assert_snapshot!("errors", text.join("\n\n"));
            }
        }
    });
}

#[test]
fn at_least_twenty_five_scenarios() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/plan");
    let cases = std::fs::read_dir(dir)
        .expect("fixtures/plan")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().join("spec.toml").exists()))
        .count();
    assert!(cases >= 25, "only {cases} plan scenarios");
}

#[test]
fn markdown_has_collapsible_details() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/plan/sg-description-replaces-dependents");
    let (spec, live, _) = load(&dir);
    let plan = converge_plan::plan(&spec, &live).expect("plans");
    insta::assert_snapshot!(render::markdown(&plan));
}

/// The reference spec of the ETL platform, applied by the in-memory AWS.
fn applied_etl_platform() -> (Spec, LiveState) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs");
    let text = std::fs::read_to_string(root.join("etl-cluster.toml")).expect("specs/etl-cluster.toml");
    let loader = move |rel: &str| std::fs::read_to_string(root.join(rel)).map_err(|e| e.to_string());
    let spec = converge_spec::check("etl-cluster.toml", &text, &loader).spec.expect("the reference spec is valid");
    let empty = LiveState {
        version: converge_model::live::LIVE_STATE_VERSION,
        account: spec.stack.account.clone(),
        region: spec.stack.region.clone(),
        vpcs: spec
            .vpcs
            .values()
            .map(|v| converge_model::live::LiveVpc { id: v.id.clone(), cidrs: v.cidrs.clone() })
            .collect(),
        ..LiveState::default()
    };
    let plan = converge_plan::plan(&spec, &empty).expect("plans");
    let live = converge_memory::run(empty, &plan.steps).expect("the creation plan runs");
    (spec, live)
}

fn size_hourly_task(live: &mut LiveState, on_demand: i64, spot: i64) {
    let hourly = live.emr_clusters.iter_mut().find(|c| c.name == "optimus-etl-hourly").expect("the hourly cluster");
    let task = hourly.fleets.iter_mut().find(|f| f.role == converge_model::FleetRole::Task).expect("its task fleet");
    (task.target_on_demand, task.target_spot) = (on_demand, spot);
}

/// The scheduler sizes the hourly cluster's task fleet before each batch
/// (design document 004): a plan in the middle of a batch must not take the
/// capacity away.
#[test]
fn etl_platform_accepts_the_schedulers_task_capacity() {
    let (spec, mut live) = applied_etl_platform();
    assert!(converge_plan::plan(&spec, &live).expect("plans").is_empty());
    size_hourly_task(&mut live, 0, 480);
    let plan = converge_plan::plan(&spec, &live).expect("plans");
    assert!(plan.is_empty(), "{}", render::text(&plan, render::Style::plain()));
    // Beyond the range the spec allows, the target is brought back to the range, not to the minimum.
    size_hourly_task(&mut live, 64, 1200);
    let plan = converge_plan::plan(&spec, &live).expect("plans");
    insta::assert_snapshot!(render::text(&plan, render::Style::plain()));
}

/// `converge output`: each resource's live ids, found by ownership tags; none for what AWS does not hold.
#[test]
fn outputs_name_the_live_ids_of_the_stack() {
    let (spec, mut live) = applied_etl_platform();
    let all = converge_plan::outputs(&spec, &live, None);
    assert_eq!(all.len(), spec.addresses().len());
    let value = |outputs: &[converge_plan::ResourceOutput], address: &str, key: &str| -> Option<String> {
        let output = outputs.iter().find(|o| o.address.to_string() == address)?;
        output.values.as_ref()?.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone())
    };
    let hourly = live.emr_clusters.iter().find(|c| c.name == "optimus-etl-hourly").expect("the hourly cluster");
    assert_eq!(value(&all, "emr_cluster.hourly", "id").as_ref(), Some(&hourly.id));
    assert_eq!(value(&all, "emr_cluster.hourly", "state").as_deref(), Some("WAITING"));
    assert_eq!(value(&all, "vpc.etl", "id").as_deref(), Some("vpc-0a1b2c3d4e5f60718"), "a VPC's id is the spec's");
    for output in &all {
        let key = if output.address.kind == converge_model::Kind::IamRole { "arn" } else { "id" };
        assert!(value(&all, &output.address.to_string(), key).is_some(), "{} has no {key}", output.address);
    }

    // Only the address asked for; and a cluster terminated behind converge's back has no output.
    let address = converge_model::Address::new(converge_model::Kind::EmrCluster, "hourly");
    live.emr_clusters.iter_mut().filter(|c| c.name == "optimus-etl-hourly").for_each(|c| {
        c.state = converge_model::live::ClusterState::Terminated;
    });
    let one = converge_plan::outputs(&spec, &live, Some(&address));
    assert_eq!(one, [converge_plan::ResourceOutput { address, values: None }]);
}

/// `--replace emr_cluster.hourly` (the disaster-recovery rebuild): nothing
/// forces it, the new cluster runs before the old one is terminated, and the
/// replaced cluster runs again identical to the spec.
#[test]
fn a_requested_replacement_rebuilds_the_cluster_create_before_destroy() {
    let (spec, live) = applied_etl_platform();
    let hourly = converge_model::Address::new(converge_model::Kind::EmrCluster, "hourly");
    let plan = converge_plan::plan_replacing(&spec, &live, std::slice::from_ref(&hourly)).expect("plans");
    let change = plan.change(&hourly).expect("the cluster is planned");
    assert_eq!(change.action, Action::Replace);
    assert_eq!(plan.changes.len(), 1, "only the cluster: {}", render::text(&plan, render::Style::plain()));
    assert_eq!(change.replacement.as_ref().map(|r| r.order), Some(converge_plan::ReplaceOrder::CreateBeforeDestroy));
    insta::assert_snapshot!(render::text(&plan, render::Style::plain()));
    let rebuilt = converge_memory::run(live.clone(), &plan.steps).expect("the rebuild runs");
    assert!(converge_plan::plan(&spec, &rebuilt).expect("plans").is_empty());
    let old = live.emr_clusters.iter().find(|c| c.name == "optimus-etl-hourly").map(|c| c.id.clone());
    let new = rebuilt.emr_clusters.iter().find(|c| c.name == "optimus-etl-hourly" && !c.is_terminated());
    assert_ne!(new.map(|c| c.id.clone()), old, "a new cluster");

    // An address the spec does not define is refused, with the reason.
    let unknown = converge_model::Address::new(converge_model::Kind::EmrCluster, "nightly");
    let errors = converge_plan::plan_replacing(&spec, &live, &[unknown]).expect_err("refused");
    assert_eq!(errors.iter().map(PlanError::code).collect::<Vec<_>>(), ["replace-not-in-spec"]);
}
