//! The annotated workbook of a return notice is the department's own file with only the marks
//! added. For every rejected fixture (examples, variants and the LibreOffice-saved `.xlsx`, `.xls`
//! and `.ods`): every value of every sheet at the same address, the original merged ranges, each
//! cell in error red (through its `s=` index into styles.xml) with a comment carrying the message;
//! for an `.xlsx`, every zip entry other than the edited ones byte for byte the original's.
//! Correcting only the marked cells makes a copy pass `check`. LibreOffice opens the copies and
//! reads the comments (skipped unless installed, as in `tests/letters_external.rs`).

mod external;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use calamine::{Data, Reader};
use chrono::NaiveDate;
use jixiao::letters::{LetterInput, LetterSettings, Letters};
use jixiao::workbook::Workbook;
use jixiao::{Checked, Checker, Definitions, Limits};
use quick_xml::events::Event;

/// `E8` → (7, 4).
fn parse_a1(a1: &str) -> Option<(u32, u32)> {
    let split = a1.find(|c: char| c.is_ascii_digit())?;
    let col = a1[..split]
        .bytes()
        .fold(0u32, |n, b| n * 26 + u32::from(b - b'A' + 1));
    let row: u32 = a1[split..].parse().ok()?;
    Some((row - 1, col - 1))
}

fn checker() -> Checker {
    Checker::new(Definitions::embedded(), Limits::default())
}

/// The annotated workbook the return notice for `original` carries.
fn annotate(c: &Checked, file_name: &str, original: &[u8]) -> Option<Vec<u8>> {
    let defs = Definitions::embedded();
    let settings = LetterSettings::default();
    let letters = Letters::load(None).expect("templates");
    let input = LetterInput {
        reviewer: None,
        settings: &settings,
        defs: &defs,
        department: "吉林省教育厅",
        file_name,
        result: &c.result,
        form: c.form.as_deref(),
        number: None,
        date: NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
        extra_findings: &[],
        original: jixiao::letters::Original::Bytes(original),
    };
    letters
        .render(&input)
        .expect("letter renders")
        .annotated_xlsx
        .map(|(_, b)| b)
}

/// Every fixture `check` rejects with a form identified.
fn rejected() -> Vec<(PathBuf, Checked)> {
    let checker = checker();
    let mut out = Vec::new();
    for dir in ["examples", "variants", "libreoffice"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(Path::new("tests/fixtures").join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.extension()
                    .is_some_and(|e| e == "xlsx" || e == "xls" || e == "ods")
            })
            .collect();
        paths.sort();
        for p in paths {
            let c = checker.check_path(&p, &p.display().to_string());
            if !c.result.accepted() && c.result.form.is_some() {
                out.push((p, c));
            }
        }
    }
    out
}

/// A cell value as compared: text, number, truth value or error text.
#[derive(Debug, Clone, PartialEq)]
enum V {
    S(String),
    N(f64),
    B(bool),
}

fn v(d: &Data) -> Option<V> {
    Some(match d {
        Data::Empty => return None,
        Data::String(s) if s.trim().is_empty() => return None,
        Data::String(s) => V::S(s.clone()),
        Data::Float(f) => V::N(*f),
        Data::Int(i) => V::N(*i as f64),
        Data::Bool(b) => V::B(*b),
        Data::DateTime(d) => V::N(d.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => V::S(s.clone()),
        Data::Error(e) => V::S(e.to_string()),
    })
}

/// Every non-empty cell of every sheet, by sheet name, read with calamine.
fn values(bytes: &[u8]) -> BTreeMap<String, BTreeMap<(u32, u32), V>> {
    let mut wb = calamine::open_workbook_auto_from_rs(Cursor::new(bytes.to_vec())).expect("opens");
    let mut out = BTreeMap::new();
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name).expect("sheet");
        let (r0, c0) = range.start().unwrap_or((0, 0));
        let cells = range
            .used_cells()
            .filter_map(|(r, c, d)| Some(((r0 + r as u32, c0 + c as u32), v(d)?)))
            .collect();
        out.insert(name, cells);
    }
    out
}

/// The merged ranges of a sheet, as jixiao's reader sees them.
fn merges(bytes: &[u8], sheet: &str) -> BTreeSet<((u32, u32), (u32, u32))> {
    let mut wb = Workbook::open(bytes, Limits::default()).expect("opens");
    let mut s = wb.load_sheet(sheet).expect("sheet");
    wb.load_merges(&mut s).expect("merges");
    s.merges.into_iter().collect()
}

