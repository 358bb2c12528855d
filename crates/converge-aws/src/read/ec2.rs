//! VPCs, subnets and security groups (three to four calls for the stack), and
//! the routes and endpoints of the stack's VPCs (two more), which say whether
//! a subnet is public or private and how it reaches AWS's APIs.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, IpPermission, SecurityGroup};
use converge_executor::{ExecError, Scope};
use converge_model::live::{
    LiveRoute, LiveRouteTable, LiveRule, LiveSecurityGroup, LiveSubnet, LiveVpc, LiveVpcEndpoint, OWNER_STACK_TAG,
};
use converge_model::{Kind, Tags};

use super::reading;
use crate::Aws;
use crate::errors::exec_error;

/// What the reader finds of the stack's network.
pub(super) struct Network {
    pub(super) vpcs: Vec<LiveVpc>,
    pub(super) subnets: Vec<LiveSubnet>,
    pub(super) groups: Vec<LiveSecurityGroup>,
    pub(super) route_tables: Vec<LiveRouteTable>,
    pub(super) endpoints: Vec<LiveVpcEndpoint>,
}

pub(crate) fn tags(tags: &[aws_sdk_ec2::types::Tag]) -> Tags {
    tags.iter().filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned()))).collect()
}

fn owned_by(scope: &Scope) -> Filter {
    Filter::builder().name(format!("tag:{OWNER_STACK_TAG}")).values(&scope.stack).build()
}

/// The scope's VPCs as a filter; none when it names no VPC.
fn in_vpcs(scope: &Scope) -> Option<Filter> {
    (!scope.vpc_ids.is_empty())
        .then(|| Filter::builder().name("vpc-id").set_values(Some(scope.vpc_ids.clone())).build())
}

pub(super) async fn read(aws: &Aws, scope: &Scope) -> Result<Network, ExecError> {
    let vpcs = async {
        if scope.vpc_ids.is_empty() && !scope.everything {
            return Ok(Vec::new());
        }
        let request = aws.ec2.describe_vpcs().set_vpc_ids(Some(scope.vpc_ids.clone()).filter(|ids| !ids.is_empty()));
        let pages = request.into_paginator().send().try_collect().await;
        let pages = match pages {
            Ok(pages) => pages,
            // A VPC id that does not exist is the plan's to report (`missing-vpc`), not a read failure.
            Err(error) if crate::errors::code_of(&error) == Some("InvalidVpcID.NotFound") => return Ok(Vec::new()),
            Err(error) => return Err(exec_error(error, "DescribeVpcs", &reading(Kind::Vpc))),
        };
        Ok(pages
            .iter()
            .flat_map(|page| page.vpcs())
            .map(|vpc| {
                let mut cidrs: Vec<String> =
                    vpc.cidr_block_association_set().iter().filter_map(|a| a.cidr_block().map(str::to_owned)).collect();
                if cidrs.is_empty() {
                    cidrs.extend(vpc.cidr_block().map(str::to_owned));
                }
                LiveVpc { id: vpc.vpc_id().unwrap_or_default().to_owned(), cidrs }
            })
            .collect())
    };
    let subnets = async {
        // The stack's subnets, and those holding the CIDR blocks the spec adopts in its VPCs.
        let mut found: BTreeMap<String, LiveSubnet> = BTreeMap::new();
        let cidrs: Vec<String> =
            scope.claims.iter().filter(|c| c.kind == Kind::Subnet).map(|c| c.name.clone()).collect();
        let mut queries = vec![vec![owned_by(scope)]];
        if scope.everything {
            queries = vec![in_vpcs(scope).into_iter().collect()];
        } else if !cidrs.is_empty() && !scope.vpc_ids.is_empty() {
            queries.push(vec![
                Filter::builder().name("vpc-id").set_values(Some(scope.vpc_ids.clone())).build(),
                Filter::builder().name("cidr-block").set_values(Some(cidrs)).build(),
            ]);
        }
        for filters in queries {
            let request = aws.ec2.describe_subnets().set_filters(Some(filters).filter(|f| !f.is_empty()));
            let pages = request
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(|e| exec_error(e, "DescribeSubnets", &reading(Kind::Subnet)))?;
            for s in pages.iter().flat_map(|page| page.subnets()) {
                let subnet = LiveSubnet {
                    id: s.subnet_id().unwrap_or_default().to_owned(),
                    vpc_id: s.vpc_id().unwrap_or_default().to_owned(),
                    cidr: s.cidr_block().unwrap_or_default().to_owned(),
                    availability_zone: s.availability_zone().unwrap_or_default().to_owned(),
                    tags: tags(s.tags()),
                };
                found.insert(subnet.id.clone(), subnet);
            }
        }
        Ok::<_, ExecError>(found.into_values().collect())
    };
    let groups = async {
        // The stack's groups, and the groups holding names the spec claims in its VPCs.
        let mut found: BTreeMap<String, LiveSecurityGroup> = BTreeMap::new();
        let names: Vec<String> =
            scope.claims.iter().filter(|c| c.kind == Kind::SecurityGroup).map(|c| c.name.clone()).collect();
        let mut queries = vec![vec![owned_by(scope)]];
        if scope.everything {
            queries = vec![in_vpcs(scope).into_iter().collect()];
        } else if !names.is_empty() && !scope.vpc_ids.is_empty() {
            queries.push(vec![
                Filter::builder().name("vpc-id").set_values(Some(scope.vpc_ids.clone())).build(),
                Filter::builder().name("group-name").set_values(Some(names)).build(),
            ]);
        }
        for filters in queries {
            let request = aws.ec2.describe_security_groups().set_filters(Some(filters).filter(|f| !f.is_empty()));
            let pages = request
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(|e| exec_error(e, "DescribeSecurityGroups", &reading(Kind::SecurityGroup)))?;
            for group in pages.iter().flat_map(|page| page.security_groups()) {
                let live = security_group(group);
                found.insert(live.id.clone(), live);
            }
        }
        Ok::<_, ExecError>(found.into_values().collect())
    };
    let (vpcs, subnets, groups, route_tables, endpoints) =
        tokio::try_join!(vpcs, subnets, groups, route_tables(aws, scope), endpoints(aws, scope))?;
    Ok(Network { vpcs, subnets, groups, route_tables, endpoints })
}

