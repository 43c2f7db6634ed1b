//! Opening workbooks safely: `.xlsx`, `.xls` and `.ods` read with calamine into plain sheets of
//! cells, after the file has passed the limits that keep a broken, foreign or malicious file from
//! costing more than a moment and a bounded amount of memory.

mod ods;
mod package;
mod xls_guard;
mod xlsx_guard;
mod xlsx_merges;

use std::io::Cursor;

use calamine::{Data, Reader, Xls, Xlsx};

use crate::cellref::Pos;
use crate::text::normalize;

/// Limits on what a file may cost to read. The defaults are documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Largest file accepted at all.
    pub max_file_bytes: u64,
    /// Largest inflated size of any one entry of a zip-based workbook.
    pub max_entry_bytes: u64,
    /// Largest inflated size of all entries together.
    pub max_total_bytes: u64,
    /// Most sheets in a workbook.
    pub max_sheets: usize,
    /// Most non-empty cells on a sheet.
    pub max_cells: usize,
    /// Most bytes of text the cells of a sheet may hold together, counting a shared string once
    /// for each cell that shows it.
    pub max_sheet_text_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 20 * 1024 * 1024,
            max_entry_bytes: 50 * 1024 * 1024,
            max_total_bytes: 100 * 1024 * 1024,
            max_sheets: 64,
            max_cells: 100_000,
            max_sheet_text_bytes: 16 * 1024 * 1024,
        }
    }
}

/// Why a file cannot be read as a workbook. Each says what the department should do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OpenError {
    #[error("文件是空的，没有任何内容，无法读取。{SAVE_AGAIN}")]
    Empty,
    #[error("文件过大（{}，上限{}），无法受理。请只保留填好的一张绩效表，{SAVE_AS}", megabytes(*.size), megabytes(*.limit))]
    TooLarge { size: u64, limit: u64 },
    /// What the file is instead, in words a clerk knows (`Word文档`, `PDF文件`).
    #[error("这是{0}，不是Excel或WPS表格，无法读取。{SAVE_AGAIN}")]
    NotWorkbook(String),
    /// The reader's own words are for the log (`Damaged::detail`), not for the department.
    #[error("文件无法读取，可能在保存或复制时不完整。{SAVE_AGAIN}")]
    Damaged(String),
    #[error("文件设有打开密码，无法读取。请在Excel或WPS中取消打开密码，{SAVE_AS}")]
    Password,
    #[error("文件内部结构异常，无法读取。{SAVE_AGAIN}")]
    Bomb { what: String, limit: u64 },
    #[error(
        "文件中的工作表过多（{count}张，上限{limit}张），无法受理。请只保留绩效表所在的工作表，{SAVE_AS}"
    )]
    TooManySheets { count: usize, limit: usize },
    #[error("工作表“{sheet}”的内容过多，无法受理。请删除绩效表以外的内容，{SAVE_AS}")]
    TooManyCells { sheet: String, limit: usize },
    #[error("工作表“{sheet}”的内容过多，无法受理。请删除绩效表以外的内容，{SAVE_AS}")]
    TooMuchText { sheet: String, limit: usize },
    /// A part of an `.xlsx` declares or holds more records than any workbook needs: reading it
    /// would cost far more memory than the file is worth. `detail` names the part and the counts.
    #[error("文件内部结构异常（{}过多），无法读取。{SAVE_AGAIN}", .item.zh())]
    TooManyItems { item: Item, detail: String },
}

/// What an `.xlsx` may hold too many of (see [`OpenError::TooManyItems`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    SharedStrings,
    CellFormats,
    Fonts,
    Fills,
    Borders,
    NumberFormats,
}

