//! The finance office's summary workbook (`绩效汇总-{year}.xlsx`): one sheet per form kind with
//! the current version of every project, one row per indicator, counts and averages by
//! department, what is still missing and what is overdue. Rebuilt by the daemon after recorded
//! forms (at most once per `summary.refresh_secs`) and by `jixiao consolidate`, and mailed to the
//! finance office on request or on schedule.
//!
//! - `schedule`: `[summary]` settings, the mail schedule and the daemon's rate limit;
//! - `tally`: the figures as plain data (no I/O);
//! - `xlsx`: the workbook writer.

pub(crate) mod schedule;
pub(crate) mod tally;
mod xlsx;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Local, NaiveDate, NaiveDateTime};
use rusqlite::Connection;
use serde::Serialize;

use crate::check::{CheckResult, Status};
use crate::cycle::Calendar;
use crate::departments::{Department, Finance};
use crate::forms::definitions::Definitions;
use crate::forms::record::FormRecord;
use crate::letters::{LetterSettings, Letters, NoticeKind};
use crate::mail::{Attachment, OutgoingMessage};
use crate::store;
use crate::store::summary::Listed;

pub use schedule::{Refresher, Schedule, SummarySettings};
pub(crate) use tally::{Current, Summary};

/// The name of the department sheet.
pub const DEPARTMENT_SHEET: &str = "部门汇总";
/// The name of the indicator sheet.
pub const INDICATOR_SHEET: &str = "绩效指标";
/// The name of the sheet of what is missing.
pub const MISSING_SHEET: &str = "未报送";
/// The name of the sheet of forms owed past their deadline.
pub const OVERDUE_SHEET: &str = "逾期未报";
/// The name of the sheet that explains the workbook.
pub const NOTES_SHEET: &str = "说明";

/// What a summary workbook is made from besides the state: the departments (in their order),
/// the finance office, the year cycle (for what is overdue), the form definitions, and the time.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub(crate) departments: &'a [Department],
    pub(crate) finance: &'a Finance,
    pub(crate) calendar: Calendar<'a>,
    pub(crate) defs: &'a Definitions,
    /// Where the big sheets stream their temporary files (beside the state, not in /tmp); the
    /// system's temporary folder when absent.
    pub(crate) temp_dir: Option<&'a Path>,
    /// When the workbook is made (its 生成时间).
    pub(crate) now: DateTime<Local>,
    /// The day overdue forms are counted on.
    pub(crate) today: NaiveDate,
}

/// The default place of a year's workbook: `reports_dir/绩效汇总-{year}.xlsx`.
pub fn default_path(reports_dir: &Path, year: i32) -> PathBuf {
    reports_dir.join(file_name(year))
}

/// `绩效汇总-{year}.xlsx`.
pub(crate) fn file_name(year: i32) -> String {
    format!("绩效汇总-{year}.xlsx")
}

/// Reads one current form with its values and result; none for a form without its values.
fn load_current(conn: &Connection, l: &Listed) -> anyhow::Result<Option<Current>> {
    let stored = store::summary::stored_form(conn, l.id)?;
    // A form recorded without its values is not counted (none is, since 0.1.0).
    let Some(form_json) = &stored.form_json else {
        return Ok(None);
    };
    let record: FormRecord = serde_json::from_str(form_json)
        .with_context(|| format!("submission {}: stored form values", l.id))?;
    let result = match stored.result_json {
        Some(j) => CheckResult::from_stored(&j)
            .with_context(|| format!("submission {}: stored result", l.id))?,
        // Accepted forms are stored with their result; one without counts with nothing found.
        None => CheckResult {
            file: stored.file_name.clone(),
            form: Some(l.kind),
            status: Status::Accepted,
            project: None,
            errors: Vec::new(),
            warnings: Vec::new(),
            score: None,
            review: None,
        },
    };
    Ok(Some(Current {
        id: l.id,
        department: l.department.clone(),
        kind: l.kind,
        file_name: stored.file_name,
        received_at: stored.received_at,
        record,
        result,
    }))
}

/// Builds the summary workbook of a year and returns the xlsx bytes.
pub fn build(conn: &Connection, scope: &Scope, year: i32) -> anyhow::Result<Vec<u8>> {
    Ok(build_summary(conn, scope, year)?.1)
}

/// The figures of a year's summary (the 部门汇总 sheet's), counted as [`build`] counts them,
/// without writing the workbook.
pub(crate) fn tally(conn: &Connection, scope: &Scope, year: i32) -> anyhow::Result<Summary> {
    xlsx::tally(conn, scope, year)
}

