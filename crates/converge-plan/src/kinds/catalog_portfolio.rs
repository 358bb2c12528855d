//! A Service Catalog portfolio and its principals.

use converge_model::live::LiveCatalogPortfolio;

use super::fields;
use crate::attrs::{Attrs, tag_map};
use crate::desired::DesiredPortfolio;
use crate::fields::Mutability::InPlace;
use crate::value::Value;

fields! {
    DisplayName = "display_name" => InPlace,
    Provider = "provider" => InPlace,
    Description = "description" => InPlace,
    Principals = "principals" => InPlace,
    Tags = "tags" => InPlace,
}

pub(crate) fn desired(p: &DesiredPortfolio) -> Attrs {
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::DisplayName => Value::str(&p.display_name),
            Field::Provider => Value::str(&p.provider),
            Field::Description => Value::opt_str(p.description.as_deref()),
            Field::Principals => Value::strings(&p.principals),
            Field::Tags => tag_map(&p.tags),
        })
    })
}

pub(crate) fn live(p: &LiveCatalogPortfolio) -> Attrs {
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::DisplayName => Value::str(&p.display_name),
            Field::Provider => Value::str(&p.provider),
            Field::Description => Value::opt_str(p.description.as_deref()),
            Field::Principals => Value::strings(&p.principal_arns),
            Field::Tags => tag_map(&p.tags),
        })
    })
}
