//! The chosen resources as spec text: names, references by name, AWS's
//! defaults left out, documents as files.

use std::collections::{BTreeMap, BTreeSet};

use converge_model::live::{
    HOME_EFS_TAG, LiveConfiguration, LiveEmrCluster, LiveFleet, LiveRule, LiveSecurityGroup, LiveSharing,
    OWNER_ADDRESS_TAG, OWNER_STACK_TAG,
};
use converge_model::{
    Address, FleetRole, Kind, LiveState, OnDemandAllocation, STUDIO_VISIBILITY_TAG, SpotAllocation, SpotTimeoutAction,
    Tags,
};

use crate::select::{Selection, last_segment, role, statements, strings};
use crate::toml::{V, line, string};
use crate::{Imported, Request, Unexpressed};

/// One `[kind.name]` table (and its sub-tables) with the comments above it.
struct Section {
    comments: Vec<String>,
    header: String,
    entries: Vec<(String, V)>,
    children: Vec<Section>,
}

impl Section {
    fn new(header: String) -> Section {
        Section { comments: Vec::new(), header, entries: Vec::new(), children: Vec::new() }
    }

    fn set(&mut self, key: &str, value: V) {
        self.entries.push((key.to_owned(), value));
    }

    fn text(&self, out: &mut String) {
        for comment in &self.comments {
            out.push_str(&format!("# {comment}\n"));
        }
        out.push_str(&format!("[{}]\n", self.header));
        for (key, value) in &self.entries {
            out.push_str(&line(key, value));
            out.push('\n');
        }
        for child in &self.children {
            out.push('\n');
            child.text(out);
        }
    }
}

/// Spec names for AWS resources, unique per kind.
#[derive(Default)]
struct Names {
    taken: BTreeMap<Kind, BTreeSet<String>>,
}

impl Names {
    fn claim(&mut self, kind: Kind, wanted: &str) -> String {
        let taken = self.taken.entry(kind).or_default();
        let mut name = wanted.to_owned();
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{wanted}_{n}");
            n += 1;
        }
        taken.insert(name.clone());
        name
    }
}

/// True when the text may be a spec name as it is.
pub(crate) fn is_spec_name(text: &str) -> bool {
    text.len() <= 64
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A spec name from an AWS name: lower case, words joined by `_`.
fn sanitize(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_owned();
    if out.is_empty() { "imported".to_owned() } else { out }
}

/// The spec names of the chosen resources, by AWS id (a role by name, a user by `domain/name`).
#[derive(Default)]
struct Refs {
    vpcs: BTreeMap<String, String>,
    subnets: BTreeMap<String, String>,
    groups: BTreeMap<String, String>,
    roles: BTreeMap<String, String>,
    domains: BTreeMap<String, String>,
    users: BTreeMap<String, String>,
    portfolios: BTreeMap<String, String>,
    products: BTreeMap<String, String>,
    clusters: BTreeMap<String, String>,
}

struct Writer<'a> {
    live: &'a LiveState,
    stack: &'a str,
    refs: Refs,
    stack_tags: Tags,
    files: BTreeMap<String, String>,
    resources: Vec<(Address, String)>,
    left_out: Vec<Unexpressed>,
    /// What EMR keeps in the groups the clusters hand it: left out of the spec.
    emr_rules: converge_plan::EmrRules,
}

