//! References: do they resolve, to the right kind, without cycles? And do
//! two resources collide on an AWS name, or a list name something twice?

use std::collections::{BTreeMap, BTreeSet};

use converge_model::{Address, Kind, RefTarget, Strength, TrustPrincipal};

use super::Ctx;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::suggest::did_you_mean;

pub(super) fn resolve(ctx: &mut Ctx<'_>) {
    let mut found = Vec::new();
    for reference in ctx.partial.references() {
        let path = format!("{}.{}", reference.from, reference.field);
        let written = reference.to.as_str();
        let expected = reference.expected;
        let d = match reference.to.target(expected) {
            RefTarget::Literal(_) => None,
            RefTarget::Spec(address) if ctx.declared.contains(&address) => None,
            RefTarget::Spec(address) => {
                let other_kinds: Vec<Kind> = Kind::ALL
                    .into_iter()
                    .filter(|kind| ctx.declared.contains(&Address::new(*kind, address.name.clone())))
                    .collect();
                Some(match other_kinds.first() {
                    Some(other) => Diagnostic::new(
                        codes::WRONG_KIND_REFERENCE,
                        format!(
                            "`{written}` is a {}, but `{}` expects a {}",
                            other.noun(),
                            crate::check::last_key(&path),
                            expected.noun()
                        ),
                    )
                    .label(format!("this is `{other}.{}`", address.name))
                    .hint(format!(
                        "name a `{}` here{}",
                        expected.key(),
                        suggestion(ctx, expected, &address.name)
                    )),
                    None => {
                        let mut d = Diagnostic::new(
                            codes::DANGLING_REFERENCE,
                            format!("no {} named `{}` in the spec", expected.noun(), address.name),
                        );
                        d = match closest(ctx, expected, &address.name) {
                            Some(s) => d.label(format!("did you mean `{s}`?")),
                            None => d.label("not declared in the spec"),
                        };
                        let hint = if expected == Kind::IamRole && reference.field.starts_with("trust") {
                            format!(
                                "declare `[iam_role.{}]`, write a role ARN, or write a service principal such as `{}.amazonaws.com`",
                                address.name, address.name
                            )
                        } else {
                            format!(
                                "declare `[{}.{}]`, or write the AWS id of an existing {} ({})",
                                expected.key(),
                                address.name,
                                expected.noun(),
                                literal_example(expected)
                            )
                        };
                        d.hint(hint)
                    }
                })
            }
            RefTarget::WrongKind(kind) => Some(
                Diagnostic::new(
                    codes::WRONG_KIND_REFERENCE,
                    format!(
                        "`{written}` names a {}, but `{}` expects a {}",
                        kind.noun(),
                        crate::check::last_key(&path),
                        expected.noun()
                    ),
                )
                .label(format!("a {}", kind.noun()))
                .hint(format!(
                    "name a `{}` of the spec or write {}",
                    expected.key(),
                    literal_example(expected)
                )),
            ),
            RefTarget::Unqualifiable => Some(
                Diagnostic::new(
                    codes::DANGLING_REFERENCE,
                    format!("`{written}` is neither a name in the spec nor an AWS id of a {}", expected.noun()),
                )
                .label("not understood")
                .hint(format!(
                    "name a `{}` of the spec or write {}",
                    expected.key(),
                    literal_example(expected)
                )),
            ),
        };
        if let Some(d) = d {
            found.push(d.at(ctx.at(&path)).address(&reference.from));
        }
    }
    ctx.out.extend(found);
}

fn literal_example(kind: Kind) -> &'static str {
    match kind {
        Kind::Vpc => "`vpc-…`",
        Kind::Subnet => "`subnet-…`",
        Kind::SecurityGroup => "`sg-…`",
        Kind::IamRole => "`arn:aws:iam::<account>:role/<name>`",
        Kind::SagemakerDomain => "`d-…`",
        Kind::SagemakerUser => "a user profile ARN",
        Kind::CatalogPortfolio => "`port-…`",
        Kind::CatalogProduct => "`prod-…`",
        Kind::EmrCluster => "`j-…`",
    }
}

fn closest<'a>(ctx: &'a Ctx<'_>, kind: Kind, name: &str) -> Option<&'a str> {
    did_you_mean(name, ctx.declared.iter().filter(|a| a.kind == kind).map(|a| a.name.as_str()))
}

fn suggestion(ctx: &Ctx<'_>, kind: Kind, name: &str) -> String {
    closest(ctx, kind, name).map_or_else(String::new, |s| format!("; did you mean `{s}`?"))
}

