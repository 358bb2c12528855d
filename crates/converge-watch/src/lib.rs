//! What `converge watch` does with what one cycle read.
//!
//! Given the stack's drift report (`converge_plan::drift`), the policies the
//! spec states (per cluster `recover` and `max_rebuilds`, per stack
//! `on_drift`) and the rebuilds already made, [`decide`] says what to do: rebuild
//! a failed cluster, report it, report it as needing a person (rebuilt too
//! often this hour), wait out the back-off after a rebuild that failed, or
//! repair the stack's other drift.
//!
//! **Architecture invariant:** pure: no I/O, clock, async runtime, AWS SDK or
//! CLI parser; the time is passed in (seconds since the epoch), so the bound
//! on rebuilds is tested without waiting an hour.

use std::collections::BTreeMap;

use converge_model::{Address, Kind, OnDrift, Recover, Spec};
use converge_plan::drift::{Cause, Drift};

/// The window `max_rebuilds` counts in.
pub const REBUILD_WINDOW_SECONDS: u64 = 3600;

/// How long to wait before trying a failed rebuild again: `first` seconds
/// after the first failure, doubling with each failure in a row, at most `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub first: u64,
    pub max: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { first: 30, max: 600 }
    }
}

impl Backoff {
    /// The wait after `in_a_row` failures in a row (1 or more).
    pub fn after(&self, in_a_row: u32) -> u64 {
        let doublings = in_a_row.saturating_sub(1).min(32);
        self.first.saturating_mul(1 << doublings).min(self.max.max(self.first))
    }
}

/// The rebuilds watch started, per cluster: when (seconds since the epoch),
/// and after a failed one, when the next may start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rebuilds {
    backoff: Backoff,
    started: BTreeMap<Address, Vec<u64>>,
    failing: BTreeMap<Address, Failing>,
}

/// The rebuilds of one cluster that failed in a row, and when to try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Failing {
    in_a_row: u32,
    retry_at: u64,
}

impl Rebuilds {
    pub fn new(backoff: Backoff) -> Rebuilds {
        Rebuilds { backoff, ..Rebuilds::default() }
    }

    /// Records a rebuild of `address` started at `now`.
    pub fn record(&mut self, address: &Address, now: u64) {
        let times = self.started.entry(address.clone()).or_default();
        times.push(now);
        // Only the window matters: memory stays bounded however long watch runs.
        times.retain(|t| now.saturating_sub(*t) < REBUILD_WINDOW_SECONDS);
    }

    /// Records how the rebuild of `address` ended at `now`: a failed one is
    /// tried again after the back-off (within the same `max_rebuilds`).
    pub fn finished(&mut self, address: &Address, now: u64, done: bool) {
        if done {
            self.failing.remove(address);
            return;
        }
        let in_a_row = self.failing.get(address).map_or(0, |f| f.in_a_row) + 1;
        let retry_at = now.saturating_add(self.backoff.after(in_a_row));
        self.failing.insert(address.clone(), Failing { in_a_row, retry_at });
    }

    /// Rebuilds of `address` started within the hour before `now`.
    pub fn in_window(&self, address: &Address, now: u64) -> usize {
        self.started
            .get(address)
            .map_or(0, |times| times.iter().filter(|t| now.saturating_sub(**t) < REBUILD_WINDOW_SECONDS).count())
    }

    /// When the next rebuild of `address` may start, after one that failed.
    pub fn retry_at(&self, address: &Address) -> Option<u64> {
        self.failing.get(address).map(|f| f.retry_at)
    }

    /// The earliest time after `now` a failed rebuild may be tried again, if
    /// one waits. A back-off already over waits for nothing: the cluster may
    /// have been rebuilt by a person, or be left to one past `max_rebuilds`.
    pub fn next_retry(&self, now: u64) -> Option<u64> {
        self.failing.values().map(|f| f.retry_at).filter(|at| *at > now).min()
    }
}

/// One thing to do after a cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Rebuild the failed cluster from the spec, as `converge rebuild` does.
    Rebuild { address: Address, reason: String },
    /// The last rebuild of the failed cluster failed: the next waits until
    /// `retry_at` (seconds since the epoch).
    Wait { address: Address, reason: String, retry_at: u64 },
    /// The cluster failed and its policy is `report`.
    Report { address: Address, reason: String },
    /// The cluster failed again after `rebuilds` rebuilds this hour (its
    /// `max_rebuilds`): watch leaves it to a person.
    NeedsPerson { address: Address, reason: String, rebuilds: usize },
    /// Apply the plan to repair the other drift (`on_drift = "repair"`).
    Repair { resources: usize },
    /// Other drift, reported (`on_drift = "report"`, or a repair held back
    /// because it would recreate a failed cluster watch must not rebuild).
    ReportDrift { resources: usize, held: bool },
}

