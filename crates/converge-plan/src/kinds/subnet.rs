//! A subnet.

use converge_model::Address;
use converge_model::live::LiveSubnet;
use converge_ops::{Ec2Op, Id, Operation, Phase};

use super::fields;
use crate::attrs::{Attrs, tag_map};
use crate::desired::DesiredSubnet;
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
