#!/usr/bin/env python3
"""Extracts the request models of the operations `converge sandbox` serves from
botocore's service models (the data AWS's own SDKs are generated from) into
`crates/converge-sandbox/models/aws.json`, which the sandbox embeds to refuse
what AWS refuses: missing required members, values outside enums, ranges,
lengths, list sizes and patterns, unknown parameters, members of the wrong type.

    python3 -m pip install -r scripts/requirements-models.txt
    scripts/sandbox-models.py            # rewrite the file
    scripts/sandbox-models.py --check    # fail if regenerating would change it

Only the input shapes reachable from the served operations are kept, with
only what validation needs (documentation dropped). The operation list below
is the sandbox's: an operation missing from the file is answered as AWS
answers an unknown action.
"""

import argparse
import gzip
import json
import pathlib
import sys

import botocore

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "crates" / "converge-sandbox" / "models" / "aws.json"

# Service → (API version, operations served).
SERVED = {
    "ec2": (
        "2016-11-15",
        """
        CreateVpc DescribeVpcs DeleteVpc
        CreateSubnet DescribeSubnets DeleteSubnet
        CreateSecurityGroup DescribeSecurityGroups DeleteSecurityGroup DescribeSecurityGroupRules
        AuthorizeSecurityGroupIngress AuthorizeSecurityGroupEgress
        RevokeSecurityGroupIngress RevokeSecurityGroupEgress
        UpdateSecurityGroupRuleDescriptionsIngress UpdateSecurityGroupRuleDescriptionsEgress
        CreateTags DeleteTags
        CreateInternetGateway AttachInternetGateway DetachInternetGateway DeleteInternetGateway DescribeInternetGateways
        AllocateAddress ReleaseAddress DescribeAddresses
        CreateNatGateway DeleteNatGateway DescribeNatGateways
        CreateRouteTable DeleteRouteTable DescribeRouteTables AssociateRouteTable DisassociateRouteTable
        CreateRoute DeleteRoute
        CreateVpcEndpoint DeleteVpcEndpoints DescribeVpcEndpoints
        """,
    ),
    "iam": (
        "2010-05-08",
        """
        CreateRole GetRole ListRoles GetAccountAuthorizationDetails DeleteRole UpdateRole UpdateRoleDescription
        UpdateAssumeRolePolicy AttachRolePolicy DetachRolePolicy ListAttachedRolePolicies
        PutRolePolicy GetRolePolicy DeleteRolePolicy ListRolePolicies TagRole UntagRole ListRoleTags
        CreateInstanceProfile GetInstanceProfile DeleteInstanceProfile AddRoleToInstanceProfile
        RemoveRoleFromInstanceProfile ListInstanceProfilesForRole
        """,
    ),
    "sts": ("2011-06-15", "GetCallerIdentity"),
    "emr": (
        "2009-03-31",
        """
        RunJobFlow DescribeCluster ListClusters ListInstanceFleets ListBootstrapActions
        ModifyInstanceFleet AddInstanceFleet TerminateJobFlows SetTerminationProtection SetVisibleToAllUsers
        ModifyCluster PutManagedScalingPolicy GetManagedScalingPolicy RemoveManagedScalingPolicy
        PutAutoTerminationPolicy GetAutoTerminationPolicy RemoveAutoTerminationPolicy AddTags RemoveTags
        """,
    ),
    "sagemaker": (
        "2017-07-24",
        """
        CreateDomain DescribeDomain ListDomains UpdateDomain DeleteDomain
        CreateUserProfile DescribeUserProfile ListUserProfiles UpdateUserProfile DeleteUserProfile
        AddTags DeleteTags ListTags CreateSpace DescribeSpace ListSpaces DeleteSpace
        CreateApp DescribeApp ListApps DeleteApp
        """,
    ),
    "servicecatalog": (
        "2015-12-10",
        """
        CreatePortfolio DescribePortfolio ListPortfolios UpdatePortfolio DeletePortfolio
        CreateProduct DescribeProductAsAdmin SearchProductsAsAdmin UpdateProduct DeleteProduct
        CreateProvisioningArtifact ListProvisioningArtifacts DescribeProvisioningArtifact UpdateProvisioningArtifact
        AssociateProductWithPortfolio DisassociateProductFromPortfolio
        AssociatePrincipalWithPortfolio DisassociatePrincipalFromPortfolio
        ListPortfoliosForProduct ListPrincipalsForPortfolio
        CreateConstraint DescribeConstraint UpdateConstraint DeleteConstraint ListConstraintsForPortfolio
        """,
    ),
    "s3": ("2006-03-01", "CreateBucket ListObjectsV2 PutObject GetObject HeadObject DeleteObject"),
}

