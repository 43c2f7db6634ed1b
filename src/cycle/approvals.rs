//! Which declaration's targets are in force for a project (财预〔2015〕88号: targets once approved
//! are not changed without approval).
//!
//! The first accepted declaration concluded 通过 is in force by itself; a declaration concluded
//! 修改后通过 is in force once the finance office approves it. Once targets are in force, a later
//! declaration is an adjustment request: reviewed and answered as usual, but the approved
//! targets stay in force until the finance office approves the new version. The latest approval
//! not revoked wins; revoking it puts back what was in force before.

use std::collections::HashMap;

use rusqlite::Connection;

use crate::forms::project::ProjectKey;
use crate::forms::record::FormRecord;
use crate::rules::review::Conclusion;
use crate::store;
use crate::store::approvals::{Action, Decided, Declared};
use crate::store::submissions::StoredDeclaration;

/// Where a project's declarations stand with the finance office.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Standing {
    /// The declaration whose targets are in force: its submission id.
    pub in_force: Option<i64>,
    /// A later declaration waiting for the finance office's approval (an adjustment request).
    pub pending: Option<i64>,
    /// Every approval and revocation, oldest first.
    pub decisions: Vec<Decided>,
}

/// Why the finance office's decision was not recorded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refused {
    #[error("{0} has no accepted declaration")]
    NoDeclaration(String),
    #[error("#{id} is not an accepted declaration of {key}")]
    NotADeclaration { id: i64, key: String },
    #[error(
        "the declaration #{id} of {key} was concluded {conclusion}: only a declaration concluded 通过 or 修改后通过 can be approved"
    )]
    NotApprovable {
        id: i64,
        key: String,
        conclusion: String,
    },
    #[error("the declaration #{id} of {key} is not approved: there is nothing to revoke")]
    NotApproved { id: i64, key: String },
}

fn conclusion(d: &StoredDeclaration) -> Option<Conclusion> {
    d.result
        .as_ref()
        .and_then(|r| r.review.as_ref())
        .map(|r| r.conclusion)
}

fn conclusion_text(d: &StoredDeclaration) -> String {
    conclusion(d).map_or_else(|| "（未审核）".to_string(), |c| c.to_string())
}

fn approvable(d: &StoredDeclaration) -> bool {
    is_approvable(conclusion(d))
}

/// The standing computed from the accepted declarations (their ids and conclusions, oldest
/// first) and the decisions.
fn standing_of(decls: &[(i64, Option<Conclusion>)], decisions: Vec<Decided>) -> Standing {
    let mut last: HashMap<i64, (i64, Action)> = HashMap::new();
    for d in &decisions {
        last.insert(d.submission_id, (d.id, d.action));
    }
    let revoked = |id: i64| matches!(last.get(&id), Some((_, Action::Revoke)));
    let approved = decls
        .iter()
        .filter_map(|&(id, _)| match last.get(&id) {
            Some((at, Action::Approve)) => Some((*at, id)),
            _ => None,
        })
        .max()
        .map(|(_, id)| id);
    let first_pass = decls
        .iter()
        .find(|(_, c)| *c == Some(Conclusion::Pass))
        .map(|&(id, _)| id)
        .filter(|id| !revoked(*id));
    let in_force = approved.or(first_pass);
    let pending = in_force.and_then(|current| {
        decls
            .iter()
            .rev()
            .find(|&&(id, c)| id > current && is_approvable(c) && !revoked(id))
            .map(|&(id, _)| id)
    });
    Standing {
        in_force,
        pending,
        decisions,
    }
}

fn is_approvable(c: Option<Conclusion>) -> bool {
    matches!(c, Some(Conclusion::Pass | Conclusion::PassAfterRevision))
}

fn ids_and_conclusions(decls: &[StoredDeclaration]) -> Vec<(i64, Option<Conclusion>)> {
    decls.iter().map(|d| (d.id, conclusion(d))).collect()
}

/// Where a project's declarations stand: the one in force, a pending adjustment request, and
/// the finance office's decisions.
pub fn standing(conn: &Connection, key: &ProjectKey) -> anyhow::Result<Standing> {
    Ok(project(conn, key)?.map_or_else(Standing::default, |p| p.standing))
}

/// A project's accepted declarations and where they stand.
#[derive(Debug, Clone)]
pub(crate) struct Project {
    /// Its accepted declarations, oldest first (never empty).
    pub(crate) declarations: Vec<Declared>,
    pub(crate) standing: Standing,
}

impl Project {
    /// Its latest accepted declaration, which names it.
    pub(crate) fn latest(&self) -> &Declared {
        self.declarations
            .last()
            .expect("a project is listed for its accepted declarations")
    }

    /// Whether a declaration can be approved: concluded 通过 or 修改后通过 and not in force.
    pub(crate) fn approvable(&self, d: &Declared) -> bool {
        is_approvable(d.conclusion) && self.standing.in_force != Some(d.id)
    }

