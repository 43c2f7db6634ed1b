//! The durable outbox: one row per message, with its attachments as BLOBs.
//!
//! A row goes `queued` → `sending` (claimed by a sender, just before it talks to the server) →
//! `sent`, or back to `queued` with a later `next_attempt_at` after a temporary failure, or to
//! `failed` after a permanent one (5xx) or too many attempts. The message bytes, with their
//! Message-ID, are stored once, when the row is first claimed: every automatic retry sends exactly
//! the same bytes. A failed row retried by a person may be given new recipients; its bytes are
//! then rendered again, keeping the Message-ID. A sent row is never queued again. What a message is and how it is rendered and sent is [`crate::mail`]'s business;
//! this module only keeps the rows.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

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
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Failed => "failed",
        }
    }

    /// The word shown to the finance office.
    pub(crate) fn label(self) -> &'static str {
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

/// Which rows `list` returns.
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
    pub(crate) kind: String,
    pub(crate) reference: String,
    pub status: Status,
    pub(crate) to: Vec<String>,
    pub(crate) cc: Vec<String>,
    /// The department (code) whose contacts it is addressed to; none for the finance office's
    /// own mail.
    pub(crate) department: Option<String>,
    pub(crate) subject: String,
    pub attachments: Vec<String>,
    pub attempts: u32,
    pub(crate) created_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The server's reply (or the connection error) of the last attempt.
    pub last_error: Option<String>,
    /// Known once the message has been rendered (at its first attempt).
    pub message_id: Option<String>,
}

/// A file attached to a message, with the name the recipient sees.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A message to keep, already checked by its sender.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewMessage<'a> {
    pub(crate) kind: &'a str,
    pub(crate) reference: &'a str,
    /// A random token, unique per message: the Message-ID is made from it.
    pub(crate) token: &'a str,
    pub(crate) to: &'a [String],
    pub(crate) cc: &'a [String],
    pub(crate) department: Option<&'a str>,
    pub(crate) subject: &'a str,
    pub(crate) body: &'a str,
    pub(crate) attachments: &'a [Attachment],
}

/// A queued message whose bytes have not been rendered yet.
#[derive(Debug, Clone)]
pub(crate) struct Unrendered {
    pub(crate) token: String,
    /// Kept from an earlier rendering when a person re-addressed the message.
    pub(crate) message_id: Option<String>,
    pub(crate) to: Vec<String>,
    pub(crate) cc: Vec<String>,
    pub(crate) subject: String,
    pub(crate) body: String,
    pub(crate) attachments: Vec<Attachment>,
    pub(crate) created_at: DateTime<Utc>,
}

/// A message claimed for one attempt, with the exact bytes to send.
#[derive(Debug, Clone)]
pub(crate) struct ClaimedRow {
    pub(crate) kind: String,
    pub(crate) attempts: u32,
    pub(crate) message_id: String,
    pub(crate) envelope_from: String,
    pub(crate) to: Vec<String>,
    pub(crate) cc: Vec<String>,
    pub(crate) raw: Vec<u8>,
}

/// How long a claim lasts before another sender may take the row over: far longer than one
/// delivery can take with the timeouts in force.
pub const CLAIM_LEASE: Duration = Duration::from_secs(30 * 60);

/// Keeps a message in the caller's transaction, so it is recorded together with the letter or
/// notice it carries (or not at all). Returns the row id.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    msg: &NewMessage,
    now: DateTime<Utc>,
) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO mail_outbox (kind, reference, token, to_addrs, cc_addrs, subject, body,
                                  created_at, next_attempt_at, department)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
        params![
            msg.kind,
            msg.reference,
            msg.token,
            json(msg.to),
            json(msg.cc),
            msg.subject,
            msg.body,
            now.timestamp(),
            msg.department
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
    Ok(id)
}

fn json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

