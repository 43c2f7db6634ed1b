//! The state database (SQLite, WAL): every file received, by content hash, with its department,
//! form, project, result and what became of it. The daemon records a submission and everything it
//! sends in one transaction, so a crash leaves either all of it or none.

use std::path::Path;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

/// Opens (and creates or upgrades) the state database.
pub fn open(path: &Path) -> anyhow::Result<Connection> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let conn = Connection::open(path)
        .with_context(|| format!("opening the state database {}", path.display()))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    migrate(&conn).with_context(|| format!("preparing {}", path.display()))?;
    Ok(conn)
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS submissions (
    id            INTEGER PRIMARY KEY,
    department    TEXT NOT NULL,      -- department code: the folder the file arrived in
    inbox_path    TEXT NOT NULL,      -- path inside the department's folder
    file_name     TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    received_at   TEXT NOT NULL,
    stage         TEXT NOT NULL,      -- recorded: results and messages stored; done: file moved
    outcome       TEXT NOT NULL,      -- accepted | rejected | duplicate
    form          TEXT,
    year          INTEGER,
    project_key   TEXT,
    project_code  TEXT,
    project_name  TEXT,
    result_json   TEXT,
    form_json     TEXT,               -- the form's values (record::FormRecord)
    duplicate_of  INTEGER REFERENCES submissions(id),
    supersedes    INTEGER REFERENCES submissions(id),
    superseded_by INTEGER REFERENCES submissions(id),
    archive_path  TEXT NOT NULL,
    moved_to      TEXT,
    done_at       TEXT
);
CREATE INDEX IF NOT EXISTS submissions_by_hash ON submissions(department, sha256);
CREATE INDEX IF NOT EXISTS submissions_by_project ON submissions(project_key, form);
CREATE INDEX IF NOT EXISTS submissions_by_stage ON submissions(stage);
"#;

fn migrate(conn: &Connection) -> anyhow::Result<()> {
    conn.execute_batch(SCHEMA)?;
    crate::cycle::projects::migrate(conn)?;
    crate::cycle::migrate(conn)?;
    crate::watch::dispatch::migrate(conn)?;
    crate::summary::migrate(conn)?;
    crate::mail::outbox::migrate(conn)?;
    Ok(())
}

/// What became of a received file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Rejected,
    /// The same content was received from the department before.
    Duplicate,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Rejected => "rejected",
            Outcome::Duplicate => "duplicate",
        }
    }
}

/// A submission about to be recorded.
#[derive(Debug, Clone)]
pub struct NewSubmission<'a> {
    pub department: &'a str,
    pub inbox_path: &'a str,
    pub file_name: &'a str,
    pub sha256: &'a str,
    pub size: u64,
    pub received_at: &'a str,
    pub outcome: Outcome,
    pub form: Option<&'a str>,
    pub year: Option<i32>,
    pub project_key: Option<&'a str>,
    pub project_code: Option<&'a str>,
    pub project_name: Option<&'a str>,
    pub result_json: Option<&'a str>,
    pub form_json: Option<&'a str>,
    pub duplicate_of: Option<i64>,
    pub archive_path: &'a str,
}

/// A recorded submission.
#[derive(Debug, Clone)]
pub struct Submission {
    pub id: i64,
    pub department: String,
    pub inbox_path: String,
    pub file_name: String,
    pub sha256: String,
    pub received_at: String,
    pub stage: String,
    pub outcome: String,
    pub form: Option<String>,
    pub year: Option<i32>,
    pub project_key: Option<String>,
    pub project_name: Option<String>,
    pub result_json: Option<String>,
    pub duplicate_of: Option<i64>,
    pub superseded_by: Option<i64>,
    pub archive_path: String,
    pub moved_to: Option<String>,
}

const COLUMNS: &str = "id, department, inbox_path, file_name, sha256, received_at, stage, outcome, \
    form, year, project_key, project_name, result_json, duplicate_of, superseded_by, archive_path, moved_to";

fn row_to_submission(r: &rusqlite::Row) -> rusqlite::Result<Submission> {
    Ok(Submission {
        id: r.get(0)?,
        department: r.get(1)?,
        inbox_path: r.get(2)?,
        file_name: r.get(3)?,
        sha256: r.get(4)?,
        received_at: r.get(5)?,
        stage: r.get(6)?,
        outcome: r.get(7)?,
        form: r.get(8)?,
        year: r.get(9)?,
        project_key: r.get(10)?,
        project_name: r.get(11)?,
        result_json: r.get(12)?,
        duplicate_of: r.get(13)?,
        superseded_by: r.get(14)?,
        archive_path: r.get(15)?,
        moved_to: r.get(16)?,
    })
}

