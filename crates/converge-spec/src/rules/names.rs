//! Naming rules: spec names, AWS names, the stack table, tags.

use converge_model::{Address, Kind, Tags};

use super::Ctx;
use crate::check::child;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::suggest::did_you_mean;

/// The regions converge knows; an unknown region is almost always a typo.
pub(crate) const REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Why a resource name of the spec is not acceptable, if it is not.
pub(crate) fn spec_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 64 {
        return Some("it must have 1 to 64 characters");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Some("it must start with a letter or digit");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Some("it may only contain letters, digits, `_` and `-`");
    }
    None
}

pub(super) fn stack(ctx: &mut Ctx<'_>) {
    let stack = &ctx.spec.stack;
    let name_ok = !stack.name.is_empty()
        && stack.name.len() <= 32
        && stack.name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && stack.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !name_ok {
        let d = Diagnostic::new(codes::INVALID_NAME, format!("`{}` is not a valid stack name", stack.name))
            .at(ctx.at("stack.name"))
            .address("stack")
            .hint("use 1-32 lower-case letters, digits and `-`; the name goes into group names and tags");
        ctx.emit(d);
    }
    if !REGIONS.contains(&stack.region.as_str()) {
        let mut d = Diagnostic::new(codes::INVALID_VALUE, format!("`{}` is not an AWS region", stack.region))
            .at(ctx.at("stack.region"))
            .address("stack")
            .hint("use a region code such as `ap-northeast-1` or `us-east-1`");
        if let Some(s) = did_you_mean(&stack.region, REGIONS.iter().copied()) {
            d = d.label(format!("did you mean `{s}`?"));
        }
        ctx.emit(d);
    }
    if stack.account.len() != 12 || !stack.account.bytes().all(|b| b.is_ascii_digit()) {
        let d = Diagnostic::new(codes::INVALID_VALUE, format!("`{}` is not an AWS account id", stack.account))
            .at(ctx.at("stack.account"))
            .address("stack")
            .label("expected 12 digits")
            .hint("write the account id as a string of 12 digits: `account = \"123456789012\"`");
        ctx.emit(d);
    }
}

fn pattern_ok(text: &str, max: usize, allowed: impl Fn(u8) -> bool) -> bool {
    !text.is_empty() && text.len() <= max && text.bytes().all(allowed)
}

