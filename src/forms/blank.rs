//! The blank forms written from the definitions with rust_xlsxwriter: the same labels in the same
//! cells as the standard templates, with drop-down lists, number formats, column widths and an A4
//! landscape print setup.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, Format, FormatAlign, FormatBorder, Workbook,
    Worksheet,
};

use crate::cellref::{Pos, parse_a1, parse_range};
use crate::forms::definitions::{Definitions, FormDef, FormKind};

/// The file name of a blank form: `绩效目标申报表.xlsx`.
pub(crate) fn file_name(def: &FormDef) -> String {
    format!("{}.xlsx", def.name)
}

fn in_ranges(ranges: &[String], pos: Pos) -> bool {
    ranges
        .iter()
        .filter_map(|r| parse_range(r))
        .any(|(a, b)| pos.0 >= a.0 && pos.0 <= b.0 && pos.1 >= a.1 && pos.1 <= b.1)
}

struct Formats {
    title: Format,
    year: Format,
    unit: Format,
    label: Format,
    value: Format,
    amount: Format,
    percent: Format,
    points: Format,
}

impl Formats {
    fn new() -> Formats {
        let base = Format::new()
            .set_font_name("宋体")
            .set_font_size(11)
            .set_border(FormatBorder::Thin)
            .set_text_wrap()
            .set_align(FormatAlign::VerticalCenter);
        Formats {
            title: Format::new()
                .set_font_name("宋体")
                .set_font_size(18)
                .set_bold()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            year: Format::new()
                .set_font_name("宋体")
                .set_font_size(12)
                .set_align(FormatAlign::Center),
            unit: Format::new()
                .set_font_name("宋体")
                .set_font_size(10)
                .set_align(FormatAlign::Right),
            label: base.clone().set_bold().set_align(FormatAlign::Center),
            value: base.clone().set_align(FormatAlign::Left),
            amount: base
                .clone()
                .set_num_format("#,##0.00")
                .set_align(FormatAlign::Right),
            percent: base
                .clone()
                .set_num_format("0.00%")
                .set_align(FormatAlign::Right),
            points: base.set_num_format("0.00").set_align(FormatAlign::Right),
        }
    }
}

/// Which format a cell of the template gets.
fn format_of<'f>(def: &FormDef, f: &'f Formats, pos: Pos, has_text: bool) -> &'f Format {
    let t = &def.blank;
    match pos.0 {
        0 => &f.title,
        1 => &f.year,
        2 => &f.unit,
        _ if in_ranges(&t.amounts, pos) => &f.amount,
        _ if in_ranges(&t.percents, pos) => &f.percent,
        _ if in_ranges(&t.points, pos) => &f.points,
        _ if has_text => &f.label,
        _ => &f.value,
    }
}

fn write_cell(
    ws: &mut Worksheet,
    pos: Pos,
    value: Option<&toml::Value>,
    format: &Format,
) -> anyhow::Result<()> {
    let (r, c) = (pos.0, pos.1 as u16);
    match value {
        Some(toml::Value::String(s)) => ws.write_string_with_format(r, c, s, format)?,
        Some(toml::Value::Integer(i)) => ws.write_number_with_format(r, c, *i as f64, format)?,
        Some(toml::Value::Float(x)) => ws.write_number_with_format(r, c, *x, format)?,
        _ => ws.write_blank(r, c, format)?,
    };
    Ok(())
}

fn list_values(defs: &Definitions, def: &FormDef, name: &str) -> anyhow::Result<Vec<String>> {
    let fw = &defs.framework;
    Ok(match name {
        "level1" => fw.levels.iter().map(|(l1, _)| l1.clone()).collect(),
        "level2" => fw.all_level2(),
        "likelihood" => fw.monitoring.likelihood.clone(),
        "grades" => fw.score.grades.iter().map(|g| g.grade.clone()).collect(),
        key => def
            .field(key)
            .filter(|f| !f.choices.is_empty())
            .map(|f| f.choices.clone())
            .with_context(|| format!("template list \"{key}\" names no list of choices"))?,
    })
}

