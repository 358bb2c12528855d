//! An EMR cluster and its instance fleets.

use std::collections::BTreeMap;

use converge_model::FleetRole::{Core, Master, Task};
use converge_model::live::{LiveEmrCluster, LiveFleet};
use converge_model::{
    Address, Capacity, EmrCluster, FleetRole, Kind, ManagedScaling, OnDemandAllocation, Ref, SpotAllocation,
    SpotTimeoutAction,
};
use converge_ops::{
    EmrOp, FleetConfig, Id, InstanceTypeSpec, Operation, Phase, RunJobFlow, SpotTimeout, TypeConfigurations,
};

use crate::attrs::{
    Attrs, FleetPart, FleetPart as P, bootstrap_text, configurations, configurations_value, desired_type, fleet_path,
    launch_text, live_fleet_configurations, live_resize, live_type, resize_value, scaling_value, tag_map,
};
use crate::desired::Resolver;
use crate::fields::Mutability::{self, InPlace, Replace};
use crate::fields::{FLEET_NAME_FIXED, FLEET_TYPES_FIXED, LAUNCH_FIXED};
use crate::normalize;
use crate::operations::{Changed, Context, ResourceOps};
use crate::value::Value;

/// A field of a cluster: its own, or a part of one of its fleets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Name,
    Release,
    Applications,
    Subnets,
    ServiceRole,
    InstanceProfile,
    MasterSecurityGroup,
    CoreSecurityGroup,
    ServiceAccessSecurityGroup,
    AdditionalMasterSecurityGroups,
    AdditionalCoreSecurityGroups,
    LogUri,
    KeyName,
    Bootstrap,
    Configurations,
    EbsRootVolumeSize,
    EbsRootVolumeIops,
    EbsRootVolumeThroughput,
    TerminationProtection,
    AutoTerminationIdleSeconds,
    StepConcurrency,
    Fleet(FleetRole, FleetPart),
    Scaling,
    Tags,
}