impl Item {
    fn zh(self) -> &'static str {
        match self {
            Item::SharedStrings => "文字条目",
            Item::CellFormats => "单元格格式",
            Item::Fonts => "字体",
            Item::Fills => "填充格式",
            Item::Borders => "边框格式",
            Item::NumberFormats => "数字格式",
        }
    }

    pub(crate) fn en(self) -> &'static str {
        match self {
            Item::SharedStrings => "shared strings",
            Item::CellFormats => "cell formats",
            Item::Fonts => "fonts",
            Item::Fills => "fills",
            Item::Borders => "borders",
            Item::NumberFormats => "number formats",
        }
    }
}

/// What a clerk can do with a file that cannot be read.
const SAVE_AGAIN: &str = "请在Excel或WPS中打开填好的绩效表，另存为.xlsx格式后重新放入本部门文件夹";
const SAVE_AS: &str = "另存为.xlsx格式后重新放入本部门文件夹";

/// A size as a clerk reads it: `21.3MB`.
fn megabytes(bytes: u64) -> String {
    format!("{:.1}MB", bytes as f64 / (1024.0 * 1024.0))
}

impl OpenError {
    /// What the reader said, for the log: the department's message leaves it out.
    pub fn detail(&self) -> Option<String> {
        match self {
            OpenError::Damaged(d) => Some(d.clone()),
            OpenError::Bomb { what, limit } => Some(format!("{what} over {limit} bytes")),
            OpenError::TooManyCells { limit, .. } => Some(format!("over {limit} cells")),
            OpenError::TooMuchText { limit, .. } => {
                Some(format!("over {limit} bytes of text in its cells"))
            }
            OpenError::TooManyItems { detail, .. } => Some(detail.clone()),
            _ => None,
        }
    }
}

/// A cell's value as the reader sees it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Value {
    Empty,
    Text(String),
    /// A number; `percent` when the cell is shown with a percent format (0.962 shown as 96.2%).
    Number {
        v: f64,
        percent: bool,
    },
    Bool(bool),
    /// An error value such as `#DIV/0!`.
    Error(String),
}

/// A non-empty cell.
#[derive(Debug, Clone)]
pub struct Cell {
    pub pos: Pos,
    pub value: Value,
    /// The normalised text of a text cell (see [`normalize`]); empty for other values.
    pub(crate) norm: String,
}

/// One sheet: its non-empty cells in row-major order, and its merged ranges when the format
/// carries them.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub(crate) name: String,
    pub cells: Vec<Cell>,
    pub merges: Vec<(Pos, Pos)>,
    /// False for formats whose merge information the reader cannot see (`.ods`).
    pub(crate) has_merge_info: bool,
}

impl Sheet {
    pub(crate) fn new(name: &str, mut cells: Vec<Cell>) -> Sheet {
        cells.sort_unstable_by_key(|c| c.pos);
        Sheet {
            name: name.to_string(),
            cells,
            merges: Vec::new(),
            has_merge_info: false,
        }
    }

    pub(crate) fn get(&self, pos: Pos) -> Option<&Cell> {
        self.cells
            .binary_search_by_key(&pos, |c| c.pos)
            .ok()
            .map(|i| &self.cells[i])
    }

    /// The merged range whose top-left cell is `pos`.
    pub(crate) fn merge_from(&self, pos: Pos) -> Option<(Pos, Pos)> {
        self.merges.iter().copied().find(|(a, _)| *a == pos)
    }

    /// The non-empty cells of one row, left to right.
    pub(crate) fn row(&self, row: u32) -> &[Cell] {
        let start = self.cells.partition_point(|c| c.pos.0 < row);
        let end = self.cells.partition_point(|c| c.pos.0 <= row);
        &self.cells[start..end]
    }
}

fn cell(pos: Pos, value: Value) -> Option<Cell> {
    let norm = match &value {
        Value::Empty => return None,
        Value::Text(t) => {
            if t.trim().is_empty() {
                return None;
            }
            normalize(t)
        }
        _ => String::new(),
    };
    Some(Cell { pos, value, norm })
}

