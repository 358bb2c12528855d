//! `converge demo`: the whole job, against a sandbox started in this process.
//!
//! It seeds what the spec expects to exist already (the VPC and the
//! template bucket), then validates, plans and applies the spec through the
//! real AWS SDK clients, shows that the next plan is empty, changes two things
//! behind converge's back through the same APIs a person would use, shows the
//! plan that repairs them, applies it and sums up.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use converge_aws::{Aws, Options};
use converge_executor::Executor as _;
use converge_model::live::OWNER_ADDRESS_TAG;
use converge_model::{LiveState, Spec};
use converge_ops::{Direction, Ec2Op, IamOp, Id, IpProtocol, Operation, Peer, Rule};
use converge_plan::Plan;

use crate::live::Session;
use crate::{PlanFormat, apply, files, plan};

fn say(text: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

fn heading(n: usize, text: &str) {
    say(&format!("\n━━ {n}. {text}\n"));
}

pub(crate) async fn run(spec_path: &Path, env: Option<&str>, time_scale: f64) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    say(&format!(
        "converge demo: plan, apply, drift and repair of `{}` against a local sandbox\n\
         (an in-process AWS on a loopback port, time x{time_scale}; no AWS account is touched).",
        spec_path.display()
    ));

    heading(1, "Validate the spec");
    let Some(spec) = files::valid_spec(spec_path, env)? else { return Ok(ExitCode::from(1)) };
    say(&format!(
        "`{}` is valid: {} resources in stack `{}`.",
        spec_path.display(),
        spec.addresses().len(),
        spec.stack.name
    ));

    let config = converge_sandbox::Config {
        port: 0,
        account: spec.stack.account.clone(),
        region: spec.stack.region.clone(),
        time_scale,
        // AWS's published request rates, as an account has them: converge paces itself by the same table.
        rate_limits: Some(1.0),
        ..converge_sandbox::Config::default()
    };
    let sandbox = converge_sandbox::Sandbox::start(config).await.context("cannot start the sandbox")?;
    let result = walkthrough(&spec, &sandbox, started).await;
    sandbox.stop().await;
    result
}

async fn walkthrough(spec: &Spec, sandbox: &converge_sandbox::Sandbox, started: Instant) -> anyhow::Result<ExitCode> {
    let seed = converge_sandbox::Seed {
        vpcs: spec
            .vpcs
            .values()
            .map(|vpc| (vpc.id.clone(), vpc.cidrs.first().cloned().unwrap_or_else(|| "10.0.0.0/16".into())))
            .collect(),
        buckets: spec.catalog_products.values().map(|p| p.template_bucket.clone()).collect(),
        network: converge_sandbox::SeedNetwork::NatGateway,
        ..converge_sandbox::Seed::default()
    };
    sandbox.seed(&seed);
    say(&format!(
        "Sandbox at {}, account {} ({}), holding only what the spec expects to exist: VPC {} and bucket {}.",
        sandbox.endpoint(),
        spec.stack.account,
        spec.stack.region,
        seed.vpcs.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>().join(", "),
        seed.buckets.join(", ")
    ));
    let aws = Aws::connect(&Options::sandbox(&sandbox.endpoint(), &spec.stack.region))
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    aws.guard_account(&spec.stack.account).await.map_err(|error| anyhow::anyhow!("{error}"))?;
    let session = Session { aws, scope: converge_plan::read_scope(spec) };

    heading(2, "Plan against the empty account");
    let (live, calls) = read(&session).await?;
    let first = plan_of(spec, &live)?;
    say(&format!("Read the account with {calls} API calls. {}", converge_plan::render::summary(&first)));
    say(&steps_overview(&first));

    heading(3, "Apply");
    let applied = Instant::now();
    if !applied_cleanly(&session.aws, &first, "apply").await {
        return Ok(ExitCode::from(crate::EXIT_PARTIAL));
    }
    let apply_time = applied.elapsed();
    say(&format!("Applied {} steps in {:.1} s.", first.steps.steps().len(), apply_time.as_secs_f64()));

    heading(4, "Plan again: nothing to do");
    let (live, calls) = read(&session).await?;
    let again = plan_of(spec, &live)?;
    say(&format!("Read the stack with {calls} API calls. {}", converge_plan::render::summary(&again)));
    if !again.is_empty() {
        write!(std::io::stdout().lock(), "{}", plan::render(&again, PlanFormat::Text)?)?;
        anyhow::bail!("the plan after the apply is not empty: converge did not converge");
    }

    heading(5, "Someone changes things behind converge's back");
    drift(&session.aws, &live).await?;

    heading(6, "Drift detection: the plan shows what changed and how converge repairs it");
    let (live, _) = read(&session).await?;
    let repair = plan_of(spec, &live)?;
    write!(std::io::stdout().lock(), "{}", plan::render(&repair, PlanFormat::Text)?)?;
    say("(`converge plan --detailed-exitcode` exits 2 here: a scheduled drift check fails.)");

    heading(7, "Repair");
    let repaired = Instant::now();
    if !applied_cleanly(&session.aws, &repair, "apply").await {
        return Ok(ExitCode::from(crate::EXIT_PARTIAL));
    }
    let repair_time = repaired.elapsed();
    let (live, _) = read(&session).await?;
    let last = plan_of(spec, &live)?;
    if !last.is_empty() {
        anyhow::bail!("the plan after the repair is not empty: converge did not converge");
    }

    heading(8, "Summary");
    let stats = session.aws.stats();
    say(&format!(
        "  created {} resources in {:.1} s ({} steps, up to 8 at a time)\n  \
         re-plan right after: empty\n  \
         drift found in {} resources, repaired in {:.1} s ({} steps); the plan after it is empty\n  \
         {} AWS API calls in all, {} of them changing something; {:.1} s from start to end",
        first.changes.len(),
        apply_time.as_secs_f64(),
        first.steps.steps().len(),
        repair.changes.len(),
        repair_time.as_secs_f64(),
        repair.steps.steps().len(),
        stats.total_calls(),
        stats.mutating_calls(),
        started.elapsed().as_secs_f64(),
    ));
    say(
        "\nNext: `converge plan <SPEC>` and `converge apply <SPEC>` do the same against the account your AWS credentials name.",
    );
    Ok(ExitCode::SUCCESS)
}

