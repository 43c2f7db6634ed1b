//! 报送记录: every submission, newest first, filtered by year, department, form, outcome and
//! text; a submission's page (what arrived, its errors and findings, the conclusion or score,
//! its letters, the project's history across the year, the audit entries about it) and the
//! downloads of its original, its letter and its annotated workbook.

use std::path::{Component, Path, PathBuf};

use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::response::{Html, Response};
use axum::routing::get;
use minijinja::context;
use serde::{Deserialize, Serialize};

use crate::check::CheckResult;
use crate::forms::FormKind;
use crate::forms::project::ProjectKey;
use crate::forms::record::FormRecord;
use crate::letters::LetterKind;
use crate::store::audit;
use crate::store::browse::{self, Filter, FormFilter};
use crate::store::submissions::{self, Outcome};
use crate::web::auth::Who;
use crate::web::page::{WebError, address, download, page_field, page_number, render, v};
use crate::web::{App, Shared};

/// This page's templates.
pub(super) const TEMPLATES: &[(&str, &str)] = &[
    (
        "submissions.html",
        include_str!("../templates/submissions.html"),
    ),
    (
        "submission.html",
        include_str!("../templates/submission.html"),
    ),
];

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/submissions", get(list))
        .route("/submissions/{id}", get(detail))
        .route("/submissions/{id}/original", get(original))
        .route("/submissions/{id}/letter", get(letter))
        .route("/submissions/{id}/annotated", get(annotated))
}

/// Submissions on a page of the list.
const PER_PAGE: usize = 50;

/// The query of the list, as typed (every field may be empty).
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    year: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    form: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: String,
}

/// The value of the 非表格 choice of the form filter.
const NOT_A_FORM: &str = "none";

impl ListQuery {
    fn filter(&self) -> Filter {
        let text = self.q.trim();
        Filter {
            year: self.year.trim().parse().ok(),
            department: Some(self.department.trim().to_string()).filter(|d| !d.is_empty()),
            form: match self.form.trim() {
                NOT_A_FORM => Some(FormFilter::NotAForm),
                f => FormKind::from_id(f).map(FormFilter::Kind),
            },
            outcome: Outcome::parse(self.outcome.trim()),
            text: Some(text.to_string()).filter(|t| !t.is_empty()),
        }
    }

    /// The list's address with this query on page `page`.
    fn url(&self, page: usize) -> String {
        address(
            "/submissions",
            &[
                ("year", &self.year),
                ("department", &self.department),
                ("form", &self.form),
                ("outcome", &self.outcome),
                ("q", &self.q),
                ("page", &page_field(page)),
            ],
        )
    }
}

/// A department's name by its code (the code itself when it is no longer configured).
fn department_name(app: &App, code: &str) -> String {
    app.cfg
        .department_by_code(code)
        .map_or_else(|| code.to_string(), |d| d.name.clone())
}

fn form_name(id: Option<&str>) -> &'static str {
    id.and_then(FormKind::from_id)
        .map_or("非表格", |k| k.name())
}

fn outcome_label(s: &str) -> &'static str {
    Outcome::parse(s).map_or("", Outcome::label)
}

/// A submission as a row of a list.
#[derive(Serialize)]
struct RowView {
    #[serde(flatten)]
    row: browse::Row,
    department_name: String,
    form_name: &'static str,
    outcome_label: &'static str,
}

fn row_view(app: &App, row: browse::Row) -> RowView {
    RowView {
        department_name: department_name(app, &row.department),
        form_name: form_name(row.form.as_deref()),
        outcome_label: outcome_label(&row.outcome),
        row,
    }
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
}

