//! The annotated workbook that goes back with a return notice: the department's form written
//! again from its definition (the blank template of [`crate::forms::blank::build`]) with the
//! department's values in it, every cell with an error filled red and carrying a note that says
//! what is wrong and what to do. The clerk corrects this file and sends it back.
//!
//! Values are placed by meaning, not by address: a field goes to the template's cell of that
//! field, a fund amount to the template's cell of that row and column, the n-th indicator row to
//! the template's n-th indicator row. A department's file with rows inserted above the title thus
//! comes back in the standard layout; each note names the cell of the department's own file too.

use std::collections::HashMap;

use anyhow::Context;
use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Note, Worksheet};

use crate::cellref::{Pos, a1, parse_a1};
use crate::forms::definitions::{Definitions, FormDef};
use crate::forms::read::{Located, RawForm, Slot, locate_in_sheet, split_period};
use crate::rules::issue::Issue;
use crate::text::normalize;
use crate::workbook::{Cell, Sheet, Value};

/// The fill of an error cell (Excel's "light red fill") and its text colour.
pub(crate) const ERROR_FILL: u32 = 0xFFC7CE;
pub(crate) const ERROR_TEXT: u32 = 0x9C0006;
const NOTE_AUTHOR: &str = "财政部门审核";

/// Where the blank template keeps each place of the form.
struct Layout {
    form: RawForm,
    /// Column of each indicator column key.
    columns: HashMap<String, u32>,
    first_row: u32,
    /// The first row after the indicator rows (the 总分/填表人 row, or after the last row).
    end_row: u32,
    last_row: u32,
}

fn layout(defs: &Definitions, def: &FormDef) -> anyhow::Result<Layout> {
    // The blank form as the reader would see it once written: its cells and merged ranges.
    let mut sheet = Sheet::new(
        &def.blank.sheet,
        def.blank
            .cells
            .iter()
            .filter_map(|(a1, v)| {
                let pos = parse_a1(a1)?;
                let value = match v {
                    toml::Value::String(t) => Value::Text(t.clone()),
                    toml::Value::Integer(i) => Value::Number {
                        v: *i as f64,
                        percent: false,
                    },
                    toml::Value::Float(x) => Value::Number {
                        v: *x,
                        percent: false,
                    },
                    _ => return None,
                };
                let norm = match &value {
                    Value::Text(t) => normalize(t),
                    _ => String::new(),
                };
                Some(Cell { pos, value, norm })
            })
            .collect(),
    );
    sheet.merges = def
        .blank
        .merges
        .iter()
        .filter_map(|m| crate::cellref::parse_range(m))
        .collect();
    sheet.has_merge_info = true;
    let form = match locate_in_sheet(&sheet, defs) {
        Located::Form(f) => *f,
        Located::NotAForm => anyhow::bail!("the blank {} carries no title", def.name),
    };
    let cells: Vec<(Pos, String)> = def
        .blank
        .cells
        .iter()
        .filter_map(|(k, v)| Some((parse_a1(k)?, normalize(v.as_str()?))))
        .collect();
    let header_row = form
        .indicator_header
        .map(|p| p.0)
        .context("the blank form has no indicator table")?;
    let mut columns = HashMap::new();
    for col in &def.indicators.columns {
        let labels = col.normalized_labels();
        let found = cells.iter().find(|(p, text)| {
            p.0 == header_row
                && (labels.contains(text)
                    || (col.period
                        && split_period(text)
                            .is_some_and(|(_, rest)| labels.iter().any(|l| l.as_str() == rest))))
        });
        if let Some((p, _)) = found {
            columns.insert(col.key.clone(), p.1);
        }
    }
    let ends: Vec<String> = def
        .indicators
        .end_labels
        .iter()
        .map(|l| normalize(l))
        .collect();
    let last_row = cells.iter().map(|(p, _)| p.0).max().unwrap_or(header_row);
    let end_row = cells
        .iter()
        .filter(|(p, t)| p.0 > header_row && ends.contains(t))
        .map(|(p, _)| p.0)
        .min()
        .unwrap_or(last_row + 1);
    Ok(Layout {
        form,
        columns,
        first_row: header_row + 1,
        end_row,
        last_row,
    })
}

struct Formats {
    text: Format,
    number: Format,
    percent: Format,
}

impl Formats {
    fn new(error: bool) -> Formats {
        let mut base = Format::new()
            .set_font_name("宋体")
            .set_font_size(11)
            .set_border(FormatBorder::Thin)
            .set_text_wrap()
            .set_align(FormatAlign::VerticalCenter);
        if error {
            base = base
                .set_background_color(Color::RGB(ERROR_FILL))
                .set_font_color(Color::RGB(ERROR_TEXT))
                .set_bold();
        }
        Formats {
            text: base.clone().set_align(FormatAlign::Left),
            number: base.clone().set_num_format("0.####"),
            percent: base.set_num_format("0.00%"),
        }
    }
}

