//! IAM: roles, their policies and tags, instance profiles, with IAM's
//! conflicts (`DeleteConflict`, `EntityAlreadyExists`, `NoSuchEntity`).

use crate::context::Ctx;
use crate::error::ApiError;
use crate::query::Params;
use crate::state::{InstanceProfile, Role, World};
use crate::xml::{Xml, iso8601, url_encode};

const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

fn no_such_role(name: &str) -> ApiError {
    ApiError::new(404, "NoSuchEntity", format!("The role with name {name} cannot be found."))
}

fn no_such_profile(name: &str) -> ApiError {
    ApiError::new(404, "NoSuchEntity", format!("Instance Profile {name} cannot be found."))
}

/// AWS managed policies the sandbox knows to exist (ARN path and name): those
/// the platform's guides name, each on its page of the AWS Managed Policy
/// Reference Guide (`https://docs.aws.amazon.com/aws-managed-policy/latest/reference/<Name>.html`).
/// Any other `arn:aws:iam::aws:policy/…` is answered as AWS answers a policy
/// that does not exist.
const AWS_MANAGED_POLICIES: &[&str] = &[
    "AdministratorAccess",
    "AmazonEMRFullAccessPolicy_v2",
    "AmazonElasticMapReduceFullAccess",
    "AmazonS3FullAccess",
    "AmazonS3ReadOnlyAccess",
    "AmazonSSMManagedInstanceCore",
    "AmazonSageMakerFullAccess",
    "AmazonSageMakerReadOnly",
    "AWSCloudFormationReadOnlyAccess",
    "AWSServiceCatalogAdminFullAccess",
    "AWSServiceCatalogEndUserFullAccess",
    "CloudWatchLogsFullAccess",
    "ReadOnlyAccess",
    "service-role/AmazonEMRServicePolicy_v2",
    "service-role/AmazonElasticMapReduceRole",
    "service-role/AmazonElasticMapReduceforEC2Role",
];

/// Whether a managed policy can be attached to a role: `NoSuchEntity` when it
/// does not exist ("Policy … does not exist or is not attachable.": hashicorp/terraform#31748,
/// getmoto/moto#6482), `PolicyNotAttachable` for a service-linked role's policy
/// (aws/aws-cdk#6131). Policies of this account exist when seeded (`Seed::policies`).
fn check_attachable(world: &World, account: &str, arn: &str) -> Result<(), ApiError> {
    let missing = || ApiError::new(404, "NoSuchEntity", format!("Policy {arn} does not exist or is not attachable."));
    let rest = arn.split_once(":iam::").map(|(_, rest)| rest).ok_or_else(missing)?;
    let (owner, path) = rest.split_once(":policy/").ok_or_else(missing)?;
    if owner == "aws" {
        if path.starts_with("aws-service-role/") {
            return Err(ApiError::bad_request(
                "PolicyNotAttachable",
                "Cannot attach a Service Role Policy to a Customer Role.",
            ));
        }
        return if AWS_MANAGED_POLICIES.contains(&path) { Ok(()) } else { Err(missing()) };
    }
    if owner == account && world.iam.policies.iter().any(|p| p == arn) { Ok(()) } else { Err(missing()) }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

fn policy_document(text: &str, field: &str) -> Result<String, ApiError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request("MalformedPolicyDocument", format!("{field} is not valid JSON: {e}")))?;
    if value.get("Statement").is_none() {
        return Err(ApiError::bad_request("MalformedPolicyDocument", format!("{field} has no Statement")));
    }
    Ok(text.to_owned())
}

/// An envelope `<{Op}Response><{Op}Result>…</{Op}Result><ResponseMetadata>…`.
fn respond(ctx: &Ctx<'_>, operation: &str, body: impl FnOnce(&mut Xml)) -> String {
    let mut x = Xml::new();
    x.root(&format!("{operation}Response"), NAMESPACE).open(&format!("{operation}Result"));
    body(&mut x);
    x.close(&format!("{operation}Result"));
    x.open("ResponseMetadata").text("RequestId", ctx.request_id).close("ResponseMetadata");
    x.close(&format!("{operation}Response"));
    x.finish()
}

