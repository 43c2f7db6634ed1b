//! The summary workbook built from many real forms (the fixture corpus run through the checker,
//! plus filled-in templates) and read back with calamine: every count, total and average checked
//! against figures computed here from the inputs, text that looks like a formula comes back as
//! text, and the workbook carries its frozen panes, filters, conditional formats and charts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Cursor, Read};
use std::path::Path;

use calamine::{Data, Range, Reader, Xlsx};
use jixiao::config::Config;
use jixiao::forms::definitions::FormKind;
use jixiao::forms::record::FormRecord;
use jixiao::letters::{LetterSettings, Letters};
use jixiao::rules::issue::IssueCode;
use jixiao::rules::review::Conclusion;
use jixiao::runtime::SystemClock;
use jixiao::store::submissions::{self, NewSubmission, Outcome};
use jixiao::summary;
use jixiao::{CheckResult, Checker, Definitions, Limits};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const YEAR: i32 = 2026;

/// The 2026 deadlines these tests run against (the example setup sets none).
const DEADLINES_2026: &str = include_str!("fixtures/state/deadlines-2026.toml");

/// The example configuration with a third department that sends nothing.
fn config(dir: &Path) -> Config {
    let text = format!(
        "{}{DEADLINES_2026}\n[[departments]]\nname = \"吉林省卫生健康委员会\"\ncode = \"wsjkw\"\nfolder = \"卫生健康委\"\n",
        jixiao::config::EXAMPLE
    );
    Config::parse(&text, &dir.join("jixiao.toml")).unwrap()
}

/// A filled-in self-evaluation: `quality` percent of every indicator's target reached, `spent`
/// of 1200 万元 executed.
fn self_evaluation(
    year: i32,
    dept: &str,
    name: &str,
    n: usize,
    quality: u32,
    spent: f64,
) -> Vec<u8> {
    let defs = Definitions::embedded();
    let mut wb = jixiao::forms::blank::build(&defs, FormKind::SelfEvaluation).unwrap();
    let ws = wb.worksheet_from_index(0).unwrap();
    for (r, c, s) in [
        (1u32, 0u16, format!("（{year}年度）")),
        (3, 1, name.to_string()),
        (4, 1, format!("2200002699{n:04}")),
        (4, 5, "=SUM(A1:A2)".to_string()),
        (5, 1, dept.to_string()),
    ] {
        ws.write_string(r, c, s).unwrap();
    }
    for (c, v) in [(3u16, 1200.0), (4, 1200.0), (5, spent)] {
        ws.write_number(7, c, v).unwrap();
    }
    for i in 0..9u32 {
        let r = 14 + i;
        ws.write_string(r, 3, format!("指标{i}")).unwrap();
        ws.write_string(r, 4, "≥100人次").unwrap();
        ws.write_string(r, 5, format!("{quality}人次")).unwrap();
        ws.write_number(r, 6, 10.0).unwrap();
        ws.write_number(r, 7, (10 * quality.min(100)) as f64 / 100.0)
            .unwrap();
        ws.write_string(r, 8, "已分析原因").unwrap();
    }
    wb.save_to_buffer().unwrap()
}

/// A filled-in performance report for 1-7月: `spent` of 1000 万元 executed (below about 433 the
/// execution lags the months elapsed).
fn performance_report(dept: &str, name: &str, n: usize, spent: f64) -> Vec<u8> {
    let defs = Definitions::embedded();
    let mut wb = jixiao::forms::blank::build(&defs, FormKind::PerformanceReport).unwrap();
    let ws = wb.worksheet_from_index(0).unwrap();
    for (r, c, s) in [
        (1u32, 0u16, format!("（{YEAR}年度）")),
        (3, 1, name.to_string()),
        (4, 1, format!("2200002688{n:04}")),
        (4, 5, "1-7月".to_string()),
        (5, 1, dept.to_string()),
        (5, 5, "实施单位".to_string()),
        (10, 1, "全年目标".to_string()),
        (10, 5, "执行情况".to_string()),
    ] {
        ws.write_string(r, c, s).unwrap();
    }
    ws.write_number(7, 3, 1000.0).unwrap();
    ws.write_number(7, 4, spent).unwrap();
    ws.write_number(7, 6, 1000.0).unwrap();
    ws.write_string(7, 7, "进度偏慢，已督促").unwrap();
    for i in 0..9u32 {
        let r = 13 + i;
        ws.write_string(r, 3, format!("指标{i}")).unwrap();
        ws.write_string(r, 4, "≥100人次").unwrap();
        ws.write_string(r, 5, "60人次").unwrap();
        ws.write_string(r, 6, "100人次").unwrap();
        ws.write_string(r, 7, "无").unwrap();
        ws.write_string(r, 8, "确定能").unwrap();
    }
    wb.save_to_buffer().unwrap()
}

