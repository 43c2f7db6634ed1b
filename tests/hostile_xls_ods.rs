//! Hostile .xls and .ods files, cells far away and numbers too large: each is answered with a
//! precise rejection at its cause, within a bounded amount of memory, never with a panic.
//! The fixtures are made by scripts/make_hostile_xls_ods.py.

use std::path::{Path, PathBuf};
use std::process::Command;

use jixiao::check::{CheckResult, Status};
use jixiao::rules::issue::IssueCode;
use jixiao::{Checker, Definitions, Limits};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hostile")
        .join(name)
}

fn check(name: &str) -> CheckResult {
    Checker::new(Definitions::embedded(), Limits::default())
        .check_path(&fixture(name), name)
        .result
}

/// The one whole-file rejection of a file.
fn refused(name: &str) -> IssueCode {
    let r = check(name);
    assert_eq!(r.status, Status::Rejected, "{name}");
    assert_eq!(r.errors.len(), 1, "{name}: {:?}", r.errors);
    assert_eq!(r.errors[0].cell, None, "{name}");
    r.errors[0].code
}

#[test]
fn xls_dimensions_with_the_last_column_before_the_first_are_refused() {
    assert_eq!(
        refused("xls-dimensions-reversed-columns.xls"),
        IssueCode::TooManyCells
    );
}

#[test]
fn xls_dimensions_with_the_last_row_before_the_first_are_refused() {
    assert_eq!(
        refused("xls-dimensions-reversed-rows.xls"),
        IssueCode::TooManyCells
    );
}

#[test]
fn xls_shared_string_referenced_by_many_cells_is_refused() {
    let r = check("xls-sst-fanout.xls");
    assert_eq!(r.errors[0].code, IssueCode::TooManyCells, "{:?}", r.errors);
    assert!(r.errors[0].message.contains("Sheet1"), "{:?}", r.errors);
}

#[test]
fn xls_cells_after_an_embedded_chart_count_for_their_sheet() {
    assert_eq!(
        refused("xls-nested-substream-far-cell.xls"),
        IssueCode::TooManyCells
    );
}

#[test]
fn ods_percent_cells_repeated_over_columns_are_refused() {
    assert_eq!(
        refused("ods-percent-columns-repeated.ods"),
        IssueCode::TooManyCells
    );
}

#[test]
fn ods_rows_repeated_count_for_the_grid() {
    assert_eq!(refused("ods-rows-repeated.ods"), IssueCode::TooManyCells);
}

#[test]
fn ods_values_without_a_value_type_count_for_the_grid() {
    assert_eq!(refused("ods-no-value-type.ods"), IssueCode::TooManyCells);
}

#[test]
fn ods_tables_of_the_same_name_each_count() {
    assert_eq!(
        refused("ods-duplicate-table-name.ods"),
        IssueCode::TooManyCells
    );
}

#[test]
fn ods_text_of_billions_of_spaces_is_refused() {
    assert_eq!(refused("ods-text-spaces.ods"), IssueCode::TooManyCells);
}

#[test]
fn ods_long_text_repeated_over_a_grid_is_refused() {
    assert_eq!(refused("ods-text-repeated.ods"), IssueCode::TooManyCells);
}

/// The errors of one code, as (cell, message).
fn errors_of(r: &CheckResult, code: IssueCode) -> Vec<(String, String)> {
    r.errors
        .iter()
        .filter(|e| e.code == code)
        .map(|e| (e.cell.clone().unwrap_or_default(), e.message.clone()))
        .collect()
}

#[test]
fn huge_amount_and_points_get_an_error_at_their_cell() {
    let r = check("num-huge-amount-points.xlsx");
    assert_eq!(r.status, Status::Rejected);
    let big = errors_of(&r, IssueCode::NumberTooLarge);
    assert_eq!(big.len(), 2, "{:?}", r.errors);
    assert_eq!(big[0].0, "F8");
    assert!(big[0].1.contains("数值过大"), "{}", big[0].1);
    assert!(big[0].1.contains("全年执行数"), "{}", big[0].1);
    assert_eq!(big[1].0, "G15");
    assert!(big[1].1.contains("数值过大"), "{}", big[1].1);
    assert!(big[1].1.contains("分值"), "{}", big[1].1);
    // The huge 分值 is not also reported as missing.
    assert!(errors_of(&r, IssueCode::WeightMissing).is_empty());
}

#[test]
fn huge_execution_rate_is_an_error_at_the_amount_not_a_damaged_file() {
    let r = check("num-huge-amount-report.xlsx");
    assert_eq!(r.status, Status::Rejected);
    assert!(errors_of(&r, IssueCode::DamagedFile).is_empty(), "{r:?}");
    let big = errors_of(&r, IssueCode::NumberTooLarge);
    assert_eq!(big.len(), 1, "{:?}", r.errors);
    assert_eq!(big[0].0, "E8");
    assert!(big[0].1.contains("数值过大"), "{}", big[0].1);
    let precision = errors_of(&r, IssueCode::AmountPrecision);
    assert_eq!(precision.len(), 1, "{:?}", r.errors);
    assert_eq!(precision[0].0, "D10");
}

#[test]
fn a_cell_at_the_last_row_number_is_read_as_one_more_indicator_row() {
    let r = check("num-far-row.xlsx");
    assert_eq!(r.status, Status::Rejected, "{r:?}");
    let missing = errors_of(&r, IssueCode::TargetMissing);
    assert_eq!(missing.len(), 1, "{:?}", r.errors);
    assert_eq!(missing[0].0, "G4294967295");
    assert!(missing[0].1.contains("远处的指标"), "{}", missing[0].1);
}

/// The largest resident set of the children this process has waited for, in bytes.
fn children_peak_rss() -> u64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct it is given.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0);
    // Linux reports kilobytes.
    usage.ru_maxrss as u64 * 1024
}

#[test]
fn every_hostile_file_is_judged_by_the_binary_within_one_gigabyte() {
    let mut names: Vec<String> = std::fs::read_dir(fixture(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("xls-") || n.starts_with("ods-") || n.starts_with("num-"))
        .collect();
    names.sort();
    assert!(names.len() >= 13, "{names:?}");
    for name in &names {
        let out = Command::new(env!("CARGO_BIN_EXE_jixiao"))
            .args(["check", "--json"])
            .arg(fixture(name))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let result: serde_json::Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{name}: {e}: {stdout} {:?}", out.status));
        assert_eq!(result["status"], "rejected", "{name}: {result}");
        assert!(
            !stdout.contains("damaged_file"),
            "{name} was taken for a damaged file: {stdout}"
        );
        let peak = children_peak_rss();
        assert!(
            peak < 1 << 30,
            "{name}: the checks so far peaked at {} MB",
            peak >> 20
        );
    }
}
