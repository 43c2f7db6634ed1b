//! Finding a form in a workbook by its label texts, the way a clerk reads it: the title, the
//! single fields, the fund block, the target block and the indicator table, wherever rows and
//! columns have moved. The result is a [`RawForm`]: every value with the cell it came from, not
//! yet judged.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::cellref::Pos;
use crate::forms::definitions::{Definitions, FormDef, FormKind, Labelled};
use crate::text::{is_placeholder, normalize};
use crate::workbook::{OpenError, Sheet, Value, Workbook};

/// A value and the cell it was read from. `cell` is `None` when the label was not found at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    pub(crate) cell: Option<Pos>,
    pub(crate) value: Value,
    /// The normalised text of the value, computed once (rules look at it many times).
    norm: String,
}

impl Slot {
    pub(crate) fn new(cell: Option<Pos>, value: Value) -> Slot {
        let norm = match &value {
            Value::Empty => String::new(),
            Value::Text(t) => normalize(t),
            Value::Number { v, .. } => format!("{v}"),
            Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Value::Error(e) => normalize(e),
        };
        Slot { cell, value, norm }
    }

    pub(crate) fn absent() -> Slot {
        Slot::new(None, Value::Empty)
    }

    fn at(sheet: &Sheet, pos: Pos) -> Slot {
        match sheet.get(pos) {
            Some(c) if matches!(c.value, Value::Text(_)) => Slot {
                cell: Some(pos),
                value: c.value.clone(),
                norm: c.norm.clone(),
            },
            Some(c) => Slot::new(Some(pos), c.value.clone()),
            None => Slot::new(Some(pos), Value::Empty),
        }
    }

    /// The same value, read at another cell (a 一级/二级 carried down).
    fn moved(&self, cell: Option<Pos>) -> Slot {
        Slot {
            cell,
            value: self.value.clone(),
            norm: self.norm.clone(),
        }
    }

    /// True for an empty cell or a placeholder such as `—`.
    pub(crate) fn is_empty(&self) -> bool {
        match &self.value {
            Value::Empty => true,
            Value::Text(_) => is_placeholder(&self.norm),
            _ => false,
        }
    }

    /// The value as text: numbers in their shortest form (`22000026000101`, `1132.6`).
    pub fn text(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        match &self.value {
            Value::Empty => None,
            Value::Text(t) => Some(t.trim().to_string()),
            Value::Number { v, .. } => Some(format!("{v}")),
            Value::Bool(b) => Some(if *b { "TRUE" } else { "FALSE" }.to_string()),
            Value::Error(e) => Some(e.clone()),
        }
    }

    /// The normalised text (see [`normalize`]); empty for an empty cell or a placeholder.
    pub(crate) fn norm(&self) -> String {
        if self.is_empty() {
            String::new()
        } else {
            self.norm.clone()
        }
    }
}

/// The year line under the title: `（2026年度）`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct YearLine {
    /// The line's cell, or the cell below the title when the line is gone.
    pub(crate) cell: Pos,
    pub(crate) found: bool,
    pub(crate) year: Option<i32>,
}

/// A column header that carries the monitoring period (`1-7月执行数`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PeriodHeader {
    pub(crate) cell: Pos,
    pub(crate) label: String,
    pub(crate) end_month: u32,
}

/// One row of the indicator table. `cells` holds every column by its key; `level1` and `level2`
/// include values carried down from the rows above.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndicatorRow {
    pub(crate) cells: HashMap<String, Slot>,
}

impl IndicatorRow {
    pub fn get(&self, key: &str) -> Slot {
        self.cells.get(key).cloned().unwrap_or_else(Slot::absent)
    }
}

