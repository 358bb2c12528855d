//! What converge makes of answers other than the one it asked for, through
//! the real SDK clients against the sandbox: an answer lost after AWS did the
//! work (every create, started again, finds what the first start made: no
//! duplicate, the same id), and an endpoint that answers with an HTML page.

mod common;

use std::collections::BTreeMap;

use common::{Env, assert_success, reference, spec};
use converge_executor::{ErrorClass, Executor};
use converge_sandbox::{Config, Fault, FaultKind};

/// The creates of a whole platform, and the services they go to.
const CREATES: [(&str, &str); 17] = [
    ("ec2", "CreateSubnet"),
    ("ec2", "CreateSecurityGroup"),
    ("ec2", "AuthorizeSecurityGroupIngress"),
    ("ec2", "CreateTags"),
    ("iam", "CreateRole"),
    ("iam", "AttachRolePolicy"),
    ("iam", "PutRolePolicy"),
    ("iam", "CreateInstanceProfile"),
    ("iam", "AddRoleToInstanceProfile"),
    ("iam", "TagRole"),
    ("sagemaker", "CreateDomain"),
    ("sagemaker", "CreateUserProfile"),
    ("servicecatalog", "CreatePortfolio"),
    ("servicecatalog", "CreateProduct"),
    ("servicecatalog", "AssociateProductWithPortfolio"),
    ("servicecatalog", "CreateConstraint"),
    ("emr", "RunJobFlow"),
];

fn lose_first(service: &str, operation: &str) -> Fault {
    Fault {
        service: service.into(),
        operation: Some(operation.into()),
        kind: FaultKind::LoseResponse,
        times: Some(1),
        latency_ms: None,
        rate: None,
    }
}

/// How many of each thing each service of the sandbox holds (`ec2.subnets`: 2).
fn census(env: &Env) -> BTreeMap<String, usize> {
    let state = env.state();
    let mut counts = BTreeMap::new();
    for (service, things) in state.as_object().into_iter().flatten() {
        for (kind, items) in things.as_object().into_iter().flatten() {
            let count = match items {
                serde_json::Value::Array(items) => items.len(),
                serde_json::Value::Object(items) => items.len(),
                _ => continue,
            };
            counts.insert(format!("{service}.{kind}"), count);
        }
    }
    counts
}

/// Every create of the studio platform loses its first answer, after the
/// sandbox carried it out: each step's next start looks first and finds what
/// the lost one made. The apply succeeds, holds exactly what an apply without
/// faults holds, and the next plan is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_create_started_again_after_a_lost_answer_finds_what_it_made() {
    let spec = spec(&reference("studio-emr.toml"));
    let clean = Env::start(&spec).await;
    clean.apply(&spec).await;
    let expected = census(&clean);
    clean.stop().await;
    for kind in ["ec2.subnets", "ec2.groups", "iam.roles", "emr.clusters"] {
        assert!(expected.get(kind).is_some_and(|&n| n > 0), "the census counts {kind}: {expected:?}");
    }

    let faults: Vec<Fault> = CREATES.iter().map(|(service, operation)| lose_first(service, operation)).collect();
    let env = Env::start_with(&spec, Config { faults, page_size: Some(common::PAGE_SIZE), ..Config::default() }).await;
    env.apply(&spec).await;
    let lost: Vec<(String, String)> = env
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.error.as_deref().is_some_and(|e| e.starts_with("ResponseLost(done")))
        .map(|r| (r.service.clone(), r.operation.clone()))
        .collect();
    for (service, operation) in CREATES {
        assert!(
            lost.iter().any(|(s, o)| s == service && o == operation),
            "{service}:{operation} lost an answer after doing its work (lost: {lost:?})"
        );
    }
    assert_eq!(census(&env), expected, "no duplicate and nothing missing");
    env.assert_converged(&spec).await;
    env.stop().await;
}

