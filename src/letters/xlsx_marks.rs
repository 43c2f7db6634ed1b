//! Marks added to a department's own `.xlsx`, editing the package itself: each cell in error gets
//! a red fill (a new `<xf>` cloned from the cell's own style, so its number format, font, borders
//! and alignment stay) and a comment (批注: `xl/commentsN.xml` with the legacy VML drawing Excel,
//! WPS and LibreOffice show comments from). Only the parts that must change are rewritten — the
//! sheets carrying marks, `xl/styles.xml`, the sheets' relationships and `[Content_Types].xml` —
//! and inside them only the elements concerned; every other entry of the zip is copied raw, byte
//! for byte. A cell in error that is missing from the file (an empty 项目名称) is created in its
//! row, in column order, with the row when that is missing too.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Cursor, Read, Write};

use anyhow::{Context, bail};
use quick_xml::events::{BytesStart, Event};

use crate::cellref::{Pos, a1};
use crate::util::xml_text;

/// ARGB of the fill of a cell in error (Excel's "light red fill").
pub(crate) const ERROR_FILL_ARGB: &str = "FFFFC7CE";
/// The author shown on every comment.
pub(crate) const AUTHOR: &str = "财政部门审核";

const NS_MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const NS_REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const NS_PKG_REL: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
const REL_COMMENTS: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments";
const REL_VML: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/vmlDrawing";
const REL_STYLES: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles";
const CT_COMMENTS: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml";
const CT_VML: &str = "application/vnd.openxmlformats-officedocument.vmlDrawing";
const CT_STYLES: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml";

/// One mark: a cell, the comment's text, and whether the cell is filled red (a problem of the
/// whole sheet is noted on its title without filling it).
#[derive(Debug, Clone)]
pub(crate) struct Mark {
    pub(crate) pos: Pos,
    pub(crate) text: String,
    pub(crate) fill: bool,
}

/// One element of a part, with where its tag stands in the bytes.
#[derive(Debug, Clone)]
struct El {
    kind: Kind,
    /// Qualified name as written (`x:row` or `row`).
    qname: String,
    local: String,
    /// Byte range of the tag (`<row …>`, `<row …/>` or `</row>`).
    start: usize,
    end: usize,
    /// Nesting depth: the root element is 1.
    depth: usize,
    /// Attributes by qualified name, unescaped.
    attrs: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Start,
    Empty,
    End,
}

impl El {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// An attribute by its local name, whatever its prefix (`r:id`, `id`).
    fn attr_local(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.rsplit(':').next() == Some(local))
            .map(|(_, v)| v.as_str())
    }

    fn prefix(&self) -> &str {
        match self.qname.split_once(':') {
            Some((p, _)) => &self.qname[..p.len() + 1],
            None => "",
        }
    }

    fn opens(&self) -> bool {
        matches!(self.kind, Kind::Start | Kind::Empty)
    }
}

fn attrs_of(e: &BytesStart) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for a in e.attributes() {
        let a = a?;
        let key = a.key.as_ref().to_string();
        let value = a.normalized_value(quick_xml::XmlVersion::Implicit1_0)?;
        out.push((key, value.into_owned()));
    }
    Ok(out)
}

/// The elements of an XML part in document order.
fn elements(xml: &[u8], part: &str) -> anyhow::Result<Vec<El>> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut out = Vec::new();
    let mut depth = 0usize;
    loop {
        let start = reader.buffer_position() as usize;
        let ev = reader
            .read_event()
            .with_context(|| format!("{part}: XML at byte {start}"))?;
        let end = reader.buffer_position() as usize;
        let (kind, qname, attrs) = match &ev {
            Event::Start(e) => {
                depth += 1;
                (Kind::Start, e.name(), attrs_of(e)?)
            }
            Event::Empty(e) => (Kind::Empty, e.name(), attrs_of(e)?),
            Event::End(e) => (Kind::End, e.name(), Vec::new()),
            Event::Eof => break,
            _ => continue,
        };
        let qname = qname.as_ref().to_string();
        let local = qname.rsplit(':').next().unwrap_or(&qname).to_string();
        let d = match kind {
            Kind::Empty => depth + 1,
            _ => depth,
        };
        out.push(El {
            kind,
            qname,
            local,
            start,
            end,
            depth: d,
            attrs,
        });
        if kind == Kind::End {
            depth = depth.saturating_sub(1);
        }
    }
    Ok(out)
}

/// The raw text of a start tag with one attribute set (replaced or added).
fn set_attr(tag: &str, name: &str, value: &str) -> String {
    let bytes = tag.as_bytes();
    let mut search = 0;
    while let Some(i) = tag[search..].find(name).map(|i| i + search) {
        let before_ok = i > 0 && bytes[i - 1].is_ascii_whitespace();
        let rest = tag[i + name.len()..].trim_start();
        if before_ok && rest.starts_with('=') {
            let after_eq = rest[1..].trim_start();
            if let Some(q) = after_eq.chars().next().filter(|c| *c == '"' || *c == '\'') {
                let vstart = tag.len() - after_eq.len() + 1;
                if let Some(len) = tag[vstart..].find(q) {
                    return format!("{}{}{}", &tag[..vstart], value, &tag[vstart + len..]);
                }
            }
        }
        search = i + name.len();
    }
    let cut = if tag.ends_with("/>") {
        tag.len() - 2
    } else {
        tag.len() - 1
    };
    let head = tag[..cut].trim_end();
    format!("{head} {name}=\"{value}\"{}", &tag[cut..])
}

fn esc(s: &str) -> String {
    quick_xml::escape::escape(xml_text(s).as_ref()).into_owned()
}

/// Replacements in a part: (start, end, order among inserts at one place, new text).
#[derive(Default)]
struct Edits(Vec<(usize, usize, u64, String)>);

impl Edits {
    fn replace(&mut self, start: usize, end: usize, text: String) {
        self.0.push((start, end, 0, text));
    }

    fn insert(&mut self, at: usize, order: u64, text: String) {
        self.0.push((at, at, order, text));
    }

    fn apply(mut self, xml: &[u8]) -> Vec<u8> {
        self.0.sort_by_key(|(s, e, o, _)| (*s, *e, *o));
        let mut out = Vec::with_capacity(xml.len() + 1024);
        let mut at = 0;
        for (s, e, _, text) in self.0 {
            if s < at {
                continue;
            }
            out.extend_from_slice(&xml[at..s]);
            out.extend_from_slice(text.as_bytes());
            at = e;
        }
        out.extend_from_slice(&xml[at..]);
        out
    }
}

