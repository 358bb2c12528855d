//! AWS partitions: a region's ARNs and endpoints are not the same everywhere
//! (`arn:aws-cn:…` and `amazonaws.com.cn` in China, `arn:aws-us-gov:…` in
//! GovCloud). botocore's `endpoints.json` lists the partitions and their
//! region prefixes; these are the ones a region name tells apart.

/// The partition a region belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// The partition of ARNs: `aws`, `aws-cn`, `aws-us-gov`…
    pub name: &'static str,
    /// The DNS suffix of its endpoints: `amazonaws.com`, `amazonaws.com.cn`…
    pub dns_suffix: &'static str,
}

impl Partition {
    /// The partition of `region` (`cn-north-1` → `aws-cn`); `aws` for any other name.
    pub fn of_region(region: &str) -> Partition {
        let (name, dns_suffix) = if region.starts_with("cn-") {
            ("aws-cn", "amazonaws.com.cn")
        } else if region.starts_with("us-gov-") {
            ("aws-us-gov", "amazonaws.com")
        } else if region.starts_with("us-isob-") {
            ("aws-iso-b", "sc2s.sgov.gov")
        } else if region.starts_with("us-iso-") {
            ("aws-iso", "c2s.ic.gov")
        } else {
            ("aws", "amazonaws.com")
        };
        Partition { name, dns_suffix }
    }
}

#[cfg(test)]
mod tests {
    use super::Partition;

    #[test]
    fn regions_name_their_partition() {
        assert_eq!(Partition::of_region("ap-northeast-1").name, "aws");
        assert_eq!(
            Partition::of_region("cn-northwest-1"),
            Partition { name: "aws-cn", dns_suffix: "amazonaws.com.cn" }
        );
        assert_eq!(Partition::of_region("us-gov-west-1").name, "aws-us-gov");
        assert_eq!(Partition::of_region("us-iso-east-1").name, "aws-iso");
    }
}
