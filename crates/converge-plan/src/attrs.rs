//! The values the kinds' fields are compared as (`kinds/`), shared by every
//! kind: tags, rules, policy documents, sharing settings, instance types,
//! launch and resize settings, configurations, scaling; canonical, so that
//! equal meaning is equal data on both sides of the diff.

use std::collections::BTreeMap;

use converge_model::live::{LiveConfiguration, LiveFleet, LiveInstanceType, LiveResize, LiveRule, LiveSharing};
use converge_model::{
    Configuration, EbsVolume, FleetRole, ManagedScaling, OnDemandAllocation, ResizeSettings, SharingSettings,
    SpotAllocation, SpotTimeoutAction, Tags,
};
use converge_ops::{Id, InstanceTypeSpec, IpProtocol, Peer, Rule};

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

pub(crate) fn tag_map(tags: &Tags) -> Value {
    Value::Map(user_tags(tags).into_iter().map(|(k, v)| (k, Value::Str(v))).collect())
}

pub(crate) fn doc(text: &str) -> Value {
    normalize::policy(text).map_or_else(|| Value::Text(text.to_owned()), Value::Doc)
}

/// Policy documents already normalised in this plan: both diff passes see the
/// same trust and inline policies, and normalising is the planner's largest cost.
#[derive(Default)]
pub(crate) struct Documents {
    normalised: std::cell::RefCell<BTreeMap<String, Value>>,
}

impl Documents {
    pub(crate) fn doc(&self, text: &str) -> Value {
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
pub(crate) fn sharing(s: Option<&SharingSettings>) -> Value {
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

/// An id as a map key: the id, or `(address, known after apply)`.
pub(crate) fn id_key(id: &Id) -> String {
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

pub(crate) fn desired_type(t: &InstanceTypeSpec) -> Value {
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

pub(crate) fn live_type(t: &LiveInstanceType) -> Value {
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

pub(crate) fn launch_text(
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
pub(crate) fn resize_value(resize: &ResizeSettings) -> Value {
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

pub(crate) fn scaling_value(s: &ManagedScaling) -> Value {
    Value::Map(BTreeMap::from([
        ("unit".to_owned(), Value::str(s.unit.aws())),
        ("min".to_owned(), Value::Int(s.min)),
        ("max".to_owned(), Value::Int(s.max)),
        ("max_on_demand".to_owned(), Value::Int(s.max_on_demand.unwrap_or(s.max))),
        ("max_core".to_owned(), Value::Int(s.max_core.unwrap_or(s.max))),
    ]))
}

pub(crate) fn bootstrap_text(name: &str, path: &str, args: &[String]) -> String {
    if args.is_empty() { format!("{name}: {path}") } else { format!("{name}: {path} {}", args.join(" ")) }
}

/// The field path of a fleet's part: `task.spot`.
pub(crate) const fn fleet_path(role: FleetRole, part: FleetPart) -> &'static str {
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

// ---- live side -------------------------------------------------------------

pub(crate) fn live_sharing(s: Option<&LiveSharing>) -> Value {
    s.map_or(Value::Null, |s| sharing_value(&s.notebook_output, s.s3_output_path.as_deref(), s.s3_kms_key.as_deref()))
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
