//! Cross-form rules: a performance report or self-evaluation measured against the project's
//! approved declaration (财预〔2015〕88号: targets once approved are not changed without
//! approval). The approved declaration comes in as data; finding it is the year cycle's business.

use std::collections::HashMap;

use rust_decimal::Decimal;

use crate::forms::definitions::{Definitions, FormKind};
use crate::forms::indicator::{Comparator, Target, parse_target};
use crate::forms::read::{RawForm, Slot};
use crate::forms::record::FormRecord;
use crate::rules::issue::{Issue, IssueCode};
use crate::text::normalize;
use crate::workbook::Value;

/// One indicator as the cross-form check sees it.
struct Ind {
    name: String,
    target: String,
    level2: String,
}

fn indicators(record: &FormRecord) -> Vec<Ind> {
    record
        .indicators
        .iter()
        .filter_map(|row| {
            Some(Ind {
                name: row.get("level3")?.clone(),
                target: row.get("target").cloned().unwrap_or_default(),
                level2: row.get("level2").cloned().unwrap_or_default(),
            })
        })
        .collect()
}

/// What a 指标值 says: comparator, number and unit as the indicator parser reads them, or the
/// normalised text of a qualitative target. Two spellings of the same target (`≥95%`, `>=95%`,
/// `不少于3000人次`, `≥3000.0人次`) mean the same.
#[derive(Debug, PartialEq)]
enum Meaning {
    Quantity(Comparator, Decimal, String),
    Text(String),
}

fn meaning(slot: &Slot, level2: &str, defs: &Definitions) -> Meaning {
    let cost = defs.framework.is_cost(&normalize(level2));
    match parse_target(slot, cost, &defs.framework) {
        Some(Target::Quantitative {
            comparator,
            quantity,
        }) => Meaning::Quantity(comparator, quantity.value, quantity.unit),
        _ => Meaning::Text(slot.norm()),
    }
}

fn text_meaning(text: &str, level2: &str, defs: &Definitions) -> Meaning {
    meaning(
        &Slot::new(None, Value::Text(text.to_string())),
        level2,
        defs,
    )
}

/// How a target differs from the approved one: 调低 when it asks less (a lower floor, a higher
/// ceiling), 调高 when it asks more, else 调整.
fn direction(approved: &Meaning, now: &Meaning) -> &'static str {
    match (approved, now) {
        (Meaning::Quantity(ca, a, ua), Meaning::Quantity(cn, n, un)) if ca == cn && ua == un => {
            match ca {
                Comparator::AtLeast if n < a => "调低",
                Comparator::AtLeast => "调高",
                Comparator::AtMost if n > a => "调低",
                Comparator::AtMost => "调高",
                Comparator::Equal => "调整",
            }
        }
        _ => "调整",
    }
}

/// The note on a declaration made while approved targets are in force (those of the
/// declaration with submission number `approved_id`): it is an adjustment request, and the
/// approved targets stay in force until the finance office approves it.
pub(crate) fn adjustment_request(form: &RawForm, approved_id: i64) -> Issue {
    Issue::new(
        &form.sheet,
        None,
        "项目",
        IssueCode::AdjustmentRequest,
        format!(
            "本项目已有批复的绩效目标（受理编号{approved_id}），本次报送的申报表作为绩效目标调整申请审核；财政部门批准调整前，仍执行已批复的绩效目标，绩效运行监控表和绩效自评表均对照已批复的绩效目标审核"
        ),
    )
}

/// The 二级指标 of a report's row, or the approved one's when the row leaves it out.
fn level2_of(row: &crate::forms::read::IndicatorRow, approved: &Ind) -> String {
    row.get("level2")
        .text()
        .unwrap_or_else(|| approved.level2.clone())
}

