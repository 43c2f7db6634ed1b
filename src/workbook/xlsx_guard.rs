//! A look at an `.xlsx` package before calamine reads it. calamine reserves its shared-string table
//! from the `uniqueCount` the file declares, and copies a font, fill, border and number format into
//! every cell format it reads; a file of a few kilobytes could so make it reserve petabytes (an
//! allocation failure aborts the process) or copy gigabytes. Reading those counts first, and which
//! part each sheet points at, bounds what the workbook may cost.
//!
//! calamine 0.38 allocates from nothing else the file declares on the paths we use: the
//! `<dimension ref>` of a sheet is only kept (the cells are read one by one), and shared formulas
//! are not expanded.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};

use quick_xml::events::{BytesStart, Event};

use super::{Archive, Item, OpenError};

/// Most shared strings a workbook may hold: ten sheets full to the cell limit.
pub(crate) const MAX_SHARED_STRINGS: u64 = 1_000_000;
/// Most cell formats, and most fonts, fills, borders and number formats each: Excel's own limit on
/// the cell formats of a workbook.
pub(crate) const MAX_STYLE_RECORDS: u64 = 65_490;
/// Most bytes of font, fill, border and number-format XML that the cell formats copy together
/// (each cell format holds its own copy of the records it names).
pub(crate) const MAX_STYLE_COPY_BYTES: u64 = 64 * 1024 * 1024;
/// The fewest bytes a `<si/>` or an `<xf/>` takes.
const MIN_RECORD_BYTES: u64 = 5;

/// The zip entries of a package by their name as calamine looks them up: case-insensitively.
struct Entries {
    by_lower: HashMap<String, usize>,
}

impl Entries {
    fn new(archive: &Archive) -> Entries {
        let mut by_lower = HashMap::new();
        for i in 0..archive.len() {
            if let Some(Ok(name)) = archive.name_for_index(i) {
                by_lower.insert(name.replace('\\', "/").to_ascii_lowercase(), i);
            }
        }
        Entries { by_lower }
    }

    fn find(&self, archive: &Archive, path: &str) -> Option<usize> {
        self.by_lower
            .get(&path.to_ascii_lowercase())
            .copied()
            .or_else(|| archive.index_for_name(path))
    }
}

fn xml_reader<R: BufRead>(r: R) -> quick_xml::Reader<R> {
    let mut reader = quick_xml::Reader::from_reader(r);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    reader
}

fn damaged(part: &str, e: impl std::fmt::Display) -> OpenError {
    OpenError::Damaged(format!("XLSX: {part}: {e}"))
}

/// The raw value of the attribute named `local` (any prefix).
fn attr(e: &BytesStart, local: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        let key = a.key.as_ref();
        let key_local = key.rsplit(':').next().unwrap_or(key);
        (key_local == local).then(|| a.value.into_owned())
    })
}

/// A count as calamine reads it: digits after an optional `+`; too many digits count as the most.
fn count(value: &str) -> Option<u64> {
    let digits = value.strip_prefix('+').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u64::MAX))
}

/// Checks the package's shared strings, styles and sheets. Returns nothing to keep: a package that
/// passes is read by calamine as it is.
pub(crate) fn check(archive: &mut Archive) -> Result<(), OpenError> {
    let entries = Entries::new(archive);
    let Some((xl_path, workbook_name)) = office_document(archive, &entries)? else {
        // calamine reports the missing workbook itself.
        return Ok(());
    };
    let sst = format!("{xl_path}sharedStrings.xml");
    if let Some(i) = entries.find(archive, &sst) {
        check_shared_strings(archive, i, &sst)?;
    }
    let styles = format!("{xl_path}styles.xml");
    if let Some(i) = entries.find(archive, &styles) {
        check_styles(archive, i, &styles)?;
    }
    check_sheet_parts(archive, &entries, &xl_path, &workbook_name)
}

