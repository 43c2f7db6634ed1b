//! The `stray_files` table: files under the root that are not taken as submissions, so that
//! each is logged once, answered where a department can be told, and listed by `jixiao status`.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};

pub(crate) use crate::inbox::StrayReason;

/// One stray file.
#[derive(Debug, Clone)]
pub(crate) struct Stray {
    pub(crate) id: i64,
    pub(crate) path: String,
    pub(crate) path_bytes: Vec<u8>,
    pub(crate) department: Option<String>,
    pub(crate) reason: StrayReason,
    pub(crate) seen_at: String,
    pub(crate) moved_to: Option<String>,
    pub(crate) notified: bool,
}

impl Stray {
    /// The path under the root, as it is on disk.
    pub(crate) fn rel_path(&self) -> PathBuf {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(&self.path_bytes))
    }
}

const COLUMNS: &str = "id, path, path_bytes, department, reason, seen_at, moved_to, notified";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Stray> {
    let reason: String = r.get(4)?;
    Ok(Stray {
        id: r.get(0)?,
        path: r.get(1)?,
        path_bytes: r.get(2)?,
        department: r.get(3)?,
        reason: StrayReason::parse(&reason).unwrap_or(StrayReason::NoDepartment),
        seen_at: r.get(5)?,
        moved_to: r.get(6)?,
        notified: r.get(7)?,
    })
}

/// Notes a stray file (its path relative to the root). Returns it, and whether it is new.
pub(crate) fn note(
    conn: &Connection,
    rel: &Path,
    department: Option<&str>,
    reason: StrayReason,
    now: &str,
) -> rusqlite::Result<(Stray, bool)> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = rel.as_os_str().as_bytes();
    let n = conn.execute(
        "INSERT OR IGNORE INTO stray_files (path_bytes, path, department, reason, seen_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            bytes,
            rel.to_string_lossy(),
            department,
            reason.as_str(),
            now
        ],
    )?;
    let s = conn.query_row(
        &format!("SELECT {COLUMNS} FROM stray_files WHERE path_bytes = ?1 AND moved_to IS NULL"),
        params![bytes],
        row,
    )?;
    Ok((s, n == 1))
}

/// Records where a stray file was put; a new file at the same path is then a new row.
pub(crate) fn mark_moved(conn: &Connection, id: i64, moved_to: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE stray_files SET moved_to = ?2 WHERE id = ?1",
        params![id, moved_to],
    )?;
    Ok(())
}

/// Forgets a stray file that is gone from where it lay (nobody was told of it).
pub(crate) fn forget(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM stray_files WHERE id = ?1", params![id])?;
    Ok(())
}

/// The stray files still lying where they were found (in no department's folder).
pub(crate) fn unanswered(conn: &Connection) -> rusqlite::Result<Vec<Stray>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM stray_files WHERE moved_to IS NULL ORDER BY id"
    ))?;
    stmt.query_map([], row)?.collect()
}

/// The stray files answered in a department's folder and waiting for their notice.
pub(crate) fn waiting_notice(conn: &Connection) -> rusqlite::Result<Vec<Stray>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM stray_files WHERE moved_to IS NOT NULL AND notified = 0 \
         AND department IS NOT NULL ORDER BY department, id"
    ))?;
    stmt.query_map([], row)?.collect()
}

/// Marks stray files as told of, in the transaction that queues their notice.
pub(crate) fn notified(conn: &Connection, ids: &[i64]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached("UPDATE stray_files SET notified = 1 WHERE id = ?1")?;
    for id in ids {
        stmt.execute(params![id])?;
    }
    Ok(())
}

/// The most recent stray files, newest first.
pub(crate) fn recent(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<Stray>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM stray_files ORDER BY id DESC LIMIT ?1"
    ))?;
    stmt.query_map(params![limit as i64], row)?.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn a_stray_file_is_noted_once_and_its_path_freed_once_answered() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("s.db")).unwrap();
        // 申报表.xlsx in GBK.
        let gbk = Path::new(std::ffi::OsStr::from_bytes(
            b"nyt/\xc9\xea\xb1\xa8\xb1\xed.xlsx",
        ));
        let (s, new) = note(&conn, gbk, Some("nyt"), StrayReason::UndecodableName, "t").unwrap();
        assert!(new);
        assert_eq!(s.rel_path(), gbk);
        assert!(s.path.contains('\u{fffd}'));
        let (again, new) =
            note(&conn, gbk, Some("nyt"), StrayReason::UndecodableName, "t").unwrap();
        assert!(!new);
        assert_eq!(again.id, s.id);
        mark_moved(&conn, s.id, "已退回/x").unwrap();
        assert_eq!(waiting_notice(&conn).unwrap().len(), 1);
        notified(&conn, &[s.id]).unwrap();
        assert!(waiting_notice(&conn).unwrap().is_empty());
        // The same name again later is a new file.
        let (later, new) =
            note(&conn, gbk, Some("nyt"), StrayReason::UndecodableName, "t").unwrap();
        assert!(new);
        assert_ne!(later.id, s.id);
        assert_eq!(recent(&conn, 10).unwrap().len(), 2);
    }
}
