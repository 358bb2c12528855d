//! A SageMaker Studio user profile.

use converge_model::live::LiveSagemakerUser;
use converge_model::{Address, Kind, SagemakerUser, Tags};
use converge_ops::{Id, Operation, Phase, SagemakerOp, UserSettings};

use super::fields;
use crate::attrs::{Attrs, live_sharing, sharing, tag_map};
use crate::desired::Resolver;
use crate::fields::Mutability::{InPlace, Replace};
use crate::operations::sagemaker::{delete_apps, delete_spaces};
use crate::operations::{Changed, Context, ResourceOps};
use crate::value::Value;

fields! {
    Domain = "domain" => Replace("a user profile belongs to one domain"),
    Name = "name" => Replace("SageMaker cannot rename a user profile"),
    SsoUserName = "sso_user_name" => Replace("UpdateUserProfile cannot change a profile's IAM Identity Center user"),
    ExecutionRole = "execution_role" => InPlace,
    SecurityGroups = "security_groups" => InPlace,
    Sharing = "sharing" => InPlace,
    Tags = "tags" => InPlace,
}

pub(crate) fn desired(u: &DesiredUser) -> Attrs {
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Domain => Value::id(&u.domain),
            Field::Name => Value::str(&u.name),
            Field::SsoUserName => Value::opt_str(u.sso_user_name.as_deref()),
            Field::ExecutionRole => Value::opt_str(u.settings.execution_role.as_deref()),
            Field::SecurityGroups => Value::ids(&u.settings.security_groups),
            Field::Sharing => sharing(u.settings.sharing.as_ref()),
            Field::Tags => tag_map(&u.tags),
        })
    })
}

pub(crate) fn live(u: &LiveSagemakerUser) -> Attrs {
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Domain => Value::str(&u.domain_id),
            Field::Name => Value::str(&u.name),
            Field::SsoUserName => Value::opt_str(u.sso_user_name.as_deref()),
            Field::ExecutionRole => Value::opt_str(u.execution_role.as_deref()),
            Field::SecurityGroups => Value::strings(&u.security_group_ids),
            Field::Sharing => live_sharing(u.sharing.as_ref()),
            Field::Tags => tag_map(&u.tags),
        })
    })
}

// ---- what the spec wants --------------------------------------------------------

pub(crate) struct DesiredUser {
    pub domain: Id,
    pub name: String,
    pub settings: UserSettings,
    pub sso_user_name: Option<String>,
    pub tags: Tags,
}

/// What the spec wants of the sagemaker user `name`, in AWS's terms.
pub(crate) fn wanted(r: &Resolver<'_>, name: &str) -> Option<DesiredUser> {
    let spec = r.spec;
    let u = spec.sagemaker_users.get(name)?;
    // Every key of the spec's user profile, so that a key added to the spec language
    // does not compile until the planner says what it means in AWS.
    let SagemakerUser {
        domain: _,
        name: _,
        execution_role: _,
        security_groups: _,
        sharing: _,
        sso_user_name: _,
        tags: _,
        lifecycle: _,
    } = u;
    Some(DesiredUser {
        domain: r.id(&u.domain, Kind::SagemakerDomain),
        name: u.name.clone().unwrap_or_else(|| name.to_owned()),
        settings: UserSettings {
            execution_role: u.execution_role.as_ref().map(|role| r.role_arn(role)),
            security_groups: r.ids(&u.security_groups, Kind::SecurityGroup),
            sharing: u.sharing.clone(),
        },
        sso_user_name: u.sso_user_name.clone(),
        tags: r.tags(&u.tags),
    })
}

// ---- operations ----------------------------------------------------------------

/// The fields `UpdateUserProfile`'s `UserSettings` carries.
const SETTINGS: [&str; 3] = [Field::ExecutionRole.path(), Field::SecurityGroups.path(), Field::Sharing.path()];

pub(crate) fn create_user(ctx: &Context<'_>, ops: &mut ResourceOps, address: &Address, u: &DesiredUser, phase: Phase) {
    let operation = Operation::Sagemaker(SagemakerOp::CreateUserProfile {
        domain: u.domain.clone(),
        name: u.name.clone(),
        user_settings: u.settings.clone(),
        sso_user_name: u.sso_user_name.clone(),
        tags: ctx.creation_tags(address, &u.tags),
    });
    let fields = [
        Field::Domain.path(),
        Field::Name.path(),
        Field::ExecutionRole.path(),
        Field::SecurityGroups.path(),
        Field::Sharing.path(),
        Field::SsoUserName.path(),
        Field::Tags.path(),
    ];
    ops.push(phase, operation, &fields, &[]);
}

pub(crate) fn update_user(ops: &mut ResourceOps, u: &DesiredUser, live: &LiveSagemakerUser, changed: &Changed<'_>) {
    if changed.any(&SETTINGS) {
        let operation = Operation::Sagemaker(SagemakerOp::UpdateUserProfile {
            domain: Id::known(&live.domain_id),
            name: live.name.clone(),
            user_settings: u.settings.clone(),
        });
        ops.push(Phase::Update, operation, &SETTINGS, &[]);
    }
}

/// SageMaker deletes a user profile only once its apps and private spaces
/// are gone: the plan deletes them first, by name (the profile is going away).
pub(crate) fn delete_user(ctx: &Context<'_>, ops: &mut ResourceOps, u: &LiveSagemakerUser, phase: Phase) {
    let domain = ctx.live.sagemaker_domains.iter().find(|d| d.id == u.domain_id);
    let mut first = Vec::new();
    if let Some(domain) = domain {
        let owner = Some(u.name.as_str());
        first.extend(delete_apps(
            ops,
            domain,
            |app| app.user_profile.as_deref() == owner && app.space.is_none(),
            phase,
        ));
        first.extend(delete_spaces(ops, domain, |space| space.owner.as_deref() == owner, phase));
    }
    let domain = Id::known(&u.domain_id);
    ops.push(phase, Operation::Sagemaker(SagemakerOp::DeleteUserProfile { domain, name: u.name.clone() }), &[], &first);
}
