//! A SageMaker Studio domain.

use converge_model::live::LiveSagemakerDomain;

use super::fields;
use crate::attrs::{Attrs, live_sharing, sharing, tag_map};
use crate::desired::DesiredDomain;
use crate::fields::Mutability::{InPlace, Replace};
use crate::value::Value;

fields! {
    Name = "name" => Replace("SageMaker cannot rename a domain"),
    AuthMode = "auth_mode" => Replace("the auth mode of a domain is fixed at creation"),
    Vpc = "vpc" => Replace("UpdateDomain cannot move a domain to another VPC"),
    KmsKey = "kms_key" => Replace("the home EFS encryption key is fixed at creation"),
    NetworkAccess = "network_access" => InPlace,
    Subnets = "subnets" => InPlace,
    ExecutionRole = "execution_role" => InPlace,
    SecurityGroups = "security_groups" => InPlace,
    Sharing = "sharing" => InPlace,
    HomeEfsOnDelete = "home_efs_on_delete" => InPlace,
    Tags = "tags" => InPlace,
}

pub(crate) fn desired(d: &DesiredDomain) -> Attrs {
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Name => Value::str(&d.name),
            Field::AuthMode => Value::str(d.auth_mode.aws()),
            Field::Vpc => Value::id(&d.vpc),
            Field::KmsKey => Value::opt_str(d.kms_key.as_deref()),
            Field::NetworkAccess => Value::str(d.network_access.aws()),
            Field::Subnets => Value::ids(&d.subnets),
            Field::ExecutionRole => Value::opt_str(d.settings.execution_role.as_deref()),
            Field::SecurityGroups => Value::ids(&d.settings.security_groups),
            Field::Sharing => sharing(d.settings.sharing.as_ref()),
            Field::HomeEfsOnDelete => Value::str(d.home_efs_on_delete.aws()),
            Field::Tags => tag_map(&d.tags),
        })
    })
}

pub(crate) fn live(d: &LiveSagemakerDomain) -> Attrs {
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Name => Value::str(&d.name),
            Field::AuthMode => Value::str(d.auth_mode.to_ascii_uppercase()),
            Field::Vpc => Value::str(&d.vpc_id),
            Field::KmsKey => Value::opt_str(d.kms_key.as_deref()),
            Field::NetworkAccess => Value::str(&d.network_access),
            Field::Subnets => Value::strings(&d.subnet_ids),
            Field::ExecutionRole => Value::str(&d.execution_role),
            Field::SecurityGroups => Value::strings(&d.security_group_ids),
            Field::Sharing => live_sharing(d.sharing.as_ref()),
            Field::HomeEfsOnDelete => Value::str(if d.retains_home_efs() { "Retain" } else { "Delete" }),
            Field::Tags => tag_map(&d.tags),
        })
    })
}
