//! One module per resource kind, holding all the planner knows of it: what
//! the spec wants of it in AWS's terms (`wanted`, which destructures the
//! spec's struct whole, so a key added to the spec language does not compile
//! until the kind takes it), its fields with what a change of each takes (in
//! place, or a replacement and why), each field's value on both sides, the
//! spec's and AWS's (exhaustive `match`es over the kind's `Field`, so a field
//! added does not compile until its path, rule and values are written), and
//! the operations that create, change and delete it, claiming the fields they
//! carry by typed path. docs/ARCHITECTURE.md, "Adding a field", walks through
//! it. This module dispatches on the kind; `operations/` holds the vocabulary
//! the kinds' operations share.

pub(crate) mod catalog_portfolio;
pub(crate) mod catalog_product;
pub(crate) mod emr_cluster;
pub(crate) mod iam_role;
pub(crate) mod sagemaker_domain;
pub(crate) mod sagemaker_user;
pub(crate) mod security_group;
pub(crate) mod subnet;

use converge_model::live::SPEC_DIGEST_TAG;
use converge_model::{Address, Kind, Tags};
use converge_ops::{Id, Operation, Phase, TagOp, Tagged};

use crate::attrs::{Attrs, Documents, user_tags};
use crate::change::{Action, ResourceChange, ownership_tags};
use crate::desired::{Resolver, UNNUMBERED};
use crate::digest::spec_digest;
use crate::error::PlanError;
use crate::live_index::LiveItem;
use crate::operations::{Changed, Context, ResourceOps};
use crate::value::Value;

/// What the spec wants of one resource, in AWS's terms (each kind's module says how).
pub(crate) enum Desired {
    Subnet(subnet::DesiredSubnet),
    Group(security_group::DesiredGroup),
    Role(iam_role::DesiredRole),
    Domain(sagemaker_domain::DesiredDomain),
    User(sagemaker_user::DesiredUser),
    Portfolio(catalog_portfolio::DesiredPortfolio),
    Product(catalog_product::DesiredProduct),
    Cluster(Box<emr_cluster::DesiredCluster>),
}

/// The desired resource at `address`; `None` for VPCs (read, never changed) and absent addresses.
pub(crate) fn of(r: &Resolver<'_>, address: &Address) -> Option<Desired> {
    let (spec, name) = (r.spec, address.name.as_str());
    Some(match address.kind {
        Kind::Vpc => return None,
        Kind::Subnet => Desired::Subnet(subnet::wanted(r, name)?),
        Kind::SecurityGroup => Desired::Group(security_group::group(r, address, spec.security_groups.get(name)?)),
        Kind::IamRole => Desired::Role(iam_role::wanted(r, name)?),
        Kind::SagemakerDomain => Desired::Domain(sagemaker_domain::wanted(r, name)?),
        Kind::SagemakerUser => Desired::User(sagemaker_user::wanted(r, name)?),
        Kind::CatalogPortfolio => Desired::Portfolio(catalog_portfolio::wanted(r, name)?),
        Kind::CatalogProduct => Desired::Product(catalog_product::wanted(r, name)?),
        Kind::EmrCluster => Desired::Cluster(Box::new(emr_cluster::cluster(r, spec.emr_clusters.get(name)?))),
    })
}

/// The fields of a kind, in the order plans show them, with their rules.
pub(crate) fn fields_of(kind: Kind) -> &'static [crate::fields::Field] {
    match kind {
        Kind::Vpc => &[],
        Kind::Subnet => subnet::TABLE,
        Kind::SecurityGroup => security_group::TABLE,
        Kind::IamRole => iam_role::TABLE,
        Kind::SagemakerDomain => sagemaker_domain::TABLE,
        Kind::SagemakerUser => sagemaker_user::TABLE,
        Kind::CatalogPortfolio => catalog_portfolio::TABLE,
        Kind::CatalogProduct => catalog_product::TABLE,
        Kind::EmrCluster => emr_cluster::TABLE,
    }
}

