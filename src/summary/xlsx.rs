//! Writing the summary workbook with rust_xlsxwriter: one pass over the year's current forms in
//! sheet order, each read once — its row to its form's sheet, its indicators to the indicator
//! sheet, its figures to the [`Tally`] — then the department, missing, overdue and notes sheets.
//! The big sheets stream to temporary files (constant-memory mode), so memory stays flat however
//! many projects there are. Text from forms is always written as a string, never as a formula.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::prelude::ToPrimitive;

use anyhow::Context;
use rusqlite::Connection;
use rust_xlsxwriter::{
    Chart, ChartType, ConditionalFormatCell, ConditionalFormatCellRule, ConditionalFormatDataBar,
    ConditionalFormatFormula, DocProperties, Format, FormatAlign, FormatBorder, Workbook,
    Worksheet,
};

use super::tally::{
    Current, DepartmentRow, Figures, Summary, Tally, fraction, kind_index, report_rate,
};
use super::{DEPARTMENT_SHEET, INDICATOR_SHEET, MISSING_SHEET, NOTES_SHEET, OVERDUE_SHEET, Scope};
use crate::departments::{self, Department};
use crate::forms::definitions::{Definitions, FormDef, FormKind, ValueType};
use crate::forms::record::total_rate;
use crate::forms::values::{amount_text, percent_text_fraction};
use crate::rules::issue::IssueCode;
use crate::rules::review::Conclusion;
use crate::store;
use crate::store::summary::{KeptFigures, Listed, ScoreFigures};
use crate::text::{normalize, parse_decimal};

/// Builds the workbook and also returns the summary it was made from.
pub(super) fn build(
    conn: &Connection,
    scope: &Scope,
    year: i32,
) -> anyhow::Result<(Summary, Vec<u8>)> {
    let defs = scope.defs;
    let now = scope.now.format("%Y-%m-%d %H:%M:%S").to_string();
    let counts =
        store::summary::counts(conn, year).context("reading the state database for the summary")?;
    let mut tally = Tally::new(scope.departments, defs, year, &counts);
    let (listed, approval) = current_in_order(conn, &tally, year)?;

    let st = Styles::new();
    let mut wb = Workbook::new();
    // Most of the time goes into compressing the sheets; a light level is much faster for a file
    // a little larger.
    wb.set_zip_compression_level(3);
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!("{year}年度预算绩效汇总表"))
            .set_author(&scope.finance.name)
            .set_comment(format!("jixiao 生成于 {now}")),
    );
    // The big sheets stream to temporary files: on disk beside the state, not in /tmp.
    if let Some(dir) = scope.temp_dir.filter(|d| d.is_dir()) {
        wb.set_tempdir(dir)?;
    }
    wb.add_worksheet().set_name(DEPARTMENT_SHEET)?;
    for kind in FormKind::ALL {
        wb.add_worksheet_with_constant_memory()?
            .set_name(&defs.form(kind).name)?;
    }
    wb.add_worksheet_with_constant_memory()?
        .set_name(INDICATOR_SHEET)?;

    // One pass over the current forms, each read once: its row on its form's sheet, its
    // indicators on the indicator sheet, its figures into the tally. A pending adjustment
    // request has its row (marked) but is not counted: the approved version is.
    {
        let sheets = wb.worksheets_mut();
        let (head, tail) = sheets.split_at_mut(1 + FormKind::ALL.len());
        let mut indicators = IndicatorWriter::new(&mut tail[0], &st, defs)?;
        let mut next = listed.iter().peekable();
        for (ws, kind) in head[1..].iter_mut().zip(FormKind::ALL) {
            let mut forms = FormWriter::new(ws, &st, defs.form(kind))?;
            while let Some(l) = next.next_if(|l| l.kind == kind) {
                let Some(c) = super::load_current(conn, l)? else {
                    continue;
                };
                let status = approval.get(&l.id).copied();
                forms.row(scope.departments, &c, status)?;
                if status.is_none_or(Approval::counted) {
                    tally.add(&c);
                    indicators.rows(scope.departments, &defs.form(kind).name, &c)?;
                }
            }
            forms.finish()?;
        }
        indicators.finish()?;
    }
    let summary = tally.finish(scope.departments, now);
    department_sheet(wb.worksheet_from_index(0)?, &st, defs, &summary)?;
    missing_sheet(&mut wb, &st, defs, &summary)?;
    overdue_sheet(&mut wb, &st, conn, scope, year)?;
    notes_sheet(&mut wb, scope, &summary)?;
    let bytes = wb
        .save_to_buffer()
        .context("writing the summary workbook")?;
    Ok((summary, bytes))
}

