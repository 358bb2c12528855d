//! Both sides of the diff in one form: the spec's wish (resolving references
//! to live ids, or "known after apply") and what AWS holds.

use std::collections::BTreeMap;

use converge_model::live::{
    LiveCatalogPortfolio, LiveCatalogProduct, LiveEmrCluster, LiveFleet, LiveIamRole, LiveRule, LiveSagemakerDomain,
    LiveSagemakerUser, LiveSecurityGroup, LiveSharing, LiveSubnet,
};
use converge_model::{
    Address, CatalogPortfolio, CatalogProduct, Configuration, EmrCluster, IamRole, InstanceFleet, Kind, Ports,
    Protocol, Ref, RefTarget, SELF_PEER, STUDIO_VISIBILITY_TAG, SagemakerDomain, SagemakerUser, SecurityGroup,
    SharingSettings, Spec, Subnet, Tags, TrustPrincipal,
};
use sha2::{Digest, Sha256};

use crate::normalize;
use crate::value::Value;

/// The normalised fields of one resource, plus full texts for readable diffs.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Attrs {
    pub(crate) values: BTreeMap<&'static str, Value>,
    /// Field → the document text to diff (templates), when known.
    pub(crate) texts: BTreeMap<&'static str, String>,
}

impl Attrs {
    fn set(&mut self, path: &'static str, value: Value) {
        self.values.insert(path, value);
    }

    pub(crate) fn get(&self, path: &str) -> &Value {
        self.values.get(path).unwrap_or(&Value::Null)
    }
}

/// Resolves the spec's references for the desired side.
pub(crate) struct Resolver<'a> {
    pub spec: &'a Spec,
    pub account: &'a str,
    /// The live id of each spec resource that keeps its identity through this plan.
    pub ids: BTreeMap<Address, String>,
}

impl Resolver<'_> {
    /// The AWS id a reference stands for.
    fn id(&self, reference: &Ref, kind: Kind) -> Value {
        match reference.target(kind) {
            RefTarget::Literal(id) => Value::str(id),
            RefTarget::Spec(address) if kind == Kind::Vpc => {
                self.spec.vpcs.get(&address.name).map_or(Value::Unknown(address.to_string()), |v| Value::str(&v.id))
            }
            RefTarget::Spec(address) => {
                self.ids.get(&address).map_or_else(|| Value::Unknown(address.to_string()), Value::str)
            }
            RefTarget::WrongKind(_) | RefTarget::Unqualifiable => Value::str(reference.as_str()),
        }
    }

    fn ids(&self, references: &[Ref], kind: Kind) -> Value {
        Value::set(references.iter().map(|r| self.id(r, kind)))
    }

    /// IAM role ARNs are known before the role exists: they follow from account, path and name.
    pub(crate) fn role_arn(&self, reference: &Ref) -> Value {
        match reference.target(Kind::IamRole) {
            RefTarget::Spec(address) => match self.spec.iam_roles.get(&address.name) {
                Some(role) => Value::Str(role_arn(self.account, role, &address.name)),
                None => Value::Unknown(address.to_string()),
            },
            _ => Value::str(reference.as_str()),
        }
    }

    fn role_name(&self, reference: &Ref) -> Value {
        match reference.target(Kind::IamRole) {
            RefTarget::Spec(address) => match self.spec.iam_roles.get(&address.name) {
                Some(role) => Value::str(role.name.as_deref().unwrap_or(&address.name)),
                None => Value::Unknown(address.to_string()),
            },
            _ => Value::str(reference.as_str().rsplit('/').next().unwrap_or(reference.as_str())),
        }
    }

    fn tags(&self, own: &Tags) -> Value {
        let mut tags = self.spec.stack.tags.clone();
        tags.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        tag_map(&tags)
    }
}

pub(crate) fn role_arn(account: &str, role: &IamRole, spec_name: &str) -> String {
    let path = if role.path.ends_with('/') { role.path.clone() } else { format!("{}/", role.path) };
    format!("arn:aws:iam::{account}:role{path}{}", role.name.as_deref().unwrap_or(spec_name))
}

