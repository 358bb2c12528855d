//! Clusters with instance fleets, by EMR's rules.

use converge_executor::{ErrorClass, ExecError, Output};
use converge_model::live::{
    ClusterState, LiveBootstrap, LiveConfiguration, LiveEbsVolume, LiveEmrCluster, LiveFleet, LiveInstanceType,
    LiveResize, LiveRule, LiveScaling, LiveState,
};
use converge_model::{Configuration, FleetRole, ManagedScaling, ResizeSettings};
use converge_ops::{EmrOp, FleetConfig, Id};

use crate::{Account, Call};

fn known(id: &Id) -> String {
    id.as_known().unwrap_or_default().to_owned()
}

fn configurations(items: &[Configuration]) -> Vec<LiveConfiguration> {
    items
        .iter()
        .map(|c| LiveConfiguration {
            classification: c.classification.clone(),
            properties: c.properties.clone(),
            configurations: configurations(&c.configurations),
        })
        .collect()
}

fn resize(settings: &ResizeSettings) -> LiveResize {
    LiveResize {
        spot_timeout_minutes: settings.spot_timeout_minutes,
        spot_allocation: settings.spot_allocation.map(|s| s.aws().to_owned()),
        on_demand_timeout_minutes: settings.on_demand_timeout_minutes,
        on_demand_allocation: settings.on_demand_allocation.map(|s| s.aws().to_owned()),
    }
}

fn scaling(policy: &ManagedScaling) -> LiveScaling {
    LiveScaling {
        unit: policy.unit.aws().to_owned(),
        min: policy.min,
        max: policy.max,
        max_on_demand: policy.max_on_demand,
        max_core: policy.max_core,
    }
}

/// A fleet as `ListInstanceFleets` reports it: one EBS entry per volume, EMR's spellings.
/// A fleet as EMR keeps it: an instance type of an EBS-only family given no
/// volumes gets EMR's default ones (EMR Management Guide, "Default Amazon EBS
/// storage for instances"; gp2, as the sandbox answers).
fn fleet(account: &mut Account, cluster: &str, release: &str, config: &FleetConfig) -> LiveFleet {
    let mut fleet = LiveFleet {
        id: account.new_id("if", &format!("{cluster}/{}", config.role.aws()), 13, true),
        role: config.role,
        name: config.name.clone(),
        instance_types: config
            .instance_types
            .iter()
            .map(|t| LiveInstanceType {
                instance_type: t.instance_type.clone(),
                weight: t.weight,
                bid_percent: Some(t.bid_percent.unwrap_or(100.0)),
                ebs: match converge_model::emr::default_ebs_volumes(&t.instance_type, release) {
                    Some((count, size)) if t.ebs.is_empty() => {
                        let volume = LiveEbsVolume { volume_type: "gp2".into(), size, iops: None, throughput: None };
                        std::iter::repeat_n(volume, usize::try_from(count).unwrap_or(0)).collect()
                    }
                    _ => t
                        .ebs
                        .iter()
                        .flat_map(|v| {
                            std::iter::repeat_n(
                                LiveEbsVolume {
                                    volume_type: v.volume_type.clone(),
                                    size: v.size,
                                    iops: v.iops,
                                    throughput: v.throughput,
                                },
                                usize::try_from(v.count.clamp(0, 64)).unwrap_or(0),
                            )
                        })
                        .collect(),
                },
                ebs_optimized: t.ebs_optimized,
                configurations: configurations(&t.configurations),
            })
            .collect(),
        target_on_demand: config.on_demand,
        target_spot: config.spot,
        provisioned_on_demand: config.on_demand,
        provisioned_spot: config.spot,
        spot_timeout_minutes: config.spot_timeout.map(|t| t.minutes),
        spot_timeout_action: config.spot_timeout.map(|t| t.action.aws().to_owned()),
        spot_allocation: config.spot_allocation.map(|s| s.aws().to_owned()),
        // Only a strategy asked for is reported, as the sandbox answers.
        on_demand_allocation: config.on_demand_allocation.map(|s| s.aws().to_owned()),
        resize: config.resize.as_ref().map(resize),
    };
    // Volumes attached make an instance type EBS-optimized unless it said otherwise.
    for instance_type in &mut fleet.instance_types {
        if instance_type.ebs_optimized.is_none() && !instance_type.ebs.is_empty() {
            instance_type.ebs_optimized = Some(true);
        }
    }
    fleet
}