/// A task fleet added to a running cluster, whose answer is lost: the start
/// again sees the cluster's task fleet and is done, where a second
/// AddInstanceFleet would be refused (a cluster has one task fleet).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_fleet_added_again_after_a_lost_answer_is_found() {
    let text = reference("studio-emr.toml");
    let spec_before = spec(&text);
    let env = Env::start(&spec_before).await;
    env.apply(&spec_before).await;
    let with_task = format!("{text}\n[emr_cluster.notebooks.task]\ninstance_types = [\"m5.xlarge\"]\nspot = 2\n");
    let spec_after = spec(&with_task);
    env.sandbox.set_faults(vec![lose_first("emr", "AddInstanceFleet")]);
    let plan = env.plan(&spec_after).await;
    let report = env.run(&plan).await;
    assert_success(&plan, &report);
    let adds: Vec<_> = env.sandbox.requests().into_iter().filter(|r| r.operation == "AddInstanceFleet").collect();
    assert_eq!(adds.len(), 1, "one AddInstanceFleet reached EMR: {adds:?}");
    assert!(adds[0].error.as_deref().is_some_and(|e| e.starts_with("ResponseLost(done")));
    let live = env.read(&spec_after).await;
    assert_eq!(live.emr_clusters[0].fleets.iter().filter(|f| f.role == converge_model::FleetRole::Task).count(), 1);
    env.assert_converged(&spec_after).await;
    env.stop().await;
}

fn html(service: &str) -> Fault {
    Fault { service: service.into(), operation: None, kind: FaultKind::Html, times: None, latency_ms: None, rate: None }
}

/// An endpoint that answers every EC2 call with a proxy's HTML 500 page: a
/// read fails as an unexpected answer (not "AWS could not be reached") after
/// the SDK's bounded read retries (5 attempts), and a step fails after the
/// engine's 3 attempts, one request each (the steps' clients do not retry).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_page_for_an_answer_fails_within_a_bounded_number_of_attempts() {
    let spec = spec(&reference("etl-cluster.toml"));
    let env = Env::start_with(&spec, Config { faults: vec![html("ec2")], ..Config::default() }).await;

    let error = env.aws.read(&converge_plan::read_scope(&spec)).await.expect_err("EC2 answers HTML");
    assert_eq!((error.class, error.code.as_str()), (ErrorClass::Unexpected, "UnexpectedAnswer"), "{error}");
    assert!(error.message.contains("HTTP 500") && error.message.contains("500 Internal Server Error"), "{error}");
    assert!(error.hint().contains("endpoint"), "{}", error.hint());
    let per_operation = |requests: &[converge_sandbox::RequestRecord]| {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for r in requests.iter().filter(|r| r.service == "ec2") {
            *counts.entry(r.operation.clone()).or_default() += 1;
        }
        counts
    };
    let reads = per_operation(&env.sandbox.requests());
    assert!(!reads.is_empty() && reads.values().all(|&n| n <= 5), "at most 5 attempts per read: {reads:?}");

    let plan = {
        env.sandbox.set_faults(Vec::new());
        let plan = env.plan(&spec).await;
        env.sandbox.set_faults(vec![html("ec2")]);
        plan
    };
    let before = env.sandbox.requests().len();
    let report = env.run(&plan).await;
    let failed: Vec<_> = report.failed().collect();
    assert!(!failed.is_empty(), "the EC2 steps fail");
    for (_, error) in &failed {
        assert_eq!(error.class, ErrorClass::Unexpected, "{error}");
    }
    for (id, result) in &report.results {
        if let converge_engine::StepResult::Failed { attempts, .. } = result {
            assert_eq!(*attempts, 3, "step {id}: three attempts, then it fails");
        }
    }
    let sent = env.sandbox.requests()[before..].iter().filter(|r| r.service == "ec2").count();
    assert_eq!(sent, 3 * failed.len(), "one request per attempt: the steps' clients do not retry");
    env.stop().await;
}
