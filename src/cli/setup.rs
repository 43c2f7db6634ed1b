//! Setting up and looking at a daemon's folders: `jixiao init`, the example setup used by
//! `jixiao watch` on a fresh machine, and `jixiao status`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::check::CheckResult;
use crate::config::{Config, EXAMPLE};
use crate::forms::definitions::{Definitions, FormKind};
use crate::rules::issue::IssueCode;

/// Writes an example setup into `dir`: `jixiao.toml`, one folder per department with the blank
/// forms, and the state folder. Returns the configuration's path. Never overwrites a config.
pub fn init(dir: &Path, defs: &Definitions) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("jixiao.toml");
    if path.exists() {
        anyhow::bail!("{} exists already; not overwriting it", path.display());
    }
    std::fs::write(&path, EXAMPLE).with_context(|| format!("writing {}", path.display()))?;
    let cfg = Config::load(&path)?;
    for d in &cfg.departments {
        let templates = cfg.root.join(&d.folder).join(&cfg.folders.templates);
        std::fs::create_dir_all(&templates)?;
        for kind in FormKind::ALL {
            crate::forms::blank::write_template(defs, kind, &templates)?;
        }
    }
    std::fs::create_dir_all(&cfg.state_dir)?;
    std::fs::create_dir_all(&cfg.reports_dir)?;
    std::fs::create_dir_all(&cfg.decisions_dir)?;
    Ok(path)
}

/// The configuration `jixiao watch` uses: the one named, else `./jixiao.toml`, else an example
/// setup in `./jixiao-data` (created on first use).
pub fn config_for_watch(named: Option<&Path>, defs: &Definitions) -> anyhow::Result<Config> {
    if let Some(path) = named {
        return Config::load(path);
    }
    let here = Path::new("jixiao.toml");
    if here.exists() {
        return Config::load(here);
    }
    let example = Path::new("jixiao-data");
    let path = example.join("jixiao.toml");
    if !path.exists() {
        init(example, defs)?;
        eprintln!(
            "No jixiao.toml here: created an example setup in {} (edit {} for your departments).",
            example.display(),
            path.display()
        );
    }
    Config::load(&path)
}

/// Tells the person starting the daemon where forms go and where answers appear.
pub fn print_where(cfg: &Config) {
    let d = &cfg.departments[0];
    let folder = cfg.root.join(&d.folder);
    eprintln!("jixiao is watching {}", cfg.root.display());
    eprintln!(
        "  put a form into a department's folder, e.g. {}/",
        folder.display()
    );
    eprintln!(
        "  blank forms are in {}/",
        folder.join(&cfg.folders.templates).display()
    );
    eprintln!(
        "  the answer appears in {}/ or {}/",
        folder.join(&cfg.folders.accepted).display(),
        folder.join(&cfg.folders.returned).display()
    );
    eprintln!("  state and archive: {}", cfg.state_dir.display());
}

/// `jixiao status`: recent submissions, work left unfinished, and files waiting in the inboxes.
pub fn status(cfg: &Config, limit: usize, out: &mut impl Write) -> anyhow::Result<()> {
    let conn = crate::store::open(&cfg.database())?;
    let counts = crate::store::counts(&conn)?;
    let summary: Vec<String> = counts.iter().map(|(o, n)| format!("{o} {n}")).collect();
    writeln!(
        out,
        "submissions: {}",
        if summary.is_empty() {
            "none".to_string()
        } else {
            summary.join(", ")
        }
    )?;
    let unfinished = crate::store::unfinished(&conn)?;
    if !unfinished.is_empty() {
        writeln!(
            out,
            "pending (recorded, file not yet moved): {}",
            unfinished.len()
        )?;
        for s in &unfinished {
            writeln!(out, "  #{} {} {}", s.id, s.department, s.inbox_path)?;
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
            if e.file_type().is_file() && crate::watch::classify(cfg, e.path()).is_some() {
                waiting.push(e.path().display().to_string());
            }
        }
    }
    if !waiting.is_empty() {
        writeln!(out, "waiting in the inboxes: {}", waiting.len())?;
        for w in &waiting {
            writeln!(out, "  {w}")?;
        }
    }
    let mail = crate::mail::outbox::list(&conn, crate::mail::ListFilter::All)?;
    let queued = mail
        .iter()
        .filter(|m| {
            matches!(
                m.status,
                crate::mail::Status::Queued | crate::mail::Status::Sending
            )
        })
        .count();
    let failed: Vec<_> = mail
        .iter()
        .filter(|m| m.status == crate::mail::Status::Failed)
        .collect();
    writeln!(out, "mail: {} queued, {} failed", queued, failed.len())?;
    for m in failed {
        writeln!(
            out,
            "  failed #{} {} → {}: {}  (jixiao outbox retry {})",
            m.id,
            m.subject,
            m.to.join(", "),
            m.last_error.as_deref().unwrap_or(""),
            m.id
        )?;
    }
    let overdue = crate::cycle::overdue(&conn, cfg, crate::cycle::today())?;
    if !overdue.is_empty() {
        writeln!(out, "overdue:")?;
        for (dept, items) in crate::cycle::overdue_by_department(&overdue) {
            let name = cfg
                .department_by_code(&dept)
                .map(|d| d.name.as_str())
                .unwrap_or(dept.as_str());
            for o in items {
                let what = if o.projects.is_empty() {
                    String::new()
                } else {
                    format!("（{}）", o.projects.join("、"))
                };
                writeln!(
                    out,
                    "  {name}: {} {}年 due {}{what}",
                    crate::cycle::form_name(o.form),
                    o.year,
                    o.due
                )?;
            }
        }
    }
    writeln!(out, "recent:")?;
    for s in crate::store::recent(&conn, limit)? {
        let outcome = match s.outcome.as_str() {
            "accepted" => "受理",
            "rejected" => "退回",
            "duplicate" => "重复",
            other => other,
        };
        writeln!(
            out,
            "  #{:<5} {}  {:<6} {}  {}  {}{}",
            s.id,
            s.received_at,
            s.department,
            outcome,
            s.file_name,
            s.project_name.as_deref().unwrap_or(""),
            if s.stage == "done" { "" } else { "  (pending)" }
        )?;
    }
    Ok(())
}

