//! SageMaker Studio ↔ EMR wiring: the rules the first design document
//! learned by hitting each failure by hand.

use converge_model::{
    Address, HomeEfsOnDelete, IpCidr, Ipv4Cidr, Kind, NetworkAccess, Ports, Protocol, Ref, RefTarget, SELF_PEER,
    STUDIO_VISIBILITY_TAG, SagemakerDomain, SecurityGroup, Spec,
};
use saphyr::{LoadableYamlNode as _, Yaml};

use super::Ctx;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::documents::yaml_get;

const LIVY_PORT: i64 = 8998;

pub(super) fn wiring(ctx: &mut Ctx<'_>) {
    let spec = ctx.spec;
    let mut found = Vec::new();
    let vpc_only: Vec<(&String, &SagemakerDomain)> =
        spec.sagemaker_domains.iter().filter(|(_, d)| d.network_access == NetworkAccess::VpcOnly).collect();

    // A profile of an SSO domain names its IAM Identity Center user; one of an IAM domain cannot
    // (botocore `CreateUserProfileRequest.SingleSignOnUserValue`).
    for (name, user) in &spec.sagemaker_users {
        let Some(domain) = user.domain.spec_name().and_then(|d| spec.sagemaker_domains.get(d)) else { continue };
        let address = Address::new(Kind::SagemakerUser, name.clone());
        let sso = domain.auth_mode == converge_model::AuthMode::Sso;
        match (sso, &user.sso_user_name) {
            (true, None) => found.push(
                Diagnostic::new(
                    codes::STUDIO_SSO_USER,
                    format!("`{address}` belongs to an SSO domain and names no IAM Identity Center user"),
                )
                .at(ctx.key_at(&address.to_string()))
                .address(&address)
                .hint("set `sso_user_name` to the user's IAM Identity Center user name"),
            ),
            (false, Some(_)) => found.push(
                Diagnostic::new(
                    codes::STUDIO_SSO_USER,
                    format!("`{address}` names an IAM Identity Center user, but its domain's `auth_mode` is IAM"),
                )
                .at(ctx.at(&format!("{address}.sso_user_name")))
                .address(&address)
                .hint("remove `sso_user_name`, or make the domain `auth_mode = \"SSO\"`"),
            ),
            _ => {}
        }
    }

    // Roles assumed by SageMaker and Service Catalog must trust them.
    let mut trust_checks: Vec<(Address, String, &Ref, &str)> = Vec::new();
    for (name, domain) in &spec.sagemaker_domains {
        trust_checks.push((
            Address::new(Kind::SagemakerDomain, name.clone()),
            "execution_role".into(),
            &domain.execution_role,
            "sagemaker.amazonaws.com",
        ));
    }
    for (name, user) in &spec.sagemaker_users {
        if let Some(role) = &user.execution_role {
            trust_checks.push((
                Address::new(Kind::SagemakerUser, name.clone()),
                "execution_role".into(),
                role,
                "sagemaker.amazonaws.com",
            ));
        }
    }
    for (name, product) in &spec.catalog_products {
        if let Some(role) = &product.launch_role {
            trust_checks.push((
                Address::new(Kind::CatalogProduct, name.clone()),
                "launch_role".into(),
                role,
                "servicecatalog.amazonaws.com",
            ));
        }
    }
    for (address, field, reference, service) in trust_checks {
        if let Some((role_name, role)) = ctx.role(reference)
            && !role.trusts_service(service)
        {
            found.push(
                Diagnostic::new(
                    codes::MISSING_TRUST,
                    format!("`iam_role.{role_name}` is the `{field}` of `{address}` but does not trust `{service}`"),
                )
                .at(ctx.at(&format!("{address}.{field}")))
                .address(&address)
                .label(format!("{service} must be able to assume this role"))
                .hint(format!("add `\"{service}\"` to `iam_role.{role_name}.trust`")),
            );
        }
    }

    for (name, product) in &spec.catalog_products {
        if !product.studio_visible {
            continue;
        }
        let address = Address::new(Kind::CatalogProduct, name.clone());
        if !spec.sagemaker_domains.is_empty() && vpc_only.is_empty() {
            found.push(
                Diagnostic::new(codes::STUDIO_NEEDS_VPC_ONLY, format!("`{address}` is meant for Studio, but no SageMaker domain of the spec is `VpcOnly`"))
                    .at(ctx.at(&format!("{address}.studio_visible")))
                    .address(&address)
                    .hint("set `network_access = \"VpcOnly\"` on the domain; `PublicInternetOnly` notebooks run in a service VPC that cannot reach EMR"),
            );
        }
        // The portfolio must be shared with every Studio execution role.
        let RefTarget::Spec(portfolio_address) = product.portfolio.target(Kind::CatalogPortfolio) else { continue };
        let Some(portfolio) = spec.catalog_portfolios.get(&portfolio_address.name) else { continue };
        let mut required: Vec<(&Ref, String)> = Vec::new();
        for (domain_name, domain) in &vpc_only {
            required.push((&domain.execution_role, format!("sagemaker_domain.{domain_name}")));
            for (user_name, user) in &spec.sagemaker_users {
                if user.domain.spec_name() == Some(domain_name.as_str())
                    && let Some(role) = &user.execution_role
                {
                    required.push((role, format!("sagemaker_user.{user_name}")));
                }
            }
        }
        for (role, user) in required {
            if !portfolio.principals.iter().any(|principal| ctx.same_role(principal, role)) {
                let path = format!("{portfolio_address}.principals");
                let at = if portfolio.principals.is_empty() {
                    ctx.key_at(&portfolio_address.to_string())
                } else {
                    ctx.key_at(&path)
                };
                found.push(
                    Diagnostic::new(codes::PORTFOLIO_PRINCIPAL_MISSING, format!("`{portfolio_address}` is not shared with `{role}`, the execution role of `{user}`"))
                        .at(at)
                        .address(&portfolio_address)
                        .label(format!("`{address}` is a Studio template in this portfolio"))
                        .hint(format!("add `\"{role}\"` to `{portfolio_address}.principals`; Studio lists only templates of portfolios shared with the user's role")),
                );
            }
        }
    }

    for (name, domain) in &vpc_only {
        let address = Address::new(Kind::SagemakerDomain, (*name).clone());
        // Security groups are mandatory for VpcOnly.
        if domain.security_groups.is_empty() {
            let users: Vec<_> =
                spec.sagemaker_users.values().filter(|u| u.domain.spec_name() == Some(name.as_str())).collect();
            if users.is_empty() || users.iter().any(|u| u.security_groups.is_empty()) {
                found.push(
                    Diagnostic::new(codes::VPC_ONLY_SECURITY_GROUPS, format!("`{address}` is `VpcOnly` but has no security groups"))
                        .at(ctx.at(&format!("{address}.network_access")))
                        .address(&address)
                        .hint("set `security_groups` on the domain (or on every user profile); SageMaker requires them in VpcOnly mode"),
                );
            }
        }
        // The Studio group admits itself.
        for (i, group_ref) in domain.security_groups.iter().enumerate() {
            let RefTarget::Spec(group_address) = group_ref.target(Kind::SecurityGroup) else { continue };
            let Some(group) = spec.security_groups.get(&group_address.name) else { continue };
            if !has_self_rule(group) {
                found.push(
                    Diagnostic::new(codes::STUDIO_SELF_RULE, format!("`{group_address}` is a Studio security group but does not admit traffic from itself"))
                        .at(ctx.at(&format!("{address}.security_groups[{i}]")))
                        .address(&group_address)
                        .label(format!("used by `{address}`"))
                        .hint(format!("add `{{ protocol = \"all\", source = \"self\" }}` to `{group_address}.ingress`; Studio apps and the home EFS talk to each other through it")),
                );
            }
        }
        if domain.home_efs_on_delete == HomeEfsOnDelete::Retain {
            found.push(
                Diagnostic::new(codes::HOME_EFS_RETAINED, format!("deleting `{address}` will leave its home EFS and the two NFS security groups behind"))
                    .at(ctx.at(&format!("{address}.home_efs_on_delete")))
                    .address(&address)
                    .note("the EFS mount targets block deleting the domain's subnets until removed by hand")
                    .hint("set `home_efs_on_delete = \"Delete\"`, or silence `home-efs-retained` with the reason the home directories must survive"),
            );
        }
    }

    // EMR clusters Studio connects to through Livy, and those it may reach without it.
    for (name, cluster) in &spec.emr_clusters {
        let runs = |app: &str| cluster.applications.iter().any(|a| a.eq_ignore_ascii_case(app));
        let address = Address::new(Kind::EmrCluster, name.clone());
        for (domain_name, domain) in &vpc_only {
            let domain_address = format!("sagemaker_domain.{domain_name}");
            let domain_vpc = ctx.vpc_identity(&domain.vpc);
            let cluster_vpc = cluster.subnets.iter().find_map(|s| ctx.vpc_of_subnet(s));
            if let (Some(domain_vpc), Some(cluster_vpc)) = (&domain_vpc, &cluster_vpc)
                && domain_vpc != cluster_vpc
            {
                if runs("livy") {
                    found.push(
                        Diagnostic::new(codes::EMR_OUTSIDE_DOMAIN_VPC, format!("`{address}` runs Livy in `{cluster_vpc}`, but `{domain_address}` is in `{domain_vpc}`"))
                            .at(ctx.at(&format!("{address}.subnets")))
                            .address(&address)
                            .hint("put the cluster in subnets of the domain's VPC; Studio notebooks reach EMR only inside their own VPC"),
                    );
                }
                continue;
            }
            let studio = Studio::of(spec, domain_name, domain);
            let master_groups: Vec<&Ref> =
                cluster.master_security_group.iter().chain(&cluster.additional_master_security_groups).collect();
            if !runs("livy") || !runs("spark") {
                // Studio is let in on Livy's port, but nothing there answers a notebook.
                let admitting = master_groups.iter().find(|group_ref| {
                    spec_group(spec, group_ref).is_some_and(|group| admits_livy(group, group_ref, &studio))
                });
                if let Some(group_ref) = admitting {
                    let missing: Vec<&str> = ["Livy", "Spark"].into_iter().filter(|app| !runs(app)).collect();
                    let listed = missing.iter().map(|app| format!("\"{app}\"")).collect::<Vec<_>>().join(", ");
                    let at = ctx.at(&format!("{address}.applications")).or_else(|| ctx.key_at(&address.to_string()));
                    found.push(
                        Diagnostic::new(codes::STUDIO_CLUSTER_WITHOUT_LIVY, format!("`{address}` admits `{domain_address}`'s notebooks on tcp/{LIVY_PORT} through `{group_ref}`, but does not run {}", missing.join(" or ")))
                            .at(at)
                            .address(&address)
                            .label("Studio notebooks connect to Spark through Livy on the master node")
                            .note("`%sm_analytics emr connect` then fails with `Cannot connect to livy service`")
                            .hint(format!("add {listed} to `{address}.applications` (set only at creation: this replaces the cluster); if Studio reaches this cluster for something else, silence `studio-cluster-without-livy` with what")),
                    );
                }
                continue;
            }
            let Some(master) = &cluster.master_security_group else {
                found.push(
                    Diagnostic::new(codes::LIVY_PORT_CLOSED, format!("`{address}` has no `master_security_group`, so EMR's default master group will not admit Studio on tcp/{LIVY_PORT}"))
                        .at(ctx.key_at(&address.to_string()))
                        .address(&address)
                        .note("Studio notebooks then fail with `Cannot connect to livy service`")
                        .hint("set `master_security_group` and `core_security_group` to groups of the spec, and let the master group admit the Studio group on tcp/8998"),
                );
                continue;
            };
            // The way in: a master group admits the Studio groups or subnets.
            let admitted = master_groups.iter().any(|group_ref| {
                spec_group(spec, group_ref).is_none_or(|group| admits_livy(group, group_ref, &studio))
            });
            if !admitted {
                let first =
                    studio.groups.first().map_or_else(|| "<studio group>".to_owned(), |g| g.as_str().to_owned());
                found.push(
                    Diagnostic::new(codes::LIVY_PORT_CLOSED, format!("the master group `{master}` of `{address}` does not admit `{domain_address}`'s security groups on tcp/{LIVY_PORT}"))
                        .at(ctx.at(&format!("{address}.master_security_group")))
                        .address(&address)
                        .label("Livy listens on 8998 on the master node")
                        .note("Studio notebooks then fail with `Cannot connect to livy service: ip-…:8998`")
                        .hint(format!("add `{{ protocol = \"tcp\", ports = {LIVY_PORT}, source = \"{first}\", description = \"Livy from Studio\" }}` to `security_group.{master}.ingress`")),
                );
            }
            // The way out: a Studio group lets the notebook reach the master node.
            let cluster_cidrs = subnet_cidrs(spec, &cluster.subnets);
            let groups: Option<Vec<(&Ref, &SecurityGroup)>> =
                studio.groups.iter().map(|g| spec_group(spec, g).map(|group| (*g, group))).collect();
            let Some(groups) = groups.filter(|g| !g.is_empty()) else { continue };
            if !groups.iter().any(|(group_ref, group)| reaches_livy(group, group_ref, &master_groups, &cluster_cidrs)) {
                let (first, _) = groups[0];
                let group_address = format!("security_group.{first}");
                found.push(
                    Diagnostic::new(codes::LIVY_EGRESS_CLOSED, format!("no security group of `{domain_address}` lets notebooks out to `{address}` on tcp/{LIVY_PORT}"))
                        .at(ctx.at(&format!("{group_address}.egress")))
                        .address(Address::new(Kind::SecurityGroup, first.as_str()))
                        .label(format!("`{domain_address}`'s notebooks leave through these rules"))
                        .note("Studio notebooks then fail with `Cannot connect to livy service: ip-…:8998`")
                        .hint(format!("add `{{ protocol = \"tcp\", ports = {LIVY_PORT}, destination = \"{master}\", description = \"Livy on EMR\" }}` to `{group_address}.egress`")),
                );
            }
        }
    }

    // EMR templates Studio users are allowed to launch but will not see.
    let studio_roles: Vec<(&Ref, String)> = spec
        .sagemaker_domains
        .iter()
        .map(|(name, domain)| (&domain.execution_role, format!("sagemaker_domain.{name}")))
        .chain(spec.sagemaker_users.iter().filter_map(|(name, user)| {
            user.execution_role.as_ref().map(|role| (role, format!("sagemaker_user.{name}")))
        }))
        .collect();
    for (name, product) in &spec.catalog_products {
        if product.studio_visible
            || product.tags.get(STUDIO_VISIBILITY_TAG).is_some_and(|v| v == "true")
            || !creates_emr_cluster(&product.template.text)
        {
            continue;
        }
        let RefTarget::Spec(portfolio_address) = product.portfolio.target(Kind::CatalogPortfolio) else { continue };
        let Some(portfolio) = spec.catalog_portfolios.get(&portfolio_address.name) else { continue };
        let shared = studio_roles
            .iter()
            .find(|(role, _)| portfolio.principals.iter().any(|principal| ctx.same_role(principal, role)));
        if let Some((role, user)) = shared {
            let address = Address::new(Kind::CatalogProduct, name.clone());
            found.push(
                Diagnostic::new(codes::STUDIO_TEMPLATE_HIDDEN, format!("`{address}` launches an EMR cluster from `{portfolio_address}`, which is shared with `{role}`, the execution role of `{user}`, but Studio will not list it"))
                    .at(ctx.key_at(&address.to_string()))
                    .address(&address)
                    .note(format!("Studio lists only the products tagged `{STUDIO_VISIBILITY_TAG} = true`"))
                    .hint(format!("set `studio_visible = true` on `{address}` (a tag, changed in place), or silence `studio-template-hidden` with the reason Studio must not offer it")),
            );
        }
    }
    ctx.out.extend(found);
}

