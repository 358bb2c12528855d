//! A plan as text (terminals and logs), Markdown (pull-request comments) and
//! JSON (bots, versioned). All three are pure functions of the plan.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::json;

use converge_ops::Step;

use crate::change::{Action, FieldChange, Plan, ReplaceOrder, ResourceChange};
use crate::fields::Effect;
use crate::value::{Value, document_text, unified};

/// The version of the JSON plan document.
pub const JSON_FORMAT_VERSION: &str = "2.2";

/// Colours for the text plan; [`Style::plain`] for files, logs and `NO_COLOR`.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn plain() -> Self {
        Style { color: false }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }
}

fn symbol(action: Action) -> &'static str {
    match action {
        Action::Create => "  +",
        Action::Update => "  ~",
        Action::Replace => "-/+",
        Action::Delete => "  -",
    }
}

fn colour(action: Action) -> &'static str {
    match action {
        Action::Create => "32",
        Action::Update => "33",
        Action::Replace => "35",
        Action::Delete => "31",
    }
}

/// ` (environment `staging`)`, or nothing for a spec without environments.
fn environment_of(plan: &Plan) -> String {
    plan.environment.as_ref().map(|env| format!(" (environment `{env}`)")).unwrap_or_default()
}

/// "1 to create, 2 to update, 0 to replace, 1 to delete"
pub fn summary(plan: &Plan) -> String {
    if plan.is_empty() {
        return format!("No changes: {} resources match the spec.", plan.unchanged);
    }
    format!(
        "Plan: {} to create, {} to update, {} to replace, {} to delete ({} unchanged).",
        plan.count(Action::Create),
        plan.count(Action::Update),
        plan.count(Action::Replace),
        plan.count(Action::Delete),
        plan.unchanged
    )
}

/// The quiet line about unchanged resources whose spec digest is recorded again.
pub fn digests_line(plan: &Plan) -> Option<String> {
    let (pending, older): (Vec<_>, Vec<_>) = plan.digests.iter().partition(|d| d.pending);
    let list = |rewrites: &[&crate::change::DigestRewrite]| {
        rewrites.iter().map(|d| format!("`{}`", d.address)).collect::<Vec<_>>().join(", ")
    };
    let mut why = Vec::new();
    if !pending.is_empty() {
        why.push(format!("{} that an apply stopped before recording ({})", pending.len(), list(&pending)));
    }
    if !older.is_empty() {
        why.push(format!("{} written by an older converge ({})", older.len(), list(&older)));
    }
    (!why.is_empty()).then(|| {
        format!(
            "The apply also records the spec digest (converge's own tag, nothing else) of unchanged resources: {}.",
            why.join("; ")
        )
    })
}

fn headline(change: &ResourceChange) -> String {
    let id = change.live_id.as_ref().map(|id| format!(" ({id})")).unwrap_or_default();
    let what = match change.action {
        Action::Create => "will be created".to_owned(),
        Action::Update => "will be updated in place".to_owned(),
        Action::Delete => "will be deleted".to_owned(),
        Action::Replace => {
            let replacement = change.replacement.as_ref();
            let because = replacement
                .filter(|r| !r.caused_by.is_empty())
                .map(|r| {
                    let causes: Vec<String> = r.caused_by.iter().map(|c| format!("`{c}`")).collect();
                    format!(" because {} is replaced", causes.join(" and "))
                })
                .unwrap_or_default();
            format!("must be replaced{because}")
        }
    };
    format!("{}{id} {what}", change.address)
}

/// `warning[studio-subnet-offline]: sagemaker_domain.studio: …` and its hint, one per warning.
pub fn warnings_text(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    for warning in &plan.warnings {
        let label = style.paint("33", &format!("warning[{}]", warning.code));
        let _ = writeln!(out, "{label}: {}: {}\n  hint: {}", warning.address, warning.message, warning.hint);
    }
    out
}

