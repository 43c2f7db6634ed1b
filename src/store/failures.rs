//! The `failures` table: files whose processing failed and is retried, with the number of
//! attempts and the last error, kept so that `jixiao status` says what is stuck and why.

use rusqlite::{Connection, params};

/// Counts one more failed attempt at a file and keeps its error.
pub(crate) fn note(conn: &Connection, path: &str, error: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO failures (path, attempts, last_error, updated_at) VALUES (?1, 1, ?2, ?3) \
         ON CONFLICT (path) DO UPDATE SET attempts = attempts + 1, last_error = excluded.last_error, \
         updated_at = excluded.updated_at",
        params![path, error, now],
    )?;
    Ok(())
}

/// The file was processed (or is gone): nothing is stuck any more.
pub(crate) fn clear(conn: &Connection, path: &str) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM failures WHERE path = ?1", params![path])?;
    Ok(())
}

/// A file being retried.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) path: String,
    pub(crate) attempts: u32,
    pub(crate) last_error: String,
    pub(crate) updated_at: String,
}

/// Every file being retried, oldest first.
pub(crate) fn list(conn: &Connection) -> rusqlite::Result<Vec<Failure>> {
    let mut stmt = conn.prepare(
        "SELECT path, attempts, last_error, updated_at FROM failures ORDER BY updated_at",
    )?;
    stmt.query_map([], |r| {
        Ok(Failure {
            path: r.get(0)?,
            attempts: r.get(1)?,
            last_error: r.get(2)?,
            updated_at: r.get(3)?,
        })
    })?
    .collect()
}
