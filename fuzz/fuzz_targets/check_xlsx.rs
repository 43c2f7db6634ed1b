//! `check` must never panic on a well-formed `.xlsx` with arbitrary XML inside.
//!
//! A mutated `.xlsx` almost never gets past the CRC of its entries, so this target takes the
//! entries unpacked and zips them itself (stored, valid CRCs) before checking. The input is a
//! list of entries, each `@@@ <entry name>\n<content>` (see `fuzz/seed.sh`, which unpacks every
//! `.xlsx`/`.ods` fixture into that form).
#![no_main]

use std::io::{Cursor, Write};

use libfuzzer_sys::fuzz_target;
use zip::write::{SimpleFileOptions, ZipWriter};

#[path = "common.rs"]
mod common;

const MARK: &[u8] = b"@@@ ";

fuzz_target!(|data: &[u8]| {
    let Some(zip) = build(data) else { return };
    common::check(&zip);
});

/// Splits the input into entries and zips them; `None` when it holds no entry.
fn build(data: &[u8]) -> Option<Vec<u8>> {
    if !data.starts_with(MARK) {
        return None;
    }
    let mut zw = ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut rest = data;
    let mut names = 0;
    while rest.starts_with(MARK) {
        let body = &rest[MARK.len()..];
        let nl = body.iter().position(|&b| b == b'\n')?;
        let name = String::from_utf8_lossy(&body[..nl]).into_owned();
        let body = &body[nl + 1..];
        let end = find(body, b"\n@@@ ").map(|i| i + 1).unwrap_or(body.len());
        let content = &body[..end.min(body.len())];
        // Duplicate names make the writer fail; skip them.
        if zw.start_file(name, opts).is_ok() {
            zw.write_all(content).ok()?;
            names += 1;
        }
        rest = &body[end.min(body.len())..];
    }
    if names == 0 {
        return None;
    }
    Some(zw.finish().ok()?.into_inner())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
