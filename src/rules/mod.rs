//! The rules of the three forms (财预〔2015〕88号, 财预〔2019〕136号, 财预〔2020〕10号): errors that
//! send a form back for correction, and findings that go into the opinion. Pure functions over a
//! `RawForm`; the review conclusion is in [`crate::rules::review`] and the score in [`crate::score`].

pub(crate) mod cross_form;
pub(crate) mod identity;
pub mod issue;
pub mod review;

use rust_decimal::Decimal;

use crate::forms::definitions::{Definitions, FormDef, FormKind, ValueType};
use crate::forms::indicator::{Target, comparable, falls_short, parse_actual, parse_target};
use crate::forms::read::{IndicatorRow, RawForm, Slot};
use crate::forms::values::{amount, percent, points, too_large};
use crate::rules::issue::{Criterion, Issue, IssueCode};
use crate::text::normalize;
use crate::workbook::Value;

/// Errors and findings of one form.
#[derive(Debug, Default)]
pub(crate) struct Judgement {
    pub(crate) errors: Vec<Issue>,
    pub(crate) findings: Vec<Issue>,
}

impl Judgement {
    fn error(&mut self, form: &RawForm, slot: &Slot, field: &str, code: IssueCode, msg: String) {
        self.errors
            .push(Issue::new(&form.sheet, slot.cell, field, code, msg));
    }

    fn finding(&mut self, form: &RawForm, slot: &Slot, field: &str, code: IssueCode, msg: String) {
        self.findings
            .push(Issue::new(&form.sheet, slot.cell, field, code, msg));
    }
}

fn show(d: Decimal) -> String {
    d.normalize().to_string()
}

/// Reports a number too large to be meant at its cell; true when it did.
fn check_too_large(
    j: &mut Judgement,
    form: &RawForm,
    slot: &Slot,
    field: &str,
    suffix: &str,
    what: &str,
) -> bool {
    if !too_large(slot, suffix) {
        return false;
    }
    j.error(
        form,
        slot,
        field,
        IssueCode::NumberTooLarge,
        format!(
            "“{field}”数值过大（当前为“{}”），请核对后填写{what}",
            slot.text().unwrap_or_default().trim()
        ),
    );
    true
}

/// Checks an amount cell: a number, not too large, not negative, at most 4 decimals.
fn check_amount(j: &mut Judgement, form: &RawForm, slot: &Slot, field: &str) -> Option<Decimal> {
    if check_too_large(
        j,
        form,
        slot,
        field,
        "万元",
        "以万元为单位的金额，如1200.00",
    ) {
        return None;
    }
    match amount(slot) {
        Ok(None) => None,
        Ok(Some(v)) => {
            if v.is_sign_negative() && !v.is_zero() {
                j.error(
                    form,
                    slot,
                    field,
                    IssueCode::AmountNegative,
                    format!(
                        "“{field}”不能为负数（当前为{}），请填写0或正数金额（万元）",
                        show(v)
                    ),
                );
                None
            } else if v.normalize().scale() > 4 {
                j.error(
                    form,
                    slot,
                    field,
                    IssueCode::AmountPrecision,
                    format!(
                        "“{field}”以万元为单位，最多保留4位小数（当前为{}），请四舍五入到4位小数",
                        show(v)
                    ),
                );
                None
            } else {
                Some(v)
            }
        }
        Err(text) => {
            j.error(
                form,
                slot,
                field,
                IssueCode::AmountNotNumber,
                format!(
                    "“{field}”应填写以万元为单位的数字金额，当前为“{text}”，请改为数字，如1200.00"
                ),
            );
            None
        }
    }
}

/// Runs every rule of the form's kind.
pub(crate) fn judge(form: &RawForm, defs: &Definitions) -> Judgement {
    let def = defs.form(form.kind);
    let mut j = Judgement::default();
    common(&mut j, form, def);
    match form.kind {
        FormKind::TargetDeclaration => declaration(&mut j, form, def),
        FormKind::PerformanceReport => report(&mut j, form, def, defs),
        FormKind::SelfEvaluation => self_evaluation(&mut j, form, def),
    }
    indicators(&mut j, form, def, defs);
    match form.kind {
        FormKind::PerformanceReport => report_indicators(&mut j, form, defs),
        FormKind::SelfEvaluation => self_evaluation_indicators(&mut j, form, def, defs),
        FormKind::TargetDeclaration => {}
    }
    j
}

