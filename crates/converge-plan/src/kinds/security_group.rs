//! A security group and its rules.

use converge_model::live::LiveSecurityGroup;
use converge_model::{Address, Kind, Ports, Protocol, Ref, RefTarget, SELF_PEER, SecurityGroup, Tags};
use converge_ops::{Direction, Ec2Op, Id, IpProtocol, Operation, Peer, Phase, Rule};

use super::fields;
use crate::attrs::{Attrs, live_rules, rules_value, tag_map};
use crate::desired::{Resolver, UNNUMBERED, security_group_name};
use crate::fields::Mutability::{InPlace, Replace};
use crate::normalize;
use crate::operations::{Changed, Context, ResourceOps};
use crate::value::Value;

fields! {
    Vpc = "vpc" => Replace("a security group cannot move to another VPC"),
    Name = "name" => Replace("EC2 cannot rename a security group"),
    Description = "description" => Replace("EC2 cannot change a security group's description"),
    Ingress = "ingress" => InPlace,
    Egress = "egress" => InPlace,
    Tags = "tags" => InPlace,
}

/// `own` is the group's id, for rules naming the group itself.
pub(crate) fn desired(g: &DesiredGroup, own: &Id) -> Attrs {
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Vpc => Value::id(&g.vpc),
            Field::Name => Value::str(&g.name),
            Field::Description => Value::str(&g.description),
            Field::Ingress => rules_value(&g.ingress, own),
            Field::Egress => rules_value(&g.egress, own),
            Field::Tags => tag_map(&g.tags),
        })
    })
}

pub(crate) fn live(g: &LiveSecurityGroup) -> Attrs {
    let own = Id::known(&g.id);
    super::attrs(Field::ALL, Field::path, |field| {
        Some(match field {
            Field::Vpc => Value::str(&g.vpc_id),
            Field::Name => Value::str(&g.name),
            Field::Description => Value::str(&g.description),
            Field::Ingress => rules_value(&live_rules(&g.ingress), &own),
            Field::Egress => rules_value(&live_rules(&g.egress), &own),
            Field::Tags => tag_map(&g.tags),
        })
    })
}

// ---- what the spec wants --------------------------------------------------------

pub(crate) struct DesiredGroup {
    pub vpc: Id,
    pub name: String,
    pub description: String,
    pub ingress: Vec<Rule>,
    pub egress: Vec<Rule>,
    pub tags: Tags,
}

/// A rule of the spec in the form EC2 stores it.
fn rule(
    protocol: Protocol,
    ports: Option<&Ports>,
    icmp: (Option<i64>, Option<i64>),
    peer: Peer,
    description: Option<&String>,
) -> Rule {
    let (protocol, from_port, to_port) = match protocol {
        Protocol::All => (IpProtocol::All, None, None),
        Protocol::Icmp => {
            let (icmp_type, icmp_code) = icmp;
            let icmp_type = icmp_type.unwrap_or(-1);
            let icmp_code = if icmp_type < 0 { -1 } else { icmp_code.unwrap_or(-1) };
            (IpProtocol::Icmp, Some(icmp_type), Some(icmp_code))
        }
        Protocol::Tcp | Protocol::Udp => {
            let (from, to) = ports.and_then(Ports::range).unwrap_or((0, 65535));
            let protocol = if protocol == Protocol::Tcp { IpProtocol::Tcp } else { IpProtocol::Udp };
            (protocol, Some(from), Some(to))
        }
    };
    Rule { protocol, from_port, to_port, peer, description: description.cloned() }
}

/// The group's own id: known, or the output of its create step.
fn own_id(r: &Resolver<'_>, address: &Address) -> Id {
    match r.ids.get(address) {
        Some(id) => Id::known(id),
        None => Id::Output { output_of: UNNUMBERED, address: address.clone() },
    }
}

