//! Studio domains, user profiles, apps and spaces. SageMaker works in the
//! background: creates and updates are done at `InService`, deletes when
//! the resource is gone, and a domain deleted with its home EFS is done once
//! the NFS security groups SageMaker leaves in the VPC are deleted too.

use aws_sdk_sagemaker::types::{
    AppNetworkAccessType, AppType, AuthMode, NotebookOutputOption, RetentionPolicy, RetentionType, SharingSettings,
    Tag, UserSettings as SdkUserSettings,
};
use converge_executor::{ErrorClass, ExecError, Outcome, Output};
use converge_model::Tags;
use converge_ops::{Operation, SagemakerOp, UserSettings};

use super::{Call, ec2, is_ours, known, known_all};
use crate::errors::{Answer, code_of, exec_error, unless};

/// SageMaker's answer about what does not exist.
const GONE: &[Answer] = &[Answer::code("ResourceNotFound")];

/// What SageMaker answers about a space that is gone: `ResourceNotFound`, or a
/// `ValidationException` saying "RecordNotFound" (terraform-provider-aws
/// `internal/service/sagemaker/space.go` accepts both).
const SPACE_GONE: &[Answer] =
    &[Answer::code("ResourceNotFound"), Answer::saying("ValidationException", "RecordNotFound")];

fn tags(tags: &Tags) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// User settings as SageMaker takes them. In an update (`clear`), settings the
/// spec no longer has are sent as their "off" value: no security groups, and
/// notebook sharing `Disabled` — right whether SageMaker merges an update into
/// the current settings or replaces them (its documentation says neither).
fn settings(settings: &UserSettings, clear: bool) -> SdkUserSettings {
    let groups = known_all(&settings.security_groups);
    let sharing = match &settings.sharing {
        Some(s) => Some(
            SharingSettings::builder()
                .notebook_output_option(NotebookOutputOption::from(s.notebook_output.aws()))
                .set_s3_output_path(s.s3_output_path.clone())
                .set_s3_kms_key_id(s.s3_kms_key.clone())
                .build(),
        ),
        None if clear => {
            Some(SharingSettings::builder().notebook_output_option(NotebookOutputOption::Disabled).build())
        }
        None => None,
    };
    SdkUserSettings::builder()
        .set_execution_role(settings.execution_role.clone())
        .set_security_groups(if groups.is_empty() && !clear { None } else { Some(groups) })
        .set_sharing_settings(sharing)
        .build()
}

async fn tags_of(call: &Call<'_>, arn: &str) -> Result<Tags, ExecError> {
    let pages = call
        .aws
        .sagemaker
        .list_tags()
        .resource_arn(arn)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| exec_error(e, "ListTags", call.address))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.tags())
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
        .collect())
}

/// This stack's domain named `name`, made by an interrupted apply.
async fn own_domain(call: &Call<'_>, name: &str, wanted: &Tags) -> Result<Option<String>, ExecError> {
    let sagemaker = &call.aws.sagemaker;
    let listed = sagemaker
        .list_domains()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| exec_error(e, "ListDomains", call.address))?;
    for domain in listed.iter().flat_map(|p| p.domains()).filter(|d| d.domain_name() == Some(name)) {
        let is_leaving = domain.status().is_some_and(|s| matches!(s.as_str(), "Deleting" | "Delete_Failed"));
        if is_leaving {
            continue;
        }
        if is_ours(&tags_of(call, domain.domain_arn().unwrap_or_default()).await?, wanted) {
            return Ok(domain.domain_id().map(str::to_owned));
        }
    }
    Ok(None)
}

