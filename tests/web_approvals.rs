//! 待批复 through the real binary: a declaration concluded 修改后通过 is listed, a reviewer
//! approves it and revokes the approval (recorded under the account's name, with audit entries),
//! a viewer or a form without its CSRF token changes nothing, and a declaration concluded 不通过
//! is refused with the reason on the page.

mod web_support;

use web_support::Setup;

/// The project of the 农业农村厅 fixtures.
const KEY: &str = "2026|nyt|22000026000101";

/// (action, submission id, source, note) of every decision, oldest first.
fn decisions(setup: &Setup) -> Vec<(String, i64, String, Option<String>)> {
    let db = setup.db();
    let mut st = db
        .prepare("SELECT action, submission_id, source, note FROM approvals ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// (user, action, subject, detail) of the audit entries of approvals and revocations.
fn audit(setup: &Setup) -> Vec<(String, String, String, String)> {
    let db = setup.db();
    let mut st = db
        .prepare(
            "SELECT user, action, subject, detail FROM audit_log \
             WHERE action IN ('approve', 'revoke') ORDER BY id",
        )
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The part of a page from `<table id="{id}"` to its end.
fn table<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body
        .find(&format!("<table class=\"list\" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}: {body}"));
    let end = body[start..].find("</table>").unwrap() + start;
    &body[start..end]
}

fn setup_with(fixture: &str) -> Setup {
    let setup = Setup::new();
    setup.drop_form(fixture, "农业农村厅", "申报表.xlsx");
    setup.process();
    setup
}

#[test]
fn a_declaration_for_revision_is_approved_and_revoked_by_a_reviewer_only() {
    let setup = setup_with("crossform/申报表-修改后通过.xlsx");
    let server = setup.serve();

    // Logged out: the login page, and a post does nothing.
    let c = server.client();
    assert!(c.get("/approvals").url.contains("/login"));
    let page = c.post_raw(
        "/approvals/approve",
        &[("key", KEY), ("version", "1"), ("note", "x")],
    );
    assert!(page.url.contains("/login"), "{}", page.url);

    // A viewer sees the declaration waiting, without the form.
    let viewer = server.login("查看员");
    let page = viewer.get("/approvals");
    assert_eq!(page.status, 200);
    let rows = table(&page.body, "approvals");
    assert!(rows.contains("id=\"approve-1\""), "{rows}");
    assert!(
        rows.contains("基层农技推广体系改革与建设补助项目"),
        "{rows}"
    );
    assert!(rows.contains("22000026000101"), "{rows}");
    assert!(rows.contains("修改后通过"), "{rows}");
    assert!(rows.contains("href=\"/submissions/1\""), "{rows}");
    assert!(rows.contains("吉林省农业农村厅"), "{rows}");
    assert!(!rows.contains("action=\"/approvals/approve\""), "{rows}");
    // … and may not approve: 403, nothing recorded.
    let page = viewer.post(
        "/approvals",
        "/approvals/approve",
        &[("key", KEY), ("version", "1"), ("note", "查看员批复")],
    );
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body
            .contains("账号“查看员”的角色是查看员，这项操作需要审核员角色。"),
        "{}",
        page.body
    );
    let page = viewer.post(
        "/approvals",
        "/approvals/revoke",
        &[("key", KEY), ("version", "1"), ("note", "")],
    );
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(decisions(&setup).is_empty());
    assert!(audit(&setup).is_empty(), "{:?}", audit(&setup));

    // A reviewer's form without its CSRF token (or with another's) is refused.
    let reviewer = server.login("审核员");
    let page = reviewer.post_raw(
        "/approvals/approve",
        &[("key", KEY), ("version", "1"), ("note", "x")],
    );
    assert_eq!(page.status, 403, "{}", page.body);
    let stale = viewer.get("/approvals").csrf();
    let page = reviewer.post_raw(
        "/approvals/approve",
        &[("csrf", &stale), ("key", KEY), ("version", "1")],
    );
    assert_eq!(page.status, 403);
    assert!(decisions(&setup).is_empty());

    // The reviewer approves version 1 with a note: recorded under the account's name.
    let page = reviewer.get("/approvals");
    assert!(
        table(&page.body, "approvals").contains("action=\"/approvals/approve\""),
        "{}",
        page.body
    );
    let note = "经复核，同意按修改后目标执行<b>";
    let page = reviewer.post(
        "/approvals",
        "/approvals/approve",
        &[("key", KEY), ("version", "1"), ("note", note)],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.url.contains("/approvals?"), "{}", page.url);
    assert!(page.body.contains("已批复申报表 #1"), "{}", page.body);
    assert!(page.body.contains("现行目标：申报表 #1"), "{}", page.body);
    assert_eq!(
        decisions(&setup),
        [(
            "approve".to_string(),
            1,
            "审核员".to_string(),
            Some(note.to_string())
        )]
    );
    assert_eq!(
        audit(&setup),
        [
            (
                "审核员".to_string(),
                "approve".to_string(),
                format!("project:{KEY}"),
                note.to_string()
            ),
            (
                "审核员".to_string(),
                "approve".to_string(),
                "submission:1".to_string(),
                note.to_string()
            ),
        ]
    );
    // In force now: no longer waiting, listed with who approved it; the note is text.
    assert!(!table(&page.body, "approvals").contains("id=\"approve-1\""));
    let in_force = table(&page.body, "in-force");
    assert!(in_force.contains("id=\"in-force-1\""), "{in_force}");
    assert!(in_force.contains("审核员 于"), "{in_force}");
    assert!(in_force.contains("&lt;b&gt;"), "{in_force}");
    assert!(!page.body.contains("<b>"), "{}", page.body);
    let recent = table(&page.body, "decisions");
    assert!(
        recent.contains("审核员") && recent.contains("批复"),
        "{recent}"
    );
    // The project's history names who decided, when and why.
    let history = viewer.get(&format!(
        "/approvals/history?key={}",
        KEY.replace('|', "%7C")
    ));
    assert_eq!(history.status, 200, "{}", history.body);
    let h = table(&history.body, "history");
    assert!(
        h.contains("审核员") && h.contains("同意按修改后目标执行"),
        "{h}"
    );
    assert!(history.body.contains("现行目标"), "{}", history.body);

    // The reviewer revokes it: what was in force before (nothing) comes back.
    let page = reviewer.post(
        "/approvals",
        "/approvals/revoke",
        &[("key", KEY), ("version", "1"), ("note", "目标需重新论证")],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("已撤销申报表 #1 的批复"),
        "{}",
        page.body
    );
    assert!(page.body.contains("没有生效的绩效目标"), "{}", page.body);
    let d = decisions(&setup);
    assert_eq!(d.len(), 2);
    assert_eq!(
        d[1],
        (
            "revoke".to_string(),
            1,
            "审核员".to_string(),
            Some("目标需重新论证".to_string())
        )
    );
    let a = audit(&setup);
    assert_eq!(a.len(), 4, "{a:?}");
    assert_eq!(a[2].1, "revoke");
    assert_eq!(a[2].2, format!("project:{KEY}"));
    assert_eq!(a[3].2, "submission:1");
    assert!(table(&page.body, "approvals").contains("id=\"approve-1\""));
    assert!(!table(&page.body, "in-force").contains("id=\"in-force-1\""));
    // Revoking again is refused with the reason; nothing recorded.
    let page = reviewer.post(
        "/approvals",
        "/approvals/revoke",
        &[("key", KEY), ("version", "1"), ("note", "")],
    );
    assert!(page.body.contains("未经批复"), "{}", page.body);
    assert_eq!(decisions(&setup).len(), 2);
}

#[test]
fn approving_a_declaration_concluded_fail_is_refused_with_the_reason() {
    let setup = setup_with("variants/审核-不通过-无效益指标-申报表.xlsx");
    let server = setup.serve();
    let reviewer = server.login("审核员");
    let page = reviewer.get("/approvals");
    assert!(
        !table(&page.body, "approvals").contains("id=\"approve-1\""),
        "a declaration concluded 不通过 is not offered: {}",
        page.body
    );
    let page = reviewer.post(
        "/approvals",
        "/approvals/approve",
        &[("key", KEY), ("version", "1"), ("note", "强行批复")],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.url.contains("error="), "{}", page.url);
    assert!(
        page.body.contains("class=\"message error\"")
            && page.body.contains("审核结论为“不通过”")
            && page
                .body
                .contains("只有审核结论为“通过”或“修改后通过”的申报表可以批复"),
        "{}",
        page.body
    );
    // A version that is no declaration of the project, and a project with none.
    let page = reviewer.post(
        "/approvals",
        "/approvals/approve",
        &[("key", KEY), ("version", "999"), ("note", "")],
    );
    assert!(
        page.body.contains("#999 不是该项目已受理的绩效目标申报表"),
        "{}",
        page.body
    );
    let page = reviewer.post(
        "/approvals",
        "/approvals/approve",
        &[("key", "2026|nyt|不存在"), ("version", ""), ("note", "")],
    );
    assert!(
        page.body.contains("没有已受理的绩效目标申报表"),
        "{}",
        page.body
    );
    assert!(decisions(&setup).is_empty());
    assert!(audit(&setup).is_empty(), "{:?}", audit(&setup));
}

#[test]
fn a_project_name_typed_with_markup_stays_text() {
    let setup = setup_with("web/申报表-修改后通过-标记名称.xlsx");
    let server = setup.serve();
    let c = server.login("审核员");
    let page = c.get("/approvals");
    let rows = table(&page.body, "approvals");
    assert!(rows.contains("id=\"approve-1\""), "{rows}");
    assert!(
        rows.contains("&lt;script&gt;alert(1)&lt;") && rows.contains("script&gt;农技推广项目"),
        "{rows}"
    );
    assert!(!page.body.contains("<script>"), "{}", page.body);
    let page = c.post(
        "/approvals",
        "/approvals/approve",
        &[("key", KEY), ("version", "1"), ("note", "")],
    );
    assert!(page.body.contains("已批复申报表 #1"), "{}", page.body);
    assert!(!page.body.contains("<script>"), "{}", page.body);
    let history = c.get(&format!(
        "/approvals/history?key={}",
        KEY.replace('|', "%7C")
    ));
    assert!(history.body.contains("&lt;script&gt;"), "{}", history.body);
    assert!(!history.body.contains("<script>"), "{}", history.body);
}

#[test]
fn an_adjustment_request_is_listed_as_such_until_approved() {
    let setup = setup_with("examples/农业农村厅-绩效目标申报表.xlsx");
    // A later declaration while the first (通过) is in force: an adjustment request.
    setup.drop_form(
        "crossform/申报表-修改后通过.xlsx",
        "农业农村厅",
        "申报表-调整.xlsx",
    );
    setup.process();
    let server = setup.serve();
    let c = server.login("审核员");
    let page = c.get("/approvals?year=2026&department=nyt");
    let rows = table(&page.body, "approvals");
    assert!(rows.contains("id=\"approve-2\""), "{rows}");
    assert!(rows.contains("是（待批复）"), "{rows}");
    assert!(
        rows.contains("href=\"/submissions/1\""),
        "in force now: {rows}"
    );
    let in_force = table(&page.body, "in-force");
    assert!(in_force.contains("id=\"in-force-1\""), "{in_force}");
    assert!(in_force.contains("自动生效"), "{in_force}");
    // A note longer than the form allows is refused, and nothing recorded.
    let long = "同".repeat(501);
    let page = c.post(
        "/approvals",
        "/approvals/approve",
        &[("key", KEY), ("version", "2"), ("note", long.as_str())],
    );
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("500"), "{}", page.body);
    // No address makes the page say something of its own.
    let forged = c.get("/approvals?done=%E5%B7%B2%E6%89%B9%E5%A4%8D%E5%85%A8%E9%83%A8");
    assert!(!forged.body.contains("已批复全部"), "{}", forged.body);
    assert!(
        !forged.body.contains("class=\"message ok\""),
        "{}",
        forged.body
    );
    // Another department's filter lists nothing.
    let other = c.get("/approvals?department=jyt");
    assert!(!table(&other.body, "approvals").contains("id=\"approve-2\""));
    // Approved: the adjustment is in force, the first version may be approved back.
    let page = c.post(
        "/approvals?year=2026&department=nyt",
        "/approvals/approve",
        &[
            ("key", KEY),
            ("version", "2"),
            ("note", "同意调整"),
            ("year", "2026"),
            ("department", "nyt"),
        ],
    );
    assert!(page.url.contains("year=2026"), "{}", page.url);
    assert!(page.body.contains("现行目标：申报表 #2"), "{}", page.body);
    assert!(table(&page.body, "in-force").contains("id=\"in-force-2\""));
    let rows = table(&page.body, "approvals");
    assert!(rows.contains("id=\"approve-1\""), "{rows}");
    assert!(rows.contains("早于现行版本"), "{rows}");
}

