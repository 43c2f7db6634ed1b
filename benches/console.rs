//! Benchmark of the web console (not part of CI): `cargo bench --bench console`.
//!
//! A state with 10,000 projects in 40 departments of uneven size, recorded through the store's
//! own functions: every project declared (80% 通过, 15% 修改后通过, 5% 不通过; one in ten
//! returned once before), half the 修改后通过 ones approved, most with a performance report and
//! a self-evaluation; a mail per form in the outbox (nearly all sent), the reminders due, audit
//! entries; deadlines of the year all past. Then the real binary serves it (`jixiao serve`,
//! release build) and every page of the navigation is requested: the first answer (which fills
//! the overview's kept figures) and then `JIXIAO_BENCH_ROUNDS` (30) more, from which p50 and
//! p95 are taken. Times are measured by the client over loopback HTTP/1.1 keep-alive, so they
//! include a little more than the server's own time.
//!
//! `JIXIAO_BENCH_PROJECTS=N` changes the number of projects; `JIXIAO_BENCH_DUMP=DIR` saves each
//! page's first answer there; `JIXIAO_BENCH_KEEP=1` keeps the setup (its folder is printed), to
//! time commands on it (`jixiao --config FOLDER/jixiao.toml status`, …).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jixiao::CheckResult;
use jixiao::config::Config;
use jixiao::forms::definitions::FormKind;
use jixiao::forms::project::ProjectKey;
use jixiao::forms::record::FormRecord;
use jixiao::mail::OutgoingMessage;
use jixiao::store::submissions::{self, NewSubmission, Outcome};
use jixiao::{Checker, Definitions, Limits};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/examples");
const BIN: &str = env!("CARGO_BIN_EXE_jixiao");
const DEPARTMENTS: usize = 40;
const YEAR: i32 = 2026;
const PASSWORD: &str = "bench-password-2026";

/// The pages of the navigation (试一试 is a form; it reads nothing), and one submission.
/// 催报 comes first: its first answer works out what is owed (kept for 总览 too); 总览's first
/// answer then adds the summary's figures.
const PAGES: &[&str] = &[
    "/reminders",
    "/",
    "/submissions",
    "/approvals",
    "/signoff",
    "/mail",
    "/summary",
    "/audit",
];

fn config_text() -> String {
    let mut text = String::from(
        "root = \"收件\"\nstate_dir = \"state\"\nreports_dir = \"reports\"\n\
         [finance]\nname = \"吉林省财政厅绩效管理处\"\nemails = [\"jxc@czt.example.cn\"]\n",
    );
    for (form, due) in [
        ("target_declaration", "2026-03-31"),
        ("performance_report", "2026-08-31"),
        ("self_evaluation", "2026-11-15"),
    ] {
        text.push_str(&format!(
            "[[deadlines]]\nyear = {YEAR}\nform = \"{form}\"\ndue = \"{due}\"\n"
        ));
    }
    for d in 0..DEPARTMENTS {
        text.push_str(&format!(
            "[[departments]]\nname = \"吉林省第{d}厅\"\ncode = \"d{d:02}\"\nfolder = \"第{d}厅\"\n\
             emails = [\"d{d:02}@example.cn\"]\n"
        ));
    }
    text
}

/// A real form of each kind, checked, as the starting point of the synthetic ones.
fn templates(defs: &Definitions) -> Vec<(FormKind, FormRecord, serde_json::Value)> {
    let checker = Checker::new(defs.clone(), Limits::default());
    [
        "农业农村厅-绩效目标申报表.xlsx",
        "农业农村厅-绩效运行监控表.xlsx",
        "农业农村厅-绩效自评表.xlsx",
    ]
    .iter()
    .map(|f| {
        let bytes = std::fs::read(format!("{FIXTURES}/{f}")).unwrap();
        let c = checker.check_bytes(f, &bytes);
        assert!(c.result.accepted(), "{f}");
        let rec = FormRecord::from_form(c.form.as_deref().unwrap());
        (
            c.result.form.unwrap(),
            rec,
            serde_json::to_value(&c.result).unwrap(),
        )
    })
    .collect()
}

