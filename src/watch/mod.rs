//! The watcher daemon: every form put into a department's folder is taken once it is stable,
//! checked, recorded and answered exactly once, across crashes and restarts.
//!
//! A file goes through these steps:
//! 1. noticed (file-system event, periodic rescan, or polling) and held until its size and
//!    modification time have not changed for `watch.stable_ms`;
//! 2. read and hashed; the same content from the same department again is a duplicate;
//! 3. checked (a file that cannot be read as a workbook is tried once more after
//!    `watch.unreadable_retry_ms`), copied to the archive, and recorded in one SQLite
//!    transaction together with everything to be sent;
//! 4. moved out of the inbox to the accepted or returned folder, with the reasons beside a
//!    returned file, and marked done.
//!
//! A crash between 3 and 4 leaves a recorded submission whose file is still in the inbox (or
//! already moved); at start-up and when the file is seen again, step 4 is finished for it instead
//! of checking it again. A crash before 3 leaves nothing recorded, and the file is taken anew.

pub mod dispatch;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use rusqlite::Connection;
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use crate::check::CheckResult;
use crate::check::Status;
use crate::check::is_lock_file;
use crate::config::{Config, Department};
use crate::rules::issue::{Issue, IssueCode};
use crate::store::{self, NewSubmission, Outcome};
use crate::{Checked, Checker};

/// How long the daemon runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Process what is waiting (including files becoming stable) and return when nothing is left.
    pub once: bool,
}

/// A file under the root that is a department's submission.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxFile {
    pub department: String,
    /// Path inside the department's folder, `/`-separated.
    pub rel: String,
    pub path: PathBuf,
}

/// Names that are never forms: lock and temp files of Office, WPS and LibreOffice, partial
/// downloads and copies, hidden files.
pub fn is_ignored_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    name.starts_with('.')
        || is_lock_file(name)
        || name.starts_with('~')
        || [
            ".tmp",
            ".temp",
            ".part",
            ".partial",
            ".crdownload",
            ".swp",
            ".download",
        ]
        .iter()
        .any(|s| lower.ends_with(s))
        || lower == "thumbs.db"
        || lower == "desktop.ini"
}

