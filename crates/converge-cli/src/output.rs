//! `converge output`: the live ids and endpoints of a stack's resources, for
//! the scheduler and the notebooks that must find a rebuilt cluster. Read-only.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use converge_model::Address;
use converge_plan::ResourceOutput;

use crate::live::{self, AwsArgs};
use crate::{Format, files};

pub(crate) async fn run(
    spec: &Path,
    env: Option<&str>,
    address: Option<&str>,
    format: Format,
    args: &AwsArgs,
) -> anyhow::Result<ExitCode> {
    let Some(spec) = files::valid_spec(spec, env)? else { return Ok(ExitCode::from(1)) };
    let only = match address {
        None => None,
        Some(text) => {
            let address = Address::parse(text).filter(|a| spec.addresses().contains(a));
            let Some(address) = address else {
                anyhow::bail!(
                    "`{text}` is not a resource of this spec\n\nhint: name one as KIND.NAME, e.g. `emr_cluster.notebooks`; `converge output <SPEC>` lists them all"
                );
            };
            Some(address)
        }
    };
    let session = live::connect(&spec, args).await?;
    let live = live::read(&session).await?;
    let outputs = converge_plan::outputs(&spec, &live, only.as_ref());
    let text = match format {
        Format::Text => text(&outputs),
        Format::Json => json(&spec.stack, &outputs)?,
    };
    write!(std::io::stdout().lock(), "{text}").context("cannot write to stdout")?;
    // One resource asked for and not there: a script waiting for it should know.
    let missing = only.is_some() && outputs.iter().all(|o| o.values.is_none());
    Ok(if missing { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn text(outputs: &[ResourceOutput]) -> String {
    let width = outputs.iter().map(|o| o.address.to_string().len()).max().unwrap_or(0);
    let mut out = String::new();
    for output in outputs {
        let address = output.address.to_string();
        match &output.values {
            None => {
                let _ = writeln!(out, "{address:<width$}  (not in AWS: `converge apply` creates it)");
            }
            Some(values) => {
                let values: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let _ = writeln!(out, "{address:<width$}  {}", values.join("  "));
            }
        }
    }
    out
}

/// `{"stack": …, "resources": {"emr_cluster.notebooks": {"id": "j-…", …} | null}}`,
/// with `"environment"` for a spec's environment.
pub(crate) fn json(stack: &converge_model::Stack, outputs: &[ResourceOutput]) -> anyhow::Result<String> {
    let resources: serde_json::Map<String, serde_json::Value> = outputs
        .iter()
        .map(|o| {
            let values = o.values.as_ref().map_or(serde_json::Value::Null, |values| {
                values.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone()))).collect()
            });
            (o.address.to_string(), values)
        })
        .collect();
    let mut document = serde_json::json!({ "stack": stack.name, "resources": resources });
    if let Some(environment) = &stack.environment {
        document["environment"] = serde_json::json!(environment);
    }
    Ok(format!("{}\n", serde_json::to_string_pretty(&document).context("cannot render JSON")?))
}
