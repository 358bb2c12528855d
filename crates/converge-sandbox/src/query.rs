//! Parameters of the query protocols (EC2, IAM, STS): `A.1.B.2.C=value`.

use std::collections::BTreeMap;

use crate::error::ApiError;

pub(crate) struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    pub(crate) fn parse(body: &[u8]) -> Self {
        Params { values: form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect() }
    }

    /// Every parameter, in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub(crate) fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| ApiError::missing(name))
    }

    /// The prefixes of a flattened list in index order: `IpPermissions` → `IpPermissions.1`, `IpPermissions.2`.
    pub(crate) fn members(&self, prefix: &str) -> Vec<String> {
        let start = format!("{prefix}.");
        let mut indices: Vec<u32> = self
            .values
            .keys()
            .filter_map(|k| k.strip_prefix(&start))
            .filter_map(|rest| rest.split('.').next()?.parse().ok())
            .collect();
        indices.sort_unstable();
        indices.dedup();
        indices.into_iter().map(|i| format!("{prefix}.{i}")).collect()
    }

    /// The values of a flattened list of strings (`GroupId.1`, `GroupId.2`).
    pub(crate) fn strings(&self, prefix: &str) -> Vec<String> {
        self.members(prefix).into_iter().filter_map(|p| self.get(&p).map(str::to_owned)).collect()
    }

    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::bad_request("InvalidParameterValue", format!("{name} must be a number, not {v}"))
                })
            })
            .transpose()
    }
}