/// The department of project `p`: departments of uneven size (weights 1 to 7).
fn department_of(p: usize) -> usize {
    let weights: Vec<usize> = (0..DEPARTMENTS).map(|d| d % 7 + 1).collect();
    let total: usize = weights.iter().sum();
    let mut slot = (p * 7919) % total;
    for (d, w) in weights.iter().enumerate() {
        if slot < *w {
            return d;
        }
        slot -= w;
    }
    0
}

/// Records the state; returns the id of a submission in the middle.
fn record_state(cfg: &Config, projects: usize) -> i64 {
    let defs = Definitions::embedded();
    let bases = templates(&defs);
    let mut conn = jixiao::store::open(&cfg.database()).unwrap();
    let tx = conn.transaction().unwrap();
    let grades = ["优", "良", "中", "差"];
    let now = chrono::Utc::now();
    let mut ids = Vec::new();
    let mut approve = Vec::new();
    let mut n = 0usize;
    for p in 0..projects {
        let d = department_of(p);
        let dept = format!("d{d:02}");
        let dept_name = format!("吉林省第{d}厅");
        let code = format!("22000026{p:06}");
        let name = format!("合成项目{p:05}：基层服务能力提升");
        let key = ProjectKey::new(Some(YEAR), &dept, &code);
        let conclusion = match p % 20 {
            0 => "不通过",
            1..=3 => "修改后通过",
            _ => "通过",
        };
        // Which forms the project has: every declaration; reports and self-evaluations for
        // most of the projects whose targets are in force.
        let in_force = conclusion == "通过" || (conclusion == "修改后通过" && p % 2 == 0);
        let has = [true, in_force && p % 10 != 7, in_force && p % 4 != 3];
        for (k, (kind, base, result)) in bases.iter().enumerate() {
            if !has[k] {
                continue;
            }
            // One project in ten had its declaration returned once first.
            let returned_first = k == 0 && p % 10 == 5;
            for attempt in 0..(1 + returned_first as usize) {
                let outcome = if returned_first && attempt == 0 {
                    Outcome::Rejected
                } else {
                    Outcome::Accepted
                };
                let mut rec = base.clone();
                rec.fields.insert("name".into(), name.clone());
                rec.fields.insert("code".into(), code.clone());
                rec.fields.insert("department".into(), dept_name.clone());
                let budget = 100 + (p * 37) % 5000;
                let spent = budget * (30 + (p + d * 3) % 70) / 100;
                if let Some(total) = rec.funds.get_mut("total") {
                    total.insert("budget".into(), budget.to_string());
                    total.insert("spent".into(), format!("{spent}.5"));
                }
                let mut result = result.clone();
                if let Some(score) = result.get_mut("score").filter(|s| s.is_object()) {
                    let points = 50 + (p * 13 + d) % 50;
                    score["computed"] = (points as f64 + 0.25).into();
                    score["grade"] = grades[match points {
                        90.. => 0,
                        80..=89 => 1,
                        60..=79 => 2,
                        _ => 3,
                    }]
                    .into();
                    score["execution_rate"] = ((spent * 100) as f64 / budget as f64).into();
                }
                if let Some(review) = result.get_mut("review").filter(|r| r.is_object()) {
                    review["conclusion"] = conclusion.into();
                }
                if outcome == Outcome::Rejected {
                    result["status"] = "rejected".into();
                }
                let result: CheckResult = serde_json::from_value(result).unwrap();
                let sha = format!("{n:064}");
                n += 1;
                let file = format!("{}.xlsx", form_name(*kind));
                let id = submissions::record(
                    &tx,
                    &NewSubmission {
                        department: &dept,
                        inbox_path: &file,
                        file_name: &file,
                        sha256: &sha,
                        size: 40_000,
                        received_at: &format!(
                            "2026-{:02}-{:02}T10:{:02}:00.000+08:00",
                            3 + k * 3,
                            1 + p % 28,
                            p % 60
                        ),
                        outcome,
                        form: Some(*kind),
                        year: Some(YEAR),
                        project_key: Some(&key),
                        project_code: Some(&code),
                        project_name: Some(&name),
                        result: Some(&result),
                        record: (outcome == Outcome::Accepted).then_some(&rec),
                        duplicate_of: None,
                        archive_path: "x",
                    },
                )
                .unwrap();
                ids.push(id);
                // Its receipt or letter in the outbox.
                jixiao::mail::outbox::enqueue(
                    &tx,
                    &OutgoingMessage {
                        to: vec![format!("{dept}@example.cn")],
                        cc: Vec::new(),
                        department: Some(dept.clone()),
                        subject: format!("关于{name}{}的审核意见", form_name(*kind)),
                        body: "审核意见见附件。".repeat(20),
                        attachments: Vec::new(),
                        kind: "letter".into(),
                        reference: id.to_string(),
                    },
                    now,
                )
                .unwrap();
            }
        }
        if conclusion == "修改后通过" && p % 2 == 0 {
            approve.push(key);
        }
    }
    tx.commit().unwrap();
    for key in &approve {
        jixiao::cycle::approvals::approve(
            &conn,
            key,
            None,
            "command",
            Some("按审核意见修改到位"),
            "2026-04-10T09:00:00.000+08:00",
        )
        .unwrap()
        .unwrap();
    }
    // Nearly all mail went out; a few failed.
    conn.execute(
        "UPDATE mail_outbox SET status = CASE WHEN id % 97 = 0 THEN 'failed' ELSE 'sent' END, \
         attempts = 1, sent_at = created_at, last_error = CASE WHEN id % 97 = 0 \
         THEN '550 mailbox unavailable' END WHERE id % 500 != 0",
        [],
    )
    .unwrap();
    // The reminders due today, recorded as the daemon does.
    let cal = cfg.calendar();
    let today = chrono::Local::now().date_naive();
    let due = jixiao::cycle::due_reminders(&conn, &cal, today).unwrap();
    let tx = conn.transaction().unwrap();
    for r in &due {
        jixiao::cycle::record_sent(&tx, r, today, None).unwrap();
    }
    tx.commit().unwrap();
    for i in 0..2000 {
        jixiao::store::audit::record(
            &conn,
            "2026-11-20T10:00:00.000+08:00",
            "审核员",
            "批复",
            &format!("submission:{}", ids[i * 7 % ids.len()]),
            "按审核意见修改到位",
        )
        .unwrap();
    }
    println!(
        "recorded {projects} projects: {} submissions, {} approvals, {} reminders, {} mails",
        ids.len(),
        approve.len(),
        due.len(),
        ids.len()
    );
    ids[ids.len() / 2]
}

