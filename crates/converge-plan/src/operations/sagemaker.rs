//! SageMaker Studio domains and user profiles.

use converge_model::live::{LiveApp, LiveSagemakerDomain, LiveSpace, SagemakerStatus};
use converge_ops::{Id, Operation, Phase, SagemakerOp};

use super::ResourceOps;

/// Deletes the running apps of `domain` that `which` selects; returns their operations.
pub(crate) fn delete_apps(
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
pub(crate) fn delete_spaces(
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
