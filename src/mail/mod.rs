//! Email delivery: the letters and notices of the finance office reach their recipients even when
//! the mail server fails.
//!
//! A message is put into a durable outbox (a table of the SQLite state) in the same transaction
//! that records its letter or notice ([`outbox::enqueue`]). A sender ([`sender::deliver_due`], or
//! the [`sender::Sender`] thread that calls it in a loop) delivers it over SMTP, or writes it as an
//! `.eml` file when no SMTP server is configured, retries temporary failures with exponential
//! backoff and marks permanent failures (5xx) for a person's attention.
//!
//! The daemon uses it so: [`outbox::enqueue`] inside the transaction
//! that records each letter or notice; [`sender::Sender::start`] once (it queues again what a
//! stopped sender left half-sent); `sender::Waker::wake` after each commit that queued mail;
//! [`sender::Sender::stop`] at shutdown.
//!
//! Recipients come from configuration only. The outbox takes the explicit addresses its caller
//! passes (the daemon passes the department's contacts and the finance office from its
//! configuration); nothing read from a department's form reaches the `to`, `cc`, subject or
//! attachment name fields of a message. Addresses are checked when a message is queued: a value
//! with a line break (header injection) or that is not one valid mailbox is refused.

pub(crate) mod message;
pub mod outbox;
pub(crate) mod sender;

use std::path::PathBuf;

use serde::Deserialize;

pub use crate::store::outbox::{Attachment, ListFilter, OutboxRow, Status};
pub use sender::{DeliveryReport, Sender, deliver_due};

/// The `[mail]` table of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    /// The SMTP server; with none, messages are written as `.eml` files into `outbox_dir`.
    pub smtp: Option<SmtpSettings>,
    /// Where `.eml` files go when no SMTP server is configured. A relative path is relative to the
    /// working directory of the process; the daemon resolves it against its state folder.
    pub outbox_dir: PathBuf,
    pub retry: RetrySettings,
    /// The domain in `Message-ID: <…@domain>`; the domain of the sender address when absent.
    pub message_id_domain: Option<String>,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            smtp: None,
            outbox_dir: PathBuf::from("outbox"),
            retry: RetrySettings::default(),
            message_id_domain: None,
        }
    }
}

impl MailSettings {
    /// The `From` mailbox: the SMTP sender, or a local placeholder for `.eml` files.
    pub(crate) fn sender_mailbox(&self) -> &str {
        match &self.smtp {
            Some(s) => &s.from,
            None => DEFAULT_FROM,
        }
    }

