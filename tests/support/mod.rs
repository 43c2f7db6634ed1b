//! Shared helpers of the mail tests: a real SQLite state in a temporary folder, the standard
//! letter to queue, settings that point at the test SMTP server, and parsing what it received.
#![allow(dead_code)]

pub mod smtp;

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use jixiao::mail::{self, Attachment, MailSettings, OutgoingMessage, RetrySettings, SmtpSettings};
use rusqlite::Connection;

pub const LETTER_NAME: &str =
    "吉财绩函〔2026〕12号 关于农业农村厅基层农技推广项目绩效目标的审核意见.docx";
pub const WORKBOOK_NAME: &str = "农业农村厅-绩效目标申报表（审核批注）.xlsx";
pub const SUBJECT: &str = "关于基层农技推广体系改革与建设补助项目绩效目标的审核意见";
pub const BODY: &str = "农业农村厅：\n\n贵厅报送的绩效目标申报表已审核，审核结论为修改后通过，审核意见见附件。\n\n吉林省财政厅\n2026年11月25日\n";
pub const FROM: &str = "吉林省财政厅预算绩效管理处 <jxc@czt.jl.gov.cn>";

/// A temporary folder with a state database holding the outbox tables.
pub struct State {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub conn: Connection,
}

impl State {
    pub fn new() -> State {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("jixiao.db");
        let conn = jixiao::store::open(&db).unwrap();
        State { dir, db, conn }
    }

    /// Queues a message in its own transaction, as the daemon does with its letter.
    pub fn enqueue(&mut self, msg: &OutgoingMessage, at: DateTime<Utc>) -> i64 {
        let tx = self.conn.transaction().unwrap();
        let id = mail::outbox::enqueue(&tx, msg, at).unwrap();
        tx.commit().unwrap();
        id
    }

    pub fn row(&self, id: i64) -> mail::OutboxRow {
        mail::outbox::get(&self.conn, id).unwrap()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A fixed time, so that backoff arithmetic is exact.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap()
}

pub fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

/// A letter with a Word document and an annotated workbook, to two contacts of the department,
/// copied to the finance office.
pub fn letter(reference: &str) -> OutgoingMessage {
    OutgoingMessage {
        to: vec![
            "农业农村厅 张明 <zhangming@nyt.jl.gov.cn>".into(),
            "cw@nyt.jl.gov.cn".into(),
        ],
        cc: vec!["预算绩效管理处 <jxc@czt.jl.gov.cn>".into()],
        department: Some("nyt".into()),
        subject: SUBJECT.into(),
        body: BODY.into(),
        attachments: vec![
            Attachment {
                file_name: LETTER_NAME.into(),
                content_type: mail::DOCX.into(),
                bytes: b"PK\x03\x04 word letter bytes \x00\xff".to_vec(),
            },
            Attachment {
                file_name: WORKBOOK_NAME.into(),
                content_type: mail::XLSX.into(),
                bytes: (0..=255u8).cycle().take(5000).collect(),
            },
        ],
        kind: "letter".into(),
        reference: reference.into(),
    }
}

/// Settings for the test server on `port`: plain SMTP, short timeouts, 10 s first retry.
pub fn smtp_settings(port: u16) -> MailSettings {
    MailSettings {
        smtp: Some(SmtpSettings {
            host: "127.0.0.1".into(),
            port: Some(port),
            security: mail::Security::None,
            username: None,
            password_env: None,
            from: FROM.into(),
            hello_name: Some("jixiao.test".into()),
            connect_timeout_secs: 2,
            command_timeout_secs: 5,
            ca_file: None,
        }),
        outbox_dir: PathBuf::from("unused"),
        retry: RetrySettings {
            first_delay_secs: 10,
            max_delay_secs: 80,
            max_attempts: 5,
        },
        message_id_domain: Some("czt.jl.gov.cn".into()),
    }
}

/// A port nobody listens on (bound and released at once).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub fn parse(data: &[u8]) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(data)
        .expect("the received message parses")
}

/// The addresses of a To or Cc header.
pub fn addresses(a: Option<&mail_parser::Address<'_>>) -> Vec<String> {
    a.map(|a| {
        a.iter()
            .filter_map(|x| x.address().map(str::to_string))
            .collect()
    })
    .unwrap_or_default()
}

/// The raw value of header `name` in the head of a MIME part, unfolded.
pub fn raw_headers(data: &[u8], name: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(data)
        .replace("\r\n ", " ")
        .replace("\r\n\t", " ");
    let prefix = format!("{}:", name.to_ascii_lowercase());
    text.split("\r\n")
        .filter(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_string())
        .collect()
}

pub fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}
