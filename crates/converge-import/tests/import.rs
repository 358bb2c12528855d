//! Import of the reference platforms: applied in the in-memory AWS, stripped
//! of everything converge wrote (as if built by hand), imported, and planned.
//! The first plan only adopts; after it, the plan is empty.

#![expect(clippy::disallowed_methods, reason = "a test reads the reference specs")]

use std::path::Path;

use converge_import::{Imported, Request, import};
use converge_model::{LiveState, Spec, Tags};
use converge_plan::Action;

fn reference(name: &str) -> Spec {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs");
    let text = std::fs::read_to_string(dir.join(name)).expect("reference spec");
    let loader = move |rel: &str| std::fs::read_to_string(dir.join(rel)).map_err(|e| e.to_string());
    converge_spec::check(name, &text, &loader).spec.expect("reference specs check")
}

fn strip(tags: &mut Tags) {
    tags.retain(|k, _| !k.starts_with("converge:"));
}

/// The platform as a team would have built it by hand: what the spec makes,
/// with no ownership tags and product versions named by people.
pub(crate) fn built_by_hand(spec: &Spec) -> LiveState {
    let live = LiveState::before_converge(spec);
    let plan = converge_plan::plan(spec, &live).expect("plans");
    let mut live = converge_memory::run(live, &plan.steps).expect("applies");
    live.subnets.iter_mut().for_each(|x| strip(&mut x.tags));
    live.security_groups.iter_mut().for_each(|x| strip(&mut x.tags));
    live.iam_roles.iter_mut().for_each(|x| strip(&mut x.tags));
    live.sagemaker_domains.iter_mut().for_each(|x| strip(&mut x.tags));
    live.sagemaker_users.iter_mut().for_each(|x| strip(&mut x.tags));
    live.catalog_portfolios.iter_mut().for_each(|x| strip(&mut x.tags));
    live.emr_clusters.iter_mut().for_each(|x| strip(&mut x.tags));
    live.file_systems.iter_mut().for_each(|x| strip(&mut x.tags));
    for product in &mut live.catalog_products {
        strip(&mut product.tags);
        for (i, version) in product.versions.iter_mut().enumerate() {
            version.name = format!("v{}", i + 1);
        }
    }
    live
}

fn spec_of(imported: &Imported) -> Spec {
    let loader = |path: &str| imported.files.get(path).cloned().ok_or_else(|| "missing".to_owned());
    let checked = converge_spec::check(&imported.spec_file, imported.spec_text(), &loader);
    let rendered = checked.render();
    assert_eq!(checked.error_count(), 0, "{rendered}");
    checked.spec.expect("checks")
}

fn adopt_then_plan_again(spec: &Spec, live: LiveState) {
    let plan = converge_plan::plan(spec, &live).expect("plans");
    assert!(!plan.changes.is_empty(), "adoption tags every resource");
    for change in &plan.changes {
        assert_eq!(change.action, Action::Update, "{}", change.address);
        let fields: Vec<&str> = change.fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(fields, ["ownership"], "{}: the first plan only adopts", change.address);
    }
    let live = converge_memory::run(live, &plan.steps).expect("adopts");
    let again = converge_plan::plan(spec, &live).expect("plans");
    assert!(again.is_empty(), "{}", converge_plan::render::text(&again, converge_plan::render::Style::plain()));
}

fn import_reference(name: &str, stack: &str) -> (Imported, LiveState) {
    let live = built_by_hand(&reference(name));
    let imported = import(&live, &Request { stack: stack.to_owned(), ..Request::default() }).expect("imports");
    (imported, live)
}

#[test]
fn the_studio_platform_imports_into_a_spec_whose_first_plan_only_adopts() {
    let (imported, live) = import_reference("studio-emr.toml", "ml-platform");
    assert_eq!(imported.left_out, [], "{}", imported.spec_text());
    let spec = spec_of(&imported);
    assert_eq!(spec.emr_clusters.len(), 1);
    assert_eq!(spec.catalog_products.len(), 1);
    assert!(
        spec.addresses()
            .iter()
            .all(|a| spec.lifecycle(a).is_some_and(|l| l.adopt || a.kind == converge_model::Kind::Vpc))
    );
    adopt_then_plan_again(&spec, live);
    insta::assert_snapshot!("studio-emr", imported.spec_text());
}

#[test]
fn the_etl_platform_imports_into_a_spec_whose_first_plan_only_adopts() {
    let (imported, live) = import_reference("etl-cluster.toml", "etl-platform");
    assert_eq!(imported.left_out, [], "{}", imported.spec_text());
    adopt_then_plan_again(&spec_of(&imported), live);
    insta::assert_snapshot!("etl-cluster", imported.spec_text());
}

#[test]
fn a_cluster_brings_what_it_uses_and_nothing_else() {
    let live = built_by_hand(&reference("studio-emr.toml"));
    let cluster = live.emr_clusters[0].id.clone();
    let imported = import(
        &live,
        &Request { stack: "notebooks".into(), emr_clusters: vec![cluster.clone()], ..Request::default() },
    )
    .expect("imports");
    let spec = spec_of(&imported);
    assert_eq!(spec.emr_clusters.len(), 1);
    assert!(spec.sagemaker_domains.is_empty() && spec.catalog_portfolios.is_empty(), "{}", imported.spec_text());
    let roles: Vec<&String> = spec.iam_roles.keys().collect();
    assert_eq!(roles, ["EMR_DefaultRole", "EMR_EC2_DefaultRole"]);
    // The master group admits Studio's group, so that group comes too, by name (and the service-access group).
    assert_eq!(spec.security_groups.len(), 4, "{}", imported.spec_text());
    adopt_then_plan_again(&spec, live);
}

