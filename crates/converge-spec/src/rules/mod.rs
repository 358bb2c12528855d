//! The platform rules: everything the structural pass cannot see from one
//! value alone. Each rule emits diagnostics with a stable code; none stops
//! the others, so a run reports every problem at once.

mod emr;
pub(crate) mod names;
mod network;
mod references;
mod silence;
mod studio;

use std::collections::BTreeSet;

use converge_model::{Address, IamRole, Kind, Ref, RefTarget, Spec};

use crate::check::SourceMap;
use crate::diagnostic::{Diagnostic, Location};

pub(crate) use silence::apply_silences;

/// What every rule can see.
pub(crate) struct Ctx<'a> {
    /// The resources without structural errors: the semantic rules look only at these.
    pub(crate) spec: &'a Spec,
    /// Every readable resource, including those with structural errors (read
    /// without their broken fields): the reference rules look at these.
    pub(crate) partial: &'a Spec,
    pub(crate) map: &'a SourceMap,
    /// Every resource written in the spec, including those with structural errors.
    pub(crate) declared: &'a BTreeSet<Address>,
    pub(crate) out: Vec<Diagnostic>,
}

pub(crate) fn run(
    spec: &Spec,
    partial: &Spec,
    map: &SourceMap,
    declared: &BTreeSet<Address>,
    stack_ok: bool,
) -> Vec<Diagnostic> {
    let mut ctx = Ctx { spec, partial, map, declared, out: Vec::new() };
    if stack_ok {
        names::stack(&mut ctx);
    }
    names::aws_names(&mut ctx);
    names::tags(&mut ctx);
    names::foreign_accounts(&mut ctx);
    references::resolve(&mut ctx);
    references::cycles(&mut ctx);
    references::duplicates(&mut ctx);
    network::subnets(&mut ctx);
    network::security_groups(&mut ctx);
    network::vpc_agreement(&mut ctx);
    emr::clusters(&mut ctx);
    studio::wiring(&mut ctx);
    ctx.out
}

impl Ctx<'_> {
    pub(crate) fn emit(&mut self, diagnostic: Diagnostic) {
        self.out.push(diagnostic);
    }

    /// The value written at `path`.
    pub(crate) fn at(&self, path: &str) -> Option<Location> {
        self.map.value(path).map(|span| Location { file: 0, span })
    }

    /// The key written at `path` (for "this table is missing …").
    pub(crate) fn key_at(&self, path: &str) -> Option<Location> {
        self.map.key(path).map(|span| Location { file: 0, span })
    }

    /// The spec role a reference names, if it names one.
    pub(crate) fn role(&self, reference: &Ref) -> Option<(&str, &IamRole)> {
        match reference.target(Kind::IamRole) {
            RefTarget::Spec(address) => {
                self.spec.iam_roles.get_key_value(&address.name).map(|(name, role)| (name.as_str(), role))
            }
            _ => None,
        }
    }

    /// The AWS name of a spec role: its `name`, or its spec name.
    pub(crate) fn role_name<'r>(name: &'r str, role: &'r IamRole) -> &'r str {
        role.name.as_deref().unwrap_or(name)
    }

    /// True when two role references mean the same IAM role.
    pub(crate) fn same_role(&self, a: &Ref, b: &Ref) -> bool {
        let identity = |r: &Ref| -> Option<String> {
            match r.target(Kind::IamRole) {
                RefTarget::Spec(address) => {
                    let role = self.spec.iam_roles.get(&address.name)?;
                    Some(Self::role_name(&address.name, role).to_ascii_lowercase())
                }
                RefTarget::Literal(arn) => arn.rsplit('/').next().map(str::to_ascii_lowercase),
                _ => None,
            }
        };
        matches!((identity(a), identity(b)), (Some(x), Some(y)) if x == y)
    }

    /// Something that identifies a VPC reference: the VPC id when known.
    pub(crate) fn vpc_identity(&self, reference: &Ref) -> Option<String> {
        match reference.target(Kind::Vpc) {
            RefTarget::Spec(address) => {
                Some(self.spec.vpcs.get(&address.name).map_or_else(|| address.to_string(), |vpc| vpc.id.clone()))
            }
            RefTarget::Literal(id) => Some(id.to_owned()),
            _ => None,
        }
    }

    /// The VPC of a subnet reference, when the subnet is in the spec.
    pub(crate) fn vpc_of_subnet(&self, reference: &Ref) -> Option<String> {
        match reference.target(Kind::Subnet) {
            RefTarget::Spec(address) => self.spec.subnets.get(&address.name).and_then(|s| self.vpc_identity(&s.vpc)),
            _ => None,
        }
    }

    /// The VPC of a security group reference, when the group is in the spec.
    pub(crate) fn vpc_of_group(&self, reference: &Ref) -> Option<String> {
        match reference.target(Kind::SecurityGroup) {
            RefTarget::Spec(address) => {
                self.spec.security_groups.get(&address.name).and_then(|g| self.vpc_identity(&g.vpc))
            }
            _ => None,
        }
    }
}
