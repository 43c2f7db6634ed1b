//! What calamine does not tell about an `.ods` file: which cells are shown as percentages and
//! which ranges are merged. One pass over `content.xml` with quick-xml.

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read};

use quick_xml::events::{BytesStart, Event};

use crate::cellref::Pos;

#[derive(Debug, Default, Clone)]
pub(crate) struct SheetExtras {
    pub(crate) percent: HashSet<Pos>,
    pub(crate) merges: Vec<(Pos, Pos)>,
    /// The first and last position of a cell holding a value.
    pub(crate) bounds: Option<(Pos, Pos)>,
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

    /// How many cells a dense grid of the sheet's values would take.
    pub(crate) fn area(&self) -> u64 {
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

fn repeat(e: &BytesStart, name: &str) -> u32 {
    attr(e, name)
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(1)
        .max(1)
}

/// Reads the percent cells and merged ranges of every sheet. The archive has already passed the
/// size limits, so `content.xml` is bounded.
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
    let mut current: Option<(String, SheetExtras)> = None;
    let (mut row, mut col): (u32, u32) = (0, 0);
    let mut row_repeat = 1u32;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("ODS content.xml: {e}"))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                match e.name().as_ref() {
                    "table:table" => {
                        let name = attr(e, "table:name").unwrap_or_default();
                        current = Some((name, SheetExtras::default()));
                        row = 0;
                    }
                    "table:table-row" => {
                        col = 0;
                        row_repeat = repeat(e, "table:number-rows-repeated");
                        if empty {
                            row = row.saturating_add(row_repeat);
                        }
                    }
                    "table:table-cell" | "table:covered-table-cell" => {
                        let n = repeat(e, "table:number-columns-repeated");
                        if let Some((_, sheet)) = current.as_mut() {
                            if attr(e, "office:value-type").is_some() {
                                sheet.add((row, col));
                                sheet.add((row, col.saturating_add(n - 1)));
                            }
                            if attr(e, "office:value-type").as_deref() == Some("percentage") {
                                for i in 0..n.min(1024) {
                                    sheet.percent.insert((row, col.saturating_add(i)));
                                }
                            }
                            let cols = repeat(e, "table:number-columns-spanned");
                            let rows = repeat(e, "table:number-rows-spanned");
                            if cols > 1 || rows > 1 {
                                sheet.merges.push((
                                    (row, col),
                                    (row.saturating_add(rows - 1), col.saturating_add(cols - 1)),
                                ));
                            }
                        }
                        col = col.saturating_add(n);
                    }
                    _ => {}
                }
            }
            Event::End(ref e) => match e.name().as_ref() {
                "table:table-row" => row = row.saturating_add(row_repeat),
                "table:table" => {
                    if let Some((name, sheet)) = current.take() {
                        out.sheets.insert(name, sheet);
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
