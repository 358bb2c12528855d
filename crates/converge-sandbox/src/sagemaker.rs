//! SageMaker Studio: domains, user profiles, spaces and apps with their state
//! machines and AWS's refusals (a profile with apps or private spaces, a
//! domain with profiles, spaces or apps, a network change while apps run),
//! the NFS security groups a domain leaves in its VPC, and the home EFS whose
//! mount targets outlive the domain unless it is deleted with it.

use serde_json::{Value, json};

use crate::context::Ctx;
use crate::error::ApiError;
use crate::json::{SAGEMAKER_PAGES, paged, required, str_of, strings, tags_json, tags_of, validation};
use crate::state::sagemaker::{App, Domain, Space, UserProfile};
use crate::state::{Rule, SecurityGroup, Tags, Timeline, World};

/// The state an entity reaches when its deletion completes; it is then removed.
pub(crate) const GONE: &str = "__gone__";
const CREATING: f64 = 120.0;
const UPDATING: f64 = 60.0;
const DELETING: f64 = 60.0;
/// An app starts in a few minutes and stops in about one.
const APP_STARTING: f64 = 180.0;
const APP_DELETING: f64 = 60.0;

fn not_found(what: &str) -> ApiError {
    ApiError::bad_request("ResourceNotFound", format!("{what} does not exist."))
}

fn in_use(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("ResourceInUse", message)
}

fn user_key(domain: &str, name: &str) -> String {
    format!("{domain}/{}", name.to_ascii_lowercase())
}

fn space_key(domain: &str, name: &str) -> String {
    format!("{domain}/{name}")
}

/// An app's key: its domain, its owner (`user:alice` or `space:lab`), type and name.
fn app_key(domain: &str, owner: &str, app_type: &str, name: &str) -> String {
    format!("{domain}/{owner}/{app_type}/{name}")
}

/// The owner of the app a request names: `UserProfileName` or `SpaceName`, exactly one.
fn app_owner(input: &Value) -> Result<(Option<String>, Option<String>, String), ApiError> {
    match (str_of(input, "UserProfileName"), str_of(input, "SpaceName")) {
        (Some(user), None) => Ok((Some(user.to_owned()), None, format!("user:{}", user.to_ascii_lowercase()))),
        (None, Some(space)) => Ok((None, Some(space.to_owned()), format!("space:{space}"))),
        _ => Err(validation("Exactly one of UserProfileName and SpaceName is required.")),
    }
}

fn app_json(a: &App, now_ms: u64) -> Value {
    let mut value = json!({
        "AppArn": a.arn,
        "DomainId": a.domain_id,
        "AppType": a.app_type,
        "AppName": a.name,
        "Status": a.timeline.at(now_ms),
        "CreationTime": Ctx::seconds(a.created_ms),
    });
    if let Some(user) = &a.user_profile {
        value["UserProfileName"] = json!(user);
    }
    if let Some(space) = &a.space {
        value["SpaceName"] = json!(space);
    }
    value
}

fn space_json(s: &Space, now_ms: u64, summary: bool) -> Value {
    let mut value = json!({
        "DomainId": s.domain_id,
        "SpaceName": s.name,
        "Status": s.timeline.at(now_ms),
        "CreationTime": Ctx::seconds(s.created_ms),
        "LastModifiedTime": Ctx::seconds(s.modified_ms),
        "SpaceDisplayName": s.name,
    });
    let (ownership, sharing) = if summary {
        ("OwnershipSettingsSummary", "SpaceSharingSettingsSummary")
    } else {
        ("OwnershipSettings", "SpaceSharingSettings")
    };
    if let Some(owner) = &s.owner {
        value[ownership] = json!({ "OwnerUserProfileName": owner });
    }
    value[sharing] = json!({ "SharingType": s.sharing });
    if !summary {
        value["SpaceArn"] = json!(s.arn);
    }
    value
}