/// Builds the workbook and also returns the summary it was made from. The writer's streamed
/// sheets panic when their temporary files cannot be written (a full disk): that is caught and
/// becomes an error, so the daemon goes on and writes the workbook later.
pub(crate) fn build_summary(
    conn: &Connection,
    scope: &Scope,
    year: i32,
) -> anyhow::Result<(Summary, Vec<u8>)> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        xlsx::build(conn, scope, year)
    }))
    .unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("the workbook writer stopped");
        bail!("writing the summary workbook failed (is the disk full?): {why}")
    })
}

/// Builds the workbook of a year and writes it to `path` atomically (a temporary file in the
/// same folder, then a rename), so that no one ever opens half a file.
pub fn write(conn: &Connection, scope: &Scope, year: i32, path: &Path) -> anyhow::Result<()> {
    let bytes = build(conn, scope, year)?;
    crate::util::write_atomic(path, &bytes)
}

/// The summary as a message to the finance office, ready for the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryMail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    pub attachment_name: String,
    pub attachment: Vec<u8>,
}

/// The figures `letters/summary.txt.j2` is written from.
#[derive(Serialize)]
struct MailContext<'a> {
    finance: &'a str,
    year: i32,
    generated_at: &'a str,
    total: MailTotals,
    #[serde(skip_serializing_if = "Option::is_none")]
    average_score: Option<String>,
    grades: Vec<String>,
    missing: usize,
    missing_sheet: &'static str,
}

#[derive(Serialize)]
struct MailTotals {
    received: u64,
    accepted: u64,
    returned: u64,
    duplicate: u64,
    current_declarations: u64,
    not_passed: u64,
    current_reports: u64,
    current_evaluations: u64,
}

/// Builds the workbook of a year and the message that carries it to `finance.emails`; the
/// wording is `letters/summary.txt.j2`.
pub fn mail_message(
    conn: &Connection,
    scope: &Scope,
    letters: &Letters,
    settings: &LetterSettings,
    year: i32,
) -> anyhow::Result<SummaryMail> {
    if scope.finance.emails.is_empty() {
        bail!("finance.emails is empty: nobody to send the summary to");
    }
    let (s, bytes) = build_summary(conn, scope, year)?;
    let t = &s.total;
    let ctx = MailContext {
        finance: &scope.finance.name,
        year,
        generated_at: &s.generated_at,
        total: MailTotals {
            received: t.received,
            accepted: t.accepted,
            returned: t.returned,
            duplicate: t.duplicate,
            current_declarations: t.current[0],
            not_passed: t.not_passed,
            current_reports: t.current[1],
            current_evaluations: t.current[2],
        },
        average_score: t.average_score().map(|avg| format!("{avg:.2}")),
        grades: s
            .grade_names
            .iter()
            .zip(&t.grades)
            .map(|(g, n)| format!("{g}{n}个"))
            .collect(),
        missing: s.missing.len(),
        missing_sheet: MISSING_SHEET,
    };
    let (subject, body) = letters
        .render_notice(NoticeKind::Summary, settings, &ctx)
        .context("writing the summary mail")?;
    Ok(SummaryMail {
        to: scope.finance.emails.clone(),
        subject,
        body,
        attachment_name: file_name(year),
        attachment: bytes,
    })
}

/// Queues the summary workbook of `year` for the finance office in the outbox, and records it
/// (`due_at`: the scheduled time it answers, or `manual`). Returns the outbox id.
pub(crate) fn queue_mail(
    conn: &mut Connection,
    scope: &Scope,
    letters: &Letters,
    settings: &LetterSettings,
    year: i32,
    due_at: &str,
) -> anyhow::Result<i64> {
    let msg = mail_message(conn, scope, letters, settings, year)?;
    let tx = conn.transaction()?;
    let id = crate::mail::outbox::enqueue(
        &tx,
        &OutgoingMessage {
            to: msg.to,
            cc: Vec::new(),
            department: None,
            subject: msg.subject,
            body: msg.body,
            attachments: vec![Attachment {
                file_name: msg.attachment_name,
                content_type: crate::mail::XLSX.to_string(),
                bytes: msg.attachment,
            }],
            kind: "summary".into(),
            reference: format!("{year}"),
        },
        scope.now.to_utc(),
    )?;
    store::summary::record_mail(&tx, year, due_at, id, &scope.now.to_rfc3339())?;
    tx.commit()?;
    Ok(id)
}

/// The scheduled summary mail that is due at `now` and not yet queued: the time it answers.
/// The schedule counts from the last scheduled mail queued, or from `since` (the daemon's start)
/// when none was, so a restart does not send one at once.
pub fn scheduled_due(
    conn: &Connection,
    settings: &SummarySettings,
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> anyhow::Result<Option<NaiveDateTime>> {
    if settings.schedule().is_none() {
        return Ok(None);
    }
    let from = store::summary::last_scheduled(conn)?
        .and_then(|t| NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S").ok())
        .unwrap_or(since);
    Ok(settings.next_due(from).filter(|due| *due <= now))
}