fn covers_port(protocol: Protocol, ports: Option<&Ports>, port: i64) -> bool {
    match protocol {
        Protocol::All => true,
        Protocol::Tcp => ports.and_then(Ports::range).is_some_and(|(from, to)| from <= port && port <= to),
        Protocol::Udp | Protocol::Icmp => false,
    }
}

fn has_self_rule(group: &SecurityGroup) -> bool {
    group.ingress.iter().any(|rule| {
        rule.source.as_ref().is_some_and(|s| s.as_str() == SELF_PEER)
            && (rule.protocol == Protocol::All
                || (rule.protocol == Protocol::Tcp && rule.ports.as_ref().and_then(Ports::range) == Some((0, 65535))))
    })
}

/// Where a domain's notebooks run: its security groups (and its users'), and its subnets.
struct Studio<'a> {
    groups: Vec<&'a Ref>,
    cidrs: Vec<Ipv4Cidr>,
}

impl<'a> Studio<'a> {
    fn of(spec: &'a Spec, domain_name: &str, domain: &'a SagemakerDomain) -> Self {
        let users = spec.sagemaker_users.values().filter(|u| u.domain.spec_name() == Some(domain_name));
        Studio {
            groups: domain.security_groups.iter().chain(users.flat_map(|u| &u.security_groups)).collect(),
            cidrs: subnet_cidrs(spec, &domain.subnets),
        }
    }
}

