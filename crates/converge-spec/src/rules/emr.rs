//! EMR cluster rules: fleets, limits, scaling, HDFS, release features, roles.

use converge_model::{Address, Capacity, EmrCluster, FleetRole, InstanceFleet, Kind, Ports, Protocol, ScalingUnit};

use super::Ctx;
use crate::codes;
use crate::diagnostic::Diagnostic;

/// True when a rule of `protocol` and `ports` lets `port` through.
fn covers_port(protocol: Protocol, ports: Option<&Ports>, port: i64) -> bool {
    match protocol {
        Protocol::All => true,
        Protocol::Tcp => ports.and_then(Ports::range).is_some_and(|(from, to)| from <= port && port <= to),
        Protocol::Udp | Protocol::Icmp => false,
    }
}

/// `emr-6.15.0` → `(6, 15, 0)`
pub(crate) fn release_version(label: &str) -> Option<(u32, u32, u32)> {
    let mut parts = label.strip_prefix("emr-")?.split('.');
    let version = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    parts.next().is_none().then_some(version)
}

/// The port the primary node talks to EMR's service on, through the service-access group.
const SERVICE_ACCESS_PORT: i64 = 9443;

const MAX_TYPES_PLAIN: usize = 5;
const MAX_TYPES_WITH_STRATEGY: usize = 30;