fn check_fleet(call: &Call<'_>, config: &FleetConfig) -> Result<(), ExecError> {
    let invalid = |message: &str| call.fail(ErrorClass::Invalid, "ValidationException", message.to_owned());
    if config.instance_types.is_empty() {
        return Err(invalid("An instance fleet needs at least one instance type"));
    }
    if config.role == FleetRole::Master && config.on_demand + config.spot != 1 {
        return Err(invalid("The master instance fleet must have a target capacity of 1"));
    }
    if config.on_demand < 0 || config.spot < 0 {
        return Err(invalid("Target capacities must not be negative"));
    }
    Ok(())
}

fn cluster<'a>(account: &'a mut Account, call: &Call<'_>, id: &str) -> Result<&'a mut LiveEmrCluster, ExecError> {
    let cluster = account.live.emr_clusters.iter_mut().find(|c| c.id == id).ok_or_else(|| {
        call.fail(ErrorClass::Invalid, "InvalidRequestException", format!("Cluster id '{id}' is not valid."))
    })?;
    if cluster.is_terminated() {
        return Err(call.fail(ErrorClass::Invalid, "InvalidRequestException", format!("Cluster {id} is terminated.")));
    }
    Ok(cluster)
}

/// The rules EMR writes into the managed groups it is handed when a cluster
/// starts (EMR Management Guide, "Working with Amazon EMR-managed security
/// groups"): primary and core reach each other by ICMP, TCP and UDP, both may
/// send anywhere, and in a private subnet the service-access group and the
/// two reach each other on 8443 and the primary the service group on 9443.
/// As the sandbox writes them (`converge-sandbox/src/emr.rs` `managed_rules`);
/// the in-memory account has no route tables, so every subnet is private here.
fn add_managed_rules(live: &mut LiveState, master: Option<String>, core: Option<String>, service: Option<String>) {
    let (Some(master), Some(core)) = (master, core) else { return };
    let rule = |protocol: &str, ports: Option<(i64, i64)>, cidr: Option<&str>, group: Option<&str>| LiveRule {
        protocol: protocol.to_owned(),
        from_port: ports.map(|p| p.0),
        to_port: ports.map(|p| p.1),
        cidr: cidr.map(str::to_owned),
        group_id: group.map(str::to_owned),
        prefix_list_id: None,
        description: None,
    };
    let mut rules: Vec<(&str, bool, LiveRule)> = Vec::new();
    for own in [&master, &core] {
        for peer in [&master, &core] {
            rules.push((own, false, rule("icmp", Some((-1, -1)), None, Some(peer))));
            rules.push((own, false, rule("tcp", Some((0, 65535)), None, Some(peer))));
            rules.push((own, false, rule("udp", Some((0, 65535)), None, Some(peer))));
        }
        rules.push((own, true, rule("-1", None, Some("0.0.0.0/0"), None)));
    }
    if let Some(service) = &service {
        for own in [&master, &core] {
            rules.push((own, false, rule("tcp", Some((8443, 8443)), None, Some(service))));
            rules.push((service, true, rule("tcp", Some((8443, 8443)), None, Some(own))));
        }
        rules.push((service, false, rule("tcp", Some((9443, 9443)), None, Some(&master))));
    }
    for (group, egress, rule) in rules {
        let Some(group) = live.security_groups.iter_mut().find(|g| g.id == group) else { continue };
        let present = if egress { &mut group.egress } else { &mut group.ingress };
        let same = |r: &LiveRule| {
            (&r.protocol, r.from_port, r.to_port, &r.cidr, &r.group_id, &r.prefix_list_id)
                == (&rule.protocol, rule.from_port, rule.to_port, &rule.cidr, &rule.group_id, &rule.prefix_list_id)
        };
        if !present.iter().any(same) {
            present.push(rule);
        }
    }
}

