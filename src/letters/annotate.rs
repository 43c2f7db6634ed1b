//! The annotated workbook that goes back with a return notice: the department's **own** file
//! with nothing changed but the marks — every cell in error filled red and carrying a comment
//! (批注) that says what is wrong and what to do, at the very address the letter names.
//!
//! - An `.xlsx` is marked in place (`xlsx_marks`): its values, merged cells, widths, other
//!   sheets and every part jixiao does not know stay byte for byte as the department sent them.
//! - An `.xls` or `.ods` cannot be marked in place: the copy is an `.xlsx` holding every sheet with
//!   every value at its original address, the original merged ranges and, where the reader knows
//!   it, the number format (a percent stays a percent, a date a date), then marked the same way.
//!
//! An `.xlsx` the package editor cannot take (a part it finds malformed) is copied like an `.xls`.
//!
//! A problem of the whole file (no form identified) gets no annotated workbook; a problem of a
//! form that names no cell is noted on the form's title, which is not filled.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Context;
use rust_xlsxwriter::{Format, Workbook as XlsxBook};

use super::xlsx_marks::{Mark, mark};
use crate::cellref::{Pos, parse_a1};
use crate::forms::read::RawForm;
use crate::rules::issue::Issue;
use crate::util::xml_text;
use crate::workbook::{Limits, Value, Workbook};

/// The marks of a form's errors, by sheet: one per error, at the cell the letter names.
fn marks(form: &RawForm, errors: &[Issue]) -> BTreeMap<String, Vec<Mark>> {
    let mut out: BTreeMap<String, Vec<Mark>> = BTreeMap::new();
    for e in errors {
        let sheet = e.sheet.clone().unwrap_or_else(|| form.sheet.clone());
        let cell = e.cell.as_deref().and_then(parse_a1);
        out.entry(sheet).or_default().push(Mark {
            pos: cell.unwrap_or(form.title),
            text: format!("{}：{}", e.field, e.message),
            fill: cell.is_some(),
        });
    }
    out
}

/// Whether the bytes are an `.xlsx` package (a zip holding `xl/workbook.xml`).
fn is_xlsx(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
        && zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .is_ok_and(|a| a.index_for_name("xl/workbook.xml").is_some())
}

/// Writes the annotated workbook of a returned form from the department's file `original`.
pub(crate) fn write(form: &RawForm, errors: &[Issue], original: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut marks = marks(form, errors);
    if is_xlsx(original) {
        match mark(original, &marks) {
            Ok(bytes) => return Ok(bytes),
            // A package the reader took but the editor cannot (a part it finds malformed, no
            // [Content_Types].xml): the department still gets its values at their addresses.
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "cannot mark the .xlsx in place; marking a copy")
            }
        }
    }
    let (copy, renamed) = copy_as_xlsx(original).context("copying the workbook as .xlsx")?;
    for (from, to) in renamed {
        if let Some(m) = marks.remove(&from) {
            marks.insert(to, m);
        }
    }
    mark(&copy, &marks)
}

/// How wide a text shows: CJK and other wide characters count twice.
fn display_width(s: &str) -> usize {
    s.lines()
        .map(|l| {
            l.chars()
                .map(|c| if (c as u32) < 0x1100 { 1 } else { 2 })
                .sum::<usize>()
        })
        .max()
        .unwrap_or(0)
}

/// Sheets renamed in a copy: old name, new name.
type Renamed = Vec<(String, String)>;

/// A sheet name Excel accepts for `name` (the `i`-th sheet): an `.ods` allows names Excel does
/// not (longer than 31 characters, with `[]:*?/\`).
fn xlsx_sheet_name(name: &str, i: usize, used: &HashSet<String>) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    let cleaned = cleaned.trim_matches('\'').to_string();
    let taken = |n: &str| used.iter().any(|u| u.to_lowercase() == n.to_lowercase());
    if cleaned.is_empty() || cleaned.eq_ignore_ascii_case("History") || taken(&cleaned) {
        let mut k = i + 1;
        while taken(&format!("Sheet{k}")) {
            k += 1;
        }
        return format!("Sheet{k}");
    }
    cleaned
}

