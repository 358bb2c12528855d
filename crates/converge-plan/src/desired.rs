//! What every kind's desired resource is built with: the [`Resolver`] of the
//! spec's references (to ids, or to the output of the step that creates
//! them), the names AWS knows resources by (and adoption's keys), role ARNs,
//! template URLs, tokens. Each kind's own desired resource is in its module
//! (`kinds/<kind>.rs`, `wanted`), worked out once per plan and used by both
//! the diff and the operations.

use std::collections::BTreeMap;

use converge_model::{Address, IamRole, Kind, Partition, Ref, RefTarget, SecurityGroup, Spec, Tags};
use converge_ops::{Id, StepId};

use crate::normalize;

/// The placeholder step of an [`Id::Output`] until the steps are numbered
/// (`steps.rs` points it at the step that creates the address).
pub(crate) const UNNUMBERED: StepId = StepId(0);

/// Resolves the spec's references.
pub(crate) struct Resolver<'a> {
    pub spec: &'a Spec,
    pub account: &'a str,
    /// The live id of each spec resource that keeps its identity through this plan.
    pub ids: BTreeMap<Address, String>,
}

impl Resolver<'_> {
    /// The AWS id a reference stands for: known, or the output of the step creating it.
    pub(crate) fn id(&self, reference: &Ref, kind: Kind) -> Id {
        match reference.target(kind) {
            RefTarget::Literal(id) => Id::known(id),
            RefTarget::Spec(address) if kind == Kind::Vpc => match self.spec.vpcs.get(&address.name) {
                Some(vpc) => Id::known(&vpc.id),
                None => Id::Output { output_of: UNNUMBERED, address },
            },
            RefTarget::Spec(address) => match self.ids.get(&address) {
                Some(id) => Id::known(id),
                None => Id::Output { output_of: UNNUMBERED, address },
            },
            RefTarget::WrongKind(_) | RefTarget::Unqualifiable => Id::known(reference.as_str()),
        }
    }

    pub(crate) fn ids(&self, references: &[Ref], kind: Kind) -> Vec<Id> {
        let mut ids: Vec<Id> = references.iter().map(|r| self.id(r, kind)).collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// IAM role ARNs are known before the role exists: they follow from account, path and name.
    pub(crate) fn role_arn(&self, reference: &Ref) -> String {
        match reference.target(Kind::IamRole) {
            RefTarget::Spec(address) => match self.spec.iam_roles.get(&address.name) {
                Some(role) => role_arn(&self.spec.stack.region, self.account, role, &address.name),
                None => reference.as_str().to_owned(),
            },
            _ => reference.as_str().to_owned(),
        }
    }

    pub(crate) fn role_name(&self, reference: &Ref) -> String {
        match reference.target(Kind::IamRole) {
            RefTarget::Spec(address) => match self.spec.iam_roles.get(&address.name) {
                Some(role) => role.name.clone().unwrap_or(address.name),
                None => address.name,
            },
            _ => reference.as_str().rsplit('/').next().unwrap_or(reference.as_str()).to_owned(),
        }
    }

    /// The stack's tags and the resource's own (the resource's win).
    pub(crate) fn tags(&self, own: &Tags) -> Tags {
        let mut tags = self.spec.stack.tags.clone();
        tags.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        tags
    }
}

/// A role's ARN, known before the role exists: partition (from the region), account, path, name.
pub(crate) fn role_arn(region: &str, account: &str, role: &IamRole, spec_name: &str) -> String {
    let path = if role.path.ends_with('/') { role.path.clone() } else { format!("{}/", role.path) };
    let partition = Partition::of_region(region).name;
    format!("arn:{partition}:iam::{account}:role{path}{}", role.name.as_deref().unwrap_or(spec_name))
}

/// Where Service Catalog (and CloudFormation) fetch a template: the regional S3
/// endpoint of the stack's partition, virtual-hosted, or path-style for a bucket
/// whose name has dots (its virtual-hosted name fails the endpoint's TLS
/// certificate, which covers one label: Amazon S3 User Guide, "Virtual hosting of buckets").
pub(crate) fn template_url(region: &str, bucket: &str, key: &str) -> String {
    let suffix = Partition::of_region(region).dns_suffix;
    if bucket.contains('.') {
        format!("https://s3.{region}.{suffix}/{bucket}/{key}")
    } else {
        format!("https://{bucket}.s3.{region}.{suffix}/{key}")
    }
}

/// The AWS name a resource of the spec is known by, where AWS names are unique.
pub(crate) fn aws_name(spec: &Spec, address: &Address) -> Option<String> {
    let name = &address.name;
    Some(match address.kind {
        Kind::IamRole => spec.iam_roles.get(name)?.name.clone().unwrap_or_else(|| name.clone()),
        Kind::SecurityGroup => security_group_name(spec, name, spec.security_groups.get(name)?),
        Kind::SagemakerDomain => spec.sagemaker_domains.get(name)?.name.clone(),
        Kind::SagemakerUser => spec.sagemaker_users.get(name)?.name.clone().unwrap_or_else(|| name.clone()),
        _ => return adoption_key(spec, address),
    })
}

/// What finds the existing resource an `adopt = true` resource of a kind
/// without a unique AWS name takes over: a subnet's CIDR block (unique in its
/// VPC), a portfolio's display name, a product's name, a running cluster's
/// name. Only adoption looks for these: two portfolios may share a name.
fn adoption_key(spec: &Spec, address: &Address) -> Option<String> {
    if !spec.lifecycle(address)?.adopt {
        return None;
    }
    let name = &address.name;
    Some(match address.kind {
        Kind::Subnet => normalize::cidr(&spec.subnets.get(name)?.cidr),
        Kind::CatalogPortfolio => spec.catalog_portfolios.get(name)?.display_name.clone(),
        Kind::CatalogProduct => spec.catalog_products.get(name)?.name.clone(),
        Kind::EmrCluster => spec.emr_clusters.get(name)?.name.clone(),
        _ => return None,
    })
}

pub(crate) fn security_group_name(spec: &Spec, name: &str, group: &SecurityGroup) -> String {
    group.name.clone().unwrap_or_else(|| format!("{}-{name}", spec.stack.name))
}

/// The name converge gives a product version: the template's content hash.
pub fn template_version(text: &str) -> String {
    format!("sha256:{}", &sha256_hex(text)[..16])
}

pub(crate) fn sha256_hex(text: &str) -> String {
    crate::digest::sha256_hex(text.as_bytes())
}

/// A token that makes a retried create return the first one's resource
/// (Service Catalog keeps tokens for a while): the same stack, address and
/// purpose give the same token on every run.
pub(crate) fn idempotency_token(stack: &str, address: &Address, purpose: &str) -> String {
    format!("converge-{}", &sha256_hex(&format!("{stack}/{address}/{purpose}"))[..40])
}

// ---- the desired resources ----------------------------------------------------

pub(crate) fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items.dedup();
    items
}
