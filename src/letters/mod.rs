//! Official letters: what the finance office signs and sends after a form is processed.
//!
//! - [`LetterKind`] says which letter a result calls for: 退回修改通知 for a rejected form,
//!   绩效目标审核意见, 绩效监控意见 or 绩效评价结果反馈函 for an accepted one.
//! - `content` turns a [`CheckResult`] and its `RawForm` into the letter's content (plain data,
//!   no I/O); the wording lives in the templates of `letters/` (`templates`), written in a small
//!   Markdown subset (`markup`).
//! - `docx` writes the official letter format (GB/T 9704-2012) with docx-rs, put into schema order
//!   by `schema_order`; `annotate` writes the workbook that goes back with a return notice.
//! - `numbers` hands out document numbers from SQLite when a letter is issued.

pub(crate) mod annotate;
pub(crate) mod content;
pub(crate) mod docx;
pub(crate) mod markup;
pub(crate) mod schema_order;
pub(crate) mod templates;
pub mod title;
pub(crate) mod xlsx_marks;

use std::collections::BTreeMap;

use chrono::NaiveDate;

use serde::{Deserialize, Serialize};

use crate::check::CheckResult;
use crate::forms::definitions::{Definitions, FormKind};
use crate::forms::read::RawForm;
use crate::rules::issue::Issue;

pub use templates::{LetterError, LetterText, Letters, NoticeKind, TextBlock, TextPart};

/// The four letters the finance office sends about a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LetterKind {
    /// 退回修改通知: a rejected form goes back with every error and an annotated workbook.
    ReturnNotice,
    /// 绩效目标审核意见: an accepted target declaration.
    TargetReview,
    /// 绩效监控意见: an accepted performance report.
    MonitoringOpinion,
    /// 绩效评价结果反馈函: an accepted self-evaluation.
    EvaluationFeedback,
}

impl LetterKind {
    pub(crate) const ALL: [LetterKind; 4] = [
        LetterKind::ReturnNotice,
        LetterKind::TargetReview,
        LetterKind::MonitoringOpinion,
        LetterKind::EvaluationFeedback,
    ];

    /// The letter a checked file calls for; None for a file that is no form (it gets a plain
    /// notice instead).
    pub fn for_result(result: &CheckResult) -> Option<LetterKind> {
        // Only forms get numbered letters: a file that is no known form at all (not a workbook,
        // empty, damaged, locked, too large, no form's title) gets a plain notice.
        let form = result.form?;
        if !result.accepted() {
            return Some(LetterKind::ReturnNotice);
        }
        Some(match form {
            FormKind::TargetDeclaration => LetterKind::TargetReview,
            FormKind::PerformanceReport => LetterKind::MonitoringOpinion,
            FormKind::SelfEvaluation => LetterKind::EvaluationFeedback,
        })
    }

    /// The identifier used for template files and in the database: `return_notice`, ….
    pub fn id(self) -> &'static str {
        match self {
            LetterKind::ReturnNotice => "return_notice",
            LetterKind::TargetReview => "target_review",
            LetterKind::MonitoringOpinion => "monitoring_opinion",
            LetterKind::EvaluationFeedback => "evaluation_feedback",
        }
    }

    /// The kind of an identifier ([`LetterKind::id`]).
    pub fn from_id(id: &str) -> Option<LetterKind> {
        LetterKind::ALL.into_iter().find(|k| k.id() == id)
    }

    /// The kind's name as printed: `退回修改通知`, ….
    pub fn name(self) -> &'static str {
        match self {
            LetterKind::ReturnNotice => "退回修改通知",
            LetterKind::TargetReview => "绩效目标审核意见",
            LetterKind::MonitoringOpinion => "绩效监控意见",
            LetterKind::EvaluationFeedback => "绩效评价结果反馈函",
        }
    }
}

