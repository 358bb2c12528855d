//! Service Catalog: portfolios, products and their versions, associations,
//! principals and launch constraints, with the conflicts AWS reports.

use saphyr::LoadableYamlNode as _;
use serde_json::{Value, json};

use crate::context::Ctx;
use crate::error::ApiError;
use crate::json::{CATALOG_PAGES, bool_of, paged, required, str_of, strings, tags_json, tags_of};
use crate::state::catalog::{Constraint, Portfolio, Product, Version};
use crate::state::{Tags, Timeline, World};

fn not_found(what: &str) -> ApiError {
    ApiError::bad_request("ResourceNotFoundException", format!("{what} not found."))
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidParametersException", message)
}

fn in_use(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("ResourceInUseException", message)
}

fn short_id(world: &mut World, prefix: &str) -> String {
    format!("{prefix}-{}", world.id("x")[2..].chars().take(13).collect::<String>())
}

fn portfolio_json(p: &Portfolio) -> Value {
    json!({ "Id": p.id, "ARN": p.arn, "DisplayName": p.display_name, "Description": p.description, "CreatedTime": Ctx::seconds(p.created_ms), "ProviderName": p.provider })
}

fn product_view(p: &Product, now_ms: u64) -> Value {
    json!({
        "ProductViewSummary": {
            "Id": format!("prodview-{}", &p.id[5..]), "ProductId": p.id, "Name": p.name, "Owner": p.owner, "Type": p.product_type,
            "ShortDescription": p.description, "Distributor": p.distributor, "SupportEmail": p.support_email, "HasDefaultPath": false,
        },
        "Status": p.timeline.at(now_ms),
        "ProductARN": p.arn,
        "CreatedTime": Ctx::seconds(p.created_ms),
    })
}

fn version_json(v: &Version) -> Value {
    json!({ "Id": v.id, "Name": v.name, "Description": v.description, "Type": "CLOUD_FORMATION_TEMPLATE", "CreatedTime": Ctx::seconds(v.created_ms), "Active": v.active, "Guidance": v.guidance })
}

fn constraint_json(c: &Constraint, account: &str) -> Value {
    json!({ "ConstraintId": c.id, "Type": c.constraint_type, "Description": c.description, "Owner": account, "ProductId": c.product_id, "PortfolioId": c.portfolio_id })
}

/// The template a version points at must be an object of the sandbox's S3 holding a CloudFormation template.
fn check_template(world: &World, ctx: &Ctx<'_>, parameters: &Value) -> Result<String, ApiError> {
    let info = parameters.get("Info").ok_or_else(|| invalid("ProvisioningArtifactParameters.Info is required."))?;
    let url = str_of(info, "LoadTemplateFromURL")
        .ok_or_else(|| invalid("Info needs LoadTemplateFromURL (ImportFromPhysicalId is not emulated)."))?;
    let object = crate::s3::object_at_url(world, ctx, url)
        .ok_or_else(|| invalid(format!("Unable to retrieve the template from {url}: no such object.")))?;
    let text = String::from_utf8_lossy(&object.body);
    let documents = saphyr::Yaml::load_from_str(&text)
        .map_err(|e| invalid(format!("The template at {url} is not valid YAML or JSON: {e}")))?;
    let resources = documents.first().and_then(saphyr::Yaml::as_mapping).and_then(|document| {
        document.get(&saphyr::Yaml::Value(saphyr::Scalar::String("Resources".into())))?.as_mapping()
    });
    if resources.is_none_or(|resources| resources.is_empty()) {
        return Err(invalid(format!("The template at {url} is not a CloudFormation template: it has no Resources.")));
    }
    Ok(url.to_owned())
}

fn new_version(world: &mut World, ctx: &Ctx<'_>, parameters: &Value, template_url: String) -> Version {
    Version {
        id: short_id(world, "pa"),
        name: str_of(parameters, "Name").unwrap_or("v1").to_owned(),
        description: str_of(parameters, "Description").map(str::to_owned),
        created_ms: ctx.now_ms,
        active: true,
        guidance: "DEFAULT".into(),
        template_url,
    }
}

fn apply_tag_changes(tags: &mut Tags, input: &Value) {
    tags.extend(tags_of(input, "AddTags"));
    let remove = strings(input, "RemoveTags");
    tags.retain(|k, _| !remove.contains(k));
}