pub(crate) fn apply(account: &mut Account, call: &Call<'_>, op: &EmrOp) -> Result<Output, ExecError> {
    match op {
        EmrOp::RunJobFlow(run) => {
            let invalid = |message: String| call.fail(ErrorClass::Invalid, "ValidationException", message);
            let live = &account.live;
            if !live.iam_roles.iter().any(|r| r.name == run.service_role) {
                return Err(invalid(format!("Invalid ServiceRole: {}", run.service_role)));
            }
            if !live.iam_roles.iter().any(|r| r.name == run.instance_profile && r.instance_profile) {
                return Err(invalid(format!("Invalid InstanceProfile: {}", run.instance_profile)));
            }
            for subnet in run.subnets.iter().map(known) {
                if !live.subnets.iter().any(|s| s.id == subnet) {
                    return Err(invalid(format!("The subnet ID '{subnet}' does not exist")));
                }
            }
            let groups = run
                .master_security_group
                .iter()
                .chain(&run.core_security_group)
                .chain(&run.service_access_security_group)
                .chain(&run.additional_master_security_groups)
                .chain(&run.additional_core_security_groups);
            for group in groups.map(known) {
                if !live.security_groups.iter().any(|g| g.id == group) {
                    return Err(invalid(format!("The security group '{group}' does not exist")));
                }
            }
            let roles: Vec<FleetRole> = run.fleets.iter().map(|f| f.role).collect();
            if !roles.contains(&FleetRole::Master) || !roles.contains(&FleetRole::Core) {
                return Err(invalid("A cluster needs a master and a core instance fleet".into()));
            }
            if (1..roles.len()).any(|i| roles[..i].contains(&roles[i])) {
                return Err(invalid("A cluster has at most one instance fleet of each type".into()));
            }
            for config in &run.fleets {
                check_fleet(call, config)?;
            }
            let id = account.new_id("j", &run.name, 13, true);
            let fleets = run.fleets.iter().map(|config| fleet(account, &id, &run.release, config)).collect();
            account.live.emr_clusters.push(LiveEmrCluster {
                id: id.clone(),
                name: run.name.clone(),
                state: ClusterState::Waiting,
                release: run.release.clone(),
                applications: run.applications.clone(),
                subnet_ids: run.subnets.iter().map(known).collect(),
                service_role: run.service_role.clone(),
                instance_profile: run.instance_profile.clone(),
                master_security_group: run.master_security_group.as_ref().map(known),
                core_security_group: run.core_security_group.as_ref().map(known),
                service_access_security_group: run.service_access_security_group.as_ref().map(known),
                additional_master_security_groups: run.additional_master_security_groups.iter().map(known).collect(),
                additional_core_security_groups: run.additional_core_security_groups.iter().map(known).collect(),
                log_uri: run.log_uri.clone(),
                key_name: run.key_name.clone(),
                bootstrap: run
                    .bootstrap
                    .iter()
                    .map(|b| LiveBootstrap { name: b.name.clone(), path: b.path.clone(), args: b.args.clone() })
                    .collect(),
                configurations: configurations(&run.configurations),
                ebs_root_volume_size: run.ebs_root_volume_size,
                ebs_root_volume_iops: run.ebs_root_volume_iops,
                ebs_root_volume_throughput: run.ebs_root_volume_throughput,
                termination_protection: run.termination_protected,
                auto_termination_idle_seconds: run.auto_termination_idle_seconds,
                step_concurrency: run.step_concurrency,
                visible_to_all_users: true,
                fleets,
                scaling: run.scaling.as_ref().map(scaling),
                master_dns: None,
                state_reason: None,
                tags: run.tags.clone(),
            });
            let (master, core, service) = (
                run.master_security_group.as_ref().map(known),
                run.core_security_group.as_ref().map(known),
                run.service_access_security_group.as_ref().map(known),
            );
            add_managed_rules(&mut account.live, master, core, service);
            Ok(Output::id(id))
        }
        EmrOp::AddInstanceFleet { cluster: id, fleet: config } => {
            let id = known(id);
            check_fleet(call, config)?;
            let existing = cluster(account, call, &id)?;
            if config.role != FleetRole::Task || existing.fleet(FleetRole::Task).is_some() {
                return Err(call.fail(
                    ErrorClass::Invalid,
                    "InvalidRequestException",
                    "Only a task instance fleet can be added, and a cluster has at most one",
                ));
            }
            let release = existing.release.clone();
            let new = fleet(account, &id, &release, config);
            cluster(account, call, &id)?.fleets.push(new);
            Ok(Output::none())
        }
        EmrOp::ModifyInstanceFleet {
            cluster: id,
            fleet: fleet_id,
            on_demand,
            spot,
            resize: new_resize,
            instance_types,
        } => {
            let id = known(id);
            let cluster = cluster(account, call, &id)?;
            let invalid = |message: String| call.fail(ErrorClass::Invalid, "InvalidRequestException", message);
            let fleet = cluster
                .fleets
                .iter_mut()
                .find(|f| f.id == *fleet_id)
                .ok_or_else(|| invalid(format!("Instance fleet {fleet_id} not found")))?;
            if fleet.role == FleetRole::Master && (on_demand.is_some() || spot.is_some()) {
                return Err(invalid("The master instance fleet cannot be resized".into()));
            }
            if let Some(types) = instance_types {
                let mut asked: Vec<&str> = types.iter().map(|t| t.instance_type.as_str()).collect();
                let mut present: Vec<&str> = fleet.instance_types.iter().map(|t| t.instance_type.as_str()).collect();
                asked.sort_unstable();
                present.sort_unstable();
                if asked != present {
                    return Err(call.fail(
                        ErrorClass::Invalid,
                        "ValidationException",
                        "A reconfiguration must list every instance type of the fleet, and only those",
                    ));
                }
            }
            if let Some(units) = on_demand {
                fleet.target_on_demand = *units;
                fleet.provisioned_on_demand = *units;
            }
            if let Some(units) = spot {
                fleet.target_spot = *units;
                fleet.provisioned_spot = *units;
            }
            if let Some(settings) = new_resize {
                let merged = fleet.resize.get_or_insert_with(LiveResize::default);
                let given = resize(settings);
                merged.spot_timeout_minutes = given.spot_timeout_minutes.or(merged.spot_timeout_minutes);
                merged.spot_allocation = given.spot_allocation.or(merged.spot_allocation.take());
                merged.on_demand_timeout_minutes = given.on_demand_timeout_minutes.or(merged.on_demand_timeout_minutes);
                merged.on_demand_allocation = given.on_demand_allocation.or(merged.on_demand_allocation.take());
            }
            for given in instance_types.iter().flatten() {
                if let Some(live) = fleet.instance_types.iter_mut().find(|t| t.instance_type == given.instance_type) {
                    live.configurations = configurations(&given.configurations);
                }
            }
            Ok(Output::none())
        }
        EmrOp::PutManagedScalingPolicy { cluster: id, policy } => {
            cluster(account, call, &known(id))?.scaling = Some(scaling(policy));
            Ok(Output::none())
        }
        EmrOp::RemoveManagedScalingPolicy { cluster: id } => {
            cluster(account, call, &known(id))?.scaling = None;
            Ok(Output::none())
        }
        EmrOp::SetTerminationProtection { cluster: id, protected } => {
            cluster(account, call, &known(id))?.termination_protection = *protected;
            Ok(Output::none())
        }
        EmrOp::PutAutoTerminationPolicy { cluster: id, idle_seconds } => {
            cluster(account, call, &known(id))?.auto_termination_idle_seconds = Some(*idle_seconds);
            Ok(Output::none())
        }
        EmrOp::RemoveAutoTerminationPolicy { cluster: id } => {
            cluster(account, call, &known(id))?.auto_termination_idle_seconds = None;
            Ok(Output::none())
        }
        EmrOp::ModifyCluster { cluster: id, step_concurrency } => {
            cluster(account, call, &known(id))?.step_concurrency = *step_concurrency;
            Ok(Output::none())
        }
        EmrOp::TerminateCluster { cluster: id } => {
            let cluster = cluster(account, call, &known(id))?;
            if cluster.termination_protection {
                return Err(call.fail(
                    ErrorClass::Invalid,
                    "ValidationException",
                    "Could not shut down one or more job flows since they are termination protected.",
                ));
            }
            cluster.state = ClusterState::Terminated;
            Ok(Output::none())
        }
    }
}