/// The values of a live resource.
pub(crate) fn live(item: &LiveItem<'_>) -> Attrs {
    match item {
        LiveItem::Subnet(x) => subnet::live(x),
        LiveItem::SecurityGroup(x) => security_group::live(x),
        LiveItem::IamRole(x) => iam_role::live(x),
        LiveItem::Domain(x) => sagemaker_domain::live(x),
        LiveItem::User(x) => sagemaker_user::live(x),
        LiveItem::Portfolio(x) => catalog_portfolio::live(x),
        LiveItem::Product(x) => catalog_product::live(x),
        LiveItem::Emr(x) => emr_cluster::live(x),
    }
}

/// The values of a desired resource. `own` is the resource's id (for `self` rules).
pub(crate) fn desired(wanted: &Desired, own: &Id, documents: &Documents) -> Attrs {
    match wanted {
        Desired::Subnet(s) => subnet::desired(s),
        Desired::Group(g) => security_group::desired(g, own),
        Desired::Role(r) => iam_role::desired(r, documents),
        Desired::Domain(d) => sagemaker_domain::desired(d),
        Desired::User(u) => sagemaker_user::desired(u),
        Desired::Portfolio(p) => catalog_portfolio::desired(p),
        Desired::Product(p) => catalog_product::desired(p),
        Desired::Cluster(c) => emr_cluster::desired(c),
    }
}

/// Declares a kind's `Field` enum: each variant with its path (the name plans,
/// `--ignore` and the JSON show) and its rule, in the order plans show them.
macro_rules! fields {
    ($($variant:ident = $path:literal => $rule:expr),* $(,)?) => {
        /// A field of this kind.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Field {
            $($variant),*
        }

        impl Field {
            /// Every field, in the order plans show them.
            pub(crate) const ALL: &'static [Field] = &[$(Field::$variant),*];

            /// The field's path.
            pub(crate) const fn path(self) -> &'static str {
                match self {
                    $(Field::$variant => $path),*
                }
            }
        }

        /// The field table of this kind (`kinds::fields_of`).
        pub(crate) const TABLE: &[crate::fields::Field] =
            &[$(crate::fields::Field { path: $path, mutability: $rule }),*];
    };
}
pub(crate) use fields;

/// The attributes of a resource: every field's value, from `value` (`None`:
/// the field does not apply, e.g. a fleet the cluster does not have).
pub(crate) fn attrs<F: Copy>(
    all: &[F],
    path: fn(F) -> &'static str,
    mut value: impl FnMut(F) -> Option<Value>,
) -> Attrs {
    let mut a = Attrs::default();
    for &field in all {
        if let Some(v) = value(field) {
            a.set(path(field), v);
        }
    }
    a
}

// ---- the operations of each change ------------------------------------------------

/// The operations that carry out one change.
/// The operations that carry out one change, from what the spec wants of the
/// resource (worked out once, by the diff) and what AWS has.
pub(crate) fn build(
    ctx: &Context<'_>,
    change: &ResourceChange,
    wanted: Option<&Desired>,
    live: Option<&LiveItem<'_>>,
) -> Result<ResourceOps, Vec<PlanError>> {
    let mut ops = ResourceOps::default();
    let address = &change.address;
    let wanted =
        || wanted.ok_or_else(|| vec![PlanError::Internal(format!("`{address}` is planned but not in the spec"))]);
    let live = || live.ok_or_else(|| vec![PlanError::Internal(format!("`{address}` is changed but not in AWS"))]);
    match change.action {
        Action::Create => {
            let wanted = wanted()?;
            create(ctx, &mut ops, address, wanted, Phase::Create);
            record_digest(ctx, &mut ops, address, wanted, 0);
        }
        Action::Replace => {
            destroy(ctx, &mut ops, address, live()?, Phase::DestroyReplaced);
            let (wanted, first) = (wanted()?, ops.len());
            create(ctx, &mut ops, address, wanted, Phase::CreateReplacement);
            record_digest(ctx, &mut ops, address, wanted, first);
        }
        Action::Update => update(ctx, &mut ops, address, wanted()?, live()?, &Changed { fields: &change.fields }),
        Action::Delete => destroy(ctx, &mut ops, address, live()?, Phase::Delete),
    }
    Ok(ops)
}

