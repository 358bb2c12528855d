//! One typed struct per resource kind, and the [`Spec`] that holds them.
//!
//! Field names are the spec's keys. Optional keys are `Option` or take the
//! AWS default. Every struct derives `Deserialize` so the spec parser can read
//! it from a document it has already checked; the checker, not serde, is what
//! reports mistakes to users.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Address, Kind, Ref};

pub type Tags = BTreeMap<String, String>;

/// Settings every resource accepts besides its own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Lifecycle {
    /// A planned delete or replacement of this resource is an error.
    #[serde(skip_serializing_if = "is_default")]
    pub prevent_destroy: bool,
    /// Warning code → the written reason it does not apply here.
    #[serde(skip_serializing_if = "is_default")]
    pub silence: BTreeMap<String, String>,
    /// Take over an existing resource of the same AWS name that this stack does not own yet.
    #[serde(skip_serializing_if = "is_default")]
    pub adopt: bool,
}

/// The whole desired state: one map per kind, keyed by the resource's spec name.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Spec {
    pub stack: Stack,
    pub vpcs: BTreeMap<String, Vpc>,
    pub subnets: BTreeMap<String, Subnet>,
    pub security_groups: BTreeMap<String, SecurityGroup>,
    pub iam_roles: BTreeMap<String, IamRole>,
    pub sagemaker_domains: BTreeMap<String, SagemakerDomain>,
    pub sagemaker_users: BTreeMap<String, SagemakerUser>,
    pub catalog_portfolios: BTreeMap<String, CatalogPortfolio>,
    pub catalog_products: BTreeMap<String, CatalogProduct>,
    pub emr_clusters: BTreeMap<String, EmrCluster>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stack {
    pub name: String,
    pub region: String,
    /// The AWS account the stack lives in; converge refuses to touch another.
    pub account: String,
    #[serde(default, skip_serializing_if = "is_default")]
    pub tags: Tags,
    /// An S3 bucket holding the stack's lock; without one, a lock file next to the spec.
    #[serde(default, skip_serializing_if = "is_default")]
    pub state_bucket: Option<String>,
    /// The environment of the spec this stack is (`[env.<name>]`), if it has environments.
    #[serde(default, skip_serializing_if = "is_default")]
    pub environment: Option<String>,
    /// What `converge watch` does about drift (converge's policy, not in any digest).
    #[serde(default, skip_serializing)]
    pub on_drift: OnDrift,
}

/// An existing VPC, referenced by id: read and checked, never changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vpc {
    pub id: String,
    /// The VPC's IPv4 ranges, when known; subnets must fall inside one of them.
    #[serde(default, skip_serializing_if = "is_default")]
    pub cidrs: Vec<String>,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subnet {
    pub vpc: Ref,
    pub cidr: String,
    pub availability_zone: String,
    #[serde(default, skip_serializing_if = "is_default")]
    pub tags: Tags,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub vpc: Ref,
    /// The EC2 group name; defaults to `<stack>-<spec name>`.
    pub name: Option<String>,
    pub description: String,
    #[serde(default, skip_serializing_if = "is_default")]
    pub ingress: Vec<IngressRule>,
    /// `None` keeps the allow-all egress rule EC2 gives every new group.
    pub egress: Option<Vec<EgressRule>>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub tags: Tags,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
    All,
}

impl Protocol {
    /// How the spec writes it.
    pub fn spec(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::All => "all",
        }
    }
}

/// A port or an inclusive range, written `8998` or `"8000-8100"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Ports {
    Single(i64),
    Range(String),
}

