//! 总览: for a year: every configured department × the three forms — received, returned,
//! accepted, owed and overdue — the summary workbook's 部门汇总 figures (counted by the
//! summary's own tally, so the page and the workbook agree), and charts of the grades and
//! execution rates drawn on the server.
//!
//! The year's figures read every current form; with thousands of projects that takes a while,
//! so they are kept (per database and year) until a submission, an approval decision or a letter
//! is recorded (`store::summary::stamp`). What is owed is kept the same way.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use chrono::{Datelike, NaiveDate};
use minijinja::context;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::cycle::Owed;
use crate::forms::FormKind;
use crate::store::submissions::Outcome;
use crate::summary::Summary;
use crate::web::auth::Who;
use crate::web::page::{WebError, render, v};
use crate::web::{App, Shared, charts};

/// This page's templates.
pub(super) const TEMPLATES: &[(&str, &str)] =
    &[("overview.html", include_str!("../templates/overview.html"))];

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/", get(page))
}

/// `?year=`: absent means this year.
#[derive(Deserialize)]
pub(super) struct YearQuery {
    #[serde(default)]
    year: Option<String>,
}

/// The years a page may show.
pub(super) const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

impl YearQuery {
    /// The year asked for, or this year; a year that is not one is refused.
    pub(super) fn year(&self, app: &App) -> Result<i32, WebError> {
        match self.year.as_deref().map(str::trim) {
            None | Some("") => Ok(app.clock.today().year()),
            Some(y) => y
                .parse::<i32>()
                .ok()
                .filter(|y| YEARS.contains(y))
                .ok_or_else(|| {
                    WebError::BadRequest(format!("年度应为 2000 至 2100 之间的数字：{y}"))
                }),
        }
    }
}

/// A value kept until the state changes, for each of the last few years asked for.
pub(super) struct Memo<T> {
    kept: Mutex<Kept<T>>,
}

/// How many years' values are kept: this year, last year, and a few more looked at.
const KEPT_YEARS: usize = 4;

/// Values kept by database and year, the latest kept last.
struct Kept<T>(Vec<(MemoKey, Arc<T>)>);

impl<T> Kept<T> {
    /// The value kept for the key's database and year, whatever state it was worked out for.
    fn of(&self, key: &MemoKey) -> Option<(MemoKey, Arc<T>)> {
        self.0
            .iter()
            .find(|(k, _)| k.database == key.database && k.year == key.year)
            .map(|(k, v)| (k.clone(), v.clone()))
    }

    fn keep(&mut self, key: MemoKey, value: Arc<T>) {
        self.0
            .retain(|(k, _)| !(k.database == key.database && k.year == key.year));
        self.0.push((key, value));
        if self.0.len() > KEPT_YEARS {
            self.0.remove(0);
        }
    }
}

#[derive(Clone, PartialEq)]
pub(super) struct MemoKey {
    database: PathBuf,
    year: i32,
    stamp: String,
}

impl<T> Memo<T> {
    const fn new() -> Memo<T> {
        Memo {
            kept: Mutex::new(Kept(Vec::new())),
        }
    }

    fn get(
        &self,
        app: &App,
        conn: &Connection,
        year: i32,
        work: impl FnOnce() -> anyhow::Result<T>,
    ) -> Result<Arc<T>, WebError> {
        let key = MemoKey {
            database: app.cfg.database(),
            year,
            stamp: crate::store::summary::stamp(conn)?,
        };
        if let Some((k, v)) = self.kept.lock().ok().and_then(|kept| kept.of(&key))
            && k == key
        {
            return Ok(v);
        }
        let value = Arc::new(work()?);
        if let Ok(mut kept) = self.kept.lock() {
            kept.keep(key, value.clone());
        }
        Ok(value)
    }
}

/// Figures that take long with thousands of projects (the summary's, what is owed): kept per
/// database and year like [`Memo`] (the last few years asked for); but when the state has changed since, the kept figures are
/// answered at once, marked as being updated, while a thread works the new ones out on a
/// connection of its own. Only the first request of a year waits for them.
pub(super) struct Slow<T> {
    kept: Mutex<Kept<T>>,
    /// The years whose figures a thread is updating.
    working: Mutex<Vec<i32>>,
    /// Held while figures are worked out with none kept to answer meanwhile (the first request
    /// of a year, or the start-up's work): a request that comes then waits for that work
    /// instead of doing it again beside it.
    first: Mutex<()>,
}