pub(crate) fn render(
    live: &LiveState,
    request: &Request,
    chosen: &Selection,
    left_out: &[Unexpressed],
    notes: &BTreeMap<Address, Vec<String>>,
) -> Imported {
    let mut w = Writer {
        live,
        stack: &request.stack,
        refs: name_all(live, request, chosen),
        stack_tags: Tags::new(),
        files: BTreeMap::new(),
        resources: Vec::new(),
        left_out: left_out.to_vec(),
        emr_rules: converge_plan::EmrRules::of_live(live),
    };
    w.stack_tags = common_tags(live, chosen);

    let mut sections: Vec<(Kind, Section)> = Vec::new();
    for vpc in live.vpcs.iter().filter(|v| chosen.vpcs.contains(&v.id)) {
        let mut s = Section::new(format!("vpc.{}", w.refs.vpcs[&vpc.id]));
        s.comments.push("Read, never changed: converge does not manage VPCs.".to_owned());
        s.set("id", V::str(&vpc.id));
        if !vpc.cidrs.is_empty() {
            s.set("cidrs", V::strs(&vpc.cidrs));
        }
        sections.push((Kind::Vpc, s));
    }
    for subnet in live.subnets.iter().filter(|s| chosen.subnets.contains(&s.id)) {
        let name = w.refs.subnets[&subnet.id].clone();
        let mut s = w.section(Kind::Subnet, &name, &subnet.id, subnet.tags.get("Name").map(String::as_str));
        s.set("vpc", V::str(w.vpc(&subnet.vpc_id)));
        s.set("cidr", V::str(&subnet.cidr));
        s.set("availability_zone", V::str(&subnet.availability_zone));
        w.tags(&mut s, &subnet.tags, &[]);
        sections.push((Kind::Subnet, s));
    }
    for group in live.security_groups.iter().filter(|g| chosen.groups.contains(&g.id)) {
        let name = w.refs.groups[&group.id].clone();
        let mut s = w.section(Kind::SecurityGroup, &name, &group.id, Some(&group.name));
        w.group(&mut s, &name, group);
        sections.push((Kind::SecurityGroup, s));
    }
    for r in live.iam_roles.iter().filter(|r| chosen.roles.contains(&r.name)) {
        let name = w.refs.roles[&r.name].clone();
        let mut s = w.section(Kind::IamRole, &name, &r.arn, None);
        if name != r.name {
            s.set("name", V::str(&r.name));
        }
        if r.path != "/" {
            s.set("path", V::str(&r.path));
        }
        if let Some(description) = &r.description {
            s.set("description", V::str(description));
        }
        let address = Address::new(Kind::IamRole, name.clone());
        let trust = w.trust(&address, &r.assume_role_policy);
        s.set("trust", V::List(trust.into_iter().map(V::Str).collect()));
        if r.instance_profile {
            s.set("instance_profile", V::Bool(true));
        }
        if !r.managed_policies.is_empty() {
            let mut policies = r.managed_policies.clone();
            policies.sort();
            s.set("managed_policies", V::strs(&policies));
        }
        if !r.inline_policies.is_empty() {
            let mut files = Vec::new();
            for (policy, document) in &r.inline_policies {
                let path = format!("policies/{}-{}.json", name, sanitize(policy));
                w.files.insert(path.clone(), pretty_json(document));
                files.push((policy.clone(), V::Str(path)));
            }
            s.set("inline_policies", V::Table(files));
        }
        if r.max_session_duration != 3600 {
            s.set("max_session_duration", V::Int(r.max_session_duration));
        }
        w.tags(&mut s, &r.tags, &[]);
        sections.push((Kind::IamRole, s));
    }
    for d in live.sagemaker_domains.iter().filter(|d| chosen.domains.contains(&d.id)) {
        let name = w.refs.domains[&d.id].clone();
        let mut s = w.section(Kind::SagemakerDomain, &name, &d.id, None);
        s.set("name", V::str(&d.name));
        s.set("auth_mode", V::str(d.auth_mode.to_ascii_uppercase()));
        if d.network_access != "PublicInternetOnly" {
            s.set("network_access", V::str(&d.network_access));
        }
        s.set("vpc", V::str(w.vpc(&d.vpc_id)));
        s.set("subnets", V::List(d.subnet_ids.iter().map(|id| V::Str(w.subnet(id))).collect()));
        s.set("execution_role", V::Str(w.role_ref(&d.execution_role)));
        if !d.security_group_ids.is_empty() {
            s.set("security_groups", V::List(d.security_group_ids.iter().map(|id| V::Str(w.group_ref(id))).collect()));
        }
        if d.tags.get(HOME_EFS_TAG).is_some_and(|v| v == "Delete") {
            s.set("home_efs_on_delete", V::str("Delete"));
        } else {
            s.comments.push(
                "SageMaker keeps the home EFS when the domain is deleted; set home_efs_on_delete = \"Delete\" to remove it too."
                    .to_owned(),
            );
        }
        if let Some(key) = &d.kms_key {
            s.set("kms_key", V::str(key));
        }
        if let Some(sharing) = &d.sharing {
            s.set("sharing", sharing_value(sharing));
        }
        w.tags(&mut s, &d.tags, &[]);
        sections.push((Kind::SagemakerDomain, s));
    }
    for u in live.sagemaker_users.iter().filter(|u| chosen.users.contains(&(u.domain_id.clone(), u.name.clone()))) {
        let key = format!("{}/{}", u.domain_id, u.name);
        let name = w.refs.users[&key].clone();
        let mut s = w.section(Kind::SagemakerUser, &name, &key, None);
        s.set("domain", V::str(w.refs.domains.get(&u.domain_id).cloned().unwrap_or_else(|| u.domain_id.clone())));
        if name != u.name {
            s.set("name", V::str(&u.name));
        }
        if let Some(role) = &u.execution_role {
            s.set("execution_role", V::Str(w.role_ref(role)));
        }
        if !u.security_group_ids.is_empty() {
            s.set("security_groups", V::List(u.security_group_ids.iter().map(|id| V::Str(w.group_ref(id))).collect()));
        }
        if let Some(sharing) = &u.sharing {
            s.set("sharing", sharing_value(sharing));
        }
        if let Some(user) = &u.sso_user_name {
            s.set("sso_user_name", V::str(user));
        }
        w.tags(&mut s, &u.tags, &[]);
        sections.push((Kind::SagemakerUser, s));
    }
    for p in live.catalog_portfolios.iter().filter(|p| chosen.portfolios.contains(&p.id)) {
        let name = w.refs.portfolios[&p.id].clone();
        let mut s = w.section(Kind::CatalogPortfolio, &name, &p.id, None);
        s.set("display_name", V::str(&p.display_name));
        s.set("provider", V::str(&p.provider));
        if let Some(description) = &p.description {
            s.set("description", V::str(description));
        }
        let mut principals = Vec::new();
        for arn in &p.principal_arns {
            match role(live, arn) {
                Some(r) if w.refs.roles.contains_key(&r.name) => principals.push(V::Str(w.refs.roles[&r.name].clone())),
                _ if arn.contains(":role/") => principals.push(V::str(arn)),
                _ => w.left_out.push(Unexpressed {
                    address: Some(Address::new(Kind::CatalogPortfolio, name.clone())),
                    what: format!("the principal `{arn}` is not a role; converge shares portfolios with roles only"),
                }),
            }
        }
        if !principals.is_empty() {
            s.set("principals", V::List(principals));
        }
        w.tags(&mut s, &p.tags, &[]);
        sections.push((Kind::CatalogPortfolio, s));
    }
    for p in live.catalog_products.iter().filter(|p| chosen.products.contains(&p.id)) {
        let name = w.refs.products[&p.id].clone();
        let address = Address::new(Kind::CatalogProduct, name.clone());
        let version = p.current_version();
        let (Some(text), Some(bucket)) = (
            version.and_then(|v| v.template.as_ref()),
            version
                .and_then(|v| v.template_url.as_deref())
                .and_then(converge_model::live::s3_object)
                .map(|(bucket, _)| bucket),
        ) else {
            w.left_out.push(Unexpressed {
                address: None,
                what: format!(
                    "the product `{}` ({}) is not imported: its current version's template could not be read from S3",
                    p.name, p.id
                ),
            });
            continue;
        };
        let mut s = w.section(Kind::CatalogProduct, &name, &p.id, None);
        let portfolios: Vec<&String> =
            p.portfolio_ids.iter().filter(|id| w.refs.portfolios.contains_key(*id)).collect();
        match portfolios.as_slice() {
            [] => s.set("portfolio", V::str(p.portfolio_ids.first().cloned().unwrap_or_default())),
            [one, rest @ ..] => {
                s.set("portfolio", V::str(&w.refs.portfolios[*one]));
                if !rest.is_empty() {
                    w.left_out.push(Unexpressed {
                        address: Some(address.clone()),
                        what: "it is in several portfolios; a spec product belongs to one".to_owned(),
                    });
                }
            }
        }
        s.set("name", V::str(&p.name));
        s.set("owner", V::str(&p.owner));
        for (key, value) in
            [("description", &p.description), ("distributor", &p.distributor), ("support_email", &p.support_email)]
        {
            if let Some(value) = value {
                s.set(key, V::str(value));
            }
        }
        let extension = if text.trim_start().starts_with('{') { "json" } else { "yaml" };
        let path = format!("templates/{name}.{extension}");
        w.files.insert(path.clone(), text.clone());
        s.set("template", V::Str(path));
        s.set("template_bucket", V::str(bucket));
        if let Some(description) = version.and_then(|v| v.description.as_ref()) {
            s.set("version_description", V::str(description));
        }
        if let Some(constraint) = p.launch_constraints.first() {
            s.set("launch_role", V::Str(w.role_ref(&constraint.role_arn)));
        }
        let visible = p.tags.get(STUDIO_VISIBILITY_TAG).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if visible {
            s.set("studio_visible", V::Bool(true));
        }
        w.tags(&mut s, &p.tags, if visible { &[STUDIO_VISIBILITY_TAG] } else { &[] });
        sections.push((Kind::CatalogProduct, s));
    }
    for c in live.emr_clusters.iter().filter(|c| chosen.clusters.contains(&c.id)) {
        let name = w.refs.clusters[&c.id].clone();
        let s = w.cluster(&name, c);
        sections.push((Kind::EmrCluster, s));
    }

    // Notes from the first plan go above their resources.
    for (kind, section) in &mut sections {
        let name = section.header.split_once('.').map(|(_, n)| n.to_owned()).unwrap_or_default();
        if let Some(items) = notes.get(&Address::new(*kind, name)) {
            section.comments.extend(items.iter().map(|n| format!("converge cannot express: {n}")));
        }
    }

    let mut text = String::new();
    text.push_str(&format!("# Imported by `converge import` from account {} in {}.\n", live.account, live.region));
    text.push_str("#\n");
    text.push_str("# Every resource is marked `adopt = true`: the first apply adds converge's\n");
    text.push_str("# ownership tags to what exists and changes nothing else. The comment above each\n");
    text.push_str("# resource is its AWS id.\n\n");
    text.push_str("[stack]\n");
    text.push_str(&format!("name = {}\n", string(w.stack)));
    text.push_str(&format!("region = {}\n", string(&live.region)));
    match &request.environment {
        Some(env) => text.push_str(&format!("# The account is environment `{env}`'s (the table at the end).\n")),
        None => text.push_str(&format!("account = {}\n", string(&live.account))),
    }
    if !w.stack_tags.is_empty() {
        text.push_str(&line("tags", &V::map(&w.stack_tags)));
        text.push('\n');
    }
    for (_, section) in &sections {
        text.push('\n');
        section.text(&mut text);
    }
    if let Some(env) = &request.environment {
        text.push_str(&format!(
            "\n# Environment `{env}`: what it sets over the definition above. Another environment is\n\
             # another such table, with its own account and the values that differ (docs/spec.md).\n\
             [env.{env}]\nstack.account = {}\n",
            string(&live.account)
        ));
    }
    w.left_out.sort();
    w.left_out.dedup();
    if !w.left_out.is_empty() {
        text.push_str("\n# What converge cannot express (review before the first apply):\n");
        for item in &w.left_out {
            text.push_str(&format!("# - {item}\n"));
        }
    }
    let spec_file = format!("{}.toml", request.stack);
    w.files.insert(spec_file.clone(), text);
    Imported { spec_file, files: w.files, resources: w.resources, left_out: w.left_out }
}