/// The folder and name of the workbook part, from the package relationships, as calamine finds it.
fn office_document(
    archive: &mut Archive,
    entries: &Entries,
) -> Result<Option<(String, String)>, OpenError> {
    const RELS: &str = "_rels/.rels";
    let Some(i) = entries.find(archive, RELS) else {
        return Ok(None);
    };
    let entry = archive.by_index(i).map_err(|e| damaged(RELS, e))?;
    let mut reader = xml_reader(BufReader::new(entry));
    let mut buf = Vec::new();
    let mut target = None;
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "Relationship" => {
                let is_doc =
                    attr(&e, "Type").is_some_and(|t| t.ends_with("/relationships/officeDocument"));
                if let (true, Some(t)) = (is_doc, attr(&e, "Target")) {
                    target = Some(quick_xml::escape::unescape(&t).map_or(t.clone(), |u| u.into()));
                }
            }
            Ok(Event::Eof) => break,
            Err(e) => return Err(damaged(RELS, e)),
            _ => {}
        }
    }
    Ok(target.map(|t| {
        let (dir, name) = match t.rfind('/') {
            Some(i) => t.split_at(i + 1),
            None => ("", t.as_str()),
        };
        let name = if name.is_empty() {
            "workbook.xml"
        } else {
            name
        };
        (
            dir.strip_prefix('/').unwrap_or(dir).to_string(),
            name.to_string(),
        )
    }))
}

/// The shared-string table may declare no more strings than its inflated size can hold, nor more
/// than [`MAX_SHARED_STRINGS`]; when its size could hold more, its strings are counted too.
fn check_shared_strings(archive: &mut Archive, index: usize, part: &str) -> Result<(), OpenError> {
    let entry = archive.by_index(index).map_err(|e| damaged(part, e))?;
    let size = entry.size();
    let capacity = size / MIN_RECORD_BYTES;
    let limit = capacity.min(MAX_SHARED_STRINGS);
    let mut reader = xml_reader(BufReader::new(entry));
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "sst" => {
                if let Some(declared) = attr(&e, "uniqueCount").as_deref().and_then(count)
                    && declared > limit
                {
                    return Err(OpenError::TooManyItems {
                        item: Item::SharedStrings,
                        detail: format!(
                            "{part} declares uniqueCount {declared}; its {size} bytes hold at \
                             most {capacity}, the limit is {MAX_SHARED_STRINGS}"
                        ),
                    });
                }
                break;
            }
            // calamine reports a table without its <sst>.
            Ok(Event::Eof) => return Ok(()),
            Err(e) => return Err(damaged(part, e)),
            _ => {}
        }
    }
    if capacity <= MAX_SHARED_STRINGS {
        return Ok(());
    }
    let mut found = 0u64;
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "si" => {
                found += 1;
                if found > MAX_SHARED_STRINGS {
                    return Err(OpenError::TooManyItems {
                        item: Item::SharedStrings,
                        detail: format!("{part} holds over {MAX_SHARED_STRINGS} strings"),
                    });
                }
            }
            Ok(Event::Eof) => return Ok(()),
            Err(e) => return Err(damaged(part, e)),
            _ => {}
        }
    }
}

/// Reads events up to the first end tag named `local`, as calamine's style readers do.
fn skip_to_end<R: BufRead>(
    reader: &mut quick_xml::Reader<R>,
    local: &str,
    buf: &mut Vec<u8>,
    part: &str,
) -> Result<(), OpenError> {
    loop {
        buf.clear();
        match reader.read_event_into(buf) {
            Ok(Event::End(e)) if e.local_name().as_ref() == local => return Ok(()),
            Ok(Event::Eof) => return Ok(()),
            Err(e) => return Err(damaged(part, e)),
            _ => {}
        }
    }
}

/// What the style records cost so far, in calamine's reading order.
#[derive(Default)]
struct StyleCost {
    /// The XML size of each font, fill and border.
    fonts: Vec<u64>,
    fills: Vec<u64>,
    borders: Vec<u64>,
    /// The length of each custom number format's code, by its id.
    number_formats: HashMap<String, u64>,
    cell_formats: u64,
    /// Bytes the cell formats copy from the records they name.
    copied: u64,
}

impl StyleCost {
    fn add_record(&mut self, item: Item, size: u64, part: &str) -> Result<(), OpenError> {
        let list = match item {
            Item::Fonts => &mut self.fonts,
            Item::Fills => &mut self.fills,
            _ => &mut self.borders,
        };
        list.push(size);
        if list.len() as u64 > MAX_STYLE_RECORDS {
            return Err(OpenError::TooManyItems {
                item,
                detail: format!("{part} holds over {MAX_STYLE_RECORDS} {}", item.en()),
            });
        }
        Ok(())
    }