enum Inner<'a> {
    Xlsx(Box<Xlsx<Cursor<&'a [u8]>>>),
    Xlsb(Box<calamine::Xlsb<Cursor<&'a [u8]>>>),
    Xls(Box<Xls<Cursor<&'a [u8]>>>),
    Ods(
        Box<calamine::Ods<Cursor<&'a [u8]>>>,
        crate::workbook::ods::OdsExtras,
    ),
}

/// An open workbook whose sheets are loaded one at a time.
pub struct Workbook<'a> {
    /// The zip directory of an .xlsx, parsed once (merged ranges are read from it).
    archive: Option<Archive<'a>>,
    inner: Inner<'a>,
    names: Vec<String>,
    limits: Limits,
}

/// What kind of file the bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Xlsx,
    /// Excel's binary workbook (`.xlsb`), read like `.xlsx` (an annotated copy is an `.xlsx`).
    Xlsb,
    Xls,
    Ods,
}

impl<'a> Workbook<'a> {
    /// The bytes to open for a file: the file itself, or — for an `.xlsm` with Excel 4.0 macro
    /// sheets, which the reader refuses — the same package with the macro sheets left out of
    /// its sheet list.
    pub fn readable(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
        match package::without_macro_sheets(bytes) {
            Some(owned) => std::borrow::Cow::Owned(owned),
            None => std::borrow::Cow::Borrowed(bytes),
        }
    }