pub(super) fn clusters(ctx: &mut Ctx<'_>) {
    let mut found = Vec::new();
    for (name, cluster) in &ctx.spec.emr_clusters {
        let address = Address::new(Kind::EmrCluster, name.clone());
        let at = |field: &str| ctx.at(&format!("{address}.{field}"));
        let mut emit = |code, message: String, field: &str, hint: String| {
            found.push(Diagnostic::new(code, message).at(at(field)).address(&address).hint(hint));
        };

        // Master and core fleets.
        match &cluster.master {
            None => emit(
                codes::EMR_MASTER_FLEET,
                format!("`{address}` has no master fleet"),
                "",
                format!("add `[{address}.master]` with `instance_types` and `on_demand = 1`"),
            ),
            Some(master) => {
                for (market, capacity) in [("on_demand", master.on_demand), ("spot", master.spot)] {
                    if capacity.is_owned_elsewhere() {
                        emit(
                            codes::EMR_MASTER_FLEET,
                            format!(
                                "the master fleet's `{market}` capacity is set outside converge; the master fleet always runs exactly one instance"
                            ),
                            &format!("master.{market}"),
                            "write `on_demand = 1` (or `spot = 1`): EMR cannot resize the master fleet".into(),
                        );
                    }
                }
                let (od, spot) = (master.on_demand.at_creation(), master.spot.at_creation());
                if master.on_demand.is_owned_elsewhere() || master.spot.is_owned_elsewhere() {
                    // Reported above.
                } else if !((od == 1 && spot == 0) || (od == 0 && spot == 1)) {
                    emit(
                        codes::EMR_MASTER_FLEET,
                        format!(
                            "the master fleet must have a capacity of exactly 1, it asks for {od} On-Demand and {spot} Spot"
                        ),
                        "master",
                        "set `on_demand = 1` (or `spot = 1`) and leave the other at 0".into(),
                    );
                }
                for (i, t) in master.instance_types.iter().enumerate() {
                    if t.weight != 1 {
                        emit(
                            codes::EMR_WEIGHTED_CAPACITY,
                            format!(
                                "the master fleet's `{}` has weight {}; the master fleet only allows 1",
                                t.instance_type, t.weight
                            ),
                            &format!("master.instance_types[{i}]"),
                            "remove `weight` on master instance types".into(),
                        );
                    }
                }
            }
        }
        match &cluster.core {
            None => emit(
                codes::EMR_CORE_FLEET,
                format!("`{address}` has no core fleet"),
                "",
                format!("add `[{address}.core]` with `instance_types` and a capacity"),
            ),
            Some(core) if core.units_at_creation() == 0 => emit(
                codes::EMR_CORE_FLEET,
                "the core fleet starts with no capacity".into(),
                "core",
                "set `on_demand` or `spot` of the core fleet (or the `min` of its range) to at least 1".into(),
            ),
            Some(_) => {}
        }

        for (role, fleet) in cluster.fleets() {
            check_fleet(role, fleet, &mut emit);
        }

        // Managed scaling.
        if let Some(scaling) = &cluster.scaling {
            if scaling.unit != ScalingUnit::InstanceFleetUnits {
                emit(
                    codes::EMR_SCALING_UNIT,
                    "managed scaling of an instance-fleet cluster must count `InstanceFleetUnits`".into(),
                    "scaling.unit",
                    "set `unit = \"InstanceFleetUnits\"`; the limits are then in the fleets' weighted capacity".into(),
                );
            }
            if scaling.min > scaling.max {
                emit(
                    codes::EMR_SCALING_LIMITS,
                    format!("managed scaling `min` ({}) is above `max` ({})", scaling.min, scaling.max),
                    "scaling.min",
                    "lower `min` or raise `max`".into(),
                );
            }
            for (field, value) in [("max_on_demand", scaling.max_on_demand), ("max_core", scaling.max_core)] {
                if let Some(value) = value.filter(|v| *v > scaling.max) {
                    emit(
                        codes::EMR_SCALING_LIMITS,
                        format!("managed scaling `{field}` ({value}) is above `max` ({})", scaling.max),
                        &format!("scaling.{field}"),
                        format!("lower `{field}` to at most {}", scaling.max),
                    );
                }
            }
            if let (Some(core), Some(max_core)) = (&cluster.core, scaling.max_core)
                && core.units_at_creation() > max_core
            {
                emit(
                    codes::EMR_SCALING_LIMITS,
                    format!(
                        "the core fleet asks for {} units but managed scaling allows at most {max_core}",
                        core.units_at_creation()
                    ),
                    "scaling.max_core",
                    "raise `max_core` or lower the core fleet's capacity".into(),
                );
            }
        }

        // HDFS replication cannot exceed the number of core nodes.
        if let (Some(replication), Some(core)) =
            (cluster.configuration_property("hdfs-site", "dfs.replication"), &cluster.core)
        {
            let field = configuration_path(cluster, "hdfs-site", "dfs.replication");
            match replication.trim().parse::<i64>() {
                Ok(replication) => {
                    let units = core.units_at_creation();
                    let heaviest = core.instance_types.iter().map(|t| t.weight).max().unwrap_or(1).max(1);
                    let fewest_nodes = (units + heaviest - 1) / heaviest;
                    if units > 0 && replication > fewest_nodes {
                        emit(
                            codes::EMR_DFS_REPLICATION,
                            format!(
                                "`dfs.replication` is {replication}, but the core fleet may run as few as {fewest_nodes} node(s)"
                            ),
                            &field,
                            format!(
                                "lower `dfs.replication` to {fewest_nodes} or raise the core capacity; HDFS cannot place more replicas than core nodes, and EMR refuses to shrink core below the replication factor"
                            ),
                        );
                    }
                }
                Err(_) => emit(
                    codes::INVALID_VALUE,
                    format!("`dfs.replication` must be a whole number, not `{replication}`"),
                    &field,
                    "write the replication factor as a number in quotes, e.g. `\"2\"`".into(),
                ),
            }
        }

        // EMR-managed groups come as a pair.
        if cluster.master_security_group.is_some() != cluster.core_security_group.is_some() {
            let (present, absent) = if cluster.master_security_group.is_some() {
                ("master_security_group", "core_security_group")
            } else {
                ("core_security_group", "master_security_group")
            };
            emit(
                codes::EMR_SECURITY_GROUP_PAIR,
                format!("`{present}` is set but `{absent}` is not"),
                present,
                format!("set `{absent}` too; EMR takes both EMR-managed groups or neither"),
            );
        }

        // "VisibleToAllUsers … is no longer supported. By default, the value is set to true.
        // Setting it to false now has no effect" (botocore `RunJobFlowInput`).
        if !cluster.visible_to_all_users {
            emit(
                codes::EMR_VISIBLE_TO_ALL_USERS,
                "`visible_to_all_users = false` has no effect: EMR no longer restricts a cluster to its creator".into(),
                "visible_to_all_users",
                "remove `visible_to_all_users`; to limit who can use the cluster, give the IAM policies of the account conditions on the cluster's tags".into(),
            );
        }

        // The service-access group admits the primary group on 9443 (EMR 5.30.0 to 7.x): EMR adds the
        // rule to its own default groups and, in custom ones, has been seen to check for it instead
        // ("ServiceAccessSecurityGroup is missing ingress rule from EmrManagedMasterSecurityGroup on
        // port 9443": hashicorp/terraform#25673). Written in the spec, it holds either way.
        if let (Some(master), Some(service_access)) =
            (&cluster.master_security_group, &cluster.service_access_security_group)
            && let Some(group) =
                ctx.spec.security_groups.get(service_access.as_str()).filter(|_| service_access.spec_name().is_some())
            && release_version(&cluster.release).is_some_and(|v| ((5, 30, 0)..(8, 0, 0)).contains(&v))
            && !group.ingress.iter().any(|rule| {
                covers_port(rule.protocol, rule.ports.as_ref(), SERVICE_ACCESS_PORT)
                    && rule
                        .source
                        .as_ref()
                        .is_some_and(|s| s.target(Kind::SecurityGroup) == master.target(Kind::SecurityGroup))
            })
        {
            emit(
                codes::EMR_SERVICE_ACCESS_PORT,
                format!(
                    "the service-access group `{service_access}` of `{address}` does not admit its primary group `{master}` on tcp/{SERVICE_ACCESS_PORT}"
                ),
                "service_access_security_group",
                format!(
                    "add `{{ protocol = \"tcp\", ports = {SERVICE_ACCESS_PORT}, source = \"{master}\", description = \"EMR 5.30 and later: the primary node to the service\" }}` to `security_group.{service_access}.ingress`"
                ),
            );
        }

        // Release features.
        if let Some(version) = release_version(&cluster.release) {
            release_features(cluster, version, &mut emit);
        }

        // Warnings.
        if let Some(core) = &cluster.core
            && core.spot != Capacity::Fixed(0)
        {
            emit(
                codes::CORE_ON_SPOT,
                "the core fleet runs HDFS on Spot capacity".into(),
                "core.spot",
                "keep core On-Demand and put Spot capacity in the task fleet; a Spot reclaim on core loses HDFS blocks"
                    .into(),
            );
        }
        let task_spot =
            cluster.task.as_ref().is_some_and(|t| t.spot != Capacity::Fixed(0) || t.spot_allocation.is_some());
        if task_spot && release_version(&cluster.release).is_some_and(|(major, _, _)| major >= 6) {
            let enabled = cluster.configuration_property("yarn-site", "yarn.node-labels.enabled") == Some("true");
            let am_on_core = cluster
                .configuration_property("yarn-site", "yarn.node-labels.am.default-node-label-expression")
                == Some("CORE");
            if !(enabled && am_on_core) {
                emit(codes::YARN_NODE_LABELS, format!("`{address}` runs Spot task nodes on EMR 6+, where YARN node labels are off, so application masters may land on Spot"), "task", "add a `yarn-site` configuration with `yarn.node-labels.enabled = \"true\"` and `yarn.node-labels.am.default-node-label-expression = \"CORE\"`".into());
            }
        }
        if cluster.subnets.len() == 1 {
            emit(
                codes::SINGLE_SUBNET,
                format!("`{address}` has one subnet, so EMR cannot choose another availability zone"),
                "subnets",
                "list subnets in two or more AZs; EMR picks one with capacity at creation, which also helps a rebuild"
                    .into(),
            );
        }

        // Roles and the instance profile.
        if let Some((role_name, role)) = ctx.role(&cluster.instance_profile)
            && !role.instance_profile
        {
            emit(
                codes::EMR_INSTANCE_PROFILE,
                format!("`iam_role.{role_name}` is used as the EC2 instance profile but has no instance profile"),
                "instance_profile",
                format!(
                    "set `instance_profile = true` in `[iam_role.{role_name}]`; EMR needs an instance profile named like the role"
                ),
            );
        }
        for (field, reference, service) in [
            ("service_role", &cluster.service_role, "elasticmapreduce.amazonaws.com"),
            ("instance_profile", &cluster.instance_profile, "ec2.amazonaws.com"),
        ] {
            if let Some((role_name, role)) = ctx.role(reference)
                && !role.trusts_service(service)
            {
                emit(
                    codes::MISSING_TRUST,
                    format!("`iam_role.{role_name}` is the cluster's `{field}` but does not trust `{service}`"),
                    field,
                    format!("add `\"{service}\"` to `iam_role.{role_name}.trust`"),
                );
            }
        }
    }
    ctx.out.extend(found);
}

