//! Portfolios and products (versions, portfolios, launch constraints). Lists
//! carry no tags, so each portfolio and product is described to know whose
//! it is; only the stack's are read further. Launch constraints are listed
//! once per portfolio the stack's products are in, for all its products,
//! rather than once per product and portfolio.

use converge_executor::{ExecError, Scope};
use converge_model::live::{LiveCatalogPortfolio, LiveCatalogProduct, LiveLaunchConstraint, LiveProductVersion};
use converge_model::{Kind, Tags};
use futures_util::StreamExt as _;
use futures_util::stream;

use super::{PER_SERVICE, reading, wanted};
use crate::Aws;
use crate::errors::exec_error;

type Catalog = (Vec<LiveCatalogPortfolio>, Vec<LiveCatalogProduct>);

/// The largest page Service Catalog accepts: 20 (botocore's `PageSize` for
/// SearchProductsAsAdmin, ListPrincipalsForPortfolio and ListConstraintsForPortfolio;
/// the live ListPortfolios refuses more than 20 although its model says 100 —
/// turbot/steampipe-plugin-aws `aws/table_aws_servicecatalog_portfolio.go`).
const PAGE: i32 = 20;

fn tags(tags: &[aws_sdk_servicecatalog::types::Tag]) -> Tags {
    tags.iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect()
}

/// Runs `f` on every item, at most [`PER_SERVICE`] at a time, keeping the ones it returns.
async fn each<T, F, Fut>(items: Vec<String>, f: F) -> Result<Vec<T>, ExecError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<Option<T>, ExecError>>,
{
    let results: Vec<Result<Option<T>, ExecError>> =
        stream::iter(items).map(f).buffer_unordered(PER_SERVICE).collect().await;
    Ok(results.into_iter().collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect())
}

pub(super) async fn read(aws: &Aws, scope: &Scope) -> Result<Catalog, ExecError> {
    let (portfolios, products) = tokio::try_join!(portfolios(aws, scope), products(aws, scope))?;
    Ok((portfolios, products))
}

async fn portfolios(aws: &Aws, scope: &Scope) -> Result<Vec<LiveCatalogPortfolio>, ExecError> {
    let address = reading(Kind::CatalogPortfolio);
    let listed = aws
        .catalog
        .list_portfolios()
        .page_size(PAGE)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| exec_error(e, "ListPortfolios", &address))?;
    let ids: Vec<String> =
        listed.iter().flat_map(|p| p.portfolio_details()).filter_map(|p| p.id().map(str::to_owned)).collect();
    let mut portfolios = each(ids, |id| {
        let address = address.clone();
        async move {
            let d = aws
                .catalog
                .describe_portfolio()
                .id(&id)
                .send()
                .await
                .map_err(|e| exec_error(e, "DescribePortfolio", &address))?;
            let tags = tags(d.tags());
            let display_name = d.portfolio_detail().and_then(|p| p.display_name()).unwrap_or_default();
            if !wanted(scope, &tags, Kind::CatalogPortfolio, display_name) {
                return Ok(None);
            }
            let principals = aws
                .catalog
                .list_principals_for_portfolio()
                .page_size(PAGE)
                .portfolio_id(&id)
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(|e| exec_error(e, "ListPrincipalsForPortfolio", &address))?;
            let detail = d.portfolio_detail();
            Ok(Some(LiveCatalogPortfolio {
                id,
                display_name: detail.and_then(|p| p.display_name()).unwrap_or_default().to_owned(),
                provider: detail.and_then(|p| p.provider_name()).unwrap_or_default().to_owned(),
                description: detail.and_then(|p| p.description()).filter(|d| !d.is_empty()).map(str::to_owned),
                principal_arns: principals
                    .iter()
                    .flat_map(|p| p.principals())
                    .filter_map(|p| p.principal_arn().map(str::to_owned))
                    .collect(),
                tags,
            }))
        }
    })
    .await?;
    portfolios.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(portfolios)
}