/// The AWS name a resource of the spec is known by, where AWS names are unique.
pub(crate) fn aws_name(spec: &Spec, address: &Address) -> Option<String> {
    let name = &address.name;
    Some(match address.kind {
        Kind::IamRole => spec.iam_roles.get(name)?.name.clone().unwrap_or_else(|| name.clone()),
        Kind::SecurityGroup => security_group_name(spec, name, spec.security_groups.get(name)?),
        Kind::SagemakerDomain => spec.sagemaker_domains.get(name)?.name.clone(),
        Kind::SagemakerUser => spec.sagemaker_users.get(name)?.name.clone().unwrap_or_else(|| name.clone()),
        _ => return None,
    })
}

pub(crate) fn security_group_name(spec: &Spec, name: &str, group: &SecurityGroup) -> String {
    group.name.clone().unwrap_or_else(|| format!("{}-{name}", spec.stack.name))
}

/// User tags only: converge's ownership tags and AWS's own are not compared.
fn tag_map(tags: &Tags) -> Value {
    Value::Map(
        tags.iter()
            .filter(|(k, _)| !k.starts_with("converge:") && !k.starts_with("aws:"))
            .map(|(k, v)| (k.clone(), Value::str(v)))
            .collect(),
    )
}

/// The name converge gives a product version: the template's content hash.
pub fn template_version(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

// ---- desired side ---------------------------------------------------------

pub(crate) fn desired(resolver: &Resolver<'_>, address: &Address) -> Attrs {
    let spec = resolver.spec;
    let name = address.name.as_str();
    match address.kind {
        Kind::Vpc => Attrs::default(),
        Kind::Subnet => spec.subnets.get(name).map(|s| subnet(resolver, s)).unwrap_or_default(),
        Kind::SecurityGroup => {
            spec.security_groups.get(name).map(|g| security_group(resolver, address, g)).unwrap_or_default()
        }
        Kind::IamRole => spec.iam_roles.get(name).map(|r| iam_role(resolver, name, r)).unwrap_or_default(),
        Kind::SagemakerDomain => spec.sagemaker_domains.get(name).map(|d| domain(resolver, d)).unwrap_or_default(),
        Kind::SagemakerUser => spec.sagemaker_users.get(name).map(|u| user(resolver, name, u)).unwrap_or_default(),
        Kind::CatalogPortfolio => spec.catalog_portfolios.get(name).map(|p| portfolio(resolver, p)).unwrap_or_default(),
        Kind::CatalogProduct => spec.catalog_products.get(name).map(|p| product(resolver, p)).unwrap_or_default(),
        Kind::EmrCluster => spec.emr_clusters.get(name).map(|c| emr(resolver, c)).unwrap_or_default(),
    }
}

fn subnet(r: &Resolver<'_>, s: &Subnet) -> Attrs {
    let mut a = Attrs::default();
    a.set("vpc", r.id(&s.vpc, Kind::Vpc));
    a.set("cidr", Value::Str(normalize::cidr(&s.cidr)));
    a.set("availability_zone", Value::str(&s.availability_zone));
    a.set("tags", r.tags(&s.tags));
    a
}

fn ports_text(protocol: Protocol, ports: Option<&Ports>) -> String {
    match (protocol, ports.and_then(Ports::range)) {
        (Protocol::All | Protocol::Icmp, _) | (_, None) => "all".into(),
        (_, Some((from, to))) if from == to => from.to_string(),
        (_, Some((from, to))) => format!("{from}-{to}"),
    }
}

fn rule_key(protocol: &str, ports: &str, peer: &str) -> String {
    format!("{protocol} {ports} {peer}")
}

fn group_rules<'a>(
    r: &Resolver<'_>,
    own_address: &Address,
    own: &Value,
    rules: impl Iterator<Item = (Protocol, Option<&'a Ports>, Option<&'a String>, Option<&'a Ref>, Option<&'a String>)>,
) -> Value {
    let mut map = BTreeMap::new();
    for (protocol, ports, cidr, peer, description) in rules {
        let peer = match (cidr, peer) {
            (Some(cidr), _) => normalize::cidr(cidr),
            (None, Some(peer)) if peer.as_str() == SELF_PEER => peer_text(own),
            (None, Some(peer)) if peer.target(Kind::SecurityGroup) == RefTarget::Spec(own_address.clone()) => {
                peer_text(own)
            }
            (None, Some(peer)) => peer_text(&r.id(peer, Kind::SecurityGroup)),
            (None, None) => String::new(),
        };
        let name = normalize::protocol(&format!("{protocol:?}"));
        map.insert(
            rule_key(&name, &ports_text(protocol, ports), &peer),
            Value::opt_str(description.map(String::as_str)),
        );
    }
    Value::Map(map)
}

