//! EMR with instance fleets: clusters and their state machine, fleets that
//! resize, managed scaling and auto-termination policies, protection, tags.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::context::Ctx;
use crate::error::ApiError;
use crate::json::{
    EMR_PAGES, array, bool_of, int_of, paged, required, str_of, strings, tags_json, tags_of, validation,
};
use crate::state::emr::{Cluster, Fleet};
use crate::state::{Rule, Timeline, World};

/// Typical AWS durations, in seconds, before scaling.
const STARTING: f64 = 300.0;
const BOOTSTRAPPING: f64 = 180.0;
const TERMINATING: f64 = 90.0;
const RESIZING: f64 = 120.0;

const LIVE: [&str; 4] = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"];
/// Seconds of AWS time before a cluster EMR refuses after starting it fails.
const VALIDATING: f64 = 60.0;
/// Seconds of AWS time before EMR puts back a rule removed from a managed group
/// ("only for the EMR service to re-add them in a matter of minutes":
/// terraform-provider-aws `website/docs/r/emr_cluster.html.markdown`).
const READD: f64 = 120.0;
/// Seconds of AWS time a fleet spends RECONFIGURING.
const RECONFIGURING: f64 = 60.0;

/// `emr-6.15.0` → `(6, 15, 0)`.
fn release_version(release: &str) -> Option<(u32, u32, u32)> {
    let mut parts = release.strip_prefix("emr-")?.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next().flatten().unwrap_or(0)))
}

/// Auto-termination exists from EMR 5.30.0 and 6.1.0 (EMR API reference, `PutAutoTerminationPolicy`).
fn has_auto_termination(release: &str) -> bool {
    release_version(release).is_some_and(|v| v >= (6, 1, 0) || ((5, 30, 0)..(6, 0, 0)).contains(&v))
}

/// The root volume's IOPS and throughput can be set from EMR 6.15.0 (botocore
/// `emr RunJobFlowInput.EbsRootVolumeIops`: "Available in Amazon EMR releases 6.15.0 and later").
fn has_root_volume_performance(release: &str) -> bool {
    release_version(release).is_some_and(|v| v >= (6, 15, 0))
}

/// Per-fleet configurations (reconfiguration) exist from EMR 5.21.0 (EMR Management Guide,
/// "Reconfigure an instance fleet in a running cluster").
fn has_reconfiguration(release: &str) -> bool {
    release_version(release).is_some_and(|v| v >= (5, 21, 0))
}

fn no_auto_termination() -> ApiError {
    validation("Auto-termination is not available for this account when using this release of EMR")
}

impl Cluster {
    pub(crate) fn state(&self, now_ms: u64) -> &str {
        self.timeline.at(now_ms)
    }

    pub(crate) fn is_live(&self, now_ms: u64) -> bool {
        LIVE.contains(&self.state(now_ms)) || self.state(now_ms) == "TERMINATING"
    }

    /// The security groups the cluster's instances use.
    pub(crate) fn groups(&self) -> impl Iterator<Item = &String> {
        self.master_group
            .iter()
            .chain(&self.slave_group)
            .chain(&self.service_access_group)
            .chain(&self.additional_master_groups)
            .chain(&self.additional_slave_groups)
    }
}

fn invalid_request(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidRequestException", message)
}

fn cluster<'w>(world: &'w World, id: &str) -> Result<&'w Cluster, ApiError> {
    world.emr.clusters.get(id).ok_or_else(|| invalid_request(format!("Cluster id '{id}' is not valid.")))
}

fn cluster_mut<'w>(world: &'w mut World, id: &str) -> Result<&'w mut Cluster, ApiError> {
    world.emr.clusters.get_mut(id).ok_or_else(|| invalid_request(format!("Cluster id '{id}' is not valid.")))
}

fn has_allocation_strategy(launch: Option<&Value>) -> bool {
    launch.is_some_and(|l| {
        l.pointer("/SpotSpecification/AllocationStrategy").is_some()
            || l.pointer("/OnDemandSpecification/AllocationStrategy").is_some()
    })
}

/// Validates one `InstanceFleetConfig` the way RunJobFlow and AddInstanceFleet do.
fn check_fleet(config: &Value) -> Result<(), ApiError> {
    let fleet_type = required(config, "InstanceFleetType")?;
    let types = array(config, "InstanceTypeConfigs");
    let limit = if has_allocation_strategy(config.get("LaunchSpecifications")) { 30 } else { 5 };
    if types.is_empty() || types.len() > limit {
        return Err(validation(format!(
            "The {fleet_type} instance fleet has {} instance types; it needs 1 to {limit}{}.",
            types.len(),
            if limit == 5 { " (up to 30 with an allocation strategy)" } else { "" }
        )));
    }
    for t in types {
        let weight = int_of(t, "WeightedCapacity").unwrap_or(1);
        if weight < 1 || (fleet_type == "MASTER" && weight != 1) {
            return Err(validation(format!(
                "Invalid weighted capacity {weight} for {} in the {fleet_type} fleet.",
                str_of(t, "InstanceType").unwrap_or("?")
            )));
        }
    }
    let (od, spot) =
        (int_of(config, "TargetOnDemandCapacity").unwrap_or(0), int_of(config, "TargetSpotCapacity").unwrap_or(0));
    if fleet_type == "MASTER" && od + spot != 1 {
        return Err(validation("The master instance fleet must have a target capacity of exactly 1."));
    }
    if od < 0 || spot < 0 {
        return Err(validation("Target capacities must not be negative."));
    }
    // botocore `InstanceFleetConfig.TargetOnDemandCapacity`: "At least one of
    // TargetSpotCapacity and TargetOnDemandCapacity should be greater than 0."
    if od + spot == 0 {
        return Err(validation(format!(
            "The {fleet_type} instance fleet: at least one of TargetSpotCapacity and TargetOnDemandCapacity should be greater than 0."
        )));
    }
    if let Some(minutes) =
        config.pointer("/LaunchSpecifications/SpotSpecification/TimeoutDurationMinutes").and_then(Value::as_i64)
        && !(5..=1440).contains(&minutes)
    {
        return Err(validation(format!("TimeoutDurationMinutes {minutes} is out of range 5-1440.")));
    }
    Ok(())
}