/// The route tables of the scope's VPCs (of the region for an import without VPCs): one call.
async fn route_tables(aws: &Aws, scope: &Scope) -> Result<Vec<LiveRouteTable>, ExecError> {
    if scope.vpc_ids.is_empty() && !scope.everything {
        return Ok(Vec::new());
    }
    let pages = aws
        .ec2
        .describe_route_tables()
        .set_filters(in_vpcs(scope).map(|f| vec![f]))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| exec_error(e, "DescribeRouteTables", &reading(Kind::Subnet)))?;
    let mut tables: Vec<LiveRouteTable> = pages
        .iter()
        .flat_map(|page| page.route_tables())
        .map(|table| LiveRouteTable {
            id: table.route_table_id().unwrap_or_default().to_owned(),
            vpc_id: table.vpc_id().unwrap_or_default().to_owned(),
            main: table.associations().iter().any(|a| a.main() == Some(true)),
            subnet_ids: table.associations().iter().filter_map(|a| a.subnet_id().map(str::to_owned)).collect(),
            routes: table
                .routes()
                .iter()
                .map(|r| LiveRoute {
                    destination: r
                        .destination_cidr_block()
                        .or(r.destination_ipv6_cidr_block())
                        .or(r.destination_prefix_list_id())
                        .unwrap_or_default()
                        .to_owned(),
                    target: r
                        .gateway_id()
                        .or(r.nat_gateway_id())
                        .or(r.transit_gateway_id())
                        .or(r.vpc_peering_connection_id())
                        .or(r.network_interface_id())
                        .or(r.instance_id())
                        .unwrap_or_default()
                        .to_owned(),
                    state: r.state().map_or("active", |s| s.as_str()).to_owned(),
                })
                .collect(),
        })
        .collect();
    tables.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(tables)
}

/// The VPC endpoints of the scope's VPCs: one call.
async fn endpoints(aws: &Aws, scope: &Scope) -> Result<Vec<LiveVpcEndpoint>, ExecError> {
    if scope.vpc_ids.is_empty() && !scope.everything {
        return Ok(Vec::new());
    }
    let pages = aws
        .ec2
        .describe_vpc_endpoints()
        .set_filters(in_vpcs(scope).map(|f| vec![f]))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| exec_error(e, "DescribeVpcEndpoints", &reading(Kind::Subnet)))?;
    let mut endpoints: Vec<LiveVpcEndpoint> = pages
        .iter()
        .flat_map(|page| page.vpc_endpoints())
        .map(|e| LiveVpcEndpoint {
            id: e.vpc_endpoint_id().unwrap_or_default().to_owned(),
            vpc_id: e.vpc_id().unwrap_or_default().to_owned(),
            service_name: e.service_name().unwrap_or_default().to_owned(),
            endpoint_type: e.vpc_endpoint_type().map(|t| t.as_str().to_owned()).unwrap_or_default(),
            state: e.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            subnet_ids: e.subnet_ids().to_vec(),
            route_table_ids: e.route_table_ids().to_vec(),
        })
        .collect();
    endpoints.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(endpoints)
}

fn security_group(group: &SecurityGroup) -> LiveSecurityGroup {
    LiveSecurityGroup {
        id: group.group_id().unwrap_or_default().to_owned(),
        name: group.group_name().unwrap_or_default().to_owned(),
        description: group.description().unwrap_or_default().to_owned(),
        vpc_id: group.vpc_id().unwrap_or_default().to_owned(),
        ingress: rules(group.ip_permissions()),
        egress: rules(group.ip_permissions_egress()),
        tags: tags(group.tags()),
    }
}

/// EC2 groups a permission's peers under one protocol and port range; converge keeps one rule per peer.
pub(crate) fn rules(permissions: &[IpPermission]) -> Vec<LiveRule> {
    let mut out = Vec::new();
    for permission in permissions {
        let rule = |cidr: Option<&str>, group: Option<&str>, list: Option<&str>, description: Option<&str>| LiveRule {
            protocol: permission.ip_protocol().unwrap_or("-1").to_owned(),
            from_port: permission.from_port().map(i64::from),
            to_port: permission.to_port().map(i64::from),
            cidr: cidr.map(str::to_owned),
            group_id: group.map(str::to_owned),
            prefix_list_id: list.map(str::to_owned),
            description: description.map(str::to_owned),
        };
        for range in permission.ip_ranges() {
            out.push(rule(range.cidr_ip(), None, None, range.description()));
        }
        for range in permission.ipv6_ranges() {
            out.push(rule(range.cidr_ipv6(), None, None, range.description()));
        }
        for pair in permission.user_id_group_pairs() {
            out.push(rule(None, pair.group_id(), None, pair.description()));
        }
        // Rules to a managed prefix list (an S3 gateway endpoint's `pl-…`): part of IpPermission (botocore).
        for list in permission.prefix_list_ids() {
            out.push(rule(None, None, list.prefix_list_id(), list.description()));
        }
    }
    out
}
