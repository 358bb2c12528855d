//! SageMaker Studio domains and user profiles.

use converge_model::Address;
use converge_model::live::{HOME_EFS_TAG, LiveApp, LiveSagemakerDomain, LiveSagemakerUser, LiveSpace, SagemakerStatus};
use converge_ops::{Id, Operation, Phase, SagemakerOp, TagOp, Tagged};

use super::{Changed, Context, ResourceOps};
use crate::desired::{DesiredDomain, DesiredUser};
use crate::kinds::sagemaker_domain::Field as DomainField;
use crate::kinds::sagemaker_user::Field as UserField;

pub(super) fn create_domain(
    ctx: &Context<'_>,
    ops: &mut ResourceOps,
    address: &Address,
    d: &DesiredDomain,
    phase: Phase,
) {
    let operation = Operation::Sagemaker(SagemakerOp::CreateDomain {
        name: d.name.clone(),
        auth_mode: d.auth_mode,
        network_access: d.network_access,
        vpc: d.vpc.clone(),
        subnets: d.subnets.clone(),
        kms_key: d.kms_key.clone(),
        default_user_settings: d.settings.clone(),
        tags: with_retention(ctx.creation_tags(address, &d.tags), d),
    });
    let fields = [
        DomainField::Name.path(),
        DomainField::AuthMode.path(),
        DomainField::Vpc.path(),
        DomainField::KmsKey.path(),
        DomainField::NetworkAccess.path(),
        DomainField::Subnets.path(),
        DomainField::ExecutionRole.path(),
        DomainField::SecurityGroups.path(),
        DomainField::Sharing.path(),
        DomainField::HomeEfsOnDelete.path(),
        DomainField::Tags.path(),
    ];
    ops.push(phase, operation, &fields, &[]);
}

/// The home EFS retention is recorded on the domain (there is no state file),
/// so a domain removed from the spec is deleted as the spec last said.
fn with_retention(mut tags: converge_model::Tags, d: &DesiredDomain) -> converge_model::Tags {
    tags.insert(HOME_EFS_TAG.to_owned(), d.home_efs_on_delete.aws().to_owned());
    tags
}

const SETTINGS: [&str; 3] =
    [DomainField::ExecutionRole.path(), DomainField::SecurityGroups.path(), DomainField::Sharing.path()];

pub(super) fn update_domain(
    ops: &mut ResourceOps,
    d: &DesiredDomain,
    live: &LiveSagemakerDomain,
    changed: &Changed<'_>,
) {
    let mut fields = Vec::new();
    let network_access = changed.has(DomainField::NetworkAccess.path()).then(|| {
        fields.push(DomainField::NetworkAccess.path());
        d.network_access
    });
    let subnets = changed.has(DomainField::Subnets.path()).then(|| {
        fields.push(DomainField::Subnets.path());
        d.subnets.clone()
    });
    // The default user settings converge manages go together: UpdateDomain's
    // merging of partial settings is not documented.
    let default_user_settings = changed.any(&SETTINGS).then(|| {
        fields.extend(SETTINGS);
        d.settings.clone()
    });
    if !fields.is_empty() {
        let operation = Operation::Sagemaker(SagemakerOp::UpdateDomain {
            domain: Id::known(&live.id),
            network_access,
            subnets,
            default_user_settings,
        });
        ops.push(Phase::Update, operation, &fields, &[]);
    }
    if changed.has(DomainField::HomeEfsOnDelete.path()) {
        let operation = Operation::Tags(TagOp::SetTags {
            target: Tagged::SagemakerDomain { domain: Id::known(&live.id) },
            set: with_retention(Default::default(), d),
            remove: Vec::new(),
        });
        ops.push(Phase::Update, operation, &[DomainField::HomeEfsOnDelete.path()], &[]);
    }
}

