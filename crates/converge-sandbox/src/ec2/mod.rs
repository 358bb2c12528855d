//! EC2: VPCs, subnets, security groups and their rules, tags — with EC2's
//! canonical CIDRs, default egress rule, duplicates and dependency errors —
//! and the network around them (`network`): internet and NAT gateways,
//! elastic IPs, route tables and VPC endpoints.

mod network;

pub(crate) use network::{create_main_route_table, is_public};

use std::net::Ipv4Addr;

use crate::context::Ctx;
use crate::error::ApiError;
use crate::query::Params;
use crate::state::{Rule, SecurityGroup, Subnet, Tags, Vpc, World};
use crate::xml::Xml;

const NAMESPACE: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

pub(super) fn respond(ctx: &Ctx<'_>, operation: &str, body: impl FnOnce(&mut Xml)) -> String {
    let mut x = Xml::new();
    x.root(&format!("{operation}Response"), NAMESPACE).text("requestId", ctx.request_id);
    body(&mut x);
    x.close(&format!("{operation}Response"));
    x.finish()
}

/// A page of a `Describe*` answer: EC2 returns everything unless `MaxResults` asks for pages.
pub(super) fn ec2_page<T>(items: Vec<T>, p: &Params, ctx: &Ctx<'_>) -> Result<(Vec<T>, Option<String>), ApiError> {
    let asked = p.get("MaxResults").and_then(|n| n.parse::<usize>().ok());
    crate::paging::page(items, p.get("NextToken"), asked, (usize::MAX, usize::MAX), ctx, "InvalidPaginationToken")
}

pub(super) fn next_token_xml(x: &mut Xml, next: Option<&String>) {
    if let Some(next) = next {
        x.text("nextToken", next);
    }
}

pub(super) fn tags_xml(x: &mut Xml, tags: &Tags) {
    x.open("tagSet");
    for (k, v) in tags {
        x.open("item").text("key", k).text("value", v).close("item");
    }
    x.close("tagSet");
}

/// `a.b.c.d/n` with host bits cleared; `None` when it is not an IPv4 CIDR.
pub(super) fn canonical_v4(text: &str) -> Option<(u32, u8)> {
    let (addr, prefix) = text.split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
    Some((u32::from(addr) & mask, prefix))
}

pub(super) fn cidr_text((addr, prefix): (u32, u8)) -> String {
    format!("{}/{prefix}", Ipv4Addr::from(addr))
}

pub(super) fn contains(outer: (u32, u8), inner: (u32, u8)) -> bool {
    let mask = if outer.1 == 0 { 0 } else { u32::MAX << (32 - u32::from(outer.1)) };
    inner.1 >= outer.1 && (inner.0 & mask) == outer.0
}

pub(super) fn tag_specifications(p: &Params) -> Tags {
    let mut tags = Tags::new();
    for spec in p.members("TagSpecification") {
        for tag in p.members(&format!("{spec}.Tag")) {
            if let Some(key) = p.get(&format!("{tag}.Key")) {
                tags.insert(key.to_owned(), p.get(&format!("{tag}.Value")).unwrap_or("").to_owned());
            }
        }
    }
    tags
}

/// `Filter.N.Name` / `Filter.N.Value.M`.
pub(super) fn filters(p: &Params) -> Vec<(String, Vec<String>)> {
    p.members("Filter")
        .into_iter()
        .filter_map(|f| Some((p.get(&format!("{f}.Name"))?.to_owned(), p.strings(&format!("{f}.Value")))))
        .collect()
}

fn tag_filter(name: &str, values: &[String], tags: &Tags) -> Option<bool> {
    let key = name.strip_prefix("tag:")?;
    Some(tags.get(key).is_some_and(|v| values.contains(v)))
}

/// Whether a resource passes every `Filter.N`: `field` gives the resource's values
/// of a filter it knows; `tag:<key>` filters match its tags; others are ignored.
pub(super) fn matches_filters(
    filters: &[(String, Vec<String>)],
    field: impl Fn(&str) -> Option<Vec<String>>,
    tags: &Tags,
) -> bool {
    filters.iter().all(|(name, values)| match field(name) {
        Some(have) => have.iter().any(|h| values.contains(h)),
        None => tag_filter(name, values, tags).unwrap_or(true),
    })
}