/// The EBS volumes EMR gives an instance of an EBS-only type when the request
/// names none (EMR 5.22.0 and later; EMR Management Guide, "Default Amazon EBS
/// storage for instances"): by size, how many volumes of how many GiB. The
/// volume type the guide leaves open ("gp2 or gp3"); the sandbox says gp2.
/// converge reads the same table (`converge_model::emr`); the sandbox keeps its own
/// copy on purpose, since it shares no code with what it tests.
fn default_volumes(instance_type: &str, release: &str) -> Option<(i64, i64)> {
    let (family, size) = instance_type.split_once('.')?;
    // Families with instance store (EC2 User Guide, "Instance store volumes"): a `d` after the
    // generation (m5d, r6gd, m5dn) and the storage families (i3, d3, h1, x1…).
    let after_generation =
        family.trim_start_matches(|c: char| c.is_ascii_alphabetic()).trim_start_matches(|c: char| c.is_ascii_digit());
    let instance_store = after_generation.contains('d')
        || family.starts_with('i')
        || family.starts_with('d')
        || family.starts_with("h1")
        || family.starts_with("x1");
    if instance_store || release_version(release).is_none_or(|v| v < (5, 22, 0)) {
        return None;
    }
    Some(match size {
        "large" => (1, 32),
        "xlarge" => (2, 32),
        "2xlarge" => (4, 32),
        "4xlarge" => (4, 64),
        "8xlarge" => (4, 128),
        "9xlarge" => (4, 144),
        "10xlarge" => (4, 160),
        "12xlarge" => (4, 192),
        "16xlarge" => (4, 256),
        "18xlarge" => (4, 288),
        "24xlarge" => (4, 384),
        _ => return None,
    })
}

/// An instance type as EMR keeps it: with its default volumes when it asked for none.
fn with_default_volumes(config: &Value, release: &str) -> Value {
    let mut config = config.clone();
    if config.get("EbsConfiguration").is_none()
        && let Some((count, size)) = str_of(&config, "InstanceType").and_then(|t| default_volumes(t, release))
    {
        config["EbsConfiguration"] = json!({
            "EbsBlockDeviceConfigs": [{ "VolumeSpecification": { "VolumeType": "gp2", "SizeInGB": size }, "VolumesPerInstance": count }],
        });
    }
    config
}

fn new_fleet(world: &mut World, config: &Value, timeline: Timeline, release: &str) -> Fleet {
    Fleet {
        id: format!("if-{}", world.id("x")[2..].chars().take(13).collect::<String>().to_ascii_uppercase()),
        name: str_of(config, "Name").map(str::to_owned),
        fleet_type: str_of(config, "InstanceFleetType").unwrap_or("TASK").to_owned(),
        target_on_demand: int_of(config, "TargetOnDemandCapacity").unwrap_or(0),
        target_spot: int_of(config, "TargetSpotCapacity").unwrap_or(0),
        previous: (0, 0),
        instance_types: Value::Array(
            array(config, "InstanceTypeConfigs").iter().map(|t| with_default_volumes(t, release)).collect(),
        ),
        launch: config.get("LaunchSpecifications").cloned(),
        resize: config.get("ResizeSpecifications").cloned(),
        timeline,
    }
}

fn check_scaling(policy: &Value) -> Result<(), ApiError> {
    let limits = policy.get("ComputeLimits").ok_or_else(|| validation("ManagedScalingPolicy needs ComputeLimits"))?;
    let unit = required(limits, "UnitType")?;
    if unit != "InstanceFleetUnits" {
        return Err(validation(format!(
            "UnitType {unit} is not valid for an instance fleet cluster; use InstanceFleetUnits."
        )));
    }
    let (min, max) =
        (int_of(limits, "MinimumCapacityUnits").unwrap_or(0), int_of(limits, "MaximumCapacityUnits").unwrap_or(0));
    if min > max {
        return Err(validation(format!("MinimumCapacityUnits {min} is greater than MaximumCapacityUnits {max}.")));
    }
    Ok(())
}

fn check_idle_timeout(policy: &Value) -> Result<i64, ApiError> {
    let seconds = int_of(policy, "IdleTimeout").unwrap_or(3600);
    if !(60..=604_800).contains(&seconds) {
        return Err(validation(format!("IdleTimeout {seconds} is out of range 60-604800.")));
    }
    Ok(seconds)
}

