//! Writes 1,000 letters on one thread and prints letters per second, by kind.
//!
//! `cargo run --release --example letters_bench [N]` (see BENCHMARKS.md, "Letters").

use std::path::Path;
use std::time::Instant;

use chrono::NaiveDate;
use jixiao::letters::{LetterInput, LetterSettings, Letters};
use jixiao::{Checker, Definitions, Limits};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let defs = Definitions::embedded();
    let checker = Checker::new(defs.clone(), Limits::default());
    let settings = LetterSettings::default();
    let letters = Letters::load(None).expect("templates");
    let fixtures = [
        "tests/fixtures/variants/审核-修改后通过-模糊词明显-申报表.xlsx",
        "tests/fixtures/variants/发现-执行进度滞后-监控表.xlsx",
        "tests/fixtures/variants/发现-自评总分不符-自评表.xlsx",
        "tests/fixtures/examples/退回示例-资金合计不符.xlsx",
    ];
    let checked: Vec<_> = fixtures
        .iter()
        .map(|f| checker.check_path(Path::new(f), f))
        .collect();
    let date = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let mut all_bytes = 0usize;
    let mut total = std::time::Duration::ZERO;
    for (c, f) in checked.iter().zip(fixtures) {
        let original = std::fs::read(f).expect("fixture");
        let input = |number| LetterInput {
            reviewer: None,
            settings: &settings,
            defs: &defs,
            department: "吉林省农业农村厅",
            file_name: &c.result.file,
            result: &c.result,
            form: c.form.as_deref(),
            number: Some(number),
            date,
            extra_findings: &[],
            original: jixiao::letters::Original::Bytes(&original),
        };
        let start = Instant::now();
        let mut bytes = 0;
        let mut kind = None;
        for i in 0..n {
            let letter = letters.render(&input(i as u32 + 1)).expect("letter");
            bytes += letter.docx.len() + letter.annotated_xlsx.map_or(0, |(_, b)| b.len());
            kind = Some(letter.kind);
        }
        let took = start.elapsed();
        total += took;
        all_bytes += bytes;
        println!(
            "{:<10} {n} letters in {:.2} s = {:.0} letters/s ({} KB each)",
            kind.unwrap().name(),
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64(),
            bytes / n / 1024
        );
    }
    println!(
        "all kinds  {} letters in {:.2} s = {:.0} letters/s ({} MB written)",
        n * checked.len(),
        total.as_secs_f64(),
        (n * checked.len()) as f64 / total.as_secs_f64(),
        all_bytes / 1024 / 1024
    );
}
