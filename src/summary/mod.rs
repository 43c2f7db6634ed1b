//! The finance office's summary workbook (`绩效汇总-{year}.xlsx`): one sheet per form kind with
//! the current version of every project, one row per indicator, counts and averages by
//! department, and what is still missing. Rebuilt by the daemon after recorded forms (at most
//! once per `summary.refresh_secs`) and by `jixiao consolidate`.
//!
//! [`build`] makes one pass over the year's current forms in sheet order, reading each form
//! once: its row goes to its form's sheet, its indicators to the indicator sheet, its figures to
//! a [`Tally`] (plain data, no I/O) that yields the department lines and what is missing. The
//! big sheets stream to temporary files (rust_xlsxwriter's constant-memory mode), so memory stays
//! flat however many projects there are. Text from forms is always written as a string, never
//! as a formula.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{Datelike, NaiveDateTime, NaiveTime, Weekday};
use rusqlite::{Connection, OptionalExtension, params};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{
    Chart, ChartType, ConditionalFormatCell, ConditionalFormatCellRule, ConditionalFormatDataBar,
    ConditionalFormatFormula, DocProperties, Format, FormatAlign, FormatBorder, Workbook,
    Worksheet,
};
use serde::Deserialize;

use crate::check::{CheckResult, Status};
use crate::config::Config;
use crate::forms::definitions::{Definitions, FormDef, FormKind, ValueType};
use crate::forms::record::FormRecord;
use crate::forms::values::{amount_text, percent_text_fraction};
use crate::rules::issue::IssueCode;
use crate::rules::review::Conclusion;
use crate::text::{normalize, parse_decimal};

// ---------------------------------------------------------------------------------------------
// Settings: `[summary]` in jixiao.toml
// ---------------------------------------------------------------------------------------------

/// `[summary]` in `jixiao.toml`: how often the daemon may rebuild the workbook and when it is
/// mailed to the finance office.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SummarySettings {
    /// The daemon rebuilds the workbook at most once in this many seconds.
    pub refresh_secs: u64,
    /// `"daily 08:00"`, `"weekly mon 08:00"`, or absent / `"none"` for no scheduled mail.
    pub mail_schedule: Option<String>,
}

impl Default for SummarySettings {
    fn default() -> Self {
        SummarySettings {
            refresh_secs: 5,
            mail_schedule: None,
        }
    }
}

/// When the summary is mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    Daily(NaiveTime),
    Weekly(Weekday, NaiveTime),
}

impl Schedule {
    /// Parses `daily HH:MM` or `weekly DAY HH:MM` (DAY: mon … sun, or the full English name);
    /// `none` or an empty text is no schedule.
    pub fn parse(text: &str) -> Result<Option<Schedule>, String> {
        let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
        let time = |t: &str| {
            NaiveTime::parse_from_str(t, "%H:%M")
                .map_err(|_| format!("\"{t}\" is not a time of day (HH:MM, e.g. 08:00)"))
        };
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        match words.as_slice() {
            [] | ["none"] => Ok(None),
            ["daily", t] => Ok(Some(Schedule::Daily(time(t)?))),
            ["weekly", day, t] => {
                let wd: Weekday = day.parse().map_err(|_| {
                    format!(
                        "\"{day}\" is not a day of the week (mon, tue, wed, thu, fri, sat, sun)"
                    )
                })?;
                Ok(Some(Schedule::Weekly(wd, time(t)?)))
            }
            _ => Err(format!(
                "\"{text}\": write \"daily 08:00\", \"weekly mon 08:00\" or \"none\""
            )),
        }
    }

    /// The first time strictly after `after` that the schedule names.
    pub fn next_after(&self, after: NaiveDateTime) -> NaiveDateTime {
        let (days_ahead, time, step) = match *self {
            Schedule::Daily(t) => (0, t, 1),
            Schedule::Weekly(wd, t) => {
                let ahead = (7 + wd.num_days_from_monday() as i64
                    - after.weekday().num_days_from_monday() as i64)
                    % 7;
                (ahead, t, 7)
            }
        };
        let candidate = (after.date() + chrono::Days::new(days_ahead as u64)).and_time(time);
        if candidate > after {
            candidate
        } else {
            candidate + chrono::Days::new(step)
        }
    }
}

impl SummarySettings {
    /// Checks the settings; the message names the key (the caller puts the file in front).
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.refresh_secs == 0 {
            bail!("summary.refresh_secs must be at least 1");
        }
        if let Some(s) = &self.mail_schedule {
            Schedule::parse(s).map_err(|e| anyhow::anyhow!("summary.mail_schedule {e}"))?;
        }
        Ok(())
    }

    /// The mail schedule (none when absent, `none`, or invalid — invalid is refused at load).
    pub fn schedule(&self) -> Option<Schedule> {
        self.mail_schedule
            .as_deref()
            .and_then(|s| Schedule::parse(s).ok().flatten())
    }

    /// When the summary is next due to be mailed after `after`, if a schedule is set.
    pub fn next_due(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        self.schedule().map(|s| s.next_after(after))
    }

    /// The least time between two automatic rebuilds.
    pub fn refresh_interval(&self) -> Duration {
        Duration::from_secs(self.refresh_secs.max(1))
    }
}

// ---------------------------------------------------------------------------------------------
// The daemon's refresh
// ---------------------------------------------------------------------------------------------

/// Keeps the daemon from rebuilding the workbook more than once per `min_interval`: marked dirty
/// after each recorded form, rebuilt when [`Refresher::due`].
#[derive(Debug, Clone)]
pub struct Refresher {
    pub min_interval: Duration,
    /// When the workbook was last rebuilt.
    pub last: Option<Instant>,
    pub dirty: bool,
    /// The years whose workbooks are out of date.
    pub years: BTreeSet<i32>,
}

impl Refresher {
    pub fn new(min_interval: Duration) -> Refresher {
        Refresher {
            min_interval,
            last: None,
            dirty: false,
            years: BTreeSet::new(),
        }
    }

    /// The workbook of `year` is out of date.
    pub fn mark_dirty(&mut self, year: i32) {
        self.dirty = true;
        self.years.insert(year);
    }

    /// Whether a rebuild is due at `now`: something changed and the last rebuild is at least
    /// `min_interval` ago.
    pub fn due(&self, now: Instant) -> bool {
        self.dirty
            && self
                .last
                .is_none_or(|l| now.saturating_duration_since(l) >= self.min_interval)
    }

