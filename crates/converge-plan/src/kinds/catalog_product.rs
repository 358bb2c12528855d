//! A Service Catalog product: its versions (the template), its portfolio and
//! its launch constraint.

use std::collections::BTreeMap;

use converge_model::live::LiveCatalogProduct;
use converge_model::{Address, CatalogProduct, Kind, STUDIO_VISIBILITY_TAG, Tags};
use converge_ops::{CatalogOp, Id, Operation, Phase, ProductVersion};

use super::fields;
use crate::attrs::{Attrs, id_key, tag_map};
use crate::desired::{Resolver, UNNUMBERED, sha256_hex, template_url, template_version};
use crate::fields::Mutability::InPlace;
use crate::operations::{Changed, Context, ResourceOps};
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

// ---- what the spec wants --------------------------------------------------------

pub(crate) struct DesiredProduct {
    pub portfolio: Id,
    pub name: String,
    pub owner: String,
    pub description: Option<String>,
    pub distributor: Option<String>,
    pub support_email: Option<String>,
    pub template: String,
    pub version: ProductVersion,
    pub bucket: String,
    pub key: String,
    pub launch_role: Option<String>,
    pub tags: Tags,
}

/// What the spec wants of the catalog product `name`, in AWS's terms.
pub(crate) fn wanted(r: &Resolver<'_>, name: &str) -> Option<DesiredProduct> {
    let spec = r.spec;
    let p = spec.catalog_products.get(name)?;
    // Every key of the spec's product, so that a key added to the spec language
    // does not compile until the planner says what it means in AWS.
    let CatalogProduct {
        portfolio: _,
        name: _,
        owner: _,
        description: _,
        distributor: _,
        support_email: _,
        template: _,
        template_bucket: _,
        version_description: _,
        launch_role: _,
        studio_visible: _,
        tags: _,
        lifecycle: _,
    } = p;
    let mut tags = p.tags.clone();
    if p.studio_visible {
        tags.insert(STUDIO_VISIBILITY_TAG.to_owned(), "true".to_owned());
    }
    let hash = sha256_hex(&p.template.text);
    let key = format!("converge/templates/{hash}.template");
    let region = &spec.stack.region;
    Some(DesiredProduct {
        portfolio: r.id(&p.portfolio, Kind::CatalogPortfolio),
        name: p.name.clone(),
        owner: p.owner.clone(),
        description: p.description.clone(),
        distributor: p.distributor.clone(),
        support_email: p.support_email.clone(),
        template: p.template.text.clone(),
        version: ProductVersion {
            name: template_version(&p.template.text),
            description: p.version_description.clone(),
            template_url: template_url(region, &p.template_bucket, &key),
        },
        bucket: p.template_bucket.clone(),
        key,
        launch_role: p.launch_role.as_ref().map(|role| r.role_arn(role)),
        tags: r.tags(&tags),
    })
}

// ---- operations ----------------------------------------------------------------

fn upload(ops: &mut ResourceOps, p: &DesiredProduct, phase: Phase) -> usize {
    let operation = Operation::Catalog(CatalogOp::UploadTemplate {
        bucket: p.bucket.clone(),
        key: p.key.clone(),
        body: p.template.clone(),
    });
    ops.push(phase, operation, &[Field::Template.path()], &[])
}

pub(crate) fn create_product(
    ctx: &Context<'_>,
    ops: &mut ResourceOps,
    address: &Address,
    p: &DesiredProduct,
    phase: Phase,
) {
    let uploaded = upload(ops, p, phase);
    let create = ops.push(
        phase,
        Operation::Catalog(CatalogOp::CreateProduct {
            name: p.name.clone(),
            owner: p.owner.clone(),
            description: p.description.clone(),
            distributor: p.distributor.clone(),
            support_email: p.support_email.clone(),
            tags: ctx.creation_tags(address, &p.tags),
            version: p.version.clone(),
            idempotency_token: ctx.token(address, "create"),
        }),
        &[
            Field::Name.path(),
            Field::Owner.path(),
            Field::Description.path(),
            Field::Distributor.path(),
            Field::SupportEmail.path(),
            Field::Template.path(),
            Field::Tags.path(),
        ],
        &[uploaded],
    );
    let product = Id::Output { output_of: UNNUMBERED, address: address.clone() };
    let operation =
        Operation::Catalog(CatalogOp::AssociateProduct { product: product.clone(), portfolio: p.portfolio.clone() });
    let associated = ops.push(phase, operation, &[Field::Portfolio.path()], &[create]);
    if let Some(role_arn) = &p.launch_role {
        let operation = Operation::Catalog(CatalogOp::CreateLaunchConstraint {
            product,
            portfolio: p.portfolio.clone(),
            role_arn: role_arn.clone(),
            idempotency_token: ctx.token(address, &format!("launch {}", p.portfolio)),
        });
        ops.push(phase, operation, &[Field::LaunchRole.path()], &[associated]);
    }
}