/// The running apps of a domain, as `type name` for messages.
fn running_apps<'a>(world: &'a World, domain: &'a str, now_ms: u64) -> impl Iterator<Item = &'a App> + 'a {
    world.sagemaker.apps.values().filter(move |a| a.domain_id == domain && a.is_running(now_ms))
}

/// Drops what finished deleting.
pub(crate) fn advance(world: &mut World, now_ms: u64) {
    world.sagemaker.domains.retain(|_, d| d.timeline.at(now_ms) != GONE);
    world.sagemaker.users.retain(|_, u| u.timeline.at(now_ms) != GONE);
    world.sagemaker.spaces.retain(|_, s| s.timeline.at(now_ms) != GONE);
    let domains = &world.sagemaker.domains;
    world.sagemaker.apps.retain(|_, a| domains.contains_key(&a.domain_id));
}

/// SageMaker assumes the execution role; a role that does not exist, or that IAM
/// has not propagated yet, is refused in SageMaker's words (a field report:
/// awslabs/predictive-maintenance-using-machine-learning#3).
fn check_role(world: &World, ctx: &Ctx<'_>, arn: Option<&str>) -> Result<(), ApiError> {
    if let Some(arn) = arn {
        let name = arn.rsplit('/').next().unwrap_or(arn).to_ascii_lowercase();
        if world.iam.roles.get(&name).is_none_or(|role| ctx.propagating(role.created_ms)) {
            return Err(validation(format!(
                "Could not assume role {arn}. Please ensure that the role exists and allows principal 'sagemaker.amazonaws.com' to assume the role."
            )));
        }
    }
    Ok(())
}

/// The two NFS groups SageMaker makes in the domain's VPC; they refer to each other.
fn create_nfs_groups(world: &mut World, domain_id: &str, vpc_id: &str) {
    let inbound = world.id("sg");
    let outbound = world.id("sg");
    let nfs = |world: &mut World, peer: &str| Rule {
        id: world.id("sgr"),
        protocol: "tcp".into(),
        from_port: Some(2049),
        to_port: Some(2049),
        cidr: None,
        cidr6: None,
        group_id: Some(peer.to_owned()),
        prefix_list: None,
        description: None,
    };
    let tags: Tags =
        [("ManagedByAmazonSageMakerResource".to_owned(), format!("arn:aws:sagemaker:domain/{domain_id}"))].into();
    let ingress = vec![nfs(world, &outbound)];
    let egress = vec![nfs(world, &inbound)];
    world.ec2.groups.insert(inbound.clone(), SecurityGroup {
        id: inbound.clone(),
        name: format!("security-group-for-inbound-nfs-{domain_id}"),
        description: format!("[DO NOT DELETE] Security Group that allows inbound NFS traffic for SageMaker Notebooks Domain [{domain_id}]"),
        vpc_id: vpc_id.to_owned(),
        ingress,
        egress: Vec::new(),
        tags: tags.clone(),
    });
    world.ec2.groups.insert(outbound.clone(), SecurityGroup {
        id: outbound.clone(),
        name: format!("security-group-for-outbound-nfs-{domain_id}"),
        description: format!("[DO NOT DELETE] Security Group that allows outbound NFS traffic for SageMaker Notebooks Domain [{domain_id}]"),
        vpc_id: vpc_id.to_owned(),
        ingress: Vec::new(),
        egress,
        tags,
    });
}

fn domain_json(d: &Domain, now_ms: u64) -> Value {
    let mut value = json!({
        "DomainArn": d.arn,
        "DomainId": d.id,
        "DomainName": d.name,
        "HomeEfsFileSystemId": d.efs_id,
        "Status": d.timeline.at(now_ms),
        "CreationTime": Ctx::seconds(d.created_ms),
        "LastModifiedTime": Ctx::seconds(d.modified_ms),
        "AuthMode": d.auth_mode,
        "DefaultUserSettings": d.default_user_settings,
        "AppNetworkAccessType": d.network_access,
        "SubnetIds": d.subnet_ids,
        "Url": format!("https://{}.studio.sagemaker.aws", d.id),
        "VpcId": d.vpc_id,
    });
    if let Some(key) = &d.kms_key {
        value["KmsKeyId"] = json!(key);
    }
    value
}

