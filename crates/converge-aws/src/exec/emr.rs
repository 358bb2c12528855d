//! EMR clusters (instance fleets only). A new cluster is done when it is
//! WAITING or RUNNING; one that terminates on the way fails with EMR's
//! reason. EMR has no client token, so RunJobFlow first looks for the
//! stack's cluster among the active ones by its ownership tags.

use aws_sdk_emr::types::{
    Application, AutoTerminationPolicy, BootstrapActionConfig, ClusterState as SdkState, ComputeLimits,
    ComputeLimitsUnitType, Configuration as SdkConfiguration, EbsBlockDeviceConfig, EbsConfiguration,
    InstanceFleetConfig, InstanceFleetModifyConfig, InstanceFleetProvisioningSpecifications,
    InstanceFleetResizingSpecifications, InstanceFleetType, InstanceTypeConfig, JobFlowInstancesConfig,
    ManagedScalingPolicy, OnDemandProvisioningAllocationStrategy, OnDemandProvisioningSpecification,
    OnDemandResizingSpecification, ScriptBootstrapActionConfig, SpotProvisioningAllocationStrategy,
    SpotProvisioningSpecification, SpotProvisioningTimeoutAction, SpotResizingSpecification, Tag, VolumeSpecification,
};
use converge_executor::{ErrorClass, ExecError, Outcome, Output};
use converge_model::{Configuration, ManagedScaling, ResizeSettings, Tags};
use converge_ops::{EmrOp, FleetConfig, Operation, RunJobFlow};

use super::{Call, is_ours, known, known_all};
use crate::errors::{Answer, exec_error, unless};

/// What EMR answers about a cluster it does not know (any more). EMR has no
/// `ResourceNotFoundException` (botocore's EMR model lists none); it says
/// `ClusterNotFound` or `InvalidRequestException` "… is not valid"
/// (terraform-provider-aws `internal/service/emr/errors.go`, `cluster.go`).
pub(crate) const CLUSTER_GONE: &[Answer] =
    &[Answer::code("ClusterNotFound"), Answer::saying("InvalidRequestException", "is not valid")];

/// What `GetManagedScalingPolicy` answers for a cluster that is shutting down,
/// finished or gone: as no policy (terraform-provider-aws
/// `internal/service/emr/managed_scaling_policy.go`, PR #15541).
pub(crate) const NO_SCALING_POLICY: &[Answer] = &[
    Answer::saying(
        "ValidationException",
        "A job flow that is shutting down, terminated, or finished may not be modified",
    ),
    Answer::saying("ValidationException", "is not valid"),
    Answer::saying("InvalidRequestException", "does not exist"),
    Answer::saying("InvalidRequestException", "is not valid"),
];

/// What `GetAutoTerminationPolicy` answers where auto-termination does not
/// exist (releases before 5.30.0 and 6.1.0, accounts without it, a cluster
/// gone): as no policy (terraform-provider-aws `internal/service/emr/cluster.go`,
/// `findAutoTerminationPolicy`).
pub(crate) const NO_AUTO_TERMINATION: &[Answer] = &[
    Answer::saying("InvalidRequestException", "is not valid"),
    Answer::saying("UnknownOperationException", "Could not find operation GetAutoTerminationPolicy"),
    Answer::saying(
        "ValidationException",
        "Auto-termination is not available for this account when using this release of EMR",
    ),
];

pub(crate) fn tags(tags: &Tags) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

fn configurations(items: &[Configuration]) -> Vec<SdkConfiguration> {
    items
        .iter()
        .map(|c| {
            SdkConfiguration::builder()
                .classification(&c.classification)
                .set_properties((!c.properties.is_empty()).then(|| c.properties.clone().into_iter().collect()))
                .set_configurations((!c.configurations.is_empty()).then(|| configurations(&c.configurations)))
                .build()
        })
        .collect()
}

fn resize(settings: &ResizeSettings) -> InstanceFleetResizingSpecifications {
    let spot = (settings.spot_timeout_minutes.is_some() || settings.spot_allocation.is_some()).then(|| {
        SpotResizingSpecification::builder()
            .set_timeout_duration_minutes(settings.spot_timeout_minutes.and_then(|m| i32::try_from(m).ok()))
            .set_allocation_strategy(
                settings.spot_allocation.map(|a| SpotProvisioningAllocationStrategy::from(a.aws())),
            )
            .build()
    });
    let on_demand =
        (settings.on_demand_timeout_minutes.is_some() || settings.on_demand_allocation.is_some()).then(|| {
            OnDemandResizingSpecification::builder()
                .set_timeout_duration_minutes(settings.on_demand_timeout_minutes.and_then(|m| i32::try_from(m).ok()))
                .set_allocation_strategy(
                    settings.on_demand_allocation.map(|a| OnDemandProvisioningAllocationStrategy::from(a.aws())),
                )
                .build()
        });
    InstanceFleetResizingSpecifications::builder()
        .set_spot_resize_specification(spot)
        .set_on_demand_resize_specification(on_demand)
        .build()
}