/// An `.xls` or `.ods` written again as `.xlsx`: every sheet, every value at its address, the
/// merged ranges, percent formats; columns as wide as their widest unmerged text (8 to 40).
/// Also returns the sheets whose name had to change for Excel, old name to new.
fn copy_as_xlsx(original: &[u8]) -> anyhow::Result<(Vec<u8>, Renamed)> {
    // The file passed the checker's limits; the copy is not limited again by the cell count.
    let limits = Limits {
        max_cells: usize::MAX / 8,
        ..Limits::default()
    };
    let mut wb = Workbook::open(original, limits).map_err(|e| anyhow::anyhow!("{e}"))?;
    let dates = date_cells(original);
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let mut out = XlsxBook::new();
    let percent = Format::new().set_num_format("0.00%");
    let plain = Format::new();
    let wrap = Format::new().set_text_wrap();
    let names = wb.sheet_names().to_vec();
    let mut used = HashSet::new();
    let mut renamed = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut sheet = wb.load_sheet(name).map_err(|e| anyhow::anyhow!("{e}"))?;
        wb.load_merges(&mut sheet)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let ws = out.add_worksheet();
        let mut new_name = xlsx_sheet_name(name, i, &used);
        if ws.set_name(&new_name).is_err() {
            new_name = xlsx_sheet_name("", i, &used);
            ws.set_name(&new_name)?;
        }
        if new_name != *name {
            renamed.push((name.clone(), new_name.clone()));
        }
        used.insert(new_name);
        let mut merged: Vec<(Pos, Pos)> = Vec::new();
        for &(a, b) in &sheet.merges {
            if a == b || merged.iter().any(|&(c, d)| overlaps((a, b), (c, d))) {
                continue;
            }
            if ws
                .merge_range(a.0, a.1 as u16, b.0, b.1 as u16, "", &plain)
                .is_ok()
            {
                merged.push((a, b));
            }
        }
        let mut widths: BTreeMap<u16, usize> = BTreeMap::new();
        for cell in &sheet.cells {
            let (r, c) = (cell.pos.0, cell.pos.1 as u16);
            let in_merge = merged.iter().any(|&(a, b)| {
                (a.0..=b.0).contains(&cell.pos.0) && (a.1..=b.1).contains(&cell.pos.1)
            });
            let width = match &cell.value {
                Value::Empty => continue,
                Value::Text(t) => {
                    let t = xml_text(t);
                    if t.contains('\n') {
                        ws.write_string_with_format(r, c, t.as_ref(), &wrap)?;
                    } else {
                        ws.write_string(r, c, t.as_ref())?;
                    }
                    display_width(&t)
                }
                Value::Number { v, percent: true } => {
                    ws.write_number_with_format(r, c, *v, &percent)?;
                    8
                }
                Value::Number { v, .. }
                    if dates
                        .get(name.as_str())
                        .is_some_and(|d| d.contains(&cell.pos)) =>
                {
                    ws.write_number_with_format(r, c, *v, &date)?;
                    10
                }
                Value::Number { v, .. } => {
                    ws.write_number(r, c, *v)?;
                    10
                }
                Value::Bool(b) => {
                    ws.write_boolean(r, c, *b)?;
                    5
                }
                Value::Error(e) => {
                    ws.write_string(r, c, xml_text(e).as_ref())?;
                    e.len()
                }
            };
            if !in_merge {
                let w = widths.entry(c).or_insert(8);
                *w = (*w).max(width.min(40));
            }
        }
        for (c, w) in widths {
            ws.set_column_width(c, w as f64 + 1.0)?;
        }
    }
    if names.is_empty() {
        out.add_worksheet();
    }
    Ok((out.save_to_buffer()?, renamed))
}

