//! The operation vocabulary: one variant per AWS call (or tightly bound group
//! of calls) converge makes, with typed, resolved inputs.

use std::collections::BTreeMap;

use converge_model::live::LiveRule;
use converge_model::{
    Address, AuthMode, BootstrapAction, Configuration, EbsVolume, FleetRole, IpCidr, ManagedScaling, NetworkAccess,
    OnDemandAllocation, ResizeSettings, SharingSettings, SpotAllocation, SpotTimeoutAction, Tags,
};
use serde::{Deserialize, Serialize};

use crate::StepId;

/// An AWS id an operation works on: known now, or produced by an earlier step.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Id {
    /// An id that exists now (`sg-0123…`).
    Known(String),
    /// The id the step `output_of` produces (the new resource `address`).
    Output { output_of: StepId, address: Address },
}

impl Id {
    pub fn known(id: impl Into<String>) -> Id {
        Id::Known(id.into())
    }

    /// The id, if it is known without running anything.
    pub fn as_known(&self) -> Option<&str> {
        match self {
            Id::Known(id) => Some(id),
            Id::Output { .. } => None,
        }
    }
}

/// The AWS service an operation calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    Ec2,
    Iam,
    Sagemaker,
    ServiceCatalog,
    S3,
    Emr,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Ec2 => "EC2",
            Service::Iam => "IAM",
            Service::Sagemaker => "SageMaker",
            Service::ServiceCatalog => "Service Catalog",
            Service::S3 => "S3",
            Service::Emr => "EMR",
        }
    }
}

// ---- EC2 ------------------------------------------------------------------

/// Inbound or outbound rules of a security group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Ingress,
    Egress,
}

/// An IP protocol as EC2 spells it in `IpPermission.IpProtocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpProtocol {
    /// `-1`: every protocol and port.
    All,
    Tcp,
    Udp,
    Icmp,
    /// Any other protocol number (`50` for ESP); converge only revokes these.
    Number(u16),
}

impl IpProtocol {
    /// Reads EC2's spellings: `-1`, `tcp`, `6`, `icmp`, `1`, `50`, …
    pub fn from_aws(text: &str) -> Option<IpProtocol> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "-1" | "all" => IpProtocol::All,
            "tcp" | "6" => IpProtocol::Tcp,
            "udp" | "17" => IpProtocol::Udp,
            "icmp" | "1" => IpProtocol::Icmp,
            other => IpProtocol::Number(other.parse().ok()?),
        })
    }

    /// EC2's spelling.
    pub fn aws(self) -> String {
        match self {
            IpProtocol::All => "-1".to_owned(),
            IpProtocol::Tcp => "tcp".to_owned(),
            IpProtocol::Udp => "udp".to_owned(),
            IpProtocol::Icmp => "icmp".to_owned(),
            IpProtocol::Number(n) => n.to_string(),
        }
    }
}

impl Serialize for IpProtocol {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.aws())
    }
}

impl<'de> Deserialize<'de> for IpProtocol {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        IpProtocol::from_aws(&text).ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not an IP protocol")))
    }
}

/// The other side of a rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Peer {
    /// An IPv4 or IPv6 block, in canonical form.
    Cidr(String),
    /// A security group (the rule's own group included).
    Group(Id),
    /// A managed prefix list (`pl-…`), e.g. the S3 gateway endpoint's.
    PrefixList(String),
}

