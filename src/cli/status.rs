//! `jixiao status`: for an operator, whether the daemon runs, what is pending and why, files
//! waiting in the inboxes, files not taken (and whether their department was told), mail queued
//! or failed, whether the summary workbook is current, free space under the state folder, forms
//! overdue and recent submissions; `--json` prints the same as one object for monitoring. It
//! reads the configuration and the state only: no mail password is needed.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Datelike, Local};
use serde::Serialize;

use crate::config::Config;
use crate::runtime::Clock;
use crate::store::submissions::{self, Stage};

/// Everything `jixiao status` reports.
#[derive(Debug, Serialize)]
struct Report {
    config: String,
    daemon: Daemon,
    submissions: serde_json::Map<String, serde_json::Value>,
    pending: Vec<Pending>,
    waiting: Vec<String>,
    refused: Vec<Refused>,
    mail: Mail,
    sign_off: SignOff,
    summary: Summary,
    disk: Disk,
    overdue: Vec<crate::cycle::Owed>,
    recent: Vec<Recent>,
}

#[derive(Debug, Serialize)]
struct Daemon {
    /// Another process holds the state folder's lock: the daemon (or `outbox deliver`) runs.
    running: bool,
    lock: String,
}

/// Work begun and not finished, with why it waits.
#[derive(Debug, Serialize)]
struct Pending {
    /// `submission` (recorded, file not yet moved), `reading` (a file handed to a reader and
    /// not recorded), `mail` (a message that failed and waits for its next try).
    kind: &'static str,
    department: Option<String>,
    what: String,
    attempts: u32,
    last_error: Option<String>,
    since: String,
}

#[derive(Debug, Serialize)]
struct Refused {
    seen_at: String,
    department: Option<String>,
    path: String,
    reason: &'static str,
    moved_to: Option<String>,
    notified: bool,
}

#[derive(Debug, Serialize)]
struct Mail {
    queued: usize,
    failed: Vec<FailedMail>,
}

#[derive(Debug, Serialize)]
struct FailedMail {
    id: i64,
    subject: String,
    to: Vec<String>,
    attempts: u32,
    reason: Option<String>,
}

/// Letters held for a reviewer's sign-off (`[letters] sign_off`, the console's 待签发).
#[derive(Debug, Serialize)]
struct SignOff {
    /// The kinds held.
    kinds: Vec<String>,
    waiting: usize,
    /// When the oldest waiting letter was held.
    oldest: Option<String>,
    /// The waiting letters, oldest first (at most the limit).
    letters: Vec<HeldLetter>,
}

#[derive(Debug, Serialize)]
struct HeldLetter {
    submission: i64,
    department: String,
    kind: String,
    project: Option<String>,
    held_at: String,
}

#[derive(Debug, Serialize)]
struct Summary {
    year: i32,
    path: String,
    exists: bool,
    written_at: Option<String>,
    /// Written after the last submission of its year was received.
    current: bool,
}

#[derive(Debug, Serialize)]
struct Disk {
    state_dir: String,
    free_bytes: u64,
    total_bytes: u64,
}

#[derive(Debug, Serialize)]
struct Recent {
    id: i64,
    received_at: String,
    department: String,
    outcome: &'static str,
    file_name: String,
    project: Option<String>,
    stage: &'static str,
    moved_to: Option<String>,
}

/// Whether a daemon holds the lock of the state folder (`jixiao.lock`, see `watch::lock_state`).
/// The lock is tried for a moment only, on the existing file opened for reading: `status` run by
/// another user (root) creates no lock file the daemon's user could not open.
fn daemon_running(state_dir: &Path) -> anyhow::Result<bool> {
    let path = state_dir.join("jixiao.lock");
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(anyhow::Error::from(e).context(format!("opening {}", path.display())));
        }
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(false),
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(anyhow::Error::from(e).context(format!("trying {}", path.display())))
        }
    }
}

/// Free and total bytes of the file system holding `dir`.
fn disk_space(dir: &Path) -> anyhow::Result<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    // A state folder not made yet: the file system it will be made on.
    let dir = dir.ancestors().find(|d| d.exists()).unwrap_or(dir);
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a writable statvfs.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(anyhow::Error::from(std::io::Error::last_os_error())
            .context(format!("free space of {}", dir.display())));
    }
    let unit = st.f_frsize as u64;
    Ok((st.f_bavail as u64 * unit, st.f_blocks as u64 * unit))
}

/// The summary workbook of `year`: whether it exists and was written after the year's last
/// submission.
fn summary(cfg: &Config, conn: &rusqlite::Connection, year: i32) -> anyhow::Result<Summary> {
    let path = crate::summary::default_path(&cfg.reports_dir, year);
    let written = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .map(DateTime::<Local>::from);
    let last: Option<String> = conn.query_row(
        "SELECT MAX(received_at) FROM submissions WHERE year = ?1",
        [year],
        |r| r.get(0),
    )?;
    let last = last.and_then(|t| DateTime::parse_from_rfc3339(&t).ok());
    let current = match (written, last) {
        (Some(w), Some(l)) => w >= l,
        (Some(_), None) => true,
        (None, _) => false,
    };
    Ok(Summary {
        year,
        path: path.display().to_string(),
        exists: written.is_some(),
        written_at: written.map(|w| w.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)),
        current,
    })
}