fn run_job_flow(world: &mut World, ctx: &Ctx<'_>, input: &Value, propagation: f64) -> Result<Value, ApiError> {
    let name = required(input, "Name")?.to_owned();
    let release = required(input, "ReleaseLabel")?.to_owned();
    let instances = input.get("Instances").ok_or_else(|| validation("Instances is required"))?;
    let fleets = array(instances, "InstanceFleets");
    if fleets.is_empty() {
        return Err(validation("The sandbox emulates instance-fleet clusters: give Instances.InstanceFleets."));
    }
    for fleet_type in ["MASTER", "CORE", "TASK"] {
        let count = fleets.iter().filter(|f| str_of(f, "InstanceFleetType") == Some(fleet_type)).count();
        if (fleet_type == "MASTER" && count != 1) || count > 1 {
            return Err(validation(format!(
                "A cluster needs exactly one MASTER fleet and at most one {fleet_type} fleet."
            )));
        }
    }
    for fleet in fleets {
        check_fleet(fleet)?;
    }
    // Subnets and groups must exist; all subnets in one VPC.
    let subnets = strings(instances, "Ec2SubnetIds");
    let mut vpcs = Vec::new();
    for id in &subnets {
        let subnet =
            world.ec2.subnets.get(id).ok_or_else(|| validation(format!("The subnet ID '{id}' does not exist.")))?;
        vpcs.push(subnet.vpc_id.clone());
    }
    vpcs.dedup();
    if vpcs.len() > 1 {
        return Err(validation("All subnets of an instance fleet cluster must be in the same VPC."));
    }
    let group_fields = ["EmrManagedMasterSecurityGroup", "EmrManagedSlaveSecurityGroup", "ServiceAccessSecurityGroup"];
    let mut groups: Vec<String> = group_fields.iter().filter_map(|f| str_of(instances, f).map(str::to_owned)).collect();
    groups.extend(strings(instances, "AdditionalMasterSecurityGroups"));
    groups.extend(strings(instances, "AdditionalSlaveSecurityGroups"));
    for id in &groups {
        if !world.ec2.groups.contains_key(id) {
            return Err(validation(format!("The security group '{id}' does not exist.")));
        }
    }
    if str_of(instances, "EmrManagedMasterSecurityGroup").is_some()
        != str_of(instances, "EmrManagedSlaveSecurityGroup").is_some()
    {
        return Err(validation(
            "EmrManagedMasterSecurityGroup and EmrManagedSlaveSecurityGroup must be given together.",
        ));
    }
    // Roles: the service role must exist; the instance profile must exist and be visible to EMR.
    let service_role = required(input, "ServiceRole")?.to_owned();
    let service_name = service_role.rsplit('/').next().unwrap_or(&service_role).to_ascii_lowercase();
    if !world.iam.roles.contains_key(&service_name) {
        return Err(validation(format!("Service role {service_role} does not exist.")));
    }
    let profile_name = str_of(input, "JobFlowRole").unwrap_or("EMR_EC2_DefaultRole").to_owned();
    let profile_key = profile_name.rsplit('/').next().unwrap_or(&profile_name).to_ascii_lowercase();
    let profile_arn = format!("arn:aws:iam::{}:instance-profile/{profile_name}", ctx.account);
    let profile = world
        .iam
        .instance_profiles
        .get(&profile_key)
        .ok_or_else(|| validation(format!("Invalid InstanceProfile: {profile_arn}.")))?;
    let role = profile
        .roles
        .first()
        .and_then(|r| world.iam.roles.get(r))
        .ok_or_else(|| validation(format!("Invalid InstanceProfile: {profile_arn}.")))?;
    // IAM is eventually consistent: EMR answers a fresh instance profile in either
    // of two ways (terraform-provider-aws `internal/service/emr/cluster.go` retries both).
    let created = role.created_ms.max(profile.created_ms);
    let window = (propagation * 1000.0 * ctx.time_scale) as u64;
    if ctx.now_ms < created + window / 2 {
        return Err(ApiError::bad_request(
            "AccessDeniedException",
            format!("Failed to authorize instance profile {profile_arn}"),
        ));
    }
    if ctx.now_ms < created + window {
        return Err(validation(format!("Invalid InstanceProfile: {profile_arn}.")));
    }
    if let Some(policy) = input.get("ManagedScalingPolicy") {
        check_scaling(policy)?;
    }
    let idle_timeout = input.get("AutoTerminationPolicy").map(check_idle_timeout).transpose()?;
    if idle_timeout.is_some() && !has_auto_termination(&release) {
        return Err(no_auto_termination());
    }
    if (input.get("EbsRootVolumeIops").is_some() || input.get("EbsRootVolumeThroughput").is_some())
        && !has_root_volume_performance(&release)
    {
        return Err(validation(format!(
            "EbsRootVolumeIops and EbsRootVolumeThroughput are available in Amazon EMR releases 6.15.0 and later, not {release}."
        )));
    }

    let subnet = subnets.first().cloned().unwrap_or_default();
    let zone =
        world.ec2.subnets.get(&subnet).map_or_else(|| format!("{}a", ctx.region), |s| s.availability_zone.clone());
    let ready = ctx.after(STARTING + BOOTSTRAPPING);
    let mut timeline = Timeline::starting(ctx.now_ms, "STARTING");
    timeline.0.push((ctx.after(STARTING), "BOOTSTRAPPING".into()));
    timeline.0.push((ready, "WAITING".into()));
    let keep_alive = bool_of(instances, "KeepJobFlowAliveWhenNoSteps").unwrap_or(false);
    // "An additional managed security group for service access is required when you create a
    // cluster in a private subnet" (EMR Management Guide, "Working with Amazon EMR-managed security
    // groups"). EMR accepts the request, then the cluster fails (hashicorp/terraform#9518,
    // azavea/terraform-aws-emr-cluster#7).
    let custom_groups = str_of(instances, "EmrManagedMasterSecurityGroup").is_some();
    let refused = (custom_groups
        && str_of(instances, "ServiceAccessSecurityGroup").is_none()
        && !crate::ec2::is_public(world, &subnets.first().cloned().unwrap_or_default()))
    .then(|| {
        (
            "VALIDATION_ERROR".to_owned(),
            "You must also specify a ServiceAccessSecurityGroup if you use custom security groups when creating a cluster in a private subnet.".to_owned(),
        )
    });
    let reason = if let Some(reason) = refused {
        let failed = ctx.after(VALIDATING);
        timeline.0.retain(|(at, _)| *at < failed);
        timeline.0.push((failed, "TERMINATING".into()));
        timeline.0.push((failed + (TERMINATING * 1000.0 * ctx.time_scale) as u64, "TERMINATED_WITH_ERRORS".into()));
        Some(reason)
    } else if keep_alive {
        None
    } else {
        // Without KeepJobFlowAliveWhenNoSteps the cluster shuts down once its (no) steps are done.
        timeline.0.push((ready + 1, "TERMINATING".into()));
        timeline.0.push((ready + 1 + (TERMINATING * 1000.0 * ctx.time_scale) as u64, "TERMINATED".into()));
        Some(("ALL_STEPS_COMPLETED".to_owned(), "Steps completed".to_owned()))
    };
    let id = format!("j-{}", world.id("x")[2..].chars().take(13).collect::<String>().to_ascii_uppercase());
    let mut fleet_timeline = Timeline::starting(ctx.now_ms, "PROVISIONING");
    match timeline.reached("TERMINATED_WITH_ERRORS", u64::MAX) {
        Some(failed) => fleet_timeline.0.push((failed, "TERMINATED".into())),
        None => fleet_timeline.0.push((ready, "RUNNING".into())),
    }
    let fleets: Vec<Fleet> = fleets.iter().map(|f| new_fleet(world, f, fleet_timeline.clone(), &release)).collect();
    let cluster = Cluster {
        arn: format!("arn:aws:elasticmapreduce:{}:{}:cluster/{id}", ctx.region, ctx.account),
        id: id.clone(),
        name,
        release,
        applications: array(input, "Applications")
            .iter()
            .filter_map(|a| str_of(a, "Name"))
            .map(str::to_owned)
            .collect(),
        service_role,
        instance_profile: profile_name,
        log_uri: str_of(input, "LogUri").map(str::to_owned),
        requested_subnets: subnets,
        subnet,
        availability_zone: zone,
        master_group: str_of(instances, "EmrManagedMasterSecurityGroup").map(str::to_owned),
        slave_group: str_of(instances, "EmrManagedSlaveSecurityGroup").map(str::to_owned),
        service_access_group: str_of(instances, "ServiceAccessSecurityGroup").map(str::to_owned),
        additional_master_groups: strings(instances, "AdditionalMasterSecurityGroups"),
        additional_slave_groups: strings(instances, "AdditionalSlaveSecurityGroups"),
        key_name: str_of(instances, "Ec2KeyName").map(str::to_owned),
        configurations: input.get("Configurations").cloned().unwrap_or(json!([])),
        bootstrap: input.get("BootstrapActions").cloned().unwrap_or(json!([])),
        ebs_root_volume_size: int_of(input, "EbsRootVolumeSize"),
        ebs_root_volume_iops: int_of(input, "EbsRootVolumeIops"),
        ebs_root_volume_throughput: int_of(input, "EbsRootVolumeThroughput"),
        termination_protected: bool_of(instances, "TerminationProtected").unwrap_or(false),
        // "no longer supported… setting it to false now has no effect" (botocore `RunJobFlowInput`).
        visible_to_all_users: true,
        step_concurrency: int_of(input, "StepConcurrencyLevel").unwrap_or(1),
        idle_timeout,
        managed_scaling: input.get("ManagedScalingPolicy").cloned(),
        tags: tags_of(input, "Tags"),
        timeline,
        reason,
        fleets,
    };
    let arn = cluster.arn.clone();
    let rules = managed_rules(world, &cluster);
    world.emr.clusters.insert(id.clone(), cluster);
    for (group, egress, rule) in rules {
        add_rule(world, &group, egress, rule);
    }
    Ok(json!({ "JobFlowId": id, "ClusterArn": arn }))
}