fn common(j: &mut Judgement, form: &RawForm, def: &FormDef) {
    if form.year.year.is_none() {
        let slot = Slot::new(Some(form.year.cell), Value::Empty);
        let msg = if form.year.found {
            "年度行未填写年份，请填写预算年度，如“（2026年度）”".to_string()
        } else {
            "标题下缺少年度行，请在标题下一行填写预算年度，如“（2026年度）”".to_string()
        };
        j.error(form, &slot, "年度", IssueCode::YearMissing, msg);
    }
    for f in def.fields.iter().filter(|f| f.required) {
        let slot = form.field(&f.key);
        if slot.is_empty() {
            let label = &f.label;
            let msg = if slot.cell.is_some() {
                format!("未填写“{label}”，请在该单元格填写{label}")
            } else {
                format!("表中找不到“{label}”一栏，请使用标准表样并填写{label}")
            };
            j.error(form, &slot, label, IssueCode::FieldMissing, msg);
        }
    }
    for f in def.fields.iter().filter(|f| !f.choices.is_empty()) {
        let slot = form.field(&f.key);
        if !slot.is_empty() && !f.choices.iter().any(|c| normalize(c) == slot.norm()) {
            j.finding(
                form,
                &slot,
                &f.label,
                IssueCode::ChoiceUnknown,
                format!(
                    "“{}”应为{}之一，当前为“{}”",
                    f.label,
                    f.choices.join("、"),
                    slot.text().unwrap_or_default()
                ),
            );
        }
    }
    if let Some(funds) = &def.funds {
        for row in &funds.rows {
            for col in funds
                .columns
                .iter()
                .filter(|c| c.value_type == ValueType::Amount)
            {
                let slot = form.fund(&row.key, &col.key);
                let field = format!("{}（{}）", row.label, col.label);
                check_amount(j, form, &slot, &field);
            }
        }
    }
}

fn declaration(j: &mut Judgement, form: &RawForm, def: &FormDef) {
    let label = |key: &str| {
        def.field(key)
            .map(|f| f.label.clone())
            .unwrap_or_else(|| key.to_string())
    };
    let total_slot = form.field("total");
    let total = check_amount(j, form, &total_slot, &label("total"));
    let fiscal = check_amount(j, form, &form.field("fiscal"), &label("fiscal"));
    let other = check_amount(j, form, &form.field("other"), &label("other"));
    let parts_ok = amount(&form.field("fiscal")).is_ok() && amount(&form.field("other")).is_ok();
    match (total, amount(&total_slot)) {
        (_, Ok(None)) => j.error(
            form,
            &total_slot,
            &label("total"),
            IssueCode::TotalMissing,
            "未填写年度资金总额，请填写本项目年度资金总额（万元）".to_string(),
        ),
        (Some(t), _) if parts_ok => {
            let f = fiscal.unwrap_or_default();
            let o = other.unwrap_or_default();
            // Amounts are at most 10¹², so their sum cannot overflow.
            let sum = f.saturating_add(o);
            if t != sum {
                j.error(
                    form,
                    &total_slot,
                    &label("total"),
                    IssueCode::TotalMismatch,
                    format!(
                        "年度资金总额{}万元不等于财政拨款{}万元与其他资金{}万元之和{}万元，请核对后修改",
                        show(t),
                        show(f),
                        show(o),
                        show(sum)
                    ),
                );
            }
        }
        _ => {}
    }
    let goal = form.goal.get("value").cloned().unwrap_or_else(Slot::absent);
    if goal.is_empty() {
        j.error(
            form,
            &goal,
            &def.goal.label,
            IssueCode::GoalMissing,
            "未填写年度总体目标，请概括填写本项目年度内要达到的产出和效果".to_string(),
        );
    }
}

