//! The year cycle: deadlines, what is owed, reminders (催报通知), and which declaration's targets
//! are in force.
//!
//! Every configured department owes a target declaration each year; every project with an
//! approved declaration owes a performance report and a self-evaluation. Before and after each
//! deadline, a department that still owes a form gets one reminder per configured day, listing
//! what it owes; each reminder is sent once.

pub mod approvals;

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::NaiveDate;
use rusqlite::{Connection, Transaction};
use serde::{Deserialize, Serialize};

use crate::departments::{self, Department};
use crate::forms::FormKind;
use crate::store;
use crate::text::chinese_date;

/// A form's due date in a year (`[[deadlines]]` in jixiao.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Deadline {
    pub(crate) year: i32,
    /// `target_declaration`, `performance_report` or `self_evaluation`.
    pub(crate) form: String,
    pub(crate) due: NaiveDate,
}

impl Deadline {
    pub(crate) fn kind(&self) -> Option<FormKind> {
        FormKind::from_id(&self.form)
    }
}

/// When reminders go out (`[reminders]` in jixiao.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ReminderSettings {
    /// Days before the deadline, e.g. `[7, 1]`.
    pub(crate) days_before: Vec<u32>,
    /// Days after the deadline, e.g. `[1, 7]`.
    pub(crate) days_after: Vec<u32>,
}

impl Default for ReminderSettings {
    fn default() -> Self {
        ReminderSettings {
            days_before: vec![7, 1],
            days_after: vec![1, 7],
        }
    }
}

/// What the year cycle is worked out from: the deadlines, the reminder days, and the departments
/// that owe forms.
#[derive(Debug, Clone, Copy)]
pub struct Calendar<'a> {
    pub(crate) deadlines: &'a [Deadline],
    pub(crate) reminders: &'a ReminderSettings,
    pub(crate) departments: &'a [Department],
}

/// What a department still owes for one deadline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Owed {
    pub department: String,
    pub form: FormKind,
    pub(crate) year: i32,
    pub(crate) due: NaiveDate,
    /// The projects (by name) that owe the form; empty for a declaration owed by the department.
    pub(crate) projects: Vec<String>,
}

/// The projects of a department with an approved declaration: (key, name).
fn approved_projects(
    conn: &Connection,
    year: i32,
    dept: &str,
) -> anyhow::Result<Vec<(crate::forms::project::ProjectKey, String)>> {
    let mut out = Vec::new();
    for (key, name) in store::submissions::declared_projects(conn, year, dept)? {
        if approvals::approved_declaration(conn, &key)?.is_some() {
            let name = name.unwrap_or_else(|| key.to_string());
            out.push((key, name));
        }
    }
    Ok(out)
}

/// Everything owed for the configured deadlines of `year` (all deadlines when `None`).
pub fn owed(conn: &Connection, cal: &Calendar, year: Option<i32>) -> anyhow::Result<Vec<Owed>> {
    let mut out = Vec::new();
    for d in cal
        .deadlines
        .iter()
        .filter(|d| year.is_none_or(|y| d.year == y))
    {
        let Some(kind) = d.kind() else { continue };
        for dept in cal.departments {
            let projects = match kind {
                FormKind::TargetDeclaration => {
                    if store::submissions::has_accepted_declaration(conn, d.year, &dept.code)? {
                        continue;
                    }
                    Vec::new()
                }
                _ => {
                    let mut missing = Vec::new();
                    for (key, name) in approved_projects(conn, d.year, &dept.code)? {
                        if !store::submissions::has_accepted(conn, &key, kind)? {
                            missing.push(name);
                        }
                    }
                    if missing.is_empty() {
                        continue;
                    }
                    missing
                }
            };
            out.push(Owed {
                department: dept.code.clone(),
                form: kind,
                year: d.year,
                due: d.due,
                projects,
            });
        }
    }
    Ok(out)
}

/// What is owed past its deadline on `today`.
pub fn overdue(conn: &Connection, cal: &Calendar, today: NaiveDate) -> anyhow::Result<Vec<Owed>> {
    Ok(owed(conn, cal, None)?
        .into_iter()
        .filter(|o| o.due < today)
        .collect())
}

/// The context a reminder is written from (`letters/reminder.txt.j2`).
#[derive(Debug, Clone, Serialize)]
pub struct ReminderNotice {
    /// 主送: the department's name.
    pub department: String,
    pub department_code: String,
    pub(crate) form_name: String,
    /// `2026年3月31日`.
    pub deadline: String,
    pub overdue: bool,
    /// Days left before, or days past, the deadline.
    pub days: i64,
    pub missing: Vec<String>,
    #[serde(skip)]
    pub label: String,
    #[serde(skip)]
    pub(crate) year: i32,
    #[serde(skip)]
    pub form: FormKind,
}

/// The reminders due on `today` that have not been sent: for each owed form, the latest
/// reminder day that has come (earlier ones missed while the daemon was stopped are not sent
/// late on top of it).
pub fn due_reminders(
    conn: &Connection,
    cal: &Calendar,
    today: NaiveDate,
) -> anyhow::Result<Vec<ReminderNotice>> {
    let mut out = Vec::new();
    for o in owed(conn, cal, None)? {
        let mut days: Vec<(NaiveDate, String, bool)> = Vec::new();
        for n in &cal.reminders.days_before {
            days.push((
                o.due - chrono::Days::new(*n as u64),
                format!("before-{n}"),
                false,
            ));
        }
        for n in &cal.reminders.days_after {
            days.push((
                o.due + chrono::Days::new(*n as u64),
                format!("after-{n}"),
                true,
            ));
        }
        let Some((_, label, overdue)) = days
            .into_iter()
            .filter(|(d, _, _)| *d <= today)
            .max_by_key(|(d, _, _)| *d)
        else {
            continue;
        };
        if store::reminders::was_sent(conn, o.year, o.form, &o.department, &label)? {
            continue;
        }
        let dept = departments::by_code(cal.departments, &o.department)
            .context("owed by a configured department")?;
        out.push(ReminderNotice {
            department: dept.name.clone(),
            department_code: dept.code.clone(),
            form_name: o.form.full_name().to_string(),
            deadline: chinese_date(o.due),
            overdue,
            days: (today - o.due).num_days().abs(),
            missing: o.projects.clone(),
            label,
            year: o.year,
            form: o.form,
        });
    }
    Ok(out)
}

/// Records a reminder as sent, in the transaction that queues its message.
pub fn record_sent(
    tx: &Transaction,
    n: &ReminderNotice,
    today: NaiveDate,
    outbox_id: Option<i64>,
) -> anyhow::Result<()> {
    store::reminders::record_sent(
        tx,
        &store::reminders::SentReminder {
            year: n.year,
            form: n.form,
            department: &n.department_code,
            label: &n.label,
            sent_on: &today.to_string(),
            outbox_id,
            projects: &n.missing,
        },
    )?;
    Ok(())
}

/// Overdue departments grouped for display: department code → forms owed.
pub(crate) fn overdue_by_department(items: &[Owed]) -> BTreeMap<String, Vec<&Owed>> {
    let mut map: BTreeMap<String, Vec<&Owed>> = BTreeMap::new();
    for o in items {
        map.entry(o.department.clone()).or_default().push(o);
    }
    map
}