fn peer_text(value: &Value) -> String {
    match value {
        Value::Str(id) => id.clone(),
        Value::Unknown(address) => format!("({address}, known after apply)"),
        other => other.to_string(),
    }
}

fn security_group(r: &Resolver<'_>, address: &Address, g: &SecurityGroup) -> Attrs {
    let mut a = Attrs::default();
    // A rule naming its own group is written `self` on both sides: it does not depend on the group's id.
    let own = Value::str(SELF_PEER);
    a.set("vpc", r.id(&g.vpc, Kind::Vpc));
    a.set("name", Value::Str(security_group_name(r.spec, &address.name, g)));
    a.set("description", Value::str(&g.description));
    let ingress = g
        .ingress
        .iter()
        .map(|x| (x.protocol, x.ports.as_ref(), x.cidr.as_ref(), x.source.as_ref(), x.description.as_ref()));
    a.set("ingress", group_rules(r, address, &own, ingress));
    let egress = match &g.egress {
        // EC2 gives every new group this rule; omitting `egress` keeps it.
        None => Value::Map(BTreeMap::from([(rule_key("all", "all", "0.0.0.0/0"), Value::Null)])),
        Some(rules) => group_rules(
            r,
            address,
            &own,
            rules.iter().map(|x| {
                (x.protocol, x.ports.as_ref(), x.cidr.as_ref(), x.destination.as_ref(), x.description.as_ref())
            }),
        ),
    };
    a.set("egress", egress);
    a.set("tags", r.tags(&g.tags));
    a
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
            TrustPrincipal::Role(reference) => Some(match r.role_arn(reference) {
                Value::Str(arn) => arn,
                other => other.to_string(),
            }),
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

fn doc(text: &str) -> Value {
    normalize::policy(text).map_or_else(|| Value::Text(text.to_owned()), Value::Doc)
}

fn iam_role(r: &Resolver<'_>, name: &str, role: &IamRole) -> Attrs {
    let mut a = Attrs::default();
    a.set("name", Value::str(role.name.as_deref().unwrap_or(name)));
    a.set("path", Value::str(&role.path));
    a.set("description", Value::opt_str(role.description.as_deref()));
    a.set("trust", doc(&trust_policy(r, role).to_string()));
    a.set("managed_policies", Value::strings(&role.managed_policies));
    a.set("inline_policies", Value::Map(role.inline_policies.iter().map(|(k, d)| (k.clone(), doc(&d.text))).collect()));
    a.set("instance_profile", Value::Bool(role.instance_profile));
    a.set("max_session_duration", Value::Int(role.max_session_duration));
    a.set("tags", r.tags(&role.tags));
    a
}

fn sharing(s: Option<&SharingSettings>) -> Value {
    s.map_or(Value::Null, |s| {
        live_sharing(Some(&LiveSharing {
            notebook_output: format!("{:?}", s.notebook_output),
            s3_output_path: s.s3_output_path.clone(),
            s3_kms_key: s.s3_kms_key.clone(),
        }))
    })
}

fn domain(r: &Resolver<'_>, d: &SagemakerDomain) -> Attrs {
    let mut a = Attrs::default();
    a.set("name", Value::str(&d.name));
    a.set("auth_mode", Value::str(format!("{:?}", d.auth_mode).to_ascii_uppercase()));
    a.set("vpc", r.id(&d.vpc, Kind::Vpc));
    a.set("kms_key", Value::opt_str(d.kms_key.as_deref()));
    a.set("network_access", Value::str(format!("{:?}", d.network_access)));
    a.set("subnets", r.ids(&d.subnets, Kind::Subnet));
    a.set("execution_role", r.role_arn(&d.execution_role));
    a.set("security_groups", r.ids(&d.security_groups, Kind::SecurityGroup));
    a.set("sharing", sharing(d.sharing.as_ref()));
    a.set("tags", r.tags(&d.tags));
    a
}

fn user(r: &Resolver<'_>, name: &str, u: &SagemakerUser) -> Attrs {
    let mut a = Attrs::default();
    a.set("domain", r.id(&u.domain, Kind::SagemakerDomain));
    a.set("name", Value::str(u.name.as_deref().unwrap_or(name)));
    a.set("execution_role", u.execution_role.as_ref().map_or(Value::Null, |role| r.role_arn(role)));
    a.set("security_groups", r.ids(&u.security_groups, Kind::SecurityGroup));
    a.set("sharing", sharing(u.sharing.as_ref()));
    a.set("tags", r.tags(&u.tags));
    a
}

fn portfolio(r: &Resolver<'_>, p: &CatalogPortfolio) -> Attrs {
    let mut a = Attrs::default();
    a.set("display_name", Value::str(&p.display_name));
    a.set("provider", Value::str(&p.provider));
    a.set("description", Value::opt_str(p.description.as_deref()));
    a.set("principals", Value::set(p.principals.iter().map(|role| r.role_arn(role))));
    a.set("tags", r.tags(&p.tags));
    a
}

fn product(r: &Resolver<'_>, p: &CatalogProduct) -> Attrs {
    let mut a = Attrs::default();
    a.set("portfolio", r.id(&p.portfolio, Kind::CatalogPortfolio));
    a.set("name", Value::str(&p.name));
    a.set("owner", Value::str(&p.owner));
    a.set("description", Value::opt_str(p.description.as_deref()));
    a.set("distributor", Value::opt_str(p.distributor.as_deref()));
    a.set("support_email", Value::opt_str(p.support_email.as_deref()));
    a.set("template", Value::Str(template_version(&p.template.text)));
    a.texts.insert("template", p.template.text.clone());
    a.set("launch_role", p.launch_role.as_ref().map_or(Value::Null, |role| r.role_arn(role)));
    let mut tags = p.tags.clone();
    if p.studio_visible {
        tags.insert(STUDIO_VISIBILITY_TAG.to_owned(), "true".to_owned());
    }
    a.set("tags", r.tags(&tags));
    a
}

fn instance_types_desired(fleet: &InstanceFleet) -> Value {
    Value::set(fleet.instance_types.iter().map(|t| {
        let mut ebs: Vec<String> = Vec::new();
        for volume in &t.ebs {
            for _ in 0..volume.count.clamp(0, 64) {
                ebs.push(volume_text(&volume.volume_type, volume.size, volume.iops, volume.throughput));
            }
        }
        Value::Str(instance_type_text(&t.instance_type, t.weight, t.bid_percent, ebs, t.ebs_optimized))
    }))
}

fn volume_text(volume_type: &str, size: i64, iops: Option<i64>, throughput: Option<i64>) -> String {
    let mut text = format!("{volume_type}:{size}GiB");
    if let Some(iops) = iops {
        text.push_str(&format!(":{iops}iops"));
    }
    if let Some(throughput) = throughput {
        text.push_str(&format!(":{throughput}MiB/s"));
    }
    text
}

fn instance_type_text(
    name: &str,
    weight: i64,
    bid: Option<f64>,
    mut ebs: Vec<String>,
    optimized: Option<bool>,
) -> String {
    ebs.sort();
    let bid = bid.unwrap_or(100.0);
    let mut text = format!("{name} weight {weight} bid {bid}%");
    if !ebs.is_empty() {
        text.push_str(&format!(" ebs {}", ebs.join(" ")));
    }
    if optimized == Some(true) {
        text.push_str(" ebs-optimized");
    }
    text
}

fn launch_text(timeout: Option<i64>, action: Option<String>, spot: Option<String>, on_demand: Option<String>) -> Value {
    let mut parts = Vec::new();
    if let (Some(minutes), Some(action)) = (timeout, action) {
        parts.push(format!("spot timeout {minutes} min then {action}"));
    }
    if let Some(spot) = spot {
        parts.push(format!("spot allocation {spot}"));
    }
    // `lowest-price` is EMR's default On-Demand strategy: written or not, it is the same.
    if let Some(on_demand) = on_demand.filter(|s| s != "lowest-price") {
        parts.push(format!("on-demand allocation {on_demand}"));
    }
    if parts.is_empty() { Value::Null } else { Value::Str(parts.join("; ")) }
}

fn fleet_desired(a: &mut Attrs, role: &'static str, fleet: &InstanceFleet) {
    let (types, launch, on_demand, spot) = fleet_paths(role);
    a.set(types, instance_types_desired(fleet));
    a.set(
        launch,
        launch_text(
            fleet.spot_timeout_minutes,
            fleet.spot_timeout_action.map(normalize::kebab_of),
            fleet.spot_allocation.map(normalize::kebab_of),
            fleet.on_demand_allocation.map(normalize::kebab_of),
        ),
    );
    if let (Some(on_demand), Some(spot)) = (on_demand, spot) {
        a.set(on_demand, Value::Int(fleet.on_demand));
        a.set(spot, Value::Int(fleet.spot));
    }
}

/// The field paths of a fleet role: types, launch, and (not for master) capacities.
pub(crate) fn fleet_paths(role: &str) -> (&'static str, &'static str, Option<&'static str>, Option<&'static str>) {
    match role {
        "master" => ("master.instance_types", "master.launch", None, None),
        "core" => ("core.instance_types", "core.launch", Some("core.on_demand"), Some("core.spot")),
        _ => ("task.instance_types", "task.launch", Some("task.on_demand"), Some("task.spot")),
    }
}

/// A configuration's classification, properties and nested configurations.
type ConfigurationParts<'c, C> = (&'c str, &'c BTreeMap<String, String>, &'c [C]);

