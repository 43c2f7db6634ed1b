//! Letters checked by tools outside Rust: the `openxml-audit` schema validator (PyPI) and
//! LibreOffice headless with pdftotext. Under `JIXIAO_EXTERNAL_TESTS=1` (set by
//! `scripts/test.sh`) a missing tool fails the test; under plain `cargo test` the test is skipped
//! with a note. `scripts/install-test-tools.sh` installs the tools.

mod external;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use jixiao::letters::{LetterInput, LetterKind, LetterSettings, Letters, RenderedLetter};
use jixiao::{Checker, Definitions, Limits};

/// One fixture per letter kind.
const KINDS: &[(LetterKind, &str)] = &[
    (
        LetterKind::ReturnNotice,
        "examples/退回示例-资金合计不符.xlsx",
    ),
    (
        LetterKind::TargetReview,
        "variants/审核-修改后通过-模糊词明显-申报表.xlsx",
    ),
    (
        LetterKind::MonitoringOpinion,
        "variants/发现-执行进度滞后-监控表.xlsx",
    ),
    (
        LetterKind::EvaluationFeedback,
        "variants/发现-自评总分不符-自评表.xlsx",
    ),
];

/// Writes each kind's letter into `dir` and returns the paths.
fn letters(dir: &Path) -> Vec<(LetterKind, PathBuf, RenderedLetter)> {
    let defs = Definitions::embedded();
    let checker = Checker::new(defs.clone(), Limits::default());
    let settings = LetterSettings::default();
    let letters = Letters::load(None).unwrap();
    KINDS
        .iter()
        .map(|(kind, fixture)| {
            let path = Path::new("tests/fixtures").join(fixture);
            let c = checker.check_path(&path, fixture);
            let original = std::fs::read(&path).unwrap();
            let input = LetterInput {
                reviewer: None,
                settings: &settings,
                defs: &defs,
                department: "吉林省农业农村厅",
                file_name: path.file_name().unwrap().to_str().unwrap(),
                result: &c.result,
                form: c.form.as_deref(),
                number: Some(12),
                date: NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
                extra_findings: &[],
                original: jixiao::letters::Original::Bytes(&original),
            };
            let letter = letters.render(&input).unwrap();
            assert_eq!(letter.kind, *kind);
            let out = dir.join(format!("{}.docx", kind.id()));
            std::fs::write(&out, &letter.docx).unwrap();
            (*kind, out, letter)
        })
        .collect()
}

#[test]
fn every_letter_kind_passes_openxml_audit_strict() {
    if !external::tool("openxml-audit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (kind, path, _) in letters(dir.path()) {
        let out = Command::new("openxml-audit")
            .args(["--policy", "strict", "-m", "0"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && text.contains("Errors: 0"),
            "{}: openxml-audit found problems:\n{text}",
            kind.name()
        );
    }
}

#[test]
fn every_letter_kind_renders_to_pdf_with_its_text() {
    if !external::tool("soffice") || !external::tool("pdftotext") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let written = letters(dir.path());
    let profile = dir.path().join("lo-profile");
    let status = Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(dir.path())
        .args(written.iter().map(|(_, p, _)| p))
        .output()
        .unwrap();
    assert!(status.status.success(), "soffice: {status:?}");
    let keep = std::env::var_os("JIXIAO_LETTER_PNG_DIR").map(PathBuf::from);
    for (kind, docx, letter) in &written {
        let pdf = docx.with_extension("pdf");
        assert!(pdf.exists(), "{} was rendered", kind.name());
        let out = Command::new("pdftotext")
            .args(["-layout", "-enc", "UTF-8"])
            .arg(&pdf)
            .arg("-")
            .output()
            .unwrap();
        let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        let raw = String::from_utf8_lossy(&out.stdout).to_string();
        let pages: Vec<String> = raw
            .split('\u{c}')
            .map(squeeze)
            .filter(|p| !p.is_empty())
            .collect();
        let text = squeeze(&raw);
        // No page number on page 1; `— 2 —` on page 2.
        assert!(
            !pages[0].contains("—1—"),
            "{}: page 1 unnumbered",
            kind.name()
        );
        if pages.len() > 1 {
            assert!(pages[1].contains("—2—"), "{}: page 2 numbered", kind.name());
        }
        for want in [
            "吉林省财政厅",
            "吉财绩函〔2026〕12号",
            "吉林省农业农村厅：",
            "2026年11月25日",
        ] {
            assert!(
                text.contains(want),
                "{}: {want} in the PDF text",
                kind.name()
            );
        }
        let title: String = letter
            .title
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        assert!(text.contains(&title), "{}: title in the PDF", kind.name());
        let expect = match kind {
            LetterKind::ReturnNotice => "E8",
            LetterKind::TargetReview => "修改后通过",
            LetterKind::MonitoringOpinion => "33.33%",
            LetterKind::EvaluationFeedback => "96.45",
        };
        assert!(text.contains(expect), "{}: {expect}", kind.name());
        // `JIXIAO_LETTER_PNG_DIR=docs` keeps page 1 of each kind as a picture for the README.
        if let Some(dir) = &keep
            && external::tool("pdftoppm")
        {
            let prefix = dir.join(format!("letter-{}", kind.id()));
            let ok = Command::new("pdftoppm")
                .args(["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile"])
                .arg(&pdf)
                .arg(&prefix)
                .status()
                .unwrap();
            assert!(ok.success());
        }
    }
}
