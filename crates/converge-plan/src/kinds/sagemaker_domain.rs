//! A SageMaker Studio domain.

use converge_model::live::{HOME_EFS_TAG, LiveSagemakerDomain};
use converge_model::{Address, AuthMode, HomeEfsOnDelete, Kind, NetworkAccess, SagemakerDomain, Tags};
use converge_ops::{Id, Operation, Phase, SagemakerOp, TagOp, Tagged, UserSettings};

use super::fields;
use crate::attrs::{Attrs, live_sharing, sharing, tag_map};
use crate::desired::Resolver;
use crate::fields::Mutability::{InPlace, Replace};
use crate::operations::sagemaker::delete_spaces;
use crate::operations::{Changed, Context, ResourceOps};
use crate::value::Value;

fields! {
    Name = "name" => Replace("SageMaker cannot rename a domain"),
    AuthMode = "auth_mode" => Replace("the auth mode of a domain is fixed at creation"),
    Vpc = "vpc" => Replace("UpdateDomain cannot move a domain to another VPC"),
    KmsKey = "kms_key" => Replace("the home EFS encryption key is fixed at creation"),
    NetworkAccess = "network_access" => InPlace,
    Subnets = "subnets" => InPlace,
    ExecutionRole = "execution_role" => InPlace,
    SecurityGroups = "security_groups" => InPlace,
    Sharing = "sharing" => InPlace,
    HomeEfsOnDelete = "home_efs_on_delete" => InPlace,
    Tags = "tags" => InPlace,
}

pub(crate) fn desired(d: &DesiredDomain) -> Attrs {
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Name => Value::str(&d.name),
            Field::AuthMode => Value::str(d.auth_mode.aws()),
            Field::Vpc => Value::id(&d.vpc),
            Field::KmsKey => Value::opt_str(d.kms_key.as_deref()),
            Field::NetworkAccess => Value::str(d.network_access.aws()),
            Field::Subnets => Value::ids(&d.subnets),
            Field::ExecutionRole => Value::opt_str(d.settings.execution_role.as_deref()),
            Field::SecurityGroups => Value::ids(&d.settings.security_groups),
            Field::Sharing => sharing(d.settings.sharing.as_ref()),
            Field::HomeEfsOnDelete => Value::str(d.home_efs_on_delete.aws()),
            Field::Tags => tag_map(&d.tags),
        })
    })
}

pub(crate) fn live(d: &LiveSagemakerDomain) -> Attrs {
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Name => Value::str(&d.name),
            Field::AuthMode => Value::str(d.auth_mode.to_ascii_uppercase()),
            Field::Vpc => Value::str(&d.vpc_id),
            Field::KmsKey => Value::opt_str(d.kms_key.as_deref()),
            Field::NetworkAccess => Value::str(&d.network_access),
            Field::Subnets => Value::strings(&d.subnet_ids),
            Field::ExecutionRole => Value::str(&d.execution_role),
            Field::SecurityGroups => Value::strings(&d.security_group_ids),
            Field::Sharing => live_sharing(d.sharing.as_ref()),
            Field::HomeEfsOnDelete => Value::str(if d.retains_home_efs() { "Retain" } else { "Delete" }),
            Field::Tags => tag_map(&d.tags),
        })
    })
}

// ---- what the spec wants --------------------------------------------------------

pub(crate) struct DesiredDomain {
    pub name: String,
    pub auth_mode: AuthMode,
    pub network_access: NetworkAccess,
    pub vpc: Id,
    pub subnets: Vec<Id>,
    pub kms_key: Option<String>,
    pub settings: UserSettings,
    pub home_efs_on_delete: HomeEfsOnDelete,
    pub tags: Tags,
}

/// What the spec wants of the sagemaker domain `name`, in AWS's terms.
pub(crate) fn wanted(r: &Resolver<'_>, name: &str) -> Option<DesiredDomain> {
    let spec = r.spec;
    let d = spec.sagemaker_domains.get(name)?;
    // Every key of the spec's domain, so that a key added to the spec language
    // does not compile until the planner says what it means in AWS.
    let SagemakerDomain {
        name: _,
        auth_mode: _,
        network_access: _,
        vpc: _,
        subnets: _,
        execution_role: _,
        security_groups: _,
        home_efs_on_delete: _,
        kms_key: _,
        sharing: _,
        tags: _,
        lifecycle: _,
    } = d;
    Some(DesiredDomain {
        name: d.name.clone(),
        auth_mode: d.auth_mode,
        network_access: d.network_access,
        vpc: r.id(&d.vpc, Kind::Vpc),
        subnets: r.ids(&d.subnets, Kind::Subnet),
        kms_key: d.kms_key.clone(),
        settings: UserSettings {
            execution_role: Some(r.role_arn(&d.execution_role)),
            security_groups: r.ids(&d.security_groups, Kind::SecurityGroup),
            sharing: d.sharing.clone(),
        },
        home_efs_on_delete: d.home_efs_on_delete,
        tags: r.tags(&d.tags),
    })
}

// ---- operations ----------------------------------------------------------------

pub(crate) fn create_domain(
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
        Field::Name.path(),
        Field::AuthMode.path(),
        Field::Vpc.path(),
        Field::KmsKey.path(),
        Field::NetworkAccess.path(),
        Field::Subnets.path(),
        Field::ExecutionRole.path(),
        Field::SecurityGroups.path(),
        Field::Sharing.path(),
        Field::HomeEfsOnDelete.path(),
        Field::Tags.path(),
    ];
    ops.push(phase, operation, &fields, &[]);
}

/// The home EFS retention is recorded on the domain (there is no state file),
/// so a domain removed from the spec is deleted as the spec last said.
fn with_retention(mut tags: converge_model::Tags, d: &DesiredDomain) -> converge_model::Tags {
    tags.insert(HOME_EFS_TAG.to_owned(), d.home_efs_on_delete.aws().to_owned());
    tags
}

const SETTINGS: [&str; 3] = [Field::ExecutionRole.path(), Field::SecurityGroups.path(), Field::Sharing.path()];

pub(crate) fn update_domain(
    ops: &mut ResourceOps,
    d: &DesiredDomain,
    live: &LiveSagemakerDomain,
    changed: &Changed<'_>,
) {
    let mut fields = Vec::new();
    let network_access = changed.has(Field::NetworkAccess.path()).then(|| {
        fields.push(Field::NetworkAccess.path());
        d.network_access
    });
    let subnets = changed.has(Field::Subnets.path()).then(|| {
        fields.push(Field::Subnets.path());
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
    if changed.has(Field::HomeEfsOnDelete.path()) {
        let operation = Operation::Tags(TagOp::SetTags {
            target: Tagged::SagemakerDomain { domain: Id::known(&live.id) },
            set: with_retention(Default::default(), d),
            remove: Vec::new(),
        });
        ops.push(Phase::Update, operation, &[Field::HomeEfsOnDelete.path()], &[]);
    }
}

pub(crate) fn delete_domain(
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
