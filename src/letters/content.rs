//! The content of a letter, from a check result and the form as read: plain data that the
//! templates put into words. No I/O, no clock.

use chrono::Datelike;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use super::{LetterInput, LetterKind, LetterSettings, doc_number_text};
use crate::forms::definitions::FormKind;
use crate::forms::read::RawForm;
use crate::forms::values::{amount, percent};
use crate::rules::issue::{Criterion, Issue, IssueCode};
use crate::rules::months_elapsed;
use crate::rules::review::Conclusion;
use crate::text::chinese_date;
use crate::text::normalize;
use crate::util::file_stem;

/// An error or finding as the letter shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Problem {
    pub(crate) sheet: String,
    /// The cell in the department's own file, `—` where none applies.
    pub(crate) cell: String,
    pub(crate) field: String,
    pub(crate) code: IssueCode,
    pub(crate) message: String,
}

impl Problem {
    fn of(i: &Issue) -> Problem {
        Problem {
            sheet: i.sheet.clone().unwrap_or_default(),
            cell: i.cell.clone().unwrap_or_else(|| "—".into()),
            field: i.field.clone(),
            code: i.code,
            message: i.message.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ProjectInfo {
    pub(crate) name: String,
    /// The name as a title carries it: a very long one shortened with `…`.
    pub(crate) short_name: String,
    pub(crate) code: String,
    pub(crate) department: String,
    pub(crate) year: String,
}

/// One of the four review criteria of a declaration and what was found under it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CriterionFindings {
    pub(crate) name: String,
    /// Left to the reviewer's judgement (relevance and feasibility): the software cannot see it.
    pub(crate) reviewer: bool,
    /// The reviewer's words on it, one paragraph each (a reviewer's criterion only).
    pub(crate) opinion: Vec<String>,
    pub(crate) findings: Vec<Problem>,
}

/// A reviewer's words as the templates see them: each text as its paragraphs.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ReviewerContent {
    pub(crate) relevance: Vec<String>,
    pub(crate) feasibility: Vec<String>,
    /// For a letter other than a target review: paragraphs put before its closing.
    pub(crate) opinion: Vec<String>,
}

/// A reviewer's text as paragraphs: one per non-empty line, trimmed.
pub(crate) fn paragraphs(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ReviewContent {
    /// 通过, 修改后通过 or 不通过 (the text the templates compare); empty without a review.
    pub(crate) conclusion: String,
    pub(crate) criteria: Vec<CriterionFindings>,
}

/// An indicator of a performance report that may miss its target.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AtRisk {
    pub(crate) name: String,
    pub(crate) level1: String,
    pub(crate) level2: String,
    pub(crate) target: String,
    pub(crate) progress: String,
    pub(crate) forecast: String,
    pub(crate) likelihood: String,
    /// Why it is at risk, in words.
    pub(crate) why: String,
    /// The department's stated reasons (偏差原因分析) and measures (纠偏措施).
    pub(crate) reason: String,
    pub(crate) correction: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct MonitoringContent {
    pub(crate) period: String,
    /// The end of the period as a letter says it: `7月底` (not `1-7月`).
    pub(crate) as_of: String,
    pub(crate) months: String,
    /// Time elapsed in percent (months / 12).
    pub(crate) time_progress: String,
    pub(crate) budget: String,
    pub(crate) spent: String,
    /// Execution in percent, from the amounts.
    pub(crate) rate: String,
    /// Execution behind time elapsed by more than the configured margin.
    pub(crate) lagging: bool,
    /// Percentage points behind time elapsed (negative: ahead).
    pub(crate) gap: String,
    pub(crate) at_risk: Vec<AtRisk>,
}

/// An indicator (or the budget execution) that lost points in the verified score.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LostPoints {
    pub(crate) name: String,
    pub(crate) target: String,
    pub(crate) actual: String,
    pub(crate) weight: String,
    pub(crate) claimed: String,
    pub(crate) computed: String,
    pub(crate) lost: String,
    /// How the verified points were found.
    pub(crate) explanation: String,
    /// The department's own explanation (偏差原因分析及改进措施).
    pub(crate) reason: String,
    /// Whether the form has a place to explain it (the 预算执行率 row has none).
    pub(crate) explainable: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct EvaluationContent {
    pub(crate) claimed: String,
    pub(crate) claimed_grade: String,
    pub(crate) computed: String,
    pub(crate) grade: String,
    pub(crate) execution_rate: String,
    pub(crate) execution_score: String,
    pub(crate) execution_weight: String,
    /// The department's score differs from the verified one.
    pub(crate) score_differs: bool,
    /// The department's grade differs from the verified one.
    pub(crate) grade_differs: bool,
    pub(crate) lost: Vec<LostPoints>,
    /// How the verified grade is used in next year's budget.
    pub(crate) budget_use: String,
}

/// Everything a letter template can use.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LetterContent {
    pub(crate) kind: LetterKind,
    pub(crate) kind_name: String,
    pub(crate) settings: LetterSettings,
    /// 发文字号 as printed (blank number in a preview).
    pub(crate) number: String,
    pub(crate) preview: bool,
    pub(crate) date: String,
    /// The date by which a corrected or revised form is due.
    pub(crate) deadline: String,
    pub(crate) department: String,
    pub(crate) file_name: String,
    /// What a title names when the form gives no 项目名称: the form and its 项目编码
    /// (`绩效目标申报表（项目编码22000026000101）`); the (shortened) name otherwise.
    pub(crate) subject: String,
    /// `的函` or `的通知`: what the title ends with, by the kind's 文种.
    pub(crate) title_end: String,
    /// `特此函告。` or `特此通知。`.
    pub(crate) closing: String,
    /// The last body line: `联系人：…；联系电话：…`, or the configured contact line.
    pub(crate) contact_line: String,
    /// The form's name (`绩效目标申报表`) and full title (`项目支出绩效目标申报表`).
    pub(crate) form_name: String,
    pub(crate) form_title: String,
    pub(crate) project: ProjectInfo,
    /// The annotated workbook that goes with a return notice.
    pub(crate) annotated_file: Option<String>,
    pub(crate) errors: Vec<Problem>,
    /// Findings of the check and those the daemon added, except a declaration's review findings
    /// (which are under `review`).
    pub(crate) findings: Vec<Problem>,
    pub(crate) review: Option<ReviewContent>,
    pub(crate) monitoring: Option<MonitoringContent>,
    pub(crate) evaluation: Option<EvaluationContent>,
    /// The reviewer's words of a letter signed off in the console; None for an automatic one.
    pub(crate) reviewer: Option<ReviewerContent>,
}

/// A number as the letter prints it: at most 2 decimals, no trailing zeros.
pub(crate) fn show_f64(x: f64) -> String {
    let r = (x * 100.0).round() / 100.0;
    let r = if r == 0.0 { 0.0 } else { r };
    format!("{r}")
}

fn show_dec(d: Decimal) -> String {
    crate::text::round2(d).normalize().to_string()
}

/// Names longer than this many characters are shortened in titles.
const TITLE_NAME_CHARS: usize = 40;

/// A project name as a title carries it: one line, at most [`TITLE_NAME_CHARS`] characters.
fn short_name(name: &str) -> String {
    let one_line = crate::util::one_line(name);
    let name = one_line.trim();
    if name.chars().count() <= TITLE_NAME_CHARS {
        return name.to_string();
    }
    let mut s: String = name.chars().take(TITLE_NAME_CHARS - 1).collect();
    s.push('…');
    s
}

/// What a title names: the project's name, else the form with its 项目编码, else the form.
fn subject(project: &ProjectInfo, form_name: &str) -> String {
    if !project.short_name.is_empty() {
        project.short_name.clone()
    } else if !project.code.is_empty() {
        format!("{form_name}（项目编码{}）", project.code)
    } else {
        form_name.to_string()
    }
}

/// `联系人：张三；联系电话：0431-88888888。` from the settings, or the configured contact line.
fn contact_line(s: &LetterSettings) -> String {
    let person = s.contact_person.trim();
    let phone = s.contact_phone.trim();
    match (person.is_empty(), phone.is_empty()) {
        (false, false) => format!("联系人：{person}；联系电话：{phone}。"),
        (false, true) => format!("联系人：{person}。"),
        (true, false) => format!("联系电话：{phone}。"),
        (true, true) => s.contact.clone(),
    }
}

/// The annotated workbook's file name for a returned file.
pub(crate) fn annotated_name(file_name: &str) -> String {
    format!("{}（错误标注）.xlsx", file_stem(file_name))
}

/// Builds the content of a letter of the given kind.
pub(crate) fn build(input: &LetterInput, kind: LetterKind) -> LetterContent {
    let r = input.result;
    let year = input.date.year();
    let form_def = r.form.map(|k| input.defs.form(k));
    let project = r
        .project
        .as_ref()
        .map(|p| ProjectInfo {
            short_name: short_name(p.name.as_deref().unwrap_or_default()),
            name: p.name.clone().unwrap_or_default(),
            code: p.code.clone().unwrap_or_default(),
            department: p.department.clone().unwrap_or_default(),
            year: p.year.map(|y| y.to_string()).unwrap_or_default(),
        })
        .unwrap_or_default();
    let deadline = input
        .date
        .checked_add_days(chrono::Days::new(u64::from(input.settings.revision_days)))
        .unwrap_or(input.date);
    let review_codes: Vec<IssueCode> = r
        .review
        .as_ref()
        .map(|rv| rv.findings.iter().map(|f| f.code).collect())
        .unwrap_or_default();
    let mut findings: Vec<Problem> = r
        .warnings
        .iter()
        .filter(|w| !review_codes.contains(&w.code))
        .map(Problem::of)
        .collect();
    let review = (kind == LetterKind::TargetReview).then(|| review_content(input));
    if kind != LetterKind::TargetReview {
        findings.extend(input.extra_findings.iter().map(Problem::of));
    }
    LetterContent {
        kind,
        kind_name: kind.name().into(),
        settings: input.settings.clone(),
        number: doc_number_text(input.settings.agency_for(kind), year, input.number),
        subject: subject(
            &project,
            form_def.map(|d| d.name.as_str()).unwrap_or("表格"),
        ),
        title_end: input.settings.doc_type_for(kind).title_end().into(),
        closing: input.settings.doc_type_for(kind).closing().into(),
        contact_line: contact_line(input.settings),
        preview: input.number.is_none(),
        date: chinese_date(input.date),
        deadline: chinese_date(deadline),
        department: input.department.to_string(),
        file_name: input.file_name.to_string(),
        form_name: form_def.map(|d| d.name.clone()).unwrap_or_default(),
        form_title: form_def.map(|d| d.titles[0].clone()).unwrap_or_default(),
        project,
        annotated_file: (kind == LetterKind::ReturnNotice
            && input.form.is_some()
            && !matches!(
                input.original,
                super::Original::Absent | super::Original::Annotated(None)
            ))
        .then(|| annotated_name(input.file_name)),
        errors: r.errors.iter().map(Problem::of).collect(),
        findings,
        review,
        monitoring: (kind == LetterKind::MonitoringOpinion)
            .then(|| input.form.map(|f| monitoring_content(input, f)))
            .flatten(),
        evaluation: (kind == LetterKind::EvaluationFeedback)
            .then(|| evaluation_content(input))
            .flatten(),
        reviewer: input.reviewer.map(|o| ReviewerContent {
            relevance: paragraphs(&o.relevance),
            feasibility: paragraphs(&o.feasibility),
            opinion: paragraphs(&o.opinion),
        }),
    }
}

fn review_content(input: &LetterInput) -> ReviewContent {
    let rv = input.result.review.as_ref();
    let all: Vec<&Issue> = rv
        .map(|r| r.findings.iter().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(input.extra_findings.iter())
        .collect();
    // Relevance to the department's functions and feasibility are for a reviewer to judge: an
    // automatic letter leaves them out; a letter signed off by a reviewer carries their words
    // as its first two criteria.
    let by_reviewer = input.reviewer.into_iter().flat_map(|o| {
        [
            ("绩效目标与部门职能的相关性", &o.relevance),
            ("实施方案的可行性", &o.feasibility),
        ]
        .map(|(name, text)| CriterionFindings {
            name: name.into(),
            reviewer: true,
            opinion: paragraphs(text),
            findings: Vec::new(),
        })
    });
    let automatic = [
        (Criterion::Indicators, "绩效指标的合理性"),
        (Criterion::Funds, "资金测算的合理性"),
    ]
    .into_iter()
    .map(|(c, name)| CriterionFindings {
        name: name.into(),
        reviewer: false,
        opinion: Vec::new(),
        findings: all
            .iter()
            .filter(|i| i.criterion.unwrap_or(Criterion::Indicators) == c)
            .map(|i| Problem::of(i))
            .collect(),
    });
    let criteria = by_reviewer.chain(automatic).collect();
    ReviewContent {
        conclusion: rv.map(|r| r.conclusion.to_string()).unwrap_or_default(),
        criteria,
    }
}

fn monitoring_content(input: &LetterInput, form: &RawForm) -> MonitoringContent {
    let fw = &input.defs.framework;
    let months = months_elapsed(form);
    let budget = amount(&form.fund("total", "budget")).ok().flatten();
    let spent = amount(&form.fund("total", "spent")).ok().flatten();
    let rate = match (budget, spent) {
        (Some(b), Some(s)) if b > Decimal::ZERO => s
            .checked_div(b)
            .and_then(|q| q.checked_mul(Decimal::ONE_HUNDRED)),
        _ => percent(&form.fund("total", "rate")),
    };
    let elapsed = months.map(|m| Decimal::from(m) * Decimal::ONE_HUNDRED / Decimal::from(12));
    let gap = match (elapsed, rate) {
        (Some(e), Some(r)) => e.checked_sub(r),
        _ => None,
    };
    let certain = normalize(&fw.monitoring.likelihood_certain);
    let at_risk = form
        .indicators
        .iter()
        .filter_map(|row| {
            let short = crate::rules::forecast_falls_short(row, input.defs);
            let likelihood = row.get("likelihood");
            let uncertain = !likelihood.is_empty() && likelihood.norm() != certain;
            if !short && !uncertain {
                return None;
            }
            let text = |k: &str| row.get(k).text().unwrap_or_default();
            let mut why = Vec::new();
            if short {
                why.push("全年预计达不到年度指标值".to_string());
            }
            if uncertain && !short {
                why.push("部门判断可能不能完成".to_string());
            }
            Some(AtRisk {
                name: text("level3"),
                level1: text("level1"),
                level2: text("level2"),
                target: text("target"),
                progress: text("progress"),
                forecast: text("forecast"),
                likelihood: text("likelihood"),
                why: why.join("，"),
                reason: text("reason"),
                correction: text("correction"),
            })
        })
        .collect();
    let lag = Decimal::try_from(fw.monitoring.execution_lag_points).unwrap_or_default();
    MonitoringContent {
        period: form.field("period").text().unwrap_or_default(),
        as_of: match months {
            Some(m) => format!("{m}月底"),
            None => form
                .field("period")
                .text()
                .unwrap_or_else(|| "监控期末".into()),
        },
        months: months.map(|m| m.to_string()).unwrap_or_default(),
        time_progress: elapsed.map(show_dec).unwrap_or_default(),
        budget: budget.map(show_dec).unwrap_or_default(),
        spent: spent.map(show_dec).unwrap_or_default(),
        rate: rate.map(show_dec).unwrap_or_default(),
        lagging: gap.is_some_and(|g| g > lag),
        gap: gap.map(show_dec).unwrap_or_default(),
        at_risk,
    }
}

fn evaluation_content(input: &LetterInput) -> Option<EvaluationContent> {
    let s = input.result.score.as_ref()?;
    let reason_of = |name: &str| -> String {
        input
            .form
            .and_then(|f| {
                f.indicators
                    .iter()
                    .find(|r| r.get("level3").text().as_deref() == Some(name))
            })
            .and_then(|r| r.get("improvement").text())
            .unwrap_or_default()
    };
    let exec_weight = input
        .form
        .filter(|f| f.kind == FormKind::SelfEvaluation)
        .map(|f| crate::rules::execution_weight(f, input.defs))
        .and_then(|d| d.to_f64())
        .unwrap_or(input.defs.framework.score.execution_weight);
    let mut lost = Vec::new();
    if s.execution_score < exec_weight - 0.005 {
        lost.push(LostPoints {
            name: "预算执行率".into(),
            target: "100%".into(),
            actual: format!("{}%", show_f64(s.execution_rate)),
            weight: show_f64(exec_weight),
            claimed: input
                .form
                .and_then(|f| crate::forms::values::points(&f.fund("total", "score")))
                .map(show_dec)
                .unwrap_or_else(|| "—".into()),
            computed: show_f64(s.execution_score),
            lost: show_f64(exec_weight - s.execution_score),
            explanation: format!(
                "{}分×预算执行率{}%",
                show_f64(exec_weight),
                show_f64(s.execution_rate)
            ),
            reason: input
                .form
                .and_then(|f| f.fund("total", "reason").text())
                .unwrap_or_default(),
            explainable: false,
        });
    }
    for i in &s.indicators {
        if i.computed < i.weight - 0.005 {
            lost.push(LostPoints {
                name: i.name.clone(),
                target: i.target.clone(),
                actual: i.actual.clone(),
                weight: show_f64(i.weight),
                claimed: show_f64(i.claimed),
                computed: show_f64(i.computed),
                lost: show_f64(i.weight - i.computed),
                explanation: i.explanation.clone(),
                reason: reason_of(&i.name),
                explainable: true,
            });
        }
    }
    let claimed_grade = s.claimed_grade.clone().unwrap_or_default();
    let score_differs = s.claimed.is_some_and(|c| (c - s.computed).abs() > 0.005);
    let grade_differs =
        !claimed_grade.is_empty() && normalize(&claimed_grade) != normalize(&s.grade);
    Some(EvaluationContent {
        claimed: s.claimed.map(show_f64).unwrap_or_else(|| "未填".into()),
        claimed_grade: if claimed_grade.is_empty() {
            "未填".into()
        } else {
            claimed_grade
        },
        computed: show_f64(s.computed),
        grade: s.grade.clone(),
        execution_rate: show_f64(s.execution_rate),
        execution_score: show_f64(s.execution_score),
        execution_weight: show_f64(exec_weight),
        score_differs,
        grade_differs,
        lost,
        budget_use: input
            .settings
            .budget_use
            .get(&s.grade)
            .cloned()
            .unwrap_or_default(),
    })
}

/// A sample of each kind's content, used to check the templates at start-up.
pub(crate) fn sample(kind: LetterKind, settings: &LetterSettings) -> LetterContent {
    let p = |code: IssueCode, msg: &str| Problem {
        sheet: "绩效目标申报表".into(),
        cell: "E8".into(),
        field: "年度资金总额".into(),
        code,
        message: msg.into(),
    };
    LetterContent {
        kind,
        kind_name: kind.name().into(),
        settings: settings.clone(),
        number: doc_number_text(settings.agency_for(kind), 2026, Some(1)),
        subject: "样例项目".into(),
        title_end: settings.doc_type_for(kind).title_end().into(),
        closing: settings.doc_type_for(kind).closing().into(),
        contact_line: contact_line(settings),
        preview: false,
        date: "2026年11月25日".into(),
        deadline: "2026年12月5日".into(),
        department: "吉林省农业农村厅".into(),
        file_name: "样例.xlsx".into(),
        form_name: "绩效目标申报表".into(),
        form_title: "项目支出绩效目标申报表".into(),
        project: ProjectInfo {
            name: "样例项目".into(),
            short_name: "样例项目".into(),
            code: "22000026000101".into(),
            department: "吉林省农业农村厅".into(),
            year: "2026".into(),
        },
        annotated_file: Some("样例（错误标注）.xlsx".into()),
        errors: vec![p(IssueCode::TotalMismatch, "样例错误")],
        findings: vec![p(IssueCode::ExecutionLag, "样例发现")],
        review: Some(ReviewContent {
            conclusion: Conclusion::PassAfterRevision.to_string(),
            criteria: vec![
                CriterionFindings {
                    name: "绩效目标与部门职能的相关性".into(),
                    reviewer: true,
                    opinion: vec!["样例意见".into()],
                    findings: Vec::new(),
                },
                CriterionFindings {
                    name: "绩效指标的合理性".into(),
                    reviewer: false,
                    opinion: Vec::new(),
                    findings: vec![p(IssueCode::VagueTarget, "样例")],
                },
            ],
        }),
        monitoring: Some(MonitoringContent {
            period: "1-7月".into(),
            as_of: "7月底".into(),
            months: "7".into(),
            time_progress: "58.33".into(),
            budget: "1200".into(),
            spent: "300".into(),
            rate: "25".into(),
            lagging: true,
            gap: "33.33".into(),
            at_risk: vec![AtRisk {
                name: "样例指标".into(),
                level1: "产出指标".into(),
                level2: "数量指标".into(),
                target: "≥3000人次".into(),
                progress: "1000人次".into(),
                forecast: "2500人次".into(),
                likelihood: "有可能".into(),
                why: "样例".into(),
                reason: "样例原因".into(),
                correction: "样例措施".into(),
            }],
        }),
        evaluation: Some(EvaluationContent {
            claimed: "98".into(),
            claimed_grade: "优".into(),
            computed: "96.45".into(),
            grade: "优".into(),
            execution_rate: "95.98".into(),
            execution_score: "9.6".into(),
            execution_weight: "10".into(),
            score_differs: true,
            grade_differs: false,
            lost: vec![LostPoints {
                name: "样例指标".into(),
                target: "≥3000人次".into(),
                actual: "2800人次".into(),
                weight: "10".into(),
                claimed: "10".into(),
                computed: "9.33".into(),
                lost: "0.67".into(),
                explanation: "样例".into(),
                reason: "样例原因".into(),
                explainable: true,
            }],
            budget_use: "样例".into(),
        }),
        reviewer: Some(ReviewerContent {
            relevance: vec!["样例意见".into()],
            feasibility: vec!["样例意见".into()],
            opinion: vec!["样例意见".into()],
        }),
    }
}
