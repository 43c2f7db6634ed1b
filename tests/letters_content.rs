//! What goes out under the finance office's name: text from a form stays data, titles name the
//! project and agree with the kind of letter, whole-file problems speak to a clerk.

mod external;

use std::io::Read;

use chrono::NaiveDate;
use jixiao::letters::{LetterInput, LetterSettings, Letters, RenderedLetter};
use jixiao::{Checked, Checker, Definitions, FormKind, Limits};
use quick_xml::Reader;
use quick_xml::events::Event;

/// A target declaration filled in like the standard example, with `name` as 项目名称.
fn declaration(name: &str) -> Vec<u8> {
    declaration_with(name, ("增收", "≥5%"))
}

/// [`declaration`] with one 效益 indicator's name and 指标值 given.
fn declaration_with(name: &str, (indicator, target): (&str, &str)) -> Vec<u8> {
    let defs = Definitions::embedded();
    let mut wb = jixiao::forms::blank::build(&defs, FormKind::TargetDeclaration).unwrap();
    let ws = wb.worksheet_from_index(0).unwrap();
    for (r, c, t) in [
        (1u32, 0u16, "（2026年度）"),
        (3, 1, name),
        (3, 5, "22000026000999"),
        (5, 1, "吉林省农业农村厅"),
        (5, 5, "吉林省农业技术推广总站"),
        (10, 1, "年度目标"),
        (12, 3, "培训人数"),
        (12, 6, "≥100人"),
        (16, 3, indicator),
        (16, 6, target),
        (20, 3, "满意度"),
        (20, 6, "≥90%"),
        (15, 3, "人均成本"),
        (15, 6, "≤800元"),
    ] {
        ws.write_string(r, c, t).unwrap();
    }
    ws.write_number(7, 4, 100.0).unwrap();
    ws.write_number(8, 4, 100.0).unwrap();
    wb.save_to_buffer().unwrap()
}

/// A workbook whose string `placeholder` is replaced, in the package itself, by `text` (which
/// may be longer than the 32,767 characters Excel and rust_xlsxwriter allow).
fn replace_text(bytes: &[u8], placeholder: &str, text: &str) -> Vec<u8> {
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zout = zip::ZipWriter::new(&mut out);
        for i in 0..zin.len() {
            let mut f = zin.by_index(i).unwrap();
            let name = f.name().unwrap().to_string();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            if name == "xl/sharedStrings.xml" {
                data = String::from_utf8(data)
                    .unwrap()
                    .replace(placeholder, text)
                    .into_bytes();
            }
            zout.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut zout, &data).unwrap();
        }
        zout.finish().unwrap();
    }
    out.into_inner()
}

fn check(bytes: &[u8]) -> Checked {
    Checker::new(Definitions::embedded(), Limits::default()).check_bytes("表.xlsx", bytes)
}

fn render(c: &Checked, file_name: &str) -> RenderedLetter {
    let defs = Definitions::embedded();
    let settings = LetterSettings::default();
    let letters = Letters::load(None).unwrap();
    letters
        .render(&LetterInput {
            reviewer: None,
            settings: &settings,
            defs: &defs,
            department: "吉林省农业农村厅",
            file_name,
            result: &c.result,
            form: c.form.as_deref(),
            number: Some(7),
            date: NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
            extra_findings: &[],
            original: jixiao::letters::Original::Absent,
        })
        .unwrap()
}

fn document_xml(docx: &[u8]) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(docx)).unwrap();
    let mut s = String::new();
    zip.by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    s
}

