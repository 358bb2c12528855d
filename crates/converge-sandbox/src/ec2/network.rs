//! The network around subnets: internet gateways, elastic IPs, NAT gateways,
//! route tables (each VPC's main one and those associated with subnets),
//! routes and VPC endpoints. What converge reads of them says whether a
//! subnet is public (a route to an internet gateway) or private, and whether
//! it reaches AWS's APIs through a NAT gateway or endpoints (VPC User Guide,
//! "Subnets for your VPC", "Route tables", "NAT gateways", "Gateway endpoints").

use crate::context::Ctx;
use crate::error::ApiError;
use crate::query::Params;
use crate::state::{ElasticIp, InternetGateway, NatGateway, Route, RouteTable, Timeline, Vpc, VpcEndpoint, World};
use crate::xml::Xml;

use super::{
    canonical_v4, cidr_text, ec2_page, filters, matches_filters, next_token_xml, not_found, respond,
    tag_specifications, tags_xml,
};

/// Seconds of AWS time before a NAT gateway is `available` (it is usable while `pending`).
const NAT_STARTING: f64 = 60.0;
/// Seconds of AWS time before a VPC endpoint is `available`.
const ENDPOINT_STARTING: f64 = 60.0;
/// Seconds of AWS time a deleted NAT gateway stays listed as `deleted` is not modelled: it stays.
const NAT_DELETING: f64 = 30.0;

/// Every new VPC gets a main route table with the local route (VPC User Guide, "Route tables").
pub(crate) fn create_main_route_table(world: &mut World, vpc: &Vpc) {
    let id = world.id("rtb");
    let association = world.id("rtbassoc");
    let table = RouteTable {
        id: id.clone(),
        vpc_id: vpc.id.clone(),
        main: true,
        main_association: Some(association),
        associations: Default::default(),
        routes: vec![Route {
            destination: vpc.cidr.clone(),
            target: "local".into(),
            origin: "CreateRouteTable".into(),
        }],
        tags: Default::default(),
    };
    world.ec2.route_tables.insert(id, table);
}

/// True when `subnet`'s route table (its own, or the VPC's main one) routes to an
/// internet gateway: a public subnet (VPC User Guide, "Subnets for your VPC").
pub(crate) fn is_public(world: &World, subnet: &str) -> bool {
    let Some(vpc) = world.ec2.subnets.get(subnet).map(|s| s.vpc_id.as_str()) else { return false };
    let tables = || world.ec2.route_tables.values().filter(|t| t.vpc_id == vpc);
    let table = tables().find(|t| t.associations.values().any(|s| s == subnet)).or_else(|| tables().find(|t| t.main));
    table.is_some_and(|t| t.routes.iter().any(|r| r.target.starts_with("igw-")))
}

/// What else in the VPC keeps `DeleteVpc` from succeeding.
pub(crate) fn holds_vpc(world: &World, vpc: &str) -> bool {
    world.ec2.internet_gateways.values().any(|g| g.vpc_id.as_deref() == Some(vpc))
        || world.ec2.route_tables.values().any(|t| t.vpc_id == vpc && !t.main)
        || world.ec2.vpc_endpoints.values().any(|e| e.vpc_id == vpc)
}

/// Forgets what goes with a deleted VPC: its main route table.
pub(crate) fn forget_vpc(world: &mut World, vpc: &str) {
    world.ec2.route_tables.retain(|_, t| t.vpc_id != vpc);
}

/// What keeps `DeleteSubnet` from succeeding: a NAT gateway or an interface endpoint in it.
pub(crate) fn holds_subnet(world: &World, subnet: &str, now_ms: u64) -> bool {
    world.ec2.nat_gateways.values().any(|n| n.subnet_id == subnet && n.timeline.at(now_ms) != "deleted")
        || world.ec2.vpc_endpoints.values().any(|e| e.subnet_ids.iter().any(|s| s == subnet))
}

