//! The `submissions` table: every file received, by content hash, with its department, form,
//! project, result and what became of it.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::check::CheckResult;
use crate::forms::FormKind;
use crate::forms::project::ProjectKey;
use crate::forms::record::FormRecord;

/// What became of a received file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Accepted,
    Rejected,
    /// The same content was received from the department before.
    Duplicate,
}

impl Outcome {
    pub(crate) const ALL: [Outcome; 3] = [Outcome::Accepted, Outcome::Rejected, Outcome::Duplicate];

    /// The word stored in the database: `accepted`, `rejected`, `duplicate`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Rejected => "rejected",
            Outcome::Duplicate => "duplicate",
        }
    }

    /// The word shown to the finance office: 受理, 退回, 重复.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Outcome::Accepted => "受理",
            Outcome::Rejected => "退回",
            Outcome::Duplicate => "重复",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// How far the daemon got with a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Results and messages are stored; the file has not been moved out of the inbox yet.
    Recorded,
    /// The file was moved to the accepted or returned folder.
    Done,
}

impl Stage {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Stage::Recorded => "recorded",
            Stage::Done => "done",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Stage> {
        [Stage::Recorded, Stage::Done]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

pub(crate) fn text_enum<T>(v: ValueRef<'_>, parse: impl Fn(&str) -> Option<T>) -> FromSqlResult<T> {
    let s = v.as_str()?;
    parse(s).ok_or_else(|| FromSqlError::Other(format!("unknown value {s:?}").into()))
}

impl ToSql for Outcome {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl FromSql for Outcome {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        text_enum(v, Outcome::parse)
    }
}

impl ToSql for Stage {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl FromSql for Stage {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        text_enum(v, Stage::parse)
    }
}

impl ToSql for FormKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.id().into())
    }
}

impl FromSql for FormKind {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        text_enum(v, FormKind::from_id)
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
    pub form: Option<FormKind>,
    pub year: Option<i32>,
    pub project_key: Option<&'a ProjectKey>,
    pub project_code: Option<&'a str>,
    pub project_name: Option<&'a str>,
    pub result: Option<&'a CheckResult>,
    pub record: Option<&'a FormRecord>,
    pub duplicate_of: Option<i64>,
    pub archive_path: &'a str,
}

/// A recorded submission.
#[derive(Debug, Clone)]
pub struct Submission {
    pub(crate) id: i64,
    pub(crate) department: String,
    pub(crate) inbox_path: String,
    pub(crate) file_name: String,
    pub(crate) sha256: String,
    pub(crate) received_at: String,
    pub stage: Stage,
    pub outcome: Outcome,
    pub form: Option<FormKind>,
    pub(crate) project_name: Option<String>,
    /// The stored result as JSON; [`Submission::result`] reads it back.
    pub(crate) result_json: Option<String>,
    pub(crate) duplicate_of: Option<i64>,
    pub(crate) superseded_by: Option<i64>,
    /// Where its file was moved, inside the department's folder; none before it is done, or
    /// when the file was deleted or replaced before it could be moved.
    pub(crate) moved_to: Option<String>,
}

impl Submission {
    /// The stored result of checking the file (none for a duplicate).
    pub(crate) fn result(&self) -> Option<CheckResult> {
        self.result_json
            .as_deref()
            .and_then(|j| CheckResult::from_stored(j).ok())
    }
}

const COLUMNS: &str = "id, department, inbox_path, file_name, sha256, received_at, stage, outcome, \
    form, project_name, result_json, duplicate_of, superseded_by, moved_to";

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
        project_name: r.get(9)?,
        result_json: r.get(10)?,
        duplicate_of: r.get(11)?,
        superseded_by: r.get(12)?,
        moved_to: r.get(13)?,
    })
}