async fn list(
    State(app): State<Shared>,
    who: Who,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, WebError> {
    let filter = q.filter();
    let asked = page_number(&q.page);
    let (listed, years, page) = app
        .db(move |_, conn| {
            let mut page = asked;
            let mut listed = browse::list(conn, &filter, (page - 1) * PER_PAGE, PER_PAGE)?;
            // A page past the end shows the last one.
            let pages = listed.total.div_ceil(PER_PAGE).max(1);
            if page > pages {
                page = pages;
                listed = browse::list(conn, &filter, (page - 1) * PER_PAGE, PER_PAGE)?;
            }
            Ok((listed, browse::years(conn)?, page))
        })
        .await?;
    let pages = listed.total.div_ceil(PER_PAGE).max(1);
    let rows: Vec<RowView> = listed.rows.into_iter().map(|r| row_view(&app, r)).collect();
    let departments: Vec<Choice> = app
        .cfg
        .departments
        .iter()
        .map(|d| Choice {
            value: d.code.clone(),
            label: d.name.clone(),
        })
        .collect();
    let forms: Vec<Choice> = FormKind::ALL
        .iter()
        .map(|k| Choice {
            value: k.id().into(),
            label: k.name().into(),
        })
        .chain([Choice {
            value: NOT_A_FORM.into(),
            label: "非表格".into(),
        }])
        .collect();
    let outcomes: Vec<Choice> = Outcome::ALL
        .iter()
        .map(|o| Choice {
            value: o.as_str().into(),
            label: o.label().into(),
        })
        .collect();
    let first = if listed.total == 0 {
        0
    } else {
        (page - 1) * PER_PAGE + 1
    };
    let last = ((page - 1) * PER_PAGE + rows.len()).max(first);
    render(
        &app,
        &who,
        "submissions",
        "submissions.html",
        context! {
            rows => v(&rows),
            total => listed.total,
            first,
            last,
            page,
            pages,
            prev => (page > 1).then(|| q.url(page - 1)),
            next => (page < pages).then(|| q.url(page + 1)),
            years => v(&years),
            departments => v(&departments),
            forms => v(&forms),
            outcomes => v(&outcomes),
            year => q.year.trim(),
            department => q.department.trim(),
            form => q.form.trim(),
            outcome => q.outcome.trim(),
            q => q.q.trim(),
            filtered => q.url(1) != "/submissions",
        },
    )
}

/// A submission number from the address: anything else is no page.
fn submission_id(raw: &str) -> Result<i64, WebError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(WebError::NotFound)
}

/// A submission of the project's history.
#[derive(Serialize)]
struct HistoryRow {
    #[serde(flatten)]
    row: browse::Row,
    form_name: &'static str,
    outcome_label: &'static str,
    in_force: bool,
    pending: bool,
    superseded_by: Option<i64>,
    current: bool,
}

/// A decision on the project's declarations.
#[derive(Serialize)]
struct DecisionView {
    at: String,
    action: &'static str,
    submission_id: i64,
    source: String,
    note: Option<String>,
}

/// A performance report's figures: the fund block's total line.
#[derive(Serialize, Default)]
struct Monitoring {
    period: Option<String>,
    budget: Option<String>,
    spent: Option<String>,
    rate: Option<String>,
    forecast: Option<String>,
    reason: Option<String>,
    computed_rate: Option<String>,
    lagging: bool,
}

fn monitoring(record: &FormRecord, result: Option<&CheckResult>) -> Monitoring {
    let total = record.funds.get("total");
    let get = |k: &str| total.and_then(|t| t.get(k)).cloned();
    Monitoring {
        period: record.fields.get("period").cloned(),
        budget: get("budget"),
        spent: get("spent"),
        rate: get("rate"),
        forecast: get("forecast"),
        reason: get("reason"),
        computed_rate: crate::summary::tally::report_rate(record)
            .map(|r| format!("{:.2}%", r * 100.0)),
        lagging: result.is_some_and(|r| {
            r.warnings
                .iter()
                .any(|w| w.code == crate::rules::issue::IssueCode::ExecutionLag)
        }),
    }
}

fn letter_name(kind: &str) -> &'static str {
    LetterKind::ALL
        .into_iter()
        .find(|k| k.id() == kind)
        .map_or("复函", LetterKind::name)
}

#[derive(Serialize)]
struct LetterView {
    #[serde(flatten)]
    letter: browse::Letter,
    kind_name: &'static str,
}

/// "12.3 KB" for a size in bytes.
fn size_text(bytes: i64) -> String {
    if bytes < 1024 {
        format!("{bytes} 字节")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    }
}

