//! The engine carries out a real plan through the executor interface: the
//! reference Studio + EMR platform, applied to the in-memory AWS with
//! parallel steps, re-plans empty; a refused step stops only what depends on it.

use std::path::Path;

use converge_engine::{Cancel, Config, SkipReason, StepResult, apply};
use converge_memory::MemoryAws;
use converge_model::{LiveState, Spec};

fn reference_spec() -> Spec {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs");
    let text = std::fs::read_to_string(root.join("studio-emr.toml")).expect("specs/studio-emr.toml");
    let loader = move |rel: &str| std::fs::read_to_string(root.join(rel)).map_err(|e| e.to_string());
    converge_spec::check("studio-emr.toml", &text, &loader).spec.expect("the reference spec is valid")
}

fn empty_account(spec: &Spec) -> LiveState {
    LiveState::before_converge(spec)
}

#[tokio::test(start_paused = true)]
async fn applying_the_reference_platform_converges() {
    let spec = reference_spec();
    let empty = empty_account(&spec);
    let plan = converge_plan::plan(&spec, &empty).expect("plans");
    let aws = MemoryAws::new(empty);
    let report = apply(&plan.steps, &aws, &Config::default(), None, &Cancel::new()).await;
    assert!(report.is_success(), "{:?}", report.failed().collect::<Vec<_>>());
    assert_eq!(report.results.len(), plan.steps.len());
    let live = aws.snapshot().into_live();
    let again = converge_plan::plan(&spec, &live).expect("plans again");
    assert!(again.is_empty(), "{}", converge_plan::render::text(&again, converge_plan::render::Style::plain()));
}

#[tokio::test(start_paused = true)]
async fn a_refused_step_stops_only_what_depends_on_it() {
    let spec = reference_spec();
    let mut account = empty_account(&spec);
    // Someone took the Studio group's name in the VPC after the plan was made.
    let plan = converge_plan::plan(&spec, &account).expect("plans");
    account.security_groups.push(converge_model::live::LiveSecurityGroup {
        id: "sg-0bad0bad0bad0bad0".into(),
        name: "ml-platform-studio".into(),
        description: "made by hand in the meantime".into(),
        vpc_id: account.vpcs[0].id.clone(),
        ingress: vec![],
        egress: vec![],
        tags: Default::default(),
    });
    let aws = MemoryAws::new(account);
    let report = apply(&plan.steps, &aws, &Config::default(), None, &Cancel::new()).await;
    let failed: Vec<_> = report.failed().collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    let (failed_step, error) = failed[0];
    assert_eq!(error.code, "InvalidGroup.Duplicate");
    assert_eq!(error.address.to_string(), "security_group.studio");
    for (id, result) in &report.results {
        let step = plan.steps.get(*id).expect("a step of the plan");
        let needs_studio = plan.steps.ancestors(*id).contains(&failed_step);
        match result {
            StepResult::Skipped(SkipReason::DependencyFailed(cause)) => {
                assert!(needs_studio, "{} was skipped but does not need the group", step.address);
                assert_eq!(*cause, failed_step);
            }
            StepResult::Done { .. } => assert!(!needs_studio, "{} ran without the group it needs", step.address),
            StepResult::Failed { .. } => assert_eq!(*id, failed_step),
            other => panic!("{}: {other:?}", step.address),
        }
    }
    assert!(report.count(|r| matches!(r, StepResult::Done { .. })) > 5, "the independent work was done");
}
