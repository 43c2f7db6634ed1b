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
