//! Diagnostics: what is wrong, where, and what to do about it.

use std::fmt::Write as _;

use crate::codes::{Code, Severity};
use crate::source::{SourceFile, Span};

/// A place in one of the [`SourceFile`]s of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// Index into the sources of the check (0 is the spec itself).
    pub file: usize,
    pub span: Span,
}

/// One finding about a spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub location: Option<Location>,
    /// A short text under the highlighted span.
    pub label: Option<String>,
    /// The resource the finding is about; warnings can be silenced on it.
    pub address: Option<String>,
    pub notes: Vec<String>,
    /// What to do about it.
    pub hint: Option<String>,
    /// The environments whose stack has the problem (empty in a spec without
    /// environments, and for problems of the file itself, such as its syntax).
    pub environments: Vec<String>,
}

impl Diagnostic {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity,
            message: message.into(),
            location: None,
            label: None,
            address: None,
            notes: Vec::new(),
            hint: None,
            environments: Vec::new(),
        }
    }

    #[must_use]
    pub fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    #[must_use]
    pub fn address(mut self, address: impl ToString) -> Self {
        self.address = Some(address.to_string());
        self
    }

    #[must_use]
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic as plain text (no colour), rustc-style:
    ///
    /// ```text
    /// error[unknown-key]: unknown key `instance_type` in `emr_cluster.etl.core`
    ///   --> specs/etl.toml:42:1
    ///    |
    /// 42 | instance_type = "m5.xlarge"
    ///    | ^^^^^^^^^^^^^ did you mean `instance_types`?
    ///
    /// hint: …
    /// ```
    pub fn render(&self, sources: &[SourceFile]) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}[{}]: {}", self.severity.as_str(), self.code.name, self.message);
        if let Some(Location { file, span }) = &self.location
            && let Some(source) = sources.get(*file)
        {
            let (line, column) = source.line_col(span.start);
            let gutter = line.to_string().len();
            let pad = " ".repeat(gutter);
            let _ = writeln!(out, "{pad}--> {}:{line}:{column}", source.name);
            let text = source.line(line);
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{line} | {text}");
            let (end_line, end_column) = source.line_col(span.end);
            let width =
                if end_line == line { end_column.saturating_sub(column) } else { text.chars().count() + 1 - column };
            let carets = "^".repeat(width.max(1));
            let indent = " ".repeat(column - 1);
            match &self.label {
                Some(label) => {
                    let _ = writeln!(out, "{pad} | {indent}{carets} {label}");
                }
                None => {
                    let _ = writeln!(out, "{pad} | {indent}{carets}");
                }
            }
            if let Some(line) = self.environments_line() {
                let _ = writeln!(out, "{pad} = {line}");
            }
            for note in &self.notes {
                let _ = writeln!(out, "{pad} = note: {note}");
            }
        } else {
            if let Some(line) = self.environments_line() {
                let _ = writeln!(out, "  = {line}");
            }
            for note in &self.notes {
                let _ = writeln!(out, "  = note: {note}");
            }
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "\nhint: {hint}");
        }
        out
    }

    /// `environment: staging`, or `environments: staging, production`.
    fn environments_line(&self) -> Option<String> {
        match self.environments.as_slice() {
            [] => None,
            [one] => Some(format!("environment: {one}")),
            many => Some(format!("environments: {}", many.join(", "))),
        }
    }

    /// The machine-readable form used by `converge validate --format json`.
    pub fn to_json(&self, sources: &[SourceFile]) -> serde_json::Value {
        let position = self.location.as_ref().and_then(|location| {
            let source = sources.get(location.file)?;
            let (line, column) = source.line_col(location.span.start);
            let (end_line, end_column) = source.line_col(location.span.end);
            Some(serde_json::json!({
                "file": source.name,
                "line": line,
                "column": column,
                "end_line": end_line,
                "end_column": end_column,
            }))
        });
        serde_json::json!({
            "code": self.code.name,
            "severity": self.severity.as_str(),
            "message": self.message,
            "location": position,
            "label": self.label,
            "address": self.address,
            "notes": self.notes,
            "hint": self.hint,
            "environments": self.environments,
        })
    }
}

/// "1 error", "3 warnings"
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}
