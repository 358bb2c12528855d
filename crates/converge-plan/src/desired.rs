//! What the spec wants of each resource, in AWS's terms: references resolved
//! to ids (or to the output of the step that creates them), rules in the form
//! EC2 stores, the trust policy converge writes. The diff (`attrs.rs`) and the
//! operations (`operations/`) both start from here, so the meaning of a spec
//! in AWS terms is worked out once.

use std::collections::BTreeMap;

use converge_model::{
    Address, AuthMode, Capacity, CatalogPortfolio, CatalogProduct, EmrCluster, FleetRole, HomeEfsOnDelete, IamRole,
    Kind, NetworkAccess, Partition, Ports, Protocol, Ref, RefTarget, SELF_PEER, STUDIO_VISIBILITY_TAG, SagemakerDomain,
    SagemakerUser, SecurityGroup, Spec, Subnet, Tags, TrustPrincipal,
};
use converge_ops::{
    FleetConfig, Id, InstanceTypeSpec, IpProtocol, Peer, ProductVersion, Rule, RunJobFlow, SpotTimeout, StepId,
    UserSettings,
};

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

    fn ids(&self, references: &[Ref], kind: Kind) -> Vec<Id> {
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

    fn role_name(&self, reference: &Ref) -> String {
        match reference.target(Kind::IamRole) {
            RefTarget::Spec(address) => match self.spec.iam_roles.get(&address.name) {
                Some(role) => role.name.clone().unwrap_or(address.name),
                None => address.name,
            },
            _ => reference.as_str().rsplit('/').next().unwrap_or(reference.as_str()).to_owned(),
        }
    }

    /// The stack's tags and the resource's own (the resource's win).
    fn tags(&self, own: &Tags) -> Tags {
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

fn sha256_hex(text: &str) -> String {
    crate::digest::sha256_hex(text.as_bytes())
}

/// A token that makes a retried create return the first one's resource
/// (Service Catalog keeps tokens for a while): the same stack, address and
/// purpose give the same token on every run.
pub(crate) fn idempotency_token(stack: &str, address: &Address, purpose: &str) -> String {
    format!("converge-{}", &sha256_hex(&format!("{stack}/{address}/{purpose}"))[..40])
}

// ---- the desired resources ----------------------------------------------------

pub(crate) struct DesiredSubnet {
    pub vpc: Id,
    pub cidr: String,
    pub availability_zone: String,
    pub tags: Tags,
}

pub(crate) struct DesiredGroup {
    pub vpc: Id,
    pub name: String,
    pub description: String,
    pub ingress: Vec<Rule>,
    pub egress: Vec<Rule>,
    pub tags: Tags,
}

pub(crate) struct DesiredRole {
    pub name: String,
    pub path: String,
    pub description: Option<String>,
    pub trust_policy: String,
    pub managed_policies: Vec<String>,
    pub inline_policies: BTreeMap<String, String>,
    pub instance_profile: bool,
    pub max_session_duration: i64,
    pub tags: Tags,
}

pub(crate) struct DesiredDomain {
    pub name: String,
    pub auth_mode: AuthMode,
    pub network_access: NetworkAccess,
    pub vpc: Id,
    pub subnets: Vec<Id>,
    pub kms_key: Option<String>,
    pub settings: UserSettings,
    pub home_efs_on_delete: HomeEfsOnDelete,
    pub tags: Tags,
}

pub(crate) struct DesiredUser {
    pub domain: Id,
    pub name: String,
    pub settings: UserSettings,
    pub sso_user_name: Option<String>,
    pub tags: Tags,
}

pub(crate) struct DesiredPortfolio {
    pub display_name: String,
    pub provider: String,
    pub description: Option<String>,
    pub principals: Vec<String>,
    pub tags: Tags,
}

pub(crate) struct DesiredProduct {
    pub portfolio: Id,
    pub name: String,
    pub owner: String,
    pub description: Option<String>,
    pub distributor: Option<String>,
    pub support_email: Option<String>,
    pub template: String,
    pub version: ProductVersion,
    pub bucket: String,
    pub key: String,
    pub launch_role: Option<String>,
    pub tags: Tags,
}

/// A fleet's capacity as the spec states it (fixed, a range, or external).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FleetCapacity {
    pub on_demand: Capacity,
    pub spot: Capacity,
}

pub(crate) struct DesiredCluster {
    /// The cluster as `RunJobFlow` creates it (capacities at creation, user tags).
    pub run: RunJobFlow,
    pub capacity: BTreeMap<FleetRole, FleetCapacity>,
}

impl DesiredCluster {
    pub(crate) fn fleet(&self, role: FleetRole) -> Option<&FleetConfig> {
        self.run.fleets.iter().find(|f| f.role == role)
    }
}

pub(crate) enum Desired {
    Subnet(DesiredSubnet),
    Group(DesiredGroup),
    Role(DesiredRole),
    Domain(DesiredDomain),
    User(DesiredUser),
    Portfolio(DesiredPortfolio),
    Product(DesiredProduct),
    Cluster(Box<DesiredCluster>),
}

/// The desired resource at `address`; `None` for VPCs (read, never changed) and absent addresses.
pub(crate) fn of(r: &Resolver<'_>, address: &Address) -> Option<Desired> {
    let spec = r.spec;
    let name = address.name.as_str();
    Some(match address.kind {
        Kind::Vpc => return None,
        Kind::Subnet => {
            let s = spec.subnets.get(name)?;
            // Every key of the spec's subnet, so that a key added to the spec language
            // does not compile until the planner says what it means in AWS.
            let Subnet { vpc: _, cidr: _, availability_zone: _, tags: _, lifecycle: _ } = s;
            Desired::Subnet(DesiredSubnet {
                vpc: r.id(&s.vpc, Kind::Vpc),
                cidr: normalize::cidr(&s.cidr),
                availability_zone: s.availability_zone.clone(),
                tags: r.tags(&s.tags),
            })
        }
        Kind::SecurityGroup => Desired::Group(group(r, address, spec.security_groups.get(name)?)),
        Kind::IamRole => {
            let role = spec.iam_roles.get(name)?;
            // Every key of the spec's role, so that a key added to the spec language
            // does not compile until the planner says what it means in AWS.
            let IamRole {
                name: _,
                path: _,
                description: _,
                trust: _,
                managed_policies: _,
                inline_policies: _,
                instance_profile: _,
                max_session_duration: _,
                tags: _,
                lifecycle: _,
            } = role;
            Desired::Role(DesiredRole {
                name: role.name.clone().unwrap_or_else(|| name.to_owned()),
                path: role.path.clone(),
                description: role.description.clone(),
                trust_policy: trust_policy(r, role).to_string(),
                managed_policies: sorted(role.managed_policies.clone()),
                inline_policies: role.inline_policies.iter().map(|(k, d)| (k.clone(), d.text.clone())).collect(),
                instance_profile: role.instance_profile,
                max_session_duration: role.max_session_duration,
                tags: r.tags(&role.tags),
            })
        }
        Kind::SagemakerDomain => {
            let d = spec.sagemaker_domains.get(name)?;
            // Every key of the spec's domain, so that a key added to the spec language
            // does not compile until the planner says what it means in AWS.
            let SagemakerDomain {
                name: _,
                auth_mode: _,
                network_access: _,
                vpc: _,
                subnets: _,
                execution_role: _,
                security_groups: _,
                home_efs_on_delete: _,
                kms_key: _,
                sharing: _,
                tags: _,
                lifecycle: _,
            } = d;
            Desired::Domain(DesiredDomain {
                name: d.name.clone(),
                auth_mode: d.auth_mode,
                network_access: d.network_access,
                vpc: r.id(&d.vpc, Kind::Vpc),
                subnets: r.ids(&d.subnets, Kind::Subnet),
                kms_key: d.kms_key.clone(),
                settings: UserSettings {
                    execution_role: Some(r.role_arn(&d.execution_role)),
                    security_groups: r.ids(&d.security_groups, Kind::SecurityGroup),
                    sharing: d.sharing.clone(),
                },
                home_efs_on_delete: d.home_efs_on_delete,
                tags: r.tags(&d.tags),
            })
        }
        Kind::SagemakerUser => {
            let u = spec.sagemaker_users.get(name)?;
            // Every key of the spec's user profile, so that a key added to the spec language
            // does not compile until the planner says what it means in AWS.
            let SagemakerUser {
                domain: _,
                name: _,
                execution_role: _,
                security_groups: _,
                sharing: _,
                sso_user_name: _,
                tags: _,
                lifecycle: _,
            } = u;
            Desired::User(DesiredUser {
                domain: r.id(&u.domain, Kind::SagemakerDomain),
                name: u.name.clone().unwrap_or_else(|| name.to_owned()),
                settings: UserSettings {
                    execution_role: u.execution_role.as_ref().map(|role| r.role_arn(role)),
                    security_groups: r.ids(&u.security_groups, Kind::SecurityGroup),
                    sharing: u.sharing.clone(),
                },
                sso_user_name: u.sso_user_name.clone(),
                tags: r.tags(&u.tags),
            })
        }
        Kind::CatalogPortfolio => {
            let p = spec.catalog_portfolios.get(name)?;
            // Every key of the spec's portfolio, so that a key added to the spec language
            // does not compile until the planner says what it means in AWS.
            let CatalogPortfolio { display_name: _, provider: _, description: _, principals: _, tags: _, lifecycle: _ } =
                p;
            let mut principals: Vec<String> = p.principals.iter().map(|role| r.role_arn(role)).collect();
            principals.sort();
            principals.dedup();
            Desired::Portfolio(DesiredPortfolio {
                display_name: p.display_name.clone(),
                provider: p.provider.clone(),
                description: p.description.clone(),
                principals,
                tags: r.tags(&p.tags),
            })
        }
        Kind::CatalogProduct => {
            let p = spec.catalog_products.get(name)?;
            // Every key of the spec's product, so that a key added to the spec language
            // does not compile until the planner says what it means in AWS.
            let CatalogProduct {
                portfolio: _,
                name: _,
                owner: _,
                description: _,
                distributor: _,
                support_email: _,
                template: _,
                template_bucket: _,
                version_description: _,
                launch_role: _,
                studio_visible: _,
                tags: _,
                lifecycle: _,
            } = p;
            let mut tags = p.tags.clone();
            if p.studio_visible {
                tags.insert(STUDIO_VISIBILITY_TAG.to_owned(), "true".to_owned());
            }
            let hash = sha256_hex(&p.template.text);
            let key = format!("converge/templates/{hash}.template");
            let region = &spec.stack.region;
            Desired::Product(DesiredProduct {
                portfolio: r.id(&p.portfolio, Kind::CatalogPortfolio),
                name: p.name.clone(),
                owner: p.owner.clone(),
                description: p.description.clone(),
                distributor: p.distributor.clone(),
                support_email: p.support_email.clone(),
                template: p.template.text.clone(),
                version: ProductVersion {
                    name: template_version(&p.template.text),
                    description: p.version_description.clone(),
                    template_url: template_url(region, &p.template_bucket, &key),
                },
                bucket: p.template_bucket.clone(),
                key,
                launch_role: p.launch_role.as_ref().map(|role| r.role_arn(role)),
                tags: r.tags(&tags),
            })
        }
        Kind::EmrCluster => Desired::Cluster(Box::new(cluster(r, spec.emr_clusters.get(name)?))),
    })
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items.dedup();
    items
}

/// A rule of the spec in the form EC2 stores it.
fn rule(
    protocol: Protocol,
    ports: Option<&Ports>,
    icmp: (Option<i64>, Option<i64>),
    peer: Peer,
    description: Option<&String>,
) -> Rule {
    let (protocol, from_port, to_port) = match protocol {
        Protocol::All => (IpProtocol::All, None, None),
        Protocol::Icmp => {
            let (icmp_type, icmp_code) = icmp;
            let icmp_type = icmp_type.unwrap_or(-1);
            let icmp_code = if icmp_type < 0 { -1 } else { icmp_code.unwrap_or(-1) };
            (IpProtocol::Icmp, Some(icmp_type), Some(icmp_code))
        }
        Protocol::Tcp | Protocol::Udp => {
            let (from, to) = ports.and_then(Ports::range).unwrap_or((0, 65535));
            let protocol = if protocol == Protocol::Tcp { IpProtocol::Tcp } else { IpProtocol::Udp };
            (protocol, Some(from), Some(to))
        }
    };
    Rule { protocol, from_port, to_port, peer, description: description.cloned() }
}

/// The group's own id: known, or the output of its create step.
fn own_id(r: &Resolver<'_>, address: &Address) -> Id {
    match r.ids.get(address) {
        Some(id) => Id::known(id),
        None => Id::Output { output_of: UNNUMBERED, address: address.clone() },
    }
}

fn peer(
    r: &Resolver<'_>,
    own_address: &Address,
    own: &Id,
    cidr: Option<&String>,
    group: Option<&Ref>,
    prefix_list: Option<&String>,
) -> Peer {
    if let (None, None, Some(list)) = (cidr, group, prefix_list) {
        return Peer::PrefixList(list.clone());
    }
    match (cidr, group) {
        (Some(cidr), _) => Peer::Cidr(normalize::cidr(cidr)),
        (None, Some(group)) if group.as_str() == SELF_PEER => Peer::Group(own.clone()),
        (None, Some(group)) if group.target(Kind::SecurityGroup) == RefTarget::Spec(own_address.clone()) => {
            Peer::Group(own.clone())
        }
        (None, Some(group)) => Peer::Group(r.id(group, Kind::SecurityGroup)),
        (None, None) => Peer::Cidr(String::new()),
    }
}

/// The rule EC2 gives every new group: all traffic out to anywhere.
pub(crate) fn default_egress() -> Rule {
    Rule {
        protocol: IpProtocol::All,
        from_port: None,
        to_port: None,
        peer: Peer::Cidr("0.0.0.0/0".to_owned()),
        description: None,
    }
}

fn group(r: &Resolver<'_>, address: &Address, g: &SecurityGroup) -> DesiredGroup {
    // Every key of the spec's security group, so that a key added to the spec language
    // does not compile until the planner says what it means in AWS.
    let SecurityGroup { vpc: _, name: _, description: _, ingress: _, egress: _, tags: _, lifecycle: _ } = g;
    let own = own_id(r, address);
    let mut ingress: Vec<Rule> = g
        .ingress
        .iter()
        .map(|x| {
            let peer = peer(r, address, &own, x.cidr.as_ref(), x.source.as_ref(), x.prefix_list.as_ref());
            rule(x.protocol, x.ports.as_ref(), (x.icmp_type, x.icmp_code), peer, x.description.as_ref())
        })
        .collect();
    let mut egress: Vec<Rule> = match &g.egress {
        // Omitting `egress` keeps the rule EC2 gives every new group.
        None => vec![default_egress()],
        Some(rules) => rules
            .iter()
            .map(|x| {
                let peer = peer(r, address, &own, x.cidr.as_ref(), x.destination.as_ref(), x.prefix_list.as_ref());
                rule(x.protocol, x.ports.as_ref(), (x.icmp_type, x.icmp_code), peer, x.description.as_ref())
            })
            .collect(),
    };
    ingress.sort();
    egress.sort();
    DesiredGroup {
        vpc: r.id(&g.vpc, Kind::Vpc),
        name: security_group_name(r.spec, &address.name, g),
        description: g.description.clone(),
        ingress,
        egress,
        tags: r.tags(&g.tags),
    }
}

/// The trust policy converge writes for a role.
pub(crate) fn trust_policy(r: &Resolver<'_>, role: &IamRole) -> serde_json::Value {
    let services: Vec<&str> = role
        .trust
        .iter()
        .filter_map(|p| match p {
            TrustPrincipal::Service(s) => Some(s.as_str()),
            TrustPrincipal::Role(_) => None,
        })
        .collect();
    let roles: Vec<String> = role
        .trust
        .iter()
        .filter_map(|p| match p {
            TrustPrincipal::Role(reference) => Some(r.role_arn(reference)),
            TrustPrincipal::Service(_) => None,
        })
        .collect();
    let mut statements = Vec::new();
    if !services.is_empty() {
        statements.push(
            serde_json::json!({"Effect": "Allow", "Principal": {"Service": services}, "Action": "sts:AssumeRole"}),
        );
    }
    if !roles.is_empty() {
        statements
            .push(serde_json::json!({"Effect": "Allow", "Principal": {"AWS": roles}, "Action": "sts:AssumeRole"}));
    }
    serde_json::json!({"Version": "2012-10-17", "Statement": statements})
}

/// The targets a new fleet starts with. EMR wants at least one above 0
/// (botocore `InstanceFleetConfig`: "At least one of TargetSpotCapacity and
/// TargetOnDemandCapacity should be greater than 0"), so a task fleet whose
/// capacity the scheduler or managed scaling owns starts at 1 unit of it, and
/// one fixed at 0 and 0 is not created until it has capacity (`None`).
pub(crate) fn creation_targets(
    role: FleetRole,
    fleet: &converge_model::InstanceFleet,
    scaled: bool,
) -> Option<(i64, i64)> {
    let (on_demand, spot) = (fleet.on_demand.at_creation(), fleet.spot.at_creation());
    if role != FleetRole::Task || on_demand + spot > 0 {
        return Some((on_demand, spot));
    }
    let room = |capacity: Capacity| match capacity {
        Capacity::Range { max, .. } => max >= 1,
        Capacity::External => true,
        Capacity::Fixed(_) => false,
    };
    if room(fleet.spot) {
        Some((0, 1))
    } else if room(fleet.on_demand) {
        Some((1, 0))
    } else if scaled {
        // Managed scaling sizes the fleet from here; Spot if the fleet is set up for it.
        let spot = fleet.spot_allocation.is_some() || fleet.spot_timeout_minutes.is_some();
        Some(if spot { (0, 1) } else { (1, 0) })
    } else {
        None
    }
}

fn cluster(r: &Resolver<'_>, c: &EmrCluster) -> DesiredCluster {
    // Every key of the spec's cluster, so that a key added to the spec language
    // does not compile until the planner says what it means in AWS.
    let EmrCluster {
        name: _,
        release: _,
        applications: _,
        subnets: _,
        service_role: _,
        instance_profile: _,
        master_security_group: _,
        core_security_group: _,
        service_access_security_group: _,
        additional_master_security_groups: _,
        additional_core_security_groups: _,
        log_uri: _,
        key_name: _,
        bootstrap: _,
        configurations: _,
        ebs_root_volume_size: _,
        termination_protection: _,
        auto_termination_idle_seconds: _,
        step_concurrency: _,
        visible_to_all_users: _,
        master: _,
        core: _,
        task: _,
        scaling: _,
        tags: _,
        lifecycle: _,
    } = c;
    let group = |g: &Option<Ref>| g.as_ref().map(|g| r.id(g, Kind::SecurityGroup));
    let mut capacity = BTreeMap::new();
    let fleets = c
        .fleets()
        .filter_map(|(role, fleet)| {
            capacity.insert(role, FleetCapacity { on_demand: fleet.on_demand, spot: fleet.spot });
            let (on_demand, spot) = creation_targets(role, fleet, c.scaling.is_some())?;
            Some(FleetConfig {
                role,
                name: fleet.name.clone(),
                instance_types: fleet
                    .instance_types
                    .iter()
                    .map(|t| InstanceTypeSpec {
                        instance_type: t.instance_type.clone(),
                        weight: t.weight,
                        bid_percent: t.bid_percent,
                        ebs: t.ebs.clone(),
                        ebs_optimized: t.ebs_optimized,
                        configurations: fleet.configurations.clone(),
                    })
                    .collect(),
                on_demand,
                spot,
                spot_timeout: fleet
                    .spot_timeout_minutes
                    .zip(fleet.spot_timeout_action)
                    .map(|(minutes, action)| SpotTimeout { minutes, action }),
                spot_allocation: fleet.spot_allocation,
                on_demand_allocation: fleet.on_demand_allocation,
                resize: fleet.resize.clone(),
            })
        })
        .collect();
    let mut applications = c.applications.clone();
    applications.sort_by_key(|a| a.to_ascii_lowercase());
    DesiredCluster {
        run: RunJobFlow {
            name: c.name.clone(),
            release: c.release.clone(),
            applications,
            subnets: r.ids(&c.subnets, Kind::Subnet),
            service_role: r.role_name(&c.service_role),
            instance_profile: r.role_name(&c.instance_profile),
            master_security_group: group(&c.master_security_group),
            core_security_group: group(&c.core_security_group),
            service_access_security_group: group(&c.service_access_security_group),
            additional_master_security_groups: r.ids(&c.additional_master_security_groups, Kind::SecurityGroup),
            additional_core_security_groups: r.ids(&c.additional_core_security_groups, Kind::SecurityGroup),
            log_uri: c.log_uri.clone(),
            key_name: c.key_name.clone(),
            bootstrap: c.bootstrap.clone(),
            configurations: c.configurations.clone(),
            ebs_root_volume_size: c.ebs_root_volume_size,
            termination_protected: c.termination_protection,
            auto_termination_idle_seconds: c.auto_termination_idle_seconds,
            step_concurrency: c.step_concurrency,
            fleets,
            scaling: c.scaling.clone(),
            tags: r.tags(&c.tags),
        },
        capacity,
    }
}
