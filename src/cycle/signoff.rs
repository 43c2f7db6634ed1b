//! Signing off a held letter (待签发, `[letters] sign_off`): a reviewer writes what a program
//! cannot judge (a declaration's relevance to the department's functions and its feasibility;
//! an opinion for other letters), sees the letter as it will go out ([`preview`]), and signs
//! ([`sign`]). Signing issues the number, writes the letter dated the day of signing, keeps it,
//! queues its mail and records who signed, in one transaction that first checks the letter is
//! still held — two reviewers signing at once get one number, and the second is refused.

use std::path::{Component, Path};

use chrono::{DateTime, Local};
use rusqlite::Connection;

use crate::check::CheckResult;
use crate::departments::{Department, Finance};
use crate::forms::definitions::Definitions;
use crate::forms::read::RawForm;
use crate::letters::{
    LetterInput, LetterKind, LetterSettings, LetterText, Letters, Original, RenderedLetter,
    ReviewerOpinions,
};
use crate::store;
use crate::store::held::{Held, HeldStatus};
use crate::util::{safe_file_name, write_atomic};

/// What signing needs of the service: the configuration's parts and what it loaded.
#[derive(Clone, Copy)]
pub struct Office<'a> {
    pub(crate) finance: &'a Finance,
    pub(crate) departments: &'a [Department],
    pub(crate) settings: &'a LetterSettings,
    pub(crate) letters: &'a Letters,
    pub(crate) defs: &'a Definitions,
    /// The departments' folders' root, where a signed letter is put beside its original.
    pub(crate) root: &'a Path,
}

impl<'a> Office<'a> {
    pub(crate) fn of(
        cfg: &'a crate::config::Config,
        letters: &'a Letters,
        defs: &'a Definitions,
    ) -> Office<'a> {
        Office {
            finance: &cfg.finance,
            departments: &cfg.departments,
            settings: &cfg.letters,
            letters,
            defs,
            root: &cfg.root,
        }
    }
}

/// Why a letter cannot be previewed or signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("no letter is held for submission {0}")]
    NotHeld(i64),
    #[error("the letter of submission {id} was signed already, by {by}: {number}")]
    AlreadySigned {
        id: i64,
        by: String,
        number: String,
    },
    /// The reviewer's words are missing; the text says which, for the reviewer.
    #[error("{0}")]
    Missing(&'static str),
    #[error("department {0} of the held letter is no longer configured")]
    UnknownDepartment(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<rusqlite::Error> for SignError {
    fn from(e: rusqlite::Error) -> Self {
        SignError::Other(e.into())
    }
}

/// A held letter with what it is written from, read back.
struct Prepared {
    held: Held,
    kind: LetterKind,
    result: CheckResult,
    form: Option<RawForm>,
    original_absent: bool,
    annotated: Option<Vec<u8>>,
    department: Department,
}

impl Prepared {
    fn read(conn: &Connection, office: &Office, id: i64) -> Result<Prepared, SignError> {
        let held = store::held::of_submission(conn, id)?.ok_or(SignError::NotHeld(id))?;
        let material = store::held::material(conn, id)?.ok_or(SignError::NotHeld(id))?;
        let kind = LetterKind::from_id(&held.kind)
            .ok_or_else(|| anyhow::anyhow!("held letter {id}: unknown kind {:?}", held.kind))?;
        let result = CheckResult::from_stored(&material.result_json)
            .map_err(|e| anyhow::anyhow!("held letter {id}: its check result: {e}"))?;
        let form = material
            .form_json
            .as_deref()
            .map(serde_json::from_str::<RawForm>)
            .transpose()
            .map_err(|e| anyhow::anyhow!("held letter {id}: its form: {e}"))?;
        let department = crate::departments::by_code(office.departments, &held.department)
            .cloned()
            .ok_or_else(|| SignError::UnknownDepartment(held.department.clone()))?;
        Ok(Prepared {
            held,
            kind,
            result,
            form,
            original_absent: material.original_absent,
            annotated: material.annotated,
            department,
        })
    }

    fn input<'a>(
        &'a self,
        office: &Office<'a>,
        date: chrono::NaiveDate,
        reviewer: &'a ReviewerOpinions,
    ) -> LetterInput<'a> {
        LetterInput {
            settings: office.settings,
            defs: office.defs,
            department: &self.department.name,
            file_name: &self.held.file_name,
            result: &self.result,
            form: self.form.as_ref(),
            number: None,
            date,
            extra_findings: &[],
            original: if self.original_absent {
                Original::Absent
            } else {
                Original::Annotated(self.annotated.as_deref())
            },
            reviewer: Some(reviewer),
        }
    }
}