async fn products(aws: &Aws, scope: &Scope) -> Result<Vec<LiveCatalogProduct>, ExecError> {
    let address = reading(Kind::CatalogProduct);
    let listed = aws
        .catalog
        .search_products_as_admin()
        .page_size(PAGE)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| exec_error(e, "SearchProductsAsAdmin", &address))?;
    let ids: Vec<String> = listed
        .iter()
        .flat_map(|p| p.product_view_details())
        .filter_map(|p| p.product_view_summary()?.product_id().map(str::to_owned))
        .collect();
    let mut products = each(ids, |id| product(aws, scope, id)).await?;
    products.sort_by(|a, b| a.id.cmp(&b.id));
    let portfolios: std::collections::BTreeSet<String> =
        products.iter().flat_map(|p| p.portfolio_ids.iter().cloned()).collect();
    let ours: std::collections::BTreeSet<&str> = products.iter().map(|p| p.id.as_str()).collect();
    let mut constraints = each(portfolios.into_iter().collect(), |portfolio| {
        let ours = &ours;
        async move { launch_constraints(aws, portfolio, ours).await.map(Some) }
    })
    .await?
    .into_iter()
    .flatten()
    .collect::<Vec<(String, LiveLaunchConstraint)>>();
    constraints.sort_by(|a, b| (&a.1.portfolio_id, &a.1.id).cmp(&(&b.1.portfolio_id, &b.1.id)));
    for (product, constraint) in constraints {
        if let Some(product) = products.iter_mut().find(|p| p.id == product) {
            product.launch_constraints.push(constraint);
        }
    }
    Ok(products)
}

/// The launch constraints of `portfolio` on the products in `ours`: one
/// listing of the portfolio's constraints (all its products), then each
/// launch constraint described for its role.
async fn launch_constraints(
    aws: &Aws,
    portfolio: String,
    ours: &std::collections::BTreeSet<&str>,
) -> Result<Vec<(String, LiveLaunchConstraint)>, ExecError> {
    let address = reading(Kind::CatalogProduct);
    let listed = aws
        .catalog
        .list_constraints_for_portfolio()
        .page_size(PAGE)
        .portfolio_id(&portfolio)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| exec_error(e, "ListConstraintsForPortfolio", &address))?;
    let mut found = Vec::new();
    for constraint in listed
        .iter()
        .flat_map(|p| p.constraint_details())
        .filter(|c| c.r#type() == Some("LAUNCH") && c.product_id().is_some_and(|product| ours.contains(product)))
    {
        let constraint_id = constraint.constraint_id().unwrap_or_default();
        let described = aws
            .catalog
            .describe_constraint()
            .id(constraint_id)
            .send()
            .await
            .map_err(|e| exec_error(e, "DescribeConstraint", &address))?;
        found.push((
            constraint.product_id().unwrap_or_default().to_owned(),
            LiveLaunchConstraint {
                id: constraint_id.to_owned(),
                portfolio_id: portfolio.clone(),
                role_arn: launch_role(described.constraint_parameters().unwrap_or_default()),
            },
        ));
    }
    Ok(found)
}