fn check_fleet(role: FleetRole, fleet: &InstanceFleet, emit: &mut impl FnMut(codes::Code, String, &str, String)) {
    let role = role.key();
    for (market, capacity) in [("on_demand", fleet.on_demand), ("spot", fleet.spot)] {
        if let Capacity::Range { min, max } = capacity
            && min > max
        {
            emit(
                codes::EMR_CAPACITY_RANGE,
                format!("the {role} fleet's `{market}` range is empty: `min` ({min}) is above `max` ({max})"),
                &format!("{role}.{market}.min"),
                format!("write `{market} = {{ min = {max}, max = {min} }}`, or lower `min`"),
            );
        }
        for (bound, value) in [("min", capacity_bound(capacity, true)), ("max", capacity_bound(capacity, false))] {
            if let Some(value) = value.filter(|v| *v < 0) {
                emit(
                    codes::OUT_OF_RANGE,
                    format!("the {role} fleet's `{market}.{bound}` is {value}; capacity cannot be negative"),
                    &format!("{role}.{market}.{bound}"),
                    "use 0 or more units".into(),
                );
            }
        }
    }
    let count = fleet.instance_types.len();
    let limit = if fleet.has_allocation_strategy() { MAX_TYPES_WITH_STRATEGY } else { MAX_TYPES_PLAIN };
    if count == 0 {
        emit(
            codes::EMR_INSTANCE_TYPE_LIMIT,
            format!("the {role} fleet lists no instance types"),
            &format!("{role}.instance_types"),
            "list at least one instance type".into(),
        );
    } else if count > limit {
        let hint = if fleet.has_allocation_strategy() {
            format!("keep at most {MAX_TYPES_WITH_STRATEGY} instance types")
        } else {
            format!(
                "keep at most {MAX_TYPES_PLAIN}, or set `spot_allocation` / `on_demand_allocation`, which allows up to {MAX_TYPES_WITH_STRATEGY}"
            )
        };
        emit(
            codes::EMR_INSTANCE_TYPE_LIMIT,
            format!("the {role} fleet lists {count} instance types; EMR allows {limit} here"),
            &format!("{role}.instance_types[{limit}]"),
            hint,
        );
    }
    match (fleet.spot_timeout_minutes, fleet.spot_timeout_action) {
        (Some(_), None) => emit(
            codes::EMR_SPOT_TIMEOUT,
            format!("the {role} fleet sets `spot_timeout_minutes` without `spot_timeout_action`"),
            &format!("{role}.spot_timeout_minutes"),
            "add `spot_timeout_action = \"switch-to-on-demand\"` or `\"terminate-cluster\"`".into(),
        ),
        (None, Some(_)) => emit(
            codes::EMR_SPOT_TIMEOUT,
            format!("the {role} fleet sets `spot_timeout_action` without `spot_timeout_minutes`"),
            &format!("{role}.spot_timeout_action"),
            "add `spot_timeout_minutes`, between 5 and 1440".into(),
        ),
        // EMR's Spot specification, which carries the strategy, needs a timeout.
        (None, None) if fleet.spot_allocation.is_some() => emit(
            codes::EMR_SPOT_TIMEOUT,
            format!("the {role} fleet sets `spot_allocation` without a Spot timeout, which EMR requires with it"),
            &format!("{role}.spot_allocation"),
            "add `spot_timeout_minutes` (5-1440) and `spot_timeout_action = \"switch-to-on-demand\"`".into(),
        ),
        _ => {}
    }
    if count == 1 && (fleet.spot != Capacity::Fixed(0) || fleet.spot_allocation.is_some()) {
        emit(codes::SINGLE_INSTANCE_TYPE_SPOT, format!("the {role} fleet asks for Spot with a single instance type"), &format!("{role}.instance_types"), "list several instance types across families (C, R, M) so a Spot shortage of one type does not stall the fleet".into());
    }
}