fn unjson(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

fn time(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

const ROW_COLUMNS: &str = "id, kind, reference, status, to_addrs, cc_addrs, subject, attempts,
    created_at, next_attempt_at, sent_at, last_error, message_id, department";

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    let status = Status::parse(&r.get::<_, String>(3)?);
    Ok(OutboxRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        reference: r.get(2)?,
        status,
        to: unjson(&r.get::<_, String>(4)?),
        cc: unjson(&r.get::<_, String>(5)?),
        department: r.get(13)?,
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

fn attachment_names(conn: &Connection, id: i64) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT file_name FROM mail_attachment WHERE outbox_id = ?1 ORDER BY position",
    )?;
    st.query_map([id], |r| r.get(0))?.collect()
}

/// The messages of the outbox, newest first.
pub(crate) fn list(conn: &Connection, filter: ListFilter) -> rusqlite::Result<Vec<OutboxRow>> {
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

/// One page of the outbox, newest first, with how many messages the filter matches: by status
/// and department when given. Only the page's rows are read (with their attachments' names).
pub(crate) fn list_page(
    conn: &Connection,
    status: Option<Status>,
    department: Option<&str>,
    limit: usize,
    offset: usize,
) -> rusqlite::Result<(Vec<OutboxRow>, usize)> {
    let filter = "(?1 IS NULL OR status = ?1) AND (?2 IS NULL OR department = ?2)";
    let status = status.map(Status::as_str);
    let total: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM mail_outbox WHERE {filter}"),
        rusqlite::params![status, department],
        |r| r.get(0),
    )?;
    let mut st = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM mail_outbox WHERE {filter} ORDER BY id DESC LIMIT ?3 OFFSET ?4"
    ))?;
    let mut rows = st
        .query_map(
            rusqlite::params![status, department, limit as i64, offset as i64],
            read_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    for r in &mut rows {
        r.attachments = attachment_names(conn, r.id)?;
    }
    Ok((rows, total as usize))
}

/// One message of the outbox.
pub(crate) fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<OutboxRow>> {
    let row = conn
        .query_row(
            &format!("SELECT {ROW_COLUMNS} FROM mail_outbox WHERE id = ?1"),
            [id],
            read_row,
        )
        .optional()?;
    match row {
        Some(mut row) => {
            row.attachments = attachment_names(conn, id)?;
            Ok(Some(row))
        }
        None => Ok(None),
    }
}

/// Makes a queued message due at `now`; `false` when it is not queued (any more).
pub(crate) fn hurry(conn: &Connection, id: i64, now: DateTime<Utc>) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE mail_outbox SET next_attempt_at = MIN(next_attempt_at, ?2)
         WHERE id = ?1 AND status = 'queued'",
        params![id, now.timestamp()],
    )?;
    Ok(n == 1)
}

/// Queues a failed message again at `now`, its attempts starting from zero; with `recipients`,
/// addressed to them and to be rendered again (keeping its Message-ID). `false` when it is not
/// failed (any more).
pub(crate) fn requeue_failed(
    conn: &Connection,
    id: i64,
    now: DateTime<Utc>,
    recipients: Option<(&[String], &[String])>,
) -> rusqlite::Result<bool> {
    let tx = conn.unchecked_transaction()?;
    let n = tx.execute(
        "UPDATE mail_outbox
         SET status = 'queued', attempts = 0, next_attempt_at = ?2, claimed_at = NULL
         WHERE id = ?1 AND status = 'failed'",
        params![id, now.timestamp()],
    )?;
    if n == 1
        && let Some((to, cc)) = recipients
    {
        tx.execute(
            "UPDATE mail_outbox SET to_addrs = ?2, cc_addrs = ?3, raw = NULL WHERE id = ?1",
            params![id, json(to), json(cc)],
        )?;
    }
    tx.commit()?;
    Ok(n == 1)
}

/// Queues again every message a stopped sender left in `sending`; returns how many there were.
pub(crate) fn recover_interrupted(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE mail_outbox SET status = 'queued', claimed_at = NULL
         WHERE status = 'sending'",
        [],
    )
}

/// Ids of the messages due at `now`: queued ones whose time has come, and claims that outlived
/// [`CLAIM_LEASE`].
pub(crate) fn due(conn: &Connection, now: DateTime<Utc>) -> rusqlite::Result<Vec<i64>> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM mail_outbox
         WHERE (status = 'queued' AND next_attempt_at <= ?1)
            OR (status = 'sending' AND claimed_at <= ?2)
         ORDER BY next_attempt_at, id",
    )?;
    st.query_map(
        params![
            now.timestamp(),
            now.timestamp() - CLAIM_LEASE.as_secs() as i64
        ],
        |r| r.get(0),
    )?
    .collect()
}

/// The earliest time a queued message is due, to know how long a sender may sleep.
pub(crate) fn next_due(conn: &Connection) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let t: Option<i64> = conn.query_row(
        "SELECT MIN(next_attempt_at) FROM mail_outbox WHERE status = 'queued'",
        [],
        |r| r.get(0),
    )?;
    Ok(t.map(time))
}

