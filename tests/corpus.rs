//! Every fixture workbook against its expectations.json: the shared examples, our own variants
//! (every variation and rule of the forms README) and the same forms saved by LibreOffice as
//! .xlsx, .xls and .ods.

use std::collections::BTreeSet;
use std::path::Path;

use jixiao::check::Status;
use jixiao::{Checker, Definitions, Limits};
use serde_json::Value;

fn run_corpus(dir: &str) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    let text = std::fs::read_to_string(dir.join("expectations.json"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    let checker = Checker::new(Definitions::embedded(), Limits::default());
    let mut failures = Vec::new();
    for case in &cases {
        let file = case["file"].as_str().unwrap();
        let got = checker.check_path(&dir.join(file), file).result;
        let mut bad = Vec::new();
        let want_status = case["status"].as_str().unwrap();
        let status = if got.status == Status::Accepted {
            "accepted"
        } else {
            "rejected"
        };
        if status != want_status {
            bad.push(format!("status {status} != {want_status}"));
        }
        let form = got.form.map(|f| f.id().to_string());
        if case["form"].as_str().map(str::to_string) != form {
            bad.push(format!("form {form:?} != {}", case["form"]));
        }
        let cells: BTreeSet<String> = got.errors.iter().filter_map(|e| e.cell.clone()).collect();
        for c in case["error_cells"].as_array().into_iter().flatten() {
            if !cells.contains(c.as_str().unwrap()) {
                bad.push(format!("no error at {c} (got {cells:?})"));
            }
        }
        let codes: BTreeSet<&str> = got.errors.iter().map(|e| e.code.as_str()).collect();
        if let Some(want) = case.get("error_codes").and_then(Value::as_array) {
            let want: BTreeSet<&str> = want.iter().map(|v| v.as_str().unwrap()).collect();
            if want != codes {
                bad.push(format!("error codes {codes:?} != {want:?}"));
            }
        }
        if want_status == "accepted" && !got.errors.is_empty() {
            bad.push(format!("unexpected errors {:?}", got.errors));
        }
        let warnings: BTreeSet<&str> = got.warnings.iter().map(|e| e.code.as_str()).collect();
        for w in case
            .get("warning_codes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !warnings.contains(w.as_str().unwrap()) {
                bad.push(format!("no warning {w} (got {warnings:?})"));
            }
        }
        if let Some(p) = case.get("project").filter(|_| want_status == "accepted") {
            let gp = got.project.clone().unwrap_or_default();
            let pairs = [
                ("name", gp.name.clone()),
                ("department", gp.department.clone()),
                ("code", gp.code.clone()),
                ("year", gp.year.map(|y| y.to_string())),
            ];
            for (k, v) in pairs {
                if let Some(want) = p.get(k).filter(|v| !v.is_null()) {
                    let want = want
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or(want.to_string());
                    if v.as_deref() != Some(want.as_str()) {
                        bad.push(format!("project.{k} {v:?} != {want}"));
                    }
                }
            }
        }
        if let Some(want) = case.get("conclusion").and_then(Value::as_str) {
            let c = got.review.as_ref().map(|r| r.conclusion.as_str());
            if c != Some(want) {
                bad.push(format!("conclusion {c:?} != {want}"));
            }
        }
        if let Some(want) = case.get("computed").and_then(Value::as_f64) {
            match &got.score {
                None => bad.push("no score".to_string()),
                Some(s) => {
                    let close = |a: f64, b: f64| (a - b).abs() < 0.005;
                    if !close(s.computed, want) {
                        bad.push(format!("computed {} != {want}", s.computed));
                    }
                    for (k, v) in [
                        ("execution_rate", s.execution_rate),
                        ("execution_score", s.execution_score),
                    ] {
                        if let Some(w) = case.get(k).and_then(Value::as_f64)
                            && !close(v, w)
                        {
                            bad.push(format!("{k} {v} != {w}"));
                        }
                    }
                    if case.get("grade").and_then(Value::as_str) != Some(s.grade.as_str()) {
                        bad.push(format!("grade {} != {}", s.grade, case["grade"]));
                    }
                }
            }
        }
        if !bad.is_empty() {
            failures.push(format!("{file}: {}", bad.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    cases.len()
}

#[test]
fn shared_examples() {
    assert_eq!(run_corpus("examples"), 8);
}

#[test]
fn variants_of_every_rule_and_layout() {
    assert!(run_corpus("variants") >= 50);
}

#[test]
fn files_saved_by_libreoffice() {
    if !Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/libreoffice/expectations.json")
        .exists()
    {
        panic!("tests/fixtures/libreoffice is missing: run scripts/convert_fixtures.sh");
    }
    assert!(run_corpus("libreoffice") >= 10);
}
