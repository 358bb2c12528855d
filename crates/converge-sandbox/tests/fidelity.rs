//! What a reconciler's reads and deletes depend on, through the real SDK
//! clients: every paginated call pages (with a tiny page size, so the SDK's
//! paginators must follow the tokens), Studio apps and spaces hold their
//! profile, space and domain, and faults with a `rate` replay with the seed.

mod common;

use common::{code, sdk, until};

use aws_sdk_sagemaker::types::{
    AppNetworkAccessType, AppType, AuthMode, OwnershipSettings, SharingType, SpaceSharingSettings, UserSettings,
};
use converge_sandbox::{Config, Fault, Sandbox};

const FAST: f64 = 0.0005;
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const INLINE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}]}"#;

/// How many requests of `operation` the sandbox has served.
fn calls(sandbox: &Sandbox, operation: &str) -> usize {
    sandbox.requests().iter().filter(|r| r.operation == operation).count()
}

#[tokio::test]
async fn every_paginated_call_pages_and_the_paginators_see_everything() {
    let sandbox =
        Sandbox::start(Config { time_scale: FAST, page_size: Some(1), ..Config::default() }).await.expect("starts");
    let config = sdk(&sandbox).await;

    // IAM: three roles, each with two of everything.
    let iam = aws_sdk_iam::Client::new(&config);
    for name in ["alpha", "beta", "gamma"] {
        let tag = |k: &str| aws_sdk_iam::types::Tag::builder().key(k).value(name).build().expect("tag");
        iam.create_role()
            .role_name(name)
            .assume_role_policy_document(TRUST)
            .tags(tag("team"))
            .tags(tag("converge:stack"))
            .send()
            .await
            .expect("role");
        for policy in ["AmazonS3ReadOnlyAccess", "AmazonEMRFullAccessPolicy_v2"] {
            let arn = format!("arn:aws:iam::aws:policy/{policy}");
            iam.attach_role_policy().role_name(name).policy_arn(arn).send().await.expect("attach");
        }
        for policy in ["read", "write"] {
            iam.put_role_policy()
                .role_name(name)
                .policy_name(policy)
                .policy_document(INLINE)
                .send()
                .await
                .expect("put");
        }
        iam.create_instance_profile().instance_profile_name(name).send().await.expect("profile");
        iam.add_role_to_instance_profile().instance_profile_name(name).role_name(name).send().await.expect("add");
    }
    let pages = iam.list_roles().into_paginator().send().try_collect().await.expect("roles");
    assert_eq!(pages.len(), 3, "one role a page");
    assert_eq!(pages.iter().flat_map(|p| p.roles()).count(), 3);

    let details = iam
        .get_account_authorization_details()
        .filter(aws_sdk_iam::types::EntityType::Role)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("details");
    assert_eq!(details.len(), 3);
    let beta = details.iter().flat_map(|p| p.role_detail_list()).find(|r| r.role_name() == Some("beta")).expect("beta");
    assert_eq!(beta.attached_managed_policies().len(), 2);
    assert_eq!(beta.role_policy_list().len(), 2);
    assert_eq!(beta.tags().len(), 2);
    assert_eq!(beta.instance_profile_list()[0].instance_profile_name(), "beta");
    let document = beta.role_policy_list()[0].policy_document().expect("document");
    assert!(document.starts_with("%7B%22Version%22"), "IAM URL-encodes policy documents: {document}");

    let attached = iam.list_attached_role_policies().role_name("beta").into_paginator().items().send();
    assert_eq!(attached.try_collect().await.expect("attached").len(), 2);
    let inline = iam.list_role_policies().role_name("beta").into_paginator().items().send();
    assert_eq!(inline.try_collect().await.expect("inline"), ["read", "write"]);
    let tags = iam.list_role_tags().role_name("beta").into_paginator().items().send();
    assert_eq!(tags.try_collect().await.expect("tags").len(), 2);
    let profiles = iam.list_instance_profiles_for_role().role_name("beta").into_paginator().items().send();
    assert_eq!(profiles.try_collect().await.expect("profiles").len(), 1);
    assert_eq!(calls(&sandbox, "ListAttachedRolePolicies"), 2, "two policies, one a page");
    assert_eq!(
        code(iam.list_roles().marker("not-a-marker").send().await),
        "ValidationError",
        "a marker IAM did not hand out is refused"
    );

    // EC2: subnets and groups of one VPC.
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.expect("vpc").vpc.and_then(|v| v.vpc_id);
    let vpc = vpc.expect("vpc id");
    for i in 0..3 {
        ec2.create_subnet().vpc_id(&vpc).cidr_block(format!("10.0.{i}.0/24")).send().await.expect("subnet");
        let name = format!("group-{i}");
        ec2.create_security_group().group_name(&name).description(&name).vpc_id(&vpc).send().await.expect("sg");
    }
    let in_vpc = || aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(&vpc).build();
    let subnets = ec2.describe_subnets().filters(in_vpc()).into_paginator().items().send();
    assert_eq!(subnets.try_collect().await.expect("subnets").len(), 3);
    assert_eq!(calls(&sandbox, "DescribeSubnets"), 3);
    let groups = ec2.describe_security_groups().filters(in_vpc()).into_paginator().items().send();
    assert_eq!(groups.try_collect().await.expect("groups").len(), 3);
    let rules = ec2.describe_security_group_rules().into_paginator().items().send();
    assert_eq!(rules.try_collect().await.expect("rules").len(), 3, "each group's default egress rule");
    let vpcs = ec2.describe_vpcs().into_paginator().items().send();
    assert_eq!(vpcs.try_collect().await.expect("vpcs").len(), 1);

    // S3: objects of a bucket.
    let s3 = aws_sdk_s3::Client::new(&config);
    s3.create_bucket().bucket("templates").send().await.expect("bucket");
    for key in ["a.yaml", "b.yaml", "c.yaml"] {
        s3.put_object().bucket("templates").key(key).body(Vec::from("x").into()).send().await.expect("put");
    }
    let objects = s3.list_objects_v2().bucket("templates").into_paginator().send().try_collect().await;
    let objects = objects.expect("objects");
    assert_eq!(objects.len(), 3);
    assert_eq!(
        objects.iter().flat_map(|p| p.contents()).filter_map(|o| o.key()).collect::<Vec<_>>(),
        ["a.yaml", "b.yaml", "c.yaml"]
    );

    // Service Catalog: portfolios.
    let sc = aws_sdk_servicecatalog::Client::new(&config);
    for name in ["one", "two", "three"] {
        sc.create_portfolio()
            .display_name(name)
            .provider_name("platform")
            .idempotency_token(name)
            .send()
            .await
            .expect("portfolio");
    }
    let portfolios = sc.list_portfolios().into_paginator().send().try_collect().await.expect("portfolios");
    assert_eq!(portfolios.iter().flat_map(|p| p.portfolio_details()).count(), 3);
    assert_eq!(calls(&sandbox, "ListPortfolios"), 3);
    sandbox.stop().await;
}

