//! Service Catalog portfolios, products, versions and launch constraints, and
//! the S3 upload of the templates products are made from.
//!
//! Service Catalog's idempotency tokens return the first result for as long
//! as AWS remembers them, even after that resource is deleted, so a token
//! fixed by stack and address would hand back a deleted portfolio when a
//! stack is destroyed and applied again. Each create therefore first looks
//! for its resource (by ownership tags, or by version name and constraint
//! type), and only then creates it with the plan's token made unique to this
//! attempt: the SDK's own retries of the call reuse it, and a later attempt
//! finds the resource by looking first.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_servicecatalog::types::{
    PrincipalType, ProductType, ProductViewFilterBy, ProvisioningArtifactProperties, ProvisioningArtifactType, Tag,
};
use converge_executor::{ErrorClass, ExecError, Outcome, Output};
use converge_model::Tags;
use converge_ops::{CatalogOp, Operation, ProductVersion};

use super::{Call, is_ours, known};
use crate::errors::{Answer, exec_error, unless};

const GONE: &[Answer] = &[Answer::code("ResourceNotFoundException")];

fn tags(call: &Call<'_>, tags: &Tags, operation: &'static str) -> Result<Vec<Tag>, ExecError> {
    tags.iter().map(|(k, v)| call.built(operation, Tag::builder().key(k).value(v).build())).collect()
}

/// The plan's token, made unique to this attempt (see the module docs).
fn attempt_token(base: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let prefix: String = base.chars().take(80).collect();
    format!("{prefix}-{:x}", (nanos as u64) ^ count.rotate_left(40) ^ u64::from(std::process::id()).rotate_left(20))
}

fn artifact(version: &ProductVersion) -> ProvisioningArtifactProperties {
    ProvisioningArtifactProperties::builder()
        .name(&version.name)
        .set_description(version.description.clone())
        .info("LoadTemplateFromURL", &version.template_url)
        .r#type(ProvisioningArtifactType::CloudFormationTemplate)
        .build()
}

fn launch_parameters(role_arn: &str) -> String {
    serde_json::json!({ "RoleArn": role_arn }).to_string()
}

/// This stack's portfolio named `display_name`, made by an interrupted apply.
async fn own_portfolio(call: &Call<'_>, display_name: &str, wanted: &Tags) -> Result<Option<String>, ExecError> {
    let catalog = &call.aws.catalog;
    let listed = catalog
        .list_portfolios()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| exec_error(e, "ListPortfolios", call.address))?;
    for portfolio in
        listed.iter().flat_map(|p| p.portfolio_details()).filter(|p| p.display_name() == Some(display_name))
    {
        let id = portfolio.id().unwrap_or_default();
        let described = catalog.describe_portfolio().id(id).send().await;
        let Some(described) = unless(described, GONE, "DescribePortfolio", call.address)? else { continue };
        let live: Tags = described.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        if is_ours(&live, wanted) {
            return Ok(Some(id.to_owned()));
        }
    }
    Ok(None)
}

/// This stack's product named `name`, made by an interrupted apply.
async fn own_product(call: &Call<'_>, name: &str, wanted: &Tags) -> Result<Option<String>, ExecError> {
    let catalog = &call.aws.catalog;
    let listed = catalog
        .search_products_as_admin()
        .filters(ProductViewFilterBy::FullTextSearch, vec![name.to_owned()])
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| exec_error(e, "SearchProductsAsAdmin", call.address))?;
    let ids: Vec<&str> = listed
        .iter()
        .flat_map(|p| p.product_view_details())
        .filter_map(|d| d.product_view_summary())
        .filter(|s| s.name() == Some(name))
        .filter_map(|s| s.product_id())
        .collect();
    for id in ids {
        let described = catalog.describe_product_as_admin().id(id).send().await;
        let Some(described) = unless(described, GONE, "DescribeProductAsAdmin", call.address)? else { continue };
        let live: Tags = described.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        if is_ours(&live, wanted) {
            return Ok(Some(id.to_owned()));
        }
    }
    Ok(None)
}

