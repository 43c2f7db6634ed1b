//! 待批复: the declarations the finance office can approve (a declaration concluded 修改后通过,
//! an adjustment request while approved targets are in force), the projects whose targets are in
//! force (which can be revoked), and every decision with who made it. Approving and revoking are
//! `jixiao approve` and `jixiao revoke` (`cycle::approvals`), recorded under the account's name,
//! with an audit entry about the project and one about the declaration.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use minijinja::context;
use serde::{Deserialize, Serialize};

use crate::cycle::approvals::{self, Refused, Standing};
use crate::forms::project::ProjectKey;
use crate::rules::review::Conclusion;
use crate::store;
use crate::store::accounts::Role;
use crate::store::approvals::{Action, DeclaredProject};
use crate::web::auth::{Posted, Who};
use crate::web::page::{WebError, form_urlencoded_component, render, see_other, v};
use crate::web::{App, Shared};

/// This page's templates.
pub(super) const TEMPLATES: &[(&str, &str)] = &[
    (
        "approvals.html",
        include_str!("../templates/approvals.html"),
    ),
    (
        "approvals_history.html",
        include_str!("../templates/approvals_history.html"),
    ),
];

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/approvals", get(page))
        .route("/approvals/history", get(history))
        .route("/approvals/approve", post(approve))
        .route("/approvals/revoke", post(revoke))
}

/// How many of the latest decisions the page lists.
const RECENT: usize = 50;

#[derive(Deserialize, Default)]
struct Filter {
    #[serde(default)]
    year: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    done: String,
    #[serde(default)]
    error: String,
}

impl Filter {
    fn year(&self) -> Option<i32> {
        self.year.trim().parse().ok()
    }

    fn department(&self) -> Option<String> {
        Some(self.department.trim().to_string()).filter(|d| !d.is_empty())
    }
}

/// A declaration as the page lists it.
#[derive(Serialize)]
struct Declaration {
    id: i64,
    received_at: String,
    file_name: String,
    /// 通过, 修改后通过, 不通过, or （未审核）.
    conclusion: String,
    /// A class for the badge: ok, muted, bad.
    tone: &'static str,
    approvable: bool,
    in_force: bool,
    /// A later declaration while approved targets are in force.
    adjustment: bool,
    /// The adjustment request the project's standing names as waiting.
    pending: bool,
    /// Its latest decision was a revocation.
    revoked: bool,
    /// Its latest decision was an approval.
    approved: bool,
}

/// A project with its declarations and decisions.
#[derive(Serialize)]
struct ProjectView {
    key: String,
    /// The key as a query component.
    key_q: String,
    department: String,
    department_name: String,
    year: Option<i32>,
    code: Option<String>,
    name: Option<String>,
    in_force: Option<i64>,
    pending: Option<i64>,
    /// How the version in force came to be: approved by whom and when, or by its review.
    in_force_by: Option<DecidedView>,
    declarations: Vec<Declaration>,
    decisions: Vec<DecidedView>,
}

#[derive(Serialize, Clone)]
struct DecidedView {
    id: i64,
    version: i64,
    action: &'static str,
    action_label: &'static str,
    at: String,
    by: String,
    note: String,
}

fn decided_view(d: &store::approvals::Decided) -> DecidedView {
    DecidedView {
        id: d.id,
        version: d.submission_id,
        action: d.action.as_str(),
        action_label: match d.action {
            Action::Approve => "批复",
            Action::Revoke => "撤销批复",
        },
        at: d.at.clone(),
        by: match d.source.as_str() {
            "command" => "命令行".to_string(),
            s => s.to_string(),
        },
        note: d.note.clone().unwrap_or_default(),
    }
}

fn department_name(app: &App, code: &str) -> String {
    app.cfg
        .department_by_code(code)
        .map_or_else(|| code.to_string(), |d| d.name.clone())
}

