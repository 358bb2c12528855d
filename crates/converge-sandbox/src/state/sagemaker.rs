//! SageMaker's data: domains, user profiles, spaces and apps (the handlers are `crate::sagemaker`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Tags, Timeline};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct SageMakerState {
    pub(crate) domains: BTreeMap<String, Domain>,
    /// By `domain-id/lower-cased name`.
    pub(crate) users: BTreeMap<String, UserProfile>,
    /// Home file systems by id; their mount targets sit in these subnets.
    pub(crate) file_systems: BTreeMap<String, Vec<String>>,
    /// By `domain-id/space name`.
    pub(crate) spaces: BTreeMap<String, Space>,
    /// By `domain-id/owner/app type/app name`; deleted apps stay listed, `Deleted`.
    pub(crate) apps: BTreeMap<String, App>,
}

/// A Studio space: private to its owner's profile, or shared.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Space {
    pub(crate) domain_id: String,
    pub(crate) name: String,
    pub(crate) arn: String,
    /// The user profile owning it (private spaces, and shared ones created by a user).
    pub(crate) owner: Option<String>,
    /// `Private` or `Shared`.
    pub(crate) sharing: String,
    pub(crate) created_ms: u64,
    pub(crate) modified_ms: u64,
    pub(crate) timeline: Timeline,
}

/// A Studio app (JupyterLab, a Studio Classic JupyterServer, a kernel gateway…).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct App {
    pub(crate) domain_id: String,
    /// The user profile it runs for (Studio Classic), or …
    pub(crate) user_profile: Option<String>,
    /// … the space it runs in.
    pub(crate) space: Option<String>,
    pub(crate) app_type: String,
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) created_ms: u64,
    pub(crate) timeline: Timeline,
}

impl App {
    /// Pending, InService or Deleting: it holds its profile, space and domain, and the domain's network.
    pub(crate) fn is_running(&self, now_ms: u64) -> bool {
        matches!(self.timeline.at(now_ms), "Pending" | "InService" | "Deleting")
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Domain {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) auth_mode: String,
    pub(crate) network_access: String,
    pub(crate) vpc_id: String,
    pub(crate) subnet_ids: Vec<String>,
    pub(crate) default_user_settings: Value,
    pub(crate) kms_key: Option<String>,
    pub(crate) efs_id: String,
    pub(crate) created_ms: u64,
    pub(crate) modified_ms: u64,
    pub(crate) timeline: Timeline,
    pub(crate) tags: Tags,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct UserProfile {
    pub(crate) domain_id: String,
    pub(crate) name: String,
    pub(crate) arn: String,
    /// IAM Identity Center (SSO) domains: `("UserName", "<the user's name>")`.
    #[serde(default)]
    pub(crate) single_sign_on: Option<(String, String)>,
    pub(crate) user_settings: Value,
    pub(crate) created_ms: u64,
    pub(crate) modified_ms: u64,
    pub(crate) timeline: Timeline,
    pub(crate) tags: Tags,
}
