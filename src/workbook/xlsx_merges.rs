//! The merged ranges of an `.xlsx` sheet: the `<mergeCell ref="…"/>` elements of its
//! `<mergeCells>`, read with an XML reader that skips the cells (`<sheetData>`) without looking
//! into them, so text typed in a cell is never taken for markup.

use std::io::{Cursor, Read};

use quick_xml::events::Event;

use crate::cellref::{Pos, parse_range};

fn read_entry(archive: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<Vec<u8>, String> {
    let index =
        super::package::find(archive, name).ok_or_else(|| format!("{name}: not in the package"))?;
    let mut entry = archive
        .by_index(index)
        .map_err(|e| format!("{name}: {e}"))?;
    let mut out = Vec::with_capacity(entry.size() as usize);
    entry
        .read_to_end(&mut out)
        .map_err(|e| format!("{name}: {e}"))?;
    Ok(out)
}

fn attr(e: &quick_xml::events::BytesStart, local: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        let key = a.key.as_ref();
        let key_local = key.rsplit(':').next().unwrap_or(key);
        (key_local == local).then(|| a.value.into_owned())
    })
}

/// The path inside the archive of the sheet called `sheet`. The workbook part is the one the
/// package relationships name (usually `xl/workbook.xml`); sheet targets are relative to its
/// folder.
fn sheet_path(archive: &mut zip::ZipArchive<Cursor<&[u8]>>, sheet: &str) -> Result<String, String> {
    let main = super::package::main_part(archive)
        .filter(|m| super::package::find(archive, m).is_some())
        .unwrap_or_else(|| "xl/workbook.xml".to_string());
    let (dir, file) = main
        .rsplit_once('/')
        .map_or(("", main.as_str()), |(d, f)| (d, f));
    let dir = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let workbook =
        String::from_utf8(read_entry(archive, &main)?).map_err(|e| format!("{main}: {e}"))?;
    let mut rid = None;
    let mut reader = quick_xml::Reader::from_str(&workbook);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e))
                if e.local_name().as_ref() == "sheet"
                    && attr(&e, "name").as_deref() == Some(sheet) =>
            {
                rid = attr(&e, "id");
                break;
            }
            Ok(Event::Eof) => break,
            Err(e) => return Err(format!("{main}: {e}")),
            _ => {}
        }
    }
    let rid = rid.ok_or_else(|| format!("no sheet \"{sheet}\" in {main}"))?;
    let rels_name = format!("{dir}_rels/{file}.rels");
    let rels = String::from_utf8(read_entry(archive, &rels_name)?)
        .map_err(|e| format!("{rels_name}: {e}"))?;
    let mut reader = quick_xml::Reader::from_str(&rels);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e))
                if e.local_name().as_ref() == "Relationship"
                    && attr(&e, "Id").as_deref() == Some(rid.as_str()) =>
            {
                let target = attr(&e, "Target").unwrap_or_default();
                return Ok(match target.strip_prefix('/') {
                    Some(abs) => abs.to_string(),
                    None => format!("{dir}{target}"),
                });
            }
            Ok(Event::Eof) => break,
            Err(e) => return Err(format!("{rels_name}: {e}")),
            _ => {}
        }
    }
    Err(format!("no relationship {rid} for sheet \"{sheet}\""))
}

/// The merged ranges of sheet `sheet` of the `.xlsx` in `bytes`. Ranges whose reference is not a
/// valid `A1:B2` (or is reversed) are left out.
pub(crate) fn merges(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    sheet: &str,
) -> Result<Vec<(Pos, Pos)>, String> {
    let path = sheet_path(archive, sheet)?;
    let xml = read_entry(archive, &path)?;
    let mut reader = quick_xml::Reader::from_reader(&xml[..]);
    reader.config_mut().check_end_names = false;
    let mut out = Vec::new();
    let mut in_merge_cells = false;
    loop {
        match reader.read_event() {
            // The cells were read already; their text may look like anything.
            Ok(Event::Start(e)) if e.local_name().as_ref() == "sheetData" => {
                reader
                    .read_to_end(e.name())
                    .map_err(|e| format!("{path}: {e}"))?;
            }
            Ok(Event::Start(e)) if e.local_name().as_ref() == "mergeCells" => {
                in_merge_cells = true;
            }
            Ok(Event::End(e)) if e.local_name().as_ref() == "mergeCells" => {
                in_merge_cells = false;
            }
            Ok(Event::Start(e) | Event::Empty(e))
                if in_merge_cells && e.local_name().as_ref() == "mergeCell" =>
            {
                if let Some(range) = attr(&e, "ref").as_deref().and_then(parse_range) {
                    out.push(range);
                }
            }
            Ok(Event::Eof) => break,
            Err(e) => return Err(format!("{path}: {e}")),
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_merges_of_a_template() {
        let defs = crate::Definitions::embedded();
        let mut wb = crate::forms::blank::build(&defs, crate::FormKind::SelfEvaluation).unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(&bytes[..])).unwrap();
        let mut got = merges(&mut archive, "绩效自评表").unwrap();
        got.sort();
        let mut want: Vec<(Pos, Pos)> = defs
            .form(crate::FormKind::SelfEvaluation)
            .blank
            .merges
            .iter()
            .map(|m| parse_range(m).unwrap())
            .collect();
        want.sort();
        assert_eq!(got, want);
        assert!(merges(&mut archive, "没有这张表").is_err());
    }
}