    /// The years to rebuild now; the refresher is clean again and counts the interval from `now`.
    pub fn take(&mut self, now: Instant) -> Vec<i32> {
        self.dirty = false;
        self.last = Some(now);
        std::mem::take(&mut self.years).into_iter().collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// The current (latest accepted) version of one project's form.
#[derive(Debug, Clone)]
pub struct Current {
    pub id: i64,
    pub department: String,
    pub kind: FormKind,
    pub file_name: String,
    pub received_at: String,
    pub record: FormRecord,
    pub result: CheckResult,
}

/// Submissions of the year counted by department, form and outcome.
#[derive(Debug, Clone)]
pub struct Count {
    pub department: String,
    pub form: Option<FormKind>,
    pub outcome: String,
    pub count: u64,
    pub last_received: String,
}

/// Counts the submissions of a year by department, form and outcome.
pub fn load_counts(conn: &Connection, year: i32) -> anyhow::Result<Vec<Count>> {
    // A duplicate carries no year or form of its own: it counts with the submission it repeats.
    let mut stmt = conn.prepare(
        "SELECT s.department, COALESCE(s.form, o.form), s.outcome, COUNT(*), MAX(s.received_at) \
         FROM submissions s LEFT JOIN submissions o ON o.id = s.duplicate_of \
         WHERE COALESCE(s.year, o.year) = ?1 GROUP BY 1, 2, 3",
    )?;
    let counts = stmt
        .query_map(params![year], |r| {
            let form: Option<String> = r.get(1)?;
            Ok(Count {
                department: r.get(0)?,
                form: form.as_deref().and_then(FormKind::from_id),
                outcome: r.get(2)?,
                count: r.get::<_, i64>(3)? as u64,
                last_received: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(counts)
}

/// A current form as listed before its values are read: what the sheets are sorted by.
#[derive(Debug, Clone)]
struct Listed {
    id: i64,
    department: String,
    kind: FormKind,
    code: Option<String>,
    name: Option<String>,
}

/// The current (latest accepted) forms of a year, without their values.
fn list_current(conn: &Connection, year: i32) -> anyhow::Result<Vec<Listed>> {
    let mut stmt = conn.prepare(
        "SELECT id, department, form, project_code, project_name FROM submissions \
         WHERE year = ?1 AND outcome = 'accepted' AND superseded_by IS NULL \
         AND form IS NOT NULL AND form_json IS NOT NULL",
    )?;
    let rows = stmt.query_map(params![year], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, department, form, code, name) = row?;
        if let Some(kind) = FormKind::from_id(&form) {
            out.push(Listed {
                id,
                department,
                kind,
                code,
                name,
            });
        }
    }
    Ok(out)
}

/// Reads one current form with its values and result.
fn load_current(stmt: &mut rusqlite::Statement, l: &Listed) -> anyhow::Result<Current> {
    let (file_name, received_at, form_json, result_json): (String, String, String, Option<String>) =
        stmt.query_row(params![l.id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
    let record: FormRecord = serde_json::from_str(&form_json)
        .with_context(|| format!("submission {}: stored form values", l.id))?;
    let result = match result_json {
        Some(j) => CheckResult::from_stored(&j)
            .with_context(|| format!("submission {}: stored result", l.id))?,
        // Accepted forms are stored with their result; one without counts with nothing found.
        None => CheckResult {
            file: file_name.clone(),
            form: Some(l.kind),
            status: Status::Accepted,
            project: None,
            errors: Vec::new(),
            warnings: Vec::new(),
            score: None,
            review: None,
        },
    };
    Ok(Current {
        id: l.id,
        department: l.department.clone(),
        kind: l.kind,
        file_name,
        received_at,
        record,
        result,
    })
}

// ---------------------------------------------------------------------------------------------
// The summary: plain data
// ---------------------------------------------------------------------------------------------

/// One department's line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DepartmentRow {
    pub code: String,
    pub name: String,
    pub received: u64,
    pub accepted: u64,
    pub returned: u64,
    pub duplicate: u64,
    /// Current forms by kind, in the order of [`FormKind::ALL`].
    pub current: [u64; 3],
    /// Current declarations reviewed 不通过.
    pub not_passed: u64,
    /// Sum and count of verified scores of current self-evaluations.
    pub score_sum: f64,
    pub scored: u64,
    /// Counts by grade, in the order of the framework's grade bands.
    pub grades: Vec<u64>,
    /// Sum and count of self-evaluations' 预算执行率 (as fractions).
    pub se_rate_sum: f64,
    pub se_rated: u64,
    /// Sum and count of performance reports' 执行率 (total spent / budget, as fractions).
    pub report_rate_sum: f64,
    pub report_rated: u64,
}

impl DepartmentRow {
    pub fn average_score(&self) -> Option<f64> {
        (self.scored > 0).then(|| self.score_sum / self.scored as f64)
    }
    pub fn average_se_rate(&self) -> Option<f64> {
        (self.se_rated > 0).then(|| self.se_rate_sum / self.se_rated as f64)
    }
    pub fn average_report_rate(&self) -> Option<f64> {
        (self.report_rated > 0).then(|| self.report_rate_sum / self.report_rated as f64)
    }

    fn add(&mut self, o: &DepartmentRow) {
        self.received += o.received;
        self.accepted += o.accepted;
        self.returned += o.returned;
        self.duplicate += o.duplicate;
        for i in 0..3 {
            self.current[i] += o.current[i];
        }
        self.not_passed += o.not_passed;
        self.score_sum += o.score_sum;
        self.scored += o.scored;
        for (a, b) in self.grades.iter_mut().zip(&o.grades) {
            *a += b;
        }
        self.se_rate_sum += o.se_rate_sum;
        self.se_rated += o.se_rated;
        self.report_rate_sum += o.report_rate_sum;
        self.report_rated += o.report_rated;
    }
}

/// A configured department with no current accepted form of a kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    pub code: String,
    pub name: String,
    pub kind: FormKind,
    /// Returned forms of this kind this year.
    pub returned: u64,
    /// When the last form of this kind arrived, whatever became of it.
    pub last_received: Option<String>,
}

/// The summary of a year.
#[derive(Debug, Clone)]
pub struct Summary {
    pub year: i32,
    pub generated_at: String,
    pub departments: Vec<DepartmentRow>,
    pub total: DepartmentRow,
    pub missing: Vec<Missing>,
    pub grade_names: Vec<String>,
}

/// A rate in percent (`95.98`) as the fraction a percent-formatted cell holds (`0.9598`).
fn fraction(percent: f64) -> f64 {
    crate::text::decimal_from_f64(percent)
        .and_then(|d| (d / Decimal::ONE_HUNDRED).to_f64())
        .unwrap_or(percent / 100.0)
}

/// A performance report's 执行率: the total row's 执行数 / 年初预算数, as a fraction.
pub fn report_rate(record: &FormRecord) -> Option<f64> {
    let total = record.funds.get("total")?;
    let budget = amount_text(total.get("budget")?)?;
    let spent = amount_text(total.get("spent")?)?;
    if budget.is_zero() {
        return None;
    }
    (spent / budget).to_f64()
}

fn kind_index(kind: FormKind) -> usize {
    FormKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

/// Adds up a year's summary as the current forms go by: counts and averages by department and
/// what is missing. No I/O: the counts and forms are handed to it.
#[derive(Debug, Clone)]
pub struct Tally {
    year: i32,
    grade_names: Vec<String>,
    order: HashMap<String, usize>,
    rows: Vec<DepartmentRow>,
    returned_by_kind: HashMap<(String, FormKind), u64>,
    last_by_kind: HashMap<(String, FormKind), String>,
}

impl Tally {
    /// Starts from the configured departments and the counts of the year's submissions.
    pub fn new(cfg: &Config, defs: &Definitions, year: i32, counts: &[Count]) -> Tally {
        let grade_names: Vec<String> = defs
            .framework
            .score
            .grades
            .iter()
            .map(|g| g.grade.clone())
            .collect();
        let mut t = Tally {
            year,
            order: HashMap::new(),
            rows: Vec::new(),
            returned_by_kind: HashMap::new(),
            last_by_kind: HashMap::new(),
            grade_names,
        };
        for d in &cfg.departments {
            t.row(&d.code, &d.name);
        }
        // Departments in the database but no longer configured keep a line, under their code.
        let unknown: BTreeSet<&str> = counts
            .iter()
            .map(|c| c.department.as_str())
            .filter(|d| !t.order.contains_key(*d))
            .collect();
        for code in unknown {
            t.row(code, code);
        }
        for c in counts {
            let i = t.row(&c.department, &c.department);
            let row = &mut t.rows[i];
            row.received += c.count;
            match c.outcome.as_str() {
                "accepted" => row.accepted += c.count,
                "rejected" => row.returned += c.count,
                "duplicate" => row.duplicate += c.count,
                _ => {}
            }
            if let Some(kind) = c.form {
                let key = (c.department.clone(), kind);
                if c.outcome == "rejected" {
                    *t.returned_by_kind.entry(key.clone()).or_default() += c.count;
                }
                let last = t.last_by_kind.entry(key).or_default();
                if c.last_received > *last {
                    *last = c.last_received.clone();
                }
            }
        }
        t
    }

    /// The line of a department, added when new.
    fn row(&mut self, code: &str, name: &str) -> usize {
        if let Some(i) = self.order.get(code) {
            return *i;
        }
        self.order.insert(code.to_string(), self.rows.len());
        self.rows.push(DepartmentRow {
            code: code.to_string(),
            name: name.to_string(),
            grades: vec![0; self.grade_names.len()],
            ..Default::default()
        });
        self.rows.len() - 1
    }

    /// Where a department's forms come on the sheets: configuration order, others after.
    pub fn position(&self, code: &str) -> usize {
        self.order.get(code).copied().unwrap_or(usize::MAX)
    }

    /// Counts one current form.
    pub fn add(&mut self, c: &Current) {
        let i = self.row(&c.department, &c.department);
        let grade_names = &self.grade_names;
        let row = &mut self.rows[i];
        row.current[kind_index(c.kind)] += 1;
        match c.kind {
            FormKind::TargetDeclaration => {
                if c.result
                    .review
                    .as_ref()
                    .is_some_and(|r| r.conclusion == Conclusion::Fail)
                {
                    row.not_passed += 1;
                }
            }
            FormKind::PerformanceReport => {
                if let Some(r) = report_rate(&c.record) {
                    row.report_rate_sum += r;
                    row.report_rated += 1;
                }
            }
            FormKind::SelfEvaluation => {
                if let Some(s) = &c.result.score {
                    row.score_sum += s.computed;
                    row.scored += 1;
                    row.se_rate_sum += fraction(s.execution_rate);
                    row.se_rated += 1;
                    if let Some(g) = grade_names.iter().position(|g| *g == s.grade) {
                        row.grades[g] += 1;
                    }
                }
            }
        }
    }

    /// The summary: the department lines, their total, and what is missing.
    pub fn finish(self, cfg: &Config, generated_at: String) -> Summary {
        let mut total = DepartmentRow {
            name: "合计".into(),
            grades: vec![0; self.grade_names.len()],
            ..Default::default()
        };
        for r in &self.rows {
            total.add(r);
        }
        let mut missing = Vec::new();
        for d in &cfg.departments {
            let row = &self.rows[self.order[&d.code]];
            for kind in FormKind::ALL {
                if row.current[kind_index(kind)] == 0 {
                    let key = (d.code.clone(), kind);
                    missing.push(Missing {
                        code: d.code.clone(),
                        name: d.name.clone(),
                        kind,
                        returned: self.returned_by_kind.get(&key).copied().unwrap_or(0),
                        last_received: self.last_by_kind.get(&key).cloned(),
                    });
                }
            }
        }
        Summary {
            year: self.year,
            generated_at,
            departments: self.rows,
            total,
            missing,
            grade_names: self.grade_names,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The workbook
// ---------------------------------------------------------------------------------------------

/// The default place of a year's workbook: `reports_dir/绩效汇总-{year}.xlsx`.
pub fn default_path(cfg: &Config, year: i32) -> PathBuf {
    cfg.reports_dir.join(file_name(year))
}

/// `绩效汇总-{year}.xlsx`.
pub fn file_name(year: i32) -> String {
    format!("绩效汇总-{year}.xlsx")
}

/// The name of the department sheet.
pub const DEPARTMENT_SHEET: &str = "部门汇总";
/// The name of the indicator sheet.
pub const INDICATOR_SHEET: &str = "绩效指标";
/// The name of the sheet of what is missing.
pub const MISSING_SHEET: &str = "未报送";
/// The name of the sheet of forms owed past their deadline.
pub const OVERDUE_SHEET: &str = "逾期未报";
/// The name of the sheet that explains the workbook.
pub const NOTES_SHEET: &str = "说明";

/// Builds the summary workbook of a year and returns the xlsx bytes.
pub fn build(
    conn: &Connection,
    cfg: &Config,
    defs: &Definitions,
    year: i32,
) -> anyhow::Result<Vec<u8>> {
    Ok(build_summary(conn, cfg, defs, year)?.1)
}

/// Builds the workbook and also returns the summary it was made from.
pub fn build_summary(
    conn: &Connection,
    cfg: &Config,
    defs: &Definitions,
    year: i32,
) -> anyhow::Result<(Summary, Vec<u8>)> {
    let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let counts = load_counts(conn, year).context("reading the state database for the summary")?;
    let mut tally = Tally::new(cfg, defs, year, &counts);
    let mut listed = list_current(conn, year)?;
    listed.sort_by(|a, b| {
        let key = |l: &Listed| (kind_index(l.kind), tally.position(&l.department));
        key(a)
            .cmp(&key(b))
            .then_with(|| a.department.cmp(&b.department))
            .then_with(|| a.code.cmp(&b.code))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.id.cmp(&b.id))
    });

    let st = Styles::new();
    let mut wb = Workbook::new();
    // Most of the time goes into compressing the sheets; a light level is much faster for a file
    // a little larger.
    wb.set_zip_compression_level(3);
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!("{year}年度预算绩效汇总表"))
            .set_author(&cfg.finance.name)
            .set_comment(format!("jixiao 生成于 {now}")),
    );
    // The big sheets stream to temporary files: on disk beside the state, not in /tmp.
    if cfg.state_dir.is_dir() {
        wb.set_tempdir(&cfg.state_dir)?;
    }
    wb.add_worksheet().set_name(DEPARTMENT_SHEET)?;
    for kind in FormKind::ALL {
        wb.add_worksheet_with_constant_memory()?
            .set_name(&defs.form(kind).name)?;
    }
    wb.add_worksheet_with_constant_memory()?
        .set_name(INDICATOR_SHEET)?;

    // One pass over the current forms, each read once: its row on its form's sheet, its
    // indicators on the indicator sheet, its figures into the tally.
    {
        let sheets = wb.worksheets_mut();
        let (head, tail) = sheets.split_at_mut(1 + FormKind::ALL.len());
        let mut indicators = IndicatorWriter::new(&mut tail[0], &st, defs)?;
        let mut stmt = conn.prepare(
            "SELECT file_name, received_at, form_json, result_json FROM submissions WHERE id = ?1",
        )?;
        let mut next = listed.iter().peekable();
        for (ws, kind) in head[1..].iter_mut().zip(FormKind::ALL) {
            let mut forms = FormWriter::new(ws, &st, defs.form(kind))?;
            while let Some(l) = next.next_if(|l| l.kind == kind) {
                let c = load_current(&mut stmt, l)?;
                tally.add(&c);
                forms.row(cfg, &c)?;
                indicators.rows(cfg, &defs.form(kind).name, &c)?;
            }
            forms.finish()?;
        }
        indicators.finish()?;
    }
    let summary = tally.finish(cfg, now);
    department_sheet(wb.worksheet_from_index(0)?, &st, defs, &summary)?;
    missing_sheet(&mut wb, &st, defs, &summary)?;
    overdue_sheet(&mut wb, &st, conn, cfg, year)?;
    notes_sheet(&mut wb, cfg, defs, &summary)?;
    let bytes = wb
        .save_to_buffer()
        .context("writing the summary workbook")?;
    Ok((summary, bytes))
}

/// Builds the workbook of a year and writes it to `path` atomically (a temporary file in the
/// same folder, then a rename), so that no one ever opens half a file.
pub fn write(
    conn: &Connection,
    cfg: &Config,
    defs: &Definitions,
    year: i32,
    path: &Path,
) -> anyhow::Result<()> {
    let bytes = build(conn, cfg, defs, year)?;
    crate::watch::write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))
}

/// The summary as a message to the finance office, ready for the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryMail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    pub attachment_name: String,
    pub attachment: Vec<u8>,
}

/// Builds the workbook of a year and the message that carries it to `finance.emails`.
pub fn mail_message(
    conn: &Connection,
    cfg: &Config,
    defs: &Definitions,
    year: i32,
) -> anyhow::Result<SummaryMail> {
    if cfg.finance.emails.is_empty() {
        bail!(
            "{}: finance.emails is empty: nobody to send the summary to",
            cfg.file.display()
        );
    }
    let (s, bytes) = build_summary(conn, cfg, defs, year)?;
    let t = &s.total;
    let mut body = format!(
        "{}：\n\n附件为{}年度预算绩效汇总表（截至{}）。\n\n",
        cfg.finance.name, year, s.generated_at
    );
    body.push_str(&format!(
        "本年度共收到报送{}份，受理{}份，退回{}份，重复报送{}份。\n",
        t.received, t.accepted, t.returned, t.duplicate
    ));
    body.push_str(&format!(
        "现行项目：绩效目标申报表{}个（审核不通过{}个），绩效运行监控表{}个，绩效自评表{}个。\n",
        t.current[0], t.not_passed, t.current[1], t.current[2]
    ));
    if let Some(avg) = t.average_score() {
        let grades: Vec<String> = s
            .grade_names
            .iter()
            .zip(&t.grades)
            .map(|(g, n)| format!("{g}{n}个"))
            .collect();
        body.push_str(&format!(
            "自评平均核定得分{avg:.2}分，等级分布：{}。\n",
            grades.join("、")
        ));
    }
    if s.missing.is_empty() {
        body.push_str("各部门三张表均已受理。\n");
    } else {
        body.push_str(&format!(
            "尚有{}项（部门×表）未受理，详见“{MISSING_SHEET}”工作表。\n",
            s.missing.len()
        ));
    }
    body.push_str("\n本邮件由jixiao自动发送。\n");
    Ok(SummaryMail {
        to: cfg.finance.emails.clone(),
        subject: format!("{year}年度预算绩效汇总表（{}）", &s.generated_at[..10]),
        body,
        attachment_name: file_name(year),
        attachment: bytes,
    })
}

/// How a column's values are written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Amount,
    Percent,
    Points,
    Count,
}

/// A cell value ready to write.
enum Cell<'a> {
    Text(&'a str),
    Owned(String),
    Number(f64),
    Empty,
}

struct Styles {
    header: Format,
    amount: Format,
    percent: Format,
    points: Format,
    count: Format,
    total_text: Format,
    total_count: Format,
    total_points: Format,
    total_percent: Format,
    red: Format,
    orange: Format,
}

impl Styles {
    fn new() -> Styles {
        let header = Format::new()
            .set_bold()
            .set_text_wrap()
            .set_background_color("D9E1F2")
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter);
        let total = Format::new()
            .set_bold()
            .set_border_top(FormatBorder::Double);
        Styles {
            header,
            amount: Format::new().set_num_format("#,##0.00"),
            percent: Format::new().set_num_format("0.00%"),
            points: Format::new().set_num_format("0.00"),
            count: Format::new().set_num_format("0"),
            total_text: total.clone(),
            total_count: total.clone().set_num_format("0"),
            total_points: total.clone().set_num_format("0.00"),
            total_percent: total.set_num_format("0.00%"),
            // Excel's "light red fill with dark red text" and its orange counterpart.
            red: Format::new()
                .set_background_color("FFC7CE")
                .set_font_color("9C0006"),
            orange: Format::new()
                .set_background_color("FFEB9C")
                .set_font_color("9C5700"),
        }
    }

    fn of(&self, kind: Kind) -> Option<&Format> {
        match kind {
            Kind::Text => None,
            Kind::Amount => Some(&self.amount),
            Kind::Percent => Some(&self.percent),
            Kind::Points => Some(&self.points),
            Kind::Count => Some(&self.count),
        }
    }
}

/// Excel's limit on the length of a cell's text.
const MAX_TEXT: usize = 32_767;

fn clip(s: &str) -> &str {
    if s.len() <= MAX_TEXT {
        return s;
    }
    let mut end = MAX_TEXT.min(s.len());
    // Excel counts UTF-16 units; stay well within by cutting at a char boundary of the bytes.
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// How wide a text shows: CJK and other wide characters count twice.
fn display_width(s: &str) -> usize {
    s.chars()
        .take(80)
        .map(|c| if (c as u32) < 0x1100 { 1 } else { 2 })
        .sum()
}

/// A sheet being written: keeps column widths as cells are written.
struct Sheet<'w, 's> {
    ws: &'w mut Worksheet,
    st: &'s Styles,
    kinds: Vec<Kind>,
    widths: Vec<usize>,
    row: u32,
}

impl<'w, 's> Sheet<'w, 's> {
    fn new(
        ws: &'w mut Worksheet,
        st: &'s Styles,
        headers: &[(String, Kind)],
    ) -> anyhow::Result<Self> {
        ws.set_row_height(0, 30)?;
        let mut widths = Vec::with_capacity(headers.len());
        for (c, (h, _)) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, clip(h), &st.header)?;
            // Headers wrap: about half their length is enough.
            widths.push(display_width(h).div_ceil(2).max(8));
        }
        Ok(Sheet {
            ws,
            st,
            kinds: headers.iter().map(|(_, k)| *k).collect(),
            widths,
            row: 1,
        })
    }