impl Field {
    /// Every field, in the order plans show them: a master fleet has a market
    /// (one instance, On-Demand or Spot), core and task fleets capacities and resizes.
    pub(crate) const ALL: &'static [Field] = &[
        Field::Name,
        Field::Release,
        Field::Applications,
        Field::Subnets,
        Field::ServiceRole,
        Field::InstanceProfile,
        Field::MasterSecurityGroup,
        Field::CoreSecurityGroup,
        Field::ServiceAccessSecurityGroup,
        Field::AdditionalMasterSecurityGroups,
        Field::AdditionalCoreSecurityGroups,
        Field::LogUri,
        Field::KeyName,
        Field::Bootstrap,
        Field::Configurations,
        Field::EbsRootVolumeSize,
        Field::EbsRootVolumeIops,
        Field::EbsRootVolumeThroughput,
        Field::TerminationProtection,
        Field::AutoTerminationIdleSeconds,
        Field::StepConcurrency,
        Field::Fleet(Master, P::Name),
        Field::Fleet(Master, P::Market),
        Field::Fleet(Master, P::InstanceTypes),
        Field::Fleet(Master, P::Launch),
        Field::Fleet(Master, P::Configurations),
        Field::Fleet(Core, P::Name),
        Field::Fleet(Core, P::InstanceTypes),
        Field::Fleet(Core, P::Launch),
        Field::Fleet(Core, P::OnDemand),
        Field::Fleet(Core, P::Spot),
        Field::Fleet(Core, P::Resize),
        Field::Fleet(Core, P::Configurations),
        Field::Fleet(Task, P::Name),
        Field::Fleet(Task, P::InstanceTypes),
        Field::Fleet(Task, P::Launch),
        Field::Fleet(Task, P::OnDemand),
        Field::Fleet(Task, P::Spot),
        Field::Fleet(Task, P::Resize),
        Field::Fleet(Task, P::Configurations),
        Field::Scaling,
        Field::Tags,
    ];

    pub(crate) const fn path(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Release => "release",
            Field::Applications => "applications",
            Field::Subnets => "subnets",
            Field::ServiceRole => "service_role",
            Field::InstanceProfile => "instance_profile",
            Field::MasterSecurityGroup => "master_security_group",
            Field::CoreSecurityGroup => "core_security_group",
            Field::ServiceAccessSecurityGroup => "service_access_security_group",
            Field::AdditionalMasterSecurityGroups => "additional_master_security_groups",
            Field::AdditionalCoreSecurityGroups => "additional_core_security_groups",
            Field::LogUri => "log_uri",
            Field::KeyName => "key_name",
            Field::Bootstrap => "bootstrap",
            Field::Configurations => "configurations",
            Field::EbsRootVolumeSize => "ebs_root_volume_size",
            Field::EbsRootVolumeIops => "ebs_root_volume_iops",
            Field::EbsRootVolumeThroughput => "ebs_root_volume_throughput",
            Field::TerminationProtection => "termination_protection",
            Field::AutoTerminationIdleSeconds => "auto_termination_idle_seconds",
            Field::StepConcurrency => "step_concurrency",
            Field::Fleet(role, part) => fleet_path(role, part),
            Field::Scaling => "scaling",
            Field::Tags => "tags",
        }
    }

    pub(crate) const fn mutability(self) -> Mutability {
        const GROUPS: &str = "EMR security groups are fixed at creation";
        match self {
            Field::Name => Replace("EMR cannot rename a cluster"),
            Field::Release => Replace("the release is fixed at creation"),
            Field::Applications => Replace("applications are installed at creation"),
            Field::Subnets => Replace("EMR chooses the subnet and AZ at creation"),
            Field::ServiceRole => Replace("the service role is fixed at creation"),
            Field::InstanceProfile => Replace("the EC2 instance profile is fixed at creation"),
            Field::MasterSecurityGroup
            | Field::CoreSecurityGroup
            | Field::ServiceAccessSecurityGroup
            | Field::AdditionalMasterSecurityGroups
            | Field::AdditionalCoreSecurityGroups => Replace(GROUPS),
            Field::LogUri => Replace("the log location is fixed at creation"),
            Field::KeyName => Replace("the EC2 key pair is fixed at creation"),
            Field::Bootstrap => Replace("bootstrap actions run only at creation"),
            Field::Configurations => {
                Replace("cluster configurations are set at creation (per-fleet `configurations` change in place)")
            }
            Field::EbsRootVolumeSize => Replace("the root volume size is fixed at creation"),
            Field::EbsRootVolumeIops | Field::EbsRootVolumeThroughput => {
                Replace("the root volume's IOPS and throughput are fixed at creation")
            }
            Field::TerminationProtection | Field::AutoTerminationIdleSeconds | Field::StepConcurrency => InPlace,
            Field::Fleet(_, P::Name) => Replace(FLEET_NAME_FIXED),
            Field::Fleet(_, P::Market) => Replace(
                "the master fleet runs one instance, On-Demand or Spot, and ModifyInstanceFleet cannot resize it",
            ),
            Field::Fleet(_, P::InstanceTypes) => Replace(FLEET_TYPES_FIXED),
            Field::Fleet(_, P::Launch) => Replace(LAUNCH_FIXED),
            Field::Fleet(_, P::OnDemand | P::Spot | P::Resize | P::Configurations) => InPlace,
            Field::Scaling | Field::Tags => InPlace,
        }
    }
}

/// The field table of a cluster (`kinds::fields_of`).
pub(crate) const TABLE: &[crate::fields::Field] = &{
    let mut table = [crate::fields::Field { path: "", mutability: InPlace }; Field::ALL.len()];
    let mut i = 0;
    while i < Field::ALL.len() {
        table[i] = crate::fields::Field { path: Field::ALL[i].path(), mutability: Field::ALL[i].mutability() };
        i += 1;
    }
    table
};