/// The indicator rules shared by all forms: known 一级, 二级 belonging to it, a 三级 name and a
/// 指标值 on every row.
fn indicators(j: &mut Judgement, form: &RawForm, def: &FormDef, defs: &Definitions) {
    let fw = &defs.framework;
    let col_label = |key: &str| {
        def.indicators
            .columns
            .iter()
            .find(|c| c.key == key)
            .map(|c| c.label.clone())
            .unwrap_or_default()
    };
    if form.indicators.is_empty() {
        let slot = Slot::new(form.indicator_header, Value::Empty);
        j.error(
            form,
            &slot,
            "绩效指标",
            IssueCode::NoIndicators,
            "未填写绩效指标，请在绩效指标表中逐行填写一级、二级、三级指标和指标值".to_string(),
        );
        return;
    }
    let level1_names: Vec<&str> = fw.levels.iter().map(|(l1, _)| l1.as_str()).collect();
    for row in &form.indicators {
        let l1 = row.get("level1");
        let l2 = row.get("level2");
        let mut l2_known = None;
        if l1.is_empty() {
            j.error(
                form,
                &l1,
                &col_label("level1"),
                IssueCode::Level1Missing,
                format!("未填写一级指标，请选用：{}", level1_names.join("、")),
            );
        } else if let Some(list) = fw.level2_of(&l1.norm()) {
            l2_known = Some(list);
        } else {
            j.error(
                form,
                &l1,
                &col_label("level1"),
                IssueCode::Level1Unknown,
                format!(
                    "一级指标“{}”不在指标体系中，请选用：{}",
                    l1.text().unwrap_or_default(),
                    level1_names.join("、")
                ),
            );
        }
        if l2.is_empty() {
            j.error(
                form,
                &l2,
                &col_label("level2"),
                IssueCode::Level2Missing,
                "未填写二级指标，请按一级指标选用对应的二级指标".to_string(),
            );
        } else if let Some(list) = l2_known
            && !list.contains(&l2.norm())
        {
            let l1_text = l1.text().unwrap_or_default();
            let names = fw
                .levels
                .iter()
                .find(|(n, _)| normalize(n) == l1.norm())
                .map(|(_, l2)| l2.join("、"))
                .unwrap_or_default();
            j.error(
                form,
                &l2,
                &col_label("level2"),
                IssueCode::Level2Unknown,
                format!(
                    "二级指标“{}”不属于一级指标“{l1_text}”，请选用：{names}",
                    l2.text().unwrap_or_default()
                ),
            );
        }
        let l3 = row.get("level3");
        if l3.is_empty() {
            j.error(
                form,
                &l3,
                &col_label("level3"),
                IssueCode::Level3Missing,
                "未填写三级指标名称，请填写具体、可衡量的三级指标".to_string(),
            );
        }
        let target = row.get("target");
        if target.is_empty() {
            let name = l3.text().unwrap_or_default();
            j.error(
                form,
                &target,
                &col_label("target"),
                IssueCode::TargetMissing,
                format!("三级指标“{name}”未填写指标值，请填写如“≥3000人次”“≤800元”或定性目标"),
            );
        }
    }
}

fn indicator_name(row: &IndicatorRow) -> String {
    row.get("level3").text().unwrap_or_default()
}

fn target_of(row: &IndicatorRow, defs: &Definitions) -> Option<Target> {
    let cost = defs.framework.is_cost(&row.get("level2").norm());
    parse_target(&row.get("target"), cost, &defs.framework)
}

/// The months elapsed in a performance report: the end month of 监控期间, else of the headers.
pub(crate) fn months_elapsed(form: &RawForm) -> Option<u32> {
    let period = form.field("period").norm();
    let from_field = period
        .rfind('月')
        .map(|i| &period[..i])
        .and_then(|s| {
            let digits: String = s
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_digit())
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            digits.parse::<u32>().ok()
        })
        .filter(|m| (1..=12).contains(m));
    from_field.or_else(|| form.period_headers.first().map(|h| h.end_month))
}

