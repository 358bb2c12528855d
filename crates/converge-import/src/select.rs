//! What to import: the resources asked for, and everything they use, followed
//! outward until only resources converge must merely read are left (the VPC).

use std::collections::BTreeSet;

use converge_model::LiveState;
use converge_model::live::{LiveIamRole, OWNER_STACK_TAG};

use crate::{ImportError, Request, Unexpressed};

/// The AWS ids of the chosen resources, per kind (a role by name, a user
/// profile by domain and name).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    pub(crate) vpcs: BTreeSet<String>,
    pub(crate) subnets: BTreeSet<String>,
    pub(crate) groups: BTreeSet<String>,
    pub(crate) roles: BTreeSet<String>,
    pub(crate) domains: BTreeSet<String>,
    pub(crate) users: BTreeSet<(String, String)>,
    pub(crate) portfolios: BTreeSet<String>,
    pub(crate) products: BTreeSet<String>,
    pub(crate) clusters: BTreeSet<String>,
}

impl Selection {
    fn len(&self) -> usize {
        self.vpcs.len()
            + self.subnets.len()
            + self.groups.len()
            + self.roles.len()
            + self.domains.len()
            + self.users.len()
            + self.portfolios.len()
            + self.products.len()
            + self.clusters.len()
    }
}

/// The last part of an ARN or a name: `arn:aws:iam::1:role/path/x` → `x`.
pub(crate) fn last_segment(text: &str) -> &str {
    text.rsplit('/').next().unwrap_or(text)
}

/// The role an ARN, a name or an instance profile name stands for.
pub(crate) fn role<'a>(live: &'a LiveState, text: &str) -> Option<&'a LiveIamRole> {
    live.iam_roles.iter().find(|r| r.arn == text || r.name == text).or_else(|| {
        let name = last_segment(text);
        live.iam_roles.iter().find(|r| r.name == name && (text.contains(":role/") || r.instance_profile))
    })
}

