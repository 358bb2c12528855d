//! `converge import`: a spec written from what an account holds, the way a
//! person would write it, for a platform built by hand.
//!
//! [`import`] chooses what to import ([`select`](select::select): what the
//! request names, then everything it uses), names each resource after its AWS
//! name, writes references by name between imported resources, leaves AWS's
//! defaults out, marks every resource `adopt = true`, and writes the policy
//! documents and templates as files beside the spec. It then checks its own
//! work: the spec is checked as `converge validate` checks it and planned
//! against the same live state, and every change that plan makes besides
//! adoption is listed as something converge cannot express, at the end of the
//! spec and in [`Imported::left_out`], never dropped in silence.
//!
//! Pure: it must not know about the AWS SDK, files, the clock or the CLI. It
//! gets a [`LiveState`] (read with `Scope::everything`) and returns texts.

mod render;
mod select;
mod toml;

use std::collections::BTreeMap;

use converge_model::{Address, LiveState};

/// What to import.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The stack name the spec declares.
    pub stack: String,
    /// Only resources in these VPCs (and what they use).
    pub vpc_ids: Vec<String>,
    /// Resources carrying all these tags are imported (with what they use).
    pub tags: Vec<(String, String)>,
    /// Resources whose AWS name starts with this are imported (with what they use).
    pub name_prefix: Option<String>,
    pub emr_clusters: Vec<String>,
    pub domains: Vec<String>,
    pub portfolios: Vec<String>,
    /// Write the account as this environment's (`[env.<name>] stack.account`),
    /// so the spec is ready for more environments; `None`: in `[stack]`.
    pub environment: Option<String>,
}

/// The imported spec and the files it names.
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    /// The spec's file name (`<stack>.toml`).
    pub spec_file: String,
    /// Every file to write, by path relative to the output directory, the spec included.
    pub files: BTreeMap<String, String>,
    /// Each imported resource and its AWS id.
    pub resources: Vec<(Address, String)>,
    /// What the spec cannot say, or what its first plan would still change.
    pub left_out: Vec<Unexpressed>,
}

impl Imported {
    pub fn spec_text(&self) -> &str {
        self.files.get(&self.spec_file).map_or("", String::as_str)
    }
}

/// Something of the account the spec does not say.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unexpressed {
    /// The imported resource it concerns, if any.
    pub address: Option<Address>,
    pub what: String,
}

impl std::fmt::Display for Unexpressed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.address {
            Some(address) => write!(f, "{address}: {}", self.what),
            None => f.write_str(&self.what),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("no {kind} `{id}` in {region}")]
    NotFound { kind: &'static str, id: String, region: String },
    #[error("nothing to import in {region}: no EMR cluster, SageMaker domain or portfolio matches")]
    NothingFound { region: String },
    #[error("`{0}` is not a valid stack name")]
    StackName(String),
    #[error("`{0}` is not a valid environment name")]
    EnvironmentName(String),
    #[error("the imported spec does not pass its own check: {0}")]
    Invalid(String),
}

impl ImportError {
    pub fn hint(&self) -> String {
        match self {
            ImportError::NotFound { .. } => {
                "check the id and the region (`--region`); terminated clusters and deleted domains are not imported"
                    .into()
            }
            ImportError::NothingFound { .. } => {
                "name what to import with `--emr-cluster`, `--domain` or `--portfolio`, or loosen `--vpc`, `--tag` and `--name-prefix`".into()
            }
            ImportError::StackName(_) => {
                "give `--stack` a name of lower-case letters, digits and hyphens, starting with a letter or digit".into()
            }
            ImportError::EnvironmentName(_) => {
                "give `--env` a name of letters, digits, `_` and `-`, starting with a letter or digit (at most 64)".into()
            }
            ImportError::Invalid(_) => "this is a bug in converge import; please report it with the account's shape".into(),
        }
    }
}

/// A spec for what `request` names in `live`, checked against `live`.
pub fn import(live: &LiveState, request: &Request) -> Result<Imported, ImportError> {
    let stack = &request.stack;
    let stack_ok = stack.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && stack.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !stack_ok {
        return Err(ImportError::StackName(stack.clone()));
    }
    if let Some(env) = &request.environment
        && !render::is_spec_name(env)
    {
        return Err(ImportError::EnvironmentName(env.clone()));
    }
    let mut left_out = Vec::new();
    let chosen = select::select(live, request, &mut left_out)?;
    let draft = render::render(live, request, &chosen, &left_out, &BTreeMap::new());
    let leftovers = first_plan(&draft, request, live)?;
    let mut by_address: BTreeMap<Address, Vec<String>> = BTreeMap::new();
    for item in &leftovers {
        if let Some(address) = &item.address {
            by_address.entry(address.clone()).or_default().push(item.what.clone());
        }
    }
    left_out.extend(leftovers);
    left_out.sort();
    left_out.dedup();
    Ok(render::render(live, request, &chosen, &left_out, &by_address))
}

/// What the first plan of the imported spec does besides adopting.
fn first_plan(imported: &Imported, request: &Request, live: &LiveState) -> Result<Vec<Unexpressed>, ImportError> {
    let loader = |path: &str| imported.files.get(path).cloned().ok_or_else(|| "not written by import".to_owned());
    let (file, text) = (&imported.spec_file, imported.spec_text());
    let checked = match &request.environment {
        Some(env) => converge_spec::check_environment(file, text, &loader, env)
            .ok_or_else(|| ImportError::Invalid(format!("the spec has no environment `{env}`")))?,
        None => converge_spec::check(file, text, &loader),
    };
    // A miswired platform is imported as it is: the platform rules' errors are
    // news for the user (`converge validate` shows them), not a failed import.
    let Some(spec) = checked.model else {
        let first = checked.diagnostics.iter().find(|d| d.is_error()).map(|d| d.message.clone()).unwrap_or_default();
        return Err(ImportError::Invalid(first));
    };
    let plan = match converge_plan::plan(&spec, live) {
        Ok(plan) => plan,
        Err(errors) => {
            return Ok(errors
                .iter()
                .map(|e| Unexpressed { address: None, what: format!("the plan fails: {e}") })
                .collect());
        }
    };
    let mut out = Vec::new();
    for change in &plan.changes {
        let address = Some(change.address.clone());
        let changed: Vec<_> = change.fields.iter().filter(|f| f.path != "ownership").collect();
        match change.action {
            converge_plan::Action::Update => {
                for field in changed {
                    out.push(Unexpressed {
                        address: address.clone(),
                        what: format!(
                            "the first apply would change `{}` from {} to {}",
                            field.path, field.before, field.after
                        ),
                    });
                }
            }
            action => out.push(Unexpressed {
                address,
                what: format!(
                    "the first plan would {} it{}",
                    action.as_str(),
                    if changed.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", changed.iter().map(|f| format!("`{}`", f.path)).collect::<Vec<_>>().join(", "))
                    }
                ),
            }),
        }
    }
    Ok(out)
}
