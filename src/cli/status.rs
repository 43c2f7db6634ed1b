//! `jixiao status`: recent submissions, work left unfinished, files waiting in the inboxes, files
//! not taken (and whether their department was told), mail queued or failed, and forms overdue.

use std::io::Write;

use chrono::NaiveDate;

use crate::config::Config;
use crate::store::submissions::{self, Stage};

/// `jixiao status`: recent submissions, work left unfinished, and files waiting in the inboxes.
pub(crate) fn status(
    cfg: &Config,
    today: NaiveDate,
    limit: usize,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let conn = crate::store::open(&cfg.database())?;
    let counts = submissions::counts(&conn)?;
    let summary: Vec<String> = counts
        .iter()
        .map(|(o, n)| format!("{} {n}", o.as_str()))
        .collect();
    writeln!(
        out,
        "submissions: {}",
        if summary.is_empty() {
            "none".to_string()
        } else {
            summary.join(", ")
        }
    )?;
    let unfinished = submissions::unfinished(&conn)?;
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
            if e.file_type().is_file()
                && crate::inbox::classify(&cfg.root, &cfg.departments, &cfg.folders, e.path())
                    .is_some()
            {
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
    let strays = crate::store::strays::recent(&conn, limit)?;
    if !strays.is_empty() {
        writeln!(out, "files not taken:")?;
        for f in &strays {
            let what = match (&f.moved_to, f.notified) {
                (Some(to), true) => format!("moved to {to}, department told"),
                (Some(to), false) => format!("moved to {to}, notice waiting"),
                (None, _) => "left where it is: nobody to tell".to_string(),
            };
            writeln!(
                out,
                "  {}  {}  {}  ({})  {what}",
                f.seen_at,
                f.department.as_deref().unwrap_or("-"),
                f.path,
                f.reason.label()
            )?;
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
    let overdue = crate::cycle::overdue(&conn, &cfg.calendar(), today)?;
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
                    format!("（{}）", o.what())
                };
                writeln!(
                    out,
                    "  {name}: {} {}年 due {}{what}",
                    o.form.full_name(),
                    o.year,
                    o.due
                )?;
            }
        }
    }
    writeln!(out, "recent:")?;
    for s in submissions::recent(&conn, limit)? {
        let outcome = s.outcome.label();
        writeln!(
            out,
            "  #{:<5} {}  {:<6} {}  {}  {}{}",
            s.id,
            s.received_at,
            s.department,
            outcome,
            s.file_name,
            s.project_name.as_deref().unwrap_or(""),
            match (s.stage, &s.moved_to) {
                (Stage::Done, Some(_)) => "",
                (Stage::Done, None) => "  (not moved: deleted or replaced before it was moved)",
                _ => "  (pending)",
            }
        )?;
    }
    Ok(())
}