    fn put(&mut self, col: usize, cell: Cell) -> anyhow::Result<()> {
        let (r, c) = (self.row, col as u16);
        let fmt = self.st.of(self.kinds[col]);
        match cell {
            Cell::Text(s) => {
                self.widths[col] = self.widths[col].max(display_width(s));
                self.ws.write_string(r, c, clip(s))?;
            }
            Cell::Owned(s) => {
                self.widths[col] = self.widths[col].max(display_width(&s));
                self.ws.write_string(r, c, clip(&s))?;
            }
            Cell::Number(v) if v.is_finite() => {
                self.widths[col] = self.widths[col].max(12);
                match fmt {
                    Some(f) => self.ws.write_number_with_format(r, c, v, f)?,
                    None => self.ws.write_number(r, c, v)?,
                };
            }
            Cell::Number(_) | Cell::Empty => {}
        }
        Ok(())
    }

    /// A value from a form: a number in a number column when it reads as one, else the text.
    fn put_value(&mut self, col: usize, text: Option<&'_ str>) -> anyhow::Result<()> {
        let Some(t) = text else { return Ok(()) };
        let number = match self.kinds[col] {
            Kind::Amount | Kind::Points | Kind::Count => amount_text(t)
                .or_else(|| {
                    let n = normalize(t);
                    parse_decimal(n.strip_suffix('分').unwrap_or(&n))
                })
                .and_then(|d| d.to_f64()),
            Kind::Percent => percent_text_fraction(t),
            Kind::Text => None,
        };
        match number {
            Some(v) => self.put(col, Cell::Number(v)),
            None => self.put(col, Cell::Text(t)),
        }
    }

