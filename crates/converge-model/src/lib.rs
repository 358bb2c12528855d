//! The desired-state vocabulary of converge.
//!
//! This crate defines what a converge spec *is*: the resource [`Kind`]s, their
//! [`Address`]es, the [`Ref`]erences between them, and one typed struct per kind
//! collected in a [`Spec`], and the [`LiveState`] read from AWS (or a
//! snapshot). It is the shared language of the spec parser (`converge-spec`),
//! the planner (`converge-plan`) and the AWS layer.
//!
//! **Architecture invariant:** this crate knows nothing about TOML, files,
//! diagnostics, AWS SDKs, async runtimes or the command line. It has one
//! dependency, `serde`, used to read the typed structs out of an already
//! checked document. Everything here is plain data plus a few pure helpers
//! ([`Spec::references`], [`Ipv4Cidr`]).

mod cidr;
pub mod emr;
mod kind;
pub mod live;
mod partition;
mod resources;
mod scope;

pub use cidr::{CidrError, IpCidr, Ipv4Cidr};
pub use kind::{Address, Kind, Ref, RefTarget};
pub use live::LiveState;
pub use partition::Partition;
pub use resources::*;
pub use scope::{Claim, Scope};