/// A form located in a workbook, values still raw. Serialisable whole, so that a form read in a
/// worker process (see `crate::worker`) comes back as read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RawForm {
    pub kind: FormKind,
    pub(crate) sheet: String,
    pub(crate) title: Pos,
    pub(crate) year: YearLine,
    pub(crate) fields: HashMap<String, Slot>,
    /// Declaration: key `value`; other forms: the sub-header keys (`planned`, `actual`).
    pub(crate) goal: HashMap<String, Slot>,
    /// The fund block by (row key, column key).
    #[serde(with = "pairs")]
    pub(crate) funds: HashMap<(String, String), Slot>,
    pub(crate) period_headers: Vec<PeriodHeader>,
    /// The 一级指标 header cell, when the table was found.
    pub(crate) indicator_header: Option<Pos>,
    pub indicators: Vec<IndicatorRow>,
    /// Self-evaluation: the 总分 row's 分值 and 得分, and the claimed grade.
    pub(crate) total_weight: Slot,
    pub(crate) total_score: Slot,
    pub(crate) grade: Slot,
}

impl RawForm {
    pub(crate) fn field(&self, key: &str) -> Slot {
        self.fields.get(key).cloned().unwrap_or_else(Slot::absent)
    }

    pub fn fund(&self, row: &str, col: &str) -> Slot {
        self.funds
            .get(&(row.to_string(), col.to_string()))
            .cloned()
            .unwrap_or_else(Slot::absent)
    }
}

/// A map keyed by pairs, serialised as a list of entries (JSON keys are strings only).
mod pairs {
    use std::collections::HashMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    type Map<V> = HashMap<(String, String), V>;

    pub(super) fn serialize<V: Serialize, S: Serializer>(
        map: &Map<V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub(super) fn deserialize<'de, V: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Map<V>, D::Error> {
        Ok(Vec::<((String, String), V)>::deserialize(d)?
            .into_iter()
            .collect())
    }
}

/// What was found in a workbook.
#[derive(Debug)]
pub(crate) enum Located {
    Form(Box<RawForm>),
    /// No sheet carries the title of a known form.
    NotAForm,
}

/// Finds the first sheet carrying a known title and reads the form on it.
pub(crate) fn locate(wb: &mut Workbook, defs: &Definitions) -> Result<Located, OpenError> {
    let titles: Vec<(String, FormKind)> = defs
        .forms
        .iter()
        .flat_map(|f| f.titles.iter().map(move |t| (normalize(t), f.kind())))
        .collect();
    let names: Vec<String> = wb.sheet_names().to_vec();
    for name in names {
        let mut sheet = wb.load_sheet(&name)?;
        if find_title(&sheet, &titles).is_some() {
            wb.load_merges(&mut sheet)?;
            return Ok(locate_in_sheet(&sheet, defs));
        }
    }
    Ok(Located::NotAForm)
}

fn find_title(sheet: &Sheet, titles: &[(String, FormKind)]) -> Option<(Pos, FormKind)> {
    sheet.cells.iter().find_map(|c| {
        titles
            .iter()
            .find(|(t, _)| !c.norm.is_empty() && *t == c.norm)
            .map(|(_, k)| (c.pos, *k))
    })
}

/// Reads the form on one loaded sheet (merged ranges included), if it carries a known title.
pub(crate) fn locate_in_sheet(sheet: &Sheet, defs: &Definitions) -> Located {
    let titles: Vec<(String, FormKind)> = defs
        .forms
        .iter()
        .flat_map(|f| f.titles.iter().map(move |t| (normalize(t), f.kind())))
        .collect();
    match find_title(sheet, &titles) {
        Some((title, kind)) => Located::Form(Box::new(read_form(sheet, defs.form(kind), title))),
        None => Located::NotAForm,
    }
}

/// Strips a leading monitoring period (`1-7月`, `1至7月`) from a normalised header and returns
/// the rest with the end month.
pub(crate) fn split_period(norm: &str) -> Option<(u32, &str)> {
    let digits_end = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let a = digits_end(norm);
    if a == 0 || a > 2 {
        return None;
    }
    let rest = &norm[a..];
    let sep = rest.chars().next()?;
    if !matches!(sep, '-' | '~' | '至' | '—' | '–' | '到') {
        return None;
    }
    let rest = &rest[sep.len_utf8()..];
    let b = digits_end(rest);
    if b == 0 || b > 2 {
        return None;
    }
    let end: u32 = rest[..b].parse().ok()?;
    let rest = rest[b..].strip_prefix('月')?;
    Some((end, rest))
}

