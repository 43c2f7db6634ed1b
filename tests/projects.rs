//! One project through the year with the real daemon: declaration, approval, performance reports
//! and self-evaluations measured against the approved targets, and the project's history.

use std::path::{Path, PathBuf};
use std::process::Command;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// The 2026 deadlines these tests run against (the example setup sets none).
const DEADLINES_2026: &str = include_str!("fixtures/state/deadlines-2026.toml");

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let cfg = format!("{}{DEADLINES_2026}", jixiao::config::EXAMPLE)
            .replace("stable_ms = 2000", "stable_ms = 100");
        std::fs::write(dir.join("jixiao.toml"), cfg).unwrap();
        Setup { _tmp: tmp, dir }
    }

    fn jixiao(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_jixiao"))
            .args(args)
            .arg("--config")
            .arg(self.dir.join("jixiao.toml"))
            .env("JIXIAO_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    /// Puts a form into the 农业农村厅 folder, runs the daemon until it is handled, and returns the
    /// warning codes and messages of its result.
    fn submit(&self, fixture: &str, as_name: &str) -> (String, Vec<(String, String)>) {
        let inbox = self.dir.join("收件/农业农村厅");
        std::fs::create_dir_all(&inbox).unwrap();
        std::fs::copy(Path::new(FIXTURES).join(fixture), inbox.join(as_name)).unwrap();
        let (code, out) = self.jixiao(&["watch", "--once"]);
        assert_eq!(code, 0, "{out}");
        let conn = rusqlite::Connection::open(self.dir.join("state/jixiao.db")).unwrap();
        let (outcome, json): (String, String) = conn
            .query_row(
                "SELECT outcome, result_json FROM submissions WHERE file_name = ?1 ORDER BY id DESC LIMIT 1",
                [as_name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let warnings = v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                (
                    w["code"].as_str().unwrap().to_string(),
                    w["message"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        (outcome, warnings)
    }
}

fn codes(w: &[(String, String)]) -> Vec<&str> {
    w.iter().map(|(c, _)| c.as_str()).collect()
}

#[test]
fn one_project_through_the_year() {
    let s = Setup::new();

    // A report before any declaration: nothing to measure against.
    let (outcome, w) = s.submit("examples/农业农村厅-绩效运行监控表.xlsx", "01-监控表.xlsx");
    assert_eq!(outcome, "accepted");
    assert_eq!(codes(&w), ["no_approved_declaration"]);

    // A declaration concluded 修改后通过 is not yet approved …
    let (outcome, w) = s.submit("crossform/申报表-修改后通过.xlsx", "02-申报表.xlsx");
    assert_eq!(outcome, "accepted");
    assert!(codes(&w).contains(&"no_satisfaction_indicator"));
    let (_, w) = s.submit(
        "variants/变体-标签空格全角空格冒号-监控表.xlsx",
        "03-监控表.xlsx",
    );
    assert_eq!(codes(&w), ["no_approved_declaration"]);

    // … until the finance office approves it with a decision file.
    let decisions = s.dir.join("决定");
    std::fs::create_dir_all(&decisions).unwrap();
    std::fs::write(
        decisions.join("2026-nyt-22000026000101.toml"),
        "decision = \"approve\"\nyear = 2026\ndepartment = \"nyt\"\nproject = \"22000026000101\"\nnote = \"同意\"\n",
    )
    .unwrap();
    std::fs::write(
        decisions.join("有误.toml"),
        "decision = \"approve\"\nyear = 2026\n",
    )
    .unwrap();
    // The report with a lowered target: 擅自调整绩效目标, with the approved value beside it.
    let (_, w) = s.submit("crossform/监控表-调低指标值.xlsx", "04-监控表.xlsx");
    assert!(
        decisions
            .join("已处理/2026-nyt-22000026000101.toml")
            .exists()
    );
    assert!(decisions.join("有误/有误.toml.txt").exists());
    // The approved declaration has no 满意度 indicator, so the report's 满意度 row is an addition.
    let changed: Vec<&(String, String)> = w.iter().filter(|(c, _)| c == "target_changed").collect();
    assert_eq!(changed.len(), 1, "{w:?}");
    assert!(
        changed[0]
            .1
            .contains("由批复的“≥3000人次”调低为“≥2800人次”"),
        "{}",
        changed[0].1
    );
    assert!(changed[0].1.contains("擅自调整绩效目标"));
    assert!(codes(&w).contains(&"indicator_added"), "{w:?}");

    // The corrected declaration (通过) comes after approved targets: an adjustment request, in
    // force once the finance office approves it (the latest approvable version by default).
    let (_, w) = s.submit("examples/农业农村厅-绩效目标申报表.xlsx", "05-申报表.xlsx");
    assert_eq!(codes(&w), ["adjustment_request"], "{w:?}");
    let (code, out) = s.jixiao(&["approve", "22000026000101", "--note", "同意调整"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("approved the declaration #5"), "{out}");
    // (The same report with amounts typed as text: not a duplicate of 01.)
    let (_, w) = s.submit("variants/变体-金额文本-监控表.xlsx", "06-监控表.xlsx");
    assert!(w.is_empty(), "the unchanged report has no findings: {w:?}");
    let (_, w) = s.submit("crossform/监控表-新增指标.xlsx", "07-监控表.xlsx");
    let mut c = codes(&w);
    c.sort();
    assert_eq!(c, ["indicator_added", "indicator_removed"], "{w:?}");
    assert!(w.iter().any(|(_, m)| m.contains("新增的技术示范面积")));
    assert!(
        w.iter()
            .any(|(_, m)| m.contains("主推技术到位率") && m.contains("≥95%"))
    );

    let (_, w) = s.submit("crossform/自评表-删除指标.xlsx", "08-自评表.xlsx");
    assert_eq!(codes(&w), ["indicator_removed"], "{w:?}");
    assert!(w[0].1.contains("参训农技人员满意度"), "{}", w[0].1);
    let (_, w) = s.submit("examples/农业农村厅-绩效自评表.xlsx", "09-自评表.xlsx");
    assert!(w.is_empty(), "{w:?}");

    // The history shows every version with its results.
    let (code, out) = s.jixiao(&["history", "22000026000101"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("基层农技推广体系改革与建设补助项目（2026年度，吉林省农业农村厅）"),
        "{out}"
    );
    for f in [
        "01-监控表",
        "02-申报表",
        "05-申报表",
        "07-监控表",
        "09-自评表",
    ] {
        assert!(out.contains(f), "{f} missing from\n{out}");
    }
    assert!(out.contains("审核结论：修改后通过"), "{out}");
    assert!(out.contains("[批复目标]"), "{out}");
    assert!(out.contains("复函：吉财绩函〔2026〕"), "{out}");
    assert!(
        out.contains("《关于基层农技推广体系改革与建设补助项目绩效评价结果反馈意见的函》"),
        "{out}"
    );
    assert!(out.contains("核定96.45分（优）"), "{out}");
    assert!(out.contains("擅自调整绩效目标"), "{out}");
    // Each finding against the approved declaration is listed, the missing declaration too.
    assert_eq!(out.matches("no_approved_declaration：").count(), 2, "{out}");
    assert!(
        out.lines().any(|l| l.contains("target_changed：指标“")
            && l.contains("由批复的“≥3000人次”调低为“≥2800人次”")),
        "{out}"
    );
    assert_eq!(out.matches("indicator_added：").count(), 2, "{out}");
    assert!(out.contains("adjustment_request："), "{out}");
    // The finance office's decisions, with who and the note.
    assert!(
        out.contains("批准#2（2026-nyt-22000026000101.toml）：同意"),
        "{out}"
    );
    assert!(out.contains("批准#5（command）：同意调整"), "{out}");
    let (code, _) = s.jixiao(&["history", "不存在的项目"]);
    assert_eq!(code, 1);
}

#[test]
fn approve_command() {
    let s = Setup::new();
    s.submit("crossform/申报表-修改后通过.xlsx", "申报表.xlsx");
    let (_, w) = s.submit("examples/农业农村厅-绩效运行监控表.xlsx", "监控表.xlsx");
    assert_eq!(codes(&w), ["no_approved_declaration"]);
    let (code, out) = s.jixiao(&["approve", "不存在的项目"]);
    assert_eq!(code, 1, "{out}");
    let (code, out) = s.jixiao(&["approve", "22000026000101", "--year", "2025"]);
    assert_eq!(code, 1, "{out}");
    // By 项目名称 as well as by 项目编码.
    let (code, out) = s.jixiao(&[
        "approve",
        "基层农技推广体系改革与建设补助项目",
        "--year",
        "2026",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("approved the declaration #1"), "{out}");
    let (_, w) = s.submit("crossform/监控表-调低指标值.xlsx", "监控表2.xlsx");
    assert!(codes(&w).contains(&"target_changed"), "{w:?}");
}

/// Parses every .eml the daemon wrote (no SMTP configured): (kind from the file name, subject,
/// body, recipients).
fn mails(s: &Setup) -> Vec<(String, String, String, Vec<String>)> {
    let dir = s.dir.join("outbox");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| {
            let raw = std::fs::read(p).unwrap();
            let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
            let kind = p
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .split_once('-')
                .unwrap()
                .1
                .to_string();
            let to = m
                .to()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.address().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (
                kind,
                m.subject().unwrap_or("").to_string(),
                m.body_text(0).map(|b| b.to_string()).unwrap_or_default(),
                to,
            )
        })
        .collect()
}

#[test]
fn reminders_from_the_daemon_on_chosen_days() {
    let s = Setup::new();
    let run_on = |day: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_jixiao"))
            .args(["watch", "--once", "--config"])
            .arg(s.dir.join("jixiao.toml"))
            .env("JIXIAO_LOG", "warn")
            .env("JIXIAO_TODAY", day)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run_on("2026-03-20");
    assert!(mails(&s).is_empty(), "nothing is due yet");
    run_on("2026-03-24");
    let m = mails(&s);
    assert_eq!(m.len(), 2, "{m:?}");
    assert!(m.iter().all(|(k, subject, _, _)| k == "reminder"
        && subject.contains("催报通知：项目支出绩效目标申报表")));
    let nyt = m
        .iter()
        .find(|x| x.3 == ["jixiao@nyt.jl.example.cn"])
        .expect("to 农业农村厅 only");
    assert!(nyt.2.starts_with("吉林省农业农村厅："), "{}", nyt.2);
    assert!(
        nyt.2.contains("报送期限为2026年3月31日（还有7天）"),
        "{}",
        nyt.2
    );
    run_on("2026-03-24");
    run_on("2026-03-25");
    assert_eq!(mails(&s).len(), 2, "each reminder once");

    // 农业农村厅 declares (on the real day, past the 2026 deadlines); its receipt and review
    // opinion go out with it, and the reminders due that day only after the form is taken.
    let (outcome, _) = s.submit("examples/农业农村厅-绩效目标申报表.xlsx", "申报表.xlsx");
    assert_eq!(outcome, "accepted");
    let m = mails(&s);
    let kinds: Vec<&str> = m.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(kinds[2..4], ["receipt", "target_review"], "{kinds:?}");
    assert!(kinds[4..].iter().all(|k| *k == "reminder"), "{kinds:?}");
    assert!(
        m[4..]
            .iter()
            .all(|x| !(x.1.contains("绩效目标申报表") && x.3 == ["jixiao@nyt.jl.example.cn"])),
        "农业农村厅 is not told its declaration is late: {m:?}"
    );
    let review = m.iter().find(|x| x.0 == "target_review").unwrap();
    assert!(review.1.contains("绩效目标审核意见"), "{}", review.1);
    assert!(review.2.contains("吉财绩函〔2026〕1号"), "{}", review.2);

    // After the deadline only 教育厅 is reminded, as overdue.
    run_on("2026-04-01");
    let m = mails(&s);
    let last = m.last().unwrap();
    assert_eq!(last.0, "reminder");
    assert_eq!(last.3, ["jixiao@jyt.jl.example.cn"]);
    assert!(last.1.contains("逾期未报"), "{}", last.1);

    // Before the report's deadline, the approved project is listed by name.
    run_on("2026-08-08");
    let m = mails(&s);
    let last = m.last().unwrap();
    assert!(last.1.contains("项目支出绩效运行监控表"), "{}", last.1);
    assert!(
        last.2.contains("基层农技推广体系改革与建设补助项目"),
        "{}",
        last.2
    );
    assert_eq!(last.3, ["jixiao@nyt.jl.example.cn"]);

    // status lists the overdue department.
    let out = Command::new(env!("CARGO_BIN_EXE_jixiao"))
        .args(["status", "--config"])
        .arg(s.dir.join("jixiao.toml"))
        .env("JIXIAO_TODAY", "2026-08-20")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("overdue:"), "{text}");
    assert!(
        text.contains("吉林省教育厅: 项目支出绩效目标申报表"),
        "{text}"
    );
    assert!(text.contains("吉林省农业农村厅: 项目支出绩效运行监控表 2026年 due 2026-08-15（基层农技推广体系改革与建设补助项目）"), "{text}");

    // … and so does the summary workbook, on its 逾期未报 sheet.
    let out = Command::new(env!("CARGO_BIN_EXE_jixiao"))
        .args(["consolidate", "--year", "2026", "--out"])
        .arg(s.dir.join("汇总.xlsx"))
        .arg("--config")
        .arg(s.dir.join("jixiao.toml"))
        .env("JIXIAO_TODAY", "2026-08-20")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    use calamine::Reader;
    let mut x: calamine::Xlsx<_> = calamine::open_workbook(s.dir.join("汇总.xlsx")).unwrap();
    let range = x.worksheet_range("逾期未报").unwrap();
    let rows: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(
        rows[0],
        ["部门", "部门代码", "表", "报送期限", "逾期天数", "未报项目"]
    );
    assert!(
        rows.iter()
            .any(|r| r[0] == "吉林省教育厅" && r[2] == "项目支出绩效目标申报表" && r[4] == "142"),
        "{rows:?}"
    );
    assert!(
        rows.iter().any(|r| r[0] == "吉林省农业农村厅"
            && r[2] == "项目支出绩效运行监控表"
            && r[3] == "2026年8月15日"
            && r[4] == "5"
            && r[5] == "基层农技推广体系改革与建设补助项目"),
        "{rows:?}"
    );
}

impl Setup {
    /// The text of the letter that answered a submission, read back from its .docx beside the
    /// original in 已受理.
    fn letter_text(&self, id: i64) -> String {
        let dir = self.dir.join("收件/农业农村厅/已受理");
        let docx = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                n.starts_with(&format!("{id}-")) && n.ends_with(".docx")
            })
            .unwrap_or_else(|| panic!("no letter of #{id} in {}", dir.display()));
        let mut zip = zip::ZipArchive::new(std::fs::File::open(docx).unwrap()).unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("word/document.xml").unwrap(), &mut xml)
            .unwrap();
        // The text of the runs, tags dropped.
        let mut text = String::new();
        let mut in_tag = false;
        for c in xml.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        text
    }

    fn decision(&self, name: &str, text: &str) -> PathBuf {
        let dir = self.dir.join("决定");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
        dir
    }

    fn approvals(&self) -> i64 {
        let conn = rusqlite::Connection::open(self.dir.join("state/jixiao.db")).unwrap();
        conn.query_row("SELECT COUNT(*) FROM approvals", [], |r| r.get(0))
            .unwrap()
    }
}

/// The example declaration with its `≥3000人次` target lowered to `≥2800人次` (still 通过).
fn lowered_declaration(dir: &Path) -> PathBuf {
    use std::io::{Read, Write};
    let src = Path::new(FIXTURES).join("examples/农业农村厅-绩效目标申报表.xlsx");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let out = dir.join("调低申报表.xlsx");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&out).unwrap());
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        if name == "xl/worksheets/sheet1.xml" {
            let xml = String::from_utf8(bytes).unwrap();
            let from = "&#8805;3000&#20154;&#27425;";
            assert_eq!(xml.matches(from).count(), 1);
            bytes = xml
                .replace(from, "&#8805;2800&#20154;&#27425;")
                .into_bytes();
        }
        w.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(&bytes).unwrap();
    }
    w.finish().unwrap();
    out
}

