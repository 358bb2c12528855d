//! The rules EMR writes into the security groups a cluster is given as
//! EMR-managed, and keeps there: they belong to EMR, so a plan neither shows
//! them as drift nor revokes them. Any other rule in such a group is the
//! spec's to decide, as in every group.
//!
//! The set is the EMR Management Guide's ("Working with Amazon EMR-managed
//! security groups", the rule tables of each managed group):
//!
//! - primary and core/task: all ICMP, all TCP and all UDP from themselves and
//!   from each other, and all traffic out to 0.0.0.0/0;
//! - in a private subnet: TCP 8443 into both from the service-access group,
//!   and TCP 8443 out of the service-access group to both (TCP 9443 into it from
//!   the primary group EMR adds too, but the spec writes that one: EMR has been
//!   seen to check for it in custom groups instead, hashicorp/terraform#25673);
//! - in a public subnet: TCP 8443 into the primary group from "various Amazon
//!   IP address ranges" (any IPv4 range but 0.0.0.0/0, since the guide does not
//!   list them).
//!
//! EMR re-adds a rule removed from a managed group "in a matter of minutes"
//! (terraform-provider-aws `website/docs/r/emr_cluster.html.markdown`): revoking
//! one would only cut the cluster's traffic until it does.

use std::collections::{BTreeMap, BTreeSet};

use converge_model::live::{OWNER_ADDRESS_TAG, OWNER_STACK_TAG, SubnetReach};
use converge_model::{Address, Kind, LiveState, RefTarget, Spec};
use converge_ops::{Direction, Id, IpProtocol, Peer, Rule};

/// The groups some cluster hands to EMR, and what EMR keeps in them.
#[derive(Debug, Default)]
pub struct EmrRules {
    /// Group id → the clusters' settings for that group.
    groups: BTreeMap<String, Vec<Managed>>,
    /// The spec's groups some spec cluster hands to EMR as primary or core/task group.
    instance_groups: BTreeSet<Address>,
}

/// One group handed to EMR by one cluster.
#[derive(Clone, Debug)]
struct Managed {
    role: GroupRole,
    master: String,
    core: String,
    service_access: Option<String>,
    reach: SubnetReach,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GroupRole {
    Primary,
    CoreTask,
    ServiceAccess,
}

/// A cluster's managed groups (ids known) and where it runs.
struct Cluster {
    master: Option<String>,
    core: Option<String>,
    service_access: Option<String>,
    vpc: Option<String>,
    subnet: Option<String>,
}

impl EmrRules {
    /// What EMR keeps in the groups of the clusters running in `live` (no spec:
    /// `converge import` leaves these rules out of the spec it writes).
    pub fn of_live(live: &LiveState) -> EmrRules {
        EmrRules::of(&Spec::default(), live, &BTreeMap::new())
    }

    /// True when EMR keeps the live rule `rule` in the group `group` (ingress, or egress).
    pub fn owns_live(&self, group: &str, egress: bool, rule: &converge_model::live::LiveRule) -> bool {
        let direction = if egress { Direction::Egress } else { Direction::Ingress };
        Rule::from_live(rule).is_some_and(|rule| self.owns(group, direction, &rule))
    }

    /// The managed groups of the spec's clusters (their ids as far as `ids`
    /// knows them) and of the live clusters that are not terminated.
    pub(crate) fn of(spec: &Spec, live: &LiveState, ids: &BTreeMap<Address, String>) -> EmrRules {
        let group_id = |reference: &Option<converge_model::Ref>| -> Option<String> {
            match reference.as_ref()?.target(Kind::SecurityGroup) {
                RefTarget::Spec(address) => ids.get(&address).cloned(),
                RefTarget::Literal(id) => Some(id.to_owned()),
                _ => None,
            }
        };
        let mut rules = EmrRules::default();
        let mut clusters = Vec::new();
        for cluster in spec.emr_clusters.values() {
            for reference in [&cluster.master_security_group, &cluster.core_security_group].into_iter().flatten() {
                if let RefTarget::Spec(address) = reference.target(Kind::SecurityGroup) {
                    rules.instance_groups.insert(address);
                }
            }
            let (subnet_id, vpc) = cluster
                .subnets
                .first()
                .map_or((None, None), |subnet| crate::network::locate_subnet(spec, live, ids, subnet));
            clusters.push(Cluster {
                master: group_id(&cluster.master_security_group),
                core: group_id(&cluster.core_security_group),
                service_access: group_id(&cluster.service_access_security_group),
                vpc,
                subnet: subnet_id,
            });
        }
        // A running cluster this plan deletes (the stack's, and no longer in the spec) hands nothing
        // to EMR once the plan is applied: its rules are judged as the spec says.
        let deleted = |c: &converge_model::live::LiveEmrCluster| {
            c.tags.get(OWNER_STACK_TAG).is_some_and(|s| *s == spec.stack.name)
                && c.tags
                    .get(OWNER_ADDRESS_TAG)
                    .and_then(|a| Address::parse(a))
                    .is_none_or(|a| spec.lifecycle(&a).is_none())
        };
        for cluster in live.emr_clusters.iter().filter(|c| !c.is_terminated() && !deleted(c)) {
            let subnet = cluster.subnet_ids.first().cloned();
            clusters.push(Cluster {
                master: cluster.master_security_group.clone(),
                core: cluster.core_security_group.clone(),
                service_access: cluster.service_access_security_group.clone(),
                vpc: subnet.as_ref().and_then(|s| live.subnets.iter().find(|l| &l.id == s)).map(|s| s.vpc_id.clone()),
                subnet,
            });
        }
        for cluster in clusters {
            let (Some(master), Some(core)) = (cluster.master, cluster.core) else { continue };
            let vpc =
                cluster.vpc.or_else(|| live.security_groups.iter().find(|g| g.id == master).map(|g| g.vpc_id.clone()));
            let reach = match vpc {
                Some(vpc) => live.subnet_reach(&vpc, cluster.subnet.as_deref()),
                None => SubnetReach::Unknown,
            };
            let managed = |role| Managed {
                role,
                master: master.clone(),
                core: core.clone(),
                service_access: cluster.service_access.clone(),
                reach,
            };
            rules.groups.entry(master.clone()).or_default().push(managed(GroupRole::Primary));
            rules.groups.entry(core.clone()).or_default().push(managed(GroupRole::CoreTask));
            if let Some(service_access) = &cluster.service_access {
                rules.groups.entry(service_access.clone()).or_default().push(managed(GroupRole::ServiceAccess));
            }
        }
        rules
    }

