//! 报送记录 and 试一试 through the real binary: the example forms processed by `watch --once`,
//! then listed, filtered and opened in the console; downloads give the stored bytes and never a
//! file outside the archive; a department's markup stays text; only an administrator may try a
//! form, and trying one records nothing but the audit entry.

mod web_support;

use std::io::{Read, Write};
use std::path::Path;

use web_support::{Client, FIXTURES, PASSWORD, Server, Setup};

const NYT_DECLARATION: &str = "examples/农业农村厅-绩效目标申报表.xlsx";
const NYT_SELF_EVALUATION: &str = "examples/农业农村厅-绩效自评表.xlsx";
const NYT_REPORT: &str = "examples/农业农村厅-绩效运行监控表.xlsx";
const JYT_DECLARATION: &str = "examples/教育厅-绩效目标申报表.xlsx";
const FUNDS_MISMATCH: &str = "examples/退回示例-资金合计不符.xlsx";
const NO_NAME: &str = "examples/退回示例-缺项目名称.xlsx";
const SCRIPT_NAME: &str = "web/申报表-脚本项目名称.xlsx";

/// The example setup with forms of both departments processed — accepted and returned ones,
/// a project named `<script>…`, and a duplicate — served by `jixiao serve`.
fn processed() -> (Setup, Server) {
    let setup = Setup::new();
    setup.drop_form(NYT_DECLARATION, "农业农村厅", "申报表.xlsx");
    setup.drop_form(NYT_SELF_EVALUATION, "农业农村厅", "自评表.xlsx");
    setup.drop_form(NYT_REPORT, "农业农村厅", "监控表.xlsx");
    setup.drop_form(FUNDS_MISMATCH, "农业农村厅", "资金合计不符.xlsx");
    setup.drop_form(SCRIPT_NAME, "农业农村厅", "脚本.xlsx");
    setup.drop_form(JYT_DECLARATION, "教育厅", "教育申报表.xlsx");
    setup.drop_form(NO_NAME, "教育厅", "缺项目名称.xlsx");
    // No form at all.
    std::fs::write(setup.root().join("收件/教育厅/说明.docx"), "不是表格").unwrap();
    setup.process();
    // The same declaration again: a duplicate.
    setup.drop_form(NYT_DECLARATION, "农业农村厅", "申报表-再次.xlsx");
    setup.process();
    let server = setup.serve();
    (setup, server)
}

/// Text as the templates escape it.
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

/// The id of the submission of a file.
fn id_of(setup: &Setup, file_name: &str) -> i64 {
    setup
        .db()
        .query_row(
            "SELECT id FROM submissions WHERE file_name = ?1",
            [file_name],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("no submission of {file_name}: {e}"))
}

/// The ids of the rows of the list `<table id="submissions">`.
fn listed(c: &Client, query: &str) -> Vec<i64> {
    let page = c.get(&format!("/submissions{query}"));
    assert_eq!(page.status, 200, "{query}: {}", page.body);
    assert!(
        page.body
            .contains("<table class=\"list\" id=\"submissions\">")
    );
    page.body
        .split("<tr id=\"submission-")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
        .collect()
}

