//! One project across the year. Its forms are linked by year, department and project code (else
//! name); the approved declaration's targets are what the performance report and the
//! self-evaluation are measured against (财预〔2015〕88号: targets once approved are not changed
//! without approval).

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use crate::check::CheckResult;
use crate::forms::definitions::{Definitions, FormKind};
use crate::forms::indicator::{Comparator, Target, parse_target};
use crate::forms::project::Project;
use crate::forms::read::{RawForm, Slot};
use crate::forms::record::FormRecord;
use crate::rules::issue::{Issue, IssueCode};
use crate::rules::review::Conclusion;
use crate::store::Submission;
use crate::text::normalize;
use crate::workbook::Value;

/// The key that links a project's forms: year, department code, and the normalised 项目编码 (else
/// 项目名称).
pub fn project_key(project: &Project, department: &str) -> Option<String> {
    let ident = project.code.clone().or_else(|| project.name.clone())?;
    Some(format!(
        "{}|{}|{}",
        project.year.map(|y| y.to_string()).unwrap_or_default(),
        department,
        normalize(&ident)
    ))
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS approvals (
    id            INTEGER PRIMARY KEY,
    project_key   TEXT NOT NULL,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    approved_at   TEXT NOT NULL,
    source        TEXT NOT NULL,       -- "command" or the decision file's name
    note          TEXT,
    UNIQUE (submission_id)
);
"#;

/// Creates the tables of this module.
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)
}

/// The approved declaration of a project: the latest accepted declaration whose conclusion is
/// 通过, or 修改后通过 with an administrator's approval.
pub fn approved_declaration(
    conn: &Connection,
    key: &str,
) -> anyhow::Result<Option<(i64, FormRecord)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.id, s.result_json, s.form_json, \
         EXISTS (SELECT 1 FROM approvals a WHERE a.submission_id = s.id) \
         FROM submissions s WHERE s.project_key = ?1 AND s.form = 'target_declaration' \
         AND s.outcome = 'accepted' ORDER BY s.id DESC",
    )?;
    let rows = stmt.query_map(params![key], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, bool>(3)?,
        ))
    })?;
    for row in rows {
        let (id, result, form, approved) = row?;
        let conclusion = result
            .as_deref()
            .and_then(|j| CheckResult::from_stored(j).ok())
            .and_then(|r| r.review)
            .map(|r| r.conclusion);
        let ok = match conclusion {
            Some(Conclusion::Pass) => true,
            Some(Conclusion::PassAfterRevision) => approved,
            Some(Conclusion::Fail) | None => false,
        };
        if ok && let Some(record) = form.and_then(|f| serde_json::from_str(&f).ok()) {
            return Ok(Some((id, record)));
        }
    }
    Ok(None)
}

