//! What a plan says: the change of each resource and why, the steps, and the
//! warnings. The vocabulary every part of the planner and its readers
//! (render, drift, saved plans) share; the planning itself is `plan.rs`.

use converge_model::live::{OWNER_ADDRESS_TAG, OWNER_STACK_TAG, PREVENT_DESTROY_TAG};
use converge_model::{Address, Tags};
use converge_ops::StepGraph;

use crate::fields::Effect;
use crate::value::Value;

/// What happens to one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        }
    }
}

/// How a replacement is sequenced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplaceOrder {
    CreateBeforeDestroy,
    DestroyBeforeCreate,
}

impl ReplaceOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplaceOrder::CreateBeforeDestroy => "create before destroy",
            ReplaceOrder::DestroyBeforeCreate => "destroy before create",
        }
    }
}

/// Why and how a resource is replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replacement {
    /// The changed fields that AWS cannot change in place.
    pub forced_by: Vec<String>,
    /// Replaced resources whose new id feeds one of those fields.
    pub caused_by: Vec<Address>,
    pub order: ReplaceOrder,
    /// Why this order.
    pub order_reason: String,
}

/// One changed field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    pub path: String,
    pub before: Value,
    pub after: Value,
    pub effect: Effect,
    /// A unified diff, for policy documents and templates.
    pub diff: Option<String>,
}

/// The planned change of one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceChange {
    pub address: Address,
    /// The AWS id of the live resource, when there is one.
    pub live_id: Option<String>,
    pub action: Action,
    pub fields: Vec<FieldChange>,
    pub replacement: Option<Replacement>,
    /// Facts a reviewer should know (adoption, a task fleet that cannot be removed, …).
    pub notes: Vec<String>,
}

/// The changes that make live state match the spec: explained per resource
/// for people, and as a graph of typed steps for an executor.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub stack: String,
    /// The spec's environment this stack is (`--env`), when it has environments.
    pub environment: Option<String>,
    pub account: String,
    pub region: String,
    /// Changed resources, in address order.
    pub changes: Vec<ResourceChange>,
    /// Resources that need nothing.
    pub unchanged: usize,
    /// The work: one operation per step, in an order that respects every dependency.
    pub steps: StepGraph,
    /// What live state shows is likely wrong, though an apply would go through
    /// (a Studio subnet that reaches no AWS API), minus what the spec silences.
    pub warnings: Vec<PlanWarning>,
    /// Unchanged resources whose spec digest the apply records again (one
    /// `SetTags` each, in [`Plan::steps`]): not changes, and not counted as such.
    pub digests: Vec<DigestRewrite>,
}

/// An unchanged resource whose `converge:spec-digest` tag is rewritten.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestRewrite {
    pub address: Address,
    pub live_id: String,
    /// `true`: an apply stopped before the resource's last step; `false`: an older converge wrote it.
    pub pending: bool,
}

/// Something the live network shows is likely wrong: the same code, message
/// and hint shape as a spec warning, and silenced the same way
/// (`silence = { <code> = "<reason>" }` on the resource).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanWarning {
    /// A stable code, registered with the spec's codes so that specs can silence it.
    pub code: &'static str,
    pub address: Address,
    pub message: String,
    pub hint: String,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    pub fn change(&self, address: &Address) -> Option<&ResourceChange> {
        self.changes.iter().find(|c| &c.address == address)
    }
}

/// Tags a created resource gets besides the spec's own.
pub fn ownership_tags(stack: &str, address: &Address, prevent_destroy: bool) -> Tags {
    let mut tags = Tags::new();
    tags.insert(OWNER_STACK_TAG.to_owned(), stack.to_owned());
    tags.insert(OWNER_ADDRESS_TAG.to_owned(), address.to_string());
    if prevent_destroy {
        tags.insert(PREVENT_DESTROY_TAG.to_owned(), "true".to_owned());
    }
    tags
}
