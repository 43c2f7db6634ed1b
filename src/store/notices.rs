//! The `file_notices` table: files that are not a form, waiting for the one notice that lists
//! them.

use rusqlite::{Connection, Transaction, params};

/// Keeps a submission for the next notice of its department, in the transaction that records
/// it.
pub fn queue(tx: &Transaction, submission_id: i64, department: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO file_notices (submission_id, department) VALUES (?1, ?2)",
        params![submission_id, department],
    )?;
    Ok(())
}

/// A file waiting for its notice.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub submission_id: i64,
    pub department: String,
    pub file_name: String,
    /// The stored result (JSON) of the file, or of the file it repeats.
    pub result_json: Option<String>,
}

/// Every file waiting, by department and submission.
pub fn waiting(conn: &Connection) -> rusqlite::Result<Vec<Waiting>> {
    let mut stmt = conn.prepare(
        "SELECT n.submission_id, n.department, s.file_name, COALESCE(s.result_json, o.result_json) \
         FROM file_notices n JOIN submissions s ON s.id = n.submission_id \
         LEFT JOIN submissions o ON o.id = s.duplicate_of \
         ORDER BY n.department, n.submission_id",
    )?;
    stmt.query_map([], |r| {
        Ok(Waiting {
            submission_id: r.get(0)?,
            department: r.get(1)?,
            file_name: r.get(2)?,
            result_json: r.get(3)?,
        })
    })?
    .collect()
}

/// Removes files whose notice was queued, in the transaction that queues it.
pub fn done(tx: &Transaction, submission_ids: &[i64]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached("DELETE FROM file_notices WHERE submission_id = ?1")?;
    for id in submission_ids {
        stmt.execute(params![id])?;
    }
    Ok(())
}