/// EMR configurations as one canonical JSON document (sorted by classification),
/// from the spec's type or the live one: `parts` gives a configuration's
/// classification, properties and nested configurations.
fn configurations_document<C>(items: &[C], parts: for<'c> fn(&'c C) -> ConfigurationParts<'c, C>) -> serde_json::Value {
    let mut out: Vec<serde_json::Value> = items
        .iter()
        .map(|item| {
            let (classification, properties, nested) = parts(item);
            serde_json::json!({
                "classification": classification,
                "properties": properties,
                "configurations": configurations_document(nested, parts),
            })
        })
        .collect();
    out.sort_by_key(|item| item["classification"].as_str().unwrap_or_default().to_owned());
    serde_json::Value::Array(out)
}

fn configurations_json(configurations: &[Configuration]) -> serde_json::Value {
    configurations_document(configurations, |c| (&c.classification, &c.properties, &c.configurations))
}

fn scaling_value(unit: &str, min: i64, max: i64, max_on_demand: Option<i64>, max_core: Option<i64>) -> Value {
    Value::Map(BTreeMap::from([
        ("unit".to_owned(), Value::str(unit)),
        ("min".to_owned(), Value::Int(min)),
        ("max".to_owned(), Value::Int(max)),
        ("max_on_demand".to_owned(), Value::Int(max_on_demand.unwrap_or(max))),
        ("max_core".to_owned(), Value::Int(max_core.unwrap_or(max))),
    ]))
}