pub(super) fn aws_names(ctx: &mut Ctx<'_>) {
    let mut found = Vec::new();
    for (name, vpc) in &ctx.spec.vpcs {
        if converge_model::Kind::of_literal(&vpc.id) != Some(Kind::Vpc) {
            let address = Address::new(Kind::Vpc, name.clone());
            found.push((
                codes::INVALID_VALUE,
                address.clone(),
                format!("{address}.id"),
                format!("`{}` is not a VPC id", vpc.id),
                "write the id of an existing VPC, like `vpc-0b4cd1e283a3474c0`".to_owned(),
            ));
        }
    }
    for (name, role) in &ctx.spec.iam_roles {
        let address = Address::new(Kind::IamRole, name.clone());
        let role_name = role.name.as_deref().unwrap_or(name);
        let iam_char = |b: u8| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b);
        if !pattern_ok(role_name, 64, iam_char) {
            let field = if role.name.is_some() { format!("{address}.name") } else { address.to_string() };
            found.push((
                codes::INVALID_NAME,
                address.clone(),
                field,
                format!("`{role_name}` is not a valid IAM role name"),
                "IAM role names have 1-64 letters, digits and `+=,.@_-`".to_owned(),
            ));
        }
        let path_ok = role.path == "/"
            || (role.path.len() <= 512
                && role.path.starts_with('/')
                && role.path.ends_with('/')
                && role.path.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        if !path_ok {
            found.push((
                codes::INVALID_VALUE,
                address.clone(),
                format!("{address}.path"),
                format!("`{}` is not a valid IAM path", role.path),
                "an IAM path starts and ends with `/`, e.g. `/service-role/`".to_owned(),
            ));
        }
        // IAM takes tab, newline and Latin-1 in a role description (botocore `roleDescriptionType`).
        let latin1 = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a1}'..='\u{ff}');
        if let Some(description) = &role.description {
            if let Some(c) = description.chars().find(|c| !latin1(*c)) {
                found.push((
                    codes::INVALID_VALUE,
                    address.clone(),
                    format!("{address}.description"),
                    format!("IAM does not take `{c}` in a role description"),
                    "IAM takes printable Latin-1 characters (and tabs and newlines) in role descriptions".to_owned(),
                ));
            } else if description.chars().count() > 1000 {
                found.push((
                    codes::INVALID_VALUE,
                    address.clone(),
                    format!("{address}.description"),
                    "an IAM role description has at most 1,000 characters".to_owned(),
                    "shorten the description".to_owned(),
                ));
            }
        }
        for (i, arn) in role.managed_policies.iter().enumerate() {
            let mut parts = arn.splitn(6, ':');
            let ok = parts.next() == Some("arn")
                && parts.next().is_some_and(|p| p.starts_with("aws"))
                && parts.next() == Some("iam")
                && parts.next() == Some("")
                && parts.next().is_some_and(|account| {
                    account == "aws" || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
                })
                && parts.next().is_some_and(|resource| resource.starts_with("policy/"));
            let partition = converge_model::Partition::of_region(&ctx.spec.stack.region).name;
            if !ok {
                found.push((
                    codes::INVALID_VALUE,
                    address.clone(),
                    format!("{address}.managed_policies[{i}]"),
                    format!("`{arn}` is not a managed policy ARN"),
                    format!("write the full ARN, e.g. `arn:{partition}:iam::aws:policy/AmazonS3FullAccess`"),
                ));
            } else if arn.split(':').nth(1) != Some(partition) && !ctx.spec.stack.region.is_empty() {
                // `arn:aws:` in China is `arn:aws-cn:`: IAM knows no policy of another partition.
                found.push((
                    codes::INVALID_VALUE,
                    address.clone(),
                    format!("{address}.managed_policies[{i}]"),
                    format!(
                        "`{arn}` is an ARN of another partition than the stack's region `{}`",
                        ctx.spec.stack.region
                    ),
                    format!("write `arn:{partition}:` ARNs in this region"),
                ));
            }
        }
    }
    for (name, group) in &ctx.spec.security_groups {
        let address = Address::new(Kind::SecurityGroup, name.clone());
        if let Some(group_name) = &group.name
            && (group_name.is_empty() || group_name.len() > 255 || group_name.to_ascii_lowercase().starts_with("sg-"))
        {
            found.push((
                codes::INVALID_NAME,
                address.clone(),
                format!("{address}.name"),
                format!("`{group_name}` is not a valid security group name"),
                "group names have 1-255 characters and cannot start with `sg-`".to_owned(),
            ));
        }
        if group.description.is_empty() || group.description.len() > 255 {
            found.push((
                codes::INVALID_VALUE,
                address.clone(),
                format!("{address}.description"),
                "a security group description must have 1-255 characters".to_owned(),
                "describe what the group is for".to_owned(),
            ));
        } else if let Some(c) = group.description.chars().find(|c| !ec2_description_char(*c)) {
            found.push((
                codes::INVALID_VALUE,
                address.clone(),
                format!("{address}.description"),
                format!("EC2 does not take `{c}` in a security group description"),
                EC2_DESCRIPTION_HINT.to_owned(),
            ));
        }
        let rules = group
            .ingress
            .iter()
            .map(|r| r.description.as_deref())
            .enumerate()
            .map(|(i, d)| (format!("{address}.ingress[{i}].description"), d))
            .chain(
                group
                    .egress
                    .iter()
                    .flatten()
                    .map(|r| r.description.as_deref())
                    .enumerate()
                    .map(|(i, d)| (format!("{address}.egress[{i}].description"), d)),
            );
        for (path, description) in rules {
            let Some(description) = description else { continue };
            if let Some(c) = description.chars().find(|c| !ec2_description_char(*c)) {
                found.push((
                    codes::INVALID_VALUE,
                    address.clone(),
                    path,
                    format!("EC2 does not take `{c}` in a rule description"),
                    EC2_DESCRIPTION_HINT.to_owned(),
                ));
            } else if description.chars().count() > 255 {
                found.push((
                    codes::INVALID_VALUE,
                    address.clone(),
                    path,
                    "a rule description has at most 255 characters".to_owned(),
                    "shorten the description".to_owned(),
                ));
            }
        }
    }
    let domain_name_ok = |text: &str| {
        !text.is_empty()
            && text.len() <= 63
            && text.starts_with(|c: char| c.is_ascii_alphanumeric())
            && text.ends_with(|c: char| c.is_ascii_alphanumeric())
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    for (name, domain) in &ctx.spec.sagemaker_domains {
        let address = Address::new(Kind::SagemakerDomain, name.clone());
        if !domain_name_ok(&domain.name) {
            found.push((
                codes::INVALID_NAME,
                address.clone(),
                format!("{address}.name"),
                format!("`{}` is not a valid domain name", domain.name),
                "domain names have 1-63 letters, digits and inner hyphens".to_owned(),
            ));
        }
    }
    for (name, user) in &ctx.spec.sagemaker_users {
        let address = Address::new(Kind::SagemakerUser, name.clone());
        let profile = user.name.as_deref().unwrap_or(name);
        if !domain_name_ok(profile) {
            let field = if user.name.is_some() { format!("{address}.name") } else { address.to_string() };
            found.push((
                codes::INVALID_NAME,
                address.clone(),
                field,
                format!("`{profile}` is not a valid user profile name"),
                "user profile names have 1-63 letters, digits and inner hyphens (no `_`); set `name`".to_owned(),
            ));
        }
    }
    for (name, portfolio) in &ctx.spec.catalog_portfolios {
        let address = Address::new(Kind::CatalogPortfolio, name.clone());
        for (field, value, max) in
            [("display_name", &portfolio.display_name, 100), ("provider", &portfolio.provider, 50)]
        {
            if value.is_empty() || value.chars().count() > max {
                found.push((
                    codes::INVALID_VALUE,
                    address.clone(),
                    format!("{address}.{field}"),
                    format!("`{field}` must have 1-{max} characters"),
                    format!("shorten `{field}`"),
                ));
            }
        }
    }
    for (name, product) in &ctx.spec.catalog_products {
        let address = Address::new(Kind::CatalogProduct, name.clone());
        let bucket = &product.template_bucket;
        let bucket_ok = bucket.len() >= 3
            && bucket.len() <= 63
            && bucket.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && bucket.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !bucket_ok {
            found.push((
                codes::INVALID_NAME,
                address.clone(),
                format!("{address}.template_bucket"),
                format!("`{bucket}` is not a valid S3 bucket name"),
                "bucket names have 3-63 lower-case letters, digits, `.` and `-`; write the name, not an `s3://` URL"
                    .to_owned(),
            ));
        }
    }
    for (name, cluster) in &ctx.spec.emr_clusters {
        let address = Address::new(Kind::EmrCluster, name.clone());
        if cluster.name.is_empty() || cluster.name.len() > 256 {
            found.push((
                codes::INVALID_NAME,
                address.clone(),
                format!("{address}.name"),
                "an EMR cluster name must have 1-256 characters".to_owned(),
                "shorten `name`".to_owned(),
            ));
        }
        if super::emr::release_version(&cluster.release).is_none() {
            found.push((
                codes::INVALID_VALUE,
                address.clone(),
                format!("{address}.release"),
                format!("`{}` is not an EMR release label", cluster.release),
                "write the release label as `emr-<major>.<minor>.<patch>`, e.g. `emr-6.15.0`".to_owned(),
            ));
        }
        if let Some(uri) = &cluster.log_uri
            && !(uri.starts_with("s3://") || uri.starts_with("s3n://"))
        {
            found.push((
                codes::INVALID_VALUE,
                address.clone(),
                format!("{address}.log_uri"),
                format!("`{uri}` is not an S3 location"),
                "write the log location as `s3://<bucket>/<prefix>/`".to_owned(),
            ));
        }
        for (i, action) in cluster.bootstrap.iter().enumerate() {
            if !action.path.starts_with("s3://") {
                found.push((
                    codes::INVALID_VALUE,
                    address.clone(),
                    format!("{address}.bootstrap[{i}].path"),
                    format!("`{}` is not an S3 location", action.path),
                    "bootstrap scripts must be in S3: `s3://<bucket>/<key>`".to_owned(),
                ));
            }
        }
    }
    for (code, address, path, message, hint) in found {
        let d = Diagnostic::new(code, message).at(ctx.at(&path)).address(&address).hint(hint);
        ctx.emit(d);
    }
}

