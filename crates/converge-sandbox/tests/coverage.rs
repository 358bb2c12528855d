//! The operations the scenario tests do not reach, one by one, through the
//! real SDK clients: together with `sdk.rs` and `services.rs` every
//! implemented operation is driven by an SDK test.

mod common;

use common::{code, sdk};

use std::time::Duration;

use converge_sandbox::{Config, Sandbox};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

#[tokio::test]
async fn remaining_ec2_iam_and_s3_operations() {
    let sandbox = Sandbox::start(Config::default()).await.expect("starts");
    let config = sdk(&sandbox).await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let vpc =
        ec2.create_vpc().cidr_block("10.1.0.0/16").send().await.expect("vpc").vpc.and_then(|v| v.vpc_id).expect("id");
    let vpcs = ec2.describe_vpcs().vpc_ids(&vpc).send().await.expect("describe vpcs");
    assert_eq!(vpcs.vpcs()[0].cidr_block(), Some("10.1.0.0/16"));
    assert_eq!(code(ec2.describe_vpcs().vpc_ids("vpc-0000000000000000").send().await), "InvalidVpcID.NotFound");
    let group = ec2
        .create_security_group()
        .group_name("g")
        .description("g")
        .vpc_id(&vpc)
        .send()
        .await
        .expect("sg")
        .group_id
        .expect("id");
    let https = |description: &str| {
        aws_sdk_ec2::types::IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip("0.0.0.0/0").description(description).build())
            .build()
    };
    ec2.authorize_security_group_egress()
        .group_id(&group)
        .ip_permissions(https("out"))
        .send()
        .await
        .expect("authorize egress");
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(https("in"))
        .send()
        .await
        .expect("authorize ingress");
    ec2.update_security_group_rule_descriptions_ingress()
        .group_id(&group)
        .ip_permissions(https("HTTPS from anywhere"))
        .send()
        .await
        .expect("describe the rule anew");
    let rules = ec2
        .describe_security_group_rules()
        .filters(aws_sdk_ec2::types::Filter::builder().name("group-id").values(&group).build())
        .send()
        .await
        .expect("rules");
    assert!(rules.security_group_rules().iter().any(|r| r.description() == Some("HTTPS from anywhere")));
    assert_eq!(
        code(
            ec2.update_security_group_rule_descriptions_egress()
                .group_id(&group)
                .ip_permissions(https("x").clone())
                .send()
                .await
        ),
        "<success>"
    );
    ec2.revoke_security_group_egress()
        .group_id(&group)
        .ip_permissions(https("out"))
        .send()
        .await
        .expect("revoke egress");
    assert_eq!(
        code(ec2.revoke_security_group_egress().group_id(&group).ip_permissions(https("out")).send().await),
        "InvalidPermission.NotFound"
    );

    let iam = aws_sdk_iam::Client::new(&config);
    iam.create_role().role_name("r").assume_role_policy_document(TRUST).send().await.expect("role");
    let updated =
        iam.update_role_description().role_name("r").description("described").send().await.expect("update description");
    assert_eq!(updated.role().and_then(|r| r.description()), Some("described"));
    iam.create_instance_profile().instance_profile_name("r").path("/emr/").send().await.expect("profile");
    let profile = iam
        .get_instance_profile()
        .instance_profile_name("r")
        .send()
        .await
        .expect("get profile")
        .instance_profile
        .expect("profile");
    assert_eq!(profile.arn(), "arn:aws:iam::123456789012:instance-profile/emr/r");
    assert_eq!(code(iam.get_instance_profile().instance_profile_name("missing").send().await), "NoSuchEntity");

    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    s3.create_bucket().bucket("b").send().await.expect("bucket");
    assert_eq!(code(s3.create_bucket().bucket("b").send().await), "BucketAlreadyOwnedByYou");
    s3.put_object().bucket("b").key("k").body(b"x".to_vec().into()).send().await.expect("put");
    assert_eq!(code(s3.delete_bucket().bucket("b").send().await), "BucketNotEmpty");
    s3.delete_object().bucket("b").key("k").send().await.expect("delete object");
    s3.delete_bucket().bucket("b").send().await.expect("delete bucket");
    assert_eq!(code(s3.list_objects_v2().bucket("b").send().await), "NoSuchBucket");
    sandbox.stop().await;
}

