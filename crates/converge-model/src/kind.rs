//! Resource kinds, addresses and references.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Every kind of resource a spec can declare, in dependency-friendly order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Vpc,
    Subnet,
    SecurityGroup,
    IamRole,
    SagemakerDomain,
    SagemakerUser,
    CatalogPortfolio,
    CatalogProduct,
    EmrCluster,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Vpc,
        Kind::Subnet,
        Kind::SecurityGroup,
        Kind::IamRole,
        Kind::SagemakerDomain,
        Kind::SagemakerUser,
        Kind::CatalogPortfolio,
        Kind::CatalogProduct,
        Kind::EmrCluster,
    ];

    /// The top-level table name of the kind in a spec (`emr_cluster`).
    pub fn key(self) -> &'static str {
        match self {
            Kind::Vpc => "vpc",
            Kind::Subnet => "subnet",
            Kind::SecurityGroup => "security_group",
            Kind::IamRole => "iam_role",
            Kind::SagemakerDomain => "sagemaker_domain",
            Kind::SagemakerUser => "sagemaker_user",
            Kind::CatalogPortfolio => "catalog_portfolio",
            Kind::CatalogProduct => "catalog_product",
            Kind::EmrCluster => "emr_cluster",
        }
    }

    pub fn from_key(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.key() == key)
    }

    /// How people call the kind in a sentence ("a security group").
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Vpc => "VPC",
            Kind::Subnet => "subnet",
            Kind::SecurityGroup => "security group",
            Kind::IamRole => "IAM role",
            Kind::SagemakerDomain => "SageMaker domain",
            Kind::SagemakerUser => "SageMaker user profile",
            Kind::CatalogPortfolio => "Service Catalog portfolio",
            Kind::CatalogProduct => "Service Catalog product",
            Kind::EmrCluster => "EMR cluster",
        }
    }

    /// The kind an AWS identifier written literally in a spec belongs to, if any.
    ///
    /// `vpc-0b4c…` is a VPC, `sg-…` a security group, `arn:aws:iam::…:role/…`
    /// an IAM role; names the spec declares never look like this.
    pub fn of_literal(text: &str) -> Option<Kind> {
        if let Some(rest) = text.strip_prefix("arn:") {
            let mut parts = rest.splitn(5, ':');
            let (_partition, service, _region, _account, resource) =
                (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            return match service {
                "iam" if resource.starts_with("role/") => Some(Kind::IamRole),
                "sagemaker" if resource.starts_with("domain/") => Some(Kind::SagemakerDomain),
                "sagemaker" if resource.starts_with("user-profile/") => Some(Kind::SagemakerUser),
                "catalog" | "servicecatalog" if resource.starts_with("portfolio/") => Some(Kind::CatalogPortfolio),
                "catalog" | "servicecatalog" if resource.starts_with("product/") => Some(Kind::CatalogProduct),
                "elasticmapreduce" if resource.starts_with("cluster/") => Some(Kind::EmrCluster),
                _ => None,
            };
        }
        let (prefix, id) = text.split_once('-')?;
        let hex_id = !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        let alnum_id = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric());
        match prefix {
            "vpc" if hex_id => Some(Kind::Vpc),
            "subnet" if hex_id => Some(Kind::Subnet),
            "sg" if hex_id => Some(Kind::SecurityGroup),
            "d" if alnum_id && id.bytes().all(|b| !b.is_ascii_uppercase()) => Some(Kind::SagemakerDomain),
            "port" if alnum_id => Some(Kind::CatalogPortfolio),
            "prod" if alnum_id => Some(Kind::CatalogProduct),
            "j" if alnum_id => Some(Kind::EmrCluster),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A resource's address in the spec: `<kind>.<name>` (`emr_cluster.etl`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub kind: Kind,
    pub name: String,
}

impl Address {
    pub fn new(kind: Kind, name: impl Into<String>) -> Self {
        Address { kind, name: name.into() }
    }

    /// Reads `<kind>.<name>`, the form [`Address`] displays as.
    pub fn parse(text: &str) -> Option<Address> {
        let (kind, name) = text.split_once('.')?;
        Some(Address::new(Kind::from_key(kind)?, name))
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Address::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a `<kind>.<name>` address")))
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.key())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Kind::from_key(&text).ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a resource kind")))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind.key(), self.name)
    }
}