/// EC2's characters for group and rule descriptions: "a-z, A-Z, 0-9, spaces, and
/// ._-:/()#,@[]+=&;{}!$*" (botocore `CreateSecurityGroupRequest.Description`, `IpRange.Description`).
fn ec2_description_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c)
}

const EC2_DESCRIPTION_HINT: &str = "EC2 takes letters, digits, spaces and ._-:/()#,@[]+=&;{}!$* in descriptions";

/// The tag characters IAM, SageMaker and Service Catalog take: letters, digits,
/// separators and `_.:/=+-@` (botocore `tagValueType`, SageMaker and Service Catalog `TagValue`).
fn tag_char(c: char) -> bool {
    c.is_alphabetic() || c.is_numeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
}

/// The most tags converge adds to a resource of its own (`converge:stack`,
/// `converge:address`, `converge:spec-digest`, `converge:replaces`, `converge:prevent-destroy`).
const CONVERGE_TAGS: usize = 5;

/// Service Catalog holds at most 20 tags on a portfolio or product (botocore `AddTags`).
const CATALOG_TAG_LIMIT: usize = 20;

pub(super) fn tags(ctx: &mut Ctx<'_>) {
    let mut sets: Vec<(String, String, &Tags)> = vec![("stack".into(), "stack.tags".into(), &ctx.spec.stack.tags)];
    macro_rules! collect {
        ($($map:ident => $kind:expr),*) => {$(
            for (name, resource) in &ctx.spec.$map {
                let address = Address::new($kind, name.clone());
                sets.push((address.to_string(), format!("{address}.tags"), &resource.tags));
            }
        )*};
    }
    collect!(subnets => Kind::Subnet, security_groups => Kind::SecurityGroup, iam_roles => Kind::IamRole,
        sagemaker_domains => Kind::SagemakerDomain, sagemaker_users => Kind::SagemakerUser,
        catalog_portfolios => Kind::CatalogPortfolio, catalog_products => Kind::CatalogProduct,
        emr_clusters => Kind::EmrCluster);
    let mut found = Vec::new();
    // Where the tags land decides what AWS takes: IAM, SageMaker and Service Catalog check
    // characters (and Service Catalog wants a value), EC2 and EMR do not.
    let strict = |address: &str| {
        ["iam_role.", "sagemaker_domain.", "sagemaker_user.", "catalog_portfolio.", "catalog_product."]
            .iter()
            .any(|prefix| address.starts_with(prefix))
    };
    let catalog = |address: &str| address.starts_with("catalog_portfolio.") || address.starts_with("catalog_product.");
    let stack_tags = ctx.spec.stack.tags.clone();
    for (address, path, tags) in &sets {
        let (address, path) = (address.clone(), path.clone());
        if catalog(&address) {
            let count = stack_tags.keys().chain(tags.keys()).collect::<std::collections::BTreeSet<_>>().len();
            if count + CONVERGE_TAGS > CATALOG_TAG_LIMIT {
                found.push((
                    address.clone(),
                    path.clone(),
                    format!(
                        "`{address}` would carry {count} tags of the spec (its own and the stack's) and up to {CONVERGE_TAGS} of converge's: Service Catalog holds at most {CATALOG_TAG_LIMIT}"
                    ),
                    format!("keep at most {} tags of the spec on it", CATALOG_TAG_LIMIT - CONVERGE_TAGS),
                ));
            }
        }
        for (key, value) in stack_tags.iter().filter(|_| strict(&address)).chain(tags.iter()) {
            let from_stack = !tags.contains_key(key);
            let tag_path = if from_stack { child("stack.tags", key) } else { child(&path, key) };
            let problem = if strict(&address) && !key.chars().chain(value.chars()).all(tag_char) {
                Some((
                    "IAM, SageMaker and Service Catalog take letters, digits, spaces and _.:/=+-@ in tags",
                    "write the tag with those characters only",
                ))
            } else if catalog(&address) && value.is_empty() {
                Some(("Service Catalog does not take an empty tag value", "give the tag a value, or remove it"))
            } else {
                None
            };
            if let Some((message, hint)) = problem {
                let message = if from_stack {
                    format!("invalid tag `{key}` on `{address}` (from the stack's tags): {message}")
                } else {
                    format!("invalid tag `{key}`: {message}")
                };
                found.push((address.clone(), tag_path, message, hint.to_owned()));
            }
        }
    }
    for (address, path, tags) in sets {
        for (key, value) in tags {
            let tag_path = child(&path, key);
            let problem = if key.is_empty() || key.chars().count() > 128 {
                Some(("a tag key must have 1-128 characters", "shorten the key"))
            } else if key.to_ascii_lowercase().starts_with("aws:") {
                Some(("tag keys starting with `aws:` are reserved for AWS", "choose another key"))
            } else if key.starts_with("converge:") {
                Some((
                    "tag keys starting with `converge:` are converge's ownership tags",
                    "choose another key; converge sets these itself",
                ))
            } else if value.chars().count() > 256 {
                Some(("a tag value must have at most 256 characters", "shorten the value"))
            } else {
                None
            };
            if let Some((message, hint)) = problem {
                found.push((address.clone(), tag_path, format!("invalid tag `{key}`: {message}"), hint.to_owned()));
            }
        }
    }
    for (address, path, message, hint) in found {
        let d = Diagnostic::new(codes::INVALID_TAG, message).at(ctx.key_at(&path)).address(address).hint(hint);
        ctx.emit(d);
    }
}