fn emr(r: &Resolver<'_>, c: &EmrCluster) -> Attrs {
    let mut a = Attrs::default();
    a.set("name", Value::str(&c.name));
    a.set("release", Value::str(&c.release));
    a.set("applications", Value::set(c.applications.iter().map(|s| Value::Str(s.to_ascii_lowercase()))));
    a.set("subnets", r.ids(&c.subnets, Kind::Subnet));
    a.set("service_role", r.role_name(&c.service_role));
    a.set("instance_profile", r.role_name(&c.instance_profile));
    let group = |g: &Option<Ref>| g.as_ref().map_or(Value::Null, |g| r.id(g, Kind::SecurityGroup));
    a.set("master_security_group", group(&c.master_security_group));
    a.set("core_security_group", group(&c.core_security_group));
    a.set("service_access_security_group", group(&c.service_access_security_group));
    a.set("additional_master_security_groups", r.ids(&c.additional_master_security_groups, Kind::SecurityGroup));
    a.set("additional_core_security_groups", r.ids(&c.additional_core_security_groups, Kind::SecurityGroup));
    a.set("log_uri", c.log_uri.as_deref().map_or(Value::Null, |u| Value::Str(normalize::s3_uri(u))));
    a.set("key_name", Value::opt_str(c.key_name.as_deref()));
    a.set(
        "bootstrap",
        Value::List(c.bootstrap.iter().map(|b| Value::Str(bootstrap_text(&b.name, &b.path, &b.args))).collect()),
    );
    a.set("configurations", Value::Doc(normalize::json(&configurations_json(&c.configurations))));
    a.set("ebs_root_volume_size", c.ebs_root_volume_size.map_or(Value::Null, Value::Int));
    a.set("termination_protection", Value::Bool(c.termination_protection));
    a.set("auto_termination_idle_seconds", c.auto_termination_idle_seconds.map_or(Value::Null, Value::Int));
    a.set("step_concurrency", Value::Int(c.step_concurrency));
    a.set("visible_to_all_users", Value::Bool(c.visible_to_all_users));
    for (role, fleet) in c.fleets() {
        fleet_desired(&mut a, role, fleet);
    }
    a.set(
        "scaling",
        c.scaling.as_ref().map_or(Value::Null, |s| {
            scaling_value(&format!("{:?}", s.unit).replace("Vcpu", "VCPU"), s.min, s.max, s.max_on_demand, s.max_core)
        }),
    );
    a.set("tags", r.tags(&c.tags));
    a
}