fn create(ctx: &Context<'_>, ops: &mut ResourceOps, address: &Address, wanted: &Desired, phase: Phase) {
    match wanted {
        Desired::Subnet(s) => subnet::create_subnet(ctx, ops, address, s, phase),
        Desired::Group(g) => security_group::create_group(ctx, ops, address, g, phase),
        Desired::Role(r) => iam_role::create_role(ctx, ops, address, r, phase),
        Desired::Domain(d) => sagemaker_domain::create_domain(ctx, ops, address, d, phase),
        Desired::User(u) => sagemaker_user::create_user(ctx, ops, address, u, phase),
        Desired::Portfolio(p) => catalog_portfolio::create_portfolio(ctx, ops, address, p, phase),
        Desired::Product(p) => catalog_product::create_product(ctx, ops, address, p, phase),
        Desired::Cluster(c) => emr_cluster::create_cluster(ctx, ops, address, c, phase),
    }
}

/// Settles the spec digest of a resource just created (by the operations
/// from `first` on): written by the create itself when it is the resource's
/// only operation, else by one last `SetTags` after all of them, so that a
/// resource whose policies, rules or associations failed still says
/// `pending` and `drift` reports an unfinished apply, not a change in AWS.
fn record_digest(ctx: &Context<'_>, ops: &mut ResourceOps, address: &Address, wanted: &Desired, first: usize) {
    let Some(digest) = ctx.digests.get(address).cloned() else { return };
    let created: Vec<usize> = (first..ops.len()).collect();
    if let [only] = created[..]
        && let Some(tags) = ops.operation_mut(only).and_then(Operation::creation_tags_mut)
    {
        tags.insert(SPEC_DIGEST_TAG.to_owned(), digest);
        return;
    }
    let own = || Id::Output { output_of: UNNUMBERED, address: address.clone() };
    let target = match wanted {
        Desired::Subnet(_) | Desired::Group(_) => Tagged::Ec2 { id: own() },
        Desired::Role(r) => Tagged::IamRole { name: r.name.clone() },
        Desired::Domain(_) => Tagged::SagemakerDomain { domain: own() },
        Desired::User(u) => Tagged::SagemakerUserProfile { domain: u.domain.clone(), name: u.name.clone() },
        Desired::Portfolio(_) => Tagged::Portfolio { portfolio: own() },
        Desired::Product(_) => Tagged::Product { product: own() },
        Desired::Cluster(_) => Tagged::EmrCluster { cluster: own() },
    };
    ops.push(Phase::Record, record(target, digest), &[], &created);
}

/// The `SetTags` that records a spec digest on `target`, and nothing else.
fn record(target: Tagged, digest: String) -> Operation {
    let set = Tags::from([(SPEC_DIGEST_TAG.to_owned(), digest)]);
    Operation::Tags(TagOp::SetTags { target, set, remove: Vec::new() })
}

/// The one operation of an unchanged resource whose digest tag is `pending`
/// or of an older format: the current digest, and nothing else.
pub(crate) fn rewrite_digest(ctx: &Context<'_>, address: &Address, live: &LiveItem<'_>) -> Option<ResourceOps> {
    let digest = spec_digest(ctx.spec, address)?;
    let mut ops = ResourceOps::default();
    ops.push(Phase::Record, record(tag_target(live), digest), &[], &[]);
    Some(ops)
}

/// How the service of a live resource names it to tag it.
fn tag_target(live: &LiveItem<'_>) -> Tagged {
    match live {
        LiveItem::Subnet(l) => Tagged::Ec2 { id: Id::known(&l.id) },
        LiveItem::SecurityGroup(l) => Tagged::Ec2 { id: Id::known(&l.id) },
        LiveItem::IamRole(l) => Tagged::IamRole { name: l.name.clone() },
        LiveItem::Domain(l) => Tagged::SagemakerDomain { domain: Id::known(&l.id) },
        LiveItem::User(l) => Tagged::SagemakerUserProfile { domain: Id::known(&l.domain_id), name: l.name.clone() },
        LiveItem::Portfolio(l) => Tagged::Portfolio { portfolio: Id::known(&l.id) },
        LiveItem::Product(l) => Tagged::Product { product: Id::known(&l.id) },
        LiveItem::Emr(l) => Tagged::EmrCluster { cluster: Id::known(&l.id) },
    }
}

