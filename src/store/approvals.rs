//! The `approvals` table: the finance office's decisions on declarations — a version approved or
//! its approval revoked, by `jixiao approve`/`jixiao revoke` or a decision file — kept as a
//! history with who, when and the note.

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
    /// `command`, or the decision file's name.
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