/// A VPC-only domain with two subnets and a user profile, both in service.
struct Studio {
    domain: String,
    subnets: Vec<String>,
}

async fn studio(config: &aws_config::SdkConfig) -> Studio {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.expect("vpc").vpc.and_then(|v| v.vpc_id);
    let vpc = vpc.expect("vpc id");
    let mut subnets = Vec::new();
    for (i, zone) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        let subnet = ec2.create_subnet().vpc_id(&vpc).cidr_block(format!("10.0.{i}.0/24")).availability_zone(*zone);
        subnets.push(subnet.send().await.expect("subnet").subnet.and_then(|s| s.subnet_id).expect("id"));
    }
    let iam = aws_sdk_iam::Client::new(config);
    let role = iam.create_role().role_name("execution").assume_role_policy_document(TRUST).send().await;
    let role = role.expect("role").role.expect("role").arn;
    let sm = aws_sdk_sagemaker::Client::new(config);
    let domain = sm
        .create_domain()
        .domain_name("studio")
        .auth_mode(AuthMode::Iam)
        .app_network_access_type(AppNetworkAccessType::VpcOnly)
        .vpc_id(&vpc)
        .set_subnet_ids(Some(subnets.clone()))
        .default_user_settings(UserSettings::builder().execution_role(&role).build())
        .send()
        .await
        .expect("domain")
        .domain_id
        .expect("id");
    until("the domain is in service", || async {
        let status = sm.describe_domain().domain_id(&domain).send().await.ok().and_then(|d| d.status);
        status.is_some_and(|s| s.as_str() == "InService")
    })
    .await;
    sm.create_user_profile().domain_id(&domain).user_profile_name("alice").send().await.expect("profile");
    until("the profile is in service", || async {
        let profile = sm.describe_user_profile().domain_id(&domain).user_profile_name("alice").send().await;
        profile.ok().and_then(|p| p.status).is_some_and(|s| s.as_str() == "InService")
    })
    .await;
    Studio { domain, subnets }
}