    /// Checks the settings themselves: the sender address, the Message-ID domain, the retry
    /// numbers, a password variable named when there is a user name. Reading the configuration
    /// (for `status`, `outbox`, …) needs no more than this: the password is not looked at.
    pub(crate) fn validate(&self) -> Result<(), MailError> {
        parse_mailbox("from", self.sender_mailbox())?;
        if let Some(d) = &self.message_id_domain
            && (d.is_empty()
                || !d
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        {
            return Err(MailError::Config(format!(
                "message_id_domain {d:?} must be a domain name"
            )));
        }
        if self.retry.max_attempts == 0 {
            return Err(MailError::Config(
                "retry.max_attempts must be at least 1".into(),
            ));
        }
        if self.retry.first_delay_secs == 0
            || self.retry.max_delay_secs < self.retry.first_delay_secs
        {
            return Err(MailError::Config(
                "retry.first_delay_secs must be at least 1 and not above retry.max_delay_secs"
                    .into(),
            ));
        }
        if let Some(s) = &self.smtp
            && s.username.is_some()
            && s.password_env.is_none()
        {
            return Err(MailError::Config(
                "smtp.username is set but smtp.password_env (the variable holding the password) is not"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Checks what sending needs besides the settings, without a network: the password being
    /// there and the CA file being readable.
    pub(crate) fn ready_to_send(&self) -> Result<(), MailError> {
        self.validate()?;
        if let Some(s) = &self.smtp {
            s.password()?;
            if let Some(ca) = &s.ca_file {
                std::fs::read(ca).map_err(|e| {
                    MailError::Config(format!("smtp.ca_file {}: {e}", ca.display()))
                })?;
            }
        }
        Ok(())
    }
}

/// The sender of `.eml` files written when no SMTP server is configured: an address of the
/// reserved `.invalid` domain, so that it reads as the placeholder it is (and so do the
/// Message-IDs made from its domain) until `[mail.smtp] from` names the office's own.
pub(crate) const DEFAULT_FROM: &str = "绩效管理系统（示例地址） <jixiao@example.invalid>";

/// How to reach the SMTP server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    /// 25 for `none`, 587 for `starttls`, 465 for `tls` when absent.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub security: Security,
    /// User name for SMTP authentication (AUTH PLAIN or LOGIN); no authentication when absent.
    #[serde(default)]
    pub username: Option<String>,
    /// The name of the environment variable that holds the password. The password itself is never
    /// written in the configuration file.
    #[serde(default)]
    pub password_env: Option<String>,
    /// The sender mailbox, e.g. `吉林省财政厅预算绩效管理处 <jxc@czt.jl.gov.cn>`.
    pub from: String,
    /// The name sent in EHLO; the machine's host name when absent.
    #[serde(default, alias = "helo")]
    pub hello_name: Option<String>,
    /// Covers the TCP connection, the TLS handshake, the greeting and EHLO.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Covers each later command and its reply (STARTTLS, AUTH, MAIL, RCPT, DATA).
    #[serde(default = "default_command_timeout")]
    pub command_timeout_secs: u64,
    /// A PEM file of an extra root certificate to trust (a government network's own CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

fn default_connect_timeout() -> u64 {
    10
}

fn default_command_timeout() -> u64 {
    60
}

impl SmtpSettings {
    /// The port in use: the configured one or the standard port of the security mode.
    pub(crate) fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            Security::None => 25,
            Security::Starttls => 587,
            Security::Tls => 465,
        })
    }

    /// The password read from the environment variable named by `password_env`.
    pub(crate) fn password(&self) -> Result<Option<String>, MailError> {
        match (&self.username, &self.password_env) {
            (None, _) => Ok(None),
            (Some(_), None) => Err(MailError::Config(
                "smtp.username is set but smtp.password_env (the variable holding the password) is not"
                    .into(),
            )),
            (Some(_), Some(var)) => std::env::var(var).map(Some).map_err(|_| {
                MailError::Config(format!(
                    "smtp.password_env: environment variable {var} is not set"
                ))
            }),
        }
    }
}

/// Transport security of the SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain SMTP (only on a trusted network).
    None,
    /// Plain connection upgraded with STARTTLS; refuses to go on without it.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

/// When temporary failures are tried again: after `first_delay_secs`, doubling up to
/// `max_delay_secs`, and at most `max_attempts` attempts in all before the message is marked failed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetrySettings {
    pub first_delay_secs: u64,
    pub max_delay_secs: u64,
    pub max_attempts: u32,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            first_delay_secs: 60,
            max_delay_secs: 3600,
            max_attempts: 30,
        }
    }
}

impl RetrySettings {
    /// The wait after the `attempts`-th failed attempt (1-based): first, 2×first, 4×first, … capped.
    pub(crate) fn delay_after(&self, attempts: u32) -> u64 {
        let shift = attempts.saturating_sub(1).min(40);
        self.first_delay_secs
            .saturating_mul(1u64 << shift)
            .min(self.max_delay_secs)
    }
}

/// A message to queue. Recipients are explicit addresses from configuration.
#[derive(Debug, Clone, Default)]
pub struct OutgoingMessage {
    /// Mailboxes such as `nyt@jl.gov.cn` or `农业农村厅 <nyt@jl.gov.cn>`.
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// The department (code) whose contacts `to` holds; none for the finance office's own mail.
    /// A failed message retried by a person is addressed again from the configuration by it.
    pub department: Option<String>,
    pub subject: String,
    /// Plain text, sent as UTF-8.
    pub body: String,
    pub attachments: Vec<Attachment>,
    /// What the message is, e.g. `letter`, `receipt`, `reminder`.
    pub kind: String,
    /// What it answers, e.g. the submission id.
    pub reference: String,
}

