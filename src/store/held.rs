//! Letters held for a reviewer's sign-off (`[letters] sign_off`, the console's 待签发): one per
//! submission, kept with what is needed to write it later — the check result, the form as read,
//! the annotated workbook — and, once signed, who signed it, when, with which words, its number
//! and its mail. A held letter is recorded in the transaction that records its submission; it is
//! marked signed in the transaction that issues its number, and only while it is still held.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use crate::letters::{ReviewerOpinions, doc_number_text};

/// Where a held letter stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeldStatus {
    /// Waiting for a reviewer.
    Held,
    /// Signed: numbered, written and queued.
    Signed,
}

impl HeldStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HeldStatus::Held => "held",
            HeldStatus::Signed => "signed",
        }
    }

    fn parse(s: &str) -> rusqlite::Result<HeldStatus> {
        match s {
            "held" => Ok(HeldStatus::Held),
            "signed" => Ok(HeldStatus::Signed),
            other => Err(rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                format!("unknown held letter status {other:?}").into(),
            )),
        }
    }
}

/// A letter to hold, as the daemon records it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewHeld<'a> {
    pub(crate) submission_id: i64,
    /// [`crate::letters::LetterKind::id`].
    pub(crate) kind: &'a str,
    pub(crate) department: &'a str,
    pub(crate) project_key: &'a str,
    pub(crate) file_name: &'a str,
    pub(crate) received_at: &'a str,
    pub(crate) held_at: &'a str,
    pub(crate) result_json: &'a str,
    pub(crate) form_json: Option<&'a str>,
    /// The department's file was not read in full: no annotated workbook can go with it.
    pub(crate) original_absent: bool,
    pub(crate) annotated: Option<&'a [u8]>,
}

/// A held (or signed) letter as the pages and `status` show it.
#[derive(Debug, Clone, Serialize)]
pub struct Held {
    /// The submission the letter answers (one letter per submission).
    pub submission_id: i64,
    pub kind: String,
    /// The kind's name: 绩效目标审核意见, ….
    pub kind_name: &'static str,
    pub department: String,
    pub project_key: String,
    pub project_name: Option<String>,
    /// The form's id (`target_declaration`, …), from the submission.
    pub form: Option<String>,
    /// 通过 / 修改后通过 / 不通过 for a declaration, the verified grade for a self-evaluation.
    pub conclusion: Option<String>,
    /// How many errors the form had (a return notice lists them).
    pub errors: i64,
    pub file_name: String,
    pub received_at: String,
    pub held_at: String,
    pub status: HeldStatus,
    pub signed_by: Option<String>,
    pub signed_at: Option<String>,
    pub opinions: Option<ReviewerOpinions>,
    /// 发文字号, once signed.
    pub doc_number: Option<String>,
    pub outbox_id: Option<i64>,
}

/// What a held letter is written from.
#[derive(Debug, Clone)]
pub(crate) struct Material {
    pub(crate) result_json: String,
    pub(crate) form_json: Option<String>,
    pub(crate) original_absent: bool,
    pub(crate) annotated: Option<Vec<u8>>,
}

/// What signing records.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signed<'a> {
    pub(crate) by: &'a str,
    pub(crate) at: &'a str,
    pub(crate) opinions: &'a ReviewerOpinions,
    pub(crate) agency: &'a str,
    pub(crate) year: i32,
    pub(crate) number: u32,
    pub(crate) outbox_id: Option<i64>,
}

/// Records a letter held for sign-off, in the transaction that records its submission.
pub(crate) fn hold(tx: &Transaction, h: &NewHeld) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO held_letters (submission_id, kind, department, project_key, file_name,
             received_at, held_at, result_json, form_json, original, annotated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            h.submission_id,
            h.kind,
            h.department,
            h.project_key,
            h.file_name,
            h.received_at,
            h.held_at,
            h.result_json,
            h.form_json,
            if h.original_absent {
                "absent"
            } else {
                "annotated"
            },
            h.annotated,
        ],
    )?;
    Ok(())
}