/// The CIDR blocks EMR opens TCP 8443 to on a primary group in a public subnet:
/// "Various Amazon IP address ranges" (EMR Management Guide) — the ranges a real
/// account's ElasticMapReduce-master group held (a terraformer export of 2019-12-16).
const EMR_SERVICE_RANGES: &[&str] = &[
    "207.171.167.101/32",
    "207.171.167.25/32",
    "207.171.167.26/32",
    "207.171.172.6/32",
    "54.239.98.0/24",
    "54.240.217.16/29",
    "54.240.217.64/28",
    "54.240.217.8/29",
    "54.240.217.80/29",
    "72.21.196.64/29",
    "72.21.198.64/29",
    "72.21.217.0/24",
];

/// The rules EMR writes into the groups a cluster is given as EMR-managed and
/// keeps there (EMR Management Guide, "Working with Amazon EMR-managed security
/// groups", the rule tables of each managed group): (group, egress, rule).
///
/// - primary and core/task: all ICMP, all TCP and all UDP from themselves and
///   from each other; all traffic out to 0.0.0.0/0;
/// - in a private subnet: TCP 8443 into both from the service-access group;
///   TCP 9443 into the service-access group from the primary group, and TCP
///   8443 out of it to both;
/// - in a public subnet: TCP 8443 into the primary group from AWS's ranges.
pub(crate) fn managed_rules(world: &World, c: &Cluster) -> Vec<(String, bool, Rule)> {
    let (Some(master), Some(core)) = (&c.master_group, &c.slave_group) else { return Vec::new() };
    let rule = |protocol: &str, ports: Option<(i64, i64)>, cidr: Option<&str>, group: Option<&str>| Rule {
        id: String::new(),
        protocol: protocol.to_owned(),
        from_port: ports.map(|p| p.0),
        to_port: ports.map(|p| p.1),
        cidr: cidr.map(str::to_owned),
        cidr6: None,
        group_id: group.map(str::to_owned),
        prefix_list: None,
        description: None,
    };
    let mut rules = Vec::new();
    for own in [master, core] {
        for peer in [master, core] {
            rules.push((own.clone(), false, rule("icmp", Some((-1, -1)), None, Some(peer))));
            rules.push((own.clone(), false, rule("tcp", Some((0, 65535)), None, Some(peer))));
            rules.push((own.clone(), false, rule("udp", Some((0, 65535)), None, Some(peer))));
        }
        rules.push((own.clone(), true, rule("-1", None, Some("0.0.0.0/0"), None)));
    }
    let public = crate::ec2::is_public(world, &c.subnet);
    match (&c.service_access_group, public) {
        (_, true) => {
            for range in EMR_SERVICE_RANGES {
                rules.push((master.clone(), false, rule("tcp", Some((8443, 8443)), Some(range), None)));
            }
        }
        (Some(service), false) => {
            for own in [master, core] {
                rules.push((own.clone(), false, rule("tcp", Some((8443, 8443)), None, Some(service))));
                rules.push((service.clone(), true, rule("tcp", Some((8443, 8443)), None, Some(own))));
            }
            rules.push((service.clone(), false, rule("tcp", Some((9443, 9443)), None, Some(master))));
        }
        (None, false) => {}
    }
    rules
}