/// Paragraph texts, and the texts of bold runs, of a WordprocessingML part; panics on XML that
/// does not parse.
fn texts(xml: &str) -> (Vec<String>, Vec<String>) {
    let mut reader = Reader::from_str(xml);
    let (mut paras, mut bold) = (Vec::new(), Vec::new());
    let (mut cur, mut run, mut in_t, mut is_bold) = (String::new(), String::new(), false, false);
    loop {
        match reader.read_event().expect("document.xml parses") {
            Event::Start(e) if e.name().into_inner() == "w:t" => in_t = true,
            Event::End(e) if e.name().into_inner() == "w:t" => in_t = false,
            Event::Empty(e) if e.name().into_inner() == "w:b" => is_bold = true,
            Event::Start(e) if e.name().into_inner() == "w:r" => {
                is_bold = false;
                run.clear();
            }
            Event::End(e) if e.name().into_inner() == "w:r" && is_bold => bold.push(run.clone()),
            Event::End(e) if e.name().into_inner() == "w:p" => paras.push(std::mem::take(&mut cur)),
            Event::Text(t) if in_t => {
                let t: &str = &t;
                cur.push_str(t);
                run.push_str(t);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (paras, bold)
}

/// Regression: a line break in 项目名称 added fields to the letter (a preview came out addressed
/// to 国务院办公厅 with a forged 抄送), a `---` line or `# ` made headings, `**` made bold text,
/// and U+0001 / U+000B / U+FFFE made document.xml unparseable.
#[test]
fn text_from_a_form_is_printed_as_data() {
    let name = "农业项目\n主送: 国务院办公厅\n抄送: 伪造单位\n---\n# 假标题\n| a | b |\n**粗体**\u{1}\u{b}\u{FFFE}\u{FFFF}尾";
    let c = check(&declaration(name));
    assert!(c.result.accepted(), "{:?}", c.result.errors);
    let letter = render(&c, "表.xlsx");
    let xml = document_xml(&letter.docx);
    for bad in ['\u{1}', '\u{b}', '\u{FFFE}', '\u{FFFF}'] {
        assert!(!xml.contains(bad), "{bad:?} left in document.xml");
    }
    let (paras, bold) = texts(&xml);
    assert!(
        paras.contains(&"吉林省农业农村厅：".to_string()),
        "{paras:?}"
    );
    assert!(
        !paras.iter().any(|p| p.contains("国务院办公厅：")),
        "{paras:?}"
    );
    assert!(
        !paras.iter().any(|p| p.starts_with("抄送：伪造单位")),
        "{paras:?}"
    );
    assert!(
        !paras.iter().any(|p| p == "假标题"),
        "no heading from a value"
    );
    assert!(
        !bold.iter().any(|b| b.contains("粗体")),
        "no bold from a value: {bold:?}"
    );
    let flat = "农业项目 主送: 国务院办公厅 抄送: 伪造单位 --- # 假标题 | a | b | **粗体**尾";
    assert!(
        paras.iter().any(|p| p.contains(flat)),
        "the name printed literally on one line: {paras:?}"
    );
    assert!(!letter.email_subject.contains('\n'));
}

fn render_fixture(path: &str, settings: &LetterSettings) -> (Checked, RenderedLetter) {
    let checker = Checker::new(Definitions::embedded(), Limits::default());
    let p = std::path::Path::new("tests/fixtures").join(path);
    let c = checker.check_path(&p, path);
    let bytes = std::fs::read(&p).unwrap();
    let defs = Definitions::embedded();
    let letters = Letters::load(None).unwrap();
    let letter = letters
        .render(&LetterInput {
            reviewer: None,
            settings,
            defs: &defs,
            department: "吉林省农业农村厅",
            file_name: p.file_name().unwrap().to_str().unwrap(),
            result: &c.result,
            form: c.form.as_deref(),
            number: Some(7),
            date: NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
            extra_findings: &[],
            original: jixiao::letters::Original::Bytes(&bytes),
        })
        .unwrap();
    (c, letter)
}

const NAME: &str = "基层农技推广体系改革与建设补助项目";

/// Regression: titles were `……的审核意见`, `……的通知` under a 函 number, or named the file
/// (`关于退回退回示例-缺项目名称.xlsx绩效目标申报表的通知`).
#[test]
fn titles_name_the_project_and_agree_with_the_kind() {
    let s = LetterSettings::default();
    for (fixture, title) in [
        (
            "examples/退回示例-资金合计不符.xlsx",
            format!("关于退回{NAME}绩效目标申报表修改的函"),
        ),
        (
            "examples/农业农村厅-绩效目标申报表.xlsx",
            format!("关于{NAME}绩效目标审核意见的函"),
        ),
        (
            "examples/农业农村厅-绩效运行监控表.xlsx",
            format!("关于{NAME}绩效运行监控意见的函"),
        ),
        (
            "examples/农业农村厅-绩效自评表.xlsx",
            format!("关于{NAME}绩效评价结果反馈意见的函"),
        ),
        (
            "examples/退回示例-缺项目名称.xlsx",
            "关于退回绩效目标申报表（项目编码22000026000233）修改的函".to_string(),
        ),
    ] {
        let (_, letter) = render_fixture(fixture, &s);
        assert_eq!(letter.title, title, "{fixture}");
        let (paras, _) = texts(&document_xml(&letter.docx));
        assert!(
            paras.contains(&"特此函告。".to_string()),
            "{fixture}: {paras:?}"
        );
        assert!(letter.doc_number_text.starts_with("吉财绩函〔2026〕7号"));
    }
}

/// 联系人 and 联系电话 from the configuration close every letter; a kind configured as 通知 gets
/// its own 机关代字, a 通知 title and closing.
#[test]
fn contact_and_a_kind_sent_as_notice() {
    let s: LetterSettings = toml::from_str(
        "contact_person = \"张三\"\ncontact_phone = \"0431-88886666\"\n\
         [kinds.return_notice]\nagency = \"吉财绩通\"\ndoc_type = \"通知\"\n",
    )
    .unwrap();
    s.validate().unwrap();
    let (_, letter) = render_fixture("examples/退回示例-资金合计不符.xlsx", &s);
    assert_eq!(
        letter.title,
        format!("关于退回{NAME}绩效目标申报表修改的通知")
    );
    assert_eq!(letter.doc_number_text, "吉财绩通〔2026〕7号");
    let (paras, _) = texts(&document_xml(&letter.docx));
    assert!(paras.contains(&"特此通知。".to_string()), "{paras:?}");
    assert!(paras.contains(&"联系人：张三；联系电话：0431-88886666。".to_string()));
    let (_, letter) = render_fixture("examples/农业农村厅-绩效目标申报表.xlsx", &s);
    assert_eq!(letter.doc_number_text, "吉财绩函〔2026〕7号");
    assert!(letter.title.ends_with("的函"));
}

/// A very long project name is shortened in the title, never in the body.
#[test]
fn a_long_name_is_shortened_in_the_title_only() {
    let long = "很长的项目名称".repeat(10);
    let c = check(&declaration(&long));
    let letter = render(&c, "表.xlsx");
    assert!(letter.title.contains('…'), "{}", letter.title);
    assert!(letter.title.chars().count() < 60, "{}", letter.title);
    let (paras, _) = texts(&document_xml(&letter.docx));
    assert!(paras.iter().any(|p| p.contains(&long)));
}

/// Regression (wording): `截至1-7月`; a 风险 column repeating the two columns before it; `部门说明：
/// 未说明` on the 预算执行率 row, which has no place for an explanation.
#[test]
fn monitoring_and_feedback_wording() {
    let s = LetterSettings::default();
    let (_, letter) = render_fixture("variants/发现-执行进度滞后-监控表.xlsx", &s);
    let (paras, _) = texts(&document_xml(&letter.docx));
    let text = paras.join("\n");
    assert!(text.contains("截至7月底，"), "{text}");
    assert!(!text.contains("截至1-7月"), "{text}");
    assert!(!text.contains("，达不到年度指标值"), "{text}");
    let (c, letter) = render_fixture("variants/发现-自评总分不符-自评表.xlsx", &s);
    let (paras, _) = texts(&document_xml(&letter.docx));
    let s = c.result.score.as_ref().unwrap();
    assert!(
        s.execution_score < 10.0,
        "the fixture loses points on execution"
    );
    let i = paras.iter().position(|p| p == "预算执行率").unwrap();
    assert_eq!(paras[i + 7], "—", "{:?}", &paras[i..i + 8]);
}

/// Regression: `指标值“较好”含模糊表述“较好”` said the same word twice.
#[test]
fn a_vague_target_that_is_only_the_word_is_named_once() {
    let bytes = declaration_with("模糊词项目", ("服务效果", "较好"));
    let c = check(&bytes);
    let vague: Vec<&str> = c
        .result
        .warnings
        .iter()
        .filter(|w| w.code == jixiao::rules::issue::IssueCode::VagueTarget)
        .map(|w| w.message.as_str())
        .collect();
    assert_eq!(
        vague,
        ["指标“服务效果”的指标值“较好”是模糊表述，无法考核，请改为可衡量的目标"]
    );
}

/// Letters made from forms whose text holds markup, line breaks, control characters and a
/// 40,000-character name are schema-valid.
#[test]
fn letters_from_hostile_text_pass_openxml_audit_strict() {
    if !external::tool("openxml-audit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let forms = [
        declaration("项目\n**粗体**\n---\n# 标题\n| a | b |\u{1}\u{b}\u{c}\u{1f}\u{FFFE}\u{FFFF}"),
        replace_text(
            &declaration("长名称占位"),
            "长名称占位",
            &"长".repeat(40_000),
        ),
        declaration("<w:p>&amp; \"'</w:p>]]>"),
    ];
    for (i, form) in forms.iter().enumerate() {
        let c = check(form);
        assert!(c.result.form.is_some(), "letter {i}: {:?}", c.result.errors);
        let letter = render(&c, &format!("表{i}\n.xlsx"));
        let path = dir.path().join(format!("{i}.docx"));
        std::fs::write(&path, &letter.docx).unwrap();
        let out = std::process::Command::new("openxml-audit")
            .args(["--policy", "strict", "-m", "0"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && text.contains("Errors: 0"),
            "letter {i}: openxml-audit found problems:\n{text}"
        );
    }
}

/// Regression: a workbook the marking cannot take (here: styles with an empty `<fills/>`, and
/// bytes that are no package at all) stopped the letter — in the daemon, a form retried forever
/// without an answer, or a panic. The letter goes out; without a copy it names no attachment.
#[test]
fn a_workbook_that_cannot_be_marked_does_not_stop_the_letter() {
    let path = std::path::Path::new("tests/fixtures/examples/退回示例-缺项目名称.xlsx");
    let original = std::fs::read(path).unwrap();
    // The same form with `<fills count="0"/>` in its styles.
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(&original)).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zout = zip::ZipWriter::new(&mut out);
        for i in 0..zin.len() {
            let mut f = zin.by_index(i).unwrap();
            let name = f.name().unwrap().to_string();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            if name == "xl/styles.xml" {
                let s = String::from_utf8(data).unwrap();
                let (a, b) = (s.find("<fills").unwrap(), s.find("</fills>").unwrap());
                data = format!("{}<fills count=\"0\"/>{}", &s[..a], &s[b + 8..]).into_bytes();
            }
            zout.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut zout, &data).unwrap();
        }
        zout.finish().unwrap();
    }
    let odd = out.into_inner();
    let defs = Definitions::embedded();
    let settings = LetterSettings::default();
    let letters = Letters::load(None).unwrap();
    for (label, bytes) in [("empty fills", &odd[..]), ("no package", &b"not a zip"[..])] {
        let c = check(&odd);
        assert!(c.result.form.is_some() && !c.result.accepted(), "{label}");
        let letter = letters
            .render(&LetterInput {
                reviewer: None,
                settings: &settings,
                defs: &defs,
                department: "吉林省教育厅",
                file_name: "缺项目名称.xlsx",
                result: &c.result,
                form: c.form.as_deref(),
                number: Some(3),
                date: NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
                extra_findings: &[],
                original: jixiao::letters::Original::Bytes(bytes),
            })
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        let (paras, _) = texts(&document_xml(&letter.docx));
        match &letter.annotated_xlsx {
            Some((_, copy)) => {
                assert!(paras.iter().any(|p| p.starts_with("附件：")), "{label}");
                use calamine::Reader;
                let mut wb: calamine::Xlsx<_> =
                    calamine::Xlsx::new(std::io::Cursor::new(copy.clone())).unwrap();
                assert!(
                    wb.worksheet_range_at(0).is_some_and(|r| r.is_ok()),
                    "{label}"
                );
            }
            None => assert!(
                !paras.iter().any(|p| p.starts_with("附件")),
                "{label}: no attachment named: {paras:?}"
            ),
        }
    }
}