/// A deleted subnet's route table association goes with it.
pub(crate) fn forget_subnet(world: &mut World, subnet: &str) {
    for table in world.ec2.route_tables.values_mut() {
        table.associations.retain(|_, s| s != subnet);
    }
}

/// The tags of a network resource, by id.
pub(crate) fn tags_of<'w>(world: &'w mut World, id: &str) -> Option<&'w mut crate::state::Tags> {
    let ec2 = &mut world.ec2;
    if let Some(g) = ec2.internet_gateways.get_mut(id) {
        return Some(&mut g.tags);
    }
    if let Some(n) = ec2.nat_gateways.get_mut(id) {
        return Some(&mut n.tags);
    }
    if let Some(t) = ec2.route_tables.get_mut(id) {
        return Some(&mut t.tags);
    }
    if let Some(e) = ec2.vpc_endpoints.get_mut(id) {
        return Some(&mut e.tags);
    }
    ec2.addresses.get_mut(id).map(|a| &mut a.tags)
}

fn public_ip(n: u64) -> String {
    // TEST-NET-3 (RFC 5737): addresses that never route anywhere.
    format!("203.0.113.{}", n % 254 + 1)
}

fn internet_gateway_xml(x: &mut Xml, tag: &str, g: &InternetGateway, account: &str) {
    x.open(tag).text("internetGatewayId", &g.id).text("ownerId", account).open("attachmentSet");
    if let Some(vpc) = &g.vpc_id {
        x.open("item").text("vpcId", vpc).text("state", "available").close("item");
    }
    x.close("attachmentSet");
    tags_xml(x, &g.tags);
    x.close(tag);
}

fn nat_xml(x: &mut Xml, tag: &str, n: &NatGateway, world: &World, now_ms: u64) {
    x.open(tag).text("createTime", &crate::xml::iso8601(n.created)).text("natGatewayId", &n.id);
    x.open("natGatewayAddressSet");
    if let Some(allocation) = &n.allocation_id {
        x.open("item").text("allocationId", allocation);
        if let Some(address) = world.ec2.addresses.get(allocation) {
            x.text("publicIp", &address.public_ip);
        }
        x.text("isPrimary", "true").text("status", "succeeded").close("item");
    }
    x.close("natGatewayAddressSet");
    x.text("state", n.timeline.at(now_ms)).text("subnetId", &n.subnet_id).text("vpcId", &n.vpc_id);
    x.text("connectivityType", &n.connectivity);
    tags_xml(x, &n.tags);
    x.close(tag);
}

fn route_table_xml(x: &mut Xml, tag: &str, t: &RouteTable, account: &str) {
    x.open(tag).text("routeTableId", &t.id).text("vpcId", &t.vpc_id).text("ownerId", account);
    x.open("routeSet");
    for route in &t.routes {
        x.open("item");
        if route.destination.starts_with("pl-") {
            x.text("destinationPrefixListId", &route.destination);
        } else {
            x.text("destinationCidrBlock", &route.destination);
        }
        if route.target.starts_with("nat-") {
            x.text("natGatewayId", &route.target);
        } else {
            x.text("gatewayId", &route.target);
        }
        x.text("state", "active").text("origin", &route.origin).close("item");
    }
    x.close("routeSet").open("associationSet");
    if let Some(association) = &t.main_association {
        x.open("item").text("main", "true").text("routeTableAssociationId", association);
        x.text("routeTableId", &t.id);
        x.open("associationState").text("state", "associated").close("associationState").close("item");
    }
    for (association, subnet) in &t.associations {
        x.open("item").text("main", "false").text("routeTableAssociationId", association);
        x.text("routeTableId", &t.id).text("subnetId", subnet);
        x.open("associationState").text("state", "associated").close("associationState").close("item");
    }
    x.close("associationSet");
    tags_xml(x, &t.tags);
    x.close(tag);
}

