//! What `mailprov check` shows: the table as read (IDs masked), reading
//! notes, row errors and the plan, as aligned text or as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::forms::{Column, Form, FormKind};
use crate::identity::{mask, redact};
use crate::model::{RowError, RowRef};
use crate::plan::{Plan, Step};

/// One data row as read.
#[derive(Debug, Serialize)]
pub struct CheckRow {
    /// Position among the data rows.
    pub index: usize,
    /// The STT cell as written.
    pub stt: String,
    /// Cells by column name; ID numbers masked.
    pub cells: BTreeMap<String, String>,
}

/// One planned step.
#[derive(Debug, Serialize)]
pub struct CheckStep {
    /// The row it carries out.
    pub row: RowRef,
    /// The operation, as the journal names it; `None` when there is
    /// nothing to do.
    pub operation: Option<String>,
    /// Why there is nothing to do, in Vietnamese.
    pub nothing: Option<String>,
}

/// Everything `check` found out about one file.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    /// The file's name.
    pub file: String,
    /// Whether `process` would apply it.
    pub ok: bool,
    /// The file could not be read as a form at all.
    pub read_error: Option<String>,
    /// Which form it is.
    pub form: Option<FormKind>,
    /// Letter-head document number.
    pub doc_number: Option<String>,
    /// The unit the confirmation is for.
    pub requesting_unit: Option<String>,
    /// Corrections made while reading.
    pub warnings: Vec<String>,
    /// The table as read.
    pub rows: Vec<CheckRow>,
    /// Row errors (the file would be rejected).
    pub errors: Vec<RowError>,
    /// The same content was applied before (would be refused).
    pub duplicate: bool,
    /// The plan, when the file is valid.
    pub plan: Vec<CheckStep>,
}

fn columns(kind: FormKind) -> Vec<Column> {
    match kind {
        FormKind::Accounts => vec![
            Column::Stt,
            Column::Name,
            Column::BirthDate,
            Column::Gender,
            Column::Id,
            Column::Title,
            Column::Unit,
            Column::Action,
        ],
        FormKind::Changes => vec![Column::Stt, Column::What, Column::NewValue, Column::Note],
    }
}

impl CheckReport {
    pub fn new(file: &str) -> CheckReport {
        CheckReport {
            file: file.to_string(),
            ok: false,
            read_error: None,
            form: None,
            doc_number: None,
            requesting_unit: None,
            warnings: Vec::new(),
            rows: Vec::new(),
            errors: Vec::new(),
            duplicate: false,
            plan: Vec::new(),
        }
    }

    pub fn set_form(&mut self, form: &Form) {
        self.form = Some(form.kind);
        self.doc_number = form.meta.doc_number.clone();
        self.requesting_unit = form.requesting_unit();
        self.warnings = form.warnings.clone();
        self.rows = form
            .rows
            .iter()
            .map(|r| CheckRow {
                index: r.row.index,
                stt: r.row.stt.clone(),
                cells: columns(form.kind)
                    .into_iter()
                    .filter(|c| *c != Column::Stt)
                    .map(|c| {
                        let t = r.get(c).replace('\n', " ");
                        let t = if c == Column::Id {
                            mask(&t)
                        } else {
                            redact(&t)
                        };
                        (format!("{c:?}"), t)
                    })
                    .collect(),
            })
            .collect();
    }

    pub fn set_plan(&mut self, plan: &Plan) {
        self.plan = plan
            .rows
            .iter()
            .map(|r| match &r.step {
                Step::Apply(op) => CheckStep {
                    row: r.row.clone(),
                    operation: Some(op.describe()),
                    nothing: None,
                },
                Step::Nothing(reason) => CheckStep {
                    row: r.row.clone(),
                    operation: None,
                    nothing: Some(reason.clone()),
                },
            })
            .collect();
    }

    /// Aligned text for a terminal (widths counted in characters, so
    /// Vietnamese lines up).
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "== {}", self.file);
        if let Some(e) = &self.read_error {
            let _ = writeln!(out, "cannot read: {e}");
            return out;
        }
        let Some(kind) = self.form else { return out };
        let _ = writeln!(
            out,
            "form: {}",
            match kind {
                FormKind::Accounts => "Form 1 (create / lock / unlock / delete)",
                FormKind::Changes => "Form 2 (change of information)",
            }
        );
        let _ = writeln!(
            out,
            "document number: {}",
            self.doc_number.as_deref().unwrap_or("-")
        );
        let _ = writeln!(
            out,
            "requesting unit: {}",
            self.requesting_unit.as_deref().unwrap_or("-")
        );
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        let cols = columns(kind);
        let mut table: Vec<Vec<String>> = vec![std::iter::once("#".to_string())
            .chain(cols.iter().map(|c| format!("{c:?}")))
            .collect()];
        for r in &self.rows {
            let mut line = vec![r.index.to_string(), r.stt.clone()];
            line.extend(
                cols.iter()
                    .filter(|c| **c != Column::Stt)
                    .map(|c| r.cells.get(&format!("{c:?}")).cloned().unwrap_or_default()),
            );
            table.push(line);
        }
        let widths: Vec<usize> = (0..table[0].len())
            .map(|i| {
                table
                    .iter()
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for r in &table {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(t, w)| format!("{t}{}", " ".repeat(w - t.chars().count())))
                .collect();
            let _ = writeln!(out, "  {}", cells.join(" | ").trim_end());
        }
        if !self.errors.is_empty() {
            let _ = writeln!(out, "\nRejected, {} row error(s):", self.errors.len());
            for e in &self.errors {
                let _ = writeln!(out, "  {e}");
            }
        }
        if self.duplicate {
            let _ = writeln!(out, "\nThis content was applied before: `process` and `run` would refuse it as a duplicate.");
        }
        if self.ok {
            let n = self.plan.iter().filter(|s| s.operation.is_some()).count();
            let _ = writeln!(out, "\nPlan ({n} operations, nothing changed):");
            for s in &self.plan {
                match (&s.operation, &s.nothing) {
                    (Some(op), _) => {
                        let _ = writeln!(out, "  {}: {op}", s.row);
                    }
                    (None, Some(reason)) => {
                        let _ = writeln!(out, "  {}: nothing: {reason}", s.row);
                    }
                    _ => {}
                }
            }
        }
        out
    }
}
