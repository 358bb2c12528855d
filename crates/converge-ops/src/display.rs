//! One line per operation, for plans, progress and errors: the AWS call and
//! the inputs a reviewer needs to recognise it (the JSON plan has all of them).

use std::fmt::{self, Display, Formatter};

use converge_model::Tags;

use crate::{
    CatalogOp, Direction, Ec2Op, EmrOp, IamOp, Id, IpProtocol, Operation, Peer, Rule, SagemakerOp, TagOp, Tagged,
};

impl Display for Id {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Id::Known(id) => f.write_str(id),
            Id::Output { output_of, address } => write!(f, "(new {address}, step {output_of})"),
        }
    }
}

impl Display for Peer {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Cidr(cidr) | Peer::PrefixList(cidr) => f.write_str(cidr),
            Peer::Group(id) => write!(f, "{id}"),
        }
    }
}

/// The traffic a rule admits: `tcp 8998`, `all traffic`, `icmp type 8 code 0`.
pub(crate) fn traffic(rule: &Rule) -> String {
    let range = |from: Option<i64>, to: Option<i64>| match (from, to) {
        (Some(from), Some(to)) if from == to => from.to_string(),
        (Some(from), Some(to)) => format!("{from}-{to}"),
        _ => "all".to_owned(),
    };
    match rule.protocol {
        IpProtocol::All => "all traffic".to_owned(),
        IpProtocol::Icmp => match (rule.from_port.filter(|t| *t >= 0), rule.to_port.filter(|c| *c >= 0)) {
            (None, _) => "icmp (all types)".to_owned(),
            (Some(t), None) => format!("icmp type {t}"),
            (Some(t), Some(c)) => format!("icmp type {t} code {c}"),
        },
        IpProtocol::Tcp => format!("tcp {}", range(rule.from_port, rule.to_port)),
        IpProtocol::Udp => format!("udp {}", range(rule.from_port, rule.to_port)),
        IpProtocol::Number(n) => format!("protocol {n}"),
    }
}

fn rules(direction: Direction, rules: &[Rule]) -> String {
    let word = match direction {
        Direction::Ingress => "from",
        Direction::Egress => "to",
    };
    let parts: Vec<String> = rules
        .iter()
        .map(|rule| {
            let description = rule.description.as_ref().map(|d| format!(" ({d:?})")).unwrap_or_default();
            format!("{} {word} {}{description}", traffic(rule), rule.peer)
        })
        .collect();
    parts.join(", ")
}

fn list<T: Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

fn tag_changes(set: &Tags, remove: &[String]) -> String {
    let mut parts: Vec<String> = set.iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.extend(remove.iter().map(|k| format!("-{k}")));
    parts.join(", ")
}

impl Display for Tagged {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Tagged::Ec2 { id } => write!(f, "{id}"),
            Tagged::IamRole { name } => write!(f, "role {name}"),
            Tagged::SagemakerDomain { domain } => write!(f, "domain {domain}"),
            Tagged::SagemakerUserProfile { domain, name } => write!(f, "user profile {name} of {domain}"),
            Tagged::Portfolio { portfolio } => write!(f, "{portfolio}"),
            Tagged::Product { product } => write!(f, "{product}"),
            Tagged::EmrCluster { cluster } => write!(f, "{cluster}"),
        }
    }
}

