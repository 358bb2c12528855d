//! Subnets, security group rules, and resources that must share a VPC.

use std::collections::BTreeMap;

use converge_model::{Address, IpCidr, Ipv4Cidr, Kind, Ports, Protocol, Ref, SELF_PEER};

use super::Ctx;
use crate::codes;
use crate::diagnostic::Diagnostic;

pub(super) fn subnets(ctx: &mut Ctx<'_>) {
    let spec = ctx.spec;
    let mut found = Vec::new();
    let mut vpc_ranges: BTreeMap<String, Vec<Ipv4Cidr>> = BTreeMap::new();
    for (name, vpc) in &spec.vpcs {
        let address = Address::new(Kind::Vpc, name.clone());
        for (i, text) in vpc.cidrs.iter().enumerate() {
            match Ipv4Cidr::parse(text) {
                Ok(cidr) => vpc_ranges.entry(address.to_string()).or_default().push(cidr),
                Err(error) => found.push(
                    Diagnostic::new(codes::INVALID_CIDR, format!("`{text}` is not an IPv4 CIDR block: {error}"))
                        .at(ctx.at(&format!("{address}.cidrs[{i}]")))
                        .address(&address)
                        .hint("write the VPC range like `10.0.0.0/16`"),
                ),
            }
        }
    }
    let mut placed: BTreeMap<String, Vec<(Ipv4Cidr, Address)>> = BTreeMap::new();
    for (name, subnet) in &spec.subnets {
        let address = Address::new(Kind::Subnet, name.clone());
        let path = format!("{address}.cidr");
        let cidr = match Ipv4Cidr::parse(&subnet.cidr) {
            Ok(cidr) => cidr,
            Err(error) => {
                found.push(
                    Diagnostic::new(
                        codes::INVALID_CIDR,
                        format!("`{}` is not an IPv4 CIDR block: {error}", subnet.cidr),
                    )
                    .at(ctx.at(&path))
                    .address(&address)
                    .hint("write the subnet range like `10.0.1.0/24`"),
                );
                continue;
            }
        };
        if !cidr.is_canonical() {
            found.push(
                Diagnostic::new(codes::INVALID_CIDR, format!("`{cidr}` has host bits set"))
                    .at(ctx.at(&path))
                    .address(&address)
                    .label(format!("the block starts at {}", cidr.network()))
                    .hint(format!("write `cidr = \"{}\"`", cidr.canonical())),
            );
        }
        if !(16..=28).contains(&cidr.prefix) {
            found.push(
                Diagnostic::new(
                    codes::INVALID_CIDR,
                    format!("a subnet must be between /16 and /28, `{cidr}` is /{}", cidr.prefix),
                )
                .at(ctx.at(&path))
                .address(&address)
                .hint("choose a prefix length from 16 to 28"),
            );
        }
        if let converge_model::RefTarget::Spec(vpc) = subnet.vpc.target(Kind::Vpc)
            && let Some(ranges) = vpc_ranges.get(&vpc.to_string())
            && !ranges.iter().any(|range| range.contains(cidr))
        {
            let listed: Vec<String> = ranges.iter().map(ToString::to_string).collect();
            found.push(
                Diagnostic::new(codes::SUBNET_OUTSIDE_VPC, format!("`{cidr}` is outside the ranges of `{vpc}`"))
                    .at(ctx.at(&path))
                    .address(&address)
                    .label(format!("not inside {}", listed.join(", ")))
                    .hint(format!("pick a block inside {}, or add the range to `{vpc}.cidrs`", listed.join(" or "))),
            );
        }
        if let Some(vpc) = ctx.vpc_identity(&subnet.vpc) {
            let others = placed.entry(vpc).or_default();
            if let Some((other, other_address)) =
                others.iter().find(|(other, _)| other.canonical().overlaps(cidr.canonical()))
            {
                found.push(
                    Diagnostic::new(
                        codes::OVERLAPPING_SUBNETS,
                        format!("`{cidr}` overlaps `{other}` of `{other_address}`"),
                    )
                    .at(ctx.at(&path))
                    .address(&address)
                    .label("overlapping range")
                    .hint("subnets of one VPC need disjoint CIDR blocks"),
                );
            }
            others.push((cidr, address.clone()));
        }
        let region = &spec.stack.region;
        let zone = &subnet.availability_zone;
        let zone_ok = zone
            .strip_prefix(region.as_str())
            .is_some_and(|suffix| suffix.len() == 1 && suffix.bytes().all(|b| b.is_ascii_lowercase()));
        if !region.is_empty() && !zone_ok {
            found.push(
                Diagnostic::new(
                    codes::AZ_OUTSIDE_REGION,
                    format!("`{zone}` is not an availability zone of `{region}`"),
                )
                .at(ctx.at(&format!("{address}.availability_zone")))
                .address(&address)
                .hint(format!("availability zones of the stack's region look like `{region}a`")),
            );
        }
    }
    ctx.out.extend(found);
}

