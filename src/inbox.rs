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

/// Why a file under the root is not taken as a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrayReason {
    /// Its name (or a folder's on its path) is not UTF-8, e.g. GBK from an old archive tool.
    UndecodableName,
    /// A symbolic link: never followed.
    SymbolicLink,
    /// Directly in the root or in a folder of no configured department.
    NoDepartment,
}

impl StrayReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StrayReason::UndecodableName => "undecodable_name",
            StrayReason::SymbolicLink => "symbolic_link",
            StrayReason::NoDepartment => "no_department",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<StrayReason> {
        [
            StrayReason::UndecodableName,
            StrayReason::SymbolicLink,
            StrayReason::NoDepartment,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    /// For the administrator (`jixiao status`, the log).
    pub(crate) fn label(self) -> &'static str {
        match self {
            StrayReason::UndecodableName => "file name is not UTF-8",
            StrayReason::SymbolicLink => "symbolic link",
            StrayReason::NoDepartment => "in no department's folder",
        }
    }

    /// For the department's clerk: what is wrong and what to do.
    pub(crate) fn message(self) -> &'static str {
        match self {
            StrayReason::UndecodableName => {
                "文件名无法识别（可能是用旧版压缩软件解压的文件名）。请将文件重命名为简短的中文或英文名称（如“绩效目标申报表.xlsx”）后重新放入本部门文件夹"
            }
            StrayReason::SymbolicLink => {
                "这是一个快捷方式（符号链接），不是文件本身。请将表格文件本身复制到本部门文件夹"
            }
            StrayReason::NoDepartment => "文件不在任何部门的文件夹中",
        }
    }
}

/// Where a path under the root lies, for the daemon.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Place {
    /// A department's submission.
    Inbox(InboxFile),
    /// Not the daemon's to look at: outside the root, an output folder, a lock, temp or hidden
    /// file.
    Ignored,
    /// A file that cannot be taken and that someone must hear of: its department (when it lies
    /// in one's folder) and why.
    Stray {
        department: Option<String>,
        reason: StrayReason,
    },
}

/// Classifies a path under the root: a department's inbox file, or nothing to take.
pub(crate) fn classify(
    root: &Path,
    departments: &[Department],
    folders: &Folders,
    path: &Path,
) -> Option<InboxFile> {
    match place(root, departments, folders, path) {
        Place::Inbox(f) => Some(f),
        _ => None,
    }
}

/// Where a path under the root lies: a department's inbox file, nothing to look at, or a file
/// someone must be told of (a name that is not UTF-8, a file in no department's folder).
pub(crate) fn place(
    root: &Path,
    departments: &[Department],
    folders: &Folders,
    path: &Path,
) -> Place {
    let Ok(rel) = path.strip_prefix(root) else {
        return Place::Ignored;
    };
    let mut parts = Vec::new();
    let mut decodable = true;
    for c in rel.components() {
        match c {
            Component::Normal(s) => {
                decodable &= s.to_str().is_some();
                parts.push(s.to_string_lossy().to_string());
            }
            _ => return Place::Ignored,
        }
    }
    if parts.is_empty() || parts.iter().any(|p| is_ignored_name(p)) {
        return Place::Ignored;
    }
    let dept = (parts.len() >= 2)
        .then(|| departments::by_folder(departments, &parts[0]))
        .flatten();
    let Some(dept) = dept else {
        return Place::Stray {
            department: None,
            reason: StrayReason::NoDepartment,
        };
    };
    // The daemon's own output folders are not inboxes.
    if parts.len() > 2 && folders.is_output(&parts[1]) {
        return Place::Ignored;
    }
    if !decodable {
        return Place::Stray {
            department: Some(dept.code.clone()),
            reason: StrayReason::UndecodableName,
        };
    }
    Place::Inbox(InboxFile {
        department: dept.code.clone(),
        rel: parts[1..].join("/"),
        path: path.to_path_buf(),
    })
}