/// Whether a normalised header matches a column, and the period it carries.
fn match_header(norm: &str, col: &Labelled, labels: &[String]) -> Option<Option<u32>> {
    if labels.iter().any(|l| l == norm) {
        return Some(None);
    }
    if col.period
        && let Some((end, rest)) = split_period(norm)
        && labels.iter().any(|l| l == rest)
    {
        return Some(Some(end));
    }
    None
}

struct Ctx<'a> {
    sheet: &'a Sheet,
    /// Normalised text → positions, in row-major order.
    index: HashMap<&'a str, Vec<Pos>>,
    known_labels: &'a [String],
}

impl<'a> Ctx<'a> {
    fn find(&self, labels: &[String], from_row: u32) -> Option<Pos> {
        labels
            .iter()
            .filter_map(|l| {
                self.index
                    .get(l.as_str())
                    .and_then(|v| v.iter().copied().find(|p| p.0 >= from_row))
            })
            .min()
    }

    /// The value of a single field: the first cell right of the label's merged range; without
    /// merge information, the next non-empty cell that is not another known label.
    fn right_of(&self, label: Pos) -> Slot {
        let sheet = self.sheet;
        if sheet.has_merge_info {
            let end_col = sheet.merge_from(label).map(|m| m.1.1).unwrap_or(label.1);
            return Slot::at(sheet, (label.0, end_col.saturating_add(1)));
        }
        let next = sheet.row(label.0).iter().find(|c| c.pos.1 > label.1);
        match next {
            Some(c) if !self.known_labels.contains(&c.norm) => Slot::at(sheet, c.pos),
            _ => Slot::new(Some((label.0, label.1.saturating_add(1))), Value::Empty),
        }
    }
}

fn read_form(sheet: &Sheet, def: &FormDef, title: Pos) -> RawForm {
    let mut index: HashMap<&str, Vec<Pos>> = HashMap::new();
    for c in &sheet.cells {
        if !c.norm.is_empty() {
            index.entry(c.norm.as_str()).or_default().push(c.pos);
        }
    }
    let ctx = Ctx {
        sheet,
        index,
        known_labels: def.all_labels(),
    };
    let start = title.0;

    let mut fields = HashMap::new();
    for f in &def.fields {
        let slot = match ctx.find(f.normalized_labels(), start) {
            Some(pos) => ctx.right_of(pos),
            None => Slot::absent(),
        };
        fields.insert(f.key.clone(), slot);
    }

    let mut period_headers = Vec::new();
    let mut goal = HashMap::new();
    if let Some(label) = ctx.find(&[normalize(&def.goal.label)], start) {
        if def.goal.subheaders.is_empty() {
            goal.insert("value".to_string(), ctx.right_of(label));
        } else {
            for sub in &def.goal.subheaders {
                let labels = sub.normalized_labels();
                let hit = sheet
                    .row(label.0)
                    .iter()
                    .filter(|c| c.pos.1 > label.1)
                    .find_map(|c| match_header(&c.norm, sub, labels).map(|p| (c, p)));
                if let Some((c, period)) = hit {
                    if let Some(end_month) = period {
                        period_headers.push(PeriodHeader {
                            cell: c.pos,
                            label: sub.label.clone(),
                            end_month,
                        });
                    }
                    goal.insert(
                        sub.key.clone(),
                        Slot::at(sheet, (c.pos.0.saturating_add(1), c.pos.1)),
                    );
                }
            }
        }
    }

    let mut funds = HashMap::new();
    if let Some(fd) = &def.funds {
        let first = &fd.columns[0];
        if let Some(header) = ctx.find(first.normalized_labels(), start) {
            let header_row = sheet.row(header.0);
            let mut cols: Vec<(&str, u32)> = Vec::new();
            for col in &fd.columns {
                let labels = col.normalized_labels();
                if let Some((c, period)) = header_row
                    .iter()
                    .find_map(|c| match_header(&c.norm, col, labels).map(|p| (c, p)))
                {
                    if let Some(end_month) = period {
                        period_headers.push(PeriodHeader {
                            cell: c.pos,
                            label: col.label.clone(),
                            end_month,
                        });
                    }
                    cols.push((col.key.as_str(), c.pos.1));
                }
            }
            for row in &fd.rows {
                if let Some(label) = ctx.find(row.normalized_labels(), header.0.saturating_add(1)) {
                    for (key, col) in &cols {
                        funds.insert(
                            (row.key.clone(), key.to_string()),
                            Slot::at(sheet, (label.0, *col)),
                        );
                    }
                }
            }
        }
    }

    let (indicator_header, indicators) = read_indicators(&ctx, def, start, &mut period_headers);

    let mut total_weight = Slot::absent();
    let mut total_score = Slot::absent();
    let mut grade = Slot::absent();
    if let (Some(summary), Some(header)) = (&def.summary, indicator_header) {
        let header_cols = header_columns(sheet, def, header);
        if let Some(total) = ctx.find(
            &[normalize(&summary.total_label)],
            header.0.saturating_add(1),
        ) {
            if let Some(c) = header_cols.get("weight") {
                total_weight = Slot::at(sheet, (total.0, *c));
            }
            if let Some(c) = header_cols.get("score") {
                total_score = Slot::at(sheet, (total.0, *c));
            }
        }
        if let Some(g) = ctx.find(
            &[normalize(&summary.grade_label)],
            header.0.saturating_add(1),
        ) {
            grade = ctx.right_of(g);
        }
    }

    RawForm {
        kind: def.kind(),
        sheet: sheet.name.clone(),
        title,
        year: read_year(sheet, title, &ctx),
        fields,
        goal,
        funds,
        period_headers,
        indicator_header,
        indicators,
        total_weight,
        total_score,
        grade,
    }
}