    /// Opens a workbook from its bytes after checking them against the limits.
    pub fn open(bytes: &'a [u8], limits: Limits) -> Result<Workbook<'a>, OpenError> {
        if bytes.is_empty() {
            return Err(OpenError::Empty);
        }
        if bytes.len() as u64 > limits.max_file_bytes {
            return Err(OpenError::TooLarge {
                size: bytes.len() as u64,
                limit: limits.max_file_bytes,
            });
        }
        let (format, archive) = sniff_archive(bytes)?;
        let mut archive = archive;
        if let Some(a) = archive.as_mut() {
            check_zip(a, &limits)?;
            if format == Format::Xlsx {
                crate::workbook::xlsx_guard::check(a).map_err(|e| match e {
                    OpenError::Damaged(m) if is_forged_size(&m) => OpenError::Bomb {
                        what: "压缩条目（实际大小超过声明大小）".to_string(),
                        limit: limits.max_entry_bytes,
                    },
                    other => other,
                })?;
            }
        }
        let (inner, names) = match format {
            Format::Xlsx => {
                let wb = Xlsx::new(Cursor::new(bytes)).map_err(xlsx_error)?;
                let names = worksheets(wb.sheets_metadata());
                (Inner::Xlsx(Box::new(wb)), names)
            }
            Format::Ods => {
                let extras = crate::workbook::ods::scan(bytes).map_err(|m| {
                    if is_forged_size(&m) {
                        OpenError::Bomb {
                            what: "content.xml（实际大小超过声明大小）".to_string(),
                            limit: limits.max_entry_bytes,
                        }
                    } else {
                        OpenError::Damaged(m)
                    }
                })?;
                // calamine allocates a dense grid over each sheet's values.
                if let Some((name, _)) = extras
                    .sheets
                    .iter()
                    .find(|(_, x)| x.area() > crate::workbook::xls_guard::MAX_AREA)
                {
                    return Err(OpenError::TooManyCells {
                        sheet: name.clone(),
                        limit: crate::workbook::xls_guard::MAX_AREA as usize,
                    });
                }
                let wb = calamine::Ods::new(Cursor::new(bytes))
                    .map_err(|e| OpenError::Damaged(format!("ODS: {e}")))?;
                let names = worksheets(wb.sheets_metadata());
                (Inner::Ods(Box::new(wb), extras), names)
            }
            Format::Xls => {
                crate::workbook::xls_guard::check(
                    bytes,
                    limits.max_entry_bytes,
                    limits.max_sheets,
                )?;
                let wb = Xls::new(Cursor::new(bytes)).map_err(|e| match e {
                    calamine::XlsError::Password => OpenError::Password,
                    other => OpenError::Damaged(format!("XLS: {other}")),
                })?;
                let names = worksheets(wb.sheets_metadata());
                (Inner::Xls(Box::new(wb)), names)
            }
            Format::Xlsb => {
                let wb = calamine::Xlsb::new(Cursor::new(bytes)).map_err(xlsb_error)?;
                let names = worksheets(wb.sheets_metadata());
                (Inner::Xlsb(Box::new(wb)), names)
            }
        };
        if names.len() > limits.max_sheets {
            return Err(OpenError::TooManySheets {
                count: names.len(),
                limit: limits.max_sheets,
            });
        }
        Ok(Workbook {
            archive,
            inner,
            names,
            limits,
        })
    }

    pub fn sheet_names(&self) -> &[String] {
        &self.names
    }

    /// Loads the cells of one sheet (not yet its merged ranges).
    pub fn load_sheet(&mut self, name: &str) -> Result<Sheet, OpenError> {
        let max = self.limits.max_cells;
        let max_text = self.limits.max_sheet_text_bytes;
        let too_many = || OpenError::TooManyCells {
            sheet: name.to_string(),
            limit: max,
        };
        match &mut self.inner {
            Inner::Xlsx(wb) => {
                let mut reader = wb.worksheet_cells_reader(name).map_err(xlsx_error)?;
                let percent: Vec<bool> = reader
                    .styles()
                    .iter()
                    .map(|s| {
                        s.number_format
                            .as_ref()
                            .is_some_and(|f| is_percent_format(&f.format_code))
                    })
                    .collect();
                let mut cells = Vec::new();
                let mut seen = 0usize;
                let mut text = TextBudget::new(name, max_text);
                while let Some((c, style)) = reader.next_cell_with_style_id().map_err(xlsx_error)? {
                    seen += 1;
                    if seen > max * 4 {
                        return Err(too_many());
                    }
                    let pct = percent.get(style).copied().unwrap_or(false);
                    if let Some(cell) = cell_of(&c, pct, &mut text)? {
                        cells.push(cell);
                        if cells.len() > max {
                            return Err(too_many());
                        }
                    }
                }
                Ok(Sheet::new(name, cells))
            }
            Inner::Xlsb(wb) => {
                let mut reader = wb.worksheet_cells_reader(name).map_err(xlsb_error)?;
                let mut cells = Vec::new();
                let mut seen = 0usize;
                let mut text = TextBudget::new(name, max_text);
                while let Some(c) = reader.next_cell().map_err(xlsb_error)? {
                    seen += 1;
                    if seen > max * 4 {
                        return Err(too_many());
                    }
                    // The binary format's cells carry no style here: no percent flag.
                    if let Some(cell) = cell_of(&c, false, &mut text)? {
                        cells.push(cell);
                        if cells.len() > max {
                            return Err(too_many());
                        }
                    }
                }
                Ok(Sheet::new(name, cells))
            }
            Inner::Xls(wb) => {
                let range = wb
                    .worksheet_range(name)
                    .map_err(|e| OpenError::Damaged(format!("XLS: {e}")))?;
                range_to_sheet(name, &range, self.limits, |_| false)
            }
            Inner::Ods(wb, extras) => {
                let range = wb
                    .worksheet_range(name)
                    .map_err(|e| OpenError::Damaged(format!("ODS: {e}")))?;
                let sheet_extras = extras.sheets.get(name);
                let mut sheet = range_to_sheet(name, &range, self.limits, |pos| {
                    sheet_extras.is_some_and(|x| x.percent.contains(&pos))
                })?;
                if let Some(x) = sheet_extras {
                    sheet.merges = x.merges.clone();
                    sheet.has_merge_info = true;
                }
                Ok(sheet)
            }
        }
    }

    /// Adds the merged ranges to a loaded sheet, where the format carries them.
    pub fn load_merges(&mut self, sheet: &mut Sheet) -> Result<(), OpenError> {
        let dims = match &mut self.inner {
            Inner::Xlsx(_) => {
                let mut archive = match &self.archive {
                    Some(a) => a.clone(),
                    None => return Ok(()),
                };
                sheet.merges = crate::workbook::xlsx_merges::merges(&mut archive, &sheet.name)
                    .map_err(|m| {
                        if is_forged_size(&m) {
                            OpenError::Bomb {
                                what: format!("{}（实际大小超过声明大小）", sheet.name),
                                limit: self.limits.max_entry_bytes,
                            }
                        } else {
                            OpenError::Damaged(format!("XLSX: {m}"))
                        }
                    })?;
                sheet.has_merge_info = true;
                return Ok(());
            }
            Inner::Xls(wb) => wb
                .merge_cells_by_sheet_name(&sheet.name)
                .map_err(|e| OpenError::Damaged(format!("XLS: {e}")))?,
            // Neither reader gives the merged ranges.
            Inner::Ods(..) | Inner::Xlsb(..) => return Ok(()),
        };
        sheet.merges = dims.iter().map(|d| (d.start, d.end)).collect();
        sheet.has_merge_info = true;
        Ok(())
    }
}

/// The text a sheet may still hold ([`Limits::max_sheet_text_bytes`]).
struct TextBudget<'a> {
    sheet: &'a str,
    left: usize,
    limit: usize,
}

