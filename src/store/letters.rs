//! Issued letters and their document numbers (发文字号), each kept once with the submission it
//! answers; and the other files put beside a submission's original (the annotated workbook).
//!
//! Numbers: one sequence per year for each 机关代字, never repeated and never skipped. A number is
//! taken in the same transaction that records the issued letter, so a number exists only with its
//! letter; a transaction rolled back leaves neither, and the next letter gets the same number.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::letters::doc_number_text;
use crate::util::safe_file_name;

/// The letter an issued number belongs to.
#[derive(Debug, Clone, Copy)]
pub struct IssuedLetter<'a> {
    /// `return_notice`, `target_review`, … ([`crate::letters::LetterKind::id`]).
    pub kind: &'a str,
    pub department: &'a str,
    /// year + 主管部门 + (项目编码, else 项目名称), as the daemon keys projects.
    pub project_key: &'a str,
    /// The submission the letter answers.
    pub submission_id: Option<i64>,
    /// The .docx file name.
    pub file_name: &'a str,
    pub docx: &'a [u8],
    pub created_at: DateTime<Utc>,
}

/// The number the next letter of (agency, year) will get, without taking it (for display).
pub fn peek_number(conn: &Connection, agency: &str, year: i32) -> rusqlite::Result<u32> {
    let last: Option<u32> = conn
        .query_row(
            "SELECT last FROM doc_numbers WHERE agency = ?1 AND year = ?2",
            params![agency, year],
            |r| r.get(0),
        )
        .optional()?;
    Ok(last.unwrap_or(0) + 1)
}

/// Takes the next number of (agency, year) and records the letter under it, in `tx`. The caller
/// renders the letter with the number first (see [`peek_number`]) or renders again after; either
/// way the number and the letter are committed together or not at all.
pub fn issue(
    tx: &Transaction,
    agency: &str,
    year: i32,
    letter: &IssuedLetter,
) -> rusqlite::Result<u32> {
    let number: u32 = tx.query_row(
        "INSERT INTO doc_numbers (agency, year, last) VALUES (?1, ?2, 1)
         ON CONFLICT (agency, year) DO UPDATE SET last = last + 1
         RETURNING last",
        params![agency, year],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO issued_letters
             (agency, year, number, kind, department, project_key, file_name, docx, created_at,
              submission_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            agency,
            year,
            number,
            letter.kind,
            letter.department,
            letter.project_key,
            letter.file_name,
            letter.docx,
            letter.created_at.to_rfc3339(),
            letter.submission_id,
        ],
    )?;
    Ok(number)
}

/// Keeps the rendered letter under its number (the letter is rendered after its number was
/// taken, inside the same transaction): its title, file name and document.
pub(crate) fn store_rendered(
    tx: &Transaction,
    agency: &str,
    year: i32,
    number: u32,
    rendered: &RenderedFile,
) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE issued_letters SET docx = ?4, file_name = ?5, title = ?6
         WHERE agency = ?1 AND year = ?2 AND number = ?3",
        params![
            agency,
            year,
            number,
            rendered.docx,
            rendered.file_name,
            rendered.title
        ],
    )?;
    Ok(())
}

/// A rendered letter as kept.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RenderedFile<'a> {
    pub(crate) title: &'a str,
    pub(crate) file_name: &'a str,
    pub(crate) docx: &'a [u8],
}

/// The letter issued for a submission.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionLetter {
    /// `return_notice`, `target_review`, ….
    pub kind: String,
    /// 发文字号: `吉财绩函〔2026〕12号`.
    pub doc_number: String,
    pub title: String,
}

/// The letter issued for a submission, if one was.
pub fn letter_of(conn: &Connection, id: i64) -> rusqlite::Result<Option<SubmissionLetter>> {
    conn.query_row(
        "SELECT kind, agency, year, number, title FROM issued_letters WHERE submission_id = ?1 \
         ORDER BY id LIMIT 1",
        params![id],
        |r| {
            Ok(SubmissionLetter {
                kind: r.get(0)?,
                doc_number: doc_number_text(&r.get::<_, String>(1)?, r.get(2)?, Some(r.get(3)?)),
                title: r.get(4)?,
            })
        },
    )
    .optional()
}

/// Keeps a file to put beside a submission's original (the annotated workbook; the letter itself
/// is kept once, as issued).
pub(crate) fn save_answer(
    tx: &Transaction,
    id: i64,
    name: &str,
    bytes: &[u8],
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO answers (submission_id, file_name, bytes) VALUES (?1, ?2, ?3)",
        params![id, name, bytes],
    )?;
    Ok(())
}

/// The files to put beside a submission's original in the department's folder: its letter and
/// the other answers, by name.
pub fn answers(conn: &Connection, id: i64) -> rusqlite::Result<Vec<(String, Vec<u8>)>> {
    let mut stmt = conn.prepare(
        "SELECT file_name, docx FROM issued_letters WHERE submission_id = ?1 \
         UNION ALL SELECT file_name, bytes FROM answers WHERE submission_id = ?1",
    )?;
    let mut files = stmt
        .query_map(params![id], |r| {
            Ok((safe_file_name(&r.get::<_, String>(0)?), r.get(1)?))
        })?
        .collect::<rusqlite::Result<Vec<(String, Vec<u8>)>>>()?;
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}
