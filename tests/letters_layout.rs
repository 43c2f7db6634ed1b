//! The layout of the letters as LibreOffice renders them (GB/T 9704 信函格式), measured with
//! `pdftotext -bbox-layout`: every letter kind, with short and long titles and short and long
//! bodies. Gated like `tests/letters_external.rs`: under `JIXIAO_EXTERNAL_TESTS=1` (set by
//! `scripts/test.sh`) a missing tool fails the test; under plain `cargo test` it is skipped with a
//! note. `JIXIAO_LETTER_PDF_DIR=dir` keeps the rendered PDFs for a look.

mod external;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use jixiao::letters::{LetterInput, LetterKind, LetterSettings, Letters, title};
use jixiao::{Checker, Definitions, Limits};
use quick_xml::Reader;
use quick_xml::events::Event;

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

/// The project's name in the fixtures.
const NAME: &str = "基层农技推广体系改革与建设补助项目";
const SHORT_NAME: &str = "种子工程项目";
const LONG_NAME: &str =
    "吉林省2026年度基层农技推广体系改革与建设补助暨高标准农田建设配套技术服务项目";

/// A4 in points, and the bottom of the text block (35 mm above the bottom edge).
const PAGE_H: f64 = 841.89;
const BLOCK_BOTTOM: f64 = PAGE_H - 35.0 / 25.4 * 72.0;
/// One character of 3号.
const CHAR: f64 = 16.0;

/// The fixture with the project's name replaced in its sheet (inline strings, written either
/// literally or as character references).
fn renamed(fixture: &Path, name: &str, out: &Path) {
    let entities: String = NAME.chars().map(|c| format!("&#{};", c as u32)).collect();
    let mut zin = zip::ZipArchive::new(std::fs::File::open(fixture).unwrap()).unwrap();
    let mut zout = zip::ZipWriter::new(std::fs::File::create(out).unwrap());
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        let fname = f.name().unwrap().to_string();
        if fname.starts_with("xl/worksheets/") {
            let text = String::from_utf8(bytes).unwrap();
            let text = text.replace(NAME, name).replace(&entities, name);
            bytes = text.into_bytes();
        }
        zout.start_file(fname, zip::write::SimpleFileOptions::default())
            .unwrap();
        zout.write_all(&bytes).unwrap();
    }
    zout.finish().unwrap();
}

/// One letter to render: its kind, how many times the body's errors or findings are repeated
/// (a long body), and the project name (a short or long title).
struct Case {
    kind: LetterKind,
    name: String,
    docx: PathBuf,
    title: String,
    signature: String,
    date: String,
}

fn cases(dir: &Path) -> Vec<Case> {
    let defs = Definitions::embedded();
    let checker = Checker::new(defs.clone(), Limits::default());
    let settings = LetterSettings::default();
    let letters = Letters::load(None).unwrap();
    // Every body length from 2 to 30 findings, so that the 署名, date and 版记 fall on every line
    // of a page, a full page among them.
    let sweep: Vec<(String, usize)> = (2..=30).map(|n| (format!("sweep-{n}"), n)).collect();
    let mut variants: Vec<(&str, &str, usize)> = sweep
        .iter()
        .map(|(l, n)| (l.as_str(), LONG_NAME, *n))
        .collect();
    variants.extend_from_slice(&[
        ("short", SHORT_NAME, 1),
        ("long-title", LONG_NAME, 1),
        ("long-body", SHORT_NAME, 12),
        ("longer", LONG_NAME, 19),
        ("longest", NAME, 27),
        ("body-5", NAME, 5),
        ("body-8", LONG_NAME, 8),
        ("body-15", NAME, 15),
        ("body-23", SHORT_NAME, 23),
    ]);
    let mut out = Vec::new();
    for (kind, fixture) in KINDS {
        for (label, name, repeat) in &variants {
            let source = Path::new("tests/fixtures").join(fixture);
            let file = dir.join(format!("{}-{label}.xlsx", kind.id()));
            renamed(&source, name, &file);
            let mut c = checker.check_path(&file, fixture);
            let grow = |v: &mut Vec<_>| {
                let one = v.clone();
                for _ in 1..*repeat {
                    v.extend(one.iter().cloned());
                }
            };
            grow(&mut c.result.errors);
            grow(&mut c.result.warnings);
            let bytes = std::fs::read(&file).unwrap();
            let input = LetterInput {
                reviewer: None,
                settings: &settings,
                defs: &defs,
                department: "吉林省农业农村厅",
                file_name: "报表.xlsx",
                result: &c.result,
                form: c.form.as_deref(),
                number: Some(12),
                date: NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
                extra_findings: &[],
                original: jixiao::letters::Original::Bytes(&bytes),
            };
            let letter = letters.render(&input).unwrap();
            assert_eq!(letter.kind, *kind);
            let docx = dir.join(format!("{}-{label}.docx", kind.id()));
            std::fs::write(&docx, &letter.docx).unwrap();
            out.push(Case {
                kind: *kind,
                name: format!("{}-{label}", kind.id()),
                docx,
                title: letter.title.clone(),
                signature: "吉林省财政厅".into(),
                date: "2026年11月25日".into(),
            });
        }
    }
    out
}

