//! Small .xlsx files built to cost a reader gigabytes or minutes (`tests/fixtures/hostile/`, made
//! by `scripts/make_hostile_xlsx.py`) are refused as whole files for what they are, and a form
//! whose text only looks like XML markup reads as the form it is.

use std::path::{Path, PathBuf};
use std::process::Command;

use jixiao::check::Status;
use jixiao::rules::issue::IssueCode;
use jixiao::workbook::Workbook;
use jixiao::{Checker, Definitions, Limits};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hostile")
        .join(name)
}

fn checker() -> Checker {
    Checker::new(Definitions::embedded(), Limits::default())
}

/// The one whole-file problem of a rejected file: its code and message.
fn whole_file_rejection(name: &str) -> (IssueCode, String) {
    let r = checker().check_path(&fixture(name), name).result;
    assert_eq!(r.status, Status::Rejected, "{name}");
    assert_eq!(r.form, None, "{name}");
    assert_eq!(r.errors.len(), 1, "{name}: {:?}", r.errors);
    assert_eq!(r.errors[0].cell, None, "{name}");
    (r.errors[0].code, r.errors[0].message.clone())
}

#[test]
fn shared_string_counts_beyond_what_the_part_holds_are_refused() {
    for name in [
        "xlsx-sst-unique-count-2p27.xlsx",
        "xlsx-sst-unique-count-2p45.xlsx",
    ] {
        let (code, message) = whole_file_rejection(name);
        assert_eq!(code, IssueCode::InflatesTooMuch, "{name}");
        assert_eq!(
            message,
            "文件内部结构异常（文字条目过多），无法读取。请在Excel或WPS中打开填好的绩效表，另存为.xlsx格式后重新放入本部门文件夹",
            "{name}"
        );
    }
}

#[test]
fn one_long_shared_string_in_a_thousand_cells_is_refused() {
    let (code, message) = whole_file_rejection("xlsx-shared-string-1mb-x1000.xlsx");
    assert_eq!(code, IssueCode::TooManyCells);
    assert_eq!(
        message,
        "工作表“Sheet1”的内容过多，无法受理。请删除绩效表以外的内容，另存为.xlsx格式后重新放入本部门文件夹"
    );
}

#[test]
fn millions_of_cell_formats_are_refused() {
    let (code, message) = whole_file_rejection("xlsx-styles-9m-xf.xlsx");
    assert_eq!(code, IssueCode::InflatesTooMuch);
    assert!(message.contains("单元格格式"), "{message}");
}

#[test]
fn a_long_font_copied_into_every_cell_format_is_refused() {
    let (code, message) = whole_file_rejection("xlsx-styles-font-per-xf.xlsx");
    assert_eq!(code, IssueCode::InflatesTooMuch);
    assert!(message.contains("单元格格式"), "{message}");
}

#[test]
fn sheets_sharing_one_worksheet_part_are_refused() {
    let (code, _) = whole_file_rejection("xlsx-64-sheets-one-part.xlsx");
    assert_eq!(code, IssueCode::DamagedFile);
}

#[test]
fn merge_words_typed_in_a_cell_are_not_a_merge() {
    let name = "xlsx-merge-words-in-a-cell.xlsx";
    let r = checker().check_path(&fixture(name), name).result;
    assert_eq!(r.status, Status::Accepted, "{:?}", r.errors);
    let project = r.project.expect("project read");
    assert_eq!(
        project.name.as_deref(),
        Some("农村义务教育学生营养改善计划")
    );

    let bytes = std::fs::read(fixture(name)).unwrap();
    let mut wb = Workbook::open(&bytes, Limits::default()).unwrap();
    let name = wb.sheet_names()[0].clone();
    let mut sheet = wb.load_sheet(&name).unwrap();
    wb.load_merges(&mut sheet).unwrap();
    // The 27 merged ranges of the form, and not the A4:H4 written in cell A26.
    assert_eq!(sheet.merges.len(), 27);
    assert!(sheet.merges.contains(&((3, 1), (3, 8))), "B4:I4");
    assert!(!sheet.merges.contains(&((3, 0), (3, 7))), "A4:H4");
}

/// The largest resident size of any child process waited for so far, in bytes.
fn children_peak_rss() -> u64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage only writes the struct it is given.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0);
    // Linux reports ru_maxrss in kilobytes.
    usage.ru_maxrss as u64 * 1024
}

#[test]
fn checking_each_hostile_xlsx_stays_under_one_gigabyte() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("xlsx-"))
        })
        .collect();
    files.sort();
    assert!(files.len() >= 7, "{files:?}");
    for file in &files {
        let out = Command::new(env!("CARGO_BIN_EXE_jixiao"))
            .args(["check", "--json"])
            .arg(file)
            .output()
            .unwrap();
        // One JSON result: the file was judged, not the process killed.
        let line = String::from_utf8_lossy(&out.stdout);
        let json: serde_json::Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("{}: {e}: {line}", file.display()));
        assert!(json["status"].is_string(), "{}: {json}", file.display());
        let peak = children_peak_rss();
        assert!(
            peak < 1024 * 1024 * 1024,
            "{}: peak resident size {} MiB",
            file.display(),
            peak / (1024 * 1024)
        );
    }
}
