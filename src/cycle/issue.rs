//! Issuing a numbered letter, inside a transaction: its number (发文字号), the Word document
//! written with it, the annotated workbook kept to go beside the original, and the email that
//! carries them in the outbox. The daemon issues a letter when it records a form; the console
//! issues a held letter when a reviewer signs it off — both through [`issue`].
//!
//! Recipients come from the configuration only: the department's contacts, the finance office
//! copied as configured. Nothing read from a form decides where mail goes.

use anyhow::Context;
use chrono::{DateTime, Datelike, Utc};
use rusqlite::Transaction;

use crate::departments::{Department, Finance};
use crate::letters::{LetterInput, LetterKind, Letters};
use crate::mail::{Attachment, OutgoingMessage};
use crate::store;
use crate::util::{one_line, safe_file_name};

/// The addresses a department's mail goes to, and the copies: a letter (`letter`) or a notice.
pub(crate) fn recipients(
    finance: &Finance,
    dept: &Department,
    letter: bool,
) -> (Vec<String>, Vec<String>) {
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

/// Queues a message in `tx`; None (logged) when nobody is configured to receive it.
pub(crate) fn enqueue(
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

/// A letter to issue.
pub(crate) struct Letter<'a> {
    pub(crate) finance: &'a Finance,
    pub(crate) department: &'a Department,
    pub(crate) letters: &'a Letters,
    pub(crate) kind: LetterKind,
    /// What the letter is written from; its `number` is set here, its `date` (成文日期) gives
    /// the number's year.
    pub(crate) input: LetterInput<'a>,
    pub(crate) submission_id: i64,
    pub(crate) project_key: &'a str,
    pub(crate) now: DateTime<Utc>,
}

/// A letter issued.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub(crate) agency: String,
    pub(crate) year: i32,
    pub(crate) number: u32,
    /// 发文字号 as printed.
    pub(crate) doc_number: String,
    pub(crate) docx_file_name: String,
    pub(crate) docx: Vec<u8>,
    /// The annotated workbook kept beside the original: its (safe) file name and bytes.
    pub(crate) annotated: Option<(String, Vec<u8>)>,
    /// The email in the outbox; None when no address is configured.
    pub(crate) outbox_id: Option<i64>,
}

/// Takes the letter's number, writes it with the number, keeps it and its annotated workbook
/// with the submission, and queues the email that carries them — all in `tx`.
pub(crate) fn issue(tx: &Transaction, l: &Letter) -> anyhow::Result<Issued> {
    let settings = l.input.settings;
    // 发文字号 carry the year of issue, as the letter's date does; each kind is numbered under
    // its configured 机关代字.
    let year = l.input.date.year();
    let agency = settings.agency_for(l.kind);
    let number = store::letters::issue(
        tx,
        agency,
        year,
        &store::letters::IssuedLetter {
            kind: l.kind.id(),
            department: &l.department.code,
            project_key: l.project_key,
            submission_id: Some(l.submission_id),
            file_name: "",
            docx: &[],
            created_at: l.now,
        },
    )?;
    let input = LetterInput {
        number: Some(number),
        ..l.input
    };
    let letter = l
        .letters
        .render(&input)
        .with_context(|| format!("writing the {} for {}", l.kind.name(), input.file_name))?;
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
    let mut annotated = None;
    if let Some((name, bytes)) = &letter.annotated_xlsx {
        attachments.push(Attachment {
            file_name: name.clone(),
            content_type: crate::mail::XLSX.to_string(),
            bytes: bytes.clone(),
        });
        let name = safe_file_name(name);
        store::letters::save_answer(tx, l.submission_id, &name, bytes)?;
        annotated = Some((name, bytes.clone()));
    }
    let (to, cc) = recipients(l.finance, l.department, true);
    let outbox_id = enqueue(
        tx,
        OutgoingMessage {
            to,
            cc,
            department: Some(l.department.code.clone()),
            subject: letter.email_subject,
            body: letter.email_body,
            attachments,
            kind: l.kind.id().to_string(),
            reference: l.submission_id.to_string(),
        },
        l.now,
    )?;
    Ok(Issued {
        agency: agency.to_string(),
        year,
        number,
        doc_number: letter.doc_number_text,
        docx_file_name: safe_file_name(&letter.docx_file_name),
        docx: letter.docx,
        annotated,
        outbox_id,
    })
}
