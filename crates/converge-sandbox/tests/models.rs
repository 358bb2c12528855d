//! The sandbox refuses what AWS refuses, checked against botocore's models
//! (`models/aws.json`): one violation of each kind of constraint through each
//! protocol, sent as raw requests (an SDK would not build most of them), and
//! answered in AWS's words.

mod common;

use common::{json, query};
use converge_sandbox::{Config, Offline};

fn sandbox() -> Offline {
    Offline::new(Config { iam_propagation_seconds: 0.0, ..Config::default() })
}

#[tokio::test]
async fn aws_json_requests_are_held_against_their_model() {
    let sandbox = sandbox();
    // A range the live API is stricter about than its model (an override with its source), in AWS's exact words.
    assert_eq!(
        json(&sandbox, "AWS242ServiceCatalogService.ListPortfolios", r#"{"PageSize":100}"#).await,
        (
            400,
            "ValidationException".into(),
            "1 validation error detected: Value '100' at 'pageSize' failed to satisfy constraint: Member must have value less than or equal to 20".into()
        )
    );
    // A range of the model, at its bound and past it.
    let search = |size: u32| format!(r#"{{"PageSize":{size}}}"#);
    assert_eq!(json(&sandbox, "AWS242ServiceCatalogService.SearchProductsAsAdmin", &search(20)).await.0, 200);
    let (_, code, message) = json(&sandbox, "AWS242ServiceCatalogService.SearchProductsAsAdmin", &search(21)).await;
    assert_eq!(code, "ValidationException");
    assert!(
        message
            .ends_with("at 'pageSize' failed to satisfy constraint: Member must have value less than or equal to 20")
    );
    let (_, _, message) = json(&sandbox, "SageMaker.ListDomains", r#"{"MaxResults":0}"#).await;
    assert!(
        message.contains(
            "Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ),
        "{message}"
    );
    // A required member.
    assert_eq!(
        json(&sandbox, "AWS242ServiceCatalogService.DescribePortfolio", "{}").await.2,
        "1 validation error detected: Value null at 'id' failed to satisfy constraint: Member must not be null"
    );
    // An enum value, in a list: the element's path.
    let (_, code, message) = json(&sandbox, "ElasticMapReduce.ListClusters", r#"{"ClusterStates":["NOPE"]}"#).await;
    assert_eq!(code, "ValidationException");
    assert!(
        message.starts_with("1 validation error detected: Value 'NOPE' at 'clusterStates.1.member' failed to satisfy constraint: Member must satisfy enum value set: [STARTING, BOOTSTRAPPING, RUNNING, WAITING, TERMINATING, TERMINATED, TERMINATED_WITH_ERRORS]"),
        "{message}"
    );
    // A string's length and its pattern: two violations of one member, one message.
    let long = format!(r#"{{"DomainId":"D-{}"}}"#, "X".repeat(70));
    let (_, _, message) = json(&sandbox, "SageMaker.DescribeDomain", &long).await;
    assert!(message.starts_with("2 validation errors detected: "), "{message}");
    assert!(
        message.contains("failed to satisfy constraint: Member must have length less than or equal to 63"),
        "{message}"
    );
    assert!(
        message.contains(
            "failed to satisfy constraint: Member must satisfy regular expression pattern: d-(-*[a-z0-9]){1,61}"
        ),
        "{message}"
    );
    // A list's size.
    let tags: Vec<String> = (0..51).map(|i| format!(r#"{{"Key":"k{i}","Value":"v"}}"#)).collect();
    let body = format!(
        r#"{{"ResourceArn":"arn:aws:sagemaker:us-east-1:123456789012:domain/d-1","Tags":[{}]}}"#,
        tags.join(",")
    );
    let (_, _, message) = json(&sandbox, "SageMaker.AddTags", &body).await;
    assert!(
        message.contains("at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"),
        "{message}"
    );
    // At most ten violations are listed.
    let nulls: Vec<String> = (0..12).map(|_| r#"{"Key":""}"#.to_owned()).collect();
    let body = format!(
        r#"{{"ResourceArn":"arn:aws:sagemaker:us-east-1:123456789012:domain/d-1","Tags":[{}]}}"#,
        nulls.join(",")
    );
    let (_, _, message) = json(&sandbox, "SageMaker.AddTags", &body).await;
    assert!(message.starts_with("10 validation errors detected: "), "{message}");
    // A member of the wrong JSON type is not a validation error: the service cannot read the request.
    assert_eq!(
        json(&sandbox, "SageMaker.ListDomains", r#"{"MaxResults":"10"}"#).await,
        (400, "SerializationException".into(), "STRING_VALUE can not be converted to an Integer".into())
    );
    assert_eq!(
        json(&sandbox, "ElasticMapReduce.DescribeCluster", r#"{"ClusterId":{"Id":"j-1"}}"#).await.2,
        "Start of structure or map found where not expected."
    );
    // Not JSON, or not an object.
    assert_eq!(
        json(&sandbox, "SageMaker.ListDomains", "{").await,
        (400, "SerializationException".into(), String::new())
    );
    assert_eq!(json(&sandbox, "SageMaker.ListDomains", "[]").await.2, "Start of list found where not expected");
    // A member the operation does not have is ignored, as the JSON services do.
    assert_eq!(json(&sandbox, "SageMaker.ListDomains", r#"{"Nope":1}"#).await.0, 200);
    // An operation the service does not have.
    assert_eq!(json(&sandbox, "SageMaker.CreateRobot", "{}").await.1, "UnknownOperationException");
}

#[tokio::test]
async fn aws_query_requests_are_held_against_their_model() {
    let sandbox = sandbox();
    let iam = |params: &str| format!("Action={params}&Version=2010-05-08");
    // A required member: IAM says it the way the JSON services do, with its own code.
    assert_eq!(
        query(&sandbox, &iam("GetRole")).await,
        (
            400,
            "ValidationError".into(),
            "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null".into()
        )
    );
    // A range.
    assert_eq!(
        query(&sandbox, &iam("ListRoles&MaxItems=0")).await.2,
        "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"
    );
    // A length, and a pattern.
    let long = format!("CreateRole&RoleName={}&AssumeRolePolicyDocument=%7B%7D", "r".repeat(65));
    let (_, _, message) = query(&sandbox, &iam(&long)).await;
    assert!(
        message
            .contains("at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64"),
        "{message}"
    );
    assert_eq!(
        query(&sandbox, &iam("GetRole&RoleName=a%20b")).await.2,
        "1 validation error detected: Value 'a b' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    );
    // An enum: IAM leaves out the value and the values.
    assert_eq!(
        query(&sandbox, &iam("GetAccountAuthorizationDetails&Filter.member.1=Nope")).await.2,
        "1 validation error detected: Value at 'filter.1.member' failed to satisfy constraint: Member must satisfy enum value set"
    );
    // A list's size.
    let tags: String = (1..=51).map(|i| format!("&Tags.member.{i}.Key=k{i}&Tags.member.{i}.Value=v")).collect();
    let (_, _, message) = query(&sandbox, &iam(&format!("TagRole&RoleName=r{tags}"))).await;
    assert!(
        message.contains("at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"),
        "{message}"
    );
    // A parameter the operation does not have is ignored; an action IAM does not have is refused.
    assert_eq!(query(&sandbox, &iam("ListRoles&Nope=1")).await.0, 200);
    assert_eq!(
        query(&sandbox, &iam("CreateRobot")).await,
        (400, "InvalidAction".into(), "Could not find operation CreateRobot for version 2010-05-08".into())
    );
    assert_eq!(query(&sandbox, "Action=GetCallerIdentity&Version=2011-06-15").await.0, 200);
}

#[tokio::test]
async fn ec2_query_requests_are_held_against_their_model() {
    let sandbox = sandbox();
    let ec2 = |params: &str| format!("Action={params}&Version=2016-11-15");
    // A required member, named as the request spells it.
    assert_eq!(
        query(&sandbox, &ec2("CreateSecurityGroup&GroupName=g&VpcId=vpc-1")).await,
        (400, "MissingParameter".into(), "The request must contain the parameter GroupDescription".into())
    );
    // A range.
    assert_eq!(
        query(&sandbox, &ec2("DescribeSecurityGroups&MaxResults=2")).await,
        (
            400,
            "InvalidParameterValue".into(),
            "Value ( 2 ) for parameter maxResults is invalid. Expecting a value greater than 5.".into()
        )
    );
    assert_eq!(query(&sandbox, &ec2("DescribeSecurityGroups&MaxResults=5")).await.0, 200);
    // An enum.
    assert_eq!(
        query(&sandbox, &ec2("CreateVpc&CidrBlock=10.0.0.0%2F16&TagSpecification.1.ResourceType=robot")).await.2,
        "'robot' is not a valid taggable resource type for this operation."
    );
    // A parameter the operation does not have: EC2 refuses it, naming the part it does not know.
    assert_eq!(
        query(&sandbox, &ec2("DescribeSecurityGroups&Filters.1.Name=vpc-id&Filters.1.Value.1=vpc-1")).await,
        (400, "UnknownParameter".into(), "The parameter Filters is not recognized".into())
    );
    assert_eq!(
        query(&sandbox, &ec2("DescribeSecurityGroups&Filter.1.Nam=vpc-id")).await.2,
        "The parameter Nam is not recognized"
    );
    assert_eq!(
        query(&sandbox, &ec2("DescribeSecurityGroups&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1")).await.0,
        200
    );
    // A value that is not of its member's type.
    assert_eq!(query(&sandbox, &ec2("DescribeSecurityGroups&MaxResults=ten")).await.1, "InvalidParameterValue");
    // Descriptions: EC2's characters only (the model has no pattern; botocore's documentation says which).
    assert_eq!(
        query(&sandbox, &ec2("CreateSecurityGroup&GroupName=g&GroupDescription=apps%20%E2%86%92%20EFS&VpcId=vpc-1")).await,
        (
            400,
            "InvalidParameterValue".into(),
            "Value (apps → EFS) for parameter GroupDescription is invalid. Character sets beyond ASCII are not supported."
                .into()
        )
    );
    assert_eq!(query(&sandbox, &ec2("LaunchRobots")).await.1, "InvalidAction");
}

#[tokio::test]
async fn s3_headers_are_held_against_their_model() {
    let sandbox = sandbox();
    assert_eq!(sandbox.request("PUT", "/bucket", &[], b"").await.0, 200);
    let put =
        |headers: &'static [(&'static str, &'static str)]| sandbox.request("PUT", "/bucket/key", headers, b"body");
    let (status, body) = put(&[("x-amz-storage-class", "ROBOT")]).await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("<Code>InvalidStorageClass</Code>"));
    let (status, body) = put(&[("x-amz-server-side-encryption", "rot13")]).await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("The encryption method specified is not supported"));
    // PutObject takes only `If-None-Match: *`.
    let (status, body) = put(&[("if-none-match", "\"abc\"")]).await;
    assert_eq!(status, 501);
    assert!(String::from_utf8_lossy(&body).contains("<Code>NotImplemented</Code>"));
    assert_eq!(put(&[("x-amz-storage-class", "STANDARD"), ("if-none-match", "*")]).await.0, 200);
}

/// `If-Match` on PutObject: written over the object with that ETag only; 412
/// for another ETag, 404 NoSuchKey when there is no object.
#[tokio::test]
async fn s3_put_if_match_writes_only_over_the_same_etag() {
    let sandbox = sandbox();
    assert_eq!(sandbox.request("PUT", "/bucket", &[], b"").await.0, 200);
    let (status, body) = sandbox.request("PUT", "/bucket/lease", &[("if-match", "\"nope\"")], b"one").await;
    assert_eq!(status, 404, "no object to match");
    assert!(String::from_utf8_lossy(&body).contains("<Code>NoSuchKey</Code>"));
    assert_eq!(sandbox.request("PUT", "/bucket/lease", &[], b"one").await.0, 200);
    let etag = || async {
        let (_, listing) = sandbox.request("GET", "/bucket?list-type=2", &[], b"").await;
        let listing = String::from_utf8_lossy(&listing).replace("&quot;", "\"").replace("&#34;", "\"");
        let start = listing.find("<ETag>").expect("an ETag in the listing") + "<ETag>".len();
        let end = listing[start..].find("</ETag>").expect("the ETag's end") + start;
        listing[start..end].to_owned()
    };
    let first = etag().await;
    let (status, body) = sandbox.request("PUT", "/bucket/lease", &[("if-match", "\"other\"")], b"two").await;
    assert_eq!(status, 412);
    assert!(String::from_utf8_lossy(&body).contains("<Code>PreconditionFailed</Code>"));
    assert_eq!(sandbox.request("PUT", "/bucket/lease", &[("if-match", first.as_str())], b"two").await.0, 200);
    assert_ne!(etag().await, first, "the ETag moved on with the write");
    let (status, _) = sandbox.request("PUT", "/bucket/lease", &[("if-match", first.as_str())], b"three").await;
    assert_eq!(status, 412, "the old ETag no longer matches");
}
