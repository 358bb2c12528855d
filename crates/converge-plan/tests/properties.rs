//! Planner invariants over generated specs:
//! - planning against the live state a perfect apply leaves is empty;
//! - from an empty account, every create comes after what it needs;
//! - deleting everything runs in the reverse order of use;
//! - the same inputs give byte-identical plans.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use converge_model::{Address, LiveState, RefTarget, Spec, Strength};
use converge_plan::{Action, StepKind, render, simulate};
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Shape {
    subnets: usize,
    groups: Vec<Vec<(u8, usize)>>,
    extra_roles: usize,
    domain: Option<(usize, usize)>,
    users: usize,
    product: bool,
    clusters: Vec<ClusterShape>,
}

#[derive(Clone, Debug)]
struct ClusterShape {
    subnets: Vec<usize>,
    groups: Option<(usize, usize)>,
    core: i64,
    task: Option<(i64, i64, bool)>,
    scaling: bool,
}

fn shape() -> impl Strategy<Value = Shape> {
    (1usize..5, 1usize..5).prop_flat_map(|(subnets, n_groups)| {
        let rule = (0u8..3, 0usize..n_groups);
        let groups = proptest::collection::vec(proptest::collection::vec(rule, 0..3), n_groups);
        let cluster = (
            proptest::collection::vec(0usize..subnets, 1..3),
            proptest::option::of((0usize..n_groups, 0usize..n_groups)),
            1i64..64,
            proptest::option::of((0i64..96, 0i64..96, any::<bool>())),
            any::<bool>(),
        )
            .prop_map(|(subnets, groups, core, task, scaling)| ClusterShape {
                subnets,
                groups,
                core,
                task,
                scaling,
            });
        (
            Just(subnets),
            groups,
            0usize..3,
            proptest::option::of((0usize..subnets, 0usize..n_groups)),
            0usize..3,
            any::<bool>(),
            proptest::collection::vec(cluster, 0..3),
        )
            .prop_map(|(subnets, groups, extra_roles, domain, users, product, clusters)| Shape {
                subnets,
                groups,
                extra_roles,
                domain,
                users,
                product,
                clusters,
            })
    })
}

