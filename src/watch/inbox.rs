//! Which files under the root are departments' submissions: a file in a configured department's
//! folder (its identity), not in one of the daemon's own output folders, not a lock, temp or
//! hidden file.

use std::path::{Component, Path, PathBuf};
use std::time::{Instant, SystemTime};

use crate::check::is_lock_file;
use crate::config::Config;

/// A file under the root that is a department's submission.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InboxFile {
    pub(crate) department: String,
    /// Path inside the department's folder, `/`-separated.
    pub(crate) rel: String,
    pub(crate) path: PathBuf,
}

/// Names that are never forms: lock and temp files of Office, WPS and LibreOffice, partial
/// downloads and copies, hidden files.
pub(crate) fn is_ignored_name(name: &str) -> bool {
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
pub(crate) fn classify(cfg: &Config, path: &Path) -> Option<InboxFile> {
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
pub(super) struct Seen {
    pub(super) size: u64,
    pub(super) mtime: Option<SystemTime>,
    pub(super) since: Instant,
}

impl Seen {
    /// Not looked at yet: the next tick records its size and time and starts the wait.
    pub(super) fn unseen() -> Seen {
        Seen {
            size: u64::MAX,
            mtime: None,
            since: Instant::now(),
        }
    }
}
