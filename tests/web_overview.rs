//! The console's 总览, 催报 and 汇总表 pages, against the real binary: the overview's counts per
//! department and form (and the summary workbook's 部门汇总 agreeing with the page), the charts
//! drawn as SVG with escaped text and no style attributes, what is owed and overdue with the
//! days, the reminders page with and without deadlines, and the summary workbook's download,
//! which never reads anything but the year's workbook.

mod web_support;

use std::io::Cursor;

use calamine::{Data, Reader};
use chrono::NaiveDate;
use web_support::{Client, Setup};

const CURRENT_YEAR: &str = "2026";

/// The examples of both departments, and the three returned examples (from 农业农村厅).
fn with_examples() -> Setup {
    let setup = Setup::new();
    for f in ["绩效目标申报表", "绩效运行监控表", "绩效自评表"] {
        setup.drop_form(
            &format!("examples/农业农村厅-{f}.xlsx"),
            "农业农村厅",
            &format!("{f}.xlsx"),
        );
    }
    for f in ["绩效目标申报表", "绩效自评表"] {
        setup.drop_form(
            &format!("examples/教育厅-{f}.xlsx"),
            "教育厅",
            &format!("{f}.xlsx"),
        );
    }
    for f in ["未说明偏差原因", "缺项目名称", "资金合计不符"] {
        setup.drop_form(
            &format!("examples/退回示例-{f}.xlsx"),
            "农业农村厅",
            &format!("退回-{f}.xlsx"),
        );
    }
    setup.process();
    setup
}

/// The text of a fragment of HTML: tags dropped, the usual entities decoded, spaces folded.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The rows of `<table id="{id}">` (body and head), each a list of its cells' text.
fn table(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    let end = start + html[start..].find("</table>").unwrap();
    html[start..end]
        .split("<tr")
        .skip(1)
        .map(|row| {
            let mut cells = Vec::new();
            let mut rest = row;
            while let Some(open) = rest
                .find("<t")
                .filter(|i| rest[i + 2..].starts_with('d') || rest[i + 2..].starts_with('h'))
            {
                let tag = &rest[open + 1..open + 3];
                let body_start = open + rest[open..].find('>').unwrap() + 1;
                let close = rest[body_start..]
                    .find(&format!("</{tag}>"))
                    .map(|i| body_start + i)
                    .unwrap_or(rest.len());
                cells.push(text(&rest[body_start..close]));
                rest = &rest[close..];
            }
            cells
        })
        .collect()
}

