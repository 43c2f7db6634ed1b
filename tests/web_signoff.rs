//! 待签发 over HTTP with the real binary: with `[letters] sign_off = ["target_review"]` a target
//! review letter is held — the receipt goes, no number is issued and no letter mailed — until a
//! reviewer signs it in the console with their words on relevance and feasibility; then one
//! number is issued, the letter (with those words) is mailed and put beside the original. A
//! viewer cannot sign, a form without its CSRF token is refused, a department's text stays
//! text, and by default nothing is held.

mod web_support;

use std::io::Read;
use std::path::Path;
use std::process::Command;

use mail_parser::MimeHeaders;
use web_support::{BIN, Setup};

const DECLARATION: &str = "examples/农业农村厅-绩效目标申报表.xlsx";
const RELEVANCE: &str = "该项目与农业农村厅推广农业技术的职能直接相关。";
const FEASIBILITY: &str = "实施方案分三期推进，措施具体可行。";

fn holding() -> Setup {
    let setup = Setup::new();
    setup.edit_config(
        "# sign_off = [\"target_review\"]",
        "sign_off = [\"target_review\"]",
    );
    setup
}

fn count(setup: &Setup, sql: &str) -> i64 {
    setup.db().query_row(sql, [], |r| r.get(0)).unwrap()
}