/// A line of text on a page, as pdftotext measures it (points, from the top left).
#[derive(Debug, Clone)]
struct Line {
    x_min: f64,
    x_max: f64,
    y_min: f64,
    y_max: f64,
    text: String,
}

/// The pages of a PDF, each with its lines.
fn pages(pdf: &Path) -> Vec<Vec<Line>> {
    let out = Command::new("pdftotext")
        .args(["-bbox-layout", "-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success(), "pdftotext {}", pdf.display());
    let mut reader = Reader::from_reader(out.stdout.as_slice());
    let mut pages: Vec<Vec<Line>> = Vec::new();
    let mut in_word = false;
    let attr = |e: &quick_xml::events::BytesStart, key: &str| -> f64 {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == key)
            .and_then(|a| a.value.parse().ok())
            .unwrap_or(0.0)
    };
    loop {
        match reader.read_event().unwrap() {
            Event::Eof => break,
            Event::Start(e) => match e.name().as_ref() {
                "page" => pages.push(Vec::new()),
                "line" => {
                    let line = Line {
                        x_min: attr(&e, "xMin"),
                        x_max: attr(&e, "xMax"),
                        y_min: attr(&e, "yMin"),
                        y_max: attr(&e, "yMax"),
                        text: String::new(),
                    };
                    if let Some(p) = pages.last_mut() {
                        p.push(line);
                    }
                }
                "word" => in_word = true,
                _ => {}
            },
            Event::Text(t) if in_word => {
                let text = t.as_ref().to_string();
                if let Some(l) = pages.last_mut().and_then(|p| p.last_mut()) {
                    l.text.push_str(&text.replace("&amp;", "&"));
                }
            }
            Event::GeneralRef(r) if in_word => {
                let text = match r.as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    _ => "'",
                };
                if let Some(l) = pages.last_mut().and_then(|p| p.last_mut()) {
                    l.text.push_str(text);
                }
            }
            Event::End(e) if e.name().as_ref() == "word" => in_word = false,
            _ => {}
        }
    }
    pages
}

fn is_page_number(text: &str) -> bool {
    text.starts_with('—') && text.ends_with('—')
}

/// Checks one rendered letter; returns what is wrong.
fn check(case: &Case, pages: &[Vec<Line>]) -> Vec<String> {
    let mut wrong = Vec::new();
    let name = &case.name;
    let last = pages.len() - 1;
    let find = |pred: &dyn Fn(&str) -> bool| -> Option<(usize, Line)> {
        pages.iter().enumerate().rev().find_map(|(i, p)| {
            p.iter()
                .rev()
                .find(|l| pred(&l.text))
                .map(|l| (i, l.clone()))
        })
    };
    let Some((sig_page, sig)) = find(&|t| t == case.signature) else {
        return vec![format!("{name}: no 署名 line `{}`", case.signature)];
    };
    let Some((date_page, date)) = find(&|t| t == case.date) else {
        return vec![format!("{name}: no date line")];
    };
    let cc = find(&|t| t.starts_with("抄送："));

    // 署名 centred over the date, within half a character.
    let centre = |l: &Line| (l.x_min + l.x_max) / 2.0;
    let off = (centre(&sig) - centre(&date)).abs();
    if off > CHAR / 2.0 {
        wrong.push(format!(
            "{name}: 署名 centre {:.1} pt, date centre {:.1} pt ({off:.1} pt apart)",
            centre(&sig),
            centre(&date)
        ));
    }
    // 成文日期右空四字: its right edge four characters in from the text block's right edge.
    let block_right = (210.0 - 26.0) / 25.4 * 72.0;
    let right_space = block_right - date.x_max;
    if (right_space - 4.0 * CHAR).abs() > CHAR / 2.0 {
        wrong.push(format!(
            "{name}: date {right_space:.1} pt from the right edge, not four characters"
        ));
    }
    if sig_page != date_page || sig.y_max > date.y_min {
        wrong.push(format!("{name}: 署名 not right above the date"));
    }
    // No page holding 署名, date or 版记 without body text.
    let body_above = |page: usize, y: f64| {
        pages[page].iter().any(|l| {
            l.y_max <= y
                && !l.text.is_empty()
                && !is_page_number(&l.text)
                && l.text != case.signature
                && l.text != case.date
                && !l.text.starts_with("抄送：")
        })
    };
    if !body_above(sig_page, sig.y_min) {
        wrong.push(format!(
            "{name}: 署名 on page {} without body text",
            sig_page + 1
        ));
    }
    match cc {
        None => wrong.push(format!("{name}: no 版记 (抄送) line")),
        Some((cc_page, cc)) => {
            if cc_page != last {
                wrong.push(format!(
                    "{name}: 版记 on page {}, not the last",
                    cc_page + 1
                ));
            }
            if cc_page != date_page {
                wrong.push(format!("{name}: 版记 not on the date's page"));
            }
            if (cc.y_max - BLOCK_BOTTOM).abs() > 6.0 {
                wrong.push(format!(
                    "{name}: 版记 bottom at {:.1} pt, text block bottom at {BLOCK_BOTTOM:.1} pt",
                    cc.y_max
                ));
            }
            if !body_above(cc_page, cc.y_min) {
                wrong.push(format!("{name}: 版记 alone on page {}", cc_page + 1));
            }
            if cc.y_min < date.y_max {
                wrong.push(format!("{name}: 版记 overlaps the date"));
            }
        }
    }
    // The errors table of a return notice: its header row repeats on every page it runs onto.
    if case.kind == LetterKind::ReturnNotice {
        for (i, page) in pages.iter().enumerate() {
            let row = page.iter().find(|l| l.text == "E8");
            let header = page.iter().find(|l| l.text == "问题及修改要求");
            if let Some(row) = row
                && header.is_none_or(|h| h.y_min > row.y_min)
            {
                wrong.push(format!(
                    "{name}: no table header above the rows on page {}",
                    i + 1
                ));
            }
        }
    }
    // The title: its lines as the segmenter breaks it, each break between words.
    let want = title::lines(&case.title);
    let joined: String = want.concat();
    let first = &pages[0];
    let found = (0..first.len()).find_map(|i| {
        let mut text = String::new();
        for (j, l) in first[i..].iter().enumerate() {
            text.push_str(&l.text);
            if text == joined {
                return Some(first[i..=i + j].to_vec());
            }
            if !joined.starts_with(&text) {
                return None;
            }
        }
        None
    });
    match found {
        None => wrong.push(format!("{name}: title `{joined}` not found on page 1")),
        Some(lines) => {
            let got: Vec<String> = lines.iter().map(|l| l.text.clone()).collect();
            if got.len() > title::MAX_LINES {
                wrong.push(format!("{name}: title on {} lines", got.len()));
            }
            if got != want {
                wrong.push(format!("{name}: title lines {got:?}, want {want:?}"));
            }
            let words = title::words(&joined);
            let mut bounds = vec![0];
            for w in &words {
                bounds.push(bounds.last().copied().unwrap_or(0) + w.chars().count());
            }
            let mut at = 0;
            for l in &got {
                if !bounds.contains(&at) {
                    wrong.push(format!("{name}: title breaks inside a word: {got:?}"));
                }
                if l.chars().count() < 3 {
                    wrong.push(format!(
                        "{name}: title line of {} characters",
                        l.chars().count()
                    ));
                }
                at += l.chars().count();
            }
        }
    }
    wrong
}

