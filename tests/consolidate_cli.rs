//! The summary workbook through the binary: `jixiao consolidate` (with `--out` and `--mail`), a
//! configuration mistake in `[summary]`, and the daemon rewriting the workbook after forms arrive.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use calamine::{Data, Reader, Xlsx};
use mail_parser::MimeHeaders;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn setup(extra: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = format!(
        "{}\n{extra}",
        jixiao::config::EXAMPLE
            .replace("stable_ms = 2000", "stable_ms = 200")
            .replace("rescan_secs = 60", "rescan_secs = 1")
    );
    std::fs::write(tmp.path().join("jixiao.toml"), cfg).unwrap();
    for d in ["农业农村厅", "教育厅"] {
        std::fs::create_dir_all(tmp.path().join("收件").join(d)).unwrap();
    }
    let dir = tmp.path().to_path_buf();
    (tmp, dir)
}

fn jixiao(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jixiao"))
        .args(args)
        .arg("--config")
        .arg(dir.join("jixiao.toml"))
        .env("JIXIAO_LOG", "warn")
        .output()
        .unwrap()
}

fn put(dir: &Path, dept: &str, fixture: &str) {
    std::fs::copy(
        Path::new(FIXTURES).join("examples").join(fixture),
        dir.join("收件").join(dept).join(fixture),
    )
    .unwrap();
}

/// Project names on a form sheet of a workbook file, or None while it cannot be read.
fn names(path: &Path, sheet: &str) -> Option<Vec<String>> {
    let bytes = std::fs::read(path).ok()?;
    let mut x: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).ok()?;
    let range = x.worksheet_range(sheet).ok()?;
    let rows: Vec<&[Data]> = range.rows().collect();
    let col = rows[0].iter().position(|h| h == "项目名称")?;
    Some(rows[1..].iter().map(|r| r[col].to_string()).collect())
}

#[test]
fn watch_once_writes_the_summary_and_consolidate_rewrites_it() {
    let (_tmp, dir) = setup("");
    put(&dir, "农业农村厅", "农业农村厅-绩效自评表.xlsx");
    put(&dir, "教育厅", "教育厅-绩效目标申报表.xlsx");
    let o = jixiao(&dir, &["watch", "--once"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = dir.join("reports/绩效汇总-2026.xlsx");
    assert_eq!(
        names(&report, "绩效自评表").expect("the daemon wrote the summary"),
        vec!["基层农技推广体系改革与建设补助项目"]
    );
    assert_eq!(
        names(&report, "绩效目标申报表").unwrap(),
        vec!["农村义务教育学生营养改善计划"]
    );

    let out = dir.join("elsewhere/汇总.xlsx");
    let o = jixiao(
        &dir,
        &[
            "consolidate",
            "--year",
            "2026",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("汇总.xlsx"));
    assert_eq!(names(&out, "绩效自评表").unwrap().len(), 1);

    let o = jixiao(&dir, &["consolidate", "--year", "2026", "--mail"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("jixiao@czt.jl.example.cn"), "{stdout}");
    assert!(stdout.contains("queued as outbox #"), "{stdout}");
    assert!(names(&report, "绩效自评表").is_some());
    // The daemon (here a --once run) delivers it: an .eml in the outbox folder with the workbook.
    let o = jixiao(&dir, &["watch", "--once"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let eml: Vec<PathBuf> = std::fs::read_dir(dir.join("outbox"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with("-summary.eml"))
        .collect();
    assert_eq!(eml.len(), 1);
    let raw = std::fs::read(&eml[0]).unwrap();
    let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let to: Vec<&str> = m.to().unwrap().iter().filter_map(|a| a.address()).collect();
    assert_eq!(to, ["jixiao@czt.jl.example.cn"]);
    let names: Vec<String> = m
        .attachments()
        .filter_map(|a| a.attachment_name().map(str::to_string))
        .collect();
    assert_eq!(names, ["绩效汇总-2026.xlsx"]);
}

#[test]
fn a_bad_mail_schedule_stops_with_the_key() {
    let (_tmp, dir) = setup("[summary]\nmail_schedule = \"every morning\"\n");
    let o = jixiao(&dir, &["consolidate", "--year", "2026"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("summary.mail_schedule"), "{err}");
    assert!(err.contains("daily 08:00"), "{err}");
}

#[test]
fn the_running_daemon_refreshes_the_summary_after_each_form() {
    let (_tmp, dir) = setup("[summary]\nrefresh_secs = 1\n");
    // Started and ready: its first scan is done and new files are noticed.
    let mut child = {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_jixiao"))
            .args(["watch", "--config"])
            .arg(dir.join("jixiao.toml"))
            .env("JIXIAO_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        assert!(
            lines.any(|l| l.is_ok_and(|l| l.contains("ready: watching for forms"))),
            "the daemon stopped before it was ready"
        );
        std::thread::spawn(move || for _ in lines {});
        child
    };
    let report = dir.join("reports/绩效汇总-2026.xlsx");
    let wait_for = |sheet: &str, n: usize| {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if names(&report, sheet).is_some_and(|v| v.len() == n) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    };
    put(&dir, "农业农村厅", "农业农村厅-绩效自评表.xlsx");
    let first = wait_for("绩效自评表", 1);
    put(&dir, "教育厅", "教育厅-绩效自评表.xlsx");
    let second = wait_for("绩效自评表", 2);
    let _ = child.kill();
    let _ = child.wait();
    assert!(first, "the summary appears after the first accepted form");
    assert!(second, "and is rewritten after the next one");
    let left: Vec<String> = std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(left, vec!["绩效汇总-2026.xlsx"]);
}

#[test]
fn the_mail_schedule_is_kept_once_per_due_time() {
    let dir = tempfile::tempdir().unwrap();
    let conn = jixiao::store::open(&dir.path().join("s.db")).unwrap();
    let settings: jixiao::summary::SummarySettings =
        toml::from_str("mail_schedule = \"daily 08:00\"").unwrap();
    let t = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    let since = t("2026-11-25 07:00");
    let due = |now: &str| jixiao::summary::scheduled_due(&conn, &settings, since, t(now)).unwrap();
    assert_eq!(due("2026-11-25 07:59"), None);
    assert_eq!(due("2026-11-25 08:00"), Some(t("2026-11-25 08:00")));
    conn.execute(
        "INSERT INTO summary_mail (year, due_at, outbox_id, queued_at) VALUES (2026, '2026-11-25T08:00:00', 1, 'x')",
        [],
    )
    .unwrap();
    assert_eq!(due("2026-11-25 09:00"), None, "once per due time");
    assert_eq!(due("2026-11-26 08:00"), Some(t("2026-11-26 08:00")));
    let none: jixiao::summary::SummarySettings = toml::from_str("").unwrap();
    assert_eq!(
        jixiao::summary::scheduled_due(&conn, &none, since, t("2026-12-01 08:00")).unwrap(),
        None
    );
}
