//! The sandbox through the real AWS SDK clients: every implemented operation,
//! its results and its error codes. Each test starts its own sandbox on port 0
//! and stops it.

mod common;

use common::{code, sdk};

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, ResourceType, Tag, TagSpecification, UserIdGroupPair};
use converge_sandbox::{Config, Fault, FaultKind, Sandbox};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

#[tokio::test]
async fn sts_names_the_configured_account() {
    let sandbox = Sandbox::start(Config { account: "210987654321".into(), ..Config::default() }).await.expect("starts");
    let sts = aws_sdk_sts::Client::new(&sdk(&sandbox).await);
    let identity = sts.get_caller_identity().send().await.expect("identity");
    assert_eq!(identity.account(), Some("210987654321"));
    sandbox.stop().await;
}

#[tokio::test]
async fn iam_roles_policies_and_instance_profiles() {
    let sandbox = Sandbox::start(Config::default()).await.expect("starts");
    let iam = aws_sdk_iam::Client::new(&sdk(&sandbox).await);

    let created = iam
        .create_role()
        .role_name("EMR_EC2_DefaultRole")
        .assume_role_policy_document(TRUST)
        .tags(aws_sdk_iam::types::Tag::builder().key("team").value("data").build().expect("tag"))
        .send()
        .await
        .expect("create role");
    let role = created.role().expect("role");
    assert_eq!(role.arn(), "arn:aws:iam::123456789012:role/EMR_EC2_DefaultRole");
    assert_eq!(
        code(iam.create_role().role_name("emr_ec2_defaultrole").assume_role_policy_document(TRUST).send().await),
        "EntityAlreadyExists",
        "names are case-insensitively unique"
    );
    assert_eq!(
        code(iam.create_role().role_name("bad").assume_role_policy_document("{not json").send().await),
        "MalformedPolicyDocument"
    );
    assert_eq!(
        code(iam.create_role().role_name("x").assume_role_policy_document(TRUST).max_session_duration(60).send().await),
        "ValidationError"
    );

    let fetched = iam.get_role().role_name("EMR_EC2_DefaultRole").send().await.expect("get role");
    let document = fetched.role().and_then(|r| r.assume_role_policy_document()).expect("trust policy");
    assert!(document.starts_with("%7B"), "IAM returns the document URL-encoded: {document}");
    assert_eq!(code(iam.get_role().role_name("missing").send().await), "NoSuchEntity");

    iam.put_role_policy()
        .role_name("EMR_EC2_DefaultRole")
        .policy_name("s3")
        .policy_document(POLICY)
        .send()
        .await
        .expect("put policy");
    let got =
        iam.get_role_policy().role_name("EMR_EC2_DefaultRole").policy_name("s3").send().await.expect("get policy");
    assert!(got.policy_document().contains("s3%3AGetObject"));
    assert_eq!(
        iam.list_role_policies().role_name("EMR_EC2_DefaultRole").send().await.expect("list").policy_names(),
        ["s3"]
    );
    iam.attach_role_policy()
        .role_name("EMR_EC2_DefaultRole")
        .policy_arn("arn:aws:iam::aws:policy/service-role/AmazonElasticMapReduceforEC2Role")
        .send()
        .await
        .expect("attach");
    let attached =
        iam.list_attached_role_policies().role_name("EMR_EC2_DefaultRole").send().await.expect("list attached");
    assert_eq!(attached.attached_policies().len(), 1);

    // Deleting a role in use is a DeleteConflict until everything is detached.
    assert_eq!(code(iam.delete_role().role_name("EMR_EC2_DefaultRole").send().await), "DeleteConflict");
    iam.detach_role_policy()
        .role_name("EMR_EC2_DefaultRole")
        .policy_arn("arn:aws:iam::aws:policy/service-role/AmazonElasticMapReduceforEC2Role")
        .send()
        .await
        .expect("detach");
    assert_eq!(
        code(
            iam.detach_role_policy()
                .role_name("EMR_EC2_DefaultRole")
                .policy_arn("arn:aws:iam::aws:policy/Nope")
                .send()
                .await
        ),
        "NoSuchEntity"
    );
    assert_eq!(code(iam.delete_role().role_name("EMR_EC2_DefaultRole").send().await), "DeleteConflict");
    iam.delete_role_policy().role_name("EMR_EC2_DefaultRole").policy_name("s3").send().await.expect("delete policy");

    iam.create_instance_profile().instance_profile_name("EMR_EC2_DefaultRole").send().await.expect("create profile");
    assert_eq!(
        code(iam.create_instance_profile().instance_profile_name("EMR_EC2_DefaultRole").send().await),
        "EntityAlreadyExists"
    );
    iam.add_role_to_instance_profile()
        .instance_profile_name("EMR_EC2_DefaultRole")
        .role_name("EMR_EC2_DefaultRole")
        .send()
        .await
        .expect("add role");
    assert_eq!(
        code(
            iam.add_role_to_instance_profile()
                .instance_profile_name("EMR_EC2_DefaultRole")
                .role_name("EMR_EC2_DefaultRole")
                .send()
                .await
        ),
        "LimitExceeded"
    );
    let profiles =
        iam.list_instance_profiles_for_role().role_name("EMR_EC2_DefaultRole").send().await.expect("profiles");
    assert_eq!(profiles.instance_profiles()[0].roles()[0].role_name(), "EMR_EC2_DefaultRole");
    assert_eq!(code(iam.delete_role().role_name("EMR_EC2_DefaultRole").send().await), "DeleteConflict");
    assert_eq!(
        code(iam.delete_instance_profile().instance_profile_name("EMR_EC2_DefaultRole").send().await),
        "DeleteConflict"
    );
    iam.remove_role_from_instance_profile()
        .instance_profile_name("EMR_EC2_DefaultRole")
        .role_name("EMR_EC2_DefaultRole")
        .send()
        .await
        .expect("remove role");
    iam.delete_instance_profile().instance_profile_name("EMR_EC2_DefaultRole").send().await.expect("delete profile");

    iam.tag_role()
        .role_name("EMR_EC2_DefaultRole")
        .tags(aws_sdk_iam::types::Tag::builder().key("converge:stack").value("s").build().expect("tag"))
        .send()
        .await
        .expect("tag");
    iam.untag_role().role_name("EMR_EC2_DefaultRole").tag_keys("team").send().await.expect("untag");
    let tags = iam.list_role_tags().role_name("EMR_EC2_DefaultRole").send().await.expect("tags");
    assert_eq!(tags.tags().iter().map(|t| t.key()).collect::<Vec<_>>(), ["converge:stack"]);
    iam.update_assume_role_policy()
        .role_name("EMR_EC2_DefaultRole")
        .policy_document(TRUST.replace("ec2", "elasticmapreduce"))
        .send()
        .await
        .expect("update trust");
    iam.update_role()
        .role_name("EMR_EC2_DefaultRole")
        .max_session_duration(7200)
        .description("d")
        .send()
        .await
        .expect("update role");
    let role = iam.get_role().role_name("EMR_EC2_DefaultRole").send().await.expect("get").role.expect("role");
    assert_eq!((role.max_session_duration(), role.description()), (Some(7200), Some("d")));
    assert_eq!(iam.list_roles().send().await.expect("list").roles().len(), 1);
    iam.delete_role().role_name("EMR_EC2_DefaultRole").send().await.expect("delete role");
    assert_eq!(code(iam.get_role().role_name("EMR_EC2_DefaultRole").send().await), "NoSuchEntity");
    sandbox.stop().await;
}