/// EC2's answer for an id it does not know: `The vpc ID 'vpc-…' does not exist`.
pub(super) fn not_found(code: &str, kind: &str, id: &str) -> ApiError {
    ApiError::bad_request(code, format!("The {kind} ID '{id}' does not exist"))
}

fn vpc_xml(x: &mut Xml, tag: &str, vpc: &Vpc) {
    x.open(tag).text("vpcId", &vpc.id).text("state", "available").text("cidrBlock", &vpc.cidr);
    x.text("isDefault", "false");
    tags_xml(x, &vpc.tags);
    x.close(tag);
}

fn subnet_xml(x: &mut Xml, tag: &str, subnet: &Subnet) {
    let free = canonical_v4(&subnet.cidr).map_or(0, |(_, p)| (1u64 << (32 - u32::from(p))).saturating_sub(5));
    x.open(tag).text("subnetId", &subnet.id).text("state", "available").text("vpcId", &subnet.vpc_id);
    x.text("cidrBlock", &subnet.cidr).text("availabilityZone", &subnet.availability_zone);
    x.text("availableIpAddressCount", &free.to_string());
    tags_xml(x, &subnet.tags);
    x.close(tag);
}

fn permissions_xml(x: &mut Xml, tag: &str, rules: &[Rule], account: &str) {
    x.open(tag);
    for rule in rules {
        x.open("item").text("ipProtocol", &rule.protocol);
        if let Some(from) = rule.from_port {
            x.text("fromPort", &from.to_string());
        }
        if let Some(to) = rule.to_port {
            x.text("toPort", &to.to_string());
        }
        x.open("groups");
        if let Some(group) = &rule.group_id {
            x.open("item")
                .text("userId", account)
                .text("groupId", group)
                .opt("description", rule.description.as_deref())
                .close("item");
        }
        x.close("groups").open("ipRanges");
        if let Some(cidr) = &rule.cidr {
            x.open("item").text("cidrIp", cidr).opt("description", rule.description.as_deref()).close("item");
        }
        x.close("ipRanges").open("ipv6Ranges");
        if let Some(cidr) = &rule.cidr6 {
            x.open("item").text("cidrIpv6", cidr).opt("description", rule.description.as_deref()).close("item");
        }
        x.close("ipv6Ranges").open("prefixListIds");
        if let Some(list) = &rule.prefix_list {
            x.open("item").text("prefixListId", list).opt("description", rule.description.as_deref()).close("item");
        }
        x.close("prefixListIds").close("item");
    }
    x.close(tag);
}

fn group_xml(x: &mut Xml, tag: &str, group: &SecurityGroup, account: &str) {
    x.open(tag).text("ownerId", account).text("groupId", &group.id).text("groupName", &group.name);
    x.text("groupDescription", &group.description).text("vpcId", &group.vpc_id);
    permissions_xml(x, "ipPermissions", &group.ingress, account);
    permissions_xml(x, "ipPermissionsEgress", &group.egress, account);
    tags_xml(x, &group.tags);
    x.close(tag);
}

fn rule_xml(x: &mut Xml, tag: &str, group: &SecurityGroup, rule: &Rule, egress: bool, account: &str) {
    x.open(tag).text("securityGroupRuleId", &rule.id).text("groupId", &group.id).text("groupOwnerId", account);
    x.text("isEgress", if egress { "true" } else { "false" }).text("ipProtocol", &rule.protocol);
    x.text("fromPort", &rule.from_port.unwrap_or(-1).to_string())
        .text("toPort", &rule.to_port.unwrap_or(-1).to_string());
    x.opt("cidrIpv4", rule.cidr.as_deref()).opt("cidrIpv6", rule.cidr6.as_deref());
    x.opt("prefixListId", rule.prefix_list.as_deref());
    if let Some(peer) = &rule.group_id {
        x.open("referencedGroupInfo").text("groupId", peer).text("userId", account).close("referencedGroupInfo");
    }
    x.opt("description", rule.description.as_deref());
    x.close(tag);
}

/// EC2's characters for group and rule descriptions: "a-z, A-Z, 0-9, spaces, and
/// ._-:/()#,@[]+=&;{}!$*" (botocore `CreateSecurityGroupRequest.Description`). Beyond
/// ASCII, EC2 says "Character sets beyond ASCII are not supported" (a field report:
/// psd401/aistudio#1049); for other characters the sandbox's own words.
fn check_description(parameter: &str, text: &str) -> Result<(), ApiError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c);
    let problem = if !text.is_ascii() {
        "Character sets beyond ASCII are not supported."
    } else if text.len() > 255 {
        "It must have at most 255 characters."
    } else if !text.chars().all(allowed) {
        "Valid characters are a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"
    } else {
        return Ok(());
    };
    Err(ApiError::bad_request(
        "InvalidParameterValue",
        format!("Value ({text}) for parameter {parameter} is invalid. {problem}"),
    ))
}

