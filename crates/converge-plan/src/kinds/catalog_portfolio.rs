//! A Service Catalog portfolio and its principals.

use converge_model::live::LiveCatalogPortfolio;
use converge_model::{Address, CatalogPortfolio, Tags};
use converge_ops::{CatalogOp, Id, Operation, Phase};

use super::fields;
use crate::attrs::{Attrs, tag_map};
use crate::desired::{Resolver, UNNUMBERED};
use crate::fields::Mutability::InPlace;
use crate::operations::{Changed, Context, ResourceOps};
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

// ---- what the spec wants --------------------------------------------------------

pub(crate) struct DesiredPortfolio {
    pub display_name: String,
    pub provider: String,
    pub description: Option<String>,
    pub principals: Vec<String>,
    pub tags: Tags,
}

/// What the spec wants of the catalog portfolio `name`, in AWS's terms.
pub(crate) fn wanted(r: &Resolver<'_>, name: &str) -> Option<DesiredPortfolio> {
    let spec = r.spec;
    let p = spec.catalog_portfolios.get(name)?;
    // Every key of the spec's portfolio, so that a key added to the spec language
    // does not compile until the planner says what it means in AWS.
    let CatalogPortfolio { display_name: _, provider: _, description: _, principals: _, tags: _, lifecycle: _ } = p;
    let mut principals: Vec<String> = p.principals.iter().map(|role| r.role_arn(role)).collect();
    principals.sort();
    principals.dedup();
    Some(DesiredPortfolio {
        display_name: p.display_name.clone(),
        provider: p.provider.clone(),
        description: p.description.clone(),
        principals,
        tags: r.tags(&p.tags),
    })
}

// ---- operations ----------------------------------------------------------------

pub(crate) fn create_portfolio(
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
        &[Field::DisplayName.path(), Field::Provider.path(), Field::Description.path(), Field::Tags.path()],
        &[],
    );
    if !p.principals.is_empty() {
        let portfolio = Id::Output { output_of: UNNUMBERED, address: address.clone() };
        let operation =
            Operation::Catalog(CatalogOp::AssociatePrincipals { portfolio, principal_arns: p.principals.clone() });
        ops.push(phase, operation, &[Field::Principals.path()], &[create]);
    }
}

pub(crate) fn update_portfolio(
    ops: &mut ResourceOps,
    p: &DesiredPortfolio,
    live: &LiveCatalogPortfolio,
    changed: &Changed<'_>,
) {
    let portfolio = Id::known(&live.id);
    let metadata = [Field::DisplayName.path(), Field::Provider.path(), Field::Description.path()];
    if changed.any(&metadata) {
        let operation = Operation::Catalog(CatalogOp::UpdatePortfolio {
            portfolio: portfolio.clone(),
            display_name: p.display_name.clone(),
            provider: p.provider.clone(),
            description: p.description.clone(),
        });
        ops.push(Phase::Update, operation, &metadata, &[]);
    }
    if changed.has(Field::Principals.path()) {
        let added: Vec<String> = p.principals.iter().filter(|a| !live.principal_arns.contains(a)).cloned().collect();
        let mut removed: Vec<String> =
            live.principal_arns.iter().filter(|a| !p.principals.contains(a)).cloned().collect();
        removed.sort();
        if !added.is_empty() {
            let operation = Operation::Catalog(CatalogOp::AssociatePrincipals {
                portfolio: portfolio.clone(),
                principal_arns: added,
            });
            ops.push(Phase::Update, operation, &[Field::Principals.path()], &[]);
        }
        if !removed.is_empty() {
            let operation =
                Operation::Catalog(CatalogOp::DisassociatePrincipals { portfolio, principal_arns: removed });
            ops.push(Phase::Update, operation, &[Field::Principals.path()], &[]);
        }
    }
}

/// Service Catalog deletes a portfolio only once its principals, products and constraints are gone
/// (products and constraints go in the products' own steps, ordered before this one).
pub(crate) fn delete_portfolio(ops: &mut ResourceOps, p: &LiveCatalogPortfolio, phase: Phase) {
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
