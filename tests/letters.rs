//! Letters built from real fixtures, read back from the .docx (word/document.xml and the other
//! parts) and from the annotated workbook.

use std::io::Read;
use std::path::Path;

use chrono::NaiveDate;
use jixiao::letters::{
    LetterInput, LetterKind, LetterSettings, Letters, NoticeKind, RenderedLetter,
};
use jixiao::{Checked, Checker, Definitions, Limits};
use quick_xml::Reader;
use quick_xml::events::Event;

fn checked(path: &str) -> Checked {
    let checker = Checker::new(Definitions::embedded(), Limits::default());
    let p = Path::new("tests/fixtures").join(path);
    checker.check_path(&p, path)
}

fn render(path: &str, number: Option<u32>) -> (Checked, RenderedLetter) {
    let c = checked(path);
    let defs = Definitions::embedded();
    let settings = LetterSettings::default();
    let letters = Letters::load(None).expect("embedded templates load");
    let file_name = path.rsplit('/').next().unwrap();
    let original = std::fs::read(Path::new("tests/fixtures").join(path)).unwrap();
    let input = LetterInput {
        reviewer: None,
        settings: &settings,
        defs: &defs,
        department: "吉林省农业农村厅",
        file_name,
        result: &c.result,
        form: c.form.as_deref(),
        number,
        date: NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
        extra_findings: &[],
        original: jixiao::letters::Original::Bytes(&original),
    };
    let letter = letters.render(&input).expect("letter renders");
    (c, letter)
}

fn part(docx: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(docx)).expect("docx is a zip");
    let mut s = String::new();
    zip.by_name(name)
        .unwrap_or_else(|_| panic!("{name} in the package"))
        .read_to_string(&mut s)
        .unwrap();
    // docx-rs writes `<x />`, LibreOffice and Word `<x/>`: compare one spelling.
    s.replace(" />", "/>")
}

