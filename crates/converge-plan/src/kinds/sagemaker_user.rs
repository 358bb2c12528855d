//! A SageMaker Studio user profile.

use converge_model::live::LiveSagemakerUser;

use super::fields;
use crate::attrs::{Attrs, live_sharing, sharing, tag_map};
use crate::desired::DesiredUser;
use crate::fields::Mutability::{InPlace, Replace};
use crate::value::Value;

fields! {
    Domain = "domain" => Replace("a user profile belongs to one domain"),
    Name = "name" => Replace("SageMaker cannot rename a user profile"),
    SsoUserName = "sso_user_name" => Replace("UpdateUserProfile cannot change a profile's IAM Identity Center user"),
    ExecutionRole = "execution_role" => InPlace,
    SecurityGroups = "security_groups" => InPlace,
    Sharing = "sharing" => InPlace,
    Tags = "tags" => InPlace,
}

pub(crate) fn desired(u: &DesiredUser) -> Attrs {
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Domain => Value::id(&u.domain),
            Field::Name => Value::str(&u.name),
            Field::SsoUserName => Value::opt_str(u.sso_user_name.as_deref()),
            Field::ExecutionRole => Value::opt_str(u.settings.execution_role.as_deref()),
            Field::SecurityGroups => Value::ids(&u.settings.security_groups),
            Field::Sharing => sharing(u.settings.sharing.as_ref()),
            Field::Tags => tag_map(&u.tags),
        })
    })
}

pub(crate) fn live(u: &LiveSagemakerUser) -> Attrs {
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Domain => Value::str(&u.domain_id),
            Field::Name => Value::str(&u.name),
            Field::SsoUserName => Value::opt_str(u.sso_user_name.as_deref()),
            Field::ExecutionRole => Value::opt_str(u.execution_role.as_deref()),
            Field::SecurityGroups => Value::strings(&u.security_group_ids),
            Field::Sharing => live_sharing(u.sharing.as_ref()),
            Field::Tags => tag_map(&u.tags),
        })
    })
}
