//! Both sides of the diff as canonical values: the desired resources
//! (`desired.rs`) and what AWS holds, field by field, so that equal meaning is
//! equal data.

use std::collections::BTreeMap;

use converge_model::live::{
    LiveCatalogPortfolio, LiveCatalogProduct, LiveConfiguration, LiveEmrCluster, LiveFleet, LiveIamRole,
    LiveInstanceType, LiveResize, LiveRule, LiveSagemakerDomain, LiveSagemakerUser, LiveSecurityGroup, LiveSharing,
    LiveSubnet,
};
use converge_model::{
    Configuration, EbsVolume, FleetRole, ManagedScaling, OnDemandAllocation, ResizeSettings, SharingSettings,
    SpotAllocation, SpotTimeoutAction, Tags,
};
use converge_ops::{FleetConfig, Id, InstanceTypeSpec, IpProtocol, Peer, Rule, UserSettings};

use crate::desired::{Desired, DesiredCluster};
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
    pub(crate) fn set(&mut self, path: &'static str, value: Value) {
        self.values.insert(path, value);
    }

    pub(crate) fn get(&self, path: &str) -> &Value {
        self.values.get(path).unwrap_or(&Value::Null)
    }
}

/// User tags only: converge's ownership tags and AWS's own are not compared.
pub(crate) fn user_tags(tags: &Tags) -> Tags {
    tags.iter()
        .filter(|(k, _)| !k.starts_with("converge:") && !k.starts_with("aws:"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn tag_map(tags: &Tags) -> Value {
    Value::Map(user_tags(tags).into_iter().map(|(k, v)| (k, Value::Str(v))).collect())
}

fn doc(text: &str) -> Value {
    normalize::policy(text).map_or_else(|| Value::Text(text.to_owned()), Value::Doc)
}

/// Policy documents already normalised in this plan: both diff passes see the
/// same trust and inline policies, and normalising is the planner's largest cost.
#[derive(Default)]
pub(crate) struct Documents {
    normalised: std::cell::RefCell<BTreeMap<String, Value>>,
}

impl Documents {
    fn doc(&self, text: &str) -> Value {
        if let Some(value) = self.normalised.borrow().get(text) {
            return value.clone();
        }
        let value = doc(text);
        self.normalised.borrow_mut().insert(text.to_owned(), value.clone());
        value
    }
}

// ---- rules ------------------------------------------------------------------

pub(crate) fn live_rules(rules: &[LiveRule]) -> Vec<Rule> {
    let mut out: Vec<Rule> = rules.iter().filter_map(Rule::from_live).collect();
    out.sort();
    out
}

fn traffic_key(rule: &Rule) -> String {
    let range = |from: Option<i64>, to: Option<i64>| match (from, to) {
        (Some(from), Some(to)) if from == to => from.to_string(),
        (Some(from), Some(to)) => format!("{from}-{to}"),
        _ => "all".to_owned(),
    };
    match rule.protocol {
        IpProtocol::All => "all all".to_owned(),
        IpProtocol::Tcp => format!("tcp {}", range(rule.from_port, rule.to_port)),
        IpProtocol::Udp => format!("udp {}", range(rule.from_port, rule.to_port)),
        IpProtocol::Icmp => match (rule.from_port.filter(|t| *t >= 0), rule.to_port.filter(|c| *c >= 0)) {
            (None, _) => "icmp all".to_owned(),
            (Some(t), None) => format!("icmp type {t}"),
            (Some(t), Some(c)) => format!("icmp type {t} code {c}"),
        },
        IpProtocol::Number(n) => format!("protocol-{n} {}", range(rule.from_port, rule.to_port)),
    }
}

fn peer_key(peer: &Peer, own: &Id) -> String {
    match peer {
        Peer::Cidr(cidr) | Peer::PrefixList(cidr) => cidr.clone(),
        Peer::Group(id) if id == own => converge_model::SELF_PEER.to_owned(),
        Peer::Group(Id::Known(id)) => id.clone(),
        Peer::Group(Id::Output { address, .. }) => format!("({address}, known after apply)"),
    }
}

/// A rule's identity as text: `tcp 443 sg-…`, `all all self`.
pub(crate) fn rule_key(rule: &Rule, own: &Id) -> String {
    format!("{} {}", traffic_key(rule), peer_key(&rule.peer, own))
}

/// Rules keyed by identity, valued by description.
pub(crate) fn rules_value(rules: &[Rule], own: &Id) -> Value {
    Value::Map(rules.iter().map(|r| (rule_key(r, own), Value::opt_str(r.description.as_deref()))).collect())
}

// ---- desired side -------------------------------------------------------------

/// Notebook sharing. None written is `Disabled` (what a new domain has, and
/// what converge sends to turn it off); once disabled, an output path and key
/// AWS may keep are of no consequence: `Disabled` is `Null`, however reached.
fn sharing(s: Option<&SharingSettings>) -> Value {
    s.map_or(Value::Null, |s| {
        sharing_value(s.notebook_output.aws(), s.s3_output_path.as_deref(), s.s3_kms_key.as_deref())
    })
}

fn sharing_value(output: &str, path: Option<&str>, key: Option<&str>) -> Value {
    if output == "Disabled" {
        return Value::Null;
    }
    Value::Map(BTreeMap::from([
        ("notebook_output".to_owned(), Value::str(output)),
        ("s3_output_path".to_owned(), Value::opt_str(path)),
        ("s3_kms_key".to_owned(), Value::opt_str(key)),
    ]))
}

fn settings(a: &mut Attrs, s: &UserSettings) {
    a.set("execution_role", Value::opt_str(s.execution_role.as_deref()));
    a.set("security_groups", Value::ids(&s.security_groups));
    a.set("sharing", sharing(s.sharing.as_ref()));
}

/// The values of a desired resource. `own` is the resource's id (for `self` rules).
pub(crate) fn desired(d: &Desired, own: &Id, documents: &Documents) -> Attrs {
    let mut a = Attrs::default();
    match d {
        Desired::Subnet(s) => {
            a.set("vpc", Value::id(&s.vpc));
            a.set("cidr", Value::str(&s.cidr));
            a.set("availability_zone", Value::str(&s.availability_zone));
            a.set("tags", tag_map(&s.tags));
        }
        Desired::Group(g) => {
            a.set("vpc", Value::id(&g.vpc));
            a.set("name", Value::str(&g.name));
            a.set("description", Value::str(&g.description));
            a.set("ingress", rules_value(&g.ingress, own));
            a.set("egress", rules_value(&g.egress, own));
            a.set("tags", tag_map(&g.tags));
        }
        Desired::Role(role) => {
            a.set("name", Value::str(&role.name));
            a.set("path", Value::str(&role.path));
            a.set("description", Value::opt_str(role.description.as_deref()));
            a.set("trust", documents.doc(&role.trust_policy));
            a.set("managed_policies", Value::strings(&role.managed_policies));
            a.set(
                "inline_policies",
                Value::Map(role.inline_policies.iter().map(|(k, d)| (k.clone(), documents.doc(d))).collect()),
            );
            a.set("instance_profile", Value::Bool(role.instance_profile));
            a.set("max_session_duration", Value::Int(role.max_session_duration));
            a.set("tags", tag_map(&role.tags));
        }
        Desired::Domain(d) => {
            a.set("name", Value::str(&d.name));
            a.set("auth_mode", Value::str(d.auth_mode.aws()));
            a.set("vpc", Value::id(&d.vpc));
            a.set("kms_key", Value::opt_str(d.kms_key.as_deref()));
            a.set("network_access", Value::str(d.network_access.aws()));
            a.set("subnets", Value::ids(&d.subnets));
            settings(&mut a, &d.settings);
            a.set("home_efs_on_delete", Value::str(d.home_efs_on_delete.aws()));
            a.set("tags", tag_map(&d.tags));
        }
        Desired::User(u) => {
            a.set("domain", Value::id(&u.domain));
            a.set("name", Value::str(&u.name));
            settings(&mut a, &u.settings);
            a.set("sso_user_name", Value::opt_str(u.sso_user_name.as_deref()));
            a.set("tags", tag_map(&u.tags));
        }
        Desired::Portfolio(p) => {
            a.set("display_name", Value::str(&p.display_name));
            a.set("provider", Value::str(&p.provider));
            a.set("description", Value::opt_str(p.description.as_deref()));
            a.set("principals", Value::strings(&p.principals));
            a.set("tags", tag_map(&p.tags));
        }
        Desired::Product(p) => {
            a.set("portfolio", Value::id(&p.portfolio));
            a.set("name", Value::str(&p.name));
            a.set("owner", Value::str(&p.owner));
            a.set("description", Value::opt_str(p.description.as_deref()));
            a.set("distributor", Value::opt_str(p.distributor.as_deref()));
            a.set("support_email", Value::opt_str(p.support_email.as_deref()));
            a.set("template", Value::str(&p.version.name));
            a.texts.insert("template", p.template.clone());
            let constraints = p.launch_role.iter().map(|role| (id_key(&p.portfolio), Value::str(role))).collect();
            a.set("launch_role", Value::Map(constraints));
            a.set("tags", tag_map(&p.tags));
        }
        Desired::Cluster(c) => cluster(&mut a, c),
    }
    a
}

/// An id as a map key: the id, or `(address, known after apply)`.
fn id_key(id: &Id) -> String {
    match id {
        Id::Known(id) => id.clone(),
        Id::Output { address, .. } => format!("({address}, known after apply)"),
    }
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
    // EMR reports EBS-optimized-by-default types as optimized whether or not
    // the request said so: unset means AWS's default, and only an explicit
    // `false` is a setting of its own.
    if optimized == Some(false) {
        text.push_str(" not-ebs-optimized");
    }
    text
}

fn desired_type(t: &InstanceTypeSpec) -> Value {
    let ebs = t
        .ebs
        .iter()
        .flat_map(|v: &EbsVolume| {
            std::iter::repeat_n(
                volume_text(&v.volume_type, v.size, v.iops, v.throughput),
                usize::try_from(v.count.clamp(0, 64)).unwrap_or(0),
            )
        })
        .collect();
    Value::Str(instance_type_text(&t.instance_type, t.weight, t.bid_percent, ebs, t.ebs_optimized))
}

fn live_type(t: &LiveInstanceType) -> Value {
    let ebs = t.ebs.iter().map(|v| volume_text(&v.volume_type, v.size, v.iops, v.throughput)).collect();
    Value::Str(instance_type_text(&t.instance_type, t.weight, t.bid_percent, ebs, t.ebs_optimized))
}

/// A live instance type whose EBS volumes are AWS's to choose: EMR gives
/// EBS-only types default volumes when the request names none (EMR Management
/// Guide, "Default Amazon EBS storage for instances"), whether or not it lists them.
pub(crate) fn live_type_default_ebs(t: &LiveInstanceType) -> Value {
    Value::Str(instance_type_text(&t.instance_type, t.weight, t.bid_percent, Vec::new(), t.ebs_optimized))
}

/// The instance types of a live fleet, those in `default_ebs` compared without their volumes.
pub(crate) fn live_types(fleet: &LiveFleet, default_ebs: &[&str]) -> Value {
    Value::set(
        fleet.instance_types.iter().map(|t| {
            if default_ebs.contains(&t.instance_type.as_str()) { live_type_default_ebs(t) } else { live_type(t) }
        }),
    )
}

fn launch_text(
    timeout: Option<(i64, SpotTimeoutAction)>,
    spot: Option<SpotAllocation>,
    on_demand: Option<OnDemandAllocation>,
) -> Value {
    let mut parts = Vec::new();
    if let Some((minutes, action)) = timeout {
        parts.push(format!("spot timeout {minutes} min then {}", action.spec()));
    }
    if let Some(spot) = spot {
        parts.push(format!("spot allocation {}", spot.spec()));
    }
    // `lowest-price` is EMR's default On-Demand strategy: written or not, it is the same.
    if let Some(on_demand) = on_demand.filter(|s| *s != OnDemandAllocation::LowestPrice) {
        parts.push(format!("on-demand allocation {}", on_demand.spec()));
    }
    if parts.is_empty() { Value::Null } else { Value::Str(parts.join("; ")) }
}

/// Resize settings as a map of the keys set (`Null` for none); the desired
/// side names only what the spec writes.
fn resize_value(resize: &ResizeSettings) -> Value {
    if *resize == ResizeSettings::default() {
        return Value::Null;
    }
    let mut map = BTreeMap::new();
    if let Some(minutes) = resize.spot_timeout_minutes {
        map.insert("spot_timeout_minutes".to_owned(), Value::Int(minutes));
    }
    if let Some(strategy) = resize.spot_allocation {
        map.insert("spot_allocation".to_owned(), Value::str(strategy.spec()));
    }
    if let Some(minutes) = resize.on_demand_timeout_minutes {
        map.insert("on_demand_timeout_minutes".to_owned(), Value::Int(minutes));
    }
    if let Some(strategy) = resize.on_demand_allocation {
        map.insert("on_demand_allocation".to_owned(), Value::str(strategy.spec()));
    }
    Value::Map(map)
}

/// EMR configurations as one canonical JSON document (sorted by
/// classification); none at all is `Null`, as an absent fleet's are.
pub(crate) fn configurations_value(configurations: &[Configuration]) -> Value {
    if configurations.is_empty() {
        return Value::Null;
    }
    fn document(items: &[Configuration]) -> serde_json::Value {
        let mut out: Vec<serde_json::Value> = items
            .iter()
            .map(|c| {
                serde_json::json!({
                    "classification": c.classification,
                    "properties": c.properties,
                    "configurations": document(&c.configurations),
                })
            })
            .collect();
        out.sort_by_key(|item| item["classification"].as_str().unwrap_or_default().to_owned());
        serde_json::Value::Array(out)
    }
    Value::Doc(normalize::json(&document(configurations)))
}

/// The live configurations in the spec's type.
pub(crate) fn configurations(items: &[LiveConfiguration]) -> Vec<Configuration> {
    items
        .iter()
        .map(|c| Configuration {
            classification: c.classification.clone(),
            properties: c.properties.clone(),
            configurations: configurations(&c.configurations),
        })
        .collect()
}

fn scaling_value(s: &ManagedScaling) -> Value {
    Value::Map(BTreeMap::from([
        ("unit".to_owned(), Value::str(s.unit.aws())),
        ("min".to_owned(), Value::Int(s.min)),
        ("max".to_owned(), Value::Int(s.max)),
        ("max_on_demand".to_owned(), Value::Int(s.max_on_demand.unwrap_or(s.max))),
        ("max_core".to_owned(), Value::Int(s.max_core.unwrap_or(s.max))),
    ]))
}

fn bootstrap_text(name: &str, path: &str, args: &[String]) -> String {
    if args.is_empty() { format!("{name}: {path}") } else { format!("{name}: {path} {}", args.join(" ")) }
}

/// The field path of a fleet's part: `task.spot`.
pub(crate) fn fleet_path(role: FleetRole, part: FleetPart) -> &'static str {
    use FleetPart::*;
    use FleetRole::*;
    match (role, part) {
        (Master, Name) => "master.name",
        (Master, Market | OnDemand | Spot) => "master.market",
        (Master, InstanceTypes) => "master.instance_types",
        (Master, Launch) => "master.launch",
        (Master, Configurations) => "master.configurations",
        (Master, Resize) => "master.resize",
        (Core, Name) => "core.name",
        (Core, Market) => "core.market",
        (Core, InstanceTypes) => "core.instance_types",
        (Core, Launch) => "core.launch",
        (Core, OnDemand) => "core.on_demand",
        (Core, Spot) => "core.spot",
        (Core, Configurations) => "core.configurations",
        (Core, Resize) => "core.resize",
        (Task, Name) => "task.name",
        (Task, Market) => "task.market",
        (Task, InstanceTypes) => "task.instance_types",
        (Task, Launch) => "task.launch",
        (Task, OnDemand) => "task.on_demand",
        (Task, Spot) => "task.spot",
        (Task, Configurations) => "task.configurations",
        (Task, Resize) => "task.resize",
    }
}

/// The parts of a fleet that are fields of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FleetPart {
    Name,
    Market,
    InstanceTypes,
    Launch,
    OnDemand,
    Spot,
    Configurations,
    Resize,
}

impl FleetPart {
    /// Every part of a core or task fleet (the master has a market, not capacities or resizes).
    pub(crate) const RESIZABLE: [FleetPart; 7] = [
        FleetPart::Name,
        FleetPart::InstanceTypes,
        FleetPart::Launch,
        FleetPart::OnDemand,
        FleetPart::Spot,
        FleetPart::Configurations,
        FleetPart::Resize,
    ];
}

fn desired_fleet(a: &mut Attrs, fleet: &FleetConfig) {
    let role = fleet.role;
    let path = |part| fleet_path(role, part);
    a.set(path(FleetPart::Name), Value::opt_str(fleet.name.as_deref()));
    a.set(path(FleetPart::InstanceTypes), Value::set(fleet.instance_types.iter().map(desired_type)));
    a.set(
        path(FleetPart::Launch),
        launch_text(
            fleet.spot_timeout.map(|t| (t.minutes, t.action)),
            fleet.spot_allocation,
            fleet.on_demand_allocation,
        ),
    );
    let configurations = fleet.instance_types.first().map(|t| t.configurations.as_slice()).unwrap_or_default();
    a.set(path(FleetPart::Configurations), configurations_value(configurations));
    if role == FleetRole::Master {
        a.set(path(FleetPart::Market), Value::str(if fleet.on_demand > 0 { "on-demand" } else { "spot" }));
    } else {
        a.set(path(FleetPart::OnDemand), Value::Int(fleet.on_demand));
        a.set(path(FleetPart::Spot), Value::Int(fleet.spot));
        a.set(path(FleetPart::Resize), fleet.resize.as_ref().map_or(Value::Null, resize_value));
    }
}

fn cluster(a: &mut Attrs, c: &DesiredCluster) {
    let run = &c.run;
    a.set("name", Value::str(&run.name));
    a.set("release", Value::str(&run.release));
    a.set("applications", Value::set(run.applications.iter().map(|s| Value::Str(s.to_ascii_lowercase()))));
    a.set("subnets", Value::ids(&run.subnets));
    a.set("service_role", Value::str(&run.service_role));
    a.set("instance_profile", Value::str(&run.instance_profile));
    let group = |g: &Option<Id>| g.as_ref().map_or(Value::Null, Value::id);
    a.set("master_security_group", group(&run.master_security_group));
    a.set("core_security_group", group(&run.core_security_group));
    a.set("service_access_security_group", group(&run.service_access_security_group));
    a.set("additional_master_security_groups", Value::ids(&run.additional_master_security_groups));
    a.set("additional_core_security_groups", Value::ids(&run.additional_core_security_groups));
    a.set("log_uri", run.log_uri.as_deref().map_or(Value::Null, |u| Value::Str(normalize::s3_uri(u))));
    a.set("key_name", Value::opt_str(run.key_name.as_deref()));
    a.set(
        "bootstrap",
        Value::List(run.bootstrap.iter().map(|b| Value::Str(bootstrap_text(&b.name, &b.path, &b.args))).collect()),
    );
    a.set("configurations", configurations_value(&run.configurations));
    a.set("ebs_root_volume_size", run.ebs_root_volume_size.map_or(Value::Null, Value::Int));
    a.set("termination_protection", Value::Bool(run.termination_protected));
    a.set("auto_termination_idle_seconds", run.auto_termination_idle_seconds.map_or(Value::Null, Value::Int));
    a.set("step_concurrency", Value::Int(run.step_concurrency));
    for fleet in &run.fleets {
        desired_fleet(a, fleet);
    }
    a.set("scaling", run.scaling.as_ref().map_or(Value::Null, scaling_value));
    a.set("tags", tag_map(&run.tags));
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

pub(crate) fn live_security_group(g: &LiveSecurityGroup) -> Attrs {
    let own = Id::known(&g.id);
    let mut a = Attrs::default();
    a.set("vpc", Value::str(&g.vpc_id));
    a.set("name", Value::str(&g.name));
    a.set("description", Value::str(&g.description));
    a.set("ingress", rules_value(&live_rules(&g.ingress), &own));
    a.set("egress", rules_value(&live_rules(&g.egress), &own));
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
    s.map_or(Value::Null, |s| sharing_value(&s.notebook_output, s.s3_output_path.as_deref(), s.s3_kms_key.as_deref()))
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
    a.set("home_efs_on_delete", Value::str(if d.retains_home_efs() { "Retain" } else { "Delete" }));
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
    a.set("sso_user_name", Value::opt_str(u.sso_user_name.as_deref()));
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
    // One active version is the template; several are a change (the older ones
    // are deactivated). A version converge made is named after its template's
    // content; one made by hand is known by the content read back, when it was.
    let active: Vec<String> = p
        .versions
        .iter()
        .filter(|v| v.active)
        .map(|v| match &v.template {
            Some(text) if !v.name.starts_with("sha256:") => crate::desired::template_version(text),
            _ => v.name.clone(),
        })
        .collect();
    let template = match active.as_slice() {
        [] => Value::Null,
        [one] => Value::str(one),
        many => Value::strings(many),
    };
    a.set("template", template);
    if let Some(text) = p.current_version().and_then(|v| v.template.clone()) {
        a.texts.insert("template", text);
    }
    let constraints = p.launch_constraints.iter().map(|c| (c.portfolio_id.clone(), Value::str(&c.role_arn))).collect();
    a.set("launch_role", Value::Map(constraints));
    a.set("tags", tag_map(&p.tags));
    a
}

/// The configurations of a live fleet: those of its instance types when they
/// agree (converge writes the same to each), else a text that matches nothing.
pub(crate) fn live_fleet_configurations(fleet: &LiveFleet) -> Value {
    let mut per_type = fleet.instance_types.iter().map(|t| configurations_value(&configurations(&t.configurations)));
    let Some(first) = per_type.next() else { return configurations_value(&[]) };
    if per_type.all(|other| other == first) {
        first
    } else {
        Value::Text("instance types with different configurations".to_owned())
    }
}

pub(crate) fn live_resize(resize: Option<&LiveResize>) -> ResizeSettings {
    let resize = resize.cloned().unwrap_or_default();
    ResizeSettings {
        spot_timeout_minutes: resize.spot_timeout_minutes,
        spot_allocation: resize.spot_allocation.as_deref().and_then(SpotAllocation::from_aws),
        on_demand_timeout_minutes: resize.on_demand_timeout_minutes,
        on_demand_allocation: resize.on_demand_allocation.as_deref().and_then(OnDemandAllocation::from_aws),
    }
}

fn live_fleet(a: &mut Attrs, fleet: &LiveFleet) {
    let role = fleet.role;
    let path = |part| fleet_path(role, part);
    a.set(path(FleetPart::Name), Value::opt_str(fleet.name.as_deref()));
    a.set(path(FleetPart::InstanceTypes), Value::set(fleet.instance_types.iter().map(live_type)));
    let timeout =
        fleet.spot_timeout_minutes.zip(fleet.spot_timeout_action.as_deref().and_then(SpotTimeoutAction::from_aws));
    a.set(
        path(FleetPart::Launch),
        launch_text(
            timeout,
            fleet.spot_allocation.as_deref().and_then(SpotAllocation::from_aws),
            fleet.on_demand_allocation.as_deref().and_then(OnDemandAllocation::from_aws),
        ),
    );
    a.set(path(FleetPart::Configurations), live_fleet_configurations(fleet));
    if role == FleetRole::Master {
        a.set(path(FleetPart::Market), Value::str(if fleet.target_on_demand > 0 { "on-demand" } else { "spot" }));
    } else {
        a.set(path(FleetPart::OnDemand), Value::Int(fleet.target_on_demand));
        a.set(path(FleetPart::Spot), Value::Int(fleet.target_spot));
        a.set(path(FleetPart::Resize), resize_value(&live_resize(fleet.resize.as_ref())));
    }
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
    a.set("configurations", configurations_value(&configurations(&c.configurations)));
    a.set("ebs_root_volume_size", c.ebs_root_volume_size.map_or(Value::Null, Value::Int));
    a.set("termination_protection", Value::Bool(c.termination_protection));
    a.set("auto_termination_idle_seconds", c.auto_termination_idle_seconds.map_or(Value::Null, Value::Int));
    a.set("step_concurrency", Value::Int(c.step_concurrency));
    for fleet in &c.fleets {
        live_fleet(&mut a, fleet);
    }
    let scaling = c.scaling.as_ref().and_then(|s| {
        Some(ManagedScaling {
            unit: converge_model::ScalingUnit::from_aws(&s.unit)?,
            min: s.min,
            max: s.max,
            max_on_demand: s.max_on_demand,
            max_core: s.max_core,
        })
    });
    a.set(
        "scaling",
        match (&c.scaling, scaling) {
            (_, Some(scaling)) => scaling_value(&scaling),
            (Some(s), None) => Value::Str(format!("unit {}", s.unit)),
            (None, None) => Value::Null,
        },
    );
    a.set("tags", tag_map(&c.tags));
    a
}