/// A page larger than AWS gives is refused, as AWS refuses it; the largest is served.
#[tokio::test]
async fn a_page_size_over_the_maximum_is_refused() {
    let sandbox = Sandbox::start(Config { time_scale: FAST, iam_propagation_seconds: 0.0, ..Config::default() })
        .await
        .expect("starts");
    let config = sdk(&sandbox).await;
    let sagemaker = aws_sdk_sagemaker::Client::new(&config);
    assert_eq!(code(sagemaker.list_domains().max_results(101).send().await), "ValidationException");
    assert_eq!(code(sagemaker.list_domains().max_results(100).send().await), "<success>");
    let iam = aws_sdk_iam::Client::new(&config);
    assert_eq!(code(iam.list_roles().max_items(1001).send().await), "ValidationError");
    let catalog = aws_sdk_servicecatalog::Client::new(&config);
    assert_eq!(code(catalog.list_portfolios().page_size(101).send().await), "ValidationException");
    sandbox.stop().await;
}

#[tokio::test]
async fn studio_apps_and_spaces_hold_their_profile_space_and_domain() {
    let sandbox = Sandbox::start(Config {
        time_scale: FAST,
        iam_propagation_seconds: 0.0,
        page_size: Some(1),
        ..Config::default()
    })
    .await
    .expect("starts");
    let config = sdk(&sandbox).await;
    let Studio { domain, subnets } = studio(&config).await;
    let sm = aws_sdk_sagemaker::Client::new(&config);

    sm.create_space().domain_id(&domain).space_name("lab").send().await.expect("shared space");
    sm.create_space()
        .domain_id(&domain)
        .space_name("alice-notes")
        .ownership_settings(OwnershipSettings::builder().owner_user_profile_name("alice").build())
        .space_sharing_settings(SpaceSharingSettings::builder().sharing_type(SharingType::Private).build())
        .send()
        .await
        .expect("private space");
    assert_eq!(
        code(sm.create_space().domain_id(&domain).space_name("lab").send().await),
        "ResourceInUse",
        "space names are unique in a domain"
    );
    let spaces = sm.list_spaces().domain_id_equals(&domain).into_paginator().items().send().try_collect().await;
    assert_eq!(spaces.expect("spaces").len(), 2, "two spaces, over two pages");
    until("the spaces are in service", || async {
        let mut ready = true;
        for space in ["lab", "alice-notes"] {
            let described = sm.describe_space().domain_id(&domain).space_name(space).send().await;
            ready &= described.ok().and_then(|s| s.status).is_some_and(|s| s.as_str() == "InService");
        }
        ready
    })
    .await;

    // Alice's classic app, and a JupyterLab in the shared space.
    sm.create_app()
        .domain_id(&domain)
        .user_profile_name("alice")
        .app_type(AppType::JupyterServer)
        .app_name("default")
        .send()
        .await
        .expect("alice's app");
    sm.create_app()
        .domain_id(&domain)
        .space_name("lab")
        .app_type(AppType::JupyterLab)
        .app_name("default")
        .send()
        .await
        .expect("the lab's app");
    let describe_lab_app =
        || sm.describe_app().domain_id(&domain).space_name("lab").app_type(AppType::JupyterLab).app_name("default");
    assert_eq!(describe_lab_app().send().await.expect("app").status().map(|s| s.as_str()), Some("Pending"));
    let apps = sm.list_apps().domain_id_equals(&domain).into_paginator().items().send().try_collect().await;
    assert_eq!(apps.expect("apps").len(), 2);
    until("the apps are in service", || async {
        let apps = sm.list_apps().domain_id_equals(&domain).into_paginator().items().send().try_collect().await;
        apps.is_ok_and(|apps| apps.iter().all(|a| a.status().is_some_and(|s| s.as_str() == "InService")))
    })
    .await;

    // While apps run, nothing that holds them can go, and the network stays.
    let refused = [
        ("the profile", code(sm.delete_user_profile().domain_id(&domain).user_profile_name("alice").send().await)),
        ("the space", code(sm.delete_space().domain_id(&domain).space_name("lab").send().await)),
        ("the domain", code(sm.delete_domain().domain_id(&domain).send().await)),
        ("a subnet", code(sm.update_domain().domain_id(&domain).subnet_ids(&subnets[0]).send().await)),
        (
            "the network access type",
            code(
                sm.update_domain()
                    .domain_id(&domain)
                    .app_network_access_type(AppNetworkAccessType::PublicInternetOnly)
                    .send()
                    .await,
            ),
        ),
    ];
    for (what, code) in refused {
        assert_eq!(code, "ResourceInUse", "{what} is held by running apps");
    }

    sm.delete_app()
        .domain_id(&domain)
        .user_profile_name("alice")
        .app_type(AppType::JupyterServer)
        .app_name("default")
        .send()
        .await
        .expect("delete alice's app");
    sm.delete_app()
        .domain_id(&domain)
        .space_name("lab")
        .app_type(AppType::JupyterLab)
        .app_name("default")
        .send()
        .await
        .expect("delete the lab's app");
    assert_eq!(describe_lab_app().send().await.expect("app").status().map(|s| s.as_str()), Some("Deleting"));
    until("the apps are deleted", || async {
        describe_lab_app().send().await.ok().and_then(|a| a.status).is_some_and(|s| s.as_str() == "Deleted")
    })
    .await;

    assert_eq!(
        code(sm.delete_user_profile().domain_id(&domain).user_profile_name("alice").send().await),
        "ResourceInUse",
        "alice's private space still holds her profile"
    );
    for space in ["lab", "alice-notes"] {
        sm.delete_space().domain_id(&domain).space_name(space).send().await.expect("delete space");
    }
    until("the spaces are gone", || async {
        code(sm.describe_space().domain_id(&domain).space_name("alice-notes").send().await) == "ResourceNotFound"
    })
    .await;
    sm.delete_user_profile().domain_id(&domain).user_profile_name("alice").send().await.expect("delete profile");
    until("the profile is gone", || async {
        code(sm.describe_user_profile().domain_id(&domain).user_profile_name("alice").send().await)
            == "ResourceNotFound"
    })
    .await;
    sm.delete_domain().domain_id(&domain).send().await.expect("delete the domain");
    sandbox.stop().await;
}