#[tokio::test]
async fn remaining_emr_sagemaker_and_catalog_operations() {
    let sandbox = Sandbox::start(Config { time_scale: 0.0005, iam_propagation_seconds: 0.0, ..Config::default() })
        .await
        .expect("starts");
    let config = sdk(&sandbox).await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let vpc =
        ec2.create_vpc().cidr_block("10.2.0.0/16").send().await.expect("vpc").vpc.and_then(|v| v.vpc_id).expect("id");
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.2.0.0/24")
        .availability_zone("us-east-1a")
        .send()
        .await
        .expect("subnet")
        .subnet
        .and_then(|s| s.subnet_id)
        .expect("id");
    let iam = aws_sdk_iam::Client::new(&config);
    let role_arn = iam
        .create_role()
        .role_name("EMR_EC2_DefaultRole")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .expect("role")
        .role
        .expect("role")
        .arn;
    iam.create_role().role_name("EMR_DefaultRole").assume_role_policy_document(TRUST).send().await.expect("role");
    iam.create_instance_profile().instance_profile_name("EMR_EC2_DefaultRole").send().await.expect("profile");
    iam.add_role_to_instance_profile()
        .instance_profile_name("EMR_EC2_DefaultRole")
        .role_name("EMR_EC2_DefaultRole")
        .send()
        .await
        .expect("add");

    let emr = aws_sdk_emr::Client::new(&config);
    let master = aws_sdk_emr::types::InstanceFleetConfig::builder()
        .instance_fleet_type(aws_sdk_emr::types::InstanceFleetType::Master)
        .target_on_demand_capacity(1)
        .instance_type_configs(aws_sdk_emr::types::InstanceTypeConfig::builder().instance_type("m5.xlarge").build())
        .build();
    let bootstrap = aws_sdk_emr::types::BootstrapActionConfig::builder()
        .name("pylibs")
        .script_bootstrap_action(
            aws_sdk_emr::types::ScriptBootstrapActionConfig::builder().path("s3://b/install.sh").args("a").build(),
        )
        .build();
    let cluster = emr
        .run_job_flow()
        .name("c")
        .release_label("emr-7.1.0")
        .service_role("EMR_DefaultRole")
        .job_flow_role("EMR_EC2_DefaultRole")
        .bootstrap_actions(bootstrap)
        .auto_termination_policy(aws_sdk_emr::types::AutoTerminationPolicy::builder().idle_timeout(600).build())
        .tags(aws_sdk_emr::types::Tag::builder().key("a").value("1").build())
        .instances(
            aws_sdk_emr::types::JobFlowInstancesConfig::builder()
                .instance_fleets(master)
                .ec2_subnet_ids(&subnet)
                .keep_job_flow_alive_when_no_steps(true)
                .build(),
        )
        .send()
        .await
        .expect("run")
        .job_flow_id
        .expect("id");
    let actions = emr.list_bootstrap_actions().cluster_id(&cluster).send().await.expect("bootstrap actions");
    assert_eq!(actions.bootstrap_actions()[0].script_path(), Some("s3://b/install.sh"));
    emr.set_visible_to_all_users().job_flow_ids(&cluster).visible_to_all_users(false).send().await.expect("visibility");
    assert_eq!(
        emr.modify_cluster()
            .cluster_id(&cluster)
            .step_concurrency_level(8)
            .send()
            .await
            .expect("modify")
            .step_concurrency_level(),
        Some(8)
    );
    assert_eq!(
        code(emr.modify_cluster().cluster_id(&cluster).step_concurrency_level(500).send().await),
        "ValidationException"
    );
    let policy = emr
        .get_auto_termination_policy()
        .cluster_id(&cluster)
        .send()
        .await
        .expect("get")
        .auto_termination_policy
        .expect("policy");
    assert_eq!(policy.idle_timeout(), Some(600));
    emr.remove_auto_termination_policy().cluster_id(&cluster).send().await.expect("remove");
    assert!(
        emr.get_auto_termination_policy()
            .cluster_id(&cluster)
            .send()
            .await
            .expect("get")
            .auto_termination_policy
            .is_none()
    );
    emr.remove_tags().resource_id(&cluster).tag_keys("a").send().await.expect("untag");
    let described =
        emr.describe_cluster().cluster_id(&cluster).send().await.expect("describe").cluster.expect("cluster");
    // SetVisibleToAllUsers is "no longer supported": accepted, without effect (botocore).
    assert_eq!(
        (described.visible_to_all_users(), described.step_concurrency_level(), described.tags().len()),
        (Some(true), Some(8), 0)
    );
    assert_eq!(code(emr.describe_cluster().cluster_id("j-NOPE").send().await), "InvalidRequestException");

    let sm = aws_sdk_sagemaker::Client::new(&config);
    let domain = sm
        .create_domain()
        .domain_name("d")
        .auth_mode(aws_sdk_sagemaker::types::AuthMode::Iam)
        .vpc_id(&vpc)
        .subnet_ids(&subnet)
        .default_user_settings(aws_sdk_sagemaker::types::UserSettings::builder().execution_role(&role_arn).build())
        .tags(aws_sdk_sagemaker::types::Tag::builder().key("a").value("1").build())
        .send()
        .await
        .expect("domain");
    let domain_id = domain.domain_id.expect("id");
    assert_eq!(sm.list_domains().send().await.expect("list").domains().len(), 1);
    sm.create_user_profile().domain_id(&domain_id).user_profile_name("bob").send().await.expect("profile");
    assert_eq!(
        sm.list_user_profiles().domain_id_equals(&domain_id).send().await.expect("list").user_profiles().len(),
        1
    );
    let arn = domain.domain_arn.expect("arn");
    sm.delete_tags().resource_arn(&arn).tag_keys("a").send().await.expect("untag");
    assert!(sm.list_tags().resource_arn(&arn).send().await.expect("tags").tags().is_empty());
    assert_eq!(code(sm.describe_domain().domain_id("d-nope").send().await), "ResourceNotFound");

    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    s3.create_bucket().bucket("t").send().await.expect("bucket");
    s3.put_object()
        .bucket("t")
        .key("t.json")
        .body(br#"{"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}"#.to_vec().into())
        .send()
        .await
        .expect("put");
    let sc = aws_sdk_servicecatalog::Client::new(&config);
    let portfolio = sc
        .create_portfolio()
        .display_name("P")
        .provider_name("Q")
        .idempotency_token("p")
        .send()
        .await
        .expect("portfolio")
        .portfolio_detail
        .and_then(|d| d.id)
        .expect("id");
    assert_eq!(
        sc.describe_portfolio()
            .id(&portfolio)
            .send()
            .await
            .expect("describe")
            .portfolio_detail()
            .and_then(|d| d.display_name()),
        Some("P")
    );
    sc.update_portfolio()
        .id(&portfolio)
        .display_name("P2")
        .add_tags(aws_sdk_servicecatalog::types::Tag::builder().key("k").value("v").build().expect("tag"))
        .send()
        .await
        .expect("update");
    let listed = sc.list_portfolios().send().await.expect("list");
    assert_eq!(listed.portfolio_details()[0].display_name(), Some("P2"));
    let artifact = aws_sdk_servicecatalog::types::ProvisioningArtifactProperties::builder()
        .name("v1")
        .info("LoadTemplateFromURL", "https://t.s3.amazonaws.com/t.json")
        .build();
    let product = sc
        .create_product()
        .name("X")
        .owner("o")
        .product_type(aws_sdk_servicecatalog::types::ProductType::CloudFormationTemplate)
        .provisioning_artifact_parameters(artifact)
        .idempotency_token("x")
        .send()
        .await
        .expect("product, template found through its S3 URL");
    let product_id = product
        .product_view_detail()
        .and_then(|d| d.product_view_summary())
        .and_then(|s| s.product_id())
        .expect("id")
        .to_owned();
    let version = product.provisioning_artifact_detail().and_then(|d| d.id()).expect("version").to_owned();
    let described = sc
        .describe_provisioning_artifact()
        .product_id(&product_id)
        .provisioning_artifact_id(&version)
        .send()
        .await
        .expect("describe version");
    assert_eq!(
        described.info().and_then(|i| i.get("TemplateUrl")).map(String::as_str),
        Some("https://t.s3.amazonaws.com/t.json")
    );
    sc.update_provisioning_artifact()
        .product_id(&product_id)
        .provisioning_artifact_id(&version)
        .active(false)
        .guidance(aws_sdk_servicecatalog::types::ProvisioningArtifactGuidance::Deprecated)
        .send()
        .await
        .expect("deprecate");
    sc.associate_product_with_portfolio()
        .product_id(&product_id)
        .portfolio_id(&portfolio)
        .send()
        .await
        .expect("associate");
    assert_eq!(
        sc.list_portfolios_for_product()
            .product_id(&product_id)
            .send()
            .await
            .expect("portfolios")
            .portfolio_details()
            .len(),
        1
    );
    let constraint = sc
        .create_constraint()
        .portfolio_id(&portfolio)
        .product_id(&product_id)
        .r#type("LAUNCH")
        .parameters(r#"{"LocalRoleName": "EMR_DefaultRole"}"#)
        .idempotency_token("c")
        .send()
        .await
        .expect("constraint");
    let constraint_id = constraint.constraint_detail().and_then(|d| d.constraint_id()).expect("id").to_owned();
    let updated = sc
        .update_constraint()
        .id(&constraint_id)
        .parameters(r#"{"LocalRoleName": "EMR_EC2_DefaultRole"}"#)
        .send()
        .await
        .expect("update constraint");
    assert!(updated.constraint_parameters().is_some_and(|p| p.contains("EMR_EC2_DefaultRole")));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let admin = sc.describe_product_as_admin().id(&product_id).send().await.expect("describe");
    assert_eq!(admin.product_view_detail().and_then(|d| d.status()).map(|s| s.as_str()), Some("AVAILABLE"));
    sandbox.stop().await;
}

/// Every operation the sandbox serves (the operations of its models,
/// `models/aws.json`) is called by some SDK test: a new operation without a
/// test fails here.
#[test]
fn every_implemented_operation_has_an_sdk_test() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut tests = String::new();
    for entry in std::fs::read_dir(root.join("tests")).expect("tests dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            tests.push_str(&std::fs::read_to_string(path).expect("test source"));
        }
    }
    let models: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("models/aws.json")).expect("models")).expect("json");
    let mut missing = Vec::new();
    let mut found = 0;
    for (service, model) in models["services"].as_object().expect("services") {
        for operation in model["operations"].as_object().expect("operations").keys() {
            found += 1;
            let mut snake = String::new();
            for (i, c) in operation.chars().enumerate() {
                let previous_upper = i > 0 && operation.as_bytes()[i - 1].is_ascii_uppercase();
                if c.is_ascii_uppercase() && i > 0 && !previous_upper {
                    snake.push('_');
                }
                snake.push(c.to_ascii_lowercase());
            }
            if !tests.contains(&format!(".{snake}(")) {
                missing.push(format!("{service}: {operation} (.{snake})"));
            }
        }
    }
    assert!(found > 110, "the models list only {found} operations; has models/aws.json changed shape?");
    assert!(missing.is_empty(), "operations without an SDK test: {missing:#?}");
}