/// Everything the page shows about one project.
fn project_view(
    app: &App,
    conn: &rusqlite::Connection,
    p: DeclaredProject,
) -> Result<ProjectView, WebError> {
    let decls = store::submissions::accepted_declarations(conn, &p.key)?;
    let Standing {
        in_force,
        pending,
        decisions,
    } = approvals::standing(conn, &p.key)?;
    let received: HashMap<i64, (String, String)> = store::submissions::by_project(conn, &p.key)?
        .into_iter()
        .map(|s| (s.id, (s.received_at, s.file_name)))
        .collect();
    let mut last: HashMap<i64, Action> = HashMap::new();
    for d in &decisions {
        last.insert(d.submission_id, d.action);
    }
    let declarations = decls
        .iter()
        .map(|d| {
            let conclusion = d
                .result
                .as_ref()
                .and_then(|r| r.review.as_ref())
                .map(|r| r.conclusion);
            let (received_at, file_name) = received.get(&d.id).cloned().unwrap_or_default();
            Declaration {
                id: d.id,
                received_at,
                file_name,
                conclusion: conclusion.map_or_else(|| "（未审核）".into(), |c| c.to_string()),
                tone: match conclusion {
                    Some(Conclusion::Pass) => "ok",
                    Some(Conclusion::PassAfterRevision) => "muted",
                    _ => "bad",
                },
                approvable: matches!(
                    conclusion,
                    Some(Conclusion::Pass | Conclusion::PassAfterRevision)
                ),
                in_force: in_force == Some(d.id),
                adjustment: in_force.is_some_and(|f| d.id > f),
                pending: pending == Some(d.id),
                revoked: last.get(&d.id) == Some(&Action::Revoke),
                approved: last.get(&d.id) == Some(&Action::Approve),
            }
        })
        .collect();
    let in_force_by = in_force.and_then(|id| {
        decisions
            .iter()
            .rev()
            .find(|d| d.submission_id == id && d.action == Action::Approve)
            .map(decided_view)
    });
    Ok(ProjectView {
        key: p.key.to_string(),
        key_q: form_urlencoded_component(p.key.as_str()),
        department_name: department_name(app, &p.department),
        department: p.department,
        year: p.year,
        code: p.code,
        name: p.name,
        in_force,
        pending,
        in_force_by,
        declarations,
        decisions: decisions.iter().rev().map(decided_view).collect(),
    })
}

/// A row of the table of declarations to approve.
#[derive(Serialize)]
struct Candidate {
    key: String,
    key_q: String,
    department_name: String,
    year: Option<i32>,
    code: Option<String>,
    name: Option<String>,
    in_force: Option<i64>,
    in_force_by: Option<DecidedView>,
    declaration: Declaration,
}

async fn page(
    State(app): State<Shared>,
    who: Who,
    Query(f): Query<Filter>,
) -> Result<Html<String>, WebError> {
    let (year, department) = (f.year(), f.department());
    let dept = department.clone();
    let (candidates, in_force, recent, years) = app
        .db(move |app, conn| {
            let projects = store::approvals::declared_projects(conn, year, dept.as_deref())?;
            let mut candidates = Vec::new();
            let mut in_force = Vec::new();
            for p in projects {
                let mut view = project_view(app, conn, p)?;
                let decls = std::mem::take(&mut view.declarations);
                for d in decls.into_iter().rev() {
                    if d.approvable && !d.in_force {
                        candidates.push(Candidate {
                            key: view.key.clone(),
                            key_q: view.key_q.clone(),
                            department_name: view.department_name.clone(),
                            year: view.year,
                            code: view.code.clone(),
                            name: view.name.clone(),
                            in_force: view.in_force,
                            in_force_by: view.in_force_by.clone(),
                            declaration: d,
                        });
                    }
                }
                if view.in_force.is_some() {
                    in_force.push(view);
                }
            }
            // Adjustment requests and declarations never in force first; older versions last.
            candidates.sort_by_key(|c| {
                (
                    !(c.declaration.pending || c.in_force.is_none()),
                    c.key.clone(),
                    -c.declaration.id,
                )
            });
            let names: HashMap<String, (Option<String>, Option<String>)> =
                store::approvals::declared_projects(conn, None, None)?
                    .into_iter()
                    .map(|p| (p.key.to_string(), (p.code, p.name)))
                    .collect();
            let recent: Vec<_> = store::approvals::recent(conn, RECENT)?
                .into_iter()
                .map(|(key, d)| {
                    let (code, name) = names.get(key.as_str()).cloned().unwrap_or_default();
                    context! {
                        key => key.to_string(),
                        key_q => form_urlencoded_component(key.as_str()),
                        code,
                        name,
                        d => v(decided_view(&d)),
                    }
                })
                .collect();
            let years: Vec<i32> = {
                let mut ys: Vec<i32> = names
                    .keys()
                    .filter_map(|k| k.split('|').next().and_then(|y| y.parse().ok()))
                    .collect();
                ys.sort_unstable();
                ys.dedup();
                ys.reverse();
                ys
            };
            Ok((candidates, in_force, recent, years))
        })
        .await?;
    let departments: Vec<_> = app
        .cfg
        .departments
        .iter()
        .map(|d| context! { code => d.code.clone(), name => d.name.clone() })
        .collect();
    render(
        &app,
        &who,
        "approvals",
        "approvals.html",
        context! {
            candidates => v(&candidates),
            in_force => v(&in_force),
            recent,
            years,
            departments,
            year => f.year.trim(),
            department => department.unwrap_or_default(),
            done => f.done,
            error => f.error,
        },
    )
}

#[derive(Deserialize)]
struct HistoryQuery {
    #[serde(default)]
    key: String,
}