fn tag_text(xml: &[u8], el: &El) -> String {
    String::from_utf8_lossy(&xml[el.start..el.end]).into_owned()
}

/// The index of the element closing the one at `open` (itself for an empty element).
fn close_of(els: &[El], open: usize) -> usize {
    if els[open].kind == Kind::Empty {
        return open;
    }
    let depth = els[open].depth;
    els[open + 1..]
        .iter()
        .position(|e| e.kind == Kind::End && e.depth == depth)
        .map_or(els.len() - 1, |i| open + 1 + i)
}

/// The zip entries of the package.
struct Package<'a> {
    archive: zip::ZipArchive<Cursor<&'a [u8]>>,
    names: Vec<String>,
    /// Parts rewritten or added, by name.
    changed: BTreeMap<String, Vec<u8>>,
}

impl<'a> Package<'a> {
    fn open(bytes: &'a [u8]) -> anyhow::Result<Package<'a>> {
        let archive = zip::ZipArchive::new(Cursor::new(bytes)).context("reading the zip")?;
        let names = (0..archive.len())
            .map(|i| match archive.name_for_index(i) {
                Some(Ok(n)) => Ok(n.into_owned()),
                _ => Err(anyhow::anyhow!("zip entry {i} has no readable name")),
            })
            .collect::<anyhow::Result<Vec<String>>>()?;
        Ok(Package {
            archive,
            names,
            changed: BTreeMap::new(),
        })
    }

    fn exists(&self, name: &str) -> bool {
        self.changed.contains_key(name) || self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    fn read(&mut self, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
        if let Some(b) = self.changed.get(name) {
            return Ok(Some(b.clone()));
        }
        let Some(real) = self
            .names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(name))
            .cloned()
        else {
            return Ok(None);
        };
        let mut f = self.archive.by_name(&real)?;
        let mut out = Vec::with_capacity(f.size() as usize);
        f.read_to_end(&mut out)
            .with_context(|| format!("reading {real}"))?;
        Ok(Some(out))
    }

    fn put(&mut self, name: &str, bytes: Vec<u8>) {
        let name = self
            .names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(name))
            .cloned()
            .unwrap_or_else(|| name.to_string());
        self.changed.insert(name, bytes);
    }

    /// Writes the package: untouched entries copied raw, in their order; new ones at the end.
    fn finish(mut self) -> anyhow::Result<Vec<u8>> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for i in 0..self.archive.len() {
            let name = self.names[i].clone();
            match self.changed.remove(&name) {
                Some(bytes) => {
                    // A rewritten entry keeps its time.
                    let time = self.archive.by_index_raw(i)?.last_modified();
                    let options = match time {
                        Some(t) => options.last_modified_time(t),
                        None => options,
                    };
                    w.start_file(name.as_str(), options)?;
                    w.write_all(&bytes)?;
                }
                None => {
                    let f = self.archive.by_index_raw(i)?;
                    w.raw_copy_file(f)?;
                }
            }
        }
        for (name, bytes) in std::mem::take(&mut self.changed) {
            w.start_file(name.as_str(), options)?;
            w.write_all(&bytes)?;
        }
        Ok(w.finish()?.into_inner())
    }
}

/// A part's relationships part: `xl/worksheets/sheet1.xml` → `xl/worksheets/_rels/sheet1.xml.rels`.
fn rels_name(part: &str) -> String {
    match part.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/_rels/{file}.rels"),
        None => format!("_rels/{part}.rels"),
    }
}