fn endpoint_xml(x: &mut Xml, tag: &str, e: &VpcEndpoint, world: &World, account: &str, now_ms: u64) {
    x.open(tag).text("vpcEndpointId", &e.id).text("vpcEndpointType", &e.endpoint_type);
    x.text("vpcId", &e.vpc_id).text("serviceName", &e.service_name).text("state", e.timeline.at(now_ms));
    x.open("routeTableIdSet");
    for id in &e.route_table_ids {
        x.text("item", id);
    }
    x.close("routeTableIdSet").open("subnetIdSet");
    for id in &e.subnet_ids {
        x.text("item", id);
    }
    x.close("subnetIdSet").open("groupSet");
    for id in &e.security_group_ids {
        x.open("item").text("groupId", id);
        if let Some(group) = world.ec2.groups.get(id) {
            x.text("groupName", &group.name);
        }
        x.close("item");
    }
    x.close("groupSet");
    x.text("privateDnsEnabled", if e.endpoint_type == "Interface" { "true" } else { "false" });
    x.text("creationTimestamp", &crate::xml::iso8601(e.created)).text("ownerId", account);
    tags_xml(x, &e.tags);
    x.close(tag);
}

/// The prefix list of an AWS service's gateway endpoint in a region (a stable made-up id).
fn prefix_list(service_name: &str) -> String {
    let hash =
        service_name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    format!("pl-{:08x}", hash as u32)
}

fn subnet_vpc(world: &World, subnet: &str) -> Result<String, ApiError> {
    world
        .ec2
        .subnets
        .get(subnet)
        .map(|s| s.vpc_id.clone())
        .ok_or_else(|| not_found("InvalidSubnetID.NotFound", "subnet", subnet))
}

