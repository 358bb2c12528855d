//! Steps and the graph they form.

use std::collections::BTreeSet;
use std::fmt;

use converge_model::Address;
use serde::{Deserialize, Serialize};

use crate::Operation;

/// A step's number in the plan: 1 for the first step shown, and so on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StepId(pub u32);

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// What a step does to its resource; plans group and order steps by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Revokes rules of a group that is about to be deleted and that name other groups.
    RevokeRules,
    /// Deletes the old resource of a replacement.
    DestroyReplaced,
    /// Deletes a resource the spec no longer has.
    Delete,
    /// Creates a resource the spec adds.
    Create,
    /// Creates the new resource of a replacement.
    CreateReplacement,
    /// Authorises the rules of a new security group (once every group they name exists).
    AuthorizeRules,
    /// Changes a resource in place.
    Update,
    /// Records the spec digest on a resource once every other step of it succeeded.
    Record,
}

impl Phase {
    /// How the phase reads before an address ("create the replacement of").
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::RevokeRules => "revoke the group rules of",
            Phase::DestroyReplaced => "destroy the replaced",
            Phase::Delete => "delete",
            Phase::Create => "create",
            Phase::CreateReplacement => "create the replacement of",
            Phase::AuthorizeRules => "authorize the group rules of",
            Phase::Update => "update",
            Phase::Record => "record the spec digest of",
        }
    }

    /// The JSON spelling (`create_replacement`).
    pub fn key(self) -> &'static str {
        match self {
            Phase::RevokeRules => "revoke_rules",
            Phase::DestroyReplaced => "destroy_replaced",
            Phase::Delete => "delete",
            Phase::Create => "create",
            Phase::CreateReplacement => "create_replacement",
            Phase::AuthorizeRules => "authorize_rules",
            Phase::Update => "update",
            Phase::Record => "record",
        }
    }
}

/// One operation of the plan and the steps that must be done before it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub id: StepId,
    /// The resource of the spec (or, for a duplicate, `name#id`) the step works on.
    pub address: Address,
    pub phase: Phase,
    pub operation: Operation,
    /// Steps that must be done first, in increasing order; all come before this one.
    pub after: Vec<StepId>,
}

/// A step graph that is not a valid program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphError {
    /// Step ids are not 1, 2, 3… in order.
    Numbering { position: usize, id: StepId },
    /// A step waits for itself, a later step, or a step that does not exist.
    ForwardEdge { step: StepId, after: StepId },
    /// A step uses the output of a step it does not (transitively) wait for,
    /// or of a step that outputs nothing.
    UnorderedOutput { step: StepId, output_of: StepId },
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphError::Numbering { position, id } => {
                write!(f, "step {} at position {} is out of sequence", id, position + 1)
            }
            GraphError::ForwardEdge { step, after } => {
                write!(f, "step {step} waits for step {after}, which is not before it")
            }
            GraphError::UnorderedOutput { step, output_of } => {
                write!(f, "step {step} uses the id of step {output_of} without waiting for it")
            }
        }
    }
}

impl std::error::Error for GraphError {}

/// The steps of a plan, in display order: a topological order of their `after` edges.
/// Read back from JSON (a saved plan) only through [`StepGraph::new`]'s checks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(into = "Vec<Step>", try_from = "Vec<Step>")]
pub struct StepGraph {
    steps: Vec<Step>,
}

impl TryFrom<Vec<Step>> for StepGraph {
    type Error = GraphError;

    fn try_from(steps: Vec<Step>) -> Result<StepGraph, GraphError> {
        StepGraph::new(steps)
    }
}

impl From<StepGraph> for Vec<Step> {
    fn from(graph: StepGraph) -> Vec<Step> {
        graph.steps
    }
}

impl StepGraph {
    /// Checks the invariants an executor relies on: ids numbered in order,
    /// edges only to earlier steps, and every output used from a step waited for.
    pub fn new(steps: Vec<Step>) -> Result<StepGraph, GraphError> {
        let graph = StepGraph { steps };
        graph.validate()?;
        Ok(graph)
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn get(&self, id: StepId) -> Option<&Step> {
        let index = usize::try_from(id.0).ok()?.checked_sub(1)?;
        self.steps.get(index)
    }

    /// Every step `id` waits for, directly or not.
    pub fn ancestors(&self, id: StepId) -> BTreeSet<StepId> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<StepId> = self.get(id).map(|s| s.after.clone()).unwrap_or_default();
        while let Some(next) = stack.pop() {
            if seen.insert(next)
                && let Some(step) = self.get(next)
            {
                stack.extend(step.after.iter().copied());
            }
        }
        seen
    }

