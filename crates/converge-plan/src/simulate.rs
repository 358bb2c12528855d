//! The live state a successful apply of a spec leaves behind, written the way
//! AWS reports it (`-1` protocols, upper-case strategies, one EBS entry per
//! volume, URL-encoded policies, the default egress rule). Planning a spec
//! against it must give an empty plan: that is the planner's quietness
//! property, and the apply engine's tests start from it.

use std::collections::BTreeMap;

use converge_model::live::{
    LiveBootstrap, LiveCatalogPortfolio, LiveCatalogProduct, LiveConfiguration, LiveEbsVolume, LiveEmrCluster,
    LiveFleet, LiveIamRole, LiveInstanceType, LiveProductVersion, LiveRule, LiveSagemakerDomain, LiveSagemakerUser,
    LiveScaling, LiveSecurityGroup, LiveSharing, LiveSubnet, LiveVpc,
};
use converge_model::{
    Address, Configuration, InstanceFleet, Kind, LiveState, Ports, Protocol, Ref, RefTarget, SELF_PEER,
    STUDIO_VISIBILITY_TAG, SharingSettings, Spec, Tags,
};

use crate::attrs::{self, Resolver};
use crate::plan::ownership_tags;

/// A stable fake id for a spec resource (`sg-0f3a…`), the same on every run.
pub fn fake_id(address: &Address) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in address.to_string().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let prefix = match address.kind {
        Kind::Vpc => "vpc",
        Kind::Subnet => "subnet",
        Kind::SecurityGroup => "sg",
        Kind::IamRole => "role",
        Kind::SagemakerDomain => "d",
        Kind::SagemakerUser => "user",
        Kind::CatalogPortfolio => "port",
        Kind::CatalogProduct => "prod",
        Kind::EmrCluster => "j",
    };
    match address.kind {
        Kind::EmrCluster => format!("j-{}", format!("{hash:013X}").chars().take(13).collect::<String>()),
        Kind::SagemakerDomain | Kind::CatalogPortfolio | Kind::CatalogProduct => {
            format!("{prefix}-{:012x}", hash & 0xffff_ffff_ffff)
        }
        _ => format!("{prefix}-{hash:017x}").chars().take(prefix.len() + 18).collect(),
    }
}

struct Ids<'a> {
    spec: &'a Spec,
}

impl Ids<'_> {
    fn of(&self, reference: &Ref, kind: Kind) -> String {
        match reference.target(kind) {
            RefTarget::Spec(address) if kind == Kind::Vpc => {
                self.spec.vpcs.get(&address.name).map_or_else(|| fake_id(&address), |v| v.id.clone())
            }
            RefTarget::Spec(address) => fake_id(&address),
            _ => reference.as_str().to_owned(),
        }
    }
}

fn tags(spec: &Spec, address: &Address, own: &Tags) -> Tags {
    let mut all = spec.stack.tags.clone();
    all.extend(own.clone());
    let protect = spec.lifecycle(address).is_some_and(|l| l.prevent_destroy);
    all.extend(ownership_tags(&spec.stack.name, address, protect));
    all
}

/// Percent-encodes like IAM does in `GetRole` and `GetRolePolicy` responses.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'*' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn aws_rule(
    protocol: Protocol,
    ports: Option<&Ports>,
    cidr: Option<&String>,
    group: Option<String>,
    description: Option<&String>,
) -> LiveRule {
    let (protocol, from, to) = match protocol {
        Protocol::All => ("-1".to_owned(), None, None),
        Protocol::Icmp => ("icmp".to_owned(), Some(-1), Some(-1)),
        Protocol::Tcp | Protocol::Udp => {
            let (from, to) = ports.and_then(Ports::range).unwrap_or((0, 65535));
            (format!("{protocol:?}").to_ascii_lowercase(), Some(from), Some(to))
        }
    };
    LiveRule {
        protocol,
        from_port: from,
        to_port: to,
        cidr: cidr.cloned(),
        group_id: group,
        description: description.cloned(),
    }
}