/// docs/aws-fidelity.md names, for each AWS behaviour, the tests that pin it and the
/// files that implement it: every name there exists (a renamed or deleted test fails here).
#[test]
fn the_fidelity_table_names_only_tests_and_files_that_exist() {
    let crate_root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = crate_root.parent().and_then(std::path::Path::parent).expect("the workspace");
    let table = std::fs::read_to_string(root.join("docs/aws-fidelity.md")).expect("docs/aws-fidelity.md");
    let read = |path: &std::path::Path| std::fs::read_to_string(path).unwrap_or_default();
    let defines = |source: &str, function: &str| {
        regex::Regex::new(&format!(r"fn {function}\b")).expect("pattern").is_match(source)
    };
    let mut missing = Vec::new();
    let mut named = 0;
    // `converge-x/tests/file.rs::function`, then `::function` of the same file.
    let reference =
        regex::Regex::new(r"`(converge-[a-z-]+/(?:tests|src)/[\w/]+\.rs)(?:::(\w+))?`|`::(\w+)`").expect("pattern");
    for line in table.lines() {
        let mut file = None;
        for capture in reference.captures_iter(line) {
            named += 1;
            if let Some(path) = capture.get(1) {
                let path = root.join("crates").join(path.as_str());
                if !path.exists() {
                    missing.push(path.display().to_string());
                }
                file = Some(path);
            }
            let function = capture.get(2).or(capture.get(3));
            if let (Some(function), Some(path)) = (function, &file)
                && !defines(&read(path), function.as_str())
            {
                missing.push(format!("{}::{}", path.display(), function.as_str()));
            }
        }
    }
    for path in regex::Regex::new(r"`((?:fixtures|scripts|crates)/[\w/.-]+)`").expect("pattern").captures_iter(&table) {
        named += 1;
        if !root.join(&path[1]).exists() {
            missing.push(path[1].to_owned());
        }
    }
    for path in regex::Regex::new(r"`src/([\w/]+\.rs)`").expect("pattern").captures_iter(&table) {
        if !crate_root.join("src").join(&path[1]).exists() {
            missing.push(format!("converge-sandbox/src/{}", &path[1]));
        }
    }
    assert!(named > 200, "only {named} names found: has docs/aws-fidelity.md changed shape?");
    assert!(missing.is_empty(), "docs/aws-fidelity.md names what does not exist: {missing:#?}");
}
