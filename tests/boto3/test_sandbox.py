"""The sandbox as an independent client sees it: boto3 (botocore) runs one
scenario across all seven services against `converge sandbox`, and every
response is checked against the operation's output shape in botocore's own
model, so a misspelt member fails the test.

Run by .ci/run in a virtualenv: `python -m pytest tests/boto3`.
"""

import json
import os
import pathlib
import subprocess
import time

import boto3
import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(os.environ.get("CONVERGE_BIN", ROOT / "target" / "debug" / "converge"))


@pytest.fixture(scope="module")
def endpoint():
    process = subprocess.Popen(
        # Polled every 25 ms: AWS's request rates (on by default) would throttle the polls.
        [str(BINARY), "sandbox", "--port", "0", "--time-scale", "0.0005", "--rate-limits", "off"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline()
    assert "http://" in line, line
    url = line.split("http://")[1].split()[0]
    yield "http://" + url
    process.kill()
    process.wait()


def client(endpoint, service):
    config = Config(retries={"max_attempts": 2}, s3={"addressing_style": "path"})
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
        config=config,
    )


def check_shape(c, operation, response):
    """Every member of the response must be a member of the operation's output shape."""
    model = c.meta.service_model.operation_model(operation).output_shape

    def walk(shape, value, path):
        if shape is None:
            return
        if shape.type_name == "structure":
            assert isinstance(value, dict), f"{path}: expected a structure, got {value!r}"
            for key, member in value.items():
                if key == "ResponseMetadata":
                    continue
                assert key in shape.members, f"{operation}: {path}.{key} is not in botocore's model"
                walk(shape.members[key], member, f"{path}.{key}")
        elif shape.type_name == "list":
            assert isinstance(value, list), f"{path}: expected a list"
            for i, item in enumerate(value):
                walk(shape.member, item, f"{path}[{i}]")
        elif shape.type_name == "map":
            assert isinstance(value, dict), f"{path}: expected a map"

    walk(model, response, operation)
    assert response["ResponseMetadata"]["HTTPStatusCode"] in (200, 204)
    return response


def call(c, operation, **kwargs):
    method = getattr(c, botocore.xform_name(operation))
    return check_shape(c, operation, method(**kwargs))


def error_code(c, operation, **kwargs):
    with pytest.raises(ClientError) as info:
        getattr(c, botocore.xform_name(operation))(**kwargs)
    return info.value.response["Error"]["Code"]


def until(check, what):
    for _ in range(400):
        if check():
            return
        time.sleep(0.025)
    raise AssertionError(f"never reached: {what}")


TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def test_a_platform_across_all_seven_services(endpoint):
    sts, iam, ec2 = client(endpoint, "sts"), client(endpoint, "iam"), client(endpoint, "ec2")
    s3, emr = client(endpoint, "s3"), client(endpoint, "emr")
    sagemaker, catalog = client(endpoint, "sagemaker"), client(endpoint, "servicecatalog")

    assert call(sts, "GetCallerIdentity")["Account"] == "123456789012"

    # IAM: roles, policies, the EMR instance profile, and IAM's conflicts.
    for name, service in [("EMR_DefaultRole", "elasticmapreduce"), ("EMR_EC2_DefaultRole", "ec2"), ("execution", "sagemaker"), ("launch", "servicecatalog")]:
        call(iam, "CreateRole", RoleName=name, AssumeRolePolicyDocument=TRUST.replace("ec2.amazonaws", f"{service}.amazonaws"), Tags=[{"Key": "converge:stack", "Value": "boto"}])
    assert error_code(iam, "CreateRole", RoleName="emr_defaultrole", AssumeRolePolicyDocument=TRUST) == "EntityAlreadyExists"
    call(iam, "PutRolePolicy", RoleName="execution", PolicyName="emr", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "elasticmapreduce:ListClusters", "Resource": "*"}]}))
    call(iam, "AttachRolePolicy", RoleName="EMR_EC2_DefaultRole", PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonElasticMapReduceforEC2Role")
    call(iam, "CreateInstanceProfile", InstanceProfileName="EMR_EC2_DefaultRole")
    call(iam, "AddRoleToInstanceProfile", InstanceProfileName="EMR_EC2_DefaultRole", RoleName="EMR_EC2_DefaultRole")
    role = call(iam, "GetRole", RoleName="execution")["Role"]
    # IAM returns the document URL-encoded; botocore decodes it as it does for real IAM.
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"] == "sagemaker.amazonaws.com"
    call(iam, "ListAttachedRolePolicies", RoleName="EMR_EC2_DefaultRole")
    call(iam, "ListInstanceProfilesForRole", RoleName="EMR_EC2_DefaultRole")
    assert error_code(iam, "DeleteRole", RoleName="EMR_EC2_DefaultRole") == "DeleteConflict"

    # EC2: network, groups, the Livy rule, EC2's duplicate and dependency errors.
    vpc = call(ec2, "CreateVpc", CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [call(ec2, "CreateSubnet", VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"] for i, z in enumerate("ab")]
    call(ec2, "DescribeSubnets", Filters=[{"Name": "vpc-id", "Values": [vpc]}])
    studio = call(ec2, "CreateSecurityGroup", GroupName="studio", Description="Studio", VpcId=vpc)["GroupId"]
    master = call(ec2, "CreateSecurityGroup", GroupName="emr-master", Description="EMR master", VpcId=vpc)["GroupId"]
    core = call(ec2, "CreateSecurityGroup", GroupName="emr-core", Description="EMR core", VpcId=vpc)["GroupId"]
    # The subnets are private (no internet gateway): EMR wants a service-access group too.
    service = call(ec2, "CreateSecurityGroup", GroupName="emr-service-access", Description="EMR service access", VpcId=vpc)["GroupId"]
    livy = [{"IpProtocol": "tcp", "FromPort": 8998, "ToPort": 8998, "UserIdGroupPairs": [{"GroupId": studio, "Description": "Livy from Studio"}]}]
    call(ec2, "AuthorizeSecurityGroupIngress", GroupId=master, IpPermissions=livy)
    assert error_code(ec2, "AuthorizeSecurityGroupIngress", GroupId=master, IpPermissions=livy) == "InvalidPermission.Duplicate"
    call(ec2, "AuthorizeSecurityGroupIngress", GroupId=studio, IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": studio}]}])
    groups = call(ec2, "DescribeSecurityGroups", GroupIds=[master])["SecurityGroups"]
    assert groups[0]["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] == studio
    call(ec2, "DescribeSecurityGroupRules", Filters=[{"Name": "group-id", "Values": [master]}])
    call(ec2, "CreateTags", Resources=[master], Tags=[{"Key": "converge:stack", "Value": "boto"}])
    assert error_code(ec2, "DeleteSecurityGroup", GroupId=studio) == "DependencyViolation"

    # S3: the template Service Catalog will load.
    call(s3, "CreateBucket", Bucket="artifacts")
    template = "AWSTemplateFormatVersion: 2010-09-09\nResources:\n  Cluster:\n    Type: AWS::EMR::Cluster\n"
    call(s3, "PutObject", Bucket="artifacts", Key="templates/two-node.yaml", Body=template.encode(), IfNoneMatch="*")
    assert error_code(s3, "PutObject", Bucket="artifacts", Key="templates/two-node.yaml", Body=b"x", IfNoneMatch="*") == "PreconditionFailed"
    assert call(s3, "HeadObject", Bucket="artifacts", Key="templates/two-node.yaml")["ContentLength"] == len(template)
    assert s3.get_object(Bucket="artifacts", Key="templates/two-node.yaml")["Body"].read().decode() == template
    assert call(s3, "ListObjectsV2", Bucket="artifacts")["KeyCount"] == 1

    # Service Catalog: the Studio-visible EMR template.
    portfolio = call(catalog, "CreatePortfolio", DisplayName="EMR templates", ProviderName="Data", IdempotencyToken="p1")["PortfolioDetail"]["Id"]
    product = call(
        catalog, "CreateProduct", Name="Two-node cluster", Owner="data", ProductType="CLOUD_FORMATION_TEMPLATE", IdempotencyToken="x1",
        Tags=[{"Key": "sagemaker:studio-visibility:emr", "Value": "true"}],
        ProvisioningArtifactParameters={"Name": "v1", "Type": "CLOUD_FORMATION_TEMPLATE", "Info": {"LoadTemplateFromURL": f"{endpoint}/artifacts/templates/two-node.yaml"}},
    )["ProductViewDetail"]["ProductViewSummary"]["ProductId"]
    call(catalog, "AssociateProductWithPortfolio", ProductId=product, PortfolioId=portfolio)
    call(catalog, "AssociatePrincipalWithPortfolio", PortfolioId=portfolio, PrincipalARN=role["Arn"], PrincipalType="IAM")
    launch = json.dumps({"RoleArn": "arn:aws:iam::123456789012:role/launch"})
    call(catalog, "CreateConstraint", PortfolioId=portfolio, ProductId=product, Type="LAUNCH", Parameters=launch, IdempotencyToken="c1")
    assert error_code(catalog, "CreateConstraint", PortfolioId=portfolio, ProductId=product, Type="LAUNCH", Parameters=launch, IdempotencyToken="c2") == "DuplicateResourceException"
    admin = call(catalog, "DescribeProductAsAdmin", Id=product)
    assert admin["Tags"] == [{"Key": "sagemaker:studio-visibility:emr", "Value": "true"}]
    call(catalog, "SearchProductsAsAdmin", PortfolioId=portfolio)
    call(catalog, "ListPrincipalsForPortfolio", PortfolioId=portfolio)
    call(catalog, "ListConstraintsForPortfolio", PortfolioId=portfolio)
    assert error_code(catalog, "DeletePortfolio", Id=portfolio) == "ResourceInUseException"

    # SageMaker: a VpcOnly domain and a user profile.
    domain = call(
        sagemaker, "CreateDomain", DomainName="studio", AuthMode="IAM", AppNetworkAccessType="VpcOnly", VpcId=vpc, SubnetIds=[subnets[0]],
        DefaultUserSettings={"ExecutionRole": role["Arn"], "SecurityGroups": [studio]},
    )["DomainId"]
    until(lambda: call(sagemaker, "DescribeDomain", DomainId=domain)["Status"] == "InService", "the domain is in service")
    call(sagemaker, "CreateUserProfile", DomainId=domain, UserProfileName="alice")
    call(sagemaker, "ListUserProfiles", DomainIdEquals=domain)
    assert error_code(sagemaker, "DeleteDomain", DomainId=domain) == "ResourceInUse"
    call(sagemaker, "UpdateDomain", DomainId=domain, SubnetIds=subnets)
    call(sagemaker, "ListDomains")

    # EMR: a fleet cluster in the Studio VPC, resized in place.
    fleets = [
        {"InstanceFleetType": "MASTER", "TargetOnDemandCapacity": 1, "InstanceTypeConfigs": [{"InstanceType": "m5.xlarge"}]},
        {"InstanceFleetType": "CORE", "TargetOnDemandCapacity": 2, "InstanceTypeConfigs": [{"InstanceType": "r5.xlarge", "WeightedCapacity": 1}]},
    ]
    cluster = call(
        emr, "RunJobFlow", Name="notebooks", ReleaseLabel="emr-6.15.0", ServiceRole="EMR_DefaultRole", JobFlowRole="EMR_EC2_DefaultRole",
        Applications=[{"Name": "Spark"}, {"Name": "Livy"}],
        Instances={"InstanceFleets": fleets, "Ec2SubnetIds": subnets, "KeepJobFlowAliveWhenNoSteps": True, "EmrManagedMasterSecurityGroup": master, "EmrManagedSlaveSecurityGroup": core, "ServiceAccessSecurityGroup": service},
    )["JobFlowId"]
    until(lambda: call(emr, "DescribeCluster", ClusterId=cluster)["Cluster"]["Status"]["State"] == "WAITING", "the cluster waits")
    core_fleet = next(f for f in call(emr, "ListInstanceFleets", ClusterId=cluster)["InstanceFleets"] if f["InstanceFleetType"] == "CORE")
    call(emr, "ModifyInstanceFleet", ClusterId=cluster, InstanceFleet={"InstanceFleetId": core_fleet["Id"], "TargetOnDemandCapacity": 4})
    call(emr, "PutManagedScalingPolicy", ClusterId=cluster, ManagedScalingPolicy={"ComputeLimits": {"UnitType": "InstanceFleetUnits", "MinimumCapacityUnits": 2, "MaximumCapacityUnits": 10}})
    call(emr, "GetManagedScalingPolicy", ClusterId=cluster)
    call(emr, "SetTerminationProtection", JobFlowIds=[cluster], TerminationProtected=True)
    assert error_code(emr, "TerminateJobFlows", JobFlowIds=[cluster]) == "ValidationException"
    call(emr, "ListClusters")
    call(emr, "AddTags", ResourceId=cluster, Tags=[{"Key": "converge:stack", "Value": "boto"}])

    # The admin API counted every call, by service.
    import urllib.request
    log = json.loads(urllib.request.urlopen(f"{endpoint}/_sandbox/requests").read())
    services = {entry["service"] for entry in log}
    assert services == {"sts", "iam", "ec2", "s3", "servicecatalog", "sagemaker", "emr"}, services