pub(crate) fn update_product(
    ctx: &Context<'_>,
    ops: &mut ResourceOps,
    address: &Address,
    p: &DesiredProduct,
    live: &LiveCatalogProduct,
    changed: &Changed<'_>,
) {
    let product = Id::known(&live.id);
    let update = Phase::Update;
    let metadata = [
        Field::Name.path(),
        Field::Owner.path(),
        Field::Description.path(),
        Field::Distributor.path(),
        Field::SupportEmail.path(),
    ];
    if changed.any(&metadata) {
        let operation = Operation::Catalog(CatalogOp::UpdateProduct {
            product: product.clone(),
            name: p.name.clone(),
            owner: p.owner.clone(),
            description: p.description.clone(),
            distributor: p.distributor.clone(),
            support_email: p.support_email.clone(),
        });
        ops.push(update, operation, &metadata, &[]);
    }
    if changed.has(Field::Template.path()) {
        template(ctx, ops, address, p, live);
    }
    if changed.any(&[Field::Portfolio.path(), Field::LaunchRole.path()]) {
        portfolios(ctx, ops, address, p, live);
    }
}

/// The template's version becomes the one launches use: an existing version
/// of the same content is activated again, otherwise a new version is made;
/// then every other active version is deactivated, so Studio users launch
/// only the current template.
fn template(
    ctx: &Context<'_>,
    ops: &mut ResourceOps,
    address: &Address,
    p: &DesiredProduct,
    live: &LiveCatalogProduct,
) {
    let product = Id::known(&live.id);
    let update = Phase::Update;
    let existing = live.versions.iter().rev().find(|v| v.name == p.version.name);
    let current = match existing {
        Some(version) if version.active => vec![],
        Some(version) => {
            let operation = Operation::Catalog(CatalogOp::SetProductVersionsActive {
                product: product.clone(),
                versions: vec![version.id.clone()],
                active: true,
            });
            vec![ops.push(update, operation, &[Field::Template.path()], &[])]
        }
        None => {
            let uploaded = upload(ops, p, update);
            let operation = Operation::Catalog(CatalogOp::CreateProductVersion {
                product: product.clone(),
                version: p.version.clone(),
                idempotency_token: ctx.token(address, &format!("version {}", p.version.name)),
            });
            vec![ops.push(update, operation, &[Field::Template.path()], &[uploaded])]
        }
    };
    let older: Vec<String> = live
        .versions
        .iter()
        .filter(|v| v.active && Some(v.id.as_str()) != existing.map(|e| e.id.as_str()))
        .map(|v| v.id.clone())
        .collect();
    if !older.is_empty() {
        ops.notes.push(format!(
            "deactivates the older version{} {} once the template's version is active: Studio users launch only the current template",
            if older.len() == 1 { "" } else { "s" },
            older.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
        ));
        let operation =
            Operation::Catalog(CatalogOp::SetProductVersionsActive { product, versions: older, active: false });
        ops.push(update, operation, &[Field::Template.path()], &current);
    }
}

