//! Putting messages into the durable outbox (`crate::store::outbox`) and taking them out for
//! an attempt.
//!
//! A message is checked when it is queued (every address, the subject, the attachments), and
//! rendered once — with its Message-ID — when it is first claimed: every automatic retry sends
//! exactly the same bytes. A message that failed and is retried by a person is rendered again
//! when the configuration now names other recipients for it: same Message-ID, Date and content,
//! new `To`/`Cc`. A sent message is never queued again. A row left in `sending` means the process stopped while delivering
//! it; whether the server took the message is unknown. `recover_interrupted` (called when a
//! sender starts) queues such rows again, so a message is delivered at least once, and at most
//! once more than needed.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction};

use super::message::{check_attachment, render};
use super::{MailError, MailSettings, OutgoingMessage, no_control, parse_mailbox};
use crate::departments::{Department, Finance};
use crate::store::outbox::{self as rows, NewMessage, Status};

pub use crate::store::outbox::{CLAIM_LEASE, ListFilter, OutboxRow};

/// Queues a message in the caller's transaction, so it is recorded together with the letter or
/// notice it carries (or not at all). Checks every address, the subject and the attachments;
/// returns the row id.
pub fn enqueue(
    tx: &Transaction<'_>,
    msg: &OutgoingMessage,
    now: DateTime<Utc>,
) -> Result<i64, MailError> {
    if msg.to.is_empty() {
        return Err(MailError::NoRecipients);
    }
    let to = checked_mailboxes("to", &msg.to)?;
    let cc = checked_mailboxes("cc", &msg.cc)?;
    no_control("subject", &msg.subject)?;
    for a in &msg.attachments {
        check_attachment(a)?;
    }
    let token = random_token()?;
    let id = rows::insert(
        tx,
        &NewMessage {
            kind: &msg.kind,
            reference: &msg.reference,
            token: &token,
            to: &to,
            cc: &cc,
            department: msg.department.as_deref(),
            subject: &msg.subject,
            body: &msg.body,
            attachments: &msg.attachments,
        },
        now,
    )?;
    tracing::debug!(id, kind = %msg.kind, reference = %msg.reference, "mail queued");
    Ok(id)
}

fn checked_mailboxes(field: &'static str, list: &[String]) -> Result<Vec<String>, MailError> {
    list.iter()
        .map(|m| parse_mailbox(field, m).map(|_| m.trim().to_string()))
        .collect()
}