#[test]
fn a_declaration_concluded_fail_is_not_approved() {
    let s = Setup::new();
    let (outcome, _) = s.submit("variants/审核-不通过-无效益指标-申报表.xlsx", "申报表.xlsx");
    assert_eq!(outcome, "accepted");
    let (code, out) = s.jixiao(&["approve", "22000026000101"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("#1") && out.contains("不通过"), "{out}");
    assert!(!out.contains("approved the declaration"), "{out}");
    let (code, out) = s.jixiao(&["approve", "22000026000101", "--version", "1"]);
    assert_eq!(code, 1, "{out}");
    let dir = s.decision(
        "2026-nyt-22000026000101.toml",
        "decision = \"approve\"\nyear = 2026\ndepartment = \"nyt\"\nproject = \"22000026000101\"\n",
    );
    let (_, w) = s.submit("examples/农业农村厅-绩效运行监控表.xlsx", "监控表.xlsx");
    assert_eq!(codes(&w), ["no_approved_declaration"]);
    assert!(!dir.join("已处理/2026-nyt-22000026000101.toml").exists());
    let reason =
        std::fs::read_to_string(dir.join("有误/2026-nyt-22000026000101.toml.txt")).unwrap();
    assert!(reason.contains("不通过"), "{reason}");
    assert_eq!(s.approvals(), 0);
    let (_, out) = s.jixiao(&["history", "22000026000101"]);
    assert!(!out.contains("[批复目标]"), "{out}");
}

#[test]
fn an_adjustment_request_leaves_the_approved_targets_in_force_until_approved() {
    let s = Setup::new();
    // Approved by its review (通过).
    s.submit("examples/农业农村厅-绩效目标申报表.xlsx", "01-申报表.xlsx");
    // A later declaration with a lower target, also concluded 通过: an adjustment request.
    let lowered = lowered_declaration(&s.dir);
    let (outcome, w) = s.submit(lowered.to_str().unwrap(), "02-申报表.xlsx");
    assert_eq!(outcome, "accepted");
    assert_eq!(codes(&w), ["adjustment_request"], "{w:?}");
    let letter = s.letter_text(2);
    assert!(letter.contains("审核结论"), "{letter}");
    assert!(
        letter.contains("作为绩效目标调整申请审核") && letter.contains("仍执行已批复的绩效目标"),
        "{letter}"
    );
    // Its conclusion says so too, not that the project goes on to the budget.
    assert!(
        letter.contains("该绩效目标调整申请审核通过，经财政部门批准后执行"),
        "{letter}"
    );
    assert!(!letter.contains("可进入下一步预算编制程序"), "{letter}");
    // Reports are measured against the approved targets meanwhile.
    let (_, w) = s.submit("crossform/监控表-调低指标值.xlsx", "03-监控表.xlsx");
    let changed: Vec<_> = w.iter().filter(|(c, _)| c == "target_changed").collect();
    assert_eq!(changed.len(), 1, "{w:?}");
    assert!(
        changed[0].1.contains("调低为“≥2800人次”"),
        "{}",
        changed[0].1
    );
    let (_, out) = s.jixiao(&["history", "22000026000101"]);
    let line = |id: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("  #{id} ")))
            .unwrap_or_else(|| panic!("#{id} missing from\n{out}"))
            .to_string()
    };
    assert!(line("1").contains("[批复目标]"), "{out}");
    assert!(line("2").contains("[调整申请，待批复]"), "{out}");
    // The summary's 绩效目标申报表 sheet shows the approved version and marks the pending one.
    let book = s.dir.join("汇总.xlsx");
    let (code, out) = s.jixiao(&[
        "consolidate",
        "--year",
        "2026",
        "--out",
        book.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        declaration_rows(&book),
        [
            ("1".to_string(), "已批复".to_string()),
            ("2".to_string(), "调整申请，待批复".to_string())
        ]
    );

    // A version that is not a declaration of the project, an unknown department.
    let (code, out) = s.jixiao(&["approve", "22000026000101", "--version", "3"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("#3 is not an accepted declaration"), "{out}");
    let (code, out) = s.jixiao(&["approve", "22000026000101", "--department", "xyz"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("unknown department xyz"), "{out}");

    // The finance office approves the first version again, explicitly: nothing changes.
    let (code, out) = s.jixiao(&["approve", "22000026000101", "--version", "1"]);
    assert_eq!(code, 0, "{out}");
    // Approving the adjustment puts it in force: the example report's ≥3000 is now 调高.
    let (code, out) = s.jixiao(&[
        "approve",
        "22000026000101",
        "--version",
        "2",
        "--note",
        "同意调整",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("in force: the declaration #2"), "{out}");
    let (_, w) = s.submit("examples/农业农村厅-绩效运行监控表.xlsx", "04-监控表.xlsx");
    assert_eq!(codes(&w), ["target_changed"], "{w:?}");
    assert!(
        w[0].1.contains("由批复的“≥2800人次”调高为“≥3000人次”"),
        "{}",
        w[0].1
    );

    // Revoked by a decision file: the targets approved before come back.
    let dir = s.decision(
        "2026-nyt-撤销.toml",
        "decision = \"revoke\"\nyear = 2026\ndepartment = \"nyt\"\nproject = \"22000026000101\"\nversion = 2\nnote = \"撤回调整\"\n",
    );
    let (code, out) = s.jixiao(&["watch", "--once"]);
    assert_eq!(code, 0, "{out}");
    assert!(dir.join("已处理/2026-nyt-撤销.toml").exists());
    let (_, out) = s.jixiao(&["history", "22000026000101"]);
    assert!(line_of(&out, 1).contains("[批复目标]"), "{out}");
    assert!(
        out.contains("撤销批准#2（2026-nyt-撤销.toml）：撤回调整"),
        "{out}"
    );
    assert!(out.contains("批准#2（command）：同意调整"), "{out}");
    // Revoking what is not approved is refused.
    let (code, out) = s.jixiao(&["revoke", "22000026000101", "--version", "2"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("nothing to revoke"), "{out}");
    let (code, out) = s.jixiao(&["revoke", "22000026000101", "--note", "重新申报"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("revoked the approval of the declaration #1"),
        "{out}"
    );
    assert!(
        out.contains("no declaration of 2026|nyt|22000026000101 is in force"),
        "{out}"
    );
}

/// The 绩效目标申报表 sheet of a summary workbook: (受理编号, 批复状态) of each row.
fn declaration_rows(book: &Path) -> Vec<(String, String)> {
    use calamine::{Reader, Xlsx};
    let mut x: Xlsx<_> = calamine::open_workbook(book).unwrap();
    let range = x.worksheet_range("绩效目标申报表").unwrap();
    let mut rows = range.rows();
    let header: Vec<String> = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (id, status) = (col("受理编号"), col("批复状态"));
    rows.map(|r| (r[id].to_string(), r[status].to_string()))
        .collect()
}

fn line_of(out: &str, id: i64) -> String {
    out.lines()
        .find(|l| l.starts_with(&format!("  #{id} ")))
        .unwrap_or_else(|| panic!("#{id} missing from\n{out}"))
        .to_string()
}

#[test]
fn a_decision_file_naming_another_department_than_its_name_is_refused() {
    let s = Setup::new();
    s.submit("crossform/申报表-修改后通过.xlsx", "申报表.xlsx");
    let dir = s.decision(
        "2026-jyt-22000026000101.toml",
        "decision = \"approve\"\nyear = 2026\ndepartment = \"nyt\"\nproject = \"22000026000101\"\n",
    );
    s.decision(
        "2025-nyt-22000026000101.toml",
        "decision = \"approve\"\nyear = 2026\ndepartment = \"nyt\"\nproject = \"22000026000101\"\n",
    );
    let (_, w) = s.submit("examples/农业农村厅-绩效运行监控表.xlsx", "监控表.xlsx");
    assert_eq!(codes(&w), ["no_approved_declaration"]);
    let reason =
        std::fs::read_to_string(dir.join("有误/2026-jyt-22000026000101.toml.txt")).unwrap();
    assert!(
        reason.contains("\"jyt\"") && reason.contains("department = \"nyt\""),
        "{reason}"
    );
    let reason =
        std::fs::read_to_string(dir.join("有误/2025-nyt-22000026000101.toml.txt")).unwrap();
    assert!(reason.contains("year 2025"), "{reason}");
    assert_eq!(s.approvals(), 0);
}

#[test]
fn a_decision_file_is_applied_as_soon_as_it_is_stable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    // The rescan is an hour away: only the file-system event can bring the decision in.
    let cfg = jixiao::config::EXAMPLE
        .replace("stable_ms = 2000", "stable_ms = 100")
        .replace("rescan_secs = 60", "rescan_secs = 3600");
    std::fs::write(dir.join("jixiao.toml"), cfg).unwrap();
    let s = Setup { _tmp: tmp, dir };
    s.submit("crossform/申报表-修改后通过.xlsx", "申报表.xlsx");
    let decisions = s.dir.join("决定");
    std::fs::create_dir_all(&decisions).unwrap();

    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_jixiao"))
        .args(["watch", "--config"])
        .arg(s.dir.join("jixiao.toml"))
        .env("JIXIAO_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let child = Kill(child);
    let mut seen = Vec::new();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("ready: watching for forms") => break,
            Some(Ok(line)) => seen.push(line),
            _ => panic!("the daemon stopped before it was ready: {seen:?}"),
        }
    }
    std::fs::write(
        decisions.join("2026-nyt-22000026000101.toml"),
        "decision = \"approve\"\nyear = 2026\ndepartment = \"nyt\"\nproject = \"22000026000101\"\n",
    )
    .unwrap();
    // Waits for the daemon's log line saying it applied the file; a minute without it (the
    // rescan being an hour away) means the event was missed.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let applied = lines
            .map_while(Result::ok)
            .any(|l| l.contains("decision applied"));
        let _ = tx.send(applied);
    });
    let applied = rx.recv_timeout(std::time::Duration::from_secs(60));
    drop(child);
    assert_eq!(applied, Ok(true), "the decision was not applied");
    assert!(
        decisions
            .join("已处理/2026-nyt-22000026000101.toml")
            .exists()
    );
    assert_eq!(s.approvals(), 1);
}