async fn history(
    State(app): State<Shared>,
    who: Who,
    Query(q): Query<HistoryQuery>,
) -> Result<Html<String>, WebError> {
    let key = q.key;
    let (project, audit) = app
        .db(move |app, conn| {
            let project = store::approvals::declared_projects(conn, None, None)?
                .into_iter()
                .find(|p| p.key.as_str() == key)
                .ok_or(WebError::NotFound)?;
            let view = project_view(app, conn, project)?;
            let audit = store::audit::about(conn, &[format!("project:{key}")])?;
            Ok((view, audit))
        })
        .await?;
    render(
        &app,
        &who,
        "approvals",
        "approvals_history.html",
        context! { p => v(&project), audit => v(&audit) },
    )
}

/// The fields of the approve and revoke forms. The year and department of the page's filter
/// come along, to go back to the same list.
#[derive(Deserialize)]
struct DecisionForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    department: String,
}

async fn approve(
    State(app): State<Shared>,
    posted: Posted<DecisionForm>,
) -> Result<Response, WebError> {
    decide(app, posted, Action::Approve).await
}

async fn revoke(
    State(app): State<Shared>,
    posted: Posted<DecisionForm>,
) -> Result<Response, WebError> {
    decide(app, posted, Action::Revoke).await
}

/// What a refusal says to the finance office.
fn refusal(r: &Refused) -> String {
    match r {
        Refused::NoDeclaration(key) => format!("项目 {key} 没有已受理的绩效目标申报表。"),
        Refused::NotADeclaration { id, .. } => {
            format!("#{id} 不是该项目已受理的绩效目标申报表。")
        }
        Refused::NotApprovable { id, conclusion, .. } => format!(
            "申报表 #{id} 的审核结论为“{conclusion}”，不能批复：只有审核结论为“通过”或“修改后通过”的申报表可以批复。"
        ),
        Refused::NotApproved { id, .. } => {
            format!("申报表 #{id} 未经批复，没有可撤销的批复。")
        }
    }
}

/// Approves or revokes as `jixiao approve`/`revoke` do, under the account's name, with audit
/// entries about the project and the declaration, all in one transaction; back to the page with
/// what was done or why it was refused.
async fn decide(
    app: Shared,
    posted: Posted<DecisionForm>,
    action: Action,
) -> Result<Response, WebError> {
    let Posted { who, form } = posted;
    who.require(Role::Reviewer)?;
    let key_text = form.key.trim().to_string();
    if key_text.is_empty() {
        return Err(WebError::BadRequest("缺少项目。".into()));
    }
    let version = match form.version.trim() {
        "" => None,
        v => Some(
            v.trim_start_matches('#')
                .parse::<i64>()
                .map_err(|_| WebError::BadRequest(format!("版本号“{v}”不是数字。")))?,
        ),
    };
    let note = Some(form.note.trim().to_string()).filter(|n| !n.is_empty());
    let outcome = app
        .db(move |app, conn| {
            let key = ProjectKey::from_stored(key_text);
            let now = app.now_text();
            let tx = conn.transaction()?;
            let by = who.name();
            let done = match action {
                Action::Approve => {
                    approvals::approve(&tx, &key, version, by, note.as_deref(), &now)?
                }
                Action::Revoke => approvals::revoke(&tx, &key, version, by, note.as_deref(), &now)?,
            };
            let id = match done {
                Ok(id) => id,
                Err(refused) => return Ok(Err(refusal(&refused))),
            };
            let detail = note.unwrap_or_default();
            who.audit(
                app,
                &tx,
                action.as_str(),
                &format!("project:{key}"),
                &detail,
            )?;
            who.audit(
                app,
                &tx,
                action.as_str(),
                &format!("submission:{id}"),
                &detail,
            )?;
            let in_force = approvals::standing(&tx, &key)?.in_force;
            tx.commit()?;
            let what = match action {
                Action::Approve => format!("已批复申报表 #{id}。"),
                Action::Revoke => format!("已撤销申报表 #{id} 的批复。"),
            };
            let now_in_force = match in_force {
                Some(f) => format!("现行目标：申报表 #{f}。"),
                None => "该项目目前没有生效的绩效目标。".to_string(),
            };
            Ok(Ok(format!("{what}{now_in_force}")))
        })
        .await?;
    let mut query = Vec::new();
    if !form.year.trim().is_empty() {
        query.push(format!(
            "year={}",
            form_urlencoded_component(form.year.trim())
        ));
    }
    if !form.department.trim().is_empty() {
        query.push(format!(
            "department={}",
            form_urlencoded_component(form.department.trim())
        ));
    }
    match outcome {
        Ok(done) => query.push(format!("done={}", form_urlencoded_component(&done))),
        Err(error) => query.push(format!("error={}", form_urlencoded_component(&error))),
    }
    Ok(see_other(&format!("/approvals?{}", query.join("&"))))
}
