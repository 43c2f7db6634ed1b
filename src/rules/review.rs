//! The review conclusion (审核结论) of an accepted target declaration.

use std::fmt;

use crate::forms::definitions::Definitions;
use crate::forms::read::RawForm;
use crate::rules::issue::{Issue, IssueCode};
use crate::rules::review_findings;

use serde::{Deserialize, Serialize};

/// The review of an accepted target declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// 通过, 修改后通过 or 不通过.
    pub conclusion: Conclusion,
    pub findings: Vec<Issue>,
}

/// The conclusion of a review, serialised as the Chinese text the office uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Conclusion {
    /// 通过: the targets are approved as declared.
    #[serde(rename = "通过")]
    Pass,
    /// 修改后通过: approved once revised (or approved by an administrator).
    #[serde(rename = "修改后通过")]
    PassAfterRevision,
    /// 不通过: the project stays out of the next budget step.
    #[serde(rename = "不通过")]
    Fail,
}

impl Conclusion {
    /// The Chinese text, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Conclusion::Pass => "通过",
            Conclusion::PassAfterRevision => "修改后通过",
            Conclusion::Fail => "不通过",
        }
    }

    /// The conclusion written as [`Conclusion::as_str`] gives it.
    pub(crate) fn parse(s: &str) -> Option<Conclusion> {
        [
            Conclusion::Pass,
            Conclusion::PassAfterRevision,
            Conclusion::Fail,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Conclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Findings that keep a project out of the next budget step.
const BLOCKING: [IssueCode; 2] = [
    IssueCode::NoQuantityIndicator,
    IssueCode::NoBenefitIndicator,
];

/// 不通过 without a 数量指标 or any 效益指标; 修改后通过 with any other finding; else 通过.
pub(crate) fn review(form: &RawForm, defs: &Definitions) -> Review {
    let findings = review_findings(form, defs);
    let conclusion = if findings.iter().any(|f| BLOCKING.contains(&f.code)) {
        Conclusion::Fail
    } else if !findings.is_empty() {
        Conclusion::PassAfterRevision
    } else {
        Conclusion::Pass
    };
    Review {
        conclusion,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conclusion_serialises_as_the_chinese_text_and_reads_back() {
        for c in [
            Conclusion::Pass,
            Conclusion::PassAfterRevision,
            Conclusion::Fail,
        ] {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(c.to_string(), c.as_str());
            assert_eq!(serde_json::from_str::<Conclusion>(&json).unwrap(), c);
        }
        assert_eq!(
            serde_json::from_str::<Conclusion>("\"修改后通过\"").unwrap(),
            Conclusion::PassAfterRevision
        );
        assert!(serde_json::from_str::<Conclusion>("\"pass\"").is_err());
    }
}