pub(crate) fn desired(c: &DesiredCluster) -> Attrs {
    let run = &c.run;
    let group = |g: &Option<Id>| g.as_ref().map_or(Value::Null, Value::id);
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Name => Value::str(&run.name),
            Field::Release => Value::str(&run.release),
            Field::Applications => Value::set(run.applications.iter().map(|s| Value::Str(s.to_ascii_lowercase()))),
            Field::Subnets => Value::ids(&run.subnets),
            Field::ServiceRole => Value::str(&run.service_role),
            Field::InstanceProfile => Value::str(&run.instance_profile),
            Field::MasterSecurityGroup => group(&run.master_security_group),
            Field::CoreSecurityGroup => group(&run.core_security_group),
            Field::ServiceAccessSecurityGroup => group(&run.service_access_security_group),
            Field::AdditionalMasterSecurityGroups => Value::ids(&run.additional_master_security_groups),
            Field::AdditionalCoreSecurityGroups => Value::ids(&run.additional_core_security_groups),
            Field::LogUri => run.log_uri.as_deref().map_or(Value::Null, |u| Value::Str(normalize::s3_uri(u))),
            Field::KeyName => Value::opt_str(run.key_name.as_deref()),
            Field::Bootstrap => Value::List(
                run.bootstrap.iter().map(|b| Value::Str(bootstrap_text(&b.name, &b.path, &b.args))).collect(),
            ),
            Field::Configurations => configurations_value(&run.configurations),
            Field::EbsRootVolumeSize => run.ebs_root_volume_size.map_or(Value::Null, Value::Int),
            Field::EbsRootVolumeIops => run.ebs_root_volume_iops.map_or(Value::Null, Value::Int),
            Field::EbsRootVolumeThroughput => run.ebs_root_volume_throughput.map_or(Value::Null, Value::Int),
            Field::TerminationProtection => Value::Bool(run.termination_protected),
            Field::AutoTerminationIdleSeconds => run.auto_termination_idle_seconds.map_or(Value::Null, Value::Int),
            Field::StepConcurrency => Value::Int(run.step_concurrency),
            Field::Fleet(role, part) => desired_fleet(run.fleets.iter().find(|f| f.role == role)?, part),
            Field::Scaling => run.scaling.as_ref().map_or(Value::Null, scaling_value),
            Field::Tags => tag_map(&run.tags),
        })
    })
}

fn desired_fleet(fleet: &FleetConfig, part: FleetPart) -> Value {
    match part {
        P::Name => Value::opt_str(fleet.name.as_deref()),
        P::InstanceTypes => Value::set(fleet.instance_types.iter().map(desired_type)),
        P::Launch => launch_text(
            fleet.spot_timeout.map(|t| (t.minutes, t.action)),
            fleet.spot_allocation,
            fleet.on_demand_allocation,
        ),
        P::Configurations => {
            configurations_value(fleet.instance_types.first().map(|t| t.configurations.as_slice()).unwrap_or_default())
        }
        P::Market => Value::str(if fleet.on_demand > 0 { "on-demand" } else { "spot" }),
        P::OnDemand => Value::Int(fleet.on_demand),
        P::Spot => Value::Int(fleet.spot),
        P::Resize => fleet.resize.as_ref().map_or(Value::Null, resize_value),
    }
}

pub(crate) fn live(c: &LiveEmrCluster) -> Attrs {
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Name => Value::str(&c.name),
            Field::Release => Value::str(&c.release),
            Field::Applications => Value::set(c.applications.iter().map(|s| Value::Str(s.to_ascii_lowercase()))),
            Field::Subnets => Value::strings(&c.subnet_ids),
            Field::ServiceRole => Value::str(c.service_role.rsplit('/').next().unwrap_or(&c.service_role)),
            Field::InstanceProfile => Value::str(c.instance_profile.rsplit('/').next().unwrap_or(&c.instance_profile)),
            Field::MasterSecurityGroup => Value::opt_str(c.master_security_group.as_deref()),
            Field::CoreSecurityGroup => Value::opt_str(c.core_security_group.as_deref()),
            Field::ServiceAccessSecurityGroup => Value::opt_str(c.service_access_security_group.as_deref()),
            Field::AdditionalMasterSecurityGroups => Value::strings(&c.additional_master_security_groups),
            Field::AdditionalCoreSecurityGroups => Value::strings(&c.additional_core_security_groups),
            Field::LogUri => c.log_uri.as_deref().map_or(Value::Null, |u| Value::Str(normalize::s3_uri(u))),
            Field::KeyName => Value::opt_str(c.key_name.as_deref()),
            Field::Bootstrap => {
                Value::List(c.bootstrap.iter().map(|b| Value::Str(bootstrap_text(&b.name, &b.path, &b.args))).collect())
            }
            Field::Configurations => configurations_value(&configurations(&c.configurations)),
            Field::EbsRootVolumeSize => c.ebs_root_volume_size.map_or(Value::Null, Value::Int),
            Field::EbsRootVolumeIops => c.ebs_root_volume_iops.map_or(Value::Null, Value::Int),
            Field::EbsRootVolumeThroughput => c.ebs_root_volume_throughput.map_or(Value::Null, Value::Int),
            Field::TerminationProtection => Value::Bool(c.termination_protection),
            Field::AutoTerminationIdleSeconds => c.auto_termination_idle_seconds.map_or(Value::Null, Value::Int),
            Field::StepConcurrency => Value::Int(c.step_concurrency),
            Field::Fleet(role, part) => live_fleet(c.fleets.iter().find(|f| f.role == role)?, part),
            Field::Scaling => {
                let known = c.scaling.as_ref().and_then(|s| {
                    Some(ManagedScaling {
                        unit: converge_model::ScalingUnit::from_aws(&s.unit)?,
                        min: s.min,
                        max: s.max,
                        max_on_demand: s.max_on_demand,
                        max_core: s.max_core,
                    })
                });
                match (&c.scaling, known) {
                    (_, Some(scaling)) => scaling_value(&scaling),
                    (Some(s), None) => Value::Str(format!("unit {}", s.unit)),
                    (None, None) => Value::Null,
                }
            }
            Field::Tags => tag_map(&c.tags),
        })
    })
}

