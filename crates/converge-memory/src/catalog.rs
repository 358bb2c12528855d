//! Portfolios, products, versions, associations and launch constraints, by
//! Service Catalog's rules, and the S3 objects templates load from.

use converge_executor::{ErrorClass, ExecError, Output};
use converge_model::live::{LiveCatalogPortfolio, LiveCatalogProduct, LiveLaunchConstraint, LiveProductVersion};
use converge_ops::{CatalogOp, Id, ProductVersion};

use crate::{Account, Call};

fn known(id: &Id) -> String {
    id.as_known().unwrap_or_default().to_owned()
}

fn portfolio<'a>(
    account: &'a mut Account,
    call: &Call<'_>,
    id: &str,
) -> Result<&'a mut LiveCatalogPortfolio, ExecError> {
    account.live.catalog_portfolios.iter_mut().find(|p| p.id == id).ok_or_else(|| {
        call.fail(ErrorClass::NotFound, "ResourceNotFoundException", format!("Portfolio {id} not found"))
    })
}

fn product<'a>(account: &'a mut Account, call: &Call<'_>, id: &str) -> Result<&'a mut LiveCatalogProduct, ExecError> {
    account
        .live
        .catalog_products
        .iter_mut()
        .find(|p| p.id == id)
        .ok_or_else(|| call.fail(ErrorClass::NotFound, "ResourceNotFoundException", format!("Product {id} not found")))
}

/// The template a version loads: the S3 object its URL names must exist.
fn template(account: &Account, call: &Call<'_>, version: &ProductVersion) -> Result<String, ExecError> {
    let url = &version.template_url;
    let object = url
        .strip_prefix("https://")
        .and_then(|rest| rest.split_once('/'))
        .and_then(|(host, key)| host.split_once(".s3.").map(|(bucket, _)| (bucket.to_owned(), key.to_owned())));
    object.and_then(|object| account.objects.get(&object).cloned()).ok_or_else(|| {
        call.fail(ErrorClass::Invalid, "InvalidParametersException", format!("The template at {url} cannot be read"))
    })
}

fn role_exists(account: &Account, arn: &str) -> bool {
    account.live.iam_roles.iter().any(|r| r.arn == arn)
}

/// The resource a token created before, if it still exists: a retried
/// create returns the first one's resource instead of making a second.
fn remembered(account: &Account, token: &str) -> Option<String> {
    let id = account.tokens.get(token)?;
    let live = &account.live;
    let exists = live.catalog_portfolios.iter().any(|p| p.id == *id)
        || live.catalog_products.iter().any(|p| p.id == *id || p.versions.iter().any(|v| v.id == *id))
        || live.catalog_products.iter().flat_map(|p| &p.launch_constraints).any(|c| c.id == *id);
    exists.then(|| id.clone())
}