pub(super) async fn start(call: &Call<'_>, operation: &Operation, op: &SagemakerOp) -> Result<Outcome, ExecError> {
    let sagemaker = &call.aws.sagemaker;
    let name = operation.aws_operation();
    match op {
        SagemakerOp::CreateDomain {
            name: domain_name,
            auth_mode,
            network_access,
            vpc,
            subnets,
            kms_key,
            default_user_settings,
            tags: wanted,
        } => {
            if let Some(id) = own_domain(call, domain_name, wanted).await? {
                return poll(call, operation, &Output::id(id)).await;
            }
            let created = sagemaker
                .create_domain()
                .domain_name(domain_name)
                .auth_mode(AuthMode::from(auth_mode.aws()))
                .app_network_access_type(AppNetworkAccessType::from(network_access.aws()))
                .vpc_id(known(vpc))
                .set_subnet_ids(Some(known_all(subnets)))
                .set_kms_key_id(kms_key.clone())
                .default_user_settings(settings(default_user_settings, false))
                .set_tags(Some(tags(wanted)))
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            let id = call.created_id(
                name,
                created.domain_id().or_else(|| created.domain_arn().and_then(|arn| arn.rsplit('/').next())),
            )?;
            Ok(call.pending(Output::id(&id), format!("domain {id} to be InService")))
        }
        SagemakerOp::UpdateDomain { domain, network_access, subnets, default_user_settings } => {
            sagemaker
                .update_domain()
                .domain_id(known(domain))
                .set_app_network_access_type(network_access.map(|a| AppNetworkAccessType::from(a.aws())))
                .set_subnet_ids(subnets.as_deref().map(known_all))
                .set_default_user_settings(default_user_settings.as_ref().map(|s| settings(s, true)))
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            Ok(call.pending(Output::none(), format!("domain {} to be InService", known(domain))))
        }
        SagemakerOp::DeleteDomain { domain, retain_home_efs } => {
            let retention = if *retain_home_efs { RetentionType::Retain } else { RetentionType::Delete };
            let deleted = sagemaker
                .delete_domain()
                .domain_id(known(domain))
                .retention_policy(RetentionPolicy::builder().home_efs_file_system(retention).build())
                .send()
                .await;
            unless(deleted, GONE, name, call.address)?;
            poll(call, operation, &Output::none()).await
        }
        SagemakerOp::CreateUserProfile { domain, name: user, user_settings, sso_user_name, tags: wanted } => {
            let created = sagemaker
                .create_user_profile()
                .domain_id(known(domain))
                .user_profile_name(user)
                // "If the Domain's AuthMode is IAM Identity Center, this field is required" (botocore).
                .set_single_sign_on_user_identifier(sso_user_name.as_ref().map(|_| "UserName".to_owned()))
                .set_single_sign_on_user_value(sso_user_name.clone())
                .user_settings(settings(user_settings, false))
                .set_tags(Some(tags(wanted)))
                .send()
                .await;
            match created {
                Ok(_) => {}
                Err(e) if code_of(&e) == Some("ResourceInUse") => {
                    // The name is taken in the domain: ours (an interrupted apply) or someone else's.
                    let existing = sagemaker
                        .describe_user_profile()
                        .domain_id(known(domain))
                        .user_profile_name(user)
                        .send()
                        .await
                        .map_err(|e| exec_error(e, "DescribeUserProfile", call.address))?;
                    let live = tags_of(call, existing.user_profile_arn().unwrap_or_default()).await?;
                    if !is_ours(&live, wanted) {
                        return Err(super::taken(call, name, "ResourceInUse", &format!("user profile `{user}`")));
                    }
                }
                Err(e) => return Err(exec_error(e, name, call.address)),
            }
            Ok(call.pending(Output::none(), format!("user profile {user} to be InService")))
        }
        SagemakerOp::UpdateUserProfile { domain, name: user, user_settings } => {
            sagemaker
                .update_user_profile()
                .domain_id(known(domain))
                .user_profile_name(user)
                .user_settings(settings(user_settings, true))
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            Ok(call.pending(Output::none(), format!("user profile {user} to be InService")))
        }
        SagemakerOp::DeleteApp { domain, user_profile, space, app_type, app_name } => {
            let deleted = sagemaker
                .delete_app()
                .domain_id(known(domain))
                .set_user_profile_name(user_profile.clone())
                .set_space_name(space.clone())
                .app_type(AppType::from(app_type.as_str()))
                .app_name(app_name)
                .send()
                .await;
            unless(deleted, GONE, name, call.address)?;
            poll(call, operation, &Output::none()).await
        }
        SagemakerOp::DeleteSpace { domain, space } => {
            let deleted = sagemaker.delete_space().domain_id(known(domain)).space_name(space).send().await;
            unless(deleted, GONE, name, call.address)?;
            poll(call, operation, &Output::none()).await
        }
        SagemakerOp::DeleteUserProfile { domain, name: user } => {
            let deleted = sagemaker.delete_user_profile().domain_id(known(domain)).user_profile_name(user).send().await;
            unless(deleted, GONE, name, call.address)?;
            poll(call, operation, &Output::none()).await
        }
    }
}

/// Where a SageMaker resource is: `Ok(None)` when it is gone.
fn failed(call: &Call<'_>, what: &str, status: &str, reason: Option<&str>) -> ExecError {
    call.fail(
        ErrorClass::Fatal,
        "Describe",
        status,
        format!("{what} is {status}: {}", reason.unwrap_or("SageMaker gave no reason")),
    )
}

