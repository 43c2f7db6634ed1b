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

/// Why a letter cannot be previewed or signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("no letter is held for submission {0}")]
    NotHeld(i64),
    #[error("the letter of submission {id} was signed already, by {by}: {number}")]
    AlreadySigned { id: i64, by: String, number: String },
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
        anyhow::bail!(
            "{} is not a folder inside the department's folder",
            dir.display()
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Checker;
    use crate::config::Config;
    use crate::store::submissions::{NewSubmission, Outcome};
    use crate::watch::dispatch::{Dispatch, dispatch};
    use crate::workbook::Limits;

    const DECLARATION: &[u8] =
        include_bytes!("../../tests/fixtures/examples/农业农村厅-绩效目标申报表.xlsx");

    /// An example configuration in a temporary folder, holding `sign_off`, with its database.
    struct Fixture {
        _dir: tempfile::TempDir,
        cfg: Config,
        letters: Letters,
        checker: Checker,
        db: std::path::PathBuf,
    }

    impl Fixture {
        fn new(sign_off: &str) -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let text = crate::config::EXAMPLE.replace(
                "# sign_off = [\"target_review\"]",
                &format!("sign_off = {sign_off}"),
            );
            let cfg = Config::parse(&text, &dir.path().join("jixiao.toml")).unwrap();
            let db = dir.path().join("state.db");
            Fixture {
                _dir: dir,
                cfg,
                letters: Letters::load(None).unwrap(),
                checker: Checker::new(Definitions::embedded(), Limits::default()),
                db,
            }
        }

        fn conn(&self) -> Connection {
            store::open(&self.db).unwrap()
        }

        fn office(&self) -> Office<'_> {
            self.cfg.office(&self.letters, &self.checker.defs)
        }

        /// Records the example declaration of 农业农村厅 as the daemon does; its id.
        fn receive(&self, conn: &mut Connection, name: &str) -> i64 {
            self.receive_file(conn, name, DECLARATION)
        }

        fn receive_file(&self, conn: &mut Connection, name: &str, bytes: &[u8]) -> i64 {
            let checked = self.checker.check_bytes(name, bytes);
            let dept = self.cfg.department_by_code("nyt").unwrap();
            let project = checked.result.project.clone().unwrap();
            let key = project.key("nyt");
            let received_at = "2026-03-02T09:00:00.000+08:00";
            let tx = conn.transaction().unwrap();
            let id = store::submissions::record(
                &tx,
                &NewSubmission {
                    department: "nyt",
                    inbox_path: name,
                    file_name: name,
                    sha256: name,
                    size: bytes.len() as u64,
                    received_at,
                    outcome: if checked.result.accepted() {
                        Outcome::Accepted
                    } else {
                        Outcome::Rejected
                    },
                    form: checked.result.form,
                    year: project.year,
                    project_key: key.as_ref(),
                    project_code: project.code.as_deref(),
                    project_name: project.name.as_deref(),
                    result: Some(&checked.result),
                    record: None,
                    duplicate_of: None,
                    archive_path: "x",
                },
            )
            .unwrap();
            dispatch(
                &tx,
                &Dispatch {
                    finance: &self.cfg.finance,
                    settings: &self.cfg.letters,
                    letters: &self.letters,
                    defs: &self.checker.defs,
                    department: dept,
                    submission_id: id,
                    file_name: name,
                    received_at,
                    today: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
                    now: chrono::Utc::now(),
                    checked: Some((&checked.result, checked.form.as_deref())),
                    duplicate_of: None,
                    project_key: key.as_ref(),
                    original: Original::Annotated(None),
                },
            )
            .unwrap();
            tx.commit().unwrap();
            id
        }
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn mail_kinds(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT kind FROM mail_outbox ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn words() -> ReviewerOpinions {
        ReviewerOpinions {
            relevance: "项目与农业农村厅职能相符。".into(),
            feasibility: "实施方案可行。\n分三期实施。".into(),
            opinion: String::new(),
        }
    }

    fn signed_at() -> DateTime<Local> {
        chrono::TimeZone::with_ymd_and_hms(&Local, 2026, 3, 9, 10, 0, 0).unwrap()
    }

    #[test]
    fn a_held_letter_gets_its_number_and_mail_only_when_signed() {
        let f = Fixture::new("[\"target_review\"]");
        let mut conn = f.conn();
        let id = f.receive(&mut conn, "a.xlsx");
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM issued_letters"), 0);
        assert_eq!(mail_kinds(&conn), ["receipt"]);
        let waiting = store::held::waiting(&conn).unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].submission_id, id);
        assert_eq!(waiting[0].conclusion.as_deref(), Some("通过"));

        // Nothing to put beside the original yet.
        assert!(store::letters::answers(&conn, id).unwrap().is_empty());

        let s = sign(&mut conn, &f.office(), id, &words(), "审核员", signed_at()).unwrap();
        assert_eq!(s.doc_number, "吉财绩函〔2026〕1号");
        assert_eq!(mail_kinds(&conn), ["receipt", "target_review"]);
        // The file is not moved yet: the daemon puts the signed letter beside it when it does.
        let answers = store::letters::answers(&conn, id).unwrap();
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0].0, s.docx_file_name);
        let h = store::held::of_submission(&conn, id).unwrap().unwrap();
        assert_eq!(h.status, HeldStatus::Signed);
        assert_eq!(h.signed_by.as_deref(), Some("审核员"));
        assert_eq!(h.doc_number.as_deref(), Some("吉财绩函〔2026〕1号"));
        assert_eq!(h.outbox_id, s.outbox_id);
        assert!(store::held::waiting(&conn).unwrap().is_empty());
        let audit = store::audit::about(&conn, &[format!("submission:{id}")]).unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(
            (audit[0].action.as_str(), audit[0].detail.as_str()),
            ("sign", "吉财绩函〔2026〕1号")
        );

        // Signing again is refused and issues nothing.
        let again = sign(&mut conn, &f.office(), id, &words(), "另一人", signed_at());
        assert!(
            matches!(again, Err(SignError::AlreadySigned { ref by, .. }) if by == "审核员"),
            "{again:?}"
        );
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM issued_letters"), 1);
        assert_eq!(count(&conn, "SELECT last FROM doc_numbers"), 1);
        // The next letter of the same 机关代字 follows without a gap.
        let second = f.receive(&mut conn, "b.xlsx");
        let s2 = sign(
            &mut conn,
            &f.office(),
            second,
            &words(),
            "审核员",
            signed_at(),
        )
        .unwrap();
        assert_eq!(s2.doc_number, "吉财绩函〔2026〕2号");
    }

    #[test]
    fn missing_words_are_refused_and_change_nothing() {
        let f = Fixture::new("[\"target_review\"]");
        let mut conn = f.conn();
        let id = f.receive(&mut conn, "a.xlsx");
        let mut w = words();
        w.feasibility = "  ".into();
        let e = sign(&mut conn, &f.office(), id, &w, "审核员", signed_at()).unwrap_err();
        assert!(
            matches!(e, SignError::Missing(m) if m.contains("可行性")),
            "{e:?}"
        );
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM doc_numbers"), 0);
        assert_eq!(mail_kinds(&conn), ["receipt"]);
        assert_eq!(store::held::waiting(&conn).unwrap().len(), 1);
        assert!(matches!(
            sign(
                &mut conn,
                &f.office(),
                id + 1,
                &words(),
                "审核员",
                signed_at()
            ),
            Err(SignError::NotHeld(_))
        ));
    }

    #[test]
    fn two_reviewers_signing_at_once_issue_one_number() {
        let f = Fixture::new("[\"target_review\"]");
        let id = f.receive(&mut f.conn(), "a.xlsx");
        let results: Vec<Result<Signed, SignError>> = std::thread::scope(|s| {
            let handles: Vec<_> = ["甲", "乙", "丙"]
                .into_iter()
                .map(|who| {
                    let f = &f;
                    s.spawn(move || {
                        let mut conn = f.conn();
                        sign(&mut conn, &f.office(), id, &words(), who, signed_at())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert!(
            results
                .iter()
                .filter_map(|r| r.as_ref().err())
                .all(|e| matches!(e, SignError::AlreadySigned { .. }))
        );
        let conn = f.conn();
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM issued_letters"), 1);
        assert_eq!(count(&conn, "SELECT last FROM doc_numbers"), 1);
        assert_eq!(mail_kinds(&conn), ["receipt", "target_review"]);
    }

    #[test]
    fn the_signed_letter_carries_the_reviewers_words_first_and_the_signing_date() {
        let f = Fixture::new("[\"target_review\"]");
        let mut conn = f.conn();
        let id = f.receive(&mut conn, "a.xlsx");
        let (_, text, preview) = preview(
            &conn,
            &f.office(),
            id,
            &ReviewerOpinions {
                relevance: "相关。".into(),
                ..Default::default()
            },
            chrono::NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
        )
        .unwrap();
        assert!(preview.docx_file_name.starts_with("预览-"));
        let plain = text.plain();
        assert!(plain.contains("吉财绩函〔2026〕  号"), "{plain}");
        let at = |s: &str| {
            plain
                .find(s)
                .unwrap_or_else(|| panic!("{s} not in {plain}"))
        };
        assert!(at("（一）绩效目标与部门职能的相关性") < at("相关。"));
        assert!(at("相关。") < at("（二）实施方案的可行性"));
        assert!(at("（二）实施方案的可行性") < at("（待审核人填写）"));
        assert!(at("（待审核人填写）") < at("（三）绩效指标的合理性"));
        assert!(at("（三）绩效指标的合理性") < at("（四）资金测算的合理性"));
        assert!(plain.contains("2026年3月9日"), "{plain}");

        sign(&mut conn, &f.office(), id, &words(), "审核员", signed_at()).unwrap();
        let docx: Vec<u8> = conn
            .query_row("SELECT docx FROM issued_letters", [], |r| r.get(0))
            .unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(docx)).unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("word/document.xml").unwrap(), &mut xml)
            .unwrap();
        for s in [
            "项目与农业农村厅职能相符。",
            "实施方案可行。",
            "分三期实施。",
            "吉财绩函〔2026〕1号",
            "2026年3月9日",
        ] {
            assert!(xml.contains(s), "{s} not in the letter");
        }
    }

    #[test]
    fn by_default_nothing_is_held() {
        let f = Fixture::new("[]");
        let mut conn = f.conn();
        f.receive(&mut conn, "a.xlsx");
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM held_letters"), 0);
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM issued_letters"), 1);
        assert_eq!(mail_kinds(&conn), ["receipt", "target_review"]);
    }

    #[test]
    fn a_held_return_notice_carries_the_opinion_before_its_closing() {
        let f = Fixture::new("[\"return_notice\"]");
        let mut conn = f.conn();
        let id = f.receive_file(
            &mut conn,
            "退回.xlsx",
            include_bytes!("../../tests/fixtures/examples/退回示例-资金合计不符.xlsx"),
        );
        assert_eq!(mail_kinds(&conn), ["receipt"]);
        let no_words = sign(&mut conn, &f.office(), id, &words(), "审核员", signed_at());
        assert!(
            matches!(no_words, Err(SignError::Missing(_))),
            "{no_words:?}"
        );
        let opinion = ReviewerOpinions {
            opinion: "请于十日内改正后重新报送。".into(),
            ..Default::default()
        };
        let s = sign(&mut conn, &f.office(), id, &opinion, "审核员", signed_at()).unwrap();
        assert_eq!(s.doc_number, "吉财绩函〔2026〕1号");
        assert_eq!(mail_kinds(&conn), ["receipt", "return_notice"]);
        let docx: Vec<u8> = conn
            .query_row("SELECT docx FROM issued_letters", [], |r| r.get(0))
            .unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(docx)).unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("word/document.xml").unwrap(), &mut xml)
            .unwrap();
        let opinion_at = xml.find("请于十日内改正后重新报送。").expect("the opinion");
        assert!(opinion_at < xml.find("特此函告。").expect("the closing"));
    }
}
