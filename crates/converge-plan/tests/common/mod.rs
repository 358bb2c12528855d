//! Generated platforms for the planner's property tests: a spec written as
//! TOML from a [`Shape`], edits that turn one shape into the next version of
//! the spec, and drift that changes live state behind converge's back.

#![allow(dead_code, reason = "each test binary uses part of the helpers")]

use std::fmt::Write as _;

use converge_model::live::{LiveApp, LiveRule, LiveSpace, OWNER_ADDRESS_TAG, OWNER_STACK_TAG, SagemakerStatus};
use converge_model::{LiveState, Spec};
use proptest::prelude::*;

pub(crate) const ACCOUNT: &str = "123456789012";
pub(crate) const VPC: &str = "vpc-0123456789abcdef0";

#[derive(Clone, Debug)]
pub(crate) struct Shape {
    pub(crate) subnets: Vec<SubnetShape>,
    pub(crate) groups: Vec<GroupShape>,
    pub(crate) extra_roles: Vec<RoleShape>,
    pub(crate) execution_policy: u8,
    pub(crate) domain: Option<DomainShape>,
    pub(crate) users: Vec<UserShape>,
    pub(crate) portfolios: usize,
    pub(crate) product: Option<ProductShape>,
    pub(crate) clusters: Vec<ClusterShape>,
}

#[derive(Clone, Debug)]
pub(crate) struct SubnetShape {
    /// Spec key suffix: renaming keeps the AWS resource (matched by tag, re-tagged? no: subnets have no
    /// unique name, so a renamed subnet is a new one).
    pub(crate) key: usize,
    pub(crate) block: u8,
    pub(crate) zone: u8,
}

#[derive(Clone, Debug)]
pub(crate) struct GroupShape {
    /// The spec key is `g{key}` (`r{key}` once renamed); the EC2 name stays `grp-{id}`.
    pub(crate) id: usize,
    pub(crate) renamed: bool,
    pub(crate) description: u8,
    pub(crate) ingress: Vec<RuleShape>,
    pub(crate) egress: Option<Vec<RuleShape>>,
    pub(crate) tag: u8,
}

#[derive(Clone, Debug)]
pub(crate) enum Peer {
    Cidr(u8),
    Group(usize),
    Myself,
}

#[derive(Clone, Debug)]
pub(crate) struct RuleShape {
    pub(crate) protocol: u8,
    pub(crate) port: u16,
    pub(crate) peer: Peer,
    pub(crate) description: Option<u8>,
}

#[derive(Clone, Debug)]
pub(crate) struct RoleShape {
    pub(crate) id: usize,
    pub(crate) renamed: bool,
    pub(crate) path: bool,
    pub(crate) trusts_execution: bool,
    pub(crate) managed: u8,
    pub(crate) inline: u8,
    pub(crate) description: Option<u8>,
    pub(crate) session: u8,
}