    /// Freezes the header row and `cols` columns, filters the header, sets the widths.
    fn finish(self, freeze_cols: u16) -> anyhow::Result<u32> {
        let last_row = self.row.saturating_sub(1).max(1);
        let last_col = self.kinds.len().saturating_sub(1) as u16;
        self.ws.set_freeze_panes(1, freeze_cols)?;
        self.ws.autofilter(0, 0, last_row, last_col)?;
        for (c, w) in self.widths.iter().enumerate() {
            self.ws
                .set_column_width(c as u16, (*w as f64 + 2.0).clamp(6.0, 50.0))?;
        }
        Ok(self.row)
    }
}

fn kind_of(t: ValueType) -> Kind {
    match t {
        ValueType::Text => Kind::Text,
        ValueType::Amount => Kind::Amount,
        ValueType::Percent => Kind::Percent,
        ValueType::Points => Kind::Points,
    }
}

fn short_row_label(label: &str) -> &str {
    label
        .strip_prefix("其中：")
        .or_else(|| label.strip_prefix("其中:"))
        .unwrap_or(label)
}

/// Where a value of a form goes: a column of the form sheet.
enum Source {
    Field(String),
    Goal(String),
    Fund(String, String),
}

fn form_columns(def: &FormDef) -> Vec<(String, Kind, Source)> {
    let mut cols = Vec::new();
    for f in &def.fields {
        cols.push((
            f.label.clone(),
            kind_of(f.value_type),
            Source::Field(f.key.clone()),
        ));
    }
    if def.goal.subheaders.is_empty() {
        cols.push((
            def.goal.label.clone(),
            Kind::Text,
            Source::Goal("value".into()),
        ));
    } else {
        for s in &def.goal.subheaders {
            cols.push((s.label.clone(), Kind::Text, Source::Goal(s.key.clone())));
        }
    }
    if let Some(funds) = &def.funds {
        for r in &funds.rows {
            for c in &funds.columns {
                cols.push((
                    format!("{}·{}", short_row_label(&r.label), c.label),
                    kind_of(c.value_type),
                    Source::Fund(r.key.clone(), c.key.clone()),
                ));
            }
        }
    }
    cols
}