impl Ports {
    /// The inclusive `(from, to)` range, if the text is well formed.
    pub fn range(&self) -> Option<(i64, i64)> {
        match self {
            Ports::Single(port) => Some((*port, *port)),
            Ports::Range(text) => {
                let (from, to) = text.split_once('-').unwrap_or((text, text));
                Some((from.trim().parse().ok()?, to.trim().parse().ok()?))
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IngressRule {
    pub protocol: Protocol,
    pub ports: Option<Ports>,
    /// ICMP type of an `icmp` rule; `None` (or -1) is every type.
    pub icmp_type: Option<i64>,
    /// ICMP code of an `icmp` rule; `None` (or -1) is every code.
    pub icmp_code: Option<i64>,
    pub cidr: Option<String>,
    /// `"self"`, a security group of the spec, or a literal `sg-` id.
    pub source: Option<Ref>,
    /// A managed prefix list (`pl-…`).
    pub prefix_list: Option<String>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EgressRule {
    pub protocol: Protocol,
    pub ports: Option<Ports>,
    /// ICMP type of an `icmp` rule; `None` (or -1) is every type.
    pub icmp_type: Option<i64>,
    /// ICMP code of an `icmp` rule; `None` (or -1) is every code.
    pub icmp_code: Option<i64>,
    pub cidr: Option<String>,
    /// `"self"`, a security group of the spec, or a literal `sg-` id.
    pub destination: Option<Ref>,
    /// A managed prefix list (`pl-…`), e.g. an S3 gateway endpoint's.
    pub prefix_list: Option<String>,
    pub description: Option<String>,
}

/// The peer of a rule that names a group, whichever direction it has.
pub const SELF_PEER: &str = "self";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IamRole {
    /// The IAM role name; defaults to the spec name.
    pub name: Option<String>,
    #[serde(default = "default_path", skip_serializing_if = "is_default_path")]
    pub path: String,
    pub description: Option<String>,
    /// Service principals (`sagemaker.amazonaws.com`), role ARNs, or roles of the spec.
    pub trust: Vec<TrustPrincipal>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub managed_policies: Vec<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub inline_policies: BTreeMap<String, Document>,
    /// Also create an instance profile of the same name holding the role (EMR's EC2 role).
    #[serde(default, skip_serializing_if = "is_default")]
    pub instance_profile: bool,
    #[serde(default = "default_session_duration", skip_serializing_if = "is_default_session_duration")]
    pub max_session_duration: i64,
    #[serde(default, skip_serializing_if = "is_default")]
    pub tags: Tags,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

fn default_path() -> String {
    "/".to_owned()
}

fn is_default_path(path: &str) -> bool {
    path == "/"
}

fn default_session_duration() -> i64 {
    3600
}

fn is_default_session_duration(seconds: &i64) -> bool {
    *seconds == default_session_duration()
}

impl IamRole {
    /// True when the trust policy names the given service principal.
    pub fn trusts_service(&self, service: &str) -> bool {
        self.trust.iter().any(|principal| matches!(principal, TrustPrincipal::Service(s) if s == service))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TrustPrincipal {
    /// `sagemaker.amazonaws.com`
    Service(String),
    /// Another role: of the spec by name, or any IAM principal by ARN.
    Role(Ref),
}

impl<'de> Deserialize<'de> for TrustPrincipal {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(TrustPrincipal::parse(&text))
    }
}

impl Serialize for TrustPrincipal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            TrustPrincipal::Service(service) => serializer.serialize_str(service),
            TrustPrincipal::Role(role) => role.serialize(serializer),
        }
    }
}

impl TrustPrincipal {
    pub fn parse(text: &str) -> TrustPrincipal {
        if text.ends_with(".amazonaws.com") || text.ends_with(".amazonaws.com.cn") {
            TrustPrincipal::Service(text.to_owned())
        } else {
            TrustPrincipal::Role(Ref::parse(text))
        }
    }
}

/// A JSON or YAML document: a file next to the spec, or inline text.
///
/// The parser fills [`Document::text`] with the file's content, so the
/// planner never reads files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// The path as written in the spec, relative to the spec's directory; `None` when inline.
    pub file: Option<String>,
    pub text: String,
}

/// A document serialises as its content: where it was written (a file, inline)
/// is layout, not meaning.
impl Serialize for Document {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            File(String),
            Table { file: Option<String>, json: Option<String> },
        }
        Ok(match Written::deserialize(deserializer)? {
            Written::File(file) | Written::Table { file: Some(file), .. } => {
                Document { file: Some(file), text: String::new() }
            }
            Written::Table { file: None, json } => Document { file: None, text: json.unwrap_or_default() },
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AuthMode {
    #[serde(rename = "IAM")]
    Iam,
    #[serde(rename = "SSO")]
    Sso,
}

impl AuthMode {
    /// SageMaker's spelling (`AuthMode`).
    pub fn aws(self) -> &'static str {
        match self {
            AuthMode::Iam => "IAM",
            AuthMode::Sso => "SSO",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum NetworkAccess {
    PublicInternetOnly,
    VpcOnly,
}

impl NetworkAccess {
    /// SageMaker's spelling (`AppNetworkAccessType`), also the spec's.
    pub fn aws(self) -> &'static str {
        match self {
            NetworkAccess::PublicInternetOnly => "PublicInternetOnly",
            NetworkAccess::VpcOnly => "VpcOnly",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HomeEfsOnDelete {
    #[default]
    Retain,
    Delete,
}

impl HomeEfsOnDelete {
    /// SageMaker's spelling (`RetentionPolicy.HomeEfsFileSystem`), also the spec's.
    pub fn aws(self) -> &'static str {
        match self {
            HomeEfsOnDelete::Retain => "Retain",
            HomeEfsOnDelete::Delete => "Delete",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SharingSettings {
    pub notebook_output: NotebookOutput,
    pub s3_output_path: Option<String>,
    pub s3_kms_key: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum NotebookOutput {
    Allowed,
    Disabled,
}

impl NotebookOutput {
    /// SageMaker's spelling (`NotebookOutputOption`), also the spec's.
    pub fn aws(self) -> &'static str {
        match self {
            NotebookOutput::Allowed => "Allowed",
            NotebookOutput::Disabled => "Disabled",
        }
    }

    pub fn from_aws(text: &str) -> Option<NotebookOutput> {
        [NotebookOutput::Allowed, NotebookOutput::Disabled].into_iter().find(|v| v.aws().eq_ignore_ascii_case(text))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SagemakerDomain {
    pub name: String,
    pub auth_mode: AuthMode,
    #[serde(default = "default_network_access", skip_serializing_if = "is_default_network_access")]
    pub network_access: NetworkAccess,
    pub vpc: Ref,
    pub subnets: Vec<Ref>,
    /// The default user settings' execution role.
    pub execution_role: Ref,
    /// The default user settings' security groups.
    #[serde(default, skip_serializing_if = "is_default")]
    pub security_groups: Vec<Ref>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub home_efs_on_delete: HomeEfsOnDelete,
    pub kms_key: Option<String>,
    pub sharing: Option<SharingSettings>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub tags: Tags,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

fn default_network_access() -> NetworkAccess {
    NetworkAccess::PublicInternetOnly
}

fn is_default_network_access(access: &NetworkAccess) -> bool {
    *access == default_network_access()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SagemakerUser {
    pub domain: Ref,
    /// The user profile name; defaults to the spec name.
    pub name: Option<String>,
    pub execution_role: Option<Ref>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub security_groups: Vec<Ref>,
    pub sharing: Option<SharingSettings>,
    /// The IAM Identity Center user name of the profile's user (SSO domains only).
    pub sso_user_name: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub tags: Tags,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogPortfolio {
    pub display_name: String,
    pub provider: String,
    pub description: Option<String>,
    /// IAM roles allowed to see the portfolio's products.
    #[serde(default, skip_serializing_if = "is_default")]
    pub principals: Vec<Ref>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub tags: Tags,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

/// The tag Studio looks for to list a product as an EMR template.
pub const STUDIO_VISIBILITY_TAG: &str = "sagemaker:studio-visibility:emr";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogProduct {
    pub portfolio: Ref,
    pub name: String,
    pub owner: String,
    pub description: Option<String>,
    pub distributor: Option<String>,
    pub support_email: Option<String>,
    /// The CloudFormation template (a file next to the spec).
    pub template: Document,
    /// The S3 bucket the template is uploaded to, by content hash.
    pub template_bucket: String,
    pub version_description: Option<String>,
    /// The launch constraint's role.
    pub launch_role: Option<Ref>,
    /// Adds the tag `sagemaker:studio-visibility:emr = true`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub studio_visible: bool,
    #[serde(default, skip_serializing_if = "is_default")]
    pub tags: Tags,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmrCluster {
    pub name: String,
    pub release: String,
    #[serde(default, skip_serializing_if = "is_default")]
    pub applications: Vec<String>,
    /// Several subnets let EMR choose the AZ at creation.
    pub subnets: Vec<Ref>,
    pub service_role: Ref,
    /// An IAM role of the spec with `instance_profile = true`, or an instance profile ARN.
    pub instance_profile: Ref,
    pub master_security_group: Option<Ref>,
    pub core_security_group: Option<Ref>,
    pub service_access_security_group: Option<Ref>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub additional_master_security_groups: Vec<Ref>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub additional_core_security_groups: Vec<Ref>,
    pub log_uri: Option<String>,
    pub key_name: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub bootstrap: Vec<BootstrapAction>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub configurations: Vec<Configuration>,
    pub ebs_root_volume_size: Option<i64>,
    /// IOPS of the gp3 root volume of each instance (EMR 6.15.0 and later).
    pub ebs_root_volume_iops: Option<i64>,
    /// Throughput of the gp3 root volume of each instance, MiB/s (EMR 6.15.0 and later).
    pub ebs_root_volume_throughput: Option<i64>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub termination_protection: bool,
    pub auto_termination_idle_seconds: Option<i64>,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub step_concurrency: i64,
    /// Always true: EMR no longer supports `false` (a spec error).
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub visible_to_all_users: bool,
    pub master: Option<InstanceFleet>,
    pub core: Option<InstanceFleet>,
    pub task: Option<InstanceFleet>,
    pub scaling: Option<ManagedScaling>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub tags: Tags,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
    /// What `converge watch` does when the cluster fails: converge's policy,
    /// not an AWS setting, so it is no part of the spec digest either.
    #[serde(flatten, skip_serializing)]
    pub recovery: Recovery,
}

/// What `converge watch` does when a cluster of the stack fails.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Recovery {
    #[serde(default)]
    pub recover: Recover,
    /// Rebuilds in any hour at most; past that, watch reports the cluster as needing a person.
    #[serde(default = "two_rebuilds")]
    pub max_rebuilds: u32,
}

impl Default for Recovery {
    fn default() -> Self {
        Recovery { recover: Recover::default(), max_rebuilds: two_rebuilds() }
    }
}

fn two_rebuilds() -> u32 {
    2
}

/// `recover`: rebuild a failed cluster from the spec, or only report it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recover {
    #[default]
    Report,
    Rebuild,
}

/// `[stack] on_drift`: what `converge watch` does about drift other than a failed cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDrift {
    #[default]
    Report,
    /// Apply the plan, as `converge apply` would.
    Repair,
}

fn one() -> i64 {
    1
}

fn is_one(value: &i64) -> bool {
    *value == 1
}

fn yes() -> bool {
    true
}

fn is_yes(value: &bool) -> bool {
    *value
}

/// A key left at its default is not written: a key added to the spec language
/// with a default leaves the serialised form (and every digest of it) of
/// specs that do not set it as it was.
fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// The node type of an instance fleet. A cluster has at most one fleet of each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FleetRole {
    Master,
    Core,
    Task,
}

impl FleetRole {
    pub const ALL: [FleetRole; 3] = [FleetRole::Master, FleetRole::Core, FleetRole::Task];

    /// The spec's key (`[emr_cluster.x.task]`) and the start of field paths (`task.spot`).
    pub fn key(self) -> &'static str {
        match self {
            FleetRole::Master => "master",
            FleetRole::Core => "core",
            FleetRole::Task => "task",
        }
    }

    /// EMR's spelling (`InstanceFleetType`).
    pub fn aws(self) -> &'static str {
        match self {
            FleetRole::Master => "MASTER",
            FleetRole::Core => "CORE",
            FleetRole::Task => "TASK",
        }
    }
}

impl std::fmt::Display for FleetRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

impl EmrCluster {
    /// The fleets that are declared, with their role.
    pub fn fleets(&self) -> impl Iterator<Item = (FleetRole, &InstanceFleet)> {
        FleetRole::ALL.into_iter().filter_map(|role| self.fleet(role).map(|fleet| (role, fleet)))
    }

    pub fn fleet(&self, role: FleetRole) -> Option<&InstanceFleet> {
        match role {
            FleetRole::Master => self.master.as_ref(),
            FleetRole::Core => self.core.as_ref(),
            FleetRole::Task => self.task.as_ref(),
        }
    }

    /// A property of a configuration classification, searching nested configurations too.
    pub fn configuration_property(&self, classification: &str, key: &str) -> Option<&str> {
        fn find<'a>(configurations: &'a [Configuration], classification: &str, key: &str) -> Option<&'a str> {
            configurations.iter().find_map(|configuration| {
                if configuration.classification == classification
                    && let Some(value) = configuration.properties.get(key)
                {
                    return Some(value.as_str());
                }
                find(&configuration.configurations, classification, key)
            })
        }
        find(&self.configurations, classification, key)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BootstrapAction {
    pub name: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "is_default")]
    pub args: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Configuration {
    pub classification: String,
    #[serde(default, skip_serializing_if = "is_default")]
    pub properties: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub configurations: Vec<Configuration>,
}

/// A fleet's target capacity in one market (On-Demand or Spot), in weighted units.
///
/// Written `480` (converge sets it), `{ min = 0, max = 960 }` (someone else sets
/// it, within the range) or `"external"` (someone else sets it, any value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capacity {
    Fixed(i64),
    Range { min: i64, max: i64 },
    External,
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity::Fixed(0)
    }
}

impl Capacity {
    /// The target a new fleet starts with: the value, the range's minimum, or 0.
    pub fn at_creation(self) -> i64 {
        match self {
            Capacity::Fixed(units) => units,
            Capacity::Range { min, .. } => min,
            Capacity::External => 0,
        }
    }

    /// The target converge wants, given what AWS has now: someone else's
    /// value is kept while it is in the range, and brought to the nearest
    /// bound when it is not.
    pub fn wanted(self, live: i64) -> i64 {
        match self {
            Capacity::Fixed(units) => units,
            Capacity::Range { min, max } => live.clamp(min, max.max(min)),
            Capacity::External => live,
        }
    }

    /// True when someone other than converge sets this capacity.
    pub fn is_owned_elsewhere(self) -> bool {
        !matches!(self, Capacity::Fixed(_))
    }
}

/// As the spec writes it: `480`, `{ min, max }` or `"external"`.
impl Serialize for Capacity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        match *self {
            Capacity::Fixed(units) => serializer.serialize_i64(units),
            Capacity::Range { min, max } => {
                let mut range = serializer.serialize_struct("Range", 2)?;
                range.serialize_field("min", &min)?;
                range.serialize_field("max", &max)?;
                range.end()
            }
            Capacity::External => serializer.serialize_str("external"),
        }
    }
}

impl<'de> Deserialize<'de> for Capacity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Units(i64),
            Range { min: i64, max: i64 },
            Word(String),
        }
        match Written::deserialize(deserializer)? {
            Written::Units(units) => Ok(Capacity::Fixed(units)),
            Written::Range { min, max } => Ok(Capacity::Range { min, max }),
            Written::Word(word) if word == "external" => Ok(Capacity::External),
            Written::Word(word) => Err(serde::de::Error::custom(format!("unknown capacity `{word}`"))),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceFleet {
    pub name: Option<String>,
    pub instance_types: Vec<InstanceTypeConfig>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub on_demand: Capacity,
    #[serde(default, skip_serializing_if = "is_default")]
    pub spot: Capacity,
    pub spot_timeout_minutes: Option<i64>,
    pub spot_timeout_action: Option<SpotTimeoutAction>,
    pub spot_allocation: Option<SpotAllocation>,
    pub on_demand_allocation: Option<OnDemandAllocation>,
    /// Configurations of this fleet's instances (reconfigured in place, EMR 5.21.0+).
    #[serde(default, skip_serializing_if = "is_default")]
    pub configurations: Vec<Configuration>,
    /// How resizes of a running fleet behave (changed in place).
    pub resize: Option<ResizeSettings>,
}

impl InstanceFleet {
    /// True when an allocation strategy is set, which raises the instance-type limit from 5 to 30.
    pub fn has_allocation_strategy(&self) -> bool {
        self.spot_allocation.is_some() || self.on_demand_allocation.is_some()
    }

    /// The total target at creation, in units.
    pub fn units_at_creation(&self) -> i64 {
        self.on_demand.at_creation() + self.spot.at_creation()
    }
}

/// `ResizeSpecifications` of a fleet: timeouts and strategies of resizes after launch.
/// Only the keys written are managed; AWS's defaults stand for the others.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResizeSettings {
    pub spot_timeout_minutes: Option<i64>,
    pub spot_allocation: Option<SpotAllocation>,
    pub on_demand_timeout_minutes: Option<i64>,
    pub on_demand_allocation: Option<OnDemandAllocation>,
}

/// One instance type of a fleet: `"m5.xlarge"` or `{ type = "r5.12xlarge", weight = 48 }`.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceTypeConfig {
    pub instance_type: String,
    pub weight: i64,
    pub bid_percent: Option<f64>,
    pub ebs: Vec<EbsVolume>,
    pub ebs_optimized: Option<bool>,
}

/// Always the table form (`{ type = "m5.xlarge" }` and `"m5.xlarge"` mean the
/// same), without the keys left at their defaults.
impl Serialize for InstanceTypeConfig {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut table = serializer.serialize_struct("InstanceTypeConfig", 5)?;
        table.serialize_field("type", &self.instance_type)?;
        if !is_one(&self.weight) {
            table.serialize_field("weight", &self.weight)?;
        }
        if let Some(bid_percent) = self.bid_percent {
            table.serialize_field("bid_percent", &bid_percent)?;
        }
        if !self.ebs.is_empty() {
            table.serialize_field("ebs", &self.ebs)?;
        }
        if let Some(ebs_optimized) = self.ebs_optimized {
            table.serialize_field("ebs_optimized", &ebs_optimized)?;
        }
        table.end()
    }
}

impl<'de> Deserialize<'de> for InstanceTypeConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Table {
            #[serde(rename = "type")]
            instance_type: String,
            #[serde(default = "one")]
            weight: i64,
            bid_percent: Option<f64>,
            #[serde(default)]
            ebs: Vec<EbsVolume>,
            ebs_optimized: Option<bool>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Name(String),
            Table(Table),
        }
        Ok(match Written::deserialize(deserializer)? {
            Written::Name(instance_type) => {
                InstanceTypeConfig { instance_type, weight: 1, bid_percent: None, ebs: Vec::new(), ebs_optimized: None }
            }
            Written::Table(t) => InstanceTypeConfig {
                instance_type: t.instance_type,
                weight: t.weight,
                bid_percent: t.bid_percent,
                ebs: t.ebs,
                ebs_optimized: t.ebs_optimized,
            },
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EbsVolume {
    #[serde(rename = "type")]
    pub volume_type: String,
    pub size: i64,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: i64,
    pub iops: Option<i64>,
    pub throughput: Option<i64>,
}

/// Declares `ALL`, the spec's spelling (`spec`, also its serde name) and EMR's
/// spelling (`aws`) of an enum, and `from_aws`, which reads EMR's spelling and,
/// leniently, the spec's.
macro_rules! spellings {
    ($name:ident { $($variant:ident = $spec:literal / $aws:literal),* $(,)? }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $spec)] $variant),*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// How the spec writes it.
            pub fn spec(self) -> &'static str {
                match self { $($name::$variant => $spec),* }
            }

            /// How the AWS API writes it.
            pub fn aws(self) -> &'static str {
                match self { $($name::$variant => $aws),* }
            }

            /// Reads the AWS spelling, or the spec's (`PRICE_CAPACITY_OPTIMIZED`, as
            /// some EMR responses spell it, reads as `price-capacity-optimized`).
            pub fn from_aws(text: &str) -> Option<$name> {
                let fold = |s: &str| s.trim().to_ascii_lowercase().replace('_', "-");
                let text = fold(text);
                Self::ALL.iter().copied().find(|v| fold(v.aws()) == text || fold(v.spec()) == text)
            }
        }
    };
}