pub(super) async fn poll(call: &Call<'_>, operation: &Operation, progress: &Output) -> Result<Outcome, ExecError> {
    let sagemaker = &call.aws.sagemaker;
    match operation {
        Operation::Sagemaker(SagemakerOp::CreateDomain { .. })
        | Operation::Sagemaker(SagemakerOp::UpdateDomain { .. })
        | Operation::Sagemaker(SagemakerOp::DeleteDomain { .. }) => {
            let id = match operation {
                Operation::Sagemaker(SagemakerOp::UpdateDomain { domain, .. })
                | Operation::Sagemaker(SagemakerOp::DeleteDomain { domain, .. }) => known(domain).to_owned(),
                _ => progress.id.clone().unwrap_or_default(),
            };
            let described = sagemaker.describe_domain().domain_id(&id).send().await;
            let described = unless(described, GONE, "DescribeDomain", call.address)?;
            let status = described.as_ref().and_then(|d| d.status()).map(|s| s.as_str().to_owned());
            let reason = described.as_ref().and_then(|d| d.failure_reason());
            let what = format!("domain {id}");
            match (operation, status.as_deref()) {
                (Operation::Sagemaker(SagemakerOp::DeleteDomain { retain_home_efs, .. }), None) => {
                    if *retain_home_efs || ec2::delete_nfs_groups(call, &id).await? {
                        Ok(Outcome::Done(Output::none()))
                    } else {
                        Ok(call.pending(
                            Output::none(),
                            format!("the home EFS of {what} to be deleted, to delete its NFS groups"),
                        ))
                    }
                }
                (Operation::Sagemaker(SagemakerOp::DeleteDomain { .. }), Some(status @ "Delete_Failed")) => {
                    Err(failed(call, &what, status, reason))
                }
                (Operation::Sagemaker(SagemakerOp::DeleteDomain { .. }), Some(status)) => {
                    Ok(call.pending(Output::none(), format!("{what} to be deleted (now {status})")))
                }
                (_, None) => Err(call.fail(
                    ErrorClass::NotFound,
                    "DescribeDomain",
                    "ResourceNotFound",
                    format!("{what} does not exist"),
                )),
                (_, Some("InService")) => Ok(Outcome::Done(progress.clone())),
                (_, Some(status @ ("Failed" | "Update_Failed"))) => Err(failed(call, &what, status, reason)),
                (_, Some(status)) => {
                    Ok(call.pending(progress.clone(), format!("{what} to be InService (now {status})")))
                }
            }
        }
        Operation::Sagemaker(SagemakerOp::CreateUserProfile { domain, name: user, .. })
        | Operation::Sagemaker(SagemakerOp::UpdateUserProfile { domain, name: user, .. }) => {
            let described =
                sagemaker.describe_user_profile().domain_id(known(domain)).user_profile_name(user).send().await;
            let described = described.map_err(|e| exec_error(e, "DescribeUserProfile", call.address))?;
            let what = format!("user profile {user}");
            match described.status().map(|s| s.as_str()).unwrap_or("InService") {
                "InService" => Ok(Outcome::Done(Output::none())),
                status @ ("Failed" | "Update_Failed") => Err(failed(call, &what, status, described.failure_reason())),
                status => Ok(call.pending(Output::none(), format!("{what} to be InService (now {status})"))),
            }
        }
        Operation::Sagemaker(SagemakerOp::DeleteUserProfile { domain, name: user }) => {
            let described =
                sagemaker.describe_user_profile().domain_id(known(domain)).user_profile_name(user).send().await;
            let described = unless(described, GONE, "DescribeUserProfile", call.address)?;
            let what = format!("user profile {user}");
            match described.as_ref().and_then(|d| d.status()).map(|s| s.as_str()) {
                None => Ok(Outcome::Done(Output::none())),
                Some(status @ "Delete_Failed") => {
                    Err(failed(call, &what, status, described.as_ref().and_then(|d| d.failure_reason())))
                }
                Some(status) => Ok(call.pending(Output::none(), format!("{what} to be deleted (now {status})"))),
            }
        }
        Operation::Sagemaker(SagemakerOp::DeleteApp { domain, user_profile, space, app_type, app_name }) => {
            let described = sagemaker
                .describe_app()
                .domain_id(known(domain))
                .set_user_profile_name(user_profile.clone())
                .set_space_name(space.clone())
                .app_type(AppType::from(app_type.as_str()))
                .app_name(app_name)
                .send()
                .await;
            let described = unless(described, GONE, "DescribeApp", call.address)?;
            let what = format!("{app_type} app {app_name}");
            match described.as_ref().and_then(|d| d.status()).map(|s| s.as_str()) {
                None | Some("Deleted") => Ok(Outcome::Done(Output::none())),
                Some(status @ "Failed") => {
                    Err(failed(call, &what, status, described.as_ref().and_then(|d| d.failure_reason())))
                }
                Some(status) => Ok(call.pending(Output::none(), format!("{what} to be deleted (now {status})"))),
            }
        }
        Operation::Sagemaker(SagemakerOp::DeleteSpace { domain, space }) => {
            let described = sagemaker.describe_space().domain_id(known(domain)).space_name(space).send().await;
            let described = unless(described, SPACE_GONE, "DescribeSpace", call.address)?;
            let what = format!("space {space}");
            match described.as_ref().and_then(|d| d.status()).map(|s| s.as_str()) {
                None => Ok(Outcome::Done(Output::none())),
                Some(status @ "Delete_Failed") => {
                    Err(failed(call, &what, status, described.as_ref().and_then(|d| d.failure_reason())))
                }
                Some(status) => Ok(call.pending(Output::none(), format!("{what} to be deleted (now {status})"))),
            }
        }
        _ => Ok(Outcome::Done(progress.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::SPACE_GONE;

    #[test]
    fn a_space_is_gone_under_either_answer() {
        let gone = |code: &str, message: &str| SPACE_GONE.iter().any(|a| a.matches(code, message));
        assert!(gone("ResourceNotFound", "Space scratch does not exist."));
        assert!(gone("ValidationException", "RecordNotFound"));
        assert!(!gone("ValidationException", "1 validation error detected: Value 'x' at 'spaceName'"));
        assert!(!gone("ResourceInUse", "Space scratch is being deleted"));
    }
}