/// What the request asks for, then everything that uses or is used by it.
pub(crate) fn select(
    live: &LiveState,
    request: &Request,
    left_out: &mut Vec<Unexpressed>,
) -> Result<Selection, ImportError> {
    let mut chosen = Selection::default();
    let in_vpc = |vpc: &str| request.vpc_ids.is_empty() || request.vpc_ids.iter().any(|v| v == vpc);
    let explicit = !request.emr_clusters.is_empty() || !request.domains.is_empty() || !request.portfolios.is_empty();
    let filtered = !request.tags.is_empty() || request.name_prefix.is_some();
    let matches = |name: &str, tags: &converge_model::Tags| {
        request.tags.iter().all(|(k, v)| tags.get(k) == Some(v))
            && request.name_prefix.as_ref().is_none_or(|prefix| name.starts_with(prefix.as_str()))
    };

    for id in &request.emr_clusters {
        let Some(cluster) = live.emr_clusters.iter().find(|c| &c.id == id && !c.is_terminated()) else {
            return Err(ImportError::NotFound { kind: "EMR cluster", id: id.clone(), region: live.region.clone() });
        };
        chosen.clusters.insert(cluster.id.clone());
    }
    for id in &request.domains {
        let Some(domain) = live.sagemaker_domains.iter().find(|d| &d.id == id && !d.status.is_gone()) else {
            return Err(ImportError::NotFound {
                kind: "SageMaker domain",
                id: id.clone(),
                region: live.region.clone(),
            });
        };
        chosen.domains.insert(domain.id.clone());
    }
    for id in &request.portfolios {
        let Some(portfolio) = live.catalog_portfolios.iter().find(|p| &p.id == id) else {
            return Err(ImportError::NotFound { kind: "portfolio", id: id.clone(), region: live.region.clone() });
        };
        chosen.portfolios.insert(portfolio.id.clone());
    }
    if filtered || !explicit {
        // Every resource that matches the filters (all of them, without filters) is a seed.
        let subnet_name = |tags: &converge_model::Tags| tags.get("Name").cloned().unwrap_or_default();
        for c in live.emr_clusters.iter().filter(|c| !c.is_terminated()) {
            let vpc_ok =
                c.subnet_ids.iter().all(|s| live.subnets.iter().find(|x| &x.id == s).is_none_or(|x| in_vpc(&x.vpc_id)));
            if vpc_ok && matches(&c.name, &c.tags) {
                chosen.clusters.insert(c.id.clone());
            }
        }
        for d in live.sagemaker_domains.iter().filter(|d| !d.status.is_gone()) {
            if in_vpc(&d.vpc_id) && matches(&d.name, &d.tags) {
                chosen.domains.insert(d.id.clone());
            }
        }
        // Named VPCs are imported whole: their subnets and groups too, used or not; but a public
        // subnet (one routing to an internet gateway, with the NAT gateways in it) belongs to the
        // network converge only reads, like the VPC, unless something imported runs in it.
        if filtered || !request.vpc_ids.is_empty() {
            let public = |s: &converge_model::live::LiveSubnet| {
                live.subnet_reach(&s.vpc_id, Some(&s.id)) == converge_model::live::SubnetReach::Public
            };
            for s in live.subnets.iter().filter(|s| in_vpc(&s.vpc_id) && !public(s)) {
                if matches(&subnet_name(&s.tags), &s.tags) {
                    chosen.subnets.insert(s.id.clone());
                }
            }
            for g in live.security_groups.iter().filter(|g| in_vpc(&g.vpc_id) && !managed_by_aws(&g.name)) {
                if matches(&g.name, &g.tags) {
                    chosen.groups.insert(g.id.clone());
                }
            }
        }
        if filtered {
            for r in &live.iam_roles {
                if matches(&r.name, &r.tags) && !r.path.starts_with("/aws-service-role/") {
                    chosen.roles.insert(r.name.clone());
                }
            }
            for u in live.sagemaker_users.iter().filter(|u| !u.status.is_gone()) {
                if matches(&u.name, &u.tags) {
                    chosen.users.insert((u.domain_id.clone(), u.name.clone()));
                }
            }
            for p in &live.catalog_products {
                if matches(&p.name, &p.tags) {
                    chosen.products.insert(p.id.clone());
                }
            }
        }
        for p in &live.catalog_portfolios {
            if matches(&p.display_name, &p.tags) && (filtered || request.vpc_ids.is_empty()) {
                chosen.portfolios.insert(p.id.clone());
            }
        }
    }
    // What the stack owns already belongs in its spec: left out, its first plan would delete it.
    let owned = |tags: &converge_model::Tags| tags.get(OWNER_STACK_TAG) == Some(&request.stack);
    chosen.subnets.extend(live.subnets.iter().filter(|s| owned(&s.tags)).map(|s| s.id.clone()));
    chosen.groups.extend(live.security_groups.iter().filter(|g| owned(&g.tags)).map(|g| g.id.clone()));
    chosen.roles.extend(live.iam_roles.iter().filter(|r| owned(&r.tags)).map(|r| r.name.clone()));
    chosen
        .domains
        .extend(live.sagemaker_domains.iter().filter(|d| owned(&d.tags) && !d.status.is_gone()).map(|d| d.id.clone()));
    chosen.users.extend(
        live.sagemaker_users
            .iter()
            .filter(|u| owned(&u.tags) && !u.status.is_gone())
            .map(|u| (u.domain_id.clone(), u.name.clone())),
    );
    chosen.portfolios.extend(live.catalog_portfolios.iter().filter(|p| owned(&p.tags)).map(|p| p.id.clone()));
    chosen.products.extend(live.catalog_products.iter().filter(|p| owned(&p.tags)).map(|p| p.id.clone()));
    chosen
        .clusters
        .extend(live.emr_clusters.iter().filter(|c| owned(&c.tags) && !c.is_terminated()).map(|c| c.id.clone()));
    if chosen.len() == 0 {
        return Err(ImportError::NothingFound { region: live.region.clone() });
    }

    // Follow references until nothing new comes in.
    loop {
        let before = chosen.clone();
        follow(live, &before, &mut chosen, request);
        if chosen == before {
            break;
        }
    }
    drop_foreign(live, &request.stack, &mut chosen, left_out);
    Ok(chosen)
}