/// The cells of an `.xls` shown as dates (a 填报日期 typed as a date), by sheet: the workbook
/// reader gives their serial number, calamine tells which they are. (An `.ods` date is read as
/// its ISO text, `2026-03-10`, and copied as that text.)
fn date_cells(original: &[u8]) -> HashMap<String, HashSet<Pos>> {
    use calamine::Reader;
    let mut out = HashMap::new();
    // Only an .xls needs it, and only there does the grid guard bound the dense range calamine
    // builds (one far cell in an .xlsx would make it gigabytes).
    const CFB: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    if !original.starts_with(CFB) {
        return out;
    }
    let Ok(mut wb) = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(original)) else {
        return out;
    };
    for name in wb.sheet_names() {
        let Ok(range) = wb.worksheet_range(&name) else {
            continue;
        };
        let (r0, c0) = range.start().unwrap_or((0, 0));
        let cells: HashSet<Pos> = range
            .used_cells()
            .filter(|(_, _, d)| matches!(d, calamine::Data::DateTime(_)))
            .map(|(r, c, _)| (r0 + r as u32, c0 + c as u32))
            .collect();
        if !cells.is_empty() {
            out.insert(name, cells);
        }
    }
    out
}

fn overlaps(a: (Pos, Pos), b: (Pos, Pos)) -> bool {
    a.0.0 <= b.1.0 && b.0.0 <= a.1.0 && a.0.1 <= b.1.1 && b.0.1 <= a.1.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::issue::IssueCode;
    use crate::{Checker, Definitions, Limits as CheckLimits};

    #[test]
    fn sheet_names_excel_refuses_are_made_acceptable() {
        let none = HashSet::new();
        assert_eq!(xlsx_sheet_name("绩效自评表", 0, &none), "绩效自评表");
        let long = "项目支出绩效目标申报表（2026年度农业农村厅基层农技推广体系改革与建设）";
        let short = xlsx_sheet_name(long, 0, &none);
        assert_eq!(short.chars().count(), 31);
        assert!(long.starts_with(&short));
        assert_eq!(xlsx_sheet_name("a/b:c", 0, &none), "a_b_c");
        let used: HashSet<String> = ["表".to_string(), "Sheet2".to_string()].into();
        assert_eq!(xlsx_sheet_name("表", 1, &used), "Sheet3");
        assert_eq!(xlsx_sheet_name("''", 0, &none), "Sheet1");
        // Each result is a name rust_xlsxwriter takes.
        let mut wb = XlsxBook::new();
        wb.add_worksheet().set_name(short).unwrap();
    }

    #[test]
    fn an_error_without_a_cell_is_noted_on_the_title_without_fill() {
        let original =
            std::fs::read("tests/fixtures/examples/退回示例-缺项目名称.xlsx").expect("fixture");
        let checked = Checker::new(Definitions::embedded(), CheckLimits::default())
            .check_bytes("x.xlsx", &original);
        let form = checked.form.expect("a form");
        let mut errors = checked.result.errors.clone();
        errors.push(Issue::new(
            &form.sheet,
            None,
            "绩效指标",
            IssueCode::NoIndicators,
            "未填写绩效指标，请按表样填写".to_string(),
        ));
        let m = marks(&form, &errors);
        let on_sheet = &m[&form.sheet];
        assert_eq!(on_sheet.len(), 2);
        assert!(on_sheet[0].fill && on_sheet[0].pos == (3, 1), "B4 filled");
        assert!(!on_sheet[1].fill && on_sheet[1].pos == form.title);
        assert_eq!(on_sheet[1].text, "绩效指标：未填写绩效指标，请按表样填写");

        let bytes = write(&form, &errors, &original).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes[..])).unwrap();
        let mut comments = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("xl/comments1.xml").unwrap(), &mut comments)
            .unwrap();
        assert!(comments.contains("<comment ref=\"A1\""), "{comments}");
        let mut sheet = String::new();
        std::io::Read::read_to_string(
            &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
            &mut sheet,
        )
        .unwrap();
        // The title keeps its own style.
        assert!(sheet.contains("<c r=\"A1\" s=\"1\""), "{sheet}");
    }
}
