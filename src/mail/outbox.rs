//! The durable outbox: one row per message in the SQLite state, with its attachments as BLOBs.
//!
//! A row goes `queued` → `sending` (claimed by a sender, just before it talks to the server) →
//! `sent`, or back to `queued` with a later `next_attempt_at` after a temporary failure, or to
//! `failed` after a permanent one (5xx) or too many attempts. The message bytes, with their
//! Message-ID, are rendered once, when the row is first claimed, and kept in the row: every later
//! attempt sends exactly the same bytes.
//!
//! A row left in `sending` means the process stopped while delivering it; whether the server took
//! the message is unknown. [`recover_interrupted`] (called when a sender starts) queues such rows
//! again, so a message is delivered at least once, and at most once more than needed.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::message::{check_attachment, render};
use super::{Attachment, MailError, MailSettings, OutgoingMessage, no_control, parse_mailbox};

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for its next attempt.
    Queued,
    /// A sender is talking to the server about it (or stopped while doing so).
    Sending,
    /// Accepted by the SMTP server, or written as an `.eml` file.
    Sent,
    /// Refused permanently or given up on; needs a person (`jixiao outbox retry ID`).
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Failed => "failed",
        }
    }

    /// The word shown to the finance office.
    pub fn label(self) -> &'static str {
        match self {
            Status::Queued => "待发送",
            Status::Sending => "发送中",
            Status::Sent => "已发送",
            Status::Failed => "发送失败",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "sending" => Status::Sending,
            "sent" => Status::Sent,
            "failed" => Status::Failed,
            _ => Status::Queued,
        }
    }
}

/// Which rows [`list`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListFilter {
    #[default]
    All,
    Only(Status),
}

/// One message of the outbox as shown by `jixiao outbox`.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub reference: String,
    pub status: Status,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub attachments: Vec<String>,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The server's reply (or the connection error) of the last attempt.
    pub last_error: Option<String>,
    /// Known once the message has been rendered (at its first attempt).
    pub message_id: Option<String>,
}

/// How long a claim lasts before another sender may take the row over: far longer than one
/// delivery can take with the timeouts in force.
pub const CLAIM_LEASE: Duration = Duration::from_secs(30 * 60);

/// Creates the outbox tables if they are missing. Safe to call at every start.
pub fn migrate(conn: &Connection) -> Result<(), MailError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS mail_outbox (
            id              INTEGER PRIMARY KEY,
            kind            TEXT    NOT NULL,
            reference       TEXT    NOT NULL,
            token           TEXT    NOT NULL UNIQUE,
            to_addrs        TEXT    NOT NULL,
            cc_addrs        TEXT    NOT NULL,
            subject         TEXT    NOT NULL,
            body            TEXT    NOT NULL,
            created_at      INTEGER NOT NULL,
            status          TEXT    NOT NULL DEFAULT 'queued'
                            CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            claimed_at      INTEGER,
            sent_at         INTEGER,
            last_error      TEXT,
            message_id      TEXT,
            envelope_from   TEXT,
            raw             BLOB
         );
         CREATE INDEX IF NOT EXISTS mail_outbox_due ON mail_outbox (status, next_attempt_at);
         CREATE TABLE IF NOT EXISTS mail_attachment (
            outbox_id    INTEGER NOT NULL REFERENCES mail_outbox (id) ON DELETE CASCADE,
            position     INTEGER NOT NULL,
            file_name    TEXT    NOT NULL,
            content_type TEXT    NOT NULL,
            bytes        BLOB    NOT NULL,
            PRIMARY KEY (outbox_id, position)
         );",
    )?;
    Ok(())
}

/// Queues a message in the caller's transaction, so it is recorded together with the letter or
/// notice it carries (or not at all). Checks every address, the subject and the attachments;
/// returns the row id.
pub fn enqueue(tx: &Transaction<'_>, msg: &OutgoingMessage) -> Result<i64, MailError> {
    enqueue_at(tx, msg, Utc::now())
}