#[derive(Clone, Debug)]
pub(crate) struct DomainShape {
    pub(crate) kms: Option<u8>,
    pub(crate) subnets: Vec<usize>,
    pub(crate) groups: Vec<usize>,
    pub(crate) vpc_only: bool,
    pub(crate) delete_home: bool,
    pub(crate) sharing: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct UserShape {
    pub(crate) id: usize,
    pub(crate) groups: Vec<usize>,
    pub(crate) own_role: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct ProductShape {
    pub(crate) portfolio: usize,
    pub(crate) launch_role: bool,
    pub(crate) template: u8,
    pub(crate) owner: u8,
    pub(crate) studio_visible: bool,
}

#[derive(Clone, Debug)]
pub(crate) enum Capacity {
    Fixed(i64),
    Range(i64, i64),
    External,
}

#[derive(Clone, Debug)]
pub(crate) struct TaskShape {
    pub(crate) on_demand: Capacity,
    pub(crate) spot: Capacity,
    pub(crate) strategy: bool,
    pub(crate) configurations: u8,
    pub(crate) resize: Option<u16>,
}

#[derive(Clone, Debug)]
pub(crate) struct ClusterShape {
    pub(crate) id: usize,
    pub(crate) release: u8,
    pub(crate) subnets: Vec<usize>,
    pub(crate) groups: Option<(usize, usize)>,
    pub(crate) master_spot: bool,
    pub(crate) master_name: Option<u8>,
    pub(crate) core: i64,
    pub(crate) core_configurations: u8,
    pub(crate) task: Option<TaskShape>,
    pub(crate) scaling: Option<i64>,
    pub(crate) protected: bool,
    pub(crate) steps: i64,
    pub(crate) idle: Option<i64>,
}

fn rule() -> impl Strategy<Value = (u8, u16, u8, usize, Option<u8>)> {
    (0u8..4, 0u16..3, 0u8..4, 0usize..4, proptest::option::of(0u8..2))
}

fn capacity() -> impl Strategy<Value = Capacity> {
    prop_oneof![
        (0i64..96).prop_map(Capacity::Fixed),
        (0i64..48, 48i64..960).prop_map(|(min, max)| Capacity::Range(min, max)),
        Just(Capacity::External),
    ]
}

pub(crate) fn shape() -> impl Strategy<Value = Shape> {
    (1usize..4, 1usize..4).prop_flat_map(|(n_subnets, n_groups)| {
        let subnets = (0..n_subnets).map(|i| (Just(i), 0u8..2, 0u8..3)).collect::<Vec<_>>();
        let group = (
            0u8..2,
            proptest::collection::vec(rule(), 0..3),
            proptest::option::of(proptest::collection::vec(rule(), 0..2)),
            0u8..2,
        );
        let groups = proptest::collection::vec(group, n_groups);
        let role = (any::<bool>(), any::<bool>(), 0u8..3, 0u8..3, proptest::option::of(0u8..2), 0u8..2);
        let task = (capacity(), capacity(), any::<bool>(), 0u8..3, proptest::option::of(5u16..120));
        let cluster = (
            0u8..2,
            proptest::collection::vec(0usize..n_subnets, 1..3),
            proptest::option::of((0usize..n_groups, 0usize..n_groups)),
            any::<bool>(),
            proptest::option::of(0u8..2),
            (1i64..64, 0u8..3),
            proptest::option::of(task),
            proptest::option::of(64i64..600),
            (any::<bool>(), 1i64..5, proptest::option::of(3600i64..7200)),
        );
        (
            subnets,
            groups,
            (proptest::collection::vec(role, 0..3), 0u8..3),
            proptest::option::of((
                proptest::collection::vec(0usize..n_subnets, 1..3),
                proptest::collection::vec(0usize..n_groups, 1..3),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
            )),
            proptest::collection::vec((proptest::collection::vec(0usize..n_groups, 0..2), any::<bool>()), 0..3),
            (1usize..3, proptest::option::of((0usize..2, any::<bool>(), 0u8..3, 0u8..2, any::<bool>()))),
            proptest::collection::vec(cluster, 0..3),
        )
            .prop_map(
                move |(subnets, groups, (roles, execution_policy), domain, users, (portfolios, product), clusters)| {
                    let groups = groups
                        .into_iter()
                        .enumerate()
                        .map(|(id, (description, ingress, egress, tag))| GroupShape {
                            id,
                            renamed: false,
                            description,
                            ingress: ingress.into_iter().map(|r| rule_shape(r, n_groups)).collect(),
                            egress: egress.map(|rules| rules.into_iter().map(|r| rule_shape(r, n_groups)).collect()),
                            tag,
                        })
                        .collect();
                    Shape {
                        subnets: subnets
                            .into_iter()
                            .map(|(key, block, zone)| SubnetShape { key, block, zone })
                            .collect(),
                        groups,
                        extra_roles: roles
                            .into_iter()
                            .enumerate()
                            .map(|(id, (path, trusts_execution, managed, inline, description, session))| RoleShape {
                                id,
                                renamed: false,
                                path,
                                trusts_execution,
                                managed,
                                inline,
                                description,
                                session,
                            })
                            .collect(),
                        execution_policy,
                        domain: domain.map(|(subnets, groups, vpc_only, delete_home, sharing)| DomainShape {
                            kms: None,
                            subnets: dedup(subnets),
                            groups: dedup(groups),
                            vpc_only,
                            delete_home,
                            sharing,
                        }),
                        users: users
                            .into_iter()
                            .enumerate()
                            .map(|(id, (groups, own_role))| UserShape { id, groups: dedup(groups), own_role })
                            .collect(),
                        portfolios,
                        product: product.map(|(portfolio, launch_role, template, owner, studio_visible)| {
                            ProductShape {
                                portfolio: portfolio % portfolios,
                                launch_role,
                                template,
                                owner,
                                studio_visible,
                            }
                        }),
                        clusters: clusters
                            .into_iter()
                            .enumerate()
                            .map(
                                |(
                                    id,
                                    (
                                        release,
                                        subnets,
                                        groups,
                                        master_spot,
                                        master_name,
                                        (core, core_configurations),
                                        task,
                                        scaling,
                                        (protected, steps, idle),
                                    ),
                                )| {
                                    ClusterShape {
                                        id,
                                        release,
                                        subnets: dedup(subnets),
                                        groups,
                                        master_spot,
                                        master_name,
                                        core,
                                        core_configurations,
                                        task: task.map(|(on_demand, spot, strategy, configurations, resize)| {
                                            TaskShape { on_demand, spot, strategy, configurations, resize }
                                        }),
                                        scaling,
                                        protected,
                                        steps,
                                        idle,
                                    }
                                },
                            )
                            .collect(),
                    }
                },
            )
    })
}

fn rule_shape(
    (protocol, port, peer, group, description): (u8, u16, u8, usize, Option<u8>),
    groups: usize,
) -> RuleShape {
    let peer = match peer {
        0 | 1 => Peer::Cidr(peer),
        2 => Peer::Group(group % groups),
        _ => Peer::Myself,
    };
    RuleShape { protocol, port, peer, description }
}

fn dedup(mut items: Vec<usize>) -> Vec<usize> {
    items.sort_unstable();
    items.dedup();
    items
}

/// An edit from one version of the spec to the next.
pub(crate) fn edits() -> impl Strategy<Value = Vec<(u8, usize, u8)>> {
    proptest::collection::vec((0u8..24, 0usize..4, any::<u8>()), 0..5)
}

/// Applies edits: what a pull request changes in the spec.
pub(crate) fn edit(mut shape: Shape, edits: &[(u8, usize, u8)]) -> Shape {
    for &(what, index, arg) in edits {
        let n_groups = shape.groups.len();
        match what {
            0 => {
                if let Some(g) = pick(&mut shape.groups, index) {
                    g.description ^= 1;
                }
            }
            1 => {
                if let Some(g) = pick(&mut shape.groups, index) {
                    g.renamed = !g.renamed;
                }
            }
            2 => {
                if let Some(g) = pick(&mut shape.groups, index) {
                    let rule =
                        rule_shape((arg % 4, u16::from(arg % 3), arg % 4, usize::from(arg), Some(arg % 2)), n_groups);
                    g.ingress.push(rule);
                }
            }
            3 => {
                if let Some(g) = pick(&mut shape.groups, index)
                    && !g.ingress.is_empty()
                {
                    let i = usize::from(arg) % g.ingress.len();
                    g.ingress.remove(i);
                }
            }
            4 => {
                // Only the description of a rule changes.
                if let Some(g) = pick(&mut shape.groups, index)
                    && !g.ingress.is_empty()
                {
                    let i = usize::from(arg) % g.ingress.len();
                    g.ingress[i].description = match g.ingress[i].description {
                        None => Some(0),
                        Some(0) => Some(1),
                        Some(_) => None,
                    };
                }
            }
            5 => {
                if let Some(g) = pick(&mut shape.groups, index) {
                    g.tag ^= 1;
                }
            }
            6 => {
                if let Some(r) = pick(&mut shape.extra_roles, index) {
                    r.managed = (r.managed + 1) % 3;
                    r.inline = (r.inline + arg % 3) % 3;
                }
            }
            7 => {
                if let Some(r) = pick(&mut shape.extra_roles, index) {
                    r.path = !r.path;
                }
            }
            8 => {
                if let Some(r) = pick(&mut shape.extra_roles, index) {
                    r.renamed = !r.renamed;
                    r.description = Some(arg % 2);
                    r.session = arg % 2;
                }
            }
            9 => shape.execution_policy = (shape.execution_policy + 1) % 3,
            10 => {
                if let Some(d) = &mut shape.domain {
                    d.vpc_only = !d.vpc_only;
                    d.sharing = !d.sharing;
                }
            }
            11 => {
                let n_subnets = shape.subnets.len();
                if let Some(d) = &mut shape.domain {
                    d.subnets = dedup(vec![index % n_subnets, usize::from(arg) % n_subnets]);
                    d.groups = dedup(vec![usize::from(arg) % n_groups]);
                }
            }
            12 => {
                if !shape.users.is_empty() {
                    let i = index % shape.users.len();
                    shape.users.remove(i);
                }
            }
            13 => {
                if let Some(u) = pick(&mut shape.users, index) {
                    u.own_role = !u.own_role;
                    u.groups = dedup(vec![usize::from(arg) % n_groups]);
                }
            }
            14 => {
                let portfolios = shape.portfolios;
                if let Some(p) = &mut shape.product {
                    match arg % 4 {
                        0 => p.portfolio = (p.portfolio + 1) % portfolios,
                        1 => p.launch_role = !p.launch_role,
                        2 => p.template = arg % 3,
                        _ => p.owner ^= 1,
                    }
                }
            }
            15 => {
                if let Some(c) = pick(&mut shape.clusters, index) {
                    c.core = 1 + i64::from(arg % 40);
                    c.steps = 1 + i64::from(arg % 4);
                    c.protected = !c.protected;
                    c.idle = (arg % 2 == 0).then_some(3600 + i64::from(arg));
                }
            }
            16 => {
                if let Some(c) = pick(&mut shape.clusters, index)
                    && let Some(t) = &mut c.task
                {
                    t.on_demand = Capacity::Fixed(i64::from(arg % 10));
                    t.spot = match arg % 3 {
                        0 => Capacity::Fixed(i64::from(arg)),
                        1 => Capacity::Range(0, 960),
                        _ => Capacity::External,
                    };
                    t.configurations = arg % 3;
                    t.resize = (arg % 2 == 0).then_some(30 + u16::from(arg));
                }
            }
            17 => {
                if let Some(c) = pick(&mut shape.clusters, index) {
                    c.task = match c.task.take() {
                        Some(_) => None,
                        None => Some(TaskShape {
                            on_demand: Capacity::Fixed(0),
                            spot: Capacity::Fixed(i64::from(arg % 50)),
                            strategy: true,
                            configurations: 0,
                            resize: None,
                        }),
                    };
                }
            }
            18 => {
                if let Some(c) = pick(&mut shape.clusters, index) {
                    match arg % 4 {
                        0 => c.release ^= 1,
                        1 => c.master_spot = !c.master_spot,
                        2 => c.master_name = Some(arg % 2),
                        _ => c.core_configurations = (c.core_configurations + 1) % 3,
                    }
                }
            }
            19 => {
                if let Some(c) = pick(&mut shape.clusters, index) {
                    c.scaling = match c.scaling {
                        Some(_) if arg % 2 == 0 => None,
                        _ => Some(64 + i64::from(arg)),
                    };
                }
            }
            20 => {
                if !shape.clusters.is_empty() {
                    let i = index % shape.clusters.len();
                    shape.clusters.remove(i);
                }
            }
            21 => {
                shape.domain = None;
                shape.users.clear();
            }
            22 => {
                if let Some(d) = &mut shape.domain {
                    d.delete_home = !d.delete_home;
                    // A new home EFS key replaces the domain (and its user profiles).
                    d.kms = (arg % 2 == 0).then_some(arg % 3);
                }
            }
            _ => {
                if let Some(s) = pick(&mut shape.subnets, index) {
                    s.zone = (s.zone + 1) % 3;
                }
            }
        }
    }
    shape
}

const TEMPLATE_FILES: [&str; 3] = ["t0.yaml", "t1.yaml", "t2.yaml"];

pub(crate) fn spec_text(shape: &Shape) -> String {
    let mut t = format!(
        "[stack]\nname = \"prop\"\nregion = \"eu-west-1\"\naccount = \"{ACCOUNT}\"\ntags = {{ team = \"t\" }}\n\n[vpc.main]\nid = \"{VPC}\"\ncidrs = [\"10.0.0.0/16\"]\n"
    );
    for s in &shape.subnets {
        let _ = write!(
            t,
            "\n[subnet.s{}]\nvpc = \"main\"\ncidr = \"10.0.{}.0/24\"\navailability_zone = \"eu-west-1{}\"\n",
            s.key,
            s.key * 2 + usize::from(s.block),
            ["a", "b", "c"][usize::from(s.zone)]
        );
    }
    let group_key = |i: usize| {
        let g = &shape.groups[i];
        if g.renamed { format!("r{}", g.id) } else { format!("g{}", g.id) }
    };
    // Studio's groups admit themselves (the spec checker's `studio-self-rule`).
    let studio_groups: Vec<usize> = shape.domain.iter().flat_map(|d| d.groups.iter().copied()).collect();
    for g in &shape.groups {
        let _ = write!(
            t,
            "\n[security_group.{}]\nvpc = \"main\"\nname = \"grp-{}\"\ndescription = \"group {} v{}\"\ntags = {{ tier = \"t{}\" }}\ningress = [",
            group_key(g.id),
            g.id,
            g.id,
            g.description,
            g.tag
        );
        if studio_groups.contains(&g.id) {
            t.push_str("{ protocol = \"all\", source = \"self\", description = \"Studio\" }, ");
        }
        for (j, rule) in g.ingress.iter().enumerate() {
            t.push_str(&rule_text(rule, j, "source", &group_key));
        }
        t.push_str("]\n");
        if let Some(egress) = &g.egress {
            t.push_str("egress = [");
            for (j, rule) in egress.iter().enumerate() {
                t.push_str(&rule_text(rule, j, "destination", &group_key));
            }
            t.push_str("]\n");
        }
    }
    let policies = [
        "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": [\"s3:GetObject\", \"s3:ListBucket\"], \"Resource\": \"*\"}]}",
        "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"elasticmapreduce:DescribeCluster\", \"Resource\": \"*\"}]}",
    ];
    let _ = write!(
        t,
        "\n[iam_role.service]\ntrust = [\"elasticmapreduce.amazonaws.com\"]\n\n[iam_role.ec2]\ntrust = [\"ec2.amazonaws.com\"]\ninstance_profile = true\n\n[iam_role.execution]\ntrust = [\"sagemaker.amazonaws.com\"]\n"
    );
    match shape.execution_policy {
        0 => {}
        n => {
            let _ = writeln!(t, "inline_policies.p = {{ json = '{}' }}", policies[usize::from(n) - 1]);
        }
    }
    let managed = ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"];
    for r in &shape.extra_roles {
        let key = if r.renamed { format!("renamed{}", r.id) } else { format!("extra{}", r.id) };
        let _ = write!(t, "\n[iam_role.{key}]\nname = \"extra-{}\"\n", r.id);
        if r.path {
            t.push_str("path = \"/service-role/\"\n");
        }
        let trust = if r.trusts_execution { "\"execution\", \"glue.amazonaws.com\"" } else { "\"glue.amazonaws.com\"" };
        let _ = writeln!(t, "trust = [{trust}]");
        let chosen: Vec<String> = managed.iter().take(usize::from(r.managed)).map(|m| format!("\"{m}\"")).collect();
        let _ = writeln!(t, "managed_policies = [{}]", chosen.join(", "));
        for (i, policy) in policies.iter().take(usize::from(r.inline)).enumerate() {
            let _ = writeln!(t, "inline_policies.p{i} = {{ json = '{policy}' }}");
        }
        if let Some(d) = r.description {
            let _ = writeln!(t, "description = \"role {d}\"");
        }
        let _ = writeln!(t, "max_session_duration = {}", 3600 * (1 + i64::from(r.session)));
    }
    if let Some(d) = &shape.domain {
        let subnets: Vec<String> = d.subnets.iter().map(|s| format!("\"s{}\"", shape.subnets[*s].key)).collect();
        let groups: Vec<String> = d.groups.iter().map(|g| format!("\"{}\"", group_key(*g))).collect();
        let _ = write!(
            t,
            "\n[sagemaker_domain.studio]\nname = \"studio\"\nauth_mode = \"IAM\"\nnetwork_access = \"{}\"\nvpc = \"main\"\nsubnets = [{}]\nexecution_role = \"execution\"\nsecurity_groups = [{}]\nhome_efs_on_delete = \"{}\"\n",
            if d.vpc_only { "VpcOnly" } else { "PublicInternetOnly" },
            subnets.join(", "),
            groups.join(", "),
            if d.delete_home { "Delete" } else { "Retain" },
        );
        if d.sharing {
            t.push_str("sharing = { notebook_output = \"Allowed\", s3_output_path = \"s3://share/notebooks\" }\n");
        }
        if let Some(key) = d.kms {
            let _ = writeln!(t, "kms_key = \"arn:aws:kms:eu-west-1:{ACCOUNT}:key/k{key}\"");
        }
        for u in &shape.users {
            let groups: Vec<String> = u.groups.iter().map(|g| format!("\"{}\"", group_key(*g))).collect();
            let _ = write!(
                t,
                "\n[sagemaker_user.u{}]\ndomain = \"studio\"\nsecurity_groups = [{}]\n",
                u.id,
                groups.join(", ")
            );
            if u.own_role {
                t.push_str("execution_role = \"execution\"\n");
            }
        }
    }
    t.push_str("\n[iam_role.launch]\ntrust = [\"servicecatalog.amazonaws.com\"]\n");
    for p in 0..shape.portfolios {
        let _ = write!(
            t,
            "\n[catalog_portfolio.p{p}]\ndisplay_name = \"Portfolio {p}\"\nprovider = \"Q\"\nprincipals = [\"execution\"]\n"
        );
    }
    if let Some(p) = &shape.product {
        let _ = write!(
            t,
            "\n[catalog_product.x]\nportfolio = \"p{}\"\nname = \"X\"\nowner = \"owner{}\"\ntemplate = \"{}\"\ntemplate_bucket = \"bucket\"\nstudio_visible = {}\n",
            p.portfolio,
            p.owner,
            TEMPLATE_FILES[usize::from(p.template)],
            // Studio lists templates only for VpcOnly domains (the checker's `studio-needs-vpc-only`).
            p.studio_visible && shape.domain.as_ref().is_none_or(|d| d.vpc_only)
        );
        if p.launch_role {
            t.push_str("launch_role = \"launch\"\n");
        }
    }
    let configurations = [
        "",
        "{ classification = \"spark-defaults\", properties = { \"spark.executor.memory\" = \"8g\" } }",
        "{ classification = \"yarn-site\", properties = { \"yarn.nodemanager.resource.memory-mb\" = \"61440\" } }",
    ];
    for c in &shape.clusters {
        let subnets: Vec<String> = c.subnets.iter().map(|s| format!("\"s{}\"", shape.subnets[*s].key)).collect();
        let _ = write!(
            t,
            "\n[emr_cluster.c{}]\nname = \"c{}\"\nrelease = \"emr-{}\"\napplications = [\"Spark\"]\nsubnets = [{}]\nservice_role = \"service\"\ninstance_profile = \"ec2\"\ntermination_protection = {}\nstep_concurrency = {}\n",
            c.id,
            c.id,
            ["6.15.0", "7.1.0"][usize::from(c.release)],
            subnets.join(", "),
            c.protected,
            c.steps,
        );
        if let Some(idle) = c.idle {
            let _ = writeln!(t, "auto_termination_idle_seconds = {idle}");
        }
        if let Some((master, core)) = c.groups {
            let _ = writeln!(
                t,
                "master_security_group = \"{}\"\ncore_security_group = \"{}\"",
                group_key(master),
                group_key(core)
            );
        }
        t.push_str("configurations = [{ classification = \"yarn-site\", properties = { \"yarn.node-labels.enabled\" = \"true\", \"yarn.node-labels.am.default-node-label-expression\" = \"CORE\" } }]\n");
        let market = if c.master_spot { "spot = 1" } else { "on_demand = 1" };
        let _ = write!(t, "\n[emr_cluster.c{}.master]\ninstance_types = [\"m5.xlarge\"]\n{market}\n", c.id);
        if let Some(name) = c.master_name {
            let _ = writeln!(t, "name = \"primary-{name}\"");
        }
        let _ = write!(
            t,
            "\n[emr_cluster.c{}.core]\ninstance_types = [{{ type = \"r5.2xlarge\", weight = 8, ebs = [{{ type = \"gp3\", size = 64, count = 2 }}] }}]\non_demand = {}\nconfigurations = [{}]\n",
            c.id,
            c.core,
            configurations[usize::from(c.core_configurations)]
        );
        if let Some(task) = &c.task {
            let capacity = |capacity: &Capacity| match capacity {
                Capacity::Fixed(units) => units.to_string(),
                Capacity::Range(min, max) => format!("{{ min = {min}, max = {max} }}"),
                Capacity::External => "\"external\"".to_owned(),
            };
            let _ = write!(
                t,
                "\n[emr_cluster.c{}.task]\ninstance_types = [\"r5.4xlarge\", \"c5.4xlarge\"]\non_demand = {}\nspot = {}\nconfigurations = [{}]\n",
                c.id,
                capacity(&task.on_demand),
                capacity(&task.spot),
                configurations[usize::from(task.configurations)]
            );
            if task.strategy {
                t.push_str("spot_allocation = \"price-capacity-optimized\"\nspot_timeout_minutes = 30\nspot_timeout_action = \"switch-to-on-demand\"\n");
            }
            if let Some(minutes) = task.resize {
                let _ = writeln!(
                    t,
                    "resize = {{ spot_timeout_minutes = {minutes}, on_demand_allocation = \"lowest-price\" }}"
                );
            }
        }
        if let Some(max) = c.scaling {
            let _ = write!(
                t,
                "\n[emr_cluster.c{}.scaling]\nunit = \"InstanceFleetUnits\"\nmin = 1\nmax = {}\nmax_core = {}\n",
                c.id,
                max + c.core.max(1) * 2,
                c.core.max(1) * 2
            );
        }
    }
    t
}

fn rule_text(rule: &RuleShape, j: usize, peer_key: &str, group_key: &dyn Fn(usize) -> String) -> String {
    let peer = match &rule.peer {
        Peer::Cidr(n) => format!("cidr = \"10.{n}.0.0/16\""),
        Peer::Group(g) => format!("{peer_key} = \"{}\"", group_key(*g)),
        Peer::Myself => format!("{peer_key} = \"self\""),
    };
    let description = rule.description.map(|d| format!(", description = \"rule {d}\"")).unwrap_or_default();
    let port = 1000 + usize::from(rule.port) + 10 * j;
    let traffic = match rule.protocol {
        0 => format!("protocol = \"tcp\", ports = {port}"),
        1 => format!("protocol = \"udp\", ports = \"{port}-{}\"", port + 5),
        2 => format!("protocol = \"icmp\", icmp_type = {}, icmp_code = 0", usize::from(rule.port) + 10 * j),
        _ => format!("protocol = \"icmp\", icmp_type = {}", 3 + usize::from(rule.port) + 10 * j),
    };
    format!("{{ {traffic}, {peer}{description} }}, ")
}

/// Templates the generated products use.
pub(crate) fn load_template(path: &str) -> Result<String, String> {
    let version = TEMPLATE_FILES.iter().position(|f| *f == path).ok_or("no such file")?;
    Ok(format!("Resources:\n  Bucket{version}:\n    Type: AWS::S3::Bucket\n"))
}

/// The spec of a shape; a generated spec that does not check is a bug of the generator.
pub(crate) fn spec_of(shape: &Shape) -> Spec {
    let text = spec_text(shape);
    let checked = converge_spec::check("prop.toml", &text, &load_template);
    let rendered = checked.render();
    checked.spec.unwrap_or_else(|| panic!("generated spec is invalid:\n{text}\n{rendered}"))
}

/// Changes made behind converge's back.
pub(crate) fn drifts() -> impl Strategy<Value = Vec<(u8, usize, u8)>> {
    proptest::collection::vec((0u8..11, 0usize..8, any::<u8>()), 0..4)
}

/// Applies drift to live state: what people, schedulers and AWS do between applies.
pub(crate) fn drift(live: &mut LiveState, drifts: &[(u8, usize, u8)]) {
    for &(what, index, arg) in drifts {
        match what {
            0 => {
                if let Some(g) = pick(&mut live.security_groups, index).filter(|g| owned(&g.tags)) {
                    g.ingress.push(LiveRule {
                        protocol: "tcp".into(),
                        from_port: Some(22),
                        to_port: Some(22),
                        cidr: Some(format!("192.168.{arg}.7/24")),
                        group_id: None,
                        prefix_list_id: None,
                        description: Some("added by hand".into()),
                    });
                }
            }
            1 => {
                if let Some(g) = pick(&mut live.security_groups, index).filter(|g| owned(&g.tags)) {
                    g.egress.clear();
                }
            }
            2 => {
                if let Some(r) = pick(&mut live.iam_roles, index) {
                    r.managed_policies.clear();
                    r.inline_policies.clear();
                    r.tags.insert("hand".into(), arg.to_string());
                }
            }
            3 => {
                // The scheduler or managed scaling sizes a fleet.
                if let Some(c) = pick(&mut live.emr_clusters, index) {
                    for fleet in c.fleets.iter_mut().filter(|f| f.role != converge_model::FleetRole::Master) {
                        fleet.target_spot = i64::from(arg) * 4;
                        fleet.target_on_demand = i64::from(arg % 7);
                    }
                }
            }
            4 => {
                // The cluster broke: the next apply rebuilds it.
                if let Some(c) = pick(&mut live.emr_clusters, index) {
                    c.state = converge_model::live::ClusterState::TerminatedWithErrors;
                }
            }
            5 => {
                if let Some(d) = pick(&mut live.sagemaker_domains, index) {
                    let user = live.sagemaker_users.iter().find(|u| u.domain_id == d.id).map(|u| u.name.clone());
                    d.apps.push(LiveApp {
                        user_profile: user.clone(),
                        space: None,
                        app_type: "JupyterServer".into(),
                        name: format!("default-{arg}"),
                        status: SagemakerStatus::InService,
                    });
                    // A private space of the user (or a shared one) with JupyterLab running in it.
                    let space = format!("space-{arg}");
                    d.spaces.push(LiveSpace {
                        name: space.clone(),
                        owner: user.filter(|_| arg % 2 == 0),
                        status: SagemakerStatus::InService,
                    });
                    d.apps.push(LiveApp {
                        user_profile: None,
                        space: Some(space),
                        app_type: "JupyterLab".into(),
                        name: "default".into(),
                        status: SagemakerStatus::InService,
                    });
                }
            }
            6 => {
                if let Some(p) = pick(&mut live.catalog_products, index) {
                    p.launch_constraints.clear();
                    p.tags.remove("team");
                }
            }
            7 => {
                if let Some(p) = pick(&mut live.catalog_portfolios, index) {
                    p.principal_arns.clear();
                    p.display_name.push_str(" (edited)");
                }
            }
            8 => {
                if let Some(u) = pick(&mut live.sagemaker_users, index) {
                    u.security_group_ids.clear();
                    u.execution_role = None;
                }
            }
            9 => {
                if let Some(s) = pick(&mut live.subnets, index) {
                    s.tags.insert("Name".into(), format!("hand-{arg}"));
                }
            }
            _ => {
                // An orphan: a group this stack once created for an address the spec no longer has.
                let id = format!("sg-0ffffffffffff{:04x}", u16::from(arg));
                if !live.security_groups.iter().any(|g| g.id == id) {
                    live.security_groups.push(converge_model::live::LiveSecurityGroup {
                        id,
                        name: format!("leftover-{arg}"),
                        description: "left behind".into(),
                        vpc_id: VPC.into(),
                        ingress: Vec::new(),
                        egress: Vec::new(),
                        tags: [
                            (OWNER_STACK_TAG.to_owned(), "prop".to_owned()),
                            (OWNER_ADDRESS_TAG.to_owned(), format!("security_group.gone{arg}")),
                        ]
                        .into_iter()
                        .collect(),
                    });
                }
            }
        }
    }
}

fn pick<T>(items: &mut [T], index: usize) -> Option<&mut T> {
    let len = items.len();
    if len == 0 { None } else { items.get_mut(index % len) }
}

fn owned(tags: &converge_model::Tags) -> bool {
    tags.get(OWNER_STACK_TAG).is_some_and(|s| s == "prop")
}