pub(crate) fn handle(world: &mut World, ctx: &Ctx<'_>, operation: &str, input: &Value) -> Result<Value, ApiError> {
    let now = ctx.now_ms;
    let token = str_of(input, "IdempotencyToken").map(|t| format!("{operation}:{t}"));
    match operation {
        "CreatePortfolio" => {
            if let Some(id) = token.as_ref().and_then(|t| world.catalog.tokens.get(t))
                && let Some(p) = world.catalog.portfolios.get(id)
            {
                return Ok(json!({ "PortfolioDetail": portfolio_json(p), "Tags": tags_json(&p.tags) }));
            }
            let id = short_id(world, "port");
            let p = Portfolio {
                arn: format!("arn:aws:catalog:{}:{}:portfolio/{id}", ctx.region, ctx.account),
                id: id.clone(),
                display_name: required(input, "DisplayName")?.to_owned(),
                provider: required(input, "ProviderName")?.to_owned(),
                description: str_of(input, "Description").map(str::to_owned),
                created_ms: now,
                tags: tags_of(input, "Tags"),
                principals: Vec::new(),
                products: Vec::new(),
            };
            let out = json!({ "PortfolioDetail": portfolio_json(&p), "Tags": tags_json(&p.tags) });
            if let Some(token) = token {
                world.catalog.tokens.insert(token, id.clone());
            }
            world.catalog.portfolios.insert(id, p);
            Ok(out)
        }
        "DescribePortfolio" => {
            let id = required(input, "Id")?;
            let p = world.catalog.portfolios.get(id).ok_or_else(|| not_found(&format!("Portfolio {id}")))?;
            Ok(
                json!({ "PortfolioDetail": portfolio_json(p), "Tags": tags_json(&p.tags), "TagOptions": [], "Budgets": [] }),
            )
        }
        "ListPortfolios" => paged(
            world.catalog.portfolios.values().map(portfolio_json).collect(),
            input,
            "PortfolioDetails",
            &CATALOG_PAGES,
            ctx,
        ),
        "UpdatePortfolio" => {
            let id = required(input, "Id")?;
            let p = world.catalog.portfolios.get_mut(id).ok_or_else(|| not_found(&format!("Portfolio {id}")))?;
            if let Some(name) = str_of(input, "DisplayName") {
                p.display_name = name.to_owned();
            }
            if let Some(provider) = str_of(input, "ProviderName") {
                p.provider = provider.to_owned();
            }
            if let Some(description) = str_of(input, "Description") {
                p.description = Some(description.to_owned());
            }
            apply_tag_changes(&mut p.tags, input);
            Ok(json!({ "PortfolioDetail": portfolio_json(p), "Tags": tags_json(&p.tags) }))
        }
        "DeletePortfolio" => {
            let id = required(input, "Id")?.to_owned();
            let p = world.catalog.portfolios.get(&id).ok_or_else(|| not_found(&format!("Portfolio {id}")))?;
            if !p.products.is_empty()
                || !p.principals.is_empty()
                || world.catalog.constraints.values().any(|c| c.portfolio_id == id)
            {
                return Err(in_use(format!(
                    "Portfolio {id} has products, principals or constraints associated with it."
                )));
            }
            world.catalog.portfolios.remove(&id);
            Ok(json!({}))
        }
        "CreateProduct" => {
            if let Some(id) = token.as_ref().and_then(|t| world.catalog.tokens.get(t))
                && let Some(p) = world.catalog.products.get(id)
            {
                return Ok(
                    json!({ "ProductViewDetail": product_view(p, now), "ProvisioningArtifactDetail": p.versions.first().map(version_json), "Tags": tags_json(&p.tags) }),
                );
            }
            let name = required(input, "Name")?.to_owned();
            let owner = required(input, "Owner")?.to_owned();
            let product_type = required(input, "ProductType")?.to_owned();
            if product_type != "CLOUD_FORMATION_TEMPLATE" {
                return Err(invalid(format!(
                    "ProductType {product_type} is not emulated; use CLOUD_FORMATION_TEMPLATE."
                )));
            }
            let parameters = input
                .get("ProvisioningArtifactParameters")
                .ok_or_else(|| invalid("ProvisioningArtifactParameters is required."))?;
            let url = check_template(world, ctx, parameters)?;
            let version = new_version(world, ctx, parameters, url);
            let id = short_id(world, "prod");
            let p = Product {
                arn: format!("arn:aws:catalog:{}:{}:product/{id}", ctx.region, ctx.account),
                id: id.clone(),
                name,
                owner,
                product_type,
                description: str_of(input, "Description").map(str::to_owned),
                distributor: str_of(input, "Distributor").map(str::to_owned),
                support_email: str_of(input, "SupportEmail").map(str::to_owned),
                created_ms: now,
                tags: tags_of(input, "Tags"),
                timeline: Timeline(vec![(now, "CREATING".into()), (ctx.after(30.0), "AVAILABLE".into())]),
                versions: vec![version],
            };
            let out = json!({ "ProductViewDetail": product_view(&p, now), "ProvisioningArtifactDetail": version_json(&p.versions[0]), "Tags": tags_json(&p.tags) });
            if let Some(token) = token {
                world.catalog.tokens.insert(token, id.clone());
            }
            world.catalog.products.insert(id, p);
            Ok(out)
        }
        "DescribeProductAsAdmin" => {
            let p = match (str_of(input, "Id"), str_of(input, "Name")) {
                (Some(id), _) => world.catalog.products.get(id),
                (None, Some(name)) => world.catalog.products.values().find(|p| p.name == name),
                (None, None) => return Err(invalid("Id or Name is required.")),
            }
            .ok_or_else(|| not_found("Product"))?;
            Ok(json!({
                "ProductViewDetail": product_view(p, now),
                "ProvisioningArtifactSummaries": p.versions.iter().map(|v| json!({ "Id": v.id, "Name": v.name, "Description": v.description, "CreatedTime": Ctx::seconds(v.created_ms) })).collect::<Vec<_>>(),
                "Tags": tags_json(&p.tags), "TagOptions": [], "Budgets": [],
            }))
        }
        "SearchProductsAsAdmin" => {
            let portfolio = str_of(input, "PortfolioId");
            let allowed: Option<&Vec<String>> = match portfolio {
                Some(id) => Some(
                    &world.catalog.portfolios.get(id).ok_or_else(|| not_found(&format!("Portfolio {id}")))?.products,
                ),
                None => None,
            };
            // `FullTextSearch` matches the name, owner or description, without case.
            let words: Vec<String> = strings(input.get("Filters").unwrap_or(&Value::Null), "FullTextSearch")
                .iter()
                .map(|w| w.to_lowercase())
                .collect();
            let matches = |p: &&Product| {
                let text = [Some(&p.name), Some(&p.owner), p.description.as_ref()]
                    .into_iter()
                    .flatten()
                    .map(|t| t.to_lowercase())
                    .collect::<Vec<_>>()
                    .join(" ");
                words.iter().all(|w| text.contains(w.as_str()))
            };
            let views: Vec<Value> = world
                .catalog
                .products
                .values()
                .filter(|p| allowed.is_none_or(|a| a.contains(&p.id)))
                .filter(matches)
                .map(|p| product_view(p, now))
                .collect();
            paged(views, input, "ProductViewDetails", &CATALOG_PAGES, ctx)
        }
        "UpdateProduct" => {
            let id = required(input, "Id")?;
            let p = world.catalog.products.get_mut(id).ok_or_else(|| not_found(&format!("Product {id}")))?;
            for (field, target) in [("Name", &mut p.name), ("Owner", &mut p.owner)] {
                if let Some(value) = str_of(input, field) {
                    *target = value.to_owned();
                }
            }
            for (field, target) in [
                ("Description", &mut p.description),
                ("Distributor", &mut p.distributor),
                ("SupportEmail", &mut p.support_email),
            ] {
                if let Some(value) = str_of(input, field) {
                    *target = Some(value.to_owned());
                }
            }
            apply_tag_changes(&mut p.tags, input);
            Ok(json!({ "ProductViewDetail": product_view(p, now), "Tags": tags_json(&p.tags) }))
        }
        "DeleteProduct" => {
            let id = required(input, "Id")?.to_owned();
            if !world.catalog.products.contains_key(&id) {
                return Err(not_found(&format!("Product {id}")));
            }
            if world.catalog.portfolios.values().any(|p| p.products.contains(&id)) {
                return Err(in_use(format!("Product {id} is associated with a portfolio; disassociate it first.")));
            }
            world.catalog.products.remove(&id);
            Ok(json!({}))
        }
        "CreateProvisioningArtifact" => {
            let id = required(input, "ProductId")?.to_owned();
            if !world.catalog.products.contains_key(&id) {
                return Err(not_found(&format!("Product {id}")));
            }
            let parameters = input.get("Parameters").ok_or_else(|| invalid("Parameters is required."))?;
            let url = check_template(world, ctx, parameters)?;
            let version = new_version(world, ctx, parameters, url.clone());
            let out = json!({ "ProvisioningArtifactDetail": version_json(&version), "Info": { "TemplateUrl": url }, "Status": "AVAILABLE" });
            world
                .catalog
                .products
                .get_mut(&id)
                .ok_or_else(|| not_found(&format!("Product {id}")))?
                .versions
                .push(version);
            Ok(out)
        }
        "ListProvisioningArtifacts" => {
            let id = required(input, "ProductId")?;
            let p = world.catalog.products.get(id).ok_or_else(|| not_found(&format!("Product {id}")))?;
            Ok(json!({ "ProvisioningArtifactDetails": p.versions.iter().map(version_json).collect::<Vec<_>>() }))
        }
        "DescribeProvisioningArtifact" => {
            let id = required(input, "ProductId")?;
            let p = world.catalog.products.get(id).ok_or_else(|| not_found(&format!("Product {id}")))?;
            let version_id = required(input, "ProvisioningArtifactId")?;
            let v = p
                .versions
                .iter()
                .find(|v| v.id == version_id)
                .ok_or_else(|| not_found(&format!("Provisioning artifact {version_id}")))?;
            Ok(
                json!({ "ProvisioningArtifactDetail": version_json(v), "Info": { "TemplateUrl": v.template_url }, "Status": "AVAILABLE" }),
            )
        }
        "UpdateProvisioningArtifact" => {
            let id = required(input, "ProductId")?;
            let version_id = required(input, "ProvisioningArtifactId")?;
            let p = world.catalog.products.get_mut(id).ok_or_else(|| not_found(&format!("Product {id}")))?;
            let v = p
                .versions
                .iter_mut()
                .find(|v| v.id == version_id)
                .ok_or_else(|| not_found(&format!("Provisioning artifact {version_id}")))?;
            if let Some(active) = bool_of(input, "Active") {
                v.active = active;
            }
            if let Some(guidance) = str_of(input, "Guidance") {
                v.guidance = guidance.to_owned();
            }
            Ok(
                json!({ "ProvisioningArtifactDetail": version_json(v), "Info": { "TemplateUrl": v.template_url }, "Status": "AVAILABLE" }),
            )
        }
        "AssociateProductWithPortfolio" | "DisassociateProductFromPortfolio" => {
            let product = required(input, "ProductId")?.to_owned();
            let portfolio = required(input, "PortfolioId")?.to_owned();
            if !world.catalog.products.contains_key(&product) {
                return Err(not_found(&format!("Product {product}")));
            }
            if operation.starts_with("Disassociate")
                && world.catalog.constraints.values().any(|c| c.product_id == product && c.portfolio_id == portfolio)
            {
                return Err(in_use(format!(
                    "Product {product} has constraints in portfolio {portfolio}; delete them first."
                )));
            }
            let p = world
                .catalog
                .portfolios
                .get_mut(&portfolio)
                .ok_or_else(|| not_found(&format!("Portfolio {portfolio}")))?;
            if operation.starts_with("Associate") {
                if !p.products.contains(&product) {
                    p.products.push(product);
                }
            } else if p.products.contains(&product) {
                p.products.retain(|x| *x != product);
            } else {
                return Err(not_found(&format!("The association of {product} with {portfolio}")));
            }
            Ok(json!({}))
        }
        "AssociatePrincipalWithPortfolio" | "DisassociatePrincipalFromPortfolio" => {
            let portfolio = required(input, "PortfolioId")?.to_owned();
            let arn = required(input, "PrincipalARN")?.to_owned();
            let principal_type = str_of(input, "PrincipalType").unwrap_or("IAM").to_owned();
            if operation.starts_with("Associate") && principal_type == "IAM" {
                // A role IAM has not propagated yet reads as missing: terraform-provider-aws retries
                // InvalidParametersException "profile does not exist" (`principal_portfolio_association.go`).
                let name = arn.rsplit('/').next().unwrap_or(&arn).to_ascii_lowercase();
                let role = world.iam.roles.get(&name).filter(|_| arn.contains(":role/"));
                if role.is_none_or(|role| ctx.propagating(role.created_ms)) {
                    return Err(invalid(format!("The principal {arn}: profile does not exist.")));
                }
            }
            let p = world
                .catalog
                .portfolios
                .get_mut(&portfolio)
                .ok_or_else(|| not_found(&format!("Portfolio {portfolio}")))?;
            if operation.starts_with("Associate") {
                if !p.principals.iter().any(|(a, _)| *a == arn) {
                    p.principals.push((arn, principal_type));
                }
            } else {
                let before = p.principals.len();
                p.principals.retain(|(a, _)| *a != arn);
                if p.principals.len() == before {
                    return Err(not_found(&format!("Principal {arn} of portfolio {portfolio}")));
                }
            }
            Ok(json!({}))
        }
        "ListPortfoliosForProduct" => {
            let product = required(input, "ProductId")?;
            if !world.catalog.products.contains_key(product) {
                return Err(not_found(&format!("Product {product}")));
            }
            let portfolios: Vec<Value> = world
                .catalog
                .portfolios
                .values()
                .filter(|p| p.products.iter().any(|x| x == product))
                .map(portfolio_json)
                .collect();
            paged(portfolios, input, "PortfolioDetails", &CATALOG_PAGES, ctx)
        }
        "ListPrincipalsForPortfolio" => {
            let portfolio = required(input, "PortfolioId")?;
            let p =
                world.catalog.portfolios.get(portfolio).ok_or_else(|| not_found(&format!("Portfolio {portfolio}")))?;
            let principals = p.principals.iter().map(|(a, t)| json!({ "PrincipalARN": a, "PrincipalType": t }));
            paged(principals.collect(), input, "Principals", &CATALOG_PAGES, ctx)
        }
        "CreateConstraint" => {
            let portfolio = required(input, "PortfolioId")?.to_owned();
            let product = required(input, "ProductId")?.to_owned();
            let constraint_type = required(input, "Type")?.to_owned();
            let parameters = required(input, "Parameters")?.to_owned();
            let p =
                world.catalog.portfolios.get(&portfolio).ok_or_else(|| not_found(&format!("Portfolio {portfolio}")))?;
            if !p.products.contains(&product) {
                return Err(invalid(format!("Product {product} is not associated with portfolio {portfolio}.")));
            }
            if constraint_type == "LAUNCH" {
                let document: Value =
                    serde_json::from_str(&parameters).map_err(|e| invalid(format!("Parameters are not JSON: {e}")))?;
                let role = str_of(&document, "RoleArn")
                    .or_else(|| str_of(&document, "LocalRoleName"))
                    .ok_or_else(|| invalid("A LAUNCH constraint needs RoleArn or LocalRoleName."))?;
                // As for principals: terraform-provider-aws `constraint.go` retries "profile does not exist".
                let name = role.rsplit('/').next().unwrap_or(role).to_ascii_lowercase();
                if world.iam.roles.get(&name).is_none_or(|r| ctx.propagating(r.created_ms)) {
                    return Err(invalid(format!("The launch role {role}: profile does not exist.")));
                }
                if world
                    .catalog
                    .constraints
                    .values()
                    .any(|c| c.portfolio_id == portfolio && c.product_id == product && c.constraint_type == "LAUNCH")
                {
                    return Err(ApiError::bad_request(
                        "DuplicateResourceException",
                        "A LAUNCH constraint already exists for this product and portfolio.",
                    ));
                }
            }
            let id = short_id(world, "cons");
            let c = Constraint {
                id: id.clone(),
                portfolio_id: portfolio,
                product_id: product,
                constraint_type,
                parameters,
                description: str_of(input, "Description").map(str::to_owned),
            };
            let out = json!({ "ConstraintDetail": constraint_json(&c, ctx.account), "ConstraintParameters": c.parameters, "Status": "AVAILABLE" });
            world.catalog.constraints.insert(id, c);
            Ok(out)
        }
        "DescribeConstraint" | "UpdateConstraint" => {
            let id = required(input, "Id")?;
            let c = world.catalog.constraints.get_mut(id).ok_or_else(|| not_found(&format!("Constraint {id}")))?;
            if operation == "UpdateConstraint" {
                if let Some(parameters) = str_of(input, "Parameters") {
                    c.parameters = parameters.to_owned();
                }
                if let Some(description) = str_of(input, "Description") {
                    c.description = Some(description.to_owned());
                }
            }
            Ok(
                json!({ "ConstraintDetail": constraint_json(c, ctx.account), "ConstraintParameters": c.parameters, "Status": "AVAILABLE" }),
            )
        }
        "DeleteConstraint" => {
            let id = required(input, "Id")?;
            world.catalog.constraints.remove(id).ok_or_else(|| not_found(&format!("Constraint {id}")))?;
            Ok(json!({}))
        }
        "ListConstraintsForPortfolio" => {
            let portfolio = required(input, "PortfolioId")?;
            let product = str_of(input, "ProductId");
            let constraints: Vec<Value> = world
                .catalog
                .constraints
                .values()
                .filter(|c| c.portfolio_id == portfolio && product.is_none_or(|p| p == c.product_id))
                .map(|c| constraint_json(c, ctx.account))
                .collect();
            paged(constraints, input, "ConstraintDetails", &CATALOG_PAGES, ctx)
        }
        other => Err(ApiError::bad_request(
            "UnknownOperationException",
            format!("The sandbox does not implement AWS242ServiceCatalogService.{other}."),
        )),
    }
}