/// A relationship's target made a part name, relative to the folder of the part `from`.
fn resolve(from: &str, target: &str) -> String {
    if let Some(abs) = target.strip_prefix('/') {
        return abs.to_string();
    }
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for seg in target.split('/') {
        match seg {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// A relationship: id, type, target part.
struct Rel {
    id: String,
    kind: String,
    target: String,
}

fn read_rels(pkg: &mut Package, part: &str) -> anyhow::Result<Vec<Rel>> {
    let name = rels_name(part);
    let Some(xml) = pkg.read(&name)? else {
        return Ok(Vec::new());
    };
    Ok(elements(&xml, &name)?
        .into_iter()
        .filter(|e| e.opens() && e.local == "Relationship")
        .filter(|e| e.attr("TargetMode") != Some("External"))
        .map(|e| Rel {
            id: e.attr("Id").unwrap_or_default().to_string(),
            kind: e.attr("Type").unwrap_or_default().to_string(),
            target: resolve(part, e.attr("Target").unwrap_or_default()),
        })
        .collect())
}

/// Adds relationships to a part's relationships part (created when missing); returns their ids.
fn add_rels(pkg: &mut Package, part: &str, new: &[(&str, String)]) -> anyhow::Result<Vec<String>> {
    let name = rels_name(part);
    let xml = pkg.read(&name)?.unwrap_or_else(|| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"{NS_PKG_REL}\"></Relationships>"
        )
        .into_bytes()
    });
    let els = elements(&xml, &name)?;
    let taken: HashSet<String> = els
        .iter()
        .filter(|e| e.opens() && e.local == "Relationship")
        .filter_map(|e| e.attr("Id").map(str::to_string))
        .collect();
    let root = els
        .iter()
        .position(|e| e.depth == 1 && e.opens())
        .context("relationships without a root")?;
    let prefix = els[root].prefix().to_string();
    let mut ids = Vec::new();
    let mut text = String::new();
    let mut n = 1;
    for (kind, target) in new {
        while taken.contains(&format!("rId{n}")) {
            n += 1;
        }
        let id = format!("rId{n}");
        n += 1;
        text.push_str(&format!(
            "<{prefix}Relationship Id=\"{id}\" Type=\"{kind}\" Target=\"{}\"/>",
            esc(target)
        ));
        ids.push(id);
    }
    let mut edits = Edits::default();
    let close = close_of(&els, root);
    if els[root].kind == Kind::Empty {
        let tag = tag_text(&xml, &els[root]);
        let open = format!("{}>", tag.trim_end_matches("/>").trim_end());
        edits.replace(
            els[root].start,
            els[root].end,
            format!("{open}{text}</{}>", els[root].qname),
        );
    } else {
        edits.insert(els[close].start, 0, text);
    }
    pkg.put(&name, edits.apply(&xml));
    Ok(ids)
}

/// Adds `<Override>`s and `<Default>`s to `[Content_Types].xml`, each unless already there.
fn add_content_types(
    pkg: &mut Package,
    overrides: &[(String, &str)],
    defaults: &[(&str, &str)],
) -> anyhow::Result<()> {
    const NAME: &str = "[Content_Types].xml";
    let xml = pkg.read(NAME)?.context("no [Content_Types].xml")?;
    let els = elements(&xml, NAME)?;
    let root = els
        .iter()
        .position(|e| e.depth == 1 && e.opens())
        .context("[Content_Types].xml without a root")?;
    let prefix = els[root].prefix().to_string();
    let mut text = String::new();
    for (ext, ct) in defaults {
        let there = els.iter().any(|e| {
            e.local == "Default"
                && e.attr("Extension")
                    .is_some_and(|x| x.eq_ignore_ascii_case(ext))
        });
        if !there {
            text.push_str(&format!(
                "<{prefix}Default Extension=\"{ext}\" ContentType=\"{ct}\"/>"
            ));
        }
    }
    for (part, ct) in overrides {
        let name = format!("/{part}");
        let there = els.iter().any(|e| {
            e.local == "Override"
                && e.attr("PartName")
                    .is_some_and(|x| x.eq_ignore_ascii_case(&name))
        });
        if !there {
            text.push_str(&format!(
                "<{prefix}Override PartName=\"{}\" ContentType=\"{ct}\"/>",
                esc(&name)
            ));
        }
    }
    if text.is_empty() {
        return Ok(());
    }
    let close = close_of(&els, root);
    let mut edits = Edits::default();
    if els[root].kind == Kind::Empty {
        let tag = tag_text(&xml, &els[root]);
        let open = format!("{}>", tag.trim_end_matches("/>").trim_end());
        edits.replace(
            els[root].start,
            els[root].end,
            format!("{open}{text}</{}>", els[root].qname),
        );
    } else {
        edits.insert(els[close].start, 0, text);
    }
    pkg.put(NAME, edits.apply(&xml));
    Ok(())
}

/// The sheets of the workbook: name → part.
fn sheet_parts(pkg: &mut Package) -> anyhow::Result<HashMap<String, String>> {
    const WB: &str = "xl/workbook.xml";
    let xml = pkg.read(WB)?.context("no xl/workbook.xml")?;
    let rels = read_rels(pkg, WB)?;
    let mut out = HashMap::new();
    for e in elements(&xml, WB)? {
        if e.opens() && e.local == "sheet" {
            let (Some(name), Some(id)) = (e.attr("name"), e.attr_local("id")) else {
                continue;
            };
            if let Some(r) = rels.iter().find(|r| r.id == id) {
                out.insert(name.to_string(), r.target.clone());
            }
        }
    }
    Ok(out)
}

/// The styles part, created (with its relationship and content type) when the workbook has none.
fn styles_part(pkg: &mut Package) -> anyhow::Result<(String, Vec<u8>)> {
    const WB: &str = "xl/workbook.xml";
    let rels = read_rels(pkg, WB)?;
    if let Some(r) = rels.iter().find(|r| r.kind == REL_STYLES)
        && let Some(xml) = pkg.read(&r.target)?
    {
        return Ok((r.target.clone(), xml));
    }
    let mut n = 1;
    let name = loop {
        let candidate = if n == 1 {
            "xl/styles.xml".to_string()
        } else {
            format!("xl/styles{n}.xml")
        };
        if !pkg.exists(&candidate) {
            break candidate;
        }
        n += 1;
    };
    let target = name.trim_start_matches("xl/").to_string();
    add_rels(pkg, WB, &[(REL_STYLES, target)])?;
    add_content_types(pkg, &[(name.clone(), CT_STYLES)], &[])?;
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<styleSheet xmlns=\"{NS_MAIN}\"><fonts count=\"1\"><font><sz val=\"11\"/><name val=\"宋体\"/></font></fonts><fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill><fill><patternFill patternType=\"gray125\"/></fill></fills><borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs><cellXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/></cellXfs></styleSheet>"
    )
    .into_bytes();
    Ok((name, xml))
}

