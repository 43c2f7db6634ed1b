//! The daemon reads each file in a worker process: a file that crashes, hangs or swells its
//! reader is answered with a rejection, the next file is read by a fresh worker, and a file that
//! keeps taking the daemon itself down is answered instead of retried for ever.
//!
//! Unknown bad files are stood in for by `JIXIAO_TEST_WORKER_FAULTS`: with it, a worker given a
//! file named `fault-abort…`, `fault-hang…` or `fault-memory…` aborts, spins or grows without
//! end — what a reader bug nobody has found yet would do. A real hostile workbook is tried too.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;

const FORM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/examples/农业农村厅-绩效自评表.xlsx"
);

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Setup {
    /// The example setup with the worker's limits given as `[limits]`.
    fn new(limits: &str) -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let cfg = jixiao::config::EXAMPLE
            .replace("stable_ms = 2000", "stable_ms = 200")
            .replace("unreadable_retry_ms = 10000", "unreadable_retry_ms = 300");
        std::fs::write(
            dir.join("jixiao.toml"),
            format!("{cfg}\n[limits]\n{limits}\n"),
        )
        .unwrap();
        std::fs::create_dir_all(dir.join("收件/农业农村厅")).unwrap();
        Setup { _tmp: tmp, dir }
    }

    fn inbox(&self) -> PathBuf {
        self.dir.join("收件/农业农村厅")
    }

    /// Puts a copy of the standard self-evaluation under `name`, made distinct by `salt` (its
    /// content differs, so it is no duplicate of another copy).
    fn put(&self, name: &str, salt: &str) {
        let mut bytes = std::fs::read(FORM).unwrap();
        bytes.extend_from_slice(salt.as_bytes());
        put(&self.inbox().join(name), &bytes);
    }

    fn daemon(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_jixiao"));
        cmd.arg("--config")
            .arg(self.dir.join("jixiao.toml"))
            .arg("watch")
            .env("JIXIAO_TEST_WORKER_FAULTS", "1")
            .env("JIXIAO_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    fn run_once(&self) {
        let status = self.daemon().arg("--once").status().unwrap();
        assert!(status.success());
    }

    fn db(&self) -> Connection {
        Connection::open(self.dir.join("state/jixiao.db")).unwrap()
    }

    /// (file name, outcome, first error code) of every submission, in order.
    fn rows(&self) -> Vec<(String, String, Option<String>)> {
        let conn = self.db();
        let mut stmt = conn
            .prepare(
                "SELECT file_name, outcome, json_extract(result_json, '$.errors[0].code') \
                 FROM submissions ORDER BY id",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    fn row(&self, name: &str) -> (String, Option<String>) {
        let rows = self.rows();
        let (_, outcome, code) = rows
            .into_iter()
            .find(|r| r.0 == name)
            .unwrap_or_else(|| panic!("{name} was not answered"));
        (outcome, code)
    }

    /// The reasons written beside a returned file.
    fn reasons(&self, name: &str) -> String {
        let dir = self.inbox().join("已退回");
        let file = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .find(|e| {
                let n = e.file_name().to_string_lossy().to_string();
                n.ends_with(&format!("{name}.退回原因.txt"))
            })
            .unwrap_or_else(|| panic!("no reasons for {name} in {}", dir.display()));
        std::fs::read_to_string(file.path()).unwrap()
    }
}

fn put(path: &Path, bytes: &[u8]) {
    // Written beside and renamed in, as a copy tool does: the daemon sees it whole.
    let tmp = path.with_extension("part");
    std::fs::File::create(&tmp)
        .unwrap()
        .write_all(bytes)
        .unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn a_file_that_crashes_its_worker_is_returned_and_the_next_form_is_answered() {
    let s = Setup::new("seconds = 5");
    s.put("fault-abort.xlsx", "a");
    s.put("正常的自评表.xlsx", "b");
    s.run_once();
    assert_eq!(
        s.row("fault-abort.xlsx"),
        ("rejected".to_string(), Some("too_complex".to_string()))
    );
    assert_eq!(s.row("正常的自评表.xlsx").0, "accepted");
    let reasons = s.reasons("fault-abort.xlsx");
    assert!(
        reasons.contains("超出了处理上限（5秒、1024MB内存）"),
        "{reasons}"
    );
    assert!(reasons.contains("另存为.xlsx"), "{reasons}");
    // Nothing is left counted as being read.
    let open: i64 = s
        .db()
        .query_row("SELECT COUNT(*) FROM judging", [], |r| r.get(0))
        .unwrap();
    assert_eq!(open, 0);
}

#[test]
fn a_file_that_hangs_its_worker_is_returned_when_its_time_is_up() {
    let s = Setup::new("seconds = 2");
    s.put("fault-hang.xlsx", "a");
    s.put("正常的自评表.xlsx", "b");
    let started = Instant::now();
    s.run_once();
    assert_eq!(
        s.row("fault-hang.xlsx"),
        ("rejected".to_string(), Some("too_complex".to_string()))
    );
    assert_eq!(s.row("正常的自评表.xlsx").0, "accepted");
    // Not a timing assertion: a hang without the limit would never return at all.
    eprintln!("answered in {:?}", started.elapsed());
}

#[test]
fn a_file_that_swells_its_worker_is_returned() {
    let s = Setup::new("seconds = 20\nmemory_mb = 200");
    s.put("fault-memory.xlsx", "a");
    s.put("正常的自评表.xlsx", "b");
    s.run_once();
    assert_eq!(
        s.row("fault-memory.xlsx"),
        ("rejected".to_string(), Some("too_complex".to_string()))
    );
    assert_eq!(s.row("正常的自评表.xlsx").0, "accepted");
    assert!(s.reasons("fault-memory.xlsx").contains("200MB内存"));
}

const RETURNED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/examples/退回示例-资金合计不符.xlsx"
);

/// A returned form's annotated workbook is made in the worker too: it goes back beside the
/// letter; a workbook whose marking crashes its worker goes back without it, the letter still
/// names the errors, and the next file is answered.
#[test]
fn the_annotated_workbook_is_made_in_the_worker_and_its_failure_stops_nothing() {
    let s = Setup::new("seconds = 5");
    let returned = std::fs::read(RETURNED).unwrap();
    put(&s.inbox().join("资金合计不符.xlsx"), &returned);
    let mut other = returned.clone();
    other.extend_from_slice(b"x");
    put(&s.inbox().join("annotate-fault-abort.xlsx"), &other);
    s.put("正常的自评表.xlsx", "b");
    s.run_once();
    for name in ["资金合计不符.xlsx", "annotate-fault-abort.xlsx"] {
        assert_eq!(
            s.row(name),
            ("rejected".to_string(), Some("total_mismatch".to_string()))
        );
    }
    assert_eq!(s.row("正常的自评表.xlsx").0, "accepted");
    let returned_dir = s.inbox().join("已退回");
    let names: Vec<String> = std::fs::read_dir(&returned_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    let marked = |stem: &str| {
        names
            .iter()
            .find(|n| n.contains(stem) && n.ends_with("（错误标注）.xlsx"))
            .cloned()
    };
    // Read back: the department's own workbook with the error's cell commented.
    let good = marked("资金合计不符").expect("annotated workbook beside the letter");
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(returned_dir.join(good)).unwrap()).unwrap();
    assert!((0..zip.len()).any(|i| {
        zip.by_index(i)
            .unwrap()
            .name()
            .unwrap()
            .contains("comments")
    }));
    assert_eq!(marked("annotate-fault-abort"), None, "{names:?}");
    for stem in ["资金合计不符", "annotate-fault-abort"] {
        assert!(
            names
                .iter()
                .any(|n| n.contains(stem) && n.ends_with(".docx")),
            "no letter for {stem}: {names:?}"
        );
    }
}

/// A real hostile workbook: 7 KB whose shared-string table claims 2^45 entries (a reader that
/// trusts the count reserves petabytes and aborts). Whatever reads it, the daemon answers it and
/// goes on.
#[test]
fn a_workbook_that_would_abort_its_reader_never_stops_the_daemon() {
    let s = Setup::new("seconds = 8");
    put(&s.inbox().join("共享字符串.xlsx"), &shared_string_bomb());
    s.put("正常的自评表.xlsx", "b");
    s.run_once();
    let (outcome, code) = s.row("共享字符串.xlsx");
    assert_eq!(outcome, "rejected");
    assert!(code.is_some());
    assert_eq!(s.row("正常的自评表.xlsx").0, "accepted");
}

/// The standard self-evaluation with a shared-string table that declares 2^45 strings.
fn shared_string_bomb() -> Vec<u8> {
    use std::io::Read;
    let mut src = zip::ZipArchive::new(std::fs::File::open(FORM).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for i in 0..src.len() {
        let mut e = src.by_index(i).unwrap();
        let name = e.name().unwrap().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        let data = match name.as_str() {
            "xl/_rels/workbook.xml.rels" => String::from_utf8(data).unwrap().replace(
                "</Relationships>",
                "<Relationship Id=\"rId99\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings\" Target=\"sharedStrings.xml\"/></Relationships>",
            ).into_bytes(),
            "[Content_Types].xml" => String::from_utf8(data).unwrap().replace(
                "</Types>",
                "<Override PartName=\"/xl/sharedStrings.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml\"/></Types>",
            ).into_bytes(),
            _ => data,
        };
        out.start_file(name, opts).unwrap();
        out.write_all(&data).unwrap();
    }
    out.start_file("xl/sharedStrings.xml", opts).unwrap();
    out.write_all(
        br#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="35184372088832"><si><t>x</t></si></sst>"#,
    )
    .unwrap();
    out.finish().unwrap().into_inner()
}

/// A file that was being read each time the daemon itself was killed (three times) is answered
/// at the next start, not read a fourth time; the workers do not outlive their daemon.
#[test]
fn a_file_that_keeps_taking_the_daemon_down_is_answered_not_retried() {
    let s = Setup::new("seconds = 60");
    s.put("fault-hang.xlsx", "a");
    for kill in 1..=3 {
        let mut daemon = s.daemon().spawn().unwrap();
        // Wait until the file is in the worker (its try is counted), then kill the daemon.
        let start = Instant::now();
        loop {
            let tries: Option<i64> = Connection::open(s.dir.join("state/jixiao.db"))
                .ok()
                .and_then(|c| {
                    c.query_row("SELECT tries FROM judging", [], |r| r.get(0))
                        .ok()
                });
            if tries == Some(kill) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the file never reached a worker (kill {kill}, tries {tries:?})"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon.kill().unwrap();
        daemon.wait().unwrap();
        assert!(s.rows().is_empty());
    }
    // The next start answers it at once, though the worker would still hang on it.
    s.run_once();
    assert_eq!(
        s.row("fault-hang.xlsx"),
        ("rejected".to_string(), Some("too_complex".to_string()))
    );
    assert!(s.inbox().join("已退回").read_dir().unwrap().count() > 0);
    // The killed daemons' workers died with them (none is left spinning).
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(spinning_workers(), 0);
}

/// Workers of this test binary's `jixiao` whose daemon is gone (their parent is no `jixiao`).
fn spinning_workers() -> usize {
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_jixiao")).unwrap();
    let is_ours =
        |pid: &str| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|x| x == exe);
    let parent = |pid: &str| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let rest = stat.rsplit(')').next()?;
        rest.split_whitespace().nth(1).map(str::to_string)
    };
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            let pid = e.file_name().to_string_lossy().to_string();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            is_ours(&pid)
                && cmdline.split(|b| *b == 0).any(|a| a == b"worker")
                && parent(&pid).is_none_or(|p| !is_ours(&p))
        })
        .count()
}
