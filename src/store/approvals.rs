//! The `approvals` table: the finance office's approvals of declarations (by `jixiao approve` or
//! a decision file).

use rusqlite::{Connection, OptionalExtension, params};

use crate::forms::project::ProjectKey;

/// The latest accepted declaration of a project: its submission id.
pub(crate) fn latest_accepted_declaration(
    conn: &Connection,
    key: &ProjectKey,
) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT id FROM submissions WHERE project_key = ?1 AND form = 'target_declaration' \
         AND outcome = 'accepted' ORDER BY id DESC LIMIT 1",
        params![key.as_str()],
        |r| r.get(0),
    )
    .optional()
}

/// Records the approval of a declaration (once; approving it again changes nothing).
pub(crate) fn approve(
    conn: &Connection,
    key: &ProjectKey,
    submission_id: i64,
    source: &str,
    note: Option<&str>,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO approvals (project_key, submission_id, approved_at, source, note) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![key.as_str(), submission_id, now, source, note],
    )?;
    Ok(())
}
