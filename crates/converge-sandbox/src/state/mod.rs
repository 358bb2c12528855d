//! Everything the sandbox holds, serialisable so a demo survives a restart.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub(crate) mod catalog;
pub(crate) mod emr;
pub(crate) mod s3;
pub(crate) mod sagemaker;

pub(crate) type Tags = BTreeMap<String, String>;

/// The emulated account.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct World {
    /// Counter for generated ids; persisted so ids never repeat after a restart.
    pub(crate) next_id: u64,
    pub(crate) ec2: Ec2State,
    pub(crate) iam: IamState,
    pub(crate) emr: emr::EmrState,
    pub(crate) sagemaker: sagemaker::SageMakerState,
    pub(crate) catalog: catalog::CatalogState,
    pub(crate) s3: s3::S3State,
}

/// Scheduled state changes: the state at a time is the last entry at or before it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Timeline(pub(crate) Vec<(u64, String)>);

impl Timeline {
    pub(crate) fn starting(now_ms: u64, state: &str) -> Self {
        Timeline(vec![(now_ms, state.to_owned())])
    }

    /// The state at `now_ms`.
    pub(crate) fn at(&self, now_ms: u64) -> &str {
        self.0.iter().rev().find(|(t, _)| *t <= now_ms).or(self.0.first()).map_or("", |(_, s)| s.as_str())
    }

    /// When the timeline first reached `state`, if it has by `now_ms`.
    pub(crate) fn reached(&self, state: &str, now_ms: u64) -> Option<u64> {
        self.0.iter().find(|(t, s)| s == state && *t <= now_ms).map(|(t, _)| *t)
    }

    /// Drops what was scheduled after `now_ms` and schedules `steps` from it.
    pub(crate) fn replan(&mut self, now_ms: u64, steps: &[(u64, &str)]) {
        self.0.retain(|(t, _)| *t <= now_ms);
        for (at, state) in steps {
            self.0.push((*at, (*state).to_owned()));
        }
    }
}