fn report(j: &mut Judgement, form: &RawForm, def: &FormDef, defs: &Definitions) {
    let settings = &defs.framework.monitoring;
    let period_slot = form.field("period");
    let months = months_elapsed(form);
    if let Some(m) = months {
        for h in &form.period_headers {
            if h.end_month != m {
                let slot = Slot::new(Some(h.cell), Value::Empty);
                j.finding(
                    form,
                    &slot,
                    &h.label,
                    IssueCode::PeriodMismatch,
                    format!(
                        "表头期间为1-{}月，与监控期间“{}”不一致，请统一为同一期间",
                        h.end_month,
                        period_slot.text().unwrap_or_default()
                    ),
                );
            }
        }
    }
    let Some(funds) = &def.funds else { return };
    let rate_label = funds
        .columns
        .iter()
        .find(|c| c.key == "rate")
        .map(|c| c.label.clone())
        .unwrap_or_default();
    for row in &funds.rows {
        let budget = amount(&form.fund(&row.key, "budget")).ok().flatten();
        let spent = amount(&form.fund(&row.key, "spent")).ok().flatten();
        let (Some(budget), Some(spent)) = (budget, spent) else {
            continue;
        };
        if budget <= Decimal::ZERO {
            continue;
        }
        // A budget of a tiny fraction makes a rate too large to compute: no rate then.
        let Some(rate) = spent
            .checked_div(budget)
            .and_then(|q| q.checked_mul(Decimal::ONE_HUNDRED))
        else {
            continue;
        };
        let rate_slot = form.fund(&row.key, "rate");
        if let Some(stated) = percent(&rate_slot) {
            let tolerance = Decimal::try_from(settings.rate_tolerance_points).unwrap_or_default();
            if stated.checked_sub(rate).is_none_or(|d| d.abs() > tolerance) {
                j.finding(
                    form,
                    &rate_slot,
                    &format!("{}（{}）", row.label, rate_label),
                    IssueCode::RateDiffers,
                    format!(
                        "填报执行率{}%与金额计算的执行率{}%不符，请核对执行数和执行率",
                        show(stated.round_dp(2)),
                        show(crate::text::round2(rate))
                    ),
                );
            }
        }
        if row.key == "total"
            && let Some(m) = months
        {
            let elapsed = Decimal::from(m) * Decimal::ONE_HUNDRED / Decimal::from(12);
            let lag = Decimal::try_from(settings.execution_lag_points).unwrap_or_default();
            if elapsed.checked_sub(rate).is_some_and(|gap| gap > lag) {
                let slot = if rate_slot.cell.is_some() {
                    rate_slot.clone()
                } else {
                    form.fund(&row.key, "spent")
                };
                j.finding(
                        form,
                        &slot,
                        &row.label,
                        IssueCode::ExecutionLag,
                        format!(
                            "预算执行率{}%，低于序时进度{}%达{}个百分点（超过{}个百分点），请分析原因并加快执行",
                            show(crate::text::round2(rate)),
                            show(crate::text::round2(elapsed)),
                            show(crate::text::round2(elapsed - rate)),
                            settings.execution_lag_points
                        ),
                    );
            }
        }
    }
}

/// Whether a performance report's 全年预计完成情况 falls short of its 年度指标值 (same unit, or none).
pub(crate) fn forecast_falls_short(row: &IndicatorRow, defs: &Definitions) -> bool {
    match target_of(row, defs) {
        Some(Target::Quantitative {
            comparator,
            quantity,
        }) => parse_actual(&row.get("forecast")).is_some_and(|(actual, _)| {
            comparable(&quantity, &actual) && falls_short(comparator, quantity.value, actual.value)
        }),
        _ => false,
    }
}

fn report_indicators(j: &mut Judgement, form: &RawForm, defs: &Definitions) {
    let settings = &defs.framework.monitoring;
    let allowed: Vec<String> = settings.likelihood.iter().map(|l| normalize(l)).collect();
    let certain = normalize(&settings.likelihood_certain);
    for row in &form.indicators {
        let name = indicator_name(row);
        let likelihood = row.get("likelihood");
        let valid = (!likelihood.is_empty() && allowed.contains(&likelihood.norm()))
            .then(|| likelihood.norm());
        if valid.is_none() {
            let msg = if likelihood.is_empty() {
                format!(
                    "指标“{name}”未填写完成目标可能性，请选填：{}",
                    settings.likelihood.join("、")
                )
            } else {
                format!(
                    "指标“{name}”的完成目标可能性“{}”无效，请选填：{}",
                    likelihood.text().unwrap_or_default(),
                    settings.likelihood.join("、")
                )
            };
            j.error(
                form,
                &likelihood,
                "完成目标可能性",
                IssueCode::LikelihoodInvalid,
                msg,
            );
        }
        let short = forecast_falls_short(row, defs);
        let uncertain = valid.as_ref().is_some_and(|v| *v != certain);
        let reason = row.get("reason");
        if (short || uncertain) && reason.is_empty() {
            let why = if short {
                "全年预计完成情况达不到年度指标值"
            } else {
                "完成目标可能性不是“确定能”"
            };
            j.error(
                form,
                &reason,
                "偏差原因分析",
                IssueCode::DeviationReasonMissing,
                format!("指标“{name}”{why}，请填写偏差原因分析"),
            );
        }
        let correction = row.get("correction");
        if uncertain && correction.is_empty() {
            j.error(
                form,
                &correction,
                "纠偏措施",
                IssueCode::CorrectionMissing,
                format!(
                    "指标“{name}”完成目标可能性为“{}”，请填写纠偏措施",
                    likelihood.text().unwrap_or_default()
                ),
            );
        }
    }
}

