//! The year cycle run by the real daemon: reminders only for what is really owed (not for a
//! form waiting in its folder at start-up, not from an example setup's deadlines), and corrected
//! declarations tracked after a 不通过 or 修改后通过 review.

use std::path::{Path, PathBuf};
use std::process::Command;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// The 2026 deadlines these tests run against (the example setup sets none).
const DEADLINES_2026: &str = "
[[deadlines]]
year = 2026
form = \"target_declaration\"
due = \"2026-03-31\"

[[deadlines]]
year = 2026
form = \"performance_report\"
due = \"2026-08-15\"
";

/// Runs `jixiao ARGS` in `cwd` on day `today`; panics unless it succeeds.
fn jixiao(cwd: &Path, args: &[&str], today: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_jixiao"))
        .args(args)
        .current_dir(cwd)
        .env("JIXIAO_LOG", "warn")
        .env("JIXIAO_TODAY", today)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Every .eml in `outbox`: (subject, body, recipients), oldest first.
fn mails(outbox: &Path) -> Vec<(String, String, Vec<String>)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(outbox)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| {
            let raw = std::fs::read(p).unwrap();
            let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
            let to = m
                .to()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.address().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (
                m.subject().unwrap_or("").to_string(),
                m.body_text(0).map(|b| b.to_string()).unwrap_or_default(),
                to,
            )
        })
        .collect()
}

fn reminders(mails: &[(String, String, Vec<String>)], to: &str) -> Vec<(String, String)> {
    mails
        .iter()
        .filter(|(subject, _, rcpt)| {
            (subject.contains("催报通知") || subject.contains("逾期未报")) && rcpt == &[to]
        })
        .map(|(s, b, _)| (s.clone(), b.clone()))
        .collect()
}

const NYT: &str = "jixiao@nyt.jl.example.cn";
const JYT: &str = "jixiao@jyt.jl.example.cn";

/// A setup with the 2026 deadlines in a temporary folder.
fn setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = format!("{}{DEADLINES_2026}", jixiao::config::EXAMPLE)
        .replace("stable_ms = 2000", "stable_ms = 100");
    std::fs::write(tmp.path().join("jixiao.toml"), cfg).unwrap();
    tmp
}

#[test]
fn a_declaration_waiting_at_start_up_is_taken_before_reminders() {
    let tmp = setup();
    let inbox = tmp.path().join("收件/农业农村厅");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::copy(
        Path::new(FIXTURES).join("examples/农业农村厅-绩效目标申报表.xlsx"),
        inbox.join("申报表.xlsx"),
    )
    .unwrap();
    // The daemon starts after the deadline with the declaration already in its folder.
    jixiao(
        tmp.path(),
        &["watch", "--once", "--config", "jixiao.toml"],
        "2026-04-02",
    );
    let m = mails(&tmp.path().join("outbox"));
    assert!(
        m.iter()
            .any(|(s, _, to)| s.contains("绩效目标") && to == &[NYT]),
        "the declaration was answered: {m:?}"
    );
    assert!(reminders(&m, NYT).is_empty(), "{m:?}");
    let jyt = reminders(&m, JYT);
    assert_eq!(jyt.len(), 1, "{m:?}");
    assert!(jyt[0].0.contains("逾期未报"), "{jyt:?}");
}

#[test]
fn the_example_setup_sends_no_reminder_until_deadlines_are_set() {
    let tmp = tempfile::tempdir().unwrap();
    // No jixiao.toml here: watch makes the example setup in ./jixiao-data and runs it.
    jixiao(tmp.path(), &["watch", "--once"], "2026-11-30");
    let data = tmp.path().join("jixiao-data");
    assert!(data.join("jixiao.toml").exists());
    let text = std::fs::read_to_string(data.join("jixiao.toml")).unwrap();
    assert!(!text.contains("\n[[deadlines]]"), "{text}");
    assert!(mails(&data.join("outbox")).is_empty());
    // An administrator sets a deadline: the reminders follow.
    let text = text.replace("[reminders]", "[[deadlines]]\nyear = 2026\nform = \"target_declaration\"\ndue = \"2026-11-25\"\n\n[reminders]");
    std::fs::write(data.join("jixiao.toml"), text).unwrap();
    jixiao(
        tmp.path(),
        &["watch", "--once", "--config", "jixiao-data/jixiao.toml"],
        "2026-11-30",
    );
    let m = mails(&data.join("outbox"));
    assert_eq!(reminders(&m, NYT).len(), 1, "{m:?}");
    assert_eq!(reminders(&m, JYT).len(), 1, "{m:?}");
}

#[test]
fn a_declaration_awaiting_revision_is_tracked_in_reminders_status_and_summary() {
    let tmp = setup();
    let inbox = tmp.path().join("收件/农业农村厅");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::copy(
        Path::new(FIXTURES).join("crossform/申报表-修改后通过.xlsx"),
        inbox.join("申报表.xlsx"),
    )
    .unwrap();
    let today = chrono::Local::now().date_naive();
    let day = |n: u64| (today + chrono::Days::new(n)).to_string();
    jixiao(
        tmp.path(),
        &["watch", "--once", "--config", "jixiao.toml"],
        &day(0),
    );
    // The review letter gives 10 days ([letters] revision_days); two days past them:
    jixiao(
        tmp.path(),
        &["watch", "--once", "--config", "jixiao.toml"],
        &day(12),
    );
    let m = mails(&tmp.path().join("outbox"));
    let nyt = reminders(&m, NYT);
    assert_eq!(nyt.len(), 1, "{m:?}");
    assert!(nyt[0].0.contains("逾期未报"), "{nyt:?}");
    assert!(nyt[0].1.contains("审核结论为修改后通过"), "{nyt:?}");
    assert!(
        nyt[0].1.contains("- 基层农技推广体系改革与建设补助项目"),
        "{nyt:?}"
    );
    let status = jixiao(tmp.path(), &["status", "--config", "jixiao.toml"], &day(12));
    assert!(
        status.contains("吉林省农业农村厅: 项目支出绩效目标申报表 2026年 due"),
        "{status}"
    );
    assert!(status.contains("待修改后重新报送"), "{status}");
    jixiao(
        tmp.path(),
        &[
            "consolidate",
            "--year",
            "2026",
            "--out",
            "汇总.xlsx",
            "--config",
            "jixiao.toml",
        ],
        &day(12),
    );
    use calamine::Reader;
    let mut x: calamine::Xlsx<_> = calamine::open_workbook(tmp.path().join("汇总.xlsx")).unwrap();
    let rows: Vec<Vec<String>> = x
        .worksheet_range("逾期未报")
        .unwrap()
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert!(
        rows.iter().any(|r| r[0] == "吉林省农业农村厅"
            && r[2] == "项目支出绩效目标申报表"
            && r[4] == "2"
            && r[5].starts_with("基层农技推广体系改革与建设补助项目（审核结论为修改后通过")),
        "{rows:?}"
    );
    // 未报送 counts the department as having declared: its declaration was accepted.
    let missing: Vec<Vec<String>> = x
        .worksheet_range("未报送")
        .unwrap()
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert!(
        !missing
            .iter()
            .any(|r| r[1] == "nyt" && r[2].contains("申报表")),
        "{missing:?}"
    );
}
