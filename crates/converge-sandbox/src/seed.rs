//! What exists in an account before converge: the VPCs and buckets a spec
//! names but does not manage, put in place for demos and tests.

use crate::state::{ElasticIp, InternetGateway, NatGateway, Route, RouteTable, Subnet, Tags, Timeline, Vpc, World};

/// Resources to create with the ids and names given (an AWS API could not choose them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seed {
    /// VPC id and IPv4 range: `("vpc-0b4c…", "10.0.0.0/16")`.
    pub vpcs: Vec<(String, String)>,
    /// S3 bucket names.
    pub buckets: Vec<String>,
    /// The ARNs of the account's own managed policies (`arn:aws:iam::<account>:policy/…`).
    pub policies: Vec<String>,
    /// How the seeded VPCs reach the internet.
    pub network: SeedNetwork,
}

/// The network of a seeded VPC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SeedNetwork {
    /// What `CreateVpc` gives: a main route table with the local route only.
    /// Every subnet is private and reaches nothing outside the VPC.
    #[default]
    Isolated,
    /// The usual platform VPC: an internet gateway, a public subnet (the
    /// VPC's last /28, tagged `Name = public`) routing to it and holding a NAT
    /// gateway with an elastic IP, and the main route table sending 0.0.0.0/0
    /// to the NAT gateway, so subnets converge creates are private behind it.
    NatGateway,
}

pub(crate) fn apply(world: &mut World, seed: &Seed, region: &str) {
    for (id, cidr) in &seed.vpcs {
        if world.ec2.vpcs.contains_key(id) {
            continue;
        }
        let vpc = Vpc { id: id.clone(), cidr: cidr.clone(), tags: Tags::default() };
        crate::ec2::create_main_route_table(world, &vpc);
        world.ec2.vpcs.insert(id.clone(), vpc.clone());
        if seed.network == SeedNetwork::NatGateway {
            nat_gateway(world, &vpc, region);
        }
    }
    for bucket in &seed.buckets {
        world.s3.buckets.entry(bucket.clone()).or_default();
    }
    for policy in &seed.policies {
        if !world.iam.policies.contains(policy) {
            world.iam.policies.push(policy.clone());
        }
    }
}

/// An internet gateway, a public subnet with a NAT gateway, and the main route table through it.
fn nat_gateway(world: &mut World, vpc: &Vpc, region: &str) {
    let Some(public_cidr) = last_slash_28(&vpc.cidr) else { return };
    let gateway = world.id("igw");
    world.ec2.internet_gateways.insert(
        gateway.clone(),
        InternetGateway { id: gateway.clone(), vpc_id: Some(vpc.id.clone()), tags: Tags::default() },
    );
    let subnet = world.id("subnet");
    world.ec2.subnets.insert(
        subnet.clone(),
        Subnet {
            id: subnet.clone(),
            vpc_id: vpc.id.clone(),
            cidr: public_cidr,
            availability_zone: format!("{region}a"),
            tags: Tags::from([("Name".to_owned(), "public".to_owned())]),
        },
    );
    let table = world.id("rtb");
    let association = world.id("rtbassoc");
    world.ec2.route_tables.insert(
        table.clone(),
        RouteTable {
            id: table,
            vpc_id: vpc.id.clone(),
            main: false,
            main_association: None,
            associations: [(association, subnet.clone())].into(),
            routes: vec![
                Route { destination: vpc.cidr.clone(), target: "local".into(), origin: "CreateRouteTable".into() },
                Route { destination: "0.0.0.0/0".into(), target: gateway, origin: "CreateRoute".into() },
            ],
            tags: Tags::from([("Name".to_owned(), "public".to_owned())]),
        },
    );
    let allocation = world.id("eipalloc");
    let nat = world.id("nat");
    world.ec2.addresses.insert(
        allocation.clone(),
        ElasticIp {
            allocation_id: allocation.clone(),
            public_ip: "203.0.113.10".into(),
            nat_gateway: Some(nat.clone()),
            tags: Tags::default(),
        },
    );
    world.ec2.nat_gateways.insert(
        nat.clone(),
        NatGateway {
            id: nat.clone(),
            subnet_id: subnet,
            vpc_id: vpc.id.clone(),
            allocation_id: Some(allocation),
            connectivity: "public".into(),
            created: 0,
            timeline: Timeline(vec![(0, "available".into())]),
            tags: Tags::default(),
        },
    );
    if let Some(main) = world.ec2.route_tables.values_mut().find(|t| t.vpc_id == vpc.id && t.main) {
        main.routes.push(Route { destination: "0.0.0.0/0".into(), target: nat, origin: "CreateRoute".into() });
    }
}

/// The last /28 of an IPv4 range: `10.0.0.0/16` → `10.0.255.240/28`.
fn last_slash_28(cidr: &str) -> Option<String> {
    let (address, prefix) = cidr.split_once('/')?;
    let address: std::net::Ipv4Addr = address.parse().ok()?;
    let prefix: u32 = prefix.parse().ok().filter(|p| *p <= 28)?;
    let size = 1u32 << (32 - prefix);
    let last = (u32::from(address) & !(size - 1)) + size - 16;
    Some(format!("{}/28", std::net::Ipv4Addr::from(last)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_public_subnet_is_the_last_slash_28() {
        assert_eq!(super::last_slash_28("10.0.0.0/16").as_deref(), Some("10.0.255.240/28"));
        assert_eq!(super::last_slash_28("10.20.0.0/16").as_deref(), Some("10.20.255.240/28"));
        assert_eq!(super::last_slash_28("10.0.0.0/29"), None);
    }
}
