//! `check` must never panic: any bytes at all, as a department might send them.
//!
//! Seeded with every fixture (`fuzz/seed.sh`). After a mutation most zip-based seeds stop at the
//! CRC check of the entry; this target explores the zip structure, the sniffing and limits, and
//! the `.xls` reader (OLE/CFB has no checksums). `check_xlsx` reaches the XML inside an `.xlsx`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::check(data);
});
