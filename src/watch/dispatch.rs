//! What the daemon sends for a recorded submission, inside the transaction that records it: the
//! receipt (or the duplicate notice), and the numbered letter with its annotated workbook
//! (`cycle::issue`) — or, for a kind held for sign-off (`[letters] sign_off`), the held letter,
//! which is numbered and sent when a reviewer signs it (`cycle::signoff`).
//! Recipients come from the configuration only: the department's contacts, the finance office
//! copied as configured. Nothing read from a form decides where mail goes.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::Transaction;
use serde::Serialize;

use crate::check::CheckResult;
use crate::cycle::issue::{self, enqueue, recipients};
use crate::departments::{Department, Finance};
use crate::forms::project::ProjectKey;
use crate::forms::read::RawForm;
use crate::letters::{LetterInput, LetterKind, LetterSettings, Letters, NoticeKind, Original};
use crate::mail::OutgoingMessage;
use crate::store;
use crate::text::chinese_time;
use crate::util::one_line;

/// What the daemon knows of a submission when it records it.
pub(crate) struct Dispatch<'a> {
    pub(crate) finance: &'a Finance,
    pub(crate) settings: &'a LetterSettings,
    pub(crate) letters: &'a Letters,
    pub(crate) defs: &'a crate::Definitions,
    pub(crate) department: &'a Department,
    pub(crate) submission_id: i64,
    pub(crate) file_name: &'a str,
    pub(crate) received_at: &'a str,
    /// The letters' date (成文日期).
    pub(crate) today: NaiveDate,
    pub(crate) now: DateTime<Utc>,
    /// None for a duplicate.
    pub(crate) checked: Option<(&'a CheckResult, Option<&'a RawForm>)>,
    /// The id of the earlier submission with the same content, for a duplicate.
    pub(crate) duplicate_of: Option<(i64, String)>,
    pub(crate) project_key: Option<&'a ProjectKey>,
    /// The file's bytes, for the annotated workbook; None when it was not read in full.
    pub(crate) original: Original<'a>,
}

#[derive(Serialize)]
struct NoticeContext<'a> {
    department: &'a str,
    file_name: &'a str,
    form_name: Option<&'static str>,
    project_name: Option<String>,
    received_at: String,
    first_received_at: Option<String>,
}

fn form_name(result: Option<&CheckResult>) -> Option<&'static str> {
    result.and_then(|r| r.form).map(|k| k.full_name())
}

/// One file of the notice of files that are no form.
#[derive(Serialize)]
struct RefusedFile {
    name: String,
    reason: String,
}

#[derive(Serialize)]
struct UnreadableContext<'a> {
    department: &'a str,
    count: usize,
    files: Vec<RefusedFile>,
}

/// Queues, for each department not in `busy`, one notice listing the files that are no form and
/// wait for it (however many there are), in one transaction with their removal from the waiting
/// list. Returns how many notices were queued.
pub(crate) fn send_file_notices(
    conn: &mut rusqlite::Connection,
    busy: &std::collections::HashSet<String>,
    departments: &[Department],
    finance: &Finance,
    letters: &Letters,
    settings: &LetterSettings,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let waiting = store::notices::waiting(conn)?;
    let strays = store::strays::waiting_notice(conn)?;
    if waiting.is_empty() && strays.is_empty() {
        return Ok(0);
    }
    let tx = conn.transaction()?;
    let mut queued = 0;
    // Per department: the files listed, the waiting submissions and the stray files told of.
    type Listed = (Vec<RefusedFile>, Vec<i64>, Vec<i64>);
    let mut by_dept: std::collections::BTreeMap<&str, Listed> = std::collections::BTreeMap::new();
    for w in waiting.iter().filter(|w| !busy.contains(&w.department)) {
        let entry = by_dept.entry(&w.department).or_default();
        entry.0.push(RefusedFile {
            name: one_line(&w.file_name),
            reason: w
                .result_json
                .as_deref()
                .and_then(|j| CheckResult::from_stored(j).ok())
                .and_then(|r| r.errors.first().map(|e| e.message.clone()))
                .unwrap_or_else(|| "与此前提交的文件内容相同".to_string()),
        });
        entry.1.push(w.submission_id);
    }
    for s in &strays {
        let Some(code) = s.department.as_deref().filter(|c| !busy.contains(*c)) else {
            continue;
        };
        let entry = by_dept.entry(code).or_default();
        let name = s.path.rsplit('/').next().unwrap_or(&s.path);
        entry.0.push(RefusedFile {
            name: one_line(name),
            reason: s.reason.message().to_string(),
        });
        entry.2.push(s.id);
    }
    for (code, (files, ids, stray_ids)) in by_dept {
        let Some(dept) = crate::departments::by_code(departments, code) else {
            // A department no longer configured: nobody to tell.
            store::notices::done(&tx, &ids)?;
            store::strays::notified(&tx, &stray_ids)?;
            continue;
        };
        let ctx = UnreadableContext {
            department: &dept.name,
            count: files.len(),
            files,
        };
        let (subject, body) = letters.render_notice(NoticeKind::Unreadable, settings, &ctx)?;
        let (to, cc) = recipients(finance, dept, false);
        enqueue(
            &tx,
            OutgoingMessage {
                to,
                cc,
                department: Some(dept.code.clone()),
                subject,
                body,
                attachments: Vec::new(),
                kind: "unreadable".into(),
                reference: ids
                    .iter()
                    .map(|i| i.to_string())
                    .chain(stray_ids.iter().map(|i| format!("stray-{i}")))
                    .collect::<Vec<_>>()
                    .join(","),
            },
            now,
        )?;
        store::notices::done(&tx, &ids)?;
        store::strays::notified(&tx, &stray_ids)?;
        queued += 1;
    }
    tx.commit()?;
    Ok(queued)
}

