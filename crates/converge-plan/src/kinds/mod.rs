//! One module per resource kind: its fields, what a change of each takes (in
//! place, or a replacement and why), and the value of each on both sides, the
//! spec's and AWS's. Every one of these is an exhaustive `match` over the
//! kind's `Field`, so a field added to a kind does not compile until its path,
//! its rule and both of its values are written (docs/ARCHITECTURE.md, "Adding a
//! field"); `desired.rs` destructures each spec struct whole, so a key added to
//! the spec language does not compile until the planner takes it.

pub(crate) mod catalog_portfolio;
pub(crate) mod catalog_product;
pub(crate) mod emr_cluster;
pub(crate) mod iam_role;
pub(crate) mod sagemaker_domain;
pub(crate) mod sagemaker_user;
pub(crate) mod security_group;
pub(crate) mod subnet;

use converge_model::Kind;
use converge_ops::Id;

use crate::attrs::{Attrs, Documents};
use crate::desired::Desired;
use crate::value::Value;

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
