//! `SetTags`: each service's own calls for adding and removing tags.

use converge_executor::ExecError;
use converge_model::Tags;
use converge_ops::Tagged;

use super::{Call, known};
use crate::errors::exec_error;

pub(super) async fn set(call: &Call<'_>, target: &Tagged, set: &Tags, remove: &[String]) -> Result<(), ExecError> {
    let aws = call.aws;
    let address = call.address;
    match target {
        Tagged::Ec2 { id } => {
            if !set.is_empty() {
                aws.ec2
                    .create_tags()
                    .resources(known(id))
                    .set_tags(Some(super::ec2::tags(set)))
                    .send()
                    .await
                    .map_err(|e| exec_error(e, "CreateTags", address))?;
            }
            if !remove.is_empty() {
                let keys = remove.iter().map(|k| aws_sdk_ec2::types::Tag::builder().key(k).build()).collect();
                aws.ec2
                    .delete_tags()
                    .resources(known(id))
                    .set_tags(Some(keys))
                    .send()
                    .await
                    .map_err(|e| exec_error(e, "DeleteTags", address))?;
            }
        }
        Tagged::IamRole { name } => {
            if !set.is_empty() {
                let tags = set
                    .iter()
                    .map(|(k, v)| call.built("TagRole", aws_sdk_iam::types::Tag::builder().key(k).value(v).build()))
                    .collect::<Result<Vec<_>, _>>()?;
                aws.iam
                    .tag_role()
                    .role_name(name)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(|e| exec_error(e, "TagRole", address))?;
            }
            if !remove.is_empty() {
                aws.iam
                    .untag_role()
                    .role_name(name)
                    .set_tag_keys(Some(remove.to_vec()))
                    .send()
                    .await
                    .map_err(|e| exec_error(e, "UntagRole", address))?;
            }
        }
        Tagged::SagemakerDomain { domain } => {
            let arn = sagemaker_arn(call, SagemakerResource::Domain(domain)).await?;
            sagemaker_tags(call, &arn, set, remove).await?;
        }
        Tagged::SagemakerUserProfile { domain, name } => {
            let arn = sagemaker_arn(call, SagemakerResource::UserProfile(domain, name)).await?;
            sagemaker_tags(call, &arn, set, remove).await?;
        }
        Tagged::Portfolio { portfolio } => {
            let tags = catalog_tags(call, set, "UpdatePortfolio")?;
            aws.catalog
                .update_portfolio()
                .id(known(portfolio))
                .set_add_tags(tags)
                .set_remove_tags((!remove.is_empty()).then(|| remove.to_vec()))
                .send()
                .await
                .map_err(|e| exec_error(e, "UpdatePortfolio", address))?;
        }
        Tagged::Product { product } => {
            let tags = catalog_tags(call, set, "UpdateProduct")?;
            aws.catalog
                .update_product()
                .id(known(product))
                .set_add_tags(tags)
                .set_remove_tags((!remove.is_empty()).then(|| remove.to_vec()))
                .send()
                .await
                .map_err(|e| exec_error(e, "UpdateProduct", address))?;
        }
        Tagged::EmrCluster { cluster } => {
            if !set.is_empty() {
                aws.emr
                    .add_tags()
                    .resource_id(known(cluster))
                    .set_tags(Some(super::emr::tags(set)))
                    .send()
                    .await
                    .map_err(|e| exec_error(e, "AddTags", address))?;
            }
            if !remove.is_empty() {
                aws.emr
                    .remove_tags()
                    .resource_id(known(cluster))
                    .set_tag_keys(Some(remove.to_vec()))
                    .send()
                    .await
                    .map_err(|e| exec_error(e, "RemoveTags", address))?;
            }
        }
    }
    Ok(())
}

fn catalog_tags(
    call: &Call<'_>,
    set: &Tags,
    operation: &'static str,
) -> Result<Option<Vec<aws_sdk_servicecatalog::types::Tag>>, ExecError> {
    if set.is_empty() {
        return Ok(None);
    }
    let tags = set
        .iter()
        .map(|(k, v)| call.built(operation, aws_sdk_servicecatalog::types::Tag::builder().key(k).value(v).build()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(tags))
}

/// What SageMaker tags a domain or a user profile by: its ARN (its tag calls take ARNs, not ids).
enum SagemakerResource<'a> {
    Domain(&'a converge_ops::Id),
    UserProfile(&'a converge_ops::Id, &'a str),
}

async fn sagemaker_arn(call: &Call<'_>, resource: SagemakerResource<'_>) -> Result<String, ExecError> {
    let (aws, address) = (call.aws, call.address);
    Ok(match resource {
        SagemakerResource::UserProfile(domain, name) => {
            let described = aws
                .sagemaker
                .describe_user_profile()
                .domain_id(known(domain))
                .user_profile_name(name)
                .send()
                .await
                .map_err(|e| exec_error(e, "DescribeUserProfile", address))?;
            described.user_profile_arn().unwrap_or_default().to_owned()
        }
        SagemakerResource::Domain(domain) => {
            let described = aws
                .sagemaker
                .describe_domain()
                .domain_id(known(domain))
                .send()
                .await
                .map_err(|e| exec_error(e, "DescribeDomain", address))?;
            described.domain_arn().unwrap_or_default().to_owned()
        }
    })
}

/// SageMaker's `AddTags` and `DeleteTags` on one ARN.
async fn sagemaker_tags(call: &Call<'_>, arn: &str, set: &Tags, remove: &[String]) -> Result<(), ExecError> {
    let (aws, address) = (call.aws, call.address);
    if !set.is_empty() {
        let tags = set.iter().map(|(k, v)| aws_sdk_sagemaker::types::Tag::builder().key(k).value(v).build()).collect();
        aws.sagemaker
            .add_tags()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| exec_error(e, "AddTags", address))?;
    }
    if !remove.is_empty() {
        aws.sagemaker
            .delete_tags()
            .resource_arn(arn)
            .set_tag_keys(Some(remove.to_vec()))
            .send()
            .await
            .map_err(|e| exec_error(e, "DeleteTags", address))?;
    }
    Ok(())
}
