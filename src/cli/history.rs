//! `jixiao history PROJECT`: every version of every form of a project, with results, letters,
//! each finding against the approved declaration, which declaration is approved, a pending
//! adjustment request, and the finance office's approvals and revocations.

use std::io::Write;

use crate::config::Config;
use crate::rules::issue::IssueCode;
use crate::store::approvals::Action;
use crate::store::submissions;

/// Whether a finding measures a form against the approved declaration.
fn against_approved(code: IssueCode) -> bool {
    matches!(
        code,
        IssueCode::TargetChanged
            | IssueCode::IndicatorAdded
            | IssueCode::IndicatorRemoved
            | IssueCode::NoApprovedDeclaration
            | IssueCode::AdjustmentRequest
    )
}

/// `jixiao history PROJECT`: every version of every form of the matching projects.
pub(crate) fn history(
    conn: &rusqlite::Connection,
    cfg: &Config,
    query: &str,
    out: &mut impl Write,
) -> anyhow::Result<i32> {
    let keys = submissions::find_keys(conn, query, &crate::text::normalize(query))?;
    if keys.is_empty() {
        writeln!(out, "no project \"{query}\" found")?;
        return Ok(1);
    }
    for key in keys {
        let rows = submissions::by_project(conn, &key)?;
        let year = key.year();
        let dept = key.department();
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
        let standing = crate::cycle::approvals::standing(conn, &key)?;
        for r in rows {
            let form = r.form.map_or("-", |k| k.name());
            let outcome = r.outcome.label();
            let mut detail = String::new();
            if let Some(v) = r.result() {
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
            }
            if let Some(l) = crate::store::letters::letter_of(conn, r.id)? {
                detail.push_str(&format!(" 复函：{}《{}》", l.doc_number, l.title));
            }
            if standing.in_force == Some(r.id) {
                detail.push_str(" [批复目标]");
            }
            if standing.pending == Some(r.id) {
                detail.push_str(" [调整申请，待批复]");
            }
            if let Some(by) = r.superseded_by {
                detail.push_str(&format!(" [已被#{by}替代]"));
            }
            writeln!(
                out,
                "  #{:<5} {}  {}  {}  {}{}",
                r.id, r.received_at, form, outcome, r.file_name, detail
            )?;
            for w in r.result().iter().flat_map(|v| &v.warnings) {
                if against_approved(w.code) {
                    writeln!(out, "         {}：{}", w.code, w.message)?;
                }
            }
        }
        for d in &standing.decisions {
            let what = match d.action {
                Action::Approve => "批准",
                Action::Revoke => "撤销批准",
            };
            let note = d
                .note
                .as_deref()
                .map(|n| format!("：{n}"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {} {what}#{}（{}）{note}",
                d.at, d.submission_id, d.source
            )?;
        }
    }
    Ok(0)
}
