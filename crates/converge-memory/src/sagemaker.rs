//! Studio domains, user profiles and apps, by SageMaker's rules, with the
//! home EFS volume and the two NFS security groups SageMaker creates.

use std::collections::BTreeMap;

use converge_executor::{ErrorClass, ExecError, Output};
use converge_model::live::{
    LiveFileSystem, LiveRule, LiveSagemakerDomain, LiveSagemakerUser, LiveSecurityGroup, LiveSharing, SagemakerStatus,
};
use converge_ops::{Id, SagemakerOp, UserSettings};

use crate::{Account, Call};

fn known(id: &Id) -> String {
    id.as_known().unwrap_or_default().to_owned()
}

fn ids(ids: &[Id]) -> Vec<String> {
    ids.iter().map(known).collect()
}

fn sharing(settings: &UserSettings) -> Option<LiveSharing> {
    settings.sharing.as_ref().map(|s| LiveSharing {
        notebook_output: s.notebook_output.aws().to_owned(),
        s3_output_path: s.s3_output_path.clone(),
        s3_kms_key: s.s3_kms_key.clone(),
    })
}

/// The sharing an update leaves: what it gives, or sharing turned off, which
/// is what the AWS executor sends for settings the spec no longer has
/// (`converge-aws/src/exec/sagemaker.rs` `settings`) and SageMaker then reports.
fn updated_sharing(settings: &UserSettings) -> Option<LiveSharing> {
    sharing(settings).or_else(|| {
        Some(LiveSharing {
            notebook_output: converge_model::NotebookOutput::Disabled.aws().to_owned(),
            s3_output_path: None,
            s3_kms_key: None,
        })
    })
}

/// SageMaker validates what the settings name.
fn check_settings(account: &Account, call: &Call<'_>, settings: &UserSettings) -> Result<(), ExecError> {
    let invalid = |message: String| call.fail(ErrorClass::Invalid, "ValidationException", message);
    if let Some(role) = &settings.execution_role
        && !account.live.iam_roles.iter().any(|r| r.arn == *role)
    {
        return Err(invalid(format!("Role {role} does not exist or cannot be assumed")));
    }
    for group in ids(&settings.security_groups) {
        if !account.live.security_groups.iter().any(|g| g.id == group) {
            return Err(invalid(format!("Security group {group} does not exist")));
        }
    }
    Ok(())
}

fn check_subnets(account: &Account, call: &Call<'_>, vpc: &str, subnets: &[String]) -> Result<(), ExecError> {
    for subnet in subnets {
        if !account.live.subnets.iter().any(|s| s.id == *subnet && s.vpc_id == vpc) {
            return Err(call.fail(
                ErrorClass::Invalid,
                "ValidationException",
                format!("Subnet {subnet} is not in VPC {vpc}"),
            ));
        }
    }
    Ok(())
}

fn domain<'a>(account: &'a mut Account, call: &Call<'_>, id: &str) -> Result<&'a mut LiveSagemakerDomain, ExecError> {
    account
        .live
        .sagemaker_domains
        .iter_mut()
        .find(|d| d.id == id)
        .ok_or_else(|| call.fail(ErrorClass::NotFound, "ResourceNotFound", format!("Domain {id} not found")))
}

fn user_index(account: &Account, call: &Call<'_>, domain: &str, name: &str) -> Result<usize, ExecError> {
    account.live.sagemaker_users.iter().position(|u| u.domain_id == domain && u.name == name).ok_or_else(|| {
        call.fail(ErrorClass::NotFound, "ResourceNotFound", format!("User profile {name} not found in {domain}"))
    })
}

/// The two NFS groups SageMaker adds to the domain's VPC; they name each other.
fn nfs_groups(domain: &str, vpc: &str, inbound: &str, outbound: &str) -> [LiveSecurityGroup; 2] {
    let nfs = |peer: &str| LiveRule {
        protocol: "tcp".into(),
        from_port: Some(2049),
        to_port: Some(2049),
        cidr: None,
        group_id: Some(peer.to_owned()),
        prefix_list_id: None,
        description: None,
    };
    let tags = BTreeMap::from([("ManagedByAmazonSageMakerResource".to_owned(), format!("domain/{domain}"))]);
    [
        LiveSecurityGroup {
            id: inbound.to_owned(),
            name: format!("security-group-for-inbound-nfs-{domain}"),
            description: format!(
                "[DO NOT DELETE] Security Group that allows inbound NFS traffic for SageMaker Notebooks Domain [{domain}]"
            ),
            vpc_id: vpc.to_owned(),
            ingress: vec![nfs(outbound)],
            egress: Vec::new(),
            tags: tags.clone(),
        },
        LiveSecurityGroup {
            id: outbound.to_owned(),
            name: format!("security-group-for-outbound-nfs-{domain}"),
            description: format!(
                "[DO NOT DELETE] Security Group that allows outbound NFS traffic for SageMaker Notebooks Domain [{domain}]"
            ),
            vpc_id: vpc.to_owned(),
            ingress: Vec::new(),
            egress: vec![nfs(inbound)],
            tags,
        },
    ]
}