/// Adds `rule` to a group unless it holds the same permission already.
fn add_rule(world: &mut World, group: &str, egress: bool, mut rule: Rule) {
    rule.id = world.id("sgr");
    let Some(group) = world.ec2.groups.get_mut(group) else { return };
    let rules = if egress { &mut group.egress } else { &mut group.ingress };
    if !rules.iter().any(|r| r.same_permission(&rule)) {
        rules.push(rule);
    }
}

/// EMR keeps its rules in the managed groups of running clusters: one removed
/// comes back a few minutes later ([`READD`]). Called before every request.
pub(crate) fn maintain_rules(world: &mut World, now_ms: u64, time_scale: f64) {
    let mut missing = Vec::new();
    for c in world.emr.clusters.values().filter(|c| LIVE.contains(&c.state(now_ms))) {
        for (group, egress, rule) in managed_rules(world, c) {
            let Some(g) = world.ec2.groups.get(&group) else { continue };
            let present = if egress { &g.egress } else { &g.ingress };
            if !present.iter().any(|r| r.same_permission(&rule)) {
                missing.push((group, egress, rule));
            }
        }
    }
    let due_at = now_ms + (READD * 1000.0 * time_scale) as u64;
    let scheduled = &mut world.ec2.readd;
    // What is no longer missing (added back by someone) is no longer due.
    scheduled.retain(|(group, egress, rule, _)| {
        missing.iter().any(|(g, e, r)| g == group && e == egress && r.same_permission(rule))
    });
    for (group, egress, rule) in missing {
        if !scheduled.iter().any(|(g, e, r, _)| *g == group && *e == egress && r.same_permission(&rule)) {
            scheduled.push((group, egress, rule, due_at));
        }
    }
    let due: Vec<(String, bool, Rule)> =
        scheduled.iter().filter(|(.., at)| *at <= now_ms).map(|(g, e, r, _)| (g.clone(), *e, r.clone())).collect();
    scheduled.retain(|(.., at)| *at > now_ms);
    for (group, egress, rule) in due {
        add_rule(world, &group, egress, rule);
    }
}

fn status_json(timeline: &Timeline, reason: Option<&(String, String)>, now_ms: u64, ready_state: &str) -> Value {
    let state = timeline.at(now_ms);
    let mut timeline_json = json!({ "CreationDateTime": Ctx::seconds(timeline.0.first().map_or(0, |(t, _)| *t)) });
    if let Some(ready) = timeline.reached(ready_state, now_ms) {
        timeline_json["ReadyDateTime"] = json!(Ctx::seconds(ready));
    }
    if let Some(end) =
        timeline.reached("TERMINATED", now_ms).or_else(|| timeline.reached("TERMINATED_WITH_ERRORS", now_ms))
    {
        timeline_json["EndDateTime"] = json!(Ctx::seconds(end));
    }
    let mut status = json!({ "State": state, "Timeline": timeline_json });
    if let Some((code, message)) = reason.filter(|_| state.starts_with("TERMINAT")) {
        status["StateChangeReason"] = json!({ "Code": code, "Message": message });
    }
    status
}

fn cluster_json(c: &Cluster, now_ms: u64) -> Value {
    let mut value = json!({
        "Id": c.id,
        "Name": c.name,
        "ClusterArn": c.arn,
        "Status": status_json(&c.timeline, c.reason.as_ref(), now_ms, "WAITING"),
        "Ec2InstanceAttributes": {
            "Ec2SubnetId": c.subnet,
            "RequestedEc2SubnetIds": c.requested_subnets,
            "Ec2AvailabilityZone": c.availability_zone,
            "IamInstanceProfile": c.instance_profile,
            "EmrManagedMasterSecurityGroup": c.master_group,
            "EmrManagedSlaveSecurityGroup": c.slave_group,
            "ServiceAccessSecurityGroup": c.service_access_group,
            "AdditionalMasterSecurityGroups": c.additional_master_groups,
            "AdditionalSlaveSecurityGroups": c.additional_slave_groups,
            "Ec2KeyName": c.key_name,
        },
        "InstanceCollectionType": "INSTANCE_FLEET",
        "ReleaseLabel": c.release,
        "AutoTerminate": c.reason.is_some(),
        "TerminationProtected": c.termination_protected,
        "VisibleToAllUsers": c.visible_to_all_users,
        "Applications": c.applications.iter().map(|a| json!({ "Name": a })).collect::<Vec<_>>(),
        "Tags": tags_json(&c.tags),
        "ServiceRole": c.service_role,
        "Configurations": c.configurations,
        "StepConcurrencyLevel": c.step_concurrency,
        "MasterPublicDnsName": format!("ip-10-0-0-1.{}.compute.internal", "ec2"),
    });
    if let Some(uri) = &c.log_uri {
        value["LogUri"] = json!(uri);
    }
    if let Some(size) = c.ebs_root_volume_size {
        value["EbsRootVolumeSize"] = json!(size);
    }
    if let Some(iops) = c.ebs_root_volume_iops {
        value["EbsRootVolumeIops"] = json!(iops);
    }
    if let Some(throughput) = c.ebs_root_volume_throughput {
        value["EbsRootVolumeThroughput"] = json!(throughput);
    }
    value
}