/// Hard references must form a DAG (security group rules may point at each other).
pub(super) fn cycles(ctx: &mut Ctx<'_>) {
    let mut edges: BTreeMap<Address, Vec<(Address, String)>> = BTreeMap::new();
    for reference in ctx.partial.references() {
        if reference.strength != Strength::Hard {
            continue;
        }
        if let RefTarget::Spec(to) = reference.to.target(reference.expected) {
            edges.entry(reference.from.clone()).or_default().push((to, reference.field.clone()));
        }
    }
    let mut reported: BTreeSet<BTreeSet<Address>> = BTreeSet::new();
    let mut done: BTreeSet<Address> = BTreeSet::new();
    for start in edges.keys() {
        let mut stack: Vec<(Address, usize)> = vec![(start.clone(), 0)];
        let mut on_path: Vec<Address> = vec![start.clone()];
        while let Some((node, next)) = stack.last().cloned() {
            let children = edges.get(&node).map_or(&[][..], Vec::as_slice);
            if next >= children.len() || done.contains(&node) {
                stack.pop();
                on_path.pop();
                done.insert(node);
                continue;
            }
            stack.last_mut().expect("stack is not empty").1 += 1;
            let (child, _) = &children[next];
            if let Some(position) = on_path.iter().position(|a| a == child) {
                let cycle: Vec<Address> = on_path[position..].to_vec();
                if reported.insert(cycle.iter().cloned().collect()) {
                    report_cycle(ctx, &cycle, &edges);
                }
            } else if !done.contains(child) {
                stack.push((child.clone(), 0));
                on_path.push(child.clone());
            }
        }
    }
}

fn report_cycle(ctx: &mut Ctx<'_>, cycle: &[Address], edges: &BTreeMap<Address, Vec<(Address, String)>>) {
    let mut names: Vec<String> = cycle.iter().map(ToString::to_string).collect();
    names.push(cycle[0].to_string());
    let field_of = |from: &Address, to: &Address| {
        edges
            .get(from)
            .and_then(|e| e.iter().find(|(t, _)| t == to))
            .map(|(_, field)| field.clone())
            .unwrap_or_default()
    };
    let first_field = field_of(&cycle[0], &cycle[1 % cycle.len()]);
    let mut d = Diagnostic::new(
        codes::REFERENCE_CYCLE,
        format!("reference cycle: {}", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" -> ")),
    )
    .at(ctx.at(&format!("{}.{first_field}", cycle[0])))
    .address(&cycle[0])
    .label("this reference closes the cycle");
    for (i, from) in cycle.iter().enumerate() {
        let to = &cycle[(i + 1) % cycle.len()];
        d = d.note(format!("`{from}.{}` refers to `{to}`", field_of(from, to)));
    }
    ctx.emit(d.hint("remove one of these references; only security group rules may refer to each other in a loop"));
}

/// An AWS name, the resource that would carry it, and the path it is written at.
type NamedEntry = (String, Address, String);