# What each kind of shape keeps; members keep their shape and wire names.
KEPT = {
    "structure": ("required",),
    "list": ("min", "max", "flattened"),
    "map": ("min", "max", "flattened"),
    "string": ("min", "max", "pattern", "enum"),
    "integer": ("min", "max"),
    "long": ("min", "max"),
    "float": ("min", "max"),
    "double": ("min", "max"),
    "boolean": (),
    "timestamp": (),
    "blob": (),
}
MEMBER_KEPT = ("shape", "location", "locationName", "queryName", "flattened")


def load(service, version):
    folder = pathlib.Path(botocore.__file__).parent / "data" / service / version
    plain = folder / "service-2.json"
    if plain.exists():
        return json.loads(plain.read_text())
    with gzip.open(folder / "service-2.json.gz") as f:
        return json.load(f)


def reference(ref):
    return {k: ref[k] for k in MEMBER_KEPT if k in ref}


def extract(service, version, operations):
    model = load(service, version)
    shapes = model["shapes"]
    kept = {}

    def walk(name):
        if name in kept:
            return
        shape = shapes[name]
        kind = shape["type"]
        if kind not in KEPT:
            sys.exit(f"{service}: shape {name} is of a type the sandbox does not validate: {kind}")
        out = {"type": kind}
        for key in KEPT[kind]:
            if key in shape:
                out[key] = shape[key]
        kept[name] = out
        if kind == "structure":
            out["members"] = {m: reference(ref) for m, ref in shape.get("members", {}).items()}
            for ref in shape.get("members", {}).values():
                walk(ref["shape"])
        elif kind == "list":
            out["member"] = reference(shape["member"])
            walk(shape["member"]["shape"])
        elif kind == "map":
            out["key"] = reference(shape["key"])
            out["value"] = reference(shape["value"])
            walk(shape["key"]["shape"])
            walk(shape["value"]["shape"])

    served = {}
    for name in operations.split():
        operation = model["operations"][name]
        entry = {}
        if "input" in operation:
            entry["input"] = operation["input"]["shape"]
            walk(operation["input"]["shape"])
        if service == "s3":
            entry["http"] = {k: operation["http"][k] for k in ("method", "requestUri")}
        served[name] = entry
    metadata = model["metadata"]
    return {
        # Service Catalog also speaks Smithy RPC v2 CBOR now; the sandbox serves awsJson 1.1, which it still speaks.
        "protocol": "json" if "json" in metadata.get("protocols", []) else metadata["protocol"],
        "apiVersion": metadata["apiVersion"],
        "operations": served,
        "shapes": kept,
    }


def generate():
    document = {
        "comment": "Generated by scripts/sandbox-models.py from botocore's service models; do not edit.",
        "botocore": botocore.__version__,
        "services": {service: extract(service, *served) for service, served in SERVED.items()},
    }
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the checked-in file differs")
    args = parser.parse_args()
    text = generate()
    if args.check:
        current = OUTPUT.read_text() if OUTPUT.exists() else ""
        if current != text:
            sys.exit(f"{OUTPUT.relative_to(ROOT)} is not what scripts/sandbox-models.py generates; run it and commit")
        print(f"{OUTPUT.relative_to(ROOT)} is up to date (botocore {botocore.__version__})")
        return
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)} (botocore {botocore.__version__})")


if __name__ == "__main__":
    main()
