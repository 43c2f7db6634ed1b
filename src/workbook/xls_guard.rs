//! A look at an `.xls` file before calamine reads it. When opening a file calamine reads every
//! sheet at once: it reserves room for the area a DIMENSIONS record claims, keeps every cell
//! record (a LABELSST cell gets its own copy of the shared string), and then allocates a dense
//! grid over each sheet's cells. A tiny file could so cost gigabytes. This walk follows the
//! records the way calamine does — the workbook globals up to their EOF, then each sheet from the
//! offset its BOUNDSHEET gives, skipping embedded substreams — and bounds every count and size
//! calamine allocates from before calamine sees the file.

use std::io::{Cursor, Read};

use crate::workbook::OpenError;

/// The most cells a sheet's grid (its bounding box, or its DIMENSIONS record) may span.
pub(crate) const MAX_AREA: u64 = 1_000_000;
/// The most cells the grids of all sheets together may span: calamine keeps them all.
const MAX_TOTAL_AREA: u64 = 3 * MAX_AREA;
/// The most cell records on one sheet (a cell may be written many times over).
const MAX_CELL_RECORDS: u64 = 2_000_000;
/// The most characters of cell text in the workbook: the strings of LABEL cells and the shared
/// string each LABELSST cell copies.
pub(crate) const MAX_TEXT_CHARS: u64 = 8_000_000;
/// The most characters the formulas of the workbook may be spelled out to. A token of five bytes
/// can name a sheet or a defined name of up to 255 characters; any other spells out at most a few
/// characters a byte (a function name, a cell reference).
const MAX_FORMULA_CHARS: u64 = 64_000_000;
/// The most merged ranges on one sheet.
pub(crate) const MAX_MERGES: u64 = 100_000;
/// The most CONTINUE records after one record, and in the workbook globals: calamine keeps them
/// in a list it takes from the front, one by one.
const MAX_CONTINUES: usize = 8_192;

fn u16_at(d: &[u8], i: usize) -> Option<u64> {
    d.get(i..i + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as u64)
}

fn u32_at(d: &[u8], i: usize) -> Option<u64> {
    d.get(i..i + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64)
}

#[derive(Default)]
struct BoundingBox {
    min: Option<(u64, u64)>,
    max: (u64, u64),
}

impl BoundingBox {
    fn add(&mut self, row: u64, col: u64) {
        self.min = Some(match self.min {
            None => (row, col),
            Some((r, c)) => (r.min(row), c.min(col)),
        });
        self.max = (self.max.0.max(row), self.max.1.max(col));
    }

    fn area(&self) -> u64 {
        match self.min {
            None => 0,
            Some((r, c)) => (self.max.0 - r + 1).saturating_mul(self.max.1 - c + 1),
        }
    }
}

/// One record and the CONTINUE records after it, as calamine's record reader joins them.
struct Record<'a> {
    typ: u16,
    data: &'a [u8],
    cont: Vec<&'a [u8]>,
}

/// Reads the record at `*at`. `None` where calamine's reader stops with an error (a record cut
/// short) or at the end of the stream.
fn next_record<'a>(stream: &'a [u8], at: &mut usize) -> Result<Option<Record<'a>>, OpenError> {
    let rest = stream.get(*at..).unwrap_or_default();
    if rest.len() < 4 {
        return Ok(None);
    }
    let typ = u16_at(rest, 0).unwrap_or(0) as u16;
    let len = u16_at(rest, 2).unwrap_or(0) as usize;
    let Some(data) = rest.get(4..4 + len) else {
        return Ok(None);
    };
    *at += 4 + len;
    let mut cont = Vec::new();
    // calamine joins CONTINUE records only when more than the record header follows.
    while stream.len() - *at > 4 && u16_at(stream, *at) == Some(0x003C) {
        let len = u16_at(stream, *at + 2).unwrap_or(0) as usize;
        let Some(c) = stream.get(*at + 4..*at + 4 + len) else {
            break;
        };
        cont.push(c);
        *at += 4 + len;
        if cont.len() > MAX_CONTINUES {
            return Err(OpenError::Bomb {
                what: "xls CONTINUE records".into(),
                limit: MAX_CONTINUES as u64,
            });
        }
    }
    Ok(Some(Record { typ, data, cont }))
}

