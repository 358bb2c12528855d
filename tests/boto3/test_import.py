"""Import of a platform converge never made, with an independent client
building it: both reference platforms are clicked together with boto3 calls
alone, as the design documents' teams did (no converge, no ownership tags,
product versions called "v1", security groups named by hand). Then the built
`converge` binary imports each one, validates the spec it wrote, plans (only
ownership tags being added), applies, and plans again (nothing left to do).

The Studio platform's imported spec is then compared with
`specs/studio-emr.toml`, the spec a person wrote for the same platform: they
may differ only in names (spec names and the AWS names of the security
groups), comments, the ids of what the spec reads (the VPC), and the keys that
describe converge's own choices rather than anything AWS stores (`adopt`,
`silence`, `home_efs_on_delete`). Files are compared by content, lists AWS
keeps unordered as sets.

Run by .ci/run in a virtualenv: `python -m pytest tests/boto3`.
"""

import contextlib
import json
import os
import pathlib
import subprocess
import time
import tomllib

import boto3
import pytest
from botocore.config import Config

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(os.environ.get("CONVERGE_BIN", ROOT / "target" / "debug" / "converge"))
ACCOUNT = "123456789012"


@contextlib.contextmanager
def sandbox(region):
    process = subprocess.Popen(
        [str(BINARY), "sandbox", "--port", "0", "--time-scale", "0.0005", "--region", region, "--page-size", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert "http://" in line, line
        yield "http://" + line.split("http://")[1].split()[0]
    finally:
        process.kill()
        process.wait()


class Account:
    """boto3 clients for one region of the sandbox."""

    def __init__(self, endpoint, region):
        self.endpoint, self.region = endpoint, region
        config = Config(retries={"max_attempts": 2}, s3={"addressing_style": "path"})
        self.clients = {}
        for service in ["ec2", "iam", "s3", "emr", "sagemaker", "servicecatalog"]:
            self.clients[service] = boto3.client(
                service,
                endpoint_url=endpoint,
                region_name=region,
                aws_access_key_id="sandbox",
                aws_secret_access_key="sandbox",
                config=config,
            )

    def __getattr__(self, service):
        return self.clients[service]

    def requests(self):
        import urllib.request

        return json.loads(urllib.request.urlopen(f"{self.endpoint}/_sandbox/requests").read())

    def converge(self, *args, expect=0):
        """The built binary against this sandbox, away from any real AWS configuration."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox",
            "AWS_CONFIG_FILE": "/nonexistent/converge-test-config",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/converge-test-credentials",
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_COLOR": "1",
        }
        done = subprocess.run([str(BINARY), *args], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
        output = f"$ converge {' '.join(args)}\n{done.stdout}\n{done.stderr}"
        assert done.returncode == expect, output
        return done


def tags(**pairs):
    return [{"Key": k, "Value": v} for k, v in pairs.items()]


def trust(service):
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    })


def until(check, what):
    # Every 100 ms, as a script must against AWS's rates (DescribeCluster: a burst of 10, then 1 a second);
    # the sandbox throttles at those rates by default.
    for _ in range(200):
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"never reached: {what}")


def role(aws, name, service, managed, description=None, inline=None, instance_profile=False, team_tags=()):
    extra = {"Description": description} if description else {}
    aws.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(service), Tags=list(team_tags), **extra)
    for arn in managed:
        aws.iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    for policy_name, document in (inline or {}).items():
        aws.iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=document)
    if instance_profile:
        aws.iam.create_instance_profile(InstanceProfileName=name)
        aws.iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def group(aws, vpc, name, description, team_tags):
    return aws.ec2.create_security_group(
        GroupName=name, Description=description, VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": team_tags}],
    )["GroupId"]


def nat_network(aws, vpc, public_cidr):
    """The VPC's way out, as the design document has it: a public subnet with a NAT gateway, and the main route table through it."""
    gateway = aws.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    aws.ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    public = aws.ec2.create_subnet(VpcId=vpc, CidrBlock=public_cidr, AvailabilityZone=f"{aws.region}a")["Subnet"]["SubnetId"]
    table = aws.ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    aws.ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    aws.ec2.associate_route_table(RouteTableId=table, SubnetId=public)
    allocation = aws.ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = aws.ec2.create_nat_gateway(SubnetId=public, AllocationId=allocation)["NatGateway"]["NatGatewayId"]
    main = aws.ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "association.main", "Values": ["true"]}])
    aws.ec2.create_route(RouteTableId=main["RouteTables"][0]["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)


def emr_roles(aws, team_tags):
    role(aws, "EMR_DefaultRole", "elasticmapreduce.amazonaws.com", ["arn:aws:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2"], team_tags=team_tags)
    role(aws, "EMR_EC2_DefaultRole", "ec2.amazonaws.com", ["arn:aws:iam::aws:policy/service-role/AmazonElasticMapReduceforEC2Role"], instance_profile=True, team_tags=team_tags)


def run_job_flow(aws, **request):
    """RunJobFlow as a script would: retried while IAM has not yet shown EMR the new instance profile."""
    for _ in range(200):
        try:
            return aws.emr.run_job_flow(**request)["JobFlowId"]
        except aws.emr.exceptions.ClientError as error:
            if "InstanceProfile" not in str(error):
                raise
            time.sleep(0.02)
    raise AssertionError("EMR never saw the instance profile")


def wait_for_cluster(aws, cluster):
    until(lambda: aws.emr.describe_cluster(ClusterId=cluster)["Cluster"]["Status"]["State"] == "WAITING", f"{cluster} waits")


def build_studio_platform(aws):
    """Design document 000, by hand: the Studio domain in VpcOnly mode, its EMR cluster and the Service Catalog template."""
    team = tags(team="data-platform")
    vpc = aws.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    nat_network(aws, vpc, "10.0.255.240/28")
    subnets = {}
    for cidr, zone, name in [("10.0.1.0/24", "a", "studio-private-a"), ("10.0.2.0/24", "c", "studio-private-c")]:
        subnets[name] = aws.ec2.create_subnet(
            VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f"{aws.region}{zone}",
            TagSpecifications=[{"ResourceType": "subnet", "Tags": team + tags(Name=name)}],
        )["Subnet"]["SubnetId"]

    studio = group(aws, vpc, "studio-notebooks", "SageMaker Studio notebooks", team)
    master = group(aws, vpc, "emr-primary", "EMR primary node", team)
    core = group(aws, vpc, "emr-workers", "EMR core and task nodes", team)
    # EMR's runbook for private subnets: a service-access group the primary node reaches on 9443.
    service = group(aws, vpc, "emr-service-access", "EMR service access from the private subnet", team)
    aws.ec2.authorize_security_group_ingress(GroupId=service, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 9443, "ToPort": 9443, "UserIdGroupPairs": [{"GroupId": master, "Description": "EMR 5.30 and later: the primary node to the service"}]},
    ])
    aws.ec2.authorize_security_group_ingress(GroupId=studio, IpPermissions=[
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": studio, "Description": "Studio apps and the home EFS talk to each other"}]},
    ])
    # The default egress rule, described as the team's runbook asks.
    aws.ec2.revoke_security_group_egress(GroupId=studio, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    aws.ec2.authorize_security_group_egress(GroupId=studio, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "EMR, Service Catalog and S3 APIs through the NAT gateway"}]},
    ])
    aws.ec2.authorize_security_group_ingress(GroupId=master, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8998, "ToPort": 8998, "UserIdGroupPairs": [{"GroupId": studio, "Description": "Livy from Studio"}]},
    ])

    execution = role(
        aws, "sagemaker_execution", "sagemaker.amazonaws.com",
        ["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess", "arn:aws:iam::aws:policy/AmazonS3FullAccess"],
        description="Execution role of SageMaker Studio users",
        inline={"AllowSagemakerProjectManagement": (ROOT / "specs/policies/emr-discovery.json").read_text()},
        team_tags=team,
    )
    launch = role(
        aws, "sc_launch", "servicecatalog.amazonaws.com",
        ["arn:aws:iam::aws:policy/AmazonElasticMapReduceFullAccess", "arn:aws:iam::aws:policy/AWSCloudFormationReadOnlyAccess"],
        description="Service Catalog launch role for EMR templates",
        team_tags=team,
    )
    emr_roles(aws, team)

    domain = aws.sagemaker.create_domain(
        DomainName="StudioDomain", AuthMode="IAM", AppNetworkAccessType="VpcOnly", VpcId=vpc,
        SubnetIds=[subnets["studio-private-a"]],
        DefaultUserSettings={
            "ExecutionRole": execution,
            "SecurityGroups": [studio],
            "SharingSettings": {"NotebookOutputOption": "Allowed", "S3OutputPath": "s3://ml-platform-artifacts/sharing/"},
        },
        Tags=team,
    )["DomainId"]
    until(lambda: aws.sagemaker.describe_domain(DomainId=domain)["Status"] == "InService", "the domain is in service")
    aws.sagemaker.create_user_profile(DomainId=domain, UserProfileName="alice", UserSettings={"ExecutionRole": execution}, Tags=team)

    aws.s3.create_bucket(Bucket="ml-platform-artifacts", CreateBucketConfiguration={"LocationConstraint": aws.region})
    aws.s3.put_object(Bucket="ml-platform-artifacts", Key="templates/emr-two-node.yaml", Body=(ROOT / "specs/templates/emr-two-node.yaml").read_bytes())
    portfolio = aws.servicecatalog.create_portfolio(
        DisplayName="EMR templates for Studio", ProviderName="Data Platform",
        Description="EMR clusters data scientists can launch from SageMaker Studio", Tags=team, IdempotencyToken="portfolio",
    )["PortfolioDetail"]["Id"]
    product = aws.servicecatalog.create_product(
        Name="Example two-node cluster", Owner="data-platform", ProductType="CLOUD_FORMATION_TEMPLATE",
        Description="Spark, Livy, Hive and Jupyter Enterprise Gateway on one master and two core nodes",
        Tags=team + tags(**{"sagemaker:studio-visibility:emr": "true"}), IdempotencyToken="product",
        ProvisioningArtifactParameters={
            "Name": "v1", "Description": "Two-node cluster in the Studio subnet", "Type": "CLOUD_FORMATION_TEMPLATE",
            "Info": {"LoadTemplateFromURL": f"https://ml-platform-artifacts.s3.{aws.region}.amazonaws.com/templates/emr-two-node.yaml"},
        },
    )["ProductViewDetail"]["ProductViewSummary"]["ProductId"]
    aws.servicecatalog.associate_product_with_portfolio(ProductId=product, PortfolioId=portfolio)
    aws.servicecatalog.associate_principal_with_portfolio(PortfolioId=portfolio, PrincipalARN=execution, PrincipalType="IAM")
    aws.servicecatalog.create_constraint(
        PortfolioId=portfolio, ProductId=product, Type="LAUNCH", Parameters=json.dumps({"RoleArn": launch}), IdempotencyToken="launch",
    )

    cluster = run_job_flow(
        aws, Name="studio-notebooks", ReleaseLabel="emr-6.3.0",
        Applications=[{"Name": a} for a in ["Spark", "Livy", "Hive", "JupyterEnterpriseGateway"]],
        ServiceRole="EMR_DefaultRole", JobFlowRole="EMR_EC2_DefaultRole",
        LogUri=f"s3://aws-logs-{ACCOUNT}-{aws.region}/elasticmapreduce/",
        EbsRootVolumeSize=15, AutoTerminationPolicy={"IdleTimeout": 7200}, VisibleToAllUsers=True,
        BootstrapActions=[{"Name": "install-pylibs", "ScriptBootstrapAction": {"Path": "s3://ml-platform-artifacts/emr_scripts/installpylibs.sh", "Args": ["dummy", "parameter"]}}],
        Configurations=[{"Classification": "livy-conf", "Properties": {"livy.server.session.timeout": "2h"}}],
        Instances={
            "Ec2SubnetIds": [subnets["studio-private-a"]], "KeepJobFlowAliveWhenNoSteps": True,
            "EmrManagedMasterSecurityGroup": master, "EmrManagedSlaveSecurityGroup": core, "ServiceAccessSecurityGroup": service,
            "InstanceFleets": [
                {"InstanceFleetType": "MASTER", "TargetOnDemandCapacity": 1, "InstanceTypeConfigs": [{"InstanceType": "m5.xlarge"}]},
                {"InstanceFleetType": "CORE", "TargetOnDemandCapacity": 2, "InstanceTypeConfigs": [{"InstanceType": "m5.xlarge"}]},
            ],
        },
        Tags=team,
    )
    wait_for_cluster(aws, cluster)
    return vpc