/// Adds the red fill and, for each style index given, a copy of that cell format with the red
/// fill. Returns the new part and the index of each copy.
fn add_red_styles(
    xml: &[u8],
    from: &[u32],
    part: &str,
) -> anyhow::Result<(Vec<u8>, HashMap<u32, u32>)> {
    let els = elements(xml, part)?;
    let root = els
        .iter()
        .position(|e| e.depth == 1 && e.opens())
        .context("styles without a root")?;
    let p = els[root].prefix().to_string();
    let child = |local: &str| {
        els.iter()
            .position(|e| e.depth == 2 && e.opens() && e.local == local)
    };
    // Where a missing container goes: before the first of the elements that follow it.
    let before = |names: &[&str]| -> usize {
        els.iter()
            .find(|e| e.depth == 2 && e.opens() && names.contains(&e.local.as_str()))
            .map(|e| e.start)
            .unwrap_or_else(|| els[close_of(&els, root)].start)
    };
    let mut edits = Edits::default();

    // The fill.
    let red = format!(
        "<{p}fill><{p}patternFill patternType=\"solid\"><{p}fgColor rgb=\"{ERROR_FILL_ARGB}\"/><{p}bgColor indexed=\"64\"/></{p}patternFill></{p}fill>"
    );
    let defaults = [
        format!("<{p}fill><{p}patternFill patternType=\"none\"/></{p}fill>"),
        format!("<{p}fill><{p}patternFill patternType=\"gray125\"/></{p}fill>"),
    ];
    let fill_id = match child("fills") {
        Some(i) => {
            let count = els[i + 1..close_of(&els, i).max(i + 1)]
                .iter()
                .filter(|e| e.depth == 3 && e.opens() && e.local == "fill")
                .count();
            // Excel reserves fills 0 and 1.
            let pad: String = defaults[count.min(2)..].concat();
            let id = count.max(2);
            let tag = tag_text(xml, &els[i]);
            if els[i].kind == Kind::Empty {
                let open = set_attr(&tag, "count", &(id + 1).to_string());
                let open = format!("{}>", open.trim_end_matches("/>").trim_end());
                edits.replace(
                    els[i].start,
                    els[i].end,
                    format!("{open}{pad}{red}</{}>", els[i].qname),
                );
            } else {
                edits.replace(
                    els[i].start,
                    els[i].end,
                    set_attr(&tag, "count", &(id + 1).to_string()),
                );
                edits.insert(els[close_of(&els, i)].start, 0, format!("{pad}{red}"));
            }
            id
        }
        None => {
            let at = before(&["borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs"]);
            edits.insert(
                at,
                0,
                format!(
                    "<{p}fills count=\"3\">{}{red}</{p}fills>",
                    defaults.concat()
                ),
            );
            2
        }
    };

    // The cell formats.
    let mut map = HashMap::new();
    let mut text = String::new();
    match child("cellXfs") {
        Some(i) => {
            let close = close_of(&els, i);
            let xfs: Vec<usize> = (i + 1..close)
                .filter(|&j| els[j].depth == 3 && els[j].opens() && els[j].local == "xf")
                .collect();
            let mut next = xfs.len() as u32;
            for &s in from {
                let clone = match xfs.get(s as usize) {
                    Some(&j) => {
                        let end = els[close_of(&els, j)].end;
                        let tag = tag_text(xml, &els[j]);
                        let tag = set_attr(&tag, "fillId", &fill_id.to_string());
                        let tag = set_attr(&tag, "applyFill", "1");
                        format!("{tag}{}", String::from_utf8_lossy(&xml[els[j].end..end]))
                    }
                    None => format!(
                        "<{p}xf numFmtId=\"0\" fontId=\"0\" fillId=\"{fill_id}\" borderId=\"0\" xfId=\"0\" applyFill=\"1\"/>"
                    ),
                };
                text.push_str(&clone);
                map.insert(s, next);
                next += 1;
            }
            let tag = tag_text(xml, &els[i]);
            let open = set_attr(&tag, "count", &next.to_string());
            if els[i].kind == Kind::Empty {
                let open = format!("{}>", open.trim_end_matches("/>").trim_end());
                edits.replace(
                    els[i].start,
                    els[i].end,
                    format!("{open}{text}</{}>", els[i].qname),
                );
            } else {
                edits.replace(els[i].start, els[i].end, open);
                edits.insert(els[close].start, 0, text);
            }
        }
        None => {
            // Index 0 stays the default format; the copies follow.
            let mut next = 1;
            for &s in from {
                map.insert(s, next);
                next += 1;
                text.push_str(&format!(
                    "<{p}xf numFmtId=\"0\" fontId=\"0\" fillId=\"{fill_id}\" borderId=\"0\" xfId=\"0\" applyFill=\"1\"/>"
                ));
            }
            let at = before(&["cellStyles", "dxfs", "tableStyles", "colors", "extLst"]);
            edits.insert(
                at,
                1,
                format!(
                    "<{p}cellXfs count=\"{next}\"><{p}xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>{text}</{p}cellXfs>"
                ),
            );
        }
    }
    Ok((edits.apply(xml), map))
}

/// A sheet part read for marking.
struct SheetScan {
    els: Vec<El>,
    /// Rows by number: index of the row element.
    rows: BTreeMap<u32, usize>,
    /// Cells by position: index of the cell element.
    cells: HashMap<Pos, usize>,
    sheet_data: usize,
    /// Column styles: (first, last, style), columns from 0.
    cols: Vec<(u32, u32, u32)>,
}

fn num(s: Option<&str>) -> Option<u32> {
    s.and_then(|v| v.trim().parse().ok())
}

fn scan_sheet(xml: &[u8], part: &str) -> anyhow::Result<SheetScan> {
    let els = elements(xml, part)?;
    let sheet_data = els
        .iter()
        .position(|e| e.depth == 2 && e.opens() && e.local == "sheetData")
        .with_context(|| format!("{part}: no sheetData"))?;
    let mut cols = Vec::new();
    for e in &els {
        if e.depth == 3
            && e.opens()
            && e.local == "col"
            && let (Some(min), Some(max)) = (num(e.attr("min")), num(e.attr("max")))
        {
            let style = num(e.attr("style")).unwrap_or(0);
            cols.push((min.saturating_sub(1), max.saturating_sub(1), style));
        }
    }
    let mut rows = BTreeMap::new();
    let mut cells = HashMap::new();
    let close = close_of(&els, sheet_data);
    let mut row_no: Option<u32> = None;
    let mut col_no: Option<u32> = None;
    let mut cur_row = 0u32;
    for (i, e) in els.iter().enumerate().take(close).skip(sheet_data + 1) {
        if e.depth == 3 && e.opens() && e.local == "row" {
            let r = match e.attr("r").and_then(|r| r.trim().parse::<u32>().ok()) {
                Some(r) if r >= 1 => r - 1,
                _ => row_no.map_or(0, |r| r + 1),
            };
            row_no = Some(r);
            cur_row = r;
            col_no = None;
            rows.insert(r, i);
        } else if e.depth == 4 && e.opens() && e.local == "c" {
            let pos = match e.attr("r").and_then(crate::cellref::parse_a1) {
                Some(p) => p,
                None => (cur_row, col_no.map_or(0, |c| c + 1)),
            };
            col_no = Some(pos.1);
            cells.entry(pos).or_insert(i);
        }
    }
    Ok(SheetScan {
        els,
        rows,
        cells,
        sheet_data,
        cols,
    })
}

impl SheetScan {
    /// The style a cell shows: its own, or for a cell not in the file the row's or column's.
    fn style_at(&self, pos: Pos) -> u32 {
        if let Some(&el) = self.cells.get(&pos) {
            return num(self.els[el].attr("s")).unwrap_or(0);
        }
        let row_style = self.rows.get(&pos.0).and_then(|&i| {
            let e = &self.els[i];
            matches!(e.attr("customFormat"), Some("1" | "true"))
                .then(|| num(e.attr("s")))
                .flatten()
        });
        let col_style = self
            .cols
            .iter()
            .find(|(a, b, _)| (*a..=*b).contains(&pos.1))
            .map(|c| c.2);
        row_style.or(col_style).unwrap_or(0)
    }
}