/// One permission of a security group with one peer, as EC2 stores it:
/// `from_port`/`to_port` are the port range of tcp and udp, the ICMP type and
/// code of icmp (-1 for all), and absent for all traffic.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rule {
    pub protocol: IpProtocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<i64>,
    pub peer: Peer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Rule {
    /// What identifies a rule to EC2: everything but the description.
    pub fn permission(&self) -> (IpProtocol, Option<i64>, Option<i64>, &Peer) {
        (self.protocol, self.from_port, self.to_port, &self.peer)
    }

    /// A rule as `DescribeSecurityGroupRules` reports it, in canonical form
    /// (CIDR host bits cleared, no ports for all traffic, -1 for any ICMP
    /// type or code). `None` when the protocol is not one EC2 spells.
    pub fn from_live(rule: &LiveRule) -> Option<Rule> {
        let protocol = IpProtocol::from_aws(&rule.protocol)?;
        let (from_port, to_port) = match protocol {
            IpProtocol::All => (None, None),
            IpProtocol::Icmp => {
                let icmp_type = rule.from_port.unwrap_or(-1);
                let icmp_code = if icmp_type < 0 { -1 } else { rule.to_port.unwrap_or(-1) };
                (Some(icmp_type), Some(icmp_code))
            }
            _ => (rule.from_port, rule.to_port),
        };
        let peer = match (&rule.cidr, &rule.group_id, &rule.prefix_list_id) {
            (Some(cidr), ..) => Peer::Cidr(canonical_cidr(cidr)),
            (None, Some(group), _) => Peer::Group(Id::known(group)),
            (None, None, Some(list)) => Peer::PrefixList(list.clone()),
            (None, None, None) => Peer::Cidr(String::new()),
        };
        Some(Rule { protocol, from_port, to_port, peer, description: rule.description.clone() })
    }

    /// The rule as EC2 stores it; `None` while its peer is the output of a step.
    pub fn to_live(&self) -> Option<LiveRule> {
        let (cidr, group_id, prefix_list_id) = match &self.peer {
            Peer::Cidr(cidr) => (Some(cidr.clone()), None, None),
            Peer::Group(id) => (None, Some(id.as_known()?.to_owned()), None),
            Peer::PrefixList(list) => (None, None, Some(list.clone())),
        };
        Some(LiveRule {
            protocol: self.protocol.aws(),
            from_port: self.from_port,
            to_port: self.to_port,
            cidr,
            group_id,
            prefix_list_id,
            description: self.description.clone(),
        })
    }
}

/// `10.0.1.7/24` → `10.0.1.0/24`; text that is no CIDR block is kept as written.
pub fn canonical_cidr(text: &str) -> String {
    IpCidr::parse(text.trim()).map_or_else(|_| text.trim().to_owned(), |c| c.canonical().to_string())
}

// ---- IAM, SageMaker, Service Catalog ----------------------------------------

/// The settings of a domain's default user settings or of a user profile that converge manages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSettings {
    /// The execution role ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing: Option<SharingSettings>,
}

/// A provisioning artifact's properties: its name is the template's content hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductVersion {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `LoadTemplateFromURL`.
    pub template_url: String,
}

// ---- EMR --------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpotTimeout {
    pub minutes: i64,
    pub action: SpotTimeoutAction,
}

/// One instance type of a fleet, as `InstanceTypeConfig` takes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceTypeSpec {
    pub instance_type: String,
    pub weight: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid_percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ebs: Vec<EbsVolume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_optimized: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configurations: Vec<Configuration>,
}

/// An instance fleet, as `InstanceFleetConfig` takes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetConfig {
    pub role: FleetRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub instance_types: Vec<InstanceTypeSpec>,
    pub on_demand: i64,
    pub spot: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_timeout: Option<SpotTimeout>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_allocation: Option<SpotAllocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_demand_allocation: Option<OnDemandAllocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resize: Option<ResizeSettings>,
}

/// The configurations of one instance type of a running fleet (reconfiguration).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeConfigurations {
    pub instance_type: String,
    pub configurations: Vec<Configuration>,
}

/// Everything `RunJobFlow` is given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunJobFlow {
    pub name: String,
    pub release: String,
    pub applications: Vec<String>,
    pub subnets: Vec<Id>,
    /// Role names (EMR takes names for both).
    pub service_role: String,
    pub instance_profile: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_security_group: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_security_group: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_access_security_group: Option<Id>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_master_security_groups: Vec<Id>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_core_security_groups: Vec<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bootstrap: Vec<BootstrapAction>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configurations: Vec<Configuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_root_volume_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_root_volume_iops: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_root_volume_throughput: Option<i64>,
    pub termination_protected: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_termination_idle_seconds: Option<i64>,
    pub step_concurrency: i64,
    pub fleets: Vec<FleetConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<ManagedScaling>,
    pub tags: Tags,
}

// ---- tags -------------------------------------------------------------------

/// A resource whose tags `SetTags` changes, in the terms its service tags it by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "resource", rename_all = "snake_case")]
pub enum Tagged {
    /// A subnet or security group (`CreateTags` / `DeleteTags`).
    Ec2 { id: Id },
    /// `TagRole` / `UntagRole`.
    IamRole { name: String },
    /// `AddTags` / `DeleteTags` on the domain's ARN.
    SagemakerDomain { domain: Id },
    /// `AddTags` / `DeleteTags` on the user profile's ARN.
    SagemakerUserProfile { domain: Id, name: String },
    /// `UpdatePortfolio` with `AddTags` / `RemoveTags`.
    Portfolio { portfolio: Id },
    /// `UpdateProduct` with `AddTags` / `RemoveTags`.
    Product { product: Id },
    /// EMR `AddTags` / `RemoveTags`.
    EmrCluster { cluster: Id },
}

