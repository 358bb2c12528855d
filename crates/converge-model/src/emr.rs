//! What EMR does on its own that converge must know to tell its doing from drift.

/// The EBS volumes EMR gives an instance of an EBS-only type when the request
/// names none, on EMR 5.22.0 and later: how many, of how many GiB (EMR
/// Management Guide, "Default Amazon EBS storage for instances"). `None` for a
/// type with instance store (a `d` after the generation, as in m5d, r6gd or
/// m5dn, and the storage families i, d, h1, x1), an older release, or a size the
/// guide does not list.
pub fn default_ebs_volumes(instance_type: &str, release: &str) -> Option<(i64, i64)> {
    let (family, size) = instance_type.split_once('.')?;
    let after_generation =
        family.trim_start_matches(|c: char| c.is_ascii_alphabetic()).trim_start_matches(|c: char| c.is_ascii_digit());
    let instance_store = after_generation.contains('d')
        || family.starts_with('i')
        || family.starts_with('d')
        || family.starts_with("h1")
        || family.starts_with("x1");
    let version = release_version(release)?;
    if instance_store || version < (5, 22, 0) {
        return None;
    }
    Some(match size {
        "large" => (1, 32),
        "xlarge" => (2, 32),
        "2xlarge" => (4, 32),
        "4xlarge" => (4, 64),
        "8xlarge" => (4, 128),
        "9xlarge" => (4, 144),
        "10xlarge" => (4, 160),
        "12xlarge" => (4, 192),
        "16xlarge" => (4, 256),
        "18xlarge" => (4, 288),
        "24xlarge" => (4, 384),
        _ => return None,
    })
}

/// `emr-6.15.0` → `(6, 15, 0)`.
pub fn release_version(release: &str) -> Option<(u32, u32, u32)> {
    let mut parts = release.strip_prefix("emr-")?.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next().flatten().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::default_ebs_volumes;

    #[test]
    fn ebs_only_types_get_the_guides_volumes() {
        assert_eq!(default_ebs_volumes("m5.xlarge", "emr-6.15.0"), Some((2, 32)));
        assert_eq!(default_ebs_volumes("r5.12xlarge", "emr-7.1.0"), Some((4, 192)));
        assert_eq!(default_ebs_volumes("m5d.xlarge", "emr-6.15.0"), None, "instance store");
        assert_eq!(default_ebs_volumes("i3.2xlarge", "emr-6.15.0"), None);
        assert_eq!(default_ebs_volumes("m5.xlarge", "emr-5.21.0"), None, "before 5.22.0");
    }
}
