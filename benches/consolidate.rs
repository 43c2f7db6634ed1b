//! Benchmark of the summary workbook (not part of CI): `cargo bench --bench consolidate`.
//!
//! 10,000 projects in 20 departments, each with an accepted declaration, performance report and
//! self-evaluation (30,000 current forms, 9 indicators each), recorded in a real state database;
//! then `summary::build` is timed and the process's peak resident memory (VmHWM, reset just
//! before the build where the kernel allows) is read.
//!
//! `JIXIAO_BENCH_PROJECTS=N` changes the number of projects, `JIXIAO_BENCH_KINDS=1` records only
//! self-evaluations.

use std::time::Instant;

use jixiao::CheckResult;
use jixiao::config::Config;
use jixiao::forms::definitions::FormKind;
use jixiao::forms::project::ProjectKey;
use jixiao::forms::record::FormRecord;
use jixiao::store::submissions::{self, NewSubmission, Outcome};
use jixiao::{Checker, Definitions, Limits};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/examples");
const DEPARTMENTS: usize = 20;

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// CPU time (user + system) of this process so far, in seconds: steadier than wall time on a
/// shared machine.
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1;
            let f: Vec<&str> = after.split_whitespace().collect();
            // Fields 14 and 15 of stat; `after` starts at field 3.
            let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}

fn config(dir: &std::path::Path) -> Config {
    let mut text = String::from(
        "root = \"收件\"\nstate_dir = \"state\"\n[finance]\nname = \"财政厅\"\nemails = [\"a@czt.example.cn\"]\n",
    );
    for d in 0..DEPARTMENTS {
        text.push_str(&format!(
            "[[departments]]\nname = \"吉林省第{d}厅\"\ncode = \"d{d:02}\"\nfolder = \"第{d}厅\"\n"
        ));
    }
    Config::parse(&text, &dir.join("jixiao.toml")).unwrap()
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

fn main() {
    // `cargo bench` passes --bench; under `cargo test --all-targets` this only checks it builds.
    if !std::env::args().any(|a| a == "--bench") {
        println!("consolidate benchmark: run it with `cargo bench --bench consolidate`");
        return;
    }
    let projects: usize = std::env::var("JIXIAO_BENCH_PROJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let kinds: usize = std::env::var("JIXIAO_BENCH_KINDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let defs = Definitions::embedded();
    let bases = templates(&defs);
    let mut conn = jixiao::store::open(&cfg.database()).unwrap();

    let started = Instant::now();
    let tx = conn.transaction().unwrap();
    let grades = ["优", "良", "中", "差"];
    let mut forms = 0;
    for p in 0..projects {
        let dept = format!("d{:02}", p % DEPARTMENTS);
        let dept_name = format!("吉林省第{}厅", p % DEPARTMENTS);
        let code = format!("22000026{p:06}");
        let name = format!("合成项目{p:05}：基层服务能力提升");
        for (kind, base, result) in bases.iter().skip(3 - kinds.min(3)) {
            let mut rec = base.clone();
            rec.fields.insert("name".into(), name.clone());
            rec.fields.insert("code".into(), code.clone());
            rec.fields.insert("department".into(), dept_name.clone());
            let budget = 100 + (p * 37) % 5000;
            let spent = budget * (30 + p % 70) / 100;
            if let Some(total) = rec.funds.get_mut("total") {
                total.insert("budget".into(), budget.to_string());
                total.insert("spent".into(), format!("{spent}.5"));
            }
            if *kind == FormKind::TargetDeclaration {
                rec.fields.insert("total".into(), format!("{budget}"));
            }
            for (i, ind) in rec.indicators.iter_mut().enumerate() {
                ind.insert("level3".into(), format!("指标{i}：服务人次"));
                ind.insert("target".into(), format!("≥{}人次", 100 + p % 900));
            }
            let mut result = result.clone();
            if let Some(score) = result.get_mut("score").filter(|s| s.is_object()) {
                let computed = 50.0 + (p % 50) as f64 + 0.25;
                score["computed"] = computed.into();
                score["grade"] = grades[(3 - (p % 50) / 13).min(3)].into();
                score["execution_rate"] = ((spent * 100) as f64 / budget as f64).into();
            }
            if let Some(review) = result.get_mut("review").filter(|r| r.is_object()) {
                review["conclusion"] = ["通过", "修改后通过", "不通过"][p % 3].into();
            }
            let result: CheckResult = serde_json::from_value(result).unwrap();
            let key = ProjectKey::new(Some(2026), &dept, &code);
            let sha = format!("{p:060}{:04}", kind_index(*kind));
            submissions::record(
                &tx,
                &NewSubmission {
                    department: &dept,
                    inbox_path: "a.xlsx",
                    file_name: "a.xlsx",
                    sha256: &sha,
                    size: 1,
                    received_at: "2026-11-25T10:00:00.000+08:00",
                    outcome: Outcome::Accepted,
                    form: Some(*kind),
                    year: Some(2026),
                    project_key: Some(&key),
                    project_code: Some(&code),
                    project_name: Some(&name),
                    result: Some(&result),
                    record: Some(&rec),
                    duplicate_of: None,
                    archive_path: "x",
                },
            )
            .unwrap();
            forms += 1;
        }
    }
    tx.commit().unwrap();
    println!(
        "recorded {projects} projects ({forms} accepted forms, {DEPARTMENTS} departments) in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let clock = jixiao::runtime::SystemClock::default();
    let scope = cfg.summary_scope(&defs, &clock);
    // Measure the build alone: reset the peak to the current resident size where possible.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = status_kb("VmRSS:");
    let cpu = cpu_secs();
    let started = Instant::now();
    let bytes = jixiao::summary::build(&conn, &scope, 2026).unwrap();
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu;
    let peak = status_kb("VmHWM:");
    println!(
        "build: {secs:.2} s ({cpu:.2} s CPU), workbook {:.1} MB, resident before {} MB, peak {} MB{}",
        bytes.len() as f64 / 1e6,
        before / 1024,
        peak / 1024,
        if reset {
            " (peak of the build)"
        } else {
            " (peak of the whole process: clear_refs not allowed)"
        }
    );
    let path = tmp.path().join("reports/绩效汇总-2026.xlsx");
    let started = Instant::now();
    jixiao::summary::write(&conn, &scope, 2026, &path).unwrap();
    println!(
        "write (build + atomic write): {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

fn kind_index(kind: FormKind) -> usize {
    FormKind::ALL.iter().position(|k| *k == kind).unwrap()
}
