//! The converge planner: from a spec and live state to an ordered, explained plan.
//!
//! [`plan`] matches live resources to the spec by their ownership tags
//! (`converge:stack`, `converge:address`), diffs every field after
//! normalising both sides (so AWS's spellings never show up as changes),
//! classifies each change as an update in place (naming the AWS operation) or
//! a replacement (naming the fields that force it, and the replaced resources
//! it follows from), and orders the work: creates after what they need,
//! deletes after what uses them, create-before-destroy where AWS lets two
//! copies coexist. [`DependencyGraph`] is the spec's reference graph;
//! [`render`] prints a plan as text, Markdown or versioned JSON. [`drift`]
//! reads the same diff as a report of what is not as the spec says and why
//! (changed in AWS, or a spec edited and not applied), in the same formats.
//! [`saved`] writes a plan to apply later, and refuses it once a resource it
//! depends on changed.
//!
//! The plan is a program: [`Plan::steps`] is a graph of typed
//! [`converge_ops::Operation`]s with resolved inputs, which an executor
//! carries out without choosing anything (`converge-engine`).
//!
//! **Architecture invariant:** pure and deterministic. No I/O, clock,
//! environment or randomness; no tokio, aws-*, hyper, axum or clap; the same
//! spec and live state give a byte-identical plan (property-tested).
//!
//! **Architecture invariant:** drift is data. Only situations no apply could
//! resolve are [`PlanError`]s (another account, a name held by a resource
//! converge does not own, `prevent_destroy`, an impossible replacement).
//!
//! **Architecture invariant:** the planner does not know the spec's TOML or
//! diagnostics (`converge-spec`), nor how AWS is called: it sees the model
//! (`converge-model`, `Scope` included) and the operation vocabulary it plans
//! in (`converge-ops`), never an executor (`scripts/check-layers`).
mod attrs;
mod change;
mod desired;
pub mod digest;
pub mod drift;
mod emr_rules;
mod error;
mod fields;
mod graph;
mod kinds;
mod live_index;
pub mod network;
mod normalize;
mod operations;
mod outputs;
mod plan;
pub mod render;
pub mod saved;
mod steps;
mod value;

pub use change::{
    Action, DigestRewrite, FieldChange, Plan, PlanWarning, ReplaceOrder, Replacement, ResourceChange, ownership_tags,
};
pub use desired::template_version;
pub use digest::spec_digest;
pub use emr_rules::EmrRules;
pub use error::PlanError;
pub use fields::Effect;
pub use graph::{Cycle, Dependency, DependencyGraph};
pub use normalize::decode_policy;
pub use outputs::{ResourceOutput, outputs};
pub use plan::{plan, plan_destroy, plan_replacing, read_scope};
pub use value::Value;