fn units(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn fleet(config: &FleetConfig) -> InstanceFleetConfig {
    let types = config.instance_types.iter().map(|t| {
        let ebs = (!t.ebs.is_empty() || t.ebs_optimized.is_some()).then(|| {
            EbsConfiguration::builder()
                .set_ebs_block_device_configs(Some(
                    t.ebs
                        .iter()
                        .map(|v| {
                            EbsBlockDeviceConfig::builder()
                                .volume_specification(
                                    VolumeSpecification::builder()
                                        .volume_type(&v.volume_type)
                                        .size_in_gb(units(v.size))
                                        .set_iops(v.iops.map(units))
                                        .set_throughput(v.throughput.map(units))
                                        .build(),
                                )
                                .volumes_per_instance(units(v.count))
                                .build()
                        })
                        .collect(),
                ))
                .set_ebs_optimized(t.ebs_optimized)
                .build()
        });
        InstanceTypeConfig::builder()
            .instance_type(&t.instance_type)
            .weighted_capacity(units(t.weight))
            .set_bid_price_as_percentage_of_on_demand_price(t.bid_percent)
            .set_ebs_configuration(ebs)
            .set_configurations((!t.configurations.is_empty()).then(|| configurations(&t.configurations)))
            .build()
    });
    let spot = (config.spot_timeout.is_some() || config.spot_allocation.is_some()).then(|| {
        SpotProvisioningSpecification::builder()
            .set_timeout_duration_minutes(config.spot_timeout.map(|t| units(t.minutes)))
            .set_timeout_action(config.spot_timeout.map(|t| SpotProvisioningTimeoutAction::from(t.action.aws())))
            .set_allocation_strategy(config.spot_allocation.map(|a| SpotProvisioningAllocationStrategy::from(a.aws())))
            .build()
    });
    let on_demand = config.on_demand_allocation.map(|a| {
        OnDemandProvisioningSpecification::builder()
            .allocation_strategy(OnDemandProvisioningAllocationStrategy::from(a.aws()))
            .build()
    });
    let launch = (spot.is_some() || on_demand.is_some()).then(|| {
        InstanceFleetProvisioningSpecifications::builder()
            .set_spot_specification(spot)
            .set_on_demand_specification(on_demand)
            .build()
    });
    InstanceFleetConfig::builder()
        .set_name(config.name.clone())
        .instance_fleet_type(InstanceFleetType::from(config.role.aws()))
        .target_on_demand_capacity(units(config.on_demand))
        .target_spot_capacity(units(config.spot))
        .set_instance_type_configs(Some(types.collect()))
        .set_launch_specifications(launch)
        .set_resize_specifications(config.resize.as_ref().map(resize))
        .build()
}

fn scaling(policy: &ManagedScaling) -> ManagedScalingPolicy {
    ManagedScalingPolicy::builder()
        .compute_limits(
            ComputeLimits::builder()
                .unit_type(ComputeLimitsUnitType::from(policy.unit.aws()))
                .minimum_capacity_units(units(policy.min))
                .maximum_capacity_units(units(policy.max))
                .set_maximum_on_demand_capacity_units(policy.max_on_demand.map(units))
                .set_maximum_core_capacity_units(policy.max_core.map(units))
                .build(),
        )
        .build()
}

/// The clusters EMR lists in `states`: one `ListClusters` a page of 50.
/// `address` names what the call is for in an error.
pub(crate) async fn list_clusters(
    aws: &crate::Aws,
    states: &[SdkState],
    address: &converge_model::Address,
) -> Result<Vec<aws_sdk_emr::types::ClusterSummary>, ExecError> {
    let pages = aws
        .emr
        .list_clusters()
        .set_cluster_states(Some(states.to_vec()))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| exec_error(e, "ListClusters", address))?;
    Ok(pages.into_iter().flat_map(|p| p.clusters.unwrap_or_default()).collect())
}