/// How long a request waits for figures being updated before it answers with the kept ones: a
/// small state is worked out in that time, a large one answers at once with the kept figures.
const FRESH_WAIT: Duration = Duration::from_millis(40);

/// How a [`Slow`] value is worked out.
type Work<T> = fn(&App, &Connection, i32) -> anyhow::Result<T>;

impl<T: Send + Sync + 'static> Slow<T> {
    const fn new() -> Slow<T> {
        Slow {
            kept: Mutex::new(Kept(Vec::new())),
            working: Mutex::new(Vec::new()),
            first: Mutex::new(()),
        }
    }

    /// The value: kept, or worked out now when none is kept (only the first request of a year),
    /// or being updated by a thread (the kept one meanwhile).
    fn ask(
        &'static self,
        app: &Shared,
        conn: &Connection,
        year: i32,
        work: Work<T>,
    ) -> Result<Asked<T>, WebError> {
        let key = MemoKey {
            database: app.cfg.database(),
            year,
            stamp: crate::store::summary::stamp(conn)?,
        };
        let kept = self.kept.lock().ok().and_then(|kept| kept.of(&key));
        match kept {
            Some((k, v)) if k == key => return Ok(Asked::Ready(v)),
            Some((_, v)) => {
                if self.start_working(year) {
                    let app = app.clone();
                    let spawned = std::thread::Builder::new()
                        .name("console-figures".into())
                        .spawn(move || {
                            if let Err(e) = self.refresh(&app, year, work) {
                                tracing::error!(error = %format!("{e:#}"), year, "console: updating the figures failed");
                            }
                            self.stop_working(year);
                        });
                    if spawned.is_err() {
                        self.stop_working(year);
                    }
                }
                return Ok(Asked::Updating {
                    slow: self,
                    key,
                    kept: v,
                });
            }
            None => {}
        }
        let _first = self
            .first
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Another request, or the start-up, may have worked them out while this one waited.
        if let Some((k, v)) = self.kept.lock().ok().and_then(|kept| kept.of(&key))
            && k == key
        {
            return Ok(Asked::Ready(v));
        }
        let value = Arc::new(work(app, conn, year)?);
        if let Ok(mut kept) = self.kept.lock() {
            kept.keep(key, value.clone());
        }
        Ok(Asked::Ready(value))
    }

    /// Whether this request starts updating the year's figures (no thread is at it yet).
    fn start_working(&self, year: i32) -> bool {
        let Ok(mut working) = self.working.lock() else {
            return false;
        };
        if working.contains(&year) {
            return false;
        }
        working.push(year);
        true
    }

    fn stop_working(&self, year: i32) {
        if let Ok(mut working) = self.working.lock() {
            working.retain(|y| *y != year);
        }
    }

    fn refresh(&self, app: &App, year: i32, work: Work<T>) -> anyhow::Result<()> {
        let conn = crate::store::open(&app.cfg.database())?;
        // The mark is read first: anything recorded meanwhile makes the next request update again.
        let key = MemoKey {
            database: app.cfg.database(),
            year,
            stamp: crate::store::summary::stamp(&conn)?,
        };
        let value = Arc::new(work(app, &conn, year)?);
        if let Ok(mut kept) = self.kept.lock() {
            kept.keep(key, value);
        }
        Ok(())
    }
}

/// Figures asked of a [`Slow`]: ready, or being updated by a thread.
pub(super) enum Asked<T: 'static> {
    Ready(Arc<T>),
    Updating {
        slow: &'static Slow<T>,
        /// The state the new figures are worked out for.
        key: MemoKey,
        /// The figures of an earlier state, answered if the new ones are not ready in time.
        kept: Arc<T>,
    },
}

