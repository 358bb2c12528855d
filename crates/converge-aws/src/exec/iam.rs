//! Roles, their policies and instance profiles. IAM is global and eventually
//! consistent: a role made a moment ago may be invisible to EMR or SageMaker
//! for a few seconds, which the error classes leave to the engine's retries.

use aws_sdk_iam::types::Tag;
use converge_executor::{ErrorClass, ExecError, Outcome, Output};
use converge_model::Tags;
use converge_ops::{IamOp, Operation};

use super::{Call, is_ours, taken};
use crate::errors::{Answer, code_of, exec_error, unless};

fn tags(call: &Call<'_>, tags: &Tags, operation: &'static str) -> Result<Vec<Tag>, ExecError> {
    tags.iter().map(|(k, v)| call.built(operation, Tag::builder().key(k).value(v).build())).collect()
}

/// IAM's answer to a delete of what is gone.
const GONE: &[Answer] = &[Answer::code("NoSuchEntity")];

pub(super) async fn start(call: &Call<'_>, operation: &Operation, op: &IamOp) -> Result<Outcome, ExecError> {
    let iam = &call.aws.iam;
    let name = operation.aws_operation();
    match op {
        IamOp::CreateRole { name: role, path, description, trust_policy, max_session_duration, tags: wanted } => {
            let created = iam
                .create_role()
                .role_name(role)
                .path(path)
                .set_description(description.clone())
                .assume_role_policy_document(trust_policy)
                .max_session_duration(i32::try_from(*max_session_duration).unwrap_or(3600))
                .set_tags(Some(tags(call, wanted, name)?))
                .send()
                .await;
            match created {
                Ok(_) => {}
                Err(e) if code_of(&e) == Some("EntityAlreadyExists") => {
                    // An interrupted apply may have made it; anyone else's is not ours to take.
                    let existing = iam
                        .get_role()
                        .role_name(role)
                        .send()
                        .await
                        .map_err(|e| exec_error(e, "GetRole", call.address))?;
                    let live: Tags = existing
                        .role()
                        .map(|r| r.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect())
                        .unwrap_or_default();
                    if !is_ours(&live, wanted) {
                        return Err(taken(call, name, "EntityAlreadyExists", &format!("IAM role `{role}`")));
                    }
                }
                Err(e) => return Err(exec_error(e, name, call.address)),
            }
        }
        IamOp::UpdateRole { role, description, max_session_duration } => {
            iam.update_role()
                .role_name(role)
                .description(description)
                .max_session_duration(i32::try_from(*max_session_duration).unwrap_or(3600))
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
        }
        IamOp::UpdateAssumeRolePolicy { role, policy } => {
            iam.update_assume_role_policy()
                .role_name(role)
                .policy_document(policy)
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
        }
        IamOp::AttachRolePolicies { role, policy_arns } => {
            for arn in policy_arns {
                iam.attach_role_policy()
                    .role_name(role)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| missing_policy(exec_error(e, name, call.address), arn))?;
            }
        }
        IamOp::DetachRolePolicies { role, policy_arns } => {
            for arn in policy_arns {
                unless(
                    iam.detach_role_policy().role_name(role).policy_arn(arn).send().await,
                    GONE,
                    name,
                    call.address,
                )?;
            }
        }
        IamOp::PutRolePolicies { role, policies } => {
            for (policy_name, document) in policies {
                iam.put_role_policy()
                    .role_name(role)
                    .policy_name(policy_name)
                    .policy_document(document)
                    .send()
                    .await
                    .map_err(|e| exec_error(e, name, call.address))?;
            }
        }
        IamOp::DeleteRolePolicies { role, names } => {
            for policy_name in names {
                unless(
                    iam.delete_role_policy().role_name(role).policy_name(policy_name).send().await,
                    GONE,
                    name,
                    call.address,
                )?;
            }
        }
        IamOp::CreateInstanceProfile { name: profile, role, tags: wanted } => {
            let created = iam
                .create_instance_profile()
                .instance_profile_name(profile)
                .set_tags(Some(tags(call, wanted, name)?))
                .send()
                .await;
            match created {
                Ok(_) => {}
                Err(e) if code_of(&e) == Some("EntityAlreadyExists") => {}
                Err(e) => return Err(exec_error(e, name, call.address)),
            }
            let added = iam.add_role_to_instance_profile().instance_profile_name(profile).role_name(role).send().await;
            match added {
                Ok(_) => {}
                // A profile holds one role: done if it is this one.
                Err(e) if code_of(&e) == Some("LimitExceeded") => {
                    let existing = iam
                        .get_instance_profile()
                        .instance_profile_name(profile)
                        .send()
                        .await
                        .map_err(|e| exec_error(e, "GetInstanceProfile", call.address))?;
                    let holds =
                        existing.instance_profile().is_some_and(|p| p.roles().iter().any(|r| r.role_name() == role));
                    if !holds {
                        return Err(call
                            .fail(
                                ErrorClass::Invalid,
                                "AddRoleToInstanceProfile",
                                "LimitExceeded",
                                format!("instance profile `{profile}` already holds another role"),
                            )
                            .with_hint(format!(
                                "remove that role from the instance profile `{profile}`, or rename the role in the spec"
                            )));
                    }
                }
                Err(e) => return Err(exec_error(e, "AddRoleToInstanceProfile", call.address)),
            }
        }
        IamOp::DeleteInstanceProfile { name: profile, role } => {
            if let Some(role) = role {
                let removed =
                    iam.remove_role_from_instance_profile().instance_profile_name(profile).role_name(role).send().await;
                unless(removed, GONE, "RemoveRoleFromInstanceProfile", call.address)?;
            }
            unless(
                iam.delete_instance_profile().instance_profile_name(profile).send().await,
                GONE,
                "DeleteInstanceProfile",
                call.address,
            )?;
        }
        IamOp::DeleteRole { role } => {
            unless(iam.delete_role().role_name(role).send().await, GONE, name, call.address)?;
        }
    }
    Ok(Outcome::Done(Output::none()))
}