/// The sheet with the marked cells restyled or created, and `<legacyDrawing>` added when `rid`.
fn mark_sheet(
    xml: &[u8],
    scan: &SheetScan,
    styles: &BTreeMap<Pos, u32>,
    legacy_rid: Option<&str>,
) -> Vec<u8> {
    let els = &scan.els;
    let p = els[scan.sheet_data].prefix().to_string();
    let mut edits = Edits::default();
    // Missing cells by row, in column order.
    let mut missing: BTreeMap<u32, Vec<(u32, u32)>> = BTreeMap::new();
    for (&pos, &style) in styles {
        match scan.cells.get(&pos) {
            Some(&el) => {
                let tag = tag_text(xml, &els[el]);
                edits.replace(
                    els[el].start,
                    els[el].end,
                    set_attr(&tag, "s", &style.to_string()),
                );
            }
            None => missing.entry(pos.0).or_default().push((pos.1, style)),
        }
    }
    let new_cell =
        |row: u32, col: u32, s: u32| format!("<{p}c r=\"{}\" s=\"{s}\"/>", a1((row, col)));
    let data_close = close_of(els, scan.sheet_data);
    let mut new_rows = String::new();
    let mut new_rows_at: Option<usize> = None;
    for (row, mut cols) in missing {
        cols.sort_unstable();
        match scan.rows.get(&row) {
            Some(&ri) => {
                let rclose = close_of(els, ri);
                if els[ri].kind == Kind::Empty {
                    let tag = tag_text(xml, &els[ri]);
                    let open = format!("{}>", tag.trim_end_matches("/>").trim_end());
                    let cells: String = cols.iter().map(|(c, s)| new_cell(row, *c, *s)).collect();
                    edits.replace(
                        els[ri].start,
                        els[ri].end,
                        format!("{open}{cells}</{}>", els[ri].qname),
                    );
                    continue;
                }
                for (col, s) in cols {
                    // Before the first cell of the row to its right, else at the row's end.
                    let at = scan
                        .cells
                        .iter()
                        .filter(|(p, i)| p.0 == row && p.1 > col && **i > ri && **i < rclose)
                        .map(|(_, i)| els[*i].start)
                        .min()
                        .unwrap_or(els[rclose].start);
                    edits.insert(at, u64::from(col), new_cell(row, col, s));
                }
            }
            None => {
                let cells: String = cols.iter().map(|(c, s)| new_cell(row, *c, *s)).collect();
                let text = format!("<{p}row r=\"{}\">{cells}</{p}row>", row + 1);
                let at = scan
                    .rows
                    .range(row + 1..)
                    .next()
                    .map(|(_, i)| els[*i].start);
                match at {
                    Some(at) => edits.insert(at, u64::from(row), text),
                    None if els[scan.sheet_data].kind == Kind::Empty => {
                        new_rows.push_str(&text);
                        new_rows_at = Some(scan.sheet_data);
                    }
                    None => edits.insert(els[data_close].start, u64::from(row), text),
                }
            }
        }
    }
    if let Some(i) = new_rows_at {
        let tag = tag_text(xml, &els[i]);
        let open = format!("{}>", tag.trim_end_matches("/>").trim_end());
        edits.replace(
            els[i].start,
            els[i].end,
            format!("{open}{new_rows}</{}>", els[i].qname),
        );
    }
    if let Some(rid) = legacy_rid {
        // CT_Worksheet: legacyDrawing comes after drawing and before these.
        const AFTER: [&str; 8] = [
            "legacyDrawingHF",
            "drawingHF",
            "picture",
            "oleObjects",
            "controls",
            "webPublishItems",
            "tableParts",
            "extLst",
        ];
        let root = els
            .iter()
            .position(|e| e.depth == 1 && e.opens())
            .unwrap_or(0);
        let at = els
            .iter()
            .find(|e| e.depth == 2 && e.opens() && AFTER.contains(&e.local.as_str()))
            .map(|e| e.start)
            .unwrap_or_else(|| els[close_of(els, root)].start);
        let declared = els[root]
            .attrs
            .iter()
            .any(|(k, v)| k == "xmlns:r" && v == NS_REL);
        let ns = if declared {
            String::new()
        } else {
            format!(" xmlns:r=\"{NS_REL}\"")
        };
        edits.insert(
            at,
            u64::MAX,
            format!("<{p}legacyDrawing{ns} r:id=\"{rid}\"/>"),
        );
    }
    edits.apply(xml)
}

fn comment_runs(p: &str, text: &str) -> String {
    format!(
        "<{p}r><{p}rPr><{p}sz val=\"9\"/><{p}rFont val=\"宋体\"/><{p}charset val=\"134\"/></{p}rPr><{p}t xml:space=\"preserve\">{}</{p}t></{p}r>",
        esc(text)
    )
}

/// A new comments part holding the marks.
fn new_comments(marks: &BTreeMap<Pos, String>) -> Vec<u8> {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<comments xmlns=\"{NS_MAIN}\"><authors><author>{AUTHOR}</author></authors><commentList>"
    );
    for (pos, text) in marks {
        s.push_str(&format!(
            "<comment ref=\"{}\" authorId=\"0\"><text>{}</text></comment>",
            a1(*pos),
            comment_runs("", text)
        ));
    }
    s.push_str("</commentList></comments>");
    s.into_bytes()
}

