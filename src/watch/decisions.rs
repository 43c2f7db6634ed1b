//! Decision files: the finance office approves a declaration by putting a small TOML file into
//! its own folder (`decisions_dir`, never a department's). Each is applied once and moved to
//! `已处理/`, or to `有误/` with a `.txt` saying why.

use std::path::Path;

use rusqlite::Connection;

use crate::cycle::approvals;
use crate::departments::{self, Department};
use crate::forms::project::ProjectKey;

/// A decision file put by the finance office into its own folder (`decisions_dir`), e.g.
/// `决定/2026-nyt-22000026000101.toml`:
///
/// ```toml
/// decision = "approve"          # approve the declaration concluded 修改后通过
/// year = 2026
/// department = "nyt"            # department code from jixiao.toml
/// project = "22000026000101"    # 项目编码, or 项目名称 when the project has no code
/// note = "经复核，同意按修改后目标执行"
/// ```
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Decision {
    pub(crate) decision: String,
    pub(crate) year: i32,
    pub(crate) department: String,
    pub(crate) project: String,
    #[serde(default)]
    pub(crate) note: Option<String>,
}

/// Applies the decision files waiting in the folder: each is moved to `已处理/` when applied, or
/// to `有误/` with a `.txt` saying why.
pub(crate) fn process_decisions(
    conn: &Connection,
    dir: &Path,
    departments: &[Department],
    now: &str,
) -> anyhow::Result<usize> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut applied = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if !entry.file_type().map(|t| t.is_file()).unwrap_or(false)
            || name.starts_with('.')
            || !name.ends_with(".toml")
        {
            continue;
        }
        let outcome = std::fs::read_to_string(&path)
            .map_err(anyhow::Error::from)
            .and_then(|text| apply_decision(conn, departments, &name, &text, now));
        let (folder, reason) = match outcome {
            Ok(()) => {
                applied += 1;
                ("已处理", None)
            }
            Err(e) => ("有误", Some(format!("{e:#}"))),
        };
        let target = dir.join(folder);
        std::fs::create_dir_all(&target)?;
        if let Some(reason) = &reason {
            tracing::warn!(file = %name, error = %reason, "decision file not applied");
            std::fs::write(target.join(format!("{name}.txt")), reason)?;
        } else {
            tracing::info!(file = %name, "decision applied");
        }
        std::fs::rename(&path, target.join(&name))?;
    }
    Ok(applied)
}

fn apply_decision(
    conn: &Connection,
    departments: &[Department],
    name: &str,
    text: &str,
    now: &str,
) -> anyhow::Result<()> {
    let d: Decision = crate::util::parse_toml(text, name)?;
    if d.decision != "approve" {
        anyhow::bail!(
            "{name}: decision = \"{}\": only \"approve\" is known",
            d.decision
        );
    }
    if departments::by_code(departments, &d.department).is_none() {
        anyhow::bail!(
            "{name}: department = \"{}\" is not in jixiao.toml",
            d.department
        );
    }
    let key = ProjectKey::new(Some(d.year), &d.department, &d.project);
    match approvals::approve(conn, &key, name, d.note.as_deref(), now)? {
        Some(_) => Ok(()),
        None => anyhow::bail!(
            "{name}: no accepted declaration of project \"{}\" ({} {})",
            d.project,
            d.year,
            d.department
        ),
    }
}
