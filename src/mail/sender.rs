//! Delivering the outbox: over SMTP (plain, STARTTLS or implicit TLS, with authentication and
//! timeouts), or as `.eml` files when no server is configured; retries with exponential backoff.
//!
//! What counts as what:
//! - the server accepted the message (250 after DATA), or the `.eml` file was written → `sent`;
//! - a 5xx reply to MAIL, RCPT or DATA → `failed` with the server's reply: this message will not
//!   be accepted as it is, a person must look at it;
//! - a 4xx reply, a timeout, a refused or broken connection, a TLS or authentication problem
//!   (even a 5xx at greeting, EHLO, STARTTLS or AUTH: the server or our configuration is at fault,
//!   not the message) → `queued` again after the backoff, and `failed` once `max_attempts`
//!   attempts have been made.
//!
//! When the server cannot be reached, the other messages due in the same pass are not tried: they
//! wait for the same retry time, without an attempt counted.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, SmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use rusqlite::Connection;

use super::outbox::{self, Claimed};
use super::{MailError, MailSettings, Security, SmtpSettings};
use crate::runtime::{Clock, Hooks};
use crate::store::outbox as rows;

/// What one pass of [`deliver_due`] did, by outbox id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: Vec<i64>,
    /// Temporary failures, queued again after the backoff.
    pub deferred: Vec<i64>,
    /// Permanent failures and messages given up on.
    pub failed: Vec<i64>,
    /// Due but not tried because the server could not be reached for an earlier message.
    pub postponed: Vec<i64>,
}

impl DeliveryReport {
    pub fn is_empty(&self) -> bool {
        self.sent.is_empty()
            && self.deferred.is_empty()
            && self.failed.is_empty()
            && self.postponed.is_empty()
    }
}

/// One pass over the outbox: claims every message due at `now`, delivers it and records the
/// outcome. Returns an error only for a broken configuration or database; delivery failures are
/// recorded in the rows.
pub fn deliver_due(
    conn: &Connection,
    settings: &MailSettings,
    now: DateTime<Utc>,
    hooks: Hooks,
) -> Result<DeliveryReport, MailError> {
    deliver_until(conn, settings, now, hooks, &AtomicBool::new(false))
}

/// [`deliver_due`] that ends between two messages once `stop` is set; the messages not reached
/// stay queued and due.
pub(crate) fn deliver_until(
    conn: &Connection,
    settings: &MailSettings,
    now: DateTime<Utc>,
    hooks: Hooks,
    stop: &AtomicBool,
) -> Result<DeliveryReport, MailError> {
    let mut report = DeliveryReport::default();
    let due = rows::due(conn, now)?;
    if due.is_empty() {
        return Ok(report);
    }
    settings.ready_to_send()?;
    let started = Instant::now();
    let mut transport = Transport::new(settings)?;
    for (i, &id) in due.iter().enumerate() {
        if stop.load(Ordering::SeqCst) {
            tracing::info!(
                left = due.len() - i,
                "mail delivery stopped between messages; the rest stay queued"
            );
            break;
        }
        let claimed = match outbox::claim(conn, id, settings, now) {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(MailError::Sqlite(e)) => return Err(MailError::Sqlite(e)),
            Err(e) => {
                // The stored message cannot be built: no attempt will ever succeed.
                tracing::error!(id, error = %e, "mail cannot be built");
                rows::mark_failed(conn, id, &e.to_string())?;
                report.failed.push(id);
                continue;
            }
        };
        match transport.deliver(&claimed) {
            Ok(reply) => {
                if transport.is_smtp() && hooks.abort_after_smtp_accept {
                    std::process::abort();
                }
                rows::mark_sent(conn, id, now, &reply)?;
                tracing::info!(id, kind = %claimed.kind, message_id = %claimed.message_id, "mail sent");
                report.sent.push(id);
            }
            Err(f) => {
                let give_up = f.permanent || claimed.attempts >= settings.retry.max_attempts;
                // The backoff counts from the failure, not from the start of the pass: a server
                // that lets each attempt time out is not tried again back to back.
                let failed_at = now
                    + chrono::Duration::from_std(started.elapsed())
                        .unwrap_or(chrono::Duration::zero());
                let next = failed_at + delay(settings.retry.delay_after(claimed.attempts));
                if give_up {
                    let text = if f.permanent {
                        f.text.clone()
                    } else {
                        format!("gave up after {} attempts: {}", claimed.attempts, f.text)
                    };
                    rows::mark_failed(conn, id, &text)?;
                    tracing::error!(id, kind = %claimed.kind, error = %text, "mail failed");
                    report.failed.push(id);
                } else {
                    rows::mark_deferred(conn, id, next, &f.text)?;
                    tracing::warn!(id, attempts = claimed.attempts, retry_at = %next, error = %f.text, "mail deferred");
                    report.deferred.push(id);
                }
                if f.unreachable {
                    let note = format!("not tried: {}", f.text);
                    for &rest in &due[i + 1..] {
                        rows::postpone(conn, rest, next, &note)?;
                        report.postponed.push(rest);
                    }
                    break;
                }
            }
        }
    }
    transport.close();
    Ok(report)
}