fn report(cfg: &Config, clock: &dyn Clock, limit: usize) -> anyhow::Result<Report> {
    let today = clock.today();
    let running = daemon_running(&cfg.state_dir)?;
    let conn = crate::store::open(&cfg.database())?;
    let mut counts = serde_json::Map::new();
    for (o, n) in submissions::counts(&conn)? {
        counts.insert(o.as_str().to_string(), n.into());
    }
    let mut pending = Vec::new();
    for s in submissions::unfinished(&conn)? {
        pending.push(Pending {
            kind: "submission",
            department: Some(s.department.clone()),
            what: format!("#{} {} (recorded, file not yet moved)", s.id, s.inbox_path),
            attempts: 0,
            last_error: None,
            since: s.received_at.clone(),
        });
    }
    for r in crate::store::judging::list(&conn)? {
        pending.push(Pending {
            kind: "reading",
            department: Some(r.department),
            what: r.inbox_path,
            attempts: r.tries,
            last_error: (r.tries > 1 || !running)
                .then(|| "the daemon stopped while reading it".to_string()),
            since: r.updated_at,
        });
    }
    for f in crate::store::failures::list(&conn)? {
        let department = cfg
            .departments
            .iter()
            .find(|d| f.path.starts_with(&format!("{}/", d.folder)))
            .map(|d| d.code.clone());
        pending.push(Pending {
            kind: "retrying",
            department,
            what: f.path,
            attempts: f.attempts,
            last_error: Some(f.last_error),
            since: f.updated_at,
        });
    }
    let mail = crate::mail::outbox::list(&conn, crate::mail::ListFilter::All)?;
    for m in &mail {
        if m.status == crate::mail::Status::Queued && m.attempts > 0 {
            pending.push(Pending {
                kind: "mail",
                department: m.department.clone(),
                what: format!(
                    "#{} {} → {} (next try {})",
                    m.id,
                    m.subject,
                    m.to.join(", "),
                    m.next_attempt_at
                        .map(|t| t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default()
                ),
                attempts: m.attempts,
                last_error: m.last_error.clone(),
                since: m.created_at.with_timezone(&Local).to_rfc3339(),
            });
        }
    }
    let mut waiting = Vec::new();
    for d in &cfg.departments {
        let dir = cfg.root.join(&d.folder);
        for e in walkdir::WalkDir::new(&dir)
            .follow_links(false)
            .into_iter()
            .flatten()
        {
            if e.file_type().is_file()
                && crate::inbox::classify(&cfg.root, &cfg.departments, &cfg.folders, e.path())
                    .is_some()
            {
                waiting.push(e.path().display().to_string());
            }
        }
    }
    let refused = crate::store::strays::recent(&conn, limit)?
        .into_iter()
        .map(|f| Refused {
            seen_at: f.seen_at,
            department: f.department,
            path: f.path,
            reason: f.reason.label(),
            moved_to: f.moved_to,
            notified: f.notified,
        })
        .collect();
    let queued = mail
        .iter()
        .filter(|m| {
            matches!(
                m.status,
                crate::mail::Status::Queued | crate::mail::Status::Sending
            )
        })
        .count();
    let failed = mail
        .iter()
        .filter(|m| m.status == crate::mail::Status::Failed)
        .map(|m| FailedMail {
            id: m.id,
            subject: m.subject.clone(),
            to: m.to.clone(),
            attempts: m.attempts,
            reason: m.last_error.clone(),
        })
        .collect();
    let (held_waiting, oldest) = crate::store::held::waiting_count(&conn)?;
    let sign_off = SignOff {
        kinds: cfg.letters.sign_off.clone(),
        waiting: held_waiting,
        oldest,
        letters: crate::store::held::waiting(&conn)?
            .into_iter()
            .take(limit)
            .map(|h| HeldLetter {
                submission: h.submission_id,
                department: h.department,
                kind: h.kind,
                project: h.project_name,
                held_at: h.held_at,
            })
            .collect(),
    };
    let summary = summary(cfg, &conn, today.year())?;
    let (free_bytes, total_bytes) = disk_space(&cfg.state_dir)?;
    let overdue = crate::cycle::overdue(&conn, &cfg.calendar(), today)?;
    let recent = submissions::recent(&conn, limit)?
        .into_iter()
        .map(|s| Recent {
            id: s.id,
            received_at: s.received_at,
            department: s.department,
            outcome: s.outcome.as_str(),
            file_name: s.file_name,
            project: s.project_name,
            stage: match (s.stage, &s.moved_to) {
                (Stage::Done, Some(_)) => "done",
                (Stage::Done, None) => "not moved",
                _ => "pending",
            },
            moved_to: s.moved_to,
        })
        .collect();
    Ok(Report {
        config: cfg.file.display().to_string(),
        daemon: Daemon {
            running,
            lock: cfg.state_dir.join("jixiao.lock").display().to_string(),
        },
        submissions: counts,
        pending,
        waiting,
        refused,
        mail: Mail { queued, failed },
        sign_off,
        summary,
        disk: Disk {
            state_dir: cfg.state_dir.display().to_string(),
            free_bytes,
            total_bytes,
        },
        overdue,
        recent,
    })
}

/// Bytes for a person: `12.3 GB`.
fn human_bytes(n: u64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// `jixiao status`, for a person or (`json`) as one JSON object.
pub(crate) fn status(
    cfg: &Config,
    clock: &dyn Clock,
    limit: usize,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let r = report(cfg, clock, limit)?;
    if json {
        serde_json::to_writer_pretty(&mut *out, &r)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "daemon: {}",
        if r.daemon.running {
            "running"
        } else {
            "not running"
        }
    )?;
    writeln!(
        out,
        "submissions: {}",
        if r.submissions.is_empty() {
            "none".to_string()
        } else {
            r.submissions
                .iter()
                .map(|(o, n)| format!("{o} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    )?;
    if !r.pending.is_empty() {
        writeln!(out, "pending: {}", r.pending.len())?;
        for p in &r.pending {
            let tries = if p.attempts > 0 {
                format!(", {} tries", p.attempts)
            } else {
                String::new()
            };
            writeln!(
                out,
                "  {} {} {}  (since {}{tries}){}",
                p.kind,
                p.department.as_deref().unwrap_or("-"),
                p.what,
                p.since,
                p.last_error
                    .as_ref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            )?;
        }
    }
    if !r.waiting.is_empty() {
        writeln!(out, "waiting in the inboxes: {}", r.waiting.len())?;
        for w in &r.waiting {
            writeln!(out, "  {w}")?;
        }
    }
    if !r.refused.is_empty() {
        writeln!(out, "files not taken:")?;
        for f in &r.refused {
            let what = match (&f.moved_to, f.notified) {
                (Some(to), true) => format!("moved to {to}, department told"),
                (Some(to), false) => format!("moved to {to}, notice waiting"),
                (None, _) => "left where it is: nobody to tell".to_string(),
            };
            writeln!(
                out,
                "  {}  {}  {}  ({})  {what}",
                f.seen_at,
                f.department.as_deref().unwrap_or("-"),
                f.path,
                f.reason
            )?;
        }
    }
    writeln!(
        out,
        "mail: {} queued, {} failed",
        r.mail.queued,
        r.mail.failed.len()
    )?;
    for m in &r.mail.failed {
        writeln!(
            out,
            "  failed #{} {} → {}: {}  (jixiao outbox retry {})",
            m.id,
            m.subject,
            m.to.join(", "),
            m.reason.as_deref().unwrap_or(""),
            m.id
        )?;
    }
    if r.sign_off.waiting > 0 || !r.sign_off.kinds.is_empty() {
        writeln!(
            out,
            "letters waiting for sign-off: {}{}",
            r.sign_off.waiting,
            r.sign_off
                .oldest
                .as_ref()
                .map(|t| format!(", the oldest held since {t}"))
                .unwrap_or_default()
        )?;
        for h in &r.sign_off.letters {
            writeln!(
                out,
                "  #{} {} {} {}  (held since {})",
                h.submission,
                h.department,
                h.kind,
                h.project.as_deref().unwrap_or("-"),
                h.held_at
            )?;
        }
    }
    let s = &r.summary;
    writeln!(
        out,
        "summary workbook {}: {}",
        s.year,
        match (&s.written_at, s.current) {
            (None, _) => format!("not written yet ({})", s.path),
            (Some(at), true) => format!("current, written {at} ({})", s.path),
            (Some(at), false) => format!(
                "out of date, written {at} before the last submission ({})",
                s.path
            ),
        }
    )?;
    writeln!(
        out,
        "free space under {}: {} of {}",
        r.disk.state_dir,
        human_bytes(r.disk.free_bytes),
        human_bytes(r.disk.total_bytes)
    )?;
    if !r.overdue.is_empty() {
        writeln!(out, "overdue:")?;
        for (dept, items) in crate::cycle::overdue_by_department(&r.overdue) {
            let name = cfg
                .department_by_code(&dept)
                .map(|d| d.name.as_str())
                .unwrap_or(dept.as_str());
            for o in items {
                let what = if o.projects.is_empty() {
                    String::new()
                } else {
                    format!("（{}）", o.what())
                };
                writeln!(
                    out,
                    "  {name}: {} {}年 due {}{what}",
                    o.form.full_name(),
                    o.year,
                    o.due
                )?;
            }
        }
    }
    writeln!(out, "recent:")?;
    for s in &r.recent {
        let outcome = submissions::Outcome::parse(s.outcome)
            .map(|o| o.label())
            .unwrap_or(s.outcome);
        writeln!(
            out,
            "  #{:<5} {}  {:<6} {}  {}  {}{}",
            s.id,
            s.received_at,
            s.department,
            outcome,
            s.file_name,
            s.project.as_deref().unwrap_or(""),
            match s.stage {
                "done" => "",
                "not moved" => "  (not moved: deleted or replaced before it was moved)",
                _ => "  (pending)",
            }
        )?;
    }
    Ok(())
}
