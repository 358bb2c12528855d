//! "Did you mean …?"

/// The candidate closest to `input`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lowered = input.to_ascii_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        if candidate.eq_ignore_ascii_case(input) || candidate.replace(['-', '_'], "") == lowered.replace(['-', '_'], "")
        {
            return Some(candidate);
        }
        let score = strsim::jaro_winkler(&lowered, &candidate.to_ascii_lowercase());
        if score > 0.8 && best.is_none_or(|(best_score, _)| score > best_score) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["instance_types", "on_demand", "spot"];
        assert_eq!(did_you_mean("instance_type", keys), Some("instance_types"));
        assert_eq!(did_you_mean("ondemand", keys), Some("on_demand"));
        assert_eq!(did_you_mean("vpconly", ["PublicInternetOnly", "VpcOnly"]), Some("VpcOnly"));
        assert_eq!(did_you_mean("zzz", keys), None);
    }
}