/// The length in characters of each string of the shared string table, read the way calamine
/// reads them (a string may go on in the next CONTINUE record, which starts with its own
/// compression flag). Stops where calamine would fail.
fn sst_lengths(rec: &Record) -> Vec<u64> {
    let mut out = Vec::new();
    let Some(mut data) = rec.data.get(8..) else {
        return out;
    };
    let mut cont = rec.cont.iter();
    loop {
        if data.is_empty() {
            match cont.next() {
                Some(c) => data = c,
                None => return out,
            }
        }
        if data.len() < 3 {
            if !data.is_empty() {
                return out;
            }
            out.push(0);
            continue;
        }
        let cch = u16_at(data, 0).unwrap_or(0);
        let flags = data[2];
        data = &data[3..];
        let mut skip: u64 = 0;
        if flags & 0x8 != 0 {
            let Some(runs) = u16_at(data, 0) else {
                return out;
            };
            skip += runs * 4;
            data = &data[2..];
        }
        if flags & 0x4 != 0 {
            let Some(ext) = u32_at(data, 0) else {
                return out;
            };
            skip += ext;
            data = &data[4..];
        }
        let mut high = flags & 0x1 != 0;
        let mut left = cch;
        while left > 0 {
            let per = if high { 2 } else { 1 };
            let n = left.min(data.len() as u64 / per);
            data = &data[(n * per) as usize..];
            left -= n;
            if left > 0 {
                match cont.next() {
                    Some(c) if !c.is_empty() => {
                        high = c[0] & 0x1 != 0;
                        data = &c[1..];
                    }
                    _ => return out,
                }
            }
        }
        while skip > 0 {
            if data.is_empty() {
                match cont.next() {
                    Some(c) => data = c,
                    None => return out,
                }
            }
            let n = skip.min(data.len() as u64);
            data = &data[n as usize..];
            skip -= n;
        }
        out.push(cch);
    }
}

/// The name a BOUNDSHEET record gives its sheet, for messages.
fn sheet_name(data: &[u8]) -> String {
    let cch = data.get(6).copied().unwrap_or(0) as usize;
    let unicode = data.get(7).is_some_and(|f| f & 0x1 != 0);
    let raw = data.get(8..).unwrap_or_default();
    if unicode {
        let units: Vec<u16> = raw
            .chunks_exact(2)
            .take(cch)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        raw.iter().take(cch).map(|&b| b as char).collect()
    }
}

/// What the globals of the workbook say that the sheets need.
#[derive(Default)]
struct Globals {
    /// Each BOUNDSHEET: the offset of the sheet's BOF and its name.
    sheets: Vec<(u64, String)>,
    sst: Vec<u64>,
    /// The longest name a formula token can spell out (a sheet or a defined name).
    longest_name: u64,
    /// Whether the workbook is encrypted.
    password: bool,
}

fn read_globals(data: &[u8], sheet_limit: usize) -> Result<Globals, OpenError> {
    let mut g = Globals::default();
    let mut at = 0;
    let mut continues = 0;
    while let Some(rec) = next_record(data, &mut at)? {
        continues += rec.cont.len();
        if continues > MAX_CONTINUES {
            return Err(OpenError::Bomb {
                what: "xls CONTINUE records".into(),
                limit: MAX_CONTINUES as u64,
            });
        }
        match rec.typ {
            0x0085 => {
                let Some(pos) = u32_at(rec.data, 0) else {
                    continue;
                };
                let name = sheet_name(rec.data);
                g.longest_name = g.longest_name.max(name.chars().count() as u64);
                g.sheets.push((pos, name));
                if g.sheets.len() > sheet_limit {
                    return Err(OpenError::TooManySheets {
                        count: g.sheets.len(),
                        limit: sheet_limit,
                    });
                }
            }
            // Lbl: a defined name of up to 255 characters.
            0x0018 => {
                let cch = rec.data.get(3).copied().unwrap_or(0) as u64;
                g.longest_name = g.longest_name.max(cch);
            }
            0x00FC => g.sst = sst_lengths(&rec),
            // FILEPASS: calamine stops here and reports the password; it reads no sheet.
            0x002F if u16_at(rec.data, 0).is_some_and(|v| v != 0) => {
                g.password = true;
                break;
            }
            0x000A => break,
            _ => {}
        }
    }
    Ok(g)
}

