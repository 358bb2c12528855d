//! Live state: what AWS holds, as the `aws` crate reads it (or a snapshot file
//! holds it), in AWS's own spellings. The planner normalises both sides before
//! comparing, so this model keeps AWS's forms (`-1` protocols, upper-case
//! allocation strategies, one EBS entry per volume, URL-encoded policies).
//!
//! The JSON form of [`LiveState`] is the snapshot format of
//! `converge plan --live <FILE>` (documented in `docs/plan.md`, version 2).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{FleetRole, Spec, Tags};

/// The tag naming the stack that owns a resource.
pub const OWNER_STACK_TAG: &str = "converge:stack";
/// The tag naming the spec address of an owned resource (`emr_cluster.etl`).
pub const OWNER_ADDRESS_TAG: &str = "converge:address";
/// Set on resources created with `prevent_destroy`, so an orphan keeps the protection.
pub const PREVENT_DESTROY_TAG: &str = "converge:prevent-destroy";
/// What deleting a domain does to its home EFS (`Retain` or `Delete`), kept on
/// the domain so that a domain removed from the spec is deleted as the spec said.
pub const HOME_EFS_TAG: &str = "converge:home-efs-on-delete";
/// Set on a resource created to replace another: the id of the one it replaces.
/// It tells a replacement apart from its predecessor while both exist, so an
/// interrupted replacement resumes instead of starting over.
pub const REPLACES_TAG: &str = "converge:replaces";
/// A digest of the spec's definition of a resource, written whenever converge
/// creates or changes it. `converge drift` compares it with the digest of the
/// spec it is given: equal, a difference was made in AWS; unequal, the spec
/// was edited and not applied yet (docs/drift.md).
pub const SPEC_DIGEST_TAG: &str = "converge:spec-digest";

/// The snapshot format version this crate reads and writes.
pub const LIVE_STATE_VERSION: u32 = 2;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveState {
    pub version: u32,
    pub account: String,
    pub region: String,
    #[serde(default)]
    pub vpcs: Vec<LiveVpc>,
    #[serde(default)]
    pub subnets: Vec<LiveSubnet>,
    #[serde(default)]
    pub security_groups: Vec<LiveSecurityGroup>,
    #[serde(default)]
    pub iam_roles: Vec<LiveIamRole>,
    #[serde(default)]
    pub sagemaker_domains: Vec<LiveSagemakerDomain>,
    #[serde(default)]
    pub sagemaker_users: Vec<LiveSagemakerUser>,
    #[serde(default)]
    pub catalog_portfolios: Vec<LiveCatalogPortfolio>,
    #[serde(default)]
    pub catalog_products: Vec<LiveCatalogProduct>,
    #[serde(default)]
    pub emr_clusters: Vec<LiveEmrCluster>,
    /// EFS file systems SageMaker created as domains' home volumes (they outlive
    /// a domain deleted with `Retain`, and their mount targets hold subnets).
    #[serde(default)]
    pub file_systems: Vec<LiveFileSystem>,
    /// The route tables of the spec's VPCs (read, never changed): which subnets
    /// reach an internet gateway or a NAT gateway. A VPC with none listed is one
    /// whose routes were not read (every VPC has a main route table).
    #[serde(default)]
    pub route_tables: Vec<LiveRouteTable>,
    /// The VPC endpoints of the spec's VPCs (read, never changed).
    #[serde(default)]
    pub vpc_endpoints: Vec<LiveVpcEndpoint>,
}

