//! The real daemon on temporary folders: every way a file arrives, every way it can be wrong,
//! and a `kill -9` in the middle of a batch.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let cfg = jixiao::config::EXAMPLE
            .replace("stable_ms = 2000", "stable_ms = 300")
            .replace("rescan_secs = 60", "rescan_secs = 1")
            .replace("unreadable_retry_ms = 10000", "unreadable_retry_ms = 800")
            .replace("settle_ms = 120000", "settle_ms = 1000");
        std::fs::write(dir.join("jixiao.toml"), cfg).unwrap();
        for d in ["农业农村厅", "教育厅"] {
            std::fs::create_dir_all(dir.join("收件").join(d)).unwrap();
        }
        Setup { _tmp: tmp, dir }
    }

    fn inbox(&self, dept: &str) -> PathBuf {
        self.dir.join("收件").join(dept)
    }

    fn start(&self) -> Child {
        self.start_with(&[])
    }

    fn start_with(&self, env: &[(&str, &str)]) -> Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_jixiao"));
        cmd.args(["watch", "--config"])
            .arg(self.dir.join("jixiao.toml"))
            .env("JIXIAO_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.spawn().unwrap()
    }

    /// Starts the daemon and returns once it says it is ready (its first scan is done and the
    /// file watcher is installed): from then on a new file is noticed.
    fn start_ready(&self) -> Child {
        start_ready(
            Command::new(env!("CARGO_BIN_EXE_jixiao"))
                .args(["watch", "--config"])
                .arg(self.dir.join("jixiao.toml")),
        )
    }

    /// Stops a running daemon gracefully (SIGTERM) and waits for it to exit.
    fn stop(&self, d: &mut Running) {
        let pid = d.0.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(d.0.wait().unwrap().success());
    }

    fn run_once(&self) {
        let status = Command::new(env!("CARGO_BIN_EXE_jixiao"))
            .args(["watch", "--once", "--config"])
            .arg(self.dir.join("jixiao.toml"))
            .env("JIXIAO_LOG", "warn")
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn db(&self) -> Connection {
        Connection::open(self.dir.join("state/jixiao.db")).unwrap()
    }

    /// (file name, outcome, stage) of every submission, in order.
    fn rows(&self) -> Vec<(String, String, String)> {
        let path = self.dir.join("state/jixiao.db");
        if !path.exists() {
            return Vec::new();
        }
        let conn = self.db();
        // The daemon may not have created its tables yet.
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
        done: impl Fn(&[(String, String, String)]) -> bool,
    ) -> Vec<(String, String, String)> {
        let start = Instant::now();
        loop {
            let rows = self.rows();
            if done(&rows) {
                return rows;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}: {rows:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn files_in(&self, dept: &str, folder: &str) -> Vec<String> {
        let dir = self.inbox(dept).join(folder);
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

/// The originals among the files of an output folder (not letters, reasons or annotated copies).
fn originals(names: &[String]) -> usize {
    names
        .iter()
        .filter(|f| f.ends_with(".xlsx") && !f.ends_with("（错误标注）.xlsx"))
        .count()
}

/// Spawns a daemon with its log on a pipe and waits for its "ready" line; the rest of its log is
/// drained on a thread so it never blocks.
fn start_ready(cmd: &mut Command) -> Child {
    use std::io::BufRead;
    let mut child = cmd
        .env("JIXIAO_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("ready: watching for forms") => break,
            Some(Ok(line)) => seen.push(line),
            _ => panic!("the daemon stopped before it was ready: {seen:?}"),
        }
    }
    std::thread::spawn(move || for _ in lines {});
    child
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn all_done(n: usize) -> impl Fn(&[(String, String, String)]) -> bool {
    move |rows| rows.len() >= n && rows.iter().all(|r| r.2 == "done")
}

#[test]
fn copy_slow_write_rename_and_file_present_at_start() {
    let s = Setup::new();
    let inbox = s.inbox("农业农村厅");
    // Present before the daemon starts.
    std::fs::copy(
        fixture("examples/农业农村厅-绩效目标申报表.xlsx"),
        inbox.join("已在文件夹中.xlsx"),
    )
    .unwrap();
    let _d = Running(s.start());
    s.wait_for("the file present at start", all_done(1));

    // cp
    std::fs::copy(
        fixture("examples/农业农村厅-绩效运行监控表.xlsx"),
        inbox.join("监控 表 复制.xlsx"),
    )
    .unwrap();
    s.wait_for("the copied file", all_done(2));

    // A slow write in chunks, each pause shorter than the stability interval.
    let bytes = std::fs::read(fixture("examples/农业农村厅-绩效自评表.xlsx")).unwrap();
    {
        use std::io::Write;
        let mut f = std::fs::File::create(inbox.join("慢慢写入的自评表.xlsx")).unwrap();
        for chunk in bytes.chunks(bytes.len() / 8 + 1) {
            f.write_all(chunk).unwrap();
            f.flush().unwrap();
            std::thread::sleep(Duration::from_millis(150));
        }
    }
    // Write to a temporary name, then rename (as Excel, WPS, LibreOffice and rsync do).
    let sub = inbox.join("子文件夹");
    std::fs::create_dir_all(&sub).unwrap();
    let tmp = sub.join("~$保存中.tmp");
    std::fs::copy(fixture("examples/教育厅-绩效目标申报表.xlsx"), &tmp).unwrap();
    let edu = s.inbox("教育厅");
    std::fs::rename(&tmp, sub.join("重命名.xlsx")).unwrap();
    // and one from the other department, through its own folder
    std::fs::copy(
        fixture("examples/教育厅-绩效自评表.xlsx"),
        edu.join("教育厅 自评.xlsx"),
    )
    .unwrap();
    let rows = s.wait_for("all five", all_done(5));
    let outcomes: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    // 重命名.xlsx is the 教育厅 declaration in the 农业农村厅 folder: rejected for identity.
    assert_eq!(rows.len(), 5, "{rows:?}");
    let by_name = |n: &str| {
        rows.iter()
            .find(|r| r.0 == n)
            .unwrap_or_else(|| panic!("{n} missing: {rows:?}"))
            .1
            .clone()
    };
    assert_eq!(by_name("已在文件夹中.xlsx"), "accepted");
    assert_eq!(by_name("监控 表 复制.xlsx"), "accepted");
    assert_eq!(
        by_name("慢慢写入的自评表.xlsx"),
        "accepted",
        "a slow write is read only when complete"
    );
    assert_eq!(by_name("重命名.xlsx"), "rejected");
    assert_eq!(by_name("教育厅 自评.xlsx"), "accepted");
    assert_eq!(outcomes.iter().filter(|o| **o == "accepted").count(), 4);
    assert!(!sub.join("重命名.xlsx").exists());
    assert_eq!(originals(&s.files_in("农业农村厅", "已受理")), 3);
    // The archive keeps a copy of every received file outside the departments' folders.
    let archived = walkdir::WalkDir::new(s.dir.join("state/archive"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .count();
    assert_eq!(archived, 5);
}

#[test]
fn lock_files_duplicates_resubmissions_wrong_department_unreadable_and_symlinks() {
    let s = Setup::new();
    let inbox = s.inbox("农业农村厅");
    let mut d = Running(s.start());

    // Lock and hidden files are not forms.
    std::fs::write(inbox.join("~$申报表.xlsx"), b"lock").unwrap();
    std::fs::write(inbox.join(".~lock.申报表.xlsx#"), b"lock").unwrap();
    std::fs::write(inbox.join(".hidden.xlsx"), b"x").unwrap();

    // A rejected declaration, then its corrected version: the history keeps both.
    std::fs::copy(
        fixture("examples/退回示例-资金合计不符.xlsx"),
        inbox.join("申报表.xlsx"),
    )
    .unwrap();
    s.wait_for("the rejected declaration", all_done(1));
    std::fs::copy(
        fixture("examples/农业农村厅-绩效目标申报表.xlsx"),
        inbox.join("申报表.xlsx"),
    )
    .unwrap();
    s.wait_for("the corrected declaration", all_done(2));
    // The same content again: a duplicate, not processed again.
    std::fs::copy(
        fixture("examples/农业农村厅-绩效目标申报表.xlsx"),
        inbox.join("申报表（再次）.xlsx"),
    )
    .unwrap();
    s.wait_for("the duplicate", all_done(3));

    // Another department's form in this folder.
    std::fs::copy(
        fixture("examples/教育厅-绩效目标申报表.xlsx"),
        inbox.join("别人的表.xlsx"),
    )
    .unwrap();
    s.wait_for("the wrong-department form", all_done(4));

    // A file that is not a workbook: tried twice, then returned.
    std::fs::write(inbox.join("坏文件.xlsx"), b"PK\x03\x04 not really a zip").unwrap();
    let started = Instant::now();
    let rows = s.wait_for("the unreadable file", all_done(5));
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "an unreadable file waits for its second try"
    );

    // A symlink leading out of the root is never followed: the link itself is returned, its
    // target left alone.
    let outside = s.dir.join("outside.xlsx");
    std::fs::copy(fixture("examples/农业农村厅-绩效自评表.xlsx"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, inbox.join("链接.xlsx")).unwrap();
    // Whatever is waiting is handled by a run that exits when nothing is left.
    s.stop(&mut d);
    s.run_once();

    let rows_now = s.rows();
    assert_eq!(rows_now.len(), 5, "the symlink is not taken: {rows_now:?}");
    assert!(outside.exists());
    assert!(!inbox.join("链接.xlsx").exists());
    let returned = s.files_in("农业农村厅", "已退回");
    let link = returned
        .iter()
        .find(|f| f.starts_with("未受理") && f.ends_with("链接.xlsx"))
        .unwrap_or_else(|| panic!("{returned:?}"));
    assert_eq!(
        std::fs::read_link(inbox.join("已退回").join(link)).unwrap(),
        outside
    );
    let outcome: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        outcome,
        ["rejected", "accepted", "duplicate", "rejected", "rejected"]
    );
    // Lock and hidden files stay where they are, untouched.
    assert!(inbox.join("~$申报表.xlsx").exists());
    assert!(inbox.join(".~lock.申报表.xlsx#").exists());

    let conn = s.db();
    let (superseded, history): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM submissions WHERE supersedes IS NOT NULL AND file_name = '申报表.xlsx'), \
             (SELECT COUNT(*) FROM submissions WHERE project_key = (SELECT project_key FROM submissions WHERE id = 2))",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        superseded, 1,
        "the corrected version links the rejected one"
    );
    assert_eq!(history, 2, "both versions are kept");
    let wrong: String = conn
        .query_row(
            "SELECT result_json FROM submissions WHERE file_name = '别人的表.xlsx'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(wrong.contains("wrong_department"), "{wrong}");
    let bad: String = conn
        .query_row(
            "SELECT result_json FROM submissions WHERE file_name = '坏文件.xlsx'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(bad.contains("damaged_file"), "{bad}");
    let returned = s.files_in("农业农村厅", "已退回");
    assert!(
        returned
            .iter()
            .any(|f| f.ends_with("别人的表.xlsx.退回原因.txt")),
        "{returned:?}"
    );
    assert!(
        returned
            .iter()
            .any(|f| f.ends_with("申报表（再次）.xlsx.退回原因.txt")),
        "{returned:?}"
    );
    // The return notice and the annotated workbook appear beside a returned form, and the
    // review opinion beside the accepted declaration.
    assert!(
        returned
            .iter()
            .any(|f| f.contains("退回修改通知") && f.ends_with(".docx")),
        "{returned:?}"
    );
    assert!(
        returned.iter().any(|f| f.ends_with("（错误标注）.xlsx")),
        "{returned:?}"
    );
    let accepted = s.files_in("农业农村厅", "已受理");
    assert!(
        accepted
            .iter()
            .any(|f| f.contains("绩效目标审核意见") && f.ends_with(".docx")),
        "{accepted:?}"
    );
    // Every message went to the outbox folder (no SMTP configured): a receipt for each taken
    // form, a duplicate notice, a letter for each checked form, and for the file that is no
    // workbook and for the link plain notices without a number.
    let mut eml: Vec<String> = std::fs::read_dir(s.dir.join("outbox"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    eml.sort();
    let count = |kind: &str| {
        eml.iter()
            .filter(|n| n.ends_with(&format!("-{kind}.eml")))
            .count()
    };
    assert_eq!(count("receipt"), 3, "{eml:?}");
    assert_eq!(count("duplicate"), 1, "{eml:?}");
    assert_eq!(count("return_notice"), 2, "{eml:?}");
    assert_eq!(count("target_review"), 1, "{eml:?}");
    // The file that is no workbook, then (in a later notice) the link.
    assert_eq!(count("unreadable"), 2, "{eml:?}");
    let reason = std::fs::read_to_string(
        s.inbox("农业农村厅").join("已退回").join(
            returned
                .iter()
                .find(|f| f.ends_with("别人的表.xlsx.退回原因.txt"))
                .unwrap(),
        ),
    )
    .unwrap();
    assert!(reason.contains("主管部门填写为“吉林省教育厅”"), "{reason}");
}

#[test]
fn kill_9_in_the_middle_of_a_batch_loses_nothing_and_repeats_nothing() {
    let s = Setup::new();
    let inbox = s.inbox("农业农村厅");
    // 24 distinct files: the fixtures of this department, each made unique by its name only
    // would be duplicates, so use distinct contents from the variants corpus.
    let mut sources: Vec<PathBuf> = std::fs::read_dir(fixture("variants"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "xlsx"))
        .collect();
    sources.sort();
    sources.truncate(24);
    for (i, src) in sources.iter().enumerate() {
        std::fs::copy(src, inbox.join(format!("批量{i:02}.xlsx"))).unwrap();
    }
    // Kill the daemon three times at different moments, with a pause between recording and
    // moving so the kill lands in the middle of the work.
    for wait_rows in [3usize, 9, 15] {
        let mut child = s.start_with(&[("JIXIAO_TEST_PAUSE_MS", "120")]);
        s.wait_for("some progress", |rows| rows.len() >= wait_rows);
        std::thread::sleep(Duration::from_millis(60));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    s.run_once();
    let rows = s.rows();
    assert_eq!(rows.len(), 24, "every file recorded exactly once: {rows:?}");
    assert!(rows.iter().all(|r| r.2 == "done"), "{rows:?}");
    let mut names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 24, "no file handled twice");
    assert!(rows.iter().all(|r| r.1 != "duplicate"));
    let left: Vec<_> = std::fs::read_dir(&inbox)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_file())
        .collect();
    assert!(left.is_empty(), "nothing left in the inbox");
    let moved = originals(&s.files_in("农业农村厅", "已受理"))
        + originals(&s.files_in("农业农村厅", "已退回"));
    assert_eq!(moved, 24);
    // Every form got exactly one receipt and one numbered letter; the numbers run 1..=24 with no
    // gap and no repeat, across the kills.
    let conn = s.db();
    let numbers: Vec<i64> = conn
        .prepare("SELECT number FROM issued_letters ORDER BY number")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(numbers, (1..=24).collect::<Vec<i64>>());
    let receipts: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'receipt'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(receipts, 24);
}

#[test]
fn polling_mode_for_network_shares() {
    let s = Setup::new();
    let cfg = std::fs::read_to_string(s.dir.join("jixiao.toml"))
        .unwrap()
        .replace("poll = false", "poll = true")
        .replace("poll_ms = 2000", "poll_ms = 200");
    std::fs::write(s.dir.join("jixiao.toml"), cfg).unwrap();
    let _d = Running(s.start());
    std::fs::copy(
        fixture("examples/农业农村厅-绩效自评表.xlsx"),
        s.inbox("农业农村厅").join("自评.xlsx"),
    )
    .unwrap();
    let rows = s.wait_for("the polled file", all_done(1));
    assert_eq!(rows[0].1, "accepted");
}

#[cfg(unix)]
#[test]
fn sigterm_stops_gracefully() {
    let s = Setup::new();
    let mut child = s.start_ready();
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A file name with a line break and a 项目名称 typed over two lines (Alt+Enter) still get their
/// receipt and letter: header text is made one line, file names made safe.
#[test]
fn odd_file_names_and_multi_line_values_are_answered() {
    let s = Setup::new();
    let defs = jixiao::Definitions::embedded();
    let mut wb = jixiao::forms::blank::build(&defs, jixiao::FormKind::TargetDeclaration).unwrap();
    let ws = wb.worksheet_from_index(0).unwrap();
    for (r, c, t) in [
        (1u32, 0u16, "（2026年度）"),
        (3, 1, "两行的\n项目名称"),
        (5, 1, "吉林省农业农村厅"),
        (5, 5, "吉林省农业技术推广总站"),
        (10, 1, "年度目标"),
        (12, 3, "培训人数"),
        (12, 6, "≥100人"),
        (16, 3, "增收"),
        (16, 6, "≥5%"),
        (20, 3, "满意度"),
        (20, 6, "≥90%"),
        (15, 3, "人均成本"),
        (15, 6, "≤800元"),
    ] {
        ws.write_string(r, c, t).unwrap();
    }
    ws.write_number(7, 4, 100.0).unwrap();
    ws.write_number(8, 4, 100.0).unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let _d = Running(s.start());
    std::fs::write(s.inbox("农业农村厅").join("换\n行\t的文件名.xlsx"), &bytes).unwrap();
    let rows = s.wait_for("the oddly named file", all_done(1));
    assert_eq!(rows[0].1, "accepted", "{rows:?}");
    // Receipt and review opinion both queued.
    let start = Instant::now();
    loop {
        let kinds: Vec<String> = std::fs::read_dir(s.dir.join("outbox"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .collect()
            })
            .unwrap_or_default();
        if kinds.iter().any(|k| k.ends_with("-receipt.eml"))
            && kinds.iter().any(|k| k.ends_with("-target_review.eml"))
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{kinds:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Regression: a department replaced its 已退回 folder by a link to another department's folder;
/// the returned file went through the link and was taken as the other department's form.
#[test]
fn an_output_folder_replaced_by_a_link_is_moved_aside_not_followed() {
    let s = Setup::new();
    let nyt = s.inbox("农业农村厅");
    std::os::unix::fs::symlink("../教育厅", nyt.join("已退回")).unwrap();
    let mut d = Running(s.start());
    std::fs::copy(
        fixture("examples/教育厅-绩效目标申报表.xlsx"),
        nyt.join("别人的表.xlsx"),
    )
    .unwrap();
    let rows = s.wait_for("the wrong-department form", all_done(1));
    s.stop(&mut d);
    s.run_once();
    let rows_later = s.rows();
    assert_eq!(
        rows_later.len(),
        1,
        "nothing was taken from the other folder: {rows_later:?}"
    );
    assert_eq!(rows[0].1, "rejected");
    let returned = nyt.join("已退回");
    assert!(
        std::fs::symlink_metadata(&returned).unwrap().is_dir(),
        "a real folder now"
    );
    assert_eq!(originals(&s.files_in("农业农村厅", "已退回")), 1);
    let edu: Vec<_> = std::fs::read_dir(s.inbox("教育厅"))
        .unwrap()
        .flatten()
        .collect();
    assert!(
        edu.iter().all(|e| e.file_type().unwrap().is_dir()),
        "nothing written into 教育厅"
    );
}

/// Regression: a file over the size limit was never moved, so every rescan recorded another
/// duplicate and sent another notice.
#[test]
fn an_oversize_file_is_returned_once() {
    let s = Setup::new();
    let mut d = Running(s.start());
    let big = s.inbox("农业农村厅").join("太大的表.xlsx");
    std::fs::write(&big, vec![b'P'; 21 * 1024 * 1024]).unwrap();
    let rows = s.wait_for("the big file", all_done(1));
    s.stop(&mut d);
    // Two more runs, each scanning everything and exiting when nothing is left.
    s.run_once();
    s.run_once();
    assert_eq!(s.rows().len(), 1, "{:?}", s.rows());
    assert_eq!(rows[0].1, "rejected");
    assert!(!big.exists());
    let conn = s.db();
    let json: String = conn
        .query_row("SELECT result_json FROM submissions", [], |r| r.get(0))
        .unwrap();
    assert!(json.contains("file_too_large"), "{json}");
}

/// Regression: two daemons on one state folder handled the same file twice.
#[test]
fn a_second_daemon_on_the_same_state_refuses_to_start() {
    let s = Setup::new();
    let _d = Running(s.start_ready());
    let out = Command::new(env!("CARGO_BIN_EXE_jixiao"))
        .args(["watch", "--once", "--config"])
        .arg(s.dir.join("jixiao.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another jixiao watch is running"), "{err}");
}

/// Regression: with a relative --config path, file-system events did not match the root and files
/// waited for the rescan. (The rescan here is 60 s, so only an event can take the file in time.)
#[test]
fn a_relative_config_path_still_gets_events() {
    let s = Setup::new();
    let cfg = std::fs::read_to_string(s.dir.join("jixiao.toml"))
        .unwrap()
        .replace("rescan_secs = 1", "rescan_secs = 60");
    std::fs::write(s.dir.join("jixiao.toml"), cfg).unwrap();
    let child = start_ready(
        Command::new(env!("CARGO_BIN_EXE_jixiao"))
            .args(["watch", "--config", "jixiao.toml"])
            .current_dir(&s.dir),
    );
    let _d = Running(child);
    std::fs::copy(
        fixture("examples/农业农村厅-绩效自评表.xlsx"),
        s.inbox("农业农村厅").join("自评.xlsx"),
    )
    .unwrap();
    let start = Instant::now();
    s.wait_for("the file, by its event", all_done(1));
    assert!(start.elapsed() < Duration::from_secs(10));
}

/// Regression: a long Chinese file name made the names written beside it too long for the file
/// system, and the form stayed in the inbox.
#[test]
fn a_long_file_name_is_answered() {
    let s = Setup::new();
    let _d = Running(s.start());
    let name = format!("{}绩效表.xlsx", "吉林省农业农村厅".repeat(9));
    std::fs::copy(
        fixture("examples/农业农村厅-绩效目标申报表.xlsx"),
        s.inbox("农业农村厅").join(&name),
    )
    .unwrap();
    let rows = s.wait_for("the long name", all_done(1));
    assert_eq!(rows[0].1, "accepted");
    let accepted = s.files_in("农业农村厅", "已受理");
    assert!(
        accepted.iter().any(|f| f.ends_with(".docx")),
        "{accepted:?}"
    );
    assert_eq!(originals(&accepted), 1, "{accepted:?}");
}

/// Regression: every file that is not a form got a numbered return notice (2,000 junk files
/// spent 1,981 numbers) and its own mail. Now they get no number and one notice lists them.
#[test]
fn a_flood_of_files_that_are_no_form_gets_one_notice_and_no_numbers() {
    let s = Setup::new();
    let inbox = s.inbox("农业农村厅");
    let mut names = Vec::new();
    for i in 0..40 {
        let (name, bytes): (String, Vec<u8>) = match i % 4 {
            0 => (format!("说明{i:02}.txt"), format!("说明 {i}").into_bytes()),
            1 => (
                format!("照片{i:02}.jpg"),
                vec![0xFF, 0xD8, 0xFF, 0xE0, i as u8],
            ),
            2 => (format!("空文件{i:02}.xlsx"), Vec::new()),
            _ => (format!("扫描件{i:02}.pdf"), b"%PDF-1.4 same".to_vec()),
        };
        std::fs::write(inbox.join(&name), bytes).unwrap();
        names.push(name);
    }
    // A real form in the same batch still gets its receipt and numbered letter.
    std::fs::copy(
        fixture("examples/农业农村厅-绩效目标申报表.xlsx"),
        inbox.join("申报表.xlsx"),
    )
    .unwrap();
    s.run_once();
    let rows = s.rows();
    assert_eq!(rows.len(), 41, "{rows:?}");
    let mut eml: Vec<_> = std::fs::read_dir(s.dir.join("outbox"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    eml.sort();
    let notices: Vec<_> = eml
        .iter()
        .filter(|p| p.to_string_lossy().ends_with("-unreadable.eml"))
        .collect();
    assert_eq!(notices.len(), 1, "{eml:?}");
    let raw = std::fs::read(notices[0]).unwrap();
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let body = msg.body_text(0).unwrap();
    for name in &names {
        assert!(body.contains(name.as_str()), "{name} missing from {body}");
    }
    assert!(body.contains("另存为.xlsx"), "{body}");
    let letters = eml
        .iter()
        .filter(|p| {
            let n = p.to_string_lossy();
            n.ends_with("-return_notice.eml") || n.ends_with("-receipt.eml")
        })
        .count();
    assert_eq!(letters, 1, "only the form's receipt: {eml:?}");
    let numbers: i64 = s
        .db()
        .query_row("SELECT COUNT(*) FROM issued_letters", [], |r| r.get(0))
        .unwrap();
    assert_eq!(numbers, 1, "one number, for the form's letter");
    let returned = s.files_in("农业农村厅", "已退回");
    assert!(
        !returned.iter().any(|f| f.ends_with(".docx")),
        "{returned:?}"
    );
}

/// Regression: a named pipe in an inbox blocked the daemon's main thread in `open()`, so no other
/// form was answered. It is refused (left where it is) and the rest goes on.
#[test]
fn a_named_pipe_in_an_inbox_does_not_stop_the_daemon() {
    let s = Setup::new();
    let inbox = s.inbox("农业农村厅");
    let fifo = inbox.join("管道.xlsx");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
    std::fs::copy(
        fixture("examples/农业农村厅-绩效目标申报表.xlsx"),
        inbox.join("申报表.xlsx"),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jixiao"))
        .args(["watch", "--once", "--config"])
        .arg(s.dir.join("jixiao.toml"))
        .env("JIXIAO_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the daemon hung on the pipe");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
    let rows = s.rows();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, "申报表.xlsx");
    assert!(
        std::fs::symlink_metadata(&fifo).is_ok(),
        "the pipe is left alone"
    );
}