fn user_json(u: &UserProfile, now_ms: u64) -> Value {
    json!({
        "DomainId": u.domain_id,
        "UserProfileArn": u.arn,
        "UserProfileName": u.name,
        "HomeEfsFileSystemUid": "200001",
        "Status": u.timeline.at(now_ms),
        "CreationTime": Ctx::seconds(u.created_ms),
        "LastModifiedTime": Ctx::seconds(u.modified_ms),
        "UserSettings": u.user_settings,
        "SingleSignOnUserIdentifier": u.single_sign_on.as_ref().map(|(identifier, _)| identifier),
        "SingleSignOnUserValue": u.single_sign_on.as_ref().map(|(_, value)| value),
    })
}

/// Top-level keys of an update replace those of the current settings.
fn merge(current: &mut Value, update: &Value) {
    if let (Some(current), Some(update)) = (current.as_object_mut(), update.as_object()) {
        for (key, value) in update {
            current.insert(key.clone(), value.clone());
        }
    }
}

pub(crate) fn handle(world: &mut World, ctx: &Ctx<'_>, operation: &str, input: &Value) -> Result<Value, ApiError> {
    let now = ctx.now_ms;
    match operation {
        "CreateDomain" => {
            let name = required(input, "DomainName")?.to_owned();
            let auth_mode = required(input, "AuthMode")?.to_owned();
            if !matches!(auth_mode.as_str(), "IAM" | "SSO") {
                return Err(validation(format!("AuthMode {auth_mode} is not IAM or SSO.")));
            }
            if world.sagemaker.domains.values().any(|d| d.name == name) {
                return Err(in_use(format!("Domain {name} already exists.")));
            }
            let settings =
                input.get("DefaultUserSettings").ok_or_else(|| validation("DefaultUserSettings is required."))?.clone();
            check_role(world, ctx, str_of(&settings, "ExecutionRole"))?;
            let vpc_id = required(input, "VpcId")?.to_owned();
            if !world.ec2.vpcs.contains_key(&vpc_id) {
                return Err(validation(format!("VPC {vpc_id} does not exist.")));
            }
            let subnet_ids = strings(input, "SubnetIds");
            if subnet_ids.is_empty() || subnet_ids.len() > 16 {
                return Err(validation("SubnetIds needs 1 to 16 subnets."));
            }
            for id in &subnet_ids {
                match world.ec2.subnets.get(id) {
                    Some(s) if s.vpc_id == vpc_id => {}
                    Some(_) => return Err(validation(format!("Subnet {id} is not in VPC {vpc_id}."))),
                    None => return Err(validation(format!("Subnet {id} does not exist."))),
                }
            }
            for group in strings(&settings, "SecurityGroups") {
                if !world.ec2.groups.contains_key(&group) {
                    return Err(validation(format!("Security group {group} does not exist.")));
                }
            }
            let id = format!("d-{}", world.id("x")[2..].chars().take(12).collect::<String>());
            let efs_id = format!("fs-{}", world.id("x")[2..].chars().take(17).collect::<String>());
            create_nfs_groups(world, &id, &vpc_id);
            world.sagemaker.file_systems.insert(efs_id.clone(), subnet_ids.clone());
            let domain = Domain {
                arn: format!("arn:aws:sagemaker:{}:{}:domain/{id}", ctx.region, ctx.account),
                id: id.clone(),
                name,
                auth_mode,
                network_access: str_of(input, "AppNetworkAccessType").unwrap_or("PublicInternetOnly").to_owned(),
                vpc_id,
                subnet_ids,
                default_user_settings: settings,
                kms_key: str_of(input, "KmsKeyId").map(str::to_owned),
                efs_id,
                created_ms: now,
                modified_ms: now,
                timeline: Timeline(vec![(now, "Pending".into()), (ctx.after(CREATING), "InService".into())]),
                tags: tags_of(input, "Tags"),
            };
            let out =
                json!({ "DomainArn": domain.arn, "DomainId": id, "Url": format!("https://{id}.studio.sagemaker.aws") });
            world.sagemaker.domains.insert(id, domain);
            Ok(out)
        }
        "DescribeDomain" => {
            let id = required(input, "DomainId")?;
            let d = world.sagemaker.domains.get(id).ok_or_else(|| not_found(&format!("Domain {id}")))?;
            Ok(domain_json(d, now))
        }
        "ListDomains" => {
            let domains = world.sagemaker.domains.values().map(|d| {
                json!({
                    "DomainArn": d.arn, "DomainId": d.id, "DomainName": d.name, "Status": d.timeline.at(now),
                    "CreationTime": Ctx::seconds(d.created_ms), "LastModifiedTime": Ctx::seconds(d.modified_ms),
                    "Url": format!("https://{}.studio.sagemaker.aws", d.id),
                })
            });
            paged(domains.collect(), input, "Domains", &SAGEMAKER_PAGES, ctx)
        }
        "UpdateDomain" => {
            let id = required(input, "DomainId")?.to_owned();
            let settings = input.get("DefaultUserSettings").cloned();
            if let Some(settings) = &settings {
                check_role(world, ctx, str_of(settings, "ExecutionRole"))?;
            }
            let subnets = input.get("SubnetIds").map(|_| strings(input, "SubnetIds"));
            let vpc = world
                .sagemaker
                .domains
                .get(&id)
                .map(|d| d.vpc_id.clone())
                .ok_or_else(|| not_found(&format!("Domain {id}")))?;
            for subnet in subnets.iter().flatten() {
                if world.ec2.subnets.get(subnet).is_none_or(|s| s.vpc_id != vpc) {
                    return Err(validation(format!("Subnet {subnet} is not in VPC {vpc}.")));
                }
            }
            let current = world.sagemaker.domains.get(&id).ok_or_else(|| not_found(&format!("Domain {id}")))?;
            let removes_subnet =
                subnets.as_ref().is_some_and(|s| current.subnet_ids.iter().any(|old| !s.contains(old)));
            let changes_access = str_of(input, "AppNetworkAccessType").is_some_and(|a| a != current.network_access);
            let running: Vec<String> =
                running_apps(world, &id, now).map(|a| format!("{} {}", a.app_type, a.name)).collect();
            if (removes_subnet || changes_access) && !running.is_empty() {
                return Err(in_use(format!(
                    "Domain {id} has apps in InService, Pending or Deleting state ({}); AppNetworkAccessType cannot change and subnets cannot be removed until they are deleted.",
                    running.join(", ")
                )));
            }
            let d = world.sagemaker.domains.get_mut(&id).ok_or_else(|| not_found(&format!("Domain {id}")))?;
            if d.timeline.at(now) != "InService" {
                return Err(in_use(format!("Domain {id} is {} and cannot be updated now.", d.timeline.at(now))));
            }
            if let Some(settings) = &settings {
                merge(&mut d.default_user_settings, settings);
            }
            if let Some(subnets) = subnets {
                d.subnet_ids = subnets;
            }
            if let Some(access) = str_of(input, "AppNetworkAccessType") {
                d.network_access = access.to_owned();
            }
            d.modified_ms = now;
            d.timeline.replan(now, &[(now, "Updating"), (ctx.after(UPDATING), "InService")]);
            Ok(json!({ "DomainArn": d.arn }))
        }
        "DeleteDomain" => {
            let id = required(input, "DomainId")?.to_owned();
            if !world.sagemaker.domains.contains_key(&id) {
                return Err(not_found(&format!("Domain {id}")));
            }
            if world.sagemaker.users.values().any(|u| u.domain_id == id) {
                return Err(in_use(format!("Domain {id} has user profiles; delete them first.")));
            }
            if world.sagemaker.spaces.values().any(|s| s.domain_id == id) {
                return Err(in_use(format!("Domain {id} has spaces; delete them first.")));
            }
            if running_apps(world, &id, now).next().is_some() {
                return Err(in_use(format!("Domain {id} has apps that are not deleted; delete them first.")));
            }
            let delete_home =
                input.pointer("/RetentionPolicy/HomeEfsFileSystem").and_then(Value::as_str) == Some("Delete");
            let d = world.sagemaker.domains.get_mut(&id).ok_or_else(|| not_found(&format!("Domain {id}")))?;
            d.timeline.replan(now, &[(now, "Deleting"), (ctx.after(DELETING), GONE)]);
            let efs = d.efs_id.clone();
            if delete_home {
                world.sagemaker.file_systems.remove(&efs);
            }
            Ok(json!({}))
        }
        "CreateUserProfile" => {
            let domain_id = required(input, "DomainId")?.to_owned();
            let name = required(input, "UserProfileName")?.to_owned();
            let domain =
                world.sagemaker.domains.get(&domain_id).ok_or_else(|| not_found(&format!("Domain {domain_id}")))?;
            if domain.timeline.at(now) == "Deleting" {
                return Err(in_use(format!("Domain {domain_id} is being deleted.")));
            }
            let arn = format!("arn:aws:sagemaker:{}:{}:user-profile/{domain_id}/{name}", ctx.region, ctx.account);
            let key = user_key(&domain_id, &name);
            if world.sagemaker.users.contains_key(&key) {
                return Err(in_use(format!("User profile {name} already exists in domain {domain_id}.")));
            }
            // botocore `CreateUserProfileRequest.SingleSignOnUserIdentifier`: "If the Domain's
            // AuthMode is IAM Identity Center, this field is required" (and its value too).
            let single_sign_on = match (
                str_of(input, "SingleSignOnUserIdentifier"),
                str_of(input, "SingleSignOnUserValue"),
            ) {
                // "If the Domain's AuthMode is not IAM Identity Center, this field cannot be specified" (botocore).
                (Some(_), _) | (_, Some(_)) if domain.auth_mode != "SSO" => {
                    return Err(validation(format!(
                        "SingleSignOnUserIdentifier and SingleSignOnUserValue cannot be specified for user profiles of domain {domain_id}, whose AuthMode is IAM."
                    )));
                }
                (Some(identifier), Some(value)) => Some((identifier.to_owned(), value.to_owned())),
                _ if domain.auth_mode == "SSO" => {
                    return Err(validation(format!(
                        "SingleSignOnUserIdentifier and SingleSignOnUserValue are required for user profiles of domain {domain_id}, whose AuthMode is SSO."
                    )));
                }
                _ => None,
            };
            let settings = input.get("UserSettings").cloned().unwrap_or(json!({}));
            check_role(world, ctx, str_of(&settings, "ExecutionRole"))?;
            world.sagemaker.users.insert(
                key,
                UserProfile {
                    domain_id,
                    name,
                    arn: arn.clone(),
                    single_sign_on,
                    user_settings: settings,
                    created_ms: now,
                    modified_ms: now,
                    timeline: Timeline(vec![(now, "Pending".into()), (ctx.after(CREATING / 4.0), "InService".into())]),
                    tags: tags_of(input, "Tags"),
                },
            );
            Ok(json!({ "UserProfileArn": arn }))
        }
        "DescribeUserProfile" => {
            let (domain, name) = (required(input, "DomainId")?, required(input, "UserProfileName")?);
            let u = world
                .sagemaker
                .users
                .get(&user_key(domain, name))
                .ok_or_else(|| not_found(&format!("User profile {name}")))?;
            Ok(user_json(u, now))
        }
        "ListUserProfiles" => {
            let domain = str_of(input, "DomainIdEquals");
            let users = world.sagemaker.users.values().filter(|u| domain.is_none_or(|d| d == u.domain_id)).map(|u| {
                json!({
                    "DomainId": u.domain_id, "UserProfileName": u.name, "Status": u.timeline.at(now),
                    "CreationTime": Ctx::seconds(u.created_ms), "LastModifiedTime": Ctx::seconds(u.modified_ms),
                })
            });
            paged(users.collect(), input, "UserProfiles", &SAGEMAKER_PAGES, ctx)
        }
        "UpdateUserProfile" => {
            let (domain, name) =
                (required(input, "DomainId")?.to_owned(), required(input, "UserProfileName")?.to_owned());
            let settings = input.get("UserSettings").cloned().unwrap_or(json!({}));
            check_role(world, ctx, str_of(&settings, "ExecutionRole"))?;
            let u = world
                .sagemaker
                .users
                .get_mut(&user_key(&domain, &name))
                .ok_or_else(|| not_found(&format!("User profile {name}")))?;
            if u.timeline.at(now) != "InService" {
                return Err(in_use(format!(
                    "User profile {name} is {} and cannot be updated now.",
                    u.timeline.at(now)
                )));
            }
            merge(&mut u.user_settings, &settings);
            u.modified_ms = now;
            u.timeline.replan(now, &[(now, "Updating"), (ctx.after(UPDATING / 2.0), "InService")]);
            Ok(json!({ "UserProfileArn": u.arn }))
        }
        "DeleteUserProfile" => {
            let (domain, name) = (required(input, "DomainId")?, required(input, "UserProfileName")?);
            let owns = |owner: &Option<String>| owner.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(name));
            let apps = world.sagemaker.apps.values().filter(|a| a.domain_id == domain && a.is_running(now));
            if apps.clone().any(|a| owns(&a.user_profile)) {
                return Err(in_use(format!("User profile {name} has apps that are not deleted; delete them first.")));
            }
            if world
                .sagemaker
                .spaces
                .values()
                .any(|s| s.domain_id == domain && s.sharing == "Private" && owns(&s.owner))
            {
                return Err(in_use(format!("User profile {name} has private spaces; delete them first.")));
            }
            let u = world
                .sagemaker
                .users
                .get_mut(&user_key(domain, name))
                .ok_or_else(|| not_found(&format!("User profile {name}")))?;
            u.timeline.replan(now, &[(now, "Deleting"), (ctx.after(DELETING / 2.0), GONE)]);
            Ok(json!({}))
        }
        "AddTags" | "DeleteTags" | "ListTags" => {
            let arn = required(input, "ResourceArn")?;
            let tags = if let Some(d) = world.sagemaker.domains.values_mut().find(|d| d.arn == arn) {
                &mut d.tags
            } else if let Some(u) = world.sagemaker.users.values_mut().find(|u| u.arn == arn) {
                &mut u.tags
            } else {
                return Err(not_found(&format!("Resource {arn}")));
            };
            match operation {
                "AddTags" => tags.extend(tags_of(input, "Tags")),
                "DeleteTags" => {
                    let keys = strings(input, "TagKeys");
                    tags.retain(|k, _| !keys.contains(k));
                }
                _ => {}
            }
            let listed: Vec<Value> = tags_json(tags).as_array().cloned().unwrap_or_default();
            match operation {
                "ListTags" => paged(listed, input, "Tags", &SAGEMAKER_PAGES, ctx),
                "AddTags" => Ok(json!({ "Tags": listed })),
                _ => Ok(json!({})),
            }
        }
        "CreateSpace" => create_space(world, ctx, input),
        "DescribeSpace" => {
            let (domain, name) = (required(input, "DomainId")?, required(input, "SpaceName")?);
            let space = world
                .sagemaker
                .spaces
                .get(&space_key(domain, name))
                .ok_or_else(|| not_found(&format!("Space {name}")))?;
            Ok(space_json(space, now, false))
        }
        "ListSpaces" => {
            let domain = str_of(input, "DomainIdEquals");
            let contains = str_of(input, "SpaceNameContains");
            let spaces = world
                .sagemaker
                .spaces
                .values()
                .filter(|s| domain.is_none_or(|d| d == s.domain_id) && contains.is_none_or(|c| s.name.contains(c)))
                .map(|s| space_json(s, now, true));
            paged(spaces.collect(), input, "Spaces", &SAGEMAKER_PAGES, ctx)
        }
        "DeleteSpace" => {
            let (domain, name) = (required(input, "DomainId")?.to_owned(), required(input, "SpaceName")?.to_owned());
            if !world.sagemaker.spaces.contains_key(&space_key(&domain, &name)) {
                return Err(not_found(&format!("Space {name}")));
            }
            if world
                .sagemaker
                .apps
                .values()
                .any(|a| a.domain_id == domain && a.space.as_deref() == Some(name.as_str()) && a.is_running(now))
            {
                return Err(in_use(format!("Space {name} has apps that are not deleted; delete them first.")));
            }
            let space = world
                .sagemaker
                .spaces
                .get_mut(&space_key(&domain, &name))
                .ok_or_else(|| not_found(&format!("Space {name}")))?;
            if space.timeline.at(now) == "Deleting" {
                return Err(in_use(format!("Space {name} is being deleted.")));
            }
            space.timeline.replan(now, &[(now, "Deleting"), (ctx.after(DELETING / 2.0), GONE)]);
            Ok(json!({}))
        }
        "CreateApp" => create_app(world, ctx, input),
        "DescribeApp" => {
            let (domain, app_type, name) =
                (required(input, "DomainId")?, required(input, "AppType")?, required(input, "AppName")?);
            let (_, _, owner) = app_owner(input)?;
            let app = world
                .sagemaker
                .apps
                .get(&app_key(domain, &owner, app_type, name))
                .ok_or_else(|| not_found(&format!("App {name}")))?;
            Ok(app_json(app, now))
        }
        "ListApps" => {
            let domain = str_of(input, "DomainIdEquals");
            let user = str_of(input, "UserProfileNameEquals");
            let space = str_of(input, "SpaceNameEquals");
            let apps = world
                .sagemaker
                .apps
                .values()
                .filter(|a| domain.is_none_or(|d| d == a.domain_id))
                .filter(|a| user.is_none_or(|u| a.user_profile.as_deref() == Some(u)))
                .filter(|a| space.is_none_or(|s| a.space.as_deref() == Some(s)))
                .map(|a| app_json(a, now));
            paged(apps.collect(), input, "Apps", &SAGEMAKER_PAGES, ctx)
        }
        "DeleteApp" => {
            let (domain, app_type, name) =
                (required(input, "DomainId")?, required(input, "AppType")?, required(input, "AppName")?);
            let (_, _, owner) = app_owner(input)?;
            let app = world
                .sagemaker
                .apps
                .get_mut(&app_key(domain, &owner, app_type, name))
                .filter(|a| a.timeline.at(now) != "Deleted")
                .ok_or_else(|| not_found(&format!("App {name}")))?;
            let status = app.timeline.at(now);
            if !matches!(status, "InService" | "Failed") {
                return Err(in_use(format!("App {name} is {status}; only an InService app can be deleted.")));
            }
            app.timeline.replan(now, &[(now, "Deleting"), (ctx.after(APP_DELETING), "Deleted")]);
            Ok(json!({}))
        }
        other => Err(ApiError::bad_request(
            "UnknownOperationException",
            format!("The sandbox does not implement SageMaker.{other}."),
        )),
    }
}