/// A stored time (RFC 3339) as people read it: `2026-11-25 10:00:37`.
fn local_time(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| t.to_string())
}

fn findings(c: &Current) -> String {
    c.result
        .warnings
        .iter()
        .map(|w| w.message.as_str())
        .collect::<Vec<_>>()
        .join("；")
}

fn col_letter(col: usize) -> String {
    rust_xlsxwriter::utility::column_number_to_name(col as u16)
}

fn department_name<'a>(cfg: &'a Config, code: &'a str) -> &'a str {
    cfg.department_by_code(code)
        .map(|d| d.name.as_str())
        .unwrap_or(code)
}

/// Writes a form kind's sheet: one row per current project with every field of the form.
struct FormWriter<'w, 's, 'd> {
    sh: Sheet<'w, 's>,
    def: &'d FormDef,
    cols: Vec<(String, Kind, Source)>,
    headers: Vec<(String, Kind)>,
    /// The first column after the form's own values: the results.
    extra_start: usize,
}

impl<'w, 's, 'd> FormWriter<'w, 's, 'd> {
    fn new(ws: &'w mut Worksheet, st: &'s Styles, def: &'d FormDef) -> anyhow::Result<Self> {
        let cols = form_columns(def);
        let mut headers: Vec<(String, Kind)> = vec![("部门".into(), Kind::Text)];
        headers.extend(cols.iter().map(|(h, k, _)| (h.clone(), *k)));
        headers.push(("绩效指标数".into(), Kind::Count));
        if let Some(s) = &def.summary {
            headers.push((format!("{}（分值）", s.total_label), Kind::Points));
            headers.push((format!("{}（自评得分）", s.total_label), Kind::Points));
            headers.push((s.grade_label.clone(), Kind::Text));
        }
        let extra_start = headers.len();
        match def.kind() {
            FormKind::TargetDeclaration => {
                headers.push(("审核结论".into(), Kind::Text));
            }
            FormKind::PerformanceReport => {
                headers.push(("执行率（执行数/年初预算数）".into(), Kind::Percent));
                headers.push(("执行进度滞后".into(), Kind::Text));
            }
            FormKind::SelfEvaluation => {
                headers.push(("核定得分".into(), Kind::Points));
                headers.push(("核定等级".into(), Kind::Text));
                headers.push(("预算执行率".into(), Kind::Percent));
                headers.push(("预算执行率得分".into(), Kind::Points));
            }
        }
        headers.push(("审核发现".into(), Kind::Text));
        headers.push(("受理编号".into(), Kind::Count));
        headers.push(("文件名".into(), Kind::Text));
        headers.push(("受理时间".into(), Kind::Text));
        let sh = Sheet::new(ws, st, &headers)?;
        Ok(FormWriter {
            sh,
            def,
            cols,
            headers,
            extra_start,
        })
    }

    fn row(&mut self, cfg: &Config, c: &Current) -> anyhow::Result<()> {
        let sh = &mut self.sh;
        let rec = &c.record;
        sh.put(0, Cell::Text(department_name(cfg, &c.department)))?;
        for (i, (_, _, src)) in self.cols.iter().enumerate() {
            let v = match src {
                Source::Field(k) => rec.fields.get(k),
                Source::Goal(k) => rec.goal.get(k),
                Source::Fund(r, k) => rec.funds.get(r).and_then(|m| m.get(k)),
            };
            sh.put_value(1 + i, v.map(String::as_str))?;
        }
        let mut col = 1 + self.cols.len();
        sh.put(col, Cell::Number(rec.indicators.len() as f64))?;
        col += 1;
        if self.def.summary.is_some() {
            sh.put_value(col, rec.total_weight.as_deref())?;
            sh.put_value(col + 1, rec.total_score.as_deref())?;
            sh.put_value(col + 2, rec.grade.as_deref())?;
            col += 3;
        }
        match self.def.kind() {
            FormKind::TargetDeclaration => {
                let conclusion = c.result.review.as_ref().map(|r| r.conclusion.as_str());
                sh.put(col, conclusion.map_or(Cell::Empty, Cell::Text))?;
                col += 1;
            }
            FormKind::PerformanceReport => {
                sh.put(col, report_rate(rec).map_or(Cell::Empty, Cell::Number))?;
                let lag = c
                    .result
                    .warnings
                    .iter()
                    .any(|w| w.code == IssueCode::ExecutionLag);
                sh.put(col + 1, if lag { Cell::Text("是") } else { Cell::Empty })?;
                col += 2;
            }
            FormKind::SelfEvaluation => {
                if let Some(s) = &c.result.score {
                    sh.put(col, Cell::Number(s.computed))?;
                    sh.put(col + 1, Cell::Text(&s.grade))?;
                    sh.put(col + 2, Cell::Number(fraction(s.execution_rate)))?;
                    sh.put(col + 3, Cell::Number(s.execution_score))?;
                }
                col += 4;
            }
        }
        sh.put(col, Cell::Owned(findings(c)))?;
        sh.put(col + 1, Cell::Number(c.id as f64))?;
        sh.put(col + 2, Cell::Text(&c.file_name))?;
        sh.put(col + 3, Cell::Owned(local_time(&c.received_at)))?;
        sh.row += 1;
        Ok(())
    }