fn read_year(sheet: &Sheet, title: Pos, ctx: &Ctx) -> YearLine {
    // The two rows below the title, as far as there are rows.
    for row in (1..=2).filter_map(|d| title.0.checked_add(d)) {
        for c in sheet.row(row) {
            if ctx.known_labels.contains(&c.norm) {
                continue;
            }
            let inner = c
                .norm
                .trim_start_matches(['(', '['])
                .trim_end_matches([')', ']']);
            if let Some(prefix) = inner
                .strip_suffix("年度")
                .or_else(|| inner.strip_suffix('年'))
            {
                let year = prefix
                    .parse::<i32>()
                    .ok()
                    .filter(|y| (2000..=2100).contains(y));
                if prefix.is_empty() || prefix.chars().all(|ch| ch.is_ascii_digit()) {
                    return YearLine {
                        cell: c.pos,
                        found: true,
                        year,
                    };
                }
            }
        }
    }
    YearLine {
        cell: (title.0.saturating_add(1), title.1),
        found: false,
        year: None,
    }
}

/// Column of each indicator header on the header row, by column key.
fn header_columns(sheet: &Sheet, def: &FormDef, header: Pos) -> HashMap<String, u32> {
    let mut out = HashMap::new();
    let row = sheet.row(header.0);
    for col in &def.indicators.columns {
        let labels = col.normalized_labels();
        if let Some(c) = row
            .iter()
            .filter(|c| c.pos.1 >= header.1)
            .find(|c| match_header(&c.norm, col, labels).is_some())
        {
            out.insert(col.key.clone(), c.pos.1);
        }
    }
    out
}