fn entries(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut b = Vec::new();
            f.read_to_end(&mut b).unwrap();
            (f.name().unwrap().into_owned(), b)
        })
        .collect()
}

/// Elements of an XML part: (local name, attributes) of each start or empty tag, and the text
/// inside each element, in order.
fn tags(xml: &[u8]) -> Vec<(String, HashMap<String, String>, String)> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut out: Vec<(String, HashMap<String, String>, String)> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.unwrap();
                        (
                            a.key.as_ref().to_string(),
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap()
                                .into_owned(),
                        )
                    })
                    .collect();
                let local = e.local_name().as_ref().to_string();
                out.push((local, attrs, String::new()));
                open.push(out.len() - 1);
            }
            Event::Empty(e) => {
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.unwrap();
                        (
                            a.key.as_ref().to_string(),
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap()
                                .into_owned(),
                        )
                    })
                    .collect();
                out.push((e.local_name().as_ref().to_string(), attrs, String::new()));
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Text(t) => {
                let t = t.to_string();
                for &i in &open {
                    out[i].2.push_str(&t);
                }
            }
            Event::GeneralRef(r) => {
                let t = match &*r {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    _ => "'",
                };
                for &i in &open {
                    out[i].2.push_str(t);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn resolve(from: &str, target: &str) -> String {
    if let Some(abs) = target.strip_prefix('/') {
        return abs.to_string();
    }
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for seg in target.split('/') {
        match seg {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            s => parts.push(s),
        }
    }
    parts.join("/")
}

fn rels_of(parts: &BTreeMap<String, Vec<u8>>, part: &str) -> Vec<(String, String, String)> {
    let (dir, file) = part.rsplit_once('/').unwrap();
    let Some(xml) = parts.get(&format!("{dir}/_rels/{file}.rels")) else {
        return Vec::new();
    };
    tags(xml)
        .into_iter()
        .filter(|(n, _, _)| n == "Relationship")
        .map(|(_, a, _)| {
            (
                a["Id"].clone(),
                a["Type"].clone(),
                resolve(part, &a["Target"]),
            )
        })
        .collect()
}

/// The part of the sheet called `name`.
fn sheet_part(parts: &BTreeMap<String, Vec<u8>>, name: &str) -> String {
    let rels = rels_of(parts, "xl/workbook.xml");
    let rid = tags(&parts["xl/workbook.xml"])
        .into_iter()
        .find(|(n, a, _)| n == "sheet" && a.get("name").map(String::as_str) == Some(name))
        .map(|(_, a, _)| a["r:id"].clone())
        .expect("sheet in workbook.xml");
    rels.into_iter().find(|r| r.0 == rid).unwrap().2
}

/// What an annotated copy shows at its marks: per cell, whether it is filled red, and the text of
/// its comment.
struct Marks {
    red: HashMap<String, bool>,
    comments: HashMap<String, String>,
    /// Number of `<legacyDrawing>` elements in the sheet.
    legacy: usize,
}

fn marks(bytes: &[u8], sheet: &str) -> Marks {
    let parts = entries(bytes);
    let part = sheet_part(&parts, sheet);
    let styles_part = rels_of(&parts, "xl/workbook.xml")
        .into_iter()
        .find(|r| r.1.ends_with("/styles"))
        .unwrap()
        .2;
    let styles = tags(&parts[&styles_part]);
    // fills and cellXfs, in order (the tags under each container).
    let mut fills: Vec<bool> = Vec::new();
    let mut xfs: Vec<usize> = Vec::new();
    let mut within = "";
    for (n, a, _) in &styles {
        match n.as_str() {
            "fills" => within = "fills",
            "cellXfs" => within = "cellXfs",
            "borders" | "cellStyleXfs" | "cellStyles" | "dxfs" => within = "",
            "fill" if within == "fills" => fills.push(false),
            "fgColor"
                if within == "fills" && a.get("rgb").map(String::as_str) == Some("FFFFC7CE") =>
            {
                *fills.last_mut().unwrap() = true;
            }
            "xf" if within == "cellXfs" => {
                xfs.push(a.get("fillId").and_then(|f| f.parse().ok()).unwrap_or(0))
            }
            _ => {}
        }
    }
    let sheet_tags = tags(&parts[&part]);
    let red = sheet_tags
        .iter()
        .filter(|(n, _, _)| n == "c")
        .filter_map(|(_, a, _)| {
            let s: usize = a.get("s").and_then(|s| s.parse().ok()).unwrap_or(0);
            let fill = xfs.get(s).copied().unwrap_or(0);
            Some((
                a.get("r")?.clone(),
                fills.get(fill).copied().unwrap_or(false),
            ))
        })
        .collect();
    let legacy = sheet_tags
        .iter()
        .filter(|(n, _, _)| n == "legacyDrawing")
        .count();
    let mut comments = HashMap::new();
    for (_, kind, target) in rels_of(&parts, &part) {
        if kind.ends_with("/comments") {
            for (n, a, text) in tags(&parts[&target]) {
                if n == "comment" {
                    comments.insert(a["ref"].clone(), text);
                }
            }
        }
    }
    Marks {
        red,
        comments,
        legacy,
    }
}

fn sheet_of(c: &Checked) -> String {
    let v = serde_json::to_value(&c.result).unwrap();
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e["sheet"].as_str().map(str::to_string))
        .expect("a sheet named")
}

#[test]
fn every_rejected_fixture_comes_back_as_its_own_file_with_marks() {
    let all = rejected();
    assert!(all.len() >= 50, "{} rejected fixtures", all.len());
    let (mut xlsx, mut other) = (0, 0);
    for (path, c) in &all {
        let label = path.display().to_string();
        let original = std::fs::read(path).unwrap();
        let bytes = annotate(c, path.file_name().unwrap().to_str().unwrap(), &original)
            .unwrap_or_else(|| panic!("{label}: an annotated workbook"));
        let sheet = sheet_of(c);

        // Every value of every sheet at its address.
        let before = values(&original);
        let after = values(&bytes);
        assert_eq!(
            before.keys().collect::<Vec<_>>(),
            after.keys().collect::<Vec<_>>(),
            "{label}: the same sheets"
        );
        for (name, cells) in &before {
            assert_eq!(cells, &after[name], "{label}: the values of sheet {name}");
        }
        assert!(!before[&sheet].is_empty());
        assert_eq!(
            merges(&original, &sheet),
            merges(&bytes, &sheet),
            "{label}: the merged ranges"
        );

        // Each error cell red with its comment, one VML drawing.
        let m = marks(&bytes, &sheet);
        assert_eq!(m.legacy, 1, "{label}: one legacyDrawing");
        for e in &c.result.errors {
            let cell = e.cell.as_deref().expect("an error cell");
            assert_eq!(m.red.get(cell), Some(&true), "{label}: {cell} red");
            assert!(
                m.comments.get(cell).is_some_and(|t| t.contains(&e.message)),
                "{label}: comment on {cell}: {:?}",
                m.comments.get(cell)
            );
        }
        let errors: BTreeSet<&str> = c
            .result
            .errors
            .iter()
            .filter_map(|e| e.cell.as_deref())
            .collect();
        let reds: BTreeSet<&str> = m
            .red
            .iter()
            .filter(|(_, r)| **r)
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(reds, errors, "{label}: only the error cells are red");

        // An .xlsx: every other entry byte for byte.
        if original.starts_with(b"PK") && path.extension().unwrap() != "ods" {
            xlsx += 1;
            let parts = entries(&original);
            let part = sheet_part(&parts, &sheet);
            let (dir, file) = part.rsplit_once('/').unwrap();
            let edited = [
                part.clone(),
                format!("{dir}/_rels/{file}.rels"),
                "xl/styles.xml".to_string(),
                "[Content_Types].xml".to_string(),
            ];
            let new = entries(&bytes);
            for (name, b) in &parts {
                if !edited.contains(name) {
                    assert!(new.get(name) == Some(b), "{label}: {name} unchanged");
                }
            }
            let added: Vec<&String> = new.keys().filter(|n| !parts.contains_key(*n)).collect();
            assert!(
                added.iter().all(|n| n.starts_with("xl/comments")
                    || n.starts_with("xl/drawings/vmlDrawing")
                    || n.starts_with("xl/worksheets/_rels/")),
                "{label}: only comments and their drawing added: {added:?}"
            );
        } else {
            other += 1;
        }

        // Read back, the copy is the same form with the same errors at the same cells.
        let again = checker().check_bytes("copy.xlsx", &bytes);
        assert_eq!(again.result.form, c.result.form, "{label}");
        let cells = |r: &jixiao::CheckResult| {
            r.errors
                .iter()
                .map(|e| (e.code, e.cell.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            cells(&again.result),
            cells(&c.result),
            "{label}: same errors"
        );
    }
    assert!(xlsx >= 40 && other >= 8, "{xlsx} .xlsx, {other} .xls/.ods");
}

/// Rewrites one part of a package.
fn with_part(bytes: &[u8], name: &str, edit: impl Fn(String) -> String) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (n, b) in entries(bytes) {
        w.start_file(n.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        if n == name {
            w.write_all(edit(String::from_utf8(b).unwrap()).as_bytes())
                .unwrap();
        } else {
            w.write_all(&b).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

/// Sets the text of cell `cell` (an element `<c r="cell" …/>` or `<c r="cell" …></c>`).
fn set_text(xml: String, cell: &str, text: &str) -> String {
    let start = xml.find(&format!("<c r=\"{cell}\"")).expect("the cell");
    let rest = &xml[start..];
    let tag_end = rest.find('>').unwrap();
    let (open, len) = if rest[..tag_end].ends_with('/') {
        (&rest[..tag_end - 1], tag_end + 1)
    } else {
        let close = rest.find("</c>").unwrap();
        (&rest[..tag_end], close + 4)
    };
    let open = open.replace(" t=\"n\"", "");
    format!(
        "{}{} t=\"inlineStr\"><is><t>{text}</t></is></c>{}",
        &xml[..start],
        open.trim_end(),
        &xml[start + len..]
    )
}

fn set_number(xml: String, cell: &str, v: f64) -> String {
    let start = xml.find(&format!("<c r=\"{cell}\"")).expect("the cell");
    let rest = &xml[start..];
    let tag_end = rest.find('>').unwrap();
    let (open, len) = if rest[..tag_end].ends_with('/') {
        (&rest[..tag_end - 1], tag_end + 1)
    } else {
        let close = rest.find("</c>").unwrap();
        (&rest[..tag_end], close + 4)
    };
    let open = open
        .replace(" t=\"n\"", "")
        .replace(" t=\"s\"", "")
        .replace(" t=\"str\"", "");
    format!(
        "{}{}><v>{v}</v></c>{}",
        &xml[..start],
        open.trim_end(),
        &xml[start + len..]
    )
}

fn first_sheet(bytes: &[u8], sheet: &str) -> String {
    sheet_part(&entries(bytes), sheet)
}

#[test]
fn correcting_the_marked_cell_makes_the_copy_pass() {
    let path = Path::new("tests/fixtures/examples/退回示例-缺项目名称.xlsx");
    let original = std::fs::read(path).unwrap();
    let c = checker().check_bytes("退回示例-缺项目名称.xlsx", &original);
    assert_eq!(c.result.errors.len(), 1);
    assert_eq!(c.result.errors[0].cell.as_deref(), Some("B4"));
    let bytes = annotate(&c, "退回示例-缺项目名称.xlsx", &original).unwrap();
    let sheet = sheet_of(&c);
    let part = first_sheet(&bytes, &sheet);
    let fixed = with_part(&bytes, &part, |xml| set_text(xml, "B4", "学生资助补助经费"));
    let again = checker().check_bytes("fixed.xlsx", &fixed);
    assert!(again.result.accepted(), "{:?}", again.result.errors);
    // Still red and commented: the clerk's correction keeps the mark until the next check.
    assert_eq!(marks(&fixed, &sheet).red.get("B4"), Some(&true));
}

#[test]
fn a_missing_error_cell_is_created_in_its_row_in_column_order() {
    // The same form with the empty B4 removed from the file altogether.
    let path = Path::new("tests/fixtures/examples/退回示例-缺项目名称.xlsx");
    let original = std::fs::read(path).unwrap();
    let part = "xl/worksheets/sheet1.xml";
    let stripped = with_part(&original, part, |xml| {
        let start = xml.find("<c r=\"B4\"").unwrap();
        let end = start + xml[start..].find("</c>").unwrap() + 4;
        format!("{}{}", &xml[..start], &xml[end..])
    });
    assert!(!String::from_utf8_lossy(&entries(&stripped)[part]).contains("r=\"B4\""));
    let c = checker().check_bytes("x.xlsx", &stripped);
    assert_eq!(
        c.result.errors[0].cell.as_deref(),
        Some("B4"),
        "{:?}",
        c.result.errors
    );
    let bytes = annotate(&c, "x.xlsx", &stripped).unwrap();
    let xml = String::from_utf8(entries(&bytes)[part].clone()).unwrap();
    let a4 = xml.find("r=\"A4\"").unwrap();
    let b4 = xml.find("r=\"B4\"").expect("B4 created");
    let c4 = xml.find("r=\"C4\"").unwrap();
    assert!(a4 < b4 && b4 < c4, "B4 between A4 and C4");
    let sheet = sheet_of(&c);
    let m = marks(&bytes, &sheet);
    assert_eq!(m.red.get("B4"), Some(&true));
    assert!(m.comments["B4"].contains("项目名称"));
    // Filling it makes the form pass.
    let fixed = with_part(&bytes, part, |xml| set_text(xml, "B4", "学生资助补助经费"));
    assert!(
        checker()
            .check_bytes("fixed.xlsx", &fixed)
            .result
            .accepted()
    );
}

#[test]
fn an_ods_copy_is_judged_like_the_original_once_corrected() {
    // 资金合计不符 saved by LibreOffice as .ods: correct 年度资金总额 (E8) in the .xlsx copy,
    // written by rust_xlsxwriter with shared strings.
    let path = Path::new("tests/fixtures/libreoffice/退回示例-资金合计不符.ods");
    let original = std::fs::read(path).unwrap();
    let c = checker().check_bytes("退回示例-资金合计不符.ods", &original);
    let e = &c.result.errors[0];
    assert_eq!(e.cell.as_deref(), Some("E8"));
    let bytes = annotate(&c, "退回示例-资金合计不符.ods", &original).unwrap();
    let sheet = sheet_of(&c);
    let vals = values(&original);
    let num = |a1: &str| match vals[&sheet].get(&parse_a1(a1).unwrap()) {
        Some(V::N(n)) => *n,
        other => panic!("{a1}: {other:?}"),
    };
    // 其中：财政拨款 (E9) and 其他资金 (E10).
    let total = num("E9") + num("E10");
    let part = first_sheet(&bytes, &sheet);
    let fixed = with_part(&bytes, &part, |xml| set_number(xml, "E8", total));
    let again = checker().check_bytes("fixed.xlsx", &fixed);
    assert!(again.result.accepted(), "{:?}", again.result.errors);
    assert_eq!(again.result.project, c.result.project);
}

#[test]
fn an_xlsx_that_cannot_be_edited_in_place_is_copied_with_its_marks() {
    // No [Content_Types].xml: the reader takes it, the package editor cannot.
    let path = Path::new("tests/fixtures/examples/退回示例-缺项目名称.xlsx");
    let full = std::fs::read(path).unwrap();
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (n, b) in entries(&full) {
        if n != "[Content_Types].xml" {
            w.start_file(n.as_str(), zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(&b).unwrap();
        }
    }
    let original = w.finish().unwrap().into_inner();
    let c = checker().check_bytes("x.xlsx", &original);
    assert_eq!(c.result.errors[0].cell.as_deref(), Some("B4"));
    let bytes = annotate(&c, "x.xlsx", &original).expect("an annotated copy");
    let sheet = sheet_of(&c);
    assert_eq!(values(&original), values(&bytes));
    assert_eq!(merges(&original, &sheet), merges(&bytes, &sheet));
    let m = marks(&bytes, &sheet);
    assert_eq!(m.red.get("B4"), Some(&true));
    assert!(m.comments["B4"].contains("项目名称"));
}

#[test]
fn a_whole_file_error_or_an_unread_file_gets_no_annotated_workbook() {
    let path = Path::new("tests/fixtures/variants/非表单-随机工作表.xlsx");
    let original = std::fs::read(path).unwrap();
    let c = checker().check_bytes("非表单-随机工作表.xlsx", &original);
    assert!(c.result.form.is_none());
    // A file that is no form gets no letter at all (a plain notice), so no annotated copy.
    assert_eq!(jixiao::letters::LetterKind::for_result(&c.result), None);
    // A form whose bytes were not read in full (over the size limit): no copy.
    let path = Path::new("tests/fixtures/examples/退回示例-缺项目名称.xlsx");
    let c = checker().check_path(path, "x.xlsx");
    let defs = Definitions::embedded();
    let settings = LetterSettings::default();
    let input = LetterInput {
        reviewer: None,
        settings: &settings,
        defs: &defs,
        department: "吉林省教育厅",
        file_name: "x.xlsx",
        result: &c.result,
        form: c.form.as_deref(),
        number: None,
        date: NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
        extra_findings: &[],
        original: jixiao::letters::Original::Absent,
    };
    let letter = Letters::load(None).unwrap().render(&input).unwrap();
    assert!(letter.annotated_xlsx.is_none());
}

#[test]
fn libreoffice_opens_the_copies_and_reads_the_comments() {
    if std::env::var("JIXIAO_EXTERNAL_TESTS").as_deref() != Ok("1") {
        eprintln!("note: set JIXIAO_EXTERNAL_TESTS=1 to open the copies with LibreOffice");
        return;
    }
    if !external::tool("soffice") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fixtures = [
        "examples/退回示例-缺项目名称.xlsx",
        "examples/退回示例-未说明偏差原因.xlsx",
        "libreoffice/退回示例-资金合计不符.lo.xlsx",
        "libreoffice/退回示例-资金合计不符.ods",
        "libreoffice/规则-得分超分值-自评表.xls",
    ];
    let mut expected = Vec::new();
    for (i, f) in fixtures.iter().enumerate() {
        let path = Path::new("tests/fixtures").join(f);
        let original = std::fs::read(&path).unwrap();
        let c = checker().check_bytes(f, &original);
        let bytes = annotate(&c, f, &original).unwrap();
        let out = dir.path().join(format!("copy{i}.xlsx"));
        std::fs::write(&out, &bytes).unwrap();
        expected.push((out, c));
    }
    let profile = dir.path().join("profile");
    let status = Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args(["--headless", "--convert-to", "ods", "--outdir"])
        .arg(dir.path())
        .args(expected.iter().map(|(p, _)| p))
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    for (p, c) in &expected {
        let ods = p.with_extension("ods");
        let bytes = std::fs::read(&ods).unwrap_or_else(|_| panic!("{} converted", p.display()));
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut content = String::new();
        zip.by_name("content.xml")
            .unwrap()
            .read_to_string(&mut content)
            .unwrap();
        let notes = content.matches("<office:annotation").count();
        assert_eq!(
            notes,
            c.result.errors.len(),
            "{}: one comment an error",
            p.display()
        );
        for e in &c.result.errors {
            // LibreOffice keeps the text; its XML escapes quotes differently, so look for a part.
            let part: String = e.message.chars().take(6).collect();
            assert!(content.contains(&part), "{}: {}", p.display(), e.message);
        }
    }
}

/// The number of errors `openxml-audit` reports for a file.
fn audit_errors(path: &Path) -> usize {
    let out = Command::new("openxml-audit")
        .arg("--policy")
        .arg("strict")
        .arg(path)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find_map(|l| l.strip_prefix("Errors: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{}: no count in {text}", path.display()))
}

#[test]
fn openxml_audit_finds_nothing_the_original_did_not_have() {
    if std::env::var("JIXIAO_EXTERNAL_TESTS").as_deref() != Ok("1") {
        eprintln!("note: set JIXIAO_EXTERNAL_TESTS=1 to validate the copies with openxml-audit");
        return;
    }
    if !external::tool("openxml-audit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (i, f) in [
        "examples/退回示例-缺项目名称.xlsx",
        "variants/规则-分值合计不为100-自评表.xlsx",
        "libreoffice/退回示例-资金合计不符.lo.xlsx",
        "libreoffice/退回示例-资金合计不符.ods",
        "libreoffice/规则-得分超分值-自评表.xls",
    ]
    .iter()
    .enumerate()
    {
        let path = Path::new("tests/fixtures").join(f);
        let original = std::fs::read(&path).unwrap();
        let c = checker().check_bytes(f, &original);
        let out = dir.path().join(format!("copy{i}.xlsx"));
        std::fs::write(&out, annotate(&c, f, &original).unwrap()).unwrap();
        // The department's own findings stay (jixiao does not repair their file); none is added.
        let before = if f.ends_with(".xlsx") {
            audit_errors(&path)
        } else {
            0
        };
        assert_eq!(audit_errors(&out), before, "{f}");
    }
}

#[test]
fn dates_of_an_xls_or_ods_stay_dates_in_the_copy() {
    if std::env::var("JIXIAO_EXTERNAL_TESTS").as_deref() != Ok("1") {
        eprintln!(
            "note: set JIXIAO_EXTERNAL_TESTS=1 to save forms as .xls and .ods with LibreOffice"
        );
        return;
    }
    if !external::tool("soffice") {
        return;
    }
    // 缺项目名称 with 填报日期 (H20) typed as a date: 2026-03-10, serial 46091.
    let path = Path::new("tests/fixtures/examples/退回示例-缺项目名称.xlsx");
    let full = std::fs::read(path).unwrap();
    let with_date = with_part(&full, "xl/styles.xml", |xml| {
        xml.replace("<cellXfs count=\"9\">", "<cellXfs count=\"10\">").replace(
            "</cellXfs>",
            "<xf numFmtId=\"14\" fontId=\"0\" fillId=\"0\" borderId=\"1\" applyNumberFormat=\"1\" xfId=\"0\"/></cellXfs>",
        )
    });
    let with_date = with_part(&with_date, "xl/worksheets/sheet1.xml", |xml| {
        let start = xml.find("<c r=\"H20\"").unwrap();
        let end = start + xml[start..].find("</c>").unwrap() + 4;
        format!(
            "{}<c r=\"H20\" s=\"9\"><v>46091</v></c>{}",
            &xml[..start],
            &xml[end..]
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("form.xlsx");
    std::fs::write(&src, &with_date).unwrap();
    let profile = dir.path().join("profile");
    for ext in ["xls", "ods"] {
        let out = Command::new("soffice")
            .arg(format!(
                "-env:UserInstallation=file://{}",
                profile.display()
            ))
            .args(["--headless", "--convert-to", ext, "--outdir"])
            .arg(dir.path())
            .arg(&src)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let saved = std::fs::read(dir.path().join(format!("form.{ext}"))).unwrap();
        let name = format!("form.{ext}");
        let c = checker().check_bytes(&name, &saved);
        assert_eq!(c.result.errors[0].cell.as_deref(), Some("B4"), "{ext}");
        let bytes = annotate(&c, &name, &saved).unwrap();
        let mut wb = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).unwrap();
        let range = wb.worksheet_range(&sheet_of(&c)).unwrap();
        match range.get_value((19, 7)) {
            Some(Data::DateTime(d)) => assert_eq!(d.as_f64(), 46091.0, "{ext}"),
            // The reader takes an .ods date as its ISO text, and the copy keeps what was read.
            Some(Data::String(s)) if ext == "ods" => assert_eq!(s, "2026-03-10"),
            other => panic!("{ext}: H20 is {other:?}"),
        }
    }
}

#[test]
fn an_ods_value_over_excels_limit_is_shortened_in_the_copy() {
    if std::env::var("JIXIAO_EXTERNAL_TESTS").as_deref() != Ok("1") {
        eprintln!("note: set JIXIAO_EXTERNAL_TESTS=1 to save a form as .ods with LibreOffice");
        return;
    }
    if !external::tool("soffice") {
        return;
    }
    // 缺项目名称 with a 40,000-character 实施单位 (F6), saved by LibreOffice as .ods.
    let path = Path::new("tests/fixtures/examples/退回示例-缺项目名称.xlsx");
    let full = std::fs::read(path).unwrap();
    let long = "农".repeat(40_000);
    let with_long = with_part(&full, "xl/worksheets/sheet1.xml", |xml| {
        let start = xml.find("<c r=\"F6\"").unwrap();
        let end = start + xml[start..].find("</c>").unwrap() + 4;
        format!(
            "{}<c r=\"F6\" s=\"6\" t=\"inlineStr\"><is><t>{long}</t></is></c>{}",
            &xml[..start],
            &xml[end..]
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("form.xlsx");
    std::fs::write(&src, &with_long).unwrap();
    let profile = dir.path().join("profile");
    let out = Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args(["--headless", "--convert-to", "ods", "--outdir"])
        .arg(dir.path())
        .arg(&src)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let saved = std::fs::read(dir.path().join("form.ods")).unwrap();
    let c = checker().check_bytes("form.ods", &saved);
    assert_eq!(c.result.errors[0].cell.as_deref(), Some("B4"));
    let bytes = annotate(&c, "form.ods", &saved).expect("an annotated copy");
    let mut wb = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).unwrap();
    let range = wb.worksheet_range(&sheet_of(&c)).unwrap();
    match range.get_value((5, 5)) {
        Some(Data::String(s)) => {
            assert_eq!(s.encode_utf16().count(), 32_767);
            assert!(s.starts_with("农农农") && s.ends_with('…'));
        }
        other => panic!("F6 is {other:?}"),
    }
}
