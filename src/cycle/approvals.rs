//! Which declaration's targets are in force for a project: the latest accepted declaration
//! concluded 通过, or 修改后通过 and approved by the finance office (财预〔2015〕88号: targets once
//! approved are not changed without approval).

use rusqlite::Connection;

use crate::forms::project::ProjectKey;
use crate::forms::record::FormRecord;
use crate::rules::review::Conclusion;
use crate::store;

/// The approved declaration of a project: its submission id and values.
pub fn approved_declaration(
    conn: &Connection,
    key: &ProjectKey,
) -> anyhow::Result<Option<(i64, FormRecord)>> {
    for d in store::submissions::accepted_declarations(conn, key)? {
        let conclusion = d.result.and_then(|r| r.review).map(|r| r.conclusion);
        let ok = match conclusion {
            Some(Conclusion::Pass) => true,
            Some(Conclusion::PassAfterRevision) => d.approved,
            Some(Conclusion::Fail) | None => false,
        };
        if ok && let Some(record) = d.record {
            return Ok(Some((d.id, record)));
        }
    }
    Ok(None)
}

/// Approves the latest accepted declaration of a project (for a 修改后通过 conclusion).
/// Returns the approved submission's id, or `None` when there is no accepted declaration.
pub fn approve(
    conn: &Connection,
    key: &ProjectKey,
    source: &str,
    note: Option<&str>,
    now: &str,
) -> anyhow::Result<Option<i64>> {
    let id = store::approvals::latest_accepted_declaration(conn, key)?;
    if let Some(id) = id {
        store::approvals::approve(conn, key, id, source, note, now)?;
    }
    Ok(id)
}