fn spec_group<'s>(spec: &'s Spec, group_ref: &Ref) -> Option<&'s SecurityGroup> {
    match group_ref.target(Kind::SecurityGroup) {
        RefTarget::Spec(address) => spec.security_groups.get(&address.name),
        _ => None,
    }
}

fn subnet_cidrs(spec: &Spec, subnets: &[Ref]) -> Vec<Ipv4Cidr> {
    subnets
        .iter()
        .filter_map(|s| s.spec_name().and_then(|n| spec.subnets.get(n)))
        .filter_map(|s| Ipv4Cidr::parse(&s.cidr).ok())
        .collect()
}

/// True when `peer` (a rule's group, `self` meaning `group_ref`) is one of `groups`.
fn names_one_of(peer: &Ref, group_ref: &Ref, groups: &[&Ref]) -> bool {
    let peer = if peer.as_str() == SELF_PEER { group_ref } else { peer };
    groups.iter().any(|g| g.target(Kind::SecurityGroup) == peer.target(Kind::SecurityGroup))
}

/// True when `cidr` is an IPv4 block holding every one of `cidrs` (and there are some).
fn covers_all(cidr: Option<&str>, cidrs: &[Ipv4Cidr]) -> bool {
    match cidr.map(IpCidr::parse) {
        Some(Ok(IpCidr::V4(cidr))) => {
            !cidrs.is_empty() && cidrs.iter().all(|s| cidr.canonical().contains(s.canonical()))
        }
        _ => false,
    }
}