impl LiveState {
    /// The account before converge: the VPCs the spec names (converge reads
    /// VPCs, never creates them) and nothing else.
    pub fn before_converge(spec: &Spec) -> LiveState {
        LiveState {
            version: LIVE_STATE_VERSION,
            account: spec.stack.account.clone(),
            region: spec.stack.region.clone(),
            vpcs: spec.vpcs.values().map(|v| LiveVpc { id: v.id.clone(), cidrs: v.cidrs.clone() }).collect(),
            ..LiveState::default()
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveVpc {
    pub id: String,
    #[serde(default)]
    pub cidrs: Vec<String>,
}

/// A route table and the subnets it serves, as `DescribeRouteTables` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveRouteTable {
    pub id: String,
    pub vpc_id: String,
    /// The VPC's main route table: it serves every subnet without an association of its own.
    #[serde(default)]
    pub main: bool,
    /// The subnets explicitly associated with it.
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    #[serde(default)]
    pub routes: Vec<LiveRoute>,
}

/// One route: where to (a CIDR block or a prefix list) and through what
/// (`local`, `igw-…`, `nat-…`, `vpce-…`, `pcx-…`, `tgw-…`, an instance or interface).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveRoute {
    pub destination: String,
    pub target: String,
    /// `active`, or `blackhole` when the target is gone.
    #[serde(default = "active")]
    pub state: String,
}

fn active() -> String {
    "active".to_owned()
}

/// A VPC endpoint (AWS PrivateLink), as `DescribeVpcEndpoints` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveVpcEndpoint {
    pub id: String,
    pub vpc_id: String,
    /// `com.amazonaws.us-east-1.sagemaker.api`.
    pub service_name: String,
    /// `Interface` or `Gateway`.
    pub endpoint_type: String,
    /// `available`, `pending`, `deleting`…
    pub state: String,
    /// The subnets an interface endpoint has network interfaces in.
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    /// The route tables a gateway endpoint adds its route to.
    #[serde(default)]
    pub route_table_ids: Vec<String>,
}

/// How a subnet reaches beyond its VPC, by its route table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubnetReach {
    /// A route to an internet gateway: a public subnet (VPC User Guide, "Subnets for your VPC").
    Public,
    /// No route to an internet gateway; `nat` when 0.0.0.0/0 goes to a NAT gateway.
    Private { nat: bool },
    /// The VPC's routes were not read.
    Unknown,
}

impl LiveRouteTable {
    fn routes_via(&self, prefix: &str) -> impl Iterator<Item = &LiveRoute> {
        self.routes.iter().filter(move |r| r.state == "active" && r.target.starts_with(prefix))
    }
}

impl LiveState {
    /// The route table that serves `subnet` in `vpc`: its own association, or
    /// the VPC's main route table (also for a subnet not created yet, `None`:
    /// AWS associates a new subnet with the main route table).
    pub fn route_table_of(&self, vpc: &str, subnet: Option<&str>) -> Option<&LiveRouteTable> {
        let tables = || self.route_tables.iter().filter(move |t| t.vpc_id == vpc);
        subnet
            .and_then(|s| tables().find(|t| t.subnet_ids.iter().any(|id| id == s)))
            .or_else(|| tables().find(|t| t.main))
    }

    /// Whether `subnet` (or a subnet to be created, `None`) in `vpc` is public or private.
    pub fn subnet_reach(&self, vpc: &str, subnet: Option<&str>) -> SubnetReach {
        let Some(table) = self.route_table_of(vpc, subnet) else { return SubnetReach::Unknown };
        if table.routes_via("igw-").next().is_some() {
            SubnetReach::Public
        } else {
            let nat = table.routes_via("nat-").any(|r| r.destination == "0.0.0.0/0");
            SubnetReach::Private { nat }
        }
    }

