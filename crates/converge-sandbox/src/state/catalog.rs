//! Service Catalog's data: portfolios, products, versions and constraints (the handlers are `crate::catalog`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Tags, Timeline};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct CatalogState {
    pub(crate) portfolios: BTreeMap<String, Portfolio>,
    pub(crate) products: BTreeMap<String, Product>,
    pub(crate) constraints: BTreeMap<String, Constraint>,
    /// Idempotency token → the id it created.
    pub(crate) tokens: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Portfolio {
    pub(crate) id: String,
    pub(crate) arn: String,
    pub(crate) display_name: String,
    pub(crate) provider: String,
    pub(crate) description: Option<String>,
    pub(crate) created_ms: u64,
    pub(crate) tags: Tags,
    pub(crate) principals: Vec<(String, String)>,
    pub(crate) products: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Product {
    pub(crate) id: String,
    pub(crate) arn: String,
    pub(crate) name: String,
    pub(crate) owner: String,
    pub(crate) product_type: String,
    pub(crate) description: Option<String>,
    pub(crate) distributor: Option<String>,
    pub(crate) support_email: Option<String>,
    pub(crate) created_ms: u64,
    pub(crate) tags: Tags,
    pub(crate) timeline: Timeline,
    pub(crate) versions: Vec<Version>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Version {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) created_ms: u64,
    pub(crate) active: bool,
    pub(crate) guidance: String,
    pub(crate) template_url: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Constraint {
    pub(crate) id: String,
    pub(crate) portfolio_id: String,
    pub(crate) product_id: String,
    pub(crate) constraint_type: String,
    pub(crate) parameters: String,
    pub(crate) description: Option<String>,
}
