//! What the daemon sends for a recorded submission, inside the transaction that records it: the
//! receipt (or the duplicate notice), the numbered letter with its annotated workbook, the files
//! that appear beside the original in the department's folder, and the emails in the outbox.
//! Recipients come from the configuration only: the department's contacts, the finance office
//! copied as configured. Nothing read from a form decides where mail goes.

use anyhow::Context;
use chrono::NaiveDate;
use rusqlite::{Connection, Transaction, params};
use serde::Serialize;

use crate::check::CheckResult;
use crate::config::{Config, Department};
use crate::forms::read::RawForm;
use crate::letters::{self, LetterInput, LetterKind, Letters, NoticeKind};
use crate::mail::{Attachment, OutgoingMessage};
use crate::rules::issue::Issue;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS answers (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    file_name     TEXT NOT NULL,      -- as written beside the original in the department's folder
    bytes         BLOB NOT NULL,
    PRIMARY KEY (submission_id, file_name)
);
CREATE TABLE IF NOT EXISTS submission_letters (
    submission_id INTEGER PRIMARY KEY REFERENCES submissions(id),
    kind          TEXT NOT NULL,
    doc_number    TEXT NOT NULL,      -- 吉财绩函〔2026〕12号
    title         TEXT NOT NULL
);
"#;

pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)?;
    crate::letters::numbers::migrate(conn)
}

/// What the daemon knows of a submission when it records it.
pub struct Dispatch<'a> {
    pub cfg: &'a Config,
    pub letters: &'a Letters,
    pub defs: &'a crate::Definitions,
    pub department: &'a Department,
    pub submission_id: i64,
    pub file_name: &'a str,
    pub received_at: &'a str,
    pub today: NaiveDate,
    /// None for a duplicate.
    pub checked: Option<(&'a CheckResult, Option<&'a RawForm>)>,
    /// The id of the earlier submission with the same content, for a duplicate.
    pub duplicate_of: Option<(i64, String)>,
    pub project_key: Option<&'a str>,
}

#[derive(Serialize)]
struct NoticeContext<'a> {
    department: &'a str,
    file_name: &'a str,
    form_name: Option<&'static str>,
    project_name: Option<String>,
    received_at: String,
    first_received_at: Option<String>,
}

fn form_name(result: Option<&CheckResult>) -> Option<&'static str> {
    result.and_then(|r| r.form).map(crate::cycle::form_name)
}

/// `2026-11-25T10:00:00.000+08:00` → `2026年11月25日10时00分`.
fn chinese_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.format("%Y年%-m月%-d日%H时%M分").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// The addresses a department's mail goes to, and the copies.
fn recipients(cfg: &Config, dept: &Department, letter: bool) -> (Vec<String>, Vec<String>) {
    let copy = if letter {
        cfg.finance.copy_letters
    } else {
        cfg.finance.copy_notices
    };
    let mut to: Vec<String> = dept.emails.clone();
    let mut cc: Vec<String> = if copy {
        cfg.finance.emails.clone()
    } else {
        Vec::new()
    };
    if to.is_empty() {
        // A department without an address: the finance office receives it to pass on.
        to = std::mem::take(&mut cc);
        if to.is_empty() && letter {
            to = cfg.finance.emails.clone();
        }
    }
    (to, cc)
}

/// Text from a form or a file name made fit for a mail header: one line, no control characters.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn enqueue(tx: &Transaction, mut msg: OutgoingMessage) -> anyhow::Result<Option<i64>> {
    // A subject or attachment name carries a department's file name or project name: whatever
    // they contain, the message is queued (the outbox refuses control characters in headers).
    msg.subject = one_line(&msg.subject);
    for a in &mut msg.attachments {
        a.file_name = crate::watch::safe_file_name(&one_line(&a.file_name));
    }
    if msg.to.is_empty() {
        tracing::warn!(subject = %msg.subject, "no address configured; message not queued");
        return Ok(None);
    }
    Ok(Some(crate::mail::outbox::enqueue(tx, &msg)?))
}

