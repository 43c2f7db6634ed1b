//! The shared folders: one folder per department under the root (the folder is the department's
//! identity), the daemon's own folders inside each (`[folders]`), which files in them are
//! submissions, and how files are noticed and taken (`[watch]`).

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::check::is_lock_file;
use crate::departments::{self, Department};

/// Names of the folders the daemon writes inside each department's folder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Folders {
    /// Accepted originals and the letters that answer them.
    pub(crate) accepted: String,
    /// Returned originals with their rejection reasons and the return notice.
    pub(crate) returned: String,
    /// The blank forms for the department to fill in.
    pub(crate) templates: String,
}

impl Folders {
    /// Whether a first-level sub-folder of a department's folder is one the daemon writes.
    pub fn is_output(&self, name: &str) -> bool {
        name == self.accepted || name == self.returned || name == self.templates
    }
}

impl Default for Folders {
    fn default() -> Self {
        Folders {
            accepted: "已受理".into(),
            returned: "已退回".into(),
            templates: "空白表样".into(),
        }
    }
}

/// How files are noticed and when they are taken.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct WatchSettings {
    /// A file is taken when its size and modification time have not changed for this long.
    pub(crate) stable_ms: u64,
    /// A full rescan finds what file-system events missed.
    pub(crate) rescan_secs: u64,
    /// Pure polling, for network shares (SMB/CIFS, NFS) that give no events.
    pub(crate) poll: bool,
    /// How often to poll in polling mode.
    pub(crate) poll_ms: u64,
    /// A file that cannot be read as a workbook is read again after this long.
    pub(crate) unreadable_retry_ms: u64,
    /// A file that cannot be read as a workbook is returned only once it has read the same for
    /// this long: a copy over a slow share may pause for a minute and more.
    pub(crate) settle_ms: u64,
}

impl Default for WatchSettings {
    fn default() -> Self {
        WatchSettings {
            stable_ms: 2000,
            rescan_secs: 60,
            poll: false,
            poll_ms: 2000,
            unreadable_retry_ms: 10_000,
            settle_ms: 120_000,
        }
    }
}

impl WatchSettings {
    pub(crate) fn stable(&self) -> Duration {
        Duration::from_millis(self.stable_ms)
    }

    /// How long a file that cannot be read must read the same before it is returned.
    pub(crate) fn settle(&self) -> Duration {
        Duration::from_millis(self.settle_ms)
    }
}

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
pub(crate) fn classify(
    root: &Path,
    departments: &[Department],
    folders: &Folders,
    path: &Path,
) -> Option<InboxFile> {
    let rel = path.strip_prefix(root).ok()?;
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
    let dept = departments::by_folder(departments, &parts[0])?;
    // The daemon's own output folders are not inboxes.
    if parts.len() > 2 && folders.is_output(&parts[1]) {
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