/// A cookie-keeping client logged in as `name`.
fn login(base: &str, name: &str) -> reqwest::blocking::Client {
    let http = reqwest::blocking::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let page = http
        .get(format!("{base}/login"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let needle = "name=\"token\" value=\"";
    let start = page.find(needle).expect("a login token") + needle.len();
    let token = &page[start..start + page[start..].find('"').unwrap()];
    let res = http
        .post(format!("{base}/login"))
        .form(&[
            ("token", token),
            // Not the overview: its first answer is measured below.
            ("next", "/audit"),
            ("name", name),
            ("password", PASSWORD),
        ])
        .send()
        .unwrap();
    assert!(
        res.status().is_success() && !res.url().path().starts_with("/login"),
        "login failed"
    );
    http
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    // `cargo bench` passes --bench; under `cargo test --all-targets` this only checks it builds.
    if !std::env::args().any(|a| a == "--bench") {
        println!("console benchmark: run it with `cargo bench --bench console`");
        return;
    }
    let projects: usize = std::env::var("JIXIAO_BENCH_PROJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rounds: usize = std::env::var("JIXIAO_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let mut tmp = tempfile::tempdir().unwrap();
    if std::env::var_os("JIXIAO_BENCH_KEEP").is_some() {
        tmp.disable_cleanup(true);
        println!("the setup is kept in {}", tmp.path().display());
    }
    let config = tmp.path().join("jixiao.toml");
    std::fs::write(&config, config_text()).unwrap();
    for d in 0..DEPARTMENTS {
        std::fs::create_dir_all(tmp.path().join(format!("收件/第{d}厅"))).unwrap();
    }
    let cfg = Config::load(&config).unwrap();
    let started = Instant::now();
    let middle = record_state(&cfg, projects);
    println!("  in {:.1} s", started.elapsed().as_secs_f64());

    let mut add = Command::new(BIN)
        .args([
            "user",
            "add",
            "bench",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .arg("--config")
        .arg(&config)
        .env("JIXIAO_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(add.wait().unwrap().success());

    let mut server = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env("JIXIAO_LOG", "info")
        .env("JIXIAO_LOG_STYLE", "plain")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = server.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.split("url=").nth(1) {
                let _ = tx.send(url.trim().trim_end_matches('/').to_string());
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the console did not say where it listens");
    let http = login(&base, "bench");

    let submission = format!("/submissions/{middle}");
    let mut pages: Vec<&str> = PAGES.to_vec();
    pages.push(&submission);
    println!(
        "\n{:<22} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "page", "first ms", "p50 ms", "p95 ms", "max ms", "size KB"
    );
    let mut slow = Vec::new();
    for path in pages {
        let mut times = Vec::with_capacity(rounds);
        let mut first = 0.0;
        let mut size = 0;
        for i in 0..=rounds {
            let t = Instant::now();
            let res = http.get(format!("{base}{path}")).send().unwrap();
            let status = res.status();
            let body = res.bytes().unwrap();
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if status == reqwest::StatusCode::NOT_FOUND {
                // A page not built in this branch yet.
                break;
            }
            assert!(status.is_success(), "{path}: {status}");
            size = body.len();
            if i == 0
                && let Ok(dir) = std::env::var("JIXIAO_BENCH_DUMP")
            {
                let name = path.trim_matches('/').replace('/', "-");
                std::fs::write(
                    format!(
                        "{dir}/{}.html",
                        if name.is_empty() { "overview" } else { &name }
                    ),
                    &body,
                )
                .unwrap();
            }
            if i == 0 {
                first = ms;
            } else {
                times.push(ms);
            }
        }
        if times.is_empty() {
            println!("{path:<22} (no such page here)");
            continue;
        }
        times.sort_by(f64::total_cmp);
        let (p50, p95) = (percentile(&times, 0.5), percentile(&times, 0.95));
        println!(
            "{path:<22} {first:>9.1} {p50:>9.1} {p95:>9.1} {:>9.1} {:>10.1}",
            times.last().unwrap(),
            size as f64 / 1024.0
        );
        if p95 >= 100.0 {
            slow.push(path.to_string());
        }
    }
    // A form arrives while the console runs: 总览 answers with the kept figures at once (marked
    // as updating) and a thread works the new ones out.
    {
        let mut conn = jixiao::store::open(&cfg.database()).unwrap();
        let tx = conn.transaction().unwrap();
        submissions::record(
            &tx,
            &NewSubmission {
                department: "d00",
                inbox_path: "new.xlsx",
                file_name: "new.xlsx",
                sha256: &format!("{:064}", 999_999_999u64),
                size: 1,
                received_at: "2026-11-30T09:00:00.000+08:00",
                outcome: Outcome::Rejected,
                form: None,
                year: Some(YEAR),
                project_key: None,
                project_code: None,
                project_name: None,
                result: None,
                record: None,
                duplicate_of: None,
                archive_path: "x",
            },
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let t = Instant::now();
    let body = http.get(format!("{base}/")).send().unwrap().text().unwrap();
    let answered = t.elapsed().as_secs_f64() * 1000.0;
    assert!(
        body.contains("id=\"updating\""),
        "the kept figures are answered"
    );
    loop {
        let body = http.get(format!("{base}/")).send().unwrap().text().unwrap();
        if !body.contains("id=\"updating\"") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "\nafter a new submission: / answered in {answered:.1} ms (kept figures), new figures \
         ready after {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    println!(
        "\n{}",
        if slow.is_empty() {
            "every page under 100 ms at p95".to_string()
        } else {
            format!("over 100 ms at p95: {}", slow.join(", "))
        }
    );
    unsafe {
        kill(server.id() as i32, 15);
    }
    let _ = server.wait();
}

unsafe extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

fn form_name(kind: FormKind) -> &'static str {
    match kind {
        FormKind::TargetDeclaration => "绩效目标申报表",
        FormKind::PerformanceReport => "绩效运行监控表",
        FormKind::SelfEvaluation => "绩效自评表",
    }
}
