//! Studio domains, their user profiles, apps and spaces. SageMaker lists no tags, so
//! every domain of the account is described and its tags read to know whose
//! it is; accounts hold few domains.

use converge_executor::{ExecError, Scope};
use converge_model::live::{
    LiveApp, LiveFileSystem, LiveSagemakerDomain, LiveSagemakerUser, LiveSharing, LiveSpace, SagemakerStatus,
};
use converge_model::{Kind, Tags};
use futures_util::StreamExt as _;
use futures_util::stream;

use super::{PER_SERVICE, reading, wanted};
use crate::Aws;
use crate::errors::exec_error;

type Studio = (Vec<LiveSagemakerDomain>, Vec<LiveSagemakerUser>, Vec<LiveFileSystem>);

/// The largest page SageMaker gives (10 unless asked).
const PAGE: i32 = 100;

fn status(text: Option<&str>) -> SagemakerStatus {
    text.and_then(SagemakerStatus::from_aws).unwrap_or(SagemakerStatus::Failed)
}

fn sharing(settings: Option<&aws_sdk_sagemaker::types::UserSettings>) -> Option<LiveSharing> {
    let sharing = settings?.sharing_settings()?;
    Some(LiveSharing {
        notebook_output: sharing.notebook_output_option().map(|o| o.as_str().to_owned()).unwrap_or_default(),
        s3_output_path: sharing.s3_output_path().map(str::to_owned),
        s3_kms_key: sharing.s3_kms_key_id().map(str::to_owned),
    })
}

async fn tags(aws: &Aws, arn: &str, kind: Kind) -> Result<Tags, ExecError> {
    let pages = aws
        .sagemaker
        .list_tags()
        .max_results(PAGE)
        .resource_arn(arn)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| exec_error(e, "ListTags", &reading(kind)))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.tags())
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
        .collect())
}

pub(super) async fn read(aws: &Aws, scope: &Scope) -> Result<Studio, ExecError> {
    let listed = aws
        .sagemaker
        .list_domains()
        .max_results(PAGE)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| exec_error(e, "ListDomains", &reading(Kind::SagemakerDomain)))?;
    let ids: Vec<String> =
        listed.iter().flat_map(|p| p.domains()).filter_map(|d| d.domain_id().map(str::to_owned)).collect();
    let domains: Vec<Result<Option<LiveSagemakerDomain>, ExecError>> =
        stream::iter(ids).map(|id| domain(aws, scope, id)).buffer_unordered(PER_SERVICE).collect().await;
    let mut domains: Vec<LiveSagemakerDomain> =
        domains.into_iter().collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect();
    domains.sort_by(|a, b| a.id.cmp(&b.id));

    let users = users(aws, scope, &domains).await?;
    // The home volume's mount targets sit in the domain's subnets (read through the domain: converge links no EFS client).
    let file_systems = domains
        .iter()
        .filter_map(|d| {
            Some(LiveFileSystem {
                id: d.home_efs_id.clone()?,
                domain_id: Some(d.id.clone()),
                mount_target_subnet_ids: d.subnet_ids.clone(),
                tags: Tags::new(),
            })
        })
        .collect();
    Ok((domains, users, file_systems))
}