fn role_xml(x: &mut Xml, tag: &str, role: &Role) {
    x.open(tag);
    x.text("Path", &role.path).text("RoleName", &role.name).text("RoleId", &role.id).text("Arn", &role.arn);
    x.text("CreateDate", &iso8601(role.created));
    x.text("AssumeRolePolicyDocument", &url_encode(&role.assume_role_policy));
    x.opt("Description", role.description.as_deref());
    x.text("MaxSessionDuration", &role.max_session_duration.to_string());
    if !role.tags.is_empty() {
        x.open("Tags");
        for (k, v) in &role.tags {
            x.open("member").text("Key", k).text("Value", v).close("member");
        }
        x.close("Tags");
    }
    x.close(tag);
}

fn profile_xml(x: &mut Xml, tag: &str, profile: &InstanceProfile, world: &World) {
    x.open(tag);
    x.text("Path", &profile.path).text("InstanceProfileName", &profile.name).text("InstanceProfileId", &profile.id);
    x.text("Arn", &profile.arn).text("CreateDate", &iso8601(profile.created));
    x.open("Roles");
    for key in &profile.roles {
        if let Some(role) = world.iam.roles.get(key) {
            role_xml(x, "member", role);
        }
    }
    x.close("Roles").close(tag);
}

fn attached_policy_xml(x: &mut Xml, arn: &str) {
    let policy = arn.rsplit('/').next().unwrap_or(arn);
    x.open("member").text("PolicyName", policy).text("PolicyArn", arn).close("member");
}

/// A role as GetAccountAuthorizationDetails lists it: everything about it in one
/// element, but no description or session length (AWS leaves those out too).
fn role_detail_xml(x: &mut Xml, role: &Role, world: &World) {
    x.open("member");
    x.text("Path", &role.path).text("RoleName", &role.name).text("RoleId", &role.id).text("Arn", &role.arn);
    x.text("CreateDate", &iso8601(role.created));
    x.text("AssumeRolePolicyDocument", &url_encode(&role.assume_role_policy));
    x.open("InstanceProfileList");
    let key = role.name.to_ascii_lowercase();
    for profile in world.iam.instance_profiles.values().filter(|ip| ip.roles.contains(&key)) {
        profile_xml(x, "member", profile, world);
    }
    x.close("InstanceProfileList");
    x.open("RolePolicyList");
    for (name, document) in &role.inline_policies {
        x.open("member").text("PolicyName", name).text("PolicyDocument", &url_encode(document)).close("member");
    }
    x.close("RolePolicyList");
    x.open("AttachedManagedPolicies");
    for arn in &role.managed_policies {
        attached_policy_xml(x, arn);
    }
    x.close("AttachedManagedPolicies");
    x.open("Tags");
    for (k, v) in &role.tags {
        x.open("member").text("Key", k).text("Value", v).close("member");
    }
    x.close("Tags");
    x.close("member");
}

fn tags_from(params: &Params) -> Vec<(String, String)> {
    params
        .members("Tags.member")
        .into_iter()
        .filter_map(|p| {
            Some((
                params.get(&format!("{p}.Key"))?.to_owned(),
                params.get(&format!("{p}.Value")).unwrap_or("").to_owned(),
            ))
        })
        .collect()
}

/// IAM's pagination: `MaxItems` (100 by default) and `Marker`.
fn paged<T>(items: Vec<T>, p: &Params, ctx: &Ctx<'_>) -> Result<(Vec<T>, Option<String>), ApiError> {
    let asked = p.int("MaxItems")?.and_then(|n| usize::try_from(n).ok());
    crate::paging::page(items, p.get("Marker"), asked, (100, 1000), ctx, "ValidationError")
}

/// `IsTruncated`, and the `Marker` of the next page when there is one.
fn truncation(x: &mut Xml, next: Option<&str>) {
    x.text("IsTruncated", if next.is_some() { "true" } else { "false" });
    x.opt("Marker", next);
}

fn role_mut<'w>(world: &'w mut World, name: &str) -> Result<&'w mut Role, ApiError> {
    world.iam.roles.get_mut(&name.to_ascii_lowercase()).ok_or_else(|| no_such_role(name))
}

