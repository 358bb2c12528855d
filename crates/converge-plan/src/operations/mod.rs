//! The operations of each change: which AWS calls, with which inputs, in
//! which order within the resource. Inputs come from the typed desired
//! resource (`desired.rs`) and the typed live one, never from the diff's
//! display values; the diff only says which fields changed.
//!
//! Ordering between resources is `steps.rs`'s job.

mod catalog;
mod ec2;
mod emr;
mod iam;
mod sagemaker;

use std::collections::BTreeMap;

use converge_model::live::{REPLACES_TAG, SPEC_DIGEST_TAG};
use converge_model::{Address, LiveState, Spec, Tags};
use converge_ops::{Id, Operation, Phase, TagOp, Tagged};

use crate::attrs::user_tags;
use crate::change::{Action, FieldChange, ResourceChange, ownership_tags};
use crate::desired::{self, Desired, UNNUMBERED};
use crate::digest::{PENDING, spec_digest};
use crate::error::PlanError;
use crate::live_index::LiveItem;
use crate::value::Value;

/// What the builders read.
pub(crate) struct Context<'a> {
    pub spec: &'a Spec,
    pub live: &'a LiveState,
    /// The live id of each resource this plan replaces.
    pub replaced: BTreeMap<Address, String>,
    /// The rules EMR keeps in the groups it is handed: never revoked.
    pub emr_rules: &'a crate::emr_rules::EmrRules,
    /// The spec digest of each changed resource, worked out once per plan.
    pub digests: &'a BTreeMap<Address, String>,
}

impl Context<'_> {
    /// The tags a new resource is created with: the spec's, converge's
    /// ownership tags, for a replacement the id of the resource it replaces,
    /// and the spec digest as [`PENDING`] until [`record_digest`] settles it.
    fn creation_tags(&self, address: &Address, user: &Tags) -> Tags {
        let mut tags = self.part_tags(address, user);
        if let Some(old) = self.replaced.get(address) {
            tags.insert(REPLACES_TAG.to_owned(), old.clone());
        }
        if self.digests.contains_key(address) {
            tags.insert(SPEC_DIGEST_TAG.to_owned(), PENDING.to_owned());
        }
        tags
    }

    /// The tags of a part created beside a resource (a role's instance
    /// profile): the spec's and the ownership tags; the resource carries the digest.
    fn part_tags(&self, address: &Address, user: &Tags) -> Tags {
        let protect = self.spec.lifecycle(address).is_some_and(|l| l.prevent_destroy);
        let mut tags = user.clone();
        tags.extend(ownership_tags(&self.spec.stack.name, address, protect));
        tags
    }

    fn token(&self, address: &Address, purpose: &str) -> String {
        desired::idempotency_token(&self.spec.stack.name, address, purpose)
    }
}

/// One operation of a resource, with what it is for.
#[derive(Clone, Debug)]
pub(crate) struct Planned {
    pub phase: Phase,
    pub operation: Operation,
    /// The fields of the change this operation carries out.
    pub fields: Vec<&'static str>,
    /// Operations of the same resource that must be done first (indices).
    pub after: Vec<usize>,
}

/// The operations of one resource, in the order they were planned.
#[derive(Clone, Debug, Default)]
pub(crate) struct ResourceOps {
    ops: Vec<Planned>,
    /// What a reviewer should know about these operations.
    pub(crate) notes: Vec<String>,
}

impl ResourceOps {
    fn push(&mut self, phase: Phase, operation: Operation, fields: &[&'static str], after: &[usize]) -> usize {
        self.ops.push(Planned { phase, operation, fields: fields.to_vec(), after: after.to_vec() });
        self.ops.len() - 1
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Planned> {
        self.ops.iter()
    }

    pub(crate) fn into_vec(self) -> Vec<Planned> {
        self.ops
    }
}

/// The fields of a change, by path.
struct Changed<'a> {
    fields: &'a [FieldChange],
}

impl Changed<'_> {
    fn has(&self, path: &str) -> bool {
        self.fields.iter().any(|f| f.path == path)
    }

    fn any(&self, paths: &[&str]) -> bool {
        paths.iter().any(|p| self.has(p))
    }

