//! Setting up and looking at a daemon's folders: `jixiao init`, the example setup used by
//! `jixiao watch` on a fresh machine, and `jixiao status`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::{Config, EXAMPLE};
use crate::definitions::{Definitions, FormKind};

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
            crate::templates::write_template(defs, kind, &templates)?;
        }
    }
    std::fs::create_dir_all(&cfg.state_dir)?;
    std::fs::create_dir_all(&cfg.reports_dir)?;
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