/// The current forms of a year in sheet order (form, then department in configuration order,
/// code, name), with each declaration's standing.
fn current_in_order(
    conn: &Connection,
    tally: &Tally,
    year: i32,
) -> anyhow::Result<(Vec<Listed>, HashMap<i64, Approval>)> {
    let mut listed = store::summary::current_forms(conn, year)?;
    listed.sort_by(|a, b| {
        let key = |l: &Listed| (kind_index(l.kind), tally.position(&l.department));
        key(a)
            .cmp(&key(b))
            .then_with(|| a.department.cmp(&b.department))
            .then_with(|| a.code.cmp(&b.code))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.id.cmp(&b.id))
    });
    with_approved_declarations(conn, year, listed)
}

/// The summary's figures alone — the same forms counted in the same order as [`build`] counts
/// them for the 部门汇总 sheet — without writing a workbook (the console's 总览).
pub(super) fn tally(conn: &Connection, scope: &Scope, year: i32) -> anyhow::Result<Summary> {
    let counts =
        store::summary::counts(conn, year).context("reading the state database for the summary")?;
    let mut tally = Tally::new(scope.departments, scope.defs, year, &counts);
    let (listed, approval) = current_in_order(conn, &tally, year)?;
    for l in &listed {
        if approval.get(&l.id).copied().is_none_or(Approval::counted)
            && let Some(f) = figures(conn, l)?
        {
            tally.count(&f);
        }
    }
    let now = scope.now.format("%Y-%m-%d %H:%M:%S").to_string();
    Ok(tally.finish(scope.departments, now))
}

/// What the summary counts of a listed form, without reading the form whole: a declaration's
/// conclusion, and a report's or self-evaluation's figures kept when it was recorded, are
/// listed with it; for a form recorded before figures were kept, SQLite picks its 资金 total row
/// or score out of the stored JSON. The same figures as [`Figures::of`] the form read whole (a
/// test compares the two); none for a form without its values, which is not counted.
fn figures<'a>(conn: &Connection, l: &'a Listed) -> anyhow::Result<Option<Figures<'a>>> {
    let kept = match &l.figures {
        Some(kept) => serde_json::from_str(kept)
            .with_context(|| format!("submission {}: kept figures", l.id))?,
        None => {
            let (values, total, score) = store::summary::figures_json(conn, l.id)
                .with_context(|| format!("submission {}: stored figures", l.id))?;
            if !values {
                return Ok(None);
            }
            KeptFigures {
                report_rate: total
                    .and_then(|j| serde_json::from_str::<BTreeMap<String, String>>(&j).ok())
                    .and_then(|t| total_rate(&t)),
                score: score.and_then(|j| serde_json::from_str::<ScoreFigures>(&j).ok()),
            }
        }
    };
    Ok(Some(Figures {
        department: &l.department,
        kind: l.kind,
        conclusion: l.conclusion,
        report_rate: kept
            .report_rate
            .filter(|_| l.kind == FormKind::PerformanceReport),
        score: kept.score.filter(|_| l.kind == FormKind::SelfEvaluation),
    }))
}

/// Where a declaration stands with the finance office, as its row on the 绩效目标申报表 sheet
/// says.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Approval {
    /// Its targets are in force.
    InForce,
    /// A later version (an adjustment request) waiting for approval; the approved one is in
    /// force meanwhile. Shown, not counted.
    Pending,
    /// A later version concluded 不通过 (or not reviewed) while approved targets are in force.
    /// Shown, not counted.
    Refused,
    /// No targets in force (a declaration concluded 修改后通过 not yet approved, or 不通过).
    NotApproved,
}

impl Approval {
    fn label(self) -> &'static str {
        match self {
            Approval::InForce => "已批复",
            Approval::Pending => "调整申请，待批复",
            Approval::Refused => "调整申请，未通过",
            Approval::NotApproved => "未批复",
        }
    }

    /// Whether the row is counted on the other sheets: a later version is not while approved
    /// targets are in force.
    fn counted(self) -> bool {
        matches!(self, Approval::InForce | Approval::NotApproved)
    }
}