fn capacity_bound(capacity: Capacity, min: bool) -> Option<i64> {
    match capacity {
        Capacity::Range { min: low, max: high } => Some(if min { low } else { high }),
        _ => None,
    }
}

fn release_features(
    cluster: &EmrCluster,
    (major, minor, patch): (u32, u32, u32),
    emit: &mut impl FnMut(codes::Code, String, &str, String),
) {
    let at_least = |m: u32, n: u32, p: u32| (major, minor, patch) >= (m, n, p);
    let release = &cluster.release;
    if !at_least(4, 8, 0) || (major, minor) == (5, 0) {
        emit(
            codes::EMR_RELEASE_FEATURE,
            format!("instance fleets need EMR 4.8.0 or later (not 5.0.x); `{release}` does not have them"),
            "release",
            "use a current release such as `emr-6.15.0` or `emr-7.1.0`".into(),
        );
    }
    if cluster.scaling.is_some() && (!at_least(5, 30, 0) || (major, minor, patch) == (6, 0, 0)) {
        emit(
            codes::EMR_RELEASE_FEATURE,
            format!("managed scaling needs EMR 5.30.0 or later (not 6.0.0); `{release}` does not have it"),
            "scaling",
            "upgrade `release`, or remove `scaling`".into(),
        );
    }
    if cluster.auto_termination_idle_seconds.is_some() && (!at_least(5, 30, 0) || (major == 6 && minor < 1)) {
        emit(
            codes::EMR_RELEASE_FEATURE,
            format!("auto-termination needs EMR 5.30.0 or 6.1.0 and later; `{release}` does not have it"),
            "auto_termination_idle_seconds",
            "upgrade `release`, or remove `auto_termination_idle_seconds`".into(),
        );
    }
    // botocore `emr RunJobFlowInput.EbsRootVolumeIops`: "Available in Amazon EMR releases 6.15.0 and later".
    for (set, key) in [
        (cluster.ebs_root_volume_iops.is_some(), "ebs_root_volume_iops"),
        (cluster.ebs_root_volume_throughput.is_some(), "ebs_root_volume_throughput"),
    ] {
        if set && !at_least(6, 15, 0) {
            emit(
                codes::EMR_RELEASE_FEATURE,
                format!(
                    "the root volume's IOPS and throughput need EMR 6.15.0 or later; `{release}` does not have them"
                ),
                key,
                format!("upgrade `release`, or remove `{key}`"),
            );
        }
    }
    if !at_least(5, 21, 0) {
        for (role, fleet) in cluster.fleets() {
            if !fleet.configurations.is_empty() {
                emit(
                    codes::EMR_RELEASE_FEATURE,
                    format!("per-fleet configurations need EMR 5.21.0 or later; `{release}` does not have them"),
                    &format!("{role}.configurations"),
                    "upgrade `release`, or move the configurations to the cluster's `configurations`".into(),
                );
            }
        }
    }
    if !at_least(5, 12, 1) {
        for (role, fleet) in cluster.fleets() {
            if fleet.has_allocation_strategy() {
                emit(
                    codes::EMR_RELEASE_FEATURE,
                    format!("allocation strategies need EMR 5.12.1 or later; `{release}` does not have them"),
                    role.key(),
                    "upgrade `release`, or remove `spot_allocation` and `on_demand_allocation`".into(),
                );
            }
        }
    }
}

/// The path of a configuration property, for diagnostics (`configurations[1].properties."dfs.replication"`).
fn configuration_path(cluster: &EmrCluster, classification: &str, key: &str) -> String {
    fn find(
        configurations: &[converge_model::Configuration],
        classification: &str,
        key: &str,
        prefix: &str,
    ) -> Option<String> {
        configurations.iter().enumerate().find_map(|(i, c)| {
            let here = format!("{prefix}[{i}]");
            if c.classification == classification && c.properties.contains_key(key) {
                return Some(crate::check::child(&format!("{here}.properties"), key));
            }
            find(&c.configurations, classification, key, &format!("{here}.configurations"))
        })
    }
    find(&cluster.configurations, classification, key, "configurations").unwrap_or_else(|| "configurations".into())
}