struct RuleView<'a> {
    protocol: Protocol,
    ports: Option<&'a Ports>,
    icmp_type: Option<i64>,
    icmp_code: Option<i64>,
    cidr: Option<&'a str>,
    peer: Option<&'a Ref>,
    prefix_list: Option<&'a str>,
    peer_key: &'static str,
}

pub(super) fn security_groups(ctx: &mut Ctx<'_>) {
    let mut found = Vec::new();
    for (name, group) in &ctx.spec.security_groups {
        let address = Address::new(Kind::SecurityGroup, name.clone());
        let ingress = group.ingress.iter().map(|r| RuleView {
            protocol: r.protocol,
            ports: r.ports.as_ref(),
            icmp_type: r.icmp_type,
            icmp_code: r.icmp_code,
            cidr: r.cidr.as_deref(),
            peer: r.source.as_ref(),
            prefix_list: r.prefix_list.as_deref(),
            peer_key: "source",
        });
        let egress = group.egress.iter().flatten().map(|r| RuleView {
            protocol: r.protocol,
            ports: r.ports.as_ref(),
            icmp_type: r.icmp_type,
            icmp_code: r.icmp_code,
            cidr: r.cidr.as_deref(),
            peer: r.destination.as_ref(),
            prefix_list: r.prefix_list.as_deref(),
            peer_key: "destination",
        });
        for (direction, rules) in [("ingress", ingress.collect::<Vec<_>>()), ("egress", egress.collect())] {
            let mut seen: BTreeMap<String, usize> = BTreeMap::new();
            for (i, rule) in rules.iter().enumerate() {
                let path = format!("{address}.{direction}[{i}]");
                check_rule(ctx, &address, &path, rule, &mut found);
                let ports = rule.ports.map(|p| p.range().map_or_else(|| format!("{p:?}"), |r| format!("{r:?}")));
                let peer = rule.cidr.map_or_else(
                    || rule.peer.map(Ref::as_str).unwrap_or_default().to_owned(),
                    |c| IpCidr::parse(c).map_or_else(|_| c.to_owned(), |c| c.canonical().to_string()),
                );
                let icmp = (rule.icmp_type.filter(|t| *t >= 0), rule.icmp_code.filter(|c| *c >= 0));
                let identity = format!("{} {ports:?} {icmp:?} {peer}", rule.protocol.spec());
                if let Some(first) = seen.insert(identity, i) {
                    found.push(
                        Diagnostic::new(
                            codes::DUPLICATE_ENTRY,
                            format!("`{path}` repeats `{address}.{direction}[{first}]`"),
                        )
                        .at(ctx.at(&path))
                        .address(&address)
                        .label("same protocol, ports and peer")
                        .hint("remove one of the two rules; EC2 rejects duplicates with InvalidPermission.Duplicate"),
                    );
                }
            }
        }
    }
    ctx.out.extend(found);
}