fn random_token() -> Result<String, MailError> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(|e| MailError::Build(format!("random token: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// The messages of the outbox, newest first.
pub fn list(conn: &Connection, filter: ListFilter) -> Result<Vec<OutboxRow>, MailError> {
    Ok(rows::list(conn, filter)?)
}

/// One message of the outbox.
pub fn get(conn: &Connection, id: i64) -> Result<OutboxRow, MailError> {
    rows::get(conn, id)?.ok_or(MailError::NotFound(id))
}

/// The addresses a message goes to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recipients {
    pub to: Vec<String>,
    pub cc: Vec<String>,
}

/// What [`retry`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retried {
    /// A queued message is due now, with the same bytes.
    Hurried,
    /// A failed message is queued again, its attempts from zero, to the same recipients.
    Requeued,
    /// A failed message is queued again, addressed to the recipients given (those of the
    /// current configuration); it keeps its Message-ID, Date and content.
    Readdressed(Recipients),
}

/// A person's retry: a queued message is tried now instead of after its backoff; a failed one is
/// queued again with its attempts from zero, addressed to `current` (the recipients the
/// configuration names now) when they differ from the stored ones. A message being sent is
/// [`MailError::Busy`]; a sent one is never sent again ([`MailError::AlreadySent`]).
pub fn retry(
    conn: &Connection,
    id: i64,
    now: DateTime<Utc>,
    current: Option<&Recipients>,
) -> Result<Retried, MailError> {
    let row = get(conn, id)?;
    let done = match row.status {
        Status::Sending => return Err(MailError::Busy(id)),
        Status::Sent => return Err(MailError::AlreadySent(id)),
        Status::Queued => rows::hurry(conn, id, now)?.then_some(Retried::Hurried),
        Status::Failed => {
            let new = match current {
                Some(c) if c.to != row.to || c.cc != row.cc => {
                    if c.to.is_empty() {
                        return Err(MailError::NoRecipients);
                    }
                    Some(Recipients {
                        to: checked_mailboxes("to", &c.to)?,
                        cc: checked_mailboxes("cc", &c.cc)?,
                    })
                }
                _ => None,
            };
            let readdress = new.as_ref().map(|r| (r.to.as_slice(), r.cc.as_slice()));
            rows::requeue_failed(conn, id, now, readdress)?.then(|| match new {
                Some(r) => {
                    tracing::info!(
                        id,
                        old_to = %row.to.join(", "),
                        old_cc = %row.cc.join(", "),
                        to = %r.to.join(", "),
                        cc = %r.cc.join(", "),
                        "failed mail queued again by hand, addressed as configured now"
                    );
                    Retried::Readdressed(r)
                }
                None => {
                    tracing::info!(id, "failed mail queued again by hand");
                    Retried::Requeued
                }
            })
        }
    };
    // The sender changed the row between reading and writing it.
    done.ok_or(MailError::Busy(id))
}

/// The recipients the configuration names now for a message: the department's contacts with the
/// finance office in copy as the daemon addresses letters, notices and reminders, or the finance
/// office for its own mail (the summary). `None` when that is not known: its department is no
/// longer configured, or the message was queued before messages remembered their department.
pub(crate) fn configured_recipients(
    finance: &Finance,
    departments: &[Department],
    row: &OutboxRow,
) -> Option<Recipients> {
    let Some(code) = &row.department else {
        return (row.kind == "summary").then(|| Recipients {
            to: finance.emails.clone(),
            cc: Vec::new(),
        });
    };
    let dept = crate::departments::by_code(departments, code)?;
    let (mut to, mut cc) = (dept.emails.clone(), Vec::new());
    match row.kind.as_str() {
        "reminder" => {
            if finance.copy_notices {
                cc = finance.emails.clone();
            }
            if to.is_empty() {
                to = finance.emails.clone();
            }
        }
        kind => {
            let notice = matches!(kind, "receipt" | "duplicate" | "unreadable");
            let copy = if notice {
                finance.copy_notices
            } else {
                finance.copy_letters
            };
            if copy {
                cc = finance.emails.clone();
            }
            if to.is_empty() {
                // A department without an address: the finance office receives it to pass on.
                to = std::mem::take(&mut cc);
                if to.is_empty() && !notice {
                    to = finance.emails.clone();
                }
            }
        }
    }
    Some(Recipients { to, cc })
}

/// A message's body and attachments (name, content type, size in bytes).
pub(crate) fn contents(conn: &Connection, id: i64) -> Result<rows::Contents, MailError> {
    rows::contents(conn, id)?.ok_or(MailError::NotFound(id))
}

/// How many messages the outbox holds of each status.
pub(crate) fn counts(conn: &Connection) -> Result<Vec<(Status, i64)>, MailError> {
    Ok(rows::counts(conn)?)
}

/// Queues again every message a stopped sender left in `sending`. Call it when the only sender
/// of this state starts; returns how many there were.
pub(crate) fn recover_interrupted(conn: &Connection) -> Result<usize, MailError> {
    let n = rows::recover_interrupted(conn)?;
    if n > 0 {
        tracing::warn!(
            messages = n,
            "mail interrupted while sending is queued again; a recipient may get it twice"
        );
    }
    Ok(n)
}

/// A message claimed for one attempt, with the exact bytes to send.
#[derive(Debug, Clone)]
pub(crate) struct Claimed {
    pub(crate) id: i64,
    pub(crate) kind: String,
    pub(crate) attempts: u32,
    pub(crate) message_id: String,
    pub(crate) envelope_from: String,
    pub(crate) recipients: Vec<String>,
    pub(crate) raw: Vec<u8>,
}

/// Renders the message if this is its first attempt, then claims it (`sending`, one more
/// attempt). `None` when another sender took it first or it is no longer due.
pub(crate) fn claim(
    conn: &Connection,
    id: i64,
    settings: &MailSettings,
    now: DateTime<Utc>,
) -> Result<Option<Claimed>, MailError> {
    render_once(conn, id, settings)?;
    let Some(c) = rows::claim(conn, id, now)? else {
        return Ok(None);
    };
    let mut recipients = Vec::new();
    for m in c.to.iter().chain(c.cc.iter()) {
        let email = parse_mailbox("to", m)?.email.to_string();
        if !recipients.contains(&email) {
            recipients.push(email);
        }
    }
    Ok(Some(Claimed {
        id,
        kind: c.kind,
        attempts: c.attempts,
        message_id: c.message_id,
        envelope_from: c.envelope_from,
        recipients,
        raw: c.raw,
    }))
}

/// Renders and stores the message bytes and Message-ID, once.
fn render_once(conn: &Connection, id: i64, settings: &MailSettings) -> Result<(), MailError> {
    let Some(m) = rows::unrendered(conn, id)? else {
        return Ok(());
    };
    let from = parse_mailbox("from", settings.sender_mailbox())?;
    let domain = match &settings.message_id_domain {
        Some(d) => d.clone(),
        None => from.email.domain().to_string(),
    };
    let message_id = m
        .message_id
        .unwrap_or_else(|| format!("<jixiao.{id}.{}@{domain}>", m.token));
    let msg = OutgoingMessage {
        to: m.to,
        cc: m.cc,
        department: None,
        subject: m.subject,
        body: m.body,
        attachments: m.attachments,
        kind: String::new(),
        reference: String::new(),
    };
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(m.created_at.timestamp().max(0) as u64);
    let raw = render(&msg, &from, &message_id, date)?;
    rows::store_rendered(conn, id, &raw, &message_id, from.email.as_ref())?;
    Ok(())
}

/// The stored message bytes, e.g. to show a person exactly what was sent.
pub fn raw_message(conn: &Connection, id: i64) -> Result<Option<Vec<u8>>, MailError> {
    rows::raw_message(conn, id)?.ok_or(MailError::NotFound(id))
}
