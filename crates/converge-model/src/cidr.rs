//! CIDR blocks, parsed with the standard library only.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// An IPv4 CIDR block as written (`10.0.1.0/24`). Host bits may be set; see
/// [`Ipv4Cidr::is_canonical`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

/// Why a CIDR did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CidrError {
    MissingPrefix,
    BadAddress,
    BadPrefix { max: u8 },
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CidrError::MissingPrefix => f.write_str("missing the `/prefix` length"),
            CidrError::BadAddress => f.write_str("the address part is not a valid IP address"),
            CidrError::BadPrefix { max } => write!(f, "the prefix length must be a number from 0 to {max}"),
        }
    }
}

impl Ipv4Cidr {
    pub fn parse(text: &str) -> Result<Self, CidrError> {
        let (addr, prefix) = text.split_once('/').ok_or(CidrError::MissingPrefix)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| CidrError::BadAddress)?;
        let prefix = parse_prefix(prefix, 32)?;
        Ok(Ipv4Cidr { addr, prefix })
    }

    fn mask(self) -> u32 {
        if self.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(self.prefix)) }
    }

    /// The first address of the block.
    pub fn network(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    /// The last address of the block.
    pub fn broadcast(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }

    /// True when no host bits are set (`10.0.1.0/24`, not `10.0.1.7/24`).
    pub fn is_canonical(self) -> bool {
        self.addr == self.network()
    }

    /// The block with host bits cleared, as AWS stores it.
    #[must_use]
    pub fn canonical(self) -> Self {
        Ipv4Cidr { addr: self.network(), prefix: self.prefix }
    }

    /// True when every address of `other` is inside `self`.
    pub fn contains(self, other: Ipv4Cidr) -> bool {
        other.prefix >= self.prefix && (u32::from(other.addr) & self.mask()) == u32::from(self.network())
    }

    /// True when the two blocks share at least one address.
    pub fn overlaps(self, other: Ipv4Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// An IPv4 or IPv6 CIDR block, as security group rules accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpCidr {
    V4(Ipv4Cidr),
    V6 { addr: Ipv6Addr, prefix: u8 },
}

impl IpCidr {
    pub fn parse(text: &str) -> Result<Self, CidrError> {
        if text.contains(':') {
            let (addr, prefix) = text.split_once('/').ok_or(CidrError::MissingPrefix)?;
            let addr: Ipv6Addr = addr.parse().map_err(|_| CidrError::BadAddress)?;
            let prefix = parse_prefix(prefix, 128)?;
            Ok(IpCidr::V6 { addr, prefix })
        } else {
            Ipv4Cidr::parse(text).map(IpCidr::V4)
        }
    }

    pub fn is_canonical(self) -> bool {
        self == self.canonical()
    }

    #[must_use]
    pub fn canonical(self) -> Self {
        match self {
            IpCidr::V4(v4) => IpCidr::V4(v4.canonical()),
            IpCidr::V6 { addr, prefix } => {
                let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
                IpCidr::V6 { addr: Ipv6Addr::from(u128::from(addr) & mask), prefix }
            }
        }
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpCidr::V4(v4) => v4.fmt(f),
            IpCidr::V6 { addr, prefix } => write!(f, "{addr}/{prefix}"),
        }
    }
}

fn parse_prefix(text: &str, max: u8) -> Result<u8, CidrError> {
    let ok = !text.is_empty() && text.len() <= 3 && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u8>() {
        Ok(prefix) if ok && prefix <= max => Ok(prefix),
        _ => Err(CidrError::BadPrefix { max }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment_and_overlap() {
        let vpc = Ipv4Cidr::parse("10.0.0.0/16").unwrap();
        let a = Ipv4Cidr::parse("10.0.1.0/24").unwrap();
        let b = Ipv4Cidr::parse("10.0.1.128/25").unwrap();
        let outside = Ipv4Cidr::parse("10.1.0.0/24").unwrap();
        assert!(vpc.contains(a));
        assert!(!vpc.contains(outside));
        assert!(a.overlaps(b) && b.overlaps(a));
        assert!(!a.overlaps(outside));
        assert!(!vpc.contains(Ipv4Cidr::parse("10.0.0.0/8").unwrap()));
    }

    #[test]
    fn canonical_form_clears_host_bits() {
        let c = Ipv4Cidr::parse("100.68.0.18/18").unwrap();
        assert!(!c.is_canonical());
        assert_eq!(c.canonical().to_string(), "100.68.0.0/18");
        assert_eq!(IpCidr::parse("::/0").unwrap().to_string(), "::/0");
        assert_eq!(IpCidr::parse("2001:db8::1/32").unwrap().canonical().to_string(), "2001:db8::/32");
    }

    #[test]
    fn rejects_malformed_blocks() {
        assert_eq!(Ipv4Cidr::parse("10.0.0.0"), Err(CidrError::MissingPrefix));
        assert_eq!(Ipv4Cidr::parse("10.0.0/8"), Err(CidrError::BadAddress));
        assert_eq!(Ipv4Cidr::parse("10.0.0.0/33"), Err(CidrError::BadPrefix { max: 32 }));
        assert_eq!(Ipv4Cidr::parse("10.0.0.0/+8"), Err(CidrError::BadPrefix { max: 32 }));
        assert_eq!(Ipv4Cidr::parse("0.0.0.0/0").unwrap().broadcast(), Ipv4Addr::BROADCAST);
    }
}