fn delay(secs: u64) -> chrono::Duration {
    chrono::Duration::seconds(secs.min(i64::MAX as u64 / 1000) as i64)
}

/// Why an attempt did not deliver.
#[derive(Debug)]
struct Failure {
    /// The server refused this message for good (5xx to MAIL, RCPT or DATA).
    permanent: bool,
    /// The server could not be reached or spoken to; later messages would fail the same way.
    unreachable: bool,
    text: String,
}

enum Transport {
    Smtp(Box<Smtp>),
    Files(PathBuf),
}

struct Smtp {
    settings: SmtpSettings,
    password: Option<String>,
    tls: Option<TlsParameters>,
    hello: ClientId,
    conn: Option<SmtpConnection>,
}

impl Transport {
    fn new(settings: &MailSettings) -> Result<Transport, MailError> {
        let Some(s) = &settings.smtp else {
            return Ok(Transport::Files(settings.outbox_dir.clone()));
        };
        let tls = match s.security {
            Security::None => None,
            Security::Starttls | Security::Tls => {
                let mut b = TlsParameters::builder(s.host.clone());
                if let Some(ca) = &s.ca_file {
                    let pem = std::fs::read(ca).map_err(|e| {
                        MailError::Config(format!("smtp.ca_file {}: {e}", ca.display()))
                    })?;
                    let cert = Certificate::from_pem(&pem).map_err(|e| {
                        MailError::Config(format!("smtp.ca_file {}: {e}", ca.display()))
                    })?;
                    b = b.add_root_certificate(cert);
                }
                Some(
                    b.build_rustls()
                        .map_err(|e| MailError::Config(format!("smtp TLS: {e}")))?,
                )
            }
        };
        let hello = match &s.hello_name {
            Some(h) => ClientId::Domain(h.clone()),
            None => ClientId::default(),
        };
        Ok(Transport::Smtp(Box::new(Smtp {
            settings: s.clone(),
            password: s.password()?,
            tls,
            hello,
            conn: None,
        })))
    }

    fn is_smtp(&self) -> bool {
        matches!(self, Transport::Smtp(_))
    }

    fn deliver(&mut self, c: &Claimed) -> Result<String, Failure> {
        match self {
            Transport::Smtp(s) => s.deliver(c),
            Transport::Files(dir) => write_eml(dir, c).map_err(|e| Failure {
                permanent: false,
                unreachable: true,
                text: e.to_string(),
            }),
        }
    }

    fn close(self) {
        if let Transport::Smtp(mut s) = self
            && let Some(mut conn) = s.conn.take()
        {
            let _ = conn.quit();
        }
    }
}

