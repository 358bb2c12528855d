//! What AWS can change in place and what forces a replacement, field by
//! field, for every kind (`../shared/research/aws-api.md`, section 2-5).

use converge_model::Kind;

/// What a change of the field takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// AWS cannot change it: the resource is replaced. The text says why.
    Replace(&'static str),
    /// Changed in place by the named AWS operation(s).
    Update(&'static str),
}

/// One field of a kind, in display order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field {
    pub(crate) path: &'static str,
    pub(crate) effect: Effect,
}

const fn replace(path: &'static str, why: &'static str) -> Field {
    Field { path, effect: Effect::Replace(why) }
}

const fn update(path: &'static str, operation: &'static str) -> Field {
    Field { path, effect: Effect::Update(operation) }
}

const SUBNET: &[Field] = &[
    replace("vpc", "a subnet cannot move to another VPC"),
    replace("cidr", "EC2 cannot change a subnet's CIDR block"),
    replace("availability_zone", "a subnet lives in one availability zone"),
    update("tags", "CreateTags / DeleteTags"),
];

const SECURITY_GROUP: &[Field] = &[
    replace("vpc", "a security group cannot move to another VPC"),
    replace("name", "EC2 cannot rename a security group"),
    replace("description", "EC2 cannot change a security group's description"),
    update("ingress", "AuthorizeSecurityGroupIngress, then RevokeSecurityGroupIngress"),
    update("egress", "AuthorizeSecurityGroupEgress, then RevokeSecurityGroupEgress"),
    update("tags", "CreateTags / DeleteTags"),
];

const IAM_ROLE: &[Field] = &[
    replace("name", "IAM cannot rename a role"),
    replace("path", "IAM cannot move a role to another path"),
    update("description", "UpdateRole"),
    update("trust", "UpdateAssumeRolePolicy"),
    update("managed_policies", "AttachRolePolicy / DetachRolePolicy"),
    update("inline_policies", "PutRolePolicy / DeleteRolePolicy"),
    update(
        "instance_profile",
        "CreateInstanceProfile + AddRoleToInstanceProfile / RemoveRoleFromInstanceProfile + DeleteInstanceProfile",
    ),
    update("max_session_duration", "UpdateRole"),
    update("tags", "TagRole / UntagRole"),
];

const SAGEMAKER_DOMAIN: &[Field] = &[
    replace("name", "SageMaker cannot rename a domain"),
    replace("auth_mode", "the auth mode of a domain is fixed at creation"),
    replace("vpc", "UpdateDomain cannot move a domain to another VPC"),
    replace("kms_key", "the home EFS encryption key is fixed at creation"),
    update("network_access", "UpdateDomain"),
    update("subnets", "UpdateDomain"),
    update("execution_role", "UpdateDomain"),
    update("security_groups", "UpdateDomain"),
    update("sharing", "UpdateDomain"),
    update("tags", "AddTags / DeleteTags"),
];

const SAGEMAKER_USER: &[Field] = &[
    replace("domain", "a user profile belongs to one domain"),
    replace("name", "SageMaker cannot rename a user profile"),
    update("execution_role", "UpdateUserProfile"),
    update("security_groups", "UpdateUserProfile"),
    update("sharing", "UpdateUserProfile"),
    update("tags", "AddTags / DeleteTags"),
];

const CATALOG_PORTFOLIO: &[Field] = &[
    update("display_name", "UpdatePortfolio"),
    update("provider", "UpdatePortfolio"),
    update("description", "UpdatePortfolio"),
    update("principals", "AssociatePrincipalWithPortfolio / DisassociatePrincipalFromPortfolio"),
    update("tags", "UpdatePortfolio"),
];

const CATALOG_PRODUCT: &[Field] = &[
    update("portfolio", "AssociateProductWithPortfolio, then DisassociateProductFromPortfolio"),
    update("name", "UpdateProduct"),
    update("owner", "UpdateProduct"),
    update("description", "UpdateProduct"),
    update("distributor", "UpdateProduct"),
    update("support_email", "UpdateProduct"),
    update("template", "CreateProvisioningArtifact (a new version of the same product)"),
    update("launch_role", "UpdateConstraint (CreateConstraint when there is none)"),
    update("tags", "UpdateProduct"),
];

pub(crate) const FLEET_TYPES_FIXED: &str = "EMR cannot change a fleet's instance types after creation";
pub(crate) const LAUNCH_FIXED: &str = "a fleet's launch specifications apply only at creation";

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
    replace("configurations", "cluster configurations are set at creation"),
    replace("ebs_root_volume_size", "the root volume size is fixed at creation"),
    update("termination_protection", "SetTerminationProtection"),
    update("auto_termination_idle_seconds", "PutAutoTerminationPolicy / RemoveAutoTerminationPolicy"),
    update("step_concurrency", "ModifyCluster"),
    update("visible_to_all_users", "SetVisibleToAllUsers"),
    replace("master.instance_types", FLEET_TYPES_FIXED),
    replace("master.launch", LAUNCH_FIXED),
    replace("core.instance_types", FLEET_TYPES_FIXED),
    replace("core.launch", LAUNCH_FIXED),
    update("core.on_demand", "ModifyInstanceFleet"),
    update("core.spot", "ModifyInstanceFleet"),
    replace("task.instance_types", FLEET_TYPES_FIXED),
    replace("task.launch", LAUNCH_FIXED),
    update("task.on_demand", "ModifyInstanceFleet"),
    update("task.spot", "ModifyInstanceFleet"),
    update("scaling", "PutManagedScalingPolicy / RemoveManagedScalingPolicy"),
    update("tags", "AddTags / RemoveTags"),
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
