//! The watcher daemon: every form put into a department's folder is taken once it is stable,
//! checked, recorded and answered exactly once, across crashes and restarts.
//!
//! A file goes through these steps:
//! 1. noticed (file-system event, periodic rescan, or polling) and held until its size and
//!    modification time have not changed for `watch.stable_ms`;
//! 2. read and hashed; the same content from the same department again is a duplicate;
//! 3. checked (a file that cannot be read as a workbook is read again every
//!    `watch.unreadable_retry_ms` and returned only once it has read the same for
//!    `watch.settle_ms`), copied to the archive, and recorded in one SQLite transaction together
//!    with everything to be sent. Files ready together are taken in arrival order (modification
//!    time, then name) and recorded declarations first;
//! 4. moved out of the inbox to the accepted or returned folder, with the reasons beside a
//!    returned file, and marked done.
//!
//! A crash between 3 and 4 leaves a recorded submission whose file is still in the inbox (or
//! already moved); at start-up and when the file is seen again, step 4 is finished for it instead
//! of checking it again. A crash before 3 leaves nothing recorded, and the file is taken anew.

pub(crate) mod decisions;
pub(crate) mod dispatch;
mod inbox;
mod process;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rusqlite::Connection;
use tracing::{info, warn};

use crate::check::Checker;
use crate::config::Config;
use crate::departments::Department;
use crate::inbox::{InboxFile, Place, StrayReason, classify};
use crate::runtime::{Clock, Hooks, Runtime};
use crate::store::submissions;
use inbox::Seen;

/// The most files read and held at once before they are recorded.
const BATCH: usize = 16;
/// A batch stops taking files once it holds this many bytes.
const BATCH_BYTES: usize = 64 << 20;

/// How long the daemon runs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RunOptions {
    /// Process what is waiting (including files becoming stable) and return when nothing is left.
    pub(crate) once: bool,
}

/// The daemon's state between ticks.
pub(crate) struct Daemon {
    cfg: Config,
    checker: Checker,
    conn: Connection,
    candidates: HashMap<PathBuf, Seen>,
    /// Decision files in `decisions_dir` waiting until they are stable.
    decisions: decisions::Waiting,
    /// Unreadable files waiting for their second try: path → (hash, first failure).
    deferred: HashMap<PathBuf, (String, Instant)>,
    /// Paths refused once (pipes, paths escaping the root), not logged again.
    refused: HashMap<PathBuf, Instant>,
    /// Files in no department's folder already noted (each is logged once, ever).
    outside: std::collections::HashSet<PathBuf>,
    /// Files whose processing failed: how often, and when to try again (backing off to 5 min).
    failures: HashMap<PathBuf, (u32, Instant)>,
    /// Files that failed before this start (the state's `failures` table), by path under the
    /// root: their count goes on, and their row goes when they succeed.
    failed_before: std::collections::HashSet<String>,
    /// The state's disk was found full: forms wait (tried again every few seconds) until a
    /// write succeeds. Said once when it fills and once when space returns.
    disk_full: bool,
    /// When the full disk was last probed for room.
    probed: Option<Instant>,
    /// Summary rebuilds that failed in a row (the warning is rate-limited).
    summary_failures: u32,
    /// The summary workbooks to rebuild (at most once per `summary.refresh_secs`).
    summary: crate::summary::Refresher,
    /// The latest approval or revocation seen: a newer one — from a decision file, the console
    /// or `jixiao approve` — makes the summary of its year out of date.
    approvals_seen: i64,
    /// When this run started: the mail schedule of the summary counts from here.
    started: chrono::NaiveDateTime,
    /// The files waiting at start-up not yet taken: reminders wait for them, so a department
    /// whose form lies in its folder is not told it is late. `None` once they are taken.
    waiting_at_start: Option<std::collections::HashSet<PathBuf>>,
    stop: Arc<AtomicBool>,
    /// The mail sender thread, nudged after each recorded submission.
    sender: Option<crate::mail::Sender>,
    /// The process that reads each file under hard limits.
    worker: crate::worker::Worker,
    /// Held while the daemon runs: one daemon per state folder.
    _lock: std::fs::File,
    letters: crate::letters::Letters,
    clock: Arc<dyn Clock>,
    hooks: Hooks,
}

