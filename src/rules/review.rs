//! The review conclusion (审核结论) of an accepted target declaration.

use crate::forms::definitions::Definitions;
use crate::forms::read::RawForm;
use crate::rules::issue::{Issue, IssueCode};
use crate::rules::review_findings;

use serde::Serialize;

/// The review of an accepted target declaration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    /// 通过, 修改后通过 or 不通过.
    pub conclusion: String,
    pub findings: Vec<Issue>,
}

/// Findings that keep a project out of the next budget step.
const BLOCKING: [IssueCode; 2] = [
    IssueCode::NoQuantityIndicator,
    IssueCode::NoBenefitIndicator,
];

/// 不通过 without a 数量指标 or any 效益指标; 修改后通过 with any other finding; else 通过.
pub fn review(form: &RawForm, defs: &Definitions) -> Review {
    let findings = review_findings(form, defs);
    let conclusion = if findings.iter().any(|f| BLOCKING.contains(&f.code)) {
        "不通过"
    } else if !findings.is_empty() {
        "修改后通过"
    } else {
        "通过"
    };
    Review {
        conclusion: conclusion.to_string(),
        findings,
    }
}