// ---- the operations ------------------------------------------------------------

/// One AWS call, or a tightly bound group of calls, with every input resolved,
/// grouped by the service that carries it out: an executor dispatches on the
/// service and then matches that service's operations, every one of them.
///
/// The JSON form is the inner operation's (`{"operation": "create_subnet", …}`):
/// the service is implied by the operation's name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Operation {
    Ec2(Ec2Op),
    Iam(IamOp),
    Sagemaker(SagemakerOp),
    /// Service Catalog, and the S3 upload of the templates its products use.
    Catalog(CatalogOp),
    Emr(EmrOp),
    /// Tags of a resource of any service.
    Tags(TagOp),
}

/// Subnets, security groups and their rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum Ec2Op {
    CreateSubnet {
        vpc: Id,
        cidr: String,
        availability_zone: String,
        tags: Tags,
    },
    DeleteSubnet {
        subnet: Id,
    },
    CreateSecurityGroup {
        vpc: Id,
        name: String,
        description: String,
        tags: Tags,
    },
    AuthorizeRules {
        group: Id,
        direction: Direction,
        rules: Vec<Rule>,
    },
    RevokeRules {
        group: Id,
        direction: Direction,
        rules: Vec<Rule>,
    },
    /// New descriptions for rules that exist (the description is not part of a rule's identity).
    UpdateRuleDescriptions {
        group: Id,
        direction: Direction,
        rules: Vec<Rule>,
    },
    DeleteSecurityGroup {
        group: Id,
    },
}

/// Roles, their policies and instance profiles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum IamOp {
    CreateRole {
        name: String,
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        trust_policy: String,
        max_session_duration: i64,
        tags: Tags,
    },
    /// `UpdateRole`: an empty description clears it.
    UpdateRole {
        role: String,
        description: String,
        max_session_duration: i64,
    },
    UpdateAssumeRolePolicy {
        role: String,
        policy: String,
    },
    AttachRolePolicies {
        role: String,
        policy_arns: Vec<String>,
    },
    DetachRolePolicies {
        role: String,
        policy_arns: Vec<String>,
    },
    /// `PutRolePolicy` for each named document.
    PutRolePolicies {
        role: String,
        policies: BTreeMap<String, String>,
    },
    DeleteRolePolicies {
        role: String,
        names: Vec<String>,
    },
    /// `CreateInstanceProfile` + `AddRoleToInstanceProfile`.
    CreateInstanceProfile {
        name: String,
        role: String,
        tags: Tags,
    },
    /// `RemoveRoleFromInstanceProfile` (when it holds `role`) + `DeleteInstanceProfile`.
    DeleteInstanceProfile {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
    },
    DeleteRole {
        role: String,
    },
}

/// Studio domains, user profiles, and the apps and spaces that block their changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum SagemakerOp {
    CreateDomain {
        name: String,
        auth_mode: AuthMode,
        network_access: NetworkAccess,
        vpc: Id,
        subnets: Vec<Id>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kms_key: Option<String>,
        default_user_settings: UserSettings,
        tags: Tags,
    },
    /// Only the parts given change.
    UpdateDomain {
        domain: Id,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        network_access: Option<NetworkAccess>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subnets: Option<Vec<Id>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default_user_settings: Option<UserSettings>,
    },
    /// `DeleteDomain` with `RetentionPolicy.HomeEfsFileSystem`; done when the
    /// domain is gone and, unless the home EFS is retained, once the two NFS
    /// security groups SageMaker made in the VPC (which it leaves behind) are
    /// deleted too.
    DeleteDomain {
        domain: Id,
        retain_home_efs: bool,
    },
    CreateUserProfile {
        domain: Id,
        name: String,
        user_settings: UserSettings,
        /// The IAM Identity Center user name, for a domain whose AuthMode is SSO
        /// (`SingleSignOnUserIdentifier = "UserName"`, `SingleSignOnUserValue`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sso_user_name: Option<String>,
        tags: Tags,
    },
    UpdateUserProfile {
        domain: Id,
        name: String,
        user_settings: UserSettings,
    },
    DeleteApp {
        domain: Id,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_profile: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        space: Option<String>,
        app_type: String,
        app_name: String,
    },
    /// `DeleteSpace`; done when the space is gone.
    DeleteSpace {
        domain: Id,
        space: String,
    },
    DeleteUserProfile {
        domain: Id,
        name: String,
    },
}

