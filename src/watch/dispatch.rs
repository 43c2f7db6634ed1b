//! What the daemon sends for a recorded submission, inside the transaction that records it: the
//! receipt (or the duplicate notice), the numbered letter with its annotated workbook, the files
//! that appear beside the original in the department's folder, and the emails in the outbox.
//! Recipients come from the configuration only: the department's contacts, the finance office
//! copied as configured. Nothing read from a form decides where mail goes.

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::Transaction;
use serde::Serialize;

use crate::check::CheckResult;
use crate::departments::{Department, Finance};
use crate::forms::project::ProjectKey;
use crate::forms::read::RawForm;
use crate::letters::{LetterInput, LetterKind, LetterSettings, Letters, NoticeKind};
use crate::mail::{Attachment, OutgoingMessage};
use crate::store;
use crate::text::chinese_time;
use crate::util::{one_line, safe_file_name};

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
    pub(crate) original: crate::letters::Original<'a>,
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

/// The addresses a department's mail goes to, and the copies.
fn recipients(finance: &Finance, dept: &Department, letter: bool) -> (Vec<String>, Vec<String>) {
    let copy = if letter {
        finance.copy_letters
    } else {
        finance.copy_notices
    };
    let mut to: Vec<String> = dept.emails.clone();
    let mut cc: Vec<String> = if copy {
        finance.emails.clone()
    } else {
        Vec::new()
    };
    if to.is_empty() {
        // A department without an address: the finance office receives it to pass on.
        to = std::mem::take(&mut cc);
        if to.is_empty() && letter {
            to = finance.emails.clone();
        }
    }
    (to, cc)
}

fn enqueue(
    tx: &Transaction,
    mut msg: OutgoingMessage,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<i64>> {
    // A subject or attachment name carries a department's file name or project name: whatever
    // they contain, the message is queued (the outbox refuses control characters in headers).
    msg.subject = one_line(&msg.subject);
    for a in &mut msg.attachments {
        a.file_name = safe_file_name(&one_line(&a.file_name));
    }
    if msg.to.is_empty() {
        tracing::warn!(subject = %msg.subject, "no address configured; message not queued");
        return Ok(None);
    }
    Ok(Some(crate::mail::outbox::enqueue(tx, &msg, now)?))
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
    // 发文字号 carry the year of issue, as the letter's date does; each kind is numbered under
    // its configured 机关代字.
    let year = chrono::Datelike::year(&d.today);
    let agency = settings.agency_for(kind);
    let number = store::letters::issue(
        tx,
        agency,
        year,
        &store::letters::IssuedLetter {
            kind: kind.id(),
            department: &d.department.code,
            project_key: d.project_key.map_or("", ProjectKey::as_str),
            submission_id: Some(d.submission_id),
            file_name: "",
            docx: &[],
            created_at: d.now,
        },
    )?;
    let input = LetterInput {
        settings,
        defs: d.defs,
        department: dept_name,
        file_name,
        result,
        form,
        number: Some(number),
        date: d.today,
        extra_findings: &[],
        original: d.original,
    };
    let letter = d
        .letters
        .render(&input)
        .with_context(|| format!("writing the {} for {}", kind.name(), file_name))?;
    store::letters::store_rendered(
        tx,
        agency,
        year,
        number,
        &store::letters::RenderedFile {
            title: &letter.title,
            file_name: &letter.docx_file_name,
            docx: &letter.docx,
        },
    )?;
    let mut attachments = vec![Attachment {
        file_name: letter.docx_file_name.clone(),
        content_type: crate::mail::DOCX.to_string(),
        bytes: letter.docx.clone(),
    }];
    if let Some((name, bytes)) = &letter.annotated_xlsx {
        attachments.push(Attachment {
            file_name: name.clone(),
            content_type: crate::mail::XLSX.to_string(),
            bytes: bytes.clone(),
        });
        store::letters::save_answer(tx, d.submission_id, &safe_file_name(name), bytes)?;
    }
    let (to, cc) = recipients(d.finance, d.department, true);
    enqueue(
        tx,
        OutgoingMessage {
            to,
            cc,
            department: Some(d.department.code.clone()),
            subject: letter.email_subject,
            body: letter.email_body,
            attachments,
            kind: kind.id().to_string(),
            reference,
        },
        d.now,
    )?;
    Ok(())
}
