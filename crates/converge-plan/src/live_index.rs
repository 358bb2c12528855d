//! Live resources by owner: which spec address each one belongs to.

use std::collections::{BTreeMap, BTreeSet};

use converge_model::live::{
    LiveCatalogPortfolio, LiveCatalogProduct, LiveEmrCluster, LiveIamRole, LiveSagemakerDomain, LiveSagemakerUser,
    LiveSecurityGroup, LiveSubnet, OWNER_ADDRESS_TAG, OWNER_STACK_TAG, REPLACES_TAG,
};
use converge_model::{Address, Kind, LiveState, Tags};

/// One live resource of any kind.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LiveItem<'a> {
    Subnet(&'a LiveSubnet),
    SecurityGroup(&'a LiveSecurityGroup),
    IamRole(&'a LiveIamRole),
    Domain(&'a LiveSagemakerDomain),
    User(&'a LiveSagemakerUser),
    Portfolio(&'a LiveCatalogPortfolio),
    Product(&'a LiveCatalogProduct),
    Emr(&'a LiveEmrCluster),
}

impl LiveItem<'_> {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            LiveItem::Subnet(_) => Kind::Subnet,
            LiveItem::SecurityGroup(_) => Kind::SecurityGroup,
            LiveItem::IamRole(_) => Kind::IamRole,
            LiveItem::Domain(_) => Kind::SagemakerDomain,
            LiveItem::User(_) => Kind::SagemakerUser,
            LiveItem::Portfolio(_) => Kind::CatalogPortfolio,
            LiveItem::Product(_) => Kind::CatalogProduct,
            LiveItem::Emr(_) => Kind::EmrCluster,
        }
    }

    /// The AWS id (a role's name; `domain/name` for a user profile).
    pub(crate) fn id(&self) -> String {
        match self {
            LiveItem::Subnet(x) => x.id.clone(),
            LiveItem::SecurityGroup(x) => x.id.clone(),
            LiveItem::IamRole(x) => x.name.clone(),
            LiveItem::Domain(x) => x.id.clone(),
            LiveItem::User(x) => format!("{}/{}", x.domain_id, x.name),
            LiveItem::Portfolio(x) => x.id.clone(),
            LiveItem::Product(x) => x.id.clone(),
            LiveItem::Emr(x) => x.id.clone(),
        }
    }

    pub(crate) fn tags(&self) -> &Tags {
        match self {
            LiveItem::Subnet(x) => &x.tags,
            LiveItem::SecurityGroup(x) => &x.tags,
            LiveItem::IamRole(x) => &x.tags,
            LiveItem::Domain(x) => &x.tags,
            LiveItem::User(x) => &x.tags,
            LiveItem::Portfolio(x) => &x.tags,
            LiveItem::Product(x) => &x.tags,
            LiveItem::Emr(x) => &x.tags,
        }
    }

    pub(crate) fn owner_stack(&self) -> Option<String> {
        self.tags().get(OWNER_STACK_TAG).cloned()
    }

    /// The name a spec resource claims it by, and where that name counts: the
    /// unique AWS name of the kinds that have one, and for the others what
    /// adoption finds them by (`desired::aws_name`).
    fn unique_name(&self) -> Option<(String, String)> {
        match self {
            LiveItem::IamRole(x) => Some((x.name.clone(), String::new())),
            LiveItem::SecurityGroup(x) => Some((x.name.clone(), x.vpc_id.clone())),
            LiveItem::Domain(x) => Some((x.name.clone(), String::new())),
            LiveItem::User(x) => Some((x.name.clone(), x.domain_id.clone())),
            LiveItem::Subnet(x) => Some((crate::normalize::cidr(&x.cidr), x.vpc_id.clone())),
            LiveItem::Portfolio(x) => Some((x.display_name.clone(), String::new())),
            LiveItem::Product(x) => Some((x.name.clone(), String::new())),
            LiveItem::Emr(x) => Some((x.name.clone(), String::new())),
        }
    }

    fn matches_name(&self, kind: Kind, name: &str, scope: &str) -> bool {
        let case_insensitive = matches!(kind, Kind::IamRole | Kind::SecurityGroup | Kind::SagemakerUser);
        self.kind() == kind
            && self.unique_name().is_some_and(|(n, s)| {
                s == scope && if case_insensitive { n.eq_ignore_ascii_case(name) } else { n == name }
            })
    }

    /// Every id this resource is known by (a role: its name and its ARN).
    pub(crate) fn aliases(&self) -> Vec<String> {
        match self {
            LiveItem::IamRole(role) => vec![role.name.clone(), role.arn.clone()],
            other => vec![other.id()],
        }
    }

    /// The ids of the resources this one uses in AWS: they must outlive it
    /// (EMR needs its service role even to terminate).
    pub(crate) fn uses(&self) -> Vec<String> {
        match self {
            LiveItem::Emr(c) => c
                .subnet_ids
                .iter()
                .chain(&c.master_security_group)
                .chain(&c.core_security_group)
                .chain(&c.service_access_security_group)
                .chain(&c.additional_master_security_groups)
                .chain(&c.additional_core_security_groups)
                .chain([&c.service_role, &c.instance_profile])
                .cloned()
                .collect(),
            LiveItem::Domain(d) => {
                d.subnet_ids.iter().chain(&d.security_group_ids).chain([&d.execution_role]).cloned().collect()
            }
            LiveItem::User(u) => {
                std::iter::once(&u.domain_id).chain(&u.security_group_ids).chain(&u.execution_role).cloned().collect()
            }
            LiveItem::Portfolio(p) => p.principal_arns.clone(),
            LiveItem::SecurityGroup(g) => {
                g.ingress.iter().chain(&g.egress).filter_map(|r| r.group_id.clone()).filter(|id| *id != g.id).collect()
            }
            LiveItem::Product(p) => {
                p.portfolio_ids.iter().cloned().chain(p.launch_constraints.iter().map(|c| c.role_arn.clone())).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// Live resources split into owned by this stack (by address) and the rest.
pub(crate) struct LiveIndex<'a> {
    owned: BTreeMap<Address, Vec<LiveItem<'a>>>,
    foreign: Vec<LiveItem<'a>>,
    in_spec: BTreeSet<Address>,
}

impl<'a> LiveIndex<'a> {
    pub(crate) fn new(live: &'a LiveState, stack: &str, in_spec: BTreeSet<Address>) -> Self {
        let mut items: Vec<LiveItem<'a>> = Vec::new();
        items.extend(live.subnets.iter().map(LiveItem::Subnet));
        items.extend(live.security_groups.iter().map(LiveItem::SecurityGroup));
        items.extend(live.iam_roles.iter().map(LiveItem::IamRole));
        items.extend(live.sagemaker_domains.iter().filter(|d| !d.status.is_gone()).map(LiveItem::Domain));
        items.extend(live.sagemaker_users.iter().filter(|u| !u.status.is_gone()).map(LiveItem::User));
        items.extend(live.catalog_portfolios.iter().map(LiveItem::Portfolio));
        items.extend(live.catalog_products.iter().map(LiveItem::Product));
        items.extend(live.emr_clusters.iter().filter(|c| !c.is_terminated()).map(LiveItem::Emr));
        items.sort_by_key(|item| (item.kind(), item.id()));
        let mut owned: BTreeMap<Address, Vec<LiveItem<'a>>> = BTreeMap::new();
        let mut foreign = Vec::new();
        for item in items {
            if item.owner_stack().as_deref() == Some(stack) {
                let address = item
                    .tags()
                    .get(OWNER_ADDRESS_TAG)
                    .and_then(|text| text.split_once('.'))
                    .and_then(|(kind, name)| {
                        Kind::from_key(kind).filter(|k| *k == item.kind()).map(|k| Address::new(k, name))
                    })
                    .unwrap_or_else(|| Address::new(item.kind(), format!("untagged-{}", item.id())));
                owned.entry(address).or_default().push(item);
            } else {
                foreign.push(item);
            }
        }
        LiveIndex { owned, foreign, in_spec }
    }

    /// The live resource owned under `address`. If several claim it (an
    /// interrupted replacement), the newest: the one no other claimant's
    /// `converge:replaces` tag names, else the first by id.
    pub(crate) fn take_owned(&mut self, address: &Address) -> Option<LiveItem<'a>> {
        let items = self.owned.get_mut(address)?;
        let replaced: BTreeSet<&str> =
            items.iter().filter_map(|i| i.tags().get(REPLACES_TAG)).map(String::as_str).collect();
        let position = items.iter().position(|i| !replaced.contains(i.id().as_str())).or(if items.is_empty() {
            None
        } else {
            Some(0)
        })?;
        Some(items.remove(position))
    }

    /// An owned resource whose address left the spec but whose name a spec resource now wants (a rename).
    pub(crate) fn take_orphan_named(&mut self, kind: Kind, name: &str, scope: &str) -> Option<(Address, LiveItem<'a>)> {
        let in_spec = &self.in_spec;
        let (address, position) = self.owned.iter().filter(|(a, _)| !in_spec.contains(*a)).find_map(|(a, items)| {
            items.iter().position(|item| item.matches_name(kind, name, scope)).map(|p| (a.clone(), p))
        })?;
        let item = self.owned.get_mut(&address)?.remove(position);
        Some((address, item))
    }

    /// The resources not owned by this stack that already carry the name
    /// (several only for kinds whose names AWS does not keep unique).
    pub(crate) fn foreign_named(&self, kind: Kind, name: &str, scope: &str) -> Vec<LiveItem<'a>> {
        self.foreign.iter().filter(|item| item.matches_name(kind, name, scope)).copied().collect()
    }

    pub(crate) fn forget_foreign(&mut self, item: &LiveItem<'a>) {
        let id = item.id();
        self.foreign.retain(|other| !(other.kind() == item.kind() && other.id() == id));
    }

    /// Every owned resource not matched to the spec: gone from the spec, or a second claim on an address.
    pub(crate) fn orphans(self) -> Vec<(Address, LiveItem<'a>)> {
        self.owned
            .into_iter()
            .flat_map(|(address, items)| items.into_iter().map(move |item| (address.clone(), item)))
            .collect()
    }
}