/// Literal ARNs (role references, managed policies) that name another account.
pub(super) fn foreign_accounts(ctx: &mut Ctx<'_>) {
    let account = &ctx.spec.stack.account;
    if account.is_empty() {
        return;
    }
    let arn_account = |arn: &str| -> Option<String> {
        let account = arn.strip_prefix("arn:")?.split(':').nth(3)?;
        (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then(|| account.to_owned())
    };
    let mut arns: Vec<(Address, String, String)> = Vec::new();
    for reference in ctx.spec.references() {
        if let converge_model::Ref::Literal(arn) = reference.to {
            arns.push((reference.from.clone(), format!("{}.{}", reference.from, reference.field), arn.clone()));
        }
    }
    for (name, role) in &ctx.spec.iam_roles {
        let address = Address::new(Kind::IamRole, name.clone());
        for (i, arn) in role.managed_policies.iter().enumerate() {
            arns.push((address.clone(), format!("{address}.managed_policies[{i}]"), arn.clone()));
        }
    }
    let mut found = Vec::new();
    for (address, path, arn) in arns {
        if let Some(other) = arn_account(&arn).filter(|other| other != account) {
            let d = Diagnostic::new(codes::FOREIGN_ACCOUNT, format!("`{arn}` is in account {other}, but the stack is in {account}"))
                .at(ctx.at(&path))
                .address(&address)
                .hint("check the account id; if the cross-account reference is intended, silence `foreign-account` with the reason");
            found.push(d);
        }
    }
    ctx.out.extend(found);
}