fn check_rule(ctx: &Ctx<'_>, address: &Address, path: &str, rule: &RuleView<'_>, found: &mut Vec<Diagnostic>) {
    let peers = [rule.cidr.is_some(), rule.peer.is_some(), rule.prefix_list.is_some()];
    if peers.iter().filter(|p| **p).count() != 1 {
        found.push(
            Diagnostic::new(codes::RULE_PEER, format!("`{path}` needs exactly one of `cidr`, `{}` and `prefix_list`", rule.peer_key))
                .at(ctx.at(path))
                .address(address)
                .hint(format!("write `cidr = \"10.0.0.0/16\"` for an address range, `{} = \"<group>\"` for a security group (`\"{SELF_PEER}\"` for this one), or `prefix_list = \"pl-…\"` for a managed prefix list", rule.peer_key)),
        );
    }
    if let Some(list) = rule.prefix_list
        && !(list.starts_with("pl-") && list.len() > 3 && list[3..].bytes().all(|b| b.is_ascii_hexdigit()))
    {
        found.push(
            Diagnostic::new(codes::INVALID_VALUE, format!("`{list}` is not a prefix list id"))
                .at(ctx.at(&format!("{path}.prefix_list")))
                .address(address)
                .hint("write the id of a managed prefix list, `pl-` and hexadecimal digits (`aws ec2 describe-managed-prefix-lists`)"),
        );
    }
    if let Some(text) = rule.cidr {
        let cidr_path = format!("{path}.cidr");
        match IpCidr::parse(text) {
            Err(error) => found.push(
                Diagnostic::new(codes::INVALID_CIDR, format!("`{text}` is not a CIDR block: {error}"))
                    .at(ctx.at(&cidr_path))
                    .address(address)
                    .hint("write an IPv4 or IPv6 block such as `10.0.0.0/16` or `::/0`"),
            ),
            Ok(cidr) if !cidr.is_canonical() => found.push(
                Diagnostic::new(
                    codes::NON_CANONICAL_CIDR,
                    format!("`{text}` has host bits set; EC2 will store `{}`", cidr.canonical()),
                )
                .at(ctx.at(&cidr_path))
                .address(address)
                .hint(format!("write `cidr = \"{}\"`", cidr.canonical())),
            ),
            Ok(_) => {}
        }
    }
    match (rule.protocol, rule.icmp_type, rule.icmp_code) {
        (Protocol::Icmp, None, Some(_)) => found.push(
            Diagnostic::new(codes::ICMP_TYPE, format!("`{path}` sets `icmp_code` without `icmp_type`"))
                .at(ctx.at(&format!("{path}.icmp_code")))
                .address(address)
                .hint("add `icmp_type` (a code only means something within a type), or remove `icmp_code`"),
        ),
        (Protocol::Icmp, _, _) | (_, None, None) => {}
        (protocol, icmp_type, _) => {
            let key = if icmp_type.is_some() { "icmp_type" } else { "icmp_code" };
            found.push(
                Diagnostic::new(
                    codes::ICMP_TYPE,
                    format!("`{key}` applies to `icmp` rules, but `{path}` is a {} rule", protocol.spec()),
                )
                .at(ctx.at(&format!("{path}.{key}")))
                .address(address)
                .hint("remove it, or write `protocol = \"icmp\"`"),
            );
        }
    }
    let ports_path = format!("{path}.ports");
    match (rule.protocol, rule.ports) {
        (Protocol::Tcp | Protocol::Udp, None) => found.push(
            Diagnostic::new(
                codes::PORT_RANGE,
                format!("`{path}` is a {} rule without `ports`", rule.protocol.spec()),
            )
            .at(ctx.at(path))
            .address(address)
            .hint("add `ports = 443` or `ports = \"0-65535\"` for every port"),
        ),
        (Protocol::All | Protocol::Icmp, Some(_)) => found.push(
            Diagnostic::new(
                codes::PORT_RANGE,
                format!(
                    "a rule with `protocol = \"{}\"` covers every port; `ports` does not apply",
                    rule.protocol.spec()
                ),
            )
            .at(ctx.at(&ports_path))
            .address(address)
            .hint("remove `ports` (an `icmp` rule takes `icmp_type` and `icmp_code`), or use `protocol = \"tcp\"` or `\"udp\"`"),
        ),
        (_, Some(ports)) => match ports.range() {
            Some((from, to)) if (0..=65535).contains(&from) && (0..=65535).contains(&to) && from <= to => {}
            Some((from, to)) if from > to && (0..=65535).contains(&to) => found.push(
                Diagnostic::new(codes::PORT_RANGE, format!("the port range {from}-{to} runs backwards"))
                    .at(ctx.at(&ports_path))
                    .address(address)
                    .hint(format!("write `ports = \"{to}-{from}\"`")),
            ),
            Some(_) => found.push(
                Diagnostic::new(codes::PORT_RANGE, "ports must be between 0 and 65535")
                    .at(ctx.at(&ports_path))
                    .address(address)
                    .hint("write a port such as `8998` or a range such as `\"8000-8100\"`"),
            ),
            None => found.push(
                Diagnostic::new(codes::PORT_RANGE, "`ports` must be a port number or a range like `\"8000-8100\"`")
                    .at(ctx.at(&ports_path))
                    .address(address)
                    .hint("write `ports = 8998` or `ports = \"8000-8100\"`"),
            ),
        },
        _ => {}
    }
}