pub(crate) fn apply(account: &mut Account, call: &Call<'_>, op: &SagemakerOp) -> Result<Output, ExecError> {
    match op {
        SagemakerOp::CreateDomain {
            name,
            auth_mode,
            network_access,
            vpc,
            subnets,
            kms_key,
            default_user_settings,
            tags,
        } => {
            let vpc = known(vpc);
            let subnets = ids(subnets);
            if account.live.sagemaker_domains.iter().any(|d| d.name == *name && !d.status.is_gone()) {
                return Err(call.fail(ErrorClass::Invalid, "ResourceInUse", format!("Domain {name} already exists")));
            }
            if !account.live.vpcs.iter().any(|v| v.id == vpc) {
                return Err(call.fail(ErrorClass::Invalid, "ValidationException", format!("VPC {vpc} does not exist")));
            }
            check_subnets(account, call, &vpc, &subnets)?;
            check_settings(account, call, default_user_settings)?;
            let id = account.new_id("d", name, 12, false);
            let efs = account.new_id("fs", &id, 17, false);
            let inbound = account.new_id("sg", &format!("{id}/inbound-nfs"), 17, false);
            let outbound = account.new_id("sg", &format!("{id}/outbound-nfs"), 17, false);
            account.live.security_groups.extend(nfs_groups(&id, &vpc, &inbound, &outbound));
            account.live.file_systems.push(LiveFileSystem {
                id: efs.clone(),
                domain_id: Some(id.clone()),
                mount_target_subnet_ids: subnets.clone(),
                tags: BTreeMap::from([("ManagedByAmazonSageMakerResource".to_owned(), format!("domain/{id}"))]),
            });
            account.live.sagemaker_domains.push(LiveSagemakerDomain {
                id: id.clone(),
                name: name.clone(),
                status: SagemakerStatus::InService,
                auth_mode: auth_mode.aws().to_owned(),
                network_access: network_access.aws().to_owned(),
                vpc_id: vpc,
                subnet_ids: subnets,
                execution_role: default_user_settings.execution_role.clone().unwrap_or_default(),
                security_group_ids: ids(&default_user_settings.security_groups),
                kms_key: kms_key.clone(),
                sharing: sharing(default_user_settings),
                home_efs_id: Some(efs),
                apps: Vec::new(),
                spaces: Vec::new(),
                url: None,
                tags: tags.clone(),
            });
            Ok(Output::id(id))
        }
        SagemakerOp::UpdateDomain { domain: id, network_access, subnets, default_user_settings } => {
            let id = known(id);
            let current = domain(account, call, &id)?.clone();
            let running = current.running_apps().count();
            let removes_subnet = subnets.as_ref().is_some_and(|s| {
                let wanted = ids(s);
                current.subnet_ids.iter().any(|old| !wanted.contains(old))
            });
            let changes_access = network_access.is_some_and(|a| a.aws() != current.network_access);
            if running > 0 && (removes_subnet || changes_access) {
                return Err(call.fail(
                    ErrorClass::Conflict,
                    "ResourceInUse",
                    format!(
                        "Domain {id} has {running} running apps; network settings cannot change until they are deleted"
                    ),
                ));
            }
            if let Some(subnets) = subnets {
                check_subnets(account, call, &current.vpc_id, &ids(subnets))?;
            }
            if let Some(settings) = default_user_settings {
                check_settings(account, call, settings)?;
            }
            let efs = current.home_efs_id.clone();
            let live_domain = domain(account, call, &id)?;
            if let Some(access) = network_access {
                live_domain.network_access = access.aws().to_owned();
            }
            if let Some(subnets) = subnets {
                live_domain.subnet_ids = ids(subnets);
            }
            if let Some(settings) = default_user_settings {
                live_domain.execution_role = settings.execution_role.clone().unwrap_or_default();
                live_domain.security_group_ids = ids(&settings.security_groups);
                live_domain.sharing = updated_sharing(settings);
            }
            // The home volume's mount targets follow the domain's subnets (an assumption: docs/plan.md).
            let subnets_now = live_domain.subnet_ids.clone();
            if let Some(fs) = account.live.file_systems.iter_mut().find(|fs| Some(&fs.id) == efs.as_ref()) {
                fs.mount_target_subnet_ids = subnets_now;
            }
            Ok(Output::none())
        }
        SagemakerOp::DeleteDomain { domain: id, retain_home_efs } => {
            let id = known(id);
            let current = domain(account, call, &id)?.clone();
            if account.live.sagemaker_users.iter().any(|u| u.domain_id == id && !u.status.is_gone()) {
                return Err(call.fail(
                    ErrorClass::Conflict,
                    "ResourceInUse",
                    format!("Domain {id} still has user profiles"),
                ));
            }
            if current.live_spaces().next().is_some() {
                return Err(call.fail(ErrorClass::Conflict, "ResourceInUse", format!("Domain {id} still has spaces")));
            }
            account.live.sagemaker_domains.retain(|d| d.id != id);
            if !retain_home_efs {
                // With the home EFS gone, the executor deletes the NFS groups SageMaker leaves behind.
                account.live.file_systems.retain(|fs| Some(&fs.id) != current.home_efs_id.as_ref());
                let marker = format!("domain/{id}");
                account
                    .live
                    .security_groups
                    .retain(|g| g.tags.get("ManagedByAmazonSageMakerResource") != Some(&marker));
            }
            Ok(Output::none())
        }
        SagemakerOp::CreateUserProfile { domain: id, name, user_settings, sso_user_name, tags } => {
            let id = known(id);
            // botocore: the IAM Identity Center user is required in an SSO domain.
            if domain(account, call, &id)?.auth_mode == "SSO" && sso_user_name.is_none() {
                return Err(call.fail(
                    ErrorClass::Invalid,
                    "ValidationException",
                    format!("the user profile {name} of an SSO domain needs its IAM Identity Center user"),
                ));
            }
            if account.live.sagemaker_users.iter().any(|u| u.domain_id == id && u.name.eq_ignore_ascii_case(name)) {
                return Err(call.fail(
                    ErrorClass::Invalid,
                    "ResourceInUse",
                    format!("User profile {name} already exists"),
                ));
            }
            check_settings(account, call, user_settings)?;
            account.live.sagemaker_users.push(LiveSagemakerUser {
                domain_id: id,
                name: name.clone(),
                status: SagemakerStatus::InService,
                execution_role: user_settings.execution_role.clone(),
                security_group_ids: ids(&user_settings.security_groups),
                sharing: sharing(user_settings),
                sso_user_name: sso_user_name.clone(),
                tags: tags.clone(),
            });
            Ok(Output::none())
        }
        SagemakerOp::UpdateUserProfile { domain: id, name, user_settings } => {
            let id = known(id);
            let index = user_index(account, call, &id, name)?;
            check_settings(account, call, user_settings)?;
            let user = &mut account.live.sagemaker_users[index];
            user.execution_role = user_settings.execution_role.clone();
            user.security_group_ids = ids(&user_settings.security_groups);
            user.sharing = updated_sharing(user_settings);
            Ok(Output::none())
        }
        SagemakerOp::DeleteApp { domain: id, user_profile, space, app_type, app_name } => {
            let id = known(id);
            let live_domain = domain(account, call, &id)?;
            let before = live_domain.apps.len();
            live_domain.apps.retain(|app| {
                !(app.user_profile == *user_profile
                    && app.space == *space
                    && app.app_type == *app_type
                    && app.name == *app_name)
            });
            if live_domain.apps.len() == before {
                return Err(call.fail(ErrorClass::NotFound, "ResourceNotFound", format!("App {app_name} not found")));
            }
            Ok(Output::none())
        }
        SagemakerOp::DeleteSpace { domain: id, space } => {
            let id = known(id);
            let live_domain = domain(account, call, &id)?;
            let position =
                live_domain.spaces.iter().position(|s| s.name == *space && !s.status.is_gone()).ok_or_else(|| {
                    call.fail(ErrorClass::NotFound, "ResourceNotFound", format!("Space {space} not found"))
                })?;
            if live_domain.running_apps().any(|app| app.space.as_deref() == Some(space.as_str())) {
                return Err(call.fail(
                    ErrorClass::Conflict,
                    "ResourceInUse",
                    format!("Space {space} has running apps"),
                ));
            }
            live_domain.spaces.remove(position);
            Ok(Output::none())
        }
        SagemakerOp::DeleteUserProfile { domain: id, name } => {
            let id = known(id);
            let index = user_index(account, call, &id, name)?;
            let has_apps = account
                .live
                .sagemaker_domains
                .iter()
                .filter(|d| d.id == id)
                .flat_map(|d| d.running_apps())
                .any(|app| app.user_profile.as_deref() == Some(name.as_str()));
            if has_apps {
                return Err(call.fail(
                    ErrorClass::Conflict,
                    "ResourceInUse",
                    format!("User profile {name} has running apps"),
                ));
            }
            let has_spaces = account
                .live
                .sagemaker_domains
                .iter()
                .filter(|d| d.id == id)
                .flat_map(|d| d.live_spaces())
                .any(|space| space.owner.as_deref() == Some(name.as_str()));
            if has_spaces {
                return Err(call.fail(
                    ErrorClass::Conflict,
                    "ResourceInUse",
                    format!("User profile {name} has private spaces"),
                ));
            }
            account.live.sagemaker_users.remove(index);
            Ok(Output::none())
        }
    }
}
