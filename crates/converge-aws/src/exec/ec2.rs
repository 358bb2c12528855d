//! Subnets, security groups and their rules.

use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, Tag, TagSpecification, UserIdGroupPair,
};
use converge_executor::{ErrorClass, ExecError, Outcome, Output};
use converge_model::Tags;
use converge_model::live::{OWNER_ADDRESS_TAG, OWNER_STACK_TAG};
use converge_ops::{Direction, Ec2Op, Operation, Peer, Rule};

use super::{Call, is_ours, known, taken};
use crate::errors::{code_of, exec_error};

pub(crate) fn tags(tags: &Tags) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

fn tag_specification(kind: ResourceType, user: &Tags) -> TagSpecification {
    TagSpecification::builder().resource_type(kind).set_tags(Some(tags(user))).build()
}

/// Filters for the resources carrying `wanted`'s stack and address tags.
fn owner_filters(wanted: &Tags) -> Vec<Filter> {
    [OWNER_STACK_TAG, OWNER_ADDRESS_TAG]
        .into_iter()
        .filter_map(|key| Some(Filter::builder().name(format!("tag:{key}")).values(wanted.get(key)?).build()))
        .collect()
}

fn permission(rule: &Rule) -> IpPermission {
    let port = |p: Option<i64>| p.and_then(|p| i32::try_from(p).ok());
    let builder = IpPermission::builder()
        .ip_protocol(rule.protocol.aws())
        .set_from_port(port(rule.from_port))
        .set_to_port(port(rule.to_port));
    let description = rule.description.clone();
    match &rule.peer {
        Peer::Cidr(cidr) if cidr.contains(':') => {
            builder.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).set_description(description).build())
        }
        Peer::Cidr(cidr) => builder.ip_ranges(IpRange::builder().cidr_ip(cidr).set_description(description).build()),
        Peer::Group(group) => builder.user_id_group_pairs(
            UserIdGroupPair::builder().group_id(known(group)).set_description(description).build(),
        ),
        Peer::PrefixList(list) => {
            builder.prefix_list_ids(PrefixListId::builder().prefix_list_id(list).set_description(description).build())
        }
    }
    .build()
}

fn permissions(rules: &[Rule]) -> Vec<IpPermission> {
    rules.iter().map(permission).collect()
}

/// The rules a group has now, in one direction.
async fn current_rules(
    call: &Call<'_>,
    group: &str,
    direction: Direction,
    operation: &'static str,
) -> Result<Vec<Rule>, ExecError> {
    let described = call
        .aws
        .ec2
        .describe_security_groups()
        .group_ids(group)
        .send()
        .await
        .map_err(|e| exec_error(e, "DescribeSecurityGroups", call.address))?;
    let Some(found) = described.security_groups().first() else {
        return Err(call.fail(
            ErrorClass::NotFound,
            operation,
            "InvalidGroup.NotFound",
            format!("security group {group} does not exist"),
        ));
    };
    let permissions = match direction {
        Direction::Ingress => found.ip_permissions(),
        Direction::Egress => found.ip_permissions_egress(),
    };
    Ok(crate::read::ec2::rules(permissions).iter().filter_map(Rule::from_live).collect())
}