async fn detail(
    State(app): State<Shared>,
    who: Who,
    UrlPath(raw): UrlPath<String>,
) -> Result<Html<String>, WebError> {
    let id = submission_id(&raw)?;
    let page = app
        .db(move |app, conn| {
            let Some(s) = browse::detail(conn, id)? else {
                return Err(WebError::NotFound);
            };
            let result = s
                .result_json
                .as_deref()
                .and_then(|j| CheckResult::from_stored(j).ok());
            let record: Option<FormRecord> = s
                .form_json
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok());
            let first = match s.duplicate_of {
                Some(d) => browse::detail(conn, d)?,
                None => None,
            };
            // The project: its own key, or that of the first submission of the same content.
            let key = s
                .project_key
                .clone()
                .or_else(|| first.as_ref().and_then(|f| f.project_key.clone()))
                .map(ProjectKey::from_stored);
            let mut history = Vec::new();
            let mut decisions = Vec::new();
            if let Some(key) = &key {
                let standing = crate::cycle::approvals::standing(conn, key)?;
                let versions = submissions::by_project(conn, key)?;
                let ids: Vec<i64> = versions.iter().map(|r| r.id).collect();
                let rows = browse::rows(conn, &ids)?;
                for r in versions.iter().rev() {
                    let Some(row) = rows.iter().find(|x| x.id == r.id).cloned() else {
                        continue;
                    };
                    history.push(HistoryRow {
                        form_name: form_name(row.form.as_deref()),
                        outcome_label: outcome_label(&row.outcome),
                        in_force: standing.in_force == Some(r.id),
                        pending: standing.pending == Some(r.id),
                        superseded_by: r.superseded_by,
                        current: r.id == id,
                        row,
                    });
                }
                for d in standing.decisions.iter().rev() {
                    decisions.push(DecisionView {
                        at: d.at.clone(),
                        action: match d.action {
                            crate::store::approvals::Action::Approve => "批复",
                            crate::store::approvals::Action::Revoke => "撤销批复",
                        },
                        submission_id: d.submission_id,
                        source: d.source.clone(),
                        note: d.note.clone(),
                    });
                }
            }
            let letters: Vec<LetterView> = browse::letters(conn, id)?
                .into_iter()
                .map(|l| LetterView {
                    kind_name: letter_name(&l.kind),
                    letter: l,
                })
                .collect();
            let annotated = browse::annotated(conn, id)?.map(|(name, _)| name);
            // What people did about it through the console, and about its project (a
            // revocation names the project).
            let mut subjects = vec![format!("submission:{id}")];
            subjects.extend(key.as_ref().map(|k| format!("project:{k}")));
            let entries = audit::about(conn, &subjects)?;
            let held = crate::store::held::of_submission(conn, id)?;
            let original = archived(app, &s.archive_path).is_some();
            let monitoring = match (&record, s.form) {
                (Some(rec), Some(FormKind::PerformanceReport)) => {
                    Some(monitoring(rec, result.as_ref()))
                }
                _ => None,
            };
            Ok(context! {
                title => format!("报送记录 #{id}"),
                s => context! {
                    id => s.id,
                    department => s.department.clone(),
                    department_name => department_name(app, &s.department),
                    inbox_path => s.inbox_path.clone(),
                    file_name => s.file_name.clone(),
                    sha256 => s.sha256.clone(),
                    size => size_text(s.size),
                    bytes => s.size,
                    received_at => s.received_at.clone(),
                    done => s.stage == submissions::Stage::Done,
                    done_at => s.done_at.clone(),
                    outcome => s.outcome.as_str(),
                    outcome_label => s.outcome.label(),
                    form => s.form.map(FormKind::id),
                    form_name => form_name(s.form.map(FormKind::id)),
                    year => s.year,
                    project_code => s.project_code.clone(),
                    project_name => s.project_name.clone(),
                    project_key => s.project_key.clone(),
                    duplicate_of => s.duplicate_of,
                    supersedes => s.supersedes,
                    superseded_by => s.superseded_by,
                    moved_to => s.moved_to.clone(),
                    archive_path => s.archive_path.clone(),
                },
                first => first.map(|f| context! {
                    id => f.id,
                    file_name => f.file_name,
                    received_at => f.received_at,
                    outcome_label => f.outcome.label(),
                }),
                result => result.as_ref().map(v),
                monitoring => monitoring.map(v),
                letters => v(&letters),
                annotated,
                original,
                history => v(&history),
                decisions => v(&decisions),
                entries => v(&entries),
                held => held.as_ref().map(v),
            })
        })
        .await?;
    render(&app, &who, "submissions", "submission.html", page)
}