    /// Conditional formats (不通过, 差, lagging execution in red), filter, frozen panes, widths.
    fn finish(mut self) -> anyhow::Result<()> {
        let last = self.sh.row.saturating_sub(1).max(1);
        // The findings column can be long: keep it readable.
        let findings_col = self.headers.len() - 4;
        self.sh.widths[findings_col] = self.sh.widths[findings_col].min(40);
        let st = self.sh.st;
        let ws = &mut *self.sh.ws;
        let extra_start = self.extra_start;
        let equal_red = |ws: &mut Worksheet, col: usize, value: &str| -> anyhow::Result<()> {
            let cf = ConditionalFormatCell::new()
                .set_rule(ConditionalFormatCellRule::EqualTo(value))
                .set_format(&st.red);
            ws.add_conditional_format(1, col as u16, last, col as u16, &cf)?;
            Ok(())
        };
        match self.def.kind() {
            FormKind::TargetDeclaration => {
                equal_red(ws, extra_start, Conclusion::Fail.as_str())?;
            }
            FormKind::PerformanceReport => {
                // The rate turns orange and the flag red where execution lags the months elapsed.
                let flag = col_letter(extra_start + 1);
                let cf = ConditionalFormatFormula::new()
                    .set_rule(format!("=${flag}2=\"是\"").as_str())
                    .set_format(&st.orange);
                let rate = extra_start as u16;
                ws.add_conditional_format(1, rate, last, rate, &cf)?;
                equal_red(ws, extra_start + 1, "是")?;
            }
            FormKind::SelfEvaluation => {
                equal_red(ws, extra_start + 1, "差")?;
                if let Some(s) = &self.def.summary
                    && let Some(c) = self.headers.iter().position(|(h, _)| *h == s.grade_label)
                {
                    equal_red(ws, c, "差")?;
                }
            }
        }
        // Freeze 部门 and 项目名称 (the first field of every form).
        self.sh.finish(2)?;
        Ok(())
    }
}

/// Writes the indicator sheet: one row per indicator of every current form.
struct IndicatorWriter<'w, 's> {
    sh: Sheet<'w, 's>,
    /// The union of the indicator columns of the three forms by key, labelled as the first form
    /// that has the column labels it.
    keys: Vec<(String, String)>,
}

impl<'w, 's> IndicatorWriter<'w, 's> {
    fn new(ws: &'w mut Worksheet, st: &'s Styles, defs: &Definitions) -> anyhow::Result<Self> {
        let mut keys: Vec<(String, String)> = Vec::new();
        for kind in FormKind::ALL {
            for c in &defs.form(kind).indicators.columns {
                if !keys.iter().any(|(k, _)| *k == c.key) {
                    keys.push((c.key.clone(), c.label.clone()));
                }
            }
        }
        let name_label = |key: &str, fallback: &str| {
            defs.form(FormKind::TargetDeclaration)
                .field(key)
                .map(|f| f.label.clone())
                .unwrap_or_else(|| fallback.to_string())
        };
        let mut headers: Vec<(String, Kind)> = vec![
            ("部门".into(), Kind::Text),
            ("表".into(), Kind::Text),
            (name_label("code", "项目编码"), Kind::Text),
            (name_label("name", "项目名称"), Kind::Text),
            ("序号".into(), Kind::Count),
        ];
        headers.extend(keys.iter().map(|(_, l)| (l.clone(), Kind::Text)));
        headers.push(("受理编号".into(), Kind::Count));
        Ok(IndicatorWriter {
            sh: Sheet::new(ws, st, &headers)?,
            keys,
        })
    }

