//! A subnet.

use converge_model::live::LiveSubnet;
use converge_model::{Address, Kind, Subnet, Tags};
use converge_ops::{Ec2Op, Id, Operation, Phase};

use super::fields;
use crate::attrs::{Attrs, tag_map};
use crate::desired::Resolver;
use crate::fields::Mutability::{InPlace, Replace};
use crate::normalize;
use crate::operations::{Context, ResourceOps};
use crate::value::Value;

fields! {
    Vpc = "vpc" => Replace("a subnet cannot move to another VPC"),
    Cidr = "cidr" => Replace("EC2 cannot change a subnet's CIDR block"),
    AvailabilityZone = "availability_zone" => Replace("a subnet lives in one availability zone"),
    Tags = "tags" => InPlace,
}

pub(crate) fn desired(s: &DesiredSubnet) -> Attrs {
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Vpc => Value::id(&s.vpc),
            Field::Cidr => Value::str(&s.cidr),
            Field::AvailabilityZone => Value::str(&s.availability_zone),
            Field::Tags => tag_map(&s.tags),
        })
    })
}

pub(crate) fn live(s: &LiveSubnet) -> Attrs {
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Vpc => Value::str(&s.vpc_id),
            Field::Cidr => Value::Str(normalize::cidr(&s.cidr)),
            Field::AvailabilityZone => Value::str(&s.availability_zone),
            Field::Tags => tag_map(&s.tags),
        })
    })
}

// ---- what the spec wants --------------------------------------------------------

pub(crate) struct DesiredSubnet {
    pub vpc: Id,
    pub cidr: String,
    pub availability_zone: String,
    pub tags: Tags,
}

/// What the spec wants of the subnet `name`, in AWS's terms.
pub(crate) fn wanted(r: &Resolver<'_>, name: &str) -> Option<DesiredSubnet> {
    let spec = r.spec;
    let s = spec.subnets.get(name)?;
    // Every key of the spec's subnet, so that a key added to the spec language
    // does not compile until the planner says what it means in AWS.
    let Subnet { vpc: _, cidr: _, availability_zone: _, tags: _, lifecycle: _ } = s;
    Some(DesiredSubnet {
        vpc: r.id(&s.vpc, Kind::Vpc),
        cidr: normalize::cidr(&s.cidr),
        availability_zone: s.availability_zone.clone(),
        tags: r.tags(&s.tags),
    })
}

// ---- operations ----------------------------------------------------------------

pub(crate) fn create_subnet(
    ctx: &Context<'_>,
    ops: &mut ResourceOps,
    address: &Address,
    s: &DesiredSubnet,
    phase: Phase,
) {
    let operation = Operation::Ec2(Ec2Op::CreateSubnet {
        vpc: s.vpc.clone(),
        cidr: s.cidr.clone(),
        availability_zone: s.availability_zone.clone(),
        tags: ctx.creation_tags(address, &s.tags),
    });
    ops.push(
        phase,
        operation,
        &[Field::Vpc.path(), Field::Cidr.path(), Field::AvailabilityZone.path(), Field::Tags.path()],
        &[],
    );
}

pub(crate) fn delete_subnet(ops: &mut ResourceOps, s: &LiveSubnet, phase: Phase) {
    ops.push(phase, Operation::Ec2(Ec2Op::DeleteSubnet { subnet: Id::known(&s.id) }), &[], &[]);
}
