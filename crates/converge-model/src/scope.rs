//! What to read of AWS for a stack: the planner works it out from a spec
//! (`converge_plan::read_scope`), an executor reads it (`Executor::read`).

use crate::Kind;

/// A name the spec claims, which a live resource outside the stack may already hold.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Claim {
    pub kind: Kind,
    pub name: String,
}

/// What to read: the stack's resources (by ownership tag), the names its spec
/// claims (to find conflicts and resources to adopt), and the VPCs it names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    pub stack: String,
    pub account: String,
    pub region: String,
    pub vpc_ids: Vec<String>,
    pub claims: Vec<Claim>,
    /// The names of the EMR clusters the spec wants. EMR names are not unique
    /// and claim nothing; for one with no running cluster of the stack, the
    /// reader also finds the stack's last terminated cluster of that name, so
    /// drift can say it was terminated and why.
    pub cluster_names: Vec<String>,
    /// Read every resource of the region (in `vpc_ids`' VPCs when there are
    /// any, every VPC otherwise), whoever owns it: what `converge import`
    /// chooses from. Nothing is changed by reading, whatever the scope.
    pub everything: bool,
}

impl Scope {
    /// Everything the account holds in `region`, in the given VPCs (or all).
    pub fn everything(account: &str, region: &str, vpc_ids: Vec<String>) -> Scope {
        Scope { account: account.to_owned(), region: region.to_owned(), vpc_ids, everything: true, ..Scope::default() }
    }
}
