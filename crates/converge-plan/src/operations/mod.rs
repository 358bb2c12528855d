//! The operations of each change: which AWS calls, with which inputs, in
//! which order within the resource. Inputs come from the typed desired
//! resource (`desired.rs`) and the typed live one, never from the diff's
//! display values; the diff only says which fields changed.
//!
//! Ordering between resources is `steps.rs`'s job.

pub(crate) mod sagemaker;

use std::collections::BTreeMap;

use converge_model::live::{REPLACES_TAG, SPEC_DIGEST_TAG};
use converge_model::{Address, LiveState, Spec, Tags};
use converge_ops::{Operation, Phase};

use crate::change::{FieldChange, ownership_tags};
use crate::desired::{self};
use crate::digest::PENDING;
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
    pub(crate) fn creation_tags(&self, address: &Address, user: &Tags) -> Tags {
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
    pub(crate) fn part_tags(&self, address: &Address, user: &Tags) -> Tags {
        let protect = self.spec.lifecycle(address).is_some_and(|l| l.prevent_destroy);
        let mut tags = user.clone();
        tags.extend(ownership_tags(&self.spec.stack.name, address, protect));
        tags
    }

    pub(crate) fn token(&self, address: &Address, purpose: &str) -> String {
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
    pub(crate) fn push(
        &mut self,
        phase: Phase,
        operation: Operation,
        fields: &[&'static str],
        after: &[usize],
    ) -> usize {
        self.ops.push(Planned { phase, operation, fields: fields.to_vec(), after: after.to_vec() });
        self.ops.len() - 1
    }

    /// How many operations are planned so far (the index the next one gets).
    pub(crate) fn len(&self) -> usize {
        self.ops.len()
    }

    pub(crate) fn operation_mut(&mut self, index: usize) -> Option<&mut Operation> {
        self.ops.get_mut(index).map(|planned| &mut planned.operation)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Planned> {
        self.ops.iter()
    }

    pub(crate) fn into_vec(self) -> Vec<Planned> {
        self.ops
    }
}

/// The fields of a change, by path.
pub(crate) struct Changed<'a> {
    pub(crate) fields: &'a [FieldChange],
}

impl Changed<'_> {
    pub(crate) fn has(&self, path: &str) -> bool {
        self.fields.iter().any(|f| f.path == path)
    }

    pub(crate) fn any(&self, paths: &[&str]) -> bool {
        paths.iter().any(|p| self.has(p))
    }

    pub(crate) fn after(&self, path: &str) -> Option<&Value> {
        self.fields.iter().find(|f| f.path == path).map(|f| &f.after)
    }
}