/// This stack's active cluster for the create, made by an earlier start of it
/// whose answer was lost.
async fn own_cluster(call: &Call<'_>, run: &RunJobFlow) -> Result<Option<String>, ExecError> {
    let emr = &call.aws.emr;
    let active = [SdkState::Starting, SdkState::Bootstrapping, SdkState::Running, SdkState::Waiting];
    let listed = list_clusters(call.aws, &active, call.address).await?;
    for cluster in listed.iter().filter(|c| c.name() == Some(run.name.as_str())) {
        let id = cluster.id().unwrap_or_default();
        let described = emr
            .describe_cluster()
            .cluster_id(id)
            .send()
            .await
            .map_err(|e| exec_error(e, "DescribeCluster", call.address))?;
        let live: Tags = described
            .cluster()
            .map(|c| {
                c.tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        if is_ours(&live, &run.tags) {
            return Ok(Some(id.to_owned()));
        }
    }
    Ok(None)
}

async fn run_job_flow(call: &Call<'_>, run: &RunJobFlow) -> Result<String, ExecError> {
    let group = |id: &Option<converge_ops::Id>| id.as_ref().map(|g| known(g).to_owned());
    let instances = JobFlowInstancesConfig::builder()
        .set_ec2_subnet_ids(Some(known_all(&run.subnets)))
        .set_ec2_key_name(run.key_name.clone())
        .set_emr_managed_master_security_group(group(&run.master_security_group))
        .set_emr_managed_slave_security_group(group(&run.core_security_group))
        .set_service_access_security_group(group(&run.service_access_security_group))
        .set_additional_master_security_groups(
            (!run.additional_master_security_groups.is_empty())
                .then(|| known_all(&run.additional_master_security_groups)),
        )
        .set_additional_slave_security_groups(
            (!run.additional_core_security_groups.is_empty()).then(|| known_all(&run.additional_core_security_groups)),
        )
        // A long-running cluster: without this EMR terminates it once it has no steps.
        .keep_job_flow_alive_when_no_steps(true)
        .termination_protected(run.termination_protected)
        .set_instance_fleets(Some(run.fleets.iter().map(fleet).collect()))
        .build();
    let bootstrap: Vec<BootstrapActionConfig> = run
        .bootstrap
        .iter()
        .map(|b| {
            BootstrapActionConfig::builder()
                .name(&b.name)
                .script_bootstrap_action(
                    ScriptBootstrapActionConfig::builder()
                        .path(&b.path)
                        .set_args((!b.args.is_empty()).then(|| b.args.clone()))
                        .build(),
                )
                .build()
        })
        .collect();
    let started = call
        .aws
        .emr
        .run_job_flow()
        .name(&run.name)
        .release_label(&run.release)
        .set_applications(Some(run.applications.iter().map(|a| Application::builder().name(a).build()).collect()))
        .service_role(&run.service_role)
        .job_flow_role(&run.instance_profile)
        .set_log_uri(run.log_uri.clone())
        .instances(instances)
        .set_bootstrap_actions((!bootstrap.is_empty()).then_some(bootstrap))
        .set_configurations((!run.configurations.is_empty()).then(|| configurations(&run.configurations)))
        .set_ebs_root_volume_size(run.ebs_root_volume_size.map(units))
        .set_ebs_root_volume_iops(run.ebs_root_volume_iops.map(units))
        .set_ebs_root_volume_throughput(run.ebs_root_volume_throughput.map(units))
        .set_auto_termination_policy(
            run.auto_termination_idle_seconds.map(|s| AutoTerminationPolicy::builder().idle_timeout(s).build()),
        )
        .step_concurrency_level(units(run.step_concurrency))
        .set_managed_scaling_policy(run.scaling.as_ref().map(scaling))
        .set_tags(Some(tags(&run.tags)))
        .send()
        .await
        .map_err(|e| exec_error(e, "RunJobFlow", call.address))?;
    call.created_id("RunJobFlow", started.job_flow_id())
}

pub(super) async fn start(call: &Call<'_>, operation: &Operation, op: &EmrOp) -> Result<Outcome, ExecError> {
    let emr = &call.aws.emr;
    let name = operation.aws_operation();
    let done = Ok(Outcome::Done(Output::none()));
    match op {
        EmrOp::RunJobFlow(run) => {
            // Look first only when this connection sent the create before (`Sent`).
            let made = if call.aws.sent.again(call.address) { own_cluster(call, run).await? } else { None };
            match made {
                Some(id) => poll(call, operation, &Output::id(id)).await,
                // A cluster just asked for is STARTING for minutes: the first look is one poll interval away.
                None => {
                    let id = run_job_flow(call, run).await?;
                    Ok(call.pending_polled(
                        Output::id(id.clone()),
                        format!("cluster {id} to be WAITING (now STARTING)"),
                        ("emr", "DescribeCluster"),
                    ))
                }
            }
        }
        EmrOp::AddInstanceFleet { cluster, fleet: config } => {
            // Look first: a retry after a lost answer finds the fleet it added
            // (a cluster has at most one fleet of each type).
            let fleets = fleets_of(call, known(cluster)).await?;
            let role = config.role.aws();
            if let Some(existing) = fleets.iter().find(|f| f.instance_fleet_type().map(|t| t.as_str()) == Some(role)) {
                if config.name.is_none() || existing.name() == config.name.as_deref() {
                    return done;
                }
                return Err(call
                    .fail(
                        ErrorClass::Invalid,
                        name,
                        "FleetExists",
                        format!(
                            "cluster {} already has a {} fleet `{}`",
                            known(cluster),
                            config.role,
                            existing.name().unwrap_or_default()
                        ),
                    )
                    .with_hint("plan again: someone added a fleet of this type since the plan was made"));
            }
            emr.add_instance_fleet()
                .cluster_id(known(cluster))
                .instance_fleet(fleet(config))
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            done
        }
        EmrOp::ModifyInstanceFleet { cluster, fleet: fleet_id, on_demand, spot, resize: settings, instance_types } => {
            let types = instance_types.as_ref().map(|types| {
                types
                    .iter()
                    .map(|t| {
                        InstanceTypeConfig::builder()
                            .instance_type(&t.instance_type)
                            .set_configurations(Some(configurations(&t.configurations)))
                            .build()
                    })
                    .collect()
            });
            if types.is_some() {
                settled(call, known(cluster), fleet_id).await?;
            }
            let modify = InstanceFleetModifyConfig::builder()
                .instance_fleet_id(fleet_id)
                .set_target_on_demand_capacity(on_demand.map(units))
                .set_target_spot_capacity(spot.map(units))
                .set_resize_specifications(settings.as_ref().map(resize))
                .set_instance_type_configs(types)
                .build();
            emr.modify_instance_fleet()
                .cluster_id(known(cluster))
                .instance_fleet(modify)
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            // The resize runs in the background; managed scaling and schedulers resize too, so converge does not wait on it.
            done
        }
        EmrOp::PutManagedScalingPolicy { cluster, policy } => {
            emr.put_managed_scaling_policy()
                .cluster_id(known(cluster))
                .managed_scaling_policy(scaling(policy))
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            done
        }
        EmrOp::RemoveManagedScalingPolicy { cluster } => {
            emr.remove_managed_scaling_policy()
                .cluster_id(known(cluster))
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            done
        }
        EmrOp::SetTerminationProtection { cluster, protected } => {
            emr.set_termination_protection()
                .job_flow_ids(known(cluster))
                .termination_protected(*protected)
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            done
        }
        EmrOp::PutAutoTerminationPolicy { cluster, idle_seconds } => {
            emr.put_auto_termination_policy()
                .cluster_id(known(cluster))
                .auto_termination_policy(AutoTerminationPolicy::builder().idle_timeout(*idle_seconds).build())
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            done
        }
        EmrOp::RemoveAutoTerminationPolicy { cluster } => {
            emr.remove_auto_termination_policy()
                .cluster_id(known(cluster))
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            done
        }
        EmrOp::ModifyCluster { cluster, step_concurrency } => {
            emr.modify_cluster()
                .cluster_id(known(cluster))
                .step_concurrency_level(units(*step_concurrency))
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            done
        }
        EmrOp::TerminateCluster { cluster } => {
            let result = emr.terminate_job_flows().job_flow_ids(known(cluster)).send().await;
            unless(result, CLUSTER_GONE, name, call.address)?;
            poll(call, operation, &Output::none()).await
        }
    }
}

/// The instance fleets of a cluster, every page.
async fn fleets_of(call: &Call<'_>, cluster: &str) -> Result<Vec<aws_sdk_emr::types::InstanceFleet>, ExecError> {
    let pages: Vec<_> = call
        .aws
        .emr
        .list_instance_fleets()
        .cluster_id(cluster)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| exec_error(e, "ListInstanceFleets", call.address))?;
    Ok(pages.into_iter().flat_map(|page| page.instance_fleets.unwrap_or_default()).collect())
}

/// Waits, as a conflict the engine retries, while the fleet is not RUNNING: a
/// reconfiguration right after a resize (or while managed scaling resizes)
/// would meet a refusal whose wording AWS does not document, so converge asks
/// first (one ListInstanceFleets) instead of reading the refusal.
async fn settled(call: &Call<'_>, cluster: &str, fleet: &str) -> Result<(), ExecError> {
    let state = fleets_of(call, cluster)
        .await?
        .iter()
        .find(|f| f.id() == Some(fleet))
        .and_then(|f| f.status()?.state())
        .map(|s| s.as_str().to_owned());
    match state.as_deref() {
        Some("RUNNING") | None => Ok(()),
        Some(state) => Err(call.fail(
            ErrorClass::Conflict,
            "ModifyInstanceFleet",
            "FleetNotSettled",
            format!("instance fleet {fleet} is {state}; it is reconfigured once it is RUNNING"),
        )),
    }
}

pub(super) async fn poll(call: &Call<'_>, operation: &Operation, progress: &Output) -> Result<Outcome, ExecError> {
    let (id, creating) = match operation {
        Operation::Emr(EmrOp::RunJobFlow(_)) => (progress.id.clone().unwrap_or_default(), true),
        Operation::Emr(EmrOp::TerminateCluster { cluster }) => (known(cluster).to_owned(), false),
        _ => return Ok(Outcome::Done(progress.clone())),
    };
    let described = call.aws.emr.describe_cluster().cluster_id(&id).send().await;
    let described = unless(described, CLUSTER_GONE, "DescribeCluster", call.address)?;
    let status = described.as_ref().and_then(|d| d.cluster()).and_then(|c| c.status());
    let state = status.and_then(|s| s.state()).map(|s| s.as_str().to_owned());
    let Some(state) = state else {
        return if creating {
            Err(call.fail(
                ErrorClass::NotFound,
                "DescribeCluster",
                "ClusterNotFound",
                format!("cluster {id} does not exist"),
            ))
        } else {
            Ok(Outcome::Done(Output::none()))
        };
    };
    match (creating, state.as_str()) {
        (true, "WAITING" | "RUNNING") => Ok(Outcome::Done(progress.clone())),
        (true, "TERMINATING" | "TERMINATED" | "TERMINATED_WITH_ERRORS") => {
            let reason = status.and_then(|s| s.state_change_reason());
            let code = reason.and_then(|r| r.code()).map_or("UNKNOWN", |c| c.as_str()).to_owned();
            let message = reason.and_then(|r| r.message()).unwrap_or("EMR gave no reason");
            Err(call
                .fail(ErrorClass::Fatal, "RunJobFlow", &code, format!("cluster {id} is {state} before it started: {message}"))
                .with_hint(format!("fix what EMR reports (capacity, subnets, roles, bootstrap actions), then apply again: a new cluster replaces {id}")))
        }
        (true, _) => Ok(call.pending_polled(
            progress.clone(),
            format!("cluster {id} to be WAITING (now {state})"),
            ("emr", "DescribeCluster"),
        )),
        (false, "TERMINATED" | "TERMINATED_WITH_ERRORS") => Ok(Outcome::Done(Output::none())),
        (false, _) => Ok(call.pending_polled(
            Output::none(),
            format!("cluster {id} to be TERMINATED (now {state})"),
            ("emr", "DescribeCluster"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::{Answer, CLUSTER_GONE, NO_AUTO_TERMINATION, NO_SCALING_POLICY};

    fn any(answers: &[Answer], code: &str, message: &str) -> bool {
        answers.iter().any(|a| a.matches(code, message))
    }

    #[test]
    fn emrs_answers_for_nothing_there_read_as_nothing_there() {
        assert!(any(CLUSTER_GONE, "InvalidRequestException", "Cluster id 'j-0NOSUCH' is not valid."));
        assert!(any(CLUSTER_GONE, "ClusterNotFound", ""));
        assert!(!any(CLUSTER_GONE, "InvalidRequestException", "The instance fleet is in RESIZING state"));
        let finished = "A job flow that is shutting down, terminated, or finished may not be modified.";
        assert!(any(NO_SCALING_POLICY, "ValidationException", finished));
        assert!(!any(NO_SCALING_POLICY, "ValidationException", "1 validation error detected"));
        let old_release = "Auto-termination is not available for this account when using this release of EMR";
        assert!(any(NO_AUTO_TERMINATION, "ValidationException", old_release));
        let unknown = "Could not find operation GetAutoTerminationPolicy for version 2009-03-31";
        assert!(any(NO_AUTO_TERMINATION, "UnknownOperationException", unknown));
        assert!(!any(NO_AUTO_TERMINATION, "ThrottlingException", "Rate exceeded"));
    }
}