/// What the letters need to know about the issuing office. Embedded in the daemon's config as a
/// `[letters]` table; every key is optional and defaults to the Jilin finance department.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LetterSettings {
    /// 发文机关标志: the issuing office's name in red at the top of page 1.
    pub(crate) office: String,
    /// 机关代字 of the document numbers: `吉财绩函` gives `吉财绩函〔2026〕12号`.
    pub(crate) agency: String,
    /// 发文机关署名 above the date.
    pub(crate) signature: String,
    /// 抄送机关, printed in the 版记.
    pub(crate) cc: Vec<String>,
    /// The line that tells a department whom to ask, used when no 联系人 / 联系电话 is set.
    pub(crate) contact: String,
    /// 联系人 and 联系电话: the last body line of every letter reads `联系人：…；联系电话：…`.
    pub(crate) contact_person: String,
    pub(crate) contact_phone: String,
    /// Per kind of letter (`return_notice`, `target_review`, `monitoring_opinion`,
    /// `evaluation_feedback`): its own 机关代字 and 文种. By default every kind is a 函 numbered
    /// under `agency`.
    pub(crate) kinds: BTreeMap<String, KindSettings>,
    /// Days a department has to send a corrected or revised form.
    pub(crate) revision_days: u32,
    /// How each grade is used in next year's budget (优, 良, 中, 差).
    pub(crate) budget_use: BTreeMap<String, String>,
    /// The kinds of letter held until a reviewer signs them off in the console (待签发): their
    /// number is issued and their mail queued only then. Empty (the default): none is held.
    pub(crate) sign_off: Vec<String>,
}

impl Default for LetterSettings {
    fn default() -> LetterSettings {
        let budget_use = [
            ("优", "在安排下一年度预算时予以优先保障"),
            ("良", "下一年度预算原则上按申报数安排"),
            ("中", "下一年度预算适当压减"),
            ("差", "下一年度预算予以压减或暂停安排，并限期整改"),
        ]
        .into_iter()
        .map(|(g, w)| (g.to_string(), w.to_string()))
        .collect();
        LetterSettings {
            office: "吉林省财政厅".into(),
            agency: "吉财绩函".into(),
            signature: "吉林省财政厅".into(),
            cc: vec!["省审计厅".into()],
            contact: "联系单位：吉林省财政厅预算绩效管理处".into(),
            contact_person: String::new(),
            contact_phone: String::new(),
            kinds: BTreeMap::new(),
            revision_days: 10,
            budget_use,
            sign_off: Vec::new(),
        }
    }
}

/// The 文种 of a letter: what its title ends with and how its body closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DocType {
    /// 函: `关于……的函`, closing `特此函告。`.
    #[default]
    #[serde(rename = "函")]
    Letter,
    /// 通知: `关于……的通知`, closing `特此通知。`; needs its own 机关代字.
    #[serde(rename = "通知")]
    Notice,
}

impl DocType {
    /// The end of the title: `的函` or `的通知`.
    pub(crate) fn title_end(self) -> &'static str {
        match self {
            DocType::Letter => "的函",
            DocType::Notice => "的通知",
        }
    }

    /// The closing sentence of the body.
    pub(crate) fn closing(self) -> &'static str {
        match self {
            DocType::Letter => "特此函告。",
            DocType::Notice => "特此通知。",
        }
    }
}

/// `[letters.kinds.KIND]`: a kind of letter sent under its own 机关代字 or as another 文种.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KindSettings {
    /// 机关代字 of this kind's numbers (its own sequence); `agency` when absent.
    pub(crate) agency: Option<String>,
    /// `函` (the default) or `通知`.
    pub(crate) doc_type: DocType,
}

impl LetterSettings {
    /// The 机关代字 a kind of letter is numbered under.
    pub(crate) fn agency_for(&self, kind: LetterKind) -> &str {
        self.kinds
            .get(kind.id())
            .and_then(|k| k.agency.as_deref())
            .unwrap_or(&self.agency)
    }

    /// The 文种 of a kind of letter.
    pub(crate) fn doc_type_for(&self, kind: LetterKind) -> DocType {
        self.kinds
            .get(kind.id())
            .map(|k| k.doc_type)
            .unwrap_or_default()
    }