/// The cells of the 部门汇总 sheet as text (numbers as the page shows them: averages with two
/// decimals, rates in percent with two decimals).
fn sheet_rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut wb = calamine::open_workbook_auto_from_rs(Cursor::new(bytes.to_vec())).expect("opens");
    let names = wb.sheet_names().to_vec();
    let range = wb.worksheet_range("部门汇总").expect("部门汇总");
    let headers: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let rows = range
        .rows()
        .skip(1)
        .map(|r| {
            r.iter()
                .zip(&headers)
                .map(|(c, h)| match c {
                    Data::Float(f) if h.contains("执行率") => format!("{:.2}%", f * 100.0),
                    Data::Float(f) if h.contains("得分") => format!("{f:.2}"),
                    Data::Float(f) => format!("{f}"),
                    Data::Int(i) => i.to_string(),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    (names, rows)
}

fn count(setup: &Setup, dept: &str, form: &str, outcome: &str) -> u64 {
    setup
        .db()
        .query_row(
            "SELECT COUNT(*) FROM submissions WHERE department = ?1 AND form = ?2 AND outcome = ?3",
            [dept, form, outcome],
            |r| r.get::<_, i64>(0),
        )
        .unwrap() as u64
}

#[test]
fn logged_out_the_pages_lead_to_the_login_page() {
    let setup = Setup::new();
    let server = setup.serve();
    let c = server.client();
    for path in [
        "/",
        "/?year=2026",
        "/reminders",
        "/summary",
        "/summary/2026/download",
    ] {
        let page = c.get(path);
        assert!(page.url.contains("/login"), "{path} → {}", page.url);
        assert!(page.body.contains("name=\"password\""), "{path}");
    }
    let page = c.post_raw("/summary/2026/build", &[]);
    assert!(page.url.contains("/login"), "{}", page.url);
    assert!(!setup.root().join("reports/绩效汇总-2026.xlsx").exists());
}

#[test]
fn the_overview_counts_each_department_and_form_and_agrees_with_the_summary_workbook() {
    let setup = with_examples();
    let server = setup.serve();
    let c = server.login("查看员");
    let page = c.get(&format!("/?year={CURRENT_YEAR}"));
    assert_eq!(page.status, 200, "{}", page.body);

    // Department × form: received / returned / accepted, as the database has them.
    let rows = table(&page.body, "overview");
    let forms = [
        "target_declaration",
        "performance_report",
        "self_evaluation",
    ];
    for (code, name) in [("nyt", "农业农村厅"), ("jyt", "教育厅")] {
        let row = rows
            .iter()
            .find(|r| r[0].contains(name))
            .unwrap_or_else(|| panic!("no row for {name}: {rows:?}"));
        for (i, form) in forms.iter().enumerate() {
            let nums: Vec<u64> = row[i + 1]
                .split(['/', ' '])
                .filter_map(|t| t.parse().ok())
                .take(3)
                .collect();
            let accepted = count(&setup, code, form, "accepted");
            let returned = count(&setup, code, form, "rejected");
            let received = accepted + returned + count(&setup, code, form, "duplicate");
            assert_eq!(
                nums,
                [received, returned, accepted],
                "{name} {form}: {}",
                row[i + 1]
            );
        }
    }
    // The examples as they are: 农业农村厅 has its three forms, 教育厅 no performance report.
    let jyt = rows.iter().find(|r| r[0].contains("教育厅")).unwrap();
    assert!(jyt[2].starts_with("0 / 0 / 0"), "{jyt:?}");
    assert!(jyt[3].starts_with("1 / 0 / 1"), "{jyt:?}");
    let nyt = rows.iter().find(|r| r[0].contains("农业农村厅")).unwrap();
    assert!(
        nyt.iter()
            .skip(1)
            .map(|c| c.split(' ').nth(2).unwrap().parse::<u64>().unwrap())
            .sum::<u64>()
            >= 3,
        "the returned examples count: {nyt:?}"
    );

    // The 部门汇总 table is the workbook's sheet, line for line — the file the daemon wrote and
    // the one downloaded.
    let written = std::fs::read(
        setup
            .root()
            .join(format!("reports/绩效汇总-{CURRENT_YEAR}.xlsx")),
    )
    .expect("the daemon wrote the summary");
    let downloaded = c.get(&format!("/summary/{CURRENT_YEAR}/download"));
    assert_eq!(downloaded.status, 200);
    assert_eq!(downloaded.bytes, written);
    let (_, sheet) = sheet_rows(&written);
    let shown: Vec<Vec<String>> = table(&page.body, "department-summary")
        .into_iter()
        .skip(1)
        .collect();
    assert_eq!(shown.len(), sheet.len(), "{shown:?}\n{sheet:?}");
    for (page_row, sheet_row) in shown.iter().zip(&sheet) {
        let sheet_row: Vec<String> = sheet_row.iter().take(page_row.len()).cloned().collect();
        assert_eq!(page_row, &sheet_row);
    }
    let total = shown.last().unwrap();
    assert_eq!(total[0], "合计");
    assert_eq!(total[2], "8", "8 forms received: {total:?}");

    // Charts: SVG drawn on the server, text in Chinese fonts, no style attribute anywhere (the
    // content security policy would drop it), no script.
    assert!(page.body.contains("id=\"chart-grades\""), "{}", page.body);
    assert!(page.body.contains("id=\"chart-rates\""));
    assert_eq!(page.body.matches("<svg ").count(), 2);
    assert!(
        page.body
            .contains("font-family=\"Noto Sans CJK SC, Microsoft YaHei, sans-serif\"")
    );
    assert!(page.body.contains("自评核定等级分布"));
    assert!(!page.body.contains("style="));
    assert!(!page.body.contains("<script"));
    assert!(!page.body.contains("<style"));
}

#[test]
fn a_year_without_forms_says_so_and_draws_no_chart() {
    let setup = Setup::new();
    let server = setup.serve();
    let c = server.login("查看员");
    let page = c.get("/?year=2031");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("2031年度尚未收到任何报表"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<svg"));
    // Every configured department has its line anyway.
    let rows = table(&page.body, "overview");
    assert!(rows.iter().any(|r| r[0].contains("农业农村厅")));
    assert!(page.body.contains("<option value=\"2031\" selected>"));
    // A year that is no year is refused.
    for bad in [
        "/?year=1900",
        "/?year=abc",
        "/reminders?year=3000",
        "/summary?year=-1",
    ] {
        assert_eq!(c.get(bad).status, 400, "{bad}");
    }
}

#[test]
fn a_project_named_like_markup_stays_text_and_owes_its_report_past_the_deadline() {
    let setup = Setup::new();
    setup.append_config(
        "[[deadlines]]\nyear = 2026\nform = \"performance_report\"\ndue = \"2026-06-30\"\n",
    );
    setup.drop_form("web/overview-script-申报表.xlsx", "教育厅", "申报表.xlsx");
    setup.process();
    let server = setup.serve();
    let c = server.login("查看员");
    let today = chrono::Local::now().date_naive();
    let days = (today - NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()).num_days();
    assert!(days > 0, "the test expects a day after 2026-06-30");

    // minijinja escapes `/` too.
    let escaped = "&lt;script&gt;alert(1)&lt;&#x2f;script&gt;营养改善计划";
    for path in ["/?year=2026", "/reminders?year=2026"] {
        let page = c.get(path);
        assert_eq!(page.status, 200, "{path}");
        assert!(page.body.contains(escaped), "{path}: {}", page.body);
        assert!(!page.body.contains("<script"), "{path}");
    }

    // 总览: the 教育厅 cell of 绩效运行监控表 is overdue, and the overdue list names the project.
    let page = c.get("/?year=2026");
    let rows = table(&page.body, "overview");
    let jyt = rows.iter().find(|r| r[0].contains("教育厅")).unwrap();
    assert!(jyt[2].contains(&format!("逾期 {days} 天")), "{jyt:?}");
    let overdue = table(&page.body, "overdue");
    assert!(
        overdue.iter().any(|r| r.len() == 5
            && r[0].contains("教育厅")
            && r[1] == "绩效运行监控表"
            && r[2].contains("<script>alert(1)</script>营养改善计划")
            && r[3] == "2026-06-30"
            && r[4] == days.to_string()),
        "{overdue:?}"
    );

    // 催报: the deadline, the owed form with its days overdue, and the reminder the daemon sent.
    let page = c.get("/reminders?year=2026");
    let deadlines = table(&page.body, "deadlines");
    assert!(
        deadlines.iter().any(|r| r[0] == "绩效运行监控表"
            && r[1] == "2026-06-30"
            && r[2].contains(&format!("已过期 {days} 天"))),
        "{deadlines:?}"
    );
    let owed = table(&page.body, "owed");
    assert!(
        owed.iter().any(|r| r[0].contains("教育厅")
            && r[1] == "绩效运行监控表"
            && r[4].contains(&format!("逾期 {days} 天"))),
        "{owed:?}"
    );
    let sent = table(&page.body, "sent");
    assert!(
        sent.iter().any(|r| r.len() == 7
            && r[1].contains("教育厅")
            && r[2] == "绩效运行监控表"
            && r[3].starts_with("逾期后")
            && r[4].contains("<script>alert(1)</script>")
            && r[6].contains('#')),
        "the reminder the daemon sent: {sent:?}"
    );
}

#[test]
fn without_deadlines_the_reminders_page_says_how_to_set_them() {
    let setup = Setup::new();
    let server = setup.serve();
    let c = server.login("查看员");
    let page = c.get("/reminders?year=2026");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"no-deadlines\""), "{}", page.body);
    assert!(page.body.contains("[[deadlines]]"));
    assert!(page.body.contains("form = \"target_declaration\""));
    assert!(text(&page.body).contains("2026年度尚未发出催报通知"));
}

fn open_sheets(bytes: &[u8]) -> Vec<String> {
    sheet_rows(bytes).0
}

#[test]
fn the_summary_downloads_and_a_reviewer_can_write_it() {
    let setup = Setup::new();
    let server = setup.serve();
    let viewer = server.login("查看员");
    let file = setup.root().join("reports/绩效汇总-2026.xlsx");
    let _ = std::fs::remove_file(&file);

    // None written yet: said, and the download is built on the spot, writing nothing.
    let page = viewer.get("/summary?year=2026");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"missing\""), "{}", page.body);
    let d = viewer.get("/summary/2026/download");
    assert_eq!(d.status, 200);
    assert!(
        d.header("content-disposition")
            .contains("filename*=UTF-8''%E7%BB%A9%E6%95%88%E6%B1%87%E6%80%BB-2026.xlsx"),
        "{}",
        d.header("content-disposition")
    );
    let sheets = open_sheets(&d.bytes);
    for s in ["部门汇总", "未报送", "逾期未报", "说明"] {
        assert!(sheets.iter().any(|n| n == s), "{s} in {sheets:?}");
    }
    assert!(!file.exists());

    // A viewer may not write it; nor may a form without its token.
    let token = viewer.get("/summary?year=2026").csrf();
    let refused = viewer.post_raw("/summary/2026/build", &[("csrf", &token)]);
    assert_eq!(refused.status, 403);
    let reviewer = server.login("审核员");
    let refused = reviewer.post_raw("/summary/2026/build", &[]);
    assert_eq!(refused.status, 403);
    assert!(!file.exists());

    // A reviewer writes it: back on the page, current, recorded.
    let page = reviewer.get("/summary?year=2026");
    assert!(page.body.contains("重新生成"));
    let done = reviewer.post("/summary?year=2026", "/summary/2026/build", &[]);
    assert_eq!(done.status, 200);
    assert!(
        done.url.ends_with("/summary?year=2026&done=built"),
        "{}",
        done.url
    );
    assert!(done.body.contains("汇总表已重新生成"));
    assert!(done.body.contains("id=\"current\""), "{}", done.body);
    assert!(file.exists());
    let entries: i64 = setup
        .db()
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE subject = 'summary:2026' AND user = '审核员'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(entries, 1);
    let d = viewer.get("/summary/2026/download");
    assert_eq!(d.bytes, std::fs::read(&file).unwrap());
}