fn live_fleet(fleet: &LiveFleet, part: FleetPart) -> Value {
    match part {
        P::Name => Value::opt_str(fleet.name.as_deref()),
        P::InstanceTypes => Value::set(fleet.instance_types.iter().map(live_type)),
        P::Launch => {
            let timeout = fleet
                .spot_timeout_minutes
                .zip(fleet.spot_timeout_action.as_deref().and_then(SpotTimeoutAction::from_aws));
            launch_text(
                timeout,
                fleet.spot_allocation.as_deref().and_then(SpotAllocation::from_aws),
                fleet.on_demand_allocation.as_deref().and_then(OnDemandAllocation::from_aws),
            )
        }
        P::Configurations => live_fleet_configurations(fleet),
        P::Market => Value::str(if fleet.target_on_demand > 0 { "on-demand" } else { "spot" }),
        P::OnDemand => Value::Int(fleet.target_on_demand),
        P::Spot => Value::Int(fleet.target_spot),
        P::Resize => resize_value(&live_resize(fleet.resize.as_ref())),
    }
}

// ---- what the spec wants --------------------------------------------------------

pub(crate) struct DesiredCluster {
    /// The cluster as `RunJobFlow` creates it (capacities at creation, user tags).
    pub run: RunJobFlow,
    pub capacity: BTreeMap<FleetRole, FleetCapacity>,
}

/// A fleet's capacity as the spec states it (fixed, a range, or external).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FleetCapacity {
    pub on_demand: Capacity,
    pub spot: Capacity,
}

