//! What the live network says about the spec's clusters and Studio domains:
//! converge reads the route tables and VPC endpoints of the spec's VPCs (it
//! never changes them) and refuses, or warns about, what AWS would refuse or
//! what would not work.
//!
//! - A cluster in a private subnet (no route to an internet gateway) with
//!   custom EMR-managed groups needs a service-access group: "An additional
//!   managed security group for service access is required when you create a
//!   cluster in a private subnet" (EMR Management Guide, "Working with Amazon
//!   EMR-managed security groups"). EMR accepts the request and the cluster then
//!   fails; converge refuses the plan instead.
//! - Studio in `VpcOnly` mode runs only if its subnets reach AWS's APIs: "you
//!   won't be able to run Studio unless your VPC has an interface endpoint to
//!   the SageMaker API and runtime, or a NAT gateway with internet access"
//!   (SageMaker Developer Guide, "Connect Studio in a VPC to external
//!   resources"); notebooks driving EMR also call EMR, Service Catalog, STS and
//!   S3. A subnet with neither a NAT route nor those endpoints is a warning.
//!
//! Where a VPC's routes were not read (a snapshot without them), nothing is said.

use std::collections::BTreeMap;

use converge_model::live::SubnetReach;
use converge_model::{Address, Kind, LiveState, NetworkAccess, Ref, RefTarget, Spec};

use crate::change::PlanWarning;
use crate::error::PlanError;

/// The services a Studio notebook that drives EMR calls, as VPC endpoint names
/// (`com.amazonaws.<region>.<name>`).
pub(crate) const STUDIO_ENDPOINTS: &[&str] =
    &["sagemaker.api", "sagemaker.runtime", "elasticmapreduce", "servicecatalog", "sts", "s3"];

/// Code of the warning for a Studio subnet that reaches no AWS API.
pub const STUDIO_SUBNET_OFFLINE: &str = "studio-subnet-offline";
/// Code of the warning for a Studio subnet in `VpcOnly` mode that is public.
pub const STUDIO_SUBNET_PUBLIC: &str = "studio-subnet-public";
/// Every warning code a plan can raise (registered with the spec's codes, so specs can silence them).
pub const WARNING_CODES: &[&str] = &[STUDIO_SUBNET_OFFLINE, STUDIO_SUBNET_PUBLIC];

/// The spec's subnets in live terms.
pub(crate) struct Network<'a> {
    pub(crate) spec: &'a Spec,
    pub(crate) live: &'a LiveState,
    /// The live ids of the spec's resources that keep them.
    pub(crate) ids: &'a BTreeMap<Address, String>,
}

/// A subnet the spec names: how to call it, and how it reaches beyond its VPC.
struct Subnet {
    name: String,
    reach: SubnetReach,
    vpc: Option<String>,
}

/// The live id (once it exists) and the VPC of the subnet `reference` names: a
/// subnet of the spec (its id as far as `ids` knows it, its VPC from the spec)
/// or a literal id (its VPC from the live subnets).
pub(crate) fn locate_subnet(
    spec: &Spec,
    live: &LiveState,
    ids: &BTreeMap<Address, String>,
    reference: &Ref,
) -> (Option<String>, Option<String>) {
    match reference.target(Kind::Subnet) {
        RefTarget::Spec(address) => {
            let vpc = spec.subnets.get(&address.name).and_then(|s| match s.vpc.target(Kind::Vpc) {
                RefTarget::Spec(vpc) => spec.vpcs.get(&vpc.name).map(|v| v.id.clone()),
                RefTarget::Literal(id) => Some(id.to_owned()),
                _ => None,
            });
            (ids.get(&address).cloned(), vpc)
        }
        RefTarget::Literal(id) => {
            (Some(id.to_owned()), live.subnets.iter().find(|s| s.id == id).map(|s| s.vpc_id.clone()))
        }
        _ => (None, None),
    }
}