    fn new(declarations: Vec<Declared>, decisions: Vec<Decided>) -> Project {
        let ids: Vec<_> = declarations.iter().map(|d| (d.id, d.conclusion)).collect();
        Project {
            standing: standing_of(&ids, decisions),
            declarations,
        }
    }
}

/// A project with its accepted declarations and where they stand, if it has any.
pub(crate) fn project(conn: &Connection, key: &ProjectKey) -> anyhow::Result<Option<Project>> {
    let declarations = store::approvals::declared_of(conn, key)?;
    if declarations.is_empty() {
        return Ok(None);
    }
    let decisions = store::approvals::of_project(conn, key)?;
    Ok(Some(Project::new(declarations, decisions)))
}

/// Every project with an accepted declaration, of a year and a department when given, by key:
/// two reads of indexes, whatever the number of projects.
pub(crate) fn projects(
    conn: &Connection,
    year: Option<i32>,
    department: Option<&str>,
) -> anyhow::Result<Vec<Project>> {
    let mut decisions: HashMap<ProjectKey, Vec<Decided>> = HashMap::new();
    for (key, d) in store::approvals::all(conn)? {
        decisions.entry(key).or_default().push(d);
    }
    let mut projects = Vec::new();
    let mut declarations: Vec<Declared> = Vec::new();
    for d in store::approvals::declared(conn, year, department)? {
        if declarations.first().is_some_and(|first| first.key != d.key) {
            let decls = std::mem::take(&mut declarations);
            let decided = decisions.remove(&decls[0].key).unwrap_or_default();
            projects.push(Project::new(decls, decided));
        }
        declarations.push(d);
    }
    if !declarations.is_empty() {
        let decided = decisions.remove(&declarations[0].key).unwrap_or_default();
        projects.push(Project::new(declarations, decided));
    }
    Ok(projects)
}

/// The approved declaration of a project: its submission id and values.
pub fn approved_declaration(
    conn: &Connection,
    key: &ProjectKey,
) -> anyhow::Result<Option<(i64, FormRecord)>> {
    let decls = store::submissions::accepted_declarations(conn, key)?;
    let decisions = store::approvals::of_project(conn, key)?;
    let Some(id) = standing_of(&ids_and_conclusions(&decls), decisions).in_force else {
        return Ok(None);
    };
    Ok(decls
        .into_iter()
        .find(|d| d.id == id)
        .and_then(|d| d.record.map(|r| (d.id, r))))
}

/// Approves a declaration of a project: the given version (submission number), or else the
/// latest one concluded 通过 or 修改后通过. A declaration concluded 不通过, or not reviewed, is
/// refused. Returns the approved submission's id.
pub fn approve(
    conn: &Connection,
    key: &ProjectKey,
    version: Option<i64>,
    source: &str,
    note: Option<&str>,
    now: &str,
) -> anyhow::Result<Result<i64, Refused>> {
    let decls = store::submissions::accepted_declarations(conn, key)?;
    let chosen = match version {
        Some(id) => decls
            .iter()
            .find(|d| d.id == id)
            .ok_or(Refused::NotADeclaration {
                id,
                key: key.to_string(),
            }),
        None => decls
            .iter()
            .rev()
            .find(|d| approvable(d))
            .or(decls.last())
            .ok_or_else(|| Refused::NoDeclaration(key.to_string())),
    };
    let d = match chosen {
        Ok(d) => d,
        Err(e) => return Ok(Err(e)),
    };
    if !approvable(d) {
        return Ok(Err(Refused::NotApprovable {
            id: d.id,
            key: key.to_string(),
            conclusion: conclusion_text(d),
        }));
    }
    store::approvals::record(conn, key, d.id, Action::Approve, source, note, now)?;
    Ok(Ok(d.id))
}

/// Revokes the approval of a declaration: the given version, or else the one in force. What was
/// in force before it comes back. Returns the revoked submission's id.
pub fn revoke(
    conn: &Connection,
    key: &ProjectKey,
    version: Option<i64>,
    source: &str,
    note: Option<&str>,
    now: &str,
) -> anyhow::Result<Result<i64, Refused>> {
    let decls = store::submissions::accepted_declarations(conn, key)?;
    let decisions = store::approvals::of_project(conn, key)?;
    let id = match version {
        Some(id) if !decls.iter().any(|d| d.id == id) => {
            return Ok(Err(Refused::NotADeclaration {
                id,
                key: key.to_string(),
            }));
        }
        Some(id) => id,
        None => match standing_of(&ids_and_conclusions(&decls), decisions.clone()).in_force {
            Some(id) => id,
            None if decls.is_empty() => return Ok(Err(Refused::NoDeclaration(key.to_string()))),
            None => {
                return Ok(Err(Refused::NotApproved {
                    id: decls.last().map_or(0, |d| d.id),
                    key: key.to_string(),
                }));
            }
        },
    };
    let standing = standing_of(&ids_and_conclusions(&decls), decisions.clone());
    let explicitly = decisions
        .iter()
        .rev()
        .find(|d| d.submission_id == id)
        .is_some_and(|d| d.action == Action::Approve);
    if !explicitly && standing.in_force != Some(id) {
        return Ok(Err(Refused::NotApproved {
            id,
            key: key.to_string(),
        }));
    }
    store::approvals::record(conn, key, id, Action::Revoke, source, note, now)?;
    Ok(Ok(id))
}

