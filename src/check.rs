//! Checking files: open safely, find the form, apply the rules, score or review it. Used by
//! `jixiao check` and by everything that handles a received form.

use std::io::Read;
use std::path::Path;

use rayon::prelude::*;

use crate::forms::definitions::{Definitions, FormKind};
use crate::forms::read::{Located, RawForm, locate};
use crate::rules::identity::Sender;
use crate::rules::issue::{Issue, IssueCode};
use crate::workbook::{Limits, OpenError, Workbook};

use serde::{Deserialize, Serialize};

use crate::forms::project::Project;
use crate::rules::review::Review;
use crate::score::Score;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Accepted,
    Rejected,
}

/// The result of checking one file: what `check --json` prints and what the database stores as
/// `result_json`, read back with `CheckResult::from_stored`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub file: String,
    pub form: Option<FormKind>,
    pub status: Status,
    pub project: Option<Project>,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    pub score: Option<Score>,
    pub review: Option<Review>,
}

impl CheckResult {
    /// An accepted form's result with nothing found, reviewed as `conclusion` when given: what
    /// the tests of the year cycle and the store record.
    #[cfg(test)]
    pub(crate) fn reviewed(
        form: Option<FormKind>,
        conclusion: Option<crate::rules::review::Conclusion>,
    ) -> CheckResult {
        CheckResult {
            file: "a.xlsx".into(),
            form,
            status: Status::Accepted,
            project: None,
            errors: Vec::new(),
            warnings: Vec::new(),
            score: None,
            review: conclusion.map(|conclusion| crate::rules::review::Review {
                conclusion,
                findings: Vec::new(),
            }),
        }
    }

    pub fn accepted(&self) -> bool {
        self.status == Status::Accepted
    }

    /// Reads back a result stored as JSON (`result_json`), whole: the criteria of findings and
    /// the indicator scores too (results stored by 0.1.0 have none).
    pub(crate) fn from_stored(json: &str) -> serde_json::Result<CheckResult> {
        serde_json::from_str(json)
    }
}

/// Office lock and temp files: `~$报表.xlsx` (Excel, WPS), `.~lock.报表.xlsx#` (LibreOffice).
pub(crate) fn is_lock_file(name: &str) -> bool {
    name.starts_with("~$") || name.starts_with(".~lock.") || name.starts_with(".~")
}

/// A checked file, with the form as read when one was found.
#[derive(Debug)]
pub struct Checked {
    pub result: CheckResult,
    pub form: Option<Box<RawForm>>,
}

impl Checked {
    /// Applies the identity rule: a form whose 主管部门 is not its sender is rejected, with the
    /// error on 主管部门 (and no score or review).
    pub(crate) fn require_sender(&mut self, sender: Sender) {
        let Some(form) = &self.form else { return };
        let Some(issue) = crate::rules::identity::wrong_department(form, sender) else {
            return;
        };
        let r = &mut self.result;
        r.errors.push(issue);
        r.status = Status::Rejected;
        r.score = None;
        r.review = None;
    }
}

/// Checks forms against the definitions within the limits.
#[derive(Debug, Clone)]
pub struct Checker {
    pub(crate) defs: Definitions,
    pub(crate) limits: Limits,
}

impl Checker {
    pub fn new(defs: Definitions, limits: Limits) -> Checker {
        Checker { defs, limits }
    }

    /// Checks a file on disk. `display` is the name shown in the result (the path as given).
    pub fn check_path(&self, path: &Path, display: &str) -> Checked {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if is_lock_file(&name) {
            return file_problem(
                display,
                IssueCode::LockFile,
                "这是Office/WPS打开表格时生成的锁定或临时文件，不是绩效表，请提交表格文件本身"
                    .into(),
            );
        }
        let bytes = match read_limited(path, self.limits.max_file_bytes) {
            Ok(b) => b,
            Err(e) => return open_problem(display, e),
        };
        self.check_bytes(display, &bytes)
    }

