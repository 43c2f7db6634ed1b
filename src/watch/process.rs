//! Taking one stable file (steps 2 to 4 of the module docs): read it safely, hash it, check it,
//! archive it, record it with everything it sends in one transaction, then move it out of the
//! inbox — and finishing what a crash left recorded but not moved.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use super::inbox::Seen;
use super::{Daemon, dispatch};
use crate::check::{CheckResult, Checked, Status};
use crate::forms::FormKind;
use crate::forms::record::FormRecord;
use crate::inbox::{InboxFile, StrayReason};
use crate::rules::identity::Sender;
use crate::rules::issue::IssueCode;
use crate::runtime::Clock;
use crate::store::strays;
use crate::store::submissions::{self, NewSubmission, Outcome, Stage, Submission};
use crate::util::{safe_file_name, write_atomic};
use crate::worker::{Failure, too_complex};

/// How often a file may be in the worker when the daemon itself dies before it is answered.
const MAX_TRIES: u32 = 3;

fn hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A stable file read and judged, waiting to be recorded. A batch taken together is recorded
/// declarations first, so a self-evaluation dropped beside its declaration is measured against
/// it.
pub(super) struct Taken {
    pub(super) path: PathBuf,
    inbox: InboxFile,
    file_name: String,
    size: u64,
    bytes: Vec<u8>,
    oversize: bool,
    sha: String,
    /// The check, unless the same content was received before.
    checked: Option<Checked>,
}

impl Taken {
    /// The bytes held until it is recorded.
    pub(super) fn held(&self) -> usize {
        self.bytes.len()
    }

    /// The kind of form, when the file was identified as one.
    pub(super) fn form(&self) -> Option<FormKind> {
        self.checked.as_ref().and_then(|c| c.result.form)
    }
}

impl Daemon {
    /// Steps 2 and 3 of one stable file: read it safely, hash it and check it. Nothing (and no
    /// error) when there is nothing to record: refused, gone, finished from an earlier run, or
    /// waiting for a file that cannot be read yet to settle.
    pub(super) fn take(&mut self, path: &Path) -> anyhow::Result<Option<Taken>> {
        let Some(inbox) = self.classify(path) else {
            return Ok(None);
        };
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(_) => return Ok(None), // gone meanwhile
        };
        if meta.file_type().is_symlink() {
            self.answer_stray(path, &inbox.department, StrayReason::SymbolicLink)?;
            return Ok(None);
        }
        if !meta.file_type().is_file() {
            // A named pipe would block the open (and the daemon with it); a socket or a device
            // is no file a department sends.
            self.refuse(path, "not a regular file (a pipe, socket or device)");
            return Ok(None);
        }
        let dept_dir = self
            .cfg
            .root
            .join(&self.department(&inbox.department).folder);
        if std::fs::symlink_metadata(&dept_dir).is_ok_and(|m| !m.is_dir()) {
            self.refuse(&dept_dir, "the department's folder is not a real folder");
            return Ok(None);
        }
        let real = std::fs::canonicalize(path)?;
        if !real.starts_with(std::fs::canonicalize(&dept_dir)?) {
            self.refuse(path, "leads outside the department's folder");
            return Ok(None);
        }