fn self_evaluation(j: &mut Judgement, form: &RawForm, def: &FormDef) {
    let Some(funds) = &def.funds else { return };
    let col = |key: &str| {
        funds
            .columns
            .iter()
            .find(|c| c.key == key)
            .map(|c| c.label.clone())
            .unwrap_or_default()
    };
    let total_label = funds
        .rows
        .iter()
        .find(|r| r.key == "total")
        .map(|r| r.label.clone())
        .unwrap_or_default();
    let annual = form.fund("total", "annual");
    match amount(&annual) {
        Ok(None) => j.error(
            form,
            &annual,
            &format!("{total_label}（{}）", col("annual")),
            IssueCode::BudgetMissing,
            "未填写年度资金总额的全年预算数，请填写（万元）".to_string(),
        ),
        Ok(Some(v)) if v.is_zero() => j.error(
            form,
            &annual,
            &format!("{total_label}（{}）", col("annual")),
            IssueCode::BudgetMissing,
            "年度资金总额的全年预算数为0，无法计算预算执行率，请填写实际全年预算数（万元）"
                .to_string(),
        ),
        _ => {}
    }
    let spent = form.fund("total", "spent");
    if matches!(amount(&spent), Ok(None)) {
        j.error(
            form,
            &spent,
            &format!("{total_label}（{}）", col("spent")),
            IssueCode::SpentMissing,
            "未填写年度资金总额的全年执行数，请填写（万元）".to_string(),
        );
    }
    let weight = form.fund("total", "weight");
    let field = format!("{total_label}（{}）", col("weight"));
    check_too_large(j, form, &weight, &field, "分", "预算执行率的分值");
}

/// The 预算执行率 分值 of a self-evaluation: the fund row's 分值, else the configured default.
pub(crate) fn execution_weight(form: &RawForm, defs: &Definitions) -> Decimal {
    points(&form.fund("total", "weight")).unwrap_or_else(|| {
        Decimal::try_from(defs.framework.score.execution_weight).unwrap_or(Decimal::TEN)
    })
}

fn self_evaluation_indicators(
    j: &mut Judgement,
    form: &RawForm,
    def: &FormDef,
    defs: &Definitions,
) {
    let mut sum = Decimal::ZERO;
    for row in &form.indicators {
        let name = indicator_name(row);
        let weight_slot = row.get("weight");
        let score_slot = row.get("score");
        let weight = points(&weight_slot);
        let score = points(&score_slot);
        let weight_too_large = check_too_large(j, form, &weight_slot, "分值", "分", "该指标的分值");
        let score_too_large = check_too_large(j, form, &score_slot, "得分", "分", "自评得分");
        match weight {
            // Points are at most 10¹² each: the sum cannot overflow.
            Some(w) => sum = sum.saturating_add(w),
            None if weight_too_large => {}
            None => j.error(
                form,
                &weight_slot,
                "分值",
                IssueCode::WeightMissing,
                format!("指标“{name}”未填写分值，请填写该指标的分值"),
            ),
        }
        match score {
            None if score_too_large => {}
            None => j.error(
                form,
                &score_slot,
                "得分",
                IssueCode::ScoreMissing,
                format!("指标“{name}”未填写得分，请填写自评得分"),
            ),
            Some(s) => {
                if let Some(w) = weight {
                    if s > w {
                        j.error(
                            form,
                            &score_slot,
                            "得分",
                            IssueCode::ScoreExceedsWeight,
                            format!(
                                "指标“{name}”得分{}分超过分值{}分，请修改得分",
                                show(s),
                                show(w)
                            ),
                        );
                    } else if s < w && row.get("improvement").is_empty() {
                        let improvement = row.get("improvement");
                        j.error(
                            form,
                            &improvement,
                            "偏差原因分析及改进措施",
                            IssueCode::ImprovementMissing,
                            format!(
                                "指标“{name}”得分{}分低于分值{}分，请填写偏差原因分析及改进措施",
                                show(s),
                                show(w)
                            ),
                        );
                    }
                }
            }
        }
    }
    let exec = execution_weight(form, defs);
    let total = sum.saturating_add(exec);
    if total != Decimal::ONE_HUNDRED && !form.indicators.is_empty() {
        let label = def
            .summary
            .as_ref()
            .map(|s| s.total_label.clone())
            .unwrap_or_default();
        j.error(
            form,
            &form.total_weight,
            &format!("{label}（分值）"),
            IssueCode::WeightsNot100,
            format!(
                "各指标分值{}分加预算执行率分值{}分合计{}分，应为100分，请调整分值",
                show(sum),
                show(exec),
                show(total)
            ),
        );
    }
}

