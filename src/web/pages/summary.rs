//! 汇总表: the summary workbook of a year (`reports_dir/绩效汇总-{year}.xlsx`, written by the
//! daemon and `jixiao consolidate`): when it was made, whether it is current (written after the
//! year's last submission, as `jixiao status` decides), its size, and a download. A year whose
//! workbook is missing downloads one built on the spot; a reviewer may also write it
//! (`POST /summary/{year}/build`, recorded in the audit log).
//!
//! The file is only ever `summary::default_path(reports_dir, year)` for a year in 2000..=2100:
//! no part of a request becomes part of a path.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Local};
use minijinja::context;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::overview::{self, YEARS, YearQuery};
use crate::store::accounts::Role;
use crate::web::auth::{Posted, Who};
use crate::web::page::{WebError, download, render, see_other, v};
use crate::web::{App, Shared};

/// This page's templates.
pub(super) const TEMPLATES: &[(&str, &str)] =
    &[("summary.html", include_str!("../templates/summary.html"))];

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/summary", get(page))
        .route("/summary/{year}/download", get(fetch))
        .route("/summary/{year}/build", post(build))
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(flatten)]
    year: YearQuery,
    #[serde(default)]
    done: Option<String>,
}

/// The workbook of a year as the page shows it.
#[derive(Serialize)]
struct Workbook {
    file_name: String,
    path: String,
    exists: bool,
    written_at: Option<String>,
    size: Option<String>,
    /// Written after the year's last submission was received (as `jixiao status` decides).
    current: bool,
    last_received: Option<String>,
    submissions: u64,
}

/// A year in a path: a number in 2000..=2100, anything else is no page.
fn path_year(text: &str) -> Result<i32, WebError> {
    text.parse::<i32>()
        .ok()
        .filter(|y| YEARS.contains(y))
        .ok_or(WebError::NotFound)
}

fn workbook(app: &App, conn: &Connection, year: i32) -> Result<Workbook, WebError> {
    let path = crate::summary::default_path(&app.cfg.reports_dir, year);
    let meta = std::fs::metadata(&path).ok().filter(|m| m.is_file());
    let written = meta
        .as_ref()
        .and_then(|m| m.modified().ok())
        .map(DateTime::<Local>::from);
    let (last, submissions) = overview::latest(app, conn, year)?.as_ref().clone();
    let last_at = last
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    let current = match (written, last_at) {
        (Some(w), Some(l)) => w >= l,
        (Some(_), None) => true,
        (None, _) => false,
    };
    Ok(Workbook {
        file_name: crate::summary::file_name(year),
        path: path.display().to_string(),
        exists: written.is_some(),
        written_at: written.map(|w| w.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)),
        size: meta.map(|m| human_bytes(m.len())),
        current,
        last_received: last,
        submissions,
    })
}

/// Bytes for a person: `1.2 MB`.
fn human_bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} 字节"),
        1024..1_048_576 => format!("{:.1} KB", n as f64 / 1024.0),
        _ => format!("{:.1} MB", n as f64 / 1_048_576.0),
    }
}

async fn page(
    State(app): State<Shared>,
    who: Who,
    Query(q): Query<PageQuery>,
) -> Result<Html<String>, WebError> {
    let year = q.year.year(&app)?;
    let shared = app.clone();
    let (book, years, audit) = app
        .db(move |app, conn| {
            Ok((
                workbook(app, conn, year)?,
                overview::years(&shared, conn, year, overview::fresh_deadline())?,
                crate::store::audit::about(conn, &[format!("summary:{year}")])?,
            ))
        })
        .await?;
    let done = match q.done.as_deref() {
        Some("built") => Some("汇总表已重新生成。"),
        _ => None,
    };
    render(
        &app,
        &who,
        "summary",
        "summary.html",
        context! {
            title => "汇总表",
            year,
            years,
            book => v(&book),
            done,
            audit => v(&audit),
        },
    )
}

/// The workbook's bytes: the file in `reports_dir`, or — when there is none yet — one built now
/// (written nowhere).
async fn fetch(
    State(app): State<Shared>,
    _who: Who,
    Path(year): Path<String>,
) -> Result<Response, WebError> {
    let year = path_year(&year)?;
    let bytes = app
        .db(move |app, conn| {
            let path = crate::summary::default_path(&app.cfg.reports_dir, year);
            match std::fs::read(&path) {
                Ok(b) => Ok(b),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let scope = app.cfg.summary_scope(&app.defs, app.clock.as_ref());
                    Ok(crate::summary::build(conn, &scope, year)?)
                }
                Err(e) => Err(WebError::Internal(
                    anyhow::Error::from(e).context(format!("reading {}", path.display())),
                )),
            }
        })
        .await?;
    Ok(download(
        &crate::summary::file_name(year),
        crate::mail::XLSX,
        bytes,
    ))
}

/// Writes the workbook of a year now (a reviewer's action, recorded).
async fn build(
    State(app): State<Shared>,
    Path(year): Path<String>,
    posted: Posted<serde::de::IgnoredAny>,
) -> Result<Response, WebError> {
    let who = posted.who;
    who.require(Role::Reviewer)?;
    let year = path_year(&year)?;
    app.db(move |app, conn| {
        let scope = app.cfg.summary_scope(&app.defs, app.clock.as_ref());
        let path = crate::summary::default_path(&app.cfg.reports_dir, year);
        crate::summary::write(conn, &scope, year, &path)?;
        who.audit(
            app,
            conn,
            "生成汇总表",
            &format!("summary:{year}"),
            &crate::summary::file_name(year),
        )?;
        Ok(())
    })
    .await?;
    Ok(see_other(&format!("/summary?year={year}&done=built")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_years_in_range_are_paths() {
        assert_eq!(path_year("2026").ok(), Some(2026));
        for bad in [
            "1900",
            "2101",
            "../etc/passwd",
            "2026/../..",
            "",
            "-1",
            "２０２６",
        ] {
            assert!(path_year(bad).is_err(), "{bad}");
        }
    }
}