#[test]
fn letters_keep_the_letter_format_when_rendered() {
    if !external::tool("soffice") || !external::tool("pdftotext") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases = cases(dir.path());
    let profile = dir.path().join("lo-profile");
    let status = Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(dir.path())
        .args(cases.iter().map(|c| &c.docx))
        .output()
        .unwrap();
    assert!(status.status.success(), "soffice: {status:?}");
    let keep = std::env::var_os("JIXIAO_LETTER_PDF_DIR").map(PathBuf::from);
    let mut wrong = Vec::new();
    let mut multi_page = 0;
    let mut longest_line = 0;
    for case in &cases {
        let pdf = case.docx.with_extension("pdf");
        assert!(pdf.exists(), "{} was rendered", case.name);
        if let Some(keep) = &keep {
            std::fs::create_dir_all(keep).unwrap();
            std::fs::copy(&pdf, keep.join(format!("{}.pdf", case.name))).unwrap();
        }
        let pages = pages(&pdf);
        if pages.len() > 1 {
            multi_page += 1;
        }
        // Characters a line: the longest line of Chinese text only.
        for l in pages.iter().flatten() {
            if !l.text.is_empty() && !l.text.is_ascii() && l.text.chars().all(|c| !c.is_ascii()) {
                longest_line = longest_line.max(l.text.chars().count());
            }
        }
        wrong.extend(check(case, &pages));
    }
    // Without the GB fonts, the body falls back to a serif CJK font, not to sans-serif
    // (scripts/install-test-tools.sh names Noto Serif CJK SC for 仿宋_GB2312).
    if external::tool("pdffonts") {
        let out = Command::new("pdffonts")
            .arg(cases[0].docx.with_extension("pdf"))
            .output()
            .unwrap();
        let fonts = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            fonts.contains("NotoSerifCJK")
                || fonts.contains("FangSong")
                || fonts.contains("GB2312"),
            "the body's font is not a serif CJK font:\n{fonts}"
        );
    }
    assert_eq!(longest_line, 28, "28 characters a line");
    // The long bodies run onto later pages, so the page breaks are tested too.
    assert!(multi_page >= 100, "only {multi_page} letters over one page");
    assert!(
        wrong.is_empty(),
        "{} problems:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let _ = case_kinds(&cases);
}

/// Every kind is among the cases.
fn case_kinds(cases: &[Case]) -> usize {
    let kinds: std::collections::HashSet<_> = cases.iter().map(|c| c.kind).collect();
    assert_eq!(kinds.len(), 4);
    kinds.len()
}
