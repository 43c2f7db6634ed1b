//! Broken, foreign, huge and malicious files get a precise rejection and never a panic.

use std::path::Path;

use jixiao::check::Status;
use jixiao::rules::issue::IssueCode;
use jixiao::{Checker, Definitions, Limits};

fn checker() -> Checker {
    Checker::new(Definitions::embedded(), Limits::default())
}

fn code_of_file(name: &str) -> IssueCode {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bad")
        .join(name);
    let r = checker().check_path(&path, name).result;
    assert_eq!(r.status, Status::Rejected, "{name}");
    assert_eq!(r.form, None, "{name}");
    assert_eq!(r.errors.len(), 1, "{name}: {:?}", r.errors);
    assert!(!r.errors[0].message.is_empty());
    r.errors[0].code
}

#[test]
fn bad_fixtures_are_rejected_with_their_reason() {
    assert_eq!(code_of_file("~$报表.xlsx"), IssueCode::LockFile);
    assert_eq!(code_of_file(".~lock.报表.xlsx#"), IssueCode::LockFile);
    assert_eq!(code_of_file("empty.xlsx"), IssueCode::EmptyFile);
    assert_eq!(code_of_file("not-a-workbook.xlsx"), IssueCode::NotAWorkbook);
    assert_eq!(code_of_file("truncated.xlsx"), IssueCode::DamagedFile);
    assert_eq!(code_of_file("password.xlsx"), IssueCode::PasswordProtected);
    // An encrypted OpenDocument (calamine's test file): its manifest says so; it is no damaged
    // file.
    assert_eq!(code_of_file("password.ods"), IssueCode::PasswordProtected);
    assert_eq!(code_of_file("bomb.xlsx"), IssueCode::InflatesTooMuch);
    assert_eq!(
        code_of_file("bomb-declared-small.xlsx"),
        IssueCode::InflatesTooMuch
    );
    assert_eq!(code_of_file("does-not-exist.xlsx"), IssueCode::FileNotFound);
    // An .ods of a few hundred bytes whose last value sits at row 9,002, column 9,001: a dense
    // grid of 81 million cells is refused before it is allocated.
    assert_eq!(code_of_file("far-cell.ods"), IssueCode::TooManyCells);
}

#[test]
fn messages_tell_the_department_what_to_do() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad/password.xlsx");
    let r = checker().check_path(&path, "password.xlsx").result;
    assert_eq!(
        r.errors[0].message,
        "文件设有打开密码，无法读取。请在Excel或WPS中取消打开密码，另存为.xlsx格式后重新放入本部门文件夹"
    );
}

/// Regression: whole-file problems were answered in English (`invalid Zip archive: Could not
/// find EOCD`), with internals (`xl/worksheets/sheet1.xml超过52428800字节`) or an accusation
/// (`可能是恶意文件`). A clerk reads what happened and how to save the file again.
#[test]
fn whole_file_messages_speak_to_a_clerk() {
    let dirs = [
        "tests/fixtures/bad",
        "tests/fixtures/fuzz",
        "tests/fixtures/hostile",
    ];
    let mut seen = 0;
    for dir in dirs {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let r = checker().check_path(&entry.path(), &name).result;
            if r.form.is_some() {
                continue;
            }
            let m = &r.errors[0].message;
            let code = r.errors[0].code;
            seen += 1;
            // Names from the file itself (a sheet's, in “…”) are quoted as they are.
            let own: String = m
                .split('“')
                .map(|s| s.split_once('”').map_or(s, |(_, after)| after))
                .collect();
            let english: String = own
                .replace("Excel", "")
                .replace("WPS", "")
                .replace(".xlsx", "")
                .replace("MB", "")
                .replace("Office", "")
                .replace("PDF", "")
                .replace("RTF", "")
                .replace("OpenDocument", "")
                .replace("Word", "")
                .chars()
                .filter(|c| c.is_ascii_alphabetic())
                .collect();
            assert!(english.is_empty(), "{name}: English in {m}");
            for bad in ["字节", "恶意", "xml", "压缩条目", "OLE"] {
                assert!(!m.contains(bad), "{name}: {bad} in {m}");
            }
            if !matches!(code, IssueCode::LockFile | IssueCode::FileNotFound) {
                assert!(m.contains("另存为.xlsx"), "{name}: {m}");
            }
        }
    }
    assert!(seen >= 15, "{seen}");
}