/// The human plan.
pub fn text(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "converge plan for stack `{}`{} in {} (account {})",
        plan.stack,
        environment_of(plan),
        plan.region,
        plan.account
    );
    if !plan.warnings.is_empty() {
        let _ = write!(out, "\n{}", warnings_text(plan, style));
    }
    if plan.is_empty() {
        let _ = writeln!(out, "\n{}", summary(plan));
        if let Some(line) = digests_line(plan) {
            let _ = writeln!(out, "{line}");
        }
        return out;
    }
    let _ = writeln!(out, "\nSymbols: + create, ~ update in place, -/+ replace, - delete\n");
    for change in &plan.changes {
        let sym = style.paint(colour(change.action), symbol(change.action));
        let _ = writeln!(out, "{sym} {}", headline(change));
        if let Some(replacement) = &change.replacement {
            let _ = writeln!(out, "      ({}: {})", replacement.order.as_str(), replacement.order_reason);
        }
        for note in &change.notes {
            let _ = writeln!(out, "      # {note}");
        }
        for field in &change.fields {
            write_field(&mut out, change.action, field);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "Steps (each waits only for the steps in brackets; the others run in parallel):");
    for step in &plan.steps {
        let _ = writeln!(out, "{}", step_line(step));
    }
    let _ = writeln!(out, "\n{}", summary(plan));
    if let Some(line) = digests_line(plan) {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// `   4. create security_group.studio: CreateSecurityGroup "…" in vpc-…  [after 1, 2]`
fn step_line(step: &Step) -> String {
    let after = if step.after.is_empty() {
        String::new()
    } else {
        let ids: Vec<String> = step.after.iter().map(ToString::to_string).collect();
        format!("  [after {}]", ids.join(", "))
    };
    format!("{:>4}. {} {}: {}{after}", step.id, step.phase.as_str(), step.address, step.operation)
}

fn write_field(out: &mut String, action: Action, field: &FieldChange) {
    let note = match (action, &field.effect) {
        (Action::Create, _) => String::new(),
        (_, Effect::Replace(why)) => format!("  # forces replacement: {why}"),
        (_, Effect::Update(calls)) => format!("  # {}", calls.join(", ")),
    };
    if action == Action::Create {
        let _ = writeln!(out, "      + {} = {}", field.path, field.after);
        return;
    }
    match (&field.before, &field.after) {
        (Value::Map(before), Value::Map(after)) => {
            let _ = writeln!(out, "      ~ {}{note}", field.path);
            let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
            for key in keys {
                match (before.get(key), after.get(key)) {
                    (None, Some(v)) => {
                        let _ = writeln!(out, "          + {key:?} = {v}");
                    }
                    (Some(v), None) => {
                        let _ = writeln!(out, "          - {key:?} = {v}");
                    }
                    (Some(a), Some(b)) if a != b || b.has_unknown() => {
                        let _ = writeln!(out, "          ~ {key:?}: {a} → {b}");
                        if b.is_document() || a.is_document() {
                            write_diff(out, &unified(&document_text(a), &document_text(b)));
                        }
                    }
                    _ => {}
                }
            }
        }
        (Value::Set(before), Value::Set(after)) => {
            let _ = writeln!(out, "      ~ {}{note}", field.path);
            for item in after.iter().filter(|i| !before.contains(i)) {
                let _ = writeln!(out, "          + {item}");
            }
            for item in before.iter().filter(|i| !after.contains(i)) {
                let _ = writeln!(out, "          - {item}");
            }
        }
        (before, after)
            if field.diff.is_some()
                && (before.is_document() || after.is_document() || matches!(after, Value::Str(_))) =>
        {
            let _ = writeln!(out, "      ~ {}: {before} → {after}{note}", field.path);
            if let Some(diff) = &field.diff {
                write_diff(out, diff);
            }
        }
        (before, after) => {
            let _ = writeln!(out, "      ~ {}: {before} → {after}{note}", field.path);
        }
    }
}

fn write_diff(out: &mut String, diff: &str) {
    for line in diff.lines() {
        let _ = writeln!(out, "              {line}");
    }
}

/// The plan as a pull-request comment.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### converge plan: `{}`{} ({}, account {})\n",
        plan.stack,
        environment_of(plan),
        plan.region,
        plan.account
    );
    let _ = writeln!(out, "**{}**\n", summary(plan));
    if let Some(line) = digests_line(plan) {
        let _ = writeln!(out, "{line}\n");
    }
    for warning in &plan.warnings {
        let _ = writeln!(
            out,
            "> ⚠️ **warning[{}]** `{}`: {}  \n> hint: {}\n",
            warning.code, warning.address, warning.message, warning.hint
        );
    }
    if plan.is_empty() {
        return out;
    }
    let _ = writeln!(out, "| | resource | action | why |\n|---|---|---|---|");
    for change in &plan.changes {
        let icon = match change.action {
            Action::Create => "🟢",
            Action::Update => "🟡",
            Action::Replace => "🟣",
            Action::Delete => "🔴",
        };
        let _ = writeln!(
            out,
            "| {icon} | `{}` | {} | {} |",
            change.address,
            change.action.as_str(),
            reason_text(change).replace('|', "\\|")
        );
    }
    out.push('\n');
    for change in &plan.changes {
        let _ =
            writeln!(out, "<details><summary><code>{}</code>: {}</summary>\n", change.address, change.action.as_str());
        let _ = writeln!(out, "```diff");
        let mut body = String::new();
        let _ = writeln!(body, "{} {}", symbol(change.action).trim(), headline(change));
        for note in &change.notes {
            let _ = writeln!(body, "# {note}");
        }
        for field in &change.fields {
            write_field(&mut body, change.action, field);
        }
        out.push_str(&body);
        let _ = writeln!(out, "```\n\n</details>\n");
    }
    let _ = writeln!(out, "<details><summary>The {} steps, in order</summary>\n", plan.steps.len());
    let _ = writeln!(out, "```text");
    for step in &plan.steps {
        let _ = writeln!(out, "{}", step_line(step));
    }
    let _ = writeln!(out, "```\n\n</details>");
    out
}