    fn add_cell_format(&mut self, e: &BytesStart, part: &str) -> Result<(), OpenError> {
        self.cell_formats += 1;
        if self.cell_formats > MAX_STYLE_RECORDS {
            return Err(OpenError::TooManyItems {
                item: Item::CellFormats,
                detail: format!("{part} holds over {MAX_STYLE_RECORDS} cell formats (<xf>)"),
            });
        }
        let id = |name: &str| attr(e, name).as_deref().and_then(count);
        let size_of = |list: &[u64], id: Option<u64>| {
            id.and_then(|i| list.get(usize::try_from(i).ok()?))
                .copied()
                .unwrap_or(0)
        };
        let number_format = attr(e, "numFmtId")
            .and_then(|id| self.number_formats.get(&id).copied())
            .unwrap_or(0);
        self.copied = self
            .copied
            .saturating_add(size_of(&self.fonts, id("fontId")))
            .saturating_add(size_of(&self.fills, id("fillId")))
            .saturating_add(size_of(&self.borders, id("borderId")))
            .saturating_add(number_format);
        if self.copied > MAX_STYLE_COPY_BYTES {
            return Err(OpenError::TooManyItems {
                item: Item::CellFormats,
                detail: format!(
                    "the {} cell formats of {part} copy over {MAX_STYLE_COPY_BYTES} bytes of \
                     fonts, fills, borders and number formats",
                    self.cell_formats
                ),
            });
        }
        Ok(())
    }
}

/// Counts the fonts, fills, borders, number formats and cell formats of `styles.xml`, and what the
/// cell formats copy, against [`MAX_STYLE_RECORDS`] and [`MAX_STYLE_COPY_BYTES`].
fn check_styles(archive: &mut Archive, index: usize, part: &str) -> Result<(), OpenError> {
    let entry = archive.by_index(index).map_err(|e| damaged(part, e))?;
    let mut reader = xml_reader(BufReader::new(entry));
    let mut buf = Vec::new();
    let mut cost = StyleCost::default();
    // The block being read: calamine reads each kind of record only inside its own block.
    let mut block: Option<String> = None;
    loop {
        buf.clear();
        let before = reader.buffer_position();
        let (e, empty) = match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => (e.into_owned(), false),
            Ok(Event::Empty(e)) => (e.into_owned(), true),
            Ok(Event::End(e)) => {
                if block.as_deref() == Some(e.local_name().as_ref() as &str) {
                    block = None;
                }
                continue;
            }
            Ok(Event::Eof) => return Ok(()),
            Err(e) => return Err(damaged(part, e)),
            _ => continue,
        };
        let local = e.local_name().as_ref().to_string();
        let declared = match block.as_deref() {
            None => {
                let item = match local.as_str() {
                    "numFmts" => Item::NumberFormats,
                    "fonts" => Item::Fonts,
                    "fills" => Item::Fills,
                    "borders" => Item::Borders,
                    "cellXfs" => Item::CellFormats,
                    _ => continue,
                };
                if !empty {
                    block = Some(local);
                }
                Some((item, attr(&e, "count").as_deref().and_then(count)))
            }
            Some("numFmts") if local == "numFmt" => {
                if let (Some(id), Some(code)) = (attr(&e, "numFmtId"), attr(&e, "formatCode")) {
                    cost.number_formats.insert(id, code.len() as u64);
                    if cost.number_formats.len() as u64 > MAX_STYLE_RECORDS {
                        return Err(OpenError::TooManyItems {
                            item: Item::NumberFormats,
                            detail: format!("{part} holds over {MAX_STYLE_RECORDS} number formats"),
                        });
                    }
                }
                // calamine reads every <numFmt> of the block, nested ones too.
                None
            }
            Some("cellXfs") if local == "xf" => {
                cost.add_cell_format(&e, part)?;
                if !empty {
                    skip_to_end(&mut reader, "xf", &mut buf, part)?;
                }
                None
            }
            Some(b) => {
                let item = match (b, local.as_str()) {
                    ("fonts", "font") => Item::Fonts,
                    ("fills", "fill") => Item::Fills,
                    ("borders", "border") => Item::Borders,
                    _ => continue,
                };
                if !empty {
                    skip_to_end(&mut reader, &local, &mut buf, part)?;
                }
                let size = reader.buffer_position().saturating_sub(before);
                cost.add_record(item, size, part)?;
                None
            }
        };
        if let Some((item, Some(n))) = declared
            && n > MAX_STYLE_RECORDS
        {
            return Err(OpenError::TooManyItems {
                item,
                detail: format!(
                    "{part} declares {n} {}, the limit is {MAX_STYLE_RECORDS}",
                    item.en()
                ),
            });
        }
    }
}