    /// The available endpoints of `vpc` by service name.
    pub fn endpoint_services(&self, vpc: &str) -> impl Iterator<Item = &str> {
        self.vpc_endpoints
            .iter()
            .filter(move |e| e.vpc_id == vpc && e.state.eq_ignore_ascii_case("available"))
            .map(|e| e.service_name.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveSubnet {
    pub id: String,
    pub vpc_id: String,
    pub cidr: String,
    pub availability_zone: String,
    #[serde(default)]
    pub tags: Tags,
}

/// One rule with one peer, as `DescribeSecurityGroupRules` reports it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveRule {
    /// `tcp`, `udp`, `icmp`, `-1`, or a protocol number (`6`).
    pub protocol: String,
    #[serde(default)]
    pub from_port: Option<i64>,
    #[serde(default)]
    pub to_port: Option<i64>,
    #[serde(default)]
    pub cidr: Option<String>,
    #[serde(default)]
    pub group_id: Option<String>,
    /// A managed prefix list (`pl-…`: an S3 gateway endpoint's, or the team's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_list_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveSecurityGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    #[serde(default)]
    pub ingress: Vec<LiveRule>,
    #[serde(default)]
    pub egress: Vec<LiveRule>,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveIamRole {
    pub name: String,
    pub arn: String,
    #[serde(default = "root_path")]
    pub path: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The trust policy as IAM returns it (often URL-encoded JSON).
    pub assume_role_policy: String,
    #[serde(default)]
    pub managed_policies: Vec<String>,
    /// Inline policy name → document (often URL-encoded JSON).
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
    /// An instance profile of the same name exists and holds this role.
    #[serde(default)]
    pub instance_profile: bool,
    #[serde(default = "one_hour")]
    pub max_session_duration: i64,
    #[serde(default)]
    pub tags: Tags,
}

fn root_path() -> String {
    "/".to_owned()
}

fn one_hour() -> i64 {
    3600
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveSharing {
    pub notebook_output: String,
    #[serde(default)]
    pub s3_output_path: Option<String>,
    #[serde(default)]
    pub s3_kms_key: Option<String>,
}

/// The status of a SageMaker domain, user profile or app (`DomainStatus`, `UserProfileStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SagemakerStatus {
    Pending,
    InService,
    Updating,
    Deleting,
    Deleted,
    Failed,
    #[serde(rename = "Update_Failed")]
    UpdateFailed,
    #[serde(rename = "Delete_Failed")]
    DeleteFailed,
}

impl SagemakerStatus {
    /// SageMaker's spelling.
    pub fn aws(self) -> &'static str {
        match self {
            SagemakerStatus::Pending => "Pending",
            SagemakerStatus::InService => "InService",
            SagemakerStatus::Updating => "Updating",
            SagemakerStatus::Deleting => "Deleting",
            SagemakerStatus::Deleted => "Deleted",
            SagemakerStatus::Failed => "Failed",
            SagemakerStatus::UpdateFailed => "Update_Failed",
            SagemakerStatus::DeleteFailed => "Delete_Failed",
        }
    }

    /// Reads SageMaker's spelling.
    pub fn from_aws(text: &str) -> Option<SagemakerStatus> {
        [
            SagemakerStatus::Pending,
            SagemakerStatus::InService,
            SagemakerStatus::Updating,
            SagemakerStatus::Deleting,
            SagemakerStatus::Deleted,
            SagemakerStatus::Failed,
            SagemakerStatus::UpdateFailed,
            SagemakerStatus::DeleteFailed,
        ]
        .into_iter()
        .find(|s| s.aws().eq_ignore_ascii_case(text))
    }

    /// On its way out: listed for a while, but no longer a resource to plan for.
    pub fn is_gone(self) -> bool {
        matches!(self, SagemakerStatus::Deleting | SagemakerStatus::Deleted)
    }
}

/// A Studio app (a JupyterLab or Studio Classic server) of a user profile or space.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveApp {
    /// The user profile the app runs for, if it is not a shared space's.
    #[serde(default)]
    pub user_profile: Option<String>,
    #[serde(default)]
    pub space: Option<String>,
    /// `JupyterLab`, `JupyterServer`, `KernelGateway`, …
    pub app_type: String,
    pub name: String,
    pub status: SagemakerStatus,
}

impl LiveApp {
    /// `InService`, `Pending` or `Deleting` apps block network changes and profile deletion.
    pub fn is_running(&self) -> bool {
        matches!(self.status, SagemakerStatus::InService | SagemakerStatus::Pending | SagemakerStatus::Deleting)
    }
}

/// A Studio space: shared by the domain's users, or private to one (`owner`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveSpace {
    pub name: String,
    /// The user profile a private space belongs to.
    #[serde(default)]
    pub owner: Option<String>,
    pub status: SagemakerStatus,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveSagemakerDomain {
    pub id: String,
    pub name: String,
    pub status: SagemakerStatus,
    pub auth_mode: String,
    pub network_access: String,
    pub vpc_id: String,
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    pub execution_role: String,
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    #[serde(default)]
    pub kms_key: Option<String>,
    #[serde(default)]
    pub sharing: Option<LiveSharing>,
    /// The home EFS file system SageMaker created with the domain.
    #[serde(default)]
    pub home_efs_id: Option<String>,
    /// The domain's Studio apps (of every user profile and space).
    #[serde(default)]
    pub apps: Vec<LiveApp>,
    /// The domain's spaces; SageMaker deletes a domain or a user profile only once they are gone.
    #[serde(default)]
    pub spaces: Vec<LiveSpace>,
    /// The Studio URL users open (`Url` of DescribeDomain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default)]
    pub tags: Tags,
}

impl LiveSagemakerDomain {
    pub fn running_apps(&self) -> impl Iterator<Item = &LiveApp> {
        self.apps.iter().filter(|app| app.is_running())
    }