def task_types(types):
    return [{"InstanceType": t, "WeightedCapacity": w} for t, w in types]


def build_etl_platform(aws):
    """Design document 004, by boto3 script: two long-running fleet clusters no tool tracked."""
    team = tags(team="data-infra", **{"cost-center": "etl"})
    vpc = aws.ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        aws.ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f"{aws.region}{zone}",
                              TagSpecifications=[{"ResourceType": "subnet", "Tags": team}])["Subnet"]["SubnetId"]
        for cidr, zone in [("10.20.0.0/20", "a"), ("10.20.16.0/20", "b")]
    ]

    master = group(aws, vpc, "etl-master", "EMR primary nodes of the ETL clusters", team)
    core = group(aws, vpc, "etl-core", "EMR core and task nodes of the ETL clusters", team)
    service = group(aws, vpc, "etl-service-access", "EMR service access from private subnets", team)
    emr_roles(aws, team)

    node_labels = {"Classification": "yarn-site", "Properties": {"yarn.node-labels.enabled": "true", "yarn.node-labels.am.default-node-label-expression": "CORE"}}
    masters = {"InstanceFleetType": "MASTER", "TargetOnDemandCapacity": 1, "InstanceTypeConfigs": [{"InstanceType": "m5.2xlarge"}, {"InstanceType": "m5a.2xlarge"}]}
    spot_timeout = {"TimeoutDurationMinutes": 20, "TimeoutAction": "SWITCH_TO_ON_DEMAND", "AllocationStrategy": "price-capacity-optimized"}

    def cluster(name, step_concurrency, configurations, core_fleet, task_fleet, pipeline, **extra):
        return run_job_flow(
            aws, Name=name, ReleaseLabel="emr-6.15.0", Applications=[{"Name": a} for a in ["Hadoop", "Spark", "Hive"] if a != "Hive" or name.endswith("hourly")],
            ServiceRole="EMR_DefaultRole", JobFlowRole="EMR_EC2_DefaultRole",
            LogUri=f"s3://aws-logs-{ACCOUNT}-{aws.region}/elasticmapreduce/", StepConcurrencyLevel=step_concurrency,
            VisibleToAllUsers=True, Configurations=configurations,
            Instances={
                "Ec2SubnetIds": subnets, "KeepJobFlowAliveWhenNoSteps": True, "TerminationProtected": True,
                "EmrManagedMasterSecurityGroup": master, "EmrManagedSlaveSecurityGroup": core, "ServiceAccessSecurityGroup": service,
                "InstanceFleets": [masters, core_fleet, task_fleet],
            },
            Tags=team + tags(pipeline=pipeline), **extra,
        )

    hourly = cluster(
        "optimus-etl-hourly", 4,
        [node_labels, {"Classification": "hdfs-site", "Properties": {"dfs.replication": "1"}},
         {"Classification": "spark-defaults", "Properties": {"spark.dynamicAllocation.enabled": "true"}}],
        {"InstanceFleetType": "CORE", "TargetOnDemandCapacity": 16, "InstanceTypeConfigs": [{
            "InstanceType": "r5.4xlarge", "WeightedCapacity": 16,
            "EbsConfiguration": {"EbsBlockDeviceConfigs": [{"VolumeSpecification": {"VolumeType": "gp3", "SizeInGB": 500}, "VolumesPerInstance": 2}]},
        }]},
        {
            "InstanceFleetType": "TASK", "TargetOnDemandCapacity": 0, "TargetSpotCapacity": 1,  # EMR wants a target above 0
            "InstanceTypeConfigs": [
                dict(t, Configurations=[{"Classification": "yarn-site", "Properties": {"yarn.nodemanager.vmem-check-enabled": "false"}}])
                for t in task_types([("r5.12xlarge", 48), ("r5.24xlarge", 96), ("c5.12xlarge", 48), ("c5.24xlarge", 96), ("m5.12xlarge", 48), ("m5.24xlarge", 96)])
            ],
            "LaunchSpecifications": {"SpotSpecification": spot_timeout, "OnDemandSpecification": {"AllocationStrategy": "lowest-price"}},
            "ResizeSpecifications": {"SpotResizeSpecification": {"TimeoutDurationMinutes": 10}, "OnDemandResizeSpecification": {"TimeoutDurationMinutes": 10}},
        },
        "hourly-batch",
    )
    shared = cluster(
        "optimus-etl-shared", 16, [node_labels],
        {"InstanceFleetType": "CORE", "TargetOnDemandCapacity": 16, "InstanceTypeConfigs": [{"InstanceType": "r5.4xlarge", "WeightedCapacity": 16}]},
        {
            "InstanceFleetType": "TASK", "TargetOnDemandCapacity": 0, "TargetSpotCapacity": 1,  # EMR wants a target above 0
            "InstanceTypeConfigs": task_types([("r5.12xlarge", 48), ("c5.12xlarge", 48), ("m5.12xlarge", 48), ("r5.24xlarge", 96), ("c5.24xlarge", 96), ("m5.24xlarge", 96)]),
            "LaunchSpecifications": {"SpotSpecification": spot_timeout},
        },
        "small-jobs",
        ManagedScalingPolicy={"ComputeLimits": {
            "UnitType": "InstanceFleetUnits", "MinimumCapacityUnits": 16, "MaximumCapacityUnits": 1936,
            "MaximumOnDemandCapacityUnits": 208, "MaximumCoreCapacityUnits": 16,
        }},
    )
    wait_for_cluster(aws, hourly)
    wait_for_cluster(aws, shared)
    return vpc