    /// Whether letters of this kind wait for a reviewer's sign-off (`sign_off`).
    pub(crate) fn holds(&self, kind: LetterKind) -> bool {
        self.sign_off.iter().any(|k| k == kind.id())
    }

    /// Checks that kinds are known and that kind and number agree: a 机关代字 of 函 is not used
    /// for a 通知. The message names the key.
    pub fn validate(&self) -> Result<(), String> {
        for id in &self.sign_off {
            if LetterKind::from_id(id).is_none() {
                return Err(format!(
                    "letters.sign_off: unknown kind \"{id}\"; known: return_notice, target_review, monitoring_opinion, evaluation_feedback"
                ));
            }
        }
        for (id, k) in &self.kinds {
            let Some(kind) = LetterKind::ALL.into_iter().find(|l| l.id() == id) else {
                return Err(format!(
                    "letters.kinds.{id}: unknown kind; known: return_notice, target_review, monitoring_opinion, evaluation_feedback"
                ));
            };
            if k.doc_type == DocType::Notice && self.agency_for(kind) == self.agency {
                return Err(format!(
                    "letters.kinds.{id}: a kind sent as 通知 needs its own 机关代字 (agency), not the 函's \"{}\"",
                    self.agency
                ));
            }
        }
        Ok(())
    }
}

/// Everything a letter is written from. `number` is None for a preview: the letter then shows the
/// 机关代字 and year with the number left blank.
#[derive(Debug, Clone, Copy)]
pub struct LetterInput<'a> {
    pub settings: &'a LetterSettings,
    pub defs: &'a Definitions,
    /// 主送机关: the department the letter goes to.
    pub department: &'a str,
    /// The file the letter answers, as the department named it.
    pub file_name: &'a str,
    pub result: &'a CheckResult,
    pub form: Option<&'a RawForm>,
    pub number: Option<u32>,
    /// 成文日期; the renderer never reads the clock.
    pub date: NaiveDate,
    /// Findings the daemon adds (for example a comparison with the approved declaration).
    pub extra_findings: &'a [Issue],
    /// The file the department sent, from which a return notice's annotated workbook is made.
    pub original: Original<'a>,
    /// A reviewer's words, for a letter signed off in the console; None for an automatic letter.
    pub reviewer: Option<&'a ReviewerOpinions>,
}

/// What a reviewer writes when signing a held letter off (待签发). A target review letter carries
/// `relevance` and `feasibility` as its first two criteria (绩效目标与部门职能的相关性, 实施方案的
/// 可行性), which a program cannot judge; any other letter carries `opinion` as paragraphs before
/// its closing. A line break in the text starts a new paragraph.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewerOpinions {
    pub relevance: String,
    pub feasibility: String,
    pub opinion: String,
}

impl ReviewerOpinions {
    /// What a letter of `kind` still needs from the reviewer, in words for the reviewer; None
    /// when nothing is missing.
    pub fn missing(&self, kind: LetterKind) -> Option<&'static str> {
        let empty = |s: &str| s.trim().is_empty();
        if kind == LetterKind::TargetReview {
            if empty(&self.relevance) {
                return Some("请填写“绩效目标与部门职能的相关性”的审核意见。");
            }
            if empty(&self.feasibility) {
                return Some("请填写“实施方案的可行性”的审核意见。");
            }
        } else if empty(&self.opinion) {
            return Some("请填写审核意见。");
        }
        None
    }
}