fn reason_text(change: &ResourceChange) -> String {
    match (&change.action, &change.replacement) {
        (Action::Replace, Some(r)) => {
            let fields: Vec<String> = r.forced_by.iter().map(|f| format!("`{f}`")).collect();
            let mut text = format!("{} cannot change in place", fields.join(", "));
            if !r.caused_by.is_empty() {
                let causes: Vec<String> = r.caused_by.iter().map(|c| format!("`{c}`")).collect();
                text.push_str(&format!(" (because {} is replaced)", causes.join(", ")));
            }
            text.push_str(&format!("; {}", r.order.as_str()));
            text
        }
        (Action::Update, _) => {
            let calls: BTreeSet<&str> = change
                .fields
                .iter()
                .flat_map(|f| match &f.effect {
                    Effect::Update(calls) => calls.clone(),
                    Effect::Replace(_) => Vec::new(),
                })
                .collect();
            calls.into_iter().collect::<Vec<_>>().join(", ")
        }
        (Action::Create, _) => "not in AWS".into(),
        (Action::Delete, _) => change.notes.first().cloned().unwrap_or_default(),
        (Action::Replace, None) => String::new(),
    }
}

/// The machine-readable plan (format version [`JSON_FORMAT_VERSION`]).
pub fn json(plan: &Plan) -> serde_json::Value {
    let changes: Vec<serde_json::Value> = plan
        .changes
        .iter()
        .map(|change| {
            let action_reason = match (change.action, &change.replacement) {
                (Action::Create, _) => "create_because_absent",
                (Action::Update, _) => "update_in_place",
                (Action::Delete, _) => "delete_because_not_in_spec",
                (Action::Replace, Some(r)) if !r.caused_by.is_empty() => "replace_because_dependency_replaced",
                (Action::Replace, _) => "replace_because_cannot_update",
            };
            json!({
                "address": change.address.to_string(),
                "kind": change.address.kind.key(),
                "name": change.address.name,
                "live_id": change.live_id,
                "action": change.action.as_str(),
                "action_reason": action_reason,
                "replacement": change.replacement.as_ref().map(|r| json!({
                    "forced_by": r.forced_by,
                    "caused_by": r.caused_by.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "order": match r.order {
                        ReplaceOrder::CreateBeforeDestroy => "create_before_destroy",
                        ReplaceOrder::DestroyBeforeCreate => "destroy_before_create",
                    },
                    "order_reason": r.order_reason,
                })),
                "notes": change.notes,
                "fields": change.fields.iter().map(|f| {
                    let (effect, detail, calls) = match &f.effect {
                        Effect::Replace(why) => ("forces_replacement", (*why).to_owned(), Vec::new()),
                        Effect::Update(calls) => ("update", calls.join(", "), calls.clone()),
                    };
                    json!({
                        "path": f.path,
                        "before": f.before.to_json(),
                        "after": f.after.to_json(),
                        "known_after_apply": f.after.has_unknown(),
                        "effect": effect,
                        "detail": detail,
                        "aws_calls": calls,
                    })
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut document = json!({
        "format_version": JSON_FORMAT_VERSION,
        "stack": plan.stack,
        "account": plan.account,
        "region": plan.region,
        "summary": {
            "create": plan.count(Action::Create),
            "update": plan.count(Action::Update),
            "replace": plan.count(Action::Replace),
            "delete": plan.count(Action::Delete),
            "unchanged": plan.unchanged,
        },
        "warnings": plan.warnings.iter().map(|w| json!({
            "code": w.code,
            "address": w.address.to_string(),
            "message": w.message,
            "hint": w.hint,
        })).collect::<Vec<_>>(),
        "changes": changes,
        "digests": plan.digests.iter().map(|d| json!({
            "address": d.address.to_string(),
            "live_id": d.live_id,
            "recorded": if d.pending { "pending" } else { "older_format" },
        })).collect::<Vec<_>>(),
        "steps": plan.steps.steps().iter().map(|s| json!({
            "id": s.id,
            "address": s.address.to_string(),
            "phase": s.phase.key(),
            "after": s.after,
            "aws_calls": s.operation.aws_calls(),
            "summary": s.operation.to_string(),
            "operation": s.operation,
        })).collect::<Vec<_>>(),
    });
    if let Some(environment) = &plan.environment {
        document["environment"] = json!(environment);
    }
    document
}
