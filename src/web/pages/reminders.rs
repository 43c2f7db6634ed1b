//! 催报: the deadlines configured for a year, who owes what (a form, a project's form, a corrected
//! declaration) with the days left or overdue, and the reminders (催报通知) sent, when and to whom.
//! The daemon sends reminders; this page only shows them.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use chrono::NaiveDate;
use minijinja::context;
use rusqlite::Connection;
use serde::Serialize;

use super::overview::{self, OwedView, YearQuery, owed_view};
use crate::web::Shared;
use crate::web::auth::Who;
use crate::web::page::{WebError, render, v};

/// This page's templates.
pub(super) const TEMPLATES: &[(&str, &str)] = &[(
    "reminders.html",
    include_str!("../templates/reminders.html"),
)];

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/reminders", get(page))
}

/// The reminders sent listed (the newest).
const SENT_SHOWN: usize = 300;

/// The project names listed per line of what is owed.
const REMINDER_NAMES: usize = 30;

#[derive(Serialize)]
struct DeadlineView {
    form: String,
    due: String,
    /// Days past it; none before.
    overdue_days: Option<i64>,
    days_left: Option<i64>,
    /// Departments (or projects) still owing it.
    owing: usize,
}

#[derive(Serialize)]
struct SentView {
    department: String,
    form: &'static str,
    /// 截止前7天, 逾期后1天, ….
    when: String,
    sent_on: String,
    projects: Vec<String>,
    outbox_id: Option<i64>,
    to: Vec<String>,
    status: Option<&'static str>,
    status_label: Option<&'static str>,
}

/// A reminder day's label (`before-7`, `revision-12-after-1`) in words.
fn label_words(label: &str) -> String {
    let (revision, rest) = match label.strip_prefix("revision-") {
        Some(r) => (true, r.split_once('-').map_or(r, |(_, rest)| rest)),
        None => (false, label),
    };
    let words = if let Some(n) = rest.strip_prefix("before-") {
        format!("期限前 {n} 天")
    } else if let Some(n) = rest.strip_prefix("after-") {
        format!("逾期后 {n} 天")
    } else {
        rest.to_string()
    };
    if revision {
        format!("修改后重新报送，{words}")
    } else {
        words
    }
}

async fn page(
    State(app): State<Shared>,
    who: Who,
    Query(q): Query<YearQuery>,
) -> Result<Html<String>, WebError> {
    let year = q.year(&app)?;
    let shared = app.clone();
    let view = app
        .db(move |_, conn| reminders(&shared, conn, year))
        .await?;
    render(&app, &who, "reminders", "reminders.html", view)
}

fn days(today: NaiveDate, due: NaiveDate) -> (Option<i64>, Option<i64>) {
    let past = (today - due).num_days();
    ((past > 0).then_some(past), (past <= 0).then_some(-past))
}

fn reminders(app: &Shared, conn: &Connection, year: i32) -> Result<minijinja::Value, WebError> {
    let today = app.clock.today();
    let deadline = overview::fresh_deadline();
    let (owed, updating) = overview::owed(app, conn, year)?.answer(deadline);
    let deadlines: Vec<DeadlineView> = app
        .cfg
        .deadlines
        .iter()
        .filter(|d| d.year == year)
        .map(|d| {
            let (overdue_days, days_left) = days(today, d.due);
            DeadlineView {
                form: d.kind().map_or(d.form.clone(), |k| k.name().to_string()),
                due: d.due.to_string(),
                overdue_days,
                days_left,
                owing: owed
                    .iter()
                    .filter(|o| o.revision.is_none() && Some(o.form) == d.kind())
                    .count(),
            }
        })
        .collect();
    let other_years: Vec<i32> = {
        let mut y: Vec<i32> = app
            .cfg
            .deadlines
            .iter()
            .map(|d| d.year)
            .filter(|y| *y != year)
            .collect();
        y.sort_unstable();
        y.dedup();
        y
    };
    let mut owing: Vec<OwedView> = owed
        .iter()
        .map(|o| owed_view(app, o, today, REMINDER_NAMES))
        .collect();
    // Most overdue first, then the nearest due date; configuration order within a day.
    owing.sort_by(|a, b| {
        b.overdue_days
            .unwrap_or(-1)
            .cmp(&a.overdue_days.unwrap_or(-1))
            .then_with(|| a.due.cmp(&b.due))
    });
    let mut sent = Vec::new();
    let recorded = crate::store::reminders::sent_in(conn, year)?;
    let sent_total = recorded.len();
    for r in recorded.into_iter().take(SENT_SHOWN) {
        let mail = match r.outbox_id {
            Some(id) => crate::store::outbox::get(conn, id)?,
            None => None,
        };
        sent.push(SentView {
            department: crate::departments::name_of(&app.cfg.departments, &r.department)
                .to_string(),
            form: r.form.name(),
            when: label_words(&r.label),
            sent_on: r.sent_on,
            projects: if r.projects.len() > REMINDER_NAMES {
                let mut shown = r.projects[..REMINDER_NAMES].to_vec();
                shown.push(format!("等 {} 个项目", r.projects.len()));
                shown
            } else {
                r.projects
            },
            outbox_id: r.outbox_id,
            to: mail.as_ref().map(|m| m.to.clone()).unwrap_or_default(),
            status: mail.as_ref().map(|m| m.status.as_str()),
            status_label: mail.as_ref().map(|m| m.status.label()),
        });
    }
    let years = overview::years(app, conn, year, deadline)?;
    Ok(context! {
        title => "催报",
        year,
        updating,
        years,
        today => today.to_string(),
        deadlines => v(&deadlines),
        other_years,
        days_before => app.cfg.reminders.days_before.clone(),
        days_after => app.cfg.reminders.days_after.clone(),
        revision_days => app.cfg.letters.revision_days,
        owing => v(&owing),
        sent => v(&sent),
        sent_total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminder_days_read_in_words() {
        assert_eq!(label_words("before-7"), "期限前 7 天");
        assert_eq!(label_words("after-1"), "逾期后 1 天");
        assert_eq!(
            label_words("revision-12-after-7"),
            "修改后重新报送，逾期后 7 天"
        );
    }
}