/// Records everything to send for a submission, in `tx`.
pub fn dispatch(tx: &Transaction, d: &Dispatch) -> anyhow::Result<()> {
    let settings = &d.cfg.letters;
    let dept_name = d.department.name.as_str();
    // Names go into one-line places of the templates (subjects, titles, field lines): a line break
    // typed in a file name or a cell must not break them.
    let file_name = one_line(d.file_name);
    let file_name = file_name.as_str();
    let cleaned: Option<CheckResult> = d.checked.map(|(r, _)| {
        let mut r = r.clone();
        if let Some(p) = r.project.as_mut() {
            for v in [&mut p.name, &mut p.code, &mut p.department]
                .into_iter()
                .flatten()
            {
                *v = one_line(v);
            }
        }
        r
    });
    let result = cleaned.as_ref();
    let ctx = NoticeContext {
        department: dept_name,
        file_name,
        form_name: form_name(result),
        project_name: result
            .and_then(|r| r.project.as_ref())
            .and_then(|p| p.name.clone()),
        received_at: chinese_time(d.received_at),
        first_received_at: d.duplicate_of.as_ref().map(|(_, t)| chinese_time(t)),
    };
    let (to, cc) = recipients(d.cfg, d.department, false);
    let reference = d.submission_id.to_string();
    // The same content again gets the duplicate notice and nothing else; anything taken in
    // gets its receipt.
    let (notice, kind) = if d.duplicate_of.is_some() {
        (NoticeKind::Duplicate, "duplicate")
    } else {
        (NoticeKind::Receipt, "receipt")
    };
    let (subject, body) = d.letters.render_notice(notice, settings, &ctx)?;
    enqueue(
        tx,
        OutgoingMessage {
            to,
            cc,
            subject,
            body,
            attachments: Vec::new(),
            kind: kind.into(),
            reference: reference.clone(),
        },
    )?;
    if d.duplicate_of.is_some() {
        return Ok(());
    }

    let (Some(result), Some((_, form))) = (result, d.checked) else {
        return Ok(());
    };
    let Some(kind) = LetterKind::for_result(result) else {
        return Ok(());
    };
    let year = result
        .project
        .as_ref()
        .and_then(|p| p.year)
        .unwrap_or_else(|| chrono::Datelike::year(&d.today));
    let extra: Vec<Issue> = Vec::new();
    let number = letters::numbers::issue(
        tx,
        &settings.agency,
        year,
        &letters::numbers::IssuedLetter {
            kind: kind.id(),
            department: &d.department.code,
            project_key: d.project_key.unwrap_or(""),
            file_name: "",
            docx: &[],
            created_at: chrono::Utc::now(),
        },
    )?;
    let input = LetterInput {
        settings,
        defs: d.defs,
        department: dept_name,
        file_name,
        result,
        form,
        number: Some(number),
        date: d.today,
        extra_findings: &extra,
    };
    let letter = d
        .letters
        .render(&input)
        .with_context(|| format!("writing the {} for {}", kind.name(), file_name))?;
    letters::numbers::store_docx(
        tx,
        &settings.agency,
        year,
        number,
        &letter.docx_file_name,
        &letter.docx,
    )?;
    tx.execute(
        "INSERT INTO submission_letters (submission_id, kind, doc_number, title) VALUES (?1, ?2, ?3, ?4)",
        params![d.submission_id, kind.id(), letter.doc_number_text, letter.title],
    )?;
    let mut attachments = vec![Attachment {
        file_name: letter.docx_file_name.clone(),
        content_type: crate::mail::DOCX.to_string(),
        bytes: letter.docx.clone(),
    }];
    save_answer(tx, d.submission_id, &letter.docx_file_name, &letter.docx)?;
    if let Some((name, bytes)) = &letter.annotated_xlsx {
        attachments.push(Attachment {
            file_name: name.clone(),
            content_type: crate::mail::XLSX.to_string(),
            bytes: bytes.clone(),
        });
        save_answer(tx, d.submission_id, name, bytes)?;
    }
    let (to, cc) = recipients(d.cfg, d.department, true);
    enqueue(
        tx,
        OutgoingMessage {
            to,
            cc,
            subject: letter.email_subject,
            body: letter.email_body,
            attachments,
            kind: kind.id().to_string(),
            reference,
        },
    )?;
    Ok(())
}

fn save_answer(tx: &Transaction, id: i64, name: &str, bytes: &[u8]) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO answers (submission_id, file_name, bytes) VALUES (?1, ?2, ?3)",
        params![id, crate::watch::safe_file_name(name), bytes],
    )?;
    Ok(())
}

/// The files to put beside a submission's original in the department's folder.
pub fn answers(conn: &Connection, id: i64) -> rusqlite::Result<Vec<(String, Vec<u8>)>> {
    let mut stmt = conn.prepare(
        "SELECT file_name, bytes FROM answers WHERE submission_id = ?1 ORDER BY file_name",
    )?;
    let rows = stmt.query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// The letter issued for a submission: (kind, 发文字号, title).
pub fn letter_of(conn: &Connection, id: i64) -> rusqlite::Result<Option<(String, String, String)>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT kind, doc_number, title FROM submission_letters WHERE submission_id = ?1",
        params![id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()
}
