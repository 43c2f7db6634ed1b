//! 邮件 through the real binary, with mail going to a real SMTP server over TCP
//! (tests/support/smtp.rs): a message refused permanently is listed as failed with the server's
//! reason; a viewer may not retry it; a reviewer's retry queues it again (as `jixiao outbox
//! retry`), and it goes out with the same Message-ID — by `jixiao outbox deliver`, or by the
//! running daemon's sender within its poll interval.

mod web_support;

#[allow(dead_code)]
#[path = "support/smtp.rs"]
mod smtp;

use std::time::{Duration, Instant};

use smtp::{Reply, SmtpServer, Stage};
use web_support::{Client, Setup};

/// Points `[mail]` of the example setup at the test server.
fn mail_to(setup: &Setup, port: u16) {
    setup.edit_config(
        "outbox_dir = \"outbox\"\n",
        &format!(
            "outbox_dir = \"outbox\"\n\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\n\
             security = \"none\"\nfrom = \"吉林省财政厅绩效管理处 <jxc@czt.jl.gov.cn>\"\n\
             hello_name = \"jixiao.test\"\nconnect_timeout_secs = 2\ncommand_timeout_secs = 5\n\n"
        ),
    );
}

/// (status, attempts, message_id) of an outbox row.
fn row(setup: &Setup, id: i64) -> (String, i64, Option<String>) {
    setup
        .db()
        .query_row(
            "SELECT status, attempts, message_id FROM mail_outbox WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
}

fn retries(setup: &Setup) -> Vec<(String, String, String)> {
    let db = setup.db();
    let mut st = db
        .prepare("SELECT user, subject, detail FROM audit_log WHERE action = 'retry' ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The row `<tr id="mail-{id}">` of the outbox table.
fn list_row(c: &Client, query: &str, id: i64) -> Option<String> {
    let page = c.get(&format!("/mail{query}"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<table class=\"list\" id=\"outbox\""),
        "{}",
        page.body
    );
    let start = page.body.find(&format!("<tr id=\"mail-{id}\">"))?;
    let end = page.body[start..].find("</tr>").unwrap() + start;
    Some(page.body[start..end].to_string())
}

/// A setup whose first message (the receipt of a declaration) was refused permanently (550 at
/// RCPT); the other messages went out.
fn failed_receipt() -> (Setup, SmtpServer) {
    let server = SmtpServer::start();
    server.script(
        Stage::Rcpt,
        Reply::Line("550 5.1.1 mailbox unavailable".into()),
        Some(1),
    );
    let setup = Setup::new();
    mail_to(&setup, server.port());
    setup.drop_form(
        "web/申报表-修改后通过-标记名称.xlsx",
        "农业农村厅",
        "申报表.xlsx",
    );
    setup.process();
    assert_eq!(row(&setup, 1).0, "failed");
    (setup, server)
}

#[test]
fn a_failed_message_is_shown_with_its_reason_and_a_reviewer_retries_it() {
    let (setup, smtp) = failed_receipt();
    let (_, _, message_id) = row(&setup, 1);
    let message_id = message_id.expect("rendered at its first attempt");
    let sent_before = smtp.received().len();
    let server = setup.serve();

    // Logged out: the login page; a retry does nothing.
    let anon = server.client();
    assert!(anon.get("/mail").url.contains("/login"));
    assert!(anon.get("/mail/1").url.contains("/login"));
    assert!(anon.post_raw("/mail/1/retry", &[]).url.contains("/login"));

    let viewer = server.login("查看员");
    let r = list_row(&viewer, "", 1).expect("listed");
    assert!(r.contains("收件回执"), "{r}");
    assert!(r.contains("发送失败"), "{r}");
    assert!(r.contains("550 5.1.1 mailbox unavailable"), "{r}");
    assert!(r.contains("jixiao@nyt.jl.example.cn"), "{r}");
    assert!(r.contains("吉林省农业农村厅"), "{r}");
    assert!(
        r.contains(&message_id.replace('<', "&lt;").replace('>', "&gt;")),
        "{r}"
    );
    // Counts per status, and the filters.
    let page = viewer.get("/mail");
    assert!(page.body.contains("id=\"count-failed\""), "{}", page.body);
    assert!(list_row(&viewer, "?status=failed", 1).is_some());
    assert!(list_row(&viewer, "?status=sent", 1).is_none());
    // A page past the end, however far, shows the last one.
    assert!(list_row(&viewer, "?status=failed&page=400000000000000000", 1).is_some());
    assert!(list_row(&viewer, "?department=nyt", 1).is_some());
    assert!(list_row(&viewer, "?department=jyt", 1).is_none());

    // The message itself: recipients, body, reason, where the address is configured.
    let page = viewer.get("/mail/1");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("550 5.1.1 mailbox unavailable"));
    assert!(page.body.contains("[[departments]]") && page.body.contains("code = \"nyt\""));
    assert!(
        page.body.contains("href=\"/submissions/1\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("class=\"mail-body\""));
    // What the department typed (the project name in the receipt's body) is text.
    assert!(page.body.contains("&lt;script&gt;"), "{}", page.body);
    assert!(!page.body.contains("<script>"), "{}", page.body);
    assert!(
        !page.body.contains("action=\"/mail/1/retry\""),
        "a viewer gets no button"
    );
    // A viewer may not retry: 403, nothing changed.
    let page = viewer.post("/mail/1", "/mail/1/retry", &[]);
    assert_eq!(page.status, 403, "{}", page.body);
    assert_eq!(row(&setup, 1).0, "failed");
    assert!(retries(&setup).is_empty());
    assert_eq!(viewer.get("/mail/999").status, 404);

    // A reviewer's retry without the CSRF token is refused.
    let reviewer = server.login("审核员");
    let page = reviewer.post_raw("/mail/1/retry", &[]);
    assert_eq!(page.status, 403);
    assert_eq!(row(&setup, 1).0, "failed");

    // The reviewer retries: queued again, attempts from zero, the same Message-ID.
    let page = reviewer.get("/mail/1");
    assert!(
        page.body.contains("action=\"/mail/1/retry\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("与原收件人相同"), "{}", page.body);
    let page = reviewer.post("/mail/1", "/mail/1/retry", &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.url.ends_with("/mail/1"), "{}", page.url);
    assert!(page.body.contains("已重新排队"), "{}", page.body);
    // Said once: the message is not shown again, and no address can make the page say one.
    let again = reviewer.get("/mail/1");
    assert!(
        !again.body.contains("class=\"message ok\""),
        "{}",
        again.body
    );
    let forged =
        reviewer.get("/mail/1?done=%E5%B7%B2%E5%8F%91%E9%80%81%E7%BB%99%E5%85%A8%E4%BD%93");
    assert!(!forged.body.contains("已发送给全体"), "{}", forged.body);
    assert_eq!(
        row(&setup, 1),
        ("queued".into(), 0, Some(message_id.clone()))
    );
    let r = list_row(&reviewer, "", 1).unwrap();
    assert!(r.contains("待发送"), "{r}");
    let audit = retries(&setup);
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, "审核员");
    assert_eq!(audit[0].1, "outbox:1");
    let page = reviewer.get("/mail/1");
    assert!(
        page.body.contains("retry"),
        "the audit entry is listed: {}",
        page.body
    );

    // Delivered: sent, with the same Message-ID.
    setup.jixiao(&["outbox", "deliver"]);
    let got = smtp.received();
    assert_eq!(got.len(), sent_before + 1);
    let data = String::from_utf8_lossy(&got.last().unwrap().data).to_string();
    assert!(data.contains(&message_id), "{data}");
    let r = list_row(&reviewer, "?status=sent", 1).expect("sent");
    assert!(r.contains("已发送"), "{r}");
    assert!(
        r.contains(&message_id.replace('<', "&lt;").replace('>', "&gt;")),
        "{r}"
    );

    // Sent: a retry is refused with the reason and sends nothing.
    let page = reviewer.post("/mail/1", "/mail/1/retry", &[]);
    assert!(
        page.body.contains("class=\"message error\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("已发送，不会重复发送"), "{}", page.body);
    assert_eq!(row(&setup, 1).0, "sent");
    assert_eq!(retries(&setup).len(), 1);
    setup.jixiao(&["outbox", "deliver"]);
    assert_eq!(smtp.received().len(), sent_before + 1);
}

#[test]
fn a_corrected_address_is_used_by_the_retry_and_the_running_daemon_sends_it() {
    let (setup, smtp) = failed_receipt();
    let (_, _, message_id) = row(&setup, 1);
    let message_id = message_id.unwrap();
    let sent_before = smtp.received().len();
    // The administrator corrects the department's address in jixiao.toml.
    setup.edit_config(
        "emails = [\"jixiao@nyt.jl.example.cn\"]",
        "emails = [\"zhangming@nyt.jl.example.cn\"]",
    );
    let daemon = setup.watch_with_console();
    assert!(daemon.wait_for_log("ready: watching", Duration::from_secs(60)));
    let reviewer = daemon.login("审核员");
    let page = reviewer.get("/mail/1");
    assert!(
        page.body.contains("zhangming@nyt.jl.example.cn") && page.body.contains("与原收件人不同"),
        "{}",
        page.body
    );
    let page = reviewer.post("/mail/1", "/mail/1/retry", &[]);
    assert!(page.body.contains("已按当前配置重新排队"), "{}", page.body);
    assert!(
        page.body.contains("zhangming@nyt.jl.example.cn"),
        "{}",
        page.body
    );
    // The daemon's sender polls the outbox: it goes out within a few seconds.
    let start = Instant::now();
    while row(&setup, 1).0 != "sent" && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(row(&setup, 1).0, "sent");
    let got = smtp.received();
    assert_eq!(got.len(), sent_before + 1);
    let last = got.last().unwrap();
    assert_eq!(last.rcpt_to, ["zhangming@nyt.jl.example.cn"]);
    assert!(String::from_utf8_lossy(&last.data).contains(&message_id));
    let r = list_row(&reviewer, "", 1).unwrap();
    assert!(
        r.contains("已发送") && r.contains("zhangming@nyt.jl.example.cn"),
        "{r}"
    );
}
