//! Deadlines and reminders (催报通知). Every department listed in the configuration owes a target
//! declaration each year; every project with an approved declaration owes a performance report and
//! a self-evaluation. Before and after each deadline, a department that still owes a form gets one
//! reminder per configured day, listing what it owes; each reminder is sent once.

pub mod projects;

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::forms::definitions::FormKind;

/// A form's due date in a year (`[[deadlines]]` in jixiao.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    pub year: i32,
    /// `target_declaration`, `performance_report` or `self_evaluation`.
    pub form: String,
    pub due: NaiveDate,
}

impl Deadline {
    pub fn kind(&self) -> Option<FormKind> {
        FormKind::from_id(&self.form)
    }
}

/// When reminders go out (`[reminders]` in jixiao.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReminderSettings {
    /// Days before the deadline, e.g. `[7, 1]`.
    pub days_before: Vec<u32>,
    /// Days after the deadline, e.g. `[1, 7]`.
    pub days_after: Vec<u32>,
}

impl Default for ReminderSettings {
    fn default() -> Self {
        ReminderSettings {
            days_before: vec![7, 1],
            days_after: vec![1, 7],
        }
    }
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS reminders (
    id          INTEGER PRIMARY KEY,
    year        INTEGER NOT NULL,
    form        TEXT NOT NULL,
    department  TEXT NOT NULL,
    label       TEXT NOT NULL,      -- e.g. before-7, after-1
    sent_on     TEXT NOT NULL,
    outbox_id   INTEGER,
    projects    TEXT NOT NULL,      -- what was owed, as JSON
    UNIQUE (year, form, department, label)
);
"#;

pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)
}

/// What a department still owes for one deadline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Owed {
    pub department: String,
    pub form: FormKind,
    pub year: i32,
    pub due: NaiveDate,
    /// The projects (by name) that owe the form; empty for a declaration owed by the department.
    pub projects: Vec<String>,
}

fn approved_projects(
    conn: &Connection,
    year: i32,
    dept: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT project_key, project_name FROM submissions WHERE year = ?1 AND department = ?2 \
         AND form = 'target_declaration' AND outcome = 'accepted' AND project_key IS NOT NULL",
    )?;
    let rows = stmt.query_map(params![year, dept], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, name) = row?;
        if crate::cycle::projects::approved_declaration(conn, &key)?.is_some() {
            out.push((key.clone(), name.unwrap_or(key)));
        }
    }
    Ok(out)
}

fn has_accepted(conn: &Connection, key: &str, form: FormKind) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM submissions WHERE project_key = ?1 AND form = ?2 AND outcome = 'accepted')",
        params![key, form.id()],
        |r| r.get(0),
    )
}

/// Everything owed for the configured deadlines of `year` (all deadlines when `None`).
pub fn owed(conn: &Connection, cfg: &Config, year: Option<i32>) -> anyhow::Result<Vec<Owed>> {
    let mut out = Vec::new();
    for d in cfg
        .deadlines
        .iter()
        .filter(|d| year.is_none_or(|y| d.year == y))
    {
        let Some(kind) = d.kind() else { continue };
        for dept in &cfg.departments {
            let projects = match kind {
                FormKind::TargetDeclaration => {
                    let any: bool = conn.query_row(
                        "SELECT EXISTS (SELECT 1 FROM submissions WHERE year = ?1 AND department = ?2 \
                         AND form = 'target_declaration' AND outcome = 'accepted')",
                        params![d.year, dept.code],
                        |r| r.get(0),
                    )?;
                    if any {
                        continue;
                    }
                    Vec::new()
                }
                _ => {
                    let mut missing = Vec::new();
                    for (key, name) in approved_projects(conn, d.year, &dept.code)? {
                        if !has_accepted(conn, &key, kind)? {
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
pub fn overdue(conn: &Connection, cfg: &Config, today: NaiveDate) -> anyhow::Result<Vec<Owed>> {
    Ok(owed(conn, cfg, None)?
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
    pub form_name: String,
    /// `2026年3月31日`.
    pub deadline: String,
    pub overdue: bool,
    /// Days left before, or days past, the deadline.
    pub days: i64,
    pub missing: Vec<String>,
    #[serde(skip)]
    pub label: String,
    #[serde(skip)]
    pub year: i32,
    #[serde(skip)]
    pub form: String,
}

pub fn form_name(kind: FormKind) -> &'static str {
    match kind {
        FormKind::TargetDeclaration => "项目支出绩效目标申报表",
        FormKind::PerformanceReport => "项目支出绩效运行监控表",
        FormKind::SelfEvaluation => "项目支出绩效自评表",
    }
}

pub fn chinese_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// The reminders due on `today` that have not been sent: for each owed form, the latest
/// reminder day that has come (earlier ones missed while the daemon was stopped are not sent
/// late on top of it).
pub fn due_reminders(
    conn: &Connection,
    cfg: &Config,
    today: NaiveDate,
) -> anyhow::Result<Vec<ReminderNotice>> {
    let mut out = Vec::new();
    for o in owed(conn, cfg, None)? {
        let mut days: Vec<(NaiveDate, String, bool)> = Vec::new();
        for n in &cfg.reminders.days_before {
            days.push((
                o.due - chrono::Days::new(*n as u64),
                format!("before-{n}"),
                false,
            ));
        }
        for n in &cfg.reminders.days_after {
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
        let sent: Option<i64> = conn
            .query_row(
                "SELECT id FROM reminders WHERE year = ?1 AND form = ?2 AND department = ?3 AND label = ?4",
                params![o.year, o.form.id(), o.department, label],
                |r| r.get(0),
            )
            .optional()?;
        if sent.is_some() {
            continue;
        }
        let dept = cfg
            .department_by_code(&o.department)
            .context("owed by a configured department")?;
        out.push(ReminderNotice {
            department: dept.name.clone(),
            department_code: dept.code.clone(),
            form_name: form_name(o.form).to_string(),
            deadline: chinese_date(o.due),
            overdue,
            days: (today - o.due).num_days().abs(),
            missing: o.projects.clone(),
            label,
            year: o.year,
            form: o.form.id().to_string(),
        });
    }
    Ok(out)
}

/// Records a reminder as sent, in the transaction that queues its message.
pub fn record_sent(
    tx: &rusqlite::Transaction,
    n: &ReminderNotice,
    today: NaiveDate,
    outbox_id: Option<i64>,
) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO reminders (year, form, department, label, sent_on, outbox_id, projects) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            n.year,
            n.form,
            n.department_code,
            n.label,
            today.to_string(),
            outbox_id,
            serde_json::to_string(&n.missing)?
        ],
    )?;
    Ok(())
}

/// Overdue departments grouped for display: department code → forms owed.
pub fn overdue_by_department(items: &[Owed]) -> BTreeMap<String, Vec<&Owed>> {
    let mut map: BTreeMap<String, Vec<&Owed>> = BTreeMap::new();
    for o in items {
        map.entry(o.department.clone()).or_default().push(o);
    }
    map
}

/// Today's date: the local date, or `JIXIAO_TODAY` (`2026-03-30`) when set, so that reminders
/// can be rehearsed and tested on a chosen day.
pub fn today() -> NaiveDate {
    std::env::var("JIXIAO_TODAY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| chrono::Local::now().date_naive())
}
