//! Finding the parts of a zip package the way the format says, as Excel and calamine do: entry
//! names compared without regard to case, `\` or a leading `/` (a Chinese reporting tool writes
//! `xl\worksheets\sheet1.xml`), and the main part found through the package relationships
//! (`_rels/.rels`), wherever it lies (`workbook.xml` at the package root).

use std::io::{Cursor, Read};

use quick_xml::events::Event;

type Archive<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

/// The most of `_rels/.rels` or `[Content_Types].xml` read: a few hundred bytes in practice.
const MAX_SMALL_PART: u64 = 1024 * 1024;

/// A part name as compared: lower case, `/` separators, no leading `/`.
pub(crate) fn normalize(name: &str) -> String {
    name.replace('\\', "/")
        .trim_start_matches('/')
        .to_lowercase()
}

/// The index of the entry called `name` (compared normalised).
pub(crate) fn find(archive: &Archive, name: &str) -> Option<usize> {
    let want = normalize(name);
    archive.index_for_name(name).or_else(|| {
        (0..archive.len()).find(|&i| {
            archive
                .name_for_index(i)
                .and_then(|n| n.ok())
                .is_some_and(|n| normalize(&n) == want)
        })
    })
}

/// Reads a small part (at most 1 MB) as text; `None` when it is absent or unreadable.
pub(crate) fn read_small(archive: &mut Archive, name: &str) -> Option<String> {
    let i = find(archive, name)?;
    let entry = archive.by_index(i).ok()?;
    let mut text = String::new();
    entry.take(MAX_SMALL_PART).read_to_string(&mut text).ok()?;
    Some(text)
}

/// The main part a package's relationships name (`officeDocument`), normalised.
pub(crate) fn main_part(archive: &mut Archive) -> Option<String> {
    let rels = read_small(archive, "_rels/.rels")?;
    let mut reader = quick_xml::Reader::from_str(&rels);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "Relationship" => {
                let attr = |key: &str| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == key)
                        .map(|a| a.value.into_owned())
                };
                let is_main = attr("Type").is_some_and(|t| t.ends_with("/officeDocument"));
                if let (true, Some(target)) = (is_main, attr("Target")) {
                    return Some(normalize(&target));
                }
            }
            Ok(Event::Eof) | Err(_) => return None,
            _ => {}
        }
    }
}

/// Relationship types of sheets that calamine cannot read and that hold no form: Excel 4.0 macro
/// sheets (international ones too).
const MACRO_SHEET_TYPES: [&str; 2] = ["/xlMacrosheet", "/xlIntlMacrosheet"];

/// The package with its macro sheets left out of the workbook part, or `None` when it has none.
/// calamine refuses a workbook that lists a macro sheet; a macro sheet holds no form (and macros
/// are never run), so it is dropped from the sheet list, and every other part is copied as it is.
pub(crate) fn without_macro_sheets(bytes: &[u8]) -> Option<Vec<u8>> {
    // The zip directory names are stored uncompressed: no macro sheet part, nothing to do.
    let finder = memchr::memmem::Finder::new(b"acrosheet");
    finder.find(bytes)?;
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let main = main_part(&mut archive).unwrap_or_else(|| "xl/workbook.xml".to_string());
    let (dir, file) = main.rsplit_once('/').unwrap_or(("", main.as_str()));
    let rels_name = if dir.is_empty() {
        format!("_rels/{file}.rels")
    } else {
        format!("{dir}/_rels/{file}.rels")
    };
    let rels = read_small(&mut archive, &rels_name)?;
    let mut macro_ids = Vec::new();
    let mut reader = quick_xml::Reader::from_str(&rels);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "Relationship" => {
                let attr = |key: &str| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == key)
                        .map(|a| a.value.into_owned())
                };
                let is_macro =
                    attr("Type").is_some_and(|t| MACRO_SHEET_TYPES.iter().any(|m| t.ends_with(m)));
                if let (true, Some(id)) = (is_macro, attr("Id")) {
                    macro_ids.push(id);
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    if macro_ids.is_empty() {
        return None;
    }
    let main_index = find(&archive, &main)?;
    let workbook = {
        let entry = archive.by_index(main_index).ok()?;
        let mut text = String::new();
        entry
            .take(MAX_SMALL_PART * 8)
            .read_to_string(&mut text)
            .ok()?;
        text
    };
    // Cut the <sheet> elements of macro sheets out of the workbook part, byte for byte.
    let mut cuts = Vec::new();
    let mut reader = quick_xml::Reader::from_str(&workbook);
    loop {
        let from = reader.buffer_position() as usize;
        match reader.read_event() {
            Ok(Event::Empty(e)) if e.local_name().as_ref() == "sheet" => {
                let id = e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.local_name().as_ref() == "id")
                    .map(|a| a.value.into_owned());
                if id.is_some_and(|id| macro_ids.contains(&id)) {
                    cuts.push(from..reader.buffer_position() as usize);
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    let mut kept = String::with_capacity(workbook.len());
    let mut at = 0;
    for cut in cuts {
        kept.push_str(&workbook[at..cut.start]);
        at = cut.end;
    }
    kept.push_str(&workbook[at..]);
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::with_capacity(bytes.len())));
    for i in 0..archive.len() {
        if i == main_index {
            let name = archive.name_for_index(i)?.ok()?.to_string();
            out.start_file(name, zip::write::SimpleFileOptions::default())
                .ok()?;
            std::io::Write::write_all(&mut out, kept.as_bytes()).ok()?;
        } else {
            out.raw_copy_file(archive.by_index_raw(i).ok()?).ok()?;
        }
    }
    Some(out.finish().ok()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn package(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, text) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(text.as_bytes()).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn names_compare_without_case_backslashes_or_leading_slash() {
        let bytes = package(&[("XL\\Workbook.xml", "<workbook/>")]);
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes.as_slice())).unwrap();
        assert!(find(&archive, "xl/workbook.xml").is_some());
        assert!(find(&archive, "/xl/workbook.xml").is_some());
        assert_eq!(
            read_small(&mut archive, "xl/workbook.xml").as_deref(),
            Some("<workbook/>")
        );
        assert!(find(&archive, "xl/styles.xml").is_none());
    }

    #[test]
    fn the_main_part_comes_from_the_relationships() {
        let rels = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="/workbook.xml"/></Relationships>"#;
        let bytes = package(&[("_rels/.rels", rels), ("workbook.xml", "<workbook/>")]);
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes.as_slice())).unwrap();
        assert_eq!(main_part(&mut archive).as_deref(), Some("workbook.xml"));
    }
}
