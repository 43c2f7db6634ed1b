//! The web console in a real browser: headless Chromium driven through WebDriver (Debian's
//! `chromium` and `chromium-driver`, installed by scripts/install-test-tools.sh), against the real
//! daemon serving the console, with a real SMTP server over TCP. One person's day: log in, see a
//! form dropped into a department's folder appear in 报送记录 with its errors, approve a
//! declaration, sign a held review letter and find it in the outbox, retry a failed mail, try a
//! form out. A picture of every page is saved (docs/console/ with JIXIAO_SCREENSHOTS=docs,
//! else the test's temporary folder).
//!
//! Skipped with a note under plain `cargo test` when Chromium is not installed; required under
//! `JIXIAO_EXTERNAL_TESTS=1` (scripts/test.sh).

mod external;
#[path = "support/smtp.rs"]
#[allow(dead_code)]
mod smtp;
mod web_support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use web_support::{FIXTURES, PASSWORD, Setup};

const DEADLINES_2026: &str = include_str!("fixtures/state/deadlines-2026.toml");

/// chromedriver on a free port; killed when dropped.
struct Driver(Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_driver() -> Driver {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "chromedriver did not listen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver(child, port)
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1366,1000", "--lang=zh-CN", "--hide-scrollbars"],
        }),
    );
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.1))
        .await
        .expect("a browser session");
    // An element is looked for until the page that has it is there (a click's navigation).
    c.update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
        None,
        None,
        Some(Duration::from_secs(10)),
    ))
    .await
    .unwrap();
    c
}