    /// The spaces that exist (not on their way out).
    pub fn live_spaces(&self) -> impl Iterator<Item = &LiveSpace> {
        self.spaces.iter().filter(|space| !space.status.is_gone())
    }

    /// Whether deleting the domain keeps its home EFS: unless converge
    /// recorded `Delete`, SageMaker's default (`Retain`).
    pub fn retains_home_efs(&self) -> bool {
        self.tags.get(HOME_EFS_TAG).is_none_or(|v| v != "Delete")
    }
}

/// An EFS file system and the subnets of its mount targets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveFileSystem {
    pub id: String,
    /// The domain it is the home volume of (it stays when the domain is deleted with `Retain`).
    #[serde(default)]
    pub domain_id: Option<String>,
    /// Subnets holding one of its mount targets: EC2 cannot delete them while it exists.
    #[serde(default)]
    pub mount_target_subnet_ids: Vec<String>,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveSagemakerUser {
    pub domain_id: String,
    pub name: String,
    pub status: SagemakerStatus,
    #[serde(default)]
    pub execution_role: Option<String>,
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    #[serde(default)]
    pub sharing: Option<LiveSharing>,
    /// `SingleSignOnUserValue`: the IAM Identity Center user name (SSO domains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso_user_name: Option<String>,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveCatalogPortfolio {
    pub id: String,
    pub display_name: String,
    pub provider: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub principal_arns: Vec<String>,
    #[serde(default)]
    pub tags: Tags,
}

/// A provisioning artifact (product version).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveProductVersion {
    pub id: String,
    /// converge names versions after the template's content hash (`sha256:…`).
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    /// The template text, when the reader fetched it (for a readable diff).
    #[serde(default)]
    pub template: Option<String>,
    /// Where Service Catalog loaded the template from, when the reader asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_url: Option<String>,
}

fn yes() -> bool {
    true
}