fn peer(
    r: &Resolver<'_>,
    own_address: &Address,
    own: &Id,
    cidr: Option<&String>,
    group: Option<&Ref>,
    prefix_list: Option<&String>,
) -> Peer {
    if let (None, None, Some(list)) = (cidr, group, prefix_list) {
        return Peer::PrefixList(list.clone());
    }
    match (cidr, group) {
        (Some(cidr), _) => Peer::Cidr(normalize::cidr(cidr)),
        (None, Some(group)) if group.as_str() == SELF_PEER => Peer::Group(own.clone()),
        (None, Some(group)) if group.target(Kind::SecurityGroup) == RefTarget::Spec(own_address.clone()) => {
            Peer::Group(own.clone())
        }
        (None, Some(group)) => Peer::Group(r.id(group, Kind::SecurityGroup)),
        (None, None) => Peer::Cidr(String::new()),
    }
}

/// The rule EC2 gives every new group: all traffic out to anywhere.
pub(crate) fn default_egress() -> Rule {
    Rule {
        protocol: IpProtocol::All,
        from_port: None,
        to_port: None,
        peer: Peer::Cidr("0.0.0.0/0".to_owned()),
        description: None,
    }
}

pub(crate) fn group(r: &Resolver<'_>, address: &Address, g: &SecurityGroup) -> DesiredGroup {
    // Every key of the spec's security group, so that a key added to the spec language
    // does not compile until the planner says what it means in AWS.
    let SecurityGroup { vpc: _, name: _, description: _, ingress: _, egress: _, tags: _, lifecycle: _ } = g;
    let own = own_id(r, address);
    let mut ingress: Vec<Rule> = g
        .ingress
        .iter()
        .map(|x| {
            let peer = peer(r, address, &own, x.cidr.as_ref(), x.source.as_ref(), x.prefix_list.as_ref());
            rule(x.protocol, x.ports.as_ref(), (x.icmp_type, x.icmp_code), peer, x.description.as_ref())
        })
        .collect();
    let mut egress: Vec<Rule> = match &g.egress {
        // Omitting `egress` keeps the rule EC2 gives every new group.
        None => vec![default_egress()],
        Some(rules) => rules
            .iter()
            .map(|x| {
                let peer = peer(r, address, &own, x.cidr.as_ref(), x.destination.as_ref(), x.prefix_list.as_ref());
                rule(x.protocol, x.ports.as_ref(), (x.icmp_type, x.icmp_code), peer, x.description.as_ref())
            })
            .collect(),
    };
    ingress.sort();
    egress.sort();
    DesiredGroup {
        vpc: r.id(&g.vpc, Kind::Vpc),
        name: security_group_name(r.spec, &address.name, g),
        description: g.description.clone(),
        ingress,
        egress,
        tags: r.tags(&g.tags),
    }
}

// ---- operations ----------------------------------------------------------------

pub(crate) fn create_group(
    ctx: &Context<'_>,
    ops: &mut ResourceOps,
    address: &Address,
    g: &DesiredGroup,
    phase: Phase,
) {
    let create = ops.push(
        phase,
        Operation::Ec2(Ec2Op::CreateSecurityGroup {
            vpc: g.vpc.clone(),
            name: g.name.clone(),
            description: g.description.clone(),
            tags: ctx.creation_tags(address, &g.tags),
        }),
        &[Field::Vpc.path(), Field::Name.path(), Field::Description.path(), Field::Tags.path()],
        &[],
    );
    // The rules come once every group they name exists (`Phase::AuthorizeRules`).
    let group = Id::Output { output_of: UNNUMBERED, address: address.clone() };
    // EC2 gives the new group one rule: all traffic out. In a group handed to EMR as a
    // primary or core/task group, that rule is one EMR keeps there: it stays.
    let given = [default_egress()];
    let mut egress = g.egress.clone();
    if ctx.emr_rules.keeps_default_egress(address) && !egress.iter().any(|r| r.permission() == given[0].permission()) {
        egress.push(default_egress());
    }
    change_rules(
        ops,
        Phase::AuthorizeRules,
        &group,
        Direction::Ingress,
        &g.ingress,
        &[],
        Field::Ingress.path(),
        &[create],
    );
    change_rules(
        ops,
        Phase::AuthorizeRules,
        &group,
        Direction::Egress,
        &egress,
        &given,
        Field::Egress.path(),
        &[create],
    );
}