/// The product belongs to one portfolio, with the launch constraint on that
/// pair. Moving it: associate with the new portfolio and constrain it there
/// first, then delete the old pair's constraint, then disassociate the old
/// portfolio (Service Catalog refuses to disassociate while a constraint
/// remains), so there is never a moment the product launches without its role.
fn portfolios(
    ctx: &Context<'_>,
    ops: &mut ResourceOps,
    address: &Address,
    p: &DesiredProduct,
    live: &LiveCatalogProduct,
) {
    let product = Id::known(&live.id);
    let update = Phase::Update;
    let wanted = &p.portfolio;
    let is_wanted = |portfolio: &str| wanted.as_known() == Some(portfolio);
    let constraints: BTreeMap<&str, (&str, &str)> = live
        .launch_constraints
        .iter()
        .map(|c| (c.portfolio_id.as_str(), (c.id.as_str(), c.role_arn.as_str())))
        .collect();
    let mut ready = Vec::new();
    let associated = live.portfolio_ids.iter().any(|id| is_wanted(id));
    if !associated {
        let operation =
            Operation::Catalog(CatalogOp::AssociateProduct { product: product.clone(), portfolio: wanted.clone() });
        ready.push(ops.push(update, operation, &[Field::Portfolio.path()], &[]));
    }
    let on_wanted = wanted.as_known().and_then(|id| constraints.get(id).copied());
    match (&p.launch_role, on_wanted) {
        (Some(role), Some((_, live_role))) if role == live_role => {}
        (Some(role), Some((constraint, _))) => {
            let operation = Operation::Catalog(CatalogOp::UpdateLaunchConstraint {
                constraint: constraint.to_owned(),
                role_arn: role.clone(),
            });
            ready.push(ops.push(update, operation, &[Field::LaunchRole.path()], &[]));
        }
        (Some(role), None) => {
            let operation = Operation::Catalog(CatalogOp::CreateLaunchConstraint {
                product: product.clone(),
                portfolio: wanted.clone(),
                role_arn: role.clone(),
                idempotency_token: ctx.token(address, &format!("launch {wanted}")),
            });
            let after = ready.clone();
            ready.push(ops.push(update, operation, &[Field::LaunchRole.path()], &after));
        }
        // A LAUNCH constraint cannot be emptied by UpdateConstraint: it is deleted.
        (None, Some((constraint, _))) => {
            ops.push(
                update,
                Operation::Catalog(CatalogOp::DeleteConstraint { constraint: constraint.to_owned() }),
                &[Field::LaunchRole.path()],
                &[],
            );
        }
        (None, None) => {}
    }
    // The old pairs go once the product launches from the new one.
    for (portfolio, (constraint, _)) in constraints.iter().filter(|(portfolio, _)| !is_wanted(portfolio)) {
        let deleted = ops.push(
            update,
            Operation::Catalog(CatalogOp::DeleteConstraint { constraint: (*constraint).to_owned() }),
            &[Field::LaunchRole.path()],
            &ready,
        );
        if !live.portfolio_ids.iter().any(|id| id == portfolio) {
            continue;
        }
        let operation = Operation::Catalog(CatalogOp::DisassociateProduct {
            product: product.clone(),
            portfolio: Id::known(*portfolio),
        });
        let mut after = ready.clone();
        after.push(deleted);
        ops.push(update, operation, &[Field::Portfolio.path()], &after);
    }
    for portfolio in live.portfolio_ids.iter().filter(|id| !is_wanted(id) && !constraints.contains_key(id.as_str())) {
        let operation = Operation::Catalog(CatalogOp::DisassociateProduct {
            product: product.clone(),
            portfolio: Id::known(portfolio),
        });
        ops.push(update, operation, &[Field::Portfolio.path()], &ready);
    }
}

/// Service Catalog deletes a product only once it has no constraint and no portfolio.
pub(crate) fn delete_product(ops: &mut ResourceOps, p: &LiveCatalogProduct, phase: Phase) {
    let product = Id::known(&p.id);
    let mut constraints_gone: BTreeMap<&str, usize> = BTreeMap::new();
    for constraint in &p.launch_constraints {
        let index = ops.push(
            phase,
            Operation::Catalog(CatalogOp::DeleteConstraint { constraint: constraint.id.clone() }),
            &[],
            &[],
        );
        constraints_gone.insert(constraint.portfolio_id.as_str(), index);
    }
    let mut first = Vec::new();
    for portfolio in &p.portfolio_ids {
        let after: Vec<usize> = constraints_gone.get(portfolio.as_str()).copied().into_iter().collect();
        let operation = Operation::Catalog(CatalogOp::DisassociateProduct {
            product: product.clone(),
            portfolio: Id::known(portfolio),
        });
        first.push(ops.push(phase, operation, &[], &after));
    }
    first.extend(constraints_gone.values());
    first.sort_unstable();
    first.dedup();
    ops.push(phase, Operation::Catalog(CatalogOp::DeleteProduct { product }), &[], &first);
}