pub(crate) fn apply(account: &mut Account, call: &Call<'_>, op: &CatalogOp) -> Result<Output, ExecError> {
    match op {
        CatalogOp::CreatePortfolio { display_name, provider, description, tags, idempotency_token } => {
            if let Some(id) = remembered(account, idempotency_token) {
                return Ok(Output::id(id));
            }
            let id = account.new_id("port", &format!("{display_name}/{idempotency_token}"), 12, false);
            account.tokens.insert(idempotency_token.clone(), id.clone());
            account.live.catalog_portfolios.push(LiveCatalogPortfolio {
                id: id.clone(),
                display_name: display_name.clone(),
                provider: provider.clone(),
                description: description.clone(),
                principal_arns: Vec::new(),
                tags: tags.clone(),
            });
            Ok(Output::id(id))
        }
        CatalogOp::UpdatePortfolio { portfolio: id, display_name, provider, description } => {
            let portfolio = portfolio(account, call, &known(id))?;
            portfolio.display_name = display_name.clone();
            portfolio.provider = provider.clone();
            portfolio.description = description.clone();
            Ok(Output::none())
        }
        CatalogOp::AssociatePrincipals { portfolio: id, principal_arns } => {
            if let Some(missing) = principal_arns.iter().find(|arn| !role_exists(account, arn)) {
                return Err(call.fail(
                    ErrorClass::Invalid,
                    "InvalidParametersException",
                    format!("Principal {missing} does not exist"),
                ));
            }
            let portfolio = portfolio(account, call, &known(id))?;
            for arn in principal_arns {
                if !portfolio.principal_arns.contains(arn) {
                    portfolio.principal_arns.push(arn.clone());
                }
            }
            Ok(Output::none())
        }
        CatalogOp::DisassociatePrincipals { portfolio: id, principal_arns } => {
            let portfolio = portfolio(account, call, &known(id))?;
            if let Some(missing) = principal_arns.iter().find(|arn| !portfolio.principal_arns.contains(arn)) {
                return Err(call.fail(
                    ErrorClass::NotFound,
                    "ResourceNotFoundException",
                    format!("Principal {missing} is not associated"),
                ));
            }
            portfolio.principal_arns.retain(|arn| !principal_arns.contains(arn));
            Ok(Output::none())
        }
        CatalogOp::DeletePortfolio { portfolio: id } => {
            let id = known(id);
            let principals = !portfolio(account, call, &id)?.principal_arns.is_empty();
            let products = account.live.catalog_products.iter().any(|p| p.portfolio_ids.contains(&id));
            let constraints =
                account.live.catalog_products.iter().flat_map(|p| &p.launch_constraints).any(|c| c.portfolio_id == id);
            if principals || products || constraints {
                return Err(call.fail(
                    ErrorClass::Conflict,
                    "ResourceInUseException",
                    format!("Portfolio {id} still has principals, products or constraints"),
                ));
            }
            account.live.catalog_portfolios.retain(|p| p.id != id);
            Ok(Output::none())
        }
        CatalogOp::UploadTemplate { bucket, key, body } => {
            account.objects.insert((bucket.clone(), key.clone()), body.clone());
            Ok(Output::none())
        }
        CatalogOp::CreateProduct {
            name,
            owner,
            description,
            distributor,
            support_email,
            tags,
            version,
            idempotency_token,
        } => {
            if let Some(id) = remembered(account, idempotency_token) {
                return Ok(Output::id(id));
            }
            let text = template(account, call, version)?;
            let id = account.new_id("prod", &format!("{name}/{idempotency_token}"), 12, false);
            let artifact = account.new_id("pa", &format!("{id}/{}", version.name), 12, false);
            account.tokens.insert(idempotency_token.clone(), id.clone());
            account.live.catalog_products.push(LiveCatalogProduct {
                id: id.clone(),
                name: name.clone(),
                owner: owner.clone(),
                description: description.clone(),
                distributor: distributor.clone(),
                support_email: support_email.clone(),
                portfolio_ids: Vec::new(),
                versions: vec![LiveProductVersion {
                    id: artifact,
                    name: version.name.clone(),
                    description: version.description.clone(),
                    active: true,
                    template: Some(text),
                    template_url: Some(version.template_url.clone()),
                }],
                launch_constraints: Vec::new(),
                tags: tags.clone(),
            });
            Ok(Output::id(id))
        }
        CatalogOp::UpdateProduct { product: id, name, owner, description, distributor, support_email } => {
            let product = product(account, call, &known(id))?;
            product.name = name.clone();
            product.owner = owner.clone();
            product.description = description.clone();
            product.distributor = distributor.clone();
            product.support_email = support_email.clone();
            Ok(Output::none())
        }
        CatalogOp::CreateProductVersion { product: id, version, idempotency_token } => {
            let id = known(id);
            product(account, call, &id)?;
            if remembered(account, idempotency_token).is_some() {
                return Ok(Output::none());
            }
            let text = template(account, call, version)?;
            let artifact = account.new_id("pa", &format!("{id}/{}", version.name), 12, false);
            account.tokens.insert(idempotency_token.clone(), artifact.clone());
            product(account, call, &id)?.versions.push(LiveProductVersion {
                id: artifact,
                name: version.name.clone(),
                description: version.description.clone(),
                active: true,
                template: Some(text),
                template_url: Some(version.template_url.clone()),
            });
            Ok(Output::none())
        }
        CatalogOp::SetProductVersionsActive { product: id, versions, active } => {
            let product = product(account, call, &known(id))?;
            if let Some(missing) = versions.iter().find(|v| !product.versions.iter().any(|pv| pv.id == **v)) {
                return Err(call.fail(
                    ErrorClass::NotFound,
                    "ResourceNotFoundException",
                    format!("Provisioning artifact {missing} not found"),
                ));
            }
            for version in product.versions.iter_mut().filter(|v| versions.contains(&v.id)) {
                version.active = *active;
            }
            Ok(Output::none())
        }
        CatalogOp::AssociateProduct { product: product_id, portfolio: portfolio_id } => {
            let portfolio_id = known(portfolio_id);
            portfolio(account, call, &portfolio_id)?;
            let product = product(account, call, &known(product_id))?;
            if !product.portfolio_ids.contains(&portfolio_id) {
                product.portfolio_ids.push(portfolio_id);
            }
            Ok(Output::none())
        }
        CatalogOp::DisassociateProduct { product: product_id, portfolio: portfolio_id } => {
            let portfolio_id = known(portfolio_id);
            let product = product(account, call, &known(product_id))?;
            if !product.portfolio_ids.contains(&portfolio_id) {
                return Err(call.fail(
                    ErrorClass::NotFound,
                    "ResourceNotFoundException",
                    format!("Product is not in portfolio {portfolio_id}"),
                ));
            }
            if product.launch_constraints.iter().any(|c| c.portfolio_id == portfolio_id) {
                return Err(call.fail(
                    ErrorClass::Conflict,
                    "ResourceInUseException",
                    format!("The product has a constraint in portfolio {portfolio_id}"),
                ));
            }
            product.portfolio_ids.retain(|p| *p != portfolio_id);
            Ok(Output::none())
        }
        CatalogOp::CreateLaunchConstraint {
            product: product_id,
            portfolio: portfolio_id,
            role_arn,
            idempotency_token,
        } => {
            let (product_id, portfolio_id) = (known(product_id), known(portfolio_id));
            if remembered(account, idempotency_token).is_some() {
                return Ok(Output::none());
            }
            if !role_exists(account, role_arn) {
                return Err(call.fail(
                    ErrorClass::Invalid,
                    "InvalidParametersException",
                    format!("Role {role_arn} does not exist"),
                ));
            }
            let constraint = account.new_id("cons", &format!("{product_id}/{portfolio_id}"), 12, false);
            let product = product(account, call, &product_id)?;
            if !product.portfolio_ids.contains(&portfolio_id) {
                return Err(call.fail(
                    ErrorClass::NotFound,
                    "ResourceNotFoundException",
                    format!("Product is not in portfolio {portfolio_id}"),
                ));
            }
            if product.launch_constraints.iter().any(|c| c.portfolio_id == portfolio_id) {
                return Err(call.fail(
                    ErrorClass::Invalid,
                    "DuplicateResourceException",
                    "A LAUNCH constraint already exists for this product and portfolio",
                ));
            }
            product.launch_constraints.push(LiveLaunchConstraint {
                id: constraint.clone(),
                portfolio_id,
                role_arn: role_arn.clone(),
            });
            account.tokens.insert(idempotency_token.clone(), constraint);
            Ok(Output::none())
        }
        CatalogOp::UpdateLaunchConstraint { constraint, role_arn } => {
            if !role_exists(account, role_arn) {
                return Err(call.fail(
                    ErrorClass::Invalid,
                    "InvalidParametersException",
                    format!("Role {role_arn} does not exist"),
                ));
            }
            let live = account
                .live
                .catalog_products
                .iter_mut()
                .flat_map(|p| &mut p.launch_constraints)
                .find(|c| c.id == *constraint)
                .ok_or_else(|| {
                    call.fail(
                        ErrorClass::NotFound,
                        "ResourceNotFoundException",
                        format!("Constraint {constraint} not found"),
                    )
                })?;
            live.role_arn = role_arn.clone();
            Ok(Output::none())
        }
        CatalogOp::DeleteConstraint { constraint } => {
            let owner = account
                .live
                .catalog_products
                .iter_mut()
                .find(|p| p.launch_constraints.iter().any(|c| c.id == *constraint));
            let Some(product) = owner else {
                return Err(call.fail(
                    ErrorClass::NotFound,
                    "ResourceNotFoundException",
                    format!("Constraint {constraint} not found"),
                ));
            };
            product.launch_constraints.retain(|c| c.id != *constraint);
            Ok(Output::none())
        }
        CatalogOp::DeleteProduct { product: id } => {
            let id = known(id);
            if !product(account, call, &id)?.portfolio_ids.is_empty() {
                return Err(call.fail(
                    ErrorClass::Conflict,
                    "ResourceInUseException",
                    format!("Product {id} is associated with a portfolio"),
                ));
            }
            account.live.catalog_products.retain(|p| p.id != id);
            Ok(Output::none())
        }
    }
}
