//! The `approvals` table: the finance office's decisions on declarations — a version approved or
//! its approval revoked, by `jixiao approve`/`jixiao revoke`, a decision file or the console —
//! kept as a history with who, when and the note.

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, params};

use crate::forms::project::ProjectKey;
use crate::rules::review::Conclusion;
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

/// An accepted declaration as the finance office decides on it, read from the index of
/// migration 12 alone.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Declared {
    pub(crate) key: ProjectKey,
    /// Its submission number: the version the finance office approves.
    pub(crate) id: i64,
    /// Its review conclusion; none when it was not reviewed.
    pub(crate) conclusion: Option<Conclusion>,
    /// The department code.
    pub(crate) department: String,
    pub(crate) year: Option<i32>,
    /// 项目编码 and 项目名称 as this version gives them.
    pub(crate) code: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) received_at: String,
    pub(crate) file_name: String,
}

/// The columns of [`Declared`], from the index that holds them all (migration 12).
const DECLARED: &str = "SELECT project_key, id, conclusion, department, year, project_code, \
    project_name, received_at, file_name FROM submissions INDEXED BY submissions_declarations \
    WHERE form = 'target_declaration' AND outcome = 'accepted' AND project_key IS NOT NULL";

fn declared_row(r: &rusqlite::Row) -> rusqlite::Result<Declared> {
    Ok(Declared {
        key: ProjectKey::from_stored(r.get(0)?),
        id: r.get(1)?,
        conclusion: r
            .get::<_, Option<String>>(2)?
            .and_then(|c| Conclusion::parse(&c)),
        department: r.get(3)?,
        year: r.get(4)?,
        code: r.get(5)?,
        name: r.get(6)?,
        received_at: r.get(7)?,
        file_name: r.get(8)?,
    })
}

/// Every accepted declaration, of a year and a department when given, by project key and
/// then oldest first.
pub(crate) fn declared(
    conn: &Connection,
    year: Option<i32>,
    department: Option<&str>,
) -> rusqlite::Result<Vec<Declared>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{DECLARED} AND (?1 IS NULL OR year = ?1) AND (?2 IS NULL OR department = ?2) \
         ORDER BY project_key, id"
    ))?;
    let rows = stmt.query_map(params![year, department], declared_row)?;
    rows.collect()
}

/// The accepted declarations of a project, oldest first.
pub(crate) fn declared_of(conn: &Connection, key: &ProjectKey) -> rusqlite::Result<Vec<Declared>> {
    let mut stmt = conn.prepare_cached(&format!("{DECLARED} AND project_key = ?1 ORDER BY id"))?;
    let rows = stmt.query_map(params![key.as_str()], declared_row)?;
    rows.collect()
}

/// The years that have an accepted declaration, latest first.
pub(crate) fn declared_years(conn: &Connection) -> rusqlite::Result<Vec<i32>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT year FROM submissions INDEXED BY submissions_declarations \
         WHERE form = 'target_declaration' AND outcome = 'accepted' AND year IS NOT NULL \
         ORDER BY year DESC",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Every decision on any project, oldest first, with their project keys.
pub(crate) fn all(conn: &Connection) -> rusqlite::Result<Vec<(ProjectKey, Decided)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, submission_id, action, approved_at, source, note, project_key FROM approvals \
         ORDER BY id",
    )?;
    let rows = stmt.query_map([], keyed_decision)?;
    rows.collect()
}

fn keyed_decision(r: &rusqlite::Row) -> rusqlite::Result<(ProjectKey, Decided)> {
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
    let rows = stmt.query_map(params![limit as i64], keyed_decision)?;
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
        let listed = declared(&conn, None, None).unwrap();
        assert_eq!(listed.len(), 2);
        // By key: jyt before nyt.
        assert_eq!(listed[0].key, jyt);
        let only = declared(&conn, Some(2026), Some("nyt")).unwrap();
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].key, nyt);
        assert_eq!(only[0].id, a);
        assert_eq!(only[0].name.as_deref(), Some("项目"));
        assert_eq!(only[0].file_name, "a.xlsx");
        assert_eq!(only[0].conclusion, None);
        assert_eq!(declared_of(&conn, &nyt).unwrap(), only);
        assert!(declared(&conn, Some(2025), None).unwrap().is_empty());
        assert_eq!(declared_years(&conn).unwrap(), [2026]);

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
        let every = all(&conn).unwrap();
        assert_eq!(every.len(), 2);
        assert_eq!(every[0].1.action, Action::Approve);
    }

    fn reviewed(conclusion: Conclusion) -> crate::check::CheckResult {
        crate::check::CheckResult::reviewed(Some(FormKind::TargetDeclaration), Some(conclusion))
    }

    #[test]
    fn a_declarations_conclusion_is_read_from_the_index_alone_and_returned_ones_are_not_listed() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("s.db")).unwrap();
        let key = ProjectKey::new(Some(2026), "nyt", "22000026000101");
        let (first, second) = (
            reviewed(Conclusion::PassAfterRevision),
            reviewed(Conclusion::Pass),
        );
        let tx = conn.transaction().unwrap();
        let returned = NewSubmission {
            outcome: Outcome::Rejected,
            ..declaration("h0", &key, "nyt")
        };
        crate::store::submissions::record(&tx, &returned).unwrap();
        let a = NewSubmission {
            result: Some(&first),
            ..declaration("h1", &key, "nyt")
        };
        let a = crate::store::submissions::record(&tx, &a).unwrap();
        let b = NewSubmission {
            result: Some(&second),
            ..declaration("h2", &key, "nyt")
        };
        let b = crate::store::submissions::record(&tx, &b).unwrap();
        tx.commit().unwrap();
        let got: Vec<_> = declared_of(&conn, &key)
            .unwrap()
            .into_iter()
            .map(|d| (d.id, d.conclusion))
            .collect();
        assert_eq!(
            got,
            [
                (a, Some(Conclusion::PassAfterRevision)),
                (b, Some(Conclusion::Pass))
            ]
        );
        // Neither query reads a row of the table: their kilobytes of JSON stay on disk.
        for (sql, arg) in [
            (
                format!("{DECLARED} AND project_key = ?1 ORDER BY id"),
                "2026|nyt|x",
            ),
            (
                format!(
                    "{DECLARED} AND (?1 IS NULL OR year = ?1) AND (?2 IS NULL OR department = ?2) \
                     ORDER BY project_key, id"
                ),
                "",
            ),
        ] {
            let params: Vec<rusqlite::types::Value> = if arg.is_empty() {
                vec![rusqlite::types::Value::Null, rusqlite::types::Value::Null]
            } else {
                vec![arg.to_string().into()]
            };
            let plan = crate::store::query_plan(&conn, &sql, &params);
            assert!(
                plan.contains("USING COVERING INDEX submissions_declarations")
                    && !plan.contains("TEMP B-TREE"),
                "{plan}"
            );
        }
    }
}