/// The department's file as a letter sees it.
#[derive(Debug, Clone, Copy)]
pub enum Original<'a> {
    /// Not read in full (over the size limit): no annotated workbook goes with the letter.
    Absent,
    /// Its bytes: the annotated workbook is made while the letter is written.
    Bytes(&'a [u8]),
    /// The annotated workbook made already — by the daemon's worker process, which alone reads
    /// a department's bytes — or `None` when it could not be made.
    Annotated(Option<&'a [u8]>),
}

/// A letter ready to send or to keep.
#[derive(Debug, Clone)]
pub struct RenderedLetter {
    pub kind: LetterKind,
    pub title: String,
    /// `吉财绩函〔2026〕12号`, or `吉财绩函〔2026〕  号` for a preview.
    pub doc_number_text: String,
    pub docx: Vec<u8>,
    pub docx_file_name: String,
    /// A return notice's annotated workbook: its file name and bytes.
    pub annotated_xlsx: Option<(String, Vec<u8>)>,
    pub email_subject: String,
    pub email_body: String,
}

/// 发文字号: `吉财绩函〔2026〕12号`; with no number, the blank of a preview `吉财绩函〔2026〕  号`.
pub(crate) fn doc_number_text(agency: &str, year: i32, number: Option<u32>) -> String {
    match number {
        Some(n) => format!("{agency}〔{year}〕{n}号"),
        None => format!("{agency}〔{year}〕  号"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_text_and_preview_blank() {
        assert_eq!(
            doc_number_text("吉财绩函", 2026, Some(12)),
            "吉财绩函〔2026〕12号"
        );
        assert_eq!(
            doc_number_text("吉财绩函", 2026, None),
            "吉财绩函〔2026〕  号"
        );
    }

    #[test]
    fn kind_and_number_agree() {
        let s: LetterSettings =
            toml::from_str("[kinds.return_notice]\nagency = \"吉财绩通\"\ndoc_type = \"通知\"\n")
                .unwrap();
        assert!(s.validate().is_ok());
        assert_eq!(s.agency_for(LetterKind::ReturnNotice), "吉财绩通");
        assert_eq!(s.agency_for(LetterKind::TargetReview), "吉财绩函");
        assert_eq!(s.doc_type_for(LetterKind::ReturnNotice), DocType::Notice);
        let bad: LetterSettings =
            toml::from_str("[kinds.return_notice]\ndoc_type = \"通知\"\n").unwrap();
        let e = bad.validate().unwrap_err();
        assert!(e.contains("needs its own 机关代字"), "{e}");
        let bad: LetterSettings = toml::from_str("[kinds.review]\nagency = \"x\"\n").unwrap();
        assert!(bad.validate().unwrap_err().contains("unknown kind"));
    }

    #[test]
    fn sign_off_names_known_kinds_only() {
        let s: LetterSettings = toml::from_str("sign_off = [\"target_review\"]").unwrap();
        assert!(s.validate().is_ok());
        assert!(s.holds(LetterKind::TargetReview));
        assert!(!s.holds(LetterKind::ReturnNotice));
        assert!(!LetterSettings::default().holds(LetterKind::TargetReview));
        let bad: LetterSettings = toml::from_str("sign_off = [\"review\"]").unwrap();
        let e = bad.validate().unwrap_err();
        assert!(
            e.contains("letters.sign_off") && e.contains("\"review\""),
            "{e}"
        );
    }

    #[test]
    fn opinions_missing_by_kind() {
        let mut o = ReviewerOpinions::default();
        assert!(
            o.missing(LetterKind::TargetReview)
                .unwrap()
                .contains("相关性")
        );
        o.relevance = "相关".into();
        assert!(
            o.missing(LetterKind::TargetReview)
                .unwrap()
                .contains("可行性")
        );
        o.feasibility = " 可行 ".into();
        assert_eq!(o.missing(LetterKind::TargetReview), None);
        assert!(o.missing(LetterKind::MonitoringOpinion).is_some());
    }

    #[test]
    fn settings_from_a_partial_table_keep_the_defaults() {
        let s: LetterSettings = toml::from_str("agency = \"长财绩函\"\ncc = []").unwrap();
        assert_eq!(s.agency, "长财绩函");
        assert!(s.cc.is_empty());
        assert_eq!(s.office, "吉林省财政厅");
        assert_eq!(s.budget_use.len(), 4);
        assert!(toml::from_str::<LetterSettings>("agnecy = \"x\"").is_err());
    }
}