#[test]
fn file_over_the_size_limit() {
    let limits = Limits {
        max_file_bytes: 1000,
        ..Limits::default()
    };
    let c = Checker::new(Definitions::embedded(), limits);
    let r = c.check_bytes("big.xlsx", &vec![b'P'; 1001]).result;
    assert_eq!(r.errors[0].code, IssueCode::FileTooLarge);
}

#[test]
fn too_many_sheets() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    for _ in 0..70 {
        wb.add_worksheet();
    }
    let bytes = wb.save_to_buffer().unwrap();
    let r = checker().check_bytes("sheets.xlsx", &bytes).result;
    assert_eq!(r.errors[0].code, IssueCode::TooManySheets);
}

#[test]
fn too_many_cells() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for r in 0..1100u32 {
        for c in 0..100u16 {
            ws.write_number(r, c, 1.0).unwrap();
        }
    }
    let bytes = wb.save_to_buffer().unwrap();
    let r = checker().check_bytes("cells.xlsx", &bytes).result;
    assert_eq!(r.errors[0].code, IssueCode::TooManyCells);
}

#[test]
fn a_stray_cell_far_away_does_not_cost_memory() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "随便写的表").unwrap();
    ws.write_string(1_048_575, 16_383, "x").unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let r = checker().check_bytes("stray.xlsx", &bytes).result;
    assert_eq!(r.errors[0].code, IssueCode::NotAForm);
}

#[test]
fn a_word_document_is_not_a_workbook() {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        z.start_file(
            "word/document.xml",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        std::io::Write::write_all(&mut z, b"<w:document/>").unwrap();
        z.finish().unwrap();
    }
    let r = checker().check_bytes("letter.xlsx", buf.get_ref()).result;
    assert_eq!(r.errors[0].code, IssueCode::NotAWorkbook);
    assert!(
        r.errors[0]
            .message
            .starts_with("这是Word文档，不是Excel或WPS表格"),
        "{}",
        r.errors[0].message
    );
}

/// The inputs the fuzzer found (panics and gigabyte allocations inside the .xls and .xlsx
/// readers) are rejected as damaged or oversized files, in bounded memory.
#[test]
fn fuzzer_findings_are_rejected_not_crashed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = entry.path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !(name.ends_with(".xls") || name.ends_with(".xlsx")) {
            continue;
        }
        seen += 1;
        let r = checker().check_path(&path, &name).result;
        assert_eq!(r.status, Status::Rejected, "{name}");
        let code = r.errors[0].code;
        if name.ends_with(".xls") {
            assert!(
                matches!(code, IssueCode::DamagedFile | IssueCode::TooManyCells),
                "{name}: {code} {}",
                r.errors[0].message
            );
        } else {
            // The .xlsx findings (a 6-letter column, a reversed merge) are read as far as they
            // go and rejected for what is wrong in them.
            assert!(!r.errors.is_empty(), "{name}");
        }
    }
    assert!(
        seen >= 10,
        "the fuzz findings are in tests/fixtures/fuzz ({seen})"
    );
}

/// Regression: a named pipe called `x.xlsx` blocked `open()` for ever (check, letter and the
/// daemon's main thread). It is refused at once, like a folder.
#[test]
fn a_named_pipe_is_refused_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("x.xlsx");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = checker().check_path(&fifo, "x.xlsx").result;
        let _ = tx.send(r);
    });
    let r = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("answered without waiting for a writer");
    assert_eq!(r.errors[0].code, IssueCode::NotAWorkbook);
    assert!(
        r.errors[0].message.contains("特殊文件"),
        "{}",
        r.errors[0].message
    );
}