    fn rows(&mut self, cfg: &Config, form_name: &str, c: &Current) -> anyhow::Result<()> {
        let sh = &mut self.sh;
        let dept = department_name(cfg, &c.department);
        for (n, ind) in c.record.indicators.iter().enumerate() {
            sh.put(0, Cell::Text(dept))?;
            sh.put(1, Cell::Text(form_name))?;
            sh.put_value(2, c.record.fields.get("code").map(String::as_str))?;
            sh.put_value(3, c.record.fields.get("name").map(String::as_str))?;
            sh.put(4, Cell::Number((n + 1) as f64))?;
            for (i, (k, _)) in self.keys.iter().enumerate() {
                sh.put_value(5 + i, ind.get(k).map(String::as_str))?;
            }
            sh.put(5 + self.keys.len(), Cell::Number(c.id as f64))?;
            sh.row += 1;
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        self.sh.finish(4)?;
        Ok(())
    }
}

/// Column positions on the department sheet.
struct DeptCols {
    grades: usize,
    score: usize,
    se_rate: usize,
    report_rate: usize,
    count: usize,
}

fn department_sheet(
    ws: &mut Worksheet,
    st: &Styles,
    defs: &Definitions,
    s: &Summary,
) -> anyhow::Result<()> {
    let mut headers: Vec<(String, Kind)> = vec![
        ("部门".into(), Kind::Text),
        ("部门代码".into(), Kind::Text),
        ("收到".into(), Kind::Count),
        ("受理".into(), Kind::Count),
        ("退回".into(), Kind::Count),
        ("重复".into(), Kind::Count),
    ];
    for kind in FormKind::ALL {
        headers.push((format!("{}（现行）", defs.form(kind).name), Kind::Count));
    }
    headers.push(("申报审核不通过".into(), Kind::Count));
    let score = headers.len();
    headers.push(("自评平均核定得分".into(), Kind::Points));
    let grades = headers.len();
    for g in &s.grade_names {
        headers.push((g.clone(), Kind::Count));
    }
    let se_rate = headers.len();
    headers.push(("自评平均预算执行率".into(), Kind::Percent));
    let report_rate = headers.len();
    headers.push(("监控平均执行率".into(), Kind::Percent));
    let cols = DeptCols {
        grades,
        score,
        se_rate,
        report_rate,
        count: headers.len(),
    };

    let mut sh = Sheet::new(ws, st, &headers)?;
    let put_row = |sh: &mut Sheet, r: &DepartmentRow| -> anyhow::Result<()> {
        sh.put(0, Cell::Text(&r.name))?;
        sh.put(1, Cell::Text(&r.code))?;
        let n = |v: u64| Cell::Number(v as f64);
        sh.put(2, n(r.received))?;
        sh.put(3, n(r.accepted))?;
        sh.put(4, n(r.returned))?;
        sh.put(5, n(r.duplicate))?;
        for i in 0..3 {
            sh.put(6 + i, n(r.current[i]))?;
        }
        sh.put(9, n(r.not_passed))?;
        sh.put(
            cols.score,
            r.average_score().map_or(Cell::Empty, Cell::Number),
        )?;
        for (i, g) in r.grades.iter().enumerate() {
            sh.put(cols.grades + i, n(*g))?;
        }
        sh.put(
            cols.se_rate,
            r.average_se_rate().map_or(Cell::Empty, Cell::Number),
        )?;
        sh.put(
            cols.report_rate,
            r.average_report_rate().map_or(Cell::Empty, Cell::Number),
        )?;
        Ok(())
    };
    for r in &s.departments {
        put_row(&mut sh, r)?;
        sh.row += 1;
    }
    let first_data = 1u32;
    let last_data = sh.row.saturating_sub(1).max(1);
    let total_row = sh.row;
    put_row(&mut sh, &s.total)?;
    sh.row += 1;
    // The total line: bold over a double rule, outside the filter.
    let ws = &mut *sh.ws;
    for (c, (_, kind)) in headers.iter().enumerate() {
        let fmt = match kind {
            Kind::Percent => &st.total_percent,
            Kind::Points => &st.total_points,
            Kind::Count | Kind::Amount => &st.total_count,
            Kind::Text => &st.total_text,
        };
        ws.set_cell_format(total_row, c as u16, fmt)?;
    }
    // 差 present: red. Rates: data bars.
    let bad = s.grade_names.len().saturating_sub(1);
    if !s.grade_names.is_empty() {
        let c = (cols.grades + bad) as u16;
        let cf = ConditionalFormatCell::new()
            .set_rule(ConditionalFormatCellRule::GreaterThan(0))
            .set_format(&st.red);
        ws.add_conditional_format(first_data, c, total_row, c, &cf)?;
    }
    let c9 = ConditionalFormatCell::new()
        .set_rule(ConditionalFormatCellRule::GreaterThan(0))
        .set_format(&st.red);
    ws.add_conditional_format(first_data, 9, total_row, 9, &c9)?;
    for c in [cols.se_rate, cols.report_rate] {
        let bar = ConditionalFormatDataBar::new();
        ws.add_conditional_format(first_data, c as u16, last_data, c as u16, &bar)?;
    }

    // Charts to the right of the table.
    let mut grades_chart = Chart::new(ChartType::Column);
    grades_chart
        .add_series()
        .set_name("核定等级")
        .set_categories((
            DEPARTMENT_SHEET,
            0,
            cols.grades as u16,
            0,
            (cols.grades + s.grade_names.len().max(1) - 1) as u16,
        ))
        .set_values((
            DEPARTMENT_SHEET,
            total_row,
            cols.grades as u16,
            total_row,
            (cols.grades + s.grade_names.len().max(1) - 1) as u16,
        ));
    grades_chart
        .title()
        .set_name(&format!("{}年度自评核定等级分布", s.year));
    grades_chart.legend().set_hidden();
    grades_chart.y_axis().set_name("项目数");

    let mut rate_chart = Chart::new(ChartType::Bar);
    for (c, name) in [
        (cols.se_rate, "自评平均预算执行率"),
        (cols.report_rate, "监控平均执行率"),
    ] {
        rate_chart
            .add_series()
            .set_name(name)
            .set_categories((DEPARTMENT_SHEET, first_data, 0, last_data, 0))
            .set_values((DEPARTMENT_SHEET, first_data, c as u16, last_data, c as u16));
    }
    rate_chart
        .title()
        .set_name(&format!("{}年度各部门执行率", s.year));
    rate_chart.x_axis().set_num_format("0%");
    let height = 300 + 20 * s.departments.len() as u32;
    rate_chart.set_height(height.min(1200));
    let chart_col = (cols.count + 1) as u16;
    ws.insert_chart(1, chart_col, &grades_chart)?;
    ws.insert_chart(18, chart_col, &rate_chart)?;

    let sh_widths = sh.widths.clone();
    let ws = &mut *sh.ws;
    ws.set_freeze_panes(1, 1)?;
    ws.autofilter(0, 0, last_data, (cols.count - 1) as u16)?;
    for (c, w) in sh_widths.iter().enumerate() {
        ws.set_column_width(c as u16, (*w as f64 + 2.0).clamp(6.0, 50.0))?;
    }

    Ok(())
}

fn missing_sheet(
    wb: &mut Workbook,
    st: &Styles,
    defs: &Definitions,
    s: &Summary,
) -> anyhow::Result<()> {
    let headers: Vec<(String, Kind)> = vec![
        ("部门".into(), Kind::Text),
        ("部门代码".into(), Kind::Text),
        ("表".into(), Kind::Text),
        ("退回次数".into(), Kind::Count),
        ("最近一次报送".into(), Kind::Text),
    ];
    let ws = wb.add_worksheet();
    ws.set_name(MISSING_SHEET)?;
    let mut sh = Sheet::new(ws, st, &headers)?;
    for m in &s.missing {
        sh.put(0, Cell::Text(&m.name))?;
        sh.put(1, Cell::Text(&m.code))?;
        sh.put(2, Cell::Text(&defs.form(m.kind).name))?;
        sh.put(3, Cell::Number(m.returned as f64))?;
        sh.put(
            4,
            m.last_received
                .as_deref()
                .map_or(Cell::Text("未报送"), |t| Cell::Owned(local_time(t))),
        )?;
        sh.row += 1;
    }
    sh.finish(1)?;
    Ok(())
}

/// Every form owed past its configured deadline this year, with what is owed (as `jixiao status`
/// lists it).
fn overdue_sheet(
    wb: &mut Workbook,
    st: &Styles,
    conn: &Connection,
    cfg: &Config,
    year: i32,
) -> anyhow::Result<()> {
    let today = crate::cycle::today();
    let overdue: Vec<crate::cycle::Owed> = crate::cycle::overdue(conn, cfg, today)?
        .into_iter()
        .filter(|o| o.year == year)
        .collect();
    let headers: Vec<(String, Kind)> = vec![
        ("部门".into(), Kind::Text),
        ("部门代码".into(), Kind::Text),
        ("表".into(), Kind::Text),
        ("报送期限".into(), Kind::Text),
        ("逾期天数".into(), Kind::Count),
        ("未报项目".into(), Kind::Text),
    ];
    let ws = wb.add_worksheet();
    ws.set_name(OVERDUE_SHEET)?;
    let mut sh = Sheet::new(ws, st, &headers)?;
    for o in &overdue {
        let name = cfg
            .department_by_code(&o.department)
            .map(|d| d.name.clone())
            .unwrap_or_else(|| o.department.clone());
        sh.put(0, Cell::Owned(name))?;
        sh.put(1, Cell::Text(&o.department))?;
        sh.put(2, Cell::Text(crate::cycle::form_name(o.form)))?;
        sh.put(3, Cell::Owned(crate::cycle::chinese_date(o.due)))?;
        sh.put(4, Cell::Number((today - o.due).num_days() as f64))?;
        sh.put(
            5,
            if o.projects.is_empty() {
                Cell::Text("本部门绩效目标申报表")
            } else {
                Cell::Owned(o.projects.join("、"))
            },
        )?;
        sh.row += 1;
    }
    sh.finish(1)?;
    Ok(())
}

fn notes_sheet(
    wb: &mut Workbook,
    cfg: &Config,
    defs: &Definitions,
    s: &Summary,
) -> anyhow::Result<()> {
    let ws = wb.add_worksheet();
    ws.set_name(NOTES_SHEET)?;
    let bold = Format::new().set_bold();
    let lines: Vec<(String, String)> = vec![
        ("年度".into(), s.year.to_string()),
        ("生成时间".into(), s.generated_at.clone()),
        ("财政部门".into(), cfg.finance.name.clone()),
        (
            DEPARTMENT_SHEET.into(),
            "每个部门一行。收到＝本年度全部报送（含退回和重复），受理、退回、重复按处理结果计数（同一项目多次受理各计一次）；现行＝每个项目每张表最新受理的一份；平均核定得分、等级分布和自评平均预算执行率按现行自评表计算；监控平均执行率＝现行监控表“年度资金总额”行执行数÷年初预算数的平均。末行为合计，平均值按全部项目计算。".into(),
        ),
        (
            "各表工作表".into(),
            format!(
                "{}、{}、{}：每个项目一行（最新受理的版本），列出表上全部栏目，列名取自表样定义。",
                defs.form(FormKind::TargetDeclaration).name,
                defs.form(FormKind::PerformanceReport).name,
                defs.form(FormKind::SelfEvaluation).name
            ),
        ),
        (
            INDICATOR_SHEET.into(),
            "现行各表的每条绩效指标一行。".into(),
        ),
        (
            MISSING_SHEET.into(),
            "配置中的部门在本年度尚无受理的某张表。".into(),
        ),
        (
            "标色".into(),
            "红色：核定等级或自评等级为差、审核结论不通过、执行进度滞后；橙色：滞后项目的执行率。"
                .into(),
        ),
    ];
    for (i, (k, v)) in lines.iter().enumerate() {
        ws.write_string_with_format(i as u32, 0, k, &bold)?;
        ws.write_string(i as u32, 1, v)?;
    }
    ws.set_column_width(0, 16)?;
    ws.set_column_width(1, 120)?;
    Ok(())
}

const MAIL_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS summary_mail (
    id        INTEGER PRIMARY KEY,
    year      INTEGER NOT NULL,
    due_at    TEXT NOT NULL,      -- the scheduled time this mail answers (local), or 'manual'
    outbox_id INTEGER,
    queued_at TEXT NOT NULL
);
"#;

/// Creates the table that remembers which summary mails were queued.
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(MAIL_SCHEMA)
}