/// [`enqueue`] with the time given, for tests and replays.
pub fn enqueue_at(
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
    tx.execute(
        "INSERT INTO mail_outbox (kind, reference, token, to_addrs, cc_addrs, subject, body,
                                  created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![
            msg.kind,
            msg.reference,
            token,
            json(&to),
            json(&cc),
            msg.subject,
            msg.body,
            now.timestamp()
        ],
    )?;
    let id = tx.last_insert_rowid();
    for (i, a) in msg.attachments.iter().enumerate() {
        tx.execute(
            "INSERT INTO mail_attachment (outbox_id, position, file_name, content_type, bytes)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, i as i64, a.file_name.trim(), a.content_type, a.bytes],
        )?;
    }
    tracing::debug!(id, kind = %msg.kind, reference = %msg.reference, "mail queued");
    Ok(id)
}

fn checked_mailboxes(field: &'static str, list: &[String]) -> Result<Vec<String>, MailError> {
    list.iter()
        .map(|m| parse_mailbox(field, m).map(|_| m.trim().to_string()))
        .collect()
}

fn json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

fn unjson(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

fn random_token() -> Result<String, MailError> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(|e| MailError::Build(format!("random token: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn time(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

const ROW_COLUMNS: &str = "id, kind, reference, status, to_addrs, cc_addrs, subject, attempts,
    created_at, next_attempt_at, sent_at, last_error, message_id";

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    let status = Status::parse(&r.get::<_, String>(3)?);
    Ok(OutboxRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        reference: r.get(2)?,
        status,
        to: unjson(&r.get::<_, String>(4)?),
        cc: unjson(&r.get::<_, String>(5)?),
        subject: r.get(6)?,
        attachments: Vec::new(),
        attempts: r.get(7)?,
        created_at: time(r.get(8)?),
        next_attempt_at: (status == Status::Queued)
            .then(|| r.get(9).map(time))
            .transpose()?,
        sent_at: r.get::<_, Option<i64>>(10)?.map(time),
        last_error: r.get(11)?,
        message_id: r.get(12)?,
    })
}

fn attachment_names(conn: &Connection, id: i64) -> Result<Vec<String>, MailError> {
    let mut st = conn.prepare_cached(
        "SELECT file_name FROM mail_attachment WHERE outbox_id = ?1 ORDER BY position",
    )?;
    let names = st
        .query_map([id], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(names)
}

/// The messages of the outbox, newest first.
pub fn list(conn: &Connection, filter: ListFilter) -> Result<Vec<OutboxRow>, MailError> {
    let (sql, status) = match filter {
        ListFilter::All => (
            format!("SELECT {ROW_COLUMNS} FROM mail_outbox WHERE ?1 IS NULL ORDER BY id DESC"),
            None,
        ),
        ListFilter::Only(s) => (
            format!("SELECT {ROW_COLUMNS} FROM mail_outbox WHERE status = ?1 ORDER BY id DESC"),
            Some(s.as_str()),
        ),
    };
    let mut st = conn.prepare(&sql)?;
    let mut rows = st
        .query_map([status], read_row)?
        .collect::<Result<Vec<_>, _>>()?;
    for r in &mut rows {
        r.attachments = attachment_names(conn, r.id)?;
    }
    Ok(rows)
}

/// One message of the outbox.
pub fn get(conn: &Connection, id: i64) -> Result<OutboxRow, MailError> {
    let mut row = conn
        .query_row(
            &format!("SELECT {ROW_COLUMNS} FROM mail_outbox WHERE id = ?1"),
            [id],
            read_row,
        )
        .optional()?
        .ok_or(MailError::NotFound(id))?;
    row.attachments = attachment_names(conn, id)?;
    Ok(row)
}

/// Queues a message again now: a failed one (its attempts start again from zero), a queued one
/// (no more waiting), or a sent one (sent once more, with the same Message-ID, e.g. when a
/// department says it never arrived).
pub fn retry(conn: &Connection, id: i64) -> Result<(), MailError> {
    let row = get(conn, id)?;
    if row.status == Status::Sending {
        return Err(MailError::Busy(id));
    }
    conn.execute(
        "UPDATE mail_outbox
         SET status = 'queued', attempts = 0, next_attempt_at = ?2, claimed_at = NULL
         WHERE id = ?1 AND status <> 'sending'",
        params![id, Utc::now().timestamp()],
    )?;
    tracing::info!(id, was = row.status.as_str(), "mail queued again by hand");
    Ok(())
}

/// Queues again every message a stopped sender left in `sending`. Call it when the only sender
/// of this state starts; returns how many there were.
pub fn recover_interrupted(conn: &Connection) -> Result<usize, MailError> {
    let n = conn.execute(
        "UPDATE mail_outbox SET status = 'queued', claimed_at = NULL
         WHERE status = 'sending'",
        [],
    )?;
    if n > 0 {
        tracing::warn!(
            messages = n,
            "mail interrupted while sending is queued again; a recipient may get it twice"
        );
    }
    Ok(n)
}

/// Ids of the messages due at `now`: queued ones whose time has come, and claims that outlived
/// [`CLAIM_LEASE`].
pub(crate) fn due(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<i64>, MailError> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM mail_outbox
         WHERE (status = 'queued' AND next_attempt_at <= ?1)
            OR (status = 'sending' AND claimed_at <= ?2)
         ORDER BY next_attempt_at, id",
    )?;
    let ids = st
        .query_map(
            params![
                now.timestamp(),
                now.timestamp() - CLAIM_LEASE.as_secs() as i64
            ],
            |r| r.get(0),
        )?
        .collect::<Result<Vec<i64>, _>>()?;
    Ok(ids)
}

/// The earliest time a queued message is due, to know how long a sender may sleep.
pub(crate) fn next_due(conn: &Connection) -> Result<Option<DateTime<Utc>>, MailError> {
    let t: Option<i64> = conn.query_row(
        "SELECT MIN(next_attempt_at) FROM mail_outbox WHERE status = 'queued'",
        [],
        |r| r.get(0),
    )?;
    Ok(t.map(time))
}

/// A message claimed for one attempt, with the exact bytes to send.
#[derive(Debug, Clone)]
pub(crate) struct Claimed {
    pub id: i64,
    pub kind: String,
    pub attempts: u32,
    pub message_id: String,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
}

/// Renders the message if this is its first attempt, then claims it (`sending`, one more
/// attempt). `None` when another sender took it first or it is no longer due.
pub(crate) fn claim(
    conn: &Connection,
    id: i64,
    settings: &MailSettings,
    now: DateTime<Utc>,
) -> Result<Option<Claimed>, MailError> {
    freeze(conn, id, settings)?;
    let n = conn.execute(
        "UPDATE mail_outbox
         SET status = 'sending', claimed_at = ?2, attempts = attempts + 1
         WHERE id = ?1 AND ((status = 'queued' AND next_attempt_at <= ?2)
                            OR (status = 'sending' AND claimed_at <= ?3))",
        params![
            id,
            now.timestamp(),
            now.timestamp() - CLAIM_LEASE.as_secs() as i64
        ],
    )?;
    if n == 0 {
        return Ok(None);
    }
    let (kind, attempts, message_id, envelope_from, to, cc, raw) = conn.query_row(
        "SELECT kind, attempts, message_id, envelope_from, to_addrs, cc_addrs, raw
         FROM mail_outbox WHERE id = ?1",
        [id],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Vec<u8>>(6)?,
            ))
        },
    )?;
    let mut recipients = Vec::new();
    for m in unjson(&to).iter().chain(unjson(&cc).iter()) {
        let email = parse_mailbox("to", m)?.email.to_string();
        if !recipients.contains(&email) {
            recipients.push(email);
        }
    }
    Ok(Some(Claimed {
        id,
        kind,
        attempts,
        message_id,
        envelope_from,
        recipients,
        raw,
    }))
}

