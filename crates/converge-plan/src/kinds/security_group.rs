//! A security group and its rules.

use converge_model::live::LiveSecurityGroup;
use converge_ops::Id;

use super::fields;
use crate::attrs::{Attrs, live_rules, rules_value, tag_map};
use crate::desired::DesiredGroup;
use crate::fields::Mutability::{InPlace, Replace};
use crate::value::Value;

fields! {
    Vpc = "vpc" => Replace("a security group cannot move to another VPC"),
    Name = "name" => Replace("EC2 cannot rename a security group"),
    Description = "description" => Replace("EC2 cannot change a security group's description"),
    Ingress = "ingress" => InPlace,
    Egress = "egress" => InPlace,
    Tags = "tags" => InPlace,
}

/// `own` is the group's id, for rules naming the group itself.
pub(crate) fn desired(g: &DesiredGroup, own: &Id) -> Attrs {
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Vpc => Value::id(&g.vpc),
            Field::Name => Value::str(&g.name),
            Field::Description => Value::str(&g.description),
            Field::Ingress => rules_value(&g.ingress, own),
            Field::Egress => rules_value(&g.egress, own),
            Field::Tags => tag_map(&g.tags),
        })
    })
}

pub(crate) fn live(g: &LiveSecurityGroup) -> Attrs {
    let own = Id::known(&g.id);
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Vpc => Value::str(&g.vpc_id),
            Field::Name => Value::str(&g.name),
            Field::Description => Value::str(&g.description),
            Field::Ingress => rules_value(&live_rules(&g.ingress), &own),
            Field::Egress => rules_value(&live_rules(&g.egress), &own),
            Field::Tags => tag_map(&g.tags),
        })
    })
}
