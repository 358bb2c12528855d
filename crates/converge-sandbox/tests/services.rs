//! EMR, SageMaker, Service Catalog and S3 through the real SDK clients, with
//! their state machines (time-scaled) and the errors a reconciler trips on.

mod common;

use common::{code, sdk, until};

use std::time::Duration;

use aws_sdk_emr::types::{
    AutoTerminationPolicy, ClusterState, ComputeLimits, ComputeLimitsUnitType, EbsBlockDeviceConfig, EbsConfiguration,
    InstanceFleetConfig, InstanceFleetModifyConfig, InstanceFleetProvisioningSpecifications, InstanceFleetType,
    InstanceTypeConfig, JobFlowInstancesConfig, ManagedScalingPolicy, SpotProvisioningAllocationStrategy,
    SpotProvisioningSpecification, SpotProvisioningTimeoutAction, VolumeSpecification,
};
use converge_sandbox::{ClusterEvent, Config, Sandbox};

const FAST: f64 = 0.0005;
const TRUST_EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// A role `service` may assume; its ARN.
async fn role(iam: &aws_sdk_iam::Client, name: &str, service: &str) -> String {
    let trust = TRUST_EC2.replace("ec2.amazonaws.com", &format!("{service}.amazonaws.com"));
    let created = iam.create_role().role_name(name).assume_role_policy_document(trust).send().await.expect("role");
    created.role.expect("role").arn
}

/// A VPC with two private subnets, EMR's three managed groups, and the EMR roles.
struct Network {
    vpc: String,
    subnets: Vec<String>,
    master: String,
    core: String,
    service_access: String,
}

async fn network(config: &aws_config::SdkConfig) -> Network {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let vpc =
        ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.expect("vpc").vpc.and_then(|v| v.vpc_id).expect("id");
    let mut subnets = Vec::new();
    for (i, zone) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.0.{i}.0/24"))
            .availability_zone(*zone)
            .send()
            .await
            .expect("subnet");
        subnets.push(subnet.subnet.and_then(|s| s.subnet_id).expect("id"));
    }
    let group = |name: &'static str| {
        let ec2 = ec2.clone();
        let vpc = vpc.clone();
        async move {
            let created = ec2.create_security_group().group_name(name).description(name).vpc_id(vpc).send().await;
            created.expect("sg").group_id.expect("id")
        }
    };
    let (master, core, service_access) = (group("master").await, group("core").await, group("service-access").await);
    let iam = aws_sdk_iam::Client::new(config);
    role(&iam, "EMR_DefaultRole", "elasticmapreduce").await;
    role(&iam, "EMR_EC2_DefaultRole", "ec2").await;
    iam.create_instance_profile().instance_profile_name("EMR_EC2_DefaultRole").send().await.expect("profile");
    iam.add_role_to_instance_profile()
        .instance_profile_name("EMR_EC2_DefaultRole")
        .role_name("EMR_EC2_DefaultRole")
        .send()
        .await
        .expect("add");
    Network { vpc, subnets, master, core, service_access }
}

fn fleet(kind: InstanceFleetType, types: &[&str], on_demand: i32, spot: i32) -> InstanceFleetConfig {
    let mut builder = InstanceFleetConfig::builder()
        .instance_fleet_type(kind)
        .target_on_demand_capacity(on_demand)
        .target_spot_capacity(spot);
    for t in types {
        let ebs = EbsConfiguration::builder()
            .ebs_block_device_configs(
                EbsBlockDeviceConfig::builder()
                    .volume_specification(VolumeSpecification::builder().volume_type("gp3").size_in_gb(64).build())
                    .volumes_per_instance(2)
                    .build(),
            )
            .build();
        builder = builder.instance_type_configs(
            InstanceTypeConfig::builder().instance_type(*t).weighted_capacity(1).ebs_configuration(ebs).build(),
        );
    }
    builder.build()
}

fn instances(n: &Network, fleets: Vec<InstanceFleetConfig>, keep_alive: bool) -> JobFlowInstancesConfig {
    JobFlowInstancesConfig::builder()
        .set_instance_fleets(Some(fleets))
        .set_ec2_subnet_ids(Some(n.subnets.clone()))
        .emr_managed_master_security_group(&n.master)
        .emr_managed_slave_security_group(&n.core)
        .service_access_security_group(&n.service_access)
        .keep_job_flow_alive_when_no_steps(keep_alive)
        .build()
}