MUTATING_PREFIXES = ("Create", "Put", "Delete", "Update", "Attach", "Detach", "Authorize", "Revoke", "Associate",
                     "Disassociate", "Add", "Remove", "Run", "Terminate", "Modify", "Set", "Tag", "Untag")


def adopt_and_converge(aws, vpc, stack, out):
    """Import, validate, plan (adoption only), apply, plan (empty); returns the path of the imported spec."""
    before = len(aws.requests())
    aws.converge("import", "--region", aws.region, "--vpc", vpc, "--stack", stack, "--out", str(out))
    calls = [f"{r['service']} {r['operation']}" for r in aws.requests()[before:]]
    assert calls, "import read the account"
    assert [c for c in calls if c.split()[1].startswith(MUTATING_PREFIXES)] == [], "import is read-only"
    spec = out / f"{stack}.toml"
    assert spec.exists(), sorted(p.name for p in out.iterdir())

    aws.converge("validate", str(spec))
    plan = json.loads(aws.converge("plan", str(spec), "--format", "json").stdout)
    assert plan["changes"], "the first plan adopts"
    for change in plan["changes"]:
        assert change["action"] == "update", change
        assert [f["path"] for f in change["fields"]] == ["ownership"], change
    imported = tomllib.loads(spec.read_text())
    resources = [(kind, name) for kind, table in imported.items() if kind not in ("stack", "vpc") for name in table]
    assert sorted(c["address"] for c in plan["changes"]) == sorted(f"{k}.{n}" for k, n in resources)

    aws.converge("apply", str(spec), "--auto-approve")
    aws.converge("plan", str(spec), "--detailed-exitcode")
    return spec


