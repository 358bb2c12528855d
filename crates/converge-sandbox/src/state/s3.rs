//! S3's data: buckets and objects (the handlers are `crate::s3`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct S3State {
    pub(crate) buckets: BTreeMap<String, Bucket>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Bucket {
    pub(crate) created: u64,
    pub(crate) objects: BTreeMap<String, Object>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Object {
    pub(crate) body: Vec<u8>,
    pub(crate) etag: String,
    pub(crate) modified: u64,
}