#[tokio::test]
async fn emr_cluster_lifecycle() {
    let sandbox = Sandbox::start(Config { time_scale: FAST, iam_propagation_seconds: 400.0, ..Config::default() })
        .await
        .expect("starts");
    let config = sdk(&sandbox).await;
    let n = network(&config).await;
    let emr = aws_sdk_emr::Client::new(&config);
    let master = || fleet(InstanceFleetType::Master, &["m5.xlarge"], 1, 0);
    let core = || fleet(InstanceFleetType::Core, &["r5.xlarge"], 2, 0);
    let run = |fleets: Vec<InstanceFleetConfig>, keep_alive: bool| {
        emr.run_job_flow()
            .name("etl")
            .release_label("emr-6.15.0")
            .service_role("EMR_DefaultRole")
            .job_flow_role("EMR_EC2_DefaultRole")
            .instances(instances(&n, fleets, keep_alive))
    };

    // Right after the role is created, EMR cannot see its instance profile yet, and says so in
    // either of two ways (terraform-provider-aws retries both).
    let mut seen = std::collections::BTreeSet::new();
    let mut created = None;
    for _ in 0..800 {
        match run(vec![master(), core()], true).send().await {
            Ok(out) => {
                created = out.job_flow_id;
                break;
            }
            Err(error) => {
                let message = error.as_service_error().and_then(|e| e.meta().message()).unwrap_or_default().to_owned();
                let code = code(Err::<(), _>(error));
                assert!(
                    (code == "AccessDeniedException" && message.starts_with("Failed to authorize instance profile"))
                        || (code == "ValidationException" && message.starts_with("Invalid InstanceProfile")),
                    "{code}: {message}"
                );
                seen.insert(code);
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cluster_id = created.expect("the instance profile propagates");
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["AccessDeniedException", "ValidationException"]);

    assert_eq!(
        code(run(vec![fleet(InstanceFleetType::Master, &["m5.xlarge"], 2, 0), core()], true).send().await),
        "ValidationException",
        "master capacity must be 1"
    );
    let six = ["c5.xlarge", "c5.2xlarge", "r5.xlarge", "r5.2xlarge", "m5.xlarge", "m5.2xlarge"];
    assert_eq!(
        code(run(vec![master(), fleet(InstanceFleetType::Core, &six, 2, 0)], true).send().await),
        "ValidationException",
        "6 types need an allocation strategy"
    );
    let mut strategy = fleet(InstanceFleetType::Task, &six, 0, 4);
    strategy.launch_specifications = Some(
        InstanceFleetProvisioningSpecifications::builder()
            .spot_specification(
                SpotProvisioningSpecification::builder()
                    .timeout_duration_minutes(20)
                    .timeout_action(SpotProvisioningTimeoutAction::SwitchToOnDemand)
                    .allocation_strategy(SpotProvisioningAllocationStrategy::PriceCapacityOptimized)
                    .build(),
            )
            .build(),
    );

    let describe = || emr.describe_cluster().cluster_id(&cluster_id).send();
    until("the cluster waits", || async {
        describe()
            .await
            .ok()
            .and_then(|d| d.cluster)
            .and_then(|c| c.status)
            .and_then(|s| s.state)
            .is_some_and(|s| s.as_str() == "WAITING")
    })
    .await;
    // EMR writes its rules into the groups it is handed (EMR Management Guide, "Working with
    // Amazon EMR-managed security groups"): all TCP, UDP and ICMP between primary and core/task,
    // TCP 8443 from the service-access group, TCP 8443 out of it.
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let group = |id: String| {
        let ec2 = ec2.clone();
        async move {
            let described = ec2.describe_security_groups().group_ids(id).send().await.expect("describe");
            described.security_groups()[0].clone()
        }
    };
    let names = |permissions: &[aws_sdk_ec2::types::IpPermission], protocol: &str, from: i32, peer: &str| {
        permissions.iter().any(|p| {
            p.ip_protocol() == Some(protocol)
                && p.from_port() == Some(from)
                && p.user_id_group_pairs().iter().any(|g| g.group_id() == Some(peer))
        })
    };
    let master_group = group(n.master.clone()).await;
    assert!(names(master_group.ip_permissions(), "tcp", 0, &n.core), "{master_group:?}");
    assert!(names(master_group.ip_permissions(), "udp", 0, &n.master));
    assert!(names(master_group.ip_permissions(), "icmp", -1, &n.core));
    assert!(names(master_group.ip_permissions(), "tcp", 8443, &n.service_access));
    let service_group = group(n.service_access.clone()).await;
    assert!(names(service_group.ip_permissions_egress(), "tcp", 8443, &n.core));
    assert!(names(service_group.ip_permissions(), "tcp", 9443, &n.master));
    // Removed, one comes back "in a matter of minutes" (terraform-provider-aws docs).
    let all_tcp_from_core = aws_sdk_ec2::types::IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(0)
        .to_port(65535)
        .user_id_group_pairs(aws_sdk_ec2::types::UserIdGroupPair::builder().group_id(&n.core).build())
        .build();
    ec2.revoke_security_group_ingress()
        .group_id(&n.master)
        .ip_permissions(all_tcp_from_core)
        .send()
        .await
        .expect("revoke");
    assert!(!names(group(n.master.clone()).await.ip_permissions(), "tcp", 0, &n.core), "revoked");
    until("EMR puts its rule back", || async {
        names(group(n.master.clone()).await.ip_permissions(), "tcp", 0, &n.core)
    })
    .await;

    let fleets = emr
        .list_instance_fleets()
        .cluster_id(&cluster_id)
        .send()
        .await
        .expect("fleets")
        .instance_fleets
        .unwrap_or_default();
    let core_fleet =
        fleets.iter().find(|f| f.instance_fleet_type().is_some_and(|t| t.as_str() == "CORE")).expect("core");
    assert_eq!(
        (core_fleet.provisioned_on_demand_capacity(), core_fleet.status().and_then(|s| s.state()).map(|s| s.as_str())),
        (Some(2), Some("RUNNING"))
    );
    assert_eq!(core_fleet.instance_type_specifications()[0].ebs_block_devices().len(), 2, "one device per volume");
    let master_fleet =
        fleets.iter().find(|f| f.instance_fleet_type().is_some_and(|t| t.as_str() == "MASTER")).expect("master");

    let resize = |fleet_id: &str, on_demand: i32| {
        emr.modify_instance_fleet()
            .cluster_id(&cluster_id)
            .instance_fleet(
                InstanceFleetModifyConfig::builder()
                    .instance_fleet_id(fleet_id)
                    .target_on_demand_capacity(on_demand)
                    .build(),
            )
            .send()
    };
    assert_eq!(code(resize(master_fleet.id().expect("id"), 2).await), "InvalidRequestException");
    resize(core_fleet.id().expect("id"), 4).await.expect("resize core in place");
    until("the core fleet resized", || async {
        let fleets = emr
            .list_instance_fleets()
            .cluster_id(&cluster_id)
            .send()
            .await
            .ok()
            .and_then(|f| f.instance_fleets)
            .unwrap_or_default();
        fleets.iter().any(|f| f.provisioned_on_demand_capacity() == Some(4))
    })
    .await;

    emr.add_instance_fleet()
        .cluster_id(&cluster_id)
        .instance_fleet(strategy.clone())
        .send()
        .await
        .expect("add the task fleet");
    assert_eq!(
        code(emr.add_instance_fleet().cluster_id(&cluster_id).instance_fleet(strategy).send().await),
        "InvalidRequestException",
        "one task fleet at most"
    );

    let limits = |unit: ComputeLimitsUnitType| {
        ManagedScalingPolicy::builder()
            .compute_limits(
                ComputeLimits::builder().unit_type(unit).minimum_capacity_units(2).maximum_capacity_units(20).build(),
            )
            .build()
    };
    assert_eq!(
        code(
            emr.put_managed_scaling_policy()
                .cluster_id(&cluster_id)
                .managed_scaling_policy(limits(ComputeLimitsUnitType::Instances))
                .send()
                .await
        ),
        "ValidationException"
    );
    emr.put_managed_scaling_policy()
        .cluster_id(&cluster_id)
        .managed_scaling_policy(limits(ComputeLimitsUnitType::InstanceFleetUnits))
        .send()
        .await
        .expect("put scaling");
    let policy = emr
        .get_managed_scaling_policy()
        .cluster_id(&cluster_id)
        .send()
        .await
        .expect("get")
        .managed_scaling_policy
        .expect("policy");
    assert_eq!(policy.compute_limits().map(|l| l.maximum_capacity_units()), Some(Some(20)));
    emr.remove_managed_scaling_policy().cluster_id(&cluster_id).send().await.expect("remove");
    assert!(
        emr.get_managed_scaling_policy()
            .cluster_id(&cluster_id)
            .send()
            .await
            .expect("get")
            .managed_scaling_policy
            .is_none()
    );
    assert_eq!(
        code(
            emr.put_auto_termination_policy()
                .cluster_id(&cluster_id)
                .auto_termination_policy(AutoTerminationPolicy::builder().idle_timeout(30).build())
                .send()
                .await
        ),
        "ValidationException"
    );
    emr.put_auto_termination_policy()
        .cluster_id(&cluster_id)
        .auto_termination_policy(AutoTerminationPolicy::builder().idle_timeout(3600).build())
        .send()
        .await
        .expect("auto-termination");
    emr.add_tags()
        .resource_id(&cluster_id)
        .tags(aws_sdk_emr::types::Tag::builder().key("converge:stack").value("s").build())
        .send()
        .await
        .expect("tag");

    // A used security group cannot go while the cluster lives.
    assert_eq!(code(ec2.delete_security_group().group_id(&n.core).send().await), "DependencyViolation");

    emr.set_termination_protection()
        .job_flow_ids(&cluster_id)
        .termination_protected(true)
        .send()
        .await
        .expect("protect");
    assert_eq!(
        code(emr.terminate_job_flows().job_flow_ids(&cluster_id).send().await),
        "ValidationException",
        "a protected cluster refuses to terminate"
    );
    emr.set_termination_protection()
        .job_flow_ids(&cluster_id)
        .termination_protected(false)
        .send()
        .await
        .expect("unprotect");
    emr.terminate_job_flows().job_flow_ids(&cluster_id).send().await.expect("terminate");
    until("the cluster terminated", || async {
        describe()
            .await
            .ok()
            .and_then(|d| d.cluster)
            .and_then(|c| c.status)
            .and_then(|s| s.state)
            .is_some_and(|s| s.as_str() == "TERMINATED")
    })
    .await;
    let cluster = describe().await.expect("still described").cluster.expect("cluster");
    assert_eq!(cluster.tags().len(), 1);
    let terminated =
        emr.list_clusters().cluster_states(aws_sdk_emr::types::ClusterState::Terminated).send().await.expect("list");
    assert_eq!(terminated.clusters().len(), 1, "terminated clusters stay listed");
    assert_eq!(code(resize(core_fleet.id().expect("id"), 2).await), "InvalidRequestException");

    // Without KeepJobFlowAliveWhenNoSteps a cluster shuts down after its (no) steps.
    let transient = run(vec![master(), core()], false).send().await.expect("run").job_flow_id.expect("id");
    until("the transient cluster ends", || async {
        let state = emr
            .describe_cluster()
            .cluster_id(&transient)
            .send()
            .await
            .ok()
            .and_then(|d| d.cluster)
            .and_then(|c| c.status);
        state.is_some_and(|s| {
            s.state().is_some_and(|s| s.as_str() == "TERMINATED")
                && s.state_change_reason().and_then(|r| r.code()).is_some_and(|c| c.as_str() == "ALL_STEPS_COMPLETED")
        })
    })
    .await;
    // EMR's rules stay in the groups after the clusters are gone ("the EMR service does not revoke
    // rules added on deletion": terraform-provider-aws docs): the groups name each other.
    assert_eq!(code(ec2.delete_security_group().group_id(&n.core).send().await), "DependencyViolation");
    for group in [&n.master, &n.service_access] {
        let described = ec2.describe_security_groups().group_ids(group).send().await.expect("describe");
        let group_info = &described.security_groups()[0];
        let naming_core = |permissions: &[aws_sdk_ec2::types::IpPermission]| -> Vec<aws_sdk_ec2::types::IpPermission> {
            permissions
                .iter()
                .filter(|p| p.user_id_group_pairs().iter().any(|g| g.group_id() == Some(n.core.as_str())))
                .map(|p| {
                    aws_sdk_ec2::types::IpPermission::builder()
                        .set_ip_protocol(p.ip_protocol().map(str::to_owned))
                        .set_from_port(p.from_port())
                        .set_to_port(p.to_port())
                        .user_id_group_pairs(aws_sdk_ec2::types::UserIdGroupPair::builder().group_id(&n.core).build())
                        .build()
                })
                .collect()
        };
        let ingress = naming_core(group_info.ip_permissions());
        if !ingress.is_empty() {
            ec2.revoke_security_group_ingress()
                .group_id(group)
                .set_ip_permissions(Some(ingress))
                .send()
                .await
                .expect("revoke");
        }
        let egress = naming_core(group_info.ip_permissions_egress());
        if !egress.is_empty() {
            ec2.revoke_security_group_egress()
                .group_id(group)
                .set_ip_permissions(Some(egress))
                .send()
                .await
                .expect("revoke");
        }
    }
    ec2.delete_security_group().group_id(&n.core).send().await.expect("free once nothing names it");
    let _ = n.vpc;
    sandbox.stop().await;
}

#[tokio::test]
async fn sagemaker_domains_and_user_profiles() {
    let sandbox = Sandbox::start(Config { time_scale: FAST, iam_propagation_seconds: 0.0, ..Config::default() })
        .await
        .expect("starts");
    let config = sdk(&sandbox).await;
    let n = network(&config).await;
    let iam = aws_sdk_iam::Client::new(&config);
    let role = role(&iam, "execution", "sagemaker").await;
    let sm = aws_sdk_sagemaker::Client::new(&config);
    let settings = |groups: Vec<String>| {
        aws_sdk_sagemaker::types::UserSettings::builder()
            .execution_role(&role)
            .set_security_groups(Some(groups))
            .build()
    };
    let created = sm
        .create_domain()
        .domain_name("studio")
        .auth_mode(aws_sdk_sagemaker::types::AuthMode::Iam)
        .app_network_access_type(aws_sdk_sagemaker::types::AppNetworkAccessType::VpcOnly)
        .vpc_id(&n.vpc)
        .subnet_ids(&n.subnets[0])
        .default_user_settings(settings(vec![n.master.clone()]))
        .send()
        .await
        .expect("domain");
    let domain = created.domain_id.expect("id");
    assert_eq!(
        code(
            sm.create_domain()
                .domain_name("studio")
                .auth_mode(aws_sdk_sagemaker::types::AuthMode::Iam)
                .vpc_id(&n.vpc)
                .subnet_ids(&n.subnets[0])
                .default_user_settings(settings(vec![]))
                .send()
                .await
        ),
        "ResourceInUse"
    );
    let status = || sm.describe_domain().domain_id(&domain).send();
    assert_eq!(status().await.expect("describe").status().map(|s| s.as_str()), Some("Pending"));
    until("the domain is in service", || async {
        status().await.ok().and_then(|d| d.status).is_some_and(|s| s.as_str() == "InService")
    })
    .await;

    // SageMaker made its two NFS groups in the VPC.
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let nfs = ec2
        .describe_security_groups()
        .filters(aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(&n.vpc).build())
        .send()
        .await
        .expect("groups");
    let names: Vec<&str> =
        nfs.security_groups().iter().filter_map(|g| g.group_name()).filter(|n| n.contains("-nfs-")).collect();
    assert_eq!(names.len(), 2, "{names:?}");

    sm.create_user_profile().domain_id(&domain).user_profile_name("alice").send().await.expect("profile");
    assert_eq!(
        code(sm.create_user_profile().domain_id(&domain).user_profile_name("Alice").send().await),
        "ResourceInUse"
    );
    assert_eq!(
        code(sm.delete_domain().domain_id(&domain).send().await),
        "ResourceInUse",
        "a domain with user profiles cannot be deleted"
    );
    sm.update_domain()
        .domain_id(&domain)
        .subnet_ids(&n.subnets[0])
        .subnet_ids(&n.subnets[1])
        .send()
        .await
        .expect("update subnets in place");
    assert_eq!(status().await.expect("describe").status().map(|s| s.as_str()), Some("Updating"));
    until("the update finished", || async {
        status().await.ok().and_then(|d| d.status).is_some_and(|s| s.as_str() == "InService")
    })
    .await;
    assert_eq!(status().await.expect("describe").subnet_ids().len(), 2);
    until("the profile is in service", || async {
        sm.describe_user_profile()
            .domain_id(&domain)
            .user_profile_name("alice")
            .send()
            .await
            .ok()
            .and_then(|p| p.status)
            .is_some_and(|s| s.as_str() == "InService")
    })
    .await;
    sm.update_user_profile()
        .domain_id(&domain)
        .user_profile_name("alice")
        .user_settings(settings(vec![n.core.clone()]))
        .send()
        .await
        .expect("update profile");
    let arn = status().await.expect("describe").domain_arn.expect("arn");
    sm.add_tags()
        .resource_arn(&arn)
        .tags(aws_sdk_sagemaker::types::Tag::builder().key("converge:stack").value("s").build())
        .send()
        .await
        .expect("tag");
    assert_eq!(sm.list_tags().resource_arn(&arn).send().await.expect("tags").tags().len(), 1);

    sm.delete_user_profile().domain_id(&domain).user_profile_name("alice").send().await.expect("delete profile");
    until("the profile is gone", || async {
        code(sm.describe_user_profile().domain_id(&domain).user_profile_name("alice").send().await)
            == "ResourceNotFound"
    })
    .await;
    sm.delete_domain().domain_id(&domain).send().await.expect("delete domain (home EFS retained)");
    until("the domain is gone", || async { code(status().await) == "ResourceNotFound" }).await;

    // What DeleteDomain leaves behind: the NFS groups (referencing each other) and the EFS mount targets.
    let inbound = nfs
        .security_groups()
        .iter()
        .find(|g| g.group_name().is_some_and(|n| n.starts_with("security-group-for-inbound-nfs-")))
        .and_then(|g| g.group_id())
        .expect("inbound");
    assert_eq!(code(ec2.delete_security_group().group_id(inbound).send().await), "DependencyViolation");
    assert_eq!(
        code(ec2.delete_subnet().subnet_id(&n.subnets[0]).send().await),
        "DependencyViolation",
        "the retained home EFS keeps a mount target"
    );
    sandbox.stop().await;
}

#[tokio::test]
async fn service_catalog_with_templates_in_s3() {
    let sandbox = Sandbox::start(Config { time_scale: FAST, iam_propagation_seconds: 0.0, ..Config::default() })
        .await
        .expect("starts");
    let config = sdk(&sandbox).await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    s3.create_bucket().bucket("artifacts").send().await.expect("bucket");
    let template = "AWSTemplateFormatVersion: 2010-09-09\nResources:\n  Cluster:\n    Type: AWS::EMR::Cluster\n";
    let put = |key: &str, body: &str| {
        s3.put_object().bucket("artifacts").key(key).body(body.as_bytes().to_vec().into()).if_none_match("*").send()
    };
    put("templates/v1.yaml", template).await.expect("put");
    assert_eq!(
        code(put("templates/v1.yaml", template).await),
        "PreconditionFailed",
        "If-None-Match: * refuses to overwrite"
    );
    put("notes.txt", "not a template").await.expect("put");
    let got = s3.get_object().bucket("artifacts").key("templates/v1.yaml").send().await.expect("get");
    assert_eq!(got.body.collect().await.expect("body").into_bytes().as_ref(), template.as_bytes());
    assert_eq!(
        s3.head_object().bucket("artifacts").key("templates/v1.yaml").send().await.expect("head").content_length(),
        Some(i64::try_from(template.len()).expect("len"))
    );
    assert_eq!(
        s3.list_objects_v2().bucket("artifacts").prefix("templates/").send().await.expect("list").key_count(),
        Some(1)
    );
    assert_eq!(code(s3.get_object().bucket("artifacts").key("missing").send().await), "NoSuchKey");

    let iam = aws_sdk_iam::Client::new(&config);
    let execution = role(&iam, "execution", "sagemaker").await;
    let launch = role(&iam, "launch", "servicecatalog").await;

    let sc = aws_sdk_servicecatalog::Client::new(&config);
    let portfolio = |token: &str| {
        sc.create_portfolio().display_name("EMR templates").provider_name("Data").idempotency_token(token).send()
    };
    let first = portfolio("token-1").await.expect("portfolio").portfolio_detail.expect("detail").id.expect("id");
    let again = portfolio("token-1").await.expect("portfolio").portfolio_detail.expect("detail").id.expect("id");
    assert_eq!(first, again, "the same idempotency token gives the same portfolio");
    let url = |key: &str| format!("{}/artifacts/{key}", sandbox.endpoint());
    let artifact = |key: &str| {
        aws_sdk_servicecatalog::types::ProvisioningArtifactProperties::builder()
            .name("v1")
            .info("LoadTemplateFromURL", url(key))
            .r#type(aws_sdk_servicecatalog::types::ProvisioningArtifactType::CloudFormationTemplate)
            .build()
    };
    let product = |key: &str| {
        sc.create_product()
            .name("Two-node cluster")
            .owner("data")
            .product_type(aws_sdk_servicecatalog::types::ProductType::CloudFormationTemplate)
            .provisioning_artifact_parameters(artifact(key))
            .send()
    };
    assert_eq!(code(product("missing.yaml").await), "InvalidParametersException");
    assert_eq!(code(product("notes.txt").await), "InvalidParametersException");
    let created = product("templates/v1.yaml").await.expect("product");
    let product_id = created
        .product_view_detail()
        .and_then(|d| d.product_view_summary())
        .and_then(|s| s.product_id())
        .expect("id")
        .to_owned();
    assert_eq!(created.product_view_detail().and_then(|d| d.status()).map(|s| s.as_str()), Some("CREATING"));

    sc.associate_product_with_portfolio().product_id(&product_id).portfolio_id(&first).send().await.expect("associate");
    assert_eq!(
        code(
            sc.associate_principal_with_portfolio()
                .portfolio_id(&first)
                .principal_arn("arn:aws:iam::123456789012:role/nobody")
                .principal_type(aws_sdk_servicecatalog::types::PrincipalType::Iam)
                .send()
                .await
        ),
        "InvalidParametersException"
    );
    sc.associate_principal_with_portfolio()
        .portfolio_id(&first)
        .principal_arn(&execution)
        .principal_type(aws_sdk_servicecatalog::types::PrincipalType::Iam)
        .send()
        .await
        .expect("principal");
    assert_eq!(
        sc.list_principals_for_portfolio().portfolio_id(&first).send().await.expect("principals").principals().len(),
        1
    );
    let parameters = format!(r#"{{"RoleArn": "{launch}"}}"#);
    let constraint = sc
        .create_constraint()
        .portfolio_id(&first)
        .product_id(&product_id)
        .r#type("LAUNCH")
        .parameters(&parameters)
        .idempotency_token("c1")
        .send()
        .await
        .expect("constraint");
    assert_eq!(
        code(
            sc.create_constraint()
                .portfolio_id(&first)
                .product_id(&product_id)
                .r#type("LAUNCH")
                .parameters(&parameters)
                .idempotency_token("c2")
                .send()
                .await
        ),
        "DuplicateResourceException"
    );
    let constraint_id = constraint.constraint_detail().and_then(|d| d.constraint_id()).expect("id").to_owned();
    assert!(
        sc.describe_constraint()
            .id(&constraint_id)
            .send()
            .await
            .expect("describe")
            .constraint_parameters()
            .is_some_and(|p| p.contains("launch"))
    );
    assert_eq!(
        sc.list_constraints_for_portfolio().portfolio_id(&first).send().await.expect("list").constraint_details().len(),
        1
    );

    sc.update_product()
        .id(&product_id)
        .add_tags(
            aws_sdk_servicecatalog::types::Tag::builder()
                .key("sagemaker:studio-visibility:emr")
                .value("true")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("tag");
    let admin = sc.describe_product_as_admin().id(&product_id).send().await.expect("describe as admin");
    assert_eq!(
        admin.tags().iter().map(|t| t.key()).collect::<Vec<_>>(),
        ["sagemaker:studio-visibility:emr"],
        "product tags are read as admin"
    );
    assert_eq!(
        sc.search_products_as_admin().portfolio_id(&first).send().await.expect("search").product_view_details().len(),
        1
    );
    sc.create_provisioning_artifact()
        .product_id(&product_id)
        .parameters(artifact("templates/v1.yaml"))
        .idempotency_token("v2")
        .send()
        .await
        .expect("new version");
    assert_eq!(
        sc.list_provisioning_artifacts()
            .product_id(&product_id)
            .send()
            .await
            .expect("versions")
            .provisioning_artifact_details()
            .len(),
        2
    );

    assert_eq!(code(sc.delete_portfolio().id(&first).send().await), "ResourceInUseException");
    assert_eq!(code(sc.delete_product().id(&product_id).send().await), "ResourceInUseException");
    assert_eq!(
        code(sc.disassociate_product_from_portfolio().product_id(&product_id).portfolio_id(&first).send().await),
        "ResourceInUseException"
    );
    sc.delete_constraint().id(&constraint_id).send().await.expect("delete constraint");
    sc.disassociate_product_from_portfolio()
        .product_id(&product_id)
        .portfolio_id(&first)
        .send()
        .await
        .expect("disassociate");
    sc.delete_product().id(&product_id).send().await.expect("delete product");
    sc.disassociate_principal_from_portfolio()
        .portfolio_id(&first)
        .principal_arn(&execution)
        .send()
        .await
        .expect("disassociate principal");
    sc.delete_portfolio().id(&first).send().await.expect("delete portfolio");
    s3.delete_object().bucket("artifacts").key("notes.txt").send().await.expect("delete object");
    sandbox.stop().await;
}

/// The state of cluster `id`, and the code and message of its last state change.
async fn cluster_status(emr: &aws_sdk_emr::Client, id: &str) -> (String, String, String) {
    let status = emr.describe_cluster().cluster_id(id).send().await.ok().and_then(|d| d.cluster).and_then(|c| c.status);
    let Some(status) = status else { return Default::default() };
    let reason = status.state_change_reason();
    (
        status.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        reason.and_then(|r| r.code()).map(|c| c.as_str().to_owned()).unwrap_or_default(),
        reason.and_then(|r| r.message()).unwrap_or_default().to_owned(),
    )
}

/// `RunJobFlow` of a cluster named `etl` with EMR's default roles and `fleets`.
fn run_etl(
    emr: &aws_sdk_emr::Client,
    release: &str,
    fleets: Vec<InstanceFleetConfig>,
    mut instances: JobFlowInstancesConfig,
) -> aws_sdk_emr::operation::run_job_flow::builders::RunJobFlowFluentBuilder {
    instances.instance_fleets = Some(fleets);
    emr.run_job_flow()
        .name("etl")
        .release_label(release)
        .service_role("EMR_DefaultRole")
        .job_flow_role("EMR_EC2_DefaultRole")
        .instances(instances)
}

/// A cluster with one primary node that loses it terminates with errors, as
/// EMR's guide says of clusters without multiple primary nodes; the events
/// that are not failures leave it running.
#[tokio::test]
async fn losing_the_only_primary_node_ends_the_cluster_with_errors() {
    let sandbox = Sandbox::start(Config { time_scale: FAST, iam_propagation_seconds: 0.0, ..Config::default() })
        .await
        .expect("starts");
    let config = sdk(&sandbox).await;
    let n = network(&config).await;
    let emr = aws_sdk_emr::Client::new(&config);
    let fleets = vec![
        fleet(InstanceFleetType::Master, &["m5.xlarge"], 1, 0),
        fleet(InstanceFleetType::Core, &["r5.xlarge"], 2, 0),
    ];
    let id = run_etl(&emr, "emr-6.15.0", fleets, instances(&n, vec![], true))
        .send()
        .await
        .expect("run")
        .job_flow_id
        .expect("id");
    until("the cluster waits", || async { cluster_status(&emr, &id).await.0 == "WAITING" }).await;
    let lose = ClusterEvent::LosePrimary { cluster: id.clone() };
    assert_eq!(
        sandbox.cluster_event(&ClusterEvent::LosePrimary { cluster: "j-NONE".into() }),
        Err("no cluster `j-NONE`".into())
    );
    sandbox.cluster_event(&lose).expect("played");
    assert_eq!(cluster_status(&emr, &id).await.0, "TERMINATING");
    until("the cluster ends", || async { cluster_status(&emr, &id).await.0 == "TERMINATED_WITH_ERRORS" }).await;
    let (_, code, message) = cluster_status(&emr, &id).await;
    assert_eq!(code, "INSTANCE_FAILURE");
    assert!(message.contains("primary node"), "{message}");
    let active = emr.list_clusters().cluster_states(ClusterState::Waiting).send().await.expect("listed");
    assert!(active.clusters().is_empty(), "no longer among the active clusters");
    assert!(sandbox.cluster_event(&lose).is_err(), "a terminated cluster has no primary node to lose");
    sandbox.stop().await;
}

/// What EMR answers where converge and the sandbox once read AWS the same wrong way
/// (docs/aws-fidelity.md): each answer as the sources record it.
#[tokio::test]
async fn emr_answers_what_a_first_real_run_meets() {
    let sandbox = Sandbox::start(Config { time_scale: FAST, iam_propagation_seconds: 0.0, ..Config::default() })
        .await
        .expect("starts");
    let config = sdk(&sandbox).await;
    let n = network(&config).await;
    let emr = aws_sdk_emr::Client::new(&config);
    let master = || fleet(InstanceFleetType::Master, &["m5.xlarge"], 1, 0);
    let core = || fleet(InstanceFleetType::Core, &["r5.xlarge"], 2, 0);
    let run = |release: &str, fleets: Vec<InstanceFleetConfig>, instances: JobFlowInstancesConfig| {
        run_etl(&emr, release, fleets, instances).send()
    };
    let waiting = |id: String| {
        let emr = emr.clone();
        async move { until("the cluster waits", || async { cluster_status(&emr, &id).await.0 == "WAITING" }).await }
    };

    // Custom managed groups in a private subnet (CreateVpc's main route table has no internet
    // gateway) without a service-access group: EMR accepts the request and the cluster fails.
    let mut without_service_access = instances(&n, vec![], true);
    without_service_access.service_access_security_group = None;
    let failing = run("emr-6.15.0", vec![master(), core()], without_service_access)
        .await
        .expect("EMR accepts the request")
        .job_flow_id
        .expect("id");
    until("the cluster fails", || async { cluster_status(&emr, &failing).await.0 == "TERMINATED_WITH_ERRORS" }).await;
    let (_, reason, message) = cluster_status(&emr, &failing).await;
    assert_eq!(reason, "VALIDATION_ERROR");
    assert!(message.starts_with("You must also specify a ServiceAccessSecurityGroup"), "{message}");

    // A fleet with neither On-Demand nor Spot capacity.
    let idle_task = fleet(InstanceFleetType::Task, &["r5.xlarge"], 0, 0);
    assert_eq!(
        code(run("emr-6.15.0", vec![master(), core(), idle_task], instances(&n, vec![], true)).await),
        "ValidationException"
    );

    // An EBS-only type without an EbsConfiguration gets EMR's default volumes (xlarge: 2 × 32 GiB).
    let bare_core = InstanceFleetConfig::builder()
        .instance_fleet_type(InstanceFleetType::Core)
        .target_on_demand_capacity(2)
        .instance_type_configs(InstanceTypeConfig::builder().instance_type("m5.xlarge").build())
        .build();
    let cluster =
        run("emr-6.15.0", vec![master(), bare_core], instances(&n, vec![], true)).await.expect("run").job_flow_id;
    let cluster = cluster.expect("id");
    waiting(cluster.clone()).await;
    let fleets = emr.list_instance_fleets().cluster_id(&cluster).send().await.expect("fleets");
    let core_fleet = fleets
        .instance_fleets()
        .iter()
        .find(|f| f.instance_fleet_type().is_some_and(|t| t.as_str() == "CORE"))
        .expect("core");
    let volumes: Vec<(Option<&str>, Option<i32>)> = core_fleet.instance_type_specifications()[0]
        .ebs_block_devices()
        .iter()
        .filter_map(|d| d.volume_specification())
        .map(|v| (v.volume_type(), v.size_in_gb()))
        .collect();
    assert_eq!(volumes, [(Some("gp2"), Some(32)), (Some("gp2"), Some(32))]);

    // Reconfiguring a fleet: RECONFIGURING, refusing another change meanwhile, then RUNNING.
    let fleet_id = core_fleet.id().expect("id").to_owned();
    let reconfigure = InstanceFleetModifyConfig::builder()
        .instance_fleet_id(&fleet_id)
        .instance_type_configs(
            InstanceTypeConfig::builder()
                .instance_type("m5.xlarge")
                .configurations(
                    aws_sdk_emr::types::Configuration::builder()
                        .classification("spark-defaults")
                        .properties("spark.executor.memory", "4g")
                        .build(),
                )
                .build(),
        )
        .build();
    emr.modify_instance_fleet().cluster_id(&cluster).instance_fleet(reconfigure).send().await.expect("reconfigure");
    let fleet_state = || {
        let emr = emr.clone();
        let (cluster, fleet_id) = (cluster.clone(), fleet_id.clone());
        async move {
            let fleets = emr.list_instance_fleets().cluster_id(&cluster).send().await.expect("fleets");
            let fleet = fleets.instance_fleets().iter().find(|f| f.id() == Some(fleet_id.as_str())).cloned();
            fleet.and_then(|f| f.status).and_then(|s| s.state).map(|s| s.as_str().to_owned()).unwrap_or_default()
        }
    };
    assert_eq!(fleet_state().await, "RECONFIGURING");
    let resize = InstanceFleetModifyConfig::builder().instance_fleet_id(&fleet_id).target_on_demand_capacity(3).build();
    assert_eq!(
        code(emr.modify_instance_fleet().cluster_id(&cluster).instance_fleet(resize.clone()).send().await),
        "InvalidRequestException",
        "one change of a fleet at a time"
    );
    until("the fleet is reconfigured", || async { fleet_state().await == "RUNNING" }).await;
    emr.modify_instance_fleet().cluster_id(&cluster).instance_fleet(resize).send().await.expect("then the resize");

    // Once the cluster shuts down, its managed-scaling policy cannot be read (terraform-provider-aws
    // PR #15541).
    emr.get_managed_scaling_policy().cluster_id(&cluster).send().await.expect("read while it lives");
    emr.terminate_job_flows().job_flow_ids(&cluster).send().await.expect("terminate");
    assert_eq!(code(emr.get_managed_scaling_policy().cluster_id(&cluster).send().await), "ValidationException");

    // A release before auto-termination (5.30.0) refuses the policy's read.
    let old = run("emr-5.29.0", vec![master(), core()], instances(&n, vec![], true)).await.expect("run");
    let old = old.job_flow_id.expect("id");
    let refused = emr.get_auto_termination_policy().cluster_id(&old).send().await.expect_err("no auto-termination");
    let message = refused.as_service_error().and_then(|e| e.meta().message()).unwrap_or_default().to_owned();
    assert_eq!(code(Err::<(), _>(refused)), "ValidationException");
    assert!(message.starts_with("Auto-termination is not available"), "{message}");

    // The root volume's IOPS and throughput: EMR 6.15.0 and later, and read back as given.
    let mut instances_old = instances(&n, vec![], true);
    instances_old.instance_fleets = Some(vec![master(), core()]);
    let too_old = emr
        .run_job_flow()
        .name("etl")
        .release_label("emr-6.14.0")
        .service_role("EMR_DefaultRole")
        .job_flow_role("EMR_EC2_DefaultRole")
        .instances(instances_old)
        .ebs_root_volume_iops(4000)
        .send()
        .await;
    assert_eq!(code(too_old), "ValidationException");
    let mut instances_new = instances(&n, vec![], true);
    instances_new.instance_fleets = Some(vec![master(), core()]);
    let fast = emr
        .run_job_flow()
        .name("etl")
        .release_label("emr-6.15.0")
        .service_role("EMR_DefaultRole")
        .job_flow_role("EMR_EC2_DefaultRole")
        .instances(instances_new)
        .ebs_root_volume_iops(4000)
        .ebs_root_volume_throughput(250)
        .send()
        .await
        .expect("run")
        .job_flow_id
        .expect("id");
    let described = emr.describe_cluster().cluster_id(&fast).send().await.expect("describe");
    let cluster = described.cluster.expect("cluster");
    assert_eq!((cluster.ebs_root_volume_iops, cluster.ebs_root_volume_throughput), (Some(4000), Some(250)));

    // EMR has no "not found" code: an unknown cluster "is not valid".
    assert_eq!(code(emr.describe_cluster().cluster_id("j-0NOSUCHCLUSTER").send().await), "InvalidRequestException");
    sandbox.stop().await;
}

/// What IAM, SageMaker and Service Catalog answer where converge and the sandbox once
/// read AWS the same wrong way (docs/aws-fidelity.md).
#[tokio::test]
async fn iam_and_sagemaker_answer_what_a_first_real_run_meets() {
    let sandbox = Sandbox::start(Config { time_scale: FAST, iam_propagation_seconds: 400.0, ..Config::default() })
        .await
        .expect("starts");
    let config = sdk(&sandbox).await;
    let n = network(&config).await;
    let iam = aws_sdk_iam::Client::new(&config);

    // A managed-policy ARN that names no AWS policy, and a service-linked role's policy.
    let attach = |arn: &str| iam.attach_role_policy().role_name("EMR_DefaultRole").policy_arn(arn).send();
    assert_eq!(code(attach("arn:aws:iam::aws:policy/AmazonEMRFullAcess").await), "NoSuchEntity");
    assert_eq!(
        code(attach("arn:aws:iam::aws:policy/aws-service-role/AmazonEMRCleanupPolicy").await),
        "PolicyNotAttachable"
    );
    attach("arn:aws:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2").await.expect("a real one attaches");

    // A role IAM has not propagated yet: SageMaker cannot assume it, and says so.
    let role = role(&iam, "execution", "sagemaker").await;
    let sm = aws_sdk_sagemaker::Client::new(&config);
    let domain = |auth: aws_sdk_sagemaker::types::AuthMode, name: &str| {
        sm.create_domain()
            .domain_name(name)
            .auth_mode(auth)
            .vpc_id(&n.vpc)
            .subnet_ids(&n.subnets[0])
            .default_user_settings(aws_sdk_sagemaker::types::UserSettings::builder().execution_role(&role).build())
            .send()
    };
    let refused = domain(aws_sdk_sagemaker::types::AuthMode::Sso, "sso").await.expect_err("not yet");
    let message = refused.as_service_error().and_then(|e| e.meta().message()).unwrap_or_default().to_owned();
    assert_eq!(code(Err::<(), _>(refused)), "ValidationException");
    assert!(message.starts_with(&format!("Could not assume role {role}")), "{message}");
    let mut sso = None;
    for _ in 0..400 {
        sso = domain(aws_sdk_sagemaker::types::AuthMode::Sso, "sso").await.ok().and_then(|d| d.domain_id);
        if sso.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let sso = sso.expect("the role propagates");
    let iam_domain = domain(aws_sdk_sagemaker::types::AuthMode::Iam, "iam").await.expect("domain").domain_id;
    let iam_domain = iam_domain.expect("id");
    for id in [&sso, &iam_domain] {
        until("the domain is in service", || async {
            sm.describe_domain()
                .domain_id(id)
                .send()
                .await
                .ok()
                .and_then(|d| d.status)
                .is_some_and(|s| s.as_str() == "InService")
        })
        .await;
    }

    // An SSO domain's profiles name their Identity Center user; an IAM domain's cannot.
    let profile = |domain: &str, sso_user: Option<&str>| {
        sm.create_user_profile()
            .domain_id(domain)
            .user_profile_name("alice")
            .set_single_sign_on_user_identifier(sso_user.map(|_| "UserName".to_owned()))
            .set_single_sign_on_user_value(sso_user.map(str::to_owned))
            .send()
    };
    assert_eq!(code(profile(&sso, None).await), "ValidationException");
    assert_eq!(code(profile(&iam_domain, Some("alice@example.com")).await), "ValidationException");
    profile(&sso, Some("alice@example.com")).await.expect("with its user");
    profile(&iam_domain, None).await.expect("without");
    let described = sm.describe_user_profile().domain_id(&sso).user_profile_name("alice").send().await.expect("read");
    assert_eq!(
        (described.single_sign_on_user_identifier(), described.single_sign_on_user_value()),
        (Some("UserName"), Some("alice@example.com"))
    );
    sandbox.stop().await;
}