    /// Checks the bytes of a workbook. Never panics: a panic inside a reader library (seen with
    /// damaged `.xls` files) becomes a `damaged_file` rejection.
    pub fn check_bytes(&self, display: &str, bytes: &[u8]) -> Checked {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.check_bytes_inner(display, bytes)
        })) {
            Ok(checked) => checked,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let name = display;
                tracing::warn!(file = %name, panic = %what, "a reader failed on this file");
                open_problem(
                    display,
                    FileError::Open(OpenError::Damaged(format!("无法解析的文件结构：{what}"))),
                )
            }
        }
    }

    fn check_bytes_inner(&self, display: &str, bytes: &[u8]) -> Checked {
        let readable = Workbook::readable(bytes);
        let located =
            Workbook::open(&readable, self.limits).and_then(|mut wb| locate(&mut wb, &self.defs));
        let form = match located {
            Err(e) => return open_problem(display, FileError::Open(e)),
            Ok(Located::NotAForm) => {
                let titles: Vec<String> = self
                    .defs
                    .forms
                    .iter()
                    .map(|f| format!("“{}”", f.titles[0]))
                    .collect();
                return file_problem(
                    display,
                    IssueCode::NotAForm,
                    format!(
                        "文件中没有找到绩效表标题，不是标准绩效表。请使用{}的标准表样填报",
                        titles.join("、")
                    ),
                );
            }
            Ok(Located::Form(form)) => form,
        };
        let result = self.judge(display, &form);
        Checked {
            result,
            form: Some(form),
        }
    }

    /// Applies the rules to a located form and scores or reviews it when it is accepted.
    pub(crate) fn judge(&self, display: &str, form: &RawForm) -> CheckResult {
        let j = crate::rules::judge(form, &self.defs);
        let mut warnings = j.findings;
        let accepted = j.errors.is_empty();
        let mut score = None;
        let mut review = None;
        if accepted {
            match form.kind {
                FormKind::SelfEvaluation => {
                    let (s, findings) = crate::score::score(form, &self.defs);
                    warnings.extend(findings);
                    score = Some(s);
                }
                FormKind::TargetDeclaration => {
                    let r = crate::rules::review::review(form, &self.defs);
                    warnings.extend(r.findings.iter().cloned());
                    review = Some(r);
                }
                FormKind::PerformanceReport => {}
            }
        }
        CheckResult {
            file: display.to_string(),
            form: Some(form.kind),
            status: if accepted {
                Status::Accepted
            } else {
                Status::Rejected
            },
            project: Some(crate::forms::project::Project::of(form)),
            errors: j.errors,
            warnings,
            score,
            review,
        }
    }

    /// Checks many files on all cores; results keep the order of the input.
    pub(crate) fn check_many(&self, paths: &[String]) -> Vec<CheckResult> {
        self.check_many_with(paths, |_, _| {})
    }

    /// [`Checker::check_many`], with a rule applied to each checked file (by its index), such
    /// as the identity rule of [`Checked::require_sender`].
    pub(crate) fn check_many_with(
        &self,
        paths: &[String],
        apply: impl Fn(usize, &mut Checked) + Sync,
    ) -> Vec<CheckResult> {
        paths
            .par_iter()
            .enumerate()
            .map(|(i, p)| {
                let mut checked = self.check_path(Path::new(p), p);
                apply(i, &mut checked);
                checked.result
            })
            .collect()
    }
}

/// Why a file could not be read at all.
#[derive(Debug)]
pub(crate) enum FileError {
    NotFound,
    Io(std::io::Error),
    Open(OpenError),
}

/// Reads a regular file, at most `limit` + 1 bytes. Anything else — a folder, a named pipe, a
/// socket, a device — is refused before it is opened, and opening never waits (`O_NONBLOCK`: a
/// pipe swapped in meanwhile cannot hang the caller).
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    use std::os::unix::fs::OpenOptionsExt;
    let not_found = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => FileError::NotFound,
        _ => FileError::Io(e),
    };
    let special = |meta: &std::fs::Metadata| -> Option<FileError> {
        if meta.is_dir() {
            Some(FileError::Open(OpenError::NotWorkbook("文件夹".into())))
        } else if !meta.is_file() {
            Some(FileError::Open(OpenError::NotWorkbook(
                "特殊文件（管道或设备）".into(),
            )))
        } else {
            None
        }
    };
    if let Some(e) = special(&std::fs::metadata(path).map_err(not_found)?) {
        return Err(e);
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(not_found)?;
    let meta = file.metadata().map_err(FileError::Io)?;
    if let Some(e) = special(&meta) {
        return Err(e);
    }
    if meta.len() > limit {
        return Err(FileError::Open(OpenError::TooLarge {
            size: meta.len(),
            limit,
        }));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(FileError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::Open(OpenError::TooLarge {
            size: bytes.len() as u64,
            limit,
        }));
    }
    Ok(bytes)
}