/// The review findings of an accepted declaration, by criterion.
pub(crate) fn review_findings(form: &RawForm, defs: &Definitions) -> Vec<Issue> {
    let fw = &defs.framework;
    let mut out = Vec::new();
    let mut push =
        |slot: Option<&Slot>, field: &str, code: IssueCode, crit: Criterion, msg: String| {
            let mut issue = Issue::new(&form.sheet, slot.and_then(|s| s.cell), field, code, msg);
            issue.criterion = Some(crit);
            out.push(issue);
        };
    let rows = &form.indicators;
    let has = |l1: &str, l2: Option<&str>| {
        rows.iter().any(|r| {
            r.get("level1").norm() == normalize(l1)
                && l2.is_none_or(|l2| r.get("level2").norm() == normalize(l2))
        })
    };
    let [q1, q2] = &fw.roles.quantity;
    if !has(q1, Some(q2)) {
        push(
            None,
            "绩效指标",
            IssueCode::NoQuantityIndicator,
            Criterion::Indicators,
            format!("未设置{q1}中的{q2}，产出无法衡量，请补充数量指标"),
        );
    }
    if !has(&fw.roles.benefit, None) {
        push(
            None,
            "绩效指标",
            IssueCode::NoBenefitIndicator,
            Criterion::Indicators,
            format!(
                "未设置{}，项目效果无法衡量，请补充效益指标",
                fw.roles.benefit
            ),
        );
    }
    if !has(&fw.roles.satisfaction, None) {
        push(
            None,
            "绩效指标",
            IssueCode::NoSatisfactionIndicator,
            Criterion::Indicators,
            format!("未设置{}，请补充服务对象满意度指标", fw.roles.satisfaction),
        );
    }
    if !rows.iter().any(|r| fw.is_cost(&r.get("level2").norm())) {
        push(
            None,
            "绩效指标",
            IssueCode::NoCostIndicator,
            Criterion::Funds,
            "未设置成本指标，资金测算的合理性无法衡量，请补充成本指标".to_string(),
        );
    }
    let targets: Vec<(usize, Target)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| target_of(r, defs).map(|t| (i, t)))
        .collect();
    let quantitative = targets.iter().filter(|(_, t)| t.is_quantitative()).count();
    if !targets.is_empty()
        && (quantitative as f64) < fw.review.min_quantitative_share * targets.len() as f64
    {
        push(
            None,
            "指标值",
            IssueCode::FewQuantitative,
            Criterion::Indicators,
            format!(
                "{}个指标值中仅{}个为定量指标，不足一半，请尽量使用可量化的指标值",
                targets.len(),
                quantitative
            ),
        );
    }
    for (i, t) in &targets {
        if let Target::Qualitative(text) = t {
            let norm = normalize(text);
            if let Some(word) = fw
                .review
                .vague_words
                .iter()
                .find(|w| norm.contains(&normalize(w)))
            {
                let row = &rows[*i];
                push(
                    Some(&row.get("target")),
                    "指标值",
                    IssueCode::VagueTarget,
                    Criterion::Indicators,
                    if normalize(text) == normalize(word) {
                        format!(
                            "指标“{}”的指标值“{text}”是模糊表述，无法考核，请改为可衡量的目标",
                            indicator_name(row)
                        )
                    } else {
                        format!(
                            "指标“{}”的指标值“{text}”含模糊表述“{word}”，无法考核，请改为可衡量的目标",
                            indicator_name(row)
                        )
                    },
                );
            }
        }
    }
    let mut seen: Vec<String> = Vec::new();
    for row in rows {
        let name = row.get("level3").norm();
        if name.is_empty() {
            continue;
        }
        if seen.contains(&name) {
            push(
                Some(&row.get("level3")),
                "三级指标",
                IssueCode::DuplicateIndicator,
                Criterion::Indicators,
                format!("三级指标“{}”重复设置，请合并或区分", indicator_name(row)),
            );
        } else {
            seen.push(name);
        }
    }
    out
}