/// What the summary must show, computed from the check results and forms as they were read.
#[derive(Default)]
struct Expected {
    /// Department code → received, accepted, returned, duplicate.
    counts: HashMap<String, [u64; 4]>,
    /// (project key, form) → the current version.
    current: BTreeMap<(String, &'static str), Entry>,
    /// Per department and form: returned this year.
    returned_by_kind: HashMap<(String, &'static str), u64>,
    /// Declarations whose targets are in force (the first concluded 通过: nothing is approved
    /// by the finance office in this corpus). A later declaration is an adjustment request:
    /// shown after the approved one, counted nowhere.
    in_force: BTreeSet<(String, &'static str)>,
    /// The latest declaration after the one in force, by project.
    later: BTreeMap<(String, &'static str), Entry>,
}

#[derive(Clone)]
struct Entry {
    department: String,
    kind: FormKind,
    result: CheckResult,
    record: FormRecord,
    /// The report's 执行数 / 年初预算数 of the total row, read from the form's cells.
    report_rate: Option<f64>,
    total_budget: Option<Decimal>,
}

struct Corpus {
    _tmp: tempfile::TempDir,
    conn: rusqlite::Connection,
    cfg: Config,
    defs: Definitions,
    expected: Expected,
}

fn record(
    conn: &mut rusqlite::Connection,
    cfg: &Config,
    checker: &Checker,
    exp: &mut Expected,
    file: &str,
    bytes: &[u8],
    seq: &mut usize,
) -> Option<i64> {
    *seq += 1;
    let checked = checker.check_bytes(file, bytes);
    let r = &checked.result;
    let project = r.project.clone();
    let dept = project
        .as_ref()
        .and_then(|p| p.department.as_deref())
        .and_then(|n| cfg.departments.iter().find(|d| d.is_named(n)))
        .map(|d| d.code.clone())
        .unwrap_or_else(|| "nyt".to_string());
    let form = r.form;
    let year = project.as_ref().and_then(|p| p.year);
    let key = project.as_ref().and_then(|p| p.key(&dept));
    let outcome = if r.accepted() {
        Outcome::Accepted
    } else {
        Outcome::Rejected
    };
    let record = checked.form.as_deref().map(FormRecord::from_form);
    let sha = format!("{:064}", *seq);
    let received = format!("2026-11-25T10:{:02}:{:02}+08:00", *seq / 60, *seq % 60);
    let tx = conn.transaction().unwrap();
    let id = submissions::record(
        &tx,
        &NewSubmission {
            department: &dept,
            inbox_path: file,
            file_name: file,
            sha256: &sha,
            size: bytes.len() as u64,
            received_at: &received,
            outcome,
            form,
            year,
            project_key: key.as_ref(),
            project_code: project.as_ref().and_then(|p| p.code.as_deref()),
            project_name: project.as_ref().and_then(|p| p.name.as_deref()),
            result: Some(r),
            record: record.as_ref(),
            duplicate_of: None,
            archive_path: "x",
        },
    )
    .unwrap();
    tx.commit().unwrap();
    if year != Some(YEAR) {
        return Some(id);
    }
    let c = exp.counts.entry(dept.clone()).or_default();
    c[0] += 1;
    if r.accepted() {
        c[1] += 1;
    } else {
        c[2] += 1;
        if let Some(f) = form {
            *exp.returned_by_kind
                .entry((dept.clone(), f.id()))
                .or_default() += 1;
        }
    }
    if let (true, Some(key), Some(f), Some(raw)) =
        (r.accepted(), key, form, checked.form.as_deref())
    {
        let amount = |row: &str, col: &str| {
            jixiao::forms::values::amount(&raw.fund(row, col))
                .ok()
                .flatten()
        };
        let report_rate = match (amount("total", "spent"), amount("total", "budget")) {
            (Some(s), Some(b)) if !b.is_zero() && raw.kind == FormKind::PerformanceReport => {
                (s / b).to_f64()
            }
            _ => None,
        };
        let k = (key.to_string(), f.id());
        let entry = Entry {
            department: dept,
            kind: raw.kind,
            result: r.clone(),
            record: record.unwrap(),
            report_rate,
            total_budget: amount("total", "budget"),
        };
        if f == FormKind::TargetDeclaration {
            if exp.in_force.contains(&k) {
                exp.later.insert(k, entry);
                return Some(id);
            }
            if r.review.as_ref().map(|v| v.conclusion) == Some(Conclusion::Pass) {
                exp.in_force.insert(k.clone());
            }
        }
        exp.current.insert(k, entry);
    }
    Some(id)
}

/// The corpus is built once and shared by the tests.
/// What the summary is made from, today.
fn scope(c: &Corpus) -> summary::Scope<'_> {
    c.cfg.summary_scope(&c.defs, &SystemClock::default())
}

fn letters() -> Letters {
    Letters::load(None).unwrap()
}

fn corpus() -> std::sync::MutexGuard<'static, Corpus> {
    static CORPUS: std::sync::OnceLock<std::sync::Mutex<Corpus>> = std::sync::OnceLock::new();
    CORPUS
        .get_or_init(|| std::sync::Mutex::new(make_corpus()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn make_corpus() -> Corpus {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let defs = Definitions::embedded();
    let checker = Checker::new(defs.clone(), Limits::default());
    let mut conn = jixiao::store::open(&tmp.path().join("state/jixiao.db")).unwrap();
    let mut exp = Expected::default();
    let mut seq = 0;
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for dir in ["examples", "variants"] {
        for e in std::fs::read_dir(Path::new(FIXTURES).join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "xlsx") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut first_id = None;
    for p in &files {
        let bytes = std::fs::read(p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let id = record(&mut conn, &cfg, &checker, &mut exp, &name, &bytes, &mut seq);
        first_id = first_id.or(id);
    }
    // Every example sent a second time with other bytes: a corrected resubmission that replaces
    // the first version.
    for p in files
        .iter()
        .filter(|p| p.to_string_lossy().contains("/examples/"))
    {
        let bytes = std::fs::read(p).unwrap();
        let name = format!("重报-{}", p.file_name().unwrap().to_string_lossy());
        record(&mut conn, &cfg, &checker, &mut exp, &name, &bytes, &mut seq);
    }
    // Self-evaluations across the grades, in two departments.
    for n in 0..40usize {
        let (dept, code) = if n % 3 == 0 {
            ("吉林省教育厅", "jyt")
        } else {
            ("吉林省农业农村厅", "nyt")
        };
        let _ = code;
        let quality = [100, 95, 85, 70, 40][n % 5];
        let spent = 600.0 + (n * 17 % 600) as f64;
        let bytes = self_evaluation(YEAR, dept, &format!("合成项目{n:03}"), n, quality, spent);
        record(
            &mut conn,
            &cfg,
            &checker,
            &mut exp,
            &format!("合成{n}.xlsx"),
            &bytes,
            &mut seq,
        );
    }
    // Performance reports, some lagging.
    for n in 0..12usize {
        let dept = if n % 4 == 0 {
            "吉林省教育厅"
        } else {
            "吉林省农业农村厅"
        };
        let spent = 200.0 + 60.0 * n as f64;
        let bytes = performance_report(dept, &format!("监控项目{n:03}"), n, spent);
        record(
            &mut conn,
            &cfg,
            &checker,
            &mut exp,
            &format!("监控{n}.xlsx"),
            &bytes,
            &mut seq,
        );
    }
    // A form of another year does not count.
    let other = self_evaluation(2025, "吉林省农业农村厅", "上年项目", 999, 100, 1200.0);
    record(
        &mut conn,
        &cfg,
        &checker,
        &mut exp,
        "上年.xlsx",
        &other,
        &mut seq,
    );
    // Text that looks like a formula.
    let formula = self_evaluation(YEAR, "吉林省农业农村厅", "=1+1", 777, 100, 1200.0);
    record(
        &mut conn,
        &cfg,
        &checker,
        &mut exp,
        "公式.xlsx",
        &formula,
        &mut seq,
    );
    // A duplicate: no year or form of its own; it counts with the submission it repeats.
    let tx = conn.transaction().unwrap();
    let original: i64 = tx
        .query_row(
            "SELECT id FROM submissions WHERE department = 'jyt' AND year = 2026 ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    submissions::record(
        &tx,
        &NewSubmission {
            department: "jyt",
            inbox_path: "again.xlsx",
            file_name: "again.xlsx",
            sha256: "dup",
            size: 1,
            received_at: "2026-11-26T09:00:00+08:00",
            outcome: Outcome::Duplicate,
            form: None,
            year: None,
            project_key: None,
            project_code: None,
            project_name: None,
            result: None,
            record: None,
            duplicate_of: Some(original),
            archive_path: "x",
        },
    )
    .unwrap();
    tx.commit().unwrap();
    let c = exp.counts.entry("jyt".into()).or_default();
    c[0] += 1;
    c[3] += 1;
    Corpus {
        _tmp: tmp,
        conn,
        cfg,
        defs,
        expected: exp,
    }
}

fn sheet(bytes: &[u8], name: &str) -> Range<Data> {
    let mut x: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    x.worksheet_range(name).unwrap()
}

fn num(d: &Data) -> Option<f64> {
    match d {
        Data::Float(f) => Some(*f),
        Data::Int(i) => Some(*i as f64),
        _ => None,
    }
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

/// The rows of a sheet as header → cell.
fn rows(r: &Range<Data>) -> Vec<HashMap<String, Data>> {
    let all: Vec<&[Data]> = r.rows().collect();
    let headers: Vec<String> = all[0].iter().map(text).collect();
    all[1..]
        .iter()
        .map(|row| {
            headers
                .iter()
                .cloned()
                .zip(row.iter().cloned())
                .collect::<HashMap<_, _>>()
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn zip_entry(bytes: &[u8], name: &str) -> Option<String> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut s = String::new();
    z.by_name(name).ok()?.read_to_string(&mut s).unwrap();
    Some(s)
}

#[test]
fn summary_counts_totals_and_averages_match_the_inputs() {
    let c = corpus();
    let exp = &c.expected;
    let recorded: i64 = c
        .conn
        .query_row("SELECT COUNT(*) FROM submissions", [], |r| r.get(0))
        .unwrap();
    assert!(recorded > 150, "a corpus of many forms: {recorded}");
    assert!(
        exp.current.len() > 40,
        "many current projects: {}",
        exp.current.len()
    );
    let reports: Vec<&Entry> = exp
        .current
        .values()
        .filter(|e| e.kind == FormKind::PerformanceReport)
        .collect();
    assert!(reports.len() > 10, "reports: {}", reports.len());
    let lagging = reports
        .iter()
        .filter(|e| {
            e.result
                .warnings
                .iter()
                .any(|w| w.code == IssueCode::ExecutionLag)
        })
        .count();
    assert!(
        lagging > 0 && lagging < reports.len(),
        "some lag: {lagging}"
    );
    let bytes = summary::build(&c.conn, &scope(&c), YEAR).unwrap();

    // Department sheet: every count and average, department by department, and the total line.
    let dept = rows(&sheet(&bytes, summary::DEPARTMENT_SHEET));
    assert_eq!(
        dept.len(),
        c.cfg.departments.len() + 1,
        "one line per department + 合计"
    );
    let grades = ["优", "良", "中", "差"];
    let mut seen_grades = BTreeSet::new();
    let mut totals = [0f64; 4];
    for (i, d) in c.cfg.departments.iter().enumerate() {
        let row = &dept[i];
        assert_eq!(text(&row["部门"]), d.name);
        assert_eq!(text(&row["部门代码"]), d.code);
        let counts = exp.counts.get(&d.code).copied().unwrap_or_default();
        for (k, h) in ["收到", "受理", "退回", "重复"].iter().enumerate() {
            assert_eq!(num(&row[*h]), Some(counts[k] as f64), "{} {h}", d.code);
            totals[k] += counts[k] as f64;
        }
        let current: Vec<&Entry> = exp
            .current
            .values()
            .filter(|e| e.department == d.code)
            .collect();
        for kind in FormKind::ALL {
            let n = current.iter().filter(|e| e.kind == kind).count();
            let h = format!("{}（现行）", c.defs.form(kind).name);
            assert_eq!(num(&row[&h]), Some(n as f64), "{} {h}", d.code);
        }
        let not_passed = current
            .iter()
            .filter(|e| {
                e.result
                    .review
                    .as_ref()
                    .is_some_and(|r| r.conclusion == Conclusion::Fail)
            })
            .count();
        assert_eq!(num(&row["申报审核不通过"]), Some(not_passed as f64));
        let scores: Vec<&jixiao::score::Score> = current
            .iter()
            .filter_map(|e| e.result.score.as_ref())
            .collect();
        if scores.is_empty() {
            assert_eq!(row["自评平均核定得分"], Data::Empty, "{}", d.code);
            assert_eq!(row["自评平均预算执行率"], Data::Empty, "{}", d.code);
        } else {
            let avg = scores.iter().map(|s| s.computed).sum::<f64>() / scores.len() as f64;
            assert!(
                close(num(&row["自评平均核定得分"]).unwrap(), avg),
                "{}",
                d.code
            );
            let rate =
                scores.iter().map(|s| s.execution_rate).sum::<f64>() / scores.len() as f64 / 100.0;
            assert!(
                close(num(&row["自评平均预算执行率"]).unwrap(), rate),
                "{}",
                d.code
            );
        }
        for g in grades {
            let n = scores.iter().filter(|s| s.grade == g).count();
            assert_eq!(num(&row[g]), Some(n as f64), "{} {g}", d.code);
            if n > 0 {
                seen_grades.insert(g);
            }
        }
        let rates: Vec<f64> = current.iter().filter_map(|e| e.report_rate).collect();
        match num(&row["监控平均执行率"]) {
            Some(v) => assert!(close(v, rates.iter().sum::<f64>() / rates.len() as f64)),
            None => assert!(rates.is_empty(), "{}", d.code),
        }
    }
    assert_eq!(seen_grades.len(), 4, "the corpus covers every grade");
    let total = &dept[c.cfg.departments.len()];
    assert_eq!(text(&total["部门"]), "合计");
    for (k, h) in ["收到", "受理", "退回", "重复"].iter().enumerate() {
        assert_eq!(num(&total[*h]), Some(totals[k]), "合计 {h}");
    }
    let all_scores: Vec<f64> = exp
        .current
        .values()
        .filter_map(|e| e.result.score.as_ref().map(|s| s.computed))
        .collect();
    let avg = all_scores.iter().sum::<f64>() / all_scores.len() as f64;
    assert!(
        close(num(&total["自评平均核定得分"]).unwrap(), avg),
        "合计 average over all projects"
    );
    for g in grades {
        let n = exp
            .current
            .values()
            .filter(|e| e.result.score.as_ref().is_some_and(|s| s.grade == g))
            .count();
        assert_eq!(num(&total[g]), Some(n as f64), "合计 {g}");
    }

    // One sheet per form: one row per current project, every field, amounts as numbers.
    for kind in FormKind::ALL {
        let def = c.defs.form(kind);
        let mut sheet_rows = rows(&sheet(&bytes, &def.name));
        let expected: Vec<&Entry> = exp.current.values().filter(|e| e.kind == kind).collect();
        if kind == FormKind::TargetDeclaration {
            // Adjustment requests follow the approved version, marked, and are counted nowhere.
            let is_later = |r: &HashMap<String, Data>| text(&r["批复状态"]).starts_with("调整申请");
            let later: Vec<String> = sheet_rows
                .iter()
                .filter(|r| is_later(r))
                .map(|r| text(&r["项目名称"]))
                .collect();
            assert!(!later.is_empty(), "the corpus has adjustment requests");
            let want: Vec<String> = exp
                .later
                .values()
                .map(|e| e.record.fields.get("name").cloned().unwrap_or_default())
                .collect();
            assert_eq!(later.len(), want.len(), "{later:?} / {want:?}");
            sheet_rows.retain(|r| !is_later(r));
            assert!(sheet_rows.iter().all(|r| {
                let status = text(&r["批复状态"]);
                status == "已批复" || status == "未批复"
            }));
        }
        assert_eq!(sheet_rows.len(), expected.len(), "{}", def.name);
        let names: BTreeSet<String> = sheet_rows.iter().map(|r| text(&r["项目名称"])).collect();
        let want: BTreeSet<String> = expected
            .iter()
            .map(|e| e.record.fields.get("name").cloned().unwrap_or_default())
            .collect();
        assert_eq!(names, want, "{}", def.name);
        // Every field label is a column.
        for f in &def.fields {
            assert!(
                sheet_rows.is_empty() || sheet_rows[0].contains_key(&f.label),
                "{}",
                f.label
            );
        }
        // The indicator counts add up.
        let n: f64 = sheet_rows
            .iter()
            .filter_map(|r| num(&r["绩效指标数"]))
            .sum();
        let want: usize = expected.iter().map(|e| e.record.indicators.len()).sum();
        assert_eq!(n, want as f64, "{} 绩效指标数", def.name);
        // Total budget, read as a number from the form's cells, summed.
        if def.funds.is_some() {
            let h = "年度资金总额·年初预算数";
            let got: f64 = sheet_rows.iter().filter_map(|r| num(&r[h])).sum();
            let want: f64 = expected
                .iter()
                .filter_map(|e| e.total_budget.and_then(|d| d.to_f64()))
                .sum();
            assert!(
                (got - want).abs() < 1e-6,
                "{} {h}: {got} != {want}",
                def.name
            );
        }
        if kind == FormKind::SelfEvaluation {
            let got: f64 = sheet_rows.iter().filter_map(|r| num(&r["核定得分"])).sum();
            let want: f64 = expected
                .iter()
                .filter_map(|e| e.result.score.as_ref().map(|s| s.computed))
                .sum();
            assert!((got - want).abs() < 1e-6, "核定得分 {got} != {want}");
            for r in &sheet_rows {
                let rate = num(&r["预算执行率"]).unwrap();
                assert!(
                    (0.0..=1.5).contains(&rate),
                    "a fraction shown as a percentage: {rate}"
                );
            }
        }
        if kind == FormKind::PerformanceReport {
            let lag = sheet_rows
                .iter()
                .filter(|r| text(&r["执行进度滞后"]) == "是")
                .count();
            let want = expected
                .iter()
                .filter(|e| {
                    e.result
                        .warnings
                        .iter()
                        .any(|w| w.code == IssueCode::ExecutionLag)
                })
                .count();
            assert_eq!(lag, want, "lagging reports flagged");
            let got: f64 = sheet_rows
                .iter()
                .filter_map(|r| num(&r["执行率（执行数/年初预算数）"]))
                .sum();
            let want: f64 = expected.iter().filter_map(|e| e.report_rate).sum();
            assert!((got - want).abs() < 1e-9, "执行率 {got} != {want}");
        }
        if kind == FormKind::TargetDeclaration {
            let conclusions: BTreeMap<String, usize> =
                sheet_rows.iter().fold(BTreeMap::new(), |mut m, r| {
                    *m.entry(text(&r["审核结论"])).or_default() += 1;
                    m
                });
            let mut want: BTreeMap<String, usize> = BTreeMap::new();
            for e in &expected {
                *want
                    .entry(e.result.review.as_ref().unwrap().conclusion.to_string())
                    .or_default() += 1;
            }
            assert_eq!(conclusions, want);
        }
    }

    // The indicator sheet: one row per indicator of every current form.
    let ind = rows(&sheet(&bytes, summary::INDICATOR_SHEET));
    let want: usize = exp
        .current
        .values()
        .map(|e| e.record.indicators.len())
        .sum();
    assert_eq!(ind.len(), want);
    let level3: usize = exp
        .current
        .values()
        .flat_map(|e| &e.record.indicators)
        .filter(|i| i.contains_key("level3"))
        .count();
    assert_eq!(
        ind.iter()
            .filter(|r| !text(&r["三级指标"]).is_empty())
            .count(),
        level3
    );

    // What is missing: configured departments × forms with nothing current.
    let missing = rows(&sheet(&bytes, summary::MISSING_SHEET));
    let got: BTreeSet<(String, String)> = missing
        .iter()
        .map(|r| (text(&r["部门代码"]), text(&r["表"])))
        .collect();
    let mut want = BTreeSet::new();
    for d in &c.cfg.departments {
        for kind in FormKind::ALL {
            if !exp
                .current
                .values()
                .any(|e| e.department == d.code && e.kind == kind)
            {
                want.insert((d.code.clone(), c.defs.form(kind).name.clone()));
            }
        }
    }
    assert_eq!(got, want);
    assert!(want.contains(&("wsjkw".into(), "绩效自评表".into())));
    for r in &missing {
        let key = (text(&r["部门代码"]), r["表"].clone());
        let kind = FormKind::ALL
            .into_iter()
            .find(|k| c.defs.form(*k).name == text(&key.1))
            .unwrap();
        let n = exp
            .returned_by_kind
            .get(&(key.0.clone(), kind.id()))
            .copied()
            .unwrap_or(0);
        assert_eq!(num(&r["退回次数"]), Some(n as f64));
    }
}

#[test]
fn text_that_looks_like_a_formula_stays_text() {
    let c = corpus();
    let bytes = summary::build(&c.conn, &scope(&c), YEAR).unwrap();
    let se = rows(&sheet(&bytes, "绩效自评表"));
    let row = se
        .iter()
        .find(|r| r["项目名称"] == Data::String("=1+1".into()))
        .expect("the project named =1+1 comes back as the text =1+1");
    assert_eq!(row["实施单位"], Data::String("=SUM(A1:A2)".into()));
    let xml = zip_entry(&bytes, "xl/worksheets/sheet4.xml").unwrap();
    assert!(
        !xml.contains("<f>"),
        "no formula anywhere on the form sheet"
    );
    let ind = rows(&sheet(&bytes, summary::INDICATOR_SHEET));
    assert!(
        ind.iter()
            .any(|r| r["项目名称"] == Data::String("=1+1".into()))
    );
}

#[test]
fn the_workbook_is_made_for_people() {
    let c = corpus();
    let bytes = summary::build(&c.conn, &scope(&c), YEAR).unwrap();
    let x: Xlsx<_> = Xlsx::new(Cursor::new(bytes.clone())).unwrap();
    assert_eq!(
        x.sheet_names(),
        vec![
            "部门汇总",
            "绩效目标申报表",
            "绩效运行监控表",
            "绩效自评表",
            "绩效指标",
            "未报送",
            "逾期未报",
            "说明"
        ]
    );
    for i in 1..=6 {
        let xml = zip_entry(&bytes, &format!("xl/worksheets/sheet{i}.xml")).unwrap();
        assert!(xml.contains("state=\"frozen\""), "sheet{i}: frozen header");
        assert!(xml.contains("<autoFilter"), "sheet{i}: filter");
        assert!(xml.contains("<cols>"), "sheet{i}: column widths");
    }
    let dept = zip_entry(&bytes, "xl/worksheets/sheet1.xml").unwrap();
    assert!(dept.contains("<conditionalFormatting"));
    assert!(dept.contains("<dataBar"));
    let decl = zip_entry(&bytes, "xl/worksheets/sheet2.xml").unwrap();
    assert!(
        decl.contains("<formula>\"不通过\"</formula>"),
        "不通过 in red"
    );
    let report = zip_entry(&bytes, "xl/worksheets/sheet3.xml").unwrap();
    assert!(
        report.contains("<formula>\"是\"</formula>"),
        "execution lagging marked"
    );
    let se = zip_entry(&bytes, "xl/worksheets/sheet4.xml").unwrap();
    assert!(se.contains("<formula>\"差\"</formula>"), "grade 差 in red");
    let styles = zip_entry(&bytes, "xl/styles.xml").unwrap();
    assert!(styles.contains("0.00%") && styles.contains("#,##0.00"));
    let chart1 = zip_entry(&bytes, "xl/charts/chart1.xml").expect("grade chart");
    let chart2 = zip_entry(&bytes, "xl/charts/chart2.xml").expect("execution rate chart");
    assert!(chart1.contains("等级分布"));
    assert!(chart2.contains("执行率"));
    assert!(zip_entry(&bytes, "xl/charts/chart3.xml").is_none());
}

#[test]
fn write_is_atomic_and_replaces_the_old_file() {
    let c = corpus();
    let path = summary::default_path(&c.cfg.reports_dir, YEAR);
    assert!(path.ends_with("reports/绩效汇总-2026.xlsx"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"old").unwrap();
    summary::write(&c.conn, &scope(&c), YEAR, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"PK"));
    let left: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(
        left,
        vec!["绩效汇总-2026.xlsx"],
        "no temporary file left behind"
    );
}

#[test]
fn an_empty_year_lists_everything_as_missing() {
    let c = corpus();
    let bytes = summary::build(&c.conn, &scope(&c), 2030).unwrap();
    let missing = rows(&sheet(&bytes, summary::MISSING_SHEET));
    assert_eq!(missing.len(), c.cfg.departments.len() * 3);
    assert!(missing.iter().all(|r| text(&r["最近一次报送"]) == "未报送"));
    let dept = rows(&sheet(&bytes, summary::DEPARTMENT_SHEET));
    assert!(dept.iter().all(|r| num(&r["收到"]) == Some(0.0)));
}

#[test]
fn mail_message_carries_the_workbook_to_the_finance_office() {
    let c = corpus();
    let m = summary::mail_message(
        &c.conn,
        &scope(&c),
        &letters(),
        &LetterSettings::default(),
        YEAR,
    )
    .unwrap();
    assert_eq!(m.to, c.cfg.finance.emails);
    assert_eq!(m.attachment_name, "绩效汇总-2026.xlsx");
    assert!(m.subject.starts_with("2026年度预算绩效汇总表"));
    assert!(m.attachment.starts_with(b"PK"));
    let received: u64 = c.expected.counts.values().map(|c| c[0]).sum();
    assert!(
        m.body.contains(&format!("本年度共收到报送{received}份")),
        "{}",
        m.body
    );
    assert!(m.body.contains("未报送"), "{}", m.body);
    let mut cfg = c.cfg.clone();
    cfg.finance.emails.clear();
    let err = summary::mail_message(
        &c.conn,
        &cfg.summary_scope(&c.defs, &SystemClock::default()),
        &letters(),
        &LetterSettings::default(),
        YEAR,
    )
    .unwrap_err();
    assert!(err.to_string().contains("finance.emails"), "{err}");
}

#[test]
fn config_reads_and_checks_the_summary_table() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    assert_eq!(cfg.summary.refresh_secs, 5);
    assert_eq!(cfg.summary.mail_schedule, None);
    let text = format!(
        "{}\n[summary]\nrefresh_secs = 10\nmail_schedule = \"weekly mon 08:00\"\n",
        jixiao::config::EXAMPLE
    );
    let cfg = Config::parse(&text, Path::new("j.toml")).unwrap();
    assert_eq!(cfg.summary.refresh_secs, 10);
    assert!(cfg.summary.schedule().is_some());
    let bad = text.replace("weekly mon 08:00", "every monday");
    let err = format!(
        "{:#}",
        Config::parse(&bad, Path::new("j.toml")).unwrap_err()
    );
    assert!(err.starts_with("j.toml: summary.mail_schedule"), "{err}");
}

/// The summary's time comes from the clock handed in, not from the machine: its 生成时间 and the
/// days overdue are those of the day the clock shows.
#[test]
fn the_summary_takes_its_time_from_the_clock() {
    use chrono::TimeZone;
    let c = corpus();
    let at = chrono::Local
        .with_ymd_and_hms(2027, 4, 30, 9, 15, 0)
        .single()
        .unwrap();
    let clock = jixiao::runtime::ManualClock::new(at);
    let bytes = summary::build(&c.conn, &c.cfg.summary_scope(&c.defs, &clock), YEAR).unwrap();
    let notes = sheet(&bytes, summary::NOTES_SHEET);
    let generated = notes
        .rows()
        .find(|r| text(&r[0]) == "生成时间")
        .map(|r| text(&r[1]))
        .unwrap();
    assert_eq!(generated, "2027-04-30 09:15:00");
    // The example's self-evaluation deadline is 2027-03-31: by the clock's day it is 30 days
    // overdue for every department that owes one.
    let overdue = rows(&sheet(&bytes, summary::OVERDUE_SHEET));
    let days: Vec<f64> = overdue
        .iter()
        .filter(|r| text(&r["报送期限"]) == "2027年3月31日")
        .filter_map(|r| num(&r["逾期天数"]))
        .collect();
    assert!(!days.is_empty(), "{overdue:?}");
    assert!(days.iter().all(|d| *d == 30.0), "{days:?}");
    // A day later, one more.
    clock.advance(chrono::Duration::days(1));
    let bytes = summary::build(&c.conn, &c.cfg.summary_scope(&c.defs, &clock), YEAR).unwrap();
    let overdue = rows(&sheet(&bytes, summary::OVERDUE_SHEET));
    assert!(
        overdue
            .iter()
            .filter(|r| text(&r["报送期限"]) == "2027年3月31日")
            .all(|r| num(&r["逾期天数"]) == Some(31.0))
    );
}
