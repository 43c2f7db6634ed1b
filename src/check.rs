//! Checking files: open safely, find the form, apply the rules, score or review it. Used by
//! `jixiao check` and by everything that handles a received form.

use std::io::Read;
use std::path::Path;

use rayon::prelude::*;

use crate::forms::definitions::{Definitions, FormKind};
use crate::forms::read::{Located, RawForm, locate};
use crate::rules::issue::{Issue, IssueCode};
use crate::workbook::{Limits, OpenError, Workbook};

use serde::Serialize;

use crate::forms::project::Project;
use crate::rules::review::Review;
use crate::score::Score;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Accepted,
    Rejected,
}

/// The result of checking one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    pub fn accepted(&self) -> bool {
        self.status == Status::Accepted
    }
}

/// Office lock and temp files: `~$报表.xlsx` (Excel, WPS), `.~lock.报表.xlsx#` (LibreOffice).
pub fn is_lock_file(name: &str) -> bool {
    name.starts_with("~$") || name.starts_with(".~lock.") || name.starts_with(".~")
}

/// A checked file, with the form as read when one was found.
#[derive(Debug)]
pub struct Checked {
    pub result: CheckResult,
    pub form: Option<Box<RawForm>>,
}

/// Checks forms against the definitions within the limits.
#[derive(Debug, Clone)]
pub struct Checker {
    pub defs: Definitions,
    pub limits: Limits,
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
        let located =
            Workbook::open(bytes, self.limits).and_then(|mut wb| locate(&mut wb, &self.defs));
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
    pub fn judge(&self, display: &str, form: &RawForm) -> CheckResult {
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
    pub fn check_many(&self, paths: &[String]) -> Vec<CheckResult> {
        paths
            .par_iter()
            .map(|p| self.check_path(Path::new(p), p).result)
            .collect()
    }
}

/// Why a file could not be read at all.
#[derive(Debug)]
pub enum FileError {
    NotFound,
    Io(std::io::Error),
    Open(OpenError),
}

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => FileError::NotFound,
        _ => FileError::Io(e),
    })?;
    let meta = file.metadata().map_err(FileError::Io)?;
    if meta.is_dir() {
        return Err(FileError::Open(OpenError::NotWorkbook("文件夹".into())));
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
            file_problem(display, IssueCode::Unreadable, format!("无法读取文件：{e}"))
        }
        FileError::Open(e) => file_problem(display, open_error_code(&e), e.to_string()),
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
        OpenError::TooManyCells { .. } => IssueCode::TooManyCells,
    }
}

fn file_problem(display: &str, code: IssueCode, message: String) -> Checked {
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