/// The cost of one sheet, as calamine builds it.
#[derive(Default)]
struct SheetCost {
    bbox: BoundingBox,
    records: u64,
    merges: u64,
}

/// What the sheets of the workbook cost together.
#[derive(Default)]
struct Totals {
    area: u64,
    text: u64,
    formulas: u64,
}

/// Checks the sheets of an `.xls` file against the limits above and the total size limit.
pub(crate) fn check(bytes: &[u8], max_stream: u64, sheet_limit: usize) -> Result<(), OpenError> {
    let mut file = cfb::CompoundFile::open(Cursor::new(bytes))
        .map_err(|e| OpenError::Damaged(format!("OLE: {e}")))?;
    let name = ["/Workbook", "/Book", "/WORKBOOK", "/BOOK"]
        .into_iter()
        .find(|n| file.is_stream(n))
        .ok_or_else(|| OpenError::NotWorkbook("其他Office文档".into()))?;
    let mut data = Vec::new();
    file.open_stream(name)
        .map_err(|e| OpenError::Damaged(format!("OLE: {e}")))?
        .take(max_stream + 1)
        .read_to_end(&mut data)
        .map_err(|e| OpenError::Damaged(format!("OLE: {e}")))?;
    if data.len() as u64 > max_stream {
        return Err(OpenError::Bomb {
            what: "Workbook".into(),
            limit: max_stream,
        });
    }
    let globals = read_globals(&data, sheet_limit)?;
    if globals.password {
        return Ok(());
    }
    let mut totals = Totals::default();
    for (pos, name) in &globals.sheets {
        let start = usize::try_from(*pos)
            .ok()
            .filter(|p| *p <= data.len())
            .ok_or_else(|| OpenError::Damaged(format!("XLS: sheet {name} at {pos}")))?;
        check_sheet(&data, start, name, &globals, &mut totals)?;
    }
    Ok(())
}

fn check_sheet(
    data: &[u8],
    start: usize,
    name: &str,
    globals: &Globals,
    totals: &mut Totals,
) -> Result<(), OpenError> {
    let too_many = || OpenError::TooManyCells {
        sheet: name.to_string(),
        limit: MAX_AREA as usize,
    };
    let mut sheet = SheetCost::default();
    let mut at = start;
    let mut seen_bof = false;
    let mut depth = 0usize;
    // The position of the last FORMULA record: a STRING record after it is a cell there.
    let mut formula_pos: Option<(u64, u64)> = None;
    while let Some(rec) = next_record(data, &mut at)? {
        if depth > 0 {
            match rec.typ {
                0x0809 => depth += 1,
                0x000A => depth -= 1,
                _ => {}
            }
            continue;
        }
        let d = rec.data;
        let mut text: u64 = 0;
        match rec.typ {
            0x0809 => {
                if seen_bof {
                    depth += 1;
                } else {
                    seen_bof = true;
                }
            }
            0x000A => break,
            0x0200 if dimensions_area(d).is_none_or(|a| a > MAX_AREA) => return Err(too_many()),
            // NUMBER, BOOLERR, RK
            0x0203 | 0x0205 | 0x027E => cell(&mut sheet, d),
            // LABEL, RSTRING: calamine reserves the declared length of the string.
            0x0204 | 0x00D6 => {
                cell(&mut sheet, d);
                text = u16_at(d, 6).unwrap_or(0);
            }
            // STRING: the text value of the formula before it.
            0x0207 => {
                if let Some((r, c)) = formula_pos {
                    sheet.bbox.add(r, c);
                }
                sheet.records += 1;
                text = u16_at(d, 0).unwrap_or(0);
            }
            0x00FD => {
                cell(&mut sheet, d);
                text = u32_at(d, 6)
                    .and_then(|i| globals.sst.get(i as usize).copied())
                    .unwrap_or(0);
            }
            // MULRK: cells from the first column on, six bytes each.
            0x00BD => {
                if let (Some(r), Some(c)) = (u16_at(d, 0), u16_at(d, 2)) {
                    let n = (d.len() as u64).saturating_sub(6) / 6;
                    sheet.bbox.add(r, c);
                    sheet.bbox.add(r, c + n.max(1) - 1);
                    sheet.records += n;
                }
            }
            // MERGECELLS: a count, then eight bytes a range.
            0x00E5 => {
                let count = u16_at(d, 0).unwrap_or(0);
                sheet.merges += count.min((d.len() as u64).saturating_sub(2) / 8);
            }
            0x0006 => {
                if let (Some(r), Some(c)) = (u16_at(d, 0), u16_at(d, 2)) {
                    formula_pos = Some((r, c));
                    sheet.bbox.add(r, c);
                }
                sheet.records += 1;
                let rgce = (d.len() as u64).saturating_sub(20);
                let spelled = rgce * 6 + rgce / 5 * globals.longest_name;
                totals.formulas = totals.formulas.saturating_add(spelled);
                if totals.formulas > MAX_FORMULA_CHARS {
                    return Err(too_many());
                }
            }
            _ => {}
        }
        totals.text = totals.text.saturating_add(text);
        if totals.text > MAX_TEXT_CHARS
            || sheet.records > MAX_CELL_RECORDS
            || sheet.merges > MAX_MERGES
            || sheet.bbox.area() > MAX_AREA
        {
            return Err(too_many());
        }
    }
    totals.area = totals.area.saturating_add(sheet.bbox.area());
    if totals.area > MAX_TOTAL_AREA {
        return Err(too_many());
    }
    Ok(())
}