/// `NoSuchEntity` from AttachRolePolicy names either the role (not visible
/// yet: IAM is eventually consistent, so retried) or the policy, which no
/// retry brings into being: that one is the spec's to fix.
fn missing_policy(error: ExecError, arn: &str) -> ExecError {
    if error.code != "NoSuchEntity" || !error.message.contains("not attachable") {
        return error;
    }
    ExecError { class: ErrorClass::Invalid, ..error }.with_hint(format!(
        "no managed policy `{arn}` can be attached in this account: check the ARN in the spec (AWS-managed policies are `arn:aws:iam::aws:policy/…`, some under `service-role/`), or create the policy first"
    ))
}

#[cfg(test)]
mod tests {
    use converge_executor::{ErrorClass, ExecError};
    use converge_model::{Address, Kind};

    use super::missing_policy;

    #[test]
    fn a_policy_no_retry_brings_into_being_is_the_specs_to_fix() {
        let address = Address::new(Kind::IamRole, "emr");
        let arn = "arn:aws:iam::aws:policy/AmazonEMRFullAcess";
        let policy = ExecError::new(
            ErrorClass::NotFound,
            "AttachRolePolicy",
            &address,
            "NoSuchEntity",
            format!("Policy {arn} does not exist or is not attachable."),
        );
        let refused = missing_policy(policy, arn);
        assert_eq!(refused.class, ErrorClass::Invalid);
        assert!(refused.hint().contains("check the ARN"), "{}", refused.hint());
        // The role itself not visible yet: IAM's eventual consistency, left to the retry.
        let role = ExecError::new(
            ErrorClass::NotFound,
            "AttachRolePolicy",
            &address,
            "NoSuchEntity",
            "The role with name emr cannot be found.",
        );
        assert_eq!(missing_policy(role, arn).class, ErrorClass::NotFound);
    }
}
