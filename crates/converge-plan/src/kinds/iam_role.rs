//! An IAM role, its policies and its instance profile.

use std::collections::BTreeMap;

use converge_model::live::LiveIamRole;
use converge_model::{Address, IamRole, Tags, TrustPrincipal};
use converge_ops::{IamOp, Operation, Phase};

use super::fields;
use crate::attrs::{Attrs, Documents, doc, tag_map};
use crate::desired::{Resolver, sorted};
use crate::fields::Mutability::{InPlace, Replace};
use crate::normalize;
use crate::operations::{Changed, Context, ResourceOps};
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

// ---- what the spec wants --------------------------------------------------------

pub(crate) struct DesiredRole {
    pub name: String,
    pub path: String,
    pub description: Option<String>,
    pub trust_policy: String,
    pub managed_policies: Vec<String>,
    pub inline_policies: BTreeMap<String, String>,
    pub instance_profile: bool,
    pub max_session_duration: i64,
    pub tags: Tags,
}

/// The trust policy converge writes for a role.
pub(crate) fn trust_policy(r: &Resolver<'_>, role: &IamRole) -> serde_json::Value {
    let services: Vec<&str> = role
        .trust
        .iter()
        .filter_map(|p| match p {
            TrustPrincipal::Service(s) => Some(s.as_str()),
            TrustPrincipal::Role(_) => None,
        })
        .collect();
    let roles: Vec<String> = role
        .trust
        .iter()
        .filter_map(|p| match p {
            TrustPrincipal::Role(reference) => Some(r.role_arn(reference)),
            TrustPrincipal::Service(_) => None,
        })
        .collect();
    let mut statements = Vec::new();
    if !services.is_empty() {
        statements.push(
            serde_json::json!({"Effect": "Allow", "Principal": {"Service": services}, "Action": "sts:AssumeRole"}),
        );
    }
    if !roles.is_empty() {
        statements
            .push(serde_json::json!({"Effect": "Allow", "Principal": {"AWS": roles}, "Action": "sts:AssumeRole"}));
    }
    serde_json::json!({"Version": "2012-10-17", "Statement": statements})
}

/// What the spec wants of the iam role `name`, in AWS's terms.
pub(crate) fn wanted(r: &Resolver<'_>, name: &str) -> Option<DesiredRole> {
    let spec = r.spec;
    let role = spec.iam_roles.get(name)?;
    // Every key of the spec's role, so that a key added to the spec language
    // does not compile until the planner says what it means in AWS.
    let IamRole {
        name: _,
        path: _,
        description: _,
        trust: _,
        managed_policies: _,
        inline_policies: _,
        instance_profile: _,
        max_session_duration: _,
        tags: _,
        lifecycle: _,
    } = role;
    Some(DesiredRole {
        name: role.name.clone().unwrap_or_else(|| name.to_owned()),
        path: role.path.clone(),
        description: role.description.clone(),
        trust_policy: trust_policy(r, role).to_string(),
        managed_policies: sorted(role.managed_policies.clone()),
        inline_policies: role.inline_policies.iter().map(|(k, d)| (k.clone(), d.text.clone())).collect(),
        instance_profile: role.instance_profile,
        max_session_duration: role.max_session_duration,
        tags: r.tags(&role.tags),
    })
}

// ---- operations ----------------------------------------------------------------

pub(crate) fn create_role(ctx: &Context<'_>, ops: &mut ResourceOps, address: &Address, r: &DesiredRole, phase: Phase) {
    let create = ops.push(
        phase,
        Operation::Iam(IamOp::CreateRole {
            name: r.name.clone(),
            path: r.path.clone(),
            description: r.description.clone(),
            trust_policy: r.trust_policy.clone(),
            max_session_duration: r.max_session_duration,
            tags: ctx.creation_tags(address, &r.tags),
        }),
        &[
            Field::Name.path(),
            Field::Path.path(),
            Field::Description.path(),
            Field::Trust.path(),
            Field::MaxSessionDuration.path(),
            Field::Tags.path(),
        ],
        &[],
    );
    let role = &r.name;
    if !r.managed_policies.is_empty() {
        let operation =
            Operation::Iam(IamOp::AttachRolePolicies { role: role.clone(), policy_arns: r.managed_policies.clone() });
        ops.push(phase, operation, &[Field::ManagedPolicies.path()], &[create]);
    }
    if !r.inline_policies.is_empty() {
        let operation =
            Operation::Iam(IamOp::PutRolePolicies { role: role.clone(), policies: r.inline_policies.clone() });
        ops.push(phase, operation, &[Field::InlinePolicies.path()], &[create]);
    }
    if r.instance_profile {
        let tags = ctx.part_tags(address, &r.tags);
        let operation = Operation::Iam(IamOp::CreateInstanceProfile { name: role.clone(), role: role.clone(), tags });
        ops.push(phase, operation, &[Field::InstanceProfile.path()], &[create]);
    }
}