/// Records everything to send for a submission, in `tx`.
pub(crate) fn dispatch(tx: &Transaction, d: &Dispatch) -> anyhow::Result<()> {
    let settings = d.settings;
    let dept_name = d.department.name.as_str();
    // Names go into one-line places of the templates (subjects, titles, field lines): a line break
    // typed in a file name or a cell must not break them.
    let file_name = one_line(d.file_name);
    let file_name = file_name.as_str();
    let cleaned: Option<CheckResult> = d.checked.map(|(r, _)| {
        let mut r = r.clone();
        if let Some(p) = r.project.as_mut() {
            for v in [&mut p.name, &mut p.code, &mut p.department]
                .into_iter()
                .flatten()
            {
                *v = one_line(v);
            }
        }
        r
    });
    let result = cleaned.as_ref();
    // A file that is no form (or the same content as one): no receipt and no numbered letter;
    // it waits for the one notice that lists such files (`send_file_notices`).
    let not_a_form = match (result, d.duplicate_of.as_ref()) {
        (Some(r), _) => r.form.is_none(),
        (None, Some((first, _))) => {
            store::submissions::get(tx, *first)?.is_none_or(|s| s.form.is_none())
        }
        (None, None) => false,
    };
    if not_a_form {
        store::notices::queue(tx, d.submission_id, &d.department.code)?;
        return Ok(());
    }
    let ctx = NoticeContext {
        department: dept_name,
        file_name,
        form_name: form_name(result),
        project_name: result
            .and_then(|r| r.project.as_ref())
            .and_then(|p| p.name.clone()),
        received_at: chinese_time(d.received_at),
        first_received_at: d.duplicate_of.as_ref().map(|(_, t)| chinese_time(t)),
    };
    let (to, cc) = recipients(d.finance, d.department, false);
    let reference = d.submission_id.to_string();
    // The same content again gets the duplicate notice and nothing else; anything taken in
    // gets its receipt.
    let (notice, kind) = if d.duplicate_of.is_some() {
        (NoticeKind::Duplicate, "duplicate")
    } else {
        (NoticeKind::Receipt, "receipt")
    };
    let (subject, body) = d.letters.render_notice(notice, settings, &ctx)?;
    enqueue(
        tx,
        OutgoingMessage {
            to,
            cc,
            department: Some(d.department.code.clone()),
            subject,
            body,
            attachments: Vec::new(),
            kind: kind.into(),
            reference: reference.clone(),
        },
        d.now,
    )?;
    if d.duplicate_of.is_some() {
        return Ok(());
    }

    let (Some(result), Some((_, form))) = (result, d.checked) else {
        return Ok(());
    };
    let Some(kind) = LetterKind::for_result(result) else {
        return Ok(());
    };
    let project_key = d.project_key.map_or("", ProjectKey::as_str);
    if settings.holds(kind) {
        // Held for a reviewer's sign-off (待签发): no number, letter or mail yet; what the letter
        // is written from is kept, as the letter would have been.
        let annotated = match d.original {
            Original::Absent => None,
            Original::Annotated(made) => made.map(<[u8]>::to_vec),
            Original::Bytes(bytes) => match (kind, form) {
                (LetterKind::ReturnNotice, Some(form)) => {
                    crate::letters::templates::annotate_or_log(
                        form,
                        &result.errors,
                        bytes,
                        file_name,
                    )
                }
                _ => None,
            },
        };
        let form_json = form.map(serde_json::to_string).transpose()?;
        store::held::hold(
            tx,
            &store::held::NewHeld {
                submission_id: d.submission_id,
                kind: kind.id(),
                department: &d.department.code,
                project_key,
                file_name,
                received_at: d.received_at,
                held_at: &d.now.to_rfc3339(),
                result_json: &serde_json::to_string(result)?,
                form_json: form_json.as_deref(),
                original_absent: matches!(d.original, Original::Absent),
                annotated: annotated.as_deref(),
            },
        )?;
        tracing::info!(
            id = d.submission_id,
            kind = kind.id(),
            "letter held for sign-off"
        );
        return Ok(());
    }
    issue::issue(
        tx,
        &issue::Letter {
            finance: d.finance,
            department: d.department,
            letters: d.letters,
            kind,
            input: LetterInput {
                settings,
                defs: d.defs,
                department: dept_name,
                file_name,
                result,
                form,
                number: None,
                date: d.today,
                extra_findings: &[],
                original: d.original,
                reviewer: None,
            },
            submission_id: d.submission_id,
            project_key,
            now: d.now,
        },
    )?;
    Ok(())
}