#[test]
fn the_running_daemon_rebuilds_the_summary_after_an_approval_made_in_the_console() {
    let setup = setup_with("crossform/申报表-修改后通过.xlsx");
    let summary = setup.root().join("reports/绩效汇总-2026.xlsx");
    let before = std::fs::read(&summary).expect("written by the first run");
    let daemon = setup.watch_with_console();
    assert!(daemon.wait_for_log("ready: watching", std::time::Duration::from_secs(60)));
    let written = |d: &web_support::Server| {
        d.log()
            .iter()
            .filter(|l| l.contains("summary workbook written"))
            .count()
    };
    // Nothing changed yet: no rebuild.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let at_start = written(&daemon);
    let c = daemon.login("审核员");
    let page = c.post(
        "/approvals",
        "/approvals/approve",
        &[("key", KEY), ("version", "1"), ("note", "同意")],
    );
    assert!(page.body.contains("已批复申报表 #1"), "{}", page.body);
    // The daemon notices the decision and rebuilds the 2026 workbook (refresh_secs = 5).
    let start = std::time::Instant::now();
    while written(&daemon) == at_start && start.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(written(&daemon) > at_start, "{:#?}", daemon.log());
    assert_ne!(std::fs::read(&summary).unwrap(), before);
}

/// Records `n` declarations of 农业农村厅 for 2026 straight into the state, one project each
/// (项目编码 22000026900000 + i, 项目名称 合成项目{i:03}), concluded as `conclusion(i)` gives:
/// the console must list thousands of projects the way it lists three.
fn record_declarations(setup: &Setup, n: usize, conclusion: impl Fn(usize) -> &'static str) {
    let checker = jixiao::Checker::new(jixiao::Definitions::embedded(), jixiao::Limits::default());
    let file = "农业农村厅-绩效目标申报表.xlsx";
    let bytes = std::fs::read(format!("{}/examples/{file}", web_support::FIXTURES)).unwrap();
    let checked = checker.check_bytes(file, &bytes);
    assert!(checked.result.accepted());
    let base = serde_json::to_value(&checked.result).unwrap();
    let mut conn = jixiao::store::open(&setup.root().join("state/jixiao.db")).unwrap();
    let tx = conn.transaction().unwrap();
    for i in 0..n {
        let code = format!("{}", 22000026900000u64 + i as u64);
        let name = format!("合成项目{i:03}");
        let key = jixiao::forms::project::ProjectKey::new(Some(2026), "nyt", &code);
        let mut result = base.clone();
        result["review"]["conclusion"] = conclusion(i).into();
        let result: jixiao::CheckResult = serde_json::from_value(result).unwrap();
        let sha = format!("{i:064}");
        jixiao::store::submissions::record(
            &tx,
            &jixiao::store::submissions::NewSubmission {
                department: "nyt",
                inbox_path: file,
                file_name: file,
                sha256: &sha,
                size: bytes.len() as u64,
                received_at: "2026-03-01T10:00:00.000+08:00",
                outcome: jixiao::store::submissions::Outcome::Accepted,
                form: Some(jixiao::forms::definitions::FormKind::TargetDeclaration),
                year: Some(2026),
                project_key: Some(&key),
                project_code: Some(&code),
                project_name: Some(&name),
                result: Some(&result),
                record: None,
                duplicate_of: None,
                archive_path: "x",
            },
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

/// The ids of the rows of a table: `id="{prefix}N"`.
fn row_ids(table: &str, prefix: &str) -> Vec<i64> {
    let needle = format!("id=\"{prefix}");
    table
        .match_indices(&needle)
        .map(|(at, _)| {
            let rest = &table[at + needle.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

#[test]
fn many_projects_are_listed_a_page_at_a_time_and_found_by_name_or_code() {
    let setup = Setup::new();
    // 260 projects: every fourth concluded 修改后通过 (65 to approve), the rest 通过 (195 in force).
    record_declarations(&setup, 260, |i| {
        if i % 4 == 0 {
            "修改后通过"
        } else {
            "通过"
        }
    });
    let server = setup.serve();
    let c = server.login("审核员");

    let page = c.get("/approvals");
    assert_eq!(page.status, 200);
    let approvable = row_ids(table(&page.body, "approvals"), "approve-");
    let expected: Vec<i64> = (1..=260).filter(|id| (id - 1) % 4 == 0).collect();
    assert_eq!(
        approvable, expected,
        "every one to approve on one page, by project"
    );
    assert!(page.body.contains("共 65 份"), "{}", page.body);
    // The projects in force: 50 to a page, 4 pages, each once.
    assert!(
        page.body.contains("共 195 个项目，显示第 1–50 个"),
        "{}",
        page.body
    );
    let mut seen = Vec::new();
    let mut at = "/approvals".to_string();
    for n in 1..=4 {
        let p = c.get(&at);
        let rows = row_ids(table(&p.body, "in-force"), "in-force-");
        assert_eq!(rows.len(), if n < 4 { 50 } else { 45 }, "page {n}");
        assert!(p.body.contains(&format!("第 {n}/4 页")), "{}", p.body);
        seen.extend(rows);
        match web_support::link(&p.body, "rel=\"next\"", "fpage=") {
            Some(next) if n < 4 => at = next,
            None if n == 4 => {}
            other => panic!("page {n}: next {other:?}"),
        }
    }
    let mut all: Vec<i64> = (1..=260).filter(|id| (id - 1) % 4 != 0).collect();
    all.sort_unstable();
    seen.sort_unstable();
    assert_eq!(seen, all);
    // A page past the end shows the last one.
    let past = c.get("/approvals?fpage=99");
    assert_eq!(
        row_ids(table(&past.body, "in-force"), "in-force-").len(),
        45
    );

    // Found by a part of the name (full-width digits are the same digits) or by the code.
    let found =
        c.get("/approvals?q=%E5%90%88%E6%88%90%E9%A1%B9%E7%9B%AE%EF%BC%90%EF%BC%94%EF%BC%90");
    assert_eq!(row_ids(table(&found.body, "approvals"), "approve-"), [41]);
    assert_eq!(
        row_ids(table(&found.body, "in-force"), "in-force-"),
        Vec::<i64>::new()
    );
    let found = c.get("/approvals?q=22000026900041");
    assert_eq!(row_ids(table(&found.body, "in-force"), "in-force-"), [42]);
    assert!(row_ids(table(&found.body, "approvals"), "approve-").is_empty());

    // Approving from a searched list goes back to the same search.
    let page = c.post(
        "/approvals?q=22000026900040",
        "/approvals/approve",
        &[
            ("key", "2026|nyt|22000026900040"),
            ("version", "41"),
            ("q", "22000026900040"),
        ],
    );
    assert!(page.url.contains("q=22000026900040"), "{}", page.url);
    assert!(page.body.contains("已批复申报表 #41"), "{}", page.body);
    assert_eq!(row_ids(table(&page.body, "in-force"), "in-force-"), [41]);
}