fn open_problem(display: &str, e: FileError) -> Checked {
    match e {
        FileError::NotFound => {
            file_problem(display, IssueCode::FileNotFound, "找不到该文件".into())
        }
        FileError::Io(e) => {
            let shown = display.to_string();
            tracing::warn!(file = shown, error = %e, "cannot read the file");
            file_problem(
                display,
                IssueCode::Unreadable,
                "文件暂时无法读取。请确认文件已完整放入本部门文件夹；如仍不能受理，请在Excel或WPS中另存为.xlsx格式后重新提交".into(),
            )
        }
        FileError::Open(e) => {
            if let Some(detail) = e.detail() {
                let (shown, code) = (display.to_string(), open_error_code(&e).as_str());
                tracing::info!(file = shown, code, detail = %detail, "file refused");
            }
            file_problem(display, open_error_code(&e), e.to_string())
        }
    }
}

/// The code of a rejection for a file that is not a readable workbook.
fn open_error_code(e: &OpenError) -> IssueCode {
    match e {
        OpenError::Empty => IssueCode::EmptyFile,
        OpenError::TooLarge { .. } => IssueCode::FileTooLarge,
        OpenError::NotWorkbook(_) => IssueCode::NotAWorkbook,
        OpenError::Damaged(_) => IssueCode::DamagedFile,
        OpenError::Password => IssueCode::PasswordProtected,
        OpenError::Bomb { .. } => IssueCode::InflatesTooMuch,
        OpenError::TooManySheets { .. } => IssueCode::TooManySheets,
        OpenError::TooManyCells { .. } | OpenError::TooMuchText { .. } => IssueCode::TooManyCells,
        OpenError::TooManyItems { .. } => IssueCode::InflatesTooMuch,
    }
}

pub(crate) fn file_problem(display: &str, code: IssueCode, message: String) -> Checked {
    Checked {
        result: CheckResult {
            file: display.to_string(),
            form: None,
            status: Status::Rejected,
            project: None,
            errors: vec![Issue {
                sheet: None,
                cell: None,
                field: "文件".to_string(),
                code,
                message,
                criterion: None,
            }],
            warnings: Vec::new(),
            score: None,
            review: None,
        },
        form: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::review::Conclusion;

    fn check_fixture(dir: &str, file: &str) -> CheckResult {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(dir)
            .join(file);
        let checker = Checker::new(Definitions::embedded(), Limits::default());
        checker.check_path(&path, file).result
    }

    fn assert_reads_back(r: &CheckResult) {
        let json = serde_json::to_string(r).unwrap();
        let back = CheckResult::from_stored(&json).unwrap();
        assert_eq!(&back, r);
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    #[test]
    fn accepted_self_evaluation_reads_back_from_json() {
        let r = check_fixture("examples", "农业农村厅-绩效自评表.xlsx");
        assert!(r.accepted());
        assert!(r.score.as_ref().is_some_and(|s| !s.indicators.is_empty()));
        assert_reads_back(&r);
    }

    #[test]
    fn rejected_declaration_reads_back_from_json() {
        let r = check_fixture("examples", "退回示例-资金合计不符.xlsx");
        assert_eq!(r.status, Status::Rejected);
        assert_eq!(r.form, Some(FormKind::TargetDeclaration));
        assert_eq!(r.errors[0].code, IssueCode::TotalMismatch);
        assert_reads_back(&r);
    }

    #[test]
    fn reviewed_declaration_reads_back_from_json() {
        let r = check_fixture("variants", "审核-修改后通过-无成本指标-申报表.xlsx");
        let review = r.review.as_ref().unwrap();
        assert_eq!(review.conclusion, Conclusion::PassAfterRevision);
        assert_eq!(review.findings[0].code, IssueCode::NoCostIndicator);
        assert_reads_back(&r);
    }

    #[test]
    fn results_stored_by_0_1_0_read_back() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state/jixiao-0.1.0.db");
        let conn = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let mut stmt = conn
            .prepare("SELECT result_json FROM submissions WHERE result_json IS NOT NULL")
            .unwrap();
        let stored: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!stored.is_empty());
        for json in stored {
            let r = CheckResult::from_stored(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
            assert_eq!(serde_json::to_string(&r).unwrap(), json);
        }
    }

    #[test]
    fn file_problem_reads_back_from_json() {
        let r = check_fixture("bad", "empty.xlsx");
        assert_eq!(r.errors[0].code, IssueCode::EmptyFile);
        assert_reads_back(&r);
    }
}
