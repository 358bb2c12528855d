//! The IAM policy converge needs for one spec: read-only (plan, drift,
//! output) or full (apply, rebuild, destroy as well).
//!
//! Actions are listed per service, and for writes only for the kinds the
//! spec holds: a spec without EMR clusters gets no `elasticmapreduce:RunJobFlow`.
//! Resources are narrowed where the spec knows the ARN before anything exists:
//! `iam:PassRole` to the roles the spec hands to EMR, SageMaker and Service
//! Catalog (with `iam:PassedToService`), the roles and instance profiles the
//! spec names, S3 to the template and state buckets. Other services assign
//! ids at creation, so their actions apply to `*`.
//!
//! The read actions mirror what the `aws` crate's reader calls; the CLI's
//! end-to-end test (`crates/converge-cli/tests/iam_policy.rs`) checks every
//! call in the sandbox's request log during plan, apply, drift and destroy
//! against these policies, so a call the reader gains without a line here
//! fails it.
//!
//! **Architecture invariant:** pure: no I/O, clock, async runtime or AWS SDK;
//! it knows the spec model, not how calls are made.

use std::collections::BTreeSet;

use converge_model::{Kind, Ref, Spec};
use serde_json::{Value, json};

/// What the policy lets converge do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `plan`, `drift`, `output`: reads only.
    ReadOnly,
    /// Also `apply`, `rebuild` and `destroy`.
    Full,
}

/// One `Allow` statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub sid: &'static str,
    pub actions: BTreeSet<String>,
    pub resources: BTreeSet<String>,
    /// An IAM condition block, when the statement has one.
    pub condition: Option<Value>,
}

impl Statement {
    fn new(sid: &'static str, actions: impl IntoIterator<Item = String>, resources: BTreeSet<String>) -> Statement {
        Statement { sid, actions: actions.into_iter().collect(), resources, condition: None }
    }
}

/// An identity policy: what converge needs, and nothing else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

impl Policy {
    /// The policy document, as `aws iam create-policy --policy-document` takes it.
    pub fn document(&self) -> Value {
        let statements: Vec<Value> = self
            .statements
            .iter()
            .map(|s| {
                let mut statement = json!({
                    "Sid": s.sid,
                    "Effect": "Allow",
                    "Action": s.actions.iter().collect::<Vec<_>>(),
                    "Resource": s.resources.iter().collect::<Vec<_>>(),
                });
                if let Some(condition) = &s.condition {
                    statement["Condition"] = condition.clone();
                }
                statement
            })
            .collect();
        json!({ "Version": "2012-10-17", "Statement": statements })
    }

    /// True when some statement allows `action` (`ec2:DescribeSubnets`) on
    /// some resource; resources and conditions are not evaluated.
    pub fn allows(&self, action: &str) -> bool {
        self.statements.iter().any(|s| s.actions.contains(action))
    }

    /// Every action the policy allows.
    pub fn actions(&self) -> BTreeSet<&str> {
        self.statements.iter().flat_map(|s| s.actions.iter().map(String::as_str)).collect()
    }
}

/// The IAM action a call to `operation` of `service` needs. `service` is the
/// SDK's service id (`ec2`, `emr`, `servicecatalog`, `s3`…); S3's calls are
/// authorised by actions named differently from the API (`HeadObject` by
/// `s3:GetObject`, `ListObjectsV2` by `s3:ListBucket`).
pub fn iam_action(service: &str, operation: &str) -> String {
    let prefix = match service.to_ascii_lowercase().replace(' ', "").as_str() {
        "emr" => "elasticmapreduce".to_owned(),
        other => other.to_owned(),
    };
    let action = match (prefix.as_str(), operation) {
        ("s3", "HeadObject") => "GetObject",
        ("s3", "ListObjectsV2" | "ListObjects" | "HeadBucket") => "ListBucket",
        (_, operation) => operation,
    };
    format!("{prefix}:{action}")
}