#[test]
fn an_unknown_id_is_an_error_with_a_hint() {
    let live = built_by_hand(&reference("studio-emr.toml"));
    let error =
        import(&live, &Request { stack: "x".into(), emr_clusters: vec!["j-NOPE".into()], ..Request::default() })
            .expect_err("unknown cluster");
    assert_eq!(error.to_string(), "no EMR cluster `j-NOPE` in ap-northeast-1");
    assert!(error.hint().contains("--region"));
    let error = import(&live, &Request { stack: "Not A Stack".into(), ..Request::default() }).expect_err("bad name");
    assert!(error.to_string().contains("not a valid stack name"));
}

#[test]
fn what_the_spec_cannot_say_is_listed_never_dropped() {
    let mut live = built_by_hand(&reference("studio-emr.toml"));
    // A trust policy with a condition, and a rule for GRE (protocol 47).
    let role = live.iam_roles.iter_mut().find(|r| r.name == "sc_launch").expect("role");
    role.assume_role_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"servicecatalog.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"}}}]}"#.into();
    let group = live.security_groups.iter_mut().find(|g| g.name.ends_with("emr_core")).expect("group");
    group.ingress.push(converge_model::live::LiveRule {
        protocol: "47".into(),
        from_port: None,
        to_port: None,
        cidr: Some("10.0.0.0/16".into()),
        group_id: None,
        prefix_list_id: None,
        description: None,
    });
    let imported = import(&live, &Request { stack: "ml-platform".into(), ..Request::default() }).expect("imports");
    let listed: Vec<String> = imported.left_out.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!("left-out", listed.join("\n"));
    for item in &listed {
        let first = item.split('\n').next().unwrap_or_default();
        assert!(imported.spec_text().contains(first), "{item} is also in the spec");
    }
}

#[test]
fn a_miswired_platform_imports_as_it_is_and_the_platform_rules_say_what_is_wrong() {
    let mut live = built_by_hand(&reference("studio-emr.toml"));
    // The console steps the design document warns about, skipped: the Livy rule
    // on the master group, and the visibility tag on the Studio template.
    let master = live.security_groups.iter_mut().find(|g| g.name.ends_with("emr_master")).expect("group");
    master.ingress.clear();
    let product = live.catalog_products.first_mut().expect("product");
    product.tags.remove(converge_model::STUDIO_VISIBILITY_TAG);
    let imported = import(&live, &Request { stack: "ml-platform".into(), ..Request::default() }).expect("imports");
    assert_eq!(imported.left_out, [], "{}", imported.spec_text());

    let loader = |path: &str| imported.files.get(path).cloned().ok_or_else(|| "missing".to_owned());
    let checked = converge_spec::check(&imported.spec_file, imported.spec_text(), &loader);
    let codes: Vec<&str> = checked.diagnostics.iter().map(|d| d.code.name).collect();
    assert!(codes.contains(&"livy-port-closed"), "{}", checked.render());
    assert!(codes.contains(&"studio-template-hidden"), "{}", checked.render());
    assert!(checked.spec.is_none(), "converge plans no spec with errors");
    // What the spec says is the platform as built: its plan only adopts.
    let model = checked.model.expect("a platform rule's error leaves the spec readable");
    adopt_then_plan_again(&model, live);
}

#[test]
fn importing_a_stack_converge_manages_brings_all_it_owns_so_nothing_is_deleted() {
    let spec = reference("studio-emr.toml");
    let live = LiveState::before_converge(&spec);
    let plan = converge_plan::plan(&spec, &live).expect("plans");
    let live = converge_memory::run(live, &plan.steps).expect("applies");
    let cluster = live.emr_clusters[0].id.clone();

    // Asked for the cluster alone, the stack's import still holds everything the stack owns.
    let request = Request { stack: "ml-platform".into(), emr_clusters: vec![cluster.clone()], ..Request::default() };
    let imported = import(&live, &request).expect("imports");
    assert_eq!(imported.left_out, [], "{}", imported.spec_text());
    let again = spec_of(&imported);
    assert_eq!(again.addresses().len(), spec.addresses().len(), "{}", imported.spec_text());
    let plan = converge_plan::plan(&again, &live).expect("plans");
    assert!(plan.is_empty(), "{}", converge_plan::render::text(&plan, converge_plan::render::Style::plain()));

    // Another stack's spec names them by id and leaves them to their owner.
    let request = Request { stack: "other".into(), emr_clusters: vec![cluster], ..Request::default() };
    let imported = import(&live, &request).expect("imports");
    assert!(imported.left_out.iter().any(|item| item.what.contains("belongs to the converge stack `ml-platform`")));
    assert!(imported.resources.is_empty(), "{:?}", imported.resources);
}

#[test]
fn an_import_for_an_environment_writes_the_account_as_that_environments() {
    let live = built_by_hand(&reference("studio-emr.toml"));
    let request = Request { stack: "ml-platform".into(), environment: Some("staging".into()), ..Request::default() };
    let imported = import(&live, &request).expect("imports");
    let text = imported.spec_text();
    assert!(text.contains(&format!("[env.staging]\nstack.account = \"{}\"", live.account)), "{text}");
    let loader = |path: &str| imported.files.get(path).cloned().ok_or_else(|| "missing".to_owned());
    let checked = converge_spec::check_environment(&imported.spec_file, text, &loader, "staging").expect("declared");
    assert_eq!(checked.error_count(), 0, "{}", checked.render());
    let spec = checked.spec.expect("checks");
    assert_eq!(spec.stack.account, live.account);
    assert_eq!(spec.stack.environment.as_deref(), Some("staging"));
    adopt_then_plan_again(&spec, live);
}