fn update(
    ctx: &Context<'_>,
    ops: &mut ResourceOps,
    address: &Address,
    wanted: &Desired,
    live: &LiveItem<'_>,
    changed: &Changed<'_>,
) {
    let desired_tags = match (wanted, live) {
        (Desired::Subnet(s), LiveItem::Subnet(_)) => &s.tags,
        (Desired::Group(g), LiveItem::SecurityGroup(l)) => {
            security_group::update_group(ctx, ops, g, l, changed);
            &g.tags
        }
        (Desired::Role(r), LiveItem::IamRole(l)) => {
            iam_role::update_role(ctx, ops, address, r, l, changed);
            &r.tags
        }
        (Desired::Domain(d), LiveItem::Domain(l)) => {
            sagemaker_domain::update_domain(ops, d, l, changed);
            &d.tags
        }
        (Desired::User(u), LiveItem::User(l)) => {
            sagemaker_user::update_user(ops, u, l, changed);
            &u.tags
        }
        (Desired::Portfolio(p), LiveItem::Portfolio(l)) => {
            catalog_portfolio::update_portfolio(ops, p, l, changed);
            &p.tags
        }
        (Desired::Product(p), LiveItem::Product(l)) => {
            catalog_product::update_product(ctx, ops, address, p, l, changed);
            &p.tags
        }
        (Desired::Cluster(c), LiveItem::Emr(l)) => {
            emr_cluster::update_cluster(ops, c, l, changed);
            &c.run.tags
        }
        _ => return,
    };
    set_tags(ctx, ops, address, tag_target(live), desired_tags, live.tags(), changed);
}

/// One `SetTags` for user tag changes, on adoption or take-over the ownership
/// tags, and the spec digest when it changed: after the resource's other
/// operations, so the digest says "applied" only once they all succeeded.
fn set_tags(
    ctx: &Context<'_>,
    ops: &mut ResourceOps,
    address: &Address,
    target: Tagged,
    desired: &Tags,
    live: &Tags,
    changed: &Changed<'_>,
) {
    let mut fields = Vec::new();
    let mut set = Tags::new();
    let mut remove = Vec::new();
    if changed.has("tags") {
        fields.push("tags");
        let live_user = user_tags(live);
        set.extend(desired.iter().filter(|(k, v)| live_user.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())));
        remove.extend(live_user.keys().filter(|k| !desired.contains_key(*k)).cloned());
    }
    if changed.has("ownership") {
        fields.push("ownership");
        set.extend(ownership_tags(&ctx.spec.stack.name, address, false));
    }
    if let Some(digest) = ctx.digests.get(address).filter(|d| live.get(SPEC_DIGEST_TAG) != Some(*d)) {
        set.insert(SPEC_DIGEST_TAG.to_owned(), digest.clone());
    }
    if !set.is_empty() || !remove.is_empty() {
        let before: Vec<usize> = (0..ops.len()).collect();
        ops.push(Phase::Update, Operation::Tags(TagOp::SetTags { target, set, remove }), &fields, &before);
    }
}

fn destroy(ctx: &Context<'_>, ops: &mut ResourceOps, address: &Address, live: &LiveItem<'_>, phase: Phase) {
    match live {
        LiveItem::Subnet(s) => subnet::delete_subnet(ops, s, phase),
        LiveItem::SecurityGroup(g) => security_group::delete_group(ops, g, phase),
        LiveItem::IamRole(r) => iam_role::delete_role(ops, r, phase),
        LiveItem::Domain(d) => sagemaker_domain::delete_domain(ctx, ops, address, d, phase),
        LiveItem::User(u) => sagemaker_user::delete_user(ctx, ops, u, phase),
        LiveItem::Portfolio(p) => catalog_portfolio::delete_portfolio(ops, p, phase),
        LiveItem::Product(p) => catalog_product::delete_product(ops, p, phase),
        LiveItem::Emr(c) => emr_cluster::delete_cluster(ops, c, phase),
    }
}
