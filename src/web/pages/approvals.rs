//! 待批复: the declarations the finance office can approve (a declaration concluded 修改后通过,
//! an adjustment request while approved targets are in force), the projects whose targets are in
//! force (which can be revoked), and every decision with who made it. Approving and revoking are
//! `jixiao approve` and `jixiao revoke` (`cycle::approvals`), recorded under the account's name,
//! with an audit entry about the project and one about the declaration.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use minijinja::context;
use serde::{Deserialize, Serialize};

use crate::cycle::approvals::{self, Project, Refused, Standing};
use crate::forms::project::ProjectKey;
use crate::rules::review::Conclusion;
use crate::store;
use crate::store::accounts::Role;
use crate::store::approvals::{Action, Declared};
use crate::text::normalize;
use crate::web::auth::{Posted, Said, Who};
use crate::web::page::{
    WebError, address, form_urlencoded_component, page_field, page_number, query, render,
    see_other, v,
};
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

/// The longest note of an approval or revocation (the form's `maxlength`).
const MAX_NOTE_CHARS: usize = 500;
/// How many of the latest decisions the page lists.
const RECENT: usize = 50;
/// Declarations to approve on a page of their list.
const CANDIDATES_PER_PAGE: usize = 100;
/// Projects with targets in force on a page of their list.
const IN_FORCE_PER_PAGE: usize = 50;

#[derive(Deserialize, Default)]
struct Filter {
    #[serde(default)]
    year: String,
    #[serde(default)]
    department: String,
    /// Text in the 项目名称 or 项目编码.
    #[serde(default)]
    q: String,
    /// The page of the declarations to approve.
    #[serde(default)]
    page: String,
    /// The page of the projects with targets in force.
    #[serde(default)]
    fpage: String,
}

impl Filter {
    fn year(&self) -> Option<i32> {
        self.year.trim().parse().ok()
    }

    fn department(&self) -> Option<String> {
        Some(self.department.trim().to_string()).filter(|d| !d.is_empty())
    }

    /// The text searched for, as compared: normalised and in lower case.
    fn needle(&self) -> Option<String> {
        Some(normalize(self.q.trim()).to_lowercase()).filter(|t| !t.is_empty())
    }

    fn pages(&self) -> (usize, usize) {
        (page_number(&self.page), page_number(&self.fpage))
    }

    /// The page's address with this filter, on these pages of its two lists.
    fn url(&self, page: usize, fpage: usize) -> String {
        address(
            "/approvals",
            &[
                ("year", &self.year),
                ("department", &self.department),
                ("q", &self.q),
                ("page", &page_field(page)),
                ("fpage", &page_field(fpage)),
            ],
        )
    }
}