/// The message as queued, when its bytes have not been rendered yet.
pub(crate) fn unrendered(conn: &Connection, id: i64) -> rusqlite::Result<Option<Unrendered>> {
    type Columns = (String, String, String, String, String, i64, Option<String>);
    let row: Option<Columns> = conn
        .query_row(
            "SELECT token, to_addrs, cc_addrs, subject, body, created_at, message_id
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
                    r.get(6)?,
                ))
            },
        )
        .optional()?;
    let Some((token, to, cc, subject, body, created_at, message_id)) = row else {
        return Ok(None);
    };
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
    Ok(Some(Unrendered {
        token,
        message_id,
        to: unjson(&to),
        cc: unjson(&cc),
        subject,
        body,
        attachments,
        created_at: time(created_at),
    }))
}

/// Stores the rendered bytes, Message-ID and envelope sender, once.
pub(crate) fn store_rendered(
    conn: &Connection,
    id: i64,
    raw: &[u8],
    message_id: &str,
    envelope_from: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE mail_outbox SET raw = ?2, message_id = ?3, envelope_from = ?4
         WHERE id = ?1 AND raw IS NULL",
        params![id, raw, message_id, envelope_from],
    )?;
    Ok(())
}

/// Claims a rendered message for one attempt (`sending`, one more attempt). `None` when another
/// sender took it first or it is no longer due.
pub(crate) fn claim(
    conn: &Connection,
    id: i64,
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<ClaimedRow>> {
    let n = conn.execute(
        "UPDATE mail_outbox
         SET status = 'sending', claimed_at = ?2, attempts = attempts + 1
         WHERE id = ?1 AND raw IS NOT NULL
           AND ((status = 'queued' AND next_attempt_at <= ?2)
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
    conn.query_row(
        "SELECT kind, attempts, message_id, envelope_from, to_addrs, cc_addrs, raw
         FROM mail_outbox WHERE id = ?1",
        [id],
        |r| {
            Ok(ClaimedRow {
                kind: r.get(0)?,
                attempts: r.get(1)?,
                message_id: r.get(2)?,
                envelope_from: r.get(3)?,
                to: unjson(&r.get::<_, String>(4)?),
                cc: unjson(&r.get::<_, String>(5)?),
                raw: r.get(6)?,
            })
        },
    )
    .map(Some)
}

/// Records that the server accepted the message (or the `.eml` file was written).
pub(crate) fn mark_sent(
    conn: &Connection,
    id: i64,
    now: DateTime<Utc>,
    reply: &str,
) -> rusqlite::Result<()> {
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
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE mail_outbox
         SET status = 'queued', next_attempt_at = ?2, claimed_at = NULL, last_error = ?3
         WHERE id = ?1",
        params![id, next.timestamp(), error],
    )?;
    Ok(())
}

/// Records a permanent failure, for a person to look at.
pub(crate) fn mark_failed(conn: &Connection, id: i64, error: &str) -> rusqlite::Result<()> {
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
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE mail_outbox SET next_attempt_at = MAX(next_attempt_at, ?2), last_error = ?3
         WHERE id = ?1 AND status = 'queued'",
        params![id, next.timestamp(), error],
    )?;
    Ok(())
}

/// The stored message bytes (none before the first attempt); `None` when there is no such row.
pub(crate) fn raw_message(conn: &Connection, id: i64) -> rusqlite::Result<Option<Option<Vec<u8>>>> {
    conn.query_row("SELECT raw FROM mail_outbox WHERE id = ?1", [id], |r| {
        r.get(0)
    })
    .optional()
}

/// What a message says: its body and its attachments, to show a person.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Contents {
    pub(crate) body: String,
    pub(crate) attachments: Vec<AttachedFile>,
}

/// An attachment's name, type and size in bytes.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AttachedFile {
    pub(crate) file_name: String,
    pub(crate) content_type: String,
    pub(crate) size: i64,
}

/// A message's body and attachments; `None` when there is no such row.
pub(crate) fn contents(conn: &Connection, id: i64) -> rusqlite::Result<Option<Contents>> {
    let Some(body) = conn
        .query_row("SELECT body FROM mail_outbox WHERE id = ?1", [id], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
    else {
        return Ok(None);
    };
    let mut st = conn.prepare_cached(
        "SELECT file_name, content_type, LENGTH(bytes) FROM mail_attachment
         WHERE outbox_id = ?1 ORDER BY position",
    )?;
    let attachments = st
        .query_map([id], |r| {
            Ok(AttachedFile {
                file_name: r.get(0)?,
                content_type: r.get(1)?,
                size: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Contents { body, attachments }))
}

/// How many messages there are of each status.
pub(crate) fn counts(conn: &Connection) -> rusqlite::Result<Vec<(Status, i64)>> {
    let mut st = conn.prepare_cached("SELECT status, COUNT(*) FROM mail_outbox GROUP BY status")?;
    st.query_map([], |r| {
        Ok((Status::parse(&r.get::<_, String>(0)?), r.get(1)?))
    })?
    .collect()
}