fn group_not_found(id: &str) -> ApiError {
    ApiError::bad_request("InvalidGroup.NotFound", format!("The security group '{id}' does not exist"))
}

/// A rule's description, held to EC2's characters.
fn described(p: &Params, key: &str) -> Result<Option<String>, ApiError> {
    p.get(key).map(|d| check_description("description", d).map(|()| d.to_owned())).transpose()
}

/// The rules an `IpPermissions` list asks for, one per peer, canonicalised.
fn requested_rules(world: &mut World, p: &Params) -> Result<Vec<Rule>, ApiError> {
    let mut rules = Vec::new();
    for permission in p.members("IpPermissions") {
        let field = |name: &str| format!("{permission}.{name}");
        let protocol = match p.get(&field("IpProtocol")).unwrap_or("-1").to_ascii_lowercase().as_str() {
            "-1" | "all" => "-1".to_owned(),
            "6" | "tcp" => "tcp".to_owned(),
            "17" | "udp" => "udp".to_owned(),
            "1" | "icmp" => "icmp".to_owned(),
            other => {
                return Err(ApiError::bad_request(
                    "InvalidParameterValue",
                    format!("Invalid value '{other}' for IP protocol."),
                ));
            }
        };
        let (from, to) = match protocol.as_str() {
            "-1" => (None, None),
            _ => {
                let from = p.int(&field("FromPort"))?;
                let to = p.int(&field("ToPort"))?;
                if protocol != "icmp" && (from.is_none() || to.is_none()) {
                    return Err(ApiError::bad_request(
                        "InvalidParameterValue",
                        format!(
                            "Invalid value for portRange. Must specify both from and to ports with protocol {protocol}."
                        ),
                    ));
                }
                if let (Some(f), Some(t)) = (from, to)
                    && protocol != "icmp"
                    && (f > t || f < 0 || t > 65535)
                {
                    return Err(ApiError::bad_request("InvalidParameterValue", format!("Invalid port range {f}-{t}")));
                }
                (from, to)
            }
        };
        let base = |world: &mut World| Rule {
            id: world.id("sgr"),
            protocol: protocol.clone(),
            from_port: from,
            to_port: to,
            cidr: None,
            cidr6: None,
            group_id: None,
            prefix_list: None,
            description: None,
        };
        for range in p.members(&field("IpRanges")) {
            let text = p.required(&format!("{range}.CidrIp"))?;
            let cidr = canonical_v4(text).ok_or_else(|| {
                ApiError::bad_request("InvalidParameterValue", format!("CIDR block {text} is malformed"))
            })?;
            rules.push(Rule {
                cidr: Some(cidr_text(cidr)),
                description: described(p, &format!("{range}.Description"))?,
                ..base(world)
            });
        }
        for range in p.members(&field("Ipv6Ranges")) {
            let text = p.required(&format!("{range}.CidrIpv6"))?;
            rules.push(Rule {
                cidr6: Some(text.to_owned()),
                description: described(p, &format!("{range}.Description"))?,
                ..base(world)
            });
        }
        for list in p.members(&field("PrefixListIds")) {
            rules.push(Rule {
                prefix_list: Some(p.required(&format!("{list}.PrefixListId"))?.to_owned()),
                description: described(p, &format!("{list}.Description"))?,
                ..base(world)
            });
        }
        for pair in p.members(&field("Groups")) {
            let group = p.required(&format!("{pair}.GroupId"))?;
            if !world.ec2.groups.contains_key(group) {
                return Err(group_not_found(group));
            }
            rules.push(Rule {
                group_id: Some(group.to_owned()),
                prefix_list: None,
                description: described(p, &format!("{pair}.Description"))?,
                ..base(world)
            });
        }
    }
    Ok(rules)
}

