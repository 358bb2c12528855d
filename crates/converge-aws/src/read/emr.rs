//! Clusters that are not terminated: one ListClusters, a DescribeCluster each
//! (clusters carry their tags there), and for the stack's own the fleets,
//! bootstrap actions, managed scaling and auto-termination.

use aws_sdk_emr::types::{ClusterState as SdkState, Configuration as SdkConfiguration, InstanceFleet};
use converge_executor::{ExecError, Scope};
use converge_model::live::{
    ClusterState, LiveBootstrap, LiveConfiguration, LiveEbsVolume, LiveEmrCluster, LiveFleet, LiveInstanceType,
    LiveResize, LiveScaling,
};
use converge_model::{FleetRole, Kind, Tags};
use futures_util::StreamExt as _;
use futures_util::stream;

use super::{PER_SERVICE, reading, wanted};
use crate::Aws;
use crate::errors::{exec_error, unless};
use crate::exec::emr::{NO_AUTO_TERMINATION, NO_SCALING_POLICY, list_clusters};

pub(crate) fn configurations(items: &[SdkConfiguration]) -> Vec<LiveConfiguration> {
    items
        .iter()
        .map(|c| LiveConfiguration {
            classification: c.classification().unwrap_or_default().to_owned(),
            properties: c
                .properties()
                .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            configurations: configurations(c.configurations()),
        })
        .collect()
}

pub(super) async fn read(aws: &Aws, scope: &Scope) -> Result<Vec<LiveEmrCluster>, ExecError> {
    let ids = active_ids(aws).await?;
    let clusters: Vec<Result<Option<LiveEmrCluster>, ExecError>> =
        stream::iter(ids).map(|id| cluster(aws, scope, id)).buffer_unordered(PER_SERVICE).collect().await;
    let mut clusters: Vec<LiveEmrCluster> =
        clusters.into_iter().collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect();
    let missing: Vec<&String> =
        scope.cluster_names.iter().filter(|name| !clusters.iter().any(|c| &c.name == *name)).collect();
    if !missing.is_empty() {
        let address = reading(Kind::EmrCluster);
        let ended = list_clusters(aws, &[SdkState::Terminated, SdkState::TerminatedWithErrors], &address).await?;
        for name in missing {
            if let Some(cluster) = last_terminated(aws, scope, name, &ended).await? {
                clusters.push(cluster);
            }
        }
    }
    clusters.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(clusters)
}

/// The ids of the clusters EMR lists as starting, running, waiting or
/// terminating: one `ListClusters` (a page per 50 clusters), the cheap check
/// `converge watch` makes between full reads.
pub(crate) async fn active_ids(aws: &Aws) -> Result<std::collections::BTreeSet<String>, ExecError> {
    let active =
        [SdkState::Starting, SdkState::Bootstrapping, SdkState::Running, SdkState::Waiting, SdkState::Terminating];
    let listed = list_clusters(aws, &active, &reading(Kind::EmrCluster)).await?;
    Ok(listed.iter().filter_map(|c| c.id().map(str::to_owned)).collect())
}

/// The stack's newest terminated cluster named `name` among `listed` (EMR
/// lists them for two months), read with DescribeCluster. The terminated
/// clusters are listed once for all the spec's clusters that are not running
/// (one `ListClusters` each made an empty account's first plan of 500
/// clusters take 500 of them, at 0.5 a second).
async fn last_terminated(
    aws: &Aws,
    scope: &Scope,
    name: &str,
    listed: &[aws_sdk_emr::types::ClusterSummary],
) -> Result<Option<LiveEmrCluster>, ExecError> {
    let created = |c: &aws_sdk_emr::types::ClusterSummary| {
        c.status().and_then(|s| s.timeline()).and_then(|t| t.creation_date_time()).map(|t| (t.secs(), t.subsec_nanos()))
    };
    let mut named: Vec<&aws_sdk_emr::types::ClusterSummary> =
        listed.iter().filter(|c| c.name() == Some(name)).collect();
    named.sort_by_key(|c| std::cmp::Reverse((created(c), c.id().map(str::to_owned))));
    // The newest of the name that is the stack's (another team may use the name too).
    for summary in named.into_iter().take(3) {
        let Some(id) = summary.id() else { continue };
        if let Some(cluster) = cluster(aws, scope, id.to_owned()).await?
            && super::owned(&cluster.tags, scope)
        {
            return Ok(Some(cluster));
        }
    }
    Ok(None)
}