#[tokio::test]
async fn ec2_subnets_security_groups_and_rules() {
    let sandbox =
        Sandbox::start(Config { region: "ap-northeast-1".into(), ..Config::default() }).await.expect("starts");
    let ec2 = aws_sdk_ec2::Client::new(&sdk(&sandbox).await);
    let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.expect("vpc").vpc.expect("vpc");
    let vpc_id = vpc.vpc_id().expect("id").to_owned();

    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.0.1.0/24")
        .availability_zone("ap-northeast-1a")
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Subnet)
                .tags(Tag::builder().key("Name").value("a").build())
                .build(),
        )
        .send()
        .await
        .expect("subnet")
        .subnet
        .expect("subnet");
    assert_eq!(subnet.cidr_block(), Some("10.0.1.0/24"));
    // "We modify the specified CIDR block to its canonical form" (botocore CreateSubnetRequest).
    let loose = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.0.2.77/24")
        .availability_zone("ap-northeast-1b")
        .send()
        .await
        .expect("subnet")
        .subnet
        .expect("subnet");
    assert_eq!(loose.cidr_block(), Some("10.0.2.0/24"));
    ec2.delete_subnet().subnet_id(loose.subnet_id().expect("id")).send().await.expect("delete");
    assert_eq!(
        code(
            ec2.create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block("10.0.1.128/25")
                .availability_zone("ap-northeast-1a")
                .send()
                .await
        ),
        "InvalidSubnet.Conflict"
    );
    assert_eq!(
        code(
            ec2.create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block("10.1.0.0/24")
                .availability_zone("ap-northeast-1a")
                .send()
                .await
        ),
        "InvalidSubnet.Range"
    );
    assert_eq!(
        code(ec2.create_subnet().vpc_id("vpc-0000000000000000").cidr_block("10.0.9.0/24").send().await),
        "InvalidVpcID.NotFound"
    );
    let subnets = ec2
        .describe_subnets()
        .filters(Filter::builder().name("tag:Name").values("a").build())
        .send()
        .await
        .expect("describe");
    assert_eq!(subnets.subnets().len(), 1);

    let studio = ec2
        .create_security_group()
        .group_name("studio")
        .description("Studio")
        .vpc_id(&vpc_id)
        .send()
        .await
        .expect("group")
        .group_id
        .expect("id");
    let master = ec2
        .create_security_group()
        .group_name("emr-master")
        .description("EMR master")
        .vpc_id(&vpc_id)
        .send()
        .await
        .expect("group")
        .group_id
        .expect("id");
    assert_eq!(
        code(ec2.create_security_group().group_name("STUDIO").description("again").vpc_id(&vpc_id).send().await),
        "InvalidGroup.Duplicate"
    );
    assert_eq!(
        code(ec2.create_security_group().group_name("sg-nope").description("x").vpc_id(&vpc_id).send().await),
        "InvalidParameterValue"
    );

    // A new group has EC2's default allow-all egress rule.
    let groups = ec2.describe_security_groups().group_ids(&studio).send().await.expect("describe");
    let egress = groups.security_groups()[0].ip_permissions_egress();
    assert_eq!((egress.len(), egress[0].ip_protocol()), (1, Some("-1")));

    let livy = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(8998)
        .to_port(8998)
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(&studio).description("Livy from Studio").build())
        .build();
    let ssh = |cidr: &str| {
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(22)
            .to_port(22)
            .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
            .build()
    };
    let authorized = ec2
        .authorize_security_group_ingress()
        .group_id(&master)
        .ip_permissions(livy.clone())
        .ip_permissions(ssh("10.0.1.7/24"))
        .send()
        .await
        .expect("authorize");
    assert_eq!(authorized.security_group_rules().len(), 2);
    let rules = ec2
        .describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(&master).build())
        .send()
        .await
        .expect("rules");
    let cidrs: Vec<_> = rules.security_group_rules().iter().filter_map(|r| r.cidr_ipv4()).collect();
    assert!(cidrs.contains(&"10.0.1.0/24"), "EC2 stores canonical CIDRs: {cidrs:?}");
    assert_eq!(
        code(ec2.authorize_security_group_ingress().group_id(&master).ip_permissions(ssh("10.0.1.99/24")).send().await),
        "InvalidPermission.Duplicate",
        "the non-canonical form is a duplicate"
    );
    assert_eq!(
        code(ec2.revoke_security_group_ingress().group_id(&master).ip_permissions(ssh("192.168.0.0/24")).send().await),
        "InvalidPermission.NotFound"
    );

    // A group another group's rule refers to cannot be deleted.
    assert_eq!(code(ec2.delete_security_group().group_id(&studio).send().await), "DependencyViolation");
    ec2.revoke_security_group_ingress().group_id(&master).ip_permissions(livy).send().await.expect("revoke");
    ec2.delete_security_group().group_id(&studio).send().await.expect("delete");
    assert_eq!(code(ec2.describe_security_groups().group_ids(&studio).send().await), "InvalidGroup.NotFound");

    ec2.create_tags()
        .resources(&master)
        .tags(Tag::builder().key("converge:stack").value("s").build())
        .send()
        .await
        .expect("tag");
    let tagged = ec2
        .describe_security_groups()
        .filters(Filter::builder().name("tag:converge:stack").values("s").build())
        .send()
        .await
        .expect("describe");
    assert_eq!(tagged.security_groups().len(), 1);
    ec2.delete_tags()
        .resources(&master)
        .tags(Tag::builder().key("converge:stack").build())
        .send()
        .await
        .expect("untag");
    assert_eq!(code(ec2.delete_vpc().vpc_id(&vpc_id).send().await), "DependencyViolation");
    ec2.delete_security_group().group_id(&master).send().await.expect("delete");
    ec2.delete_subnet().subnet_id(subnet.subnet_id().expect("id")).send().await.expect("delete subnet");
    ec2.delete_vpc().vpc_id(&vpc_id).send().await.expect("delete vpc");
    sandbox.stop().await;
}

