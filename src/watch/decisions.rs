//! Decision files: the finance office approves a declaration, or revokes an approval, by
//! putting a small TOML file into its own folder (`decisions_dir`, never a department's). Each
//! is applied once and moved to `已处理/`, or to `有误/` with a `.txt` saying why.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::cycle::approvals;
use crate::departments::{self, Department};
use crate::forms::project::ProjectKey;
use crate::store::approvals::Action;

use super::inbox::Seen;

/// A decision file put by the finance office into its own folder (`decisions_dir`), e.g.
/// `决定/2026-nyt-22000026000101.toml`:
///
/// ```toml
/// decision = "approve"          # or "revoke"
/// year = 2026
/// department = "nyt"            # department code from jixiao.toml
/// project = "22000026000101"    # 项目编码, or 项目名称 when the project has no code
/// version = 12                  # optional: the declaration's submission number
/// note = "经复核，同意按修改后目标执行"
/// ```
///
/// A file named `{year}-{department}-…` must name the same year and department inside.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Decision {
    pub(crate) decision: String,
    pub(crate) year: i32,
    pub(crate) department: String,
    pub(crate) project: String,
    #[serde(default)]
    pub(crate) version: Option<i64>,
    #[serde(default)]
    pub(crate) note: Option<String>,
}

/// Decision files noticed (by a file-system event or a rescan of `decisions_dir`) and waiting
/// until they are stable, by the same rule as forms in an inbox: unchanged in size and
/// modification time for `stable_ms`.
#[derive(Debug, Default)]
pub(crate) struct Waiting {
    files: HashMap<PathBuf, Seen>,
}

/// Whether a path is a decision file lying directly in the folder.
fn is_decision_file(dir: &Path, path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.parent() == Some(dir) && !name.starts_with('.') && name.ends_with(".toml")
}

impl Waiting {
    /// Takes note of a path that may be a new or changed decision file; false when it is none.
    pub(crate) fn notice(&mut self, dir: &Path, path: &Path) -> bool {
        if !is_decision_file(dir, path) {
            return false;
        }
        self.files
            .entry(path.to_path_buf())
            .or_insert_with(Seen::unseen);
        true
    }

    /// Takes note of every decision file lying in the folder.
    pub(crate) fn notice_all(&mut self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                self.notice(dir, &entry.path());
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The decision files stable for `stable`, oldest name first; forgets the ones gone.
    pub(crate) fn ready(&mut self, stable: Duration) -> Vec<PathBuf> {
        let mut out = Vec::new();
        self.files.retain(|path, seen| {
            let Ok(meta) = std::fs::symlink_metadata(path) else {
                return false;
            };
            if !meta.is_file() {
                return false;
            }
            let now = (meta.len(), meta.modified().ok());
            if (seen.size, seen.mtime) != now {
                *seen = Seen {
                    size: now.0,
                    mtime: now.1,
                    since: Instant::now(),
                };
            } else if seen.since.elapsed() >= stable {
                out.push(path.clone());
                return false;
            }
            true
        });
        out.sort();
        out
    }
}

/// Applies one decision file and moves it to `已处理/`, or to `有误/` with a `.txt` saying why.
/// Returns whether it was applied.
pub(crate) fn apply_file(
    conn: &Connection,
    path: &Path,
    departments: &[Department],
    now: &str,
) -> anyhow::Result<bool> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(false);
    };
    let name = name.to_string_lossy().to_string();
    let outcome = std::fs::read_to_string(path)
        .map_err(anyhow::Error::from)
        .and_then(|text| apply_decision(conn, departments, &name, &text, now));
    let (folder, reason) = match &outcome {
        Ok(()) => ("已处理", None),
        Err(e) => ("有误", Some(format!("{e:#}"))),
    };
    let target = dir.join(folder);
    std::fs::create_dir_all(&target)?;
    if let Some(reason) = &reason {
        std::fs::write(target.join(format!("{name}.txt")), reason)?;
    }
    std::fs::rename(path, target.join(&name))?;
    match &reason {
        Some(reason) => {
            tracing::warn!(file = %name, error = %reason, to = folder, "decision file not applied")
        }
        None => tracing::info!(file = %name, to = folder, "decision applied"),
    }
    Ok(outcome.is_ok())
}

/// The year and department a file name `2026-nyt-….toml` announces, when it has that shape.
fn named_in_file_name(name: &str) -> Option<(&str, &str)> {
    let mut parts = name.strip_suffix(".toml")?.splitn(3, '-');
    let year = parts.next()?;
    let department = parts.next()?;
    parts.next()?;
    (year.len() == 4 && year.chars().all(|c| c.is_ascii_digit())).then_some((year, department))
}

fn apply_decision(
    conn: &Connection,
    departments: &[Department],
    name: &str,
    text: &str,
    now: &str,
) -> anyhow::Result<()> {
    let d: Decision = crate::util::parse_toml(text, name)?;
    let action = match d.decision.as_str() {
        "approve" => Action::Approve,
        "revoke" => Action::Revoke,
        other => anyhow::bail!(
            "{name}: decision = \"{other}\": only \"approve\" and \"revoke\" are known"
        ),
    };
    if departments::by_code(departments, &d.department).is_none() {
        anyhow::bail!(
            "{name}: department = \"{}\" is not in jixiao.toml",
            d.department
        );
    }
    if let Some((year, department)) = named_in_file_name(name) {
        if department != d.department {
            anyhow::bail!(
                "{name}: the file name names department \"{department}\" but the file says department = \"{}\"; nothing was applied",
                d.department
            );
        }
        if year != d.year.to_string() {
            anyhow::bail!(
                "{name}: the file name names year {year} but the file says year = {}; nothing was applied",
                d.year
            );
        }
    }
    let key = ProjectKey::new(Some(d.year), &d.department, &d.project);
    let note = d.note.as_deref();
    let done = match action {
        Action::Approve => approvals::approve(conn, &key, d.version, name, note, now)?,
        Action::Revoke => approvals::revoke(conn, &key, d.version, name, note, now)?,
    };
    done.map(|_| ())
        .map_err(|refused| anyhow::anyhow!("{name}: {refused}"))
}