/// A cell record starting with its row and column.
fn cell(sheet: &mut SheetCost, d: &[u8]) {
    if let (Some(r), Some(c)) = (u16_at(d, 0), u16_at(d, 2)) {
        sheet.bbox.add(r, c);
    }
    sheet.records += 1;
}

/// The area calamine reserves for a DIMENSIONS record, computed as calamine does (a first column
/// past 255 or past the last column counts from 0); `None` when its row count wraps around to
/// billions.
/// A record of another length is refused by calamine and costs nothing.
fn dimensions_area(d: &[u8]) -> Option<u64> {
    let (r0, r1, mut c0, c1) = match d.len() {
        10 => (u16_at(d, 0)?, u16_at(d, 2)?, u16_at(d, 4)?, u16_at(d, 6)?),
        14 | 16 => (u32_at(d, 0)?, u32_at(d, 4)?, u16_at(d, 8)?, u16_at(d, 10)?),
        _ => return Some(0),
    };
    if c0 > 0xFF || c1 < c0 {
        c0 = 0;
    }
    if r1 == 0 || c1 == 0 {
        return Some(1);
    }
    // calamine counts (last - 1) - first + 1: a last row equal to the first wraps around to no
    // rows, one below it to about four billion.
    let rows = r1.checked_sub(r0)?;
    let cols = c1 - c0;
    Some(rows.saturating_mul(cols))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(r0: u32, r1: u32, c0: u16, c1: u16) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend(r0.to_le_bytes());
        d.extend(r1.to_le_bytes());
        d.extend(c0.to_le_bytes());
        d.extend(c1.to_le_bytes());
        d.extend([0, 0]);
        d
    }

    #[test]
    fn dimensions_are_measured_as_calamine_reads_them() {
        assert_eq!(dimensions_area(&dims(0, 10, 0, 5)), Some(50));
        // A last column before the first: calamine counts from column 0.
        assert_eq!(
            dimensions_area(&dims(0, u32::MAX, 0x100, 0xFF)),
            Some((u32::MAX as u64) * 255)
        );
        // A last row before the first: the row count would wrap around.
        assert_eq!(dimensions_area(&dims(0x8000, 0x10, 0, 4)), None);
        assert_eq!(dimensions_area(&dims(0, 0, 0, 0)), Some(1));
    }

    fn record(typ: u16, data: &[u8]) -> Vec<u8> {
        let mut r = typ.to_le_bytes().to_vec();
        r.extend((data.len() as u16).to_le_bytes());
        r.extend(data);
        r
    }

    fn xls(stream: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        file.create_stream("/Workbook")
            .unwrap()
            .write_all(stream)
            .unwrap();
        file.flush().unwrap();
        file.into_inner().into_inner()
    }

    #[test]
    fn a_long_run_of_continue_records_is_refused() {
        let mut stream = record(0x0809, &[0, 6, 5, 0]);
        stream.extend(record(0x00FC, &[0; 8]));
        for _ in 0..=MAX_CONTINUES {
            stream.extend(record(0x003C, &[]));
        }
        stream.extend(record(0x000A, &[]));
        assert!(matches!(
            check(&xls(&stream), 50 << 20, 64),
            Err(OpenError::Bomb { .. })
        ));
    }

    /// A workbook of one sheet, Sheet1, holding `records`; its globals define a name of 255
    /// characters.
    fn one_sheet(records: &[u8]) -> Vec<u8> {
        let mut stream = record(0x0809, &[0, 6, 5, 0]);
        let mut lbl = vec![0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        lbl.extend([b'n'; 255]);
        stream.extend(record(0x0018, &lbl));
        let globals_end = stream.len() + 4 + 14 + 4;
        let mut sheet = (globals_end as u32).to_le_bytes().to_vec();
        sheet.extend([0, 0, 6, 0]);
        sheet.extend(b"Sheet1");
        stream.extend(record(0x0085, &sheet));
        stream.extend(record(0x000A, &[]));
        assert_eq!(stream.len(), globals_end);
        stream.extend(record(0x0809, &[0, 6, 0x10, 0]));
        stream.extend(records);
        stream.extend(record(0x000A, &[]));
        xls(&stream)
    }

    fn refused_sheet(file: &[u8]) -> Option<String> {
        match check(file, 50 << 20, 64) {
            Err(OpenError::TooManyCells { sheet, .. }) => Some(sheet),
            _ => None,
        }
    }

    #[test]
    fn formulas_naming_a_long_defined_name_many_times_are_refused() {
        // Formulas of 60,000 bytes of PtgName tokens, each spelling out the name.
        let mut formula = vec![0u8; 20];
        formula.extend(std::iter::repeat_n([0x23, 1, 0, 0, 0], 12_000).flatten());
        let mut records = Vec::new();
        for row in 0..20u16 {
            formula[0..2].copy_from_slice(&row.to_le_bytes());
            records.extend(record(0x0006, &formula));
        }
        assert_eq!(
            refused_sheet(&one_sheet(&records)).as_deref(),
            Some("Sheet1")
        );
        assert_eq!(
            refused_sheet(&one_sheet(&records[..records.len() / 2])),
            None
        );
    }

    #[test]
    fn too_many_merged_ranges_are_refused() {
        let mut merges = 8191u16.to_le_bytes().to_vec();
        merges.extend([0u8; 8191 * 8]);
        let one = record(0x00E5, &merges);
        let records: Vec<u8> = std::iter::repeat_n(one, 13).flatten().collect();
        assert_eq!(
            refused_sheet(&one_sheet(&records)).as_deref(),
            Some("Sheet1")
        );
        assert_eq!(
            refused_sheet(&one_sheet(&records[..records.len() / 2])),
            None
        );
    }

    #[test]
    fn shared_strings_are_measured_across_continue_records() {
        // Two strings: "abc" compressed, then 4 characters of which 2 are in the record and 2 in
        // a CONTINUE record written as UTF-16.
        let mut data = vec![0u8; 8];
        data.extend([3, 0, 0]);
        data.extend(b"abc");
        data.extend([4, 0, 0]);
        data.extend(b"de");
        let cont: Vec<u8> = vec![1, b'f', 0, b'g', 0];
        let rec = Record {
            typ: 0x00FC,
            data: &data,
            cont: vec![&cont],
        };
        assert_eq!(sst_lengths(&rec), vec![3, 4]);
    }
}