/// Takes the lock of a state folder (`jixiao.lock` in it), held by the running daemon and by
/// `jixiao outbox deliver`: only one sender per state database. `None` when another process
/// holds it; released when the file is dropped.
pub(crate) fn lock_state(state_dir: &std::path::Path) -> anyhow::Result<Option<std::fs::File>> {
    let lock_path = state_dir.join("jixiao.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    match lock.try_lock() {
        Ok(()) => Ok(Some(lock)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", lock_path.display()))
        }
    }
}

impl Daemon {
    pub(crate) fn new(
        cfg: Config,
        checker: Checker,
        launch: crate::worker::Launch,
        stop: Arc<AtomicBool>,
        runtime: Runtime,
    ) -> anyhow::Result<Daemon> {
        std::fs::create_dir_all(cfg.archive_dir())
            .with_context(|| format!("creating {}", cfg.archive_dir().display()))?;
        std::fs::create_dir_all(&cfg.state_dir)?;
        let Some(lock) = lock_state(&cfg.state_dir)? else {
            anyhow::bail!(
                "another jixiao watch is running on {} (one daemon per state folder)",
                cfg.state_dir.display()
            );
        };
        // A department new in the configuration gets its folder and blank forms, as `init` does.
        for d in &cfg.departments {
            let dir = cfg.root.join(&d.folder);
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let blank = dir.join(&cfg.folders.templates);
            if crate::forms::blank::ensure_blank_forms(&checker.defs, &blank)? {
                info!(department = %d.code, folder = %blank.display(), "wrote the blank forms");
            }
        }
        let conn = crate::store::open(&cfg.database())?;
        let approvals_seen = crate::store::approvals::latest_id(&conn)?;
        remove_stale_temp_files(&cfg);
        let letters = crate::letters::Letters::load(cfg.letters_dir.as_deref())
            .context("loading the letter templates")?;
        Ok(Daemon {
            summary: crate::summary::Refresher::new(cfg.summary.refresh_interval()),
            approvals_seen,
            started: runtime.clock.now().naive_local(),
            waiting_at_start: Some(std::collections::HashSet::new()),
            cfg,
            checker,
            worker: crate::worker::Worker::new(launch),
            conn,
            candidates: HashMap::new(),
            decisions: decisions::Waiting::default(),
            deferred: HashMap::new(),
            refused: HashMap::new(),
            outside: std::collections::HashSet::new(),
            failures: HashMap::new(),
            failed_before: std::collections::HashSet::new(),
            disk_full: false,
            probed: None,
            summary_failures: 0,
            stop,
            sender: None,
            _lock: lock,
            letters,
            clock: runtime.clock,
            hooks: runtime.hooks,
        })
    }

    /// The time now as stored: `2026-11-25T10:00:00.000+08:00`.
    fn now_text(&self) -> String {
        self.clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
    }