/// Sends a request line as it is, without a client's normalisation of `..`.
fn raw_status(c: &Client, path: &str) -> u16 {
    use std::io::{Read, Write};
    let host = c.base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_download_outside_the_years_or_the_reports_folder_is_refused() {
    let setup = with_examples();
    let server = setup.serve();
    let c = server.login("查看员");
    for path in [
        "/summary/1900/download",
        "/summary/2101/download",
        "/summary/abc/download",
        "/summary/%2e%2e%2f%2e%2e%2fetc%2fpasswd/download",
        "/summary/2026%2f..%2f..%2fjixiao.toml/download",
        "/summary/..%2fstate%2fjixiao.db/download",
    ] {
        let page = c.get(path);
        assert_eq!(page.status, 404, "{path}");
        assert!(!page.body.contains("root ="), "{path}");
    }
    // The same with the dots sent as they are (a client would fold them): no such page, and
    // without a session the login page, never a file.
    for path in [
        "/summary/../../etc/passwd/download",
        "/summary/../state/jixiao.db",
    ] {
        let status = raw_status(&c, path);
        assert!(
            status == 404 || status == 303 || status == 400,
            "{path}: {status}"
        );
    }
}

#[test]
fn after_a_new_form_the_overview_shows_the_new_figures() {
    let setup = Setup::new();
    setup.drop_form(
        "examples/教育厅-绩效目标申报表.xlsx",
        "教育厅",
        "申报表.xlsx",
    );
    setup.process();
    let server = setup.serve();
    let c = server.login("查看员");
    let cell = |page: &web_support::Page| {
        let rows = table(&page.body, "overview");
        rows.iter().find(|r| r[0].contains("教育厅")).unwrap()[3].clone()
    };
    let page = c.get("/?year=2026");
    assert!(!page.body.contains("id=\"updating\""));
    assert!(cell(&page).starts_with("0 / 0 / 0"), "{}", cell(&page));

    // A self-evaluation arrives while the console runs: the next answer has the new figures —
    // worked out within the page's short wait in a small state like this one, or else the kept
    // figures said to be updating, followed by the new ones.
    setup.drop_form("examples/教育厅-绩效自评表.xlsx", "教育厅", "自评表.xlsx");
    setup.process();
    let start = std::time::Instant::now();
    loop {
        let page = c.get("/?year=2026");
        if !page.body.contains("id=\"updating\"") {
            assert!(cell(&page).starts_with("1 / 0 / 1"), "{}", cell(&page));
            assert!(page.body.contains("id=\"chart-grades\""));
            break;
        }
        assert!(
            cell(&page).starts_with("0 / 0 / 0"),
            "kept figures while updating"
        );
        assert!(
            start.elapsed().as_secs() < 60,
            "the figures were not updated"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