/// Portfolios, products, versions, constraints, and the templates in S3.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum CatalogOp {
    CreatePortfolio {
        display_name: String,
        provider: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        tags: Tags,
        idempotency_token: String,
    },
    UpdatePortfolio {
        portfolio: Id,
        display_name: String,
        provider: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    AssociatePrincipals {
        portfolio: Id,
        principal_arns: Vec<String>,
    },
    DisassociatePrincipals {
        portfolio: Id,
        principal_arns: Vec<String>,
    },
    DeletePortfolio {
        portfolio: Id,
    },
    /// S3 `PutObject` of a CloudFormation template, under its content hash.
    UploadTemplate {
        bucket: String,
        key: String,
        body: String,
    },
    CreateProduct {
        name: String,
        owner: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        distributor: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        support_email: Option<String>,
        tags: Tags,
        version: ProductVersion,
        idempotency_token: String,
    },
    UpdateProduct {
        product: Id,
        name: String,
        owner: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        distributor: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        support_email: Option<String>,
    },
    /// `CreateProvisioningArtifact`.
    CreateProductVersion {
        product: Id,
        version: ProductVersion,
        idempotency_token: String,
    },
    /// `UpdateProvisioningArtifact` with `Active` for each version.
    SetProductVersionsActive {
        product: Id,
        versions: Vec<String>,
        active: bool,
    },
    /// `AssociateProductWithPortfolio`.
    AssociateProduct {
        product: Id,
        portfolio: Id,
    },
    /// `DisassociateProductFromPortfolio`.
    DisassociateProduct {
        product: Id,
        portfolio: Id,
    },
    /// `CreateConstraint` of type LAUNCH with `{"RoleArn": …}`.
    CreateLaunchConstraint {
        product: Id,
        portfolio: Id,
        role_arn: String,
        idempotency_token: String,
    },
    /// `UpdateConstraint` with new LAUNCH parameters.
    UpdateLaunchConstraint {
        constraint: String,
        role_arn: String,
    },
    DeleteConstraint {
        constraint: String,
    },
    DeleteProduct {
        product: Id,
    },
}

/// EMR clusters and their fleets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum EmrOp {
    RunJobFlow(Box<RunJobFlow>),
    AddInstanceFleet {
        cluster: Id,
        fleet: FleetConfig,
    },
    /// Only the parts given change; `instance_types` lists every instance type
    /// of the fleet with its new configurations (a reconfiguration).
    ModifyInstanceFleet {
        cluster: Id,
        fleet: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_demand: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        spot: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resize: Option<ResizeSettings>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance_types: Option<Vec<TypeConfigurations>>,
    },
    PutManagedScalingPolicy {
        cluster: Id,
        policy: ManagedScaling,
    },
    RemoveManagedScalingPolicy {
        cluster: Id,
    },
    SetTerminationProtection {
        cluster: Id,
        protected: bool,
    },
    PutAutoTerminationPolicy {
        cluster: Id,
        idle_seconds: i64,
    },
    RemoveAutoTerminationPolicy {
        cluster: Id,
    },
    /// `ModifyCluster` (step concurrency).
    ModifyCluster {
        cluster: Id,
        step_concurrency: i64,
    },
    /// `TerminateJobFlows`; done when the cluster is `TERMINATED`.
    TerminateCluster {
        cluster: Id,
    },
}

/// Tags, in the terms of the service of the resource they are on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum TagOp {
    /// Tags to set (added or changed) and keys to remove.
    SetTags { target: Tagged, set: Tags, remove: Vec<String> },
}

impl Operation {
    pub fn service(&self) -> Service {
        match self {
            Operation::Ec2(_) => Service::Ec2,
            Operation::Iam(_) => Service::Iam,
            Operation::Sagemaker(_) => Service::Sagemaker,
            Operation::Catalog(CatalogOp::UploadTemplate { .. }) => Service::S3,
            Operation::Catalog(_) => Service::ServiceCatalog,
            Operation::Emr(_) => Service::Emr,
            Operation::Tags(TagOp::SetTags { target, .. }) => match target {
                Tagged::Ec2 { .. } => Service::Ec2,
                Tagged::IamRole { .. } => Service::Iam,
                Tagged::SagemakerDomain { .. } | Tagged::SagemakerUserProfile { .. } => Service::Sagemaker,
                Tagged::Portfolio { .. } | Tagged::Product { .. } => Service::ServiceCatalog,
                Tagged::EmrCluster { .. } => Service::Emr,
            },
        }
    }

