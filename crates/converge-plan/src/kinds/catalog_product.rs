//! A Service Catalog product: its versions (the template), its portfolio and
//! its launch constraint.

use converge_model::live::LiveCatalogProduct;

use super::fields;
use crate::attrs::{Attrs, id_key, tag_map};
use crate::desired::DesiredProduct;
use crate::fields::Mutability::InPlace;
use crate::value::Value;

fields! {
    Portfolio = "portfolio" => InPlace,
    Name = "name" => InPlace,
    Owner = "owner" => InPlace,
    Description = "description" => InPlace,
    Distributor = "distributor" => InPlace,
    SupportEmail = "support_email" => InPlace,
    Template = "template" => InPlace,
    LaunchRole = "launch_role" => InPlace,
    Tags = "tags" => InPlace,
}

pub(crate) fn desired(p: &DesiredProduct) -> Attrs {
    let mut a = super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Portfolio => Value::id(&p.portfolio),
            Field::Name => Value::str(&p.name),
            Field::Owner => Value::str(&p.owner),
            Field::Description => Value::opt_str(p.description.as_deref()),
            Field::Distributor => Value::opt_str(p.distributor.as_deref()),
            Field::SupportEmail => Value::opt_str(p.support_email.as_deref()),
            Field::Template => Value::str(&p.version.name),
            Field::LaunchRole => {
                Value::Map(p.launch_role.iter().map(|role| (id_key(&p.portfolio), Value::str(role))).collect())
            }
            Field::Tags => tag_map(&p.tags),
        })
    });
    a.texts.insert(Field::Template.path(), p.template.clone());
    a
}

/// One active version is the template; several are a change (the older ones
/// are deactivated). A version converge made is named after its template's
/// content; one made by hand is known by the content read back, when it was.
pub(crate) fn live(p: &LiveCatalogProduct) -> Attrs {
    let one_or_many = |items: &[String]| match items {
        [] => Value::Null,
        [one] => Value::str(one),
        many => Value::strings(many),
    };
    let mut a = super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Portfolio => one_or_many(&p.portfolio_ids),
            Field::Name => Value::str(&p.name),
            Field::Owner => Value::str(&p.owner),
            Field::Description => Value::opt_str(p.description.as_deref()),
            Field::Distributor => Value::opt_str(p.distributor.as_deref()),
            Field::SupportEmail => Value::opt_str(p.support_email.as_deref()),
            Field::Template => {
                let active: Vec<String> = p
                    .versions
                    .iter()
                    .filter(|v| v.active)
                    .map(|v| match &v.template {
                        Some(text) if !v.name.starts_with("sha256:") => crate::desired::template_version(text),
                        _ => v.name.clone(),
                    })
                    .collect();
                one_or_many(&active)
            }
            Field::LaunchRole => Value::Map(
                p.launch_constraints.iter().map(|c| (c.portfolio_id.clone(), Value::str(&c.role_arn))).collect(),
            ),
            Field::Tags => tag_map(&p.tags),
        })
    });
    if let Some(text) = p.current_version().and_then(|v| v.template.clone()) {
        a.texts.insert(Field::Template.path(), text);
    }
    a
}