impl Display for Operation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let call = self.aws_calls().join(" + ");
        match self {
            Operation::Ec2(Ec2Op::CreateSubnet { vpc, cidr, availability_zone, .. }) => {
                write!(f, "{call} {cidr} in {availability_zone} of {vpc}")
            }
            Operation::Ec2(Ec2Op::DeleteSubnet { subnet }) => write!(f, "{call} {subnet}"),
            Operation::Ec2(Ec2Op::CreateSecurityGroup { vpc, name, .. }) => write!(f, "{call} {name:?} in {vpc}"),
            Operation::Ec2(Ec2Op::AuthorizeRules { group, direction, rules: r })
            | Operation::Ec2(Ec2Op::RevokeRules { group, direction, rules: r })
            | Operation::Ec2(Ec2Op::UpdateRuleDescriptions { group, direction, rules: r }) => {
                write!(f, "{call} {group}: {}", rules(*direction, r))
            }
            Operation::Ec2(Ec2Op::DeleteSecurityGroup { group }) => write!(f, "{call} {group}"),
            Operation::Iam(IamOp::CreateRole { name, path, .. }) => write!(f, "{call} {path}{name}"),
            Operation::Iam(IamOp::UpdateRole { role, max_session_duration, .. }) => {
                write!(f, "{call} {role} (description, max session {max_session_duration} s)")
            }
            Operation::Iam(IamOp::UpdateAssumeRolePolicy { role, .. }) => write!(f, "{call} {role}"),
            Operation::Iam(IamOp::AttachRolePolicies { role, policy_arns })
            | Operation::Iam(IamOp::DetachRolePolicies { role, policy_arns }) => {
                write!(f, "{call} {role}: {}", list(policy_arns))
            }
            Operation::Iam(IamOp::PutRolePolicies { role, policies }) => {
                write!(f, "{call} {role}: {}", policies.keys().cloned().collect::<Vec<_>>().join(", "))
            }
            Operation::Iam(IamOp::DeleteRolePolicies { role, names }) => write!(f, "{call} {role}: {}", list(names)),
            Operation::Iam(IamOp::CreateInstanceProfile { name, role, .. }) => {
                write!(f, "{call} {name} holding {role}")
            }
            Operation::Iam(IamOp::DeleteInstanceProfile { name, .. }) => write!(f, "{call} {name}"),
            Operation::Iam(IamOp::DeleteRole { role }) => write!(f, "{call} {role}"),
            Operation::Sagemaker(SagemakerOp::CreateDomain { name, network_access, vpc, .. }) => {
                write!(f, "{call} {name:?} ({}) in {vpc}", network_access.aws())
            }
            Operation::Sagemaker(SagemakerOp::UpdateDomain {
                domain,
                network_access,
                subnets,
                default_user_settings,
            }) => {
                let mut parts = Vec::new();
                if let Some(access) = network_access {
                    parts.push(format!("network access {}", access.aws()));
                }
                if let Some(subnets) = subnets {
                    parts.push(format!("subnets {}", list(subnets)));
                }
                if default_user_settings.is_some() {
                    parts.push("default user settings".to_owned());
                }
                write!(f, "{call} {domain}: {}", parts.join("; "))
            }
            Operation::Sagemaker(SagemakerOp::DeleteDomain { domain, retain_home_efs }) => {
                let efs = if *retain_home_efs { "home EFS retained" } else { "home EFS and its NFS groups deleted" };
                write!(f, "{call} {domain} ({efs})")
            }
            Operation::Sagemaker(SagemakerOp::DeleteSpace { domain, space }) => write!(f, "{call} {space} in {domain}"),
            Operation::Sagemaker(SagemakerOp::CreateUserProfile { domain, name, .. })
            | Operation::Sagemaker(SagemakerOp::UpdateUserProfile { domain, name, .. })
            | Operation::Sagemaker(SagemakerOp::DeleteUserProfile { domain, name }) => {
                write!(f, "{call} {name} in {domain}")
            }
            Operation::Sagemaker(SagemakerOp::DeleteApp { domain, user_profile, space, app_type, app_name }) => {
                match (space, user_profile) {
                    (Some(space), _) => write!(f, "{call} {app_type} {app_name:?} in space {space} of {domain}"),
                    (None, user) => {
                        write!(
                            f,
                            "{call} {app_type} {app_name:?} of {} in {domain}",
                            user.as_deref().unwrap_or_default()
                        )
                    }
                }
            }
            Operation::Catalog(CatalogOp::CreatePortfolio { display_name, .. }) => write!(f, "{call} {display_name:?}"),
            Operation::Catalog(CatalogOp::UpdatePortfolio { portfolio, display_name, .. }) => {
                write!(f, "{call} {portfolio} ({display_name:?})")
            }
            Operation::Catalog(CatalogOp::AssociatePrincipals { portfolio, principal_arns })
            | Operation::Catalog(CatalogOp::DisassociatePrincipals { portfolio, principal_arns }) => {
                write!(f, "{call} {portfolio}: {}", list(principal_arns))
            }
            Operation::Catalog(CatalogOp::DeletePortfolio { portfolio }) => write!(f, "{call} {portfolio}"),
            Operation::Catalog(CatalogOp::UploadTemplate { bucket, key, .. }) => {
                write!(f, "{call} s3://{bucket}/{key}")
            }
            Operation::Catalog(CatalogOp::CreateProduct { name, version, .. }) => {
                write!(f, "{call} {name:?} with version {}", version.name)
            }
            Operation::Catalog(CatalogOp::UpdateProduct { product, name, .. }) => {
                write!(f, "{call} {product} ({name:?})")
            }
            Operation::Catalog(CatalogOp::CreateProductVersion { product, version, .. }) => {
                write!(f, "{call} {} of {product}", version.name)
            }
            Operation::Catalog(CatalogOp::SetProductVersionsActive { product, versions, active }) => {
                let what = if *active { "activate" } else { "deactivate" };
                write!(f, "{call} ({what}) {} of {product}", list(versions))
            }
            Operation::Catalog(CatalogOp::AssociateProduct { product, portfolio }) => {
                write!(f, "{call} {product} with {portfolio}")
            }
            Operation::Catalog(CatalogOp::DisassociateProduct { product, portfolio }) => {
                write!(f, "{call} {product} from {portfolio}")
            }
            Operation::Catalog(CatalogOp::CreateLaunchConstraint { product, portfolio, role_arn, .. }) => {
                write!(f, "{call} LAUNCH on {product} in {portfolio}: {role_arn}")
            }
            Operation::Catalog(CatalogOp::UpdateLaunchConstraint { constraint, role_arn }) => {
                write!(f, "{call} {constraint}: {role_arn}")
            }
            Operation::Catalog(CatalogOp::DeleteConstraint { constraint }) => write!(f, "{call} {constraint}"),
            Operation::Catalog(CatalogOp::DeleteProduct { product }) => write!(f, "{call} {product}"),
            Operation::Emr(EmrOp::RunJobFlow(run)) => {
                write!(f, "{call} {:?} ({}, {} fleets)", run.name, run.release, run.fleets.len())
            }
            Operation::Emr(EmrOp::AddInstanceFleet { cluster, fleet }) => {
                write!(f, "{call} {} to {cluster}", fleet.role)
            }
            Operation::Emr(EmrOp::ModifyInstanceFleet { cluster, fleet, on_demand, spot, resize, instance_types }) => {
                let mut parts = Vec::new();
                if let Some(units) = on_demand {
                    parts.push(format!("On-Demand {units}"));
                }
                if let Some(units) = spot {
                    parts.push(format!("Spot {units}"));
                }
                if resize.is_some() {
                    parts.push("resize settings".to_owned());
                }
                if let Some(types) = instance_types {
                    parts.push(format!("configurations of {} instance types", types.len()));
                }
                write!(f, "{call} {fleet} of {cluster}: {}", parts.join(", "))
            }
            Operation::Emr(EmrOp::PutManagedScalingPolicy { cluster, policy }) => {
                write!(f, "{call} {cluster}: {} {}-{}", policy.unit.aws(), policy.min, policy.max)
            }
            Operation::Emr(EmrOp::RemoveManagedScalingPolicy { cluster })
            | Operation::Emr(EmrOp::RemoveAutoTerminationPolicy { cluster })
            | Operation::Emr(EmrOp::TerminateCluster { cluster }) => {
                write!(f, "{call} {cluster}")
            }
            Operation::Emr(EmrOp::SetTerminationProtection { cluster, protected }) => {
                write!(f, "{call} {cluster}: {protected}")
            }
            Operation::Emr(EmrOp::PutAutoTerminationPolicy { cluster, idle_seconds }) => {
                write!(f, "{call} {cluster}: idle {idle_seconds} s")
            }
            Operation::Emr(EmrOp::ModifyCluster { cluster, step_concurrency }) => {
                write!(f, "{call} {cluster}: step concurrency {step_concurrency}")
            }
            Operation::Tags(TagOp::SetTags { target, set, remove }) => {
                write!(f, "{call} {target}: {}", tag_changes(set, remove))
            }
        }
    }
}