impl DesiredCluster {
    pub(crate) fn fleet(&self, role: FleetRole) -> Option<&FleetConfig> {
        self.run.fleets.iter().find(|f| f.role == role)
    }
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

pub(crate) fn cluster(r: &Resolver<'_>, c: &EmrCluster) -> DesiredCluster {
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
        ebs_root_volume_iops: _,
        ebs_root_volume_throughput: _,
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
        recovery: _,
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
            ebs_root_volume_iops: c.ebs_root_volume_iops,
            ebs_root_volume_throughput: c.ebs_root_volume_throughput,
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

// ---- operations ----------------------------------------------------------------

pub(crate) fn create_cluster(
    ctx: &Context<'_>,
    ops: &mut ResourceOps,
    address: &Address,
    c: &DesiredCluster,
    phase: Phase,
) {
    let run = RunJobFlow { tags: ctx.creation_tags(address, &c.run.tags), ..c.run.clone() };
    let fields: Vec<&'static str> =
        crate::kinds::fields_of(converge_model::Kind::EmrCluster).iter().map(|f| f.path).collect();
    ops.push(phase, Operation::Emr(EmrOp::RunJobFlow(Box::new(run))), &fields, &[]);
}

pub(crate) fn update_cluster(ops: &mut ResourceOps, c: &DesiredCluster, live: &LiveEmrCluster, changed: &Changed<'_>) {
    let cluster = Id::known(&live.id);
    let update = Phase::Update;
    let run = &c.run;
    if changed.has(Field::TerminationProtection.path()) {
        let operation = Operation::Emr(EmrOp::SetTerminationProtection {
            cluster: cluster.clone(),
            protected: run.termination_protected,
        });
        ops.push(update, operation, &[Field::TerminationProtection.path()], &[]);
    }
    if changed.has(Field::AutoTerminationIdleSeconds.path()) {
        let operation = match run.auto_termination_idle_seconds {
            Some(idle_seconds) => {
                Operation::Emr(EmrOp::PutAutoTerminationPolicy { cluster: cluster.clone(), idle_seconds })
            }
            None => Operation::Emr(EmrOp::RemoveAutoTerminationPolicy { cluster: cluster.clone() }),
        };
        ops.push(update, operation, &[Field::AutoTerminationIdleSeconds.path()], &[]);
    }
    if changed.has(Field::StepConcurrency.path()) {
        let operation =
            Operation::Emr(EmrOp::ModifyCluster { cluster: cluster.clone(), step_concurrency: run.step_concurrency });
        ops.push(update, operation, &[Field::StepConcurrency.path()], &[]);
    }
    for role in FleetRole::ALL {
        fleet(ops, c, live, role, changed);
    }
    if changed.has(Field::Scaling.path()) {
        let operation = match &run.scaling {
            Some(policy) => {
                Operation::Emr(EmrOp::PutManagedScalingPolicy { cluster: cluster.clone(), policy: policy.clone() })
            }
            None => Operation::Emr(EmrOp::RemoveManagedScalingPolicy { cluster }),
        };
        ops.push(update, operation, &[Field::Scaling.path()], &[]);
    }
}

/// A fleet's changes in place: a new task fleet is added; a running fleet is
/// resized (targets, resize settings) in one ModifyInstanceFleet and
/// reconfigured in another, which lists every instance type of the fleet.
fn fleet(ops: &mut ResourceOps, c: &DesiredCluster, live: &LiveEmrCluster, role: FleetRole, changed: &Changed<'_>) {
    let cluster = Id::known(&live.id);
    let update = Phase::Update;
    let path = |part| fleet_path(role, part);
    let Some(live_fleet) = live.fleet(role) else {
        // Only a task fleet can be added to a running cluster.
        if let Some(fleet) = c.fleet(role).filter(|_| role == FleetRole::Task) {
            let fields: Vec<&'static str> = FleetPart::RESIZABLE.into_iter().map(path).collect();
            ops.push(update, Operation::Emr(EmrOp::AddInstanceFleet { cluster, fleet: fleet.clone() }), &fields, &[]);
        }
        return;
    };
    let units = |part| match changed.after(path(part)) {
        Some(Value::Int(units)) => Some(*units),
        _ => None,
    };
    let (on_demand, spot) =
        if role == FleetRole::Master { (None, None) } else { (units(FleetPart::OnDemand), units(FleetPart::Spot)) };
    let resize = (role != FleetRole::Master && changed.has(path(FleetPart::Resize)))
        .then(|| c.fleet(role).and_then(|f| f.resize.clone()).unwrap_or_default());
    let mut resized = Vec::new();
    if on_demand.is_some() || spot.is_some() || resize.is_some() {
        let mut fields = Vec::new();
        for (part, value) in [
            (FleetPart::OnDemand, on_demand.is_some()),
            (FleetPart::Spot, spot.is_some()),
            (FleetPart::Resize, resize.is_some()),
        ] {
            if value {
                fields.push(path(part));
            }
        }
        let operation = Operation::Emr(EmrOp::ModifyInstanceFleet {
            cluster: cluster.clone(),
            fleet: live_fleet.id.clone(),
            on_demand,
            spot,
            resize,
            instance_types: None,
        });
        resized.push(ops.push(update, operation, &fields, &[]));
    }
    if changed.has(path(FleetPart::Configurations)) {
        let configurations =
            c.fleet(role).and_then(|f| f.instance_types.first()).map(|t| t.configurations.clone()).unwrap_or_default();
        let instance_types = live_fleet
            .instance_types
            .iter()
            .map(|t| TypeConfigurations {
                instance_type: t.instance_type.clone(),
                configurations: configurations.clone(),
            })
            .collect();
        let operation = Operation::Emr(EmrOp::ModifyInstanceFleet {
            cluster,
            fleet: live_fleet.id.clone(),
            on_demand: None,
            spot: None,
            resize: None,
            instance_types: Some(instance_types),
        });
        // One modification of a fleet at a time: EMR refuses another while the fleet resizes.
        ops.push(update, operation, &[path(FleetPart::Configurations)], &resized);
    }
}

/// Termination protection is turned off first when it is on: EMR refuses to terminate a protected cluster.
pub(crate) fn delete_cluster(ops: &mut ResourceOps, c: &LiveEmrCluster, phase: Phase) {
    let cluster = Id::known(&c.id);
    let mut first = Vec::new();
    if c.termination_protection {
        let operation = Operation::Emr(EmrOp::SetTerminationProtection { cluster: cluster.clone(), protected: false });
        first.push(ops.push(phase, operation, &[], &[]));
    }
    ops.push(phase, Operation::Emr(EmrOp::TerminateCluster { cluster }), &[], &first);
}
