//! The in-memory AWS's own rules, one by one: what it refuses as AWS refuses
//! it, and what it does that AWS does by itself (EMR's rules in its managed
//! groups, default EBS volumes). `converge-aws/tests/differential.rs` holds
//! the whole of it against the sandbox; these say which rule broke.

use converge_executor::ErrorClass;
use converge_memory::Account;
use converge_model::live::LiveState;
use converge_model::{Address, Kind};
use converge_ops::Operation;
use serde_json::json;

fn account() -> Account {
    let mut live = LiveState { account: "123456789012".into(), region: "us-east-1".into(), ..LiveState::default() };
    live.vpcs.push(converge_model::live::LiveVpc { id: "vpc-1".into(), cidrs: vec!["10.0.0.0/16".into()] });
    Account::new(live)
}

fn op(value: serde_json::Value) -> Operation {
    serde_json::from_value(value).expect("an operation")
}

fn here() -> Address {
    Address::new(Kind::SecurityGroup, "test")
}

/// Applies `operation`; its new id, if it makes one.
fn apply(account: &mut Account, operation: serde_json::Value) -> Result<Option<String>, (ErrorClass, String)> {
    account.apply(&here(), &op(operation)).map(|o| o.id).map_err(|e| (e.class, e.code))
}

fn group(account: &mut Account, name: &str) -> String {
    let made = apply(
        account,
        json!({"operation": "create_security_group", "vpc": "vpc-1", "name": name, "description": name, "tags": {}}),
    );
    made.expect("created").expect("an id")
}

fn rule(port: i64) -> serde_json::Value {
    json!({"protocol": "tcp", "from_port": port, "to_port": port, "peer": {"cidr": "10.0.0.0/8"}})
}

#[test]
fn ec2_refuses_a_second_group_of_a_name_and_a_second_copy_of_a_rule() {
    let mut account = account();
    let id = group(&mut account, "studio");
    let again =
        json!({"operation": "create_security_group", "vpc": "vpc-1", "name": "studio", "description": "x", "tags": {}});
    assert_eq!(apply(&mut account, again), Err((ErrorClass::Invalid, "InvalidGroup.Duplicate".into())));
    let authorize = json!({"operation": "authorize_rules", "group": id, "direction": "ingress", "rules": [rule(22)]});
    assert_eq!(apply(&mut account, authorize.clone()), Ok(None));
    assert_eq!(apply(&mut account, authorize), Err((ErrorClass::Invalid, "InvalidPermission.Duplicate".into())));
}

fn role(account: &mut Account, name: &str, trust: &str) {
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": trust}, "Action": "sts:AssumeRole"}]});
    let create = json!({"operation": "create_role", "name": name, "path": "/", "trust_policy": policy.to_string(), "max_session_duration": 3600, "tags": {}});
    apply(account, create).expect("the role is created");
}

#[test]
fn iam_keeps_documents_as_written_and_refuses_to_delete_a_role_with_policies() {
    let mut account = account();
    role(&mut account, "etl", "ec2.amazonaws.com");
    let stored = &account.live().iam_roles[0].assume_role_policy;
    assert!(stored.starts_with('{'), "live state holds documents decoded, as the reader gives them: {stored}");
    let attach = json!({"operation": "attach_role_policies", "role": "etl", "policy_arns": ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]});
    apply(&mut account, attach).expect("attached");
    let delete = json!({"operation": "delete_role", "role": "etl"});
    assert_eq!(apply(&mut account, delete), Err((ErrorClass::Conflict, "DeleteConflict".into())));
}

fn cluster(account: &mut Account, master: &str, core: &str, protected: bool) -> String {
    role(account, "EMR_DefaultRole", "elasticmapreduce.amazonaws.com");
    role(account, "EMR_EC2_DefaultRole", "ec2.amazonaws.com");
    let profile = json!({"operation": "create_instance_profile", "name": "EMR_EC2_DefaultRole", "role": "EMR_EC2_DefaultRole", "tags": {}});
    apply(account, profile).expect("the instance profile");
    let subnet = json!({"operation": "create_subnet", "vpc": "vpc-1", "cidr": "10.0.0.0/20", "availability_zone": "us-east-1a", "tags": {}});
    let subnet = apply(account, subnet).expect("a subnet").expect("its id");
    let fleet = |role: &str, units: i64| json!({"role": role, "instance_types": [{"instance_type": "m5.xlarge", "weight": 1}], "on_demand": units, "spot": 0});
    let run = json!({
        "operation": "run_job_flow", "name": "etl", "release": "emr-6.15.0", "applications": ["Spark"],
        "subnets": [subnet], "service_role": "EMR_DefaultRole", "instance_profile": "EMR_EC2_DefaultRole",
        "master_security_group": master, "core_security_group": core,
        "termination_protected": protected, "step_concurrency": 1,
        "fleets": [fleet("MASTER", 1), fleet("CORE", 2)], "tags": {},
    });
    apply(account, run).expect("the cluster starts").expect("its id")
}

#[test]
fn emr_writes_its_rules_into_its_groups_and_gives_ebs_only_types_volumes() {
    let mut account = account();
    let (master, core) = (group(&mut account, "master"), group(&mut account, "core"));
    let id = cluster(&mut account, &master, &core, false);
    let live = account.live();
    let master_group = live.security_groups.iter().find(|g| g.id == master).expect("the master group");
    let from_core = master_group.ingress.iter().filter(|r| r.group_id.as_deref() == Some(core.as_str())).count();
    assert_eq!(from_core, 3, "ICMP, TCP and UDP from the core group: {:?}", master_group.ingress);
    let cluster = live.emr_clusters.iter().find(|c| c.id == id).expect("the cluster");
    let volumes = &cluster.fleets[0].instance_types[0].ebs;
    assert_eq!(volumes.len(), 2, "an m5.xlarge gets two 32 GiB volumes on EMR 6: {volumes:?}");
    assert_eq!(cluster.fleets[0].instance_types[0].ebs_optimized, Some(true));
    assert_eq!(cluster.fleets[0].on_demand_allocation, None, "only a strategy asked for is reported");
}

#[test]
fn emr_refuses_a_second_task_fleet_and_to_terminate_a_protected_cluster() {
    let mut account = account();
    let (master, core) = (group(&mut account, "master"), group(&mut account, "core"));
    let id = cluster(&mut account, &master, &core, true);
    let task = json!({"operation": "add_instance_fleet", "cluster": id, "fleet": {"role": "TASK", "instance_types": [{"instance_type": "m5.xlarge", "weight": 1}], "on_demand": 0, "spot": 2}});
    assert_eq!(apply(&mut account, task.clone()), Ok(None));
    assert_eq!(apply(&mut account, task).map_err(|e| e.0), Err(ErrorClass::Invalid), "one task fleet per cluster");
    let terminate = json!({"operation": "terminate_cluster", "cluster": id});
    assert!(apply(&mut account, terminate).is_err(), "termination protection holds");
}