pub(super) fn delete_domain(
    ctx: &Context<'_>,
    ops: &mut ResourceOps,
    address: &Address,
    d: &LiveSagemakerDomain,
    phase: Phase,
) {
    // A domain of the spec (being replaced) follows the spec; one no longer in it, what was recorded on it.
    let retain_home_efs = match ctx.spec.sagemaker_domains.get(&address.name) {
        Some(spec) => spec.home_efs_on_delete == converge_model::HomeEfsOnDelete::Retain,
        None => d.retains_home_efs(),
    };
    // Private spaces go with their user profiles (deleted first, in their own steps); shared ones here.
    let first = delete_spaces(ops, d, |space| space.owner.is_none(), phase);
    ops.push(
        phase,
        Operation::Sagemaker(SagemakerOp::DeleteDomain { domain: Id::known(&d.id), retain_home_efs }),
        &[],
        &first,
    );
}

pub(super) fn create_user(ctx: &Context<'_>, ops: &mut ResourceOps, address: &Address, u: &DesiredUser, phase: Phase) {
    let operation = Operation::Sagemaker(SagemakerOp::CreateUserProfile {
        domain: u.domain.clone(),
        name: u.name.clone(),
        user_settings: u.settings.clone(),
        sso_user_name: u.sso_user_name.clone(),
        tags: ctx.creation_tags(address, &u.tags),
    });
    let fields = [
        UserField::Domain.path(),
        UserField::Name.path(),
        UserField::ExecutionRole.path(),
        UserField::SecurityGroups.path(),
        UserField::Sharing.path(),
        UserField::SsoUserName.path(),
        UserField::Tags.path(),
    ];
    ops.push(phase, operation, &fields, &[]);
}

pub(super) fn update_user(ops: &mut ResourceOps, u: &DesiredUser, live: &LiveSagemakerUser, changed: &Changed<'_>) {
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
pub(super) fn delete_user(ctx: &Context<'_>, ops: &mut ResourceOps, u: &LiveSagemakerUser, phase: Phase) {
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

/// Deletes the running apps of `domain` that `which` selects; returns their operations.
fn delete_apps(
    ops: &mut ResourceOps,
    domain: &LiveSagemakerDomain,
    which: impl Fn(&LiveApp) -> bool,
    phase: Phase,
) -> Vec<usize> {
    let mut done = Vec::new();
    for app in domain.apps.iter().filter(|app| which(app)) {
        if !matches!(app.status, SagemakerStatus::InService | SagemakerStatus::Pending) {
            continue;
        }
        let owner = match (&app.space, &app.user_profile) {
            (Some(space), _) => format!("in the space `{space}`"),
            (None, user) => format!("of `{}`", user.as_deref().unwrap_or_default()),
        };
        ops.notes.push(format!("deletes the running {} app `{}` {owner} first", app.app_type, app.name));
        let operation = Operation::Sagemaker(SagemakerOp::DeleteApp {
            domain: Id::known(&domain.id),
            user_profile: app.user_profile.clone(),
            space: app.space.clone(),
            app_type: app.app_type.clone(),
            app_name: app.name.clone(),
        });
        done.push(ops.push(phase, operation, &[], &[]));
    }
    done
}

/// Deletes the spaces of `domain` that `which` selects, each after its apps; returns their operations.
fn delete_spaces(
    ops: &mut ResourceOps,
    domain: &LiveSagemakerDomain,
    which: impl Fn(&LiveSpace) -> bool,
    phase: Phase,
) -> Vec<usize> {
    let mut done = Vec::new();
    for space in domain.live_spaces().filter(|space| which(space)) {
        let apps = delete_apps(ops, domain, |app| app.space.as_deref() == Some(space.name.as_str()), phase);
        ops.notes.push(format!("deletes the space `{}` first", space.name));
        let operation =
            Operation::Sagemaker(SagemakerOp::DeleteSpace { domain: Id::known(&domain.id), space: space.name.clone() });
        done.push(ops.push(phase, operation, &[], &apps));
    }
    done
}
