//! An in-memory AWS: an [`Executor`] that applies converge's operations to a
//! [`LiveState`] by AWS's rules.
//!
//! It assigns ids, gives every new security group EC2's allow-all egress
//! rule, gives every new domain SageMaker's home EFS volume and its two NFS
//! security groups, and refuses what AWS refuses: a duplicate rule, a group
//! or subnet still in use, a role with policies attached, a domain with user
//! profiles, a product still in a portfolio, a protected cluster, and so on.
//! That strictness is what makes it a proof: planning, executing the plan
//! here, and planning again must give an empty plan (`converge-plan`'s
//! property tests), and a plan that orders two steps wrongly fails here the
//! way it would fail against AWS.
//!
//! Every operation completes at once (no `Pending`); ids depend only on what
//! is created and how often that name was created before, not on the order of
//! unrelated steps, so any order the step graph allows gives the same state.
//!
//! **Architecture invariant:** pure: no I/O, clock, randomness or async
//! runtime (the [`Executor`] futures are ready immediately).

mod catalog;
mod ec2;
mod emr;
mod iam;
mod sagemaker;

use std::collections::BTreeMap;
use std::sync::Mutex;

use converge_executor::{ErrorClass, ExecError, Executor, Outcome, Output, Scope};
use converge_model::{Address, LiveState};
use converge_ops::{Id, Operation, StepGraph, StepId, TagOp, Tagged};

/// The emulated account: its live state and what AWS keeps besides.
#[derive(Clone, Debug)]
pub struct Account {
    live: LiveState,
    /// How many resources were created under each name, for ids.
    created: BTreeMap<String, u64>,
    /// S3 objects by bucket and key.
    objects: BTreeMap<(String, String), String>,
    /// Service Catalog idempotency tokens and the id each one created.
    tokens: BTreeMap<String, String>,
    /// Every AWS call made, in order.
    calls: Vec<&'static str>,
}

/// One call being carried out: where errors come from.
pub(crate) struct Call<'a> {
    pub address: &'a Address,
    pub operation: &'static str,
}

impl Call<'_> {
    pub(crate) fn fail(&self, class: ErrorClass, code: &str, message: impl Into<String>) -> ExecError {
        ExecError::new(class, self.operation, self.address, code, message)
    }
}

impl Account {
    pub fn new(live: LiveState) -> Account {
        Account { live, created: BTreeMap::new(), objects: BTreeMap::new(), tokens: BTreeMap::new(), calls: Vec::new() }
    }

    pub fn live(&self) -> &LiveState {
        &self.live
    }

    pub fn into_live(self) -> LiveState {
        self.live
    }

    /// The AWS calls made so far, in order.
    pub fn calls(&self) -> &[&'static str] {
        &self.calls
    }

