//! What calamine does not tell about an `.ods` file: which cells are shown as percentages and
//! which ranges are merged. One pass over `content.xml` with quick-xml, which also measures what
//! calamine will build from the file and stops at the first table that would cost too much.
//!
//! calamine reads every table when the file is opened: for each row it keeps the cells up to the
//! last one holding a value (a repeated cell once per column), copies a row once per repeat into
//! a dense grid from the first to the last row and column holding a value, and spells out a text
//! cell's `text:s` spaces. The scan counts the same — repeats of rows and columns, values without
//! `office:value-type`, every table even when two share a name — and checks each count before it
//! records anything of the cell.

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read};

use quick_xml::events::{BytesStart, Event};

use crate::cellref::Pos;
use crate::workbook::xls_guard::{MAX_AREA, MAX_MERGES, MAX_TEXT_CHARS};

/// calamine's bounds: rows and columns past these are dropped.
const MAX_ROWS: u64 = 1_048_576;
const MAX_COLUMNS: u64 = 16_384;
/// The most cells all tables together may span in their grids.
const MAX_TOTAL_AREA: u64 = 3 * MAX_AREA;
/// The most cells calamine keeps row by row (before the grids), all tables together.
const MAX_ROW_CELLS: u64 = 2_000_000;

#[derive(Debug, Default, Clone)]
pub(crate) struct SheetExtras {
    pub(crate) percent: HashSet<Pos>,
    pub(crate) merges: Vec<(Pos, Pos)>,
    /// The first and last position of a cell holding a value.
    pub(crate) bounds: Option<(Pos, Pos)>,
    /// Set when the scan stopped at this table because reading it would cost too much.
    over_limit: bool,
}

impl SheetExtras {
    fn add(&mut self, pos: Pos) {
        self.bounds = Some(match self.bounds {
            None => (pos, pos),
            Some((a, b)) => (
                (a.0.min(pos.0), a.1.min(pos.1)),
                (b.0.max(pos.0), b.1.max(pos.1)),
            ),
        });
    }