/// A reference from one resource to another, as written in the spec.
///
/// A `Named` reference names a resource the spec declares, either bare
/// (`"studio"`, meaning the kind the field expects) or qualified
/// (`"security_group.studio"`). A `Literal` reference is an AWS identifier or
/// ARN of something the spec does not manage (`"sg-0123abcd"`). Checking that
/// a reference points at a resource of the right kind is the spec checker's
/// job; after a successful check every `Named` reference is bare.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ref {
    Named(String),
    Literal(String),
}

/// What a reference means for a field expecting a given kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefTarget<'a> {
    /// A resource of the spec, by address.
    Spec(Address),
    /// An AWS identifier of the expected kind, not managed by the spec.
    Literal(&'a str),
    /// An AWS identifier or qualified address of another kind.
    WrongKind(Kind),
    /// A qualified address whose kind prefix is not a kind (`"sgroup.x"`).
    Unqualifiable,
}

impl Ref {
    pub fn parse(text: &str) -> Ref {
        if Kind::of_literal(text).is_some() || text.starts_with("arn:") {
            Ref::Literal(text.to_owned())
        } else {
            Ref::Named(text.to_owned())
        }
    }

    /// The text as the user wrote it.
    pub fn as_str(&self) -> &str {
        match self {
            Ref::Named(text) | Ref::Literal(text) => text,
        }
    }

    /// Interprets the reference for a field that expects `expected`.
    pub fn target(&self, expected: Kind) -> RefTarget<'_> {
        match self {
            Ref::Literal(text) => match Kind::of_literal(text) {
                Some(kind) if kind == expected => RefTarget::Literal(text),
                Some(kind) => RefTarget::WrongKind(kind),
                None => RefTarget::Unqualifiable,
            },
            Ref::Named(text) => match text.split_once('.') {
                None => RefTarget::Spec(Address::new(expected, text.clone())),
                Some((kind, name)) => match Kind::from_key(kind) {
                    Some(kind) if kind == expected => RefTarget::Spec(Address::new(kind, name)),
                    Some(kind) => RefTarget::WrongKind(kind),
                    None => RefTarget::Unqualifiable,
                },
            },
        }
    }

    /// The name of the referenced spec resource, if this is a bare spec reference.
    pub fn spec_name(&self) -> Option<&str> {
        match self {
            Ref::Named(name) => Some(name),
            Ref::Literal(_) => None,
        }
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Ref {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Ref {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| Ref::parse(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_recognised_by_shape() {
        assert_eq!(Kind::of_literal("sg-0123abcd"), Some(Kind::SecurityGroup));
        assert_eq!(Kind::of_literal("vpc-0b4cd1e283a3474c0"), Some(Kind::Vpc));
        assert_eq!(Kind::of_literal("arn:aws:iam::123456789012:role/x"), Some(Kind::IamRole));
        assert_eq!(Kind::of_literal("d-abc123xyz"), Some(Kind::SagemakerDomain));
        assert_eq!(Kind::of_literal("emr_master"), None);
        assert_eq!(Kind::of_literal("sg-Studio"), None, "upper case is never an AWS id");
    }

    #[test]
    fn qualified_and_bare_references_resolve_against_the_expected_kind() {
        let bare = Ref::parse("studio");
        assert_eq!(bare.target(Kind::SecurityGroup), RefTarget::Spec(Address::new(Kind::SecurityGroup, "studio")));
        let qualified = Ref::parse("subnet.private_a");
        assert_eq!(qualified.target(Kind::SecurityGroup), RefTarget::WrongKind(Kind::Subnet));
        assert_eq!(Ref::parse("subnet-0abc").target(Kind::SecurityGroup), RefTarget::WrongKind(Kind::Subnet));
        assert_eq!(Ref::parse("sg-0abc").target(Kind::SecurityGroup), RefTarget::Literal("sg-0abc"));
    }
}