/// Approves the latest accepted declaration of a project (for a 修改后通过 conclusion).
/// Returns the approved submission's id, or `None` when there is no accepted declaration.
pub fn approve(
    conn: &Connection,
    key: &str,
    source: &str,
    note: Option<&str>,
    now: &str,
) -> anyhow::Result<Option<i64>> {
    let id: Option<i64> = conn
        .query_row(
            "SELECT id FROM submissions WHERE project_key = ?1 AND form = 'target_declaration' \
             AND outcome = 'accepted' ORDER BY id DESC LIMIT 1",
            params![key],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = id {
        conn.execute(
            "INSERT OR IGNORE INTO approvals (project_key, submission_id, approved_at, source, note) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![key, id, now, source, note],
        )?;
    }
    Ok(id)
}

/// The project keys matching a 项目编码 or 项目名称 (any year, any department).
pub fn find_keys(conn: &Connection, query: &str) -> anyhow::Result<Vec<String>> {
    let q = normalize(query);
    let mut stmt = conn.prepare(
        "SELECT DISTINCT project_key FROM submissions WHERE project_key IS NOT NULL \
         AND (project_code = ?1 OR project_name = ?1 OR project_key LIKE '%|' || ?2) \
         ORDER BY project_key",
    )?;
    let rows = stmt.query_map(params![query.trim(), q], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One indicator as the cross-form check sees it.
struct Ind {
    name: String,
    target: String,
    level2: String,
}

fn indicators(record: &FormRecord) -> Vec<Ind> {
    record
        .indicators
        .iter()
        .filter_map(|row| {
            Some(Ind {
                name: row.get("level3")?.clone(),
                target: row.get("target").cloned().unwrap_or_default(),
                level2: row.get("level2").cloned().unwrap_or_default(),
            })
        })
        .collect()
}

fn quantity(text: &str, level2: &str, defs: &Definitions) -> Option<(Comparator, f64, String)> {
    let slot = Slot::new(None, Value::Text(text.to_string()));
    let cost = defs.framework.is_cost(&normalize(level2));
    match parse_target(&slot, cost, &defs.framework)? {
        Target::Quantitative {
            comparator,
            quantity,
        } => Some((comparator, quantity.value.try_into().ok()?, quantity.unit)),
        Target::Qualitative(_) => None,
    }
}

/// Whether a changed target asks less than the approved one.
fn lowered(approved: &str, now: &str, level2: &str, defs: &Definitions) -> bool {
    match (
        quantity(approved, level2, defs),
        quantity(now, level2, defs),
    ) {
        (Some((ca, a, ua)), Some((cn, n, un))) if ca == cn && ua == un => match ca {
            Comparator::AtLeast => n < a,
            Comparator::AtMost => n > a,
            Comparator::Equal => false,
        },
        _ => false,
    }
}

/// The findings of a performance report or self-evaluation measured against the approved
/// declaration: a target changed (lowered or otherwise), an indicator removed or added, or no
/// approved declaration at all. All are 擅自调整绩效目标 findings except the last.
pub fn cross_check(
    approved: Option<&FormRecord>,
    form: &RawForm,
    defs: &Definitions,
) -> Vec<Issue> {
    if form.kind == FormKind::TargetDeclaration {
        return Vec::new();
    }
    let Some(approved) = approved else {
        return vec![Issue::new(
            &form.sheet,
            None,
            "项目",
            IssueCode::NoApprovedDeclaration,
            "未找到本项目已批复的绩效目标申报表，无法对照批复目标，请先报送绩效目标申报表并经审核通过"
                .to_string(),
        )];
    };
    let mut out = Vec::new();
    let approved_inds = indicators(approved);
    let by_name: HashMap<String, &Ind> = approved_inds
        .iter()
        .map(|i| (normalize(&i.name), i))
        .collect();
    let mut seen = Vec::new();
    for row in &form.indicators {
        let name_slot = row.get("level3");
        let Some(name) = name_slot.text() else {
            continue;
        };
        let key = normalize(&name);
        seen.push(key.clone());
        let target_slot = row.get("target");
        let target = target_slot.text().unwrap_or_default();
        match by_name.get(&key) {
            None => out.push(Issue::new(
                &form.sheet,
                name_slot.cell,
                "三级指标",
                IssueCode::IndicatorAdded,
                format!("指标“{name}”不在批复的绩效目标中（擅自调整绩效目标），新增指标须报经财政部门审核"),
            )),
            Some(a) if normalize(&a.target) != normalize(&target) => {
                let how = if lowered(&a.target, &target, &a.level2, defs) {
                    "调低"
                } else {
                    "调整"
                };
                out.push(Issue::new(
                    &form.sheet,
                    target_slot.cell,
                    "年度指标值",
                    IssueCode::TargetChanged,
                    format!(
                        "指标“{name}”的年度指标值由批复的“{}”{how}为“{target}”（擅自调整绩效目标），请按批复目标填报",
                        a.target
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    for a in &approved_inds {
        if !seen.contains(&normalize(&a.name)) {
            out.push(Issue::new(
                &form.sheet,
                form.indicator_header,
                "三级指标",
                IssueCode::IndicatorRemoved,
                format!(
                    "批复的指标“{}”（年度指标值“{}”）未填报（擅自调整绩效目标），请补充该指标",
                    a.name, a.target
                ),
            ));
        }
    }
    out
}

/// Every version of every form of a project, oldest first.
pub fn history(conn: &Connection, key: &str) -> anyhow::Result<Vec<Submission>> {
    Ok(crate::store::by_project(conn, key)?)
}

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
pub struct Decision {
    pub decision: String,
    pub year: i32,
    pub department: String,
    pub project: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// Applies the decision files waiting in the folder: each is moved to `已处理/` when applied, or
/// to `有误/` with a `.txt` saying why.
pub fn process_decisions(
    conn: &Connection,
    cfg: &crate::config::Config,
    now: &str,
) -> anyhow::Result<usize> {
    let dir = cfg.decisions_dir.clone();
    let Ok(entries) = std::fs::read_dir(&dir) else {
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
            .and_then(|text| apply_decision(conn, cfg, &name, &text, now));
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
    cfg: &crate::config::Config,
    name: &str,
    text: &str,
    now: &str,
) -> anyhow::Result<()> {
    let d: Decision = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(1);
        anyhow::anyhow!("{name}:{line}: {}", e.message())
    })?;
    if d.decision != "approve" {
        anyhow::bail!(
            "{name}: decision = \"{}\": only \"approve\" is known",
            d.decision
        );
    }
    if cfg.department_by_code(&d.department).is_none() {
        anyhow::bail!(
            "{name}: department = \"{}\" is not in jixiao.toml",
            d.department
        );
    }
    let key = format!("{}|{}|{}", d.year, d.department, normalize(&d.project));
    match approve(conn, &key, name, d.note.as_deref(), now)? {
        Some(_) => Ok(()),
        None => anyhow::bail!(
            "{name}: no accepted declaration of project \"{}\" ({} {})",
            d.project,
            d.year,
            d.department
        ),
    }
}