#[tokio::test]
async fn faults_with_a_rate_hit_their_share_and_replay_with_the_seed() {
    let outcomes = |seed: u64| async move {
        let fault: Fault = "ec2:DescribeVpcs=throttle,rate=0.25".parse().expect("fault");
        let sandbox = Sandbox::start(Config { faults: vec![fault], seed, ..Config::default() }).await.expect("starts");
        let config = sdk(&sandbox).await;
        let ec2 = aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::config::Builder::from(&config)
                .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled())
                .build(),
        );
        let mut outcomes = Vec::new();
        for _ in 0..200 {
            outcomes.push(code(ec2.describe_vpcs().send().await));
        }
        let injected = sandbox.requests().iter().filter(|r| r.injected).count();
        sandbox.stop().await;
        (outcomes, injected)
    };
    let (first, injected) = outcomes(7).await;
    let throttled = first.iter().filter(|c| *c == "RequestLimitExceeded").count();
    assert_eq!(throttled + first.iter().filter(|c| *c == "<success>").count(), 200, "{first:?}");
    assert!((25..80).contains(&throttled), "{throttled} of 200 throttled at rate 0.25");
    assert_eq!(injected, throttled, "the request log marks what a fault answered");
    assert_eq!(outcomes(7).await.0, first, "the same seed replays the same faults");
    assert_ne!(outcomes(8).await.0, first, "another seed draws others");
}