/// Renders and stores the message bytes and Message-ID, once.
fn freeze(conn: &Connection, id: i64, settings: &MailSettings) -> Result<(), MailError> {
    let row: Option<(String, String, String, String, String, i64)> = conn
        .query_row(
            "SELECT token, to_addrs, cc_addrs, subject, body, created_at
             FROM mail_outbox WHERE id = ?1 AND raw IS NULL",
            [id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()?;
    let Some((token, to, cc, subject, body, created_at)) = row else {
        return Ok(());
    };
    let from = parse_mailbox("from", settings.from_mailbox())?;
    let domain = match &settings.message_id_domain {
        Some(d) => d.clone(),
        None => from.email.domain().to_string(),
    };
    let message_id = format!("<jixiao.{id}.{token}@{domain}>");
    let mut st = conn.prepare_cached(
        "SELECT file_name, content_type, bytes FROM mail_attachment
         WHERE outbox_id = ?1 ORDER BY position",
    )?;
    let attachments = st
        .query_map([id], |r| {
            Ok(Attachment {
                file_name: r.get(0)?,
                content_type: r.get(1)?,
                bytes: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let msg = OutgoingMessage {
        to: unjson(&to),
        cc: unjson(&cc),
        subject,
        body,
        attachments,
        kind: String::new(),
        reference: String::new(),
    };
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(created_at.max(0) as u64);
    let raw = render(&msg, &from, &message_id, date)?;
    conn.execute(
        "UPDATE mail_outbox SET raw = ?2, message_id = ?3, envelope_from = ?4
         WHERE id = ?1 AND raw IS NULL",
        params![id, raw, message_id, from.email.to_string()],
    )?;
    Ok(())
}

/// Records that the server accepted the message (or the `.eml` file was written).
pub(crate) fn mark_sent(
    conn: &Connection,
    id: i64,
    now: DateTime<Utc>,
    reply: &str,
) -> Result<(), MailError> {
    conn.execute(
        "UPDATE mail_outbox SET status = 'sent', sent_at = ?2, claimed_at = NULL, last_error = ?3
         WHERE id = ?1",
        params![id, now.timestamp(), reply],
    )?;
    Ok(())
}

/// Records a temporary failure: queued again for `next`.
pub(crate) fn mark_deferred(
    conn: &Connection,
    id: i64,
    next: DateTime<Utc>,
    error: &str,
) -> Result<(), MailError> {
    conn.execute(
        "UPDATE mail_outbox
         SET status = 'queued', next_attempt_at = ?2, claimed_at = NULL, last_error = ?3
         WHERE id = ?1",
        params![id, next.timestamp(), error],
    )?;
    Ok(())
}

/// Records a permanent failure, for a person to look at.
pub(crate) fn mark_failed(conn: &Connection, id: i64, error: &str) -> Result<(), MailError> {
    conn.execute(
        "UPDATE mail_outbox SET status = 'failed', claimed_at = NULL, last_error = ?2
         WHERE id = ?1",
        params![id, error],
    )?;
    Ok(())
}

/// Moves a message that was due but not tried (the server could not be reached for an earlier
/// one) to `next`, without counting an attempt.
pub(crate) fn postpone(
    conn: &Connection,
    id: i64,
    next: DateTime<Utc>,
    error: &str,
) -> Result<(), MailError> {
    conn.execute(
        "UPDATE mail_outbox SET next_attempt_at = MAX(next_attempt_at, ?2), last_error = ?3
         WHERE id = ?1 AND status = 'queued'",
        params![id, next.timestamp(), error],
    )?;
    Ok(())
}

/// The stored message bytes, e.g. to show a person exactly what was sent.
pub fn raw_message(conn: &Connection, id: i64) -> Result<Option<Vec<u8>>, MailError> {
    let raw: Option<Option<Vec<u8>>> = conn
        .query_row("SELECT raw FROM mail_outbox WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    raw.ok_or(MailError::NotFound(id))
}