/// Adds to `chosen` what the resources of `seen` use and, for portfolios and domains, hold.
fn follow(live: &LiveState, seen: &Selection, chosen: &mut Selection, request: &Request) {
    let add_role = |chosen: &mut Selection, text: &str| {
        if let Some(role) = role(live, text) {
            chosen.roles.insert(role.name.clone());
        }
    };
    let add_group = |chosen: &mut Selection, id: &str| {
        if live.security_groups.iter().any(|g| g.id == id) {
            chosen.groups.insert(id.to_owned());
        }
    };
    let add_subnet = |chosen: &mut Selection, id: &str| {
        if live.subnets.iter().any(|s| s.id == id) {
            chosen.subnets.insert(id.to_owned());
        }
    };
    for c in live.emr_clusters.iter().filter(|c| seen.clusters.contains(&c.id)) {
        c.subnet_ids.iter().for_each(|s| add_subnet(chosen, s));
        for group in c
            .master_security_group
            .iter()
            .chain(&c.core_security_group)
            .chain(&c.service_access_security_group)
            .chain(&c.additional_master_security_groups)
            .chain(&c.additional_core_security_groups)
        {
            add_group(chosen, group);
        }
        add_role(chosen, &c.service_role);
        add_role(chosen, &c.instance_profile);
    }
    for d in live.sagemaker_domains.iter().filter(|d| seen.domains.contains(&d.id)) {
        d.subnet_ids.iter().for_each(|s| add_subnet(chosen, s));
        d.security_group_ids.iter().for_each(|g| add_group(chosen, g));
        add_role(chosen, &d.execution_role);
        chosen.vpcs.insert(d.vpc_id.clone());
        for u in live.sagemaker_users.iter().filter(|u| u.domain_id == d.id && !u.status.is_gone()) {
            chosen.users.insert((u.domain_id.clone(), u.name.clone()));
        }
    }
    for u in live.sagemaker_users.iter().filter(|u| seen.users.contains(&(u.domain_id.clone(), u.name.clone()))) {
        chosen.domains.insert(u.domain_id.clone());
        u.security_group_ids.iter().for_each(|g| add_group(chosen, g));
        if let Some(role) = &u.execution_role {
            add_role(chosen, role);
        }
    }
    for p in live.catalog_portfolios.iter().filter(|p| seen.portfolios.contains(&p.id)) {
        p.principal_arns.iter().for_each(|arn| add_role(chosen, arn));
        for product in live.catalog_products.iter().filter(|x| x.portfolio_ids.contains(&p.id)) {
            chosen.products.insert(product.id.clone());
        }
    }
    for p in live.catalog_products.iter().filter(|p| seen.products.contains(&p.id)) {
        p.portfolio_ids.iter().for_each(|id| {
            chosen.portfolios.insert(id.clone());
        });
        p.launch_constraints.iter().for_each(|c| add_role(chosen, &c.role_arn));
    }
    // With a VPC but no explicit portfolio: the portfolios shared with the platform's roles belong to it.
    if request.portfolios.is_empty() && !request.vpc_ids.is_empty() {
        for p in &live.catalog_portfolios {
            if p.principal_arns.iter().any(|arn| role(live, arn).is_some_and(|r| seen.roles.contains(&r.name))) {
                chosen.portfolios.insert(p.id.clone());
            }
        }
    }
    for g in live.security_groups.iter().filter(|g| seen.groups.contains(&g.id)) {
        chosen.vpcs.insert(g.vpc_id.clone());
        for peer in g.ingress.iter().chain(&g.egress).filter_map(|r| r.group_id.as_deref()) {
            add_group(chosen, peer);
        }
    }
    for s in live.subnets.iter().filter(|s| seen.subnets.contains(&s.id)) {
        chosen.vpcs.insert(s.vpc_id.clone());
    }
    for r in live.iam_roles.iter().filter(|r| seen.roles.contains(&r.name)) {
        for principal in trusted_roles(&r.assume_role_policy) {
            if let Some(trusted) = role(live, &principal) {
                chosen.roles.insert(trusted.name.clone());
            }
        }
    }
}