fn to_json<T: serde::Serialize>(v: Option<&T>) -> rusqlite::Result<Option<String>> {
    v.map(serde_json::to_string)
        .transpose()
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// Records a submission in a transaction. An accepted form replaces the earlier accepted version
/// of the same project and form, which keeps its row (the history) with `superseded_by` set.
pub fn record(tx: &Transaction, s: &NewSubmission) -> rusqlite::Result<i64> {
    let key = s.project_key.map(ProjectKey::as_str);
    let previous: Option<i64> = match (key, s.form) {
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
         form_json, duplicate_of, supersedes, archive_path, conclusion, figures) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
         ?19, ?20)",
        params![
            s.department,
            s.inbox_path,
            s.file_name,
            s.sha256,
            s.size as i64,
            s.received_at,
            Stage::Recorded,
            s.outcome,
            s.form,
            s.year,
            key,
            s.project_code,
            s.project_name,
            to_json(s.result)?,
            to_json(s.record)?,
            s.duplicate_of,
            previous,
            s.archive_path,
            s.result
                .and_then(|r| r.review.as_ref())
                .map(|r| r.conclusion.as_str()),
            (s.outcome == Outcome::Accepted)
                .then(|| super::summary::KeptFigures::of(s.form, s.result, s.record))
                .flatten(),
        ],
    )?;
    let id = tx.last_insert_rowid();
    if s.outcome == Outcome::Accepted
        && let (Some(key), Some(form)) = (key, s.form)
    {
        tx.execute(
            "UPDATE submissions SET superseded_by = ?1 WHERE project_key = ?2 AND form = ?3 \
                 AND outcome = 'accepted' AND superseded_by IS NULL AND id != ?1",
            params![id, key, form],
        )?;
    }
    Ok(id)
}

/// One submission.
pub(crate) fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<Submission>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM submissions WHERE id = ?1"),
        params![id],
        row_to_submission,
    )
    .optional()
}

/// Submissions of a department with this content, oldest first.
pub(crate) fn by_hash(
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
pub(crate) fn unfinished(conn: &Connection) -> rusqlite::Result<Vec<Submission>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM submissions WHERE stage = 'recorded' ORDER BY id"
    ))?;
    let rows = stmt.query_map([], row_to_submission)?;
    rows.collect()
}

/// Marks a submission done: its file moved to `moved_to` (inside the department's folder), or
/// not moved (`None`) because it was deleted or replaced before it could be.
pub(crate) fn mark_done(
    conn: &Connection,
    id: i64,
    moved_to: Option<&str>,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE submissions SET stage = ?2, moved_to = ?3, done_at = ?4 WHERE id = ?1",
        params![id, Stage::Done, moved_to, now],
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

/// Every submission of a project, oldest first.
pub fn by_project(conn: &Connection, key: &ProjectKey) -> rusqlite::Result<Vec<Submission>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM submissions WHERE project_key = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map(params![key.as_str()], row_to_submission)?;
    rows.collect()
}

/// Counts of submissions by outcome.
pub(crate) fn counts(conn: &Connection) -> rusqlite::Result<Vec<(Outcome, i64)>> {
    let mut stmt = conn
        .prepare("SELECT outcome, COUNT(*) FROM submissions GROUP BY outcome ORDER BY outcome")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// The project keys matching a 项目编码 or 项目名称 (any year, any department); `normalized` is the
/// query as [`crate::text::normalize`] gives it.
pub(crate) fn find_keys(
    conn: &Connection,
    query: &str,
    normalized: &str,
) -> rusqlite::Result<Vec<ProjectKey>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT project_key FROM submissions WHERE project_key IS NOT NULL \
         AND (project_code = ?1 OR project_name = ?1 OR project_key LIKE '%|' || ?2) \
         ORDER BY project_key",
    )?;
    let rows = stmt.query_map(params![query.trim(), normalized], |r| {
        r.get::<_, String>(0).map(ProjectKey::from_stored)
    })?;
    rows.collect()
}

