//! Why no plan could be made: situations no apply could resolve, each with a
//! stable code and a hint.

use converge_model::Address;

use crate::change::Action;

/// Why no plan could be made: situations no apply could resolve.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the live state is of account {live}, but the spec's stack is in account {spec}")]
    AccountMismatch { spec: String, live: String },
    #[error("the live state is of region {live}, but the spec's stack is in {spec}")]
    RegionMismatch { spec: String, live: String },
    #[error("`{address}` names the VPC `{id}`, which does not exist")]
    MissingVpc { address: Address, id: String },
    #[error("`{address}` would be named `{name}`, which {}", holder_text(.holder, .owner.as_deref()))]
    NameConflict { address: Address, name: String, holder: String, owner: Option<String> },
    #[error("`{address}` adopts the existing resource found by `{name}`, but {} hold it: {}", .candidates.len(), .candidates.join(", "))]
    AmbiguousAdoption { address: Address, name: String, candidates: Vec<String> },
    #[error("the plan would {} `{address}`, which has `prevent_destroy`", .action.as_str())]
    PreventDestroy { address: Address, action: Action },
    #[error("`{address}` must be destroyed before it is created ({reason}), but `{dependent}` keeps using it")]
    ReplaceBlocked { address: Address, dependent: Address, reason: String },
    #[error("the changes depend on each other in a loop: {}", .path.join(" -> "))]
    Cycle { path: Vec<String> },
    #[error(
        "`{address}` changes `{field}`, which SageMaker refuses while Studio apps run, and {} {} running: {}",
        .apps.len(), if .apps.len() == 1 { "app is" } else { "apps are" }, .apps.join(", ")
    )]
    AppsBlockDomainChange { address: Address, field: String, apps: Vec<String> },
    #[error("`{address}` cannot be deleted: the EFS file system `{file_system}` has a mount target in it{}", .domain.as_ref().map(|d| format!(" (the home volume of domain `{d}`, kept when the domain is deleted)")).unwrap_or_default())]
    SubnetHoldsFileSystem { address: Address, file_system: String, domain: Option<String> },
    #[error("`--replace {address}` names no resource of the spec")]
    ReplaceUnknown { address: Address },
    #[error(
        "`{address}` would run in the private subnet {subnet} with custom EMR-managed security groups and no `service_access_security_group`, which EMR refuses"
    )]
    ServiceAccessGroupRequired { address: Address, subnet: String },
    #[error("converge built an inconsistent plan: {0}")]
    Internal(String),
}

fn holder_text(holder: &str, owner: Option<&str>) -> String {
    match owner {
        Some(owner) => format!("`{holder}` of stack `{owner}` already uses"),
        None => format!("the unmanaged `{holder}` already uses"),
    }
}

impl PlanError {
    /// A stable code, like the spec's diagnostic codes.
    pub fn code(&self) -> &'static str {
        match self {
            PlanError::AccountMismatch { .. } => "account-mismatch",
            PlanError::RegionMismatch { .. } => "region-mismatch",
            PlanError::MissingVpc { .. } => "missing-vpc",
            PlanError::NameConflict { .. } => "name-conflict",
            PlanError::AmbiguousAdoption { .. } => "ambiguous-adoption",
            PlanError::PreventDestroy { .. } => "prevent-destroy",
            PlanError::ReplaceBlocked { .. } => "replace-blocked",
            PlanError::Cycle { .. } => "change-cycle",
            PlanError::AppsBlockDomainChange { .. } => "apps-block-domain-change",
            PlanError::SubnetHoldsFileSystem { .. } => "subnet-holds-file-system",
            PlanError::ReplaceUnknown { .. } => "replace-not-in-spec",
            PlanError::ServiceAccessGroupRequired { .. } => "emr-service-access-required",
            PlanError::Internal(_) => "internal",
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            PlanError::AccountMismatch { .. } | PlanError::RegionMismatch { .. } => {
                "read the live state with credentials of the stack's account and region, or fix `[stack]`".into()
            }
            PlanError::MissingVpc { address, .. } => {
                format!("fix `{address}.id`; converge reads VPCs but never creates them")
            }
            PlanError::NameConflict { address, owner: None, .. } => {
                format!("set `adopt = true` on `{address}` to manage the existing resource, or give it another `name`")
            }
            PlanError::NameConflict { address, .. } => {
                format!("give `{address}` another `name`; converge never takes a resource from another stack")
            }
            PlanError::AmbiguousAdoption { address, .. } => {
                format!("give all but one of them another name in AWS, or remove `adopt` from `{address}` and create a new one")
            }
            PlanError::PreventDestroy { address, .. } => {
                format!(
                    "undo the change that forces it, or remove `prevent_destroy` from `{address}` in a reviewed change first"
                )
            }
            PlanError::ReplaceBlocked { address, .. } => {
                format!("give `{address}` a new `name` so the new one can exist beside the old one")
            }
            PlanError::Cycle { .. } => "split the change into two applies".into(),
            PlanError::AppsBlockDomainChange { .. } => "ask the users to shut their Studio apps down (or delete them with `aws sagemaker delete-app`), then plan again; converge does not stop running notebooks for a network change".into(),
            PlanError::SubnetHoldsFileSystem { domain: Some(_), .. } => "set `home_efs_on_delete = \"Delete\"` on the domain and apply before removing it, or keep the subnet, or delete the file system's mount targets by hand".into(),
            PlanError::SubnetHoldsFileSystem { file_system, .. } => {
                format!("keep the subnet, or delete the mount targets of `{file_system}` by hand (it holds Studio home directories)")
            }
            PlanError::ReplaceUnknown { .. } => {
                "name a resource the spec defines, as `KIND.NAME` (`emr_cluster.etl`); VPCs are read, never replaced".into()
            }
            PlanError::ServiceAccessGroupRequired { address, .. } => format!(
                "add a security group for EMR's service access and name it in `{address}.service_access_security_group` (\"An additional managed security group for service access is required when you create a cluster in a private subnet\": EMR Management Guide, \"Working with Amazon EMR-managed security groups\")"
            ),
            PlanError::Internal(_) => "this is a bug in converge; please report it with the spec and the live state".into(),
        }
    }
}
