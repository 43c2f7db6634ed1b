//! The real daemon under faults around it: a full state folder, a busy database, files arriving
//! in a batch or slowly, files nobody would otherwise hear of, and files changed under it. Real
//! folders, real SQLite; the daemon's own log is read back.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rusqlite::Connection;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

const DECLARATION: &str = "examples/农业农村厅-绩效目标申报表.xlsx";
const SELF_EVALUATION: &str = "examples/农业农村厅-绩效自评表.xlsx";

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        Setup::with(&[])
    }

    /// A setup whose example configuration has these extra replacements.
    fn with(replace: &[(&str, &str)]) -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut cfg = jixiao::config::EXAMPLE
            .replace("stable_ms = 2000", "stable_ms = 300")
            .replace("rescan_secs = 60", "rescan_secs = 1")
            .replace("unreadable_retry_ms = 10000", "unreadable_retry_ms = 800")
            .replace("settle_ms = 120000", "settle_ms = 1500")
            .replace("refresh_secs = 5", "refresh_secs = 1");
        for (from, to) in replace {
            assert!(cfg.contains(from), "{from}");
            cfg = cfg.replace(from, to);
        }
        std::fs::write(dir.join("jixiao.toml"), cfg).unwrap();
        for d in ["农业农村厅", "教育厅"] {
            std::fs::create_dir_all(dir.join("收件").join(d)).unwrap();
        }
        Setup { _tmp: tmp, dir }
    }

    fn inbox(&self, dept: &str) -> PathBuf {
        self.dir.join("收件").join(dept)
    }

    /// Starts the daemon and returns once it says it is ready; its log is kept.
    fn start(&self) -> Daemon {
        self.start_with(&[])
    }

    fn start_with(&self, env: &[(&str, &str)]) -> Daemon {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_jixiao"))
            .args(["watch", "--config"])
            .arg(self.dir.join("jixiao.toml"))
            .envs(env.iter().copied())
            .env("JIXIAO_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let log = Arc::new(Mutex::new(Vec::new()));
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("ready: watching for forms") => break,
                Some(Ok(line)) => log.lock().unwrap().push(line),
                _ => panic!("the daemon stopped before it was ready: {log:?}"),
            }
        }
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        Daemon { child, log }
    }

    /// `jixiao watch --once`; returns its log.
    fn run_once(&self) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_jixiao"))
            .args(["watch", "--once", "--config"])
            .arg(self.dir.join("jixiao.toml"))
            .env("JIXIAO_LOG", "info")
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{log}");
        log
    }

    fn status(&self) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_jixiao"))
            .args(["status", "--config"])
            .arg(self.dir.join("jixiao.toml"))
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn db(&self) -> Connection {
        let conn = Connection::open(self.state().join("jixiao.db")).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn
    }

    fn state(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// (file name, outcome, stage) of every submission, in order.
    fn rows(&self) -> Vec<(String, String, String)> {
        if !self.state().join("jixiao.db").exists() {
            return Vec::new();
        }
        let conn = self.db();
        let Ok(mut stmt) =
            conn.prepare("SELECT file_name, outcome, stage FROM submissions ORDER BY id")
        else {
            return Vec::new();
        };
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    fn wait_for(
        &self,
        what: &str,
        secs: u64,
        done: impl Fn(&[(String, String, String)]) -> bool,
    ) -> Vec<(String, String, String)> {
        let start = Instant::now();
        loop {
            let rows = self.rows();
            if done(&rows) {
                return rows;
            }
            assert!(
                start.elapsed() < Duration::from_secs(secs),
                "timed out waiting for {what}: {rows:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn files_in(&self, dept: &str, folder: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.inbox(dept).join(folder))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The .eml files of one kind in the outbox folder.
    fn mails(&self, kind: &str) -> Vec<String> {
        std::fs::read_dir(self.dir.join("outbox"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| n.ends_with(&format!("-{kind}.eml")))
                    .collect()
            })
            .unwrap_or_default()
    }
}

struct Daemon {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Daemon {
    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits until a log line contains `text`.
    fn wait_log(&self, text: &str, secs: u64) {
        let start = Instant::now();
        while !self.log().contains(text) {
            assert!(
                start.elapsed() < Duration::from_secs(secs),
                "no log line with {text:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether the daemon is still running.
    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGTERM, and waits for a clean exit.
    fn stop(&mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}:\n{}", self.log());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn all_done(n: usize) -> impl Fn(&[(String, String, String)]) -> bool {
    move |rows| rows.len() >= n && rows.iter().all(|r| r.2 == "done")
}

/// Copies a fixture into an inbox and gives it a modification time `secs` after a fixed moment.
fn put(fixture_name: &str, to: &Path, secs: u64) {
    std::fs::copy(fixture(fixture_name), to).unwrap();
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000 + secs);
    std::fs::File::options()
        .write(true)
        .open(to)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// The warnings of a result, by code.
fn codes(conn: &Connection, file: &str) -> String {
    conn.query_row(
        "SELECT result_json FROM submissions WHERE file_name = ?1",
        [file],
        |r| r.get::<_, String>(0),
    )
    .unwrap()
}

#[test]
fn a_declaration_and_its_self_evaluation_dropped_together_are_recorded_declaration_first() {
    let s = Setup::new();
    let inbox = s.inbox("农业农村厅");
    // The self-evaluation arrives first, and its name sorts first too.
    put(SELF_EVALUATION, &inbox.join("1-自评表.xlsx"), 0);
    put(DECLARATION, &inbox.join("2-申报表.xlsx"), 5);
    s.run_once();
    let rows = s.rows();
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(names, ["2-申报表.xlsx", "1-自评表.xlsx"], "{rows:?}");
    let evaluation = codes(&s.db(), "1-自评表.xlsx");
    assert!(
        !evaluation.contains("no_approved_declaration"),
        "{evaluation}"
    );
}

#[test]
fn files_of_one_kind_are_taken_in_arrival_order_then_by_name() {
    let s = Setup::new();
    let inbox = s.inbox("农业农村厅");
    put(
        "examples/退回示例-缺项目名称.xlsx",
        &inbox.join("a.xlsx"),
        30,
    );
    put(
        "examples/退回示例-资金合计不符.xlsx",
        &inbox.join("b.xlsx"),
        10,
    );
    put(
        "examples/退回示例-未说明偏差原因.xlsx",
        &inbox.join("d.xlsx"),
        20,
    );
    put(
        "examples/教育厅-绩效目标申报表.xlsx",
        &inbox.join("c.xlsx"),
        20,
    );
    s.run_once();
    let names: Vec<String> = s.rows().into_iter().map(|r| r.0).collect();
    // The declarations of the batch first (b, c, a are declarations), each kind by time, then name.
    let kinds: Vec<(String, String)> = s
        .db()
        .prepare("SELECT file_name, COALESCE(form, '-') FROM submissions ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let declarations: Vec<&str> = kinds
        .iter()
        .filter(|k| k.1 == "target_declaration")
        .map(|k| k.0.as_str())
        .collect();
    let mut by_arrival = declarations.clone();
    by_arrival.sort_by_key(|n| match *n {
        "b.xlsx" => (10, *n),
        "a.xlsx" => (30, *n),
        _ => (20, *n),
    });
    assert_eq!(declarations, by_arrival, "{kinds:?}");
    assert_eq!(names.len(), 4);
}

#[test]
fn a_busy_database_never_fails_a_form() {
    let s = Setup::new();
    let mut d = s.start();
    let sources = [
        DECLARATION,
        SELF_EVALUATION,
        "examples/农业农村厅-绩效运行监控表.xlsx",
        "examples/退回示例-缺项目名称.xlsx",
        "examples/退回示例-资金合计不符.xlsx",
    ];
    let n = 40;
    for i in 0..n {
        let dept = if i % 2 == 0 {
            "农业农村厅"
        } else {
            "教育厅"
        };
        std::fs::copy(
            fixture(sources[i % sources.len()]),
            s.inbox(dept).join(format!("{i:02}.xlsx")),
        )
        .unwrap();
    }
    s.wait_for("every form", 120, all_done(n));
    d.stop();
    let log = d.log();
    assert!(!log.contains("database is locked"), "{log}");
    assert!(!log.contains("processing failed"), "{log}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_slow_upload_that_pauses_is_judged_whole() {
    // Pauses longer than stable_ms + unreadable_retry_ms, shorter than settle_ms.
    let s = Setup::with(&[("settle_ms = 1500", "settle_ms = 8000")]);
    let _d = s.start();
    let whole = std::fs::read(fixture(DECLARATION)).unwrap();
    let path = s.inbox("农业农村厅").join("慢慢上传.xlsx");
    let third = whole.len() / 3;
    let mut f = std::fs::File::create(&path).unwrap();
    use std::io::Write;
    for (i, part) in whole.chunks(third + 1).enumerate() {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(2500));
        }
        f.write_all(part).unwrap();
        f.flush().unwrap();
    }
    drop(f);
    let rows = s.wait_for("the whole upload", 60, all_done(1));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].1, "accepted", "{rows:?}");
    let (sha, archive): (String, String) = s
        .db()
        .query_row(
            "SELECT sha256, archive_path FROM submissions WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(sha, sha256_hex(&whole));
    assert_eq!(
        std::fs::read(s.state().join("archive").join(archive)).unwrap(),
        whole
    );
    assert_eq!(s.files_in("农业农村厅", "已退回"), Vec::<String>::new());
    let accepted = s.files_in("农业农村厅", "已受理");
    let original = accepted
        .iter()
        .find(|n| n.ends_with("慢慢上传.xlsx"))
        .unwrap();
    assert_eq!(
        std::fs::read(s.inbox("农业农村厅").join("已受理").join(original)).unwrap(),
        whole
    );
}

/// A small tmpfs mounted over a folder, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mounting a tmpfs on {}", dir.display());
        Tmpfs(dir.to_path_buf())
    }

    /// Fills the file system: a file grown until no byte is left.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.0.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![7u8; 4096];
        while f.write_all(&block).is_ok() {}
        while f.write_all(&[7]).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The texts of every cell of every sheet of a workbook.
fn workbook_texts(path: &Path) -> Vec<String> {
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(path).unwrap();
    let mut out = Vec::new();
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name).unwrap();
        for row in range.rows() {
            for c in row {
                out.push(c.to_string());
            }
        }
    }
    out
}

#[test]
fn a_full_state_folder_pauses_the_daemon_and_it_catches_up() {
    if !is_root() {
        eprintln!("note: skipped: mounting a tmpfs as the state folder needs root");
        return;
    }
    let s = Setup::new();
    let fs = Tmpfs::mount(&s.state(), "3m");
    // Each form waits a moment between its record and its move: the disk fills in that window,
    // with the summary workbook still to be rebuilt.
    let mut d = s.start_with(&[("JIXIAO_TEST_PAUSE_MS", "1500")]);
    put(DECLARATION, &s.inbox("农业农村厅").join("申报表.xlsx"), 0);
    s.wait_for("the first form recorded", 30, |rows| rows.len() == 1);
    let filler = fs.fill();
    // More forms while there is no space.
    put(
        SELF_EVALUATION,
        &s.inbox("农业农村厅").join("自评表.xlsx"),
        1,
    );
    put(
        "examples/教育厅-绩效目标申报表.xlsx",
        &s.inbox("教育厅").join("申报表.xlsx"),
        2,
    );
    put(
        "examples/退回示例-缺项目名称.xlsx",
        &s.inbox("教育厅").join("缺名称.xlsx"),
        3,
    );
    d.wait_log("no space left", 30);
    std::thread::sleep(Duration::from_secs(3));
    assert!(d.running(), "the daemon stopped:\n{}", d.log());
    assert_eq!(s.rows().len(), 1, "nothing recorded without space");

    std::fs::remove_file(filler).unwrap();
    let rows = s.wait_for("every form", 60, all_done(4));
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(d.running(), "{}", d.log());
    // Every form answered once: one receipt each.
    let start = Instant::now();
    while s.mails("receipt").len() < 4 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    d.stop();
    assert_eq!(s.mails("receipt").len(), 4, "{}", d.log());
    assert_eq!(s.mails("duplicate").len(), 0);
    // The summary workbook holds the forms taken after space returned.
    let names: Vec<String> = s
        .db()
        .prepare("SELECT project_name FROM submissions WHERE outcome = 'accepted'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let texts = workbook_texts(&s.dir.join("reports/绩效汇总-2026.xlsx"));
    for n in &names {
        assert!(texts.contains(n), "{n} missing from the summary");
    }
    let log = d.log();
    assert!(log.contains("space is available again"), "{log}");
    assert_eq!(log.matches("no space left").count(), 1, "said once: {log}");
}

/// The text of the one mail of a kind.
fn mail_text(s: &Setup, kind: &str) -> String {
    let names = s.mails(kind);
    assert_eq!(names.len(), 1, "{names:?}");
    let raw = std::fs::read(s.dir.join("outbox").join(&names[0])).unwrap();
    let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
    m.body_text(0).unwrap().to_string()
}

#[test]
fn files_nobody_would_hear_of_are_logged_once_answered_and_listed() {
    use std::os::unix::ffi::OsStrExt;
    let s = Setup::new();
    let inbox = s.inbox("农业农村厅");
    // 申报表.xlsx with its name in GBK, as an old archive tool leaves it.
    let gbk = inbox.join(std::ffi::OsStr::from_bytes(
        b"\xc9\xea\xb1\xa8\xb1\xed.xlsx",
    ));
    std::fs::copy(fixture(DECLARATION), &gbk).unwrap();
    // A link to a form outside.
    let outside = s.dir.join("outside.xlsx");
    std::fs::copy(fixture(SELF_EVALUATION), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, inbox.join("链接.xlsx")).unwrap();
    // Straight into the root, and into a folder of no configured department.
    std::fs::copy(fixture(DECLARATION), s.dir.join("收件/放错了.xlsx")).unwrap();
    std::fs::create_dir_all(s.dir.join("收件/财政局")).unwrap();
    std::fs::copy(fixture(DECLARATION), s.dir.join("收件/财政局/表.xlsx")).unwrap();
    // And a form that is taken as usual.
    std::fs::copy(fixture(SELF_EVALUATION), inbox.join("自评表.xlsx")).unwrap();

    let first = s.run_once();
    let second = s.run_once();
    for name in ["链接.xlsx", "放错了.xlsx", "表.xlsx", "\u{fffd}"] {
        assert_eq!(
            first
                .lines()
                .filter(|l| l.contains("not taken") && l.contains(name))
                .count(),
            1,
            "{name} logged once:\n{first}"
        );
        assert!(!second.contains(name), "{name} logged again:\n{second}");
    }
    // The department's files are answered in its returned folder, never followed or read.
    let returned = s.files_in("农业农村厅", "已退回");
    let link = returned
        .iter()
        .find(|n| n.starts_with("未受理") && n.ends_with("链接.xlsx"))
        .unwrap_or_else(|| panic!("{returned:?}"));
    let moved = s.inbox("农业农村厅").join("已退回").join(link);
    assert!(
        std::fs::symlink_metadata(&moved)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_link(&moved).unwrap(), outside);
    assert!(outside.exists());
    assert!(!gbk.exists());
    let renamed = returned
        .iter()
        .find(|n| n.starts_with("未受理") && n.ends_with("\u{fffd}.xlsx"))
        .unwrap_or_else(|| panic!("{returned:?}"));
    let reason = std::fs::read_to_string(
        s.inbox("农业农村厅")
            .join("已退回")
            .join(format!("{renamed}.退回原因.txt")),
    )
    .unwrap();
    assert!(reason.contains("重命名"), "{reason}");
    // One notice lists both; the form is taken as usual.
    let notice = mail_text(&s, "unreadable");
    assert!(
        notice.contains("链接.xlsx") && notice.contains("快捷方式"),
        "{notice}"
    );
    assert!(notice.contains("文件名无法识别"), "{notice}");
    let rows = s.rows();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, "自评表.xlsx");
    // Files with nobody to tell stay where they are; status lists every file not taken.
    assert!(s.dir.join("收件/放错了.xlsx").exists());
    let status = s.status();
    assert!(status.contains("files not taken:"), "{status}");
    assert!(
        status.contains("放错了.xlsx") && status.contains("nobody to tell"),
        "{status}"
    );
    assert!(status.contains("财政局/表.xlsx"), "{status}");
    assert!(
        status.contains("symbolic link") && status.contains("department told"),
        "{status}"
    );
    assert!(status.contains("file name is not UTF-8"), "{status}");
    // A file taken away from the root is no longer listed.
    std::fs::remove_file(s.dir.join("收件/放错了.xlsx")).unwrap();
    s.run_once();
    assert!(!s.status().contains("放错了.xlsx"));
}

#[test]
fn a_form_deleted_or_replaced_before_it_is_moved_is_recorded_as_not_moved() {
    let s = Setup::new();
    let inbox = s.inbox("农业农村厅");
    // Each form waits between its record and its move: the window to delete or replace it.
    let mut d = s.start_with(&[("JIXIAO_TEST_PAUSE_MS", "1500")]);
    std::fs::copy(fixture(DECLARATION), inbox.join("删掉.xlsx")).unwrap();
    s.wait_for("the first form recorded", 30, |rows| rows.len() == 1);
    std::fs::remove_file(inbox.join("删掉.xlsx")).unwrap();
    s.wait_for("the first form done", 30, all_done(1));
    std::fs::copy(fixture(SELF_EVALUATION), inbox.join("换掉.xlsx")).unwrap();
    s.wait_for("the second form recorded", 30, |rows| rows.len() == 2);
    let replacement = std::fs::read(fixture("examples/退回示例-缺项目名称.xlsx")).unwrap();
    std::fs::write(inbox.join("换掉.xlsx.part"), &replacement).unwrap();
    std::fs::rename(inbox.join("换掉.xlsx.part"), inbox.join("换掉.xlsx")).unwrap();
    // The replacement is a new submission of its own.
    let rows = s.wait_for("the replacement taken", 30, all_done(3));
    d.stop();
    assert_eq!(rows.len(), 3, "{rows:?}");
    let moved: Vec<(String, Option<String>)> = s
        .db()
        .prepare("SELECT file_name, moved_to FROM submissions ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(moved[0].1, None, "deleted: {moved:?}");
    assert_eq!(moved[1].1, None, "replaced: {moved:?}");
    assert!(
        s.status().contains("not moved: deleted or replaced"),
        "{}",
        s.status()
    );
    let to = moved[2].1.as_deref().expect("the replacement was moved");
    assert_eq!(std::fs::read(inbox.join(to)).unwrap(), replacement);
}

#[test]
fn temporary_files_of_killed_runs_are_removed_at_start() {
    let s = Setup::new();
    let reports = s.dir.join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = reports.join(format!(".jixiao-{dead}-0.tmp"));
    let running = reports.join(format!(".jixiao-{}-0.tmp", std::process::id()));
    std::fs::write(&stale, b"half a workbook").unwrap();
    std::fs::write(&running, b"being written").unwrap();
    s.run_once();
    assert!(!stale.exists());
    assert!(running.exists(), "a running process's file is kept");
}

#[test]
fn a_self_evaluation_waits_for_its_declaration_still_being_copied() {
    use std::io::Write;
    let s = Setup::with(&[("stable_ms = 300", "stable_ms = 600")]);
    let inbox = s.inbox("农业农村厅");
    let mut d = s.start();
    std::fs::copy(fixture(SELF_EVALUATION), inbox.join("自评表.xlsx")).unwrap();
    // The declaration is still being written when the self-evaluation has settled.
    std::thread::sleep(Duration::from_millis(200));
    let whole = std::fs::read(fixture(DECLARATION)).unwrap();
    let (head, tail) = whole.split_at(whole.len() / 2);
    let mut f = std::fs::File::create(inbox.join("申报表.xlsx")).unwrap();
    f.write_all(head).unwrap();
    f.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    f.write_all(tail).unwrap();
    drop(f);
    let rows = s.wait_for("both forms", 30, all_done(2));
    d.stop();
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(names, ["申报表.xlsx", "自评表.xlsx"], "{rows:?}");
    let evaluation = codes(&s.db(), "自评表.xlsx");
    assert!(
        !evaluation.contains("no_approved_declaration"),
        "{evaluation}"
    );
}

#[test]
fn a_run_once_on_a_full_state_folder_leaves_the_files_for_the_next_run() {
    if !is_root() {
        eprintln!("note: skipped: mounting a tmpfs as the state folder needs root");
        return;
    }
    let s = Setup::new();
    let fs = Tmpfs::mount(&s.state(), "3m");
    put(DECLARATION, &s.inbox("农业农村厅").join("申报表.xlsx"), 0);
    s.run_once();
    // A reader keeps the database's shared-memory and log files in place (opening the database
    // on a full disk fails before the daemon can do anything).
    let reader = s.db();
    reader
        .query_row("SELECT COUNT(*) FROM submissions", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
    let filler = fs.fill();
    put(
        SELF_EVALUATION,
        &s.inbox("农业农村厅").join("自评表.xlsx"),
        1,
    );
    let log = s.run_once();
    assert!(log.contains("no space left"), "{log}");
    assert!(s.inbox("农业农村厅").join("自评表.xlsx").exists());
    assert_eq!(s.rows().len(), 1);
    std::fs::remove_file(filler).unwrap();
    s.run_once();
    let rows = s.rows();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r.2 == "done"), "{rows:?}");
}

/// A file whose processing keeps failing (here: its archive folder is blocked by a file) is
/// retried, and `status` says what is stuck and why — with the number of attempts and the last
/// error, kept in the state so a restart does not forget it; once it goes through, nothing is
/// listed any more.
#[test]
fn a_file_that_keeps_failing_is_listed_by_status_with_its_error_until_it_goes_through() {
    let s = Setup::new();
    let bytes = std::fs::read(fixture(SELF_EVALUATION)).unwrap();
    let sha = sha256_hex(&bytes);
    let blocker = s.state().join("archive").join(&sha[..2]);
    std::fs::create_dir_all(blocker.parent().unwrap()).unwrap();
    std::fs::write(&blocker, b"not a folder").unwrap();
    let mut d = s.start();
    put(
        SELF_EVALUATION,
        &s.inbox("农业农村厅").join("自评表.xlsx"),
        0,
    );
    d.wait_log("processing failed; will retry", 20);
    d.stop();
    let status = s.status();
    assert!(
        status.contains("retrying nyt 农业农村厅/自评表.xlsx"),
        "{status}"
    );
    assert!(status.contains("tries"), "{status}");
    let json: serde_json::Value = serde_json::from_slice(
        &Command::new(env!("CARGO_BIN_EXE_jixiao"))
            .args(["status", "--json", "--config"])
            .arg(s.dir.join("jixiao.toml"))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let pending = json["pending"].as_array().unwrap();
    let stuck = pending
        .iter()
        .find(|p| p["kind"] == "retrying")
        .unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(stuck["department"], "nyt");
    assert!(stuck["attempts"].as_u64().unwrap() >= 1);
    assert!(
        stuck["last_error"].as_str().unwrap().contains("archive"),
        "{stuck}"
    );
    // Cleared: after a restart the file goes through and is no longer listed.
    std::fs::remove_file(&blocker).unwrap();
    s.run_once();
    assert_eq!(s.rows().len(), 1);
    assert!(!s.status().contains("retrying"), "{}", s.status());
}