fn create_space(world: &mut World, ctx: &Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let now = ctx.now_ms;
    let (domain_id, name) = (required(input, "DomainId")?.to_owned(), required(input, "SpaceName")?.to_owned());
    let domain = world.sagemaker.domains.get(&domain_id).ok_or_else(|| not_found(&format!("Domain {domain_id}")))?;
    if domain.timeline.at(now) != "InService" {
        return Err(in_use(format!("Domain {domain_id} is {}.", domain.timeline.at(now))));
    }
    let owner = input.pointer("/OwnershipSettings/OwnerUserProfileName").and_then(Value::as_str).map(str::to_owned);
    let sharing =
        input.pointer("/SpaceSharingSettings/SharingType").and_then(Value::as_str).unwrap_or("Shared").to_owned();
    if !matches!(sharing.as_str(), "Private" | "Shared") {
        return Err(validation(format!("SharingType {sharing} is not Private or Shared.")));
    }
    match &owner {
        Some(owner) if !world.sagemaker.users.contains_key(&user_key(&domain_id, owner)) => {
            return Err(not_found(&format!("User profile {owner}")));
        }
        None if sharing == "Private" => {
            return Err(validation("A private space needs OwnershipSettings.OwnerUserProfileName."));
        }
        _ => {}
    }
    let key = space_key(&domain_id, &name);
    if world.sagemaker.spaces.contains_key(&key) {
        return Err(in_use(format!("Space {name} already exists in domain {domain_id}.")));
    }
    let arn = format!("arn:aws:sagemaker:{}:{}:space/{domain_id}/{name}", ctx.region, ctx.account);
    let space = Space {
        domain_id,
        name,
        arn: arn.clone(),
        owner,
        sharing,
        created_ms: now,
        modified_ms: now,
        timeline: Timeline(vec![(now, "Pending".into()), (ctx.after(CREATING / 4.0), "InService".into())]),
    };
    world.sagemaker.spaces.insert(key, space);
    Ok(json!({ "SpaceArn": arn }))
}

