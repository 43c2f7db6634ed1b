//! Mail delivery against a real SMTP server over TCP on 127.0.0.1 (tests/support/smtp.rs): what
//! arrives (recipients, subject, body, attachments with Chinese names), and what the outbox does
//! when the server is down, answers 4xx, answers 5xx or says nothing.

mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use jixiao::mail::{self, ListFilter, MailError, MailSettings, Status, deliver_due};
use jixiao::runtime::Hooks;
use mail_parser::MimeHeaders;
use support::smtp::{Reply, SmtpServer, Stage, TlsMode};
use support::*;

#[test]
fn letter_arrives_with_recipients_subject_body_and_chinese_attachment_names() {
    let server = SmtpServer::start();
    let mut st = State::new();
    let id = st.enqueue(&letter("S-2026-0001"), t0());
    let settings = smtp_settings(server.port());

    let report = deliver_due(&st.conn, &settings, t0(), Hooks::default()).unwrap();
    assert_eq!(report.sent, vec![id]);

    let got = server.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.mail_from, "jxc@czt.jl.gov.cn");
    assert_eq!(
        r.rcpt_to,
        [
            "zhangming@nyt.jl.gov.cn",
            "cw@nyt.jl.gov.cn",
            "jxc@czt.jl.gov.cn"
        ]
    );
    assert!(r.data.is_ascii(), "the message is 7-bit clean");

    let m = parse(&r.data);
    assert_eq!(m.subject(), Some(SUBJECT));
    let from = m.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("吉林省财政厅预算绩效管理处"));
    assert_eq!(
        addresses(m.to()),
        ["zhangming@nyt.jl.gov.cn", "cw@nyt.jl.gov.cn"]
    );
    assert_eq!(
        m.to().unwrap().first().unwrap().name(),
        Some("农业农村厅 张明")
    );
    assert_eq!(addresses(m.cc()), ["jxc@czt.jl.gov.cn"]);
    assert_eq!(
        m.body_text(0).unwrap().replace("\r\n", "\n").trim_end(),
        BODY.trim_end()
    );

    let row = st.row(id);
    assert_eq!(row.status, Status::Sent);
    assert_eq!(row.attempts, 1);
    assert_eq!(row.sent_at, Some(t0()));
    let mid = row.message_id.clone().unwrap();
    assert!(mid.starts_with(&format!("<jixiao.{id}.")) && mid.ends_with("@czt.jl.gov.cn>"));
    assert_eq!(Some(mid.trim_matches(['<', '>'])), m.message_id());

    let att: Vec<_> = m.attachments().collect();
    assert_eq!(att.len(), 2);
    let msg = letter("S-2026-0001");
    for (part, want) in att.iter().zip(&msg.attachments) {
        // Both forms decode to the Chinese original, each on its own.
        let disposition = part.content_disposition().unwrap();
        assert!(disposition.is_attachment());
        assert_eq!(
            disposition.attribute("filename"),
            Some(want.file_name.as_str())
        );
        assert_eq!(
            part.content_type().unwrap().attribute("name"),
            Some(want.file_name.as_str())
        );
        assert_eq!(part.attachment_name(), Some(want.file_name.as_str()));
        assert_eq!(part.contents(), want.bytes.as_slice());
        assert_eq!(
            part.content_type().unwrap().ctype(),
            want.content_type.split('/').next().unwrap()
        );
    }
    // The wire forms themselves: RFC 2231 filename* and RFC 2047 name.
    let dispositions = raw_headers(&r.data, "Content-Disposition");
    assert!(
        dispositions
            .iter()
            .any(|d| d.starts_with("attachment; filename*=UTF-8''%E5%90%89%E8%B4%A2")),
        "{dispositions:?}"
    );
    let types = raw_headers(&r.data, "Content-Type");
    assert!(
        types.iter().any(|t| t.starts_with(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document; name=\"=?UTF-8?B?"
        )),
        "{types:?}"
    );
    assert_eq!(
        decode_rfc2231(&dispositions[0]),
        LETTER_NAME,
        "filename* decoded by hand"
    );

    // Delivered once: a later pass sends nothing.
    let again = deliver_due(&st.conn, &settings, t0() + secs(3600), Hooks::default()).unwrap();
    assert!(again.is_empty());
    assert_eq!(server.received().len(), 1);
}