/// The name a resource of `stack` already has: the one in its `converge:address` tag.
fn own_name(tags: &Tags, stack: &str, kind: Kind) -> Option<String> {
    if tags.get(OWNER_STACK_TAG).map(String::as_str) != Some(stack) {
        return None;
    }
    let address = tags.get(OWNER_ADDRESS_TAG)?;
    let name = address.strip_prefix(kind.key())?.strip_prefix('.')?;
    is_spec_name(name).then(|| name.to_owned())
}

/// Spec names for everything chosen, in the order of their AWS ids: the names
/// the stack gave its own resources first, then names from AWS names.
fn name_all(live: &LiveState, request: &Request, chosen: &Selection) -> Refs {
    let stack = request.stack.as_str();
    let prefix = format!("{stack}-");
    let subnets: Vec<_> = live.subnets.iter().filter(|s| chosen.subnets.contains(&s.id)).collect();
    let groups: Vec<_> = live.security_groups.iter().filter(|g| chosen.groups.contains(&g.id)).collect();
    let roles: Vec<_> = live.iam_roles.iter().filter(|r| chosen.roles.contains(&r.name)).collect();
    let domains: Vec<_> = live.sagemaker_domains.iter().filter(|d| chosen.domains.contains(&d.id)).collect();
    let users: Vec<_> =
        live.sagemaker_users.iter().filter(|u| chosen.users.contains(&(u.domain_id.clone(), u.name.clone()))).collect();
    let portfolios: Vec<_> = live.catalog_portfolios.iter().filter(|p| chosen.portfolios.contains(&p.id)).collect();
    let products: Vec<_> = live.catalog_products.iter().filter(|p| chosen.products.contains(&p.id)).collect();
    let clusters: Vec<_> = live.emr_clusters.iter().filter(|c| chosen.clusters.contains(&c.id)).collect();

    // (kind, key in Refs, tags, the name derived from AWS's names), in the order names are given.
    let mut wanted: Vec<(Kind, String, &Tags, String)> = Vec::new();
    for s in &subnets {
        wanted.push((Kind::Subnet, s.id.clone(), &s.tags, sanitize(s.tags.get("Name").unwrap_or(&s.id))));
    }
    for g in &groups {
        // A group named `<stack>-<name>` keeps converge's default naming.
        let derived = match g.name.strip_prefix(&prefix) {
            Some(rest) if is_spec_name(rest) => rest.to_owned(),
            _ => sanitize(&g.name),
        };
        wanted.push((Kind::SecurityGroup, g.id.clone(), &g.tags, derived));
    }
    for r in &roles {
        let derived = if is_spec_name(&r.name) { r.name.clone() } else { sanitize(&r.name) };
        wanted.push((Kind::IamRole, r.name.clone(), &r.tags, derived));
    }
    for d in &domains {
        wanted.push((Kind::SagemakerDomain, d.id.clone(), &d.tags, sanitize(&d.name)));
    }
    for u in &users {
        let derived = if is_spec_name(&u.name) { u.name.clone() } else { sanitize(&u.name) };
        wanted.push((Kind::SagemakerUser, format!("{}/{}", u.domain_id, u.name), &u.tags, derived));
    }
    for p in &portfolios {
        wanted.push((Kind::CatalogPortfolio, p.id.clone(), &p.tags, sanitize(&p.display_name)));
    }
    for p in &products {
        wanted.push((Kind::CatalogProduct, p.id.clone(), &p.tags, sanitize(&p.name)));
    }
    for c in &clusters {
        wanted.push((Kind::EmrCluster, c.id.clone(), &c.tags, sanitize(&c.name)));
    }

    let mut names = Names::default();
    let mut given: BTreeMap<(Kind, String), String> = BTreeMap::new();
    for (i, id) in chosen.vpcs.iter().enumerate() {
        let name = if chosen.vpcs.len() == 1 { "main".to_owned() } else { format!("vpc_{}", i + 1) };
        given.insert((Kind::Vpc, id.clone()), names.claim(Kind::Vpc, &name));
    }
    for (kind, key, tags, _) in &wanted {
        if let Some(name) = own_name(tags, stack, *kind) {
            given.insert((*kind, key.clone()), names.claim(*kind, &name));
        }
    }
    for (kind, key, _, derived) in wanted {
        if !given.contains_key(&(kind, key.clone())) {
            let name = names.claim(kind, &derived);
            given.insert((kind, key), name);
        }
    }
    let mut refs = Refs::default();
    for ((kind, key), name) in given {
        let map = match kind {
            Kind::Vpc => &mut refs.vpcs,
            Kind::Subnet => &mut refs.subnets,
            Kind::SecurityGroup => &mut refs.groups,
            Kind::IamRole => &mut refs.roles,
            Kind::SagemakerDomain => &mut refs.domains,
            Kind::SagemakerUser => &mut refs.users,
            Kind::CatalogPortfolio => &mut refs.portfolios,
            Kind::CatalogProduct => &mut refs.products,
            Kind::EmrCluster => &mut refs.clusters,
        };
        map.insert(key, name);
    }
    refs
}

