//! A local AWS for converge: one loopback port that speaks the wire protocols
//! the official SDKs use, with AWS's errors and the state machines a
//! reconciler trips on, plus fault injection and a request log for tests.
//!
//! Services so far: STS (`GetCallerIdentity`), IAM (roles, policies, instance
//! profiles, tags) and EC2 (VPCs, subnets, security groups and their rules,
//! tags), routed by the `Version` of the query protocols. EMR, SageMaker,
//! Service Catalog and S3 follow (`docs/sandbox.md`).
//!
//! Start it on port 0 in tests and stop it after: [`Sandbox::start`] returns
//! the bound address; [`Sandbox::stop`] shuts it down.
//!
//! **Architecture invariant:** no AWS SDK crate (only tests use them, as
//! clients); nothing of converge's planner. Any signature is accepted.

mod admin;
mod ec2;
mod error;
mod faults;
mod iam;
mod query;
mod server;
mod state;
mod sts;
mod xml;

pub use faults::{Fault, FaultKind};
pub use server::{Config, Sandbox, SandboxError};
pub use state::RequestRecord;
