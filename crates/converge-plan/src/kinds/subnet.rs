//! A subnet.

use converge_model::live::LiveSubnet;

use super::fields;
use crate::attrs::{Attrs, tag_map};
use crate::desired::DesiredSubnet;
use crate::fields::Mutability::{InPlace, Replace};
use crate::normalize;
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