fn bootstrap_text(name: &str, path: &str, args: &[String]) -> String {
    if args.is_empty() { format!("{name}: {path}") } else { format!("{name}: {path} {}", args.join(" ")) }
}

// ---- live side -------------------------------------------------------------

pub(crate) fn live_subnet(s: &LiveSubnet) -> Attrs {
    let mut a = Attrs::default();
    a.set("vpc", Value::str(&s.vpc_id));
    a.set("cidr", Value::Str(normalize::cidr(&s.cidr)));
    a.set("availability_zone", Value::str(&s.availability_zone));
    a.set("tags", tag_map(&s.tags));
    a
}

fn live_rules(rules: &[LiveRule], own_id: &str) -> Value {
    let mut map = BTreeMap::new();
    for rule in rules {
        let protocol = normalize::protocol(&rule.protocol);
        let ports = match (protocol.as_str(), rule.from_port, rule.to_port) {
            ("tcp" | "udp", Some(from), Some(to)) if from == to => from.to_string(),
            ("tcp" | "udp", Some(from), Some(to)) if from == 0 && to == 65535 => "0-65535".to_owned(),
            ("tcp" | "udp", Some(from), Some(to)) => format!("{from}-{to}"),
            _ => "all".to_owned(),
        };
        let peer = match (&rule.cidr, &rule.group_id) {
            (Some(cidr), _) => normalize::cidr(cidr),
            (None, Some(group)) if group == own_id => SELF_PEER.to_owned(),
            (None, Some(group)) => group.clone(),
            (None, None) => String::new(),
        };
        map.insert(rule_key(&protocol, &ports, &peer), Value::opt_str(rule.description.as_deref()));
    }
    Value::Map(map)
}

