//! Reading a stack's live state: every kind, found by the stack's ownership
//! tags and by the names its spec claims, batched where AWS allows (one
//! DescribeSubnets, one DescribeSecurityGroups per question, IAM's
//! GetAccountAuthorizationDetails for every role at once, one ListClusters),
//! every paginated call paginated, services read concurrently and per-resource
//! calls at most [`PER_SERVICE`] at a time.

mod catalog;
pub(crate) mod ec2;
pub(crate) mod emr;
mod iam;
mod sagemaker;

use converge_executor::{ExecError, Scope};
use converge_model::live::{LIVE_STATE_VERSION, OWNER_STACK_TAG};
use converge_model::{Address, Kind, LiveState, Tags};

use crate::Aws;

/// Per-resource calls in flight at once, per service: at 20 ms a call, 16
/// read a thousand resources of one service in about a second and a half;
/// the SDK's adaptive retry slows down if AWS throttles (docs/performance.md).
pub(crate) const PER_SERVICE: usize = 16;

/// The live state of the stack `scope` describes.
pub(crate) async fn read(aws: &Aws, scope: &Scope) -> Result<LiveState, ExecError> {
    let (network, roles, studio, catalog, clusters) = tokio::try_join!(
        ec2::read(aws, scope),
        iam::read(aws, scope),
        sagemaker::read(aws, scope),
        catalog::read(aws, scope),
        emr::read(aws, scope),
    )?;
    let mut live = LiveState {
        version: LIVE_STATE_VERSION,
        account: scope.account.clone(),
        region: scope.region.clone(),
        ..LiveState::default()
    };
    let ec2::Network { vpcs, subnets, groups, route_tables, endpoints } = network;
    (live.vpcs, live.subnets, live.security_groups) = (vpcs, subnets, groups);
    (live.route_tables, live.vpc_endpoints) = (route_tables, endpoints);
    live.iam_roles = roles;
    (live.sagemaker_domains, live.sagemaker_users, live.file_systems) = studio;
    (live.catalog_portfolios, live.catalog_products) = catalog;
    live.emr_clusters = clusters;
    Ok(live)
}

/// The address read errors are reported under: the kind being read.
pub(crate) fn reading(kind: Kind) -> Address {
    Address::new(kind, "*")
}

pub(crate) fn owned(tags: &Tags, scope: &Scope) -> bool {
    tags.get(OWNER_STACK_TAG).is_some_and(|stack| *stack == scope.stack)
}

/// True when the resource belongs in the live state: the stack's, holding a
/// name the spec claims, or anything at all when the scope is the whole region.
pub(crate) fn wanted(scope: &Scope, tags: &Tags, kind: Kind, name: &str) -> bool {
    scope.everything || owned(tags, scope) || claimed(scope, kind, name)
}

/// True when the spec claims this unique name for the kind (IAM and EC2 compare names without case).
pub(crate) fn claimed(scope: &Scope, kind: Kind, name: &str) -> bool {
    scope.claims.iter().any(|c| c.kind == kind && c.name.eq_ignore_ascii_case(name))
}