/// No two sheets may point at the same worksheet part: calamine would read it once for each.
fn check_sheet_parts(
    archive: &mut Archive,
    entries: &Entries,
    xl_path: &str,
    workbook_name: &str,
) -> Result<(), OpenError> {
    let wb_part = format!("{xl_path}{workbook_name}");
    let rels_part = format!("{xl_path}_rels/{workbook_name}.rels");
    let (Some(wb), Some(rels)) = (
        entries.find(archive, &wb_part),
        entries.find(archive, &rels_part),
    ) else {
        return Ok(());
    };
    let mut targets: HashMap<String, String> = HashMap::new();
    {
        let entry = archive.by_index(rels).map_err(|e| damaged(&rels_part, e))?;
        let mut reader = xml_reader(BufReader::new(entry));
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_event_into(&mut buf) {
                Ok(Event::Start(e) | Event::Empty(e))
                    if e.local_name().as_ref() == "Relationship" =>
                {
                    if let Some(id) = attr(&e, "Id") {
                        targets.insert(id, attr(&e, "Target").unwrap_or_default());
                    }
                }
                Ok(Event::Eof) => break,
                Err(e) => return Err(damaged(&rels_part, e)),
                _ => {}
            }
        }
    }
    let mut sheets: Vec<(String, String)> = Vec::new();
    {
        let entry = archive.by_index(wb).map_err(|e| damaged(&wb_part, e))?;
        let mut reader = xml_reader(BufReader::new(entry));
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_event_into(&mut buf) {
                Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "sheet" => {
                    let name = attr(&e, "name").unwrap_or_default();
                    if let Some(target) = attr(&e, "id").and_then(|id| targets.get(&id)) {
                        let path = match target.strip_prefix('/') {
                            Some(abs) => abs.to_string(),
                            None => format!("{xl_path}{target}"),
                        };
                        sheets.push((name, path));
                    }
                }
                Ok(Event::Eof) => break,
                Err(e) => return Err(damaged(&wb_part, e)),
                _ => {}
            }
        }
    }
    let mut by_part: HashMap<usize, &str> = HashMap::new();
    for (name, path) in &sheets {
        let Some(i) = entries.find(archive, path) else {
            continue;
        };
        if let Some(first) = by_part.insert(i, name) {
            return Err(OpenError::Damaged(format!(
                "XLSX: sheets \"{first}\" and \"{name}\" both point at the part {path}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_calamine_reads_them() {
        assert_eq!(count("65490"), Some(65_490));
        assert_eq!(count("+12"), Some(12));
        assert_eq!(count("0001"), Some(1));
        assert_eq!(count("99999999999999999999999"), Some(u64::MAX));
        assert_eq!(count("-1"), None);
        assert_eq!(count(""), None);
        assert_eq!(count("12a"), None);
    }

    const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

    /// A package of the parts given, with the relationships a workbook needs.
    fn package(parts: &[(&str, String)]) -> Vec<u8> {
        use std::io::Write;
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        let root = format!(
            "<Relationships><Relationship Id=\"rId1\" Type=\"{REL}/officeDocument\" \
             Target=\"xl/workbook.xml\"/></Relationships>"
        );
        for (name, text) in [("_rels/.rels", &root)]
            .into_iter()
            .chain(parts.iter().map(|(n, t)| (*n, t)))
        {
            z.start_file(name, options).unwrap();
            z.write_all(text.as_bytes()).unwrap();
        }
        z.finish().unwrap().into_inner()
    }

    fn check_package(parts: &[(&str, String)]) -> Result<(), OpenError> {
        let bytes = package(parts);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes[..])).unwrap();
        check(&mut archive)
    }

    fn item_of(r: Result<(), OpenError>) -> Option<Item> {
        match r {
            Err(OpenError::TooManyItems { item, .. }) => Some(item),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn shared_strings_declared_or_held_over_the_limit_are_refused() {
        // Declared within what the part could hold, and over the limit.
        let pad = " ".repeat(6_000_000);
        let declared = format!("<sst xmlns=\"{MAIN}\" uniqueCount=\"1000001\"/>{pad}");
        assert_eq!(
            item_of(check_package(&[("xl/sharedStrings.xml", declared)])),
            Some(Item::SharedStrings)
        );
        // Nothing declared, over the limit held.
        let held = format!("<sst xmlns=\"{MAIN}\">{}</sst>", "<si/>".repeat(1_000_001));
        assert_eq!(
            item_of(check_package(&[("xl/sharedStrings.xml", held)])),
            Some(Item::SharedStrings)
        );
        // A count the part can hold passes.
        let fine = format!("<sst xmlns=\"{MAIN}\" uniqueCount=\"2\"><si><t>a</t></si><si/></sst>");
        assert_eq!(check_package(&[("xl/sharedStrings.xml", fine)]), Ok(()));
    }

    #[test]
    fn style_records_and_their_copies_are_bounded() {
        let styles = |body: &str| format!("<styleSheet xmlns=\"{MAIN}\">{body}</styleSheet>");
        let fonts = styles("<fonts count=\"70000\"><font/></fonts>");
        assert_eq!(
            item_of(check_package(&[("xl/styles.xml", fonts)])),
            Some(Item::Fonts)
        );
        let fills = styles(&format!("<fills>{}</fills>", "<fill/>".repeat(65_491)));
        assert_eq!(
            item_of(check_package(&[("xl/styles.xml", fills)])),
            Some(Item::Fills)
        );
        // A number format of 2 KB copied into 40,000 cell formats: 80 MB.
        let code = "0".repeat(2048);
        let copies = styles(&format!(
            "<numFmts><numFmt numFmtId=\"164\" formatCode=\"{code}\"/></numFmts>\
             <cellXfs>{}</cellXfs>",
            "<xf numFmtId=\"164\"/>".repeat(40_000)
        ));
        assert_eq!(
            item_of(check_package(&[("xl/styles.xml", copies)])),
            Some(Item::CellFormats)
        );
        // Cell formats outside <cellXfs> are not read as such.
        let style_xfs = styles(&format!(
            "<cellStyleXfs>{}</cellStyleXfs>",
            "<xf/>".repeat(70_000)
        ));
        assert_eq!(check_package(&[("xl/styles.xml", style_xfs)]), Ok(()));
    }

    #[test]
    fn sheets_pointing_at_one_part_are_refused() {
        let workbook = format!(
            "<workbook xmlns=\"{MAIN}\" xmlns:r=\"{REL}\"><sheets>\
             <sheet name=\"一\" sheetId=\"1\" r:id=\"rId1\"/>\
             <sheet name=\"二\" sheetId=\"2\" r:id=\"rId2\"/></sheets></workbook>"
        );
        let rels = |second: &str| {
            format!(
                "<Relationships><Relationship Id=\"rId1\" Type=\"{REL}/worksheet\" \
                 Target=\"worksheets/sheet1.xml\"/><Relationship Id=\"rId2\" \
                 Type=\"{REL}/worksheet\" Target=\"{second}\"/></Relationships>"
            )
        };
        let sheet = format!("<worksheet xmlns=\"{MAIN}\"><sheetData/></worksheet>");
        let parts = |second: &str| {
            vec![
                ("xl/workbook.xml", workbook.clone()),
                ("xl/_rels/workbook.xml.rels", rels(second)),
                ("xl/worksheets/sheet1.xml", sheet.clone()),
                ("xl/worksheets/sheet2.xml", sheet.clone()),
            ]
        };
        assert_eq!(check_package(&parts("worksheets/sheet2.xml")), Ok(()));
        for same in ["worksheets/sheet1.xml", "/xl/worksheets/SHEET1.xml"] {
            match check_package(&parts(same)) {
                Err(OpenError::Damaged(m)) => assert!(m.contains("both point at"), "{m}"),
                other => panic!("{same}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_template_passes() {
        let defs = crate::Definitions::embedded();
        let mut wb = crate::forms::blank::build(&defs, crate::FormKind::SelfEvaluation).unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes[..])).unwrap();
        assert_eq!(check(&mut archive), Ok(()));
    }
}