    fn validate(&self) -> Result<(), GraphError> {
        for (position, step) in self.steps.iter().enumerate() {
            if usize::try_from(step.id.0).ok() != Some(position + 1) {
                return Err(GraphError::Numbering { position, id: step.id });
            }
            if let Some(&after) = step.after.iter().find(|after| after.0 == 0 || after.0 >= step.id.0) {
                return Err(GraphError::ForwardEdge { step: step.id, after });
            }
            let needs = step.operation.needs();
            if needs.is_empty() {
                continue;
            }
            let ancestors = self.ancestors(step.id);
            for output_of in needs {
                let produces = self.get(output_of).is_some_and(|s| s.operation.outputs_id());
                if !ancestors.contains(&output_of) || !produces {
                    return Err(GraphError::UnorderedOutput { step: step.id, output_of });
                }
            }
        }
        Ok(())
    }
}

impl<'a> IntoIterator for &'a StepGraph {
    type Item = &'a Step;
    type IntoIter = std::slice::Iter<'a, Step>;

    fn into_iter(self) -> Self::IntoIter {
        self.steps.iter()
    }
}

#[cfg(test)]
mod tests {
    use converge_model::Kind;

    use super::*;
    use crate::{Ec2Op, Id, TagOp, Tagged};

    fn step(id: u32, after: &[u32], operation: Operation) -> Step {
        Step {
            id: StepId(id),
            address: Address::new(Kind::SecurityGroup, "g"),
            phase: Phase::Create,
            operation,
            after: after.iter().map(|a| StepId(*a)).collect(),
        }
    }

    fn create() -> Operation {
        Operation::Ec2(Ec2Op::CreateSecurityGroup {
            vpc: Id::known("vpc-1"),
            name: "g".into(),
            description: "d".into(),
            tags: Default::default(),
        })
    }

    fn tag_output_of(step: u32) -> Operation {
        Operation::Tags(TagOp::SetTags {
            target: Tagged::Ec2 {
                id: Id::Output { output_of: StepId(step), address: Address::new(Kind::SecurityGroup, "g") },
            },
            set: Default::default(),
            remove: Vec::new(),
        })
    }

    #[test]
    fn outputs_must_come_from_steps_waited_for() {
        assert!(StepGraph::new(vec![step(1, &[], create()), step(2, &[1], tag_output_of(1))]).is_ok());
        assert_eq!(
            StepGraph::new(vec![step(1, &[], create()), step(2, &[], tag_output_of(1))]),
            Err(GraphError::UnorderedOutput { step: StepId(2), output_of: StepId(1) })
        );
        assert_eq!(
            StepGraph::new(vec![step(1, &[2], create()), step(2, &[], create())]),
            Err(GraphError::ForwardEdge { step: StepId(1), after: StepId(2) })
        );
        assert_eq!(
            StepGraph::new(vec![step(2, &[], create())]),
            Err(GraphError::Numbering { position: 0, id: StepId(2) })
        );
    }

    /// A graph read back from JSON (an edited saved plan) is checked as one built by the planner.
    #[test]
    fn a_graph_read_from_json_is_checked() {
        let good = StepGraph::new(vec![step(1, &[], create()), step(2, &[1], tag_output_of(1))]).expect("valid");
        let text = serde_json::to_string(&good).expect("serialises");
        assert_eq!(serde_json::from_str::<StepGraph>(&text).expect("reads back"), good);
        let edited = text.replace(r#""after":[1]"#, r#""after":[]"#);
        let error = serde_json::from_str::<StepGraph>(&edited).expect_err("step 2 no longer waits for step 1");
        assert!(error.to_string().contains("step 2"), "{error}");
    }

    #[test]
    fn resolving_replaces_outputs_with_ids() {
        let operation = tag_output_of(1);
        assert_eq!(operation.needs(), vec![StepId(1)]);
        let resolved = operation.resolve(|_| Some("sg-9".to_owned())).expect("resolves");
        assert_eq!(resolved.ids(), vec![Id::known("sg-9")]);
        assert_eq!(operation.resolve(|_| None), Err(StepId(1)));
    }

    #[test]
    fn operations_round_trip_through_json() {
        let operation = tag_output_of(3);
        let text = serde_json::to_string(&operation).expect("serialises");
        assert_eq!(
            text,
            r#"{"operation":"set_tags","target":{"resource":"ec2","id":{"output_of":3,"address":"security_group.g"}},"set":{},"remove":[]}"#
        );
        let back: Operation = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, operation);
    }
}