impl World {
    /// A fresh id with a prefix: `sg-0000000000000001a`.
    pub(crate) fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-{:017x}", self.next_id.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 4)
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Ec2State {
    pub(crate) vpcs: BTreeMap<String, Vpc>,
    pub(crate) subnets: BTreeMap<String, Subnet>,
    pub(crate) groups: BTreeMap<String, SecurityGroup>,
    pub(crate) internet_gateways: BTreeMap<String, InternetGateway>,
    /// Elastic IP addresses by allocation id.
    pub(crate) addresses: BTreeMap<String, ElasticIp>,
    pub(crate) nat_gateways: BTreeMap<String, NatGateway>,
    pub(crate) route_tables: BTreeMap<String, RouteTable>,
    pub(crate) vpc_endpoints: BTreeMap<String, VpcEndpoint>,
    /// Rules EMR removed from a managed group will put back, and when
    /// (`crate::emr::managed_rules`): (group id, egress, rule, due in ms).
    #[serde(default)]
    pub(crate) readd: Vec<(String, bool, Rule, u64)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct InternetGateway {
    pub(crate) id: String,
    /// The VPC it is attached to.
    pub(crate) vpc_id: Option<String>,
    pub(crate) tags: Tags,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ElasticIp {
    pub(crate) allocation_id: String,
    pub(crate) public_ip: String,
    /// The NAT gateway holding it.
    pub(crate) nat_gateway: Option<String>,
    pub(crate) tags: Tags,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct NatGateway {
    pub(crate) id: String,
    pub(crate) subnet_id: String,
    pub(crate) vpc_id: String,
    pub(crate) allocation_id: Option<String>,
    /// `public` or `private`.
    pub(crate) connectivity: String,
    pub(crate) created: u64,
    /// `pending` → `available`; `deleting` → `deleted`.
    pub(crate) timeline: Timeline,
    pub(crate) tags: Tags,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RouteTable {
    pub(crate) id: String,
    pub(crate) vpc_id: String,
    /// The VPC's main route table: it serves every subnet not associated with another.
    pub(crate) main: bool,
    /// The main association's id (main tables), or none.
    pub(crate) main_association: Option<String>,
    /// Association id → subnet id.
    pub(crate) associations: BTreeMap<String, String>,
    pub(crate) routes: Vec<Route>,
    pub(crate) tags: Tags,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Route {
    /// A CIDR block, or a prefix list id for a gateway endpoint's route.
    pub(crate) destination: String,
    /// `local`, `igw-…`, `nat-…`, `vpce-…`.
    pub(crate) target: String,
    /// `CreateRouteTable`, `CreateRoute` or `CreateVpcEndpoint`.
    pub(crate) origin: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct VpcEndpoint {
    pub(crate) id: String,
    pub(crate) vpc_id: String,
    pub(crate) service_name: String,
    /// `Interface` or `Gateway`.
    pub(crate) endpoint_type: String,
    pub(crate) subnet_ids: Vec<String>,
    pub(crate) route_table_ids: Vec<String>,
    pub(crate) security_group_ids: Vec<String>,
    pub(crate) created: u64,
    /// `pending` → `available`.
    pub(crate) timeline: Timeline,
    pub(crate) tags: Tags,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Vpc {
    pub(crate) id: String,
    pub(crate) cidr: String,
    pub(crate) tags: Tags,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Subnet {
    pub(crate) id: String,
    pub(crate) vpc_id: String,
    pub(crate) cidr: String,
    pub(crate) availability_zone: String,
    pub(crate) tags: Tags,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Rule {
    pub(crate) id: String,
    /// `tcp`, `udp`, `icmp`, `-1`.
    pub(crate) protocol: String,
    pub(crate) from_port: Option<i64>,
    pub(crate) to_port: Option<i64>,
    pub(crate) cidr: Option<String>,
    pub(crate) cidr6: Option<String>,
    pub(crate) group_id: Option<String>,
    /// A managed prefix list (`pl-…`).
    #[serde(default)]
    pub(crate) prefix_list: Option<String>,
    pub(crate) description: Option<String>,
}

impl Rule {
    /// What makes two rules the same rule for EC2 (the description does not).
    pub(crate) fn same_permission(&self, other: &Rule) -> bool {
        self.protocol == other.protocol
            && self.from_port == other.from_port
            && self.to_port == other.to_port
            && self.cidr == other.cidr
            && self.cidr6 == other.cidr6
            && self.group_id == other.group_id
            && self.prefix_list == other.prefix_list
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SecurityGroup {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) vpc_id: String,
    pub(crate) ingress: Vec<Rule>,
    pub(crate) egress: Vec<Rule>,
    pub(crate) tags: Tags,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct IamState {
    /// By lower-cased name: IAM names are case-insensitively unique.
    pub(crate) roles: BTreeMap<String, Role>,
    pub(crate) instance_profiles: BTreeMap<String, InstanceProfile>,
    /// The ARNs of this account's own managed policies (seeded: the sandbox does not serve CreatePolicy).
    #[serde(default)]
    pub(crate) policies: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Role {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) path: String,
    pub(crate) arn: String,
    pub(crate) created: u64,
    /// Creation time in milliseconds (for IAM's propagation delay).
    #[serde(default)]
    pub(crate) created_ms: u64,
    pub(crate) description: Option<String>,
    pub(crate) assume_role_policy: String,
    pub(crate) max_session_duration: i64,
    pub(crate) managed_policies: Vec<String>,
    pub(crate) inline_policies: BTreeMap<String, String>,
    pub(crate) tags: Tags,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct InstanceProfile {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) path: String,
    pub(crate) arn: String,
    pub(crate) created: u64,
    #[serde(default)]
    pub(crate) created_ms: u64,
    /// Lower-cased role names (at most one).
    pub(crate) roles: Vec<String>,
}

/// One request, as the admin API reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub service: String,
    pub operation: String,
    pub status: u16,
    /// The AWS error code, when the request failed.
    pub error: Option<String>,
    pub latency_ms: u64,
    /// Whether a fault rule answered instead of the service.
    pub injected: bool,
    /// EC2: the call had no filter and no pagination parameter (a few
    /// Describe actions then draw from a smaller bucket).
    #[serde(default)]
    pub unfiltered: bool,
    /// S3: the bucket the call was on.
    #[serde(default)]
    pub bucket: Option<String>,
}

impl RequestRecord {
    /// The call, as AWS's published rates see it (`converge_rates::buckets`).
    pub fn call(&self) -> converge_rates::Call<'_> {
        converge_rates::Call {
            service: &self.service,
            operation: &self.operation,
            unfiltered: self.unfiltered,
            bucket: self.bucket.as_deref(),
        }
    }

    /// True for a call that may change the account ([`may_change`]).
    pub fn may_change(&self) -> bool {
        may_change(&self.operation)
    }
}

/// True for an operation that may change the account: anything but AWS's
/// `Describe*`, `Get*`, `List*`, `Search*` and `Head*` reads.
pub(crate) fn may_change(operation: &str) -> bool {
    !["Describe", "Get", "List", "Search", "Head"].iter().any(|prefix| operation.starts_with(prefix))
}