/// An accepted declaration of a project with its stored values.
#[derive(Debug, Clone)]
pub(crate) struct StoredDeclaration {
    pub(crate) id: i64,
    pub(crate) result: Option<CheckResult>,
    pub(crate) record: Option<FormRecord>,
}

/// Every accepted declaration of a project, oldest first.
pub(crate) fn accepted_declarations(
    conn: &Connection,
    key: &ProjectKey,
) -> rusqlite::Result<Vec<StoredDeclaration>> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.id, s.result_json, s.form_json \
         FROM submissions s WHERE s.project_key = ?1 AND s.form = 'target_declaration' \
         AND s.outcome = 'accepted' ORDER BY s.id",
    )?;
    let rows = stmt.query_map(params![key.as_str()], |r| {
        let result: Option<String> = r.get(1)?;
        let form: Option<String> = r.get(2)?;
        Ok(StoredDeclaration {
            id: r.get(0)?,
            result: result.and_then(|j| CheckResult::from_stored(&j).ok()),
            record: form.and_then(|j| serde_json::from_str(&j).ok()),
        })
    })?;
    rows.collect()
}

/// Every (project key, form) of year `?1` with an accepted form.
pub(crate) const ACCEPTED_FORMS: &str = "SELECT DISTINCT project_key, form FROM submissions \
    INDEXED BY submissions_accepted WHERE year = ?1 AND outcome = 'accepted' \
    AND project_key IS NOT NULL AND form IS NOT NULL";

/// Every (project key, form) of `year` with an accepted form, from the index of migration 12.
pub(crate) fn accepted_forms(
    conn: &Connection,
    year: i32,
) -> rusqlite::Result<Vec<(ProjectKey, FormKind)>> {
    let mut stmt = conn.prepare_cached(ACCEPTED_FORMS)?;
    let rows = stmt.query_map(params![year], |r| {
        Ok((ProjectKey::from_stored(r.get(0)?), r.get(1)?))
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new<'a>(sha: &'a str, outcome: Outcome, key: &'a ProjectKey) -> NewSubmission<'a> {
        NewSubmission {
            department: "nyt",
            inbox_path: "a.xlsx",
            file_name: "a.xlsx",
            sha256: sha,
            size: 1,
            received_at: "2026-11-25T10:00:00+08:00",
            outcome,
            form: Some(FormKind::TargetDeclaration),
            year: Some(2026),
            project_key: Some(key),
            project_code: None,
            project_name: Some("p"),
            result: None,
            record: None,
            duplicate_of: None,
            archive_path: "x",
        }
    }

    #[test]
    fn resubmission_supersedes_and_keeps_history() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::open(&dir.path().join("s.db")).unwrap();
        let k = ProjectKey::new(Some(2026), "nyt", "p");
        let tx = conn.transaction().unwrap();
        let a = record(&tx, &new("h1", Outcome::Accepted, &k)).unwrap();
        let r = record(&tx, &new("h2", Outcome::Rejected, &k)).unwrap();
        let b = record(&tx, &new("h3", Outcome::Accepted, &k)).unwrap();
        tx.commit().unwrap();
        let all = by_project(&conn, &k).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].superseded_by, Some(b));
        assert_eq!(all[1].id, r);
        assert_eq!(all[1].outcome, Outcome::Rejected);
        assert_eq!(
            all[1].superseded_by, None,
            "a rejected version replaces nothing"
        );
        assert_eq!(all[2].superseded_by, None);
        assert_eq!(by_hash(&conn, "nyt", "h1").unwrap()[0].id, a);
        assert_eq!(unfinished(&conn).unwrap().len(), 3);
        mark_done(&conn, a, Some("已受理/a.xlsx"), "now").unwrap();
        assert_eq!(unfinished(&conn).unwrap().len(), 2);
        assert_eq!(get(&conn, a).unwrap().unwrap().stage, Stage::Done);
    }
}