/// What the reader calls, whatever the spec holds: it looks for the stack's
/// resources of every kind, so that an orphan of a kind the spec no longer
/// has is still found.
const READS: &[(&str, &[&str])] = &[
    (
        "ec2",
        &["DescribeVpcs", "DescribeSubnets", "DescribeSecurityGroups", "DescribeRouteTables", "DescribeVpcEndpoints"],
    ),
    ("iam", &["GetAccountAuthorizationDetails", "ListRoles"]),
    (
        "sagemaker",
        &[
            "ListDomains",
            "DescribeDomain",
            "ListUserProfiles",
            "DescribeUserProfile",
            "ListApps",
            "ListSpaces",
            "ListTags",
        ],
    ),
    (
        "servicecatalog",
        &[
            "ListPortfolios",
            "DescribePortfolio",
            "ListPrincipalsForPortfolio",
            "ListConstraintsForPortfolio",
            "DescribeConstraint",
            "SearchProductsAsAdmin",
            "DescribeProductAsAdmin",
            "ListProvisioningArtifacts",
            "DescribeProvisioningArtifact",
            "ListPortfoliosForProduct",
        ],
    ),
    (
        "emr",
        &[
            "ListClusters",
            "DescribeCluster",
            "ListInstanceFleets",
            "ListBootstrapActions",
            "GetManagedScalingPolicy",
            "GetAutoTerminationPolicy",
        ],
    ),
];

/// What applying and destroying a kind calls beyond [`READS`]: creates,
/// updates, tags, deletes, and the reads its waits and duplicate checks make.
fn writes(kind: Kind) -> &'static [(&'static str, &'static [&'static str])] {
    match kind {
        Kind::Vpc => &[],
        Kind::Subnet => &[("ec2", &["CreateSubnet", "DeleteSubnet", "CreateTags", "DeleteTags"])],
        Kind::SecurityGroup => &[(
            "ec2",
            &[
                "CreateSecurityGroup",
                "AuthorizeSecurityGroupIngress",
                "AuthorizeSecurityGroupEgress",
                "RevokeSecurityGroupIngress",
                "RevokeSecurityGroupEgress",
                "UpdateSecurityGroupRuleDescriptionsIngress",
                "UpdateSecurityGroupRuleDescriptionsEgress",
                "DeleteSecurityGroup",
                "CreateTags",
                "DeleteTags",
            ],
        )],
        Kind::IamRole => &[(
            "iam",
            &[
                "GetRole",
                "CreateRole",
                "UpdateRole",
                "UpdateAssumeRolePolicy",
                "AttachRolePolicy",
                "DetachRolePolicy",
                "PutRolePolicy",
                "DeleteRolePolicy",
                "TagRole",
                "UntagRole",
                "DeleteRole",
                "GetInstanceProfile",
                "CreateInstanceProfile",
                "AddRoleToInstanceProfile",
                "RemoveRoleFromInstanceProfile",
                "DeleteInstanceProfile",
            ],
        )],
        Kind::SagemakerDomain => &[
            (
                "sagemaker",
                &[
                    "CreateDomain",
                    "UpdateDomain",
                    "DeleteDomain",
                    "DescribeApp",
                    "DeleteApp",
                    "DescribeSpace",
                    "DeleteSpace",
                    "AddTags",
                    "DeleteTags",
                ],
            ),
            // The NFS groups SageMaker leaves in the VPC, deleted with `home_efs_on_delete = "Delete"`.
            ("ec2", &["RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress", "DeleteSecurityGroup"]),
        ],
        Kind::SagemakerUser => &[(
            "sagemaker",
            &[
                "CreateUserProfile",
                "UpdateUserProfile",
                "DeleteUserProfile",
                "DescribeApp",
                "DeleteApp",
                "DescribeSpace",
                "DeleteSpace",
                "AddTags",
                "DeleteTags",
            ],
        )],
        Kind::CatalogPortfolio => &[(
            "servicecatalog",
            &[
                "CreatePortfolio",
                "UpdatePortfolio",
                "DeletePortfolio",
                "AssociatePrincipalWithPortfolio",
                "DisassociatePrincipalFromPortfolio",
            ],
        )],
        Kind::CatalogProduct => &[(
            "servicecatalog",
            &[
                "CreateProduct",
                "UpdateProduct",
                "DeleteProduct",
                "CreateProvisioningArtifact",
                "UpdateProvisioningArtifact",
                "AssociateProductWithPortfolio",
                "DisassociateProductFromPortfolio",
                "CreateConstraint",
                "UpdateConstraint",
                "DeleteConstraint",
            ],
        )],
        Kind::EmrCluster => &[(
            "emr",
            &[
                "RunJobFlow",
                "AddInstanceFleet",
                "ModifyInstanceFleet",
                "PutManagedScalingPolicy",
                "RemoveManagedScalingPolicy",
                "PutAutoTerminationPolicy",
                "RemoveAutoTerminationPolicy",
                "SetTerminationProtection",
                "ModifyCluster",
                "AddTags",
                "RemoveTags",
                "TerminateJobFlows",
            ],
        )],
    }
}