pub(crate) fn live_security_group(g: &LiveSecurityGroup) -> Attrs {
    let mut a = Attrs::default();
    a.set("vpc", Value::str(&g.vpc_id));
    a.set("name", Value::str(&g.name));
    a.set("description", Value::str(&g.description));
    a.set("ingress", live_rules(&g.ingress, &g.id));
    a.set("egress", live_rules(&g.egress, &g.id));
    a.set("tags", tag_map(&g.tags));
    a
}

pub(crate) fn live_iam_role(role: &LiveIamRole) -> Attrs {
    let mut a = Attrs::default();
    a.set("name", Value::str(&role.name));
    a.set("path", Value::str(&role.path));
    a.set("description", Value::opt_str(role.description.as_deref()));
    a.set("trust", doc(&role.assume_role_policy));
    a.set("managed_policies", Value::strings(&role.managed_policies));
    a.set("inline_policies", Value::Map(role.inline_policies.iter().map(|(k, d)| (k.clone(), doc(d))).collect()));
    a.set("instance_profile", Value::Bool(role.instance_profile));
    a.set("max_session_duration", Value::Int(role.max_session_duration));
    a.set("tags", tag_map(&role.tags));
    a
}

fn live_sharing(s: Option<&LiveSharing>) -> Value {
    s.map_or(Value::Null, |s| {
        Value::Map(BTreeMap::from([
            ("notebook_output".to_owned(), Value::str(&s.notebook_output)),
            ("s3_output_path".to_owned(), Value::opt_str(s.s3_output_path.as_deref())),
            ("s3_kms_key".to_owned(), Value::opt_str(s.s3_kms_key.as_deref())),
        ]))
    })
}

pub(crate) fn live_domain(d: &LiveSagemakerDomain) -> Attrs {
    let mut a = Attrs::default();
    a.set("name", Value::str(&d.name));
    a.set("auth_mode", Value::str(d.auth_mode.to_ascii_uppercase()));
    a.set("vpc", Value::str(&d.vpc_id));
    a.set("kms_key", Value::opt_str(d.kms_key.as_deref()));
    a.set("network_access", Value::str(&d.network_access));
    a.set("subnets", Value::strings(&d.subnet_ids));
    a.set("execution_role", Value::str(&d.execution_role));
    a.set("security_groups", Value::strings(&d.security_group_ids));
    a.set("sharing", live_sharing(d.sharing.as_ref()));
    a.set("tags", tag_map(&d.tags));
    a
}

pub(crate) fn live_user(u: &LiveSagemakerUser) -> Attrs {
    let mut a = Attrs::default();
    a.set("domain", Value::str(&u.domain_id));
    a.set("name", Value::str(&u.name));
    a.set("execution_role", Value::opt_str(u.execution_role.as_deref()));
    a.set("security_groups", Value::strings(&u.security_group_ids));
    a.set("sharing", live_sharing(u.sharing.as_ref()));
    a.set("tags", tag_map(&u.tags));
    a
}

pub(crate) fn live_portfolio(p: &LiveCatalogPortfolio) -> Attrs {
    let mut a = Attrs::default();
    a.set("display_name", Value::str(&p.display_name));
    a.set("provider", Value::str(&p.provider));
    a.set("description", Value::opt_str(p.description.as_deref()));
    a.set("principals", Value::strings(&p.principal_arns));
    a.set("tags", tag_map(&p.tags));
    a
}

pub(crate) fn live_product(p: &LiveCatalogProduct) -> Attrs {
    let mut a = Attrs::default();
    let portfolio = match p.portfolio_ids.as_slice() {
        [] => Value::Null,
        [one] => Value::str(one),
        many => Value::strings(many),
    };
    a.set("portfolio", portfolio);
    a.set("name", Value::str(&p.name));
    a.set("owner", Value::str(&p.owner));
    a.set("description", Value::opt_str(p.description.as_deref()));
    a.set("distributor", Value::opt_str(p.distributor.as_deref()));
    a.set("support_email", Value::opt_str(p.support_email.as_deref()));
    let current = p.versions.iter().rev().find(|v| v.active);
    a.set("template", current.map_or(Value::Null, |v| Value::str(&v.name)));
    if let Some(text) = current.and_then(|v| v.template.clone()) {
        a.texts.insert("template", text);
    }
    a.set("launch_role", Value::opt_str(p.launch_role.as_deref()));
    a.set("tags", tag_map(&p.tags));
    a
}

