//! What `converge output` shows: for each resource of a spec, the live ids and
//! endpoints other tools need (the cluster id a notebook connects to, the
//! Studio URL, the product id a launch names), found the way the planner
//! finds them, by the stack's ownership tags. Nothing here calls AWS.

use converge_model::{Address, Kind, LiveState, Spec};

use crate::live_index::{LiveIndex, LiveItem};

/// One resource of the spec and what AWS says of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceOutput {
    pub address: Address,
    /// `None` when AWS holds no live resource of the stack under this address
    /// (not applied yet, deleted behind converge's back, or a terminated cluster).
    pub values: Option<Vec<(&'static str, String)>>,
}

/// The outputs of every resource of `spec`, in the spec's order; of `only` alone when given.
pub fn outputs(spec: &Spec, live: &LiveState, only: Option<&Address>) -> Vec<ResourceOutput> {
    let addresses = spec.addresses();
    let mut index = LiveIndex::new(live, &spec.stack.name, addresses.iter().cloned().collect());
    addresses
        .into_iter()
        .filter(|address| only.is_none_or(|only| only == address))
        .map(|address| {
            let values = if address.kind == Kind::Vpc {
                // Read, never owned: its id is the spec's.
                spec.vpcs.get(&address.name).map(|vpc| vec![("id", vpc.id.clone())])
            } else {
                index.take_owned(&address).map(values)
            };
            ResourceOutput { address, values }
        })
        .collect()
}

fn values(item: LiveItem<'_>) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut put = |key: &'static str, value: Option<&str>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            out.push((key, value.to_owned()));
        }
    };
    match item {
        LiveItem::Subnet(s) => {
            put("id", Some(&s.id));
            put("cidr", Some(&s.cidr));
            put("availability_zone", Some(&s.availability_zone));
        }
        LiveItem::SecurityGroup(g) => {
            put("id", Some(&g.id));
            put("name", Some(&g.name));
        }
        LiveItem::IamRole(r) => {
            put("name", Some(&r.name));
            put("arn", Some(&r.arn));
        }
        LiveItem::Domain(d) => {
            put("id", Some(&d.id));
            put("url", d.url.as_deref());
            put("status", Some(d.status.aws()));
            put("home_efs_id", d.home_efs_id.as_deref());
        }
        LiveItem::User(u) => {
            put("name", Some(&u.name));
            put("domain_id", Some(&u.domain_id));
            put("status", Some(u.status.aws()));
        }
        LiveItem::Portfolio(p) => {
            put("id", Some(&p.id));
        }
        LiveItem::Product(p) => {
            put("id", Some(&p.id));
            put("portfolio_ids", Some(&p.portfolio_ids.join(",")));
        }
        LiveItem::Emr(c) => {
            put("id", Some(&c.id));
            put("state", Some(c.state.aws()));
            put("master_dns", c.master_dns.as_deref());
        }
    }
    out
}