fn admits_livy(group: &SecurityGroup, group_ref: &Ref, studio: &Studio<'_>) -> bool {
    group.ingress.iter().filter(|rule| covers_port(rule.protocol, rule.ports.as_ref(), LIVY_PORT)).any(|rule| {
        match &rule.source {
            Some(source) => names_one_of(source, group_ref, &studio.groups),
            None => covers_all(rule.cidr.as_deref(), &studio.cidrs),
        }
    })
}

/// True when `group` lets traffic out to Livy on a master group or the cluster's subnets.
/// A group without `egress` keeps AWS's default rule: everything out.
fn reaches_livy(group: &SecurityGroup, group_ref: &Ref, master_groups: &[&Ref], cluster_cidrs: &[Ipv4Cidr]) -> bool {
    let Some(egress) = &group.egress else { return true };
    egress.iter().filter(|rule| covers_port(rule.protocol, rule.ports.as_ref(), LIVY_PORT)).any(|rule| {
        match &rule.destination {
            Some(destination) => names_one_of(destination, group_ref, master_groups),
            None => covers_all(rule.cidr.as_deref(), cluster_cidrs),
        }
    })
}

/// True when a CloudFormation template creates an EMR cluster (the templates Studio lists).
fn creates_emr_cluster(template: &str) -> bool {
    let Ok(documents) = Yaml::load_from_str(template) else { return false };
    let resources = documents.first().and_then(|d| yaml_get(d, "Resources")).and_then(Yaml::as_mapping);
    resources.is_some_and(|resources| {
        resources.values().any(|r| yaml_get(r, "Type").and_then(Yaml::as_str) == Some("AWS::EMR::Cluster"))
    })
}

#[cfg(test)]
mod tests {
    use super::creates_emr_cluster;

    #[test]
    fn templates_are_read_through_their_short_form_tags() {
        let template = "\
Parameters:
  SageMakerProjectName: {Type: String}
Conditions:
  Big: !Equals [!Ref SageMakerProjectName, big]
Resources:
  Cluster:
    Type: AWS::EMR::Cluster
    Properties:
      Name: !Sub '${SageMakerProjectName}-emr'
      ReleaseLabel: !If [Big, emr-7.1.0, !Ref 'AWS::NoValue']
      JobFlowRole: !GetAtt Profile.Arn
";
        assert!(creates_emr_cluster(template));
        assert!(creates_emr_cluster(r#"{"Resources": {"C": {"Type": "AWS::EMR::Cluster"}}}"#), "JSON is YAML");
        assert!(!creates_emr_cluster("Resources:\n  B: {Type: AWS::S3::Bucket}\n"));
        assert!(!creates_emr_cluster("Resources: !Ref Elsewhere\n"), "not a mapping");
        assert!(!creates_emr_cluster("Resources: ["), "not YAML");
        assert!(!creates_emr_cluster(""));
    }
}