    /// How many cells a dense grid of the sheet's values would take; more than any limit when
    /// the scan found the table too costly to read.
    pub(crate) fn area(&self) -> u64 {
        if self.over_limit {
            return u64::MAX;
        }
        self.bounds.map_or(0, |(a, b)| {
            (b.0 as u64 - a.0 as u64 + 1).saturating_mul(b.1 as u64 - a.1 as u64 + 1)
        })
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct OdsExtras {
    pub(crate) sheets: HashMap<String, SheetExtras>,
}

fn attr(e: &BytesStart, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .map(|a| a.value.into_owned())
}

fn repeat(e: &BytesStart, name: &str) -> u64 {
    attr(e, name)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .max(1)
}

/// The attributes that give a cell a value (or a formula) for calamine.
const VALUE_ATTRS: [&str; 8] = [
    "office:value-type",
    "office:value",
    "office:string-value",
    "office:date-value",
    "office:time-value",
    "office:boolean-value",
    "table:formula",
    "calcext:value-type",
];

/// A table being scanned.
struct Table {
    name: String,
    extras: SheetExtras,
}

/// The cell whose text is being read: what it will cost once its text is known.
struct OpenCell {
    /// How many copies calamine makes (columns × rows repeated).
    copies: u64,
    /// Characters so far: its attribute values, then its text.
    chars: u64,
}

/// The running costs of the whole file.
#[derive(Default)]
struct Costs {
    /// The grids of the tables finished so far.
    area: u64,
    row_cells: u64,
    text: u64,
}

/// Reads the percent cells and merged ranges of every sheet. The archive has already passed the
/// size limits, so `content.xml` is bounded. A table that would cost too much to read is
/// returned marked (its [`SheetExtras::area`] is over every limit) and the scan stops there.
pub(crate) fn scan(bytes: &[u8]) -> Result<OdsExtras, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("ODS: {e}"))?;
    let mut xml = String::new();
    archive
        .by_name("content.xml")
        .map_err(|e| format!("ODS content.xml: {e}"))?
        .read_to_string(&mut xml)
        .map_err(|e| format!("ODS content.xml: {e}"))?;
    // (An entry inflating past its declared size fails here, as a damaged file.)
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut out = OdsExtras::default();
    let mut current: Option<Table> = None;
    let mut costs = Costs::default();
    let (mut row, mut col): (u64, u64) = (0, 0);
    let mut row_repeat = 1u64;
    // The cells calamine keeps for the current row: up to the last one with a value.
    let mut row_cells = 0u64;
    let mut open_cell: Option<OpenCell> = None;
    // How deep inside a cell element the scan is (cells may nest cells).
    let mut cell_depth = 0u32;
    let over = |mut table: Table, out: &mut OdsExtras| {
        table.extras.over_limit = true;
        out.sheets.insert(table.name, table.extras);
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("ODS content.xml: {e}"))?;
        match event {
            // Inside a cell calamine reads only text: a table, row or cell nested there is not
            // one of the sheet's.
            Event::Start(ref e) | Event::Empty(ref e) if cell_depth > 0 => {
                let empty = matches!(event, Event::Empty(_));
                match e.name().as_ref() {
                    "table:table-cell" | "table:covered-table-cell" if !empty => cell_depth += 1,
                    // calamine spells out `text:c` spaces, and a paragraph, tab or line break
                    // as one character.
                    "text:s" | "text:p" | "text:tab" | "text:line-break" => {
                        if let Some(cell) = open_cell.as_mut() {
                            let chars = if e.name().as_ref() == "text:s" {
                                repeat(e, "text:c")
                            } else {
                                1
                            };
                            cell.chars = cell.chars.saturating_add(chars);
                        }
                    }
                    _ => {}
                }
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                match e.name().as_ref() {
                    "table:table" => {
                        let name = attr(e, "table:name").unwrap_or_default();
                        if empty {
                            // A table without rows: calamine keeps it, empty.
                            out.sheets.insert(name, SheetExtras::default());
                            current = None;
                        } else {
                            current = Some(Table {
                                name,
                                extras: SheetExtras::default(),
                            });
                        }
                        row = 0;
                    }
                    "table:table-row" => {
                        col = 0;
                        row_cells = 0;
                        row_repeat = repeat(e, "table:number-rows-repeated")
                            .min(MAX_ROWS.saturating_sub(row));
                        if empty {
                            row = row.saturating_add(row_repeat);
                        }
                    }
                    "table:table-cell" | "table:covered-table-cell" => {
                        let n = repeat(e, "table:number-columns-repeated")
                            .min(MAX_COLUMNS.saturating_sub(col));
                        if !empty {
                            cell_depth = 1;
                        }
                        let Some(table) = current.as_mut() else {
                            col = col.saturating_add(n);
                            continue;
                        };
                        let has_value = VALUE_ATTRS.iter().any(|a| attr(e, a).is_some());
                        if has_value && n > 0 && row_repeat > 0 {
                            let end = (col + n - 1, row + row_repeat - 1);
                            // Row and column stay within calamine's bounds, so fit a u32.
                            table.extras.add((row as u32, col as u32));
                            table.extras.add((end.1 as u32, end.0 as u32));
                            costs.row_cells += (col + n).saturating_sub(row_cells);
                            row_cells = row_cells.max(col + n);
                            let copies = n * row_repeat;
                            let chars: u64 =
                                e.attributes().flatten().map(|a| a.value.len() as u64).sum();
                            costs.text = costs.text.saturating_add(chars.saturating_mul(copies));
                            let area = table.extras.area();
                            if area > MAX_AREA
                                || costs.area.saturating_add(area) > MAX_TOTAL_AREA
                                || costs.row_cells > MAX_ROW_CELLS
                                || costs.text > MAX_TEXT_CHARS
                            {
                                if let Some(t) = current.take() {
                                    over(t, &mut out);
                                }
                                return Ok(out);
                            }
                            if attr(e, "office:value-type").as_deref() == Some("percentage") {
                                for r in row..row + row_repeat {
                                    for c in col..col + n {
                                        table.extras.percent.insert((r as u32, c as u32));
                                    }
                                }
                            }
                            if !empty {
                                open_cell = Some(OpenCell { copies, chars: 0 });
                            }
                        }
                        let cols = repeat(e, "table:number-columns-spanned");
                        let rows = repeat(e, "table:number-rows-spanned");
                        if cols > 1 || rows > 1 {
                            let last = |a: u64, span: u64| {
                                a.saturating_add(span - 1).min(u32::MAX as u64) as u32
                            };
                            table.extras.merges.push((
                                (row as u32, col as u32),
                                (last(row, rows), last(col, cols)),
                            ));
                            if table.extras.merges.len() as u64 > MAX_MERGES {
                                if let Some(t) = current.take() {
                                    over(t, &mut out);
                                }
                                return Ok(out);
                            }
                        }
                        col = col.saturating_add(n);
                    }
                    _ => {}
                }
            }
            Event::Text(ref t) => {
                if let Some(cell) = open_cell.as_mut() {
                    cell.chars = cell.chars.saturating_add(t.len() as u64);
                }
            }
            Event::End(ref e) if cell_depth > 0 => {
                if matches!(
                    e.name().as_ref(),
                    "table:table-cell" | "table:covered-table-cell"
                ) {
                    cell_depth -= 1;
                }
                if cell_depth > 0 {
                    continue;
                }
                if let Some(cell) = open_cell.take() {
                    costs.text = costs
                        .text
                        .saturating_add(cell.chars.saturating_mul(cell.copies));
                    if costs.text > MAX_TEXT_CHARS {
                        if let Some(t) = current.take() {
                            over(t, &mut out);
                        }
                        return Ok(out);
                    }
                }
            }
            Event::End(ref e) => match e.name().as_ref() {
                "table:table-row" => row = row.saturating_add(row_repeat),
                "table:table" => {
                    if let Some(table) = current.take() {
                        costs.area = costs.area.saturating_add(table.extras.area());
                        out.sheets.insert(table.name, table.extras);
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn ods(tables: &str) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default();
        z.start_file("content.xml", opts).unwrap();
        write!(
            z,
            "<office:document-content><office:body><office:spreadsheet>{tables}\
             </office:spreadsheet></office:body></office:document-content>"
        )
        .unwrap();
        z.finish().unwrap();
        buf.into_inner()
    }

    #[test]
    fn percent_cells_repeated_over_rows_and_columns_are_all_marked() {
        let x = scan(&ods(
            "<table:table table:name=\"A\"><table:table-row table:number-rows-repeated=\"2\">\
             <table:table-cell/><table:table-cell office:value-type=\"percentage\" \
             office:value=\"0.5\" table:number-columns-repeated=\"2\"/></table:table-row>\
             </table:table>",
        ))
        .unwrap();
        let a = &x.sheets["A"];
        let mut pct: Vec<Pos> = a.percent.iter().copied().collect();
        pct.sort();
        assert_eq!(pct, vec![(0, 1), (0, 2), (1, 1), (1, 2)]);
        assert_eq!(a.area(), 4);
    }

    #[test]
    fn a_table_inside_a_cell_does_not_hide_the_cells_after_it() {
        let x = scan(&ods("<table:table table:name=\"A\"><table:table-row>\
             <table:table-cell office:value=\"1\"/><table:table-cell><table:table \
             table:name=\"x\"/></table:table-cell></table:table-row>\
             <table:table-row table:number-rows-repeated=\"8999\"><table:table-cell/>\
             </table:table-row><table:table-row><table:table-cell \
             table:number-columns-repeated=\"9000\"/><table:table-cell office:value=\"2\"/>\
             </table:table-row></table:table>"))
        .unwrap();
        assert!(x.sheets["A"].area() > MAX_AREA);
        assert!(!x.sheets.contains_key("x"));
    }

    #[test]
    fn a_table_of_too_many_cells_stops_the_scan() {
        let x = scan(&ods(
            "<table:table table:name=\"A\"><table:table-row table:number-rows-repeated=\"2000\">\
             <table:table-cell office:value=\"1\" table:number-columns-repeated=\"1000\"/>\
             </table:table-row></table:table><table:table table:name=\"B\"/>",
        ))
        .unwrap();
        assert!(x.sheets["A"].area() > MAX_AREA);
        assert!(!x.sheets.contains_key("B"));
    }
}
