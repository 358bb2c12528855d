//! A local AWS for converge: one loopback port that speaks the wire protocols
//! the official SDKs use, with AWS's errors and the state machines a
//! reconciler trips on, plus fault injection and a request log for tests.
//!
//! Services: EMR, SageMaker and Service Catalog (awsJson 1.1, routed by
//! `X-Amz-Target`), EC2 (ec2Query) and IAM and STS (awsQuery), routed by the
//! `Version` of the form body, and S3 (REST-XML, path-style). What each
//! emulates, and what not, is in `docs/sandbox.md`.
//!
//! Start it on port 0 in tests and stop it after: [`Sandbox::start`] returns
//! the bound address; [`Sandbox::stop`] shuts it down.
//!
//! **Architecture invariant:** no AWS SDK crate (only tests use them, as
//! clients); nothing of converge's planner. Any signature is accepted.

mod admin;
mod catalog;
mod context;
mod ec2;
mod emr;
mod error;
mod faults;
mod iam;
mod json;
mod limits;
mod model;
mod paging;
mod query;
mod s3;
mod sagemaker;
mod seed;
mod server;
mod signature;
mod state;
mod sts;
mod xml;

pub use emr::ClusterEvent;
pub use faults::{Fault, FaultKind};
pub use seed::{Seed, SeedNetwork};
pub use server::{Config, Offline, Sandbox, SandboxError};
pub use state::RequestRecord;