impl TextBudget<'_> {
    fn new(sheet: &str, limit: usize) -> TextBudget<'_> {
        TextBudget {
            sheet,
            left: limit,
            limit,
        }
    }

    /// Takes the bytes of one cell's text, or refuses the sheet when they are more than is left.
    fn take(&mut self, bytes: usize) -> Result<(), OpenError> {
        self.left = self
            .left
            .checked_sub(bytes)
            .ok_or_else(|| OpenError::TooMuchText {
                sheet: self.sheet.to_string(),
                limit: self.limit,
            })?;
        Ok(())
    }
}

fn range_to_sheet(
    name: &str,
    range: &calamine::Range<Data>,
    limits: Limits,
    percent: impl Fn(Pos) -> bool,
) -> Result<Sheet, OpenError> {
    let max = limits.max_cells;
    let (r0, c0) = range.start().unwrap_or((0, 0));
    let mut cells = Vec::new();
    let mut text = TextBudget::new(name, limits.max_sheet_text_bytes);
    for (r, c, data) in range.used_cells() {
        let pos = (r0 + r as u32, c0 + c as u32);
        text.take(match data {
            Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.len(),
            _ => 0,
        })?;
        let value = match data {
            Data::Empty => continue,
            Data::String(s) => Value::Text(s.clone()),
            Data::Float(f) => Value::Number {
                v: *f,
                percent: percent(pos),
            },
            Data::Int(i) => Value::Number {
                v: *i as f64,
                percent: percent(pos),
            },
            Data::Bool(b) => Value::Bool(*b),
            Data::DateTime(d) => Value::Number {
                v: d.as_f64(),
                percent: false,
            },
            Data::DateTimeIso(s) | Data::DurationIso(s) => Value::Text(s.clone()),
            Data::Error(e) => Value::Error(e.to_string()),
        };
        if let Some(cell) = cell(pos, value) {
            cells.push(cell);
            if cells.len() > max {
                return Err(OpenError::TooManyCells {
                    sheet: name.to_string(),
                    limit: max,
                });
            }
        }
    }
    Ok(Sheet::new(name, cells))
}