/// The bucket and key of an S3 object URL, in any of its forms:
/// `https://BUCKET.s3.REGION.amazonaws.com/KEY`, `https://BUCKET.s3.amazonaws.com/KEY`,
/// `https://s3.REGION.amazonaws.com/BUCKET/KEY`, or an endpoint's path style `http://HOST/BUCKET/KEY`.
pub fn s3_object(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/')?;
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let (bucket, key) = match host.split_once(".s3") {
        Some((bucket, _)) if !bucket.is_empty() && !host.starts_with("s3.") => (bucket.to_owned(), path.to_owned()),
        _ => {
            let (bucket, key) = path.split_once('/')?;
            (bucket.to_owned(), key.to_owned())
        }
    };
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveCatalogProduct {
    pub id: String,
    pub name: String,
    pub owner: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub distributor: Option<String>,
    #[serde(default)]
    pub support_email: Option<String>,
    #[serde(default)]
    pub portfolio_ids: Vec<String>,
    /// Versions, oldest first; the last active one is current.
    #[serde(default)]
    pub versions: Vec<LiveProductVersion>,
    /// LAUNCH constraints of the product, one per portfolio at most.
    #[serde(default)]
    pub launch_constraints: Vec<LiveLaunchConstraint>,
    #[serde(default)]
    pub tags: Tags,
}

impl LiveCatalogProduct {
    /// The version launches use: the newest active one.
    pub fn current_version(&self) -> Option<&LiveProductVersion> {
        self.versions.iter().rev().find(|v| v.active)
    }
}

/// A LAUNCH constraint on one product/portfolio pair.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveLaunchConstraint {
    pub id: String,
    pub portfolio_id: String,
    /// The launch role (`{"RoleArn": …}` in the constraint's parameters).
    pub role_arn: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveEbsVolume {
    #[serde(rename = "type")]
    pub volume_type: String,
    pub size: i64,
    #[serde(default)]
    pub iops: Option<i64>,
    #[serde(default)]
    pub throughput: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveInstanceType {
    #[serde(rename = "type")]
    pub instance_type: String,
    #[serde(default = "one")]
    pub weight: i64,
    #[serde(default)]
    pub bid_percent: Option<f64>,
    /// One entry per attached volume, as `ListInstanceFleets` reports them.
    #[serde(default)]
    pub ebs: Vec<LiveEbsVolume>,
    #[serde(default)]
    pub ebs_optimized: Option<bool>,
    /// The configurations of this instance type in the fleet (reconfigurable).
    #[serde(default)]
    pub configurations: Vec<LiveConfiguration>,
}

fn one() -> i64 {
    1
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveFleet {
    pub id: String,
    /// `MASTER`, `CORE` or `TASK`.
    #[serde(rename = "type")]
    pub role: FleetRole,
    #[serde(default)]
    pub name: Option<String>,
    pub instance_types: Vec<LiveInstanceType>,
    #[serde(default)]
    pub target_on_demand: i64,
    #[serde(default)]
    pub target_spot: i64,
    #[serde(default)]
    pub provisioned_on_demand: i64,
    #[serde(default)]
    pub provisioned_spot: i64,
    #[serde(default)]
    pub spot_timeout_minutes: Option<i64>,
    /// `SWITCH_TO_ON_DEMAND` or `TERMINATE_CLUSTER`.
    #[serde(default)]
    pub spot_timeout_action: Option<String>,
    #[serde(default)]
    pub spot_allocation: Option<String>,
    #[serde(default)]
    pub on_demand_allocation: Option<String>,
    /// `ResizeSpecifications`, as EMR reports them.
    #[serde(default)]
    pub resize: Option<LiveResize>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveResize {
    #[serde(default)]
    pub spot_timeout_minutes: Option<i64>,
    #[serde(default)]
    pub spot_allocation: Option<String>,
    #[serde(default)]
    pub on_demand_timeout_minutes: Option<i64>,
    #[serde(default)]
    pub on_demand_allocation: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveScaling {
    pub unit: String,
    pub min: i64,
    pub max: i64,
    #[serde(default)]
    pub max_on_demand: Option<i64>,
    #[serde(default)]
    pub max_core: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveBootstrap {
    pub name: String,
    pub path: String,
    #[serde(default)]
    pub args: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveConfiguration {
    pub classification: String,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    #[serde(default)]
    pub configurations: Vec<LiveConfiguration>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveEmrCluster {
    pub id: String,
    pub name: String,
    pub state: ClusterState,
    pub release: String,
    #[serde(default)]
    pub applications: Vec<String>,
    /// The subnets requested at creation (`Ec2InstanceAttributes.RequestedEc2SubnetIds`).
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    pub service_role: String,
    pub instance_profile: String,
    #[serde(default)]
    pub master_security_group: Option<String>,
    #[serde(default)]
    pub core_security_group: Option<String>,
    #[serde(default)]
    pub service_access_security_group: Option<String>,
    #[serde(default)]
    pub additional_master_security_groups: Vec<String>,
    #[serde(default)]
    pub additional_core_security_groups: Vec<String>,
    #[serde(default)]
    pub log_uri: Option<String>,
    #[serde(default)]
    pub key_name: Option<String>,
    #[serde(default)]
    pub bootstrap: Vec<LiveBootstrap>,
    #[serde(default)]
    pub configurations: Vec<LiveConfiguration>,
    #[serde(default)]
    pub ebs_root_volume_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_root_volume_iops: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_root_volume_throughput: Option<i64>,
    #[serde(default)]
    pub termination_protection: bool,
    #[serde(default)]
    pub auto_termination_idle_seconds: Option<i64>,
    #[serde(default = "one")]
    pub step_concurrency: i64,
    #[serde(default = "yes")]
    /// Read as EMR reports it, never compared: EMR no longer supports `false`.
    pub visible_to_all_users: bool,
    #[serde(default)]
    pub fleets: Vec<LiveFleet>,
    #[serde(default)]
    pub scaling: Option<LiveScaling>,
    /// The primary node's DNS name, once EMR has placed it (`MasterPublicDnsName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_dns: Option<String>,
    /// Why the cluster ended, for a terminated one (`StateChangeReason`: `CODE: message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    #[serde(default)]
    pub tags: Tags,
}

/// `ClusterState` of EMR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClusterState {
    Starting,
    Bootstrapping,
    Running,
    Waiting,
    Terminating,
    Terminated,
    TerminatedWithErrors,
}

impl ClusterState {
    /// EMR's spelling.
    pub fn aws(self) -> &'static str {
        match self {
            ClusterState::Starting => "STARTING",
            ClusterState::Bootstrapping => "BOOTSTRAPPING",
            ClusterState::Running => "RUNNING",
            ClusterState::Waiting => "WAITING",
            ClusterState::Terminating => "TERMINATING",
            ClusterState::Terminated => "TERMINATED",
            ClusterState::TerminatedWithErrors => "TERMINATED_WITH_ERRORS",
        }
    }

    /// Reads EMR's spelling.
    pub fn from_aws(text: &str) -> Option<ClusterState> {
        [
            ClusterState::Starting,
            ClusterState::Bootstrapping,
            ClusterState::Running,
            ClusterState::Waiting,
            ClusterState::Terminating,
            ClusterState::Terminated,
            ClusterState::TerminatedWithErrors,
        ]
        .into_iter()
        .find(|s| s.aws() == text)
    }

    /// Gone or going (a terminated cluster stays listed for a while).
    pub fn is_terminated(self) -> bool {
        matches!(self, ClusterState::Terminating | ClusterState::Terminated | ClusterState::TerminatedWithErrors)
    }
}

impl LiveEmrCluster {
    /// True once the cluster is gone or going.
    pub fn is_terminated(&self) -> bool {
        self.state.is_terminated()
    }

    pub fn fleet(&self, role: FleetRole) -> Option<&LiveFleet> {
        self.fleets.iter().find(|fleet| fleet.role == role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_object_urls_are_read_in_every_form() {
        for url in [
            "https://bucket.s3.ap-northeast-1.amazonaws.com/t/x.yaml",
            "https://bucket.s3.amazonaws.com/t/x.yaml",
            "https://s3.us-east-1.amazonaws.com/bucket/t/x.yaml",
            "http://127.0.0.1:4566/bucket/t/x.yaml?versionId=1",
        ] {
            assert_eq!(s3_object(url), Some(("bucket".to_owned(), "t/x.yaml".to_owned())), "{url}");
        }
        assert_eq!(s3_object("https://example.com/"), None);
        assert_eq!(s3_object("ftp://bucket/x"), None);
    }
}

/// A policy document as IAM returns it (`GetRole`, `GetRolePolicy`): URL-encoded
/// per RFC 3986 ("The policy document returned in this structure is URL-encoded
/// compliant with RFC 3986", IAM API Reference, `Role.AssumeRolePolicyDocument`),
/// which the SDK leaves as it is. `%XX` escapes are undone and `+` is kept (it
/// is not a space in RFC 3986). Text that is not valid percent-encoding, or
/// already a JSON document, is kept as given: live state holds documents
/// decoded, and this is the one decoder of them (the reader's and, for
/// hand-written snapshots, the planner's).
pub fn decode_policy(text: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        return trimmed.to_owned();
    }
    let bytes = trimmed.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let byte = bytes.get(i + 1).copied().and_then(hex).zip(bytes.get(i + 2).copied().and_then(hex));
                let Some((high, low)) = byte else { return trimmed.to_owned() };
                out.push(high << 4 | low);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| trimmed.to_owned())
}

#[cfg(test)]
mod policy_tests {
    use super::decode_policy;

    #[test]
    fn policies_are_decoded_as_rfc_3986_says() {
        assert_eq!(decode_policy("%7B%22a%22%3A%22b+c%20d%22%7D"), r#"{"a":"b+c d"}"#, "`+` is not a space");
        assert_eq!(decode_policy(r#" {"a": "100%"} "#), r#"{"a": "100%"}"#, "JSON is kept");
        assert_eq!(decode_policy("%7B%zz"), "%7B%zz", "not percent-encoding: kept");
        assert_eq!(decode_policy("%FF%FE"), "%FF%FE", "not UTF-8: kept");
    }
}
