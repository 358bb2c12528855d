//! One typed struct per resource kind, and the [`Spec`] that holds them.
//!
//! Field names are the spec's keys. Optional keys are `Option` or take the
//! AWS default. Every struct derives `Deserialize` so the spec parser can read
//! it from a document it has already checked; the checker, not serde, is what
//! reports mistakes to users.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{Address, Kind, Ref};

pub type Tags = BTreeMap<String, String>;

/// Settings every resource accepts besides its own.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Lifecycle {
    /// A planned delete or replacement of this resource is an error.
    pub prevent_destroy: bool,
    /// Warning code → the written reason it does not apply here.
    pub silence: BTreeMap<String, String>,
    /// Take over an existing resource of the same AWS name that this stack does not own yet.
    pub adopt: bool,
}

/// The whole desired state: one map per kind, keyed by the resource's spec name.
#[derive(Clone, Debug, Default, PartialEq)]
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

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Stack {
    pub name: String,
    pub region: String,
    /// The AWS account the stack lives in; converge refuses to touch another.
    pub account: String,
    #[serde(default)]
    pub tags: Tags,
}

/// An existing VPC, referenced by id: read and checked, never changed.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Vpc {
    pub id: String,
    /// The VPC's IPv4 ranges, when known; subnets must fall inside one of them.
    #[serde(default)]
    pub cidrs: Vec<String>,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Subnet {
    pub vpc: Ref,
    pub cidr: String,
    pub availability_zone: String,
    #[serde(default)]
    pub tags: Tags,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SecurityGroup {
    pub vpc: Ref,
    /// The EC2 group name; defaults to `<stack>-<spec name>`.
    pub name: Option<String>,
    pub description: String,
    #[serde(default)]
    pub ingress: Vec<IngressRule>,
    /// `None` keeps the allow-all egress rule EC2 gives every new group.
    pub egress: Option<Vec<EgressRule>>,
    #[serde(default)]
    pub tags: Tags,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
    All,
}

/// A port or an inclusive range, written `8998` or `"8000-8100"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
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

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct IngressRule {
    pub protocol: Protocol,
    pub ports: Option<Ports>,
    pub cidr: Option<String>,
    /// `"self"`, a security group of the spec, or a literal `sg-` id.
    pub source: Option<Ref>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct EgressRule {
    pub protocol: Protocol,
    pub ports: Option<Ports>,
    pub cidr: Option<String>,
    /// `"self"`, a security group of the spec, or a literal `sg-` id.
    pub destination: Option<Ref>,
    pub description: Option<String>,
}

/// The peer of a rule that names a group, whichever direction it has.
pub const SELF_PEER: &str = "self";

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct IamRole {
    /// The IAM role name; defaults to the spec name.
    pub name: Option<String>,
    #[serde(default = "default_path")]
    pub path: String,
    pub description: Option<String>,
    /// Service principals (`sagemaker.amazonaws.com`), role ARNs, or roles of the spec.
    pub trust: Vec<TrustPrincipal>,
    #[serde(default)]
    pub managed_policies: Vec<String>,
    #[serde(default)]
    pub inline_policies: BTreeMap<String, Document>,
    /// Also create an instance profile of the same name holding the role (EMR's EC2 role).
    #[serde(default)]
    pub instance_profile: bool,
    #[serde(default = "default_session_duration")]
    pub max_session_duration: i64,
    #[serde(default)]
    pub tags: Tags,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

fn default_path() -> String {
    "/".to_owned()
}

fn default_session_duration() -> i64 {
    3600
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum AuthMode {
    #[serde(rename = "IAM")]
    Iam,
    #[serde(rename = "SSO")]
    Sso,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum NetworkAccess {
    PublicInternetOnly,
    VpcOnly,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum HomeEfsOnDelete {
    #[default]
    Retain,
    Delete,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SharingSettings {
    pub notebook_output: NotebookOutput,
    pub s3_output_path: Option<String>,
    pub s3_kms_key: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum NotebookOutput {
    Allowed,
    Disabled,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SagemakerDomain {
    pub name: String,
    pub auth_mode: AuthMode,
    #[serde(default = "default_network_access")]
    pub network_access: NetworkAccess,
    pub vpc: Ref,
    pub subnets: Vec<Ref>,
    /// The default user settings' execution role.
    pub execution_role: Ref,
    /// The default user settings' security groups.
    #[serde(default)]
    pub security_groups: Vec<Ref>,
    #[serde(default)]
    pub home_efs_on_delete: HomeEfsOnDelete,
    pub kms_key: Option<String>,
    pub sharing: Option<SharingSettings>,
    #[serde(default)]
    pub tags: Tags,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

fn default_network_access() -> NetworkAccess {
    NetworkAccess::PublicInternetOnly
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SagemakerUser {
    pub domain: Ref,
    /// The user profile name; defaults to the spec name.
    pub name: Option<String>,
    pub execution_role: Option<Ref>,
    #[serde(default)]
    pub security_groups: Vec<Ref>,
    pub sharing: Option<SharingSettings>,
    #[serde(default)]
    pub tags: Tags,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct CatalogPortfolio {
    pub display_name: String,
    pub provider: String,
    pub description: Option<String>,
    /// IAM roles allowed to see the portfolio's products.
    #[serde(default)]
    pub principals: Vec<Ref>,
    #[serde(default)]
    pub tags: Tags,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

/// The tag Studio looks for to list a product as an EMR template.
pub const STUDIO_VISIBILITY_TAG: &str = "sagemaker:studio-visibility:emr";

#[derive(Clone, Debug, PartialEq, Deserialize)]
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
    #[serde(default)]
    pub studio_visible: bool,
    #[serde(default)]
    pub tags: Tags,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct EmrCluster {
    pub name: String,
    pub release: String,
    #[serde(default)]
    pub applications: Vec<String>,
    /// Several subnets let EMR choose the AZ at creation.
    pub subnets: Vec<Ref>,
    pub service_role: Ref,
    /// An IAM role of the spec with `instance_profile = true`, or an instance profile ARN.
    pub instance_profile: Ref,
    pub master_security_group: Option<Ref>,
    pub core_security_group: Option<Ref>,
    pub service_access_security_group: Option<Ref>,
    #[serde(default)]
    pub additional_master_security_groups: Vec<Ref>,
    #[serde(default)]
    pub additional_core_security_groups: Vec<Ref>,
    pub log_uri: Option<String>,
    pub key_name: Option<String>,
    #[serde(default)]
    pub bootstrap: Vec<BootstrapAction>,
    #[serde(default)]
    pub configurations: Vec<Configuration>,
    pub ebs_root_volume_size: Option<i64>,
    #[serde(default)]
    pub termination_protection: bool,
    pub auto_termination_idle_seconds: Option<i64>,
    #[serde(default = "one")]
    pub step_concurrency: i64,
    #[serde(default = "yes")]
    pub visible_to_all_users: bool,
    pub master: Option<InstanceFleet>,
    pub core: Option<InstanceFleet>,
    pub task: Option<InstanceFleet>,
    pub scaling: Option<ManagedScaling>,
    #[serde(default)]
    pub tags: Tags,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

fn one() -> i64 {
    1
}

fn yes() -> bool {
    true
}

impl EmrCluster {
    /// The fleets that are declared, with their role (`master`, `core`, `task`).
    pub fn fleets(&self) -> impl Iterator<Item = (&'static str, &InstanceFleet)> {
        [("master", &self.master), ("core", &self.core), ("task", &self.task)]
            .into_iter()
            .filter_map(|(role, fleet)| fleet.as_ref().map(|fleet| (role, fleet)))
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

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct BootstrapAction {
    pub name: String,
    pub path: String,
    #[serde(default)]
    pub args: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Configuration {
    pub classification: String,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    #[serde(default)]
    pub configurations: Vec<Configuration>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct InstanceFleet {
    pub name: Option<String>,
    pub instance_types: Vec<InstanceTypeConfig>,
    #[serde(default)]
    pub on_demand: i64,
    #[serde(default)]
    pub spot: i64,
    pub spot_timeout_minutes: Option<i64>,
    pub spot_timeout_action: Option<SpotTimeoutAction>,
    pub spot_allocation: Option<SpotAllocation>,
    pub on_demand_allocation: Option<OnDemandAllocation>,
}

impl InstanceFleet {
    /// True when an allocation strategy is set, which raises the instance-type limit from 5 to 30.
    pub fn has_allocation_strategy(&self) -> bool {
        self.spot_allocation.is_some() || self.on_demand_allocation.is_some()
    }
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

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct EbsVolume {
    #[serde(rename = "type")]
    pub volume_type: String,
    pub size: i64,
    #[serde(default = "one")]
    pub count: i64,
    pub iops: Option<i64>,
    pub throughput: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpotTimeoutAction {
    SwitchToOnDemand,
    TerminateCluster,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpotAllocation {
    CapacityOptimized,
    PriceCapacityOptimized,
    LowestPrice,
    Diversified,
    CapacityOptimizedPrioritized,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnDemandAllocation {
    LowestPrice,
    Prioritized,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum ScalingUnit {
    InstanceFleetUnits,
    Instances,
    #[serde(rename = "VCPU")]
    Vcpu,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
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
