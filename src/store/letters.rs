//! Issued letters and their document numbers (发文字号), and the answers put beside a submission's
//! original in the department's folder.
//!
//! Numbers: one sequence per year for each 机关代字, never repeated and never skipped. A number is
//! taken in the same transaction that records the issued letter, so a number exists only with its
//! letter; a transaction rolled back leaves neither, and the next letter gets the same number.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

/// The letter an issued number belongs to.
#[derive(Debug, Clone, Copy)]
pub struct IssuedLetter<'a> {
    /// `return_notice`, `target_review`, … ([`crate::letters::LetterKind::id`]).
    pub kind: &'a str,
    pub department: &'a str,
    /// year + 主管部门 + (项目编码, else 项目名称), as the daemon keys projects.
    pub project_key: &'a str,
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
             (agency, year, number, kind, department, project_key, file_name, docx, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
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
        ],
    )?;
    Ok(number)
}

/// Replaces the document of an issued letter (when the letter is rendered after its number was
/// taken, inside the same transaction).
pub fn store_docx(
    tx: &Transaction,
    agency: &str,
    year: i32,
    number: u32,
    file_name: &str,
    docx: &[u8],
) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE issued_letters SET docx = ?4, file_name = ?5
         WHERE agency = ?1 AND year = ?2 AND number = ?3",
        params![agency, year, number, docx, file_name],
    )?;
    Ok(())
}

/// Links a submission to the letter that answers it.
pub fn link_submission(
    tx: &Transaction,
    submission_id: i64,
    kind: &str,
    doc_number: &str,
    title: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO submission_letters (submission_id, kind, doc_number, title) VALUES (?1, ?2, ?3, ?4)",
        params![submission_id, kind, doc_number, title],
    )?;
    Ok(())
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
        "SELECT kind, doc_number, title FROM submission_letters WHERE submission_id = ?1",
        params![id],
        |r| {
            Ok(SubmissionLetter {
                kind: r.get(0)?,
                doc_number: r.get(1)?,
                title: r.get(2)?,
            })
        },
    )
    .optional()
}

/// Keeps a file to put beside a submission's original (a letter, an annotated workbook).
pub fn save_answer(tx: &Transaction, id: i64, name: &str, bytes: &[u8]) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO answers (submission_id, file_name, bytes) VALUES (?1, ?2, ?3)",
        params![id, name, bytes],
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