fn sharing(s: Option<&SharingSettings>) -> Option<LiveSharing> {
    s.map(|s| LiveSharing {
        notebook_output: format!("{:?}", s.notebook_output),
        s3_output_path: s.s3_output_path.clone(),
        s3_kms_key: s.s3_kms_key.clone(),
    })
}

/// How the EMR API spells an allocation strategy or timeout action: `PRICE_CAPACITY_OPTIMIZED`.
fn upper_snake(value: impl std::fmt::Debug) -> String {
    crate::normalize::kebab_of(value).replace('-', "_").to_ascii_uppercase()
}

fn fleet(cluster_address: &Address, role: &str, fleet: &InstanceFleet) -> LiveFleet {
    let id = fake_id(&Address::new(Kind::EmrCluster, format!("{}-{role}", cluster_address.name)));
    LiveFleet {
        id: format!("if-{}", &id[2..]),
        fleet_type: role.to_ascii_uppercase(),
        name: fleet.name.clone(),
        instance_types: fleet
            .instance_types
            .iter()
            .map(|t| LiveInstanceType {
                instance_type: t.instance_type.clone(),
                weight: t.weight,
                bid_percent: Some(t.bid_percent.unwrap_or(100.0)),
                ebs: t
                    .ebs
                    .iter()
                    .flat_map(|v| {
                        std::iter::repeat_n(
                            LiveEbsVolume {
                                volume_type: v.volume_type.clone(),
                                size: v.size,
                                iops: v.iops,
                                throughput: v.throughput,
                            },
                            usize::try_from(v.count.clamp(0, 64)).unwrap_or(0),
                        )
                    })
                    .collect(),
                ebs_optimized: t.ebs_optimized,
            })
            .collect(),
        target_on_demand: if role == "master" { i64::from(fleet.on_demand > 0) } else { fleet.on_demand },
        target_spot: if role == "master" { i64::from(fleet.on_demand == 0) } else { fleet.spot },
        provisioned_on_demand: fleet.on_demand,
        provisioned_spot: fleet.spot,
        spot_timeout_minutes: fleet.spot_timeout_minutes,
        spot_timeout_action: fleet.spot_timeout_action.map(upper_snake),
        spot_allocation: fleet.spot_allocation.map(upper_snake),
        on_demand_allocation: Some(fleet.on_demand_allocation.map_or_else(|| "LOWEST_PRICE".to_owned(), upper_snake)),
    }
}

fn configurations(items: &[Configuration]) -> Vec<LiveConfiguration> {
    items
        .iter()
        .map(|c| LiveConfiguration {
            classification: c.classification.clone(),
            properties: c.properties.clone(),
            configurations: configurations(&c.configurations),
        })
        .collect()
}