fn read_indicators(
    ctx: &Ctx,
    def: &FormDef,
    start: u32,
    period_headers: &mut Vec<PeriodHeader>,
) -> (Option<Pos>, Vec<IndicatorRow>) {
    let sheet = ctx.sheet;
    let cols = &def.indicators.columns;
    let level1_labels = cols[0].normalized_labels();
    let level2_labels = cols
        .iter()
        .find(|c| c.key == "level2")
        .map(|c| c.normalized_labels())
        .unwrap_or_default();
    // The header row: a 一级指标 cell with 二级指标 further along the same row.
    let header = level1_labels
        .iter()
        .filter_map(|l| ctx.index.get(l.as_str()))
        .flatten()
        .copied()
        .filter(|p| p.0 >= start)
        .filter(|p| {
            sheet
                .row(p.0)
                .iter()
                .any(|c| c.pos.1 > p.1 && level2_labels.contains(&c.norm))
        })
        .min();
    let Some(header) = header else {
        return (None, Vec::new());
    };
    let header_cols = header_columns(sheet, def, header);
    for col in cols.iter().filter(|c| c.period) {
        let labels = col.normalized_labels();
        for c in sheet.row(header.0) {
            if let Some(Some(end_month)) = match_header(&c.norm, col, labels) {
                period_headers.push(PeriodHeader {
                    cell: c.pos,
                    label: col.label.clone(),
                    end_month,
                });
            }
        }
    }
    // The table spans from the 一级指标 column to the end of the last header (merges included).
    let last_col = sheet
        .row(header.0)
        .iter()
        .filter(|c| c.pos.1 >= header.1)
        .map(|c| sheet.merge_from(c.pos).map(|m| m.1.1).unwrap_or(c.pos.1))
        .max()
        .unwrap_or(header.1);
    let level2_col = header_cols.get("level2").copied();
    let end_labels: Vec<String> = def
        .indicators
        .end_labels
        .iter()
        .map(|l| normalize(l))
        .collect();

    let mut rows = Vec::new();
    let mut carried1 = Slot::absent();
    let mut carried2 = Slot::absent();
    // The rows below the header that hold a cell, however far apart their numbers are.
    let below = sheet.cells.partition_point(|c| c.pos.0 <= header.0);
    for cells in sheet.cells[below..].chunk_by(|a, b| a.pos.0 == b.pos.0) {
        let r = cells[0].pos.0;
        if let Some(first) = cells.first()
            && (end_labels.contains(&first.norm)
                || end_labels.iter().any(|l| {
                    first
                        .norm
                        .strip_prefix(l.as_str())
                        .is_some_and(|rest| rest.starts_with(':'))
                }))
        {
            break;
        }
        let in_table: Vec<_> = cells
            .iter()
            .filter(|c| c.pos.1 >= header.1 && c.pos.1 <= last_col)
            .collect();
        if in_table.is_empty() {
            continue; // a blank row
        }
        // An unused template row: only the printed 一级/二级, nothing right of 二级. It holds no
        // indicator, but its 一级/二级 still carry down to the rows below (the top cell of a
        // merged group may be the unused row).
        let unused = level2_col.is_some_and(|l2| in_table.iter().all(|c| c.pos.1 <= l2));
        let mut map = HashMap::new();
        for (key, col) in &header_cols {
            map.insert(key.clone(), Slot::at(sheet, (r, *col)));
        }
        let l1 = map.get("level1").cloned().unwrap_or_else(Slot::absent);
        if l1.is_empty() {
            if carried1.cell.is_some() {
                // keep the cell of this row so errors point where the department looks
                map.insert("level1".to_string(), carried1.moved(l1.cell));
            }
        } else {
            if l1.norm() != carried1.norm() {
                carried2 = Slot::absent();
            }
            carried1 = l1;
        }
        let l2 = map.get("level2").cloned().unwrap_or_else(Slot::absent);
        if l2.is_empty() {
            if carried2.cell.is_some() {
                map.insert("level2".to_string(), carried2.moved(l2.cell));
            }
        } else {
            carried2 = l2;
        }
        if !unused {
            rows.push(IndicatorRow { cells: map });
        }
    }
    (Some(header), rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        assert_eq!(split_period("1-7月执行数"), Some((7, "执行数")));
        assert_eq!(split_period("1至12月执行情况"), Some((12, "执行情况")));
        assert_eq!(split_period("全年预计执行数"), None);
        assert_eq!(split_period("1-7执行数"), None);
    }
}