/// Content type of Word letters.
pub const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
/// Content type of Excel workbooks.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// What can go wrong when queueing or delivering mail.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("{field}: {value:?} is not a valid mailbox")]
    InvalidAddress { field: &'static str, value: String },
    #[error("{field} contains a line break or control character: {value:?}")]
    HeaderInjection { field: &'static str, value: String },
    #[error("a message needs at least one recipient in `to`")]
    NoRecipients,
    #[error("attachment content type {0:?} is not a valid MIME type")]
    InvalidContentType(String),
    #[error("attachment file name {0:?} must be a plain file name")]
    InvalidFileName(String),
    #[error("outbox message {0} does not exist")]
    NotFound(i64),
    #[error("outbox message {0} is being sent right now")]
    Busy(i64),
    #[error("outbox message {0} was sent already; retry never sends a message twice")]
    AlreadySent(i64),
    #[error("mail configuration: {0}")]
    Config(String),
    #[error("building the message: {0}")]
    Build(String),
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("mail outbox database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Parses one mailbox, refusing line breaks and control characters first.
pub(crate) fn parse_mailbox(
    field: &'static str,
    value: &str,
) -> Result<lettre::message::Mailbox, MailError> {
    no_control(field, value)?;
    value
        .trim()
        .parse::<lettre::message::Mailbox>()
        .map_err(|_| MailError::InvalidAddress {
            field,
            value: value.to_string(),
        })
}

/// Checks an address as the outbox will when a message to it is queued.
pub(crate) fn check_address(value: &str) -> Result<(), MailError> {
    parse_mailbox("address", value).map(|_| ())
}

/// Refuses CR, LF and other control characters in a value that ends up in a header.
pub(crate) fn no_control(field: &'static str, value: &str) -> Result<(), MailError> {
    if value.chars().any(|c| c.is_control()) {
        return Err(MailError::HeaderInjection {
            field,
            value: value.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let r = RetrySettings {
            first_delay_secs: 30,
            max_delay_secs: 600,
            max_attempts: 10,
        };
        let d: Vec<u64> = (1..=7).map(|a| r.delay_after(a)).collect();
        assert_eq!(d, [30, 60, 120, 240, 480, 600, 600]);
        assert_eq!(r.delay_after(1000), 600);
    }

    #[test]
    fn header_injection_is_refused() {
        let e = parse_mailbox("to", "a@b.cn\r\nBcc: evil@x.com").unwrap_err();
        assert!(matches!(e, MailError::HeaderInjection { .. }), "{e}");
        assert!(parse_mailbox("to", "not an address").is_err());
        let m = parse_mailbox("to", "农业农村厅 <nyt@jl.gov.cn>").unwrap();
        assert_eq!(m.email.to_string(), "nyt@jl.gov.cn");
        assert_eq!(m.name.as_deref(), Some("农业农村厅"));
    }

    #[test]
    fn settings_read_from_toml() {
        let s: MailSettings = toml::from_str(
            r#"
            outbox_dir = "mail"
            message_id_domain = "czt.jl.gov.cn"
            [smtp]
            host = "smtp.jl.gov.cn"
            security = "tls"
            username = "jxc"
            password_env = "JIXIAO_SMTP_PASSWORD"
            from = "吉林省财政厅 <jxc@czt.jl.gov.cn>"
            [retry]
            max_attempts = 5
            "#,
        )
        .unwrap();
        let smtp = s.smtp.as_ref().unwrap();
        assert_eq!(smtp.port(), 465);
        assert_eq!(smtp.security, Security::Tls);
        assert_eq!(smtp.command_timeout_secs, 60);
        assert_eq!(s.retry.max_attempts, 5);
        assert_eq!(s.retry.first_delay_secs, 60);
        assert!(
            toml::from_str::<MailSettings>(
                "smtp = { host = \"x\", from = \"a@b.cn\", password = \"secret\" }"
            )
            .is_err()
        );
    }
}