/// An existing comments part with the marks added: a cell already commented gets the text
/// appended to its comment. Returns the part and the cells that had no comment before.
fn add_comments(
    xml: &[u8],
    marks: &BTreeMap<Pos, String>,
    part: &str,
) -> anyhow::Result<(Vec<u8>, Vec<Pos>)> {
    let els = elements(xml, part)?;
    let root = els
        .iter()
        .position(|e| e.depth == 1 && e.opens())
        .context("comments without a root")?;
    let p = els[root].prefix().to_string();
    let mut edits = Edits::default();
    let authors: Vec<usize> = els
        .iter()
        .enumerate()
        .filter(|(_, e)| e.depth == 3 && e.kind == Kind::Start && e.local == "author")
        .map(|(i, _)| i)
        .collect();
    let mut author_id = None;
    for (n, &i) in authors.iter().enumerate() {
        let close = close_of(&els, i);
        if &xml[els[i].end..els[close].start] == AUTHOR.as_bytes() {
            author_id = Some(n);
        }
    }
    let author_count = els
        .iter()
        .filter(|e| e.depth == 3 && e.opens() && e.local == "author")
        .count();
    let author_id = match author_id {
        Some(n) => n,
        None => {
            let text = format!("<{p}author>{AUTHOR}</{p}author>");
            match els
                .iter()
                .position(|e| e.depth == 2 && e.opens() && e.local == "authors")
            {
                Some(i) if els[i].kind == Kind::Start => {
                    edits.insert(els[close_of(&els, i)].start, 0, text)
                }
                Some(i) => edits.replace(
                    els[i].start,
                    els[i].end,
                    format!("<{p}authors>{text}</{p}authors>"),
                ),
                None => edits.insert(els[root].end, 0, format!("<{p}authors>{text}</{p}authors>")),
            }
            author_count
        }
    };
    let mut existing: HashMap<Pos, usize> = HashMap::new();
    for (i, e) in els.iter().enumerate() {
        if e.depth == 3
            && e.opens()
            && e.local == "comment"
            && let Some(pos) = e.attr("ref").and_then(crate::cellref::parse_a1)
        {
            existing.insert(pos, i);
        }
    }
    let mut added = Vec::new();
    let mut list = String::new();
    for (pos, text) in marks {
        match existing.get(pos) {
            Some(&i) => {
                // Append to the comment's text.
                let close = close_of(&els, i);
                let t = els[i..close]
                    .iter()
                    .position(|e| e.local == "text" && e.opens())
                    .map(|k| i + k);
                if let Some(t) = t.filter(|&t| els[t].kind == Kind::Start) {
                    let tclose = close_of(&els, t);
                    edits.insert(els[tclose].start, 0, comment_runs(&p, &format!("\n{text}")));
                }
            }
            None => {
                added.push(*pos);
                list.push_str(&format!(
                    "<{p}comment ref=\"{}\" authorId=\"{author_id}\"><{p}text>{}</{p}text></{p}comment>",
                    a1(*pos),
                    comment_runs(&p, text)
                ));
            }
        }
    }
    if !list.is_empty() {
        match els
            .iter()
            .position(|e| e.depth == 2 && e.opens() && e.local == "commentList")
        {
            Some(i) if els[i].kind == Kind::Start => {
                edits.insert(els[close_of(&els, i)].start, 0, list)
            }
            Some(i) => edits.replace(
                els[i].start,
                els[i].end,
                format!("<{p}commentList>{list}</{p}commentList>"),
            ),
            None => edits.insert(
                els[close_of(&els, root)].start,
                0,
                format!("<{p}commentList>{list}</{p}commentList>"),
            ),
        }
    }
    Ok((edits.apply(xml), added))
}

const SHAPETYPE: &str = "<v:shapetype id=\"_x0000_t202\" coordsize=\"21600,21600\" o:spt=\"202\" path=\"m,l,21600r21600,l21600,xe\"><v:stroke joinstyle=\"miter\"/><v:path gradientshapeok=\"t\" o:connecttype=\"rect\"/></v:shapetype>";

/// The VML shape that shows the comment of a cell (hidden until the pointer rests on the cell).
fn vml_shape(id: u32, pos: Pos, text: &str) -> String {
    // Size the box to the text: about 18 characters a line in five columns' width.
    let lines: usize = text
        .split('\n')
        .map(|l| l.chars().count().div_ceil(18).max(1))
        .sum();
    let rows = (lines as u32 + 1).clamp(3, 30);
    let (row, col) = pos;
    let top = row.saturating_sub(1);
    format!(
        "<v:shape id=\"_x0000_s{id}\" type=\"#_x0000_t202\" style=\"position:absolute;margin-left:80pt;margin-top:2pt;width:240pt;height:{h}pt;z-index:{id};visibility:hidden\" fillcolor=\"#ffffe1\" o:insetmode=\"auto\"><v:fill color2=\"#ffffe1\"/><v:shadow on=\"t\" color=\"black\" obscured=\"t\"/><v:path o:connecttype=\"none\"/><v:textbox style=\"mso-direction-alt:auto\"><div style=\"text-align:left\"></div></v:textbox><x:ClientData ObjectType=\"Note\"><x:MoveWithCells/><x:SizeWithCells/><x:Anchor>{c1}, 15, {top}, 2, {c2}, 15, {r2}, 4</x:Anchor><x:AutoFill>False</x:AutoFill><x:Row>{row}</x:Row><x:Column>{col}</x:Column></x:ClientData></v:shape>",
        h = rows * 15,
        c1 = col + 1,
        c2 = col + 5,
        r2 = top + rows,
    )
}

fn new_vml(drawing: u32, shapes: &str) -> Vec<u8> {
    format!(
        "<xml xmlns:v=\"urn:schemas-microsoft-com:vml\" xmlns:o=\"urn:schemas-microsoft-com:office:office\" xmlns:x=\"urn:schemas-microsoft-com:office:excel\"><o:shapelayout v:ext=\"edit\"><o:idmap v:ext=\"edit\" data=\"{drawing}\"/></o:shapelayout>{SHAPETYPE}{shapes}</xml>"
    )
    .into_bytes()
}

