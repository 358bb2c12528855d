//! EMR clusters with instance fleets.

use converge_model::live::LiveEmrCluster;
use converge_model::{Address, FleetRole};
use converge_ops::{EmrOp, Id, Operation, Phase, RunJobFlow, TypeConfigurations};

use super::{Changed, Context, ResourceOps};
use crate::attrs::{FleetPart, fleet_path};
use crate::desired::DesiredCluster;
use crate::kinds::emr_cluster::Field as ClusterField;
use crate::value::Value;

pub(super) fn create_cluster(
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

pub(super) fn update_cluster(ops: &mut ResourceOps, c: &DesiredCluster, live: &LiveEmrCluster, changed: &Changed<'_>) {
    let cluster = Id::known(&live.id);
    let update = Phase::Update;
    let run = &c.run;
    if changed.has(ClusterField::TerminationProtection.path()) {
        let operation = Operation::Emr(EmrOp::SetTerminationProtection {
            cluster: cluster.clone(),
            protected: run.termination_protected,
        });
        ops.push(update, operation, &[ClusterField::TerminationProtection.path()], &[]);
    }
    if changed.has(ClusterField::AutoTerminationIdleSeconds.path()) {
        let operation = match run.auto_termination_idle_seconds {
            Some(idle_seconds) => {
                Operation::Emr(EmrOp::PutAutoTerminationPolicy { cluster: cluster.clone(), idle_seconds })
            }
            None => Operation::Emr(EmrOp::RemoveAutoTerminationPolicy { cluster: cluster.clone() }),
        };
        ops.push(update, operation, &[ClusterField::AutoTerminationIdleSeconds.path()], &[]);
    }
    if changed.has(ClusterField::StepConcurrency.path()) {
        let operation =
            Operation::Emr(EmrOp::ModifyCluster { cluster: cluster.clone(), step_concurrency: run.step_concurrency });
        ops.push(update, operation, &[ClusterField::StepConcurrency.path()], &[]);
    }
    for role in FleetRole::ALL {
        fleet(ops, c, live, role, changed);
    }
    if changed.has(ClusterField::Scaling.path()) {
        let operation = match &run.scaling {
            Some(policy) => {
                Operation::Emr(EmrOp::PutManagedScalingPolicy { cluster: cluster.clone(), policy: policy.clone() })
            }
            None => Operation::Emr(EmrOp::RemoveManagedScalingPolicy { cluster }),
        };
        ops.push(update, operation, &[ClusterField::Scaling.path()], &[]);
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
pub(super) fn delete_cluster(ops: &mut ResourceOps, c: &LiveEmrCluster, phase: Phase) {
    let cluster = Id::known(&c.id);
    let mut first = Vec::new();
    if c.termination_protection {
        let operation = Operation::Emr(EmrOp::SetTerminationProtection { cluster: cluster.clone(), protected: false });
        first.push(ops.push(phase, operation, &[], &[]));
    }
    ops.push(phase, Operation::Emr(EmrOp::TerminateCluster { cluster }), &[], &first);
}
