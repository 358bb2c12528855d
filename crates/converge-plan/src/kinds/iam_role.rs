//! An IAM role, its policies and its instance profile.

use converge_model::live::LiveIamRole;

use super::fields;
use crate::attrs::{Attrs, Documents, doc, tag_map};
use crate::desired::DesiredRole;
use crate::fields::Mutability::{InPlace, Replace};
use crate::value::Value;

fields! {
    Name = "name" => Replace("IAM cannot rename a role"),
    Path = "path" => Replace("IAM cannot move a role to another path"),
    Description = "description" => InPlace,
    Trust = "trust" => InPlace,
    ManagedPolicies = "managed_policies" => InPlace,
    InlinePolicies = "inline_policies" => InPlace,
    InstanceProfile = "instance_profile" => InPlace,
    MaxSessionDuration = "max_session_duration" => InPlace,
    Tags = "tags" => InPlace,
}

pub(crate) fn desired(role: &DesiredRole, documents: &Documents) -> Attrs {
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Name => Value::str(&role.name),
            Field::Path => Value::str(&role.path),
            Field::Description => Value::opt_str(role.description.as_deref()),
            Field::Trust => documents.doc(&role.trust_policy),
            Field::ManagedPolicies => Value::strings(&role.managed_policies),
            Field::InlinePolicies => {
                Value::Map(role.inline_policies.iter().map(|(k, d)| (k.clone(), documents.doc(d))).collect())
            }
            Field::InstanceProfile => Value::Bool(role.instance_profile),
            Field::MaxSessionDuration => Value::Int(role.max_session_duration),
            Field::Tags => tag_map(&role.tags),
        })
    })
}

pub(crate) fn live(role: &LiveIamRole) -> Attrs {
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Name => Value::str(&role.name),
            Field::Path => Value::str(&role.path),
            Field::Description => Value::opt_str(role.description.as_deref()),
            Field::Trust => doc(&role.assume_role_policy),
            Field::ManagedPolicies => Value::strings(&role.managed_policies),
            Field::InlinePolicies => {
                Value::Map(role.inline_policies.iter().map(|(k, d)| (k.clone(), doc(d))).collect())
            }
            Field::InstanceProfile => Value::Bool(role.instance_profile),
            Field::MaxSessionDuration => Value::Int(role.max_session_duration),
            Field::Tags => tag_map(&role.tags),
        })
    })
}
