//! The verified score of a self-evaluation (财预〔2020〕10号): 预算执行率 plus each indicator, each
//! part rounded to 2 decimals half away from zero, the total the sum of the rounded parts.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::forms::definitions::Definitions;
use crate::forms::indicator::{Target, comparable, parse_actual, parse_target, points as earned};
use crate::forms::read::RawForm;
use crate::forms::values::{amount, points};
use crate::rules::execution_weight;
use crate::rules::issue::{Issue, IssueCode};
use crate::text::round2;

use serde::{Deserialize, Serialize};

/// The verified score of a self-evaluation beside the department's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub(crate) claimed: Option<f64>,
    pub(crate) claimed_grade: Option<String>,
    pub computed: f64,
    /// In percent: 99.04 means 99.04%.
    pub execution_rate: f64,
    pub execution_score: f64,
    pub grade: String,
    /// Every indicator with its verified points (for the feedback letter; absent in results
    /// stored before they were kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indicators: Vec<IndicatorScore>,
}

/// One indicator's verified points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorScore {
    pub name: String,
    pub(crate) level1: String,
    pub(crate) level2: String,
    pub(crate) target: String,
    pub(crate) actual: String,
    pub weight: f64,
    pub(crate) claimed: f64,
    pub computed: f64,
    /// True when the points were computed from the numbers, false when the department's own
    /// 得分 was kept (a qualitative indicator or a unit that does not match).
    pub(crate) verified: bool,
    pub(crate) explanation: String,
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

fn show(d: Decimal) -> String {
    d.normalize().to_string()
}

/// Scores an accepted self-evaluation and returns the findings on the way (claimed total or grade
/// differing, units that cannot be compared).
pub(crate) fn score(form: &RawForm, defs: &Definitions) -> (Score, Vec<Issue>) {
    let fw = &defs.framework;
    let mut findings = Vec::new();
    let annual = amount(&form.fund("total", "annual"))
        .ok()
        .flatten()
        .unwrap_or_default();
    let spent = amount(&form.fund("total", "spent"))
        .ok()
        .flatten()
        .unwrap_or_default();
    // Amounts are at most 10¹², but a budget may be a tiny fraction: a rate too large to
    // compute counts as none.
    let rate = if annual > Decimal::ZERO {
        spent.checked_div(annual).unwrap_or_default()
    } else {
        Decimal::ZERO
    };
    let exec_weight = execution_weight(form, defs);
    let execution_score = round2(if annual > Decimal::ZERO && spent < annual {
        exec_weight
            .checked_mul(spent)
            .and_then(|p| p.checked_div(annual))
            .unwrap_or_default()
    } else if annual > Decimal::ZERO {
        exec_weight
    } else {
        Decimal::ZERO
    });
    let execution_rate = round2(rate.checked_mul(Decimal::ONE_HUNDRED).unwrap_or_default());

    let mut total = execution_score;
    let mut indicators = Vec::new();
    for row in &form.indicators {
        let weight = points(&row.get("weight")).unwrap_or_default();
        let claimed = points(&row.get("score")).unwrap_or_default();
        let cost = fw.is_cost(&row.get("level2").norm());
        let target_slot = row.get("target");
        let actual_slot = row.get("actual");
        let name = row.get("level3").text().unwrap_or_default();
        let (computed, verified, explanation) = match parse_target(&target_slot, cost, fw) {
            Some(Target::Quantitative {
                comparator,
                quantity,
            }) => match parse_actual(&actual_slot) {
                Some((actual, _)) if comparable(&quantity, &actual) => {
                    let pts = round2(earned(comparator, quantity.value, actual.value, weight));
                    let why = format!(
                        "目标{}{}{}，实际{}{}",
                        comparator.symbol(),
                        show(quantity.value),
                        quantity.unit,
                        show(actual.value),
                        if actual.unit.is_empty() {
                            &quantity.unit
                        } else {
                            &actual.unit
                        }
                    );
                    (pts, true, why)
                }
                Some((actual, _)) => {
                    findings.push(Issue::new(
                        &form.sheet,
                        actual_slot.cell,
                        "实际完成值",
                        IssueCode::UnitMismatch,
                        format!(
                            "指标“{name}”实际完成值的单位“{}”与指标值单位“{}”不一致，无法核定，保留自评得分",
                            if actual.unit.is_empty() { "无" } else { &actual.unit },
                            quantity.unit
                        ),
                    ));
                    (
                        round2(claimed),
                        false,
                        "单位不一致，保留自评得分".to_string(),
                    )
                }
                None => (
                    round2(claimed),
                    false,
                    "定性完成情况，保留自评得分".to_string(),
                ),
            },
            _ => (round2(claimed), false, "定性指标，保留自评得分".to_string()),
        };
        // Each indicator's points are at most its weight (10¹² at most).
        total = total.saturating_add(computed);
        indicators.push(IndicatorScore {
            name,
            level1: row.get("level1").text().unwrap_or_default(),
            level2: row.get("level2").text().unwrap_or_default(),
            target: target_slot.text().unwrap_or_default(),
            actual: actual_slot.text().unwrap_or_default(),
            weight: f(weight),
            claimed: f(claimed),
            computed: f(computed),
            verified,
            explanation,
        });
    }
    let grade = fw.grade(f(total));
    let claimed = points(&form.total_score);
    let claimed_grade = form.grade.text();
    if let Some(c) = claimed
        && round2(c) != total
    {
        findings.push(Issue::new(
            &form.sheet,
            form.total_score.cell,
            "总分",
            IssueCode::ScoreDiffers,
            format!("自评总分{}分，核定得分{}分", show(c), show(total)),
        ));
    }
    if let Some(g) = &claimed_grade
        && crate::text::normalize(g) != grade
    {
        findings.push(Issue::new(
            &form.sheet,
            form.grade.cell,
            "自评等级",
            IssueCode::GradeDiffers,
            format!("自评等级为“{g}”，核定等级为“{grade}”"),
        ));
    }
    let score = Score {
        claimed: claimed.map(f),
        claimed_grade,
        computed: f(total),
        execution_rate: f(execution_rate),
        execution_score: f(execution_score),
        grade,
        indicators,
    };
    (score, findings)
}