fn fleet_json(f: &Fleet, now_ms: u64) -> Value {
    let state = f.timeline.at(now_ms);
    let (provisioned_od, provisioned_spot) = match state {
        "RUNNING" => (f.target_on_demand, f.target_spot),
        "RESIZING" => f.previous,
        _ => (0, 0),
    };
    let specifications: Vec<Value> = f
        .instance_types
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let mut devices = Vec::new();
            for config in t.pointer("/EbsConfiguration/EbsBlockDeviceConfigs").and_then(Value::as_array).into_iter().flatten() {
                let count = int_of(config, "VolumesPerInstance").unwrap_or(1);
                for i in 0..count {
                    devices.push(json!({ "VolumeSpecification": config.get("VolumeSpecification"), "Device": format!("/dev/sd{}", (b'f' + u8::try_from(devices.len() as i64 + i).unwrap_or(0) % 20) as char) }));
                }
            }
            let mut specification = json!({
                "InstanceType": str_of(t, "InstanceType"),
                "WeightedCapacity": int_of(t, "WeightedCapacity").unwrap_or(1),
                "BidPriceAsPercentageOfOnDemandPrice": t.get("BidPriceAsPercentageOfOnDemandPrice").cloned().unwrap_or(json!(100.0)),
                "EbsBlockDevices": devices,
            });
            // Asked for, or implied by attached volumes (the types EMR fleets use are EBS-optimized by default).
            let optimized = t.pointer("/EbsConfiguration/EbsOptimized").and_then(Value::as_bool).or_else(|| devices_present(t).then_some(true));
            if let Some(optimized) = optimized {
                specification["EbsOptimized"] = json!(optimized);
            }
            if let Some(configurations) = t.get("Configurations") {
                specification["Configurations"] = configurations.clone();
            }
            specification
        })
        .collect();
    let mut value = json!({
        "Id": f.id,
        "InstanceFleetType": f.fleet_type,
        "Status": status_json(&f.timeline, None, now_ms, "RUNNING"),
        "TargetOnDemandCapacity": f.target_on_demand,
        "TargetSpotCapacity": f.target_spot,
        "ProvisionedOnDemandCapacity": provisioned_od,
        "ProvisionedSpotCapacity": provisioned_spot,
        "InstanceTypeSpecifications": specifications,
    });
    if let Some(name) = &f.name {
        value["Name"] = json!(name);
    }
    if let Some(launch) = &f.launch {
        value["LaunchSpecifications"] = launch.clone();
    }
    if let Some(resize) = &f.resize {
        value["ResizeSpecifications"] = resize.clone();
    }
    value
}

fn devices_present(t: &Value) -> bool {
    t.pointer("/EbsConfiguration/EbsBlockDeviceConfigs").and_then(Value::as_array).is_some_and(|d| !d.is_empty())
}

fn cluster_ids(input: &Value) -> Result<Vec<String>, ApiError> {
    let ids = strings(input, "JobFlowIds");
    if ids.is_empty() {
        return Err(validation("JobFlowIds is required"));
    }
    Ok(ids)
}