fn write_value(ws: &mut Worksheet, pos: Pos, value: &Value, f: &Formats) -> anyhow::Result<()> {
    let (r, c) = (pos.0, pos.1 as u16);
    match value {
        Value::Empty => ws.write_blank(r, c, &f.text)?,
        Value::Text(t) => ws.write_string_with_format(r, c, t, &f.text)?,
        Value::Number { v, percent: true } => ws.write_number_with_format(r, c, *v, &f.percent)?,
        Value::Number { v, .. } => ws.write_number_with_format(r, c, *v, &f.number)?,
        Value::Bool(b) => ws.write_boolean_with_format(r, c, *b, &f.text)?,
        Value::Error(e) => ws.write_string_with_format(r, c, e, &f.text)?,
    };
    Ok(())
}

/// Every place of the department's form with the template's cell for it.
fn placements(form: &RawForm, lay: &Layout) -> Vec<(Slot, Pos)> {
    let mut out: Vec<(Slot, Pos)> = Vec::new();
    let mut pair = |dept: &Slot, tpl: Option<Pos>| {
        if let (Some(_), Some(t)) = (dept.cell, tpl) {
            out.push((dept.clone(), t));
        }
    };
    for (key, slot) in &form.fields {
        pair(slot, lay.form.field(key).cell);
    }
    for (key, slot) in &form.goal {
        pair(slot, lay.form.goal.get(key).and_then(|s| s.cell));
    }
    for ((row, col), slot) in &form.funds {
        pair(slot, lay.form.fund(row, col).cell);
    }
    pair(&form.total_weight, lay.form.total_weight.cell);
    pair(&form.total_score, lay.form.total_score.cell);
    pair(&form.grade, lay.form.grade.cell);
    let capacity = lay.end_row.saturating_sub(lay.first_row) as usize;
    for (i, row) in form.indicators.iter().enumerate() {
        // Rows beyond the template's table continue below the form.
        let r = if i < capacity {
            lay.first_row + i as u32
        } else {
            lay.last_row + 2 + (i - capacity) as u32
        };
        for (key, slot) in &row.cells {
            pair(slot, lay.columns.get(key).map(|c| (r, *c)));
        }
    }
    out
}

/// Writes the annotated workbook of a returned form.
pub(crate) fn write(
    defs: &Definitions,
    form: &RawForm,
    errors: &[Issue],
) -> anyhow::Result<Vec<u8>> {
    let def = defs.form(form.kind);
    let lay = layout(defs, def)?;
    let mut wb = crate::forms::blank::build(defs, form.kind)?;
    let ws = wb.worksheet_from_index(0)?;
    let plain = Formats::new(false);
    let red = Formats::new(true);
    let places = placements(form, &lay);
    let mut by_dept: HashMap<Pos, Pos> = places
        .iter()
        .filter_map(|(s, t)| s.cell.map(|c| (c, *t)))
        .collect();
    by_dept.insert(form.year.cell, lay.form.year.cell);
    if form.indicators.len() > lay.end_row.saturating_sub(lay.first_row) as usize {
        ws.write_string(lay.last_row + 1, 0, "（续表：绩效指标）")?;
    }

    // Errors by the template cell they belong to; those without a cell go on the title.
    let mut notes: HashMap<Pos, Vec<String>> = HashMap::new();
    for e in errors {
        let dept = e.cell.as_deref().and_then(parse_a1);
        let at = dept.and_then(|d| by_dept.get(&d).copied());
        let text = match (&e.cell, at) {
            (Some(c), Some(t)) if a1(t) != *c => {
                format!("{}（原表{}）：{}", e.field, c, e.message)
            }
            (Some(c), None) => format!("{}（原表{}）：{}", e.field, c, e.message),
            _ => format!("{}：{}", e.field, e.message),
        };
        notes
            .entry(at.unwrap_or(lay.form.title))
            .or_default()
            .push(text);
    }

    if let Some(year) = form.year.year {
        let f = if notes.contains_key(&lay.form.year.cell) {
            &red
        } else {
            &plain
        };
        let cell = lay.form.year.cell;
        ws.write_string_with_format(cell.0, cell.1 as u16, format!("（{year}年度）"), &f.text)?;
    }
    for (slot, at) in &places {
        let f = if notes.contains_key(at) { &red } else { &plain };
        write_value(ws, *at, &slot.value, f)?;
    }
    for (at, texts) in &notes {
        if !places.iter().any(|(_, p)| p == at) && *at != lay.form.year.cell {
            // An error cell the department left empty, or the title for file-wide errors.
            if *at != lay.form.title {
                ws.write_blank(at.0, at.1 as u16, &red.text)?;
            }
        }
        let note = Note::new(texts.join("\n"))
            .set_author(NOTE_AUTHOR)
            .set_width(320)
            .set_height(40 + 40 * texts.len() as u32);
        ws.insert_note(at.0, at.1 as u16, &note)?;
    }
    Ok(wb.save_to_buffer()?)
}