pub(crate) fn update_group(
    ctx: &Context<'_>,
    ops: &mut ResourceOps,
    g: &DesiredGroup,
    live: &LiveSecurityGroup,
    changed: &Changed<'_>,
) {
    let group = Id::known(&live.id);
    for (field, direction, wanted, live_rules_of) in [
        (Field::Ingress.path(), Direction::Ingress, &g.ingress, &live.ingress),
        (Field::Egress.path(), Direction::Egress, &g.egress, &live.egress),
    ] {
        if changed.has(field) {
            // EMR's own rules in a group it is handed are neither revoked nor re-authorised.
            let present = ctx.emr_rules.without_emrs(&live.id, direction, live_rules(live_rules_of), wanted);
            change_rules(ops, Phase::Update, &group, direction, wanted, &present, field, &[]);
        }
    }
}

/// Brings `live` rules to `wanted`: new permissions are authorised before old
/// ones are revoked (no window without access), and a permission that only
/// changes its description is described again (EC2 would reject authorising
/// it a second time with `InvalidPermission.Duplicate`).
#[expect(clippy::too_many_arguments, reason = "one call per direction; a struct would only rename the arguments")]
fn change_rules(
    ops: &mut ResourceOps,
    phase: Phase,
    group: &Id,
    direction: Direction,
    wanted: &[Rule],
    live: &[Rule],
    field: &'static str,
    after: &[usize],
) {
    let find =
        |rules: &[Rule], rule: &Rule| rules.iter().find(|other| other.permission() == rule.permission()).cloned();
    let added: Vec<Rule> = wanted.iter().filter(|r| find(live, r).is_none()).cloned().collect();
    let removed: Vec<Rule> = live.iter().filter(|r| find(wanted, r).is_none()).cloned().collect();
    let described: Vec<Rule> =
        wanted.iter().filter(|r| find(live, r).is_some_and(|l| l.description != r.description)).cloned().collect();
    let mut revoke_after = after.to_vec();
    if !added.is_empty() {
        let rules = added;
        revoke_after = vec![ops.push(
            phase,
            Operation::Ec2(Ec2Op::AuthorizeRules { group: group.clone(), direction, rules }),
            &[field],
            after,
        )];
    }
    if !described.is_empty() {
        let rules = described;
        ops.push(
            phase,
            Operation::Ec2(Ec2Op::UpdateRuleDescriptions { group: group.clone(), direction, rules }),
            &[field],
            after,
        );
    }
    if !removed.is_empty() {
        let rules = removed;
        ops.push(
            phase,
            Operation::Ec2(Ec2Op::RevokeRules { group: group.clone(), direction, rules }),
            &[field],
            &revoke_after,
        );
    }
}

pub(crate) fn delete_group(ops: &mut ResourceOps, g: &LiveSecurityGroup, phase: Phase) {
    // Rules naming other groups go first: groups that name each other could not be deleted otherwise.
    let own = Id::known(&g.id);
    let mut revokes = Vec::new();
    for (direction, rules) in [(Direction::Ingress, &g.ingress), (Direction::Egress, &g.egress)] {
        let naming_others: Vec<Rule> =
            live_rules(rules).into_iter().filter(|r| matches!(&r.peer, Peer::Group(id) if *id != own)).collect();
        if !naming_others.is_empty() {
            let operation = Operation::Ec2(Ec2Op::RevokeRules { group: own.clone(), direction, rules: naming_others });
            revokes.push(ops.push(Phase::RevokeRules, operation, &[], &[]));
        }
    }
    ops.push(phase, Operation::Ec2(Ec2Op::DeleteSecurityGroup { group: own }), &[], &revokes);
}