pub(crate) fn handle(world: &mut World, ctx: &Ctx<'_>, operation: &str, p: &Params) -> Result<String, ApiError> {
    let account = ctx.account;
    let now = ctx.now_ms;
    let ok = |operation: &str| {
        respond(ctx, operation, |x| {
            x.text("return", "true");
        })
    };
    match operation {
        "CreateInternetGateway" => {
            let gateway = InternetGateway { id: world.id("igw"), vpc_id: None, tags: tag_specifications(p) };
            let out = respond(ctx, operation, |x| internet_gateway_xml(x, "internetGateway", &gateway, account));
            world.ec2.internet_gateways.insert(gateway.id.clone(), gateway);
            Ok(out)
        }
        "AttachInternetGateway" | "DetachInternetGateway" => {
            let (id, vpc) = (p.required("InternetGatewayId")?, p.required("VpcId")?);
            if !world.ec2.vpcs.contains_key(vpc) {
                return Err(not_found("InvalidVpcID.NotFound", "vpc", vpc));
            }
            let attached_elsewhere =
                world.ec2.internet_gateways.values().any(|g| g.id != id && g.vpc_id.as_deref() == Some(vpc));
            let gateway = world
                .ec2
                .internet_gateways
                .get_mut(id)
                .ok_or_else(|| not_found("InvalidInternetGatewayID.NotFound", "internet gateway", id))?;
            if operation == "AttachInternetGateway" {
                if gateway.vpc_id.is_some() {
                    return Err(ApiError::bad_request(
                        "Resource.AlreadyAssociated",
                        format!(
                            "resource {id} is already attached to network {}",
                            gateway.vpc_id.as_deref().unwrap_or_default()
                        ),
                    ));
                }
                if attached_elsewhere {
                    return Err(ApiError::bad_request(
                        "InvalidParameterValue",
                        format!("Network {vpc} already has an internet gateway attached"),
                    ));
                }
                gateway.vpc_id = Some(vpc.to_owned());
            } else {
                if gateway.vpc_id.as_deref() != Some(vpc) {
                    return Err(ApiError::bad_request(
                        "Gateway.NotAttached",
                        format!("resource {id} is not attached to network {vpc}"),
                    ));
                }
                gateway.vpc_id = None;
            }
            Ok(ok(operation))
        }
        "DeleteInternetGateway" => {
            let id = p.required("InternetGatewayId")?;
            let gateway = world
                .ec2
                .internet_gateways
                .get(id)
                .ok_or_else(|| not_found("InvalidInternetGatewayID.NotFound", "internet gateway", id))?;
            if gateway.vpc_id.is_some() {
                return Err(ApiError::bad_request(
                    "DependencyViolation",
                    format!("The internetGateway '{id}' has dependencies and cannot be deleted."),
                ));
            }
            world.ec2.internet_gateways.remove(id);
            Ok(ok(operation))
        }
        "DescribeInternetGateways" => {
            let ids = p.strings("InternetGatewayId");
            if let Some(missing) = ids.iter().find(|id| !world.ec2.internet_gateways.contains_key(*id)) {
                return Err(not_found("InvalidInternetGatewayID.NotFound", "internet gateway", missing));
            }
            let filters = filters(p);
            let gateways: Vec<&InternetGateway> = world
                .ec2
                .internet_gateways
                .values()
                .filter(|g| ids.is_empty() || ids.contains(&g.id))
                .filter(|g| {
                    matches_filters(
                        &filters,
                        |name| match name {
                            "internet-gateway-id" => Some(vec![g.id.clone()]),
                            "attachment.vpc-id" => Some(g.vpc_id.iter().cloned().collect()),
                            _ => None,
                        },
                        &g.tags,
                    )
                })
                .collect();
            let (gateways, next) = ec2_page(gateways, p, ctx)?;
            Ok(respond(ctx, operation, |x| {
                x.open("internetGatewaySet");
                for g in gateways {
                    internet_gateway_xml(x, "item", g, account);
                }
                x.close("internetGatewaySet");
                next_token_xml(x, next.as_ref());
            }))
        }
        "AllocateAddress" => {
            let allocation_id = world.id("eipalloc");
            let address = ElasticIp {
                public_ip: public_ip(world.next_id),
                allocation_id: allocation_id.clone(),
                nat_gateway: None,
                tags: tag_specifications(p),
            };
            let out = respond(ctx, operation, |x| {
                x.text("publicIp", &address.public_ip)
                    .text("domain", "vpc")
                    .text("allocationId", &address.allocation_id);
            });
            world.ec2.addresses.insert(allocation_id, address);
            Ok(out)
        }
        "ReleaseAddress" => {
            let id = p.required("AllocationId")?;
            let address = world
                .ec2
                .addresses
                .get(id)
                .ok_or_else(|| not_found("InvalidAllocationID.NotFound", "allocation", id))?;
            if address.nat_gateway.is_some() {
                return Err(ApiError::bad_request("InvalidIPAddress.InUse", "Address is in use."));
            }
            world.ec2.addresses.remove(id);
            Ok(ok(operation))
        }
        "DescribeAddresses" => {
            let ids = p.strings("AllocationId");
            if let Some(missing) = ids.iter().find(|id| !world.ec2.addresses.contains_key(*id)) {
                return Err(not_found("InvalidAllocationID.NotFound", "allocation", missing));
            }
            let filters = filters(p);
            let addresses: Vec<&ElasticIp> = world
                .ec2
                .addresses
                .values()
                .filter(|a| ids.is_empty() || ids.contains(&a.allocation_id))
                .filter(|a| {
                    matches_filters(
                        &filters,
                        |name| match name {
                            "allocation-id" => Some(vec![a.allocation_id.clone()]),
                            "public-ip" => Some(vec![a.public_ip.clone()]),
                            "domain" => Some(vec!["vpc".into()]),
                            _ => None,
                        },
                        &a.tags,
                    )
                })
                .collect();
            Ok(respond(ctx, operation, |x| {
                x.open("addressesSet");
                for a in addresses {
                    x.open("item")
                        .text("publicIp", &a.public_ip)
                        .text("allocationId", &a.allocation_id)
                        .text("domain", "vpc");
                    tags_xml(x, &a.tags);
                    x.close("item");
                }
                x.close("addressesSet");
            }))
        }
        "CreateNatGateway" => {
            let subnet = p.required("SubnetId")?;
            let vpc_id = subnet_vpc(world, subnet)?;
            let connectivity = p.get("ConnectivityType").unwrap_or("public").to_owned();
            let allocation_id = p.get("AllocationId").map(str::to_owned);
            match (&allocation_id, connectivity.as_str()) {
                (None, "public") => {
                    return Err(ApiError::bad_request(
                        "MissingParameter",
                        "The request must contain the parameter AllocationId",
                    ));
                }
                (Some(allocation), _) => {
                    let address = world
                        .ec2
                        .addresses
                        .get(allocation)
                        .ok_or_else(|| not_found("InvalidAllocationID.NotFound", "allocation", allocation))?;
                    if address.nat_gateway.is_some() {
                        return Err(ApiError::bad_request(
                            "Resource.AlreadyAssociated",
                            format!("Elastic IP address [{allocation}] is already associated"),
                        ));
                    }
                }
                (None, _) => {}
            }
            let id = world.id("nat");
            let gateway = NatGateway {
                id: id.clone(),
                subnet_id: subnet.to_owned(),
                vpc_id,
                allocation_id: allocation_id.clone(),
                connectivity,
                created: ctx.now,
                timeline: Timeline(vec![(now, "pending".into()), (ctx.after(NAT_STARTING), "available".into())]),
                tags: tag_specifications(p),
            };
            if let Some(address) = allocation_id.and_then(|a| world.ec2.addresses.get_mut(&a)) {
                address.nat_gateway = Some(id.clone());
            }
            let out = respond(ctx, operation, |x| nat_xml(x, "natGateway", &gateway, world, now));
            world.ec2.nat_gateways.insert(id, gateway);
            Ok(out)
        }
        "DeleteNatGateway" => {
            let id = p.required("NatGatewayId")?.to_owned();
            let deleted = ctx.after(NAT_DELETING);
            let gateway = world.ec2.nat_gateways.get_mut(&id).ok_or_else(|| {
                ApiError::bad_request("NatGatewayNotFound", format!("The Nat Gateway {id} was not found"))
            })?;
            gateway.timeline.replan(now, &[(now, "deleting"), (deleted, "deleted")]);
            let allocation = gateway.allocation_id.clone();
            if let Some(address) = allocation.and_then(|a| world.ec2.addresses.get_mut(&a)) {
                address.nat_gateway = None;
            }
            Ok(respond(ctx, operation, |x| {
                x.text("natGatewayId", &id);
            }))
        }
        "DescribeNatGateways" => {
            let ids = p.strings("NatGatewayId");
            let filters = filters(p);
            let gateways: Vec<&NatGateway> = world
                .ec2
                .nat_gateways
                .values()
                .filter(|n| ids.is_empty() || ids.contains(&n.id))
                .filter(|n| {
                    matches_filters(
                        &filters,
                        |name| match name {
                            "nat-gateway-id" => Some(vec![n.id.clone()]),
                            "vpc-id" => Some(vec![n.vpc_id.clone()]),
                            "subnet-id" => Some(vec![n.subnet_id.clone()]),
                            "state" => Some(vec![n.timeline.at(now).to_owned()]),
                            _ => None,
                        },
                        &n.tags,
                    )
                })
                .collect();
            let (gateways, next) = ec2_page(gateways, p, ctx)?;
            Ok(respond(ctx, operation, |x| {
                x.open("natGatewaySet");
                for n in gateways {
                    nat_xml(x, "item", n, world, now);
                }
                x.close("natGatewaySet");
                next_token_xml(x, next.as_ref());
            }))
        }
        "CreateRouteTable" => {
            let vpc_id = p.required("VpcId")?;
            let cidr = world
                .ec2
                .vpcs
                .get(vpc_id)
                .map(|v| v.cidr.clone())
                .ok_or_else(|| not_found("InvalidVpcID.NotFound", "vpc", vpc_id))?;
            let table = RouteTable {
                id: world.id("rtb"),
                vpc_id: vpc_id.to_owned(),
                main: false,
                main_association: None,
                associations: Default::default(),
                routes: vec![Route { destination: cidr, target: "local".into(), origin: "CreateRouteTable".into() }],
                tags: tag_specifications(p),
            };
            let out = respond(ctx, operation, |x| route_table_xml(x, "routeTable", &table, account));
            world.ec2.route_tables.insert(table.id.clone(), table);
            Ok(out)
        }
        "DeleteRouteTable" => {
            let id = p.required("RouteTableId")?;
            let table = world
                .ec2
                .route_tables
                .get(id)
                .ok_or_else(|| not_found("InvalidRouteTableID.NotFound", "route table", id))?;
            if table.main || !table.associations.is_empty() {
                return Err(ApiError::bad_request(
                    "DependencyViolation",
                    format!("The routeTable '{id}' has dependencies and cannot be deleted."),
                ));
            }
            world.ec2.route_tables.remove(id);
            Ok(ok(operation))
        }
        "AssociateRouteTable" => {
            let (id, subnet) = (p.required("RouteTableId")?, p.required("SubnetId")?);
            let vpc = subnet_vpc(world, subnet)?;
            if world.ec2.route_tables.values().any(|t| t.associations.values().any(|s| s == subnet)) {
                return Err(ApiError::bad_request(
                    "Resource.AlreadyAssociated",
                    format!("the specified association for route table {id} conflicts with an existing association"),
                ));
            }
            let association = world.id("rtbassoc");
            let table = world
                .ec2
                .route_tables
                .get_mut(id)
                .ok_or_else(|| not_found("InvalidRouteTableID.NotFound", "route table", id))?;
            if table.vpc_id != vpc {
                return Err(ApiError::bad_request(
                    "InvalidParameterValue",
                    format!("route table {id} and subnet {subnet} belong to different networks"),
                ));
            }
            table.associations.insert(association.clone(), subnet.to_owned());
            Ok(respond(ctx, operation, |x| {
                x.text("associationId", &association);
                x.open("associationState").text("state", "associated").close("associationState");
            }))
        }
        "DisassociateRouteTable" => {
            let association = p.required("AssociationId")?;
            let table = world
                .ec2
                .route_tables
                .values_mut()
                .find(|t| t.associations.contains_key(association))
                .ok_or_else(|| not_found("InvalidAssociationID.NotFound", "association", association))?;
            table.associations.remove(association);
            Ok(ok(operation))
        }
        "CreateRoute" | "DeleteRoute" => {
            let id = p.required("RouteTableId")?.to_owned();
            let destination = p.get("DestinationCidrBlock").or(p.get("DestinationPrefixListId")).ok_or_else(|| {
                ApiError::bad_request(
                    "MissingParameter",
                    "The request must contain the parameter destinationCidrBlock or destinationPrefixListId",
                )
            })?;
            let destination = match canonical_v4(destination) {
                Some(cidr) if !destination.starts_with("pl-") => cidr_text(cidr),
                _ => destination.to_owned(),
            };
            let vpc = world
                .ec2
                .route_tables
                .get(&id)
                .map(|t| t.vpc_id.clone())
                .ok_or_else(|| not_found("InvalidRouteTableID.NotFound", "route table", &id))?;
            if operation == "DeleteRoute" {
                let table = world
                    .ec2
                    .route_tables
                    .get_mut(&id)
                    .ok_or_else(|| not_found("InvalidRouteTableID.NotFound", "route table", &id))?;
                let before = table.routes.len();
                table.routes.retain(|r| r.destination != destination || r.target == "local");
                if table.routes.len() == before {
                    return Err(ApiError::bad_request(
                        "InvalidRoute.NotFound",
                        format!("no route with destination-cidr-block {destination} in route table {id}"),
                    ));
                }
                return Ok(ok(operation));
            }
            let target = if let Some(gateway) = p.get("GatewayId") {
                let attached = world
                    .ec2
                    .internet_gateways
                    .get(gateway)
                    .ok_or_else(|| not_found("InvalidGatewayID.NotFound", "gateway", gateway))?;
                if attached.vpc_id.as_deref() != Some(vpc.as_str()) {
                    return Err(ApiError::bad_request(
                        "InvalidParameterValue",
                        format!("route table {id} and network gateway {gateway} belong to different networks"),
                    ));
                }
                gateway.to_owned()
            } else if let Some(nat) = p.get("NatGatewayId") {
                let gateway = world
                    .ec2
                    .nat_gateways
                    .get(nat)
                    .ok_or_else(|| not_found("InvalidNatGatewayID.NotFound", "NAT gateway", nat))?;
                if gateway.vpc_id != vpc {
                    return Err(ApiError::bad_request(
                        "InvalidParameterValue",
                        format!("route table {id} and NAT gateway {nat} belong to different networks"),
                    ));
                }
                nat.to_owned()
            } else {
                return Err(ApiError::bad_request(
                    "InvalidParameterCombination",
                    "The sandbox routes to an internet gateway (GatewayId) or a NAT gateway (NatGatewayId)",
                ));
            };
            let table = world
                .ec2
                .route_tables
                .get_mut(&id)
                .ok_or_else(|| not_found("InvalidRouteTableID.NotFound", "route table", &id))?;
            if table.routes.iter().any(|r| r.destination == destination) {
                return Err(ApiError::bad_request(
                    "RouteAlreadyExists",
                    format!("The route identified by {destination} already exists."),
                ));
            }
            table.routes.push(Route { destination, target, origin: "CreateRoute".into() });
            Ok(ok(operation))
        }
        "DescribeRouteTables" => {
            let ids = p.strings("RouteTableId");
            if let Some(missing) = ids.iter().find(|id| !world.ec2.route_tables.contains_key(*id)) {
                return Err(not_found("InvalidRouteTableID.NotFound", "route table", missing));
            }
            let filters = filters(p);
            let tables: Vec<&RouteTable> = world
                .ec2
                .route_tables
                .values()
                .filter(|t| ids.is_empty() || ids.contains(&t.id))
                .filter(|t| {
                    matches_filters(
                        &filters,
                        |name| match name {
                            "route-table-id" => Some(vec![t.id.clone()]),
                            "vpc-id" => Some(vec![t.vpc_id.clone()]),
                            "association.subnet-id" => Some(t.associations.values().cloned().collect()),
                            "association.main" => Some(vec![t.main.to_string()]),
                            _ => None,
                        },
                        &t.tags,
                    )
                })
                .collect();
            let (tables, next) = ec2_page(tables, p, ctx)?;
            Ok(respond(ctx, operation, |x| {
                x.open("routeTableSet");
                for t in tables {
                    route_table_xml(x, "item", t, account);
                }
                x.close("routeTableSet");
                next_token_xml(x, next.as_ref());
            }))
        }
        "CreateVpcEndpoint" => {
            let vpc_id = p.required("VpcId")?;
            if !world.ec2.vpcs.contains_key(vpc_id) {
                return Err(not_found("InvalidVpcID.NotFound", "vpc", vpc_id));
            }
            let service_name = p.required("ServiceName")?.to_owned();
            let endpoint_type = p.get("VpcEndpointType").unwrap_or("Gateway").to_owned();
            let service = service_name
                .strip_prefix(&format!("com.amazonaws.{}.", ctx.region))
                .or_else(|| (service_name == format!("aws.sagemaker.{}.studio", ctx.region)).then_some("studio"));
            // Gateway endpoints exist for S3 and DynamoDB only (VPC User Guide, "Gateway endpoints").
            let valid = matches!(
                (service, endpoint_type.as_str()),
                (Some("s3" | "dynamodb"), "Gateway") | (Some(_), "Interface")
            );
            if !valid {
                return Err(ApiError::bad_request(
                    "InvalidServiceName",
                    format!("The Vpc Endpoint Service '{service_name}' does not exist"),
                ));
            }
            let subnet_ids = p.strings("SubnetId");
            let route_table_ids = p.strings("RouteTableId");
            for subnet in &subnet_ids {
                if subnet_vpc(world, subnet)? != vpc_id {
                    return Err(ApiError::bad_request(
                        "InvalidParameter",
                        format!("The subnet {subnet} is not in {vpc_id}"),
                    ));
                }
            }
            for table in &route_table_ids {
                if world.ec2.route_tables.get(table).is_none_or(|t| t.vpc_id != vpc_id) {
                    return Err(not_found("InvalidRouteTableId.NotFound", "route table", table));
                }
            }
            let endpoint = VpcEndpoint {
                id: world.id("vpce"),
                vpc_id: vpc_id.to_owned(),
                service_name: service_name.clone(),
                endpoint_type: endpoint_type.clone(),
                subnet_ids,
                route_table_ids: route_table_ids.clone(),
                security_group_ids: p.strings("SecurityGroupId"),
                created: ctx.now,
                timeline: Timeline(vec![(now, "pending".into()), (ctx.after(ENDPOINT_STARTING), "available".into())]),
                tags: tag_specifications(p),
            };
            if endpoint_type == "Gateway" {
                let destination = prefix_list(&service_name);
                for table in route_table_ids {
                    if let Some(table) = world.ec2.route_tables.get_mut(&table) {
                        table.routes.push(Route {
                            destination: destination.clone(),
                            target: endpoint.id.clone(),
                            origin: "CreateVpcEndpoint".into(),
                        });
                    }
                }
            }
            let out = respond(ctx, operation, |x| endpoint_xml(x, "vpcEndpoint", &endpoint, world, account, now));
            world.ec2.vpc_endpoints.insert(endpoint.id.clone(), endpoint);
            Ok(out)
        }
        "DeleteVpcEndpoints" => {
            let ids = p.strings("VpcEndpointId");
            let mut unsuccessful = Vec::new();
            for id in ids {
                match world.ec2.vpc_endpoints.remove(&id) {
                    Some(endpoint) => {
                        for table in world.ec2.route_tables.values_mut() {
                            table.routes.retain(|r| r.target != endpoint.id);
                        }
                    }
                    None => unsuccessful.push(id),
                }
            }
            Ok(respond(ctx, operation, |x| {
                x.open("unsuccessful");
                for id in &unsuccessful {
                    x.open("item").open("error").text("code", "InvalidVpcEndpoint.NotFound");
                    x.text("message", &format!("The Vpc Endpoint Id '{id}' does not exist"));
                    x.close("error").text("resourceId", id).close("item");
                }
                x.close("unsuccessful");
            }))
        }
        "DescribeVpcEndpoints" => {
            let ids = p.strings("VpcEndpointId");
            if let Some(missing) = ids.iter().find(|id| !world.ec2.vpc_endpoints.contains_key(*id)) {
                return Err(not_found("InvalidVpcEndpointId.NotFound", "Vpc Endpoint", missing));
            }
            let filters = filters(p);
            let endpoints: Vec<&VpcEndpoint> = world
                .ec2
                .vpc_endpoints
                .values()
                .filter(|e| ids.is_empty() || ids.contains(&e.id))
                .filter(|e| {
                    matches_filters(
                        &filters,
                        |name| match name {
                            "vpc-endpoint-id" => Some(vec![e.id.clone()]),
                            "vpc-id" => Some(vec![e.vpc_id.clone()]),
                            "service-name" => Some(vec![e.service_name.clone()]),
                            "vpc-endpoint-type" => Some(vec![e.endpoint_type.clone()]),
                            "vpc-endpoint-state" => Some(vec![e.timeline.at(now).to_owned()]),
                            _ => None,
                        },
                        &e.tags,
                    )
                })
                .collect();
            let (endpoints, next) = ec2_page(endpoints, p, ctx)?;
            Ok(respond(ctx, operation, |x| {
                x.open("vpcEndpointSet");
                for e in endpoints {
                    endpoint_xml(x, "item", e, world, account, now);
                }
                x.close("vpcEndpointSet");
                next_token_xml(x, next.as_ref());
            }))
        }
        other => Err(ApiError::bad_request(
            "InvalidAction",
            format!("The action {other} is not valid for this web service."),
        )),
    }
}