impl<T> Asked<T> {
    /// The figures, and whether they are being updated: the new ones if they are ready by
    /// `deadline`, else the kept ones.
    pub(super) fn answer(self, deadline: Instant) -> (Arc<T>, bool) {
        let (slow, key, kept) = match self {
            Asked::Ready(v) => return (v, false),
            Asked::Updating { slow, key, kept } => (slow, key, kept),
        };
        loop {
            if let Some((k, fresh)) = slow.kept.lock().ok().and_then(|kept| kept.of(&key))
                && k == key
            {
                return (fresh, false);
            }
            if Instant::now() >= deadline {
                return (kept, true);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Until when a request asking now waits for figures being updated. A request asks for every
/// figure it needs first, so that they are all updated at once, then waits.
pub(super) fn fresh_deadline() -> Instant {
    Instant::now() + FRESH_WAIT
}

/// The summary's figures with the counts of the year's submissions they were made from.
static TALLIES: Slow<(Summary, Vec<crate::store::summary::Count>)> = Slow::new();
static OWED: Slow<Vec<Owed>> = Slow::new();
static YEARS_WITH_FORMS: Slow<Vec<i32>> = Slow::new();
static LATEST: Memo<(Option<String>, u64)> = Memo::new();

/// When the last submission of `year` was received, and how many there are.
pub(super) fn latest(
    app: &App,
    conn: &Connection,
    year: i32,
) -> Result<Arc<(Option<String>, u64)>, WebError> {
    LATEST.get(app, conn, year, || {
        Ok(crate::store::summary::latest(conn, year)?)
    })
}

/// The summary's figures of `year`, as the workbook's 部门汇总 sheet has them; and whether they
/// are being updated.
/// With them, the year's submissions counted by department, form and outcome.
#[allow(clippy::type_complexity)]
fn tally(
    app: &Shared,
    conn: &Connection,
    year: i32,
) -> Result<Asked<(Summary, Vec<crate::store::summary::Count>)>, WebError> {
    TALLIES.ask(app, conn, year, |app, conn, year| {
        let scope = app.cfg.summary_scope(&app.defs, app.clock.as_ref());
        Ok((
            crate::summary::tally(conn, &scope, year)?,
            crate::store::summary::counts(conn, year)?,
        ))
    })
}

/// Everything owed for the configured deadlines of `year` (`cycle::owed`); and whether it is
/// being updated.
pub(super) fn owed(
    app: &Shared,
    conn: &Connection,
    year: i32,
) -> Result<Asked<Vec<Owed>>, WebError> {
    OWED.ask(app, conn, year, |app, conn, year| {
        crate::cycle::owed(conn, &app.cfg.calendar(), Some(year))
    })
}

/// Works out this year's slow figures (the summary's, what is owed) before anyone asks, so that
/// the first view of 总览 and 催报 after a start does not wait for them. Errors are logged.
pub(super) fn warm(app: &Shared) {
    let year = app.clock.today().year();
    let run = || -> Result<(), WebError> {
        let conn =
            crate::store::open(&app.cfg.database()).map_err(|e| WebError::Internal(e.into()))?;
        tally(app, &conn, year)?;
        owed(app, &conn, year)?;
        years(app, &conn, year, Instant::now())?;
        Ok(())
    };
    if let Err(e) = run() {
        tracing::warn!(error = ?e, year, "console: working out this year's figures failed");
    }
}

/// The years to choose from: those with forms, this one, and the one shown.
/// Being updated, the kept ones are answered after `deadline`.
pub(super) fn years(
    app: &Shared,
    conn: &Connection,
    shown: i32,
    deadline: Instant,
) -> Result<Vec<i32>, WebError> {
    // Kept like the figures: listing them reads the whole submissions table.
    let mut years = YEARS_WITH_FORMS
        .ask(app, conn, 0, |_, conn, _| {
            Ok(crate::store::summary::years(conn)?)
        })?
        .answer(deadline)
        .0
        .as_ref()
        .clone();
    years.push(app.clock.today().year());
    years.push(shown);
    years.sort_unstable_by_key(|y| std::cmp::Reverse(*y));
    years.dedup();
    Ok(years)
}

/// What is owed, as a line of a page.
#[derive(Serialize)]
pub(super) struct OwedView {
    pub(super) department: String,
    pub(super) department_name: String,
    pub(super) form: &'static str,
    /// What is owed: the projects, or the department's declaration.
    pub(super) what: String,
    pub(super) due: String,
    /// Days past the due date; none before it.
    pub(super) overdue_days: Option<i64>,
    /// Days left before the due date (0 on the day).
    pub(super) days_left: Option<i64>,
    pub(super) revision: bool,
}

/// What is owed, as a line of a page: at most `names` project names, then how many more.
pub(super) fn owed_view(app: &App, o: &Owed, today: NaiveDate, names: usize) -> OwedView {
    let past = (today - o.due).num_days();
    let what = if o.projects.is_empty() {
        "本部门绩效目标申报表".to_string()
    } else if o.projects.len() > names {
        let shown = Owed {
            projects: o.projects[..names].to_vec(),
            ..o.clone()
        };
        format!("{} 等 {} 个项目", shown.what(), o.projects.len())
    } else {
        o.what()
    };
    OwedView {
        department: o.department.clone(),
        department_name: crate::departments::name_of(&app.cfg.departments, &o.department)
            .to_string(),
        form: o.form.name(),
        what,
        due: o.due.to_string(),
        overdue_days: (past > 0).then_some(past),
        days_left: (past <= 0).then_some(-past),
        revision: o.revision.is_some(),
    }
}

/// The overview lists at most this many overdue items (the most overdue), each with at most
/// this many project names; 催报 lists them all.
const OVERVIEW_OVERDUE: usize = 50;
const OVERVIEW_NAMES: usize = 5;

/// One cell of the table: a department's forms of one kind this year.
#[derive(Serialize, Default)]
struct Cell {
    received: u64,
    accepted: u64,
    returned: u64,
    duplicate: u64,
    /// Current (latest accepted) versions, as the summary counts them.
    current: u64,
    /// Items owed for this form (a project, or the declaration).
    owed: usize,
    /// The due date of what is owed (the earliest).
    due: Option<String>,
    /// The most days overdue among what is owed.
    overdue_days: Option<i64>,
}

#[derive(Serialize)]
struct Row {
    code: String,
    name: String,
    cells: Vec<Cell>,
}

/// A 部门汇总 line as shown: the numbers of the sheet, averages rounded as the sheet shows them.
#[derive(Serialize)]
struct SummaryLine {
    name: String,
    code: String,
    received: u64,
    accepted: u64,
    returned: u64,
    duplicate: u64,
    current: [u64; 3],
    not_passed: u64,
    average_score: Option<String>,
    grades: Vec<u64>,
    se_rate: Option<String>,
    report_rate: Option<String>,
}

fn summary_line(r: &crate::summary::tally::DepartmentRow) -> SummaryLine {
    SummaryLine {
        name: r.name.clone(),
        code: r.code.clone(),
        received: r.received,
        accepted: r.accepted,
        returned: r.returned,
        duplicate: r.duplicate,
        current: r.current,
        not_passed: r.not_passed,
        average_score: r.average_score().map(|s| format!("{s:.2}")),
        grades: r.grades.clone(),
        se_rate: r.average_se_rate().map(percent),
        report_rate: r.average_report_rate().map(percent),
    }
}

/// A fraction as the sheet's percent cells show it: `95.98%`.
fn percent(f: f64) -> String {
    format!("{:.2}%", f * 100.0)
}

async fn page(
    State(app): State<Shared>,
    who: Who,
    Query(q): Query<YearQuery>,
) -> Result<Html<String>, WebError> {
    let year = q.year(&app)?;
    let shared = app.clone();
    let view = app.db(move |_, conn| overview(&shared, conn, year)).await?;
    render(&app, &who, "overview", "overview.html", view)
}

fn overview(app: &Shared, conn: &Connection, year: i32) -> Result<minijinja::Value, WebError> {
    let today = app.clock.today();
    // Everything asked for first, so that what has changed is updated at once; then answered.
    let deadline = fresh_deadline();
    let (tally, owed) = (tally(app, conn, year)?, owed(app, conn, year)?);
    let years = years(app, conn, year, deadline)?;
    let (kept, tally_stale) = tally.answer(deadline);
    let (summary, counts) = (&kept.0, &kept.1);
    let (owed, owed_stale) = owed.answer(deadline);

    // Department × form from the year's submissions; duplicates count with the form they repeat.
    let mut cells: HashMap<(&str, FormKind), Cell> = HashMap::new();
    for c in counts.iter() {
        let Some(kind) = c.form else { continue };
        let cell = cells.entry((c.department.as_str(), kind)).or_default();
        cell.received += c.count;
        match c.outcome {
            Outcome::Accepted => cell.accepted += c.count,
            Outcome::Rejected => cell.returned += c.count,
            Outcome::Duplicate => cell.duplicate += c.count,
        }
    }
    for r in &summary.departments {
        for (i, kind) in FormKind::ALL.into_iter().enumerate() {
            if r.current[i] > 0 {
                cells.entry((r.code.as_str(), kind)).or_default().current = r.current[i];
            }
        }
    }
    for o in owed.iter() {
        let cell = cells.entry((o.department.as_str(), o.form)).or_default();
        cell.owed += o.projects.len().max(1);
        let due = o.due.to_string();
        if cell.due.as_ref().is_none_or(|d| due < *d) {
            cell.due = Some(due);
        }
        let past = (today - o.due).num_days();
        if past > 0 {
            cell.overdue_days = Some(cell.overdue_days.map_or(past, |d| d.max(past)));
        }
    }
    let rows: Vec<Row> = app
        .cfg
        .departments
        .iter()
        .map(|d| Row {
            code: d.code.clone(),
            name: d.name.clone(),
            cells: FormKind::ALL
                .into_iter()
                .map(|k| cells.remove(&(d.code.as_str(), k)).unwrap_or_default())
                .collect(),
        })
        .collect();
    let mut overdue: Vec<OwedView> = owed
        .iter()
        .filter(|o| o.due < today)
        .map(|o| owed_view(app, o, today, OVERVIEW_NAMES))
        .collect();
    overdue.sort_by_key(|o| std::cmp::Reverse(o.overdue_days));
    let overdue_more = overdue.len().saturating_sub(OVERVIEW_OVERDUE);
    overdue.truncate(OVERVIEW_OVERDUE);

    let lines: Vec<SummaryLine> = summary.departments.iter().map(summary_line).collect();
    let total = summary_line(&summary.total);
    let empty = summary.total.received == 0;
    let graded: u64 = summary.total.grades.iter().sum();
    let grade_chart = if graded > 0 {
        Some(charts::grades(
            &format!("{year}年度自评核定等级分布"),
            &summary.grade_names,
            &summary.total.grades,
        )?)
    } else {
        None
    };
    let rated: Vec<charts::Rates> = summary
        .departments
        .iter()
        .filter(|r| r.se_rated > 0 || r.report_rated > 0)
        .map(|r| charts::Rates {
            name: r.name.clone(),
            self_evaluation: r.average_se_rate(),
            report: r.average_report_rate(),
        })
        .collect();
    let rate_chart = if rated.is_empty() {
        None
    } else {
        Some(charts::rates(&format!("{year}年度各部门执行率"), &rated)?)
    };
    let forms: Vec<&str> = FormKind::ALL.iter().map(|k| k.name()).collect();
    let form_sheets: Vec<String> = FormKind::ALL
        .iter()
        .map(|k| app.defs.form(*k).name.clone())
        .collect();
    Ok(context! {
        title => "总览",
        year,
        updating => tally_stale || owed_stale,
        years,
        today => today.to_string(),
        forms,
        form_sheets,
        rows => v(&rows),
        overdue => v(&overdue),
        overdue_more,
        deadlines => !app.cfg.deadlines.iter().all(|d| d.year != year),
        empty,
        grade_names => v(&summary.grade_names),
        lines => v(&lines),
        total => v(&total),
        missing => summary.missing.len(),
        // Drawn here, every text escaped by plotters (checked in `charts`).
        grade_chart => grade_chart.map(minijinja::Value::from_safe_string),
        rate_chart => rate_chart.map(minijinja::Value::from_safe_string),
    })
}

#[cfg(test)]
mod kept_tests {
    use super::*;

    fn key(year: i32, stamp: &str) -> MemoKey {
        MemoKey {
            database: PathBuf::from("/srv/jixiao/state/jixiao.db"),
            year,
            stamp: stamp.into(),
        }
    }

    #[test]
    fn each_year_keeps_its_own_figures_and_the_oldest_year_goes_first() {
        let mut kept = Kept(Vec::new());
        kept.keep(key(2026, "a"), Arc::new(1));
        kept.keep(key(2025, "a"), Arc::new(2));
        // Asked for 2026 in a later state: its kept figures, with the state they are of.
        let (k, v) = kept.of(&key(2026, "b")).unwrap();
        assert_eq!((k.stamp.as_str(), *v), ("a", 1));
        kept.keep(key(2026, "b"), Arc::new(3));
        assert_eq!(*kept.of(&key(2026, "b")).unwrap().1, 3);
        assert_eq!(*kept.of(&key(2025, "b")).unwrap().1, 2);
        for year in 2021..=2024 {
            kept.keep(key(year, "b"), Arc::new(year));
        }
        // Four years are kept: 2025 and 2026 were kept before the four others.
        assert_eq!(kept.0.len(), KEPT_YEARS);
        assert!(kept.of(&key(2025, "b")).is_none());
        assert!(kept.of(&key(2026, "b")).is_none());
        assert_eq!(*kept.of(&key(2021, "b")).unwrap().1, 2021);
    }
}