fn create_app(world: &mut World, ctx: &Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let now = ctx.now_ms;
    let domain_id = required(input, "DomainId")?.to_owned();
    let (app_type, name) = (required(input, "AppType")?.to_owned(), required(input, "AppName")?.to_owned());
    let (user_profile, space, owner) = app_owner(input)?;
    if !world.sagemaker.domains.contains_key(&domain_id) {
        return Err(not_found(&format!("Domain {domain_id}")));
    }
    let owner_status = match (&user_profile, &space) {
        (Some(user), _) => world.sagemaker.users.get(&user_key(&domain_id, user)).map(|u| u.timeline.at(now)),
        (None, Some(space)) => world.sagemaker.spaces.get(&space_key(&domain_id, space)).map(|s| s.timeline.at(now)),
        (None, None) => None,
    };
    match owner_status {
        None => {
            let owner = match (&user_profile, &space) {
                (Some(user), _) => format!("User profile {user}"),
                (None, space) => format!("Space {}", space.as_deref().unwrap_or_default()),
            };
            return Err(not_found(&owner));
        }
        Some("InService") => {}
        Some(status) => return Err(in_use(format!("The app's owner is {status}, not InService."))),
    }
    let key = app_key(&domain_id, &owner, &app_type, &name);
    if world.sagemaker.apps.get(&key).is_some_and(|a| a.timeline.at(now) != "Deleted") {
        return Err(in_use(format!("App {name} already exists.")));
    }
    let arn = format!(
        "arn:aws:sagemaker:{}:{}:app/{domain_id}/{}/{}/{name}",
        ctx.region,
        ctx.account,
        owner.split_once(':').map_or("", |(_, o)| o),
        app_type.to_ascii_lowercase()
    );
    let app = App {
        domain_id,
        user_profile,
        space,
        app_type,
        name,
        arn: arn.clone(),
        created_ms: now,
        timeline: Timeline(vec![(now, "Pending".into()), (ctx.after(APP_STARTING), "InService".into())]),
    };
    world.sagemaker.apps.insert(key, app);
    Ok(json!({ "AppArn": arn }))
}