/// Whether a project's latest 项目名称 or 项目编码 holds the text searched for.
fn matches(p: &Project, needle: &str) -> bool {
    let latest = p.latest();
    [&latest.name, &latest.code]
        .into_iter()
        .flatten()
        .any(|t| normalize(t).to_lowercase().contains(needle))
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

fn declaration_view(p: &Project, d: &Declared) -> Declaration {
    let Standing {
        in_force,
        pending,
        decisions,
    } = &p.standing;
    let last = decisions
        .iter()
        .rev()
        .find(|x| x.submission_id == d.id)
        .map(|x| x.action);
    Declaration {
        id: d.id,
        received_at: d.received_at.clone(),
        file_name: d.file_name.clone(),
        conclusion: d
            .conclusion
            .map_or_else(|| "（未审核）".into(), |c| c.to_string()),
        tone: match d.conclusion {
            Some(Conclusion::Pass) => "ok",
            Some(Conclusion::PassAfterRevision) => "muted",
            _ => "bad",
        },
        approvable: matches!(
            d.conclusion,
            Some(Conclusion::Pass | Conclusion::PassAfterRevision)
        ),
        in_force: *in_force == Some(d.id),
        adjustment: in_force.is_some_and(|f| d.id > f),
        pending: *pending == Some(d.id),
        revoked: last == Some(Action::Revoke),
        approved: last == Some(Action::Approve),
    }
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

/// How the version in force came to be: the latest approval of it, if any.
fn in_force_by(p: &Project) -> Option<DecidedView> {
    let id = p.standing.in_force?;
    p.standing
        .decisions
        .iter()
        .rev()
        .find(|d| d.submission_id == id && d.action == Action::Approve)
        .map(decided_view)
}

/// Everything the page shows about one project.
fn project_view(app: &App, p: &Project) -> ProjectView {
    let latest = p.latest();
    ProjectView {
        key: latest.key.to_string(),
        key_q: form_urlencoded_component(latest.key.as_str()),
        department_name: department_name(app, &latest.department),
        department: latest.department.clone(),
        year: latest.year,
        code: latest.code.clone(),
        name: latest.name.clone(),
        in_force: p.standing.in_force,
        pending: p.standing.pending,
        in_force_by: in_force_by(p),
        declarations: p
            .declarations
            .iter()
            .map(|d| declaration_view(p, d))
            .collect(),
        decisions: p
            .standing
            .decisions
            .iter()
            .rev()
            .map(decided_view)
            .collect(),
    }
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

/// A page of a list: its rows, how many there are in all, which page of how many, and the
/// numbers of its first and last rows.
#[derive(Serialize)]
struct Paged<T> {
    rows: Vec<T>,
    total: usize,
    page: usize,
    pages: usize,
    first: usize,
    last: usize,
}

impl<T> Paged<T> {
    /// Page `page` (from 1; a page past the end is the last) of `items`, `per` to a page,
    /// made into rows by `row` — only the rows shown are made.
    fn of<I>(items: Vec<I>, page: usize, per: usize, row: impl FnMut(I) -> T) -> Paged<T> {
        let total = items.len();
        let pages = total.div_ceil(per).max(1);
        let page = page.clamp(1, pages);
        let rows: Vec<T> = items
            .into_iter()
            .skip((page - 1) * per)
            .take(per)
            .map(row)
            .collect();
        let first = ((page - 1) * per + 1).min(total);
        Paged {
            last: (page - 1) * per + rows.len(),
            rows,
            total,
            page,
            pages,
            first,
        }
    }
}

async fn page(
    State(app): State<Shared>,
    who: Who,
    Query(f): Query<Filter>,
) -> Result<Html<String>, WebError> {
    let (year, department, needle) = (f.year(), f.department(), f.needle());
    let (page, fpage) = f.pages();
    let reader = who.clone();
    let (candidates, in_force, recent, years, said) = app
        .db(move |app, conn| {
            let said = reader.told(conn)?;
            let mut projects = approvals::projects(conn, year, department.as_deref())?;
            if let Some(needle) = &needle {
                projects.retain(|p| matches(p, needle));
            }
            // The page lists projects by department, then year, then key.
            projects.sort_by(|a, b| {
                let (a, b) = (a.latest(), b.latest());
                (&a.department, a.year, &a.key).cmp(&(&b.department, b.year, &b.key))
            });
            // Each approvable declaration not in force: adjustment requests and declarations
            // of projects without targets in force first, older versions after them.
            let mut candidates: Vec<(&Project, &Declared)> = projects
                .iter()
                .flat_map(|p| {
                    p.declarations
                        .iter()
                        .rev()
                        .filter(|d| p.approvable(d))
                        .map(move |d| (p, d))
                })
                .collect();
            candidates.sort_by_key(|(p, d)| {
                let first = p.standing.pending == Some(d.id) || p.standing.in_force.is_none();
                (!first, &d.key, -d.id)
            });
            let candidates = Paged::of(candidates, page, CANDIDATES_PER_PAGE, |(p, d)| {
                let latest = p.latest();
                Candidate {
                    key: d.key.to_string(),
                    key_q: form_urlencoded_component(d.key.as_str()),
                    department_name: department_name(app, &latest.department),
                    year: latest.year,
                    code: latest.code.clone(),
                    name: latest.name.clone(),
                    in_force: p.standing.in_force,
                    in_force_by: in_force_by(p),
                    declaration: declaration_view(p, d),
                }
            });
            let in_force: Vec<&Project> = projects
                .iter()
                .filter(|p| p.standing.in_force.is_some())
                .collect();
            let in_force = Paged::of(in_force, fpage, IN_FORCE_PER_PAGE, |p| project_view(app, p));
            let recent: Vec<_> = store::approvals::recent(conn, RECENT)?
                .into_iter()
                .map(|(key, d)| {
                    let named = approvals::project(conn, &key)?;
                    let latest = named.as_ref().map(Project::latest);
                    Ok(context! {
                        key => key.to_string(),
                        key_q => form_urlencoded_component(key.as_str()),
                        code => latest.and_then(|l| l.code.clone()),
                        name => latest.and_then(|l| l.name.clone()),
                        d => v(decided_view(&d)),
                    })
                })
                .collect::<Result<_, WebError>>()?;
            let years = store::approvals::declared_years(conn)?;
            Ok((candidates, in_force, recent, years, said))
        })
        .await?;
    let departments: Vec<_> = app
        .cfg
        .departments
        .iter()
        .map(|d| context! { code => d.code.clone(), name => d.name.clone() })
        .collect();
    let pager = |p: usize, pages: usize, at: &dyn Fn(usize) -> String| {
        context! {
            prev => (p > 1).then(|| at(p - 1)),
            next => (p < pages).then(|| at(p + 1)),
        }
    };
    let candidates_pager = pager(candidates.page, candidates.pages, &|n| {
        format!("{}#approvals", f.url(n, in_force.page))
    });
    let in_force_pager = pager(in_force.page, in_force.pages, &|n| {
        format!("{}#in-force", f.url(candidates.page, n))
    });
    let filtered = year.is_some() || f.department().is_some() || f.needle().is_some();
    render(
        &app,
        &who,
        "approvals",
        "approvals.html",
        context! {
            candidates => v(&candidates),
            candidates_pager,
            in_force => v(&in_force),
            in_force_pager,
            recent,
            years,
            departments,
            filtered,
            year => f.year.trim(),
            department => f.department.trim(),
            q => f.q.trim(),
            said => Said::view(said.as_ref()),
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
            let project = approvals::project(conn, &ProjectKey::from_stored(key.clone()))?
                .ok_or(WebError::NotFound)?;
            let view = project_view(app, &project);
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

/// The fields of the approve and revoke forms. The year, department and text of the page's filter
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
    #[serde(default)]
    q: String,
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
    let teller = who.clone();
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
    if note
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
    {
        return Err(WebError::BadRequest(format!(
            "意见不能超过 {MAX_NOTE_CHARS} 字。"
        )));
    }
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
    let said = match outcome {
        Ok(done) => Said::done(done),
        Err(refused) => Said::refused(refused),
    };
    app.db(move |_, conn| Ok(teller.tell(conn, &said)?)).await?;
    // Back to the list as it was filtered.
    Ok(see_other(&format!(
        "/approvals?{}",
        query(&[
            ("year", &form.year),
            ("department", &form.department),
            ("q", &form.q),
        ])
    )))
}