async fn cluster(aws: &Aws, scope: &Scope, id: String) -> Result<Option<LiveEmrCluster>, ExecError> {
    let address = reading(Kind::EmrCluster);
    let described = aws
        .emr
        .describe_cluster()
        .cluster_id(&id)
        .send()
        .await
        .map_err(|e| exec_error(e, "DescribeCluster", &address))?;
    let Some(c) = described.cluster() else { return Ok(None) };
    let tags: Tags =
        c.tags().iter().filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned()))).collect();
    if !wanted(scope, &tags, Kind::EmrCluster, c.name().unwrap_or_default()) {
        return Ok(None);
    }
    let state = c
        .status()
        .and_then(|s| s.state())
        .and_then(|s| ClusterState::from_aws(s.as_str()))
        .unwrap_or(ClusterState::Terminated);
    // A cluster terminating or terminated is read for its state and reason
    // only (drift's `terminated_in_aws`): nothing compares its fleets,
    // bootstrap actions or policies, and none of them can change any more,
    // so the four calls that read them are not made (and spare EMR's buckets).
    let (fleets, bootstrap, scaling, idle) = if state.is_terminated() {
        (Vec::new(), Vec::new(), None, None)
    } else {
        let fleets = aws.emr.list_instance_fleets().cluster_id(&id).into_paginator().send().try_collect();
        let bootstrap = aws.emr.list_bootstrap_actions().cluster_id(&id).into_paginator().send().try_collect();
        let scaling = aws.emr.get_managed_scaling_policy().cluster_id(&id).send();
        let idle = aws.emr.get_auto_termination_policy().cluster_id(&id).send();
        let (fleets, bootstrap, scaling, idle) = tokio::join!(fleets, bootstrap, scaling, idle);
        let fleets = fleets.map_err(|e| exec_error(e, "ListInstanceFleets", &address))?;
        let bootstrap = bootstrap.map_err(|e| exec_error(e, "ListBootstrapActions", &address))?;
        // A release without auto-termination has no policy to read.
        let scaling = unless(scaling, NO_SCALING_POLICY, "GetManagedScalingPolicy", &address)?;
        let idle = unless(idle, NO_AUTO_TERMINATION, "GetAutoTerminationPolicy", &address)?;
        (fleets, bootstrap, scaling, idle)
    };
    let ec2 = c.ec2_instance_attributes();
    Ok(Some(LiveEmrCluster {
        id,
        name: c.name().unwrap_or_default().to_owned(),
        state,
        release: c.release_label().unwrap_or_default().to_owned(),
        applications: c.applications().iter().filter_map(|a| a.name().map(str::to_owned)).collect(),
        subnet_ids: ec2.map(|e| e.requested_ec2_subnet_ids().to_vec()).unwrap_or_default(),
        service_role: c.service_role().unwrap_or_default().to_owned(),
        instance_profile: ec2.and_then(|e| e.iam_instance_profile()).unwrap_or_default().to_owned(),
        master_security_group: ec2.and_then(|e| e.emr_managed_master_security_group()).map(str::to_owned),
        core_security_group: ec2.and_then(|e| e.emr_managed_slave_security_group()).map(str::to_owned),
        service_access_security_group: ec2.and_then(|e| e.service_access_security_group()).map(str::to_owned),
        additional_master_security_groups: ec2
            .map(|e| e.additional_master_security_groups().to_vec())
            .unwrap_or_default(),
        additional_core_security_groups: ec2.map(|e| e.additional_slave_security_groups().to_vec()).unwrap_or_default(),
        log_uri: c.log_uri().map(str::to_owned),
        key_name: ec2.and_then(|e| e.ec2_key_name()).map(str::to_owned),
        bootstrap: bootstrap
            .iter()
            .flat_map(|p| p.bootstrap_actions())
            .map(|b| LiveBootstrap {
                name: b.name().unwrap_or_default().to_owned(),
                path: b.script_path().unwrap_or_default().to_owned(),
                args: b.args().to_vec(),
            })
            .collect(),
        configurations: configurations(c.configurations()),
        ebs_root_volume_size: c.ebs_root_volume_size().map(i64::from),
        ebs_root_volume_iops: c.ebs_root_volume_iops().map(i64::from),
        ebs_root_volume_throughput: c.ebs_root_volume_throughput().map(i64::from),
        termination_protection: c.termination_protected().unwrap_or(false),
        auto_termination_idle_seconds: idle
            .as_ref()
            .and_then(|i| i.auto_termination_policy())
            .and_then(|p| p.idle_timeout()),
        step_concurrency: c.step_concurrency_level().map_or(1, i64::from),
        visible_to_all_users: c.visible_to_all_users().unwrap_or(true),
        fleets: fleets.iter().flat_map(|p| p.instance_fleets()).filter_map(fleet).collect(),
        scaling: scaling.as_ref().and_then(|s| s.managed_scaling_policy()).and_then(|p| p.compute_limits()).map(|l| {
            LiveScaling {
                unit: l.unit_type().map(|u| u.as_str().to_owned()).unwrap_or_default(),
                min: l.minimum_capacity_units().map_or(0, i64::from),
                max: l.maximum_capacity_units().map_or(0, i64::from),
                max_on_demand: l.maximum_on_demand_capacity_units().map(i64::from),
                max_core: l.maximum_core_capacity_units().map(i64::from),
            }
        }),
        master_dns: c.master_public_dns_name().filter(|d| !d.is_empty()).map(str::to_owned),
        state_reason: c.status().and_then(|s| s.state_change_reason()).map(|r| {
            match (r.code().map(|c| c.as_str()), r.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                (None, message) => message.unwrap_or_default().to_owned(),
            }
        }),
        tags,
    }))
}