impl Network<'_> {
    fn subnet(&self, reference: &Ref) -> Subnet {
        let (id, vpc) = locate_subnet(self.spec, self.live, self.ids, reference);
        let name = match (reference.target(Kind::Subnet), &id) {
            (RefTarget::Spec(address), Some(id)) => format!("`{address}` ({id})"),
            (RefTarget::Spec(address), None) => {
                format!("`{address}` (to be created, with the VPC's main route table)")
            }
            _ => format!("`{}`", id.as_deref().unwrap_or(reference.as_str())),
        };
        let reach = match &vpc {
            Some(vpc) => self.live.subnet_reach(vpc, id.as_deref()),
            None => SubnetReach::Unknown,
        };
        Subnet { name, reach, vpc }
    }

    /// Clusters with custom managed groups in a private subnet and no service-access group.
    pub(crate) fn check_service_access(&self, errors: &mut Vec<PlanError>) {
        for (name, cluster) in &self.spec.emr_clusters {
            if cluster.master_security_group.is_none() || cluster.service_access_security_group.is_some() {
                continue;
            }
            let private =
                cluster.subnets.iter().map(|s| self.subnet(s)).find(|s| matches!(s.reach, SubnetReach::Private { .. }));
            if let Some(subnet) = private {
                errors.push(PlanError::ServiceAccessGroupRequired {
                    address: Address::new(Kind::EmrCluster, name),
                    subnet: subnet.name,
                });
            }
        }
    }

    /// Studio subnets that reach no AWS API, or that are public, unless the domain silences it.
    pub(crate) fn warnings(&self) -> Vec<PlanWarning> {
        let mut warnings = Vec::new();
        for (name, domain) in &self.spec.sagemaker_domains {
            if domain.network_access != NetworkAccess::VpcOnly {
                continue;
            }
            let address = Address::new(Kind::SagemakerDomain, name);
            for reference in &domain.subnets {
                let subnet = self.subnet(reference);
                match subnet.reach {
                    SubnetReach::Private { nat: false } => {
                        let vpc = subnet.vpc.as_deref().unwrap_or_default();
                        let region = &self.spec.stack.region;
                        let present: Vec<&str> = self.live.endpoint_services(vpc).collect();
                        let missing: Vec<&str> = STUDIO_ENDPOINTS
                            .iter()
                            .copied()
                            .filter(|service| !present.contains(&format!("com.amazonaws.{region}.{service}").as_str()))
                            .collect();
                        if missing.is_empty() {
                            continue;
                        }
                        warnings.push(PlanWarning {
                            code: STUDIO_SUBNET_OFFLINE,
                            address: address.clone(),
                            message: format!(
                                "Studio subnet {} has no route to a NAT gateway and no VPC endpoints for {}: in VpcOnly mode its notebooks cannot reach SageMaker, EMR, Service Catalog, STS and S3",
                                subnet.name,
                                missing.join(", ")
                            ),
                            hint: "give the subnet's route table a 0.0.0.0/0 route to a NAT gateway, or create the VPC endpoints (NAT gateway or VPC endpoints; SageMaker Developer Guide, \"Connect Studio in a VPC to external resources\")".to_owned(),
                        });
                    }
                    SubnetReach::Public => warnings.push(PlanWarning {
                        code: STUDIO_SUBNET_PUBLIC,
                        address: address.clone(),
                        message: format!(
                            "Studio subnet {} routes to an internet gateway, and VpcOnly domains must use private subnets",
                            subnet.name
                        ),
                        hint: "use private subnets behind a NAT gateway (\"You must use private subnets only. You cannot use public subnets in VpcOnly mode\": SageMaker Developer Guide)".to_owned(),
                    }),
                    SubnetReach::Private { nat: true } | SubnetReach::Unknown => {}
                }
            }
        }
        warnings.retain(|w| !self.spec.lifecycle(&w.address).is_some_and(|l| l.silence.contains_key(w.code)));
        warnings.dedup();
        warnings
    }
}