fn spec_text(shape: &Shape) -> String {
    let mut t = String::from(
        "[stack]\nname = \"prop\"\nregion = \"eu-west-1\"\naccount = \"123456789012\"\ntags = { team = \"t\" }\n\n[vpc.main]\nid = \"vpc-0123456789abcdef0\"\ncidrs = [\"10.0.0.0/16\"]\n",
    );
    for i in 0..shape.subnets {
        let _ = write!(
            t,
            "\n[subnet.s{i}]\nvpc = \"main\"\ncidr = \"10.0.{i}.0/24\"\navailability_zone = \"eu-west-1{}\"\n",
            ["a", "b", "c"][i % 3]
        );
    }
    for (i, rules) in shape.groups.iter().enumerate() {
        let _ = write!(t, "\n[security_group.g{i}]\nvpc = \"main\"\ndescription = \"group {i}\"\ningress = [");
        for (j, (kind, peer)) in rules.iter().enumerate() {
            let port = 1000 + j;
            match kind {
                0 => {
                    let _ = write!(t, "{{ protocol = \"tcp\", ports = {port}, cidr = \"10.{i}.0.0/16\" }}, ");
                }
                1 => {
                    let _ = write!(t, "{{ protocol = \"tcp\", ports = {port}, source = \"g{peer}\" }}, ");
                }
                _ => {
                    let _ = write!(
                        t,
                        "{{ protocol = \"tcp\", ports = {port}, source = \"self\", description = \"self {j}\" }}, "
                    );
                }
            }
        }
        t.push_str("]\n");
    }
    t.push_str("\n[iam_role.service]\ntrust = [\"elasticmapreduce.amazonaws.com\"]\n\n[iam_role.ec2]\ntrust = [\"ec2.amazonaws.com\"]\ninstance_profile = true\n\n[iam_role.execution]\ntrust = [\"sagemaker.amazonaws.com\"]\ninline_policies.p = { json = '{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": [\"s3:GetObject\", \"s3:ListBucket\"], \"Resource\": \"*\"}]}' }\n");
    for i in 0..shape.extra_roles {
        let _ = write!(
            t,
            "\n[iam_role.extra{i}]\ntrust = [\"execution\", \"glue.amazonaws.com\"]\nmanaged_policies = [\"arn:aws:iam::aws:policy/ReadOnlyAccess\"]\n"
        );
    }
    if let Some((subnet, group)) = shape.domain {
        let _ = write!(
            t,
            "\n[sagemaker_domain.studio]\nname = \"studio\"\nauth_mode = \"IAM\"\nvpc = \"main\"\nsubnets = [\"s{subnet}\"]\nexecution_role = \"execution\"\nsecurity_groups = [\"g{group}\"]\n"
        );
        for u in 0..shape.users {
            let _ = write!(t, "\n[sagemaker_user.u{u}]\ndomain = \"studio\"\nsecurity_groups = [\"g{group}\"]\n");
        }
    }
    if shape.product {
        t.push_str("\n[iam_role.launch]\ntrust = [\"servicecatalog.amazonaws.com\"]\n\n[catalog_portfolio.p]\ndisplay_name = \"P\"\nprovider = \"Q\"\nprincipals = [\"execution\"]\n\n[catalog_product.x]\nportfolio = \"p\"\nname = \"X\"\nowner = \"o\"\ntemplate = \"t.yaml\"\ntemplate_bucket = \"bucket\"\nlaunch_role = \"launch\"\n");
    }
    for (i, c) in shape.clusters.iter().enumerate() {
        let mut subnets: Vec<usize> = c.subnets.clone();
        subnets.sort_unstable();
        subnets.dedup();
        let subnets: Vec<String> = subnets.iter().map(|s| format!("\"s{s}\"")).collect();
        let _ = write!(
            t,
            "\n[emr_cluster.c{i}]\nname = \"c{i}\"\nrelease = \"emr-6.15.0\"\napplications = [\"Spark\"]\nsubnets = [{}]\nservice_role = \"service\"\ninstance_profile = \"ec2\"\n",
            subnets.join(", ")
        );
        if let Some((master, core)) = c.groups {
            let _ = write!(t, "master_security_group = \"g{master}\"\ncore_security_group = \"g{core}\"\n");
        }
        t.push_str("configurations = [{ classification = \"yarn-site\", properties = { \"yarn.node-labels.enabled\" = \"true\", \"yarn.node-labels.am.default-node-label-expression\" = \"CORE\" } }]\n");
        let _ = write!(
            t,
            "\n[emr_cluster.c{i}.master]\ninstance_types = [\"m5.xlarge\"]\non_demand = 1\n\n[emr_cluster.c{i}.core]\ninstance_types = [{{ type = \"r5.2xlarge\", weight = 8, ebs = [{{ type = \"gp3\", size = 64, count = 2 }}] }}]\non_demand = {}\n",
            c.core
        );
        if let Some((on_demand, spot, strategy)) = c.task {
            let _ = write!(
                t,
                "\n[emr_cluster.c{i}.task]\ninstance_types = [\"r5.4xlarge\", \"c5.4xlarge\"]\non_demand = {on_demand}\nspot = {spot}\n"
            );
            if strategy {
                t.push_str("spot_allocation = \"price-capacity-optimized\"\nspot_timeout_minutes = 30\nspot_timeout_action = \"switch-to-on-demand\"\n");
            }
        }
        if c.scaling {
            let _ = write!(
                t,
                "\n[emr_cluster.c{i}.scaling]\nunit = \"InstanceFleetUnits\"\nmin = 1\nmax = 500\nmax_core = {}\n",
                c.core.max(1) * 2
            );
        }
    }
    t
}

fn spec_of(shape: &Shape) -> Spec {
    let text = spec_text(shape);
    let loader = |_: &str| Ok("Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n".to_owned());
    let checked = converge_spec::check("prop.toml", &text, &loader);
    let rendered = checked.render();
    checked.spec.unwrap_or_else(|| panic!("generated spec is invalid:\n{text}\n{rendered}"))
}

fn position(plan: &converge_plan::Plan) -> BTreeMap<(Address, StepKind), usize> {
    plan.steps.iter().enumerate().map(|(i, s)| ((s.address.clone(), s.kind), i)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn perfect_apply_plans_nothing(shape in shape()) {
        let spec = spec_of(&shape);
        let live = simulate::live_after_apply(&spec);
        let plan = converge_plan::plan(&spec, &live).expect("plans");
        prop_assert!(plan.is_empty(), "{}", render::text(&plan, render::Style::plain()));
        // The snapshot round-trips through JSON (the `--live` file format) unchanged.
        let json = serde_json::to_string(&live).expect("serialises");
        let back: LiveState = serde_json::from_str(&json).expect("parses");
        prop_assert!(converge_plan::plan(&spec, &back).expect("plans").is_empty());
    }

    #[test]
    fn creates_follow_every_reference(shape in shape()) {
        let spec = spec_of(&shape);
        let mut live = LiveState { version: 1, account: spec.stack.account.clone(), region: spec.stack.region.clone(), ..LiveState::default() };
        live.vpcs = simulate::live_after_apply(&spec).vpcs;
        let plan = converge_plan::plan(&spec, &live).expect("plans");
        prop_assert_eq!(plan.count(Action::Create), spec.addresses().len() - spec.vpcs.len());
        let at = position(&plan);
        for reference in spec.references() {
            let RefTarget::Spec(to) = reference.to.target(reference.expected) else { continue };
            if to.kind == converge_model::Kind::Vpc || to == reference.from {
                continue;
            }
            let needed = at[&(to.clone(), StepKind::Create)];
            let user_step = match reference.strength {
                Strength::Hard => StepKind::Create,
                Strength::RulePeer => StepKind::AuthorizeRules,
            };
            let user = at[&(reference.from.clone(), user_step)];
            prop_assert!(needed < user, "`{}` is created at step {} but `{}` needs it at step {}", to, needed, reference.from, user);
        }
        let again = converge_plan::plan(&spec, &live).expect("plans");
        prop_assert_eq!(render::text(&plan, render::Style::plain()), render::text(&again, render::Style::plain()));
        prop_assert_eq!(render::json(&plan).to_string(), render::json(&again).to_string());
    }

    #[test]
    fn deletes_run_in_reverse(shape in shape()) {
        let spec = spec_of(&shape);
        let live = simulate::live_after_apply(&spec);
        let nothing = Spec { stack: spec.stack.clone(), ..Spec::default() };
        let plan = converge_plan::plan(&nothing, &live).expect("plans");
        prop_assert_eq!(plan.count(Action::Delete), spec.addresses().len() - spec.vpcs.len());
        let at = position(&plan);
        for reference in spec.references() {
            let RefTarget::Spec(to) = reference.to.target(reference.expected) else { continue };
            if to.kind == converge_model::Kind::Vpc || to == reference.from {
                continue;
            }
            let user_step = match reference.strength {
                Strength::Hard => StepKind::Delete,
                Strength::RulePeer => StepKind::RevokeRules,
            };
            let user = at[&(reference.from.clone(), user_step)];
            let used = at[&(to.clone(), StepKind::Delete)];
            if reference.from.kind == converge_model::Kind::IamRole {
                // A trust policy naming another role does not stop IAM from deleting either.
                continue;
            }
            prop_assert!(user < used, "`{}` (step {}) is deleted after `{}` (step {}) that it uses", reference.from, user, to, used);
        }
    }
}