pub(crate) fn update_role(
    ctx: &Context<'_>,
    ops: &mut ResourceOps,
    address: &Address,
    r: &DesiredRole,
    live: &LiveIamRole,
    changed: &Changed<'_>,
) {
    let role = live.name.clone();
    let update = Phase::Update;
    if changed.any(&[Field::Description.path(), Field::MaxSessionDuration.path()]) {
        let operation = Operation::Iam(IamOp::UpdateRole {
            role: role.clone(),
            description: r.description.clone().unwrap_or_default(),
            max_session_duration: r.max_session_duration,
        });
        ops.push(update, operation, &[Field::Description.path(), Field::MaxSessionDuration.path()], &[]);
    }
    if changed.has(Field::Trust.path()) {
        let operation =
            Operation::Iam(IamOp::UpdateAssumeRolePolicy { role: role.clone(), policy: r.trust_policy.clone() });
        ops.push(update, operation, &[Field::Trust.path()], &[]);
    }
    if changed.has(Field::ManagedPolicies.path()) {
        let attach: Vec<String> =
            r.managed_policies.iter().filter(|p| !live.managed_policies.contains(p)).cloned().collect();
        let mut detach: Vec<String> =
            live.managed_policies.iter().filter(|p| !r.managed_policies.contains(p)).cloned().collect();
        detach.sort();
        if !attach.is_empty() {
            ops.push(
                update,
                Operation::Iam(IamOp::AttachRolePolicies { role: role.clone(), policy_arns: attach }),
                &[Field::ManagedPolicies.path()],
                &[],
            );
        }
        if !detach.is_empty() {
            ops.push(
                update,
                Operation::Iam(IamOp::DetachRolePolicies { role: role.clone(), policy_arns: detach }),
                &[Field::ManagedPolicies.path()],
                &[],
            );
        }
    }
    if changed.has(Field::InlinePolicies.path()) {
        let same =
            |a: &str, b: &str| normalize::policy(a).zip(normalize::policy(b)).is_some_and(|(a, b)| a == b) || a == b;
        let put: std::collections::BTreeMap<String, String> = r
            .inline_policies
            .iter()
            .filter(|(name, text)| live.inline_policies.get(*name).is_none_or(|old| !same(old, text)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let delete: Vec<String> =
            live.inline_policies.keys().filter(|name| !r.inline_policies.contains_key(*name)).cloned().collect();
        if !put.is_empty() {
            ops.push(
                update,
                Operation::Iam(IamOp::PutRolePolicies { role: role.clone(), policies: put }),
                &[Field::InlinePolicies.path()],
                &[],
            );
        }
        if !delete.is_empty() {
            ops.push(
                update,
                Operation::Iam(IamOp::DeleteRolePolicies { role: role.clone(), names: delete }),
                &[Field::InlinePolicies.path()],
                &[],
            );
        }
    }
    if changed.has(Field::InstanceProfile.path()) {
        let operation = if r.instance_profile {
            Operation::Iam(IamOp::CreateInstanceProfile {
                name: role.clone(),
                role: role.clone(),
                tags: ctx.part_tags(address, &r.tags),
            })
        } else {
            Operation::Iam(IamOp::DeleteInstanceProfile { name: role.clone(), role: Some(role.clone()) })
        };
        ops.push(update, operation, &[Field::InstanceProfile.path()], &[]);
    }
}

/// IAM deletes a role only once nothing is attached: the instance profile,
/// managed policies and inline policies go first.
pub(crate) fn delete_role(ops: &mut ResourceOps, r: &LiveIamRole, phase: Phase) {
    let role = r.name.clone();
    let mut first = Vec::new();
    if r.instance_profile {
        let operation = Operation::Iam(IamOp::DeleteInstanceProfile { name: role.clone(), role: Some(role.clone()) });
        first.push(ops.push(phase, operation, &[], &[]));
    }
    if !r.managed_policies.is_empty() {
        let mut arns = r.managed_policies.clone();
        arns.sort();
        first.push(ops.push(
            phase,
            Operation::Iam(IamOp::DetachRolePolicies { role: role.clone(), policy_arns: arns }),
            &[],
            &[],
        ));
    }
    if !r.inline_policies.is_empty() {
        let names = r.inline_policies.keys().cloned().collect();
        first.push(ops.push(phase, Operation::Iam(IamOp::DeleteRolePolicies { role: role.clone(), names }), &[], &[]));
    }
    ops.push(phase, Operation::Iam(IamOp::DeleteRole { role }), &[], &first);
}