#[test]
fn the_list_shows_every_submission_newest_first_and_filters_work() {
    let (setup, server) = processed();
    let ids = |names: &[&str]| {
        let mut v: Vec<i64> = names.iter().map(|n| id_of(&setup, n)).collect();
        v.sort_by(|a, b| b.cmp(a));
        v
    };
    let all = [
        "申报表.xlsx",
        "自评表.xlsx",
        "监控表.xlsx",
        "资金合计不符.xlsx",
        "脚本.xlsx",
        "教育申报表.xlsx",
        "缺项目名称.xlsx",
        "说明.docx",
        "申报表-再次.xlsx",
    ];
    // Logged out: the login page.
    let page = server.client().get("/submissions?department=nyt");
    assert!(page.url.contains("/login"), "{}", page.url);

    let c = server.login("查看员");
    assert_eq!(listed(&c, ""), ids(&all));
    let page = c.get("/submissions");
    for name in all {
        assert!(page.body.contains(name), "{name} listed");
    }
    assert!(page.body.contains("共 9 条"), "counts shown");
    // The conclusion, the verified score, the execution rate and the letter's number.
    assert!(page.body.contains("通过"));
    assert!(page.body.contains("96.45分（优）"));
    assert!(page.body.contains("执行率 50.83%"));
    assert!(page.body.contains("吉财绩函〔2026〕"));
    // Departments are shown by name; a row links its submission.
    assert!(page.body.contains("吉林省教育厅"));
    let first = id_of(&setup, "资金合计不符.xlsx");
    assert!(
        page.body
            .contains(&format!("<a href=\"/submissions/{first}\">#{first}</a>"))
    );

    assert_eq!(
        listed(&c, "?department=jyt"),
        ids(&["教育申报表.xlsx", "缺项目名称.xlsx", "说明.docx"])
    );
    assert_eq!(listed(&c, "?form=none"), ids(&["说明.docx"]));
    assert_eq!(listed(&c, "?form=self_evaluation"), ids(&["自评表.xlsx"]));
    assert_eq!(
        listed(&c, "?outcome=rejected"),
        ids(&["资金合计不符.xlsx", "缺项目名称.xlsx", "说明.docx"])
    );
    assert_eq!(
        listed(&c, "?outcome=duplicate&department=nyt"),
        ids(&["申报表-再次.xlsx"])
    );
    // A duplicate is found by the form and project of the first of its content.
    assert_eq!(
        listed(&c, "?form=target_declaration&department=nyt&year=2026"),
        ids(&[
            "申报表.xlsx",
            "资金合计不符.xlsx",
            "脚本.xlsx",
            "申报表-再次.xlsx"
        ])
    );
    // Text: the project name, the code (typed in full-width digits), the file name.
    assert_eq!(
        listed(
            &c,
            "?q=%E5%86%9C%E6%8A%80%E6%8E%A8%E5%B9%BF&outcome=accepted"
        ),
        ids(&["申报表.xlsx", "自评表.xlsx", "监控表.xlsx"]),
        "农技推广"
    );
    assert_eq!(
        listed(
            &c,
            "?q=%EF%BC%92%EF%BC%92%EF%BC%90%EF%BC%90%EF%BC%90%EF%BC%90%EF%BC%92%EF%BC%96%EF%BC%90%EF%BC%90%EF%BC%90%EF%BC%92%EF%BC%93%EF%BC%93"
        ),
        ids(&["教育申报表.xlsx", "缺项目名称.xlsx"]),
        "２２００００２６０００２３３"
    );
    assert_eq!(
        listed(&c, "?q=%E8%B5%84%E9%87%91%E5%90%88%E8%AE%A1"),
        ids(&["资金合计不符.xlsx"]),
        "资金合计"
    );
    assert_eq!(listed(&c, "?year=2025"), Vec::<i64>::new());
    // Nonsense in the query filters nothing rather than failing.
    assert_eq!(listed(&c, "?year=abc&form=x&outcome=y&page=-3").len(), 9);
    // A page past the end, however far, shows the last one.
    assert_eq!(listed(&c, "?page=400000000000000000").len(), 9);
    assert_eq!(listed(&c, "?page=99999999999999999999999").len(), 9);
    // The filters are kept in the form.
    let page = c.get("/submissions?department=jyt&q=%E8%90%A5%E5%85%BB");
    assert!(page.body.contains("<option value=\"jyt\" selected>"));
    assert!(page.body.contains("value=\"营养\""));
}

