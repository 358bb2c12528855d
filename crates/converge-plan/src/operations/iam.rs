//! IAM roles, their policies and instance profiles.

use converge_model::Address;
use converge_model::live::LiveIamRole;
use converge_ops::{IamOp, Operation, Phase};

use super::{Changed, Context, ResourceOps};
use crate::desired::DesiredRole;
use crate::kinds::iam_role::Field as RoleField;
use crate::normalize;

pub(super) fn create_role(ctx: &Context<'_>, ops: &mut ResourceOps, address: &Address, r: &DesiredRole, phase: Phase) {
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
            RoleField::Name.path(),
            RoleField::Path.path(),
            RoleField::Description.path(),
            RoleField::Trust.path(),
            RoleField::MaxSessionDuration.path(),
            RoleField::Tags.path(),
        ],
        &[],
    );
    let role = &r.name;
    if !r.managed_policies.is_empty() {
        let operation =
            Operation::Iam(IamOp::AttachRolePolicies { role: role.clone(), policy_arns: r.managed_policies.clone() });
        ops.push(phase, operation, &[RoleField::ManagedPolicies.path()], &[create]);
    }
    if !r.inline_policies.is_empty() {
        let operation =
            Operation::Iam(IamOp::PutRolePolicies { role: role.clone(), policies: r.inline_policies.clone() });
        ops.push(phase, operation, &[RoleField::InlinePolicies.path()], &[create]);
    }
    if r.instance_profile {
        let tags = ctx.part_tags(address, &r.tags);
        let operation = Operation::Iam(IamOp::CreateInstanceProfile { name: role.clone(), role: role.clone(), tags });
        ops.push(phase, operation, &[RoleField::InstanceProfile.path()], &[create]);
    }
}

pub(super) fn update_role(
    ctx: &Context<'_>,
    ops: &mut ResourceOps,
    address: &Address,
    r: &DesiredRole,
    live: &LiveIamRole,
    changed: &Changed<'_>,
) {
    let role = live.name.clone();
    let update = Phase::Update;
    if changed.any(&[RoleField::Description.path(), RoleField::MaxSessionDuration.path()]) {
        let operation = Operation::Iam(IamOp::UpdateRole {
            role: role.clone(),
            description: r.description.clone().unwrap_or_default(),
            max_session_duration: r.max_session_duration,
        });
        ops.push(update, operation, &[RoleField::Description.path(), RoleField::MaxSessionDuration.path()], &[]);
    }
    if changed.has(RoleField::Trust.path()) {
        let operation =
            Operation::Iam(IamOp::UpdateAssumeRolePolicy { role: role.clone(), policy: r.trust_policy.clone() });
        ops.push(update, operation, &[RoleField::Trust.path()], &[]);
    }
    if changed.has(RoleField::ManagedPolicies.path()) {
        let attach: Vec<String> =
            r.managed_policies.iter().filter(|p| !live.managed_policies.contains(p)).cloned().collect();
        let mut detach: Vec<String> =
            live.managed_policies.iter().filter(|p| !r.managed_policies.contains(p)).cloned().collect();
        detach.sort();
        if !attach.is_empty() {
            ops.push(
                update,
                Operation::Iam(IamOp::AttachRolePolicies { role: role.clone(), policy_arns: attach }),
                &[RoleField::ManagedPolicies.path()],
                &[],
            );
        }
        if !detach.is_empty() {
            ops.push(
                update,
                Operation::Iam(IamOp::DetachRolePolicies { role: role.clone(), policy_arns: detach }),
                &[RoleField::ManagedPolicies.path()],
                &[],
            );
        }
    }
    if changed.has(RoleField::InlinePolicies.path()) {
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
                &[RoleField::InlinePolicies.path()],
                &[],
            );
        }
        if !delete.is_empty() {
            ops.push(
                update,
                Operation::Iam(IamOp::DeleteRolePolicies { role: role.clone(), names: delete }),
                &[RoleField::InlinePolicies.path()],
                &[],
            );
        }
    }
    if changed.has(RoleField::InstanceProfile.path()) {
        let operation = if r.instance_profile {
            Operation::Iam(IamOp::CreateInstanceProfile {
                name: role.clone(),
                role: role.clone(),
                tags: ctx.part_tags(address, &r.tags),
            })
        } else {
            Operation::Iam(IamOp::DeleteInstanceProfile { name: role.clone(), role: Some(role.clone()) })
        };
        ops.push(update, operation, &[RoleField::InstanceProfile.path()], &[]);
    }
}

/// IAM deletes a role only once nothing is attached: the instance profile,
/// managed policies and inline policies go first.
pub(super) fn delete_role(ops: &mut ResourceOps, r: &LiveIamRole, phase: Phase) {
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
