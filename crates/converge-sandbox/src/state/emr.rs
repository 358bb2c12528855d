//! EMR's data: clusters, their fleets and timelines (the handlers are `crate::emr`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Tags, Timeline};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct EmrState {
    pub(crate) clusters: BTreeMap<String, Cluster>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Cluster {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) release: String,
    pub(crate) applications: Vec<String>,
    pub(crate) service_role: String,
    pub(crate) instance_profile: String,
    pub(crate) log_uri: Option<String>,
    pub(crate) requested_subnets: Vec<String>,
    pub(crate) subnet: String,
    pub(crate) availability_zone: String,
    pub(crate) master_group: Option<String>,
    pub(crate) slave_group: Option<String>,
    pub(crate) service_access_group: Option<String>,
    pub(crate) additional_master_groups: Vec<String>,
    pub(crate) additional_slave_groups: Vec<String>,
    pub(crate) key_name: Option<String>,
    pub(crate) configurations: Value,
    pub(crate) bootstrap: Value,
    pub(crate) ebs_root_volume_size: Option<i64>,
    #[serde(default)]
    pub(crate) ebs_root_volume_iops: Option<i64>,
    #[serde(default)]
    pub(crate) ebs_root_volume_throughput: Option<i64>,
    pub(crate) termination_protected: bool,
    pub(crate) visible_to_all_users: bool,
    pub(crate) step_concurrency: i64,
    pub(crate) idle_timeout: Option<i64>,
    pub(crate) managed_scaling: Option<Value>,
    pub(crate) tags: Tags,
    pub(crate) timeline: Timeline,
    pub(crate) reason: Option<(String, String)>,
    pub(crate) fleets: Vec<Fleet>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Fleet {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) fleet_type: String,
    pub(crate) target_on_demand: i64,
    pub(crate) target_spot: i64,
    /// The targets before the current resize, for the provisioned capacity while RESIZING.
    pub(crate) previous: (i64, i64),
    pub(crate) instance_types: Value,
    pub(crate) launch: Option<Value>,
    /// `ResizeSpecifications`, from RunJobFlow or the last ModifyInstanceFleet that gave them.
    #[serde(default)]
    pub(crate) resize: Option<Value>,
    pub(crate) timeline: Timeline,
}