/// The policy converge needs to work on `spec`'s stack with `access`.
pub fn policy(spec: &Spec, access: Access) -> Policy {
    let mut statements = Vec::new();
    let all = || BTreeSet::from(["*".to_owned()]);
    statements.push(Statement::new("ConvergeIdentity", ["sts:GetCallerIdentity".to_owned()], all()));
    let reads = READS.iter().flat_map(|(service, ops)| ops.iter().map(|op| iam_action(service, op)));
    statements.push(Statement::new("ConvergeRead", reads, all()));

    // Templates: read back to compare (and, for Service Catalog, to create a version from).
    let buckets: BTreeSet<String> = spec.catalog_products.values().map(|p| p.template_bucket.clone()).collect();
    let objects = |buckets: &BTreeSet<String>, prefix: &str| -> BTreeSet<String> {
        buckets.iter().map(|b| format!("arn:{}:s3:::{b}/{prefix}*", partition(spec))).collect()
    };
    if !buckets.is_empty() {
        let mut actions = vec!["s3:GetObject".to_owned()];
        if access == Access::Full {
            actions.push("s3:PutObject".to_owned());
        }
        statements.push(Statement::new("ConvergeTemplates", actions, objects(&buckets, "")));
    }
    if access == Access::ReadOnly {
        return Policy { statements };
    }

    // The stack lock, when it lives in S3.
    if let Some(bucket) = &spec.stack.state_bucket {
        let lock = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"].map(str::to_owned);
        let key = format!("converge/{}/", spec.stack.name);
        statements.push(Statement::new("ConvergeLock", lock, objects(&BTreeSet::from([bucket.clone()]), &key)));
    }

    let kinds = present_kinds(spec);
    let mut by_service: Vec<(&str, BTreeSet<String>)> = Vec::new();
    for kind in &kinds {
        for (service, ops) in writes(*kind) {
            let actions = ops.iter().map(|op| iam_action(service, op));
            match by_service.iter_mut().find(|(s, _)| s == service) {
                Some((_, set)) => set.extend(actions),
                None => by_service.push((service, actions.collect())),
            }
        }
    }
    by_service.sort_by_key(|(service, _)| *service);
    for (service, actions) in by_service {
        let (sid, resources) = match service {
            "ec2" => ("ConvergeEc2", all()),
            "iam" => ("ConvergeIam", iam_resources(spec)),
            "sagemaker" => ("ConvergeSageMaker", all()),
            "servicecatalog" => ("ConvergeServiceCatalog", all()),
            _ => ("ConvergeEmr", all()),
        };
        statements.push(Statement::new(sid, actions, resources));
    }

    for (service, roles) in passed_roles(spec) {
        let mut statement = Statement::new(
            match service {
                "elasticmapreduce.amazonaws.com" => "ConvergePassRoleToEmr",
                "sagemaker.amazonaws.com" => "ConvergePassRoleToSageMaker",
                _ => "ConvergePassRoleToServiceCatalog",
            },
            ["iam:PassRole".to_owned()],
            roles,
        );
        statement.condition = Some(json!({ "StringEquals": { "iam:PassedToService": service } }));
        statements.push(statement);
    }
    if !spec.emr_clusters.is_empty() {
        // EMR creates its cleanup service-linked role on the account's first cluster.
        let mut statement = Statement::new(
            "ConvergeEmrServiceLinkedRole",
            ["iam:CreateServiceLinkedRole".to_owned()],
            BTreeSet::from([format!(
                "arn:{}:iam::{}:role/aws-service-role/elasticmapreduce.amazonaws.com*/AWSServiceRoleForEMRCleanup*",
                partition(spec),
                spec.stack.account
            )]),
        );
        statement.condition = Some(json!({ "StringLike": { "iam:AWSServiceName": "elasticmapreduce.amazonaws.com" } }));
        statements.push(statement);
    }
    Policy { statements }
}