/// The archived original of a submission, confined to the state folder's archive: a stored path
/// that is absolute, climbs out (`..`), or leads out through a link is refused.
fn archived(app: &App, stored: &str) -> Option<PathBuf> {
    let rel = Path::new(stored);
    if stored.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let archive = std::fs::canonicalize(app.cfg.archive_dir()).ok()?;
    let real = std::fs::canonicalize(archive.join(rel)).ok()?;
    (real.starts_with(&archive) && real.is_file()).then_some(real)
}

async fn original(
    State(app): State<Shared>,
    _who: Who,
    UrlPath(raw): UrlPath<String>,
) -> Result<Response, WebError> {
    let id = submission_id(&raw)?;
    let (name, bytes) = app
        .db(move |app, conn| {
            let s = browse::detail(conn, id)?.ok_or(WebError::NotFound)?;
            let Some(path) = archived(app, &s.archive_path) else {
                tracing::warn!(
                    id,
                    archive_path = %s.archive_path,
                    "console: the original is not in the archive, or its stored path leads out of it"
                );
                return Err(WebError::NotFound);
            };
            let bytes = std::fs::read(&path).map_err(|e| WebError::Internal(e.into()))?;
            Ok((s.file_name, bytes))
        })
        .await?;
    Ok(download(&name, content_type(&name), bytes))
}

/// The type of a department's file, by its extension.
fn content_type(name: &str) -> &'static str {
    let lower = name.to_lowercase();
    if lower.ends_with(".xlsx") {
        crate::mail::XLSX
    } else if lower.ends_with(".xls") {
        "application/vnd.ms-excel"
    } else if lower.ends_with(".ods") {
        "application/vnd.oasis.opendocument.spreadsheet"
    } else {
        "application/octet-stream"
    }
}

/// Which of a submission's letters to download (`?n=` its number); the first without it.
#[derive(Deserialize)]
struct WhichLetter {
    #[serde(default)]
    n: String,
}

async fn letter(
    State(app): State<Shared>,
    _who: Who,
    UrlPath(raw): UrlPath<String>,
    Query(which): Query<WhichLetter>,
) -> Result<Response, WebError> {
    let id = submission_id(&raw)?;
    let letter = match which.n.trim() {
        "" => None,
        n => Some(n.parse::<i64>().map_err(|_| WebError::NotFound)?),
    };
    let (name, bytes) = app
        .db(move |_, conn| browse::letter_docx(conn, id, letter)?.ok_or(WebError::NotFound))
        .await?;
    Ok(download(&name, crate::mail::DOCX, bytes))
}

async fn annotated(
    State(app): State<Shared>,
    _who: Who,
    UrlPath(raw): UrlPath<String>,
) -> Result<Response, WebError> {
    let id = submission_id(&raw)?;
    let (name, bytes) = app
        .db(move |_, conn| browse::annotated(conn, id)?.ok_or(WebError::NotFound))
        .await?;
    Ok(download(&name, crate::mail::XLSX, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_address_keeps_the_filters() {
        let q = ListQuery {
            year: "2026".into(),
            q: "农技 推广".into(),
            ..ListQuery::default()
        };
        assert_eq!(
            q.url(2),
            "/submissions?year=2026&q=%E5%86%9C%E6%8A%80+%E6%8E%A8%E5%B9%BF&page=2"
        );
        assert_eq!(ListQuery::default().url(1), "/submissions");
    }

    #[test]
    fn only_numbers_are_submissions() {
        assert!(submission_id("12").is_ok());
        for bad in ["..", "../../jixiao.toml", "-1", "0", "1.5", ""] {
            assert!(
                matches!(submission_id(bad), Err(WebError::NotFound)),
                "{bad}"
            );
        }
    }
}