/// The held letter of a submission as it would go out if signed on `today` with `opinions`:
/// its text and its Word document, the number left blank. Words not written yet read
/// `（待审核人填写）`.
pub fn preview(
    conn: &Connection,
    office: &Office,
    id: i64,
    opinions: &ReviewerOpinions,
    today: chrono::NaiveDate,
) -> Result<(Held, LetterText, RenderedLetter), SignError> {
    let p = Prepared::read(conn, office, id)?;
    let blank = |s: &str| {
        if s.trim().is_empty() {
            "（待审核人填写）".to_string()
        } else {
            s.to_string()
        }
    };
    let shown = ReviewerOpinions {
        relevance: blank(&opinions.relevance),
        feasibility: blank(&opinions.feasibility),
        opinion: blank(&opinions.opinion),
    };
    let input = p.input(office, today, &shown);
    let text = office.letters.text(&input).map_err(anyhow::Error::from)?;
    let letter = office.letters.render(&input).map_err(anyhow::Error::from)?;
    Ok((p.held, text, letter))
}

/// A letter signed.
#[derive(Debug, Clone)]
pub struct Signed {
    /// 发文字号.
    pub doc_number: String,
    /// The letter's mail; None when no address is configured.
    pub outbox_id: Option<i64>,
    pub docx_file_name: String,
}

/// Signs the held letter of submission `id` as `by` at `now`: in one transaction, checks it is
/// still held, issues its number, writes it dated the day of signing with the reviewer's words,
/// keeps it, queues its mail, marks it signed and writes the audit entry. Then puts the letter
/// beside the department's original when the daemon has moved that already (otherwise the
/// daemon puts it there when it does).
pub fn sign(
    conn: &mut Connection,
    office: &Office,
    id: i64,
    opinions: &ReviewerOpinions,
    by: &str,
    now: DateTime<Local>,
) -> Result<Signed, SignError> {
    let opinions = ReviewerOpinions {
        relevance: opinions.relevance.trim().to_string(),
        feasibility: opinions.feasibility.trim().to_string(),
        opinion: opinions.opinion.trim().to_string(),
    };
    let now_text = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    // The write lock is taken when the transaction begins (`store::open`), so the status read
    // below cannot change before the commit.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let p = Prepared::read(&tx, office, id)?;
    if p.held.status == HeldStatus::Signed {
        return Err(SignError::AlreadySigned {
            id,
            by: p.held.signed_by.clone().unwrap_or_default(),
            number: p.held.doc_number.clone().unwrap_or_default(),
        });
    }
    if let Some(m) = opinions.missing(p.kind) {
        return Err(SignError::Missing(m));
    }
    let issued = super::issue::issue(
        &tx,
        &super::issue::Letter {
            finance: office.finance,
            department: &p.department,
            letters: office.letters,
            kind: p.kind,
            input: p.input(office, now.date_naive(), &opinions),
            submission_id: id,
            project_key: &p.held.project_key,
            now: now.to_utc(),
        },
    )?;
    let marked = store::held::mark_signed(
        &tx,
        id,
        &store::held::Signed {
            by,
            at: &now_text,
            opinions: &opinions,
            agency: &issued.agency,
            year: issued.year,
            number: issued.number,
            outbox_id: issued.outbox_id,
        },
    )?;
    if !marked {
        return Err(anyhow::anyhow!("held letter {id} changed while it was being signed").into());
    }
    store::audit::record(
        &tx,
        &now_text,
        by,
        "sign",
        &format!("submission:{id}"),
        &issued.doc_number,
    )?;
    tx.commit()?;
    tracing::info!(id, number = %issued.doc_number, by, "held letter signed");
    if let Err(e) = place_beside_original(conn, office, &p.department, id, &issued) {
        tracing::warn!(id, error = %format!("{e:#}"), "the signed letter was not put beside the original");
    }
    Ok(Signed {
        doc_number: issued.doc_number,
        outbox_id: issued.outbox_id,
        docx_file_name: issued.docx_file_name,
    })
}

/// Writes the signed letter (and a return notice's annotated workbook) beside the submission's
/// original in the department's folder, as the daemon does for a letter issued at once, when
/// the original was moved already; never outside the department's folder.
fn place_beside_original(
    conn: &Connection,
    office: &Office,
    dept: &Department,
    id: i64,
    issued: &super::issue::Issued,
) -> anyhow::Result<()> {
    let Some(moved_to) = store::submissions::get(conn, id)?.and_then(|s| s.moved_to) else {
        // Not moved yet: the daemon writes every issued letter beside it when it moves it.
        return Ok(());
    };
    let dept_dir = office.root.join(&dept.folder);
    let Some(folder) = Path::new(&moved_to).parent() else {
        return Ok(());
    };
    if !folder
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        anyhow::bail!("{moved_to}: not a folder inside the department's folder");
    }
    let dir = dept_dir.join(folder);
    if !std::fs::symlink_metadata(&dir)?.is_dir()
        || !std::fs::canonicalize(&dir)?.starts_with(std::fs::canonicalize(&dept_dir)?)
    {
        anyhow::bail!("{} is not a folder inside the department's folder", dir.display());
    }
    let files = std::iter::once((&issued.docx_file_name, &issued.docx))
        .chain(issued.annotated.as_ref().map(|(n, b)| (n, b)));
    for (name, bytes) in files {
        let path = dir.join(format!("{id}-{}", safe_file_name(name)));
        if !path.exists() {
            write_atomic(&path, bytes)?;
        }
    }
    Ok(())
}