/// Queues the summary workbook of `year` for the finance office in the outbox, and records it
/// (`due_at`: the scheduled time it answers, or `manual`). Returns the outbox id.
pub fn queue_mail(
    conn: &mut Connection,
    cfg: &Config,
    defs: &Definitions,
    year: i32,
    due_at: &str,
) -> anyhow::Result<i64> {
    let msg = mail_message(conn, cfg, defs, year)?;
    let tx = conn.transaction()?;
    let id = crate::mail::outbox::enqueue(
        &tx,
        &crate::mail::OutgoingMessage {
            to: msg.to,
            cc: Vec::new(),
            subject: msg.subject,
            body: msg.body,
            attachments: vec![crate::mail::Attachment {
                file_name: msg.attachment_name,
                content_type: crate::mail::XLSX.to_string(),
                bytes: msg.attachment,
            }],
            kind: "summary".into(),
            reference: format!("{year}"),
        },
    )?;
    tx.execute(
        "INSERT INTO summary_mail (year, due_at, outbox_id, queued_at) VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![year, due_at, id, chrono::Local::now().to_rfc3339()],
    )?;
    tx.commit()?;
    Ok(id)
}

/// The scheduled summary mail that is due at `now` and not yet queued: the time it answers.
/// The schedule counts from the last scheduled mail queued, or from `since` (the daemon's start)
/// when none was, so a restart does not send one at once.
pub fn scheduled_due(
    conn: &Connection,
    settings: &SummarySettings,
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> anyhow::Result<Option<NaiveDateTime>> {
    if settings.schedule().is_none() {
        return Ok(None);
    }
    let last: Option<String> = conn
        .query_row(
            "SELECT due_at FROM summary_mail WHERE due_at != 'manual' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let from = last
        .and_then(|t| NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S").ok())
        .unwrap_or(since);
    Ok(settings.next_due(from).filter(|due| *due <= now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn settings(schedule: &str) -> SummarySettings {
        SummarySettings {
            refresh_secs: 5,
            mail_schedule: Some(schedule.into()),
        }
    }

    #[test]
    fn daily_schedule_is_due_today_or_tomorrow() {
        let s = settings("daily 08:00");
        // 2026-03-04 is a Wednesday.
        assert_eq!(
            s.next_due(at("2026-03-04 07:59")),
            Some(at("2026-03-04 08:00"))
        );
        assert_eq!(
            s.next_due(at("2026-03-04 08:00")),
            Some(at("2026-03-05 08:00")),
            "strictly after"
        );
        assert_eq!(
            s.next_due(at("2026-12-31 23:00")),
            Some(at("2027-01-01 08:00"))
        );
    }

    #[test]
    fn weekly_schedule_finds_the_next_weekday() {
        let s = settings("weekly mon 08:00");
        assert_eq!(
            s.next_due(at("2026-03-04 12:00")),
            Some(at("2026-03-09 08:00"))
        );
        assert_eq!(
            s.next_due(at("2026-03-09 07:00")),
            Some(at("2026-03-09 08:00"))
        );
        assert_eq!(
            s.next_due(at("2026-03-09 08:00")),
            Some(at("2026-03-16 08:00"))
        );
        let s = settings("Weekly Friday 17:30");
        assert_eq!(
            s.next_due(at("2026-03-04 12:00")),
            Some(at("2026-03-06 17:30"))
        );
    }

    #[test]
    fn no_schedule_is_never_due() {
        assert_eq!(
            SummarySettings::default().next_due(at("2026-03-04 12:00")),
            None
        );
        assert_eq!(settings("none").next_due(at("2026-03-04 12:00")), None);
    }

    #[test]
    fn bad_schedules_name_the_key() {
        for bad in ["daily 8h", "weekly someday 08:00", "hourly", "daily 25:00"] {
            let err = format!("{:#}", settings(bad).validate().unwrap_err());
            assert!(err.starts_with("summary.mail_schedule"), "{bad}: {err}");
        }
        let err = SummarySettings {
            refresh_secs: 0,
            mail_schedule: None,
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(err.contains("summary.refresh_secs"), "{err}");
    }

    #[test]
    fn refresher_waits_for_the_interval() {
        let t0 = Instant::now();
        let mut r = Refresher::new(Duration::from_secs(5));
        assert!(!r.due(t0), "nothing changed");
        r.mark_dirty(2026);
        assert!(r.due(t0), "the first change is written at once");
        assert_eq!(r.take(t0), vec![2026]);
        assert!(!r.due(t0));
        r.mark_dirty(2026);
        r.mark_dirty(2027);
        assert!(!r.due(t0 + Duration::from_secs(4)));
        assert!(r.due(t0 + Duration::from_secs(5)));
        assert_eq!(r.take(t0 + Duration::from_secs(5)), vec![2026, 2027]);
    }

    #[test]
    fn amounts_and_percents_as_written() {
        assert_eq!(
            amount_text("1,200.50").and_then(|d| d.to_f64()),
            Some(1200.5)
        );
        assert_eq!(
            amount_text("１２００万元").and_then(|d| d.to_f64()),
            Some(1200.0)
        );
        assert_eq!(amount_text("约1200"), None);
        assert_eq!(percent_text_fraction("96.2%"), Some(0.962));
        assert_eq!(percent_text_fraction("0.962"), Some(0.962));
        assert_eq!(percent_text_fraction("96.2"), Some(0.962));
        assert_eq!(percent_text_fraction("很高"), None);
    }
}