spellings!(SpotTimeoutAction {
    SwitchToOnDemand = "switch-to-on-demand" / "SWITCH_TO_ON_DEMAND",
    TerminateCluster = "terminate-cluster" / "TERMINATE_CLUSTER",
});

spellings!(SpotAllocation {
    CapacityOptimized = "capacity-optimized" / "capacity-optimized",
    PriceCapacityOptimized = "price-capacity-optimized" / "price-capacity-optimized",
    LowestPrice = "lowest-price" / "lowest-price",
    Diversified = "diversified" / "diversified",
    CapacityOptimizedPrioritized = "capacity-optimized-prioritized" / "capacity-optimized-prioritized",
});

spellings!(OnDemandAllocation {
    LowestPrice = "lowest-price" / "lowest-price",
    Prioritized = "prioritized" / "prioritized",
});

spellings!(ScalingUnit {
    InstanceFleetUnits = "InstanceFleetUnits" / "InstanceFleetUnits",
    Instances = "Instances" / "Instances",
    Vcpu = "VCPU" / "VCPU",
});

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ManagedScaling {
    pub unit: ScalingUnit,
    pub min: i64,
    pub max: i64,
    pub max_on_demand: Option<i64>,
    pub max_core: Option<i64>,
}

/// How strongly a reference ties two resources together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strength {
    /// The target must exist before the source can be created (a subnet's VPC).
    Hard,
    /// A security group rule naming another group: both groups can be created
    /// first and the rule authorised after, so such references may form cycles.
    RulePeer,
}