/// The findings of a performance report or self-evaluation measured against the approved
/// declaration: a target changed (lowered or otherwise), an indicator removed or added, or no
/// approved declaration at all. All are 擅自调整绩效目标 findings except the last.
pub(crate) fn cross_check(
    approved: Option<&FormRecord>,
    form: &RawForm,
    defs: &Definitions,
) -> Vec<Issue> {
    if form.kind == FormKind::TargetDeclaration {
        return Vec::new();
    }
    let Some(approved) = approved else {
        return vec![Issue::new(
            &form.sheet,
            None,
            "项目",
            IssueCode::NoApprovedDeclaration,
            "未找到本项目已批复的绩效目标申报表，无法对照批复目标，请先报送绩效目标申报表并经审核通过"
                .to_string(),
        )];
    };
    let mut out = Vec::new();
    let approved_inds = indicators(approved);
    let by_name: HashMap<String, &Ind> = approved_inds
        .iter()
        .map(|i| (normalize(&i.name), i))
        .collect();
    let mut seen = Vec::new();
    for row in &form.indicators {
        let name_slot = row.get("level3");
        let Some(name) = name_slot.text() else {
            continue;
        };
        let key = normalize(&name);
        seen.push(key.clone());
        let target_slot = row.get("target");
        let target = target_slot.text().unwrap_or_default();
        match by_name.get(&key) {
            None => out.push(Issue::new(
                &form.sheet,
                name_slot.cell,
                "三级指标",
                IssueCode::IndicatorAdded,
                format!("指标“{name}”不在批复的绩效目标中（擅自调整绩效目标），新增指标须报经财政部门审核"),
            )),
            Some(a) => {
                let level2 = level2_of(row, a);
                let was = text_meaning(&a.target, &a.level2, defs);
                let now = meaning(&target_slot, &level2, defs);
                // The approved value is kept as text, where a number shown as a percentage is
                // the bare number (0.95): the report's cell is also compared as that text.
                let now_as_kept = text_meaning(&target, &level2, defs);
                if was != now && was != now_as_kept {
                    let how = match direction(&was, &now) {
                        "调整" => direction(&was, &now_as_kept),
                        how => how,
                    };
                    out.push(Issue::new(
                        &form.sheet,
                        target_slot.cell,
                        "年度指标值",
                        IssueCode::TargetChanged,
                        format!(
                            "指标“{name}”的年度指标值由批复的“{}”{how}为“{target}”（擅自调整绩效目标），请按批复目标填报",
                            a.target
                        ),
                    ));
                }
            }
        }
    }
    for a in &approved_inds {
        if !seen.contains(&normalize(&a.name)) {
            out.push(Issue::new(
                &form.sheet,
                form.indicator_header,
                "三级指标",
                IssueCode::IndicatorRemoved,
                format!(
                    "批复的指标“{}”（年度指标值“{}”）未填报（擅自调整绩效目标），请补充该指标",
                    a.name, a.target
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Checker;
    use crate::forms::read::RawForm;
    use crate::workbook::Limits;

    const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/examples");

    fn read(name: &str) -> RawForm {
        let checker = Checker::new(Definitions::embedded(), Limits::default());
        let path = std::path::Path::new(EXAMPLES).join(name);
        checker
            .check_path(&path, name)
            .form
            .map(|f| *f)
            .expect("the example is a form")
    }

    fn approved() -> FormRecord {
        FormRecord::from_form(&read("农业农村厅-绩效目标申报表.xlsx"))
    }

    /// The example report with each indicator's cell `key` rewritten by `f` (given the text).
    fn report_with(key: &str, f: impl Fn(&str) -> String) -> RawForm {
        let mut form = read("农业农村厅-绩效运行监控表.xlsx");
        for row in &mut form.indicators {
            let slot = row.get(key);
            if let Some(text) = slot.text() {
                row.cells
                    .insert(key.to_string(), Slot::new(slot.cell, Value::Text(f(&text))));
            }
        }
        form
    }

    fn messages(issues: &[Issue]) -> Vec<String> {
        issues.iter().map(|i| i.message.clone()).collect()
    }

    #[test]
    fn the_same_target_in_other_words_is_no_change() {
        let defs = Definitions::embedded();
        let approved = approved();
        let unchanged = report_with("target", |t| t.to_string());
        assert!(cross_check(Some(&approved), &unchanged, &defs).is_empty());
        let words = report_with("target", |t| {
            t.replace("≥", "不少于").replace("≤", "不超过")
        });
        assert_ne!(
            words.indicators[0].get("target").text(),
            unchanged.indicators[0].get("target").text()
        );
        let found = cross_check(Some(&approved), &words, &defs);
        assert!(found.is_empty(), "{:?}", messages(&found));
        let ascii = report_with("target", |t| {
            t.replace("≥", ">=").replace("≤", "<=").replace("%", "％")
        });
        let found = cross_check(Some(&approved), &ascii, &defs);
        assert!(found.is_empty(), "{:?}", messages(&found));
    }

    /// The example with each `≥95%` target typed as a number shown as a percentage (0.95).
    fn with_percent_cells(mut form: RawForm) -> RawForm {
        for row in &mut form.indicators {
            let slot = row.get("target");
            if slot.text().as_deref() == Some("≥95%") {
                let v = Value::Number {
                    v: 0.95,
                    percent: true,
                };
                row.cells
                    .insert("target".to_string(), Slot::new(slot.cell, v));
            }
        }
        form
    }

    #[test]
    fn targets_typed_as_percentages_compare_with_each_other() {
        let defs = Definitions::embedded();
        let declaration = with_percent_cells(read("农业农村厅-绩效目标申报表.xlsx"));
        let approved = FormRecord::from_form(&declaration);
        let report = with_percent_cells(read("农业农村厅-绩效运行监控表.xlsx"));
        let found = cross_check(Some(&approved), &report, &defs);
        assert!(found.is_empty(), "{:?}", messages(&found));
    }

    #[test]
    fn indicator_names_differing_in_spacing_or_width_are_the_same() {
        let defs = Definitions::embedded();
        let spaced = report_with("level3", |n| {
            let mut s: String = n.chars().flat_map(|c| [c, ' ']).collect();
            s = s.replace('(', "（").replace(')', "）").replace('%', "％");
            format!("　{s}")
        });
        let found = cross_check(Some(&approved()), &spaced, &defs);
        assert!(found.is_empty(), "{:?}", messages(&found));
    }

    #[test]
    fn a_real_change_says_which_way() {
        let defs = Definitions::embedded();
        let approved = approved();
        let lower = report_with("target", |t| t.replace("≥3000", "不少于2800"));
        let found = cross_check(Some(&approved), &lower, &defs);
        assert_eq!(found.len(), 1, "{:?}", messages(&found));
        assert_eq!(found[0].code, IssueCode::TargetChanged);
        assert!(
            found[0]
                .message
                .contains("由批复的“≥3000人次”调低为“不少于2800人次”"),
            "{}",
            found[0].message
        );
        let higher = report_with("target", |t| t.replace("≥3000", ">=3500"));
        let found = cross_check(Some(&approved), &higher, &defs);
        assert_eq!(found.len(), 1, "{:?}", messages(&found));
        assert!(
            found[0].message.contains("调高为“>=3500人次”"),
            "{}",
            found[0].message
        );
        let other_way = report_with("target", |t| t.replace("≥3000", "≤3000"));
        let found = cross_check(Some(&approved), &other_way, &defs);
        assert_eq!(found.len(), 1, "{:?}", messages(&found));
        assert!(
            found[0].message.contains("调整为“≤3000人次”"),
            "{}",
            found[0].message
        );
        let unit = report_with("target", |t| t.replace("≥3000人次", "≥3000人"));
        assert_eq!(cross_check(Some(&approved), &unit, &defs).len(), 1);
    }
}