/// The current forms with each declaration preceded by the version in force when that is an
/// earlier one (the later one then follows it, marked as an adjustment request); and each
/// declaration's standing.
fn with_approved_declarations(
    conn: &Connection,
    year: i32,
    listed: Vec<Listed>,
) -> anyhow::Result<(Vec<Listed>, HashMap<i64, Approval>)> {
    // Every project's standing at once, from the index of the accepted declarations.
    let projects: HashMap<String, crate::cycle::approvals::Project> =
        crate::cycle::approvals::projects(conn, Some(year), None)?
            .into_iter()
            .map(|p| (p.latest().key.as_str().to_string(), p))
            .collect();
    let mut out = Vec::with_capacity(listed.len());
    let mut approval = HashMap::new();
    for l in listed {
        let project = match &l.project_key {
            Some(k) if l.kind == FormKind::TargetDeclaration => projects.get(k),
            _ => {
                out.push(l);
                continue;
            }
        };
        let standing = project.map(|p| &p.standing);
        match standing.and_then(|s| s.in_force) {
            Some(approved) if approved == l.id => {
                approval.insert(l.id, Approval::InForce);
            }
            Some(approved) => {
                approval.insert(approved, Approval::InForce);
                let later = if standing.and_then(|s| s.pending) == Some(l.id) {
                    Approval::Pending
                } else {
                    Approval::Refused
                };
                approval.insert(l.id, later);
                let conclusion = project
                    .and_then(|p| p.declarations.iter().find(|d| d.id == approved))
                    .and_then(|d| d.conclusion);
                out.push(Listed {
                    id: approved,
                    conclusion,
                    ..l.clone()
                });
            }
            None => {
                approval.insert(l.id, Approval::NotApproved);
            }
        }
        out.push(l);
    }
    Ok((out, approval))
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

/// Text fit for a cell: characters XML forbids dropped, shortened with `…` above Excel's
/// 32,767 characters (see [`crate::util::xml_text`]).
fn clip(s: &str) -> std::borrow::Cow<'_, str> {
    crate::util::xml_text(s)
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
            ws.write_string_with_format(0, c as u16, clip(h).as_ref(), &st.header)?;
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
                self.ws.write_string(r, c, clip(s).as_ref())?;
            }
            Cell::Owned(s) => {
                self.widths[col] = self.widths[col].max(display_width(&s));
                self.ws.write_string(r, c, clip(&s).as_ref())?;
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
                headers.push(("批复状态".into(), Kind::Text));
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

    fn row(
        &mut self,
        departments: &[Department],
        c: &Current,
        approval: Option<Approval>,
    ) -> anyhow::Result<()> {
        let sh = &mut self.sh;
        let rec = &c.record;
        sh.put(
            0,
            Cell::Text(departments::name_of(departments, &c.department)),
        )?;
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
                let label = approval.map(Approval::label);
                sh.put(col + 1, label.map_or(Cell::Empty, Cell::Text))?;
                col += 2;
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

    fn rows(
        &mut self,
        departments: &[Department],
        form_name: &str,
        c: &Current,
    ) -> anyhow::Result<()> {
        let sh = &mut self.sh;
        let dept = departments::name_of(departments, &c.department);
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
    scope: &Scope,
    year: i32,
) -> anyhow::Result<()> {
    let today = scope.today;
    let overdue: Vec<crate::cycle::Owed> = crate::cycle::overdue(conn, &scope.calendar, today)?
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
        sh.put(
            0,
            Cell::Text(departments::name_of(scope.departments, &o.department)),
        )?;
        sh.put(1, Cell::Text(&o.department))?;
        sh.put(2, Cell::Text(o.form.full_name()))?;
        sh.put(3, Cell::Owned(crate::text::chinese_date(o.due)))?;
        sh.put(4, Cell::Number((today - o.due).num_days() as f64))?;
        sh.put(
            5,
            if o.projects.is_empty() {
                Cell::Text("本部门绩效目标申报表")
            } else {
                Cell::Owned(o.what())
            },
        )?;
        sh.row += 1;
    }
    sh.finish(1)?;
    Ok(())
}

fn notes_sheet(wb: &mut Workbook, scope: &Scope, s: &Summary) -> anyhow::Result<()> {
    let defs = scope.defs;
    let ws = wb.add_worksheet();
    ws.set_name(NOTES_SHEET)?;
    let bold = Format::new().set_bold();
    let lines: Vec<(String, String)> = vec![
        ("年度".into(), s.year.to_string()),
        ("生成时间".into(), s.generated_at.clone()),
        ("财政部门".into(), scope.finance.name.clone()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CheckResult;
    use crate::forms::project::ProjectKey;
    use crate::forms::record::FormRecord;
    use crate::store::submissions::{NewSubmission, Outcome};

    /// The three example forms of 农业农村厅 as checked: kind, values, result as JSON.
    fn examples() -> Vec<(FormKind, FormRecord, serde_json::Value)> {
        let checker = crate::Checker::new(Definitions::embedded(), crate::Limits::default());
        ["绩效目标申报表", "绩效运行监控表", "绩效自评表"]
            .iter()
            .map(|f| {
                let path = format!(
                    "{}/tests/fixtures/examples/农业农村厅-{f}.xlsx",
                    env!("CARGO_MANIFEST_DIR")
                );
                let c = checker.check_bytes(f, &std::fs::read(path).unwrap());
                assert!(c.result.accepted(), "{f}");
                let rec = FormRecord::from_form(c.form.as_deref().unwrap());
                let kind = c.result.form.unwrap();
                (kind, rec, serde_json::to_value(&c.result).unwrap())
            })
            .collect()
    }

    #[test]
    fn the_figures_kept_or_picked_out_by_sqlite_are_those_of_the_forms_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let cfg =
            crate::config::Config::parse(crate::config::EXAMPLE, &dir.path().join("jixiao.toml"))
                .unwrap();
        let mut conn = store::open(&cfg.database()).unwrap();
        let bases = examples();
        let tx = conn.transaction().unwrap();
        let mut approve = Vec::new();
        let conclusions = ["通过", "修改后通过", "不通过", "通过", "修改后通过", "通过"];
        for p in 0..24usize {
            let dept = ["nyt", "jyt"][p % 2];
            let code = format!("22000026{p:06}");
            let key = ProjectKey::new(Some(2026), dept, &code);
            let conclusion = conclusions[p % conclusions.len()];
            // Two versions of some declarations: a later one while the first is in force.
            let versions = if p % 5 == 0 { 2 } else { 1 };
            for (k, (kind, base, result)) in bases.iter().enumerate() {
                if k > 0 && (conclusion == "不通过" || p % 7 == 3) {
                    continue;
                }
                for v in 0..(if k == 0 { versions } else { 1 }) {
                    let mut rec = base.clone();
                    if let Some(total) = rec.funds.get_mut("total") {
                        total.insert("budget".into(), format!("{}", 100 + p * 37));
                        total.insert("spent".into(), format!("{}.25", 30 + p * 11));
                    }
                    let mut result = result.clone();
                    if let Some(score) = result.get_mut("score").filter(|s| s.is_object()) {
                        score["computed"] = (55.0 + p as f64 * 1.7 + 0.01).into();
                        score["execution_rate"] = (60.0 + p as f64 * 1.3).into();
                        score["grade"] = ["优", "良", "中", "差"][p % 4].into();
                    }
                    if let Some(review) = result.get_mut("review").filter(|r| r.is_object()) {
                        review["conclusion"] = if v == 1 { "不通过" } else { conclusion }.into();
                    }
                    let result: CheckResult = serde_json::from_value(result).unwrap();
                    let sha = format!("{p}-{k}-{v}");
                    store::submissions::record(
                        &tx,
                        &NewSubmission {
                            department: dept,
                            inbox_path: "a.xlsx",
                            file_name: "a.xlsx",
                            sha256: &sha,
                            size: 1,
                            received_at: "2026-03-01T10:00:00.000+08:00",
                            outcome: Outcome::Accepted,
                            form: Some(*kind),
                            year: Some(2026),
                            project_key: Some(&key),
                            project_code: Some(&code),
                            project_name: Some(&code),
                            result: Some(&result),
                            record: Some(&rec),
                            duplicate_of: None,
                            archive_path: "x",
                        },
                    )
                    .unwrap();
                }
            }
            if conclusion == "修改后通过" && p % 2 == 0 {
                approve.push(key);
            }
        }
        tx.commit().unwrap();
        for key in &approve {
            let done =
                crate::cycle::approvals::approve(&conn, key, None, "command", None, "t").unwrap();
            assert!(done.is_ok());
        }
        let defs = Definitions::embedded();
        let scope = cfg.summary_scope(&defs, &crate::runtime::SystemClock::default());
        let (whole, _) = build(&conn, &scope, 2026).unwrap();
        // The figures kept when the forms were recorded.
        let kept: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM submissions WHERE figures IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(kept, 63, "every accepted form");
        assert_eq!(tally(&conn, &scope, 2026).unwrap(), whole);
        // Forms recorded before figures were kept: picked out of their stored JSON.
        conn.execute("UPDATE submissions SET figures = NULL WHERE id % 2 = 0", [])
            .unwrap();
        assert_eq!(tally(&conn, &scope, 2026).unwrap(), whole);
        // Not trivially: every kind of figure was counted.
        let t = &whole.total;
        assert!(
            t.not_passed > 0 && t.report_rated > 0 && t.scored > 0,
            "{t:?}"
        );
        assert!(t.grades.iter().filter(|g| **g > 0).count() >= 3, "{t:?}");
    }

    #[test]
    fn cell_text_drops_forbidden_characters_and_ends_long_text_with_an_ellipsis() {
        assert_eq!(clip("项目\u{1}名称\u{fffe}\u{ffff}\u{b}"), "项目名称");
        let long = "名".repeat(40_000);
        let short = clip(&long);
        assert_eq!(short.encode_utf16().count(), 32_767);
        assert!(short.ends_with('…'));
    }
}
