//! A look at an `.xls` file before calamine reads it. calamine allocates a dense grid for every
//! sheet from the cell positions and the DIMENSIONS record, so a tiny file that claims a cell at
//! row 4,000,000 would cost gigabytes. Walking the BIFF records first bounds that.

use std::io::{Cursor, Read};

use crate::workbook::OpenError;

/// The most cells a sheet's bounding box (or its DIMENSIONS record) may span.
pub(crate) const MAX_AREA: u64 = 1_000_000;

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

/// Checks the sheets of an `.xls` file against [`MAX_AREA`] and the total size limit.
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
    let too_many = || OpenError::TooManyCells {
        sheet: "xls".into(),
        limit: MAX_AREA as usize,
    };
    let mut i = 0usize;
    let mut bbox = BoundingBox::default();
    let mut substreams = 0usize;
    while i + 4 <= data.len() {
        let typ = u16_at(&data, i).unwrap_or(0);
        let len = u16_at(&data, i + 2).unwrap_or(0) as usize;
        i += 4;
        let Some(rec) = data.get(i..i + len) else {
            break;
        };
        i += len;
        match typ {
            // BOF: a new substream (the workbook globals, then each sheet).
            0x0809 | 0x0409 | 0x0209 | 0x0009 => {
                bbox = BoundingBox::default();
                substreams += 1;
                if substreams > sheet_limit.saturating_mul(4) + 8 {
                    return Err(OpenError::TooManySheets {
                        count: substreams,
                        limit: sheet_limit,
                    });
                }
            }
            // DIMENSIONS: calamine reserves room for the whole area.
            0x0200 => {
                let (r0, r1, c0, c1) = if rec.len() >= 14 {
                    (
                        u32_at(rec, 0),
                        u32_at(rec, 4),
                        u16_at(rec, 8),
                        u16_at(rec, 10),
                    )
                } else {
                    (
                        u16_at(rec, 0),
                        u16_at(rec, 2),
                        u16_at(rec, 4),
                        u16_at(rec, 6),
                    )
                };
                if let (Some(r0), Some(r1), Some(c0), Some(c1)) = (r0, r1, c0, c1) {
                    let area = r1
                        .saturating_sub(r0)
                        .saturating_add(1)
                        .saturating_mul(c1.saturating_sub(c0).saturating_add(1));
                    if r1 >= r0 && c1 >= c0 && area > MAX_AREA {
                        return Err(too_many());
                    }
                }
            }
            // Cells: NUMBER, LABEL, RSTRING, BOOLERR, RK, LABELSST, FORMULA.
            0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD | 0x0006 => {
                if let (Some(r), Some(c)) = (u16_at(rec, 0), u16_at(rec, 2)) {
                    bbox.add(r, c);
                }
            }
            // MULRK: a row of cells from the first to the last column.
            0x00BD => {
                if let (Some(r), Some(c), Some(last)) = (
                    u16_at(rec, 0),
                    u16_at(rec, 2),
                    u16_at(rec, rec.len().saturating_sub(2)),
                ) {
                    bbox.add(r, c);
                    bbox.add(r, last);
                }
            }
            _ => {}
        }
        if bbox.area() > MAX_AREA {
            return Err(too_many());
        }
    }
    Ok(())
}
