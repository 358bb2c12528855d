//! The registry of diagnostic codes.
//!
//! Every diagnostic converge-spec emits carries one of these codes. Codes are
//! stable: tools match on them and specs silence warnings by them, so a code
//! is never renamed or reused. `docs/spec.md` lists them (a test keeps the
//! list in sync).

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The spec cannot be planned.
    Error,
    /// Probably a mistake; silence it on the resource with a written reason.
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A stable diagnostic code with its default severity and a one-line summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Code {
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

macro_rules! codes {
    ($($ident:ident = $name:literal, $severity:ident, $summary:literal;)*) => {
        $(
            #[doc = $summary]
            pub const $ident: Code = Code { name: $name, severity: Severity::$severity, summary: $summary };
        )*
        /// Every code, in documentation order.
        pub const ALL: &[Code] = &[$($ident),*];
    };
}

codes! {
    TOML_SYNTAX = "toml-syntax", Error, "the file is not valid TOML";
    UNKNOWN_KIND = "unknown-kind", Error, "a top-level table is not a resource kind";
    UNKNOWN_KEY = "unknown-key", Error, "a key the spec language does not have";
    MISSING_KEY = "missing-key", Error, "a required key is absent";
    WRONG_TYPE = "wrong-type", Error, "a value has the wrong TOML type";
    INVALID_VALUE = "invalid-value", Error, "a value is not one the key accepts";
    OUT_OF_RANGE = "out-of-range", Error, "a number is outside the range AWS accepts";
    INVALID_NAME = "invalid-name", Error, "a spec name or AWS name breaks its naming rules";
    FILE_NOT_FOUND = "file-not-found", Error, "a file the spec names cannot be read";
    INVALID_POLICY = "invalid-policy", Error, "an IAM policy document is not valid";
    INVALID_TEMPLATE = "invalid-template", Error, "a CloudFormation template is not valid";
    INVALID_TAG = "invalid-tag", Error, "a tag key or value breaks AWS's tag rules";
    DANGLING_REFERENCE = "dangling-reference", Error, "a reference names no resource of the spec";
    WRONG_KIND_REFERENCE = "wrong-kind-reference", Error, "a reference names a resource of the wrong kind";
    REFERENCE_CYCLE = "reference-cycle", Error, "resources depend on each other in a cycle";
    DUPLICATE_NAME = "duplicate-name", Error, "two resources would get the same AWS name";
    DUPLICATE_ENTRY = "duplicate-entry", Error, "the same entry appears twice in a list";
    INVALID_CIDR = "invalid-cidr", Error, "a CIDR block is malformed or not allowed here";
    SUBNET_OUTSIDE_VPC = "subnet-outside-vpc", Error, "a subnet's CIDR is outside its VPC's ranges";
    OVERLAPPING_SUBNETS = "overlapping-subnets", Error, "two subnets of one VPC overlap";
    AZ_OUTSIDE_REGION = "az-outside-region", Error, "an availability zone is not in the stack's region";
    VPC_MISMATCH = "vpc-mismatch", Error, "resources that must share a VPC are in different VPCs";
    PORT_RANGE = "port-range", Error, "a rule's ports do not fit its protocol";
    ICMP_TYPE = "icmp-type", Error, "an ICMP type or code is out of range or set on a rule that is not ICMP";
    RULE_PEER = "rule-peer", Error, "a rule needs exactly one of `cidr` and a group peer";
    EMR_MASTER_FLEET = "emr-master-fleet", Error, "an EMR cluster needs one master fleet with capacity 1";
    EMR_CORE_FLEET = "emr-core-fleet", Error, "an EMR cluster needs a core fleet with capacity";
    EMR_INSTANCE_TYPE_LIMIT = "emr-instance-type-limit", Error, "a fleet has too many or no instance types";
    EMR_WEIGHTED_CAPACITY = "emr-weighted-capacity", Error, "an instance type's weighted capacity is not allowed";
    EMR_SPOT_TIMEOUT = "emr-spot-timeout", Error, "the Spot provisioning timeout is outside 5-1440 minutes, or incomplete (minutes and action go together, and `spot_allocation` needs both)";
    EMR_AUTO_TERMINATION = "emr-auto-termination", Error, "the idle timeout is outside 60-604800 seconds";
    EMR_SCALING_LIMITS = "emr-scaling-limits", Error, "managed scaling limits contradict each other";
    EMR_CAPACITY_RANGE = "emr-capacity-range", Error, "a fleet's capacity range is empty (`min` above `max`)";
    EMR_SCALING_UNIT = "emr-scaling-unit", Error, "managed scaling on fleets must count InstanceFleetUnits";
    EMR_DFS_REPLICATION = "emr-dfs-replication", Error, "HDFS replication exceeds the core fleet's capacity";
    EMR_SECURITY_GROUP_PAIR = "emr-security-group-pair", Error, "EMR-managed master and core groups go together";
    EMR_VISIBLE_TO_ALL_USERS = "emr-visible-to-all-users", Error, "`visible_to_all_users = false` has no effect: EMR no longer supports it";
    EMR_SERVICE_ACCESS_PORT = "emr-service-access-port", Error, "the service-access group does not admit the primary group on tcp/9443 (EMR 5.30.0 to 7.x)";
    EMR_RELEASE_FEATURE = "emr-release-feature", Error, "a feature needs a newer EMR release";
    EMR_INSTANCE_PROFILE = "emr-instance-profile", Error, "the EC2 role has no instance profile of its name";
    STUDIO_SSO_USER = "studio-sso-user", Error, "a user profile of an SSO domain lacks `sso_user_name`, or one of an IAM domain has it";
    STUDIO_NEEDS_VPC_ONLY = "studio-needs-vpc-only", Error, "Studio can reach EMR only from a VpcOnly domain";
    LIVY_PORT_CLOSED = "livy-port-closed", Error, "the EMR master group does not admit Studio on tcp/8998";
    LIVY_EGRESS_CLOSED = "livy-egress-closed", Error, "the Studio security groups do not let notebooks out to Livy on tcp/8998";
    STUDIO_SELF_RULE = "studio-self-rule", Error, "the Studio security group lacks its self-referencing rule";
    EMR_OUTSIDE_DOMAIN_VPC = "emr-outside-domain-vpc", Error, "an EMR cluster is not in the Studio domain's VPC";
    VPC_ONLY_SECURITY_GROUPS = "vpc-only-security-groups", Error, "a VpcOnly domain needs security groups";
    MISSING_TRUST = "missing-trust", Error, "a role does not trust the service that must assume it";
    PORTFOLIO_PRINCIPAL_MISSING = "portfolio-principal-missing", Error, "the portfolio is not shared with the Studio execution role";
    UNKNOWN_OVERRIDE = "unknown-override", Error, "an environment overrides something the base does not declare";
    ENV_MISSING_VALUE = "env-missing-value", Error, "an environment leaves a required value unset that the base leaves to it";
    DUPLICATE_ENVIRONMENT = "duplicate-environment", Error, "an environment is defined twice, or two environments are the same stack";
    INVALID_SILENCE = "invalid-silence", Error, "a `silence` entry names no warning or gives no reason";
    NON_CANONICAL_CIDR = "non-canonical-cidr", Warning, "a rule's CIDR has host bits set; AWS stores it cleared";
    SINGLE_INSTANCE_TYPE_SPOT = "single-instance-type-spot", Warning, "a fleet asks for Spot with only one instance type";
    CORE_ON_SPOT = "core-on-spot", Warning, "the core fleet (HDFS) runs on Spot capacity";
    YARN_NODE_LABELS = "yarn-node-labels", Warning, "application masters may land on Spot task nodes";
    SINGLE_SUBNET = "single-subnet", Warning, "a fleet cluster has one subnet, so EMR cannot pick another AZ";
    FOREIGN_ACCOUNT = "foreign-account", Warning, "an ARN names another account than the stack's";
    STUDIO_TEMPLATE_PARAMETERS = "studio-template-parameters", Warning, "a Studio template lacks the SageMaker project parameters";
    STUDIO_CLUSTER_WITHOUT_LIVY = "studio-cluster-without-livy", Warning, "Studio may reach an EMR cluster that does not run Livy and Spark, which notebooks connect to";
    STUDIO_TEMPLATE_HIDDEN = "studio-template-hidden", Warning, "an EMR template shared with a Studio role lacks `studio_visible`, so Studio does not list it";
    HOME_EFS_RETAINED = "home-efs-retained", Warning, "deleting the domain will leave its EFS and NFS groups behind";
    UNUSED_SILENCE = "unused-silence", Warning, "a `silence` entry silences nothing";
    INTERNAL = "internal", Error, "converge failed to read a value it had already checked (a bug)";
}

/// The platform rules that judge how AWS resources are wired together rather
/// than whether the spec can be read: AWS accepts each resource, but the
/// platform does not work as meant. A spec whose only errors are these still
/// has a meaning (`Checked::model`), which is how `converge import` describes
/// a miswired platform as it is built.
pub const PLATFORM: &[Code] = &[
    EMR_DFS_REPLICATION,
    EMR_SERVICE_ACCESS_PORT,
    EMR_INSTANCE_PROFILE,
    STUDIO_NEEDS_VPC_ONLY,
    LIVY_PORT_CLOSED,
    LIVY_EGRESS_CLOSED,
    STUDIO_SELF_RULE,
    EMR_OUTSIDE_DOMAIN_VPC,
    VPC_ONLY_SECURITY_GROUPS,
    MISSING_TRUST,
    PORTFOLIO_PRINCIPAL_MISSING,
];

/// Warnings the planner raises from live state (the route tables and VPC
/// endpoints of the spec's VPCs), not from the spec alone: a spec silences them
/// on the resource they concern like any warning, and `converge validate`
/// cannot tell whether such a silence silences something. `docs/plan.md`
/// lists them; `converge-plan` keeps its own list in step (a test).
pub const PLAN_TIME: &[Code] = &[
    Code {
        name: "studio-subnet-offline",
        severity: Severity::Warning,
        summary: "a VpcOnly Studio subnet has neither a route to a NAT gateway nor the VPC endpoints notebooks need",
    },
    Code {
        name: "studio-subnet-public",
        severity: Severity::Warning,
        summary: "a VpcOnly Studio subnet routes to an internet gateway",
    },
];

/// The code with this name, if any.
pub fn by_name(name: &str) -> Option<Code> {
    ALL.iter().copied().find(|code| code.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_are_unique_and_kebab_case() {
        let mut names: Vec<_> = ALL.iter().map(|code| code.name).collect();
        assert!(names.iter().all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')));
        names.sort_unstable();
        let len = names.len();
        names.dedup();
        assert_eq!(names.len(), len, "duplicate code name");
    }
}