/// The largest number in `_x0000_sNNNN` shape ids of a VML part.
fn max_shape_id(vml: &[u8]) -> u32 {
    let text = String::from_utf8_lossy(vml);
    text.match_indices("_x0000_s")
        .filter_map(|(i, m)| {
            let digits: String = text[i + m.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .max()
        .unwrap_or(0)
}

/// Adds the marks to the `.xlsx` in `original`: `marks` by sheet name. Sheets that are not in
/// the workbook are skipped. Every part not concerned is copied unchanged.
pub(crate) fn mark(
    original: &[u8],
    marks: &BTreeMap<String, Vec<Mark>>,
) -> anyhow::Result<Vec<u8>> {
    let mut pkg = Package::open(original)?;
    let sheets = sheet_parts(&mut pkg)?;
    // Read the sheets first: the styles to copy are known only then.
    struct Job {
        part: String,
        xml: Vec<u8>,
        scan: SheetScan,
        fills: BTreeMap<Pos, u32>,
        notes: BTreeMap<Pos, String>,
    }
    let mut jobs = Vec::new();
    for (sheet, ms) in marks {
        let Some(part) = sheets.get(sheet) else {
            tracing::warn!(sheet = %sheet, "annotated workbook: no such sheet; marks left out");
            continue;
        };
        let xml = pkg
            .read(part)?
            .with_context(|| format!("no part {part} for sheet {sheet}"))?;
        let scan = scan_sheet(&xml, part)?;
        let mut fills = BTreeMap::new();
        let mut notes: BTreeMap<Pos, String> = BTreeMap::new();
        for m in ms {
            if m.fill {
                fills.insert(m.pos, scan.style_at(m.pos));
            }
            let note = notes.entry(m.pos).or_default();
            if !note.is_empty() {
                note.push('\n');
            }
            note.push_str(&m.text);
        }
        jobs.push(Job {
            part: part.clone(),
            xml,
            scan,
            fills,
            notes,
        });
    }
    if jobs.is_empty() {
        bail!("none of the sheets to mark is in the workbook");
    }

    // Styles: one red copy of each style in use at a marked cell.
    let from: Vec<u32> = jobs
        .iter()
        .flat_map(|j| j.fills.values().copied())
        .collect::<std::collections::BTreeSet<u32>>()
        .into_iter()
        .collect();
    let (styles_name, styles_xml) = styles_part(&mut pkg)?;
    let (styles_xml, red) = add_red_styles(&styles_xml, &from, &styles_name)?;
    pkg.put(&styles_name, styles_xml);

    let mut overrides: Vec<(String, &str)> = Vec::new();
    let mut need_vml_default = false;
    for job in jobs {
        let restyled: BTreeMap<Pos, u32> = job
            .fills
            .iter()
            .map(|(p, s)| (*p, red.get(s).copied().unwrap_or(*s)))
            .collect();
        let rels = read_rels(&mut pkg, &job.part)?;
        let comments = rels
            .iter()
            .find(|r| r.kind == REL_COMMENTS)
            .map(|r| r.target.clone());
        // The sheet's VML drawing, when it has one (comments or controls).
        let legacy = job
            .scan
            .els
            .iter()
            .find(|e| e.depth == 2 && e.opens() && e.local == "legacyDrawing")
            .and_then(|e| e.attr_local("id"))
            .and_then(|id| rels.iter().find(|r| r.id == id))
            .map(|r| r.target.clone());

        // Comments.
        let (new_cells, comments_rel) = match comments.as_deref().map(|c| (c, pkg.exists(c))) {
            Some((c, true)) => {
                let xml = pkg.read(c)?.unwrap_or_default();
                let (xml, added) = add_comments(&xml, &job.notes, c)?;
                pkg.put(c, xml);
                (added, None)
            }
            _ => {
                let mut n = 1;
                while pkg.exists(&format!("xl/comments{n}.xml")) {
                    n += 1;
                }
                let name = format!("xl/comments{n}.xml");
                pkg.put(&name, new_comments(&job.notes));
                overrides.push((name.clone(), CT_COMMENTS));
                (job.notes.keys().copied().collect(), Some(name))
            }
        };

        // VML shapes for the cells that had no comment.
        let shapes_for = |base: u32| -> String {
            new_cells
                .iter()
                .enumerate()
                .map(|(k, pos)| {
                    vml_shape(
                        base + k as u32 + 1,
                        *pos,
                        job.notes.get(pos).map_or("", String::as_str),
                    )
                })
                .collect()
        };
        let mut legacy_rid = None;
        let mut new_rels: Vec<(&str, String)> = Vec::new();
        if let Some(c) = &comments_rel {
            new_rels.push((REL_COMMENTS, relative(&job.part, c)));
        }
        match legacy.filter(|v| pkg.exists(v)) {
            Some(v) => {
                let vml = pkg.read(&v)?.unwrap_or_default();
                let base = max_shape_id(&vml).max(1024);
                let mut add = shapes_for(base);
                if !String::from_utf8_lossy(&vml).contains("_x0000_t202") {
                    add = format!("{SHAPETYPE}{add}");
                }
                let at = memchr::memmem::rfind(&vml, b"</xml>").unwrap_or(vml.len());
                let mut out = vml[..at].to_vec();
                out.extend_from_slice(add.as_bytes());
                out.extend_from_slice(&vml[at..]);
                pkg.put(&v, out);
            }
            None => {
                let mut n = 1;
                while pkg.exists(&format!("xl/drawings/vmlDrawing{n}.vml")) {
                    n += 1;
                }
                let name = format!("xl/drawings/vmlDrawing{n}.vml");
                // Shape ids: 1024 a drawing, as Excel numbers them.
                pkg.put(&name, new_vml(n, &shapes_for(1024 * n)));
                need_vml_default = true;
                overrides.push((name.clone(), CT_VML));
                new_rels.push((REL_VML, relative(&job.part, &name)));
                legacy_rid = Some(new_rels.len() - 1);
            }
        }
        let ids = if new_rels.is_empty() {
            Vec::new()
        } else {
            add_rels(&mut pkg, &job.part, &new_rels)?
        };
        let rid = legacy_rid.and_then(|i| ids.get(i)).map(String::as_str);
        let sheet = mark_sheet(&job.xml, &job.scan, &restyled, rid);
        pkg.put(&job.part, sheet);
    }
    // Each VML part gets an Override of its own; the `vml` Default is what Excel writes too.
    let defaults: &[(&str, &str)] = if need_vml_default {
        &[("vml", CT_VML)]
    } else {
        &[]
    };
    add_content_types(&mut pkg, &overrides, defaults)?;
    pkg.finish()
}

/// The target of a relationship from `from` to the part `to` (both part names).
fn relative(from: &str, to: &str) -> String {
    let from_dir: Vec<&str> = from.split('/').collect();
    let from_dir = &from_dir[..from_dir.len().saturating_sub(1)];
    let to_parts: Vec<&str> = to.split('/').collect();
    let common = from_dir
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut out: Vec<&str> = vec![".."; from_dir.len() - common];
    out.extend_from_slice(&to_parts[common..]);
    out.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_set_in_the_raw_tag() {
        assert_eq!(
            set_attr("<c r=\"B4\" s=\"6\" t=\"n\">", "s", "12"),
            "<c r=\"B4\" s=\"12\" t=\"n\">"
        );
        assert_eq!(set_attr("<c r=\"B4\"/>", "s", "3"), "<c r=\"B4\" s=\"3\"/>");
        assert_eq!(
            set_attr("<xf fillId='0' numFmtId=\"9\">", "fillId", "2"),
            "<xf fillId='2' numFmtId=\"9\">"
        );
        // A name inside another attribute's name is not it.
        assert_eq!(
            set_attr("<cellXfs xcount=\"1\">", "count", "2"),
            "<cellXfs xcount=\"1\" count=\"2\">"
        );
    }

    fn part(bytes: &[u8], name: &str) -> String {
        let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut s = String::new();
        z.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        // Every part stays well-formed.
        elements(s.as_bytes(), name).unwrap();
        s
    }

    #[test]
    fn marks_join_existing_comments_and_create_missing_rows() {
        // A workbook with a value in A1, a comment of its own on C3 and nothing below row 3.
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet().set_name("表").unwrap();
        ws.write_number(0, 0, 0.5).unwrap();
        ws.write_string(2, 2, "原值").unwrap();
        ws.insert_note(2, 2, &rust_xlsxwriter::Note::new("单位自己的批注"))
            .unwrap();
        let original = wb.save_to_buffer().unwrap();
        let long = format!("a\u{1}b\u{b}{}", "长".repeat(40_000));
        let marks: BTreeMap<String, Vec<Mark>> = [(
            "表".to_string(),
            vec![
                Mark {
                    pos: (0, 0),
                    text: "甲：请改".into(),
                    fill: true,
                },
                Mark {
                    pos: (2, 2),
                    text: "乙：请改".into(),
                    fill: true,
                },
                Mark {
                    pos: (4, 1),
                    text: long,
                    fill: true,
                },
                Mark {
                    pos: (0, 0),
                    text: "丙：也请改".into(),
                    fill: true,
                },
            ],
        )]
        .into();
        let out = mark(&original, &marks).unwrap();
        let sheet = part(&out, "xl/worksheets/sheet1.xml");
        assert_eq!(sheet.matches("<legacyDrawing").count(), 1, "{sheet}");
        let b5 = sheet
            .find("<row r=\"5\"><c r=\"B5\" s=\"")
            .expect("row 5 created");
        assert!(sheet.find("r=\"C3\"").unwrap() < b5);
        let comments = part(&out, "xl/comments1.xml");
        assert_eq!(comments.matches("<comment ").count(), 3, "{comments}");
        assert!(comments.contains("单位自己的批注") && comments.contains("乙：请改"));
        assert!(comments.contains("甲：请改\n丙：也请改"));
        assert!(comments.contains(&format!("ab{}", "长".repeat(100))));
        assert!(!comments.contains('\u{1}') && !comments.contains('\u{b}'));
        let vml = part(&out, "xl/drawings/vmlDrawing1.vml");
        assert_eq!(vml.matches("<v:shape ").count(), 3, "one shape a comment");
        // The red copies keep the number format of A1's style.
        let styles = part(&out, "xl/styles.xml");
        assert!(styles.contains(ERROR_FILL_ARGB));
        // The value is read back unchanged.
        let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(out)).unwrap();
        use calamine::Reader;
        let range = book.worksheet_range("表").unwrap();
        assert_eq!(range.get_value((0, 0)), Some(&calamine::Data::Float(0.5)));
    }

    /// An XML part written with the main namespace on an `x:` prefix, as the Open XML SDK does.
    fn prefixed(xml: &str) -> String {
        let mut out = String::new();
        let mut chars = xml.chars().peekable();
        while let Some(c) = chars.next() {
            out.push(c);
            if c == '<' {
                match chars.peek() {
                    Some('/') => {
                        out.push('/');
                        chars.next();
                        out.push_str("x:");
                    }
                    Some(c) if c.is_ascii_alphabetic() => out.push_str("x:"),
                    _ => {}
                }
            }
        }
        out.replace(" xmlns=\"", " xmlns:x=\"")
    }

    #[test]
    fn prefixed_parts_get_prefixed_elements() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "名称").unwrap();
        ws.write_string(3, 0, "下").unwrap();
        let plain = wb.save_to_buffer().unwrap();
        let mut pkg = Package::open(&plain).unwrap();
        for name in ["xl/worksheets/sheet1.xml", "xl/styles.xml"] {
            let xml = String::from_utf8(pkg.read(name).unwrap().unwrap()).unwrap();
            pkg.put(name, prefixed(&xml).into_bytes());
        }
        let original = pkg.finish().unwrap();
        let marks: BTreeMap<String, Vec<Mark>> = [(
            "Sheet1".to_string(),
            vec![
                Mark {
                    pos: (0, 1),
                    text: "名称：请填写".into(),
                    fill: true,
                },
                Mark {
                    pos: (1, 2),
                    text: "另一处".into(),
                    fill: true,
                },
            ],
        )]
        .into();
        let out = mark(&original, &marks).unwrap();
        let sheet = part(&out, "xl/worksheets/sheet1.xml");
        assert!(sheet.contains("<x:c r=\"B1\" s=\""), "{sheet}");
        assert!(
            sheet.contains("<x:row r=\"2\"><x:c r=\"C2\" s=\""),
            "{sheet}"
        );
        assert!(sheet.contains("<x:legacyDrawing r:id=\"rId"), "{sheet}");
        let styles = part(&out, "xl/styles.xml");
        assert!(styles.contains("<x:fgColor rgb=\"FFFFC7CE\"/>"), "{styles}");
        assert!(
            !styles.contains("<fill>") && !styles.contains("<xf "),
            "{styles}"
        );
    }

    #[test]
    fn relationship_targets() {
        assert_eq!(
            relative("xl/worksheets/sheet1.xml", "xl/comments1.xml"),
            "../comments1.xml"
        );
        assert_eq!(
            relative("xl/worksheets/sheet1.xml", "xl/drawings/vmlDrawing1.vml"),
            "../drawings/vmlDrawing1.vml"
        );
        assert_eq!(
            resolve("xl/worksheets/sheet1.xml", "../comments1.xml"),
            "xl/comments1.xml"
        );
        assert_eq!(
            resolve("xl/workbook.xml", "/xl/styles.xml"),
            "xl/styles.xml"
        );
        assert_eq!(
            resolve("xl/workbook.xml", "worksheets/sheet2.xml"),
            "xl/worksheets/sheet2.xml"
        );
        assert_eq!(
            rels_name("xl/worksheets/sheet1.xml"),
            "xl/worksheets/_rels/sheet1.xml.rels"
        );
    }
}