/// Percent-decodes the `filename*=UTF-8''…` parameter of a Content-Disposition value.
fn decode_rfc2231(value: &str) -> String {
    let enc = value
        .split("filename*=UTF-8''")
        .nth(1)
        .unwrap()
        .split([';', ' '])
        .next()
        .unwrap();
    let mut bytes = Vec::new();
    let b = enc.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            bytes.push(u8::from_str_radix(&enc[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            bytes.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(bytes).unwrap()
}

#[test]
fn very_long_chinese_file_name_is_split_and_still_decodes() {
    let server = SmtpServer::start();
    let mut st = State::new();
    let long = format!(
        "{}.docx",
        "关于农业农村厅基层农技推广体系改革与建设补助项目".repeat(5)
    );
    let mut msg = letter("S-long");
    msg.attachments.truncate(1);
    msg.attachments[0].file_name = long.clone();
    st.enqueue(&msg, t0());
    deliver_due(
        &st.conn,
        &smtp_settings(server.port()),
        t0(),
        Hooks::default(),
    )
    .unwrap();
    let got = server.received();
    let text = String::from_utf8(got[0].data.clone()).unwrap();
    assert!(text.contains("filename*0*=UTF-8''"), "continuations used");
    assert!(text.lines().all(|l| l.len() <= 998), "no line over 998");
    let m = parse(&got[0].data);
    let part = m.attachments().next().unwrap();
    assert_eq!(
        part.content_disposition().unwrap().attribute("filename"),
        Some(long.as_str())
    );
    assert_eq!(
        part.content_type().unwrap().attribute("name"),
        Some(long.as_str())
    );
}

#[test]
fn server_down_at_first_then_up_delivers_each_message_once() {
    let port = free_port();
    let mut st = State::new();
    let a = st.enqueue(&letter("S-a"), t0());
    let b = st.enqueue(&letter("S-b"), t0());
    let settings = smtp_settings(port);

    let r = deliver_due(&st.conn, &settings, t0(), Hooks::default()).unwrap();
    assert_eq!(r.deferred, vec![a]);
    assert_eq!(
        r.postponed,
        vec![b],
        "the second is not tried against a dead server"
    );
    let ra = st.row(a);
    assert_eq!((ra.status, ra.attempts), (Status::Queued, 1));
    assert_eq!(ra.next_attempt_at, Some(t0() + secs(10)));
    assert!(
        ra.last_error
            .unwrap()
            .contains(&format!("127.0.0.1:{port}"))
    );
    let rb = st.row(b);
    assert_eq!((rb.status, rb.attempts), (Status::Queued, 0));
    assert_eq!(rb.next_attempt_at, Some(t0() + secs(10)));

    let server = SmtpServer::start_on(port, TlsMode::None, None);
    // Not before the backoff has passed.
    assert!(
        deliver_due(&st.conn, &settings, t0() + secs(9), Hooks::default())
            .unwrap()
            .is_empty()
    );
    assert_eq!(server.sessions(), 0);
    let r = deliver_due(&st.conn, &settings, t0() + secs(10), Hooks::default()).unwrap();
    assert_eq!(r.sent, vec![a, b]);
    assert_eq!(server.sessions(), 1, "one connection for both messages");
    assert!(
        deliver_due(&st.conn, &settings, t0() + secs(100_000), Hooks::default())
            .unwrap()
            .is_empty()
    );

    let got = server.received();
    assert_eq!(got.len(), 2, "each message delivered exactly once");
    let ids: Vec<String> = got
        .iter()
        .map(|g| parse(&g.data).message_id().unwrap().to_string())
        .collect();
    assert_ne!(ids[0], ids[1]);
    assert_eq!(st.row(a).attempts, 2);
    assert_eq!(st.row(b).attempts, 1);
}

#[test]
fn temporary_4xx_is_retried_with_exponential_backoff_then_accepted() {
    let server = SmtpServer::start();
    server.script(
        Stage::EndOfData,
        Reply::Line("451 4.3.0 mailbox temporarily unavailable".into()),
        Some(2),
    );
    server.script(
        Stage::Mail,
        Reply::Line("421 4.7.0 too busy, try later".into()),
        Some(1),
    );
    let mut st = State::new();
    let id = st.enqueue(&letter("S-4xx"), t0());
    let settings = smtp_settings(server.port());

    // Attempt 1: 421 to MAIL → retry after 10 s.
    let r = deliver_due(&st.conn, &settings, t0(), Hooks::default()).unwrap();
    assert_eq!(r.deferred, vec![id]);
    let row = st.row(id);
    assert_eq!(row.next_attempt_at, Some(t0() + secs(10)));
    assert!(row.last_error.unwrap().contains("too busy"));
    // Attempt 2: 451 after DATA → retry after 20 s more.
    let r = deliver_due(&st.conn, &settings, t0() + secs(10), Hooks::default()).unwrap();
    assert_eq!(r.deferred, vec![id]);
    let row = st.row(id);
    assert_eq!(row.next_attempt_at, Some(t0() + secs(30)));
    assert!(row.last_error.unwrap().contains("451"));
    // Attempt 3: 451 again → 40 s more.
    deliver_due(&st.conn, &settings, t0() + secs(30), Hooks::default()).unwrap();
    assert_eq!(st.row(id).next_attempt_at, Some(t0() + secs(70)));
    assert!(
        deliver_due(&st.conn, &settings, t0() + secs(69), Hooks::default())
            .unwrap()
            .is_empty()
    );
    // Attempt 4: accepted.
    let r = deliver_due(&st.conn, &settings, t0() + secs(70), Hooks::default()).unwrap();
    assert_eq!(r.sent, vec![id]);
    let row = st.row(id);
    assert_eq!((row.status, row.attempts), (Status::Sent, 4));
    assert_eq!(server.received().len(), 1, "delivered once");
    assert!(
        deliver_due(&st.conn, &settings, t0() + secs(100_000), Hooks::default())
            .unwrap()
            .is_empty()
    );
    assert_eq!(server.received().len(), 1);
}

#[test]
fn permanent_5xx_is_marked_failed_and_not_retried_until_a_person_retries() {
    let server = SmtpServer::start();
    server.script(
        Stage::Rcpt,
        Reply::Line("550 5.1.1 <zhangming@nyt.jl.gov.cn>: mailbox unavailable".into()),
        Some(1),
    );
    let mut st = State::new();
    let id = st.enqueue(&letter("S-5xx"), t0());
    let ok = st.enqueue(&letter("S-ok"), t0());
    let settings = smtp_settings(server.port());

    let r = deliver_due(&st.conn, &settings, t0(), Hooks::default()).unwrap();
    assert_eq!(r.failed, vec![id]);
    assert_eq!(
        r.sent,
        vec![ok],
        "a refused message does not hold up the others"
    );
    let row = st.row(id);
    assert_eq!((row.status, row.attempts), (Status::Failed, 1));
    let err = row.last_error.unwrap();
    assert!(
        err.contains("550") && err.contains("mailbox unavailable"),
        "{err}"
    );
    let sessions = server.sessions();
    for h in [1, 10, 1000, 100_000] {
        assert!(
            deliver_due(&st.conn, &settings, t0() + secs(h), Hooks::default())
                .unwrap()
                .is_empty()
        );
    }
    assert_eq!(server.sessions(), sessions, "never tried again by itself");

    let failed = mail::outbox::list(&st.conn, ListFilter::Only(Status::Failed)).unwrap();
    assert_eq!(failed.iter().map(|r| r.id).collect::<Vec<_>>(), vec![id]);
    assert_eq!(failed[0].attachments, [LETTER_NAME, WORKBOOK_NAME]);

    // A person fixes the address book and queues it again.
    mail::outbox::retry(&st.conn, id, Utc::now(), None).unwrap();
    assert_eq!(st.row(id).status, Status::Queued);
    let r = deliver_due(&st.conn, &settings, chrono::Utc::now(), Hooks::default()).unwrap();
    assert_eq!(r.sent, vec![id]);
    assert_eq!(server.received().len(), 2);
    assert!(matches!(
        mail::outbox::retry(&st.conn, 999, Utc::now(), None),
        Err(MailError::NotFound(999))
    ));
}

#[test]
fn temporary_failures_give_up_after_max_attempts() {
    let server = SmtpServer::start();
    server.script(
        Stage::EndOfData,
        Reply::Line("452 4.3.1 insufficient system storage".into()),
        None,
    );
    let mut st = State::new();
    let id = st.enqueue(&letter("S-give-up"), t0());
    let mut settings = smtp_settings(server.port());
    settings.retry.max_attempts = 3;
    let mut t = t0();
    for _ in 0..10 {
        deliver_due(&st.conn, &settings, t, Hooks::default()).unwrap();
        t += secs(1000);
    }
    let row = st.row(id);
    assert_eq!((row.status, row.attempts), (Status::Failed, 3));
    assert!(
        row.last_error
            .unwrap()
            .starts_with("gave up after 3 attempts")
    );
    assert!(server.received().is_empty());
}

#[test]
fn silent_server_times_out_and_is_retried() {
    let server = SmtpServer::start();
    server.script(Stage::Greeting, Reply::Silence, Some(1));
    let mut st = State::new();
    let id = st.enqueue(&letter("S-silent"), t0());
    let mut settings = smtp_settings(server.port());
    settings.smtp.as_mut().unwrap().connect_timeout_secs = 1;
    let start = Instant::now();
    let r = deliver_due(&st.conn, &settings, t0(), Hooks::default()).unwrap();
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(r.deferred, vec![id]);
    let row = st.row(id);
    let err = row.last_error.unwrap();
    assert!(err.contains("timed out"), "{err}");
    assert!(!err.contains("os error"), "{err}");
    assert!(!err.contains("temporarily unavailable"), "{err}");
    let r = deliver_due(&st.conn, &settings, t0() + secs(20), Hooks::default()).unwrap();
    assert_eq!(r.sent, vec![id]);
}

#[test]
fn backoff_counts_from_the_failure_not_from_the_start_of_the_pass() {
    let server = SmtpServer::start();
    server.script(Stage::Greeting, Reply::Silence, None);
    let mut st = State::new();
    let id = st.enqueue(&letter("S-backoff"), t0());
    let mut settings = smtp_settings(server.port());
    settings.smtp.as_mut().unwrap().connect_timeout_secs = 2;
    settings.retry.first_delay_secs = 1;
    deliver_due(&st.conn, &settings, t0(), Hooks::default()).unwrap();
    let row = st.row(id);
    assert_eq!(row.status, Status::Queued);
    // The attempt waited 2 s for a greeting; the first delay (1 s) counts from then.
    let next = row.next_attempt_at.unwrap();
    assert!(next >= t0() + secs(3), "next attempt at {next}");
}

#[test]
fn subject_is_shown_exactly_as_typed_even_with_encoded_word_text_and_runs_of_spaces() {
    let mut st = State::new();
    let typed = [
        "关于 =?utf-8?b?5pS56YCg5ZCO55qE?= 项目的审核意见",
        "Project   X  plan",
        "=?UTF-8?Q?=E4=BC=AA?= a",
        "关于基层农技推广体系改革与建设补助项目（二〇二六年度）  绩效目标的审核意见 Annual Plan  Review",
    ];
    let settings = MailSettings {
        outbox_dir: st.path("outbox"),
        ..MailSettings::default()
    };
    let ids: Vec<i64> = typed
        .iter()
        .map(|subject| {
            let mut msg = letter("S-subject");
            msg.subject = subject.to_string();
            st.enqueue(&msg, t0())
        })
        .collect();
    let r = deliver_due(&st.conn, &settings, t0(), Hooks::default()).unwrap();
    assert_eq!(r.sent, ids);
    for (id, subject) in ids.iter().zip(typed) {
        let data = std::fs::read(st.path("outbox").join(format!("{id:06}-letter.eml"))).unwrap();
        assert!(data.is_ascii());
        assert_eq!(parse(&data).subject(), Some(subject), "#{id}");
        // Folded into lines of at most 76 characters, as RFC 2047 asks.
        let text = String::from_utf8(data).unwrap();
        let mut lines = text.lines().skip_while(|l| !l.starts_with("Subject:"));
        let first = lines.next().unwrap();
        for line in std::iter::once(first).chain(lines.take_while(|l| l.starts_with(' '))) {
            assert!(line.len() <= 76, "{line}");
        }
    }
}

#[test]
fn stopping_the_sender_ends_its_pass_between_messages() {
    let server = SmtpServer::start();
    // Each message takes the server two seconds to accept.
    server.script(Stage::EndOfData, Reply::Slow(Duration::from_secs(2)), None);
    let mut st = State::new();
    let ids: Vec<i64> = (0..4)
        .map(|i| st.enqueue(&letter(&format!("S-slow-{i}")), chrono::Utc::now()))
        .collect();
    let clock: std::sync::Arc<dyn jixiao::runtime::Clock> =
        std::sync::Arc::new(jixiao::runtime::SystemClock::default());
    let sender = mail::Sender::start(
        &st.db,
        smtp_settings(server.port()),
        clock,
        Hooks::default(),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while st.row(ids[1]).status != Status::Sending && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(st.row(ids[0]).status, Status::Sent);
    // Asked to stop while the second message is with the server: it finishes that one only.
    sender.stop();
    assert_eq!(server.received().len(), 2);
    let statuses: Vec<Status> = ids.iter().map(|&id| st.row(id).status).collect();
    assert_eq!(
        statuses,
        [Status::Sent, Status::Sent, Status::Queued, Status::Queued]
    );
    assert_eq!(st.row(ids[3]).attempts, 0);
}

#[test]
fn a_running_sender_delivers_a_message_retried_by_a_person_promptly() {
    let server = SmtpServer::start();
    let mut st = State::new();
    let clock: std::sync::Arc<dyn jixiao::runtime::Clock> =
        std::sync::Arc::new(jixiao::runtime::SystemClock::default());
    // Deferred until an hour from now after a temporary failure.
    let id = st.enqueue(&letter("S-retry-now"), chrono::Utc::now() + secs(3600));
    let sender = mail::Sender::start(
        &st.db,
        smtp_settings(server.port()),
        clock,
        Hooks::default(),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(server.received().is_empty());
    // Another process (`jixiao outbox retry`) makes it due now; nobody wakes the sender.
    let other = jixiao::store::open(&st.db).unwrap();
    let done = mail::outbox::retry(&other, id, chrono::Utc::now(), None).unwrap();
    assert_eq!(done, mail::outbox::Retried::Hurried);
    let deadline = Instant::now() + Duration::from_secs(15);
    while server.received().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.received().len(), 1);
    sender.stop();
    assert_eq!(st.row(id).status, Status::Sent);
}

#[test]
fn a_failed_message_retried_by_a_person_goes_to_the_recipients_configured_now() {
    let server = SmtpServer::start();
    server.script(
        Stage::Rcpt,
        Reply::Line("550 5.1.1 mailbox unavailable".into()),
        Some(1),
    );
    let mut st = State::new();
    let mut msg = letter("S-readdress");
    msg.cc = vec!["jxc@czt.jl.gov.cn.invalid".into()];
    let id = st.enqueue(&msg, t0());
    let settings = smtp_settings(server.port());
    let r = deliver_due(&st.conn, &settings, t0(), Hooks::default()).unwrap();
    assert_eq!(r.failed, vec![id]);
    let failed_bytes = mail::outbox::raw_message(&st.conn, id).unwrap().unwrap();
    let message_id = st.row(id).message_id.unwrap();

    // An automatic retry would send the same bytes; a person's retry with the corrected
    // configuration re-addresses it.
    let now = mail::outbox::Recipients {
        to: msg.to.clone(),
        cc: vec!["预算绩效管理处 <jxc@czt.jl.gov.cn>".into()],
    };
    let done = mail::outbox::retry(&st.conn, id, t0() + secs(60), Some(&now)).unwrap();
    assert_eq!(done, mail::outbox::Retried::Readdressed(now.clone()));
    let row = st.row(id);
    assert_eq!(row.status, Status::Queued);
    assert_eq!(row.attempts, 0);
    let shown = serde_json::to_value(&row).unwrap();
    assert_eq!(shown["cc"][0], "预算绩效管理处 <jxc@czt.jl.gov.cn>");

    let r = deliver_due(&st.conn, &settings, t0() + secs(60), Hooks::default()).unwrap();
    assert_eq!(r.sent, vec![id]);
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].rcpt_to,
        [
            "zhangming@nyt.jl.gov.cn",
            "cw@nyt.jl.gov.cn",
            "jxc@czt.jl.gov.cn"
        ]
    );
    let sent = parse(&got[0].data);
    let before = parse(&failed_bytes);
    assert_eq!(addresses(sent.cc()), ["jxc@czt.jl.gov.cn"]);
    assert_eq!(Some(message_id.trim_matches(['<', '>'])), sent.message_id());
    assert_eq!(sent.subject(), before.subject());
    assert_eq!(sent.date(), before.date());
    assert_eq!(sent.body_text(0), before.body_text(0));
    let names = |m: &mail_parser::Message| {
        m.attachments()
            .map(|a| {
                (
                    a.attachment_name().map(str::to_string),
                    a.contents().to_vec(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&sent), names(&before));

    // Sent: a retry never sends it again.
    let e = mail::outbox::retry(&st.conn, id, t0() + secs(120), Some(&now)).unwrap_err();
    assert!(matches!(e, MailError::AlreadySent(x) if x == id), "{e}");
    assert_eq!(st.row(id).status, Status::Sent);
    assert!(
        deliver_due(&st.conn, &settings, t0() + secs(120), Hooks::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn without_smtp_messages_become_eml_files() {
    let mut st = State::new();
    let id = st.enqueue(&letter("S-eml"), t0());
    let settings = MailSettings {
        outbox_dir: st.path("outbox"),
        ..MailSettings::default()
    };
    let r = deliver_due(&st.conn, &settings, t0(), Hooks::default()).unwrap();
    assert_eq!(r.sent, vec![id]);
    let file = st.path("outbox").join(format!("{id:06}-letter.eml"));
    let data = std::fs::read(&file).unwrap();
    let m = parse(&data);
    assert_eq!(m.subject(), Some(SUBJECT));
    assert_eq!(
        m.attachments()
            .map(|a| a.attachment_name().unwrap().to_string())
            .collect::<Vec<_>>(),
        [LETTER_NAME, WORKBOOK_NAME]
    );
    let row = st.row(id);
    assert_eq!(row.status, Status::Sent);
    assert_eq!(
        Some(m.message_id().unwrap()),
        row.message_id
            .as_deref()
            .map(|s| s.trim_matches(['<', '>']))
    );
    assert!(row.message_id.unwrap().ends_with("@example.invalid>"));
    // Written: a retry by hand does not write it again.
    assert!(matches!(
        mail::outbox::retry(&st.conn, id, Utc::now(), None),
        Err(MailError::AlreadySent(_))
    ));
    deliver_due(&st.conn, &settings, chrono::Utc::now(), Hooks::default()).unwrap();
    assert_eq!(std::fs::read_dir(st.path("outbox")).unwrap().count(), 1);
    assert_eq!(std::fs::read(&file).unwrap(), data, "byte-identical");
}

#[test]
fn enqueue_refuses_injected_headers_and_bad_addresses_and_joins_the_callers_transaction() {
    let mut st = State::new();
    let bad = [
        ("to", "cw@nyt.jl.gov.cn\r\nBcc: leak@example.com"),
        ("to", "not an address"),
        ("cc", "jxc@czt.jl.gov.cn\nX-Evil: 1"),
        ("to", "a@b.cn, c@d.cn"),
    ];
    for (field, value) in bad {
        let mut msg = letter("S-bad");
        match field {
            "to" => msg.to = vec![value.into()],
            _ => msg.cc = vec![value.into()],
        }
        let tx = st.conn.transaction().unwrap();
        let e = mail::outbox::enqueue(&tx, &msg, Utc::now()).unwrap_err();
        assert!(
            matches!(
                e,
                MailError::InvalidAddress { .. } | MailError::HeaderInjection { .. }
            ),
            "{value:?}: {e}"
        );
    }
    let mut msg = letter("S-bad");
    msg.subject = "审核意见\r\nBcc: leak@example.com".into();
    let tx = st.conn.transaction().unwrap();
    assert!(matches!(
        mail::outbox::enqueue(&tx, &msg, Utc::now()),
        Err(MailError::HeaderInjection {
            field: "subject",
            ..
        })
    ));
    drop(tx);
    let mut msg = letter("S-bad");
    msg.attachments[0].file_name = "../../etc/审核意见.docx".into();
    let tx = st.conn.transaction().unwrap();
    assert!(matches!(
        mail::outbox::enqueue(&tx, &msg, Utc::now()),
        Err(MailError::InvalidFileName(_))
    ));
    drop(tx);
    let mut msg = letter("S-bad");
    msg.to.clear();
    let tx = st.conn.transaction().unwrap();
    assert!(matches!(
        mail::outbox::enqueue(&tx, &msg, Utc::now()),
        Err(MailError::NoRecipients)
    ));
    drop(tx);

    // Rolled back with the caller's transaction: nothing queued.
    let tx = st.conn.transaction().unwrap();
    mail::outbox::enqueue(&tx, &letter("S-rolled-back"), Utc::now()).unwrap();
    tx.rollback().unwrap();
    assert!(
        mail::outbox::list(&st.conn, ListFilter::All)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn sender_thread_delivers_when_woken_and_stops() {
    let server = SmtpServer::start();
    let mut st = State::new();
    let mut settings = smtp_settings(server.port());
    settings.retry.first_delay_secs = 1;
    let clock: std::sync::Arc<dyn jixiao::runtime::Clock> =
        std::sync::Arc::new(jixiao::runtime::SystemClock::default());
    let sender = mail::Sender::start(&st.db, settings, clock, Hooks::default()).unwrap();
    let waker = sender.waker();
    let id = st.enqueue(&letter("S-thread"), chrono::Utc::now());
    waker.wake();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.received().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.received().len(), 1);
    sender.stop();
    assert_eq!(st.row(id).status, Status::Sent);
}

#[test]
fn a_claim_left_by_a_vanished_sender_is_taken_over_after_the_lease() {
    let server = SmtpServer::start();
    let mut st = State::new();
    let id = st.enqueue(&letter("S-lease"), t0());
    // Another sender claimed it at t0 and was never heard of again.
    st.conn
        .execute(
            "UPDATE mail_outbox SET status = 'sending', claimed_at = ?1, attempts = 1 WHERE id = ?2",
            rusqlite::params![t0().timestamp(), id],
        )
        .unwrap();
    let settings = smtp_settings(server.port());
    let lease = mail::outbox::CLAIM_LEASE.as_secs() as i64;
    assert!(
        deliver_due(
            &st.conn,
            &settings,
            t0() + secs(lease - 1),
            Hooks::default()
        )
        .unwrap()
        .is_empty()
    );
    assert_eq!(st.row(id).status, Status::Sending);
    let r = deliver_due(&st.conn, &settings, t0() + secs(lease), Hooks::default()).unwrap();
    assert_eq!(r.sent, vec![id]);
    assert_eq!(st.row(id).attempts, 2);
    assert_eq!(server.received().len(), 1);
}
