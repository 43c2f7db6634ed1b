//! What checking a file produces: the `check --json` contract and the details the letters need.

use serde::Serialize;

use crate::cellref::{Pos, a1};
use crate::definitions::FormKind;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Accepted,
    Rejected,
}

/// How a project is identified: year + 主管部门 + (项目编码, else 项目名称).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Project {
    pub code: Option<String>,
    pub name: Option<String>,
    pub department: Option<String>,
    pub year: Option<i32>,
}

/// The verified score of a self-evaluation beside the department's own.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub claimed: Option<f64>,
    pub claimed_grade: Option<String>,
    pub computed: f64,
    /// In percent: 99.04 means 99.04%.
    pub execution_rate: f64,
    pub execution_score: f64,
    pub grade: String,
    /// Every indicator with its verified points (for the feedback letter).
    #[serde(skip)]
    pub indicators: Vec<IndicatorScore>,
}

/// One indicator's verified points.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorScore {
    pub name: String,
    pub level1: String,
    pub level2: String,
    pub target: String,
    pub actual: String,
    pub weight: f64,
    pub claimed: f64,
    pub computed: f64,
    /// True when the points were computed from the numbers, false when the department's own
    /// 得分 was kept (a qualitative indicator or a unit that does not match).
    pub verified: bool,
    pub explanation: String,
}

/// The review of an accepted target declaration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    /// 通过, 修改后通过 or 不通过.
    pub conclusion: String,
    pub findings: Vec<Issue>,
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
