//! The `judging` table: files handed to a worker and not yet recorded. A row outlives its file's
//! reading only when the daemon itself died meanwhile; its count of tries lets the next start
//! answer a file that keeps doing that instead of reading it again.

use rusqlite::{Connection, params};

/// Counts one more try at reading a file and returns the count, this one included.
pub(crate) fn begin(
    conn: &Connection,
    department: &str,
    sha256: &str,
    inbox_path: &str,
    now: &str,
) -> rusqlite::Result<u32> {
    conn.execute(
        "INSERT INTO judging (department, sha256, inbox_path, tries, updated_at) \
         VALUES (?1, ?2, ?3, 1, ?4) \
         ON CONFLICT (department, sha256) DO UPDATE SET tries = tries + 1, \
         inbox_path = excluded.inbox_path, updated_at = excluded.updated_at",
        params![department, sha256, inbox_path, now],
    )?;
    conn.query_row(
        "SELECT tries FROM judging WHERE department = ?1 AND sha256 = ?2",
        params![department, sha256],
        |r| r.get(0),
    )
}

/// The file's reading ended (recorded, or left for later): its tries are forgotten.
pub(crate) fn end(conn: &Connection, department: &str, sha256: &str) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM judging WHERE department = ?1 AND sha256 = ?2",
        params![department, sha256],
    )?;
    Ok(())
}

/// A file being read, or left half-read by a daemon that died while reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reading {
    pub(crate) department: String,
    pub(crate) inbox_path: String,
    pub(crate) tries: u32,
    pub(crate) updated_at: String,
}

/// Every file being read now or left half-read, oldest first.
pub(crate) fn list(conn: &Connection) -> rusqlite::Result<Vec<Reading>> {
    let mut stmt = conn.prepare(
        "SELECT department, inbox_path, tries, updated_at FROM judging ORDER BY updated_at",
    )?;
    stmt.query_map([], |r| {
        Ok(Reading {
            department: r.get(0)?,
            inbox_path: r.get(1)?,
            tries: r.get(2)?,
            updated_at: r.get(3)?,
        })
    })?
    .collect()
}
