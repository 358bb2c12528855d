//! The operations converge applies, and the graph of steps they form.
//!
//! A plan is a program: each [`Step`] carries one [`Operation`], an AWS call
//! (or a tightly bound group of calls, such as `CreateInstanceProfile` +
//! `AddRoleToInstanceProfile`) with every input resolved, and the steps it
//! waits for. An id that exists only once an earlier step has run is an
//! [`Id::Output`] of that step, never a string to parse. The planner
//! (`converge-plan`) writes these steps; executors (`converge-memory`, the
//! `aws` crate) and the apply engine (`converge-engine`) read them. Neither
//! side depends on the other: they meet here, as omicron's planner and
//! executor meet at the blueprint.
//!
//! **Architecture invariant:** an executor makes no choice the step did not
//! state: which rules to revoke, which versions to deactivate, which
//! constraint to delete are all inputs here.
//!
//! **Architecture invariant:** plain data plus pure helpers. No I/O, clock,
//! async runtime, AWS SDK or planner; depends on `converge-model` and serde.

mod display;
mod operation;
mod step;

pub use operation::*;
pub use step::{GraphError, Phase, Step, StepGraph, StepId};
