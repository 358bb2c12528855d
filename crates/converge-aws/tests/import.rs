//! Import end to end, through the real SDK clients against the sandbox: a
//! platform no converge stack owns (the reference platform with every
//! converge tag removed by hand) is read, imported, checked, adopted, and then
//! converged; the import itself changes nothing.

mod common;

use common::{Env, by_hand, reference, spec};
use converge_executor::{Executor as _, Scope};
use converge_import::{Imported, Request};
use converge_model::{LiveState, Spec, Tags};
use converge_ops::{Id, Operation, TagOp, Tagged};
use converge_plan::Action;

/// Removes every tag converge wrote, as if nobody had ever run converge here.
async fn forget_converge(env: &Env, live: &LiveState) {
    let converge_keys =
        |tags: &Tags| -> Vec<String> { tags.keys().filter(|k| k.starts_with("converge:")).cloned().collect() };
    let mut untag = Vec::new();
    let mut push = |target: Tagged, tags: &Tags| {
        untag.push(Operation::Tags(TagOp::SetTags { target, set: Tags::new(), remove: converge_keys(tags) }));
    };
    for s in &live.subnets {
        push(Tagged::Ec2 { id: Id::known(&s.id) }, &s.tags);
    }
    for g in &live.security_groups {
        push(Tagged::Ec2 { id: Id::known(&g.id) }, &g.tags);
    }
    for r in &live.iam_roles {
        push(Tagged::IamRole { name: r.name.clone() }, &r.tags);
    }
    for d in &live.sagemaker_domains {
        push(Tagged::SagemakerDomain { domain: Id::known(&d.id) }, &d.tags);
    }
    for u in &live.sagemaker_users {
        push(Tagged::SagemakerUserProfile { domain: Id::known(&u.domain_id), name: u.name.clone() }, &u.tags);
    }
    for p in &live.catalog_portfolios {
        push(Tagged::Portfolio { portfolio: Id::known(&p.id) }, &p.tags);
    }
    for p in &live.catalog_products {
        push(Tagged::Product { product: Id::known(&p.id) }, &p.tags);
    }
    for c in &live.emr_clusters {
        push(Tagged::EmrCluster { cluster: Id::known(&c.id) }, &c.tags);
    }
    for operation in &untag {
        by_hand(env, operation).await;
    }
}

fn checked(imported: &Imported) -> Spec {
    let loader = |path: &str| imported.files.get(path).cloned().ok_or_else(|| "missing".to_owned());
    let checked = converge_spec::check(&imported.spec_file, imported.spec_text(), &loader);
    let rendered = checked.render();
    checked.spec.unwrap_or_else(|| panic!("the imported spec is not valid:\n{rendered}"))
}

/// The calls that may change something, in the sandbox's request log.
fn mutating_requests(env: &Env) -> Vec<String> {
    env.sandbox.requests().iter().filter(|r| r.may_change()).map(|r| format!("{} {}", r.service, r.operation)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_nobody_manages_imports_read_only_and_its_first_plan_only_adopts() {
    let built = spec(&reference("studio-emr.toml"));
    let env = Env::start(&built).await;
    env.apply(&built).await;
    forget_converge(&env, &env.read(&built).await).await;

    let before = mutating_requests(&env).len();
    // `converge import --region ap-northeast-1 --vpc vpc-… --stack ml-platform`: the VPC whole, and what uses it.
    let vpcs: Vec<String> = built.vpcs.values().map(|v| v.id.clone()).collect();
    let scope = Scope::everything(&built.stack.account, &built.stack.region, vpcs.clone());
    let live = env.aws.read(&scope).await.unwrap_or_else(|e| panic!("{e}"));
    let request = Request { stack: "ml-platform".into(), vpc_ids: vpcs, ..Request::default() };
    let imported = converge_import::import(&live, &request).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mutating_requests(&env)[before..], [] as [String; 0], "import changes nothing");
    assert_eq!(imported.left_out, [], "{}", imported.spec_text());

    let spec = checked(&imported);
    assert_eq!(spec.addresses().len(), built.addresses().len(), "{}", imported.spec_text());
    let plan = env.plan(&spec).await;
    for change in &plan.changes {
        assert_eq!(change.action, Action::Update, "{}", change.address);
        let fields: Vec<&str> = change.fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(fields, ["ownership"], "{}: only adoption", change.address);
    }
    assert_eq!(plan.changes.len(), spec.addresses().len() - spec.vpcs.len(), "every resource is adopted");
    env.apply(&spec).await;
    env.assert_converged(&spec).await;
    env.stop().await;
}