const COLUMNS: &str = "h.submission_id, h.kind, h.department, h.project_key, s.project_name, \
    s.form, COALESCE(json_extract(h.result_json, '$.review.conclusion'), \
    json_extract(h.result_json, '$.score.grade')), \
    COALESCE(json_array_length(h.result_json, '$.errors'), 0), h.file_name, h.received_at, \
    h.held_at, h.status, h.signed_by, h.signed_at, h.opinions_json, h.agency, h.year, h.number, \
    h.outbox_id";

const FROM: &str = "FROM held_letters h LEFT JOIN submissions s ON s.id = h.submission_id";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Held> {
    let kind: String = r.get(1)?;
    let opinions: Option<String> = r.get(14)?;
    let agency: Option<String> = r.get(15)?;
    let year: Option<i32> = r.get(16)?;
    let number: Option<u32> = r.get(17)?;
    Ok(Held {
        submission_id: r.get(0)?,
        kind_name: crate::letters::LetterKind::from_id(&kind).map_or("", |k| k.name()),
        kind,
        department: r.get(2)?,
        project_key: r.get(3)?,
        project_name: r.get(4)?,
        form: r.get(5)?,
        conclusion: r.get(6)?,
        errors: r.get(7)?,
        file_name: r.get(8)?,
        received_at: r.get(9)?,
        held_at: r.get(10)?,
        status: HeldStatus::parse(&r.get::<_, String>(11)?)?,
        signed_by: r.get(12)?,
        signed_at: r.get(13)?,
        opinions: opinions.and_then(|j| serde_json::from_str(&j).ok()),
        doc_number: match (agency, year, number) {
            (Some(a), Some(y), Some(n)) => Some(doc_number_text(&a, y, Some(n))),
            _ => None,
        },
        outbox_id: r.get(18)?,
    })
}

/// The letter held for a submission, held or signed; None when none was held.
pub fn of_submission(conn: &Connection, submission_id: i64) -> rusqlite::Result<Option<Held>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} {FROM} WHERE h.submission_id = ?1"),
        params![submission_id],
        row,
    )
    .optional()
}

/// The letters waiting for sign-off, oldest first.
pub fn waiting(conn: &Connection) -> rusqlite::Result<Vec<Held>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} {FROM} WHERE h.status = 'held' ORDER BY h.held_at, h.submission_id"
    ))?;
    stmt.query_map([], row)?.collect()
}

/// The letters signed last, newest first.
pub fn signed_recently(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<Held>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} {FROM} WHERE h.status = 'signed' \
         ORDER BY h.signed_at DESC, h.submission_id DESC LIMIT ?1"
    ))?;
    stmt.query_map(params![limit as i64], row)?.collect()
}

/// How many letters wait for sign-off, and when the oldest was held.
pub fn waiting_count(conn: &Connection) -> rusqlite::Result<(usize, Option<String>)> {
    conn.query_row(
        "SELECT COUNT(*), MIN(held_at) FROM held_letters WHERE status = 'held'",
        [],
        |r| Ok((r.get::<_, i64>(0)? as usize, r.get(1)?)),
    )
}

/// What a held letter is written from.
pub(crate) fn material(
    conn: &Connection,
    submission_id: i64,
) -> rusqlite::Result<Option<Material>> {
    conn.query_row(
        "SELECT result_json, form_json, original, annotated FROM held_letters \
         WHERE submission_id = ?1",
        params![submission_id],
        |r| {
            Ok(Material {
                result_json: r.get(0)?,
                form_json: r.get(1)?,
                original_absent: r.get::<_, String>(2)? == "absent",
                annotated: r.get(3)?,
            })
        },
    )
    .optional()
}

/// Marks a held letter signed, in the transaction that issues its number. False (and nothing
/// changed) when it is not held any more: signed meanwhile by someone else.
pub(crate) fn mark_signed(
    tx: &Transaction,
    submission_id: i64,
    s: &Signed,
) -> rusqlite::Result<bool> {
    let opinions = serde_json::to_string(s.opinions)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let n = tx.execute(
        "UPDATE held_letters SET status = 'signed', signed_by = ?2, signed_at = ?3,
             opinions_json = ?4, agency = ?5, year = ?6, number = ?7, outbox_id = ?8
         WHERE submission_id = ?1 AND status = 'held'",
        params![
            submission_id,
            s.by,
            s.at,
            opinions,
            s.agency,
            s.year,
            s.number,
            s.outbox_id
        ],
    )?;
    Ok(n == 1)
}
