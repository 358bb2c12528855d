//! Subnets and security groups, by EC2's rules.

use converge_executor::{ErrorClass, ExecError, Output};
use converge_model::Ipv4Cidr;
use converge_model::live::{LiveRule, LiveSecurityGroup, LiveSubnet};
use converge_ops::{Direction, Ec2Op, Id, Peer, Rule};

use crate::{Account, Call};

fn known(id: &Id) -> String {
    id.as_known().unwrap_or_default().to_owned()
}

pub(crate) fn apply(account: &mut Account, call: &Call<'_>, op: &Ec2Op) -> Result<Output, ExecError> {
    match op {
        Ec2Op::CreateSubnet { vpc, cidr, availability_zone, tags } => {
            let vpc = known(vpc);
            let Some(live_vpc) = account.live.vpcs.iter().find(|v| v.id == vpc) else {
                return Err(call.fail(
                    ErrorClass::NotFound,
                    "InvalidVpcID.NotFound",
                    format!("The vpc ID '{vpc}' does not exist"),
                ));
            };
            let block = Ipv4Cidr::parse(cidr).map_err(|_| {
                call.fail(
                    ErrorClass::Invalid,
                    "InvalidParameterValue",
                    format!("Value ({cidr}) for parameter cidrBlock is invalid"),
                )
            })?;
            let inside = live_vpc.cidrs.is_empty()
                || live_vpc.cidrs.iter().filter_map(|c| Ipv4Cidr::parse(c).ok()).any(|v| v.contains(block));
            if !inside {
                return Err(call.fail(
                    ErrorClass::Invalid,
                    "InvalidSubnet.Range",
                    format!("The CIDR '{cidr}' is invalid."),
                ));
            }
            let overlapping = account
                .live
                .subnets
                .iter()
                .filter(|s| s.vpc_id == vpc)
                .find(|s| Ipv4Cidr::parse(&s.cidr).is_ok_and(|other| other.overlaps(block)));
            if let Some(other) = overlapping {
                return Err(call.fail(
                    ErrorClass::Invalid,
                    "InvalidSubnet.Conflict",
                    format!("The CIDR '{cidr}' conflicts with another subnet ({})", other.id),
                ));
            }
            let id = account.new_id("subnet", &format!("{vpc}/{cidr}"), 17, false);
            account.live.subnets.push(LiveSubnet {
                id: id.clone(),
                vpc_id: vpc,
                cidr: cidr.clone(),
                availability_zone: availability_zone.clone(),
                tags: tags.clone(),
            });
            Ok(Output::id(id))
        }
        Ec2Op::DeleteSubnet { subnet } => {
            let id = known(subnet);
            if !account.live.subnets.iter().any(|s| s.id == id) {
                return Err(call.fail(
                    ErrorClass::NotFound,
                    "InvalidSubnetID.NotFound",
                    format!("The subnet ID '{id}' does not exist"),
                ));
            }
            let live = &account.live;
            let in_use = live.emr_clusters.iter().any(|c| !c.is_terminated() && c.subnet_ids.contains(&id))
                || live.sagemaker_domains.iter().any(|d| d.subnet_ids.contains(&id))
                || live.file_systems.iter().any(|fs| fs.mount_target_subnet_ids.contains(&id));
            if in_use {
                return Err(call.fail(
                    ErrorClass::Conflict,
                    "DependencyViolation",
                    format!("The subnet '{id}' has dependencies and cannot be deleted."),
                ));
            }
            account.live.subnets.retain(|s| s.id != id);
            Ok(Output::none())
        }
        Ec2Op::CreateSecurityGroup { vpc, name, description, tags } => {
            let vpc = known(vpc);
            if !account.live.vpcs.iter().any(|v| v.id == vpc) {
                return Err(call.fail(
                    ErrorClass::NotFound,
                    "InvalidVpcID.NotFound",
                    format!("The vpc ID '{vpc}' does not exist"),
                ));
            }
            if name.to_ascii_lowercase().starts_with("sg-") {
                return Err(call.fail(
                    ErrorClass::Invalid,
                    "InvalidParameterValue",
                    "Group names may not be in the format sg-*",
                ));
            }
            if account.live.security_groups.iter().any(|g| g.vpc_id == vpc && g.name.eq_ignore_ascii_case(name)) {
                return Err(call.fail(
                    ErrorClass::Invalid,
                    "InvalidGroup.Duplicate",
                    format!("The security group '{name}' already exists for VPC '{vpc}'"),
                ));
            }
            let id = account.new_id("sg", &format!("{vpc}/{}", name.to_ascii_lowercase()), 17, false);
            account.live.security_groups.push(LiveSecurityGroup {
                id: id.clone(),
                name: name.clone(),
                description: description.clone(),
                vpc_id: vpc,
                ingress: Vec::new(),
                // EC2 gives every new group one rule: all traffic out.
                egress: vec![LiveRule {
                    protocol: "-1".into(),
                    from_port: None,
                    to_port: None,
                    cidr: Some("0.0.0.0/0".into()),
                    group_id: None,
                    prefix_list_id: None,
                    description: None,
                }],
                tags: tags.clone(),
            });
            Ok(Output::id(id))
        }
        Ec2Op::AuthorizeRules { group, direction, rules } => {
            let id = known(group);
            check_peers(account, call, rules)?;
            let existing = rule_list(account, call, &id, *direction)?;
            let mut seen: Vec<Rule> = existing.iter().filter_map(Rule::from_live).collect();
            let mut added = Vec::new();
            for rule in rules {
                if seen.iter().any(|r| r.permission() == rule.permission()) {
                    return Err(call.fail(
                        ErrorClass::Invalid,
                        "InvalidPermission.Duplicate",
                        format!("the specified rule \"peer: {}, {}\" already exists", rule.peer, rule.protocol.aws()),
                    ));
                }
                seen.push(rule.clone());
                added.push(
                    rule.to_live()
                        .ok_or_else(|| call.fail(ErrorClass::Fatal, "Unresolved", "a rule names an unknown group"))?,
                );
            }
            rule_list(account, call, &id, *direction)?.extend(added);
            Ok(Output::none())
        }
        Ec2Op::RevokeRules { group, direction, rules } => {
            let id = known(group);
            let existing = rule_list(account, call, &id, *direction)?;
            let mut keep = existing.clone();
            for rule in rules {
                let position =
                    keep.iter().position(|l| Rule::from_live(l).is_some_and(|r| r.permission() == rule.permission()));
                match position {
                    Some(position) => {
                        keep.remove(position);
                    }
                    None => {
                        return Err(call.fail(
                            ErrorClass::NotFound,
                            "InvalidPermission.NotFound",
                            "The specified rule does not exist in this security group.",
                        ));
                    }
                }
            }
            *rule_list(account, call, &id, *direction)? = keep;
            Ok(Output::none())
        }
        Ec2Op::UpdateRuleDescriptions { group, direction, rules } => {
            let id = known(group);
            let mut updated = rule_list(account, call, &id, *direction)?.clone();
            for rule in rules {
                let existing = updated
                    .iter_mut()
                    .find(|l| Rule::from_live(l).is_some_and(|r| r.permission() == rule.permission()))
                    .ok_or_else(|| {
                        call.fail(
                            ErrorClass::NotFound,
                            "InvalidPermission.NotFound",
                            "The specified rule does not exist in this security group.",
                        )
                    })?;
                existing.description = rule.description.clone();
            }
            *rule_list(account, call, &id, *direction)? = updated;
            Ok(Output::none())
        }
        Ec2Op::DeleteSecurityGroup { group } => {
            let id = known(group);
            if !account.live.security_groups.iter().any(|g| g.id == id) {
                return Err(call.fail(
                    ErrorClass::NotFound,
                    "InvalidGroup.NotFound",
                    format!("The security group '{id}' does not exist"),
                ));
            }
            let live = &account.live;
            let named_by_others = live
                .security_groups
                .iter()
                .filter(|g| g.id != id)
                .any(|g| g.ingress.iter().chain(&g.egress).any(|r| r.group_id.as_deref() == Some(id.as_str())));
            let attached = live.emr_clusters.iter().filter(|c| !c.is_terminated()).any(|c| {
                c.master_security_group
                    .iter()
                    .chain(&c.core_security_group)
                    .chain(&c.service_access_security_group)
                    .chain(&c.additional_master_security_groups)
                    .chain(&c.additional_core_security_groups)
                    .any(|g| *g == id)
            }) || live.sagemaker_domains.iter().any(|d| d.security_group_ids.contains(&id))
                || live.sagemaker_users.iter().any(|u| u.security_group_ids.contains(&id));
            if named_by_others || attached {
                return Err(call.fail(
                    ErrorClass::Conflict,
                    "DependencyViolation",
                    format!("resource {id} has a dependent object"),
                ));
            }
            account.live.security_groups.retain(|g| g.id != id);
            Ok(Output::none())
        }
    }
}

fn check_peers(account: &Account, call: &Call<'_>, rules: &[Rule]) -> Result<(), ExecError> {
    for rule in rules {
        if let Peer::Group(peer) = &rule.peer {
            let peer = known(peer);
            if !account.live.security_groups.iter().any(|g| g.id == peer) {
                return Err(call.fail(
                    ErrorClass::NotFound,
                    "InvalidGroup.NotFound",
                    format!("The security group '{peer}' does not exist"),
                ));
            }
        }
    }
    Ok(())
}

fn rule_list<'a>(
    account: &'a mut Account,
    call: &Call<'_>,
    id: &str,
    direction: Direction,
) -> Result<&'a mut Vec<LiveRule>, ExecError> {
    let group = account.live.security_groups.iter_mut().find(|g| g.id == id).ok_or_else(|| {
        call.fail(ErrorClass::NotFound, "InvalidGroup.NotFound", format!("The security group '{id}' does not exist"))
    })?;
    Ok(match direction {
        Direction::Ingress => &mut group.ingress,
        Direction::Egress => &mut group.egress,
    })
}
