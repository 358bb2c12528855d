//! Service Catalog portfolios and products (with their template in S3,
//! versions, portfolio associations and launch constraints).

use std::collections::BTreeMap;

use converge_model::Address;
use converge_model::live::{LiveCatalogPortfolio, LiveCatalogProduct};
use converge_ops::{CatalogOp, Id, Operation, Phase};

use super::{Changed, Context, ResourceOps};
use crate::desired::{DesiredPortfolio, DesiredProduct, UNNUMBERED};
use crate::kinds::catalog_portfolio::Field as PortfolioField;
use crate::kinds::catalog_product::Field as ProductField;

pub(super) fn create_portfolio(
    ctx: &Context<'_>,
    ops: &mut ResourceOps,
    address: &Address,
    p: &DesiredPortfolio,
    phase: Phase,
) {
    let create = ops.push(
        phase,
        Operation::Catalog(CatalogOp::CreatePortfolio {
            display_name: p.display_name.clone(),
            provider: p.provider.clone(),
            description: p.description.clone(),
            tags: ctx.creation_tags(address, &p.tags),
            idempotency_token: ctx.token(address, "create"),
        }),
        &[
            PortfolioField::DisplayName.path(),
            PortfolioField::Provider.path(),
            PortfolioField::Description.path(),
            PortfolioField::Tags.path(),
        ],
        &[],
    );
    if !p.principals.is_empty() {
        let portfolio = Id::Output { output_of: UNNUMBERED, address: address.clone() };
        let operation =
            Operation::Catalog(CatalogOp::AssociatePrincipals { portfolio, principal_arns: p.principals.clone() });
        ops.push(phase, operation, &[PortfolioField::Principals.path()], &[create]);
    }
}

pub(super) fn update_portfolio(
    ops: &mut ResourceOps,
    p: &DesiredPortfolio,
    live: &LiveCatalogPortfolio,
    changed: &Changed<'_>,
) {
    let portfolio = Id::known(&live.id);
    let metadata =
        [PortfolioField::DisplayName.path(), PortfolioField::Provider.path(), PortfolioField::Description.path()];
    if changed.any(&metadata) {
        let operation = Operation::Catalog(CatalogOp::UpdatePortfolio {
            portfolio: portfolio.clone(),
            display_name: p.display_name.clone(),
            provider: p.provider.clone(),
            description: p.description.clone(),
        });
        ops.push(Phase::Update, operation, &metadata, &[]);
    }
    if changed.has(PortfolioField::Principals.path()) {
        let added: Vec<String> = p.principals.iter().filter(|a| !live.principal_arns.contains(a)).cloned().collect();
        let mut removed: Vec<String> =
            live.principal_arns.iter().filter(|a| !p.principals.contains(a)).cloned().collect();
        removed.sort();
        if !added.is_empty() {
            let operation = Operation::Catalog(CatalogOp::AssociatePrincipals {
                portfolio: portfolio.clone(),
                principal_arns: added,
            });
            ops.push(Phase::Update, operation, &[PortfolioField::Principals.path()], &[]);
        }
        if !removed.is_empty() {
            let operation =
                Operation::Catalog(CatalogOp::DisassociatePrincipals { portfolio, principal_arns: removed });
            ops.push(Phase::Update, operation, &[PortfolioField::Principals.path()], &[]);
        }
    }
}

/// Service Catalog deletes a portfolio only once its principals, products and constraints are gone
/// (products and constraints go in the products' own steps, ordered before this one).
pub(super) fn delete_portfolio(ops: &mut ResourceOps, p: &LiveCatalogPortfolio, phase: Phase) {
    let portfolio = Id::known(&p.id);
    let mut first = Vec::new();
    if !p.principal_arns.is_empty() {
        let mut arns = p.principal_arns.clone();
        arns.sort();
        let operation = Operation::Catalog(CatalogOp::DisassociatePrincipals {
            portfolio: portfolio.clone(),
            principal_arns: arns,
        });
        first.push(ops.push(phase, operation, &[], &[]));
    }
    ops.push(phase, Operation::Catalog(CatalogOp::DeletePortfolio { portfolio }), &[], &first);
}