fn present_kinds(spec: &Spec) -> BTreeSet<Kind> {
    let mut kinds = BTreeSet::new();
    let mut note = |present: bool, kind: Kind| {
        if present {
            kinds.insert(kind);
        }
    };
    note(!spec.subnets.is_empty(), Kind::Subnet);
    note(!spec.security_groups.is_empty(), Kind::SecurityGroup);
    note(!spec.iam_roles.is_empty(), Kind::IamRole);
    note(!spec.sagemaker_domains.is_empty(), Kind::SagemakerDomain);
    note(!spec.sagemaker_users.is_empty(), Kind::SagemakerUser);
    note(!spec.catalog_portfolios.is_empty(), Kind::CatalogPortfolio);
    note(!spec.catalog_products.is_empty(), Kind::CatalogProduct);
    note(!spec.emr_clusters.is_empty(), Kind::EmrCluster);
    kinds
}

/// The partition of the stack's ARNs (`aws`, `aws-cn`, `aws-us-gov`).
fn partition(spec: &Spec) -> &'static str {
    converge_model::Partition::of_region(&spec.stack.region).name
}

/// The ARN of the spec's role `name`.
fn role_arn(spec: &Spec, name: &str) -> Option<String> {
    let role = spec.iam_roles.get(name)?;
    let path = if role.path.ends_with('/') { role.path.clone() } else { format!("{}/", role.path) };
    Some(format!(
        "arn:{}:iam::{}:role{path}{}",
        partition(spec),
        spec.stack.account,
        role.name.as_deref().unwrap_or(name)
    ))
}

/// The roles and instance profiles the spec manages, by ARN.
fn iam_resources(spec: &Spec) -> BTreeSet<String> {
    let mut arns = BTreeSet::new();
    for (name, role) in &spec.iam_roles {
        arns.extend(role_arn(spec, name));
        if role.instance_profile {
            let aws_name = role.name.as_deref().unwrap_or(name);
            arns.insert(format!("arn:{}:iam::{}:instance-profile/{aws_name}", partition(spec), spec.stack.account));
        }
    }
    arns
}

/// The ARN a role reference stands for: a role of the spec, or a literal ARN.
fn referenced_role(spec: &Spec, reference: &Ref) -> Option<String> {
    match reference {
        Ref::Named(name) => role_arn(spec, name.strip_prefix("iam_role.").unwrap_or(name)),
        // A role ARN; an instance profile's ARN does not say which role it holds.
        Ref::Literal(arn) if arn.contains(":role/") => Some(arn.clone()),
        Ref::Literal(_) => None,
    }
}

/// The roles converge hands to each service, by the service's principal.
fn passed_roles(spec: &Spec) -> Vec<(&'static str, BTreeSet<String>)> {
    let collect =
        |refs: Vec<&Ref>| -> BTreeSet<String> { refs.into_iter().filter_map(|r| referenced_role(spec, r)).collect() };
    let emr = collect(spec.emr_clusters.values().flat_map(|c| [&c.service_role, &c.instance_profile]).collect());
    let sagemaker = collect(
        spec.sagemaker_domains
            .values()
            .map(|d| &d.execution_role)
            .chain(spec.sagemaker_users.values().filter_map(|u| u.execution_role.as_ref()))
            .collect(),
    );
    let catalog = collect(spec.catalog_products.values().filter_map(|p| p.launch_role.as_ref()).collect());
    [
        ("elasticmapreduce.amazonaws.com", emr),
        ("sagemaker.amazonaws.com", sagemaker),
        ("servicecatalog.amazonaws.com", catalog),
    ]
    .into_iter()
    .filter(|(_, roles)| !roles.is_empty())
    .collect()
}