/// Records a submission in a transaction. An accepted form replaces the earlier accepted version
/// of the same project and form, which keeps its row (the history) with `superseded_by` set.
pub fn record(tx: &Transaction, s: &NewSubmission) -> rusqlite::Result<i64> {
    let previous: Option<i64> = match (s.project_key, s.form) {
        (Some(key), Some(form)) if s.outcome != Outcome::Duplicate => tx
            .query_row(
                "SELECT id FROM submissions WHERE project_key = ?1 AND form = ?2 \
                 AND outcome != 'duplicate' ORDER BY id DESC LIMIT 1",
                params![key, form],
                |r| r.get(0),
            )
            .optional()?,
        _ => None,
    };
    tx.execute(
        "INSERT INTO submissions (department, inbox_path, file_name, sha256, size, received_at, \
         stage, outcome, form, year, project_key, project_code, project_name, result_json, \
         form_json, duplicate_of, supersedes, archive_path) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'recorded', ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        params![
            s.department,
            s.inbox_path,
            s.file_name,
            s.sha256,
            s.size as i64,
            s.received_at,
            s.outcome.as_str(),
            s.form,
            s.year,
            s.project_key,
            s.project_code,
            s.project_name,
            s.result_json,
            s.form_json,
            s.duplicate_of,
            previous,
            s.archive_path,
        ],
    )?;
    let id = tx.last_insert_rowid();
    if s.outcome == Outcome::Accepted
        && let (Some(key), Some(form)) = (s.project_key, s.form)
    {
        tx.execute(
            "UPDATE submissions SET superseded_by = ?1 WHERE project_key = ?2 AND form = ?3 \
                 AND outcome = 'accepted' AND superseded_by IS NULL AND id != ?1",
            params![id, key, form],
        )?;
    }
    Ok(id)
}

/// Submissions of a department with this content, oldest first.
pub fn by_hash(
    conn: &Connection,
    department: &str,
    sha256: &str,
) -> rusqlite::Result<Vec<Submission>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM submissions WHERE department = ?1 AND sha256 = ?2 ORDER BY id"
    ))?;
    let rows = stmt.query_map(params![department, sha256], row_to_submission)?;
    rows.collect()
}

/// Submissions whose files have not been moved yet (work left by a crash).
pub fn unfinished(conn: &Connection) -> rusqlite::Result<Vec<Submission>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM submissions WHERE stage = 'recorded' ORDER BY id"
    ))?;
    let rows = stmt.query_map([], row_to_submission)?;
    rows.collect()
}

/// Marks a submission's file as moved to `moved_to`.
pub fn mark_done(conn: &Connection, id: i64, moved_to: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE submissions SET stage = 'done', moved_to = ?2, done_at = ?3 WHERE id = ?1",
        params![id, moved_to, now],
    )?;
    Ok(())
}

/// The most recent submissions, newest first.
pub fn recent(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<Submission>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM submissions ORDER BY id DESC LIMIT ?1"
    ))?;
    let rows = stmt.query_map(params![limit as i64], row_to_submission)?;
    rows.collect()
}

/// Every submission of a project (by key), oldest first.
pub fn by_project(conn: &Connection, project_key: &str) -> rusqlite::Result<Vec<Submission>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM submissions WHERE project_key = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map(params![project_key], row_to_submission)?;
    rows.collect()
}

/// Counts of submissions by outcome.
pub fn counts(conn: &Connection) -> rusqlite::Result<Vec<(String, i64)>> {
    let mut stmt = conn
        .prepare("SELECT outcome, COUNT(*) FROM submissions GROUP BY outcome ORDER BY outcome")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new<'a>(sha: &'a str, outcome: Outcome, key: &'a str) -> NewSubmission<'a> {
        NewSubmission {
            department: "nyt",
            inbox_path: "a.xlsx",
            file_name: "a.xlsx",
            sha256: sha,
            size: 1,
            received_at: "2026-11-25T10:00:00+08:00",
            outcome,
            form: Some("target_declaration"),
            year: Some(2026),
            project_key: Some(key),
            project_code: None,
            project_name: Some("p"),
            result_json: None,
            form_json: None,
            duplicate_of: None,
            archive_path: "x",
        }
    }

    #[test]
    fn resubmission_supersedes_and_keeps_history() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(&dir.path().join("s.db")).unwrap();
        let tx = conn.transaction().unwrap();
        let a = record(&tx, &new("h1", Outcome::Accepted, "k")).unwrap();
        let r = record(&tx, &new("h2", Outcome::Rejected, "k")).unwrap();
        let b = record(&tx, &new("h3", Outcome::Accepted, "k")).unwrap();
        tx.commit().unwrap();
        let all = by_project(&conn, "k").unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].superseded_by, Some(b));
        assert_eq!(all[1].id, r);
        assert_eq!(
            all[1].superseded_by, None,
            "a rejected version replaces nothing"
        );
        assert_eq!(all[2].superseded_by, None);
        assert_eq!(by_hash(&conn, "nyt", "h1").unwrap()[0].id, a);
        assert_eq!(unfinished(&conn).unwrap().len(), 3);
        mark_done(&conn, a, "已受理/a.xlsx", "now").unwrap();
        assert_eq!(unfinished(&conn).unwrap().len(), 2);
    }
}