# What a reference names, by the key it is written under.
REFERENCES = {
    "vpc": "vpc", "subnets": "subnet", "domain": "sagemaker_domain", "portfolio": "catalog_portfolio",
    "security_groups": "security_group", "master_security_group": "security_group", "core_security_group": "security_group",
    "service_access_security_group": "security_group", "additional_master_security_groups": "security_group",
    "additional_core_security_groups": "security_group", "source": "security_group",
    "execution_role": "iam_role", "launch_role": "iam_role", "service_role": "iam_role", "instance_profile": "iam_role",
    "principals": "iam_role",
}
# How a resource is recognised whatever its spec name.
IDENTITY = {
    "vpc": lambda name, r: tuple(r["cidrs"]),
    "subnet": lambda name, r: r["cidr"],
    "security_group": lambda name, r: r["description"],
    "iam_role": lambda name, r: r.get("name", name),
    "sagemaker_domain": lambda name, r: r.get("name", name),
    "sagemaker_user": lambda name, r: r.get("name", name),
    "catalog_portfolio": lambda name, r: r["display_name"],
    "catalog_product": lambda name, r: r["name"],
    "emr_cluster": lambda name, r: r["name"],
}
# Keys that record converge's own choices, not anything AWS stores, so an import cannot know them.
CONVERGE_ONLY = {"adopt", "silence", "home_efs_on_delete"}
# Lists AWS keeps as sets.
UNORDERED = {"applications", "managed_policies", "trust", "subnets", "security_groups", "principals"}
# Names: the AWS name of a security group (a hand-built group is not called `<stack>-<name>`), the VPC's id.
NAMES = {("security_group", "name"), ("vpc", "id")}