/// Measures an accepted form against its project's approved declaration, as the daemon records
/// it and 试一试 shows it: a declaration made while approved targets are in force is marked as an
/// adjustment request; a performance report or self-evaluation gets the cross-form findings
/// against the approved targets. Nothing for a returned form or one without a project.
pub(crate) fn measure_against_approved(
    conn: &Connection,
    department: &str,
    checked: &mut crate::check::Checked,
    defs: &crate::forms::Definitions,
) -> anyhow::Result<()> {
    let Some(form) = &checked.form else {
        return Ok(());
    };
    if !checked.result.accepted() {
        return Ok(());
    }
    let Some(key) = checked
        .result
        .project
        .as_ref()
        .and_then(|p| p.key(department))
    else {
        return Ok(());
    };
    let approved = approved_declaration(conn, &key)?;
    if form.kind == crate::forms::FormKind::TargetDeclaration {
        if let Some((id, _)) = &approved {
            let note = crate::rules::cross_form::adjustment_request(form, *id);
            checked.result.warnings.push(note);
        }
        return Ok(());
    }
    let findings =
        crate::rules::cross_form::cross_check(approved.as_ref().map(|(_, r)| r), form, defs);
    checked.result.warnings.extend(findings);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CheckResult;

    fn decl(id: i64, conclusion: Option<Conclusion>) -> StoredDeclaration {
        StoredDeclaration {
            id,
            result: Some(CheckResult::reviewed(None, conclusion)),
            record: None,
        }
    }

    fn decided(id: i64, submission_id: i64, action: Action) -> Decided {
        Decided {
            id,
            submission_id,
            action,
            at: String::new(),
            source: "test".into(),
            note: None,
        }
    }

    fn at(decls: &[StoredDeclaration], decisions: &[Decided]) -> (Option<i64>, Option<i64>) {
        let s = standing_of(&ids_and_conclusions(decls), decisions.to_vec());
        (s.in_force, s.pending)
    }

    use Action::{Approve, Revoke};
    use Conclusion::{Fail, Pass, PassAfterRevision};

    #[test]
    fn the_first_declaration_concluded_pass_stays_in_force_until_another_is_approved() {
        let decls = [
            decl(1, Some(Pass)),
            decl(2, Some(Pass)),
            decl(3, Some(Fail)),
        ];
        assert_eq!(at(&decls[..1], &[]), (Some(1), None));
        assert_eq!(at(&decls[..2], &[]), (Some(1), Some(2)));
        // A later 不通过 is no adjustment to approve; the one before it still waits.
        assert_eq!(at(&decls, &[]), (Some(1), Some(2)));
        let approved = [decided(1, 2, Approve)];
        assert_eq!(at(&decls, &approved), (Some(2), None));
        // Revoking the adjustment puts back the first; revoking that leaves nothing in force.
        let revoked = [decided(1, 2, Approve), decided(2, 2, Revoke)];
        assert_eq!(at(&decls, &revoked), (Some(1), None));
        let both = [
            decided(1, 2, Approve),
            decided(2, 2, Revoke),
            decided(3, 1, Revoke),
        ];
        assert_eq!(at(&decls, &both), (None, None));
    }

    #[test]
    fn a_declaration_for_revision_is_in_force_once_approved_or_replaced_by_one_that_passes() {
        let first = [decl(1, Some(PassAfterRevision))];
        assert_eq!(at(&first, &[]), (None, None));
        assert_eq!(at(&first, &[decided(1, 1, Approve)]), (Some(1), None));
        let corrected = [decl(1, Some(PassAfterRevision)), decl(2, Some(Pass))];
        assert_eq!(at(&corrected, &[]), (Some(2), None));
        // Approved first, the corrected one is an adjustment request.
        assert_eq!(
            at(&corrected, &[decided(1, 1, Approve)]),
            (Some(1), Some(2))
        );
        // The latest approval wins.
        let again = [decided(1, 2, Approve), decided(2, 1, Approve)];
        assert_eq!(at(&corrected, &again), (Some(1), Some(2)));
        let unreviewed = [decl(1, Some(Fail)), decl(2, None)];
        assert_eq!(at(&unreviewed, &[]), (None, None));
    }
}