pub(crate) fn handle(world: &mut World, ctx: &Ctx<'_>, operation: &str, p: &Params) -> Result<String, ApiError> {
    match operation {
        "CreateRole" => {
            let name = p.required("RoleName")?;
            if !valid_name(name) {
                return Err(ApiError::bad_request(
                    "ValidationError",
                    format!("The specified value for roleName is invalid: {name}"),
                ));
            }
            if world.iam.roles.contains_key(&name.to_ascii_lowercase()) {
                return Err(ApiError::new(
                    409,
                    "EntityAlreadyExists",
                    format!("Role with name {name} already exists."),
                ));
            }
            let document = policy_document(p.required("AssumeRolePolicyDocument")?, "AssumeRolePolicyDocument")?;
            let max = p.int("MaxSessionDuration")?.unwrap_or(3600);
            if !(3600..=43200).contains(&max) {
                return Err(ApiError::bad_request(
                    "ValidationError",
                    "MaxSessionDuration must be between 3600 and 43200",
                ));
            }
            let path = p.get("Path").unwrap_or("/").to_owned();
            let id = world.id("AROA").to_ascii_uppercase().replace('-', "");
            let role = Role {
                name: name.to_owned(),
                arn: format!("arn:aws:iam::{}:role{path}{name}", ctx.account),
                id,
                path,
                created: ctx.now,
                created_ms: ctx.now_ms,
                description: p.get("Description").map(str::to_owned),
                assume_role_policy: document,
                max_session_duration: max,
                managed_policies: Vec::new(),
                inline_policies: Default::default(),
                tags: tags_from(p).into_iter().collect(),
            };
            let out = respond(ctx, operation, |x| role_xml(x, "Role", &role));
            world.iam.roles.insert(name.to_ascii_lowercase(), role);
            Ok(out)
        }
        "GetRole" => {
            let name = p.required("RoleName")?;
            let role = world.iam.roles.get(&name.to_ascii_lowercase()).ok_or_else(|| no_such_role(name))?;
            Ok(respond(ctx, operation, |x| role_xml(x, "Role", role)))
        }
        "ListRoles" => {
            let prefix = p.get("PathPrefix").unwrap_or("/");
            let roles: Vec<&Role> = world.iam.roles.values().filter(|r| r.path.starts_with(prefix)).collect();
            let (roles, next) = paged(roles, p, ctx)?;
            Ok(respond(ctx, operation, |x| {
                x.open("Roles");
                for role in roles {
                    role_xml(x, "member", role);
                }
                x.close("Roles");
                truncation(x, next.as_deref());
            }))
        }
        "GetAccountAuthorizationDetails" => {
            // The sandbox holds roles only: users, groups and customer-managed
            // policies are always empty lists.
            let filters = p.strings("Filter.member");
            let roles: Vec<&Role> = if filters.is_empty() || filters.iter().any(|f| f == "Role") {
                world.iam.roles.values().collect()
            } else {
                Vec::new()
            };
            let (roles, next) = paged(roles, p, ctx)?;
            Ok(respond(ctx, operation, |x| {
                x.open("RoleDetailList");
                for role in roles {
                    role_detail_xml(x, role, world);
                }
                x.close("RoleDetailList");
                x.open("UserDetailList").close("UserDetailList");
                x.open("GroupDetailList").close("GroupDetailList");
                x.open("Policies").close("Policies");
                truncation(x, next.as_deref());
            }))
        }
        "DeleteRole" => {
            let name = p.required("RoleName")?;
            let key = name.to_ascii_lowercase();
            let role = world.iam.roles.get(&key).ok_or_else(|| no_such_role(name))?;
            if !role.managed_policies.is_empty() {
                return Err(ApiError::new(
                    409,
                    "DeleteConflict",
                    "Cannot delete entity, must detach all policies first.",
                ));
            }
            if !role.inline_policies.is_empty() {
                return Err(ApiError::new(409, "DeleteConflict", "Cannot delete entity, must delete policies first."));
            }
            if world.iam.instance_profiles.values().any(|ip| ip.roles.contains(&key)) {
                return Err(ApiError::new(
                    409,
                    "DeleteConflict",
                    "Cannot delete entity, must remove roles from instance profile first.",
                ));
            }
            world.iam.roles.remove(&key);
            Ok(respond(ctx, operation, |_| {}))
        }
        "UpdateRole" | "UpdateRoleDescription" => {
            let role = role_mut(world, p.required("RoleName")?)?;
            if let Some(description) = p.get("Description") {
                role.description = Some(description.to_owned());
            }
            if let Some(max) = p.int("MaxSessionDuration")? {
                if !(3600..=43200).contains(&max) {
                    return Err(ApiError::bad_request(
                        "ValidationError",
                        "MaxSessionDuration must be between 3600 and 43200",
                    ));
                }
                role.max_session_duration = max;
            }
            let role = role.clone();
            Ok(respond(ctx, operation, |x| {
                if operation == "UpdateRoleDescription" {
                    role_xml(x, "Role", &role);
                }
            }))
        }
        "UpdateAssumeRolePolicy" => {
            let document = policy_document(p.required("PolicyDocument")?, "PolicyDocument")?;
            role_mut(world, p.required("RoleName")?)?.assume_role_policy = document;
            Ok(respond(ctx, operation, |_| {}))
        }
        "AttachRolePolicy" => {
            let arn = p.required("PolicyArn")?;
            if !arn.starts_with("arn:aws:iam::") || !arn.contains(":policy/") {
                return Err(ApiError::bad_request("InvalidInput", format!("ARN {arn} is not valid.")));
            }
            check_attachable(world, ctx.account, arn)?;
            let role = role_mut(world, p.required("RoleName")?)?;
            if !role.managed_policies.iter().any(|a| a == arn) {
                role.managed_policies.push(arn.to_owned());
            }
            Ok(respond(ctx, operation, |_| {}))
        }
        "DetachRolePolicy" => {
            let arn = p.required("PolicyArn")?;
            let role = role_mut(world, p.required("RoleName")?)?;
            let before = role.managed_policies.len();
            role.managed_policies.retain(|a| a != arn);
            if role.managed_policies.len() == before {
                return Err(ApiError::new(404, "NoSuchEntity", format!("Policy {arn} was not found.")));
            }
            Ok(respond(ctx, operation, |_| {}))
        }
        "ListAttachedRolePolicies" => {
            let name = p.required("RoleName")?;
            let role = world.iam.roles.get(&name.to_ascii_lowercase()).ok_or_else(|| no_such_role(name))?;
            let (policies, next) = paged(role.managed_policies.iter().collect(), p, ctx)?;
            Ok(respond(ctx, operation, |x| {
                x.open("AttachedPolicies");
                for arn in policies {
                    attached_policy_xml(x, arn);
                }
                x.close("AttachedPolicies");
                truncation(x, next.as_deref());
            }))
        }
        "PutRolePolicy" => {
            let policy = p.required("PolicyName")?.to_owned();
            let document = policy_document(p.required("PolicyDocument")?, "PolicyDocument")?;
            role_mut(world, p.required("RoleName")?)?.inline_policies.insert(policy, document);
            Ok(respond(ctx, operation, |_| {}))
        }
        "GetRolePolicy" => {
            let name = p.required("RoleName")?;
            let policy = p.required("PolicyName")?;
            let role = world.iam.roles.get(&name.to_ascii_lowercase()).ok_or_else(|| no_such_role(name))?;
            let document = role.inline_policies.get(policy).ok_or_else(|| {
                ApiError::new(404, "NoSuchEntity", format!("The role policy with name {policy} cannot be found."))
            })?;
            Ok(respond(ctx, operation, |x| {
                x.text("RoleName", &role.name).text("PolicyName", policy).text("PolicyDocument", &url_encode(document));
            }))
        }
        "DeleteRolePolicy" => {
            let policy = p.required("PolicyName")?;
            let role = role_mut(world, p.required("RoleName")?)?;
            if role.inline_policies.remove(policy).is_none() {
                return Err(ApiError::new(
                    404,
                    "NoSuchEntity",
                    format!("The role policy with name {policy} cannot be found."),
                ));
            }
            Ok(respond(ctx, operation, |_| {}))
        }
        "ListRolePolicies" => {
            let name = p.required("RoleName")?;
            let role = world.iam.roles.get(&name.to_ascii_lowercase()).ok_or_else(|| no_such_role(name))?;
            let (policies, next) = paged(role.inline_policies.keys().collect(), p, ctx)?;
            Ok(respond(ctx, operation, |x| {
                x.open("PolicyNames");
                for policy in policies {
                    x.text("member", policy);
                }
                x.close("PolicyNames");
                truncation(x, next.as_deref());
            }))
        }
        "TagRole" => {
            let tags = tags_from(p);
            role_mut(world, p.required("RoleName")?)?.tags.extend(tags);
            Ok(respond(ctx, operation, |_| {}))
        }
        "UntagRole" => {
            let keys = p.strings("TagKeys.member");
            let role = role_mut(world, p.required("RoleName")?)?;
            role.tags.retain(|k, _| !keys.contains(k));
            Ok(respond(ctx, operation, |_| {}))
        }
        "ListRoleTags" => {
            let name = p.required("RoleName")?;
            let role = world.iam.roles.get(&name.to_ascii_lowercase()).ok_or_else(|| no_such_role(name))?;
            let (tags, next) = paged(role.tags.iter().collect(), p, ctx)?;
            Ok(respond(ctx, operation, |x| {
                x.open("Tags");
                for (k, v) in tags {
                    x.open("member").text("Key", k).text("Value", v).close("member");
                }
                x.close("Tags");
                truncation(x, next.as_deref());
            }))
        }
        "CreateInstanceProfile" => {
            let name = p.required("InstanceProfileName")?;
            let key = name.to_ascii_lowercase();
            if world.iam.instance_profiles.contains_key(&key) {
                return Err(ApiError::new(
                    409,
                    "EntityAlreadyExists",
                    format!("Instance Profile {name} already exists."),
                ));
            }
            let path = p.get("Path").unwrap_or("/").to_owned();
            let profile = InstanceProfile {
                name: name.to_owned(),
                id: world.id("AIPA").to_ascii_uppercase().replace('-', ""),
                arn: format!("arn:aws:iam::{}:instance-profile{path}{name}", ctx.account),
                path,
                created: ctx.now,
                created_ms: ctx.now_ms,
                roles: Vec::new(),
            };
            let out = respond(ctx, operation, |x| profile_xml(x, "InstanceProfile", &profile, world));
            world.iam.instance_profiles.insert(key, profile);
            Ok(out)
        }
        "GetInstanceProfile" => {
            let name = p.required("InstanceProfileName")?;
            let profile =
                world.iam.instance_profiles.get(&name.to_ascii_lowercase()).ok_or_else(|| no_such_profile(name))?;
            Ok(respond(ctx, operation, |x| profile_xml(x, "InstanceProfile", profile, world)))
        }
        "DeleteInstanceProfile" => {
            let name = p.required("InstanceProfileName")?;
            let key = name.to_ascii_lowercase();
            let profile = world.iam.instance_profiles.get(&key).ok_or_else(|| no_such_profile(name))?;
            if !profile.roles.is_empty() {
                return Err(ApiError::new(
                    409,
                    "DeleteConflict",
                    "Cannot delete entity, must remove roles from instance profile first.",
                ));
            }
            world.iam.instance_profiles.remove(&key);
            Ok(respond(ctx, operation, |_| {}))
        }
        "AddRoleToInstanceProfile" => {
            let name = p.required("InstanceProfileName")?;
            let role = p.required("RoleName")?;
            let role_key = role.to_ascii_lowercase();
            if !world.iam.roles.contains_key(&role_key) {
                return Err(no_such_role(role));
            }
            let profile =
                world.iam.instance_profiles.get_mut(&name.to_ascii_lowercase()).ok_or_else(|| no_such_profile(name))?;
            if !profile.roles.is_empty() {
                return Err(ApiError::new(
                    409,
                    "LimitExceeded",
                    "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1",
                ));
            }
            profile.roles.push(role_key);
            Ok(respond(ctx, operation, |_| {}))
        }
        "RemoveRoleFromInstanceProfile" => {
            let name = p.required("InstanceProfileName")?;
            let role = p.required("RoleName")?.to_ascii_lowercase();
            let profile =
                world.iam.instance_profiles.get_mut(&name.to_ascii_lowercase()).ok_or_else(|| no_such_profile(name))?;
            if !profile.roles.contains(&role) {
                return Err(ApiError::new(
                    404,
                    "NoSuchEntity",
                    format!("The role {role} is not in instance profile {name}."),
                ));
            }
            profile.roles.retain(|r| *r != role);
            Ok(respond(ctx, operation, |_| {}))
        }
        "ListInstanceProfilesForRole" => {
            let name = p.required("RoleName")?;
            let key = name.to_ascii_lowercase();
            if !world.iam.roles.contains_key(&key) {
                return Err(no_such_role(name));
            }
            let profiles = world.iam.instance_profiles.values().filter(|ip| ip.roles.contains(&key)).collect();
            let (profiles, next) = paged(profiles, p, ctx)?;
            Ok(respond(ctx, operation, |x| {
                x.open("InstanceProfiles");
                for profile in profiles {
                    profile_xml(x, "member", profile, world);
                }
                x.close("InstanceProfiles");
                truncation(x, next.as_deref());
            }))
        }
        other => Err(ApiError::bad_request(
            "InvalidAction",
            format!("The action {other} is not valid for this web service."),
        )),
    }
}