/// The text of every paragraph of a WordprocessingML part, tables included.
fn paragraphs(xml: &str) -> Vec<String> {
    let mut reader = Reader::from_str(xml);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_t = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) if e.name().into_inner() == "w:t" => in_t = true,
            Event::End(e) if e.name().into_inner() == "w:t" => in_t = false,
            Event::End(e) if e.name().into_inner() == "w:p" => out.push(std::mem::take(&mut cur)),
            Event::Text(t) if in_t => cur.push_str(&t),
            Event::GeneralRef(r) if in_t => {
                cur.push_str(match &*r {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    _ => "'",
                });
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn all_text(letter: &RenderedLetter) -> String {
    paragraphs(&part(&letter.docx, "word/document.xml")).join("\n")
}

const RETURN: &str = "examples/退回示例-资金合计不符.xlsx";
const REVIEW: &str = "variants/审核-修改后通过-模糊词明显-申报表.xlsx";
const MONITOR: &str = "variants/发现-执行进度滞后-监控表.xlsx";
const FEEDBACK: &str = "variants/发现-自评总分不符-自评表.xlsx";

#[test]
fn each_result_calls_for_its_letter_kind() {
    let kind = |p| LetterKind::for_result(&checked(p).result);
    assert_eq!(kind(RETURN), Some(LetterKind::ReturnNotice));
    assert_eq!(kind(REVIEW), Some(LetterKind::TargetReview));
    assert_eq!(kind(MONITOR), Some(LetterKind::MonitoringOpinion));
    assert_eq!(kind(FEEDBACK), Some(LetterKind::EvaluationFeedback));
    assert_eq!(kind("bad/not-there.xlsx"), None);
}

#[test]
fn return_notice_lists_every_error_cell_and_attaches_the_annotated_workbook() {
    let (c, letter) = render(RETURN, Some(12));
    assert_eq!(letter.kind, LetterKind::ReturnNotice);
    let paras = paragraphs(&part(&letter.docx, "word/document.xml"));
    assert!(
        paras.contains(&"吉财绩函〔2026〕12号".to_string()),
        "{paras:?}"
    );
    assert!(paras.contains(&"吉林省农业农村厅：".to_string()));
    assert!(paras.contains(&letter.title), "title paragraph");
    assert!(letter.title.contains("退回"));
    assert!(!c.result.errors.is_empty());
    for e in &c.result.errors {
        let cell = e.cell.as_deref().unwrap();
        assert!(
            paras.iter().any(|p| p == cell),
            "error cell {cell} in a table cell"
        );
        assert!(
            paras.iter().any(|p| p == &e.message),
            "message {}",
            e.message
        );
    }
    assert!(paras.contains(&"附件：退回示例-资金合计不符（错误标注）.xlsx".to_string()));
    assert!(paras.contains(&"2026年11月25日".to_string()));
    assert!(paras.contains(&"抄送：省审计厅。".to_string()));
    let (name, _) = letter.annotated_xlsx.as_ref().expect("annotated workbook");
    assert_eq!(name, "退回示例-资金合计不符（错误标注）.xlsx");
    assert_eq!(
        letter.docx_file_name,
        "吉财绩函〔2026〕12号-退回修改通知-退回示例-资金合计不符.docx"
    );
    assert!(letter.email_subject.contains("退回修改通知"));
    assert!(letter.email_body.contains("错误标注"));
}

#[test]
fn target_review_states_the_conclusion_and_the_criteria_it_can_judge() {
    let (c, letter) = render(REVIEW, Some(3));
    let text = all_text(&letter);
    assert!(text.contains("吉财绩函〔2026〕3号"));
    assert!(text.contains("审核结论：修改后通过。"), "{text}");
    for name in ["绩效指标的合理性", "资金测算的合理性"] {
        assert!(text.contains(name), "criterion {name}");
    }
    // Regression: the automatic letter printed an internal note twice for the criteria a
    // program cannot judge; it leaves them out.
    for name in [
        "绩效目标与部门职能的相关性",
        "实施方案的可行性",
        "系统不作结论",
    ] {
        assert!(!text.contains(name), "{name} in an automatic letter");
    }
    let finding = &c.result.review.as_ref().unwrap().findings[0];
    assert!(text.contains(&finding.message), "finding in the letter");
    assert!(text.contains("G20单元格"));
}

#[test]
fn monitoring_opinion_sets_execution_against_time_elapsed() {
    let (c, letter) = render(MONITOR, Some(4));
    let text = all_text(&letter);
    assert!(text.contains("预算执行率33.33%，时间进度58.33%"), "{text}");
    assert!(text.contains("低于时间进度25个百分点"));
    // Every indicator the department marked as uncertain or forecast short is listed with its
    // stated reasons and measures.
    let form = c.form.as_ref().unwrap();
    for row in &form.indicators {
        let l = row.get("likelihood").text().unwrap_or_default();
        if !l.is_empty() && l != "确定能" {
            let name = row.get("level3").text().unwrap();
            assert!(text.contains(&name), "at-risk indicator {name}");
            if let Some(reason) = row.get("reason").text() {
                assert!(text.contains(&reason), "reason {reason}");
            }
        }
    }
}

#[test]
fn evaluation_feedback_puts_claimed_beside_verified_and_lists_lost_points() {
    let (c, letter) = render(FEEDBACK, Some(5));
    let paras = paragraphs(&part(&letter.docx, "word/document.xml"));
    let text = paras.join("\n");
    let s = c.result.score.as_ref().unwrap();
    assert_eq!(s.computed, 96.45);
    // The result table: 部门自评 98 优, 财政核定 96.45 优.
    let i = paras.iter().position(|p| p == "部门自评").unwrap();
    assert_eq!(paras[i + 1], "98");
    assert_eq!(paras[i + 2], "优");
    let j = paras.iter().position(|p| p == "财政核定").unwrap();
    assert_eq!(paras[j + 1], "96.45");
    assert_eq!(paras[j + 2], "优");
    // Regression: the letter said the grade differs when only the score did (98 优 against
    // 96.45 优).
    assert!(text.contains("与核定得分不一致（评价等级相同）"), "{text}");
    assert!(!text.contains("等级“优”，与核定"), "{text}");
    for ind in s.indicators.iter().filter(|i| i.computed < i.weight) {
        assert!(
            paras.contains(&ind.name),
            "lost-points indicator {}",
            ind.name
        );
    }
    assert!(paras.contains(&"预算执行率".to_string()));
    assert!(text.contains("在安排下一年度预算时予以优先保障"));
}

#[test]
fn preview_leaves_the_number_blank() {
    let (_, letter) = render(FEEDBACK, None);
    assert_eq!(letter.doc_number_text, "吉财绩函〔2026〕  号");
    assert!(
        paragraphs(&part(&letter.docx, "word/document.xml"))
            .contains(&"吉财绩函〔2026〕  号".to_string())
    );
    assert!(letter.docx_file_name.starts_with("预览-"));
}

#[test]
fn official_format_a4_margins_fonts_red_and_page_numbers() {
    for path in [RETURN, REVIEW, MONITOR, FEEDBACK] {
        let (_, letter) = render(path, Some(12));
        let doc = part(&letter.docx, "word/document.xml");
        assert!(doc.contains(r#"<w:pgSz w:w="11906" w:h="16838"/>"#), "A4");
        for m in [
            r#"w:top="2098""#,
            r#"w:left="1587""#,
            r#"w:right="1474""#,
            r#"w:bottom="1984""#,
            r#"w:header="1701""#,
            r#"w:footer="1134""#,
        ] {
            assert!(doc.contains(m), "margin {m}");
        }
        assert!(doc.contains(r#"w:eastAsia="仿宋_GB2312""#), "仿宋 body");
        assert!(
            doc.contains(r#"w:eastAsia="方正小标宋简体""#),
            "小标宋 title"
        );
        assert!(doc.contains("<w:titlePg/>"), "no page number on page 1");
        // Run properties in schema order: fonts before colour before size.
        assert!(!doc.contains("<w:sz w:val=\"32\"/><w:szCs w:val=\"32\"/><w:rFonts"));
        let settings = part(&letter.docx, "word/settings.xml");
        assert!(settings.contains("<w:evenAndOddHeaders/>"));

        let rels = part(&letter.docx, "word/_rels/document.xml.rels");
        // The part a header or footer reference of a type points at.
        let referenced = |tag: &str, kind: &str| {
            let pattern = format!(r#"<w:{tag} w:type="{kind}" r:id=""#);
            assert_eq!(doc.matches(&pattern).count(), 1, "{tag} {kind}");
            let at = doc.find(&pattern).unwrap() + pattern.len();
            let id = &doc[at..at + doc[at..].find('"').unwrap()];
            let r = rels.find(&format!(r#"Id="{id}""#)).unwrap();
            let t = rels[r..].find("Target=\"").unwrap() + r + 8;
            part(
                &letter.docx,
                &format!("word/{}", &rels[t..t + rels[t..].find('"').unwrap()]),
            )
        };
        // Page 1: the letterhead in red with the double line, the bottom red line, no number.
        let first_header = referenced("headerReference", "first");
        assert!(first_header.contains("吉林省财政厅"));
        assert!(
            first_header.contains(r#"<w:color w:val="FF0000"/>"#),
            "red office name"
        );
        assert!(
            first_header.contains(r#"w:val="thickThinSmallGap""#)
                && first_header.contains(r#"w:color="FF0000""#)
        );
        let footers: Vec<String> = ["default", "even"]
            .iter()
            .map(|k| referenced("footerReference", k))
            .collect();
        let first_footer = referenced("footerReference", "first");
        assert!(
            first_footer.contains(r#"w:val="thinThickSmallGap""#)
                && first_footer.contains(r#"w:color="FF0000""#)
        );
        assert!(!first_footer.contains("PAGE"), "no page number on page 1");
        for (f, jc) in footers.iter().zip(["right", "left"]) {
            assert!(f.contains("<w:instrText>PAGE</w:instrText>"), "PAGE field");
            assert!(
                f.contains(&format!(r#"<w:jc w:val="{jc}"/>"#)),
                "odd right, even left"
            );
            assert!(f.contains("— ") && f.contains(" —"));
            assert!(f.contains(r#"w:eastAsia="宋体""#));
        }
    }
}

#[test]
fn annotated_workbook_carries_values_red_cells_and_notes() {
    for path in [
        RETURN,
        "examples/退回示例-未说明偏差原因.xlsx",
        "examples/退回示例-缺项目名称.xlsx",
    ] {
        let (c, letter) = render(path, Some(1));
        let (_, bytes) = letter.annotated_xlsx.expect("annotated workbook");
        // Read back as a form: the department's values are there.
        let checker = Checker::new(Definitions::embedded(), Limits::default());
        let again = checker.check_bytes("annotated.xlsx", &bytes);
        assert_eq!(again.result.form, c.result.form, "{path}");
        assert_eq!(again.result.project, c.result.project, "{path}");
        let codes = |r: &jixiao::CheckResult| r.errors.iter().map(|e| e.code).collect::<Vec<_>>();
        assert_eq!(
            codes(&again.result),
            codes(&c.result),
            "same errors in the annotated copy"
        );
        // Red fill in the styles and every message in the comments part.
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
        let mut styles = String::new();
        zip.by_name("xl/styles.xml")
            .unwrap()
            .read_to_string(&mut styles)
            .unwrap();
        assert!(styles.contains("FFFFC7CE"), "red fill");
        let comments_name = zip
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.to_string()))
            .find(|n| n.starts_with("xl/comments"))
            .expect("a comments part");
        let mut comments = String::new();
        zip.by_name(&comments_name)
            .unwrap()
            .read_to_string(&mut comments)
            .unwrap();
        for e in &c.result.errors {
            assert!(comments.contains(&e.message), "note: {}", e.message);
        }
    }
}

#[test]
fn notices_render_subject_and_body() {
    let letters = Letters::load(None).unwrap();
    let settings = LetterSettings::default();
    let ctx = serde_json::json!({
        "department": "吉林省教育厅", "file_name": "a.xlsx", "form_name": "绩效自评表",
        "project_name": "营养改善计划", "received_at": "2026年11月25日 09:30",
    });
    let (subject, body) = letters
        .render_notice(NoticeKind::Receipt, &settings, &ctx)
        .unwrap();
    assert_eq!(subject, "收到回执：a.xlsx");
    assert!(body.starts_with("吉林省教育厅："));
    assert!(body.contains("营养改善计划") && body.contains("吉林省财政厅"));
    let ctx = serde_json::json!({
        "department": "吉林省教育厅", "form_name": "绩效自评表", "deadline": "2026年12月1日",
        "overdue": true, "days": 2, "missing": ["甲项目", "乙项目"],
    });
    let (subject, body) = letters
        .render_notice(NoticeKind::Reminder, &settings, &ctx)
        .unwrap();
    assert_eq!(subject, "逾期未报：绩效自评表");
    assert!(body.contains("- 甲项目") && body.contains("已过2天"));
    // A variable the daemon forgot is an error, not a blank in an email.
    let err = letters
        .render_notice(NoticeKind::Summary, &settings, &serde_json::json!({}))
        .unwrap_err();
    assert!(err.to_string().contains("summary.txt.j2"), "{err}");
}

#[test]
fn template_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir("letters").unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    assert!(
        Letters::load(Some(dir.path())).is_ok(),
        "the shipped templates load from a folder"
    );

    let file = dir.path().join("target_review.md.j2");
    let text = std::fs::read_to_string(&file).unwrap();
    let broken = text.replacen("{% endif %}", "{% endfor %}", 1);
    std::fs::write(&file, &broken).unwrap();
    let err = Letters::load(Some(dir.path())).unwrap_err().to_string();
    assert!(err.contains("target_review.md.j2:"), "{err}");
    let line: usize = err
        .split("target_review.md.j2:")
        .nth(1)
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        broken
            .lines()
            .nth(line - 1)
            .unwrap()
            .contains("{% endfor %}"),
        "line {line}: {err}"
    );

    // A misspelt variable is found at start-up by the sample render.
    std::fs::write(
        &file,
        text.replace("{{ review.conclusion }}", "{{ review.conclusoin }}"),
    )
    .unwrap();
    let err = Letters::load(Some(dir.path())).unwrap_err().to_string();
    assert!(err.contains("target_review.md.j2:14"), "{err}");

    std::fs::remove_file(&file).unwrap();
    let err = Letters::load(Some(dir.path())).unwrap_err().to_string();
    assert!(
        err.contains("target_review.md.j2") && err.contains("missing"),
        "{err}"
    );
}

#[test]
fn letter_command_writes_a_preview_and_the_annotated_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jixiao"))
        .args([
            "letter",
            "tests/fixtures/examples/退回示例-资金合计不符.xlsx",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let docx = dir
        .path()
        .join("预览-退回修改通知-退回示例-资金合计不符.docx");
    let xlsx = dir.path().join("退回示例-资金合计不符（错误标注）.xlsx");
    let bytes = std::fs::read(&docx).expect("preview written");
    assert!(xlsx.exists(), "annotated workbook written");
    let paras = paragraphs(&part(&bytes, "word/document.xml"));
    assert!(
        paras.contains(&"吉财绩函〔2026〕  号".to_string())
            || paras.iter().any(|p| p.ends_with("〕  号"))
    );
}