pub(super) fn duplicates(ctx: &mut Ctx<'_>) {
    let spec = ctx.spec;
    let mut found: Vec<Diagnostic> = Vec::new();

    // AWS names that must be unique (IAM and SageMaker compare case-insensitively).
    let mut name_sets: Vec<(String, Vec<NamedEntry>)> = Vec::new();
    let roles = spec.iam_roles.iter().map(|(n, r)| {
        let a = Address::new(Kind::IamRole, n.clone());
        let field = if r.name.is_some() { format!("{a}.name") } else { a.to_string() };
        (r.name.clone().unwrap_or_else(|| n.clone()).to_ascii_lowercase(), a, field)
    });
    name_sets.push(("IAM role name".into(), roles.collect()));
    let mut groups_by_vpc: BTreeMap<Option<String>, Vec<NamedEntry>> = BTreeMap::new();
    for (n, g) in &spec.security_groups {
        let a = Address::new(Kind::SecurityGroup, n.clone());
        let group_name = g.name.clone().unwrap_or_else(|| format!("{}-{n}", spec.stack.name));
        let field = if g.name.is_some() { format!("{a}.name") } else { a.to_string() };
        groups_by_vpc.entry(ctx.vpc_identity(&g.vpc)).or_default().push((group_name.to_ascii_lowercase(), a, field));
    }
    for (_, groups) in groups_by_vpc {
        name_sets.push(("security group name in the VPC".into(), groups));
    }
    let domains = spec.sagemaker_domains.iter().map(|(n, d)| {
        (
            d.name.to_ascii_lowercase(),
            Address::new(Kind::SagemakerDomain, n.clone()),
            format!("sagemaker_domain.{n}.name"),
        )
    });
    name_sets.push(("SageMaker domain name".into(), domains.collect()));
    let mut users_by_domain: BTreeMap<String, Vec<NamedEntry>> = BTreeMap::new();
    for (n, u) in &spec.sagemaker_users {
        let a = Address::new(Kind::SagemakerUser, n.clone());
        let field = if u.name.is_some() { format!("{a}.name") } else { a.to_string() };
        users_by_domain.entry(u.domain.as_str().to_owned()).or_default().push((
            u.name.clone().unwrap_or_else(|| n.clone()).to_ascii_lowercase(),
            a,
            field,
        ));
    }
    for (_, users) in users_by_domain {
        name_sets.push(("user profile name in the domain".into(), users));
    }
    let clusters = spec
        .emr_clusters
        .iter()
        .map(|(n, c)| (c.name.clone(), Address::new(Kind::EmrCluster, n.clone()), format!("emr_cluster.{n}.name")));
    name_sets.push(("EMR cluster name".into(), clusters.collect()));
    let products = spec.catalog_products.iter().map(|(n, p)| {
        (p.name.clone(), Address::new(Kind::CatalogProduct, n.clone()), format!("catalog_product.{n}.name"))
    });
    name_sets.push(("Service Catalog product name".into(), products.collect()));

    for (what, entries) in name_sets {
        let mut first: BTreeMap<&str, &Address> = BTreeMap::new();
        for (aws_name, address, field) in &entries {
            match first.get(aws_name.as_str()) {
                Some(earlier) => found.push(
                    Diagnostic::new(
                        codes::DUPLICATE_NAME,
                        format!("`{address}` and `{earlier}` have the same {what} `{aws_name}`"),
                    )
                    .at(ctx.at(field))
                    .address(address)
                    .label("second use of the name")
                    .hint("give one of them another `name`; AWS allows each name only once"),
                ),
                None => {
                    first.insert(aws_name, address);
                }
            }
        }
    }

    // Lists that must not repeat an entry.
    let mut lists: Vec<(Address, String, Vec<String>)> = Vec::new();
    let key = |r: &converge_model::Ref| r.as_str().to_owned();
    for (n, r) in &spec.iam_roles {
        let a = Address::new(Kind::IamRole, n.clone());
        let trust = r.trust.iter().map(|t| match t {
            TrustPrincipal::Service(s) => s.clone(),
            TrustPrincipal::Role(r) => r.as_str().to_owned(),
        });
        lists.push((a.clone(), "trust".into(), trust.collect()));
        lists.push((a, "managed_policies".into(), r.managed_policies.clone()));
    }
    for (n, d) in &spec.sagemaker_domains {
        let a = Address::new(Kind::SagemakerDomain, n.clone());
        lists.push((a.clone(), "subnets".into(), d.subnets.iter().map(key).collect()));
        lists.push((a, "security_groups".into(), d.security_groups.iter().map(key).collect()));
    }
    for (n, u) in &spec.sagemaker_users {
        lists.push((
            Address::new(Kind::SagemakerUser, n.clone()),
            "security_groups".into(),
            u.security_groups.iter().map(key).collect(),
        ));
    }
    for (n, p) in &spec.catalog_portfolios {
        lists.push((
            Address::new(Kind::CatalogPortfolio, n.clone()),
            "principals".into(),
            p.principals.iter().map(key).collect(),
        ));
    }
    for (n, c) in &spec.emr_clusters {
        let a = Address::new(Kind::EmrCluster, n.clone());
        lists.push((a.clone(), "applications".into(), c.applications.iter().map(|s| s.to_ascii_lowercase()).collect()));
        lists.push((a.clone(), "subnets".into(), c.subnets.iter().map(key).collect()));
        lists.push((a.clone(), "bootstrap".into(), c.bootstrap.iter().map(|b| b.name.clone()).collect()));
        lists.push((
            a.clone(),
            "configurations".into(),
            c.configurations.iter().map(|c| c.classification.clone()).collect(),
        ));
        for (role, fleet) in c.fleets() {
            lists.push((
                a.clone(),
                format!("{role}.instance_types"),
                fleet.instance_types.iter().map(|t| t.instance_type.clone()).collect(),
            ));
            lists.push((
                a.clone(),
                format!("{role}.configurations"),
                fleet.configurations.iter().map(|c| c.classification.clone()).collect(),
            ));
        }
    }
    for (address, field, entries) in lists {
        let mut seen = BTreeSet::new();
        for (i, entry) in entries.iter().enumerate() {
            if !seen.insert(entry) {
                found.push(
                    Diagnostic::new(codes::DUPLICATE_ENTRY, format!("`{entry}` appears twice in `{address}.{field}`"))
                        .at(ctx.at(&format!("{address}.{field}[{i}]")))
                        .address(&address)
                        .label("repeated here")
                        .hint("remove the repeated entry"),
                );
            }
        }
    }
    ctx.out.extend(found);
}