/// `jixiao history PROJECT`: every version of every form of the matching projects.
pub fn history(
    conn: &rusqlite::Connection,
    cfg: &Config,
    query: &str,
    out: &mut impl Write,
) -> anyhow::Result<i32> {
    let keys = crate::cycle::projects::find_keys(conn, query)?;
    if keys.is_empty() {
        writeln!(out, "no project \"{query}\" found")?;
        return Ok(1);
    }
    for key in keys {
        let rows = crate::cycle::projects::history(conn, &key)?;
        let mut parts = key.split('|');
        let year = parts.next().unwrap_or("");
        let dept = parts.next().unwrap_or("");
        let dept_name = cfg
            .department_by_code(dept)
            .map(|d| d.name.clone())
            .unwrap_or_else(|| dept.to_string());
        let name = rows
            .iter()
            .rev()
            .find_map(|r| r.project_name.clone())
            .unwrap_or_default();
        writeln!(out, "{name}（{year}年度，{dept_name}）")?;
        let approved = crate::cycle::projects::approved_declaration(conn, &key)?.map(|(id, _)| id);
        for r in rows {
            let form = match r.form.as_deref() {
                Some("target_declaration") => "绩效目标申报表",
                Some("performance_report") => "绩效运行监控表",
                Some("self_evaluation") => "绩效自评表",
                _ => "-",
            };
            let outcome = match r.outcome.as_str() {
                "accepted" => "受理",
                "rejected" => "退回",
                "duplicate" => "重复",
                other => other,
            };
            let mut detail = String::new();
            if let Some(v) = r
                .result_json
                .as_deref()
                .and_then(|j| CheckResult::from_stored(j).ok())
            {
                if let Some(rv) = &v.review {
                    detail.push_str(&format!(" 审核结论：{}", rv.conclusion));
                }
                if let Some(sc) = &v.score {
                    detail.push_str(&format!(" 核定{}分（{}）", sc.computed, sc.grade));
                }
                let errors = v.errors.len();
                if errors > 0 {
                    detail.push_str(&format!(" {errors}个问题"));
                }
                let adjusted = v
                    .warnings
                    .iter()
                    .filter(|w| {
                        matches!(
                            w.code,
                            IssueCode::TargetChanged
                                | IssueCode::IndicatorAdded
                                | IssueCode::IndicatorRemoved
                        )
                    })
                    .count();
                if adjusted > 0 {
                    detail.push_str(&format!(" 擅自调整绩效目标{adjusted}处"));
                }
            }
            if let Some((_, number, title)) = crate::watch::dispatch::letter_of(conn, r.id)? {
                detail.push_str(&format!(" 复函：{number}《{title}》"));
            }
            if approved == Some(r.id) {
                detail.push_str(" [批复目标]");
            }
            if let Some(by) = r.superseded_by {
                detail.push_str(&format!(" [已被#{by}替代]"));
            }
            writeln!(
                out,
                "  #{:<5} {}  {}  {}  {}{}",
                r.id, r.received_at, form, outcome, r.file_name, detail
            )?;
        }
    }
    Ok(0)
}