/// Groups AWS makes and manages itself: a VPC's `default` group, and the NFS
/// groups SageMaker makes for a domain's home EFS (and deletes with it).
fn managed_by_aws(group_name: &str) -> bool {
    group_name == "default"
        || group_name.starts_with("security-group-for-inbound-nfs-")
        || group_name.starts_with("security-group-for-outbound-nfs-")
}

/// The statements of a policy document (one written as an object is a list of
/// one); `None` when the document is not JSON.
pub(crate) fn statements(policy: &str) -> Option<Vec<serde_json::Value>> {
    let doc = serde_json::from_str::<serde_json::Value>(&converge_plan::decode_policy(policy)).ok()?;
    Some(match &doc["Statement"] {
        serde_json::Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    })
}

/// A policy field that is a string or a list of strings, as a list.
pub(crate) fn strings(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(one) => vec![one.clone()],
        serde_json::Value::Array(many) => many.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

/// The role ARNs a trust policy names.
fn trusted_roles(policy: &str) -> Vec<String> {
    statements(policy)
        .unwrap_or_default()
        .iter()
        .flat_map(|s| strings(&s["Principal"]["AWS"]))
        .filter(|arn| arn.contains(":role/"))
        .collect()
}

/// Resources another converge stack owns are that stack's: left out, and named by id.
fn drop_foreign(live: &LiveState, stack: &str, chosen: &mut Selection, left_out: &mut Vec<Unexpressed>) {
    let mut foreign: Vec<(String, String)> = Vec::new();
    // Keeps `id` unless its tags name another converge stack.
    let mut keep = |id: &str, tags: Option<&converge_model::Tags>| match tags.and_then(|t| t.get(OWNER_STACK_TAG)) {
        Some(owner) if owner != stack => {
            foreign.push((id.to_owned(), owner.clone()));
            false
        }
        _ => true,
    };
    chosen.subnets.retain(|id| keep(id, live.subnets.iter().find(|s| &s.id == id).map(|s| &s.tags)));
    chosen.groups.retain(|id| keep(id, live.security_groups.iter().find(|g| &g.id == id).map(|g| &g.tags)));
    chosen.roles.retain(|name| keep(name, live.iam_roles.iter().find(|r| &r.name == name).map(|r| &r.tags)));
    chosen.domains.retain(|id| keep(id, live.sagemaker_domains.iter().find(|d| &d.id == id).map(|d| &d.tags)));
    let domains = chosen.domains.clone();
    chosen.users.retain(|(domain, name)| {
        let user = live.sagemaker_users.iter().find(|u| &u.domain_id == domain && &u.name == name);
        domains.contains(domain) && keep(&format!("{domain}/{name}"), user.map(|u| &u.tags))
    });
    chosen.portfolios.retain(|id| keep(id, live.catalog_portfolios.iter().find(|p| &p.id == id).map(|p| &p.tags)));
    chosen.products.retain(|id| keep(id, live.catalog_products.iter().find(|p| &p.id == id).map(|p| &p.tags)));
    chosen.clusters.retain(|id| keep(id, live.emr_clusters.iter().find(|c| &c.id == id).map(|c| &c.tags)));
    for (id, stack) in foreign {
        left_out.push(Unexpressed {
            address: None,
            what: format!("`{id}` belongs to the converge stack `{stack}`; it is referred to by its id, not imported"),
        });
    }
    // Roles AWS manages for its services cannot be managed by anyone else.
    chosen.roles.retain(|name| {
        let service_linked = live.iam_roles.iter().any(|r| &r.name == name && r.path.starts_with("/aws-service-role/"));
        if service_linked {
            left_out.push(Unexpressed {
                address: None,
                what: format!("`{name}` is a service-linked role: AWS manages it, so it is referred to by name"),
            });
        }
        !service_linked
    });
}