pub(super) async fn start(call: &Call<'_>, operation: &Operation, op: &Ec2Op) -> Result<Outcome, ExecError> {
    let ec2 = &call.aws.ec2;
    let name = operation.aws_operation();
    let done = Ok(Outcome::Done(Output::none()));
    match op {
        Ec2Op::CreateSubnet { vpc, cidr, availability_zone, tags } => {
            // An interrupted apply may have made it: look for it by its tags first.
            let mut filters = owner_filters(tags);
            filters.push(Filter::builder().name("vpc-id").values(known(vpc)).build());
            let found = ec2
                .describe_subnets()
                .set_filters(Some(filters))
                .send()
                .await
                .map_err(|e| exec_error(e, "DescribeSubnets", call.address))?;
            let ours = found.subnets().iter().find(|s| is_ours(&read_tags(s.tags()), tags));
            if let Some(id) = ours.and_then(|s| s.subnet_id()) {
                return Ok(Outcome::Done(Output::id(id)));
            }
            let created = ec2
                .create_subnet()
                .vpc_id(known(vpc))
                .cidr_block(cidr)
                .availability_zone(availability_zone)
                .tag_specifications(tag_specification(ResourceType::Subnet, tags))
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            let id = call.created_id(name, created.subnet().and_then(|s| s.subnet_id()))?;
            Ok(Outcome::Done(Output::id(id)))
        }
        Ec2Op::DeleteSubnet { subnet } => {
            match ec2.delete_subnet().subnet_id(known(subnet)).send().await {
                Err(e) if code_of(&e) == Some("InvalidSubnetID.NotFound") => {}
                other => {
                    other.map_err(|e| exec_error(e, name, call.address))?;
                }
            }
            done
        }
        Ec2Op::CreateSecurityGroup { vpc, name: group_name, description, tags } => {
            let created = ec2
                .create_security_group()
                .vpc_id(known(vpc))
                .group_name(group_name)
                .description(description)
                .tag_specifications(tag_specification(ResourceType::SecurityGroup, tags))
                .send()
                .await;
            match created {
                Ok(created) => Ok(Outcome::Done(Output::id(call.created_id(name, created.group_id())?))),
                Err(e) if code_of(&e) == Some("InvalidGroup.Duplicate") => {
                    // Names are unique per VPC: the holder is this create's own group (an
                    // interrupted apply made it) or someone else's.
                    let found = ec2
                        .describe_security_groups()
                        .filters(Filter::builder().name("vpc-id").values(known(vpc)).build())
                        .filters(Filter::builder().name("group-name").values(group_name).build())
                        .send()
                        .await
                        .map_err(|e| exec_error(e, "DescribeSecurityGroups", call.address))?;
                    match found.security_groups().iter().find(|g| is_ours(&read_tags(g.tags()), tags)) {
                        Some(group) => {
                            Ok(Outcome::Done(Output::id(call.created_id("DescribeSecurityGroups", group.group_id())?)))
                        }
                        None => Err(taken(
                            call,
                            name,
                            "InvalidGroup.Duplicate",
                            &format!("security group `{group_name}` in {}", known(vpc)),
                        )),
                    }
                }
                Err(e) => Err(exec_error(e, name, call.address)),
            }
        }
        Ec2Op::AuthorizeRules { group, direction, rules } => {
            let result = authorize(call, known(group), *direction, rules).await;
            match result {
                Err(e) if e.code == "InvalidPermission.Duplicate" => {
                    // EC2 rejects the whole call for one rule that exists (a retry of a call that
                    // landed, or someone added it): authorise only the rules still missing.
                    let present = current_rules(call, known(group), *direction, name).await?;
                    let missing: Vec<Rule> = rules
                        .iter()
                        .filter(|r| !present.iter().any(|p| p.permission() == r.permission()))
                        .cloned()
                        .collect();
                    if !missing.is_empty() {
                        authorize(call, known(group), *direction, &missing).await?;
                    }
                    done
                }
                other => other.map(|()| Outcome::Done(Output::none())),
            }
        }
        Ec2Op::RevokeRules { group, direction, rules } => match revoke(call, known(group), *direction, rules).await {
            Err(e) if e.code == "InvalidPermission.NotFound" => {
                let present = current_rules(call, known(group), *direction, name).await?;
                let still: Vec<Rule> = rules
                    .iter()
                    .filter(|r| present.iter().any(|p| p.permission() == r.permission()))
                    .cloned()
                    .collect();
                if !still.is_empty() {
                    revoke(call, known(group), *direction, &still).await?;
                }
                done
            }
            Err(e) if e.code == "InvalidGroup.NotFound" => done,
            other => other.map(|()| Outcome::Done(Output::none())),
        },
        Ec2Op::UpdateRuleDescriptions { group, direction, rules } => {
            match direction {
                Direction::Ingress => ec2
                    .update_security_group_rule_descriptions_ingress()
                    .group_id(known(group))
                    .set_ip_permissions(Some(permissions(rules)))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| exec_error(e, name, call.address))?,
                Direction::Egress => ec2
                    .update_security_group_rule_descriptions_egress()
                    .group_id(known(group))
                    .set_ip_permissions(Some(permissions(rules)))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| exec_error(e, name, call.address))?,
            }
            done
        }
        Ec2Op::DeleteSecurityGroup { group } => {
            match ec2.delete_security_group().group_id(known(group)).send().await {
                Err(e) if code_of(&e) == Some("InvalidGroup.NotFound") => {}
                other => {
                    other.map_err(|e| exec_error(e, name, call.address))?;
                }
            }
            done
        }
    }
}