fn upload(ops: &mut ResourceOps, p: &DesiredProduct, phase: Phase) -> usize {
    let operation = Operation::Catalog(CatalogOp::UploadTemplate {
        bucket: p.bucket.clone(),
        key: p.key.clone(),
        body: p.template.clone(),
    });
    ops.push(phase, operation, &[ProductField::Template.path()], &[])
}

pub(super) fn create_product(
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
            ProductField::Name.path(),
            ProductField::Owner.path(),
            ProductField::Description.path(),
            ProductField::Distributor.path(),
            ProductField::SupportEmail.path(),
            ProductField::Template.path(),
            ProductField::Tags.path(),
        ],
        &[uploaded],
    );
    let product = Id::Output { output_of: UNNUMBERED, address: address.clone() };
    let operation =
        Operation::Catalog(CatalogOp::AssociateProduct { product: product.clone(), portfolio: p.portfolio.clone() });
    let associated = ops.push(phase, operation, &[ProductField::Portfolio.path()], &[create]);
    if let Some(role_arn) = &p.launch_role {
        let operation = Operation::Catalog(CatalogOp::CreateLaunchConstraint {
            product,
            portfolio: p.portfolio.clone(),
            role_arn: role_arn.clone(),
            idempotency_token: ctx.token(address, &format!("launch {}", p.portfolio)),
        });
        ops.push(phase, operation, &[ProductField::LaunchRole.path()], &[associated]);
    }
}

pub(super) fn update_product(
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
        ProductField::Name.path(),
        ProductField::Owner.path(),
        ProductField::Description.path(),
        ProductField::Distributor.path(),
        ProductField::SupportEmail.path(),
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
    if changed.has(ProductField::Template.path()) {
        template(ctx, ops, address, p, live);
    }
    if changed.any(&[ProductField::Portfolio.path(), ProductField::LaunchRole.path()]) {
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
            vec![ops.push(update, operation, &[ProductField::Template.path()], &[])]
        }
        None => {
            let uploaded = upload(ops, p, update);
            let operation = Operation::Catalog(CatalogOp::CreateProductVersion {
                product: product.clone(),
                version: p.version.clone(),
                idempotency_token: ctx.token(address, &format!("version {}", p.version.name)),
            });
            vec![ops.push(update, operation, &[ProductField::Template.path()], &[uploaded])]
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
        ops.push(update, operation, &[ProductField::Template.path()], &current);
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
        ready.push(ops.push(update, operation, &[ProductField::Portfolio.path()], &[]));
    }
    let on_wanted = wanted.as_known().and_then(|id| constraints.get(id).copied());
    match (&p.launch_role, on_wanted) {
        (Some(role), Some((_, live_role))) if role == live_role => {}
        (Some(role), Some((constraint, _))) => {
            let operation = Operation::Catalog(CatalogOp::UpdateLaunchConstraint {
                constraint: constraint.to_owned(),
                role_arn: role.clone(),
            });
            ready.push(ops.push(update, operation, &[ProductField::LaunchRole.path()], &[]));
        }
        (Some(role), None) => {
            let operation = Operation::Catalog(CatalogOp::CreateLaunchConstraint {
                product: product.clone(),
                portfolio: wanted.clone(),
                role_arn: role.clone(),
                idempotency_token: ctx.token(address, &format!("launch {wanted}")),
            });
            let after = ready.clone();
            ready.push(ops.push(update, operation, &[ProductField::LaunchRole.path()], &after));
        }
        // A LAUNCH constraint cannot be emptied by UpdateConstraint: it is deleted.
        (None, Some((constraint, _))) => {
            ops.push(
                update,
                Operation::Catalog(CatalogOp::DeleteConstraint { constraint: constraint.to_owned() }),
                &[ProductField::LaunchRole.path()],
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
            &[ProductField::LaunchRole.path()],
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
        ops.push(update, operation, &[ProductField::Portfolio.path()], &after);
    }
    for portfolio in live.portfolio_ids.iter().filter(|id| !is_wanted(id) && !constraints.contains_key(id.as_str())) {
        let operation = Operation::Catalog(CatalogOp::DisassociateProduct {
            product: product.clone(),
            portfolio: Id::known(portfolio),
        });
        ops.push(update, operation, &[ProductField::Portfolio.path()], &ready);
    }
}

/// Service Catalog deletes a product only once it has no constraint and no portfolio.
pub(super) fn delete_product(ops: &mut ResourceOps, p: &LiveCatalogProduct, phase: Phase) {
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
