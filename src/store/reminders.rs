//! The `reminders` table: each reminder (催报通知) sent, so none is sent twice; and the
//! submissions a reminder names what is owed from.

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::forms::FormKind;

/// A reminder sent to a department for a form of a year.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SentReminder<'a> {
    pub(crate) year: i32,
    pub(crate) form: FormKind,
    pub(crate) department: &'a str,
    /// Which reminder day: `before-7`, `after-1`, ….
    pub(crate) label: &'a str,
    /// The day it was sent, `2026-03-24`.
    pub(crate) sent_on: &'a str,
    pub(crate) outbox_id: Option<i64>,
    /// What was owed (项目名称), stored as JSON.
    pub(crate) projects: &'a [String],
}

/// Whether this reminder was sent already.
pub fn was_sent(
    conn: &Connection,
    year: i32,
    form: FormKind,
    department: &str,
    label: &str,
) -> rusqlite::Result<bool> {
    let sent: Option<i64> = conn
        .query_row(
            "SELECT id FROM reminders WHERE year = ?1 AND form = ?2 AND department = ?3 AND label = ?4",
            params![year, form, department, label],
            |r| r.get(0),
        )
        .optional()?;
    Ok(sent.is_some())
}

/// Records a reminder as sent, in the transaction that queues its message.
pub(crate) fn record_sent(tx: &Transaction, r: &SentReminder) -> rusqlite::Result<()> {
    let projects = serde_json::to_string(r.projects)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    tx.execute(
        "INSERT INTO reminders (year, form, department, label, sent_on, outbox_id, projects) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            r.year,
            r.form,
            r.department,
            r.label,
            r.sent_on,
            r.outbox_id,
            projects
        ],
    )?;
    Ok(())
}

/// The day a submission was received (its review letter's day), from its local time.
pub(crate) fn received_on(conn: &Connection, id: i64) -> rusqlite::Result<Option<NaiveDate>> {
    let at: Option<String> = conn
        .query_row(
            "SELECT received_at FROM submissions WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(at.and_then(|t| t.get(..10).and_then(|d| d.parse().ok())))
}

/// The 项目名称 of a department's declarations of `year` that were returned, oldest first.
pub(crate) fn returned_declarations(
    conn: &Connection,
    year: i32,
    department: &str,
) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT project_name FROM submissions WHERE year = ?1 AND department = ?2 \
         AND form = 'target_declaration' AND outcome = 'rejected' AND project_name IS NOT NULL \
         ORDER BY id",
    )?;
    let rows = stmt.query_map(params![year, department], |r| r.get(0))?;
    rows.collect()
}

/// A reminder as recorded: which form, department and reminder day, when, its message.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) form: FormKind,
    pub(crate) department: String,
    pub(crate) label: String,
    pub(crate) sent_on: String,
    pub(crate) outbox_id: Option<i64>,
    pub(crate) projects: Vec<String>,
}

/// The reminders of `year` recorded as sent, newest first.
pub(crate) fn sent_in(conn: &Connection, year: i32) -> rusqlite::Result<Vec<Recorded>> {
    let mut stmt = conn.prepare(
        "SELECT form, department, label, sent_on, outbox_id, projects FROM reminders \
         WHERE year = ?1 ORDER BY sent_on DESC, id DESC",
    )?;
    let rows = stmt.query_map(params![year], |r| {
        let projects: String = r.get(5)?;
        Ok(Recorded {
            form: r.get(0)?,
            department: r.get(1)?,
            label: r.get(2)?,
            sent_on: r.get(3)?,
            outbox_id: r.get(4)?,
            // Written by `record_sent` as a JSON list; anything else shows as nothing owed.
            projects: serde_json::from_str(&projects).unwrap_or_default(),
        })
    })?;
    rows.collect()
}
