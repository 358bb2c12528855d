//! What AWS can change in place and what forces a replacement, field by
//! field, for every kind: the members each service's update call has in botocore's
//! models (`UpdateDomain`, `UpdateRole`, `ModifyInstanceFleet`…; docs/plan.md).
//! Which AWS calls an in-place change takes is decided where the operations
//! are built (`operations/`); plans show the calls of the operations built.

use converge_model::Kind;

/// What a change of the field takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// AWS cannot change it: the resource is replaced. The text says why.
    Replace(&'static str),
    /// Changed in place by these AWS calls (those of the plan's operations for the field).
    Update(Vec<&'static str>),
}

/// Whether a field can change in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mutability {
    Replace(&'static str),
    InPlace,
}

/// One field of a kind, in display order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field {
    pub(crate) path: &'static str,
    pub(crate) mutability: Mutability,
}

const fn replace(path: &'static str, why: &'static str) -> Field {
    Field { path, mutability: Mutability::Replace(why) }
}

const fn update(path: &'static str) -> Field {
    Field { path, mutability: Mutability::InPlace }
}

const SUBNET: &[Field] = &[
    replace("vpc", "a subnet cannot move to another VPC"),
    replace("cidr", "EC2 cannot change a subnet's CIDR block"),
    replace("availability_zone", "a subnet lives in one availability zone"),
    update("tags"),
];

const SECURITY_GROUP: &[Field] = &[
    replace("vpc", "a security group cannot move to another VPC"),
    replace("name", "EC2 cannot rename a security group"),
    replace("description", "EC2 cannot change a security group's description"),
    update("ingress"),
    update("egress"),
    update("tags"),
];

const IAM_ROLE: &[Field] = &[
    replace("name", "IAM cannot rename a role"),
    replace("path", "IAM cannot move a role to another path"),
    update("description"),
    update("trust"),
    update("managed_policies"),
    update("inline_policies"),
    update("instance_profile"),
    update("max_session_duration"),
    update("tags"),
];

const SAGEMAKER_DOMAIN: &[Field] = &[
    replace("name", "SageMaker cannot rename a domain"),
    replace("auth_mode", "the auth mode of a domain is fixed at creation"),
    replace("vpc", "UpdateDomain cannot move a domain to another VPC"),
    replace("kms_key", "the home EFS encryption key is fixed at creation"),
    update("network_access"),
    update("subnets"),
    update("execution_role"),
    update("security_groups"),
    update("sharing"),
    update("home_efs_on_delete"),
    update("tags"),
];

const SAGEMAKER_USER: &[Field] = &[
    replace("domain", "a user profile belongs to one domain"),
    replace("name", "SageMaker cannot rename a user profile"),
    replace("sso_user_name", "UpdateUserProfile cannot change a profile's IAM Identity Center user"),
    update("execution_role"),
    update("security_groups"),
    update("sharing"),
    update("tags"),
];

const CATALOG_PORTFOLIO: &[Field] =
    &[update("display_name"), update("provider"), update("description"), update("principals"), update("tags")];

const CATALOG_PRODUCT: &[Field] = &[
    update("portfolio"),
    update("name"),
    update("owner"),
    update("description"),
    update("distributor"),
    update("support_email"),
    update("template"),
    update("launch_role"),
    update("tags"),
];

pub(crate) const FLEET_TYPES_FIXED: &str = "EMR cannot change a fleet's instance types after creation";
pub(crate) const LAUNCH_FIXED: &str = "a fleet's launch specifications apply only at creation";
pub(crate) const FLEET_NAME_FIXED: &str = "EMR cannot rename an instance fleet";

const EMR_CLUSTER: &[Field] = &[
    replace("name", "EMR cannot rename a cluster"),
    replace("release", "the release is fixed at creation"),
    replace("applications", "applications are installed at creation"),
    replace("subnets", "EMR chooses the subnet and AZ at creation"),
    replace("service_role", "the service role is fixed at creation"),
    replace("instance_profile", "the EC2 instance profile is fixed at creation"),
    replace("master_security_group", "EMR security groups are fixed at creation"),
    replace("core_security_group", "EMR security groups are fixed at creation"),
    replace("service_access_security_group", "EMR security groups are fixed at creation"),
    replace("additional_master_security_groups", "EMR security groups are fixed at creation"),
    replace("additional_core_security_groups", "EMR security groups are fixed at creation"),
    replace("log_uri", "the log location is fixed at creation"),
    replace("key_name", "the EC2 key pair is fixed at creation"),
    replace("bootstrap", "bootstrap actions run only at creation"),
    replace(
        "configurations",
        "cluster configurations are set at creation (per-fleet `configurations` change in place)",
    ),
    replace("ebs_root_volume_size", "the root volume size is fixed at creation"),
    update("termination_protection"),
    update("auto_termination_idle_seconds"),
    update("step_concurrency"),
    replace("master.name", FLEET_NAME_FIXED),
    replace(
        "master.market",
        "the master fleet runs one instance, On-Demand or Spot, and ModifyInstanceFleet cannot resize it",
    ),
    replace("master.instance_types", FLEET_TYPES_FIXED),
    replace("master.launch", LAUNCH_FIXED),
    update("master.configurations"),
    replace("core.name", FLEET_NAME_FIXED),
    replace("core.instance_types", FLEET_TYPES_FIXED),
    replace("core.launch", LAUNCH_FIXED),
    update("core.on_demand"),
    update("core.spot"),
    update("core.resize"),
    update("core.configurations"),
    replace("task.name", FLEET_NAME_FIXED),
    replace("task.instance_types", FLEET_TYPES_FIXED),
    replace("task.launch", LAUNCH_FIXED),
    update("task.on_demand"),
    update("task.spot"),
    update("task.resize"),
    update("task.configurations"),
    update("scaling"),
    update("tags"),
];

/// The fields of a kind, in the order plans show them.
pub(crate) fn of(kind: Kind) -> &'static [Field] {
    match kind {
        Kind::Vpc => &[],
        Kind::Subnet => SUBNET,
        Kind::SecurityGroup => SECURITY_GROUP,
        Kind::IamRole => IAM_ROLE,
        Kind::SagemakerDomain => SAGEMAKER_DOMAIN,
        Kind::SagemakerUser => SAGEMAKER_USER,
        Kind::CatalogPortfolio => CATALOG_PORTFOLIO,
        Kind::CatalogProduct => CATALOG_PRODUCT,
        Kind::EmrCluster => EMR_CLUSTER,
    }
}