fn fleet(f: &InstanceFleet) -> Option<LiveFleet> {
    let kind = f.instance_fleet_type()?.as_str();
    let role = FleetRole::ALL.into_iter().find(|r| r.aws() == kind)?;
    let spot = f.launch_specifications().and_then(|l| l.spot_specification());
    let on_demand = f.launch_specifications().and_then(|l| l.on_demand_specification());
    let resize = f.resize_specifications().map(|r| LiveResize {
        spot_timeout_minutes: r.spot_resize_specification().and_then(|s| s.timeout_duration_minutes()).map(i64::from),
        spot_allocation: r
            .spot_resize_specification()
            .and_then(|s| s.allocation_strategy())
            .map(|a| a.as_str().to_owned()),
        on_demand_timeout_minutes: r
            .on_demand_resize_specification()
            .and_then(|s| s.timeout_duration_minutes())
            .map(i64::from),
        on_demand_allocation: r
            .on_demand_resize_specification()
            .and_then(|s| s.allocation_strategy())
            .map(|a| a.as_str().to_owned()),
    });
    Some(LiveFleet {
        id: f.id().unwrap_or_default().to_owned(),
        role,
        name: f.name().filter(|n| !n.is_empty()).map(str::to_owned),
        instance_types: f
            .instance_type_specifications()
            .iter()
            .map(|t| LiveInstanceType {
                instance_type: t.instance_type().unwrap_or_default().to_owned(),
                weight: t.weighted_capacity().map_or(1, i64::from),
                bid_percent: t.bid_price_as_percentage_of_on_demand_price(),
                ebs: t
                    .ebs_block_devices()
                    .iter()
                    .filter_map(|d| d.volume_specification())
                    .map(|v| LiveEbsVolume {
                        volume_type: v.volume_type().unwrap_or_default().to_owned(),
                        size: v.size_in_gb().map_or(0, i64::from),
                        iops: v.iops().map(i64::from),
                        throughput: v.throughput().map(i64::from),
                    })
                    .collect(),
                ebs_optimized: t.ebs_optimized(),
                configurations: configurations(t.configurations()),
            })
            .collect(),
        target_on_demand: f.target_on_demand_capacity().map_or(0, i64::from),
        target_spot: f.target_spot_capacity().map_or(0, i64::from),
        provisioned_on_demand: f.provisioned_on_demand_capacity().map_or(0, i64::from),
        provisioned_spot: f.provisioned_spot_capacity().map_or(0, i64::from),
        spot_timeout_minutes: spot.and_then(|s| s.timeout_duration_minutes()).map(i64::from),
        spot_timeout_action: spot.and_then(|s| s.timeout_action()).map(|a| a.as_str().to_owned()),
        spot_allocation: spot.and_then(|s| s.allocation_strategy()).map(|a| a.as_str().to_owned()),
        on_demand_allocation: on_demand.and_then(|o| o.allocation_strategy()).map(|a| a.as_str().to_owned()),
        resize,
    })
}