fn mail_kinds(setup: &Setup) -> Vec<String> {
    let db = setup.db();
    let mut stmt = db
        .prepare("SELECT kind FROM mail_outbox ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn held_status(setup: &Setup, id: i64) -> String {
    setup
        .db()
        .query_row(
            "SELECT status FROM held_letters WHERE submission_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap()
}

/// The text of a .docx's body.
fn document_xml(docx: &[u8]) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(docx)).unwrap();
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_held_review_letter_goes_out_only_when_a_reviewer_signs_it() {
    let setup = holding();
    setup.drop_form(DECLARATION, "农业农村厅", "申报表.xlsx");
    setup.process();
    // Recorded and answered with a receipt; the letter waits, unnumbered.
    let id: i64 = count(&setup, "SELECT id FROM submissions");
    assert_eq!(count(&setup, "SELECT COUNT(*) FROM issued_letters"), 0);
    assert_eq!(count(&setup, "SELECT COUNT(*) FROM doc_numbers"), 0);
    assert_eq!(mail_kinds(&setup), ["receipt"]);
    assert_eq!(held_status(&setup, id), "held");
    let accepted = setup.root().join("收件/农业农村厅/已受理");
    assert_eq!(files_in(&accepted), [format!("{id}-申报表.xlsx")]);
    let status = setup.jixiao(&["status"]);
    assert!(
        status.contains("letters waiting for sign-off: 1, the oldest held since"),
        "{status}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&setup.jixiao(&["status", "--json"])).unwrap();
    assert_eq!(json["sign_off"]["waiting"], 1, "{json}");
    assert_eq!(json["sign_off"]["letters"][0]["submission"], id, "{json}");
    assert!(json["sign_off"]["oldest"].is_string(), "{json}");

    let server = setup.serve();
    let letter_page = format!("/signoff/{id}");
    let sign_path = format!("/signoff/{id}/sign");
    let words = [("relevance", RELEVANCE), ("feasibility", FEASIBILITY)];

    // A viewer sees the list and the letter as it will go out, but no form to sign it.
    let viewer = server.login("查看员");
    let list = viewer.get("/signoff");
    assert!(list.body.contains("id=\"signoff\""), "{}", list.body);
    assert!(list.body.contains(&format!("href=\"{letter_page}\"")));
    assert!(list.body.contains("基层农技推广体系改革与建设补助项目"));
    let page = viewer.get(&letter_page);
    assert_eq!(page.status, 200, "{}", page.body);
    for text in [
        "吉财绩函〔2026〕  号",
        "（一）绩效目标与部门职能的相关性",
        "（二）实施方案的可行性",
        "（待审核人填写）",
        "（三）绩效指标的合理性",
        "（四）资金测算的合理性",
    ] {
        assert!(page.body.contains(text), "{text} not on the page");
    }
    assert!(!page.body.contains("name=\"relevance\""));
    // … and cannot sign it, even with a valid token.
    let refused = viewer.post(&letter_page, &sign_path, &words);
    assert_eq!(refused.status, 403, "{}", refused.body);
    let refused = viewer.post(&letter_page, &format!("/signoff/{id}/preview"), &words);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(held_status(&setup, id), "held");
    assert_eq!(count(&setup, "SELECT COUNT(*) FROM doc_numbers"), 0);

    // A reviewer's POST without the page's token is refused.
    let reviewer = server.login("审核员");
    let no_token = reviewer.post_raw(&sign_path, &words);
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    assert_eq!(held_status(&setup, id), "held");

    // 预览 shows the letter with the words typed so far; the .docx preview carries them too.
    let page = reviewer.get(&letter_page);
    assert!(page.body.contains("name=\"relevance\"") && page.body.contains(">签发</button>"));
    let preview = reviewer.post(
        &letter_page,
        &format!("/signoff/{id}/preview"),
        &[("relevance", RELEVANCE), ("feasibility", "")],
    );
    assert_eq!(preview.status, 200, "{}", preview.body);
    // The words are posted back, never put in the address (an opinion may be long).
    assert!(!preview.url.contains("relevance"), "{}", preview.url);
    assert!(preview.body.contains(RELEVANCE), "{}", preview.body);
    assert!(preview.body.contains("（待审核人填写）"));
    let long = "论证充分，".repeat(2_000);
    let preview = reviewer.post(
        &letter_page,
        &format!("/signoff/{id}/preview"),
        &[("relevance", long.as_str())],
    );
    assert_eq!(preview.status, 200);
    assert!(preview.body.contains(&long));
    let docx = reviewer.post(
        &letter_page,
        &format!("/signoff/{id}/preview.docx"),
        &[("relevance", RELEVANCE)],
    );
    assert_eq!(docx.status, 200);
    assert!(
        docx.header("content-disposition").contains("attachment"),
        "{:?}",
        docx.headers
    );
    assert!(document_xml(&docx.bytes).contains(RELEVANCE));
    assert_eq!(count(&setup, "SELECT COUNT(*) FROM doc_numbers"), 0);

    // Signing without an opinion on feasibility is refused, saying what is missing.
    let missing = reviewer.post(
        &letter_page,
        &sign_path,
        &[("relevance", RELEVANCE), ("feasibility", "  ")],
    );
    assert_eq!(missing.status, 200);
    assert!(!missing.url.contains("relevance"), "{}", missing.url);
    assert!(
        missing.body.contains("请填写“实施方案的可行性”的审核意见"),
        "{}",
        missing.body
    );
    assert!(missing.body.contains(RELEVANCE), "the words typed stay");
    assert_eq!(held_status(&setup, id), "held");
    assert_eq!(count(&setup, "SELECT COUNT(*) FROM doc_numbers"), 0);

    // Signed: one number, the letter's mail queued, who signed and when.
    let signed = reviewer.post(&letter_page, &sign_path, &words);
    assert_eq!(signed.status, 200, "{}", signed.body);
    assert!(
        signed.url.ends_with(&format!("{letter_page}?done=signed")),
        "{}",
        signed.url
    );
    assert_eq!(count(&setup, "SELECT COUNT(*) FROM issued_letters"), 1);
    assert_eq!(mail_kinds(&setup), ["receipt", "target_review"]);
    assert_eq!(held_status(&setup, id), "signed");
    let (year, number): (i32, i64) = setup
        .db()
        .query_row("SELECT year, number FROM issued_letters", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(number, 1);
    let doc_number = format!("吉财绩函〔{year}〕1号");
    let outbox_id: i64 = count(
        &setup,
        "SELECT id FROM mail_outbox WHERE kind = 'target_review'",
    );
    for text in [
        "已签发",
        doc_number.as_str(),
        "审核员",
        &format!("href=\"/mail/{outbox_id}\""),
        &format!("href=\"/submissions/{id}\""),
        RELEVANCE,
    ] {
        assert!(signed.body.contains(text), "{text} not on {}", signed.body);
    }
    let audit: (String, String, String) = setup
        .db()
        .query_row(
            "SELECT user, subject, detail FROM audit_log WHERE action = 'sign'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        audit,
        (
            "审核员".into(),
            format!("submission:{id}"),
            doc_number.clone()
        )
    );

    // Signing again (a second reviewer's stale page) issues nothing.
    let again = reviewer.post(&letter_page, &sign_path, &words);
    assert!(again.body.contains("已由他人签发"), "{}", again.body);
    assert_eq!(count(&setup, "SELECT COUNT(*) FROM issued_letters"), 1);
    assert_eq!(count(&setup, "SELECT last FROM doc_numbers"), 1);

    // The list shows it signed, with its number.
    let list = reviewer.get("/signoff");
    assert!(list.body.contains("没有等待签发的函件"), "{}", list.body);
    assert!(list.body.contains(&doc_number));

    // The signed letter lies beside the original, with the reviewer's words.
    let beside: Vec<String> = files_in(&accepted)
        .into_iter()
        .filter(|n| n.ends_with(".docx"))
        .collect();
    assert_eq!(beside.len(), 1, "{:?}", files_in(&accepted));
    assert!(
        beside[0].starts_with(&format!("{id}-{doc_number}")),
        "{beside:?}"
    );
    let xml = document_xml(&std::fs::read(accepted.join(&beside[0])).unwrap());
    for text in [RELEVANCE, FEASIBILITY, doc_number.as_str()] {
        assert!(xml.contains(text), "{text} not in the letter");
    }
    drop(server);

    // Delivered: the letter's .eml carries the signed .docx.
    setup.jixiao(&["outbox", "deliver"]);
    let eml: Vec<_> = std::fs::read_dir(setup.root().join("outbox"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with("-target_review.eml"))
        .collect();
    assert_eq!(eml.len(), 1);
    let raw = std::fs::read(&eml[0]).unwrap();
    let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let docx = m
        .attachments()
        .find(|a| a.attachment_name().is_some_and(|n| n.ends_with(".docx")))
        .expect("the letter is attached");
    let xml = document_xml(docx.contents());
    assert!(xml.contains(RELEVANCE) && xml.contains(FEASIBILITY));
    let status = setup.jixiao(&["status"]);
    assert!(
        status.contains("letters waiting for sign-off: 0"),
        "{status}"
    );
}

#[test]
fn a_departments_text_stays_text_on_the_signoff_pages() {
    let setup = holding();
    setup.drop_form(
        "web/signoff-script-name.xlsx",
        "农业农村厅",
        "<b>表<i>.xlsx",
    );
    setup.process();
    let id: i64 = count(&setup, "SELECT id FROM submissions");
    assert_eq!(held_status(&setup, id), "held");
    let server = setup.serve();
    let c = server.login("审核员");
    for path in ["/signoff".to_string(), format!("/signoff/{id}")] {
        let page = c.get(&path);
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(!page.body.contains("<script"), "{path}: {}", page.body);
        assert!(!page.body.contains("<b>表"), "{path}");
        assert!(
            page.body
                .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;农技推广项目"),
            "{path}: {}",
            page.body
        );
    }
    // The reviewer's own words are text too.
    let page = c.post(
        &format!("/signoff/{id}"),
        &format!("/signoff/{id}/preview"),
        &[("relevance", "<script>x</script>")],
    );
    assert!(!page.body.contains("<script>x"), "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;x&lt;&#x2f;script&gt;"));
}

#[test]
fn logged_out_the_signoff_pages_are_the_login_page() {
    let setup = holding();
    setup.drop_form(DECLARATION, "农业农村厅", "申报表.xlsx");
    setup.process();
    let server = setup.serve();
    let c = server.client();
    for path in ["/signoff", "/signoff/1", "/signoff/1/preview.docx"] {
        let page = c.get(path);
        assert!(page.url.contains("/login"), "{path} → {}", page.url);
    }
    let page = c.post_raw(
        "/signoff/1/sign",
        &[("relevance", RELEVANCE), ("feasibility", FEASIBILITY)],
    );
    assert!(page.url.contains("/login"), "{}", page.url);
    assert_eq!(held_status(&setup, 1), "held");
    assert_eq!(count(&setup, "SELECT COUNT(*) FROM doc_numbers"), 0);
}

#[test]
fn by_default_nothing_is_held_and_an_unknown_kind_is_refused() {
    let setup = Setup::new();
    setup.drop_form(DECLARATION, "农业农村厅", "申报表.xlsx");
    setup.process();
    assert_eq!(count(&setup, "SELECT COUNT(*) FROM held_letters"), 0);
    assert_eq!(count(&setup, "SELECT COUNT(*) FROM issued_letters"), 1);
    assert_eq!(mail_kinds(&setup), ["receipt", "target_review"]);
    let server = setup.serve();
    let c = server.login("审核员");
    let list = c.get("/signoff");
    assert!(list.body.contains("没有等待签发的函件"), "{}", list.body);
    assert!(list.body.contains("sign_off"));
    assert_eq!(c.get("/signoff/1").status, 404);
    drop(server);

    setup.edit_config(
        "# sign_off = [\"target_review\"]",
        "sign_off = [\"target_reveiw\"]",
    );
    let out = Command::new(BIN)
        .arg("status")
        .current_dir(setup.root())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("letters.sign_off") && err.contains("target_reveiw"),
        "{err}"
    );
}