pub(crate) fn handle(
    world: &mut World,
    ctx: &Ctx<'_>,
    operation: &str,
    input: &Value,
    propagation: f64,
) -> Result<Value, ApiError> {
    let now = ctx.now_ms;
    match operation {
        "RunJobFlow" => run_job_flow(world, ctx, input, propagation),
        "DescribeCluster" => {
            let c = cluster(world, required(input, "ClusterId")?)?;
            Ok(json!({ "Cluster": cluster_json(c, now) }))
        }
        "ListClusters" => {
            let states = strings(input, "ClusterStates");
            let clusters: Vec<Value> = world
                .emr
                .clusters
                .values()
                .filter(|c| states.is_empty() || states.iter().any(|s| s == c.state(now)))
                .map(|c| json!({ "Id": c.id, "Name": c.name, "ClusterArn": c.arn, "Status": status_json(&c.timeline, c.reason.as_ref(), now, "WAITING") }))
                .collect();
            paged(clusters, input, "Clusters", &EMR_PAGES, ctx)
        }
        "ListInstanceFleets" => {
            let c = cluster(world, required(input, "ClusterId")?)?;
            paged(c.fleets.iter().map(|f| fleet_json(f, now)).collect(), input, "InstanceFleets", &EMR_PAGES, ctx)
        }
        "ListBootstrapActions" => {
            let c = cluster(world, required(input, "ClusterId")?)?;
            let actions: Vec<Value> = c
                .bootstrap
                .as_array()
                .into_iter()
                .flatten()
                .map(|b| json!({ "Name": str_of(b, "Name"), "ScriptPath": b.pointer("/ScriptBootstrapAction/Path"), "Args": b.pointer("/ScriptBootstrapAction/Args").cloned().unwrap_or(json!([])) }))
                .collect();
            paged(actions, input, "BootstrapActions", &EMR_PAGES, ctx)
        }
        "ModifyInstanceFleet" => {
            let c = cluster_mut(world, required(input, "ClusterId")?)?;
            if !matches!(c.state(now), "RUNNING" | "WAITING") {
                return Err(invalid_request(
                    "An instance fleet may only be modified when the cluster is running or waiting.",
                ));
            }
            let reconfigurable = has_reconfiguration(&c.release);
            let config = input.get("InstanceFleet").ok_or_else(|| validation("InstanceFleet is required"))?;
            let fleet_id = required(config, "InstanceFleetId")?;
            let fleet = c
                .fleets
                .iter_mut()
                .find(|f| f.id == fleet_id)
                .ok_or_else(|| invalid_request(format!("Instance fleet id '{fleet_id}' is not valid.")))?;
            // One change at a time: the real wording is unknown (docs/aws-fidelity.md); converge waits
            // for a fleet to settle before it reconfigures it, so it is right either way.
            let state = fleet.timeline.at(now).to_owned();
            if state != "RUNNING" {
                return Err(invalid_request(format!(
                    "The instance fleet {fleet_id} is in {state} state and cannot be modified until it is RUNNING."
                )));
            }
            let targets = (int_of(config, "TargetOnDemandCapacity"), int_of(config, "TargetSpotCapacity"));
            let reconfiguration = config.get("InstanceTypeConfigs").and_then(Value::as_array);
            if fleet.fleet_type == "MASTER" && targets != (None, None) {
                // The primary fleet is one instance for the cluster's life (EMR Management Guide, "Planning and configuring instance fleets").
                return Err(invalid_request("The master instance fleet cannot be resized."));
            }
            if let Some(types) = reconfiguration {
                if !reconfigurable {
                    return Err(validation(
                        "Reconfiguring an instance fleet needs Amazon EMR release 5.21.0 or later.",
                    ));
                }
                for wanted in types {
                    let instance_type = required(wanted, "InstanceType")?;
                    let existing = fleet
                        .instance_types
                        .as_array_mut()
                        .and_then(|all| all.iter_mut().find(|t| str_of(t, "InstanceType") == Some(instance_type)))
                        .ok_or_else(|| {
                            validation(format!(
                                "The instance type {instance_type} is not in instance fleet {fleet_id}."
                            ))
                        })?;
                    existing["Configurations"] = wanted.get("Configurations").cloned().unwrap_or(json!([]));
                }
            }
            let od = targets.0.unwrap_or(fleet.target_on_demand);
            let spot = targets.1.unwrap_or(fleet.target_spot);
            if od < 0 || spot < 0 {
                return Err(validation("Target capacities must not be negative."));
            }
            if let Some(resize) = config.get("ResizeSpecifications") {
                fleet.resize = Some(resize.clone());
            }
            if targets != (None, None) {
                fleet.previous = (fleet.target_on_demand, fleet.target_spot);
                fleet.target_on_demand = od;
                fleet.target_spot = spot;
                fleet.timeline.replan(now, &[(now, "RESIZING"), (ctx.after(RESIZING), "RUNNING")]);
            } else if reconfiguration.is_some() {
                fleet.timeline.replan(now, &[(now, "RECONFIGURING"), (ctx.after(RECONFIGURING), "RUNNING")]);
            }
            Ok(json!({}))
        }
        "AddInstanceFleet" => {
            let config = input.get("InstanceFleet").ok_or_else(|| validation("InstanceFleet is required"))?;
            if str_of(config, "InstanceFleetType") != Some("TASK") {
                return Err(invalid_request("Only TASK instance fleets can be added to a running cluster."));
            }
            check_fleet(config)?;
            let id = required(input, "ClusterId")?.to_owned();
            let release = {
                let c = cluster(world, &id)?;
                if !matches!(c.state(now), "RUNNING" | "WAITING") {
                    return Err(invalid_request(
                        "An instance fleet may only be added when the cluster is running or waiting.",
                    ));
                }
                if c.fleets.iter().any(|f| f.fleet_type == "TASK") {
                    return Err(invalid_request(
                        "The cluster already has a TASK instance fleet; a cluster has at most one.",
                    ));
                }
                c.release.clone()
            };
            let timeline = Timeline(vec![(now, "PROVISIONING".into()), (ctx.after(RESIZING), "RUNNING".into())]);
            let fleet = new_fleet(world, config, timeline, &release);
            let fleet_id = fleet.id.clone();
            let c = cluster_mut(world, &id)?;
            c.fleets.push(fleet);
            Ok(json!({ "ClusterId": id, "InstanceFleetId": fleet_id, "ClusterArn": c.arn }))
        }
        "TerminateJobFlows" => {
            let ids = cluster_ids(input)?;
            for id in &ids {
                if cluster(world, id)?.termination_protected {
                    return Err(validation(
                        "Could not shut down one or more job flows since they are termination protected.",
                    ));
                }
            }
            let done = ctx.after(TERMINATING);
            for id in &ids {
                let c = cluster_mut(world, id)?;
                if c.is_live(now) && c.state(now) != "TERMINATING" {
                    c.timeline.replan(now, &[(now, "TERMINATING"), (done, "TERMINATED")]);
                    c.reason = Some(("USER_REQUEST".into(), "Terminated by user request".into()));
                    for fleet in &mut c.fleets {
                        fleet.timeline.replan(now, &[(now, "TERMINATING"), (done, "TERMINATED")]);
                    }
                }
            }
            Ok(json!({}))
        }
        "SetTerminationProtection" | "SetVisibleToAllUsers" => {
            for id in cluster_ids(input)? {
                let c = cluster_mut(world, &id)?;
                if operation == "SetTerminationProtection" {
                    c.termination_protected = bool_of(input, "TerminationProtected")
                        .ok_or_else(|| validation("TerminationProtected is required"))?;
                }
                // SetVisibleToAllUsers: "no longer supported" (botocore): accepted, without effect.
            }
            Ok(json!({}))
        }
        "ModifyCluster" => {
            let c = cluster_mut(world, required(input, "ClusterId")?)?;
            if let Some(level) = int_of(input, "StepConcurrencyLevel") {
                if !(1..=256).contains(&level) {
                    return Err(validation("StepConcurrencyLevel must be between 1 and 256."));
                }
                c.step_concurrency = level;
            }
            Ok(json!({ "StepConcurrencyLevel": c.step_concurrency }))
        }
        "PutManagedScalingPolicy" => {
            let policy =
                input.get("ManagedScalingPolicy").ok_or_else(|| validation("ManagedScalingPolicy is required"))?;
            check_scaling(policy)?;
            cluster_mut(world, required(input, "ClusterId")?)?.managed_scaling = Some(policy.clone());
            Ok(json!({}))
        }
        "GetManagedScalingPolicy" => {
            let c = cluster(world, required(input, "ClusterId")?)?;
            // terraform-provider-aws PR #15541: EMR answers this for a cluster shutting down or finished.
            if !LIVE.contains(&c.state(now)) {
                return Err(validation(
                    "A job flow that is shutting down, terminated, or finished may not be modified.",
                ));
            }
            Ok(match &c.managed_scaling {
                Some(policy) => json!({ "ManagedScalingPolicy": policy }),
                None => json!({}),
            })
        }
        "RemoveManagedScalingPolicy" => {
            cluster_mut(world, required(input, "ClusterId")?)?.managed_scaling = None;
            Ok(json!({}))
        }
        "PutAutoTerminationPolicy" => {
            let seconds = check_idle_timeout(input.get("AutoTerminationPolicy").unwrap_or(&Value::Null))?;
            let c = cluster_mut(world, required(input, "ClusterId")?)?;
            if !has_auto_termination(&c.release) {
                return Err(no_auto_termination());
            }
            c.idle_timeout = Some(seconds);
            Ok(json!({}))
        }
        "GetAutoTerminationPolicy" => {
            let c = cluster(world, required(input, "ClusterId")?)?;
            if !has_auto_termination(&c.release) {
                return Err(no_auto_termination());
            }
            Ok(match c.idle_timeout {
                Some(seconds) => json!({ "AutoTerminationPolicy": { "IdleTimeout": seconds } }),
                None => json!({}),
            })
        }
        "RemoveAutoTerminationPolicy" => {
            cluster_mut(world, required(input, "ClusterId")?)?.idle_timeout = None;
            Ok(json!({}))
        }
        "AddTags" => {
            let tags = tags_of(input, "Tags");
            cluster_mut(world, required(input, "ResourceId")?)?.tags.extend(tags);
            Ok(json!({}))
        }
        "RemoveTags" => {
            let keys = strings(input, "TagKeys");
            cluster_mut(world, required(input, "ResourceId")?)?.tags.retain(|k, _| !keys.contains(k));
            Ok(json!({}))
        }
        other => Err(ApiError::bad_request(
            "UnknownOperationException",
            format!("The sandbox does not implement ElasticMapReduce.{other}."),
        )),
    }
}