impl Smtp {
    fn connect(&self) -> Result<SmtpConnection, String> {
        let s = &self.settings;
        let wrapper = match s.security {
            Security::Tls => self.tls.as_ref(),
            _ => None,
        };
        let mut conn = SmtpConnection::connect(
            (s.host.as_str(), s.port()),
            Some(Duration::from_secs(s.connect_timeout_secs.max(1))),
            &self.hello,
            wrapper,
            None,
        )
        .map_err(|e| describe(&e))?;
        conn.set_timeout(Some(Duration::from_secs(s.command_timeout_secs.max(1))))
            .map_err(|e| format!("setting the command timeout: {e}"))?;
        if let (Security::Starttls, Some(tls)) = (s.security, &self.tls) {
            conn.starttls(tls, &self.hello)
                .map_err(|e| format!("STARTTLS: {}", describe(&e)))?;
        }
        if let (Some(user), Some(pw)) = (&s.username, &self.password) {
            conn.auth(
                &[Mechanism::Plain, Mechanism::Login],
                &Credentials::new(user.clone(), pw.clone()),
            )
            .map_err(|e| format!("AUTH: {}", describe(&e)))?;
        }
        Ok(conn)
    }

    fn deliver(&mut self, c: &Claimed) -> Result<String, Failure> {
        let envelope = envelope(c).map_err(|text| Failure {
            permanent: true,
            unreachable: false,
            text,
        })?;
        if self.conn.is_none() {
            let conn = self.connect().map_err(|e| Failure {
                permanent: false,
                unreachable: true,
                text: format!("{}:{}: {e}", self.settings.host, self.settings.port()),
            })?;
            self.conn = Some(conn);
        }
        let Some(conn) = self.conn.as_mut() else {
            unreachable!("connected just above");
        };
        match conn.send(&envelope, &c.raw) {
            Ok(resp) => Ok(format!(
                "{} {}",
                resp.code(),
                resp.message().collect::<Vec<_>>().join(" ")
            )),
            Err(e) => {
                // lettre closes the connection after a failed command; start afresh next time.
                self.conn = None;
                Err(Failure {
                    permanent: e.is_permanent(),
                    unreachable: !(e.is_permanent() || e.is_transient()),
                    text: describe(&e),
                })
            }
        }
    }
}

/// The error with the server's own words when there are any: `550 5.1.1 mailbox unavailable`;
/// a read or write that ran out of time says `timed out`, not the operating system's
/// `Resource temporarily unavailable`.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let timed_out = s.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            )
        });
        if timed_out {
            return "timed out waiting for the server".to_string();
        }
        parts.push(s.to_string());
        source = s.source();
    }
    if e.is_timeout() {
        return "timed out waiting for the server".to_string();
    }
    match e.status() {
        Some(code) if !parts.is_empty() => format!("{code} {}", parts.join(": ")),
        _ => {
            let mut text = e.to_string();
            for p in parts {
                if !text.contains(&p) {
                    text.push_str(": ");
                    text.push_str(&p);
                }
            }
            text
        }
    }
}