    /// The AWS API operations this makes, in order (the first names it in errors).
    pub fn aws_calls(&self) -> Vec<&'static str> {
        let one = |name: &'static str| vec![name];
        match self {
            Operation::Ec2(Ec2Op::CreateSubnet { .. }) => one("CreateSubnet"),
            Operation::Ec2(Ec2Op::DeleteSubnet { .. }) => one("DeleteSubnet"),
            Operation::Ec2(Ec2Op::CreateSecurityGroup { .. }) => one("CreateSecurityGroup"),
            Operation::Ec2(Ec2Op::AuthorizeRules { direction: Direction::Ingress, .. }) => {
                one("AuthorizeSecurityGroupIngress")
            }
            Operation::Ec2(Ec2Op::AuthorizeRules { direction: Direction::Egress, .. }) => {
                one("AuthorizeSecurityGroupEgress")
            }
            Operation::Ec2(Ec2Op::RevokeRules { direction: Direction::Ingress, .. }) => {
                one("RevokeSecurityGroupIngress")
            }
            Operation::Ec2(Ec2Op::RevokeRules { direction: Direction::Egress, .. }) => one("RevokeSecurityGroupEgress"),
            Operation::Ec2(Ec2Op::UpdateRuleDescriptions { direction: Direction::Ingress, .. }) => {
                one("UpdateSecurityGroupRuleDescriptionsIngress")
            }
            Operation::Ec2(Ec2Op::UpdateRuleDescriptions { direction: Direction::Egress, .. }) => {
                one("UpdateSecurityGroupRuleDescriptionsEgress")
            }
            Operation::Ec2(Ec2Op::DeleteSecurityGroup { .. }) => one("DeleteSecurityGroup"),
            Operation::Iam(IamOp::CreateRole { .. }) => one("CreateRole"),
            Operation::Iam(IamOp::UpdateRole { .. }) => one("UpdateRole"),
            Operation::Iam(IamOp::UpdateAssumeRolePolicy { .. }) => one("UpdateAssumeRolePolicy"),
            Operation::Iam(IamOp::AttachRolePolicies { .. }) => one("AttachRolePolicy"),
            Operation::Iam(IamOp::DetachRolePolicies { .. }) => one("DetachRolePolicy"),
            Operation::Iam(IamOp::PutRolePolicies { .. }) => one("PutRolePolicy"),
            Operation::Iam(IamOp::DeleteRolePolicies { .. }) => one("DeleteRolePolicy"),
            Operation::Iam(IamOp::CreateInstanceProfile { .. }) => {
                vec!["CreateInstanceProfile", "AddRoleToInstanceProfile"]
            }
            Operation::Iam(IamOp::DeleteInstanceProfile { role: Some(_), .. }) => {
                vec!["RemoveRoleFromInstanceProfile", "DeleteInstanceProfile"]
            }
            Operation::Iam(IamOp::DeleteInstanceProfile { role: None, .. }) => one("DeleteInstanceProfile"),
            Operation::Iam(IamOp::DeleteRole { .. }) => one("DeleteRole"),
            Operation::Sagemaker(SagemakerOp::CreateDomain { .. }) => one("CreateDomain"),
            Operation::Sagemaker(SagemakerOp::UpdateDomain { .. }) => one("UpdateDomain"),
            Operation::Sagemaker(SagemakerOp::DeleteDomain { .. }) => one("DeleteDomain"),
            Operation::Sagemaker(SagemakerOp::CreateUserProfile { .. }) => one("CreateUserProfile"),
            Operation::Sagemaker(SagemakerOp::UpdateUserProfile { .. }) => one("UpdateUserProfile"),
            Operation::Sagemaker(SagemakerOp::DeleteApp { .. }) => one("DeleteApp"),
            Operation::Sagemaker(SagemakerOp::DeleteSpace { .. }) => one("DeleteSpace"),
            Operation::Sagemaker(SagemakerOp::DeleteUserProfile { .. }) => one("DeleteUserProfile"),
            Operation::Catalog(CatalogOp::CreatePortfolio { .. }) => one("CreatePortfolio"),
            Operation::Catalog(CatalogOp::UpdatePortfolio { .. }) => one("UpdatePortfolio"),
            Operation::Catalog(CatalogOp::AssociatePrincipals { .. }) => one("AssociatePrincipalWithPortfolio"),
            Operation::Catalog(CatalogOp::DisassociatePrincipals { .. }) => one("DisassociatePrincipalFromPortfolio"),
            Operation::Catalog(CatalogOp::DeletePortfolio { .. }) => one("DeletePortfolio"),
            Operation::Catalog(CatalogOp::UploadTemplate { .. }) => one("PutObject"),
            Operation::Catalog(CatalogOp::CreateProduct { .. }) => one("CreateProduct"),
            Operation::Catalog(CatalogOp::UpdateProduct { .. }) => one("UpdateProduct"),
            Operation::Catalog(CatalogOp::CreateProductVersion { .. }) => one("CreateProvisioningArtifact"),
            Operation::Catalog(CatalogOp::SetProductVersionsActive { .. }) => one("UpdateProvisioningArtifact"),
            Operation::Catalog(CatalogOp::AssociateProduct { .. }) => one("AssociateProductWithPortfolio"),
            Operation::Catalog(CatalogOp::DisassociateProduct { .. }) => one("DisassociateProductFromPortfolio"),
            Operation::Catalog(CatalogOp::CreateLaunchConstraint { .. }) => one("CreateConstraint"),
            Operation::Catalog(CatalogOp::UpdateLaunchConstraint { .. }) => one("UpdateConstraint"),
            Operation::Catalog(CatalogOp::DeleteConstraint { .. }) => one("DeleteConstraint"),
            Operation::Catalog(CatalogOp::DeleteProduct { .. }) => one("DeleteProduct"),
            Operation::Emr(EmrOp::RunJobFlow(_)) => one("RunJobFlow"),
            Operation::Emr(EmrOp::AddInstanceFleet { .. }) => one("AddInstanceFleet"),
            Operation::Emr(EmrOp::ModifyInstanceFleet { .. }) => one("ModifyInstanceFleet"),
            Operation::Emr(EmrOp::PutManagedScalingPolicy { .. }) => one("PutManagedScalingPolicy"),
            Operation::Emr(EmrOp::RemoveManagedScalingPolicy { .. }) => one("RemoveManagedScalingPolicy"),
            Operation::Emr(EmrOp::SetTerminationProtection { .. }) => one("SetTerminationProtection"),
            Operation::Emr(EmrOp::PutAutoTerminationPolicy { .. }) => one("PutAutoTerminationPolicy"),
            Operation::Emr(EmrOp::RemoveAutoTerminationPolicy { .. }) => one("RemoveAutoTerminationPolicy"),
            Operation::Emr(EmrOp::ModifyCluster { .. }) => one("ModifyCluster"),
            Operation::Emr(EmrOp::TerminateCluster { .. }) => one("TerminateJobFlows"),
            Operation::Tags(TagOp::SetTags { target, set, remove }) => {
                let (add, delete) = match target {
                    Tagged::Ec2 { .. } => ("CreateTags", "DeleteTags"),
                    Tagged::IamRole { .. } => ("TagRole", "UntagRole"),
                    Tagged::SagemakerDomain { .. } | Tagged::SagemakerUserProfile { .. } => ("AddTags", "DeleteTags"),
                    Tagged::Portfolio { .. } => return one("UpdatePortfolio"),
                    Tagged::Product { .. } => return one("UpdateProduct"),
                    Tagged::EmrCluster { .. } => ("AddTags", "RemoveTags"),
                };
                let mut calls = Vec::new();
                if !set.is_empty() {
                    calls.push(add);
                }
                if !remove.is_empty() {
                    calls.push(delete);
                }
                calls
            }
        }
    }

    /// The main AWS call, for messages.
    pub fn aws_operation(&self) -> &'static str {
        self.aws_calls().first().copied().unwrap_or("")
    }

    /// True when the operation creates a resource whose id it outputs.
    pub fn outputs_id(&self) -> bool {
        matches!(
            self,
            Operation::Ec2(Ec2Op::CreateSubnet { .. })
                | Operation::Ec2(Ec2Op::CreateSecurityGroup { .. })
                | Operation::Sagemaker(SagemakerOp::CreateDomain { .. })
                | Operation::Catalog(CatalogOp::CreatePortfolio { .. })
                | Operation::Catalog(CatalogOp::CreateProduct { .. })
                | Operation::Emr(EmrOp::RunJobFlow(_))
        )
    }

    /// The tags a create operation gives the resource it creates (and, for a
    /// role, the instance profile beside it).
    pub fn creation_tags_mut(&mut self) -> Option<&mut Tags> {
        match self {
            Operation::Ec2(Ec2Op::CreateSubnet { tags, .. })
            | Operation::Ec2(Ec2Op::CreateSecurityGroup { tags, .. })
            | Operation::Iam(IamOp::CreateRole { tags, .. })
            | Operation::Iam(IamOp::CreateInstanceProfile { tags, .. })
            | Operation::Sagemaker(SagemakerOp::CreateDomain { tags, .. })
            | Operation::Sagemaker(SagemakerOp::CreateUserProfile { tags, .. })
            | Operation::Catalog(CatalogOp::CreatePortfolio { tags, .. })
            | Operation::Catalog(CatalogOp::CreateProduct { tags, .. }) => Some(tags),
            Operation::Emr(EmrOp::RunJobFlow(run)) => Some(&mut run.tags),
            _ => None,
        }
    }

    /// Every id the operation names, in a stable order.
    pub fn ids(&self) -> Vec<Id> {
        // `ids_mut` is the one walk over the fields.
        let mut ids = Vec::new();
        self.clone().ids_mut(&mut |id| ids.push(id.clone()));
        ids
    }

    /// Calls `f` on every id the operation names.
    pub fn ids_mut(&mut self, f: &mut dyn FnMut(&mut Id)) {
        let each = |ids: &mut Vec<Id>, f: &mut dyn FnMut(&mut Id)| ids.iter_mut().for_each(&mut *f);
        match self {
            Operation::Ec2(Ec2Op::CreateSubnet { vpc, .. })
            | Operation::Ec2(Ec2Op::CreateSecurityGroup { vpc, .. }) => f(vpc),
            Operation::Ec2(Ec2Op::DeleteSubnet { subnet }) => f(subnet),
            Operation::Ec2(Ec2Op::AuthorizeRules { group, rules, .. })
            | Operation::Ec2(Ec2Op::RevokeRules { group, rules, .. })
            | Operation::Ec2(Ec2Op::UpdateRuleDescriptions { group, rules, .. }) => {
                f(group);
                for rule in rules {
                    if let Peer::Group(peer) = &mut rule.peer {
                        f(peer);
                    }
                }
            }
            Operation::Ec2(Ec2Op::DeleteSecurityGroup { group }) => f(group),
            Operation::Iam(IamOp::CreateRole { .. })
            | Operation::Iam(IamOp::UpdateRole { .. })
            | Operation::Iam(IamOp::UpdateAssumeRolePolicy { .. })
            | Operation::Iam(IamOp::AttachRolePolicies { .. })
            | Operation::Iam(IamOp::DetachRolePolicies { .. })
            | Operation::Iam(IamOp::PutRolePolicies { .. })
            | Operation::Iam(IamOp::DeleteRolePolicies { .. })
            | Operation::Iam(IamOp::CreateInstanceProfile { .. })
            | Operation::Iam(IamOp::DeleteInstanceProfile { .. })
            | Operation::Iam(IamOp::DeleteRole { .. })
            | Operation::Catalog(CatalogOp::UploadTemplate { .. })
            | Operation::Catalog(CatalogOp::CreatePortfolio { .. })
            | Operation::Catalog(CatalogOp::CreateProduct { .. })
            | Operation::Catalog(CatalogOp::UpdateLaunchConstraint { .. })
            | Operation::Catalog(CatalogOp::DeleteConstraint { .. }) => {}
            Operation::Sagemaker(SagemakerOp::CreateDomain { vpc, subnets, default_user_settings, .. }) => {
                f(vpc);
                each(subnets, f);
                each(&mut default_user_settings.security_groups, f);
            }
            Operation::Sagemaker(SagemakerOp::UpdateDomain { domain, subnets, default_user_settings, .. }) => {
                f(domain);
                if let Some(subnets) = subnets {
                    each(subnets, f);
                }
                if let Some(settings) = default_user_settings {
                    each(&mut settings.security_groups, f);
                }
            }
            Operation::Sagemaker(SagemakerOp::CreateUserProfile { domain, user_settings, .. })
            | Operation::Sagemaker(SagemakerOp::UpdateUserProfile { domain, user_settings, .. }) => {
                f(domain);
                each(&mut user_settings.security_groups, f);
            }
            Operation::Sagemaker(SagemakerOp::DeleteDomain { domain, .. })
            | Operation::Sagemaker(SagemakerOp::DeleteApp { domain, .. })
            | Operation::Sagemaker(SagemakerOp::DeleteSpace { domain, .. })
            | Operation::Sagemaker(SagemakerOp::DeleteUserProfile { domain, .. }) => f(domain),
            Operation::Catalog(CatalogOp::UpdatePortfolio { portfolio, .. })
            | Operation::Catalog(CatalogOp::AssociatePrincipals { portfolio, .. })
            | Operation::Catalog(CatalogOp::DisassociatePrincipals { portfolio, .. })
            | Operation::Catalog(CatalogOp::DeletePortfolio { portfolio }) => f(portfolio),
            Operation::Catalog(CatalogOp::UpdateProduct { product, .. })
            | Operation::Catalog(CatalogOp::CreateProductVersion { product, .. })
            | Operation::Catalog(CatalogOp::SetProductVersionsActive { product, .. })
            | Operation::Catalog(CatalogOp::DeleteProduct { product }) => f(product),
            Operation::Catalog(CatalogOp::AssociateProduct { product, portfolio })
            | Operation::Catalog(CatalogOp::DisassociateProduct { product, portfolio })
            | Operation::Catalog(CatalogOp::CreateLaunchConstraint { product, portfolio, .. }) => {
                f(product);
                f(portfolio);
            }
            Operation::Emr(EmrOp::RunJobFlow(run)) => {
                each(&mut run.subnets, f);
                for group in [
                    &mut run.master_security_group,
                    &mut run.core_security_group,
                    &mut run.service_access_security_group,
                ]
                .into_iter()
                .flatten()
                {
                    f(group);
                }
                each(&mut run.additional_master_security_groups, f);
                each(&mut run.additional_core_security_groups, f);
            }
            Operation::Emr(EmrOp::AddInstanceFleet { cluster, .. })
            | Operation::Emr(EmrOp::ModifyInstanceFleet { cluster, .. })
            | Operation::Emr(EmrOp::PutManagedScalingPolicy { cluster, .. })
            | Operation::Emr(EmrOp::RemoveManagedScalingPolicy { cluster })
            | Operation::Emr(EmrOp::SetTerminationProtection { cluster, .. })
            | Operation::Emr(EmrOp::PutAutoTerminationPolicy { cluster, .. })
            | Operation::Emr(EmrOp::RemoveAutoTerminationPolicy { cluster })
            | Operation::Emr(EmrOp::ModifyCluster { cluster, .. })
            | Operation::Emr(EmrOp::TerminateCluster { cluster }) => f(cluster),
            Operation::Tags(TagOp::SetTags { target, .. }) => match target {
                Tagged::Ec2 { id } => f(id),
                Tagged::IamRole { .. } => {}
                Tagged::SagemakerDomain { domain } | Tagged::SagemakerUserProfile { domain, .. } => f(domain),
                Tagged::Portfolio { portfolio } => f(portfolio),
                Tagged::Product { product } => f(product),
                Tagged::EmrCluster { cluster } => f(cluster),
            },
        }
    }

    /// The steps whose outputs this operation needs.
    pub fn needs(&self) -> Vec<StepId> {
        let mut steps: Vec<StepId> = self
            .ids()
            .into_iter()
            .filter_map(|id| match id {
                Id::Output { output_of, .. } => Some(output_of),
                Id::Known(_) => None,
            })
            .collect();
        steps.sort_unstable();
        steps.dedup();
        steps
    }

    /// The operation with every [`Id::Output`] replaced by the id its step
    /// produced; `Err` names the first step whose output is missing.
    pub fn resolve(&self, output: impl Fn(StepId) -> Option<String>) -> Result<Operation, StepId> {
        let mut resolved = self.clone();
        let mut missing = None;
        resolved.ids_mut(&mut |id| {
            if let Id::Output { output_of, .. } = id {
                match output(*output_of) {
                    Some(known) => *id = Id::Known(known),
                    None => {
                        missing.get_or_insert(*output_of);
                    }
                }
            }
        });
        match missing {
            None => Ok(resolved),
            Some(step) => Err(step),
        }
    }

    /// Renumbers the step ids the operation refers to.
    pub fn renumber(&mut self, new_id: impl Fn(StepId) -> StepId) {
        self.ids_mut(&mut |id| {
            if let Id::Output { output_of, .. } = id {
                *output_of = new_id(*output_of);
            }
        });
    }
}