async fn product(aws: &Aws, scope: &Scope, id: String) -> Result<Option<LiveCatalogProduct>, ExecError> {
    let address = reading(Kind::CatalogProduct);
    let d = aws
        .catalog
        .describe_product_as_admin()
        .id(&id)
        .send()
        .await
        .map_err(|e| exec_error(e, "DescribeProductAsAdmin", &address))?;
    let tags = tags(d.tags());
    let name = d.product_view_detail().and_then(|p| p.product_view_summary()).and_then(|s| s.name());
    if !wanted(scope, &tags, Kind::CatalogProduct, name.unwrap_or_default()) {
        return Ok(None);
    }
    let versions = aws.catalog.list_provisioning_artifacts().product_id(&id).send();
    let portfolios =
        aws.catalog.list_portfolios_for_product().product_id(&id).page_size(PAGE).into_paginator().send().try_collect();
    let (versions, portfolios) = tokio::join!(versions, portfolios);
    let versions = versions.map_err(|e| exec_error(e, "ListProvisioningArtifacts", &address))?;
    let portfolios = portfolios.map_err(|e| exec_error(e, "ListPortfoliosForProduct", &address))?;
    let portfolio_ids: Vec<String> =
        portfolios.iter().flat_map(|p| p.portfolio_details()).filter_map(|p| p.id().map(str::to_owned)).collect();
    let summary = d.product_view_detail().and_then(|p| p.product_view_summary());
    let text = |f: fn(&aws_sdk_servicecatalog::types::ProductViewSummary) -> Option<&str>| {
        summary.and_then(f).filter(|s| !s.is_empty()).map(str::to_owned)
    };
    let mut live_versions: Vec<LiveProductVersion> = versions
        .provisioning_artifact_details()
        .iter()
        .map(|v| LiveProductVersion {
            id: v.id().unwrap_or_default().to_owned(),
            name: v.name().unwrap_or_default().to_owned(),
            description: v.description().filter(|d| !d.is_empty()).map(str::to_owned),
            active: v.active().unwrap_or(true),
            template: None,
            template_url: None,
        })
        .collect();
    // Oldest first, as the snapshot format says.
    let created: std::collections::BTreeMap<&str, Option<&aws_smithy_types::DateTime>> = versions
        .provisioning_artifact_details()
        .iter()
        .map(|v| (v.id().unwrap_or_default(), v.created_time()))
        .collect();
    live_versions.sort_by(|a, b| {
        let key = |v: &LiveProductVersion| {
            created.get(v.id.as_str()).copied().flatten().map(|t| (t.secs(), t.subsec_nanos()))
        };
        key(a).cmp(&key(b)).then_with(|| a.id.cmp(&b.id))
    });
    // A version converge made is named after its template's content; for one
    // made another way, the content is read back so the plan can compare it
    // (and import always reads it: the spec it writes holds the template).
    if let Some(current) = live_versions.iter_mut().rev().find(|v| v.active)
        && (scope.everything || !current.name.starts_with("sha256:"))
    {
        (current.template_url, current.template) = template(aws, &id, &current.id).await?;
    }
    Ok(Some(LiveCatalogProduct {
        id,
        name: text(|s| s.name()).unwrap_or_default(),
        owner: text(|s| s.owner()).unwrap_or_default(),
        description: text(|s| s.short_description()),
        distributor: text(|s| s.distributor()),
        support_email: text(|s| s.support_email()),
        portfolio_ids,
        versions: live_versions,
        // Filled in by `products`, a portfolio at a time.
        launch_constraints: Vec::new(),
        tags,
    }))
}

/// The template of a product version: its URL from `DescribeProvisioningArtifact`,
/// the text from S3 (`None` when the URL is not an S3 object this account can read).
async fn template(aws: &Aws, product: &str, version: &str) -> Result<(Option<String>, Option<String>), ExecError> {
    let address = reading(Kind::CatalogProduct);
    let described = aws
        .catalog
        .describe_provisioning_artifact()
        .product_id(product)
        .provisioning_artifact_id(version)
        .verbose(true)
        .send()
        .await
        .map_err(|e| exec_error(e, "DescribeProvisioningArtifact", &address))?;
    let url = described.info().and_then(|info| info.get("TemplateUrl")).cloned();
    let Some((bucket, key)) = url.as_deref().and_then(converge_model::live::s3_object) else {
        return Ok((url, None));
    };
    match aws.s3.get_object().bucket(&bucket).key(&key).send().await {
        Ok(output) => {
            let bytes = output.body.collect().await.map_err(|e| {
                ExecError::new(
                    converge_executor::ErrorClass::Transient,
                    "GetObject",
                    &address,
                    "ReadError",
                    format!("reading s3://{bucket}/{key}: {e}"),
                )
            })?;
            Ok((url, Some(String::from_utf8_lossy(&bytes.into_bytes()).into_owned())))
        }
        Err(error) if matches!(crate::errors::code_of(&error), Some("NoSuchKey" | "NoSuchBucket" | "AccessDenied")) => {
            Ok((url, None))
        }
        Err(error) => Err(exec_error(error, "GetObject", &address)),
    }
}

/// The role of a LAUNCH constraint's parameters (`{"RoleArn": …}`, or `{"LocalRoleName": …}`, kept as written).
fn launch_role(parameters: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(parameters).unwrap_or_default();
    match (&value["RoleArn"], &value["LocalRoleName"]) {
        (serde_json::Value::String(arn), _) => arn.clone(),
        (_, serde_json::Value::String(name)) => format!("LocalRoleName:{name}"),
        _ => parameters.to_owned(),
    }
}