async fn authorize(call: &Call<'_>, group: &str, direction: Direction, rules: &[Rule]) -> Result<(), ExecError> {
    let ec2 = &call.aws.ec2;
    match direction {
        Direction::Ingress => ec2
            .authorize_security_group_ingress()
            .group_id(group)
            .set_ip_permissions(Some(permissions(rules)))
            .send()
            .await
            .map(drop)
            .map_err(|e| exec_error(e, "AuthorizeSecurityGroupIngress", call.address)),
        Direction::Egress => ec2
            .authorize_security_group_egress()
            .group_id(group)
            .set_ip_permissions(Some(permissions(rules)))
            .send()
            .await
            .map(drop)
            .map_err(|e| exec_error(e, "AuthorizeSecurityGroupEgress", call.address)),
    }
}

async fn revoke(call: &Call<'_>, group: &str, direction: Direction, rules: &[Rule]) -> Result<(), ExecError> {
    let ec2 = &call.aws.ec2;
    match direction {
        Direction::Ingress => ec2
            .revoke_security_group_ingress()
            .group_id(group)
            .set_ip_permissions(Some(permissions(rules)))
            .send()
            .await
            .map(drop)
            .map_err(|e| exec_error(e, "RevokeSecurityGroupIngress", call.address)),
        Direction::Egress => ec2
            .revoke_security_group_egress()
            .group_id(group)
            .set_ip_permissions(Some(permissions(rules)))
            .send()
            .await
            .map(drop)
            .map_err(|e| exec_error(e, "RevokeSecurityGroupEgress", call.address)),
    }
}

pub(crate) fn read_tags(tags: &[Tag]) -> Tags {
    crate::read::ec2::tags(tags)
}

/// Deletes the two NFS security groups SageMaker made for `domain` (they name
/// each other, so their rules go first). `Ok(false)` while something still
/// uses them (the home EFS's mount targets, on their way out).
pub(crate) async fn delete_nfs_groups(call: &Call<'_>, domain: &str) -> Result<bool, ExecError> {
    let ec2 = &call.aws.ec2;
    let names =
        [format!("security-group-for-inbound-nfs-{domain}"), format!("security-group-for-outbound-nfs-{domain}")];
    let found = ec2
        .describe_security_groups()
        .filters(Filter::builder().name("group-name").set_values(Some(names.to_vec())).build())
        .send()
        .await
        .map_err(|e| exec_error(e, "DescribeSecurityGroups", call.address))?;
    let groups = found.security_groups();
    for group in groups {
        let id = group.group_id().unwrap_or_default();
        let rules = |permissions: &[IpPermission]| -> Vec<Rule> {
            crate::read::ec2::rules(permissions)
                .iter()
                .filter(|r| r.group_id.is_some())
                .filter_map(Rule::from_live)
                .collect()
        };
        let (ingress, egress) = (rules(group.ip_permissions()), rules(group.ip_permissions_egress()));
        for (direction, rules) in [(Direction::Ingress, ingress), (Direction::Egress, egress)] {
            if !rules.is_empty() {
                match revoke(call, id, direction, &rules).await {
                    Err(e) if e.class == ErrorClass::NotFound => {}
                    other => other?,
                }
            }
        }
    }
    for group in groups {
        match ec2.delete_security_group().group_id(group.group_id().unwrap_or_default()).send().await {
            Ok(_) => {}
            Err(e) if code_of(&e) == Some("InvalidGroup.NotFound") => {}
            Err(e) if code_of(&e) == Some("DependencyViolation") => return Ok(false),
            Err(e) => return Err(exec_error(e, "DeleteSecurityGroup", call.address)),
        }
    }
    Ok(true)
}