def semantic(path):
    """The spec at `path` with spec names replaced by identities, files by their content, and names, comments and converge-only keys gone."""
    spec = tomllib.loads(path.read_text())
    identity = {
        (kind, name): f"{kind}:{IDENTITY[kind](name, resource)}"
        for kind, table in spec.items() if kind != "stack" for name, resource in table.items()
    }

    def value(key, kind, v):
        if isinstance(v, dict):
            return {k: value(k, kind, x) for k, x in v.items() if k not in CONVERGE_ONLY}
        if isinstance(v, list):
            items = [value(key, kind, x) for x in v]
            return sorted(items, key=json.dumps) if key in UNORDERED else items
        if isinstance(v, str) and key in REFERENCES:
            return identity.get((REFERENCES[key], v), v)
        if isinstance(v, str) and (key == "template" or kind == "iam_role" and key not in ("name", "description", "path")):
            file = path.parent / v
            if file.is_file():
                text = file.read_text()
                return json.loads(text) if file.suffix == ".json" else text
        return v

    normal = {"stack": spec["stack"]}
    for kind, table in spec.items():
        if kind == "stack":
            continue
        normal[kind] = {
            identity[(kind, name)]: {
                k: value(k, kind, v) for k, v in resource.items() if k not in CONVERGE_ONLY and (kind, k) not in NAMES
            }
            for name, resource in table.items()
        }
    return normal