/// The live state after a successful apply of `spec` to an empty account.
pub fn live_after_apply(spec: &Spec) -> LiveState {
    let ids = Ids { spec };
    let resolver = Resolver { spec, account: &spec.stack.account, ids: BTreeMap::new() };
    let mut live = LiveState {
        version: converge_model::live::LIVE_STATE_VERSION,
        account: spec.stack.account.clone(),
        region: spec.stack.region.clone(),
        ..LiveState::default()
    };
    live.vpcs = spec.vpcs.values().map(|v| LiveVpc { id: v.id.clone(), cidrs: v.cidrs.clone() }).collect();
    for (name, s) in &spec.subnets {
        let address = Address::new(Kind::Subnet, name.clone());
        live.subnets.push(LiveSubnet {
            id: fake_id(&address),
            vpc_id: ids.of(&s.vpc, Kind::Vpc),
            cidr: s.cidr.clone(),
            availability_zone: s.availability_zone.clone(),
            tags: tags(spec, &address, &s.tags),
        });
    }
    for (name, g) in &spec.security_groups {
        let address = Address::new(Kind::SecurityGroup, name.clone());
        let own = fake_id(&address);
        let peer = |r: Option<&Ref>| {
            r.map(|r| if r.as_str() == SELF_PEER { own.clone() } else { ids.of(r, Kind::SecurityGroup) })
        };
        live.security_groups.push(LiveSecurityGroup {
            id: own.clone(),
            name: attrs::security_group_name(spec, name, g),
            description: g.description.clone(),
            vpc_id: ids.of(&g.vpc, Kind::Vpc),
            ingress: g
                .ingress
                .iter()
                .map(|r| {
                    aws_rule(
                        r.protocol,
                        r.ports.as_ref(),
                        r.cidr.as_ref(),
                        peer(r.source.as_ref()),
                        r.description.as_ref(),
                    )
                })
                .collect(),
            egress: match &g.egress {
                None => vec![LiveRule {
                    protocol: "-1".into(),
                    from_port: None,
                    to_port: None,
                    cidr: Some("0.0.0.0/0".into()),
                    group_id: None,
                    description: None,
                }],
                Some(rules) => rules
                    .iter()
                    .map(|r| {
                        aws_rule(
                            r.protocol,
                            r.ports.as_ref(),
                            r.cidr.as_ref(),
                            peer(r.destination.as_ref()),
                            r.description.as_ref(),
                        )
                    })
                    .collect(),
            },
            tags: tags(spec, &address, &g.tags),
        });
    }
    for (name, role) in &spec.iam_roles {
        let address = Address::new(Kind::IamRole, name.clone());
        live.iam_roles.push(LiveIamRole {
            name: role.name.clone().unwrap_or_else(|| name.clone()),
            arn: attrs::role_arn(&spec.stack.account, role, name),
            path: role.path.clone(),
            description: role.description.clone(),
            assume_role_policy: url_encode(&attrs::trust_policy(&resolver, role).to_string()),
            managed_policies: role.managed_policies.clone(),
            inline_policies: role.inline_policies.iter().map(|(k, d)| (k.clone(), url_encode(&d.text))).collect(),
            instance_profile: role.instance_profile,
            max_session_duration: role.max_session_duration,
            tags: tags(spec, &address, &role.tags),
        });
    }
    for (name, d) in &spec.sagemaker_domains {
        let address = Address::new(Kind::SagemakerDomain, name.clone());
        live.sagemaker_domains.push(LiveSagemakerDomain {
            id: fake_id(&address),
            name: d.name.clone(),
            status: "InService".into(),
            auth_mode: format!("{:?}", d.auth_mode).to_ascii_uppercase(),
            network_access: format!("{:?}", d.network_access),
            vpc_id: ids.of(&d.vpc, Kind::Vpc),
            subnet_ids: d.subnets.iter().map(|s| ids.of(s, Kind::Subnet)).collect(),
            execution_role: value_text(resolver.role_arn(&d.execution_role)),
            security_group_ids: d.security_groups.iter().map(|g| ids.of(g, Kind::SecurityGroup)).collect(),
            kms_key: d.kms_key.clone(),
            sharing: sharing(d.sharing.as_ref()),
            tags: tags(spec, &address, &d.tags),
        });
    }
    for (name, u) in &spec.sagemaker_users {
        let address = Address::new(Kind::SagemakerUser, name.clone());
        live.sagemaker_users.push(LiveSagemakerUser {
            domain_id: ids.of(&u.domain, Kind::SagemakerDomain),
            name: u.name.clone().unwrap_or_else(|| name.clone()),
            status: "InService".into(),
            execution_role: u.execution_role.as_ref().map(|r| value_text(resolver.role_arn(r))),
            security_group_ids: u.security_groups.iter().map(|g| ids.of(g, Kind::SecurityGroup)).collect(),
            sharing: sharing(u.sharing.as_ref()),
            tags: tags(spec, &address, &u.tags),
        });
    }
    for (name, p) in &spec.catalog_portfolios {
        let address = Address::new(Kind::CatalogPortfolio, name.clone());
        live.catalog_portfolios.push(LiveCatalogPortfolio {
            id: fake_id(&address),
            display_name: p.display_name.clone(),
            provider: p.provider.clone(),
            description: p.description.clone(),
            principal_arns: p.principals.iter().map(|r| value_text(resolver.role_arn(r))).collect(),
            tags: tags(spec, &address, &p.tags),
        });
    }
    for (name, p) in &spec.catalog_products {
        let address = Address::new(Kind::CatalogProduct, name.clone());
        let mut own_tags = p.tags.clone();
        if p.studio_visible {
            own_tags.insert(STUDIO_VISIBILITY_TAG.to_owned(), "true".to_owned());
        }
        live.catalog_products.push(LiveCatalogProduct {
            id: fake_id(&address),
            name: p.name.clone(),
            owner: p.owner.clone(),
            description: p.description.clone(),
            distributor: p.distributor.clone(),
            support_email: p.support_email.clone(),
            portfolio_ids: vec![ids.of(&p.portfolio, Kind::CatalogPortfolio)],
            versions: vec![LiveProductVersion {
                id: format!("pa-{}", &fake_id(&address)[5..]),
                name: attrs::template_version(&p.template.text),
                description: p.version_description.clone(),
                active: true,
                template: Some(p.template.text.clone()),
            }],
            launch_role: p.launch_role.as_ref().map(|r| value_text(resolver.role_arn(r))),
            tags: tags(spec, &address, &own_tags),
        });
    }
    for (name, c) in &spec.emr_clusters {
        let address = Address::new(Kind::EmrCluster, name.clone());
        let role_name = |r: &Ref| match r.target(Kind::IamRole) {
            RefTarget::Spec(a) => spec.iam_roles.get(&a.name).and_then(|role| role.name.clone()).unwrap_or(a.name),
            _ => r.as_str().rsplit('/').next().unwrap_or_default().to_owned(),
        };
        let group = |g: &Option<Ref>| g.as_ref().map(|g| ids.of(g, Kind::SecurityGroup));
        live.emr_clusters.push(LiveEmrCluster {
            id: fake_id(&address),
            name: c.name.clone(),
            state: "WAITING".into(),
            release: c.release.clone(),
            applications: c.applications.clone(),
            subnet_ids: c.subnets.iter().map(|s| ids.of(s, Kind::Subnet)).collect(),
            service_role: role_name(&c.service_role),
            instance_profile: role_name(&c.instance_profile),
            master_security_group: group(&c.master_security_group),
            core_security_group: group(&c.core_security_group),
            service_access_security_group: group(&c.service_access_security_group),
            additional_master_security_groups: c
                .additional_master_security_groups
                .iter()
                .map(|g| ids.of(g, Kind::SecurityGroup))
                .collect(),
            additional_core_security_groups: c
                .additional_core_security_groups
                .iter()
                .map(|g| ids.of(g, Kind::SecurityGroup))
                .collect(),
            log_uri: c.log_uri.clone(),
            key_name: c.key_name.clone(),
            bootstrap: c
                .bootstrap
                .iter()
                .map(|b| LiveBootstrap { name: b.name.clone(), path: b.path.clone(), args: b.args.clone() })
                .collect(),
            configurations: configurations(&c.configurations),
            ebs_root_volume_size: c.ebs_root_volume_size,
            termination_protection: c.termination_protection,
            auto_termination_idle_seconds: c.auto_termination_idle_seconds,
            step_concurrency: c.step_concurrency,
            visible_to_all_users: c.visible_to_all_users,
            fleets: c.fleets().map(|(role, f)| fleet(&address, role, f)).collect(),
            scaling: c.scaling.as_ref().map(|s| LiveScaling {
                unit: format!("{:?}", s.unit).replace("Vcpu", "VCPU"),
                min: s.min,
                max: s.max,
                max_on_demand: s.max_on_demand,
                max_core: s.max_core,
            }),
            tags: tags(spec, &address, &c.tags),
        });
    }
    live
}

fn value_text(value: crate::Value) -> String {
    match value {
        crate::Value::Str(text) => text,
        other => other.to_string(),
    }
}
