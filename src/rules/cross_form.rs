//! Cross-form rules: a performance report or self-evaluation measured against the project's
//! approved declaration (财预〔2015〕88号: targets once approved are not changed without
//! approval). The approved declaration comes in as data; finding it is the year cycle's business.

use std::collections::HashMap;

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

fn quantity(text: &str, level2: &str, defs: &Definitions) -> Option<(Comparator, f64, String)> {
    let slot = Slot::new(None, Value::Text(text.to_string()));
    let cost = defs.framework.is_cost(&normalize(level2));
    match parse_target(&slot, cost, &defs.framework)? {
        Target::Quantitative {
            comparator,
            quantity,
        } => Some((comparator, quantity.value.try_into().ok()?, quantity.unit)),
        Target::Qualitative(_) => None,
    }
}

/// Whether a changed target asks less than the approved one.
fn lowered(approved: &str, now: &str, level2: &str, defs: &Definitions) -> bool {
    match (
        quantity(approved, level2, defs),
        quantity(now, level2, defs),
    ) {
        (Some((ca, a, ua)), Some((cn, n, un))) if ca == cn && ua == un => match ca {
            Comparator::AtLeast => n < a,
            Comparator::AtMost => n > a,
            Comparator::Equal => false,
        },
        _ => false,
    }
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
            Some(a) if normalize(&a.target) != normalize(&target) => {
                let how = if lowered(&a.target, &target, &a.level2, defs) {
                    "调低"
                } else {
                    "调整"
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
            Some(_) => {}
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