def differences(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                found.append(f"{path}.{key}: only in {'imported' if key in a else 'reference'}")
            else:
                found += differences(a[key], b[key], f"{path}.{key}")
        return found
    return [] if a == b else [f"{path}: imported {a!r}, reference {b!r}"]


def test_the_hand_built_studio_platform_imports_as_the_spec_a_person_wrote(tmp_path):
    with sandbox("ap-northeast-1") as endpoint:
        aws = Account(endpoint, "ap-northeast-1")
        vpc = build_studio_platform(aws)
        spec = adopt_and_converge(aws, vpc, "ml-platform", tmp_path)

        # Import never overwrites a spec: the reviewed, adopted file stays as it is.
        written = spec.read_text()
        refused = aws.converge("import", "--region", aws.region, "--vpc", vpc, "--stack", "ml-platform", "--out", str(tmp_path), expect=1)
        assert "--force" in refused.stderr, refused.stderr
        assert spec.read_text() == written

        # A step of the runbook undone by hand: the platform imports as it is, and the rules say what is miswired.
        pages = aws.ec2.get_paginator("describe_security_groups").paginate()
        master = next(g for page in pages for g in page["SecurityGroups"] if g["GroupName"] == "emr-primary")
        aws.ec2.revoke_security_group_ingress(GroupId=master["GroupId"], IpPermissions=master["IpPermissions"])
        miswired = aws.converge("import", "--region", aws.region, "--vpc", vpc, "--stack", "ml-platform", "--out", str(tmp_path / "miswired"), expect=2)
        assert "error[livy-port-closed]" in miswired.stderr, miswired.stderr

    imported, reference = semantic(spec), semantic(ROOT / "specs/studio-emr.toml")
    assert differences(imported, reference) == [], written


def test_the_etl_clusters_a_boto3_script_made_import_and_converge(tmp_path):
    with sandbox("us-east-1") as endpoint:
        aws = Account(endpoint, "us-east-1")
        vpc = build_etl_platform(aws)
        spec = adopt_and_converge(aws, vpc, "etl-platform", tmp_path)

    imported = tomllib.loads(spec.read_text())
    assert sorted(c["name"] for c in imported["emr_cluster"].values()) == ["optimus-etl-hourly", "optimus-etl-shared"]
    assert imported["stack"]["tags"] == {"team": "data-infra", "cost-center": "etl"}
    shared = next(c for c in imported["emr_cluster"].values() if c["name"] == "optimus-etl-shared")
    assert shared["scaling"] == {"unit": "InstanceFleetUnits", "min": 16, "max": 1936, "max_on_demand": 208, "max_core": 16}


def test_the_semantic_comparison_sees_a_difference(tmp_path):
    """The comparison above can fail: a changed port is a difference, a renamed resource is not."""
    reference = (ROOT / "specs/studio-emr.toml").read_text()
    for name in ["policies", "templates"]:
        (tmp_path / name).symlink_to(ROOT / "specs" / name)
    renamed = tmp_path / "renamed.toml"
    renamed.write_text(reference.replace("[security_group.studio]", "[security_group.notebooks]").replace('source = "studio"', 'source = "notebooks"').replace('security_groups = ["studio"]', 'security_groups = ["notebooks"]'))
    assert differences(semantic(renamed), semantic(ROOT / "specs/studio-emr.toml")) == []
    changed = tmp_path / "changed.toml"
    changed.write_text(reference.replace("ports = 8998", "ports = 8999"))
    assert differences(semantic(changed), semantic(ROOT / "specs/studio-emr.toml")) != []