async fn read(session: &Session) -> anyhow::Result<(LiveState, u64)> {
    let before = session.aws.stats().total_calls();
    let live =
        session.aws.read(&session.scope).await.map_err(|error| anyhow::anyhow!("cannot read the sandbox: {error}"))?;
    Ok((live, session.aws.stats().total_calls() - before))
}

fn plan_of(spec: &Spec, live: &LiveState) -> anyhow::Result<Plan> {
    converge_plan::plan(spec, live).map_err(|errors| {
        let text: Vec<String> = errors.iter().map(|e| format!("error[{}]: {e}", e.code())).collect();
        anyhow::anyhow!("no plan:\n{}", text.join("\n"))
    })
}

/// One line per resource: what happens to it and in how many steps.
fn steps_overview(plan: &Plan) -> String {
    let mut out = String::new();
    for change in &plan.changes {
        let steps = plan.steps.steps().iter().filter(|s| s.address == change.address).count();
        let calls: Vec<&str> = plan
            .steps
            .steps()
            .iter()
            .filter(|s| s.address == change.address)
            .map(|s| s.operation.aws_operation())
            .collect();
        out.push_str(&format!(
            "  + {:<36} {} step{}: {}\n",
            change.address.to_string(),
            steps,
            if steps == 1 { "" } else { "s" },
            calls.join(", ")
        ));
    }
    out
}

async fn applied_cleanly(aws: &Aws, plan: &Plan, verb: &str) -> bool {
    let report = apply::execute(aws, &plan.steps, 8, &converge_engine::Cancel::new()).await;
    let code = apply::summarize(&plan.steps, &report, verb);
    code == ExitCode::SUCCESS
}

/// The live id of the resource converge manages under `address`.
fn id_of(live: &LiveState, address: &str) -> Option<String> {
    let owned = |tags: &converge_model::Tags| tags.get(OWNER_ADDRESS_TAG).is_some_and(|a| a == address);
    live.security_groups
        .iter()
        .find(|g| owned(&g.tags))
        .map(|g| g.id.clone())
        .or_else(|| live.iam_roles.iter().find(|r| owned(&r.tags)).map(|r| r.name.clone()))
}

/// Opens SSH to the world on the EMR primary group and takes S3 access away
/// from the Studio execution role: the calls a hurried person makes.
async fn drift(aws: &Aws, live: &LiveState) -> anyhow::Result<()> {
    let group = id_of(live, "security_group.emr_master").context("the EMR master group is missing")?;
    let role = id_of(live, "iam_role.sagemaker_execution").context("the execution role is missing")?;
    let policy = "arn:aws:iam::aws:policy/AmazonS3FullAccess".to_owned();
    let ssh = Rule {
        protocol: IpProtocol::Tcp,
        from_port: Some(22),
        to_port: Some(22),
        peer: Peer::Cidr("0.0.0.0/0".into()),
        description: Some("debugging, remove later".into()),
    };
    let changes = [
        (
            "security_group.emr_master",
            format!("opens tcp/22 to 0.0.0.0/0 on {group} (AuthorizeSecurityGroupIngress)"),
            Operation::Ec2(Ec2Op::AuthorizeRules {
                group: Id::known(&group),
                direction: Direction::Ingress,
                rules: vec![ssh],
            }),
        ),
        (
            "iam_role.sagemaker_execution",
            format!("detaches AmazonS3FullAccess from the role {role} (DetachRolePolicy)"),
            Operation::Iam(IamOp::DetachRolePolicies { role: role.clone(), policy_arns: vec![policy] }),
        ),
    ];
    for (address, what, operation) in changes {
        let address = converge_model::Address::parse(address).context("an address of the demo")?;
        aws.start(&address, &operation).await.map_err(|error| anyhow::anyhow!("{error}"))?;
        say(&format!("  someone {what}"));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Ok(())
}