    /// A new id: `prefix-` and hex digits derived from `name` and how many
    /// resources of that name were created before, never one the account
    /// already holds or still names (a terminated cluster keeps its id; a
    /// home volume kept after its domain was deleted names that domain).
    pub(crate) fn new_id(&mut self, prefix: &str, name: &str, digits: usize, upper: bool) -> String {
        loop {
            let count = self.created.entry(format!("{prefix}/{name}")).or_default();
            *count += 1;
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
            for byte in format!("{prefix}/{name}/{count}").bytes() {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
            let hex = format!("{hash:016x}{:016x}", hash.rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15);
            let digits: String = hex.chars().take(digits).collect();
            let digits = if upper { digits.to_ascii_uppercase() } else { digits };
            let id = format!("{prefix}-{digits}");
            if !self.holds(&id) {
                return id;
            }
        }
    }

    /// True when any resource of the account has this id.
    fn holds(&self, id: &str) -> bool {
        let live = &self.live;
        live.subnets.iter().any(|x| x.id == id)
            || live.security_groups.iter().any(|x| x.id == id)
            || live.sagemaker_domains.iter().any(|x| x.id == id)
            || live.catalog_portfolios.iter().any(|x| x.id == id)
            || live.catalog_products.iter().any(|p| {
                p.id == id || p.versions.iter().any(|v| v.id == id) || p.launch_constraints.iter().any(|c| c.id == id)
            })
            || live.emr_clusters.iter().any(|c| c.id == id || c.fleets.iter().any(|f| f.id == id))
            || live.file_systems.iter().any(|x| x.id == id || x.domain_id.as_deref() == Some(id))
    }

    /// Carries out one operation whose ids are all known.
    pub fn apply(&mut self, address: &Address, operation: &Operation) -> Result<Output, ExecError> {
        let call = Call { address, operation: operation.aws_operation() };
        if let Some(unresolved) = operation.ids().iter().find(|id| id.as_known().is_none()) {
            return Err(call.fail(
                ErrorClass::Fatal,
                "Unresolved",
                format!("the operation still names {unresolved}, the output of a step not run"),
            ));
        }
        let output = match operation {
            Operation::Ec2(op) => ec2::apply(self, &call, op)?,
            Operation::Iam(op) => iam::apply(self, &call, op)?,
            Operation::Sagemaker(op) => sagemaker::apply(self, &call, op)?,
            Operation::Catalog(op) => catalog::apply(self, &call, op)?,
            Operation::Emr(op) => emr::apply(self, &call, op)?,
            Operation::Tags(TagOp::SetTags { target, set, remove }) => {
                let tags = self.tags_of(&call, target)?;
                tags.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
                for key in remove {
                    tags.remove(key);
                }
                Output::none()
            }
        };
        self.calls.extend(operation.aws_calls());
        Ok(output)
    }

    fn tags_of(&mut self, call: &Call<'_>, target: &Tagged) -> Result<&mut converge_model::Tags, ExecError> {
        let live = &mut self.live;
        let not_found = |what: &str| call.fail(ErrorClass::NotFound, "NotFound", format!("{what} does not exist"));
        let known = |id: &Id| id.as_known().unwrap_or_default().to_owned();
        Ok(match target {
            Tagged::Ec2 { id } => {
                let id = known(id);
                if let Some(subnet) = live.subnets.iter_mut().find(|s| s.id == id) {
                    &mut subnet.tags
                } else {
                    &mut live.security_groups.iter_mut().find(|g| g.id == id).ok_or_else(|| not_found(&id))?.tags
                }
            }
            Tagged::IamRole { name } => {
                &mut live.iam_roles.iter_mut().find(|r| r.name == *name).ok_or_else(|| not_found(name))?.tags
            }
            Tagged::SagemakerDomain { domain } => {
                let id = known(domain);
                &mut live.sagemaker_domains.iter_mut().find(|d| d.id == id).ok_or_else(|| not_found(&id))?.tags
            }
            Tagged::SagemakerUserProfile { domain, name } => {
                let id = known(domain);
                &mut live
                    .sagemaker_users
                    .iter_mut()
                    .find(|u| u.domain_id == id && u.name == *name)
                    .ok_or_else(|| not_found(name))?
                    .tags
            }
            Tagged::Portfolio { portfolio } => {
                let id = known(portfolio);
                &mut live.catalog_portfolios.iter_mut().find(|p| p.id == id).ok_or_else(|| not_found(&id))?.tags
            }
            Tagged::Product { product } => {
                let id = known(product);
                &mut live.catalog_products.iter_mut().find(|p| p.id == id).ok_or_else(|| not_found(&id))?.tags
            }
            Tagged::EmrCluster { cluster } => {
                let id = known(cluster);
                &mut live.emr_clusters.iter_mut().find(|c| c.id == id).ok_or_else(|| not_found(&id))?.tags
            }
        })
    }
}

/// A step that failed while a plan ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub step: StepId,
    pub error: ExecError,
}

/// Runs every step of `steps`, in the order given (every id once, each after
/// the steps it waits for), resolving outputs as they appear.
pub fn run_in_order(account: &mut Account, steps: &StepGraph, order: &[StepId]) -> Result<(), Failure> {
    let mut outputs: BTreeMap<StepId, String> = BTreeMap::new();
    for &id in order {
        let Some(step) = steps.get(id) else { continue };
        let unresolved = |missing: StepId| Failure {
            step: id,
            error: ExecError::new(
                ErrorClass::Fatal,
                step.operation.aws_operation(),
                &step.address,
                "OutOfOrder",
                format!("step {id} runs before step {missing}, whose output it needs"),
            ),
        };
        let operation = step.operation.resolve(|s| outputs.get(&s).cloned()).map_err(unresolved)?;
        let output = account.apply(&step.address, &operation).map_err(|error| Failure { step: id, error })?;
        if let Some(new_id) = output.id {
            outputs.insert(id, new_id);
        }
    }
    Ok(())
}

/// Runs every step in the plan's own order and returns the resulting live state.
pub fn run(live: LiveState, steps: &StepGraph) -> Result<LiveState, Failure> {
    let mut account = Account::new(live);
    let order: Vec<StepId> = steps.steps().iter().map(|s| s.id).collect();
    run_in_order(&mut account, steps, &order)?;
    Ok(account.into_live())
}

/// The [`Executor`] over an [`Account`], shareable between the engine's tasks.
#[derive(Debug)]
pub struct MemoryAws {
    account: Mutex<Account>,
}

impl MemoryAws {
    pub fn new(live: LiveState) -> MemoryAws {
        MemoryAws { account: Mutex::new(Account::new(live)) }
    }

    /// The account as it is now.
    pub fn snapshot(&self) -> Account {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Account> {
        // A panic while holding the lock leaves a consistent account: every apply is all-or-nothing.
        self.account.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Executor for MemoryAws {
    fn read(&self, _scope: &Scope) -> impl Future<Output = Result<LiveState, ExecError>> + Send {
        std::future::ready(Ok(self.lock().live().clone()))
    }

    fn start(
        &self,
        address: &Address,
        operation: &Operation,
    ) -> impl Future<Output = Result<Outcome, ExecError>> + Send {
        std::future::ready(self.lock().apply(address, operation).map(Outcome::Done))
    }

    fn poll(
        &self,
        _address: &Address,
        _operation: &Operation,
        progress: &Output,
    ) -> impl Future<Output = Result<Outcome, ExecError>> + Send {
        std::future::ready(Ok(Outcome::Done(progress.clone())))
    }
}