#[tokio::test]
async fn injected_faults_are_retried_or_reported_and_logged() {
    let sandbox = Sandbox::start(Config::default()).await.expect("starts");
    let iam = aws_sdk_iam::Client::new(&sdk(&sandbox).await);
    iam.create_role().role_name("r").assume_role_policy_document(TRUST).send().await.expect("create");

    // Two throttles, then success: the SDK's standard retries (3 attempts) get through.
    sandbox.set_faults(vec![Fault {
        service: "iam".into(),
        operation: Some("GetRole".into()),
        kind: FaultKind::Throttle,
        times: Some(2),
        latency_ms: None,
        rate: None,
    }]);
    iam.get_role().role_name("r").send().await.expect("retried through throttling");
    let log = sandbox.requests();
    let get_roles: Vec<_> = log.iter().filter(|r| r.operation == "GetRole").collect();
    assert_eq!(get_roles.len(), 3);
    assert_eq!(get_roles.iter().filter(|r| r.injected && r.error.as_deref() == Some("Throttling")).count(), 2);

    // Unavailable forever: the SDK gives up after its attempts and reports the code.
    sandbox.set_faults(vec![Fault {
        service: "iam".into(),
        operation: None,
        kind: FaultKind::Unavailable,
        times: None,
        latency_ms: None,
        rate: None,
    }]);
    assert_eq!(code(iam.get_role().role_name("r").send().await), "ServiceUnavailable");
    sandbox.set_faults(Vec::new());
    iam.get_role().role_name("r").send().await.expect("healthy again");
    sandbox.stop().await;
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("converge-sandbox-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let state_file = dir.join("state.json");
    let config = Config { state_file: Some(state_file.clone()), ..Config::default() };
    let sandbox = Sandbox::start(config.clone()).await.expect("starts");
    let iam = aws_sdk_iam::Client::new(&sdk(&sandbox).await);
    iam.create_role().role_name("kept").assume_role_policy_document(TRUST).send().await.expect("create");
    sandbox.stop().await;

    let sandbox = Sandbox::start(config).await.expect("restarts");
    let iam = aws_sdk_iam::Client::new(&sdk(&sandbox).await);
    iam.get_role().role_name("kept").send().await.expect("the role survived the restart");
    sandbox.stop().await;
    let leftovers: Vec<_> =
        std::fs::read_dir(&dir).expect("dir").filter_map(Result::ok).map(|e| e.file_name()).collect();
    assert_eq!(leftovers, [std::ffi::OsString::from("state.json")], "no temporary files left behind");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[tokio::test]
async fn each_protocol_spells_throttling_its_way_and_faults_break_or_slow_calls() {
    let sandbox = Sandbox::start(Config::default()).await.expect("starts");
    let config = sdk(&sandbox).await;
    let always = |service: &str, kind: FaultKind| Fault {
        service: service.into(),
        operation: None,
        kind,
        times: None,
        latency_ms: None,
        rate: None,
    };
    sandbox.set_faults(vec![
        always("ec2", FaultKind::Throttle),
        always("emr", FaultKind::Throttle),
        always("s3", FaultKind::Throttle),
        always("sts", FaultKind::Drop),
    ]);
    let ec2 = aws_sdk_ec2::Client::new(&config);
    assert_eq!(code(ec2.describe_vpcs().send().await), "RequestLimitExceeded");
    let emr = aws_sdk_emr::Client::new(&config);
    assert_eq!(code(emr.list_clusters().send().await), "ThrottlingException");
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    assert_eq!(code(s3.list_objects_v2().bucket("b").send().await), "SlowDown");
    let sts = aws_sdk_sts::Client::new(&config);
    let dropped = sts.get_caller_identity().send().await.expect_err("a dropped connection is an error");
    assert!(dropped.as_service_error().is_none(), "a broken connection is not a service error: {dropped:?}");

    let log = sandbox.requests();
    let throttled: Vec<_> = log.iter().filter(|r| r.injected && r.status == 503 && r.service == "ec2").collect();
    assert!(throttled.len() >= 2, "the SDK retried EC2's throttling: {throttled:?}");

    sandbox.set_faults(vec![Fault {
        service: "sts".into(),
        operation: Some("GetCallerIdentity".into()),
        kind: FaultKind::Latency,
        times: Some(1),
        latency_ms: Some(150),
        rate: None,
    }]);
    sts.get_caller_identity().send().await.expect("slow, but answered");
    let last = sandbox.requests().pop().expect("logged");
    assert!(last.injected && last.error.is_none() && last.latency_ms >= 150, "{last:?}");
    sandbox.stop().await;
}