/// Where the pictures go.
fn screens() -> PathBuf {
    let dir = if std::env::var("JIXIAO_SCREENSHOTS").as_deref() == Ok("docs") {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/console")
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screens")
    };
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves a picture of the whole page (the window is made as tall as the page first).
async fn shot(c: &Client, name: &str) {
    let height = c
        .execute("return document.documentElement.scrollHeight", vec![])
        .await
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(1000)
        .clamp(700, 4000);
    c.set_window_size(1366, height as u32 + 120).await.unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(screens().join(format!("{name}.png")), png).unwrap();
    c.set_window_size(1366, 1000).await.unwrap();
}

/// Reloads `path` until its source contains `text` (the daemon works in the background).
async fn wait_for_text(c: &Client, base: &str, path: &str, text: &str) -> String {
    let start = Instant::now();
    loop {
        c.goto(&format!("{base}{path}")).await.unwrap();
        let src = c.source().await.unwrap();
        if src.contains(text) {
            return src;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "{path} never showed {text:?}:\n{src}"
        );
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
}

/// Waits until the page in the browser (after a click, a form being posted and redirected) holds
/// `text`, without loading it again; returns its source.
async fn page_with(c: &Client, text: &str) -> String {
    let start = Instant::now();
    loop {
        let src = c.source().await.unwrap_or_default();
        if src.contains(text) {
            return src;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the page never showed {text:?}:\n{src}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn click_button(c: &Client, label: &str) {
    c.find(Locator::XPath(&format!(
        "//button[normalize-space()='{label}']"
    )))
    .await
    .unwrap_or_else(|e| panic!("no button {label}: {e}"))
    .click()
    .await
    .unwrap();
}

fn drop_into(setup: &Setup, fixture: &str, folder: &str, name: &str) {
    setup.drop_form(fixture, folder, name);
}

#[test]
fn a_day_in_the_console_in_a_real_browser() {
    if !external::tool("chromium") || !external::tool("chromedriver") {
        return;
    }
    // Mail goes to a real SMTP server; its first message is refused for good (550 at RCPT).
    let smtp = smtp::SmtpServer::start();
    smtp.script(
        smtp::Stage::Rcpt,
        smtp::Reply::Line("550 5.1.1 mailbox unavailable".into()),
        Some(1),
    );
    let setup = Setup::new();
    setup.edit_config(
        "revision_days = 10",
        "revision_days = 10\nsign_off = [\"target_review\"]",
    );
    setup.append_config(&format!(
        "[mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n\
         from = \"吉林省财政厅绩效管理处 <jixiao@czt.jl.example.cn>\"\nhello_name = \"jixiao.test\"\n\
         connect_timeout_secs = 2\ncommand_timeout_secs = 5\n\n{DEADLINES_2026}",
        smtp.port()
    ));
    let server = setup.watch_with_console();
    assert!(server.wait_for_log("ready: watching for forms", Duration::from_secs(60)));
    let base = server.url.clone();
    let driver = start_driver();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = browser(&driver).await;

        // Logged out: the login page, then in.
        c.goto(&format!("{base}/")).await.unwrap();
        assert!(c.current_url().await.unwrap().path().starts_with("/login"));
        shot(&c, "01-登录").await;
        c.find(Locator::Css("input[name=name]"))
            .await
            .unwrap()
            .send_keys("管理员")
            .await
            .unwrap();
        c.find(Locator::Css("input[name=password]"))
            .await
            .unwrap()
            .send_keys(PASSWORD)
            .await
            .unwrap();
        click_button(&c, "登录").await;
        page_with(&c, "总览</h1>").await;
        assert_eq!(c.current_url().await.unwrap().path(), "/");

        // The year's other forms, for the overview's figures and charts.
        drop_into(
            &setup,
            "examples/农业农村厅-绩效运行监控表.xlsx",
            "农业农村厅",
            "监控表.xlsx",
        );
        drop_into(
            &setup,
            "examples/农业农村厅-绩效自评表.xlsx",
            "农业农村厅",
            "自评表.xlsx",
        );
        drop_into(
            &setup,
            "examples/教育厅-绩效自评表.xlsx",
            "教育厅",
            "自评表.xlsx",
        );

        // A returned form appears in 报送记录 with its errors, by cell.
        drop_into(
            &setup,
            "examples/退回示例-资金合计不符.xlsx",
            "农业农村厅",
            "资金表.xlsx",
        );
        wait_for_text(&c, &base, "/submissions", "资金表.xlsx").await;
        shot(&c, "03-报送记录").await;
        c.find(Locator::XPath(
            "//table[@id='submissions']//tr[contains(., '资金表.xlsx')]//a[starts-with(@href,'/submissions/')]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
        let errors = c
            .find(Locator::Css("table#errors"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            errors.contains("工作表") && errors.contains("单元格"),
            "{errors}"
        );
        shot(&c, "04-报送详情").await;

        // A declaration concluded 修改后通过 waits for approval; approve it with a note.
        drop_into(
            &setup,
            "crossform/申报表-修改后通过.xlsx",
            "农业农村厅",
            "申报表-修改后通过.xlsx",
        );
        wait_for_text(&c, &base, "/approvals", "批复</button>").await;
        shot(&c, "05-待批复").await;
        if let Ok(note) = c
            .find(Locator::Css("table#approvals input[name=note]"))
            .await
        {
            note.send_keys("经处务会研究同意").await.unwrap();
        }
        click_button(&c, "批复").await;
        // After approving, the project is in force and can be revoked.
        page_with(&c, "撤销批复</button>").await;
        let source: String = setup
            .db()
            .query_row(
                "SELECT source FROM approvals ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            source.contains("管理员"),
            "recorded with who did it: {source}"
        );

        // The review letters are held for sign-off: sign one with the reviewer's opinions.
        drop_into(
            &setup,
            "examples/教育厅-绩效目标申报表.xlsx",
            "教育厅",
            "教育厅申报表.xlsx",
        );
        wait_for_text(&c, &base, "/signoff", "教育厅").await;
        shot(&c, "06-待签发").await;
        c.find(Locator::XPath(
            "//table[@id='signoff']//a[starts-with(@href,'/signoff/')]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
        c.find(Locator::Css("textarea[name=relevance]"))
            .await
            .unwrap()
            .send_keys("项目绩效目标与本部门职能相符。")
            .await
            .unwrap();
        c.find(Locator::Css("textarea[name=feasibility]"))
            .await
            .unwrap()
            .send_keys("实施方案切实可行，进度安排合理。")
            .await
            .unwrap();
        shot(&c, "07-签发函件").await;
        click_button(&c, "签发").await;
        page_with(&c, "已签发").await;
        wait_for_text(&c, &base, "/mail", "审核意见").await;

        // The first message was refused by the server: retry it after correcting the address.
        let src = wait_for_text(&c, &base, "/mail?status=failed", "mail-").await;
        shot(&c, "08-邮件").await;
        let id: String = src
            .split("id=\"mail-")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .to_string();
        c.goto(&format!("{base}/mail/{id}")).await.unwrap();
        shot(&c, "09-邮件详情").await;
        click_button(&c, "重新发送").await;
        let start = Instant::now();
        loop {
            let status: String = setup
                .db()
                .query_row(
                    "SELECT status FROM mail_outbox WHERE id = ?1",
                    [id.parse::<i64>().unwrap()],
                    |r| r.get(0),
                )
                .unwrap();
            if status == "sent" {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "retried mail not sent: {status}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        wait_for_text(&c, &base, &format!("/mail/{id}"), "已发送").await;

        // Try a form out: its errors and the letter it would get; nothing recorded.
        c.goto(&format!("{base}/trial")).await.unwrap();
        let upload = PathBuf::from(FIXTURES).join("examples/退回示例-缺项目名称.xlsx");
        c.find(Locator::Css("input[type=file][name=file]"))
            .await
            .unwrap()
            .send_keys(upload.to_str().unwrap())
            .await
            .unwrap();
        click_button(&c, "上传试审").await;
        page_with(&c, "项目名称").await;
        shot(&c, "12-试一试").await;

        // A picture of every other page.
        for (path, name) in [
            ("/", "02-总览"),
            ("/reminders", "10-催报"),
            ("/summary", "11-汇总表"),
            ("/audit", "13-操作记录"),
        ] {
            c.goto(&format!("{base}{path}")).await.unwrap();
            shot(&c, name).await;
        }
        let audit = c.source().await.unwrap();
        for action in ["批复", "签发", "重新发送邮件", "试一试"] {
            assert!(audit.contains(action), "audit log lacks {action}");
        }
        c.close().await.unwrap();
    });
    // The SMTP server received the retried message and the signed letter.
    assert!(smtp.received().len() >= 2);
}