/// Subnets and security groups used together must be in one VPC.
pub(super) fn vpc_agreement(ctx: &mut Ctx<'_>) {
    let spec = ctx.spec;
    let mut found = Vec::new();
    let mismatch =
        |ctx: &Ctx<'_>, address: &Address, path: String, what: &str, vpc: &str, expected: &str, why: &str| {
            Diagnostic::new(codes::VPC_MISMATCH, format!("{what} is in `{vpc}`, but {why} is in `{expected}`"))
                .at(ctx.at(&path))
                .address(address)
                .label(format!("in `{vpc}`"))
                .hint("use subnets and security groups of one VPC")
        };
    for (name, domain) in &spec.sagemaker_domains {
        let address = Address::new(Kind::SagemakerDomain, name.clone());
        let Some(expected) = ctx.vpc_identity(&domain.vpc) else { continue };
        for (i, subnet) in domain.subnets.iter().enumerate() {
            if let Some(vpc) = ctx.vpc_of_subnet(subnet).filter(|vpc| *vpc != expected) {
                found.push(mismatch(
                    ctx,
                    &address,
                    format!("{address}.subnets[{i}]"),
                    &format!("subnet `{subnet}`"),
                    &vpc,
                    &expected,
                    "the domain",
                ));
            }
        }
        for (i, group) in domain.security_groups.iter().enumerate() {
            if let Some(vpc) = ctx.vpc_of_group(group).filter(|vpc| *vpc != expected) {
                found.push(mismatch(
                    ctx,
                    &address,
                    format!("{address}.security_groups[{i}]"),
                    &format!("security group `{group}`"),
                    &vpc,
                    &expected,
                    "the domain",
                ));
            }
        }
    }
    for (name, user) in &spec.sagemaker_users {
        let address = Address::new(Kind::SagemakerUser, name.clone());
        let domain = user.domain.spec_name().and_then(|d| spec.sagemaker_domains.get(d));
        let Some(expected) = domain.and_then(|d| ctx.vpc_identity(&d.vpc)) else { continue };
        for (i, group) in user.security_groups.iter().enumerate() {
            if let Some(vpc) = ctx.vpc_of_group(group).filter(|vpc| *vpc != expected) {
                found.push(mismatch(
                    ctx,
                    &address,
                    format!("{address}.security_groups[{i}]"),
                    &format!("security group `{group}`"),
                    &vpc,
                    &expected,
                    "the domain",
                ));
            }
        }
    }
    for (name, cluster) in &spec.emr_clusters {
        let address = Address::new(Kind::EmrCluster, name.clone());
        let mut expected: Option<(String, String)> = None;
        for (i, subnet) in cluster.subnets.iter().enumerate() {
            let Some(vpc) = ctx.vpc_of_subnet(subnet) else { continue };
            match &expected {
                None => expected = Some((vpc, format!("subnet `{subnet}`"))),
                Some((first, what)) if *first != vpc => {
                    found.push(mismatch(
                        ctx,
                        &address,
                        format!("{address}.subnets[{i}]"),
                        &format!("subnet `{subnet}`"),
                        &vpc,
                        first,
                        what,
                    ));
                }
                Some(_) => {}
            }
        }
        let Some((expected, what)) = expected else { continue };
        let groups = [
            ("master_security_group", &cluster.master_security_group),
            ("core_security_group", &cluster.core_security_group),
            ("service_access_security_group", &cluster.service_access_security_group),
        ]
        .into_iter()
        .filter_map(|(field, group)| group.as_ref().map(|g| (field.to_owned(), g)))
        .chain(
            cluster
                .additional_master_security_groups
                .iter()
                .enumerate()
                .map(|(i, g)| (format!("additional_master_security_groups[{i}]"), g)),
        )
        .chain(
            cluster
                .additional_core_security_groups
                .iter()
                .enumerate()
                .map(|(i, g)| (format!("additional_core_security_groups[{i}]"), g)),
        );
        for (field, group) in groups {
            if let Some(vpc) = ctx.vpc_of_group(group).filter(|vpc| *vpc != expected) {
                found.push(mismatch(
                    ctx,
                    &address,
                    format!("{address}.{field}"),
                    &format!("security group `{group}`"),
                    &vpc,
                    &expected,
                    &what,
                ));
            }
        }
    }
    ctx.out.extend(found);
}