    /// Runs until stopped (or, with `once`, until nothing is waiting).
    pub(crate) fn run(&mut self, opts: RunOptions) -> anyhow::Result<()> {
        if !opts.once {
            self.sender = Some(
                crate::mail::Sender::start(
                    &self.cfg.database(),
                    self.cfg.mail.clone(),
                    self.clock.clone(),
                    self.hooks,
                )
                .context("starting the mail sender")?,
            );
        }
        self.load_failures()?;
        self.finish_unfinished()?;
        let (tx, rx) = mpsc::channel::<PathBuf>();
        let _watcher = if self.cfg.watch.poll || opts.once {
            None
        } else {
            Some(start_watcher(&self.cfg.root, &self.cfg.decisions_dir, tx)?)
        };
        self.scan();
        self.waiting_at_start = Some(self.candidates.keys().cloned().collect());
        // Tests and operators wait for this line: from now on a new file is noticed.
        info!(root = %self.cfg.root.display(), "ready: watching for forms");
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
            // Decisions first: a form arriving with its approval is measured against it.
            self.apply_decisions();
            self.notice_new_approvals();
            self.take_ready();
            self.after_first_pass();
            self.send_file_notices();
            self.refresh_summary(false);
            if opts.once && self.paused() {
                warn!("no space left for the state; leaving the files for the next run");
                break;
            }
            let stuck = |p: &PathBuf| self.failures.get(p).is_some_and(|f| f.0 >= 3);
            if opts.once
                && self.deferred.is_empty()
                && self.decisions.is_empty()
                && self.candidates.keys().all(stuck)
            {
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
                let r = crate::mail::deliver_due(
                    &self.conn,
                    &self.cfg.mail,
                    self.clock.now().to_utc(),
                    self.hooks,
                )?;
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

    /// Takes the files that are ready, in arrival order, and records them declarations first:
    /// the kind of a form is known only once it is read.
    fn take_ready(&mut self) {
        // While the state's disk is full nothing is read: the files wait where they are.
        if self.paused() {
            return;
        }
        let mut taken: Vec<process::Taken> = Vec::new();
        for path in self.ready() {
            let held: usize = taken.iter().map(process::Taken::held).sum();
            if self.stop.load(Ordering::SeqCst) || held >= BATCH_BYTES {
                // Not taken now: at the next tick, or at the next start.
                self.candidates.insert(path, Seen::unseen());
                continue;
            }
            if let Place::Stray {
                department: Some(dept),
                reason,
            } = self.place(&path)
            {
                match self.answer_stray(&path, &dept, reason) {
                    Ok(()) => {
                        self.succeeded(&path);
                    }
                    Err(e) => self.failed(path, e),
                }
                continue;
            }
            match self.take(&path) {
                Ok(Some(t)) => taken.push(t),
                Ok(None) => {
                    self.succeeded(&path);
                }
                Err(e) => self.failed(path, e),
            }
        }
        // A stable sort: each kind keeps its arrival order.
        taken.sort_by_key(|t| t.form() != Some(crate::forms::FormKind::TargetDeclaration));
        for t in taken {
            let path = t.path.clone();
            match self.record(t) {
                Ok(()) => {
                    self.succeeded(&path);
                    self.space_returned();
                }
                Err(e) => self.failed(path, e),
            }
        }
    }

    /// A file whose processing failed is tried again later, backing off (2 s, 4 s, … up to
    /// 5 min), and said so at the 1st, 2nd, 4th, 8th … failure rather than on every tick. While
    /// the state's disk is full, files are tried again every few seconds and the full disk is
    /// said once: nothing is recorded, so nothing is lost.
    fn failed(&mut self, path: PathBuf, e: anyhow::Error) {
        let n = self.failures.get(&path).map_or(0, |f| f.0) + 1;
        if !is_disk_full(&e) {
            // Kept for `jixiao status`: what is stuck and why, also after a restart.
            let rel = self.rel_path(&path);
            if let Err(db) =
                crate::store::failures::note(&self.conn, &rel, &format!("{e:#}"), &self.now_text())
            {
                warn!(file = %path.display(), error = %db, "the failure could not be recorded");
            }
        }
        let wait = if is_disk_full(&e) {
            if !self.disk_full {
                self.disk_full = true;
                warn!(state = %self.cfg.state_dir.display(), file = %path.display(), error = %format!("{e:#}"), "no space left for the state; forms wait until space returns");
            }
            Duration::from_secs(2)
        } else {
            let wait = Duration::from_secs((1u64 << n.min(8)).min(300));
            if n.is_power_of_two() {
                warn!(file = %path.display(), failures = n, retry_in_secs = wait.as_secs(), error = %format!("{e:#}"), "processing failed; will retry");
            }
            wait
        };
        self.failures
            .insert(path.clone(), (n, Instant::now() + wait));
        self.candidates.insert(path, Seen::unseen());
    }

    /// A file was processed (or needs nothing more): it is no longer being retried.
    fn succeeded(&mut self, path: &Path) {
        let rel = self.rel_path(path);
        if (self.failures.remove(path).is_some() || self.failed_before.remove(&rel))
            && let Err(e) = crate::store::failures::clear(&self.conn, &rel)
        {
            warn!(file = %path.display(), error = %e, "the end of a failure could not be recorded");
        }
    }

    /// A path as the state keeps it: relative to the root.
    fn rel_path(&self, path: &Path) -> String {
        path.strip_prefix(&self.cfg.root)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned()
    }

    /// Reads the failures kept from earlier runs, forgetting those whose file is gone.
    fn load_failures(&mut self) -> anyhow::Result<()> {
        for f in crate::store::failures::list(&self.conn)? {
            if self.cfg.root.join(&f.path).exists() {
                self.failed_before.insert(f.path);
            } else {
                crate::store::failures::clear(&self.conn, &f.path)?;
            }
        }
        Ok(())
    }

    /// Once the files waiting at start-up are taken (or failed, or wait for a second try),
    /// queues the reminders held back until then.
    fn after_first_pass(&mut self) {
        let (candidates, failures, deferred) = (&self.candidates, &self.failures, &self.deferred);
        let Some(waiting) = self.waiting_at_start.as_mut() else {
            return;
        };
        waiting.retain(|p| {
            candidates.contains_key(p) && !failures.contains_key(p) && !deferred.contains_key(p)
        });
        if waiting.is_empty() {
            self.waiting_at_start = None;
            let r = self.send_reminders();
            self.log_failure(r, "sending reminders failed");
        }
    }

    /// Queues the reminders (催报通知) due today, each once, to the departments that owe a form.
    fn send_reminders(&mut self) -> anyhow::Result<()> {
        let today = self.clock.today();
        let due = crate::cycle::due_reminders(&self.conn, &self.cfg.calendar(), today)?;
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
                        department: Some(dept.code.clone()),
                        subject,
                        body,
                        attachments: Vec::new(),
                        kind: "reminder".into(),
                        reference: format!("{}-{}-{}", n.year, n.form.id(), n.label),
                    },
                    self.clock.now().to_utc(),
                )?)
            };
            crate::cycle::record_sent(&tx, n, today, outbox_id)?;
            info!(department = %n.department_code, form = n.form.id(), label = %n.label, "reminder queued");
        }
        tx.commit()?;
        self.wake_sender();
        Ok(())
    }

    /// One notice per department for the files that are no form, once the department's folder
    /// is quiet (nothing waiting to settle or for a second try), so a flood gets one notice.
    fn send_file_notices(&mut self) {
        let busy: std::collections::HashSet<String> = self
            .candidates
            .keys()
            .chain(self.deferred.keys())
            .filter_map(|p| match self.place(p) {
                Place::Inbox(f) => Some(f.department),
                Place::Stray { department, .. } => department,
                Place::Ignored => None,
            })
            .collect();
        match dispatch::send_file_notices(
            &mut self.conn,
            &busy,
            &self.cfg.departments,
            &self.cfg.finance,
            &self.letters,
            &self.cfg.letters,
            self.clock.now().to_utc(),
        ) {
            Ok(0) => {}
            Ok(n) => {
                info!(notices = n, "notices of files that are no form queued");
                self.wake_sender();
            }
            Err(e) => {
                warn!(error = %format!("{e:#}"), "notices of files that are no form not queued")
            }
        }
    }

    fn wake_sender(&self) {
        if let Some(s) = &self.sender {
            s.wake();
        }
    }

    /// Queues the summary workbook for the finance office when its mail schedule says so.
    fn mail_summary_on_schedule(&mut self) -> anyhow::Result<()> {
        let now = self.clock.now().naive_local();
        let Some(due) =
            crate::summary::scheduled_due(&self.conn, &self.cfg.summary, self.started, now)?
        else {
            return Ok(());
        };
        let year = chrono::Datelike::year(&self.clock.today());
        let scope = self
            .cfg
            .summary_scope(&self.checker.defs, self.clock.as_ref());
        let id = crate::summary::queue_mail(
            &mut self.conn,
            &scope,
            &self.letters,
            &self.cfg.letters,
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

    /// Rebuilds the summary workbooks of the years touched since the last rebuild, when due (or
    /// now, with `force`, if anything changed). A failure is logged; the daemon goes on.
    fn refresh_summary(&mut self, force: bool) {
        let now = Instant::now();
        if !(self.summary.due(now) || (force && self.summary.dirty)) {
            return;
        }
        // The workbook's streamed sheets need room beside the state: while the disk is full it
        // waits, still marked out of date.
        if self.paused() {
            return;
        }
        for year in self.summary.take(now) {
            let path = crate::summary::default_path(&self.cfg.reports_dir, year);
            let scope = self
                .cfg
                .summary_scope(&self.checker.defs, self.clock.as_ref());
            match crate::summary::write(&self.conn, &scope, year, &path) {
                Ok(()) => {
                    info!(year, file = %path.display(), "summary workbook written");
                    self.summary_failures = 0;
                    self.space_returned();
                }
                Err(e) => {
                    // Tried again at the next refresh, so the workbook is never left stale.
                    self.summary.mark_dirty(year);
                    self.summary_failures += 1;
                    if is_disk_full(&e) && !self.disk_full {
                        self.disk_full = true;
                        warn!(year, error = %format!("{e:#}"), "no space left for the summary workbook; it is written when space returns");
                    } else if self.summary_failures.is_power_of_two() {
                        warn!(year, failures = self.summary_failures, error = %format!("{e:#}"), "summary workbook not written; will retry");
                    }
                }
            }
        }
    }

    /// Logs a failed step of a scan; a full disk is said once (the step is tried at every scan).
    fn log_failure<T>(&mut self, r: anyhow::Result<T>, what: &str) {
        let Err(e) = r else { return };
        if is_disk_full(&e) {
            if !self.disk_full {
                self.disk_full = true;
                warn!(state = %self.cfg.state_dir.display(), error = %format!("{e:#}"), "no space left for the state; work waits until space returns");
            }
        } else {
            warn!(error = %format!("{e:#}"), "{what}");
        }
    }

    /// Whether work that writes to the state waits: the disk was found full and a probe (a
    /// small file written and removed, at most every two seconds) finds no room yet.
    fn paused(&mut self) -> bool {
        if !self.disk_full {
            return false;
        }
        if self
            .probed
            .is_some_and(|t| t.elapsed() < Duration::from_secs(2))
        {
            return true;
        }
        self.probed = Some(Instant::now());
        let probe = self
            .cfg
            .state_dir
            .join(format!(".jixiao-{}-space.tmp", std::process::id()));
        let room = std::fs::write(&probe, vec![0u8; 1 << 20]).is_ok();
        let _ = std::fs::remove_file(&probe);
        !room
    }

    /// A write succeeded: if the disk was full, say that work goes on.
    fn space_returned(&mut self) {
        if self.disk_full {
            self.disk_full = false;
            info!(state = %self.cfg.state_dir.display(), "space is available again; resuming");
        }
    }

    /// Finishes submissions a crash left recorded but not moved.
    fn finish_unfinished(&mut self) -> anyhow::Result<()> {
        for s in submissions::unfinished(&self.conn)? {
            info!(id = s.id, file = %s.file_name, "finishing a recorded form not yet moved");
            self.finish(&s)?;
        }
        Ok(())
    }

    /// Walks every department folder and notices each file, and the decision files.
    fn scan(&mut self) {
        self.decisions.notice_all(&self.cfg.decisions_dir);
        // Work a failed write left recorded but not moved (its file may be gone from the inbox).
        let r = self.finish_unfinished();
        self.log_failure(r, "finishing recorded forms failed; will retry");
        if self.waiting_at_start.is_none() {
            let r = self.send_reminders();
            self.log_failure(r, "sending reminders failed");
        }
        let r = self.mail_summary_on_schedule();
        self.log_failure(r, "mailing the summary workbook failed");
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
        // Files directly in the root or in a folder of no configured department.
        let departments: std::collections::HashSet<&std::ffi::OsStr> = cfg
            .departments
            .iter()
            .map(|d| std::ffi::OsStr::new(d.folder.as_str()))
            .collect();
        let walker = walkdir::WalkDir::new(&cfg.root)
            .follow_links(false)
            .min_depth(1)
            .max_depth(8)
            .into_iter()
            .filter_entry(|e| {
                let department = e.depth() == 1 && departments.contains(e.file_name());
                !department && !e.file_name().as_encoded_bytes().starts_with(b".")
            });
        for entry in walker.flatten() {
            if !entry.file_type().is_dir() {
                found.push(entry.into_path());
            }
        }
        for p in found {
            self.notice(&p);
        }
        let r = self.forget_gone_outside();
        self.log_failure(r, "forgetting files gone from the root failed");
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

    /// Where a path under the root lies.
    fn place(&self, path: &Path) -> Place {
        crate::inbox::place(
            &self.cfg.root,
            &self.cfg.departments,
            &self.cfg.folders,
            path,
        )
    }

    /// A file in no department's folder: nobody to tell, so it is logged once and listed by
    /// `jixiao status` while it lies there.
    fn note_outside(&mut self, path: &Path, reason: StrayReason) {
        if self.outside.contains(path)
            || std::fs::symlink_metadata(path).map_or(true, |m| m.is_dir())
        {
            return;
        }
        let Ok(rel) = path.strip_prefix(&self.cfg.root) else {
            return;
        };
        match crate::store::strays::note(&self.conn, rel, None, reason, &self.now_text()) {
            Ok((_, new)) => {
                if new {
                    warn!(file = %path.display(), reason = reason.label(), "not taken: put it into a department's folder");
                }
                self.outside.insert(path.to_path_buf());
            }
            Err(e) => {
                warn!(file = %path.display(), error = %e, "noting a file in no department's folder failed")
            }
        }
    }

    /// Forgets the files in no department's folder that are gone.
    fn forget_gone_outside(&mut self) -> anyhow::Result<()> {
        for s in crate::store::strays::unanswered(&self.conn)? {
            let path = self.cfg.root.join(s.rel_path());
            if std::fs::symlink_metadata(&path).is_err() {
                crate::store::strays::forget(&self.conn, s.id)?;
                self.outside.remove(&path);
            }
        }
        Ok(())
    }

    /// A department's inbox file, or nothing to take.
    fn classify(&self, path: &Path) -> Option<InboxFile> {
        classify(
            &self.cfg.root,
            &self.cfg.departments,
            &self.cfg.folders,
            path,
        )
    }

    /// Applies the decision files that are stable, each once.
    fn apply_decisions(&mut self) {
        for path in self.decisions.ready(self.cfg.watch.stable()) {
            let now = self.now_text();
            let r = decisions::apply_file(&self.conn, &path, &self.cfg.departments, &now);
            self.log_failure(r, "applying a decision file failed");
        }
    }

    /// Marks the summary of a year out of date when a decision on one of its declarations was
    /// recorded since the last look, by this process or another one (the console, `jixiao
    /// approve`): the summary shows which version is in force.
    fn notice_new_approvals(&mut self) {
        let r = crate::store::approvals::since(&self.conn, self.approvals_seen);
        match r {
            Ok(rows) => {
                for (id, year) in rows {
                    self.approvals_seen = id;
                    if let Some(year) = year {
                        self.summary.mark_dirty(year);
                    }
                }
            }
            Err(e) => self.log_failure(
                Err::<(), _>(anyhow::Error::from(e)),
                "reading new approvals failed",
            ),
        }
    }

    /// Takes note of a path that may be a new or changed file.
    fn notice(&mut self, path: &Path) {
        if self.decisions.notice(&self.cfg.decisions_dir, path) {
            return;
        }
        match self.place(path) {
            Place::Inbox(_)
            | Place::Stray {
                department: Some(_),
                ..
            } => {}
            Place::Stray {
                department: None,
                reason,
            } => {
                self.note_outside(path, reason);
                return;
            }
            Place::Ignored => return,
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
        // Files dropped together settle at slightly different times (a copy of a declaration and
        // its self-evaluation): a department's stable files wait while another of its files is
        // still arriving, for at most twice `stable_ms`, so they are taken as one batch.
        let arriving: std::collections::HashSet<String> = self
            .candidates
            .iter()
            .filter(|(p, seen)| {
                seen.since.elapsed() < stable
                    && !out.contains(p)
                    && !self.failures.contains_key(*p)
                    && !self.deferred.contains_key(*p)
            })
            .filter_map(|(p, _)| self.classify(p).map(|f| f.department))
            .collect();
        if !arriving.is_empty() {
            out.retain(|p| {
                let waited = self
                    .candidates
                    .get(p)
                    .map_or(Duration::MAX, |s| s.since.elapsed());
                waited >= stable * 3
                    || self
                        .classify(p)
                        .is_none_or(|f| !arriving.contains(&f.department))
            });
        }
        // Arrival order: modification time, then name. A batch is read and held at once, so
        // it is kept small; the rest is taken at the next tick.
        out.sort_by(|a, b| {
            let t = |p: &PathBuf| self.candidates.get(p).and_then(|s| s.mtime);
            t(a).cmp(&t(b)).then_with(|| a.cmp(b))
        });
        out.truncate(BATCH);
        for p in &out {
            self.candidates.remove(p);
        }
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
}

/// Removes what runs killed while writing left behind (`.jixiao-PID-N.tmp` of processes gone) in
/// the folders jixiao writes: the reports, the state and its archive, and the departments'
/// output folders.
fn remove_stale_temp_files(cfg: &Config) {
    let mut dirs = vec![cfg.reports_dir.clone(), cfg.state_dir.clone()];
    if let Ok(entries) = std::fs::read_dir(cfg.archive_dir()) {
        dirs.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
    }
    for d in &cfg.departments {
        for folder in [&cfg.folders.accepted, &cfg.folders.returned] {
            dirs.push(cfg.root.join(&d.folder).join(folder));
        }
    }
    // Never through a link a department put in place of a folder.
    let real = |p: &PathBuf| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    for dir in dirs.iter().filter(|p| real(p)) {
        let n = crate::util::remove_stale_temp_files(dir);
        if n > 0 {
            info!(folder = %dir.display(), files = n, "temporary files of interrupted runs removed");
        }
    }
}

/// Whether an error is a full disk (or quota): the state cannot grow until space returns.
fn is_disk_full(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return matches!(io.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
                || io.kind() == std::io::ErrorKind::StorageFull;
        }
        if let Some(sql) = c.downcast_ref::<rusqlite::Error>() {
            return sql.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull);
        }
        false
    })
}

/// Watches the root (recursively) and the finance office's decision folder (its own files only;
/// created when missing, else its files are found by the rescan).
fn start_watcher(
    root: &Path,
    decisions_dir: &Path,
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
    if let Err(e) = std::fs::create_dir_all(decisions_dir)
        .map_err(notify::Error::io)
        .and_then(|()| watcher.watch(decisions_dir, RecursiveMode::NonRecursive))
    {
        warn!(folder = %decisions_dir.display(), error = %e, "not watching the decision folder; its files are found by the rescan");
    }
    Ok(watcher)
}