/// What happens to a cluster outside converge and outside the API: played
/// through `POST /_sandbox/emr/events` or [`crate::Sandbox::cluster_event`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ClusterEvent {
    /// Managed scaling or the team's scheduler sets a fleet's target
    /// capacities: the fleet resizes, then runs at the new targets.
    Capacity { cluster: String, fleet: String, on_demand: i64, spot: i64 },
    /// The cluster fails: it terminates and ends TERMINATED_WITH_ERRORS with this reason.
    Fail {
        cluster: String,
        #[serde(default = "internal_error")]
        code: String,
        message: String,
    },
    /// EC2 reclaims Spot instances of a fleet: its provisioned Spot capacity
    /// drops by `units` while EMR provisions replacements; its targets stay.
    LoseSpot { cluster: String, fleet: String, units: i64 },
    /// The primary node is lost (its instance fails). A cluster with one
    /// primary node (the only kind the sandbox creates: its primary fleet's
    /// target is 1) cannot run without it: it terminates and ends
    /// TERMINATED_WITH_ERRORS, `INSTANCE_FAILURE`.
    LosePrimary { cluster: String },
}

/// The state-change reason of a cluster whose only primary node was lost
/// (wording: the sandbox's own; the code is botocore's `ClusterStateChangeReasonCode`).
pub(crate) const PRIMARY_LOST: (&str, &str) =
    ("INSTANCE_FAILURE", "The primary node failed; a cluster with one primary node cannot run without it.");

/// The cluster terminates now and ends TERMINATED_WITH_ERRORS with this reason.
fn fail(c: &mut Cluster, ctx: &Ctx<'_>, code: &str, message: &str) {
    let (now, done) = (ctx.now_ms, ctx.after(TERMINATING));
    c.timeline.replan(now, &[(now, "TERMINATING"), (done, "TERMINATED_WITH_ERRORS")]);
    c.reason = Some((code.to_owned(), message.to_owned()));
    for fleet in &mut c.fleets {
        fleet.timeline.replan(now, &[(now, "TERMINATING"), (done, "TERMINATED")]);
    }
}

fn internal_error() -> String {
    "INTERNAL_ERROR".to_owned()
}

/// Plays out `event` at `now_ms`; the error says what was wrong with it.
pub(crate) fn play(world: &mut World, ctx: &Ctx<'_>, event: &ClusterEvent) -> Result<(), String> {
    let now = ctx.now_ms;
    let (ClusterEvent::Capacity { cluster: id, .. }
    | ClusterEvent::Fail { cluster: id, .. }
    | ClusterEvent::LoseSpot { cluster: id, .. }
    | ClusterEvent::LosePrimary { cluster: id }) = event;
    let c = world.emr.clusters.get_mut(id).ok_or_else(|| format!("no cluster `{id}`"))?;
    if !c.is_live(now) || c.state(now) == "TERMINATING" {
        return Err(format!("cluster `{id}` is {}", c.state(now)));
    }
    let fleet_of = |fleets: &[Fleet], fleet: &str| -> Result<usize, String> {
        let wanted = fleet.to_ascii_uppercase();
        fleets
            .iter()
            .position(|f| f.fleet_type == wanted)
            .ok_or_else(|| format!("cluster `{id}` has no {wanted} fleet"))
    };
    match event {
        ClusterEvent::Capacity { fleet, on_demand, spot, .. } => {
            if *on_demand < 0 || *spot < 0 {
                return Err("capacities must not be negative".into());
            }
            let at = fleet_of(&c.fleets, fleet)?;
            let f = &mut c.fleets[at];
            if f.fleet_type == "MASTER" {
                return Err("the primary fleet does not scale".into());
            }
            f.previous = (f.target_on_demand, f.target_spot);
            f.target_on_demand = *on_demand;
            f.target_spot = *spot;
            f.timeline.replan(now, &[(now, "RESIZING"), (ctx.after(RESIZING), "RUNNING")]);
        }
        ClusterEvent::LoseSpot { fleet, units, .. } => {
            let at = fleet_of(&c.fleets, fleet)?;
            let f = &mut c.fleets[at];
            if *units <= 0 || *units > f.target_spot {
                return Err(format!("the {} fleet runs {} Spot units", f.fleet_type, f.target_spot));
            }
            f.previous = (f.target_on_demand, f.target_spot - units);
            f.timeline.replan(now, &[(now, "RESIZING"), (ctx.after(RESIZING), "RUNNING")]);
        }
        ClusterEvent::Fail { code, message, .. } => fail(c, ctx, code, message),
        ClusterEvent::LosePrimary { .. } => {
            let (code, message) = PRIMARY_LOST;
            fail(c, ctx, code, message);
        }
    }
    Ok(())
}