/// One reference of the spec, found by [`Spec::references`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference<'a> {
    pub from: Address,
    /// The path of the field below the resource (`subnets[1]`, `ingress[0].source`).
    pub field: String,
    pub to: &'a Ref,
    pub expected: Kind,
    pub strength: Strength,
}

impl Spec {
    /// Every reference from one resource to another, in a stable order
    /// (kind, name, then field). Spec validation checks them; the planner
    /// turns the resolved ones into graph edges.
    pub fn references(&self) -> Vec<Reference<'_>> {
        let hard = Strength::Hard;
        macro_rules! each {
            ($map:expr, $kind:expr, |$addr:ident, $res:ident| $body:block) => {
                for (name, $res) in &$map {
                    let $addr = Address::new($kind, name.clone());
                    $body
                }
            };
        }
        fn list<'a>(prefix: &str, refs: &'a [Ref]) -> impl Iterator<Item = (String, &'a Ref)> {
            refs.iter().enumerate().map(move |(i, r)| (format!("{prefix}[{i}]"), r))
        }
        let mut refs: Vec<(Address, String, &Ref, Kind, Strength)> = Vec::new();
        each!(self.subnets, Kind::Subnet, |a, s| {
            refs.push((a.clone(), "vpc".into(), &s.vpc, Kind::Vpc, hard));
        });
        each!(self.security_groups, Kind::SecurityGroup, |a, g| {
            refs.push((a.clone(), "vpc".into(), &g.vpc, Kind::Vpc, hard));
            for (i, rule) in g.ingress.iter().enumerate() {
                if let Some(peer) = rule.source.as_ref().filter(|p| p.as_str() != SELF_PEER) {
                    refs.push((
                        a.clone(),
                        format!("ingress[{i}].source"),
                        peer,
                        Kind::SecurityGroup,
                        Strength::RulePeer,
                    ));
                }
            }
            for (i, rule) in g.egress.iter().flatten().enumerate() {
                if let Some(peer) = rule.destination.as_ref().filter(|p| p.as_str() != SELF_PEER) {
                    refs.push((
                        a.clone(),
                        format!("egress[{i}].destination"),
                        peer,
                        Kind::SecurityGroup,
                        Strength::RulePeer,
                    ));
                }
            }
        });
        each!(self.iam_roles, Kind::IamRole, |a, r| {
            for (i, principal) in r.trust.iter().enumerate() {
                if let TrustPrincipal::Role(role) = principal {
                    refs.push((a.clone(), format!("trust[{i}]"), role, Kind::IamRole, hard));
                }
            }
        });
        each!(self.sagemaker_domains, Kind::SagemakerDomain, |a, d| {
            refs.push((a.clone(), "vpc".into(), &d.vpc, Kind::Vpc, hard));
            for (f, r) in list("subnets", &d.subnets) {
                refs.push((a.clone(), f, r, Kind::Subnet, hard));
            }
            refs.push((a.clone(), "execution_role".into(), &d.execution_role, Kind::IamRole, hard));
            for (f, r) in list("security_groups", &d.security_groups) {
                refs.push((a.clone(), f, r, Kind::SecurityGroup, hard));
            }
        });
        each!(self.sagemaker_users, Kind::SagemakerUser, |a, u| {
            refs.push((a.clone(), "domain".into(), &u.domain, Kind::SagemakerDomain, hard));
            if let Some(role) = &u.execution_role {
                refs.push((a.clone(), "execution_role".into(), role, Kind::IamRole, hard));
            }
            for (f, r) in list("security_groups", &u.security_groups) {
                refs.push((a.clone(), f, r, Kind::SecurityGroup, hard));
            }
        });
        each!(self.catalog_portfolios, Kind::CatalogPortfolio, |a, p| {
            for (f, r) in list("principals", &p.principals) {
                refs.push((a.clone(), f, r, Kind::IamRole, hard));
            }
        });
        each!(self.catalog_products, Kind::CatalogProduct, |a, p| {
            refs.push((a.clone(), "portfolio".into(), &p.portfolio, Kind::CatalogPortfolio, hard));
            if let Some(role) = &p.launch_role {
                refs.push((a.clone(), "launch_role".into(), role, Kind::IamRole, hard));
            }
        });
        each!(self.emr_clusters, Kind::EmrCluster, |a, c| {
            for (f, r) in list("subnets", &c.subnets) {
                refs.push((a.clone(), f, r, Kind::Subnet, hard));
            }
            refs.push((a.clone(), "service_role".into(), &c.service_role, Kind::IamRole, hard));
            refs.push((a.clone(), "instance_profile".into(), &c.instance_profile, Kind::IamRole, hard));
            for (field, group) in [
                ("master_security_group", &c.master_security_group),
                ("core_security_group", &c.core_security_group),
                ("service_access_security_group", &c.service_access_security_group),
            ] {
                if let Some(group) = group {
                    refs.push((a.clone(), field.into(), group, Kind::SecurityGroup, hard));
                }
            }
            for (f, r) in list("additional_master_security_groups", &c.additional_master_security_groups)
                .chain(list("additional_core_security_groups", &c.additional_core_security_groups))
            {
                refs.push((a.clone(), f, r, Kind::SecurityGroup, hard));
            }
        });
        let mut out: Vec<Reference<'_>> = refs
            .into_iter()
            .map(|(from, field, to, expected, strength)| Reference { from, field, to, expected, strength })
            .collect();
        out.sort();
        out
    }

    /// The addresses of every resource of the spec, in kind then name order.
    pub fn addresses(&self) -> Vec<Address> {
        fn names<T>(kind: Kind, map: &BTreeMap<String, T>) -> impl Iterator<Item = Address> + '_ {
            map.keys().map(move |name| Address::new(kind, name.clone()))
        }
        names(Kind::Vpc, &self.vpcs)
            .chain(names(Kind::Subnet, &self.subnets))
            .chain(names(Kind::SecurityGroup, &self.security_groups))
            .chain(names(Kind::IamRole, &self.iam_roles))
            .chain(names(Kind::SagemakerDomain, &self.sagemaker_domains))
            .chain(names(Kind::SagemakerUser, &self.sagemaker_users))
            .chain(names(Kind::CatalogPortfolio, &self.catalog_portfolios))
            .chain(names(Kind::CatalogProduct, &self.catalog_products))
            .chain(names(Kind::EmrCluster, &self.emr_clusters))
            .collect()
    }

    /// The lifecycle settings of a resource of the spec.
    pub fn lifecycle(&self, address: &Address) -> Option<&Lifecycle> {
        let name = address.name.as_str();
        match address.kind {
            Kind::Vpc => self.vpcs.get(name).map(|r| &r.lifecycle),
            Kind::Subnet => self.subnets.get(name).map(|r| &r.lifecycle),
            Kind::SecurityGroup => self.security_groups.get(name).map(|r| &r.lifecycle),
            Kind::IamRole => self.iam_roles.get(name).map(|r| &r.lifecycle),
            Kind::SagemakerDomain => self.sagemaker_domains.get(name).map(|r| &r.lifecycle),
            Kind::SagemakerUser => self.sagemaker_users.get(name).map(|r| &r.lifecycle),
            Kind::CatalogPortfolio => self.catalog_portfolios.get(name).map(|r| &r.lifecycle),
            Kind::CatalogProduct => self.catalog_products.get(name).map(|r| &r.lifecycle),
            Kind::EmrCluster => self.emr_clusters.get(name).map(|r| &r.lifecycle),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_are_tables_not_debug_output() {
        assert_eq!(SpotTimeoutAction::SwitchToOnDemand.aws(), "SWITCH_TO_ON_DEMAND");
        assert_eq!(SpotTimeoutAction::SwitchToOnDemand.spec(), "switch-to-on-demand");
        assert_eq!(ScalingUnit::Vcpu.aws(), "VCPU");
        assert_eq!(FleetRole::Task.aws(), "TASK");
        assert_eq!(FleetRole::Task.key(), "task");
        // EMR answers in several spellings; all read back to the same value.
        for text in ["price-capacity-optimized", "PRICE_CAPACITY_OPTIMIZED", " Price-Capacity-Optimized "] {
            assert_eq!(SpotAllocation::from_aws(text), Some(SpotAllocation::PriceCapacityOptimized), "{text}");
        }
        assert_eq!(SpotAllocation::from_aws("cheapest"), None);
        for value in SpotAllocation::ALL {
            assert_eq!(SpotAllocation::from_aws(value.aws()), Some(*value));
        }
    }

    #[test]
    fn capacity_owned_elsewhere_is_kept_within_its_range() {
        let range = Capacity::Range { min: 0, max: 960 };
        assert_eq!(range.at_creation(), 0);
        assert_eq!(range.wanted(480), 480, "the scheduler's target stands");
        assert_eq!(range.wanted(1200), 960, "above the range: the nearest bound, not the minimum");
        assert_eq!(Capacity::Range { min: 16, max: 32 }.wanted(0), 16);
        assert_eq!(Capacity::External.wanted(2000), 2000);
        assert_eq!(Capacity::External.at_creation(), 0);
        assert_eq!(Capacity::Fixed(16).wanted(480), 16);
        assert!(!Capacity::Fixed(16).is_owned_elsewhere());
    }
}