        let limit = self.checker.limits.max_file_bytes;
        let mut bytes = Vec::new();
        // Open without following a link, and make sure it is the very file checked above: a
        // file swapped for a link in between is refused, not read.
        let file = {
            use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
            let file = match std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                .open(path)
            {
                Ok(f) => f,
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                    self.answer_stray(path, &inbox.department, StrayReason::SymbolicLink)?;
                    return Ok(None);
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("opening {}", path.display()));
                }
            };
            let opened = file.metadata()?;
            if (opened.dev(), opened.ino()) != (meta.dev(), meta.ino()) {
                self.refuse(path, "replaced while being checked");
                return Ok(None);
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
        let earlier = submissions::by_hash(&self.conn, &inbox.department, &sha)?;
        if let Some(s) = earlier
            .iter()
            .find(|s| s.stage == Stage::Recorded && s.inbox_path == inbox.rel)
        {
            self.finish(&s.clone())?;
            return Ok(None);
        }
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();

        let checked = if !earlier.is_empty() {
            None
        } else {
            let checked = if oversize {
                // Refused by its size alone: nothing of it is read.
                self.checker.check_path(path, &file_name)
            } else {
                self.judge(&inbox.department, &inbox.rel, &sha, &file_name, &bytes)?
            };
            if is_unreadable(&checked.result) && !self.settled(path, &sha, &checked.result) {
                return Ok(None);
            }
            Some(checked)
        };
        self.deferred.remove(path);
        Ok(Some(Taken {
            path: path.to_path_buf(),
            inbox,
            file_name,
            size: meta.len(),
            bytes,
            oversize,
            sha,
            checked,
        }))
    }

    /// Reads and checks a file's bytes in the worker process. A file the worker cannot judge
    /// within its limits — or one that was in the worker each of the last times the daemon itself
    /// died — is answered with a rejection; only a worker that cannot be started leaves the file
    /// for a later try.
    fn judge(
        &mut self,
        department: &str,
        rel: &str,
        sha: &str,
        file_name: &str,
        bytes: &[u8],
    ) -> anyhow::Result<Checked> {
        let now = self.now_text();
        // Counted while it is in the worker, and only then: a daemon that dies at any other
        // moment counts nothing against the file.
        let tries = crate::store::judging::begin(&self.conn, department, sha, rel, &now)?;
        let limits = self.cfg.limits;
        if tries > MAX_TRIES {
            crate::store::judging::end(&self.conn, department, sha)?;
            let failure = Failure::Died(format!(
                "the daemon stopped {} times while this file was being read",
                tries - 1
            ));
            return Ok(too_complex(file_name, &failure, limits));
        }
        let judged = self.worker.judge(file_name, bytes);
        crate::store::judging::end(&self.conn, department, sha)?;
        match judged {
            Ok(checked) => Ok(checked),
            Err(Failure::Start(e)) => {
                Err(anyhow::Error::new(e).context("starting the worker process"))
            }
            Err(failure) => Ok(too_complex(file_name, &failure, limits)),
        }
    }

    /// Whether a file that cannot be read as a workbook is to be returned now: only once it has
    /// read the same for `watch.settle_ms` (a copy over a slow share may pause for long). Until
    /// then it waits and is read again every `watch.unreadable_retry_ms`.
    fn settled(&mut self, path: &Path, sha: &str, result: &CheckResult) -> bool {
        let settle = self.cfg.watch.settle();
        // Judged only on a second read of the same content, that long after the first.
        if let Some((h, since)) = self.deferred.get(path)
            && h == sha
            && since.elapsed() >= settle
        {
            return true;
        }
        if self.deferred.get(path).is_none_or(|(h, _)| h != sha) {
            info!(file = %path.display(), code = result.errors[0].code.as_str(), settle_secs = settle.as_secs(), "cannot read it yet; waiting for it to settle");
            self.deferred
                .insert(path.to_path_buf(), (sha.to_string(), Instant::now()));
        }
        self.candidates.insert(path.to_path_buf(), Seen::unseen());
        false
    }

    /// Step 3's end and step 4 for a taken file: archive it, record it with everything it
    /// sends in one transaction, then move it out of the inbox.
    pub(super) fn record(&mut self, t: Taken) -> anyhow::Result<()> {
        let Taken {
            path: _,
            inbox,
            file_name,
            size,
            bytes,
            oversize,
            sha,
            checked,
        } = t;
        // The same content may have been recorded since it was taken (twice in one batch).
        let earlier = submissions::by_hash(&self.conn, &inbox.department, &sha)?;
        let duplicate_of = earlier
            .iter()
            .find(|s| s.outcome != Outcome::Duplicate)
            .or(earlier.first())
            .map(|s| s.id);
        let (outcome, checked) = match checked {
            Some(mut checked) if duplicate_of.is_none() => {
                checked.require_sender(Sender::Department(self.department(&inbox.department)));
                crate::cycle::approvals::measure_against_approved(
                    &self.conn,
                    &inbox.department,
                    &mut checked,
                    &self.checker.defs,
                )?;
                let outcome = if checked.result.status == Status::Accepted {
                    Outcome::Accepted
                } else {
                    Outcome::Rejected
                };
                (outcome, Some(checked))
            }
            _ => (Outcome::Duplicate, None),
        };

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
        let form = result.and_then(|r| r.form);
        let project_key = project.as_ref().and_then(|p| p.key(&inbox.department));
        let record = checked
            .as_ref()
            .and_then(|c| c.form.as_deref())
            .map(FormRecord::from_form);
        // A returned form's annotated workbook is made in the worker too: only workers read a
        // department's bytes.
        let annotated = match &checked {
            Some(c) if !oversize && outcome == Outcome::Rejected => {
                c.form.as_deref().and_then(|form| {
                    self.worker
                        .annotate(&file_name, form, &c.result.errors, &bytes)
                })
            }
            _ => None,
        };
        let received_at = self.now_text();
        let dept = self.department(&inbox.department).clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let id = submissions::record(
            &tx,
            &NewSubmission {
                department: &inbox.department,
                inbox_path: &inbox.rel,
                file_name: &file_name,
                sha256: &sha,
                size,
                received_at: &received_at,
                outcome,
                form,
                year: project.as_ref().and_then(|p| p.year),
                project_key: project_key.as_ref(),
                project_code: project.as_ref().and_then(|p| p.code.as_deref()),
                project_name: project.as_ref().and_then(|p| p.name.as_deref()),
                result,
                record: record.as_ref(),
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
        dispatch::dispatch(
            &tx,
            &dispatch::Dispatch {
                finance: &self.cfg.finance,
                settings: &self.cfg.letters,
                letters: &self.letters,
                defs: &self.checker.defs,
                department: &dept,
                submission_id: id,
                file_name: &file_name,
                received_at: &received_at,
                today: self.clock.today(),
                now: self.clock.now().to_utc(),
                checked: checked.as_ref().map(|c| (&c.result, c.form.as_deref())),
                duplicate_of: first,
                project_key: project_key.as_ref(),
                original: if oversize {
                    crate::letters::Original::Absent
                } else {
                    crate::letters::Original::Annotated(annotated.as_deref())
                },
            },
        )?;
        tx.commit()?;
        self.wake_sender();
        if let Some(year) = project.as_ref().and_then(|p| p.year) {
            self.summary.mark_dirty(year);
        }
        if let Some(pause) = self.hooks.pause_after_record {
            // The crash tests' window: recorded, file not moved yet.
            std::thread::sleep(pause);
        }
        info!(
            id,
            department = %inbox.department,
            file = %inbox.rel,
            form = form.map_or("-", FormKind::id),
            outcome = outcome.as_str(),
            "recorded"
        );
        let recorded =
            submissions::get(&self.conn, id)?.context("the recorded submission is missing")?;
        self.finish(&recorded)
    }

    /// A file in a department's folder that cannot be taken (a name that is not UTF-8, a
    /// symbolic link): moved, never followed or read, to the department's returned folder with
    /// the reason beside it, logged once, and listed in the department's next notice of files
    /// that are no form.
    pub(super) fn answer_stray(
        &mut self,
        path: &Path,
        department: &str,
        reason: StrayReason,
    ) -> anyhow::Result<()> {
        let rel = path
            .strip_prefix(&self.cfg.root)
            .context("a department's file lies under the root")?;
        let (stray, _) = strays::note(&self.conn, rel, Some(department), reason, &self.now_text())?;
        let dept = self.department(department).clone();
        let dept_dir = self.cfg.root.join(&dept.folder);
        let folder = &self.cfg.folders.returned;
        let dest_dir = real_dir(&dept_dir, folder, self.clock.as_ref())?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let dest_name = format!("未受理{}-{}", stray.id, safe_file_name(&name));
        // A rename moves a link itself, never what it points to.
        std::fs::rename(path, dest_dir.join(&dest_name))
            .with_context(|| format!("moving {}", path.display()))?;
        write_atomic(
            &dest_dir.join(format!("{dest_name}.退回原因.txt")),
            format!("文件“{name}”未能受理：{}。\n", reason.message()).as_bytes(),
        )?;
        let moved = format!("{folder}/{dest_name}");
        strays::mark_moved(&self.conn, stray.id, &moved)?;
        warn!(file = %path.display(), department, reason = reason.label(), to = %moved, "not taken: moved to the returned folder; the department will be told");
        Ok(())
    }

    /// Step 4: moves the file out of the inbox and marks the submission done. Safe to repeat.
    pub(super) fn finish(&mut self, s: &Submission) -> anyhow::Result<()> {
        let dept = self.department(&s.department).clone();
        let dept_dir = self.cfg.root.join(&dept.folder);
        let inbox_path = dept_dir.join(&s.inbox_path);
        let folder = if s.outcome == Outcome::Accepted {
            &self.cfg.folders.accepted
        } else {
            &self.cfg.folders.returned
        };
        let dest_dir = real_dir(&dept_dir, folder, self.clock.as_ref())?;
        // A stable, unique name: the submission number in front of the original name.
        let dest_name = format!("{}-{}", s.id, safe_file_name(&s.file_name));
        let dest = dest_dir.join(&dest_name);
        // The letter (and a return notice's annotated workbook) appear beside the original.
        for (name, bytes) in crate::store::letters::answers(&self.conn, s.id)? {
            let path = dest_dir.join(format!("{}-{}", s.id, name));
            if !path.exists() {
                write_atomic(&path, &bytes)?;
            }
        }
        if s.outcome != Outcome::Accepted {
            let reasons = reasons_text(s);
            write_atomic(
                &dest_dir.join(format!("{dest_name}.退回原因.txt")),
                reasons.as_bytes(),
            )?;
        }
        // Only the content recorded leaves the inbox: a file replaced meanwhile stays (and is
        // taken as a new submission), and one deleted meanwhile is gone. `moved_to` then says
        // nothing was moved.
        let recorded_content = |p: &Path| {
            s.sha256.len() != 64
                || std::fs::read(p)
                    .map(|b| hash(&b) == s.sha256)
                    .unwrap_or(false)
        };
        let in_inbox = std::fs::symlink_metadata(&inbox_path).is_ok();
        let moved = if dest.exists() {
            // Moved by an earlier run; a copy left behind by an interrupted copy goes.
            if in_inbox && s.sha256.len() == 64 && recorded_content(&inbox_path) {
                std::fs::remove_file(&inbox_path)?;
            }
            true
        } else if in_inbox && recorded_content(&inbox_path) {
            std::fs::rename(&inbox_path, &dest).or_else(|_| {
                std::fs::copy(&inbox_path, &dest).and_then(|_| std::fs::remove_file(&inbox_path))
            })?;
            true
        } else {
            false
        };
        if moved {
            let moved = format!("{folder}/{dest_name}");
            submissions::mark_done(&self.conn, s.id, Some(&moved), &self.now_text())?;
            info!(id = s.id, to = %moved, "done");
        } else {
            submissions::mark_done(&self.conn, s.id, None, &self.now_text())?;
            let what = if in_inbox { "replaced" } else { "deleted" };
            info!(id = s.id, file = %s.inbox_path, "done; the file was {what} before it was moved, so nothing was moved");
        }
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
fn reasons_text(s: &Submission) -> String {
    let mut out = String::new();
    if s.outcome == Outcome::Duplicate {
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
    if let Some(r) = s.result() {
        for (i, e) in r.errors.iter().enumerate() {
            let line = match (e.sheet.as_deref(), e.cell.as_deref()) {
                (Some(sh), Some(c)) => {
                    format!("工作表“{sh}”{c}单元格（{}）：{}", e.field, e.message)
                }
                (Some(sh), None) => format!("工作表“{sh}”（{}）：{}", e.field, e.message),
                // A problem of the whole file: its message says what to do.
                _ => e.message.clone(),
            };
            out.push_str(&format!("{}. {line}\n", i + 1));
        }
    }
    out
}

/// The daemon's own folder inside a department's folder, as a real folder: a link or a file a
/// department put in its place is moved aside, so nothing is written through it.
fn real_dir(dept_dir: &Path, folder: &str, clock: &dyn Clock) -> anyhow::Result<PathBuf> {
    let dir = dept_dir.join(folder);
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            let aside = dept_dir.join(format!(
                "{folder}（已移开{}）",
                clock.now().format("%Y%m%d%H%M%S")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Checker;
    use crate::forms::Definitions;
    use crate::store::submissions::Stage;
    use crate::workbook::Limits;

    fn submission(bytes: &[u8]) -> Submission {
        let checker = Checker::new(Definitions::embedded(), Limits::default());
        let result = checker.check_bytes("坏文件.xlsx", bytes).result;
        Submission {
            id: 7,
            department: "nyt".into(),
            inbox_path: "坏文件.xlsx".into(),
            file_name: "坏文件.xlsx".into(),
            sha256: String::new(),
            received_at: String::new(),
            stage: Stage::Recorded,
            outcome: Outcome::Rejected,
            form: None,
            project_name: None,
            result_json: Some(serde_json::to_string(&result).unwrap()),
            duplicate_of: None,
            superseded_by: None,
            moved_to: None,
        }
    }

    /// Regression: a whole-file problem read `1. 文件（文件）：…`.
    #[test]
    fn reasons_of_a_whole_file_problem_say_it_once() {
        let text = reasons_text(&submission(b"PK\x03\x04 not a zip"));
        assert!(!text.contains("文件（文件）"), "{text}");
        assert!(text.contains("1. 文件无法读取"), "{text}");
    }
}