fn envelope(c: &Claimed) -> Result<Envelope, String> {
    let from: Address = c
        .envelope_from
        .parse()
        .map_err(|e| format!("sender {}: {e}", c.envelope_from))?;
    let to = c
        .recipients
        .iter()
        .map(|r| {
            r.parse::<Address>()
                .map_err(|e| format!("recipient {r}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Envelope::new(Some(from), to).map_err(|e| e.to_string())
}

/// Writes the message as `<dir>/<id>-<kind>.eml`, replacing the file of an earlier attempt, so a
/// retry never leaves two copies.
fn write_eml(dir: &Path, c: &Claimed) -> Result<String, MailError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| MailError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let kind: String = c
        .kind
        .chars()
        .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '-' || *ch == '_')
        .collect();
    let name = if kind.is_empty() {
        format!("{:06}.eml", c.id)
    } else {
        format!("{:06}-{kind}.eml", c.id)
    };
    let path = dir.join(&name);
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, &c.raw).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(format!("written to {}", path.display()))
}

enum Signal {
    Wake,
    Stop,
}

/// A handle that nudges the sender after a message was queued. Cheap to clone, usable from any
/// thread.
#[derive(Clone)]
pub struct Waker(mpsc::Sender<Signal>);

impl Waker {
    /// Makes the sender look at the outbox now instead of at its next planned time.
    pub fn wake(&self) {
        let _ = self.0.send(Signal::Wake);
    }
}

/// The sender thread: runs [`deliver_due`] whenever woken and whenever a queued message becomes
/// due (and at least every `POLL`, for messages queued by another process).
pub struct Sender {
    signals: mpsc::Sender<Signal>,
    /// Set when asked to stop: the pass in progress ends after the message being sent.
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

/// The longest the sender sleeps without looking at the outbox. Looking is one indexed query;
/// it is how a message queued or retried by another process (`jixiao outbox retry`, `jixiao
/// consolidate --mail`) goes out within seconds.
const POLL: Duration = Duration::from_secs(2);

/// The wait after a pass that failed as a whole (a broken configuration or database).
const AFTER_ERROR: Duration = Duration::from_secs(30);

impl Sender {
    /// Opens its own connection to the state database, creates the outbox tables, queues again
    /// what a stopped sender left half-done, and starts the thread. Only one sender may run per
    /// state database.
    pub fn start(
        db: &Path,
        settings: MailSettings,
        clock: Arc<dyn Clock>,
        hooks: Hooks,
    ) -> Result<Sender, MailError> {
        settings.ready_to_send()?;
        let conn = crate::store::open(db)?;
        outbox::recover_interrupted(&conn)?;
        let (signals, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("jixiao-mail".into())
            .spawn(move || run(conn, settings, clock, hooks, rx, &flag))
            .map_err(|e| MailError::Config(format!("starting the mail thread: {e}")))?;
        Ok(Sender {
            signals,
            stop,
            handle: Some(handle),
        })
    }

    /// A handle to nudge the sender from other threads.
    pub fn waker(&self) -> Waker {
        Waker(self.signals.clone())
    }

    /// Makes the sender look at the outbox now.
    pub(crate) fn wake(&self) {
        let _ = self.signals.send(Signal::Wake);
    }

    /// Stops the thread after the message being sent (the others stay queued), and waits for
    /// it: a service manager's stop timeout is not spent on a whole pass against a slow server.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.signals.send(Signal::Stop);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(
    conn: Connection,
    settings: MailSettings,
    clock: Arc<dyn Clock>,
    hooks: Hooks,
    rx: mpsc::Receiver<Signal>,
    stop: &AtomicBool,
) {
    let mut last_error: Option<(String, Instant)> = None;
    loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let now = clock.now().with_timezone(&Utc);
        let passed = deliver_until(&conn, &settings, now, hooks, stop);
        match &passed {
            Ok(_) => last_error = None,
            Err(e) => {
                // The same error every pass is logged once every ten minutes.
                let text = e.to_string();
                let repeat = matches!(&last_error, Some((t, at)) if *t == text && at.elapsed() < Duration::from_secs(600));
                if !repeat {
                    tracing::error!(error = %text, "mail delivery pass failed");
                    last_error = Some((text, Instant::now()));
                }
            }
        }
        let wait = match rows::next_due(&conn) {
            _ if passed.is_err() => AFTER_ERROR,
            Ok(Some(t)) => (t - clock.now().with_timezone(&Utc))
                .to_std()
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(200), POLL),
            _ => POLL,
        };
        match rx.recv_timeout(wait) {
            Ok(Signal::Wake) | Err(mpsc::RecvTimeoutError::Timeout) => {
                // Several wake-ups in a row need one pass only.
                while let Ok(s) = rx.try_recv() {
                    if let Signal::Stop = s {
                        return;
                    }
                }
            }
            Ok(Signal::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}
