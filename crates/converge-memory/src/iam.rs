//! Roles, their policies and instance profiles, by IAM's rules.

use converge_executor::{ErrorClass, ExecError, Output};
use converge_model::live::LiveIamRole;
use converge_ops::IamOp;

use crate::{Account, Call};

/// IAM rejects documents that are not JSON, and trust policies naming roles that do not exist.
fn check_document(account: &Account, call: &Call<'_>, text: &str, trust: bool) -> Result<(), ExecError> {
    let document: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        call.fail(ErrorClass::Invalid, "MalformedPolicyDocument", format!("Syntax errors in policy: {e}"))
    })?;
    if !trust {
        return Ok(());
    }
    let statements = match &document["Statement"] {
        serde_json::Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    for statement in statements {
        let principals = match &statement["Principal"]["AWS"] {
            serde_json::Value::String(one) => vec![one.clone()],
            serde_json::Value::Array(many) => many.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        };
        for principal in principals {
            let own_role = principal.starts_with(&format!("arn:aws:iam::{}:role/", account.live.account));
            if own_role && !account.live.iam_roles.iter().any(|r| r.arn == principal) {
                return Err(call.fail(
                    ErrorClass::Invalid,
                    "MalformedPolicyDocument",
                    format!("Invalid principal in policy: \"AWS\":\"{principal}\""),
                ));
            }
        }
    }
    Ok(())
}

fn role<'a>(account: &'a mut Account, call: &Call<'_>, name: &str) -> Result<&'a mut LiveIamRole, ExecError> {
    account.live.iam_roles.iter_mut().find(|r| r.name == name).ok_or_else(|| {
        call.fail(ErrorClass::NotFound, "NoSuchEntity", format!("The role with name {name} cannot be found."))
    })
}

pub(crate) fn apply(account: &mut Account, call: &Call<'_>, op: &IamOp) -> Result<Output, ExecError> {
    match op {
        IamOp::CreateRole { name, path, description, trust_policy, max_session_duration, tags } => {
            if account.live.iam_roles.iter().any(|r| r.name.eq_ignore_ascii_case(name)) {
                return Err(call.fail(
                    ErrorClass::Invalid,
                    "EntityAlreadyExists",
                    format!("Role with name {name} already exists."),
                ));
            }
            if !(3600..=43200).contains(max_session_duration) {
                return Err(call.fail(
                    ErrorClass::Invalid,
                    "ValidationError",
                    "MaxSessionDuration must be between 3600 and 43200",
                ));
            }
            check_document(account, call, trust_policy, true)?;
            let path = if path.ends_with('/') { path.clone() } else { format!("{path}/") };
            account.live.iam_roles.push(LiveIamRole {
                name: name.clone(),
                arn: format!("arn:aws:iam::{}:role{path}{name}", account.live.account),
                path,
                description: description.clone(),
                assume_role_policy: trust_policy.clone(),
                managed_policies: Vec::new(),
                inline_policies: Default::default(),
                instance_profile: false,
                max_session_duration: *max_session_duration,
                tags: tags.clone(),
            });
            Ok(Output::none())
        }
        IamOp::UpdateRole { role: name, description, max_session_duration } => {
            let role = role(account, call, name)?;
            role.description = (!description.is_empty()).then(|| description.clone());
            role.max_session_duration = *max_session_duration;
            Ok(Output::none())
        }
        IamOp::UpdateAssumeRolePolicy { role: name, policy } => {
            check_document(account, call, policy, true)?;
            role(account, call, name)?.assume_role_policy = policy.clone();
            Ok(Output::none())
        }
        IamOp::AttachRolePolicies { role: name, policy_arns } => {
            if let Some(bad) = policy_arns.iter().find(|a| !a.starts_with("arn:")) {
                return Err(call.fail(ErrorClass::Invalid, "InvalidInput", format!("ARN {bad} is not valid.")));
            }
            let role = role(account, call, name)?;
            for arn in policy_arns {
                if !role.managed_policies.contains(arn) {
                    role.managed_policies.push(arn.clone());
                }
            }
            Ok(Output::none())
        }
        IamOp::DetachRolePolicies { role: name, policy_arns } => {
            let role = role(account, call, name)?;
            if let Some(missing) = policy_arns.iter().find(|a| !role.managed_policies.contains(a)) {
                return Err(call.fail(
                    ErrorClass::NotFound,
                    "NoSuchEntity",
                    format!("Policy {missing} was not found."),
                ));
            }
            role.managed_policies.retain(|a| !policy_arns.contains(a));
            Ok(Output::none())
        }
        IamOp::PutRolePolicies { role: name, policies } => {
            for text in policies.values() {
                check_document(account, call, text, false)?;
            }
            let role = role(account, call, name)?;
            for (policy, text) in policies {
                role.inline_policies.insert(policy.clone(), text.clone());
            }
            Ok(Output::none())
        }
        IamOp::DeleteRolePolicies { role: name, names } => {
            let role = role(account, call, name)?;
            if let Some(missing) = names.iter().find(|n| !role.inline_policies.contains_key(*n)) {
                return Err(call.fail(
                    ErrorClass::NotFound,
                    "NoSuchEntity",
                    format!("The role policy with name {missing} cannot be found."),
                ));
            }
            role.inline_policies.retain(|n, _| !names.contains(n));
            Ok(Output::none())
        }
        IamOp::CreateInstanceProfile { name, role: role_name, .. } => {
            if name != role_name {
                return Err(call.fail(
                    ErrorClass::Invalid,
                    "Unsupported",
                    "converge keeps instance profiles named like their role",
                ));
            }
            let role = role(account, call, role_name)?;
            if role.instance_profile {
                return Err(call.fail(
                    ErrorClass::Invalid,
                    "EntityAlreadyExists",
                    format!("Instance Profile {name} already exists."),
                ));
            }
            role.instance_profile = true;
            Ok(Output::none())
        }
        IamOp::DeleteInstanceProfile { name, .. } => {
            let role =
                account.live.iam_roles.iter_mut().find(|r| r.name == *name && r.instance_profile).ok_or_else(|| {
                    call.fail(ErrorClass::NotFound, "NoSuchEntity", format!("Instance Profile {name} cannot be found."))
                })?;
            role.instance_profile = false;
            Ok(Output::none())
        }
        IamOp::DeleteRole { role: name } => {
            let role = role(account, call, name)?;
            let conflict = |what: &str| {
                call.fail(ErrorClass::Conflict, "DeleteConflict", format!("Cannot delete entity, must {what} first."))
            };
            if role.instance_profile {
                return Err(conflict("remove roles from instance profile"));
            }
            if !role.managed_policies.is_empty() {
                return Err(conflict("detach all policies"));
            }
            if !role.inline_policies.is_empty() {
                return Err(conflict("delete policies"));
            }
            account.live.iam_roles.retain(|r| r.name != *name);
            Ok(Output::none())
        }
    }
}
