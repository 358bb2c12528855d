//! The spec language as data: every table, key, type and allowed value.
//!
//! One description serves three readers: the checker (unknown keys, types,
//! enums, ranges, all with spans), the JSON Schema `converge schema` prints,
//! and the key reference in `docs/spec.md`. Rules that need more than one
//! value at a time (references, CIDRs, EMR and Studio wiring) live in
//! `rules`.

use crate::codes::{self, Code};

/// What a value must look like.
#[derive(Debug)]
pub enum Shape {
    Str,
    /// One of these exact strings.
    Enum(&'static [&'static str]),
    Int {
        min: Option<i64>,
        max: Option<i64>,
        code: Code,
    },
    Float {
        min: f64,
        max: f64,
    },
    Bool,
    Array(&'static Shape),
    /// A closed table: only these keys.
    Table(&'static [Field]),
    /// A resource table: its own keys plus [`LIFECYCLE`].
    Resource(&'static [Field]),
    /// An open table: any key, every value of the same shape.
    Map(&'static Shape),
    /// The first alternative whose TOML type matches the value.
    OneOf(&'static [Shape]),
}

/// One key of a table.
#[derive(Debug)]
pub struct Field {
    pub key: &'static str,
    pub shape: &'static Shape,
    pub required: bool,
    pub doc: &'static str,
}

const fn req(key: &'static str, shape: &'static Shape, doc: &'static str) -> Field {
    Field { key, shape, required: true, doc }
}

const fn opt(key: &'static str, shape: &'static Shape, doc: &'static str) -> Field {
    Field { key, shape, required: false, doc }
}

const fn int(min: i64, max: i64) -> Shape {
    Shape::Int { min: Some(min), max: Some(max), code: codes::OUT_OF_RANGE }
}

static STR: Shape = Shape::Str;
static BOOL: Shape = Shape::Bool;
static STRINGS: Shape = Shape::Array(&STR);
static TAGS: Shape = Shape::Map(&STR);
static NON_NEGATIVE: Shape = Shape::Int { min: Some(0), max: None, code: codes::OUT_OF_RANGE };

/// Keys every resource accepts.
pub static LIFECYCLE: &[Field] = &[
    opt("prevent_destroy", &BOOL, "Make a planned delete or replacement of this resource an error."),
    opt(
        "adopt",
        &BOOL,
        "Take over an existing resource of the same AWS name (a subnet: CIDR; a cluster: running, by name) that no converge stack owns (adds the ownership tags).",
    ),
    opt(
        "silence",
        &TAGS,
        "Warnings that do not apply here: `{ <warning-code> = \"<reason>\" }`. The reason is required.",
    ),
];

static STACK: Shape = Shape::Table(&[
    req("name", &STR, "Stack name; part of the ownership tag `converge:stack` on every resource."),
    req("region", &STR, "AWS region, e.g. `ap-northeast-1`."),
    req("account", &STR, "The 12-digit AWS account id; converge refuses to touch another account."),
    opt("tags", &TAGS, "Tags added to every resource (besides the ownership tags)."),
    opt(
        "state_bucket",
        &STR,
        "An S3 bucket for the stack's lock (`converge/<stack>/lock.json`, written only if absent), so runs on different machines never change the stack at once. Without it, apply locks with a file next to the spec.",
    ),
    opt(
        "on_drift",
        &Shape::Enum(&["report", "repair"]),
        "What `converge watch` does about drift other than a failed cluster: `report` (the default) or `repair` it, as `converge apply` would. converge's policy: changing it changes nothing in AWS.",
    ),
]);

static VPC: Shape = Shape::Resource(&[
    req("id", &STR, "The id of an existing VPC (`vpc-…`). converge reads it and never changes it."),
    opt("cidrs", &STRINGS, "The VPC's IPv4 ranges, if known: subnets must fall inside one of them."),
]);

static SUBNET: Shape = Shape::Resource(&[
    req("vpc", &STR, "The VPC: a `vpc` of the spec or a literal `vpc-` id."),
    req("cidr", &STR, "IPv4 CIDR block, /16 to /28, inside the VPC."),
    req("availability_zone", &STR, "Availability zone in the stack's region, e.g. `ap-northeast-1a`."),
    opt("tags", &TAGS, "Tags."),
]);

static PROTOCOL: Shape = Shape::Enum(&["tcp", "udp", "icmp", "all"]);
static PORTS: Shape = Shape::OneOf(&[Shape::Int { min: None, max: None, code: codes::PORT_RANGE }, Shape::Str]);

static ICMP_NUMBER: Shape = Shape::Int { min: Some(-1), max: Some(255), code: codes::ICMP_TYPE };

static INGRESS_RULE: Shape = Shape::Table(&[
    req("protocol", &PROTOCOL, "`tcp`, `udp`, `icmp` or `all`."),
    opt("ports", &PORTS, "A port (`8998`) or an inclusive range (`\"8000-8100\"`); required for tcp and udp."),
    opt(
        "icmp_type",
        &ICMP_NUMBER,
        "ICMP type of an `icmp` rule, 0-255 (e.g. 8, echo request); omit or -1 for every type.",
    ),
    opt("icmp_code", &ICMP_NUMBER, "ICMP code of an `icmp` rule, 0-255; needs `icmp_type`; omit or -1 for every code."),
    opt("cidr", &STR, "Source IPv4 or IPv6 CIDR block."),
    opt("source", &STR, "Source group: `\"self\"`, a `security_group` of the spec, or a literal `sg-` id."),
    opt("prefix_list", &STR, "Source managed prefix list (`pl-…`)."),
    opt("description", &STR, "Rule description."),
]);

static EGRESS_RULE: Shape = Shape::Table(&[
    req("protocol", &PROTOCOL, "`tcp`, `udp`, `icmp` or `all`."),
    opt("ports", &PORTS, "A port or an inclusive range; required for tcp and udp."),
    opt("icmp_type", &ICMP_NUMBER, "ICMP type of an `icmp` rule, 0-255; omit or -1 for every type."),
    opt("icmp_code", &ICMP_NUMBER, "ICMP code of an `icmp` rule, 0-255; needs `icmp_type`; omit or -1 for every code."),
    opt("cidr", &STR, "Destination IPv4 or IPv6 CIDR block."),
    opt("destination", &STR, "Destination group: `\"self\"`, a `security_group` of the spec, or a literal `sg-` id."),
    opt("prefix_list", &STR, "Destination managed prefix list (`pl-…`), e.g. the S3 gateway endpoint's."),
    opt("description", &STR, "Rule description."),
]);

static SECURITY_GROUP: Shape = Shape::Resource(&[
    req("vpc", &STR, "The VPC: a `vpc` of the spec or a literal `vpc-` id."),
    opt("name", &STR, "EC2 group name; defaults to `<stack>-<name>`. Changing it forces replacement."),
    req("description", &STR, "Group description. EC2 cannot change it: changing it forces replacement."),
    opt("ingress", &Shape::Array(&INGRESS_RULE), "Inbound rules."),
    opt(
        "egress",
        &Shape::Array(&EGRESS_RULE),
        "Outbound rules. Omit to keep the allow-all rule EC2 adds to every new group; `[]` allows nothing.",
    ),
    opt("tags", &TAGS, "Tags."),
]);

static DOCUMENT: Shape = Shape::OneOf(&[
    Shape::Str,
    Shape::Table(&[
        opt("file", &STR, "Path of a JSON file, relative to the spec."),
        opt("json", &STR, "The document itself."),
    ]),
]);

static IAM_ROLE: Shape = Shape::Resource(&[
    opt("name", &STR, "IAM role name; defaults to the spec name. Changing it forces replacement."),
    opt("path", &STR, "IAM path, default `/`. Changing it forces replacement."),
    opt("description", &STR, "Role description."),
    req(
        "trust",
        &STRINGS,
        "Who may assume the role: service principals (`sagemaker.amazonaws.com`), IAM role ARNs, or `iam_role`s of the spec.",
    ),
    opt("managed_policies", &STRINGS, "ARNs of managed policies to attach."),
    opt(
        "inline_policies",
        &Shape::Map(&DOCUMENT),
        "Inline policies by name: a JSON file path relative to the spec, or `{ json = '…' }`.",
    ),
    opt("instance_profile", &BOOL, "Also keep an instance profile of the same name holding the role (EMR's EC2 role)."),
    opt("max_session_duration", &int(3600, 43200), "Maximum session duration in seconds, 3600-43200."),
    opt("tags", &TAGS, "Tags."),
]);

static SHARING: Shape = Shape::Table(&[
    req("notebook_output", &Shape::Enum(&["Allowed", "Disabled"]), "Whether notebooks can be shared."),
    opt("s3_output_path", &STR, "S3 prefix for shared notebooks."),
    opt("s3_kms_key", &STR, "KMS key for shared notebooks."),
]);

static SAGEMAKER_DOMAIN: Shape = Shape::Resource(&[
    req("name", &STR, "Domain name (1-63 letters, digits and hyphens). Forces replacement."),
    req("auth_mode", &Shape::Enum(&["IAM", "SSO"]), "`IAM` or `SSO`. Forces replacement."),
    opt(
        "network_access",
        &Shape::Enum(&["PublicInternetOnly", "VpcOnly"]),
        "App network access type; `VpcOnly` is required for Studio to reach EMR. Default `PublicInternetOnly`.",
    ),
    req("vpc", &STR, "The domain's VPC. Forces replacement."),
    req("subnets", &STRINGS, "Subnets for Studio apps and the home EFS (1-16). Updated in place."),
    req("execution_role", &STR, "Default execution role of user profiles."),
    opt("security_groups", &STRINGS, "Default security groups of user profiles (required for `VpcOnly`)."),
    opt(
        "home_efs_on_delete",
        &Shape::Enum(&["Retain", "Delete"]),
        "What deleting the domain does to the home EFS volume. Default `Retain`.",
    ),
    opt("kms_key", &STR, "KMS key for the home EFS. Forces replacement."),
    opt("sharing", &SHARING, "Default notebook sharing settings."),
    opt("tags", &TAGS, "Tags."),
]);

static SAGEMAKER_USER: Shape = Shape::Resource(&[
    req("domain", &STR, "The `sagemaker_domain`."),
    opt("name", &STR, "User profile name; defaults to the spec name. Forces replacement."),
    opt("execution_role", &STR, "Execution role; defaults to the domain's."),
    opt("security_groups", &STRINGS, "Security groups, added to the domain's."),
    opt("sharing", &SHARING, "Notebook sharing settings; override the domain's."),
    opt(
        "sso_user_name",
        &STR,
        "The user's IAM Identity Center user name: required in a domain whose `auth_mode` is `SSO`, not allowed otherwise. Forces replacement.",
    ),
    opt("tags", &TAGS, "Tags."),
]);

static CATALOG_PORTFOLIO: Shape = Shape::Resource(&[
    req("display_name", &STR, "Portfolio name (1-100 characters)."),
    req("provider", &STR, "Provider name (1-50 characters)."),
    opt("description", &STR, "Description."),
    opt("principals", &STRINGS, "IAM roles that may use the portfolio (the Studio execution role)."),
    opt("tags", &TAGS, "Tags."),
]);

static CATALOG_PRODUCT: Shape = Shape::Resource(&[
    req("portfolio", &STR, "The `catalog_portfolio` the product belongs to."),
    req("name", &STR, "Product name."),
    req("owner", &STR, "Product owner."),
    opt("description", &STR, "Description."),
    opt("distributor", &STR, "Distributor."),
    opt("support_email", &STR, "Support email."),
    req("template", &STR, "CloudFormation template file (YAML or JSON), relative to the spec."),
    req("template_bucket", &STR, "S3 bucket the template is uploaded to, under its content hash."),
    opt("version_description", &STR, "Description of the product version a template change creates."),
    opt("launch_role", &STR, "Role of the launch constraint; must trust `servicecatalog.amazonaws.com`."),
    opt(
        "studio_visible",
        &BOOL,
        "List the product in SageMaker Studio (tag `sagemaker:studio-visibility:emr = true`).",
    ),
    opt("tags", &TAGS, "Tags."),
]);

static EBS_VOLUME: Shape = Shape::Table(&[
    req("type", &Shape::Enum(&["gp2", "gp3", "io1", "st1", "sc1", "standard"]), "Volume type."),
    req("size", &int(1, 1024), "Size in GiB, 1-1024."),
    opt("count", &int(1, 23), "Volumes of this spec per instance, default 1."),
    opt("iops", &NON_NEGATIVE, "Provisioned IOPS."),
    opt("throughput", &int(125, 1000), "Throughput in MiB/s (gp3 only), 125-1000."),
]);

static INSTANCE_TYPE: Shape = Shape::OneOf(&[
    Shape::Str,
    Shape::Table(&[
        req("type", &STR, "EC2 instance type, e.g. `r5.12xlarge`."),
        opt(
            "weight",
            &Shape::Int { min: Some(1), max: None, code: codes::EMR_WEIGHTED_CAPACITY },
            "Weighted capacity (units this type counts for), default 1; 1 on the master fleet.",
        ),
        opt(
            "bid_percent",
            &Shape::Float { min: 1.0, max: 1000.0 },
            "Spot bid as % of the On-Demand price, default 100.",
        ),
        opt("ebs", &Shape::Array(&EBS_VOLUME), "EBS volumes per instance."),
        opt("ebs_optimized", &BOOL, "EBS-optimized instances."),
    ]),
]);

static CAPACITY: Shape = Shape::OneOf(&[
    Shape::Int { min: Some(0), max: None, code: codes::OUT_OF_RANGE },
    Shape::Table(&[
        req(
            "min",
            &Shape::Int { min: None, max: None, code: codes::OUT_OF_RANGE },
            "Smallest target converge accepts; a new fleet starts here.",
        ),
        req("max", &Shape::Int { min: None, max: None, code: codes::OUT_OF_RANGE }, "Largest target converge accepts."),
    ]),
    Shape::Enum(&["external"]),
]);

static RESIZE: Shape = Shape::Table(&[
    opt(
        "spot_timeout_minutes",
        &int(5, 10080),
        "How long a Spot resize may take before EMR gives up, 5-10080 minutes.",
    ),
    opt("spot_allocation", &SPOT_ALLOCATION, "Spot allocation strategy of resizes."),
    opt(
        "on_demand_timeout_minutes",
        &int(5, 10080),
        "How long an On-Demand resize may take before EMR gives up, 5-10080 minutes.",
    ),
    opt("on_demand_allocation", &ON_DEMAND_ALLOCATION, "On-Demand allocation strategy of resizes."),
]);

static SPOT_ALLOCATION: Shape = Shape::Enum(&[
    "capacity-optimized",
    "price-capacity-optimized",
    "lowest-price",
    "diversified",
    "capacity-optimized-prioritized",
]);

static ON_DEMAND_ALLOCATION: Shape = Shape::Enum(&["lowest-price", "prioritized"]);

static FLEET: Shape = Shape::Table(&[
    opt(
        "name",
        &STR,
        "Fleet name. EMR cannot rename a fleet: changing it forces replacement; omitted, it is not compared.",
    ),
    req(
        "instance_types",
        &Shape::Array(&INSTANCE_TYPE),
        "Instance types: names, or `{ type, weight, bid_percent, ebs }`. Changing them forces replacement.",
    ),
    opt(
        "on_demand",
        &CAPACITY,
        "Target On-Demand capacity in units (core and task: resized in place), or who else sets it: `{ min, max }` accepts any target in the range, `\"external\"` any target.",
    ),
    opt(
        "spot",
        &CAPACITY,
        "Target Spot capacity in units (core and task: resized in place), or `{ min, max }`, or `\"external\"`.",
    ),
    opt(
        "spot_timeout_minutes",
        &Shape::Int { min: Some(5), max: Some(1440), code: codes::EMR_SPOT_TIMEOUT },
        "Spot provisioning timeout at launch, 5-1440 minutes.",
    ),
    opt(
        "spot_timeout_action",
        &Shape::Enum(&["switch-to-on-demand", "terminate-cluster"]),
        "What to do when the Spot timeout expires.",
    ),
    opt("spot_allocation", &SPOT_ALLOCATION, "Spot allocation strategy (allows up to 30 instance types)."),
    opt(
        "on_demand_allocation",
        &ON_DEMAND_ALLOCATION,
        "On-Demand allocation strategy (allows up to 30 instance types).",
    ),
    opt(
        "configurations",
        &Shape::Array(&CONFIGURATION),
        "Configurations of this fleet's instances, over the cluster's. Reconfigured in place (EMR 5.21.0+).",
    ),
    opt("resize", &RESIZE, "How EMR resizes the running fleet. Updated in place."),
]);

static SCALING: Shape = Shape::Table(&[
    req(
        "unit",
        &Shape::Enum(&["InstanceFleetUnits", "Instances", "VCPU"]),
        "Unit of the limits; `InstanceFleetUnits` for fleets.",
    ),
    req("min", &NON_NEGATIVE, "Minimum capacity."),
    req("max", &NON_NEGATIVE, "Maximum capacity."),
    opt("max_on_demand", &NON_NEGATIVE, "Maximum On-Demand capacity (default: `max`)."),
    opt("max_core", &NON_NEGATIVE, "Maximum core capacity (default: `max`)."),
]);

static BOOTSTRAP: Shape = Shape::Table(&[
    req("name", &STR, "Action name."),
    req("path", &STR, "Script location (`s3://…`)."),
    opt("args", &STRINGS, "Arguments."),
]);

static CONFIGURATION: Shape = Shape::Table(&[
    req("classification", &STR, "Classification, e.g. `yarn-site`, `hdfs-site`, `livy-conf`."),
    opt("properties", &TAGS, "Properties (string values)."),
    opt("configurations", &Shape::Array(&CONFIGURATION), "Nested configurations."),
]);

static EMR_CLUSTER: Shape = Shape::Resource(&[
    req("name", &STR, "Cluster name. Forces replacement."),
    req("release", &STR, "EMR release label, e.g. `emr-6.15.0`. Forces replacement."),
    opt("applications", &STRINGS, "Applications, e.g. `[\"Spark\", \"Livy\"]`. Forces replacement."),
    req("subnets", &STRINGS, "Subnets; with several, EMR picks one AZ at creation. Forces replacement."),
    req("service_role", &STR, "EMR service role. Forces replacement."),
    req("instance_profile", &STR, "The EC2 role (an `iam_role` with `instance_profile = true`). Forces replacement."),
    opt("master_security_group", &STR, "EMR-managed security group of the master node."),
    opt("core_security_group", &STR, "EMR-managed security group of core and task nodes."),
    opt("service_access_security_group", &STR, "Service access security group (private subnets)."),
    opt("additional_master_security_groups", &STRINGS, "Additional master security groups."),
    opt("additional_core_security_groups", &STRINGS, "Additional core and task security groups."),
    opt("log_uri", &STR, "S3 location of the logs (`s3://…`). Forces replacement."),
    opt("key_name", &STR, "EC2 key pair for SSH. Forces replacement."),
    opt("bootstrap", &Shape::Array(&BOOTSTRAP), "Bootstrap actions. Forces replacement."),
    opt("configurations", &Shape::Array(&CONFIGURATION), "Application configurations. Forces replacement."),
    opt("ebs_root_volume_size", &int(10, 100), "Root volume size in GiB, 10-100. Forces replacement."),
    opt(
        "ebs_root_volume_iops",
        &int(3000, 16000),
        "IOPS of the gp3 root volume, 3000-16000 (EMR 6.15.0 and later). Forces replacement.",
    ),
    opt(
        "ebs_root_volume_throughput",
        &int(125, 1000),
        "Throughput of the gp3 root volume in MiB/s, 125-1000 (EMR 6.15.0 and later). Forces replacement.",
    ),
    opt("termination_protection", &BOOL, "Refuse TerminateJobFlows. Updated in place."),
    opt(
        "auto_termination_idle_seconds",
        &Shape::Int { min: Some(60), max: Some(604_800), code: codes::EMR_AUTO_TERMINATION },
        "Terminate after this many idle seconds, 60-604800. Updated in place.",
    ),
    opt("step_concurrency", &int(1, 256), "Steps that may run at once, 1-256. Updated in place."),
    opt(
        "visible_to_all_users",
        &BOOL,
        "Always true: EMR no longer supports `false` (an error, `emr-visible-to-all-users`).",
    ),
    opt("master", &FLEET, "The master instance fleet (capacity 1)."),
    opt("core", &FLEET, "The core instance fleet (HDFS)."),
    opt("task", &FLEET, "The task instance fleet."),
    opt("scaling", &SCALING, "EMR managed scaling limits. Updated in place."),
    opt("tags", &TAGS, "Tags (propagated to the EC2 instances)."),
    opt(
        "recover",
        &Shape::Enum(&["report", "rebuild"]),
        "What `converge watch` does when the cluster fails (terminated with errors, or terminated not by converge): `report` (the default) or `rebuild` it from the spec, as `converge rebuild` does. converge's policy: changing it changes nothing in AWS.",
    ),
    opt(
        "max_rebuilds",
        &MAX_REBUILDS,
        "With `recover = \"rebuild\"`: rebuilds in any hour at most (default 2); past that, `converge watch` reports the cluster as needing a person.",
    ),
]);

static MAX_REBUILDS: Shape = int(0, 60);

/// The kinds, as the top-level tables of a spec.
pub static KINDS: &[(converge_model::Kind, &Shape, &str)] = &[
    (converge_model::Kind::Vpc, &VPC, "An existing VPC, referenced by id."),
    (converge_model::Kind::Subnet, &SUBNET, "A subnet."),
    (converge_model::Kind::SecurityGroup, &SECURITY_GROUP, "A security group and its rules."),
    (converge_model::Kind::IamRole, &IAM_ROLE, "An IAM role, its policies and optional instance profile."),
    (converge_model::Kind::SagemakerDomain, &SAGEMAKER_DOMAIN, "A SageMaker Studio domain."),
    (converge_model::Kind::SagemakerUser, &SAGEMAKER_USER, "A SageMaker Studio user profile."),
    (converge_model::Kind::CatalogPortfolio, &CATALOG_PORTFOLIO, "A Service Catalog portfolio."),
    (converge_model::Kind::CatalogProduct, &CATALOG_PRODUCT, "A Service Catalog product (EMR template)."),
    (converge_model::Kind::EmrCluster, &EMR_CLUSTER, "An EMR cluster with instance fleets."),
];

/// The `[stack]` table.
pub fn stack() -> &'static Shape {
    &STACK
}

impl Shape {
    /// The keys of a table or resource table, lifecycle keys last.
    pub fn fields(&self) -> Vec<&'static Field> {
        match self {
            Shape::Table(fields) => fields.iter().collect(),
            Shape::Resource(fields) => fields.iter().chain(LIFECYCLE.iter()).collect(),
            _ => Vec::new(),
        }
    }

    /// How the shape reads in a message ("a string", "one of ...").
    pub fn describe(&self) -> String {
        match self {
            Shape::Str => "a string".into(),
            Shape::Enum(values) => format!("one of {}", quoted_list(values)),
            Shape::Int { .. } => "an integer".into(),
            Shape::Float { .. } => "a number".into(),
            Shape::Bool => "`true` or `false`".into(),
            Shape::Array(_) => "an array".into(),
            Shape::Table(_) | Shape::Resource(_) | Shape::Map(_) => "a table".into(),
            Shape::OneOf(alternatives) => {
                let parts: Vec<String> = alternatives.iter().map(Shape::describe).collect();
                parts.join(" or ")
            }
        }
    }
}

/// `` `a`, `b` or `c` ``
pub fn quoted_list(values: &[&str]) -> String {
    match values {
        [] => String::new(),
        [one] => format!("`{one}`"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|v| format!("`{v}`")).collect();
            format!("{} or `{last}`", init.join(", "))
        }
    }
}