pub(super) async fn start(call: &Call<'_>, operation: &Operation, op: &CatalogOp) -> Result<Outcome, ExecError> {
    let catalog = &call.aws.catalog;
    let name = operation.aws_operation();
    let done = Ok(Outcome::Done(Output::none()));
    match op {
        CatalogOp::CreatePortfolio { display_name, provider, description, tags: wanted, idempotency_token } => {
            if let Some(id) = own_portfolio(call, display_name, wanted).await? {
                return Ok(Outcome::Done(Output::id(id)));
            }
            let created = catalog
                .create_portfolio()
                .display_name(display_name)
                .provider_name(provider)
                .set_description(description.clone())
                .set_tags(Some(tags(call, wanted, name)?))
                .idempotency_token(attempt_token(idempotency_token))
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            let id = call.created_id(name, created.portfolio_detail().and_then(|p| p.id()))?;
            Ok(Outcome::Done(Output::id(id)))
        }
        CatalogOp::UpdatePortfolio { portfolio, display_name, provider, description } => {
            catalog
                .update_portfolio()
                .id(known(portfolio))
                .display_name(display_name)
                .provider_name(provider)
                .description(description.clone().unwrap_or_default())
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            done
        }
        CatalogOp::AssociatePrincipals { portfolio, principal_arns } => {
            for arn in principal_arns {
                catalog
                    .associate_principal_with_portfolio()
                    .portfolio_id(known(portfolio))
                    .principal_arn(arn)
                    .principal_type(PrincipalType::Iam)
                    .send()
                    .await
                    .map_err(|e| exec_error(e, name, call.address))?;
            }
            done
        }
        CatalogOp::DisassociatePrincipals { portfolio, principal_arns } => {
            for arn in principal_arns {
                let result = catalog
                    .disassociate_principal_from_portfolio()
                    .portfolio_id(known(portfolio))
                    .principal_arn(arn)
                    .principal_type(PrincipalType::Iam)
                    .send()
                    .await;
                unless(result, GONE, name, call.address)?;
            }
            done
        }
        CatalogOp::DeletePortfolio { portfolio } => {
            unless(catalog.delete_portfolio().id(known(portfolio)).send().await, GONE, name, call.address)?;
            done
        }
        CatalogOp::UploadTemplate { bucket, key, body } => {
            // The key is the content's hash: writing it again writes the same bytes.
            call.aws
                .s3
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(aws_sdk_s3::primitives::ByteStream::from(body.clone().into_bytes()))
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            done
        }
        CatalogOp::CreateProduct {
            name: product,
            owner,
            description,
            distributor,
            support_email,
            tags: wanted,
            version,
            idempotency_token,
        } => {
            if let Some(id) = own_product(call, product, wanted).await? {
                return poll(call, operation, &Output::id(id)).await;
            }
            let created = catalog
                .create_product()
                .name(product)
                .owner(owner)
                .set_description(description.clone())
                .set_distributor(distributor.clone())
                .set_support_email(support_email.clone())
                .product_type(ProductType::CloudFormationTemplate)
                .set_tags(Some(tags(call, wanted, name)?))
                .provisioning_artifact_parameters(artifact(version))
                .idempotency_token(attempt_token(idempotency_token))
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            let detail = created.product_view_detail();
            let id =
                call.created_id(name, detail.and_then(|d| d.product_view_summary()).and_then(|s| s.product_id()))?;
            match detail.and_then(|d| d.status()).map(|s| s.as_str()) {
                Some("AVAILABLE") => Ok(Outcome::Done(Output::id(id))),
                _ => Ok(call.pending(Output::id(&id), format!("product {id} to be AVAILABLE"))),
            }
        }
        CatalogOp::UpdateProduct { product, name: product_name, owner, description, distributor, support_email } => {
            catalog
                .update_product()
                .id(known(product))
                .name(product_name)
                .owner(owner)
                .description(description.clone().unwrap_or_default())
                .distributor(distributor.clone().unwrap_or_default())
                .support_email(support_email.clone().unwrap_or_default())
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            done
        }
        CatalogOp::CreateProductVersion { product, version, idempotency_token } => {
            // A version's name is its template's hash: one with the name is this one.
            let listed = catalog
                .list_provisioning_artifacts()
                .product_id(known(product))
                .send()
                .await
                .map_err(|e| exec_error(e, "ListProvisioningArtifacts", call.address))?;
            if listed.provisioning_artifact_details().iter().any(|a| a.name() == Some(version.name.as_str())) {
                return done;
            }
            let created = catalog
                .create_provisioning_artifact()
                .product_id(known(product))
                .parameters(artifact(version))
                .idempotency_token(attempt_token(idempotency_token))
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            let id = call.created_id(name, created.provisioning_artifact_detail().and_then(|a| a.id()))?;
            match created.status().map(|s| s.as_str()) {
                Some("CREATING") => {
                    Ok(call.pending(Output::id(&id), format!("version {} to be AVAILABLE", version.name)))
                }
                Some("FAILED") => Err(call.fail(
                    ErrorClass::Fatal,
                    name,
                    "FAILED",
                    format!("version {} failed to be created", version.name),
                )),
                _ => done,
            }
        }
        CatalogOp::SetProductVersionsActive { product, versions, active } => {
            for version in versions {
                catalog
                    .update_provisioning_artifact()
                    .product_id(known(product))
                    .provisioning_artifact_id(version)
                    .active(*active)
                    .send()
                    .await
                    .map_err(|e| exec_error(e, name, call.address))?;
            }
            done
        }
        CatalogOp::AssociateProduct { product, portfolio } => {
            let result = catalog
                .associate_product_with_portfolio()
                .product_id(known(product))
                .portfolio_id(known(portfolio))
                .send()
                .await;
            unless(result, &[Answer::code("DuplicateResourceException")], name, call.address)?;
            done
        }
        CatalogOp::DisassociateProduct { product, portfolio } => {
            let result = catalog
                .disassociate_product_from_portfolio()
                .product_id(known(product))
                .portfolio_id(known(portfolio))
                .send()
                .await;
            unless(result, GONE, name, call.address)?;
            done
        }
        CatalogOp::CreateLaunchConstraint { product, portfolio, role_arn, idempotency_token } => {
            let listed = catalog
                .list_constraints_for_portfolio()
                .portfolio_id(known(portfolio))
                .product_id(known(product))
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(|e| exec_error(e, "ListConstraintsForPortfolio", call.address))?;
            let existing = listed.iter().flat_map(|p| p.constraint_details()).find(|c| c.r#type() == Some("LAUNCH"));
            if let Some(existing) = existing {
                let described = catalog
                    .describe_constraint()
                    .id(existing.constraint_id().unwrap_or_default())
                    .send()
                    .await
                    .map_err(|e| exec_error(e, "DescribeConstraint", call.address))?;
                let parameters: serde_json::Value =
                    serde_json::from_str(described.constraint_parameters().unwrap_or("{}")).unwrap_or_default();
                if parameters["RoleArn"] == role_arn.as_str() {
                    return done;
                }
                return Err(call
                    .fail(
                        ErrorClass::Conflict,
                        name,
                        "DuplicateResourceException",
                        format!(
                            "{} already has a LAUNCH constraint in {}, with another role",
                            known(product),
                            known(portfolio)
                        ),
                    )
                    .with_hint("someone changed the product while converge applied; run `converge plan` again"));
            }
            catalog
                .create_constraint()
                .portfolio_id(known(portfolio))
                .product_id(known(product))
                .r#type("LAUNCH")
                .parameters(launch_parameters(role_arn))
                .idempotency_token(attempt_token(idempotency_token))
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            done
        }
        CatalogOp::UpdateLaunchConstraint { constraint, role_arn } => {
            catalog
                .update_constraint()
                .id(constraint)
                .parameters(launch_parameters(role_arn))
                .send()
                .await
                .map_err(|e| exec_error(e, name, call.address))?;
            done
        }
        CatalogOp::DeleteConstraint { constraint } => {
            unless(catalog.delete_constraint().id(constraint).send().await, GONE, name, call.address)?;
            done
        }
        CatalogOp::DeleteProduct { product } => {
            unless(catalog.delete_product().id(known(product)).send().await, GONE, name, call.address)?;
            done
        }
    }
}

pub(super) async fn poll(call: &Call<'_>, operation: &Operation, progress: &Output) -> Result<Outcome, ExecError> {
    let catalog = &call.aws.catalog;
    let id = progress.id.clone().unwrap_or_default();
    match operation {
        Operation::Catalog(CatalogOp::CreateProduct { .. }) => {
            let described = catalog
                .describe_product_as_admin()
                .id(&id)
                .send()
                .await
                .map_err(|e| exec_error(e, "DescribeProductAsAdmin", call.address))?;
            match described.product_view_detail().and_then(|d| d.status()).map(|s| s.as_str()) {
                Some("AVAILABLE") | None => Ok(Outcome::Done(progress.clone())),
                Some("FAILED") => Err(call.fail(
                    ErrorClass::Fatal,
                    "DescribeProductAsAdmin",
                    "FAILED",
                    format!("product {id} failed to be created"),
                )),
                Some(status) => {
                    Ok(call.pending(progress.clone(), format!("product {id} to be AVAILABLE (now {status})")))
                }
            }
        }
        Operation::Catalog(CatalogOp::CreateProductVersion { product, version, .. }) => {
            let described = catalog
                .describe_provisioning_artifact()
                .product_id(known(product))
                .provisioning_artifact_id(&id)
                .send()
                .await
                .map_err(|e| exec_error(e, "DescribeProvisioningArtifact", call.address))?;
            match described.status().map(|s| s.as_str()) {
                Some("AVAILABLE") | None => Ok(Outcome::Done(Output::none())),
                Some("FAILED") => Err(call.fail(
                    ErrorClass::Fatal,
                    "DescribeProvisioningArtifact",
                    "FAILED",
                    format!("version {} failed to be created", version.name),
                )),
                Some(status) => {
                    Ok(call
                        .pending(progress.clone(), format!("version {} to be AVAILABLE (now {status})", version.name)))
                }
            }
        }
        _ => Ok(Outcome::Done(progress.clone())),
    }
}
