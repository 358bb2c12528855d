//! The network around subnets through the real EC2 client: internet and NAT
//! gateways, elastic IPs, route tables and their associations, routes, VPC
//! endpoints — and what each keeps from being deleted.

mod common;

use aws_sdk_ec2::types::{Filter, VpcEndpointType};
use common::{code, sdk};
use converge_sandbox::{Config, Sandbox};

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

#[tokio::test]
async fn gateways_route_tables_and_endpoints() {
    let sandbox = Sandbox::start(Config { time_scale: 0.0005, ..Config::default() }).await.expect("starts");
    let config = sdk(&sandbox).await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.expect("vpc").vpc.and_then(|v| v.vpc_id);
    let vpc = vpc.expect("id");
    let subnet = |cidr: &'static str| {
        let ec2 = ec2.clone();
        let vpc = vpc.clone();
        async move {
            let created = ec2.create_subnet().vpc_id(vpc).cidr_block(cidr).send().await.expect("subnet");
            created.subnet.and_then(|s| s.subnet_id).expect("id")
        }
    };
    let (public, private) = (subnet("10.0.0.0/24").await, subnet("10.0.1.0/24").await);

    // A new VPC has a main route table with the local route; every subnet uses it.
    let tables = ec2.describe_route_tables().filters(filter("vpc-id", &vpc)).send().await.expect("tables");
    let main = &tables.route_tables()[0];
    assert_eq!(tables.route_tables().len(), 1);
    assert!(main.associations().iter().any(|a| a.main() == Some(true)));
    assert_eq!(main.routes()[0].gateway_id(), Some("local"));
    assert_eq!(main.routes()[0].destination_cidr_block(), Some("10.0.0.0/16"));
    let main_id = main.route_table_id().expect("id").to_owned();

    // An internet gateway, attached once.
    let igw =
        ec2.create_internet_gateway().send().await.expect("igw").internet_gateway.and_then(|g| g.internet_gateway_id);
    let igw = igw.expect("id");
    ec2.attach_internet_gateway().internet_gateway_id(&igw).vpc_id(&vpc).send().await.expect("attach");
    assert_eq!(
        code(ec2.attach_internet_gateway().internet_gateway_id(&igw).vpc_id(&vpc).send().await),
        "Resource.AlreadyAssociated"
    );
    let gateways =
        ec2.describe_internet_gateways().filters(filter("attachment.vpc-id", &vpc)).send().await.expect("describe");
    assert_eq!(gateways.internet_gateways()[0].attachments()[0].vpc_id(), Some(vpc.as_str()));

    // The public subnet's own route table sends 0.0.0.0/0 to the internet gateway.
    let table = ec2.create_route_table().vpc_id(&vpc).send().await.expect("table").route_table;
    let table = table.and_then(|t| t.route_table_id).expect("id");
    ec2.create_route()
        .route_table_id(&table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await
        .expect("route");
    assert_eq!(
        code(
            ec2.create_route().route_table_id(&table).destination_cidr_block("0.0.0.0/0").gateway_id(&igw).send().await
        ),
        "RouteAlreadyExists"
    );
    let association =
        ec2.associate_route_table().route_table_id(&table).subnet_id(&public).send().await.expect("associate");
    let association = association.association_id.expect("id");
    assert_eq!(
        code(ec2.associate_route_table().route_table_id(&main_id).subnet_id(&public).send().await),
        "Resource.AlreadyAssociated"
    );
    let by_subnet =
        ec2.describe_route_tables().filters(filter("association.subnet-id", &public)).send().await.expect("describe");
    assert_eq!(by_subnet.route_tables()[0].route_table_id(), Some(table.as_str()));

    // A NAT gateway in the public subnet, with an elastic IP; the main table routes through it.
    let allocation = ec2.allocate_address().send().await.expect("eip").allocation_id.expect("id");
    let nat = ec2.create_nat_gateway().subnet_id(&public).allocation_id(&allocation).send().await.expect("nat");
    let nat = nat.nat_gateway.expect("nat");
    assert_eq!(nat.state().map(|s| s.as_str()), Some("pending"));
    let nat = nat.nat_gateway_id.expect("id");
    assert_eq!(
        code(ec2.create_nat_gateway().subnet_id(&public).allocation_id(&allocation).send().await),
        "Resource.AlreadyAssociated",
        "one NAT gateway per elastic IP"
    );
    assert_eq!(code(ec2.release_address().allocation_id(&allocation).send().await), "InvalidIPAddress.InUse");
    ec2.create_route()
        .route_table_id(&main_id)
        .destination_cidr_block("0.0.0.0/0")
        .nat_gateway_id(&nat)
        .send()
        .await
        .expect("nat route");
    common::until("the NAT gateway is available", || async {
        let described = ec2.describe_nat_gateways().nat_gateway_ids(&nat).send().await.expect("describe");
        described.nat_gateways()[0].state().is_some_and(|s| s.as_str() == "available")
    })
    .await;
    let addresses = ec2.describe_addresses().allocation_ids(&allocation).send().await.expect("addresses");
    assert_eq!(addresses.addresses().len(), 1);

    // Endpoints: a gateway endpoint adds its prefix-list route; an interface endpoint sits in subnets.
    let s3 = ec2
        .create_vpc_endpoint()
        .vpc_id(&vpc)
        .service_name("com.amazonaws.us-east-1.s3")
        .vpc_endpoint_type(VpcEndpointType::Gateway)
        .route_table_ids(&main_id)
        .send()
        .await
        .expect("s3 endpoint");
    let s3 = s3.vpc_endpoint.and_then(|e| e.vpc_endpoint_id).expect("id");
    let api = ec2
        .create_vpc_endpoint()
        .vpc_id(&vpc)
        .service_name("com.amazonaws.us-east-1.sagemaker.api")
        .vpc_endpoint_type(VpcEndpointType::Interface)
        .subnet_ids(&private)
        .send()
        .await
        .expect("interface endpoint");
    let api = api.vpc_endpoint.and_then(|e| e.vpc_endpoint_id).expect("id");
    assert_eq!(
        code(
            ec2.create_vpc_endpoint()
                .vpc_id(&vpc)
                .service_name("com.amazonaws.us-east-1.sagemaker.api")
                .vpc_endpoint_type(VpcEndpointType::Gateway)
                .send()
                .await
        ),
        "InvalidServiceName",
        "gateway endpoints are for S3 and DynamoDB"
    );
    let main_routes = ec2.describe_route_tables().route_table_ids(&main_id).send().await.expect("main");
    let routes = main_routes.route_tables()[0].routes();
    assert!(routes.iter().any(|r| r.destination_prefix_list_id().is_some_and(|p| p.starts_with("pl-"))), "{routes:?}");
    assert!(routes.iter().any(|r| r.nat_gateway_id() == Some(nat.as_str())));
    common::until("the endpoints are available", || async {
        let described = ec2.describe_vpc_endpoints().filters(filter("vpc-id", &vpc)).send().await.expect("describe");
        described.vpc_endpoints().len() == 2
            && described.vpc_endpoints().iter().all(|e| e.state().is_some_and(|s| s.as_str() == "available"))
    })
    .await;

    // What holds what: a NAT gateway or an endpoint holds its subnet, a gateway the VPC.
    assert_eq!(code(ec2.delete_subnet().subnet_id(&public).send().await), "DependencyViolation");
    assert_eq!(code(ec2.delete_subnet().subnet_id(&private).send().await), "DependencyViolation");
    assert_eq!(code(ec2.delete_route_table().route_table_id(&table).send().await), "DependencyViolation");
    assert_eq!(code(ec2.delete_internet_gateway().internet_gateway_id(&igw).send().await), "DependencyViolation");

    // Taken apart again, in AWS's order.
    let deleted =
        ec2.delete_vpc_endpoints().vpc_endpoint_ids(&s3).vpc_endpoint_ids(&api).vpc_endpoint_ids("vpce-0nope").send();
    let deleted = deleted.await.expect("delete endpoints");
    assert_eq!(deleted.unsuccessful().len(), 1, "the unknown endpoint is reported, not an error");
    ec2.delete_route().route_table_id(&main_id).destination_cidr_block("0.0.0.0/0").send().await.expect("route");
    assert_eq!(
        code(ec2.delete_route().route_table_id(&main_id).destination_cidr_block("0.0.0.0/0").send().await),
        "InvalidRoute.NotFound"
    );
    ec2.delete_nat_gateway().nat_gateway_id(&nat).send().await.expect("delete nat");
    common::until("the NAT gateway is deleted", || async {
        let described = ec2.describe_nat_gateways().filter(filter("vpc-id", &vpc)).send().await.expect("describe");
        described.nat_gateways().iter().all(|n| n.state().is_some_and(|s| s.as_str() == "deleted"))
    })
    .await;
    ec2.release_address().allocation_id(&allocation).send().await.expect("release");
    ec2.disassociate_route_table().association_id(&association).send().await.expect("disassociate");
    ec2.delete_route_table().route_table_id(&table).send().await.expect("delete table");
    assert_eq!(code(ec2.delete_route_table().route_table_id(&main_id).send().await), "DependencyViolation");
    ec2.detach_internet_gateway().internet_gateway_id(&igw).vpc_id(&vpc).send().await.expect("detach");
    ec2.delete_internet_gateway().internet_gateway_id(&igw).send().await.expect("delete igw");
    ec2.delete_subnet().subnet_id(&public).send().await.expect("delete public");
    ec2.delete_subnet().subnet_id(&private).send().await.expect("delete private");
    ec2.delete_vpc().vpc_id(&vpc).send().await.expect("the VPC goes with its main route table");
    let left = ec2.describe_route_tables().send().await.expect("tables");
    assert!(left.route_tables().is_empty());
    sandbox.stop().await;
}