/// A domain of the account, if it is the stack's or holds a name the spec claims.
async fn domain(aws: &Aws, scope: &Scope, id: String) -> Result<Option<LiveSagemakerDomain>, ExecError> {
    let address = reading(Kind::SagemakerDomain);
    let d = aws
        .sagemaker
        .describe_domain()
        .domain_id(&id)
        .send()
        .await
        .map_err(|e| exec_error(e, "DescribeDomain", &address))?;
    let tags = tags(aws, d.domain_arn().unwrap_or_default(), Kind::SagemakerDomain).await?;
    let name = d.domain_name().unwrap_or_default();
    if !wanted(scope, &tags, Kind::SagemakerDomain, name) {
        return Ok(None);
    }
    let apps = aws.sagemaker.list_apps().domain_id_equals(&id).max_results(PAGE).into_paginator().send().try_collect();
    let spaces =
        aws.sagemaker.list_spaces().domain_id_equals(&id).max_results(PAGE).into_paginator().send().try_collect();
    let (apps, spaces) = tokio::join!(apps, spaces);
    let apps = apps.map_err(|e| exec_error(e, "ListApps", &address))?;
    let spaces = spaces.map_err(|e| exec_error(e, "ListSpaces", &address))?;
    let settings = d.default_user_settings();
    Ok(Some(LiveSagemakerDomain {
        id: id.clone(),
        name: name.to_owned(),
        status: status(d.status().map(|s| s.as_str())),
        auth_mode: d.auth_mode().map(|m| m.as_str().to_owned()).unwrap_or_default(),
        network_access: d.app_network_access_type().map_or("PublicInternetOnly", |a| a.as_str()).to_owned(),
        vpc_id: d.vpc_id().unwrap_or_default().to_owned(),
        subnet_ids: d.subnet_ids().to_vec(),
        execution_role: settings.and_then(|s| s.execution_role()).unwrap_or_default().to_owned(),
        security_group_ids: settings.map(|s| s.security_groups().to_vec()).unwrap_or_default(),
        kms_key: d.kms_key_id().map(str::to_owned),
        sharing: sharing(settings),
        home_efs_id: d.home_efs_file_system_id().map(str::to_owned),
        apps: apps
            .iter()
            .flat_map(|p| p.apps())
            .map(|app| LiveApp {
                user_profile: app.user_profile_name().map(str::to_owned),
                space: app.space_name().map(str::to_owned),
                app_type: app.app_type().map(|t| t.as_str().to_owned()).unwrap_or_default(),
                name: app.app_name().unwrap_or_default().to_owned(),
                status: status(app.status().map(|s| s.as_str())),
            })
            .collect(),
        spaces: spaces
            .iter()
            .flat_map(|p| p.spaces())
            .map(|space| LiveSpace {
                name: space.space_name().unwrap_or_default().to_owned(),
                owner: space.ownership_settings_summary().and_then(|o| o.owner_user_profile_name()).map(str::to_owned),
                status: status(space.status().map(|s| s.as_str())),
            })
            .collect(),
        url: d.url().filter(|u| !u.is_empty()).map(str::to_owned),
        tags,
    }))
}

/// The user profiles of `domains`: one listing of the account's profiles
/// (each names its domain), then each profile described, all domains at once.
async fn users(aws: &Aws, scope: &Scope, domains: &[LiveSagemakerDomain]) -> Result<Vec<LiveSagemakerUser>, ExecError> {
    let address = reading(Kind::SagemakerUser);
    if domains.is_empty() {
        return Ok(Vec::new());
    }
    let listed = aws
        .sagemaker
        .list_user_profiles()
        .max_results(PAGE)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| exec_error(e, "ListUserProfiles", &address))?;
    let names: Vec<(String, String)> = listed
        .iter()
        .flat_map(|p| p.user_profiles())
        .filter_map(|u| Some((u.domain_id()?.to_owned(), u.user_profile_name()?.to_owned())))
        .filter(|(domain, _)| domains.iter().any(|d| &d.id == domain))
        .collect();
    let users: Vec<Result<Option<LiveSagemakerUser>, ExecError>> = stream::iter(names)
        .map(|(domain, name)| {
            let address = address.clone();
            async move {
                let u = aws
                    .sagemaker
                    .describe_user_profile()
                    .domain_id(&domain)
                    .user_profile_name(&name)
                    .send()
                    .await
                    .map_err(|e| exec_error(e, "DescribeUserProfile", &address))?;
                let tags = tags(aws, u.user_profile_arn().unwrap_or_default(), Kind::SagemakerUser).await?;
                if !wanted(scope, &tags, Kind::SagemakerUser, &name) {
                    return Ok(None);
                }
                let settings = u.user_settings();
                Ok(Some(LiveSagemakerUser {
                    domain_id: domain,
                    name,
                    status: status(u.status().map(|s| s.as_str())),
                    execution_role: settings.and_then(|s| s.execution_role()).map(str::to_owned),
                    security_group_ids: settings.map(|s| s.security_groups().to_vec()).unwrap_or_default(),
                    sharing: sharing(settings),
                    sso_user_name: u.single_sign_on_user_value().filter(|v| !v.is_empty()).map(str::to_owned),
                    tags,
                }))
            }
        })
        .buffer_unordered(PER_SERVICE)
        .collect()
        .await;
    let mut users: Vec<LiveSagemakerUser> =
        users.into_iter().collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect();
    users.sort_by(|a, b| (&a.domain_id, &a.name).cmp(&(&b.domain_id, &b.name)));
    Ok(users)
}
