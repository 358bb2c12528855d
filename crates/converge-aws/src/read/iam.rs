//! Roles, their policies, tags and instance profiles: two paginated calls for
//! every role of the account (GetAccountAuthorizationDetails has no
//! description or session length; ListRoles has no tags or policies).

use std::collections::BTreeMap;

use aws_sdk_iam::types::EntityType;
use converge_executor::{ExecError, Scope};
use converge_model::Kind;
use converge_model::live::{LiveIamRole, decode_policy};

use super::{reading, wanted};
use crate::Aws;
use crate::errors::exec_error;

/// The largest page IAM gives (100 unless asked).
const PAGE: i32 = 1000;

pub(super) async fn read(aws: &Aws, scope: &Scope) -> Result<Vec<LiveIamRole>, ExecError> {
    let details = aws
        .iam
        .get_account_authorization_details()
        .filter(EntityType::Role)
        .max_items(PAGE)
        .into_paginator()
        .send()
        .try_collect();
    let listed = aws.iam.list_roles().max_items(PAGE).into_paginator().send().try_collect();
    let (details, listed) = tokio::join!(details, listed);
    let details = details.map_err(|e| exec_error(e, "GetAccountAuthorizationDetails", &reading(Kind::IamRole)))?;
    let listed = listed.map_err(|e| exec_error(e, "ListRoles", &reading(Kind::IamRole)))?;
    let settings: BTreeMap<&str, (Option<&str>, Option<i32>)> = listed
        .iter()
        .flat_map(|page| page.roles())
        .map(|role| (role.role_name(), (role.description(), role.max_session_duration())))
        .collect();
    let mut roles = Vec::new();
    for role in details.iter().flat_map(|page| page.role_detail_list()) {
        let name = role.role_name().unwrap_or_default();
        let tags = role.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        if !wanted(scope, &tags, Kind::IamRole, name) {
            continue;
        }
        let (description, max_session) = settings.get(name).copied().unwrap_or((None, None));
        roles.push(LiveIamRole {
            name: name.to_owned(),
            arn: role.arn().unwrap_or_default().to_owned(),
            path: role.path().unwrap_or("/").to_owned(),
            description: description.filter(|d| !d.is_empty()).map(str::to_owned),
            assume_role_policy: decode_policy(role.assume_role_policy_document().unwrap_or_default()),
            managed_policies: role
                .attached_managed_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_owned))
                .collect(),
            inline_policies: role
                .role_policy_list()
                .iter()
                .filter_map(|p| {
                    Some((p.policy_name()?.to_owned(), decode_policy(p.policy_document().unwrap_or_default())))
                })
                .collect(),
            // EMR uses the instance profile named like its role.
            instance_profile: role.instance_profile_list().iter().any(|p| p.instance_profile_name() == name),
            max_session_duration: max_session.map_or(3600, i64::from),
            tags,
        });
    }
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use converge_model::live::decode_policy;

    #[test]
    fn policies_come_back_decoded() {
        assert_eq!(decode_policy("%7B%22Version%22%3A%222012-10-17%22%7D"), r#"{"Version":"2012-10-17"}"#);
        assert_eq!(decode_policy(r#"{"a":"b c"}"#), r#"{"a":"b c"}"#, "plain JSON stays as it is");
        assert_eq!(decode_policy("100%zz"), "100%zz", "not percent-encoding: kept");
    }
}