/// What to do about `drift`, read at `now`, given the rebuilds already made.
pub fn decide(spec: &Spec, drift: &Drift, rebuilds: &Rebuilds, now: u64) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut failed = Vec::new();
    for resource in &drift.resources {
        let Cause::TerminatedInAws { .. } = &resource.cause else { continue };
        if resource.address.kind != Kind::EmrCluster {
            continue;
        }
        let Some(cluster) = spec.emr_clusters.get(&resource.address.name) else { continue };
        failed.push(resource.address.clone());
        let address = resource.address.clone();
        let reason = resource.cause.describe();
        let made = rebuilds.in_window(&address, now);
        let policy = &cluster.recovery;
        actions.push(match policy.recover {
            Recover::Report => Action::Report { address, reason },
            Recover::Rebuild if made < policy.max_rebuilds as usize => match rebuilds.retry_at(&address) {
                Some(retry_at) if retry_at > now => Action::Wait { address, reason, retry_at },
                _ => Action::Rebuild { address, reason },
            },
            Recover::Rebuild => Action::NeedsPerson { address, reason, rebuilds: made },
        });
    }
    let others = drift.resources.iter().filter(|r| !failed.contains(&r.address)).count();
    if others > 0 {
        // A repair applies the whole plan, which would recreate a failed
        // cluster too: held back while one is left to a report or a person.
        let held = actions.iter().any(|a| matches!(a, Action::Report { .. } | Action::NeedsPerson { .. }));
        let rebuilding = actions.iter().any(|a| matches!(a, Action::Rebuild { .. } | Action::Wait { .. }));
        match spec.stack.on_drift {
            // A rebuild (now, or after its back-off) brings the rest of the stack to the spec as well.
            OnDrift::Repair if rebuilding => {}
            OnDrift::Repair if !held => actions.push(Action::Repair { resources: others }),
            OnDrift::Repair => actions.push(Action::ReportDrift { resources: others, held: true }),
            OnDrift::Report => actions.push(Action::ReportDrift { resources: others, held: false }),
        }
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use converge_model::{EmrCluster, Recovery};
    use converge_plan::drift::ResourceDrift;

    fn cluster(recover: Recover, max_rebuilds: u32) -> EmrCluster {
        let json = serde_json::json!({
            "name": "etl", "release": "emr-6.15.0", "subnets": ["a"], "service_role": "r",
            "instance_profile": "p", "master_security_group": null, "core_security_group": null,
            "service_access_security_group": null, "log_uri": null, "key_name": null,
            "ebs_root_volume_size": null, "ebs_root_volume_iops": null, "ebs_root_volume_throughput": null,
            "auto_termination_idle_seconds": null, "master": null, "core": null, "task": null, "scaling": null,
        });
        let mut cluster: EmrCluster = serde_json::from_value(json).expect("a cluster");
        cluster.recovery = Recovery { recover, max_rebuilds };
        cluster
    }

    fn spec(recover: Recover, max_rebuilds: u32, on_drift: OnDrift) -> Spec {
        let mut spec = Spec::default();
        spec.stack.on_drift = on_drift;
        spec.emr_clusters.insert("etl".into(), cluster(recover, max_rebuilds));
        spec
    }

    fn drift(resources: Vec<ResourceDrift>) -> Drift {
        Drift { stack: "s".into(), account: "1".into(), region: "r".into(), resources, in_sync: 0, ignored: Vec::new() }
    }

    fn terminated() -> ResourceDrift {
        ResourceDrift {
            address: Address::new(Kind::EmrCluster, "etl"),
            live_id: Some("j-1".into()),
            cause: Cause::TerminatedInAws { cluster: "j-1".into(), reason: Some("TERMINATED_WITH_ERRORS".into()) },
            fields: Vec::new(),
        }
    }

    fn opened_port() -> ResourceDrift {
        ResourceDrift {
            address: Address::new(Kind::SecurityGroup, "emr_master"),
            live_id: Some("sg-1".into()),
            cause: Cause::ChangedInAws,
            fields: Vec::new(),
        }
    }

    #[test]
    fn a_failed_cluster_is_rebuilt_up_to_its_bound_per_hour_then_left_to_a_person() {
        let spec = spec(Recover::Rebuild, 2, OnDrift::Report);
        let address = Address::new(Kind::EmrCluster, "etl");
        let mut rebuilds = Rebuilds::default();
        let failed = drift(vec![terminated()]);
        for now in [1_000, 1_100] {
            let actions = decide(&spec, &failed, &rebuilds, now);
            assert!(matches!(&actions[..], [Action::Rebuild { .. }]), "{actions:?}");
            rebuilds.record(&address, now);
        }
        let actions = decide(&spec, &failed, &rebuilds, 1_200);
        assert!(matches!(&actions[..], [Action::NeedsPerson { rebuilds: 2, .. }]), "{actions:?}");
        // An hour after the first, one rebuild is allowed again.
        let actions = decide(&spec, &failed, &rebuilds, 1_000 + REBUILD_WINDOW_SECONDS);
        assert!(matches!(&actions[..], [Action::Rebuild { .. }]), "{actions:?}");
    }

    #[test]
    fn a_failed_rebuild_is_tried_again_after_a_growing_back_off_within_the_bound() {
        let spec = spec(Recover::Rebuild, 3, OnDrift::Repair);
        let address = Address::new(Kind::EmrCluster, "etl");
        let mut rebuilds = Rebuilds::new(Backoff { first: 30, max: 100 });
        let failed = drift(vec![terminated(), opened_port()]);
        rebuilds.record(&address, 1_000);
        rebuilds.finished(&address, 1_010, false);
        assert_eq!(rebuilds.next_retry(1_010), Some(1_040));
        assert_eq!(rebuilds.next_retry(1_040), None, "over: nothing to wait for");
        let actions = decide(&spec, &failed, &rebuilds, 1_039);
        assert!(matches!(&actions[..], [Action::Wait { retry_at: 1_040, .. }]), "no repair meanwhile: {actions:?}");
        assert!(matches!(&decide(&spec, &failed, &rebuilds, 1_040)[..], [Action::Rebuild { .. }]));
        rebuilds.record(&address, 1_040);
        rebuilds.finished(&address, 1_050, false);
        assert_eq!(rebuilds.retry_at(&address), Some(1_110), "doubled");
        rebuilds.record(&address, 1_110);
        rebuilds.finished(&address, 1_120, false);
        assert_eq!(rebuilds.retry_at(&address), Some(1_220), "at most `max`");
        // Three attempts this hour: the bound holds, back-off or not.
        let actions = decide(&spec, &failed, &rebuilds, 1_300);
        assert!(
            matches!(&actions[..], [Action::NeedsPerson { rebuilds: 3, .. }, Action::ReportDrift { held: true, .. }]),
            "{actions:?}"
        );
        rebuilds.finished(&address, 1_130, true);
        assert_eq!(rebuilds.next_retry(1_130), None, "a rebuild that succeeds ends the back-off");
    }

    #[test]
    fn report_is_the_default_and_never_rebuilds() {
        let spec = spec(Recover::default(), 2, OnDrift::default());
        let actions = decide(&spec, &drift(vec![terminated(), opened_port()]), &Rebuilds::default(), 0);
        assert!(
            matches!(&actions[..], [Action::Report { .. }, Action::ReportDrift { resources: 1, held: false }]),
            "{actions:?}"
        );
    }

    #[test]
    fn repair_is_held_while_a_failed_cluster_is_left_to_a_report() {
        let repair = spec(Recover::Rebuild, 2, OnDrift::Repair);
        let actions = decide(&repair, &drift(vec![opened_port()]), &Rebuilds::default(), 0);
        assert_eq!(actions, [Action::Repair { resources: 1 }]);
        let actions = decide(&repair, &drift(vec![terminated(), opened_port()]), &Rebuilds::default(), 0);
        assert!(matches!(&actions[..], [Action::Rebuild { .. }]), "the rebuild repairs the rest: {actions:?}");
        let report = spec(Recover::Report, 2, OnDrift::Repair);
        let actions = decide(&report, &drift(vec![terminated(), opened_port()]), &Rebuilds::default(), 0);
        assert!(matches!(&actions[..], [Action::Report { .. }, Action::ReportDrift { held: true, .. }]), "{actions:?}");
        assert!(decide(&report, &drift(Vec::new()), &Rebuilds::default(), 0).is_empty());
    }

    #[test]
    fn the_record_of_rebuilds_stays_within_the_window() {
        let address = Address::new(Kind::EmrCluster, "etl");
        let mut rebuilds = Rebuilds::default();
        for hour in 0..1_000 {
            rebuilds.record(&address, hour * REBUILD_WINDOW_SECONDS);
        }
        assert_eq!(rebuilds.started[&address].len(), 1);
    }
}
