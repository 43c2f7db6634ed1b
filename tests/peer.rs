//! Spreadsheets no one here wrote: calamine's own test files and a selection of Apache POI's
//! test data (`tests/fixtures/peer/`, licences beside them), saved by Excel, LibreOffice, WPS-era
//! tools and assorted generators. Each is answered without a crash, and none that calamine itself
//! reads completely is called damaged or not a workbook: it is read as a form, answered
//! `not_a_form`, or refused for a true and precise reason (a limit, a password).
//!
//! What calamine reads is decided in a child process (this test binary again, `probe`), so that a
//! file that makes calamine abort or swell cannot take the test down with it.

use std::path::{Path, PathBuf};
use std::process::Command;

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/peer");
const PROBE_ENV: &str = "JIXIAO_PEER_PROBE";

fn peer_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["calamine", "poi"] {
        for e in std::fs::read_dir(Path::new(PEER).join(dir))
            .unwrap()
            .flatten()
        {
            let p = e.path();
            let ext = p
                .extension()
                .map(|x| x.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            if ["xlsx", "xlsm", "xlsb", "xls", "ods", "xltx"].contains(&ext.as_str()) {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// The child's side: reads the file named by `JIXIAO_PEER_PROBE` with calamine alone — every
/// worksheet — and prints `READS` or the error. Does nothing in a normal test run.
#[test]
fn probe() {
    use calamine::Reader;
    let Ok(path) = std::env::var(PROBE_ENV) else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let outcome = (|| -> Result<(), calamine::Error> {
        let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))?;
        let sheets: Vec<String> = wb
            .sheets_metadata()
            .iter()
            .filter(|s| s.typ == calamine::SheetType::WorkSheet)
            .map(|s| s.name.clone())
            .collect();
        for name in sheets {
            wb.worksheet_range(&name)?;
        }
        Ok(())
    })();
    match outcome {
        Ok(()) => println!("PROBE:READS"),
        Err(e) => println!("PROBE:ERROR {e}"),
    }
}

/// Whether calamine reads the file completely, judged in a child process with 2 GB of address
/// space (a file that makes it abort or swell counts as not read).
fn calamine_reads(path: &Path) -> bool {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "probe", "--nocapture", "--test-threads=1"])
        .env(PROBE_ENV, path);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 2 << 30,
                rlim_max: 2 << 30,
            };
            libc::setrlimit(libc::RLIMIT_AS, &limit);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout).contains("PROBE:READS")
}

/// `jixiao check --json` on one file: its first error code, or `None` when it exited without a
/// result (a crash).
fn our_answer(path: &Path) -> Option<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_jixiao"))
        .args(["check", "--json"])
        .arg(path)
        .env("JIXIAO_LOG", "off")
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(line.lines().next()?).ok()?;
    Some(
        v["errors"][0]["code"]
            .as_str()
            .unwrap_or(if v["status"] == "accepted" {
                "accepted"
            } else {
                "rejected"
            })
            .to_string(),
    )
}

#[test]
fn every_peer_workbook_is_answered_and_none_that_calamine_reads_is_called_damaged() {
    let files = peer_files();
    assert!(files.len() > 250, "{} peer files", files.len());
    let mut wrong = Vec::new();
    let mut crashed = Vec::new();
    let mut read_by_calamine = 0;
    for f in &files {
        let name = f.strip_prefix(PEER).unwrap().display().to_string();
        let Some(code) = our_answer(f) else {
            crashed.push(name);
            continue;
        };
        if calamine_reads(f) {
            read_by_calamine += 1;
            if code == "damaged_file" || code == "not_a_workbook" {
                wrong.push(format!("{name}: {code}"));
            }
        }
    }
    eprintln!(
        "{} peer files, {read_by_calamine} read completely by calamine",
        files.len()
    );
    assert!(crashed.is_empty(), "no answer for: {crashed:#?}");
    assert!(
        wrong.is_empty(),
        "read by calamine but called damaged or not a workbook:\n{}",
        wrong.join("\n")
    );
}