/// Tags that say nothing about the resource itself: AWS's, converge's, a subnet's `Name`, Studio's visibility.
fn is_user_tag(key: &str) -> bool {
    !key.starts_with("aws:") && !key.starts_with("converge:") && key != "Name" && key != STUDIO_VISIBILITY_TAG
}

/// The tags every chosen resource carries alike: the stack's tags.
fn common_tags(live: &LiveState, chosen: &Selection) -> Tags {
    let mut all: Vec<&Tags> = Vec::new();
    all.extend(live.subnets.iter().filter(|s| chosen.subnets.contains(&s.id)).map(|s| &s.tags));
    all.extend(live.security_groups.iter().filter(|g| chosen.groups.contains(&g.id)).map(|g| &g.tags));
    all.extend(live.iam_roles.iter().filter(|r| chosen.roles.contains(&r.name)).map(|r| &r.tags));
    all.extend(live.sagemaker_domains.iter().filter(|d| chosen.domains.contains(&d.id)).map(|d| &d.tags));
    all.extend(
        live.sagemaker_users
            .iter()
            .filter(|u| chosen.users.contains(&(u.domain_id.clone(), u.name.clone())))
            .map(|u| &u.tags),
    );
    all.extend(live.catalog_portfolios.iter().filter(|p| chosen.portfolios.contains(&p.id)).map(|p| &p.tags));
    all.extend(live.catalog_products.iter().filter(|p| chosen.products.contains(&p.id)).map(|p| &p.tags));
    all.extend(live.emr_clusters.iter().filter(|c| chosen.clusters.contains(&c.id)).map(|c| &c.tags));
    let Some((first, rest)) = all.split_first() else { return Tags::new() };
    first
        .iter()
        .filter(|(k, v)| is_user_tag(k) && rest.iter().all(|tags| tags.get(*k) == Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn sharing_value(sharing: &LiveSharing) -> V {
    let mut entries = vec![("notebook_output".to_owned(), V::str(&sharing.notebook_output))];
    if let Some(path) = &sharing.s3_output_path {
        entries.push(("s3_output_path".to_owned(), V::str(path)));
    }
    if let Some(key) = &sharing.s3_kms_key {
        entries.push(("s3_kms_key".to_owned(), V::str(key)));
    }
    V::Table(entries)
}

fn pretty_json(text: &str) -> String {
    let text = &converge_plan::decode_policy(text);
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => serde_json::to_string_pretty(&value).map_or_else(|_| text.to_owned(), |t| t + "\n"),
        Err(_) => text.to_owned(),
    }
}

impl Writer<'_> {
    fn section(&mut self, kind: Kind, name: &str, id: &str, aws_name: Option<&str>) -> Section {
        let mut s = Section::new(format!("{}.{name}", kind.key()));
        s.comments.push(match aws_name {
            Some(aws_name) if !aws_name.is_empty() => format!("{id} ({aws_name})"),
            _ => id.to_owned(),
        });
        s.set("adopt", V::Bool(true));
        self.resources.push((Address::new(kind, name), id.to_owned()));
        s
    }

    fn tags(&self, s: &mut Section, tags: &Tags, also_skip: &[&str]) {
        let own: Vec<(&String, &String)> = tags
            .iter()
            .filter(|(k, v)| {
                !k.starts_with("aws:")
                    && !k.starts_with("converge:")
                    && !also_skip.contains(&k.as_str())
                    && self.stack_tags.get(*k) != Some(*v)
            })
            .collect();
        if !own.is_empty() {
            s.set("tags", V::map(own));
        }
    }

    fn vpc(&self, id: &str) -> String {
        self.refs.vpcs.get(id).cloned().unwrap_or_else(|| id.to_owned())
    }

    fn subnet(&self, id: &str) -> String {
        self.refs.subnets.get(id).cloned().unwrap_or_else(|| id.to_owned())
    }

    fn group_ref(&self, id: &str) -> String {
        self.refs.groups.get(id).cloned().unwrap_or_else(|| id.to_owned())
    }

    /// A role by its spec name when imported, else as AWS names it.
    fn role_ref(&self, text: &str) -> String {
        role(self.live, text).and_then(|r| self.refs.roles.get(&r.name)).cloned().unwrap_or_else(|| text.to_owned())
    }

    /// The principals of a trust policy, as the spec's `trust` writes them.
    fn trust(&mut self, address: &Address, policy: &str) -> Vec<String> {
        let mut principals = Vec::new();
        let Some(statements) = statements(policy) else {
            self.left_out
                .push(Unexpressed { address: Some(address.clone()), what: "its trust policy is not JSON".to_owned() });
            return principals;
        };
        for statement in &statements {
            let plain = statement["Effect"] == "Allow"
                && strings(&statement["Action"]) == ["sts:AssumeRole"]
                && statement.get("Condition").is_none()
                && statement["Principal"].as_object().is_some_and(|p| p.keys().all(|k| k == "Service" || k == "AWS"));
            if !plain {
                self.left_out.push(Unexpressed {
                    address: Some(address.clone()),
                    what: format!(
                        "its trust policy has a statement converge does not write (only `Allow` `sts:AssumeRole` for services and roles, without conditions): {statement}"
                    ),
                });
            }
            principals.extend(strings(&statement["Principal"]["Service"]));
            principals.extend(strings(&statement["Principal"]["AWS"]).iter().map(|arn| self.role_ref(arn)));
        }
        principals.sort();
        principals.dedup();
        principals
    }

    fn group(&mut self, s: &mut Section, name: &str, group: &LiveSecurityGroup) {
        s.set("vpc", V::str(self.vpc(&group.vpc_id)));
        if group.name != format!("{}-{name}", self.stack) {
            s.set("name", V::str(&group.name));
        }
        s.set("description", V::str(&group.description));
        let address = Address::new(Kind::SecurityGroup, name);
        // The rules EMR keeps in the groups clusters hand it are EMR's, not the spec's.
        let emrs = |r: &&LiveRule, egress: bool| !self.emr_rules.owns_live(&group.id, egress, r);
        let ingress: Vec<LiveRule> = group.ingress.iter().filter(|r| emrs(r, false)).cloned().collect();
        let egress: Vec<LiveRule> = group.egress.iter().filter(|r| emrs(r, true)).cloned().collect();
        let ingress: Vec<V> = ingress.iter().filter_map(|r| self.rule(&address, group, r, "source")).collect();
        if !ingress.is_empty() {
            s.set("ingress", V::List(ingress));
        }
        let default_egress = [LiveRule {
            protocol: "-1".to_owned(),
            from_port: None,
            to_port: None,
            cidr: Some("0.0.0.0/0".to_owned()),
            group_id: None,
            prefix_list_id: None,
            description: None,
        }];
        // EC2's default egress, or EMR's all-traffic egress (the same rule) with nothing else: the spec leaves egress out.
        if egress != default_egress && !(egress.is_empty() && group.egress == default_egress) {
            let egress: Vec<V> = egress.iter().filter_map(|r| self.rule(&address, group, r, "destination")).collect();
            s.set("egress", V::List(egress));
        }
        self.tags(s, &group.tags, &[]);
    }

    fn rule(&mut self, address: &Address, group: &LiveSecurityGroup, rule: &LiveRule, peer_key: &str) -> Option<V> {
        let mut entries: Vec<(String, V)> = Vec::new();
        let ports = |from: Option<i64>, to: Option<i64>| match (from, to) {
            (None, None) => None,
            (Some(from), Some(to)) if from == to => Some(V::Int(from)),
            (Some(from), Some(to)) => Some(V::Str(format!("{from}-{to}"))),
            _ => None,
        };
        match rule.protocol.as_str() {
            "-1" | "all" => entries.push(("protocol".into(), V::str("all"))),
            "tcp" | "6" | "udp" | "17" => {
                let protocol = if matches!(rule.protocol.as_str(), "tcp" | "6") { "tcp" } else { "udp" };
                entries.push(("protocol".into(), V::str(protocol)));
                if let Some(ports) = ports(rule.from_port, rule.to_port) {
                    entries.push(("ports".into(), ports));
                }
            }
            "icmp" | "1" => {
                entries.push(("protocol".into(), V::str("icmp")));
                if let Some(t) = rule.from_port.filter(|t| *t >= 0) {
                    entries.push(("icmp_type".into(), V::Int(t)));
                    if let Some(c) = rule.to_port.filter(|c| *c >= 0) {
                        entries.push(("icmp_code".into(), V::Int(c)));
                    }
                }
            }
            other => {
                self.left_out.push(Unexpressed {
                    address: Some(address.clone()),
                    what: format!("a rule for IP protocol `{other}`: the spec writes tcp, udp, icmp and all"),
                });
                return None;
            }
        }
        match (&rule.cidr, &rule.group_id, &rule.prefix_list_id) {
            (Some(cidr), ..) => entries.push(("cidr".into(), V::str(cidr))),
            (None, Some(id), _) if *id == group.id => entries.push((peer_key.into(), V::str("self"))),
            (None, Some(id), _) => entries.push((peer_key.into(), V::Str(self.group_ref(id)))),
            (None, None, Some(list)) => entries.push(("prefix_list".into(), V::str(list))),
            (None, None, None) => return None,
        }
        if let Some(description) = &rule.description {
            entries.push(("description".into(), V::str(description)));
        }
        Some(V::Table(entries))
    }

    fn cluster(&mut self, name: &str, c: &LiveEmrCluster) -> Section {
        let address = Address::new(Kind::EmrCluster, name);
        let mut s = self.section(Kind::EmrCluster, name, &c.id, None);
        s.set("name", V::str(&c.name));
        s.set("release", V::str(&c.release));
        if !c.applications.is_empty() {
            s.set("applications", V::strs(&c.applications));
        }
        s.set("subnets", V::List(c.subnet_ids.iter().map(|id| V::Str(self.subnet(id))).collect()));
        s.set("service_role", V::Str(self.role_ref(&c.service_role)));
        s.set("instance_profile", V::Str(self.role_ref(last_segment(&c.instance_profile))));
        for (key, group) in [
            ("master_security_group", &c.master_security_group),
            ("core_security_group", &c.core_security_group),
            ("service_access_security_group", &c.service_access_security_group),
        ] {
            if let Some(group) = group {
                s.set(key, V::Str(self.group_ref(group)));
            }
        }
        for (key, groups) in [
            ("additional_master_security_groups", &c.additional_master_security_groups),
            ("additional_core_security_groups", &c.additional_core_security_groups),
        ] {
            if !groups.is_empty() {
                s.set(key, V::List(groups.iter().map(|g| V::Str(self.group_ref(g))).collect()));
            }
        }
        if let Some(uri) = &c.log_uri {
            s.set("log_uri", V::str(uri));
        }
        if let Some(key) = &c.key_name {
            s.set("key_name", V::str(key));
        }
        if let Some(size) = c.ebs_root_volume_size {
            s.set("ebs_root_volume_size", V::Int(size));
        }
        if let Some(iops) = c.ebs_root_volume_iops {
            s.set("ebs_root_volume_iops", V::Int(iops));
        }
        if let Some(throughput) = c.ebs_root_volume_throughput {
            s.set("ebs_root_volume_throughput", V::Int(throughput));
        }
        if c.termination_protection {
            s.set("termination_protection", V::Bool(true));
        }
        if let Some(seconds) = c.auto_termination_idle_seconds {
            s.set("auto_termination_idle_seconds", V::Int(seconds));
        }
        if c.step_concurrency != 1 {
            s.set("step_concurrency", V::Int(c.step_concurrency));
        }
        if !c.bootstrap.is_empty() {
            let actions = c
                .bootstrap
                .iter()
                .map(|b| {
                    let mut entries = vec![("name".to_owned(), V::str(&b.name)), ("path".to_owned(), V::str(&b.path))];
                    if !b.args.is_empty() {
                        entries.push(("args".to_owned(), V::strs(&b.args)));
                    }
                    V::Table(entries)
                })
                .collect();
            s.set("bootstrap", V::List(actions));
        }
        if !c.configurations.is_empty() {
            s.set("configurations", configurations(&c.configurations));
        }
        self.tags(&mut s, &c.tags, &[]);
        if c.fleets.is_empty() {
            self.left_out.push(Unexpressed {
                address: Some(address.clone()),
                what: "it runs instance groups; converge describes clusters with instance fleets".to_owned(),
            });
        }
        for role in FleetRole::ALL {
            if let Some(fleet) = c.fleet(role) {
                let child = self.fleet(&address, name, fleet, &c.release);
                s.children.push(child);
            }
        }
        if let Some(scaling) = &c.scaling {
            let mut child = Section::new(format!("emr_cluster.{name}.scaling"));
            child.set("unit", V::str(&scaling.unit));
            child.set("min", V::Int(scaling.min));
            child.set("max", V::Int(scaling.max));
            if let Some(limit) = scaling.max_on_demand.filter(|l| *l != scaling.max) {
                child.set("max_on_demand", V::Int(limit));
            }
            if let Some(limit) = scaling.max_core.filter(|l| *l != scaling.max) {
                child.set("max_core", V::Int(limit));
            }
            s.children.push(child);
        }
        s
    }

    fn fleet(&mut self, address: &Address, name: &str, fleet: &LiveFleet, release: &str) -> Section {
        let mut s = Section::new(format!("emr_cluster.{name}.{}", fleet.role.key()));
        if let Some(fleet_name) = &fleet.name {
            s.set("name", V::str(fleet_name));
        }
        let types = fleet
            .instance_types
            .iter()
            .map(|t| {
                let bid = t.bid_percent.filter(|b| (*b - 100.0).abs() > f64::EPSILON);
                let optimized = t.ebs_optimized.filter(|o| !o);
                // EMR's default volumes of an EBS-only type are EMR's to choose: the spec leaves them out.
                let defaults = converge_model::emr::default_ebs_volumes(&t.instance_type, release);
                let default_volumes = defaults.is_some_and(|(count, size)| {
                    t.ebs.len() == usize::try_from(count).unwrap_or(0)
                        && t.ebs.iter().all(|v| v.size == size && v.iops.is_none() && v.throughput.is_none())
                });
                let ebs: &[converge_model::live::LiveEbsVolume] = if default_volumes { &[] } else { &t.ebs };
                if t.weight == 1 && bid.is_none() && ebs.is_empty() && optimized.is_none() {
                    return V::str(&t.instance_type);
                }
                let mut entries = vec![("type".to_owned(), V::str(&t.instance_type))];
                if t.weight != 1 {
                    entries.push(("weight".to_owned(), V::Int(t.weight)));
                }
                if let Some(bid) = bid {
                    entries.push(("bid_percent".to_owned(), V::Float(bid)));
                }
                if !ebs.is_empty() {
                    let mut volumes: BTreeMap<(String, i64, Option<i64>, Option<i64>), i64> = BTreeMap::new();
                    for v in ebs {
                        *volumes.entry((v.volume_type.clone(), v.size, v.iops, v.throughput)).or_default() += 1;
                    }
                    let volumes = volumes
                        .into_iter()
                        .map(|((kind, size, iops, throughput), count)| {
                            let mut e = vec![("type".to_owned(), V::Str(kind)), ("size".to_owned(), V::Int(size))];
                            if count != 1 {
                                e.push(("count".to_owned(), V::Int(count)));
                            }
                            if let Some(iops) = iops {
                                e.push(("iops".to_owned(), V::Int(iops)));
                            }
                            if let Some(throughput) = throughput {
                                e.push(("throughput".to_owned(), V::Int(throughput)));
                            }
                            V::Table(e)
                        })
                        .collect();
                    entries.push(("ebs".to_owned(), V::List(volumes)));
                }
                if let Some(optimized) = optimized {
                    entries.push(("ebs_optimized".to_owned(), V::Bool(optimized)));
                }
                V::Table(entries)
            })
            .collect();
        s.set("instance_types", V::List(types));
        if fleet.role == FleetRole::Master {
            if fleet.target_on_demand > 0 {
                s.set("on_demand", V::Int(fleet.target_on_demand));
            } else {
                s.set("spot", V::Int(fleet.target_spot));
            }
        } else {
            if fleet.target_on_demand > 0 || fleet.target_spot == 0 {
                s.set("on_demand", V::Int(fleet.target_on_demand));
            }
            if fleet.target_spot > 0 {
                s.set("spot", V::Int(fleet.target_spot));
            }
            if fleet.role == FleetRole::Task {
                s.comments.push(
                    "Capacity as found. If a scheduler or managed scaling sets it, write a range ({ min = …, max = … }) or \"external\"."
                        .to_owned(),
                );
            }
        }
        if let Some(minutes) = fleet.spot_timeout_minutes {
            s.set("spot_timeout_minutes", V::Int(minutes));
        }
        if let Some(action) = fleet.spot_timeout_action.as_deref().and_then(SpotTimeoutAction::from_aws) {
            s.set("spot_timeout_action", V::str(action.spec()));
        }
        if let Some(strategy) = fleet.spot_allocation.as_deref().and_then(SpotAllocation::from_aws) {
            s.set("spot_allocation", V::str(strategy.spec()));
        }
        if let Some(strategy) = fleet
            .on_demand_allocation
            .as_deref()
            .and_then(OnDemandAllocation::from_aws)
            .filter(|s| *s != OnDemandAllocation::LowestPrice)
        {
            s.set("on_demand_allocation", V::str(strategy.spec()));
        }
        let mut per_type = fleet.instance_types.iter().map(|t| &t.configurations);
        if let Some(first) = per_type.next() {
            if per_type.any(|other| other != first) {
                self.left_out.push(Unexpressed {
                    address: Some(address.clone()),
                    what: format!(
                        "the {} fleet's instance types have different configurations; the spec gives a fleet one",
                        fleet.role
                    ),
                });
            } else if !first.is_empty() {
                s.set("configurations", configurations(first));
            }
        }
        if let Some(resize) = &fleet.resize {
            let mut entries = Vec::new();
            if let Some(minutes) = resize.spot_timeout_minutes {
                entries.push(("spot_timeout_minutes".to_owned(), V::Int(minutes)));
            }
            if let Some(strategy) = resize.spot_allocation.as_deref().and_then(SpotAllocation::from_aws) {
                entries.push(("spot_allocation".to_owned(), V::str(strategy.spec())));
            }
            if let Some(minutes) = resize.on_demand_timeout_minutes {
                entries.push(("on_demand_timeout_minutes".to_owned(), V::Int(minutes)));
            }
            if let Some(strategy) = resize.on_demand_allocation.as_deref().and_then(OnDemandAllocation::from_aws) {
                entries.push(("on_demand_allocation".to_owned(), V::str(strategy.spec())));
            }
            if !entries.is_empty() {
                s.set("resize", V::Table(entries));
            }
        }
        s
    }
}

fn configurations(items: &[LiveConfiguration]) -> V {
    V::List(
        items
            .iter()
            .map(|c| {
                let mut entries = vec![("classification".to_owned(), V::str(&c.classification))];
                if !c.properties.is_empty() {
                    entries.push(("properties".to_owned(), V::map(&c.properties)));
                }
                if !c.configurations.is_empty() {
                    entries.push(("configurations".to_owned(), configurations(&c.configurations)));
                }
                V::Table(entries)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_like_a_person_wrote_them() {
        assert_eq!(sanitize("Example two-node cluster"), "example_two_node_cluster");
        assert_eq!(sanitize("studio-private-a"), "studio_private_a");
        assert_eq!(sanitize("--"), "imported");
        assert!(is_spec_name("EMR_DefaultRole"));
        assert!(!is_spec_name("role.with.dots"));
        let mut names = Names::default();
        assert_eq!(names.claim(Kind::Subnet, "a"), "a");
        assert_eq!(names.claim(Kind::Subnet, "a"), "a_2");
        assert_eq!(names.claim(Kind::SecurityGroup, "a"), "a");
    }
}