    fn after(&self, path: &str) -> Option<&Value> {
        self.fields.iter().find(|f| f.path == path).map(|f| &f.after)
    }
}

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
            let (wanted, first) = (wanted()?, ops.ops.len());
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
        Desired::Subnet(s) => ec2::create_subnet(ctx, ops, address, s, phase),
        Desired::Group(g) => ec2::create_group(ctx, ops, address, g, phase),
        Desired::Role(r) => iam::create_role(ctx, ops, address, r, phase),
        Desired::Domain(d) => sagemaker::create_domain(ctx, ops, address, d, phase),
        Desired::User(u) => sagemaker::create_user(ctx, ops, address, u, phase),
        Desired::Portfolio(p) => catalog::create_portfolio(ctx, ops, address, p, phase),
        Desired::Product(p) => catalog::create_product(ctx, ops, address, p, phase),
        Desired::Cluster(c) => emr::create_cluster(ctx, ops, address, c, phase),
    }
}

/// Settles the spec digest of a resource just created (by the operations
/// from `first` on): written by the create itself when it is the resource's
/// only operation, else by one last `SetTags` after all of them, so that a
/// resource whose policies, rules or associations failed still says
/// `pending` and `drift` reports an unfinished apply, not a change in AWS.
fn record_digest(ctx: &Context<'_>, ops: &mut ResourceOps, address: &Address, wanted: &Desired, first: usize) {
    let Some(digest) = ctx.digests.get(address).cloned() else { return };
    let created: Vec<usize> = (first..ops.ops.len()).collect();
    if let [only] = created[..]
        && let Some(tags) = ops.ops[only].operation.creation_tags_mut()
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
    let set = Tags::from([(SPEC_DIGEST_TAG.to_owned(), digest)]);
    ops.push(Phase::Record, Operation::Tags(TagOp::SetTags { target, set, remove: Vec::new() }), &[], &created);
}

/// The one operation of an unchanged resource whose digest tag is `pending`
/// or of an older format: the current digest, and nothing else.
pub(crate) fn rewrite_digest(ctx: &Context<'_>, address: &Address, live: &LiveItem<'_>) -> Option<ResourceOps> {
    let digest = spec_digest(ctx.spec, address)?;
    let mut ops = ResourceOps::default();
    let set = Tags::from([(SPEC_DIGEST_TAG.to_owned(), digest)]);
    ops.push(
        Phase::Record,
        Operation::Tags(TagOp::SetTags { target: tag_target(live), set, remove: Vec::new() }),
        &[],
        &[],
    );
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
            ec2::update_group(ctx, ops, g, l, changed);
            &g.tags
        }
        (Desired::Role(r), LiveItem::IamRole(l)) => {
            iam::update_role(ctx, ops, address, r, l, changed);
            &r.tags
        }
        (Desired::Domain(d), LiveItem::Domain(l)) => {
            sagemaker::update_domain(ops, d, l, changed);
            &d.tags
        }
        (Desired::User(u), LiveItem::User(l)) => {
            sagemaker::update_user(ops, u, l, changed);
            &u.tags
        }
        (Desired::Portfolio(p), LiveItem::Portfolio(l)) => {
            catalog::update_portfolio(ops, p, l, changed);
            &p.tags
        }
        (Desired::Product(p), LiveItem::Product(l)) => {
            catalog::update_product(ctx, ops, address, p, l, changed);
            &p.tags
        }
        (Desired::Cluster(c), LiveItem::Emr(l)) => {
            emr::update_cluster(ops, c, l, changed);
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
        let before: Vec<usize> = (0..ops.ops.len()).collect();
        ops.push(Phase::Update, Operation::Tags(TagOp::SetTags { target, set, remove }), &fields, &before);
    }
}

fn destroy(ctx: &Context<'_>, ops: &mut ResourceOps, address: &Address, live: &LiveItem<'_>, phase: Phase) {
    match live {
        LiveItem::Subnet(s) => ec2::delete_subnet(ops, s, phase),
        LiveItem::SecurityGroup(g) => ec2::delete_group(ops, g, phase),
        LiveItem::IamRole(r) => iam::delete_role(ops, r, phase),
        LiveItem::Domain(d) => sagemaker::delete_domain(ctx, ops, address, d, phase),
        LiveItem::User(u) => sagemaker::delete_user(ctx, ops, u, phase),
        LiveItem::Portfolio(p) => catalog::delete_portfolio(ops, p, phase),
        LiveItem::Product(p) => catalog::delete_product(ops, p, phase),
        LiveItem::Emr(c) => emr::delete_cluster(ops, c, phase),
    }
}