    /// True when EMR wrote `rule` (in `direction`) into the group `group` and keeps it there.
    pub(crate) fn owns(&self, group: &str, direction: Direction, rule: &Rule) -> bool {
        self.groups.get(group).is_some_and(|all| all.iter().any(|m| m.owns(direction, rule)))
    }

    /// True when a spec cluster hands the group at `address` to EMR as its
    /// primary or core/task group: EC2's default all-traffic egress is then one
    /// of EMR's rules, kept when the group is created.
    pub(crate) fn keeps_default_egress(&self, address: &Address) -> bool {
        self.instance_groups.contains(address)
    }

    /// True when some cluster hands the group to EMR.
    pub(crate) fn is_managed(&self, group: &str) -> bool {
        self.groups.contains_key(group)
    }

    /// `rules` without those EMR owns in `group` that are not in `wanted`.
    pub(crate) fn without_emrs(
        &self,
        group: &str,
        direction: Direction,
        rules: Vec<Rule>,
        wanted: &[Rule],
    ) -> Vec<Rule> {
        if !self.is_managed(group) {
            return rules;
        }
        rules
            .into_iter()
            .filter(|r| !self.owns(group, direction, r) || wanted.iter().any(|w| w.permission() == r.permission()))
            .collect()
    }
}

impl Managed {
    fn owns(&self, direction: Direction, rule: &Rule) -> bool {
        let group = |id: &str| Peer::Group(Id::known(id));
        let is = |protocol: IpProtocol, ports: Option<(i64, i64)>, peer: &Peer| {
            rule.protocol == protocol && (rule.from_port, rule.to_port) == ports.unzip() && rule.peer == *peer
        };
        let all_between = |peer: &str| {
            is(IpProtocol::Icmp, Some((-1, -1)), &group(peer))
                || is(IpProtocol::Tcp, Some((0, 65535)), &group(peer))
                || is(IpProtocol::Udp, Some((0, 65535)), &group(peer))
        };
        let private = matches!(self.reach, SubnetReach::Private { .. } | SubnetReach::Unknown);
        let public = matches!(self.reach, SubnetReach::Public | SubnetReach::Unknown);
        let service = self.service_access.as_deref();
        match (self.role, direction) {
            (GroupRole::Primary | GroupRole::CoreTask, Direction::Ingress) => {
                all_between(&self.master)
                    || all_between(&self.core)
                    || (private && service.is_some_and(|s| is(IpProtocol::Tcp, Some((8443, 8443)), &group(s))))
                    || (public
                        && self.role == GroupRole::Primary
                        && matches!(&rule.peer, Peer::Cidr(cidr) if cidr != "0.0.0.0/0" && !cidr.contains(':'))
                        && (rule.protocol, rule.from_port, rule.to_port) == (IpProtocol::Tcp, Some(8443), Some(8443)))
            }
            (GroupRole::Primary | GroupRole::CoreTask, Direction::Egress) => {
                is(IpProtocol::All, None, &Peer::Cidr("0.0.0.0/0".to_owned()))
            }
            // TCP 9443 from the primary group is the spec's to write (`emr-service-access-port`):
            // EMR has been seen checking for it in custom groups rather than adding it.
            (GroupRole::ServiceAccess, Direction::Ingress) => false,
            (GroupRole::ServiceAccess, Direction::Egress) => {
                private
                    && (is(IpProtocol::Tcp, Some((8443, 8443)), &group(&self.master))
                        || is(IpProtocol::Tcp, Some((8443, 8443)), &group(&self.core)))
            }
        }
    }
}