/// Classifies a path under the root: a department's inbox file, or nothing to take.
pub fn classify(cfg: &Config, path: &Path) -> Option<InboxFile> {
    let rel = path.strip_prefix(&cfg.root).ok()?;
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?.to_string()),
            _ => return None,
        }
    }
    if parts.len() < 2 {
        return None;
    }
    let dept = cfg.department_by_folder(&parts[0])?;
    // The daemon's own output folders are not inboxes.
    if parts.len() > 2 && cfg.is_output_folder(&parts[1]) {
        return None;
    }
    if parts[1..].iter().any(|p| is_ignored_name(p)) {
        return None;
    }
    Some(InboxFile {
        department: dept.code.clone(),
        rel: parts[1..].join("/"),
        path: path.to_path_buf(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Seen {
    size: u64,
    mtime: Option<SystemTime>,
    since: Instant,
}

impl Seen {
    /// Not looked at yet: the next tick records its size and time and starts the wait.
    fn unseen() -> Seen {
        Seen {
            size: u64::MAX,
            mtime: None,
            since: Instant::now(),
        }
    }
}

/// The daemon's state between ticks.
pub struct Daemon {
    cfg: Config,
    checker: Checker,
    conn: Connection,
    candidates: HashMap<PathBuf, Seen>,
    /// Unreadable files waiting for their second try: path → (hash, first failure).
    deferred: HashMap<PathBuf, (String, Instant)>,
    /// Paths refused once (symlinks, paths escaping the root), not logged again.
    refused: HashMap<PathBuf, Instant>,
    /// Files whose processing failed: how often, and when to try again (backing off to 5 min).
    failures: HashMap<PathBuf, (u32, Instant)>,
    /// The summary workbooks to rebuild (at most once per `summary.refresh_secs`).
    summary: crate::summary::Refresher,
    /// When this run started: the mail schedule of the summary counts from here.
    started: chrono::NaiveDateTime,
    stop: Arc<AtomicBool>,
    /// The mail sender thread, nudged after each recorded submission.
    sender: Option<crate::mail::Sender>,
    /// Held while the daemon runs: one daemon per state folder.
    _lock: std::fs::File,
    letters: crate::letters::Letters,
}

fn now_text() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

fn hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Daemon {
    pub fn new(cfg: Config, checker: Checker, stop: Arc<AtomicBool>) -> anyhow::Result<Daemon> {
        for d in &cfg.departments {
            let dir = cfg.root.join(&d.folder);
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::create_dir_all(cfg.archive_dir())
            .with_context(|| format!("creating {}", cfg.archive_dir().display()))?;
        std::fs::create_dir_all(&cfg.state_dir)?;
        let lock_path = cfg.state_dir.join("jixiao.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("opening {}", lock_path.display()))?;
        if lock.try_lock().is_err() {
            anyhow::bail!(
                "another jixiao watch is running on {} (one daemon per state folder)",
                cfg.state_dir.display()
            );
        }
        let conn = store::open(&cfg.database())?;
        let letters = crate::letters::Letters::load(cfg.letters_dir.as_deref())
            .context("loading the letter templates")?;
        Ok(Daemon {
            summary: crate::summary::Refresher::new(cfg.summary.refresh_interval()),
            started: chrono::Local::now().naive_local(),
            cfg,
            checker,
            conn,
            candidates: HashMap::new(),
            deferred: HashMap::new(),
            refused: HashMap::new(),
            failures: HashMap::new(),
            stop,
            sender: None,
            _lock: lock,
            letters,
        })
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Runs until stopped (or, with `once`, until nothing is waiting).
    pub fn run(&mut self, opts: RunOptions) -> anyhow::Result<()> {
        if !opts.once {
            self.sender = Some(
                crate::mail::Sender::start(&self.cfg.database(), self.cfg.mail.clone())
                    .context("starting the mail sender")?,
            );
        }
        self.finish_unfinished()?;
        let (tx, rx) = mpsc::channel::<PathBuf>();
        let _watcher = if self.cfg.watch.poll || opts.once {
            None
        } else {
            Some(start_watcher(&self.cfg.root, tx)?)
        };
        self.scan();
        let rescan_every = if self.cfg.watch.poll {
            Duration::from_millis(self.cfg.watch.poll_ms)
        } else {
            Duration::from_secs(self.cfg.watch.rescan_secs.max(1))
        };
        let mut last_scan = Instant::now();
        let tick = Duration::from_millis((self.cfg.watch.stable_ms / 4).clamp(10, 250));
        while !self.stop.load(Ordering::SeqCst) {
            while let Ok(path) = rx.try_recv() {
                self.notice(&path);
            }
            if last_scan.elapsed() >= rescan_every || (opts.once && self.candidates.is_empty()) {
                self.scan();
                last_scan = Instant::now();
            }
            for path in self.ready() {
                if self.stop.load(Ordering::SeqCst) {
                    break;
                }
                match self.process(&path) {
                    Ok(()) => {
                        self.failures.remove(&path);
                    }
                    Err(e) => {
                        // Try again later, backing off (2 s, 4 s, … up to 5 min), and say so at
                        // the 1st, 2nd, 4th, 8th … failure rather than on every tick.
                        let n = self.failures.get(&path).map_or(0, |f| f.0) + 1;
                        let wait = Duration::from_secs((1u64 << n.min(8)).min(300));
                        if n.is_power_of_two() {
                            warn!(file = %path.display(), failures = n, retry_in_secs = wait.as_secs(), error = %format!("{e:#}"), "processing failed; will retry");
                        }
                        self.failures
                            .insert(path.clone(), (n, Instant::now() + wait));
                        self.candidates.insert(path, Seen::unseen());
                    }
                }
            }
            self.refresh_summary(false);
            let stuck = |p: &PathBuf| self.failures.get(p).is_some_and(|f| f.0 >= 3);
            if opts.once && self.deferred.is_empty() && self.candidates.keys().all(stuck) {
                if !self.candidates.is_empty() {
                    warn!(
                        files = self.candidates.len(),
                        "some files failed three times; leaving them for the next run"
                    );
                }
                break;
            }
            match rx.recv_timeout(tick) {
                Ok(path) => self.notice(&path),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => std::thread::sleep(tick),
            }
        }
        self.refresh_summary(true);
        match self.sender.take() {
            Some(sender) => sender.stop(),
            None => {
                // --once: deliver what is due now, then return.
                crate::mail::outbox::recover_interrupted(&self.conn)?;
                let r = crate::mail::deliver_due(&self.conn, &self.cfg.mail, chrono::Utc::now())?;
                if !r.failed.is_empty() || !r.deferred.is_empty() {
                    warn!(
                        failed = r.failed.len(),
                        deferred = r.deferred.len(),
                        "some mail was not delivered; it stays in the outbox"
                    );
                }
            }
        }
        info!("stopped");
        Ok(())
    }

    /// Queues the reminders (催报通知) due today, each once, to the departments that owe a form.
    fn send_reminders(&mut self) -> anyhow::Result<()> {
        let today = crate::cycle::today();
        let due = crate::cycle::due_reminders(&self.conn, &self.cfg, today)?;
        if due.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        for n in &due {
            let dept = self
                .cfg
                .department_by_code(&n.department_code)
                .context("a reminder for a configured department")?;
            let (subject, body) = self.letters.render_notice(
                crate::letters::NoticeKind::Reminder,
                &self.cfg.letters,
                n,
            )?;
            let cc = if self.cfg.finance.copy_notices {
                self.cfg.finance.emails.clone()
            } else {
                Vec::new()
            };
            let to = if dept.emails.is_empty() {
                self.cfg.finance.emails.clone()
            } else {
                dept.emails.clone()
            };
            let outbox_id = if to.is_empty() {
                None
            } else {
                Some(crate::mail::outbox::enqueue(
                    &tx,
                    &crate::mail::OutgoingMessage {
                        to,
                        cc,
                        subject,
                        body,
                        attachments: Vec::new(),
                        kind: "reminder".into(),
                        reference: format!("{}-{}-{}", n.year, n.form, n.label),
                    },
                )?)
            };
            crate::cycle::record_sent(&tx, n, today, outbox_id)?;
            info!(department = %n.department_code, form = %n.form, label = %n.label, "reminder queued");
        }
        tx.commit()?;
        self.wake_sender();
        Ok(())
    }

    fn wake_sender(&self) {
        if let Some(s) = &self.sender {
            s.wake();
        }
    }

    /// Rebuilds the summary workbooks of the years touched since the last rebuild, when due (or
    /// now, with `force`, if anything changed). A failure is logged; the daemon goes on.
    /// Queues the summary workbook for the finance office when its mail schedule says so.
    fn mail_summary_on_schedule(&mut self) -> anyhow::Result<()> {
        let now = chrono::Local::now().naive_local();
        let Some(due) =
            crate::summary::scheduled_due(&self.conn, &self.cfg.summary, self.started, now)?
        else {
            return Ok(());
        };
        let year = chrono::Datelike::year(&crate::cycle::today());
        let id = crate::summary::queue_mail(
            &mut self.conn,
            &self.cfg,
            &self.checker.defs,
            year,
            &due.format("%Y-%m-%dT%H:%M:%S").to_string(),
        )?;
        info!(
            year,
            outbox = id,
            "summary workbook queued for the finance office"
        );
        self.wake_sender();
        Ok(())
    }

    fn refresh_summary(&mut self, force: bool) {
        let now = Instant::now();
        if !(self.summary.due(now) || (force && self.summary.dirty)) {
            return;
        }
        for year in self.summary.take(now) {
            let path = crate::summary::default_path(&self.cfg, year);
            match crate::summary::write(&self.conn, &self.cfg, &self.checker.defs, year, &path) {
                Ok(()) => info!(year, file = %path.display(), "summary workbook written"),
                Err(e) => warn!(year, error = %format!("{e:#}"), "summary workbook not written"),
            }
        }
    }

    /// Finishes submissions a crash left recorded but not moved.
    fn finish_unfinished(&mut self) -> anyhow::Result<()> {
        for s in store::unfinished(&self.conn)? {
            info!(id = s.id, file = %s.file_name, "finishing work left by an earlier run");
            self.finish(&s)?;
        }
        Ok(())
    }

    /// Walks every department folder and notices each file; applies decision files.
    fn scan(&mut self) {
        if let Err(e) =
            crate::cycle::projects::process_decisions(&self.conn, &self.cfg, &now_text())
        {
            warn!(error = %format!("{e:#}"), "reading decision files failed");
        }
        if let Err(e) = self.send_reminders() {
            warn!(error = %format!("{e:#}"), "sending reminders failed");
        }
        if let Err(e) = self.mail_summary_on_schedule() {
            warn!(error = %format!("{e:#}"), "mailing the summary workbook failed");
        }
        let folders: Vec<PathBuf> = self
            .cfg
            .departments
            .iter()
            .map(|d| self.cfg.root.join(&d.folder))
            .collect();
        let cfg = self.cfg.clone();
        let mut found = Vec::new();
        for dir in folders {
            let walker = walkdir::WalkDir::new(&dir)
                .follow_links(false)
                .min_depth(1)
                .max_depth(8)
                .into_iter()
                .filter_entry(|e| {
                    let name = e.file_name().to_string_lossy();
                    // Skip the output folders and hidden folders.
                    let output =
                        e.depth() == 1 && e.file_type().is_dir() && cfg.is_output_folder(&name);
                    !output && !name.starts_with('.')
                });
            for entry in walker.flatten() {
                if !entry.file_type().is_dir() {
                    found.push(entry.into_path());
                }
            }
        }
        for p in found {
            self.notice(&p);
        }
        // Unreadable files come back for their second try.
        let retry = Duration::from_millis(self.cfg.watch.unreadable_retry_ms);
        let due: Vec<PathBuf> = self
            .deferred
            .iter()
            .filter(|(_, (_, t))| t.elapsed() >= retry)
            .map(|(p, _)| p.clone())
            .collect();
        for p in due {
            self.notice(&p);
        }
    }

    /// Takes note of a path that may be a new or changed file.
    fn notice(&mut self, path: &Path) {
        if classify(&self.cfg, path).is_none() {
            return;
        }
        if !self.candidates.contains_key(path) {
            self.candidates.insert(path.to_path_buf(), Seen::unseen());
        }
    }

    /// The candidates whose size and modification time have been stable long enough.
    fn ready(&mut self) -> Vec<PathBuf> {
        let stable = self.cfg.watch.stable();
        let retry = Duration::from_millis(self.cfg.watch.unreadable_retry_ms);
        let mut out = Vec::new();
        let mut gone = Vec::new();
        for (path, seen) in self.candidates.iter_mut() {
            let Ok(meta) = std::fs::symlink_metadata(path) else {
                gone.push(path.clone());
                continue;
            };
            if meta.is_dir() {
                gone.push(path.clone());
                continue;
            }
            let now = (meta.len(), meta.modified().ok());
            if (seen.size, seen.mtime) != now {
                *seen = Seen {
                    size: now.0,
                    mtime: now.1,
                    since: Instant::now(),
                };
                continue;
            }
            if seen.since.elapsed() < stable {
                continue;
            }
            if self
                .failures
                .get(path)
                .is_some_and(|(_, at)| Instant::now() < *at)
            {
                continue;
            }
            if let Some((_, t)) = self.deferred.get(path)
                && t.elapsed() < retry
            {
                continue;
            }
            out.push(path.clone());
        }
        for p in gone {
            self.candidates.remove(&p);
            self.deferred.remove(&p);
        }
        for p in &out {
            self.candidates.remove(p);
        }
        out.sort();
        out
    }

    fn department(&self, code: &str) -> &Department {
        self.cfg
            .department_by_code(code)
            .expect("classified files belong to configured departments")
    }

    /// Refuses a path that is a symlink or leads outside the department's folder.
    fn refuse(&mut self, path: &Path, why: &str) {
        if self
            .refused
            .insert(path.to_path_buf(), Instant::now())
            .is_none()
        {
            warn!(file = %path.display(), reason = why, "refused");
        }
    }

    /// Takes one stable file: the whole of steps 2 to 4.
    pub fn process(&mut self, path: &Path) -> anyhow::Result<()> {
        let Some(inbox) = classify(&self.cfg, path) else {
            return Ok(());
        };
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(_) => return Ok(()), // gone meanwhile
        };
        if meta.file_type().is_symlink() {
            self.refuse(path, "symbolic link");
            return Ok(());
        }
        let dept_dir = self
            .cfg
            .root
            .join(&self.department(&inbox.department).folder);
        if std::fs::symlink_metadata(&dept_dir).is_ok_and(|m| !m.is_dir()) {
            self.refuse(&dept_dir, "the department's folder is not a real folder");
            return Ok(());
        }
        let real = std::fs::canonicalize(path)?;
        if !real.starts_with(std::fs::canonicalize(&dept_dir)?) {
            self.refuse(path, "leads outside the department's folder");
            return Ok(());
        }

        let limit = self.checker.limits.max_file_bytes;
        let mut bytes = Vec::new();
        // Open without following a link, and make sure it is the very file checked above: a
        // file swapped for a link in between is refused, not read.
        let file = {
            use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
            let file = match std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(path)
            {
                Ok(f) => f,
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                    self.refuse(path, "symbolic link");
                    return Ok(());
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("opening {}", path.display()));
                }
            };
            let opened = file.metadata()?;
            if (opened.dev(), opened.ino()) != (meta.dev(), meta.ino()) {
                self.refuse(path, "replaced while being checked");
                return Ok(());
            }
            file
        };
        file.take(limit + 1).read_to_end(&mut bytes)?;
        let oversize = bytes.len() as u64 > limit;
        let sha = if oversize {
            // Not read in full: identify it by name, size and time. Not a content hash (64 hex
            // digits), so `finish` moves it without reading it again.
            let id = format!(
                "oversize:{}:{}:{:?}",
                inbox.rel,
                meta.len(),
                meta.modified().ok()
            );
            format!("big-{}", hash(id.as_bytes()))
        } else {
            hash(&bytes)
        };

        // Seen before? Either our own unfinished work, or the same content sent again.
        let earlier = store::by_hash(&self.conn, &inbox.department, &sha)?;
        if let Some(s) = earlier
            .iter()
            .find(|s| s.stage == "recorded" && s.inbox_path == inbox.rel)
        {
            return self.finish(&s.clone());
        }
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let duplicate_of = earlier
            .iter()
            .find(|s| s.outcome != "duplicate")
            .or(earlier.first())
            .map(|s| s.id);

        let (outcome, checked) = if duplicate_of.is_some() {
            (Outcome::Duplicate, None)
        } else {
            let mut checked = if oversize {
                self.checker.check_path(path, &file_name)
            } else {
                self.checker.check_bytes(&file_name, &bytes)
            };
            if is_unreadable(&checked.result) {
                match self.deferred.get(path) {
                    Some((h, _)) if *h == sha => {} // second try: reject now
                    _ => {
                        info!(file = %path.display(), code = checked.result.errors[0].code.as_str(), "cannot read it yet; will try once more");
                        self.deferred
                            .insert(path.to_path_buf(), (sha, Instant::now()));
                        self.candidates.insert(path.to_path_buf(), Seen::unseen());
                        return Ok(());
                    }
                }
            }
            self.check_identity(&inbox, &mut checked);
            self.check_against_approved(&inbox, &mut checked)?;
            let outcome = if checked.result.status == Status::Accepted {
                Outcome::Accepted
            } else {
                Outcome::Rejected
            };
            (outcome, Some(checked))
        };
        self.deferred.remove(path);

        // Archive copy, outside the departments' reach, named by content.
        let ext = Path::new(&file_name)
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .filter(|e| e.len() <= 5 && e.chars().all(|c| c.is_ascii_alphanumeric()))
            .unwrap_or_else(|| "bin".to_string());
        let archive_rel = format!("{}/{}.{}", &sha[..2], sha, ext);
        let archive = self.cfg.archive_dir().join(&archive_rel);
        if !archive.exists() && !oversize {
            write_atomic(&archive, &bytes)?;
        }

        let result = checked.as_ref().map(|c| &c.result);
        let project = result.and_then(|r| r.project.clone());
        let form = result.and_then(|r| r.form.map(|f| f.id()));
        let project_key = project
            .as_ref()
            .and_then(|p| crate::cycle::projects::project_key(p, &inbox.department));
        let result_json = result.map(serde_json::to_string).transpose()?;
        let form_json = checked
            .as_ref()
            .and_then(|c| c.form.as_deref())
            .map(|f| serde_json::to_string(&crate::forms::record::FormRecord::from_form(f)))
            .transpose()?;
        let received_at = now_text();
        let dept = self.department(&inbox.department).clone();
        let tx = self.conn.transaction()?;
        let id = store::record(
            &tx,
            &NewSubmission {
                department: &inbox.department,
                inbox_path: &inbox.rel,
                file_name: &file_name,
                sha256: &sha,
                size: meta.len(),
                received_at: &received_at,
                outcome,
                form,
                year: project.as_ref().and_then(|p| p.year),
                project_key: project_key.as_deref(),
                project_code: project.as_ref().and_then(|p| p.code.as_deref()),
                project_name: project.as_ref().and_then(|p| p.name.as_deref()),
                result_json: result_json.as_deref(),
                form_json: form_json.as_deref(),
                duplicate_of,
                archive_path: &archive_rel,
            },
        )?;
        let first = duplicate_of.and_then(|id| {
            earlier
                .iter()
                .find(|s| s.id == id)
                .map(|s| (id, s.received_at.clone()))
        });
        crate::watch::dispatch::dispatch(
            &tx,
            &crate::watch::dispatch::Dispatch {
                cfg: &self.cfg,
                letters: &self.letters,
                defs: &self.checker.defs,
                department: &dept,
                submission_id: id,
                file_name: &file_name,
                received_at: &received_at,
                today: crate::cycle::today(),
                checked: checked.as_ref().map(|c| (&c.result, c.form.as_deref())),
                duplicate_of: first,
                project_key: project_key.as_deref(),
            },
        )?;
        tx.commit()?;
        self.wake_sender();
        if let Some(year) = project.as_ref().and_then(|p| p.year) {
            self.summary.mark_dirty(year);
        }
        crate::watch::test_pause();
        info!(
            id,
            department = %inbox.department,
            file = %inbox.rel,
            form = form.unwrap_or("-"),
            outcome = outcome.as_str(),
            "recorded"
        );
        let recorded = store::by_hash(&self.conn, &inbox.department, &sha)?
            .into_iter()
            .find(|s| s.id == id)
            .context("the recorded submission is missing")?;
        self.finish(&recorded)
    }

    /// A form whose 主管部门 is another department is rejected: the folder is the identity.
    fn check_identity(&self, inbox: &InboxFile, checked: &mut Checked) {
        let dept = self.department(&inbox.department);
        let Some(form) = &checked.form else { return };
        let slot = form.field("department");
        let Some(named) = slot.text() else { return };
        if dept.is_named(&named) {
            return;
        }
        let r = &mut checked.result;
        r.errors.push(Issue::new(
            &form.sheet,
            slot.cell,
            "主管部门",
            IssueCode::WrongDepartment,
            format!(
                "主管部门填写为“{named}”，但文件放在“{}”的文件夹中。各部门只能报送本部门的表，请核对主管部门或放入本部门文件夹",
                dept.name
            ),
        ));
        r.status = Status::Rejected;
        r.score = None;
        r.review = None;
    }

    /// Measures an accepted performance report or self-evaluation against the project's approved
    /// declaration; the findings go into its result and its letter.
    fn check_against_approved(
        &self,
        inbox: &InboxFile,
        checked: &mut Checked,
    ) -> anyhow::Result<()> {
        let Some(form) = &checked.form else {
            return Ok(());
        };
        if !checked.result.accepted() || form.kind == crate::FormKind::TargetDeclaration {
            return Ok(());
        }
        let Some(key) = checked
            .result
            .project
            .as_ref()
            .and_then(|p| crate::cycle::projects::project_key(p, &inbox.department))
        else {
            return Ok(());
        };
        let approved = crate::cycle::projects::approved_declaration(&self.conn, &key)?;
        let findings = crate::cycle::projects::cross_check(
            approved.as_ref().map(|(_, r)| r),
            form,
            &self.checker.defs,
        );
        checked.result.warnings.extend(findings);
        Ok(())
    }

    /// Step 4: moves the file out of the inbox and marks the submission done. Safe to repeat.
    fn finish(&mut self, s: &store::Submission) -> anyhow::Result<()> {
        let dept = self.department(&s.department).clone();
        let dept_dir = self.cfg.root.join(&dept.folder);
        let inbox_path = dept_dir.join(&s.inbox_path);
        let folder = if s.outcome == "accepted" {
            &self.cfg.folders.accepted
        } else {
            &self.cfg.folders.returned
        };
        let dest_dir = real_dir(&dept_dir, folder)?;
        // A stable, unique name: the submission number in front of the original name.
        let dest_name = format!("{}-{}", s.id, safe_file_name(&s.file_name));
        let dest = dest_dir.join(&dest_name);
        // The letter (and a return notice's annotated workbook) appear beside the original.
        for (name, bytes) in crate::watch::dispatch::answers(&self.conn, s.id)? {
            let path = dest_dir.join(format!("{}-{}", s.id, name));
            if !path.exists() {
                write_atomic(&path, &bytes)?;
            }
        }
        if s.outcome != "accepted" {
            let reasons = reasons_text(s);
            write_atomic(
                &dest_dir.join(format!("{dest_name}.退回原因.txt")),
                reasons.as_bytes(),
            )?;
        }
        if std::fs::symlink_metadata(&inbox_path).is_ok() && !dest.exists() {
            // Only the content we recorded leaves the inbox; a file replaced meanwhile stays.
            let same = std::fs::read(&inbox_path)
                .map(|b| hash(&b) == s.sha256)
                .unwrap_or(false)
                || s.sha256.len() != 64;
            if same {
                std::fs::rename(&inbox_path, &dest).or_else(|_| {
                    std::fs::copy(&inbox_path, &dest)
                        .and_then(|_| std::fs::remove_file(&inbox_path))
                })?;
            }
        } else if dest.exists() && std::fs::symlink_metadata(&inbox_path).is_ok() {
            let same = std::fs::read(&inbox_path)
                .map(|b| hash(&b) == s.sha256)
                .unwrap_or(false);
            if same {
                std::fs::remove_file(&inbox_path)?;
            }
        }
        let moved = format!("{folder}/{dest_name}");
        store::mark_done(&self.conn, s.id, &moved, &now_text())?;
        info!(id = s.id, to = %moved, "done");
        Ok(())
    }
}

/// Whether a check failed because the file could not be read as a workbook at all — which may
/// be a copy still in progress.
fn is_unreadable(r: &CheckResult) -> bool {
    r.form.is_none()
        && r.errors.first().is_some_and(|e| {
            matches!(
                e.code,
                IssueCode::DamagedFile
                    | IssueCode::NotAWorkbook
                    | IssueCode::EmptyFile
                    | IssueCode::Unreadable
            )
        })
}

/// The reasons written beside a returned file, for the clerk.
fn reasons_text(s: &store::Submission) -> String {
    let mut out = String::new();
    if s.outcome == "duplicate" {
        out.push_str(&format!(
            "文件“{}”与此前提交的文件（受理编号{}）内容完全相同，未重复处理。\n如需更正，请修改后重新放入本文件夹。\n",
            s.file_name,
            s.duplicate_of.unwrap_or_default()
        ));
        return out;
    }
    out.push_str(&format!(
        "文件“{}”未通过审核，已退回修改（受理编号{}）。\n请按以下问题修改后，将更正后的文件重新放入本部门文件夹。\n\n",
        s.file_name, s.id
    ));
    if let Some(r) = s
        .result_json
        .as_deref()
        .and_then(|j| CheckResult::from_stored(j).ok())
    {
        for (i, e) in r.errors.iter().enumerate() {
            let place = match (e.sheet.as_deref(), e.cell.as_deref()) {
                (Some(sh), Some(c)) => format!("工作表“{sh}”{c}单元格"),
                (Some(sh), None) => format!("工作表“{sh}”"),
                _ => "文件".to_string(),
            };
            out.push_str(&format!(
                "{}. {place}（{}）：{}\n",
                i + 1,
                e.field,
                e.message
            ));
        }
    }
    out
}

/// A file name from a department, made safe to use as one path component.
pub fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        return "file".to_string();
    }
    // File systems allow 255 bytes a name; leave room for the submission number in front and
    // `.退回原因.txt` behind. Keep the extension, shorten the stem.
    const MAX: usize = 180;
    if cleaned.len() <= MAX {
        return cleaned;
    }
    let (stem, ext) = match cleaned.rfind('.') {
        Some(i) if cleaned.len() - i <= 10 => (&cleaned[..i], &cleaned[i..]),
        _ => (cleaned.as_str(), ""),
    };
    let mut cut = MAX - ext.len() - 3;
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…{ext}", &stem[..cut])
}

/// The daemon's own folder inside a department's folder, as a real folder: a link or a file a
/// department put in its place is moved aside, so nothing is written through it.
fn real_dir(dept_dir: &Path, folder: &str) -> anyhow::Result<PathBuf> {
    let dir = dept_dir.join(folder);
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            let aside = dept_dir.join(format!(
                "{folder}（已移开{}）",
                chrono::Local::now().format("%Y%m%d%H%M%S")
            ));
            warn!(folder = %dir.display(), to = %aside.display(), "not a real folder: moved aside");
            std::fs::rename(&dir, &aside)?;
            std::fs::create_dir(&dir)?;
        }
        Err(_) => std::fs::create_dir_all(&dir)?,
    }
    let real = std::fs::canonicalize(&dir)?;
    if !real.starts_with(std::fs::canonicalize(dept_dir)?) {
        anyhow::bail!("{} leads outside the department's folder", dir.display());
    }
    Ok(dir)
}

/// Writes a file so that no reader ever sees it half written.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().context("a file needs a folder")?;
    std::fs::create_dir_all(dir)?;
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".jixiao-{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn start_watcher(
    root: &Path,
    tx: mpsc::Sender<PathBuf>,
) -> anyhow::Result<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher};
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(event) = res {
            for p in event.paths {
                let _ = tx.send(p);
            }
        }
    })
    .context("starting the file watcher")?;
    watcher
        .watch(root, RecursiveMode::Recursive)
        .with_context(|| format!("watching {}", root.display()))?;
    Ok(watcher)
}

/// For the crash tests only: `JIXIAO_TEST_PAUSE_MS` holds the daemon between recording a
/// submission and moving its file, so that a `kill -9` lands in that window.
fn test_pause() {
    if let Some(ms) = std::env::var("JIXIAO_TEST_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
    }
}
