//! Errors and findings: what a rule says about a form, by sheet, cell and field.

use serde::Serialize;

use crate::cellref::{Pos, a1};

/// An error (rejects the form) or a finding (goes into the opinion or feedback letter).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    /// The sheet, null for problems of the whole file.
    pub sheet: Option<String>,
    /// The cell the department sees in its own file (`E8`), null where no cell applies.
    pub cell: Option<String>,
    /// The field as labelled on the form.
    pub field: String,
    /// A stable identifier of the rule.
    pub code: &'static str,
    /// For the department, in Chinese, saying what to do.
    pub message: String,
    /// Which of the four review criteria a declaration finding belongs to.
    #[serde(skip)]
    pub criterion: Option<Criterion>,
}

impl Issue {
    pub fn new(
        sheet: &str,
        cell: Option<Pos>,
        field: &str,
        code: &'static str,
        message: String,
    ) -> Issue {
        Issue {
            sheet: Some(sheet.to_string()),
            cell: cell.map(a1),
            field: field.to_string(),
            code,
            message,
            criterion: None,
        }
    }
}

/// The four things a target declaration is reviewed for (吉政发〔2011〕36号).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Criterion {
    /// 绩效目标与部门职能的相关性 — left to the reviewer.
    Relevance,
    /// 实施方案的可行性 — left to the reviewer.
    Feasibility,
    /// 绩效指标的合理性.
    Indicators,
    /// 资金测算的合理性.
    Funds,
}
