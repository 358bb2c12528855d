//! The rule types: what a change of a field takes, in place or a replacement
//! and why. Each kind's table is in its module (`kinds/`), following the
//! members each service's update call has in botocore's models
//! (`UpdateDomain`, `UpdateRole`, `ModifyInstanceFleet`…; docs/plan.md); which
//! AWS calls an in-place change takes is decided where the kind's operations
//! are built, and plans show the calls of the operations built.

/// What a change of the field takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// AWS cannot change it: the resource is replaced. The text says why.
    Replace(&'static str),
    /// Changed in place by these AWS calls (those of the plan's operations for the field).
    Update(Vec<&'static str>),
}

/// Whether a field can change in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mutability {
    Replace(&'static str),
    InPlace,
}

/// One field of a kind, in display order (each kind's table is in `kinds/`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field {
    pub(crate) path: &'static str,
    pub(crate) mutability: Mutability,
}

pub(crate) const FLEET_TYPES_FIXED: &str = "EMR cannot change a fleet's instance types after creation";
pub(crate) const LAUNCH_FIXED: &str = "a fleet's launch specifications apply only at creation";
pub(crate) const FLEET_NAME_FIXED: &str = "EMR cannot rename an instance fleet";
