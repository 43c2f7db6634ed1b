//! The `approvals` table: the finance office's decisions on declarations — a version approved or
//! its approval revoked, by `jixiao approve`/`jixiao revoke`, a decision file or the console —
//! kept as a history with who, when and the note.

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, params};

use crate::forms::project::ProjectKey;
use crate::store::submissions::text_enum;

/// What the finance office decided about a declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Its targets are approved: later reports are measured against them.
    Approve,
    /// Its approval is withdrawn.
    Revoke,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Revoke => "revoke",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Action> {
        [Action::Approve, Action::Revoke]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

impl ToSql for Action {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl FromSql for Action {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        text_enum(v, Action::parse)
    }
}

/// One decision on a declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    pub id: i64,
    pub submission_id: i64,
    pub action: Action,
    /// When it was decided (RFC 3339).
    pub at: String,
    /// Who decided: `command` (`jixiao approve`/`revoke`), the decision file's name, or the
    /// console account's name.
    pub source: String,
    pub note: Option<String>,
}

/// Every decision on a project's declarations, oldest first.
pub(crate) fn of_project(conn: &Connection, key: &ProjectKey) -> rusqlite::Result<Vec<Decided>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, submission_id, action, approved_at, source, note FROM approvals \
         WHERE project_key = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![key.as_str()], |r| {
        Ok(Decided {
            id: r.get(0)?,
            submission_id: r.get(1)?,
            action: r.get(2)?,
            at: r.get(3)?,
            source: r.get(4)?,
            note: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// Records a decision on a declaration.
pub(crate) fn record(
    conn: &Connection,
    key: &ProjectKey,
    submission_id: i64,
    action: Action,
    source: &str,
    note: Option<&str>,
    now: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO approvals (project_key, submission_id, action, approved_at, source, note) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![key.as_str(), submission_id, action, now, source, note],
    )?;
    Ok(())
}

/// A project with an accepted declaration, as the finance office lists them to decide on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DeclaredProject {
    pub(crate) key: ProjectKey,
    /// The department code.
    pub(crate) department: String,
    pub(crate) year: Option<i32>,
    /// 项目编码 and 项目名称 of its latest accepted declaration.
    pub(crate) code: Option<String>,
    pub(crate) name: Option<String>,
}

/// The projects with an accepted declaration, of a year and a department when given, by key.
pub(crate) fn declared_projects(
    conn: &Connection,
    year: Option<i32>,
    department: Option<&str>,
) -> rusqlite::Result<Vec<DeclaredProject>> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.project_key, s.department, s.year, s.project_code, s.project_name \
         FROM submissions s WHERE s.id IN (SELECT MAX(id) FROM submissions \
           WHERE form = 'target_declaration' AND outcome = 'accepted' \
           AND project_key IS NOT NULL GROUP BY project_key) \
         AND (?1 IS NULL OR s.year = ?1) AND (?2 IS NULL OR s.department = ?2) \
         ORDER BY s.department, s.year, s.project_key",
    )?;
    let rows = stmt.query_map(params![year, department], |r| {
        Ok(DeclaredProject {
            key: ProjectKey::from_stored(r.get(0)?),
            department: r.get(1)?,
            year: r.get(2)?,
            code: r.get(3)?,
            name: r.get(4)?,
        })
    })?;
    rows.collect()
}

/// The latest decisions on any project, newest first, with their project keys.
pub(crate) fn recent(
    conn: &Connection,
    limit: usize,
) -> rusqlite::Result<Vec<(ProjectKey, Decided)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, submission_id, action, approved_at, source, note, project_key FROM approvals \
         ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit as i64], |r| {
        Ok((
            ProjectKey::from_stored(r.get(6)?),
            Decided {
                id: r.get(0)?,
                submission_id: r.get(1)?,
                action: r.get(2)?,
                at: r.get(3)?,
                source: r.get(4)?,
                note: r.get(5)?,
            },
        ))
    })?;
    rows.collect()
}

/// The decisions recorded after the one numbered `after`: (their id, the year of their
/// project). The daemon notices this way decisions made by another process (the console,
/// `jixiao approve`) and rebuilds the summary of their years.
pub(crate) fn since(conn: &Connection, after: i64) -> rusqlite::Result<Vec<(i64, Option<i32>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.id, (SELECT s.year FROM submissions s WHERE s.id = a.submission_id) \
         FROM approvals a WHERE a.id > ?1 ORDER BY a.id",
    )?;
    let rows = stmt.query_map(params![after], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// The number of the latest decision (0 when there is none).
pub(crate) fn latest_id(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(id), 0) FROM approvals", [], |r| {
        r.get(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::FormKind;
    use crate::store::submissions::{NewSubmission, Outcome};

    fn declaration<'a>(
        sha: &'a str,
        key: &'a ProjectKey,
        department: &'a str,
    ) -> NewSubmission<'a> {
        NewSubmission {
            department,
            inbox_path: "a.xlsx",
            file_name: "a.xlsx",
            sha256: sha,
            size: 1,
            received_at: "2026-11-25T10:00:00+08:00",
            outcome: Outcome::Accepted,
            form: Some(FormKind::TargetDeclaration),
            year: Some(2026),
            project_key: Some(key),
            project_code: Some("22000026000101"),
            project_name: Some("项目"),
            result: None,
            record: None,
            duplicate_of: None,
            archive_path: "x",
        }
    }

    #[test]
    fn projects_are_listed_by_year_and_department_and_new_decisions_are_found_with_their_year() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("s.db")).unwrap();
        let nyt = ProjectKey::new(Some(2026), "nyt", "22000026000101");
        let jyt = ProjectKey::new(Some(2026), "jyt", "22000026000101");
        let tx = conn.transaction().unwrap();
        let a = crate::store::submissions::record(&tx, &declaration("h1", &nyt, "nyt")).unwrap();
        crate::store::submissions::record(&tx, &declaration("h2", &jyt, "jyt")).unwrap();
        tx.commit().unwrap();
        let all = declared_projects(&conn, None, None).unwrap();
        assert_eq!(all.len(), 2);
        let only = declared_projects(&conn, Some(2026), Some("nyt")).unwrap();
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].key, nyt);
        assert_eq!(only[0].name.as_deref(), Some("项目"));
        assert!(
            declared_projects(&conn, Some(2025), None)
                .unwrap()
                .is_empty()
        );

        assert_eq!(latest_id(&conn).unwrap(), 0);
        record(
            &conn,
            &nyt,
            a,
            Action::Approve,
            "审核员",
            Some("同意"),
            "t1",
        )
        .unwrap();
        record(&conn, &nyt, a, Action::Revoke, "审核员", None, "t2").unwrap();
        assert_eq!(latest_id(&conn).unwrap(), 2);
        assert_eq!(since(&conn, 0).unwrap(), [(1, Some(2026)), (2, Some(2026))]);
        assert_eq!(since(&conn, 2).unwrap(), []);
        let recent = recent(&conn, 1).unwrap();
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].0, nyt);
        assert_eq!(recent[0].1.action, Action::Revoke);
        assert_eq!(recent[0].1.source, "审核员");
    }
}