/// Builds the blank form of one kind in memory.
pub fn build(defs: &Definitions, kind: FormKind) -> anyhow::Result<Workbook> {
    let def = defs.form(kind);
    let t = &def.blank;
    let f = Formats::new();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(&t.sheet)?;

    let cells: Vec<(Pos, &toml::Value)> = t
        .cells
        .iter()
        .filter_map(|(a1, v)| parse_a1(a1).map(|p| (p, v)))
        .collect();
    let value_at = |pos: Pos| cells.iter().find(|(p, _)| *p == pos).map(|(_, v)| *v);
    let last_row = cells.iter().map(|(p, _)| p.0).max().unwrap_or(0);
    let cols = t.widths.len() as u32;

    // Every cell of the form's grid gets its border and number format.
    for r in 3..=last_row {
        for c in 0..cols {
            let v = value_at((r, c));
            write_cell(ws, (r, c), v, format_of(def, &f, (r, c), v.is_some()))?;
        }
    }
    for (pos, v) in &cells {
        if pos.0 < 3 {
            write_cell(ws, *pos, Some(v), format_of(def, &f, *pos, true))?;
        }
    }
    for m in &t.merges {
        let (a, b) = parse_range(m).with_context(|| format!("merge {m}"))?;
        let v = value_at(a);
        let text = v.and_then(|v| v.as_str()).unwrap_or("");
        let format = format_of(def, &f, a, v.is_some());
        ws.merge_range(a.0, a.1 as u16, b.0, b.1 as u16, text, format)?;
        if let Some(v) = v.filter(|v| !v.is_str()) {
            write_cell(ws, a, Some(v), format)?;
        }
    }
    for (i, w) in t.widths.iter().enumerate() {
        ws.set_column_width(i as u16, *w)?;
    }
    if let Some(h) = t.title_height {
        ws.set_row_height(0, h)?;
    }
    if let Some(h) = t.goal_height {
        // The row where the overall goal is written: the goal label's row, or the row below its
        // sub-headers.
        let goal_row = cells
            .iter()
            .find(|(_, v)| v.as_str() == Some(def.goal.label.as_str()))
            .map(|(p, _)| {
                if def.goal.subheaders.is_empty() {
                    p.0
                } else {
                    p.0 + 1
                }
            });
        if let Some(r) = goal_row {
            ws.set_row_height(r, h)?;
        }
    }

    for list in &t.lists {
        let (a, b) = parse_range(&list.range).with_context(|| format!("list {}", list.range))?;
        let values = list_values(defs, def, &list.values)?;
        let dv = DataValidation::new()
            .allow_list_strings(&values)?
            .set_error_style(DataValidationErrorStyle::Stop)
            .set_error_title("请从下拉列表选择")?
            .set_error_message(format!("请选择：{}", values.join("、")))?;
        ws.add_data_validation(a.0, a.1 as u16, b.0, b.1 as u16, &dv)?;
    }

    // A4 landscape on one page width, centred, with the standard margins.
    ws.set_paper_size(9);
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, 0);
    ws.set_print_center_horizontally(true);
    ws.set_margins(0.5, 0.5, 0.6, 0.6, 0.3, 0.3);
    ws.set_print_area(0, 0, last_row, (cols - 1) as u16)?;
    Ok(wb)
}

/// Gives a department's folder of blank forms its three forms when the folder does not exist yet
/// (a new department, or a first start); an existing folder is left as the office keeps it.
/// Returns whether it wrote them.
pub(crate) fn ensure_blank_forms(defs: &Definitions, dir: &Path) -> anyhow::Result<bool> {
    // Anything already there, even a link, is the office's: nothing is written through it.
    if std::fs::symlink_metadata(dir).is_ok() {
        return Ok(false);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for kind in FormKind::ALL {
        write_blank(defs, kind, dir)?;
    }
    Ok(true)
}

/// Writes the blank form of one kind into `dir` and returns its path.
pub fn write_blank(defs: &Definitions, kind: FormKind, dir: &Path) -> anyhow::Result<PathBuf> {
    let def = defs.form(kind);
    let path = dir.join(file_name(def));
    let mut wb = build(defs, kind)?;
    wb.save(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