#[test]
fn a_returned_submission_shows_its_errors_by_cell_its_letter_and_its_history() {
    let (setup, server) = processed();
    let c = server.login("查看员");
    let id = id_of(&setup, "资金合计不符.xlsx");
    let page = c.get(&format!("/submissions/{id}"));
    assert_eq!(page.status, 200, "{}", page.body);
    let body = &page.body;
    let errors = &body[body
        .find("<table class=\"list issues\" id=\"errors\">")
        .expect("errors table")..];
    let errors = &errors[..errors.find("</table>").unwrap()];
    assert!(
        errors.contains("<th>工作表</th><th>单元格</th><th>字段</th><th>问题</th>"),
        "{errors}"
    );
    assert!(errors.contains(">E8<"), "{errors}");
    assert!(errors.contains("绩效目标申报表"), "the sheet: {errors}");
    // What arrived: hash, size, where it went.
    let (sha, moved, number): (String, String, String) = setup
        .db()
        .query_row(
            "SELECT s.sha256, s.moved_to, l.agency || '〔' || l.year || '〕' || l.number || '号' \
             FROM submissions s JOIN issued_letters l ON l.submission_id = s.id WHERE s.id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(body.contains(&sha));
    assert!(body.contains(&html(&moved)), "{moved}");
    assert!(body.contains(&number), "the letter's number {number}");
    assert!(body.contains("退回修改通知"));
    for link in ["original", "letter", "annotated"] {
        assert!(
            body.contains(&format!("href=\"/submissions/{id}/{link}\"")),
            "{link}"
        );
    }
    // The project's history across the year: its other declarations.
    let accepted = id_of(&setup, "申报表.xlsx");
    assert!(body.contains("id=\"history\""));
    assert!(body.contains(&format!("href=\"/submissions/{accepted}\"")));

    // An accepted declaration shows its conclusion; a duplicate links to the first.
    let page = c.get(&format!("/submissions/{accepted}"));
    assert!(page.body.contains("审核结论"), "{}", page.body);
    assert!(!page.body.contains("id=\"errors\""));
    let dup = id_of(&setup, "申报表-再次.xlsx");
    let page = c.get(&format!("/submissions/{dup}"));
    assert!(
        page.body.contains(&format!(
            "与 <a href=\"/submissions/{accepted}\">#{accepted}</a>"
        )),
        "{}",
        page.body
    );
    // A self-evaluation shows its verified score and grade; a report its figures.
    let se = id_of(&setup, "自评表.xlsx");
    let page = c.get(&format!("/submissions/{se}"));
    assert!(page.body.contains("核定得分"), "{}", page.body);
    assert!(page.body.contains("id=\"indicators\""));
    let report = id_of(&setup, "监控表.xlsx");
    let page = c.get(&format!("/submissions/{report}"));
    assert!(page.body.contains("id=\"monitoring\""), "{}", page.body);
    assert!(page.body.contains("50.83%"));
    // A file that is no form: its problem is the whole file's.
    let docx = id_of(&setup, "说明.docx");
    let page = c.get(&format!("/submissions/{docx}"));
    assert!(page.body.contains("（整个文件）"), "{}", page.body);
    assert!(page.body.contains("非表格"));
    // What people did about it through the console is shown.
    setup
        .db()
        .execute(
            "INSERT INTO audit_log (at, user, action, subject, detail) \
             VALUES ('2026-11-30T10:00:00+08:00', '审核员', 'approve', ?1, '同意')",
            [format!("submission:{accepted}")],
        )
        .unwrap();
    let page = c.get(&format!("/submissions/{accepted}"));
    let audit = &page.body[page.body.find("id=\"audit\"").unwrap()..];
    assert!(
        audit.contains("审核员") && audit.contains("同意"),
        "{audit}"
    );
    // No such submission.
    assert_eq!(c.get("/submissions/99999").status, 404);
    assert_eq!(c.get("/submissions/abc").status, 404);
}

#[test]
fn downloads_give_the_original_the_letter_and_the_annotated_workbook() {
    let (setup, server) = processed();
    let c = server.login("查看员");
    let id = id_of(&setup, "资金合计不符.xlsx");
    let original = c.get(&format!("/submissions/{id}/original"));
    assert_eq!(original.status, 200);
    assert_eq!(
        original.bytes,
        std::fs::read(Path::new(FIXTURES).join(FUNDS_MISMATCH)).unwrap()
    );
    assert!(
        original
            .header("content-disposition")
            .starts_with("attachment"),
        "{}",
        original.header("content-disposition")
    );
    let letter = c.get(&format!("/submissions/{id}/letter"));
    assert_eq!(letter.status, 200);
    assert!(letter.header("content-type").contains("wordprocessingml"));
    assert!(zip_entry(&letter.bytes, "word/document.xml").contains("退回"));
    // Each letter of the page's table is downloaded by its own number.
    let page = c.get(&format!("/submissions/{id}"));
    let link = web_support::link(&page.body, "href", "/letter?n=").expect("a letter's link");
    let own = c.get(&link);
    assert_eq!((own.status, &own.bytes), (200, &letter.bytes));
    assert_eq!(
        c.get(&format!("/submissions/{id}/letter?n=99999")).status,
        404
    );
    let annotated = c.get(&format!("/submissions/{id}/annotated"));
    assert_eq!(annotated.status, 200);
    assert!(annotated.header("content-type").contains("spreadsheetml"));
    assert!(!zip_entry(&annotated.bytes, "xl/workbook.xml").is_empty());
    // An accepted form has no annotated workbook.
    let accepted = id_of(&setup, "申报表.xlsx");
    assert_eq!(
        c.get(&format!("/submissions/{accepted}/annotated")).status,
        404
    );
    // Logged out: no download.
    let page = server.client().get(&format!("/submissions/{id}/original"));
    assert!(page.url.contains("/login"));
    assert_ne!(page.bytes, original.bytes);
}

/// The text of one entry of a zip archive (a .docx or .xlsx).
fn zip_entry(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    let mut text = String::new();
    zip.by_name(name)
        .unwrap_or_else(|_| panic!("no {name}"))
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// A session cookie for `name`, logged in without a cookie store (for raw requests).
fn session_cookie(server: &Server, name: &str) -> String {
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = http.get(format!("{}/login", server.url)).send().unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let body = login.text().unwrap();
    let token = web_support::hidden(&body, "token").unwrap();
    let res = http
        .post(format!("{}/login", server.url))
        .header("cookie", cookie)
        .form(&[
            ("token", token.as_str()),
            ("next", "/"),
            ("name", name),
            ("password", PASSWORD),
        ])
        .send()
        .unwrap();
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("jixiao_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// Sends `GET path` exactly as written (no client normalises its dots); the status and body.
fn raw_get(server: &Server, cookie: &str, path: &str) -> (u16, String) {
    let addr = server.url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[test]
fn downloads_never_leave_the_archive() {
    let (setup, server) = processed();
    let config = std::fs::read_to_string(setup.config()).unwrap();
    // A line of jixiao.toml that no page shows.
    let secret = config
        .lines()
        .find(|l| l.starts_with("root") || l.starts_with("state"))
        .unwrap_or("[finance]")
        .to_string();
    let cookie = session_cookie(&server, "管理员");
    for path in [
        "/submissions/../../jixiao.toml",
        "/submissions/..%2F..%2Fjixiao.toml/original",
        "/submissions/%2e%2e/original",
        "/submissions/1/original/../../../jixiao.toml",
    ] {
        let (status, text) = raw_get(&server, &cookie, path);
        assert!(
            status == 404 || status == 403 || status == 400,
            "{path}: {status}"
        );
        assert!(!text.contains(&secret), "{path} gave jixiao.toml");
    }
    // The database's archive path tampered with: relative, absolute, through a link.
    let id = id_of(&setup, "申报表.xlsx");
    let archive = setup.root().join("state/archive");
    std::os::unix::fs::symlink(setup.config(), archive.join("link.xlsx")).unwrap();
    let c = server.login("管理员");
    for tampered in [
        "../../jixiao.toml".to_string(),
        "../jixiao.db".to_string(),
        setup.config().display().to_string(),
        "link.xlsx".to_string(),
        String::new(),
    ] {
        setup
            .db()
            .execute(
                "UPDATE submissions SET archive_path = ?1 WHERE id = ?2",
                rusqlite::params![tampered, id],
            )
            .unwrap();
        let page = c.get(&format!("/submissions/{id}/original"));
        assert!(
            page.status == 404 || page.status == 403,
            "{tampered}: {}",
            page.status
        );
        assert!(!page.body.contains(&secret), "{tampered} gave the file");
        assert!(!page.bytes.starts_with(b"SQLite"), "{tampered}");
        // The page itself still answers, without the download link.
        let page = c.get(&format!("/submissions/{id}"));
        assert_eq!(page.status, 200);
        assert!(!page.body.contains(&format!("/submissions/{id}/original")));
    }
}

#[test]
fn a_script_in_a_project_name_stays_text() {
    let (setup, server) = processed();
    let c = server.login("查看员");
    let id = id_of(&setup, "脚本.xlsx");
    for path in [
        "/submissions".to_string(),
        format!("/submissions/{id}"),
        "/submissions?q=%3Cscript%3E".to_string(),
    ] {
        let page = c.get(&path);
        assert_eq!(page.status, 200, "{path}");
        assert!(
            page.body.contains(&html("<script>alert(1)</script>")),
            "{path}: escaped"
        );
        assert!(!page.body.contains("<script>"), "{path}: never raw");
    }
    assert_eq!(listed(&c, "?q=%3Cscript%3E"), vec![id]);
}

/// Rows of every table an upload must not change (the audit log and sessions aside).
fn counts(setup: &Setup) -> Vec<(String, i64)> {
    let db = setup.db();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .filter(|t: &String| {
            !["audit_log", "sessions", "login_failures", "users"].contains(&t.as_str())
        })
        .collect();
    tables
        .into_iter()
        .map(|t| {
            let n = db
                .query_row(&format!("SELECT COUNT(*) FROM \"{t}\""), [], |r| r.get(0))
                .unwrap();
            (t, n)
        })
        .collect()
}

fn trial_audits(setup: &Setup) -> Vec<(String, String, String)> {
    setup
        .db()
        .prepare("SELECT user, subject, detail FROM audit_log WHERE action = 'trial' ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(name)).unwrap()
}

#[test]
fn only_an_administrator_may_try_a_form() {
    let setup = Setup::new();
    let server = setup.serve();
    for path in ["/trial", "/trial/letter", "/trial/annotated"] {
        let page = server.client().get(path);
        assert!(page.url.contains("/login"), "{path}: {}", page.url);
    }
    for who in ["查看员", "审核员"] {
        let c = server.login(who);
        let page = c.get("/trial");
        assert_eq!(page.status, 200);
        assert!(page.body.contains("仅供管理员使用"));
        assert!(!page.body.contains("enctype=\"multipart/form-data\""));
        let page = c.upload(
            "/trial",
            "/trial",
            "file",
            "x.xlsx",
            fixture(FUNDS_MISMATCH),
            &[("department", "nyt")],
        );
        assert_eq!(page.status, 403, "{who}: {}", page.body);
        assert_eq!(c.get("/trial/letter").status, 403);
        assert_eq!(c.get("/trial/annotated").status, 403);
    }
    // An administrator's upload without the page's token is refused too.
    let c = server.login("管理员");
    let form = reqwest::blocking::multipart::Form::new()
        .text("csrf", "0123")
        .part(
            "file",
            reqwest::blocking::multipart::Part::bytes(fixture(FUNDS_MISMATCH)).file_name("x.xlsx"),
        );
    let res = c
        .http
        .post(format!("{}/trial", c.base))
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    // Nothing was tried.
    assert!(trial_audits(&setup).is_empty());
    assert_eq!(c.get("/trial/letter").status, 404);
}

#[test]
fn an_administrators_trial_shows_the_result_and_the_letter_and_records_nothing() {
    let (setup, server) = processed();
    let before = counts(&setup);
    let c = server.login("管理员");

    // A returned example: its errors by cell and a return notice to download.
    let page = c.upload(
        "/trial",
        "/trial",
        "file",
        "试审-资金合计不符.xlsx",
        fixture(FUNDS_MISMATCH),
        &[("department", "nyt")],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.url.ends_with("/trial"),
        "303 back to the page: {}",
        page.url
    );
    assert!(page.body.contains("id=\"errors\""), "{}", page.body);
    assert!(page.body.contains(">E8<"));
    assert!(page.body.contains("退回修改通知"));
    assert!(page.body.contains("试审-资金合计不符.xlsx"));
    let letter = c.get("/trial/letter");
    assert_eq!(letter.status, 200);
    assert!(letter.header("content-type").contains("wordprocessingml"));
    let xml = zip_entry(&letter.bytes, "word/document.xml");
    assert!(xml.contains("退回"), "a return notice");
    let annotated = c.get("/trial/annotated");
    assert_eq!(annotated.status, 200);
    assert!(!zip_entry(&annotated.bytes, "xl/workbook.xml").is_empty());

    // An accepted declaration: its conclusion and the review letter.
    let page = c.upload(
        "/trial",
        "/trial",
        "file",
        "教育申报表.xlsx",
        fixture(JYT_DECLARATION),
        &[("department", "jyt")],
    );
    assert!(page.body.contains("将会受理"), "{}", page.body);
    assert!(page.body.contains("审核结论"));
    assert!(page.body.contains("绩效目标审核意见"));
    assert_eq!(
        c.get("/trial/annotated").status,
        404,
        "no annotated workbook"
    );
    // The same form as sent by another department: returned on 主管部门, as the daemon would.
    let page = c.upload(
        "/trial",
        "/trial",
        "file",
        "教育申报表.xlsx",
        fixture(JYT_DECLARATION),
        &[("department", "nyt")],
    );
    assert!(page.body.contains("将会退回"), "{}", page.body);
    assert!(page.body.contains("主管部门"));
    // A department's markup stays text here too.
    let page = c.upload(
        "/trial",
        "/trial",
        "file",
        "脚本.xlsx",
        fixture(SCRIPT_NAME),
        &[],
    );
    assert!(
        page.body.contains(&html("<script>alert(1)</script>")),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>"));
    // Too large: said plainly.
    let big = vec![b'x'; 20 * 1024 * 1024 + 1];
    let page = c.upload("/trial", "/trial", "file", "大文件.xlsx", big, &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("文件过大"), "{}", page.body);

    // Nothing recorded, numbered or queued; the uploads are in the audit log.
    assert_eq!(counts(&setup), before);
    let audits = trial_audits(&setup);
    assert_eq!(audits.len(), 5, "{audits:?}");
    assert_eq!(audits[0].0, "管理员");
    assert_eq!(audits[0].1, "trial:试审-资金合计不符.xlsx");
    assert!(audits[0].2.contains("退回"), "{audits:?}");
    let page = c.get("/audit");
    assert!(page.body.contains("试审-资金合计不符.xlsx"));
    let page = c.get("/trial");
    let recent = &page.body[page.body.find("id=\"trials\"").unwrap()..];
    assert!(
        recent.contains("试审-资金合计不符.xlsx") && recent.contains("退回"),
        "{recent}"
    );
    // Another session sees none of it.
    let other = server.login("管理员");
    assert_eq!(other.get("/trial/letter").status, 404);
}