fn live_fleet(a: &mut Attrs, role: &'static str, fleet: &LiveFleet) {
    let (types, launch, on_demand, spot) = fleet_paths(role);
    a.set(
        types,
        Value::set(fleet.instance_types.iter().map(|t| {
            let ebs = t.ebs.iter().map(|v| volume_text(&v.volume_type, v.size, v.iops, v.throughput)).collect();
            Value::Str(instance_type_text(&t.instance_type, t.weight, t.bid_percent, ebs, t.ebs_optimized))
        })),
    );
    a.set(
        launch,
        launch_text(
            fleet.spot_timeout_minutes,
            fleet.spot_timeout_action.as_deref().map(normalize::kebab),
            fleet.spot_allocation.as_deref().map(normalize::kebab),
            fleet.on_demand_allocation.as_deref().map(normalize::kebab),
        ),
    );
    if let (Some(on_demand), Some(spot)) = (on_demand, spot) {
        a.set(on_demand, Value::Int(fleet.target_on_demand));
        a.set(spot, Value::Int(fleet.target_spot));
    }
}

fn live_configurations(items: &[converge_model::live::LiveConfiguration]) -> serde_json::Value {
    configurations_document(items, |c| (&c.classification, &c.properties, &c.configurations))
}

pub(crate) fn live_emr(c: &LiveEmrCluster) -> Attrs {
    let mut a = Attrs::default();
    a.set("name", Value::str(&c.name));
    a.set("release", Value::str(&c.release));
    a.set("applications", Value::set(c.applications.iter().map(|s| Value::Str(s.to_ascii_lowercase()))));
    a.set("subnets", Value::strings(&c.subnet_ids));
    a.set("service_role", Value::str(c.service_role.rsplit('/').next().unwrap_or(&c.service_role)));
    a.set("instance_profile", Value::str(c.instance_profile.rsplit('/').next().unwrap_or(&c.instance_profile)));
    a.set("master_security_group", Value::opt_str(c.master_security_group.as_deref()));
    a.set("core_security_group", Value::opt_str(c.core_security_group.as_deref()));
    a.set("service_access_security_group", Value::opt_str(c.service_access_security_group.as_deref()));
    a.set("additional_master_security_groups", Value::strings(&c.additional_master_security_groups));
    a.set("additional_core_security_groups", Value::strings(&c.additional_core_security_groups));
    a.set("log_uri", c.log_uri.as_deref().map_or(Value::Null, |u| Value::Str(normalize::s3_uri(u))));
    a.set("key_name", Value::opt_str(c.key_name.as_deref()));
    a.set(
        "bootstrap",
        Value::List(c.bootstrap.iter().map(|b| Value::Str(bootstrap_text(&b.name, &b.path, &b.args))).collect()),
    );
    a.set("configurations", Value::Doc(normalize::json(&live_configurations(&c.configurations))));
    a.set("ebs_root_volume_size", c.ebs_root_volume_size.map_or(Value::Null, Value::Int));
    a.set("termination_protection", Value::Bool(c.termination_protection));
    a.set("auto_termination_idle_seconds", c.auto_termination_idle_seconds.map_or(Value::Null, Value::Int));
    a.set("step_concurrency", Value::Int(c.step_concurrency));
    a.set("visible_to_all_users", Value::Bool(c.visible_to_all_users));
    for (role, fleet_type) in [("master", "MASTER"), ("core", "CORE"), ("task", "TASK")] {
        if let Some(fleet) = c.fleet(fleet_type) {
            live_fleet(&mut a, role, fleet);
        }
    }
    a.set(
        "scaling",
        c.scaling.as_ref().map_or(Value::Null, |s| scaling_value(&s.unit, s.min, s.max, s.max_on_demand, s.max_core)),
    );
    a.set("tags", tag_map(&c.tags));
    a
}