/// A cell as the `.xlsx`/`.xlsb` cell readers give it, its text counted against the sheet's
/// budget before it is copied (one long shared string shown in many cells costs its length in
/// each). `None` for an empty cell.
fn cell_of(
    c: &calamine::Cell<calamine::DataRef<'_>>,
    percent: bool,
    text: &mut TextBudget,
) -> Result<Option<Cell>, OpenError> {
    use calamine::DataRef as D;
    text.take(match c.get_value() {
        D::String(s) | D::DateTimeIso(s) | D::DurationIso(s) => s.len(),
        D::SharedString(s) => s.len(),
        _ => 0,
    })?;
    let value = match c.get_value() {
        D::Empty => return Ok(None),
        D::String(s) => Value::Text(s.clone()),
        D::SharedString(s) => Value::Text(s.to_string()),
        D::Float(f) => Value::Number { v: *f, percent },
        D::Int(i) => Value::Number {
            v: *i as f64,
            percent,
        },
        D::Bool(b) => Value::Bool(*b),
        D::DateTime(d) => Value::Number {
            v: d.as_f64(),
            percent: false,
        },
        D::DateTimeIso(s) | D::DurationIso(s) => Value::Text(s.clone()),
        D::Error(e) => Value::Error(e.to_string()),
    };
    Ok(cell(c.get_position(), value))
}

/// The names of the worksheets: chart sheets, macro sheets and dialog sheets hold no form
/// (and macros are never run), wherever they stand.
fn worksheets(sheets: &[calamine::Sheet]) -> Vec<String> {
    sheets
        .iter()
        .filter(|s| s.typ == calamine::SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .collect()
}

fn xlsb_error(e: calamine::XlsbError) -> OpenError {
    match e {
        calamine::XlsbError::Password => OpenError::Password,
        other => {
            let message = other.to_string();
            if is_forged_size(&message) {
                OpenError::Bomb {
                    what: "压缩条目（实际大小超过声明大小）".to_string(),
                    limit: Limits::default().max_entry_bytes,
                }
            } else {
                OpenError::Damaged(format!("XLSB: {message}"))
            }
        }
    }
}

/// A number format shows percent when it has a `%` outside quoted text.
fn is_percent_format(code: &str) -> bool {
    let mut quoted = false;
    let mut escaped = false;
    for ch in code.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match ch {
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '%' if !quoted => return true,
            _ => {}
        }
    }
    false
}

fn xlsx_error(e: calamine::XlsxError) -> OpenError {
    match e {
        calamine::XlsxError::Password => OpenError::Password,
        other => {
            let message = other.to_string();
            if is_forged_size(&message) {
                OpenError::Bomb {
                    what: "压缩条目（实际大小超过声明大小）".to_string(),
                    limit: Limits::default().max_entry_bytes,
                }
            } else {
                OpenError::Damaged(format!("XLSX: {message}"))
            }
        }
    }
}

type Archive<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