fn describe_rule(rule: &Rule) -> String {
    let peer = rule
        .cidr
        .clone()
        .or_else(|| rule.cidr6.clone())
        .or_else(|| rule.group_id.clone().map(|g| format!("peer: {g}")))
        .unwrap_or_default();
    let ports = match (rule.from_port, rule.to_port) {
        (Some(f), Some(t)) => format!("from port: {f}, to port: {t}"),
        _ => "ALL".to_owned(),
    };
    format!("{peer}, {}, {ports}, ALLOW", rule.protocol.to_ascii_uppercase())
}

pub(crate) fn handle(world: &mut World, ctx: &Ctx<'_>, operation: &str, p: &Params) -> Result<String, ApiError> {
    let account = ctx.account;
    match operation {
        "CreateVpc" => {
            let text = p.required("CidrBlock")?;
            let cidr = canonical_v4(text)
                .filter(|c| (16..=28).contains(&c.1))
                .ok_or_else(|| ApiError::bad_request("InvalidVpc.Range", format!("The CIDR '{text}' is invalid.")))?;
            let vpc = Vpc { id: world.id("vpc"), cidr: cidr_text(cidr), tags: tag_specifications(p) };
            let out = respond(ctx, operation, |x| vpc_xml(x, "vpc", &vpc));
            network::create_main_route_table(world, &vpc);
            world.ec2.vpcs.insert(vpc.id.clone(), vpc);
            Ok(out)
        }
        "DescribeVpcs" => {
            let ids = p.strings("VpcId");
            if let Some(missing) = ids.iter().find(|id| !world.ec2.vpcs.contains_key(*id)) {
                return Err(not_found("InvalidVpcID.NotFound", "vpc", missing));
            }
            let filters = filters(p);
            let vpcs: Vec<&Vpc> = world
                .ec2
                .vpcs
                .values()
                .filter(|v| ids.is_empty() || ids.contains(&v.id))
                .filter(|vpc| {
                    matches_filters(
                        &filters,
                        |name| match name {
                            "vpc-id" => Some(vec![vpc.id.clone()]),
                            _ => None,
                        },
                        &vpc.tags,
                    )
                })
                .collect();
            let (vpcs, next) = ec2_page(vpcs, p, ctx)?;
            Ok(respond(ctx, operation, |x| {
                x.open("vpcSet");
                for vpc in vpcs {
                    vpc_xml(x, "item", vpc);
                }
                x.close("vpcSet");
                next_token_xml(x, next.as_ref());
            }))
        }
        "DeleteVpc" => {
            let id = p.required("VpcId")?;
            if !world.ec2.vpcs.contains_key(id) {
                return Err(not_found("InvalidVpcID.NotFound", "vpc", id));
            }
            if world.ec2.subnets.values().any(|s| s.vpc_id == id)
                || world.ec2.groups.values().any(|g| g.vpc_id == id)
                || network::holds_vpc(world, id)
            {
                return Err(ApiError::bad_request(
                    "DependencyViolation",
                    format!("The vpc '{id}' has dependencies and cannot be deleted."),
                ));
            }
            world.ec2.vpcs.remove(id);
            network::forget_vpc(world, id);
            Ok(respond(ctx, operation, |x| {
                x.text("return", "true");
            }))
        }
        "CreateSubnet" => {
            let vpc_id = p.required("VpcId")?;
            let vpc = world.ec2.vpcs.get(vpc_id).ok_or_else(|| not_found("InvalidVpcID.NotFound", "vpc", vpc_id))?;
            let text = p.required("CidrBlock")?;
            let cidr = canonical_v4(text).ok_or_else(|| {
                ApiError::bad_request(
                    "InvalidParameterValue",
                    format!("Value ({text}) for parameter cidrBlock is invalid."),
                )
            })?;
            // "We modify the specified CIDR block to its canonical form" (botocore `CreateSubnetRequest.CidrBlock`).
            if !(16..=28).contains(&cidr.1) || !canonical_v4(&vpc.cidr).is_some_and(|v| contains(v, cidr)) {
                return Err(ApiError::bad_request("InvalidSubnet.Range", format!("The CIDR '{text}' is invalid.")));
            }
            if world
                .ec2
                .subnets
                .values()
                .filter(|s| s.vpc_id == vpc_id)
                .any(|s| canonical_v4(&s.cidr).is_some_and(|o| contains(o, cidr) || contains(cidr, o)))
            {
                return Err(ApiError::bad_request(
                    "InvalidSubnet.Conflict",
                    format!("The CIDR '{text}' conflicts with another subnet"),
                ));
            }
            let zone = p.get("AvailabilityZone").map_or_else(|| format!("{}a", ctx.region), str::to_owned);
            if !zone.starts_with(ctx.region) {
                return Err(ApiError::bad_request(
                    "InvalidParameterValue",
                    format!(
                        "Value ({zone}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: {0}a, {0}b, {0}c.",
                        ctx.region
                    ),
                ));
            }
            let subnet = Subnet {
                id: world.id("subnet"),
                vpc_id: vpc_id.to_owned(),
                cidr: cidr_text(cidr),
                availability_zone: zone,
                tags: tag_specifications(p),
            };
            let out = respond(ctx, operation, |x| subnet_xml(x, "subnet", &subnet));
            world.ec2.subnets.insert(subnet.id.clone(), subnet);
            Ok(out)
        }
        "DescribeSubnets" => {
            let ids = p.strings("SubnetId");
            if let Some(missing) = ids.iter().find(|id| !world.ec2.subnets.contains_key(*id)) {
                return Err(not_found("InvalidSubnetID.NotFound", "subnet", missing));
            }
            let filters = filters(p);
            let subnets: Vec<&Subnet> = world
                .ec2
                .subnets
                .values()
                .filter(|s| ids.is_empty() || ids.contains(&s.id))
                .filter(|subnet| {
                    matches_filters(
                        &filters,
                        |name| match name {
                            "vpc-id" => Some(vec![subnet.vpc_id.clone()]),
                            "subnet-id" => Some(vec![subnet.id.clone()]),
                            "cidr-block" | "cidrBlock" | "cidr" => Some(vec![subnet.cidr.clone()]),
                            _ => None,
                        },
                        &subnet.tags,
                    )
                })
                .collect();
            let (subnets, next) = ec2_page(subnets, p, ctx)?;
            Ok(respond(ctx, operation, |x| {
                x.open("subnetSet");
                for subnet in subnets {
                    subnet_xml(x, "item", subnet);
                }
                x.close("subnetSet");
                next_token_xml(x, next.as_ref());
            }))
        }
        "DeleteSubnet" => {
            let id = p.required("SubnetId")?;
            if !world.ec2.subnets.contains_key(id) {
                return Err(not_found("InvalidSubnetID.NotFound", "subnet", id));
            }
            // EMR instances, Studio apps and the home EFS's mount targets (kept after a Retain delete) hold ENIs here.
            let in_use = world.emr.clusters.values().any(|c| c.is_live(ctx.now_ms) && c.subnet == id)
                || world.sagemaker.domains.values().any(|d| d.subnet_ids.iter().any(|s| s == id))
                || world.sagemaker.file_systems.values().any(|subnets| subnets.iter().any(|s| s == id))
                || network::holds_subnet(world, id, ctx.now_ms);
            if in_use {
                return Err(ApiError::bad_request(
                    "DependencyViolation",
                    format!("The subnet '{id}' has dependencies and cannot be deleted."),
                ));
            }
            world.ec2.subnets.remove(id);
            network::forget_subnet(world, id);
            Ok(respond(ctx, operation, |x| {
                x.text("return", "true");
            }))
        }
        "CreateSecurityGroup" => {
            let name = p.required("GroupName")?;
            let description = p.required("GroupDescription")?;
            check_description("GroupDescription", description)?;
            let vpc_id = p.required("VpcId")?;
            if !world.ec2.vpcs.contains_key(vpc_id) {
                return Err(not_found("InvalidVpcID.NotFound", "vpc", vpc_id));
            }
            if name.to_ascii_lowercase().starts_with("sg-") {
                return Err(ApiError::bad_request(
                    "InvalidParameterValue",
                    "Group names may not be in the format sg-*",
                ));
            }
            if world.ec2.groups.values().any(|g| g.vpc_id == vpc_id && g.name.eq_ignore_ascii_case(name)) {
                return Err(ApiError::bad_request(
                    "InvalidGroup.Duplicate",
                    format!("The security group '{name}' already exists for VPC '{vpc_id}'"),
                ));
            }
            let id = world.id("sg");
            let default_egress = Rule {
                id: world.id("sgr"),
                protocol: "-1".into(),
                from_port: None,
                to_port: None,
                cidr: Some("0.0.0.0/0".into()),
                cidr6: None,
                group_id: None,
                prefix_list: None,
                description: None,
            };
            let group = SecurityGroup {
                id: id.clone(),
                name: name.to_owned(),
                description: description.to_owned(),
                vpc_id: vpc_id.to_owned(),
                ingress: Vec::new(),
                egress: vec![default_egress],
                tags: tag_specifications(p),
            };
            let out = respond(ctx, operation, |x| {
                x.text("groupId", &group.id)
                    .text("securityGroupArn", &format!("arn:aws:ec2:{}:{account}:security-group/{id}", ctx.region));
                tags_xml(x, &group.tags);
            });
            world.ec2.groups.insert(id, group);
            Ok(out)
        }
        "DescribeSecurityGroups" => {
            let ids = p.strings("GroupId");
            for id in &ids {
                if !world.ec2.groups.contains_key(id) {
                    return Err(group_not_found(id));
                }
            }
            let names = p.strings("GroupName");
            let filters = filters(p);
            let groups: Vec<&SecurityGroup> = world
                .ec2
                .groups
                .values()
                .filter(|g| (ids.is_empty() || ids.contains(&g.id)) && (names.is_empty() || names.contains(&g.name)))
                .filter(|group| {
                    matches_filters(
                        &filters,
                        |name| match name {
                            "vpc-id" => Some(vec![group.vpc_id.clone()]),
                            "group-id" => Some(vec![group.id.clone()]),
                            "group-name" => Some(vec![group.name.clone()]),
                            _ => None,
                        },
                        &group.tags,
                    )
                })
                .collect();
            let (groups, next) = ec2_page(groups, p, ctx)?;
            Ok(respond(ctx, operation, |x| {
                x.open("securityGroupInfo");
                for group in groups {
                    group_xml(x, "item", group, account);
                }
                x.close("securityGroupInfo");
                next_token_xml(x, next.as_ref());
            }))
        }
        "DeleteSecurityGroup" => {
            let id = p.required("GroupId")?;
            if !world.ec2.groups.contains_key(id) {
                return Err(group_not_found(id));
            }
            let referenced =
                world.ec2.groups.values().any(|g| {
                    g.id != id && g.ingress.iter().chain(&g.egress).any(|r| r.group_id.as_deref() == Some(id))
                });
            // EMR instances and Studio apps hold network interfaces in the group.
            let in_use =
                world.emr.clusters.values().any(|c| c.is_live(ctx.now_ms) && c.groups().any(|g| g == id))
                    || world.sagemaker.domains.values().any(|d| {
                        crate::json::strings(&d.default_user_settings, "SecurityGroups").iter().any(|g| g == id)
                    });
            if referenced || in_use {
                return Err(ApiError::bad_request(
                    "DependencyViolation",
                    format!("resource {id} has a dependent object"),
                ));
            }
            world.ec2.groups.remove(id);
            Ok(respond(ctx, operation, |x| {
                x.text("return", "true").text("groupId", id);
            }))
        }
        "AuthorizeSecurityGroupIngress" | "AuthorizeSecurityGroupEgress" => {
            let egress = operation.ends_with("Egress");
            let id = p.required("GroupId")?.to_owned();
            if !world.ec2.groups.contains_key(&id) {
                return Err(group_not_found(&id));
            }
            let rules = requested_rules(world, p)?;
            let group = world.ec2.groups.get_mut(&id).ok_or_else(|| group_not_found(&id))?;
            let existing = if egress { &group.egress } else { &group.ingress };
            // All or nothing: one duplicate rejects the whole call.
            for (i, rule) in rules.iter().enumerate() {
                if existing.iter().chain(&rules[..i]).any(|r| r.same_permission(rule)) {
                    return Err(ApiError::bad_request(
                        "InvalidPermission.Duplicate",
                        format!("the specified rule \"{}\" already exists", describe_rule(rule)),
                    ));
                }
            }
            let target = if egress { &mut group.egress } else { &mut group.ingress };
            target.extend(rules.iter().cloned());
            let group = group.clone();
            Ok(respond(ctx, operation, |x| {
                x.text("return", "true").open("securityGroupRuleSet");
                for rule in &rules {
                    rule_xml(x, "item", &group, rule, egress, account);
                }
                x.close("securityGroupRuleSet");
            }))
        }
        "RevokeSecurityGroupIngress" | "RevokeSecurityGroupEgress" => {
            let egress = operation.ends_with("Egress");
            let id = p.required("GroupId")?.to_owned();
            if !world.ec2.groups.contains_key(&id) {
                return Err(group_not_found(&id));
            }
            let by_id = p.strings("SecurityGroupRuleId");
            let requested = requested_rules(world, p)?;
            let group = world.ec2.groups.get_mut(&id).ok_or_else(|| group_not_found(&id))?;
            let target = if egress { &mut group.egress } else { &mut group.ingress };
            for rule in &requested {
                if !target.iter().any(|r| r.same_permission(rule)) {
                    return Err(ApiError::bad_request(
                        "InvalidPermission.NotFound",
                        "The specified rule does not exist in this security group.",
                    ));
                }
            }
            for rule_id in &by_id {
                if !target.iter().any(|r| &r.id == rule_id) {
                    return Err(not_found("InvalidSecurityGroupRuleId.NotFound", "security group rule", rule_id));
                }
            }
            target.retain(|r| !requested.iter().any(|q| q.same_permission(r)) && !by_id.contains(&r.id));
            Ok(respond(ctx, operation, |x| {
                x.text("return", "true");
            }))
        }
        "UpdateSecurityGroupRuleDescriptionsIngress" | "UpdateSecurityGroupRuleDescriptionsEgress" => {
            let egress = operation.ends_with("Egress");
            let id = p.required("GroupId")?.to_owned();
            if !world.ec2.groups.contains_key(&id) {
                return Err(group_not_found(&id));
            }
            let requested = requested_rules(world, p)?;
            let group = world.ec2.groups.get_mut(&id).ok_or_else(|| group_not_found(&id))?;
            let target = if egress { &mut group.egress } else { &mut group.ingress };
            for rule in &requested {
                let existing = target.iter_mut().find(|r| r.same_permission(rule)).ok_or_else(|| {
                    ApiError::bad_request(
                        "InvalidPermission.NotFound",
                        "The specified rule does not exist in this security group.",
                    )
                })?;
                existing.description.clone_from(&rule.description);
            }
            Ok(respond(ctx, operation, |x| {
                x.text("return", "true");
            }))
        }
        "DescribeSecurityGroupRules" => {
            let filters = filters(p);
            let by_id = p.strings("SecurityGroupRuleId");
            let mut rules: Vec<(&SecurityGroup, &Rule, bool)> = Vec::new();
            for group in world.ec2.groups.values() {
                let group_ok = filters.iter().all(|(name, values)| name != "group-id" || values.contains(&group.id));
                if !group_ok {
                    continue;
                }
                for (list, egress) in [(&group.ingress, false), (&group.egress, true)] {
                    rules.extend(
                        list.iter().filter(|r| by_id.is_empty() || by_id.contains(&r.id)).map(|r| (group, r, egress)),
                    );
                }
            }
            let (rules, next) = ec2_page(rules, p, ctx)?;
            Ok(respond(ctx, operation, |x| {
                x.open("securityGroupRuleSet");
                for (group, rule, egress) in rules {
                    rule_xml(x, "item", group, rule, egress, account);
                }
                x.close("securityGroupRuleSet");
                next_token_xml(x, next.as_ref());
            }))
        }
        "CreateTags" | "DeleteTags" => {
            let resources = p.strings("ResourceId");
            let tags: Vec<(String, Option<String>)> = p
                .members("Tag")
                .into_iter()
                .filter_map(|t| {
                    Some((p.get(&format!("{t}.Key"))?.to_owned(), p.get(&format!("{t}.Value")).map(str::to_owned)))
                })
                .collect();
            for resource in &resources {
                let set = if let Some(v) = world.ec2.vpcs.get_mut(resource) {
                    &mut v.tags
                } else if let Some(s) = world.ec2.subnets.get_mut(resource) {
                    &mut s.tags
                } else if let Some(g) = world.ec2.groups.get_mut(resource) {
                    &mut g.tags
                } else if let Some(tags) = network::tags_of(world, resource) {
                    tags
                } else {
                    return Err(ApiError::bad_request("InvalidID", format!("The ID '{resource}' is not valid")));
                };
                for (key, value) in &tags {
                    if operation == "CreateTags" {
                        set.insert(key.clone(), value.clone().unwrap_or_default());
                    } else if value.as_ref().is_none_or(|v| set.get(key) == Some(v)) {
                        set.remove(key);
                    }
                }
            }
            Ok(respond(ctx, operation, |x| {
                x.text("return", "true");
            }))
        }
        other => network::handle(world, ctx, other, p),
    }
}
