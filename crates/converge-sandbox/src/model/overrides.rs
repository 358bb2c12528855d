//! Where the live API is stricter than its published model: each entry with
//! the source that shows it. The checker applies an entry's bounds instead of
//! the model's for that member of that operation.

use super::Range;
use super::check::{Path, Segment};

struct Override {
    service: &'static str,
    operation: &'static str,
    /// A top-level member of the operation's input.
    member: &'static str,
    range: Range,
    /// Why: a field report or an AWS page.
    #[allow(dead_code, reason = "documentation kept beside the data; docs/aws-fidelity.md cites it")]
    source: &'static str,
}

const OVERRIDES: &[Override] = &[Override {
    service: "servicecatalog",
    operation: "ListPortfolios",
    member: "PageSize",
    range: Range { min: None, max: Some(20.0) },
    source: "turbot/steampipe-plugin-aws aws/table_aws_servicecatalog_portfolio.go: the live API answers \
             PageSize=100 with `ValidationException: 1 validation error detected: Value '100' at 'pageSize' \
             failed to satisfy constraint: Member must have value less than or equal to 20` although the model \
             allows 100",
}];

/// The bounds that replace the model's for the member at `path`, if any.
pub(super) fn range(service: &str, operation: &str, path: &Path) -> Option<&'static Range> {
    let [Segment::Member(member)] = path.as_slice() else { return None };
    OVERRIDES.iter().find(|o| o.service == service && o.operation == operation && o.member == member).map(|o| &o.range)
}