/// [`sniff`], keeping the parsed zip directory of a zip-based workbook for what follows.
fn sniff_archive(bytes: &[u8]) -> Result<(Format, Option<Archive<'_>>), OpenError> {
    const ZIP: &[u8] = b"PK\x03\x04";
    const CFB: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    if bytes.starts_with(CFB) {
        // Password-protected .xlsx files are OLE containers holding an EncryptedPackage stream.
        let marker: Vec<u8> = "EncryptedPackage"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        if bytes.windows(marker.len()).any(|w| w == marker.as_slice()) {
            return Err(OpenError::Password);
        }
        return Ok((Format::Xls, None));
    }
    if !bytes.starts_with(ZIP) {
        let what = if bytes.starts_with(b"%PDF") {
            "PDF文件".to_string()
        } else if bytes.starts_with(b"PK\x05\x06") {
            "空的压缩包".to_string()
        } else if bytes.starts_with(b"{\\rtf") {
            "RTF文档".to_string()
        } else if bytes.starts_with(b"\xFF\xD8\xFF")
            || bytes.starts_with(b"\x89PNG")
            || bytes.starts_with(b"GIF8")
        {
            "图片".to_string()
        } else if std::str::from_utf8(&bytes[..bytes.len().min(512)]).is_ok() {
            "文本文件".to_string()
        } else {
            "未知格式的文件".to_string()
        };
        return Err(OpenError::NotWorkbook(what));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| OpenError::Damaged(format!("压缩结构错误：{e}")))?;
    // An Office Open XML package: its main part is named by the package relationships.
    match package::main_part(&mut archive) {
        Some(main) if main.ends_with(".bin") && package::find(&archive, &main).is_some() => {
            return Ok((Format::Xlsb, Some(archive)));
        }
        Some(main) if package::find(&archive, &main).is_some() => {
            let types =
                package::read_small(&mut archive, "[Content_Types].xml").unwrap_or_default();
            if types.contains("spreadsheetml") || types.contains("ms-excel") {
                return Ok((Format::Xlsx, Some(archive)));
            }
        }
        _ => {}
    }
    // Packages without usable relationships, where the usual paths still tell.
    if package::find(&archive, "xl/workbook.xml").is_some() {
        return Ok((Format::Xlsx, Some(archive)));
    }
    if package::find(&archive, "xl/workbook.bin").is_some() {
        return Ok((Format::Xlsb, Some(archive)));
    }
    let mime = package::read_small(&mut archive, "mimetype");
    if let Some(mime) = mime {
        if mime.trim() == "application/vnd.oasis.opendocument.spreadsheet" {
            // An encrypted OpenDocument keeps its manifest in the clear and says so there.
            let manifest = package::read_small(&mut archive, "META-INF/manifest.xml");
            if manifest.is_some_and(|m| m.contains("encryption-data")) {
                return Err(OpenError::Password);
            }
            return Ok((Format::Ods, Some(archive)));
        }
        return Err(OpenError::NotWorkbook(
            "OpenDocument文档（不是表格）".to_string(),
        ));
    }
    if package::find(&archive, "word/document.xml").is_some() {
        return Err(OpenError::NotWorkbook("Word文档".to_string()));
    }
    if package::find(&archive, "ppt/presentation.xml").is_some() {
        return Err(OpenError::NotWorkbook("PowerPoint演示文稿".to_string()));
    }
    Err(OpenError::NotWorkbook("压缩包".to_string()))
}

/// Checks the entries of a zip-based workbook against the limits before anything is inflated.
/// The sizes the archive declares are then enforced while inflating: the zip reader stops with an
/// error as soon as an entry inflates past its declared size (reported as
/// [`OpenError::Bomb`]), so no entry can inflate past the limits, whatever the archive claims.
fn check_zip(archive: &mut Archive, limits: &Limits) -> Result<(), OpenError> {
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| match e {
            zip::result::ZipError::UnsupportedArchive(m) if m.contains("ncrypt") => {
                OpenError::Password
            }
            other => OpenError::Damaged(format!("压缩条目{i}：{other}")),
        })?;
        if entry.encrypted() {
            return Err(OpenError::Password);
        }
        let size = entry.size();
        if size > limits.max_entry_bytes {
            return Err(OpenError::Bomb {
                what: entry
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|_| format!("#{i}")),
                limit: limits.max_entry_bytes,
            });
        }
        total = total.saturating_add(size);
        if total > limits.max_total_bytes {
            return Err(OpenError::Bomb {
                what: "全部内容".to_string(),
                limit: limits.max_total_bytes,
            });
        }
    }
    Ok(())
}

/// Whether a reader error is the zip reader refusing an entry that inflates past its declared
/// size: a forged archive, treated as a decompression bomb.
fn is_forged_size(message: &str) -> bool {
    message.contains("larger than its declared")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_formats() {
        assert!(is_percent_format("0.00%"));
        assert!(is_percent_format("0%"));
        assert!(!is_percent_format("0.00\"%\""));
        assert!(!is_percent_format("General"));
        assert!(!is_percent_format("0\\%"));
    }

    #[test]
    fn rejects_foreign_bytes() {
        let limits = Limits::default();
        assert_eq!(Workbook::open(b"", limits).err(), Some(OpenError::Empty));
        assert!(matches!(
            Workbook::open(b"%PDF-1.7 ...", limits).err(),
            Some(OpenError::NotWorkbook(_))
        ));
        assert!(matches!(
            Workbook::open(b"PK\x03\x04\x14\x00garbage", limits).err(),
            Some(OpenError::Damaged(_))
        ));
    }
}
