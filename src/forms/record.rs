//! A form's values as plain text by key, for storing with a submission and for the summary
//! workbook and the cross-form checks: what the department wrote, not where.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::forms::definitions::FormKind;
use crate::forms::read::{RawForm, Slot};

/// Every value of a form by its definition keys, as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormRecord {
    pub(crate) kind: FormKind,
    pub(crate) sheet: String,
    pub(crate) year: Option<i32>,
    /// Single fields by key (`name`, `code`, `department`, `total`, …).
    pub fields: BTreeMap<String, String>,
    /// The target block: `value` on the declaration, else `planned` and `actual`.
    pub(crate) goal: BTreeMap<String, String>,
    /// The fund block: row key → column key → value.
    pub funds: BTreeMap<String, BTreeMap<String, String>>,
    /// The indicator rows: column key → value, 一级/二级 carried down.
    pub indicators: Vec<BTreeMap<String, String>>,
    pub(crate) total_weight: Option<String>,
    pub(crate) total_score: Option<String>,
    pub(crate) grade: Option<String>,
}

fn text(slot: &Slot) -> Option<String> {
    slot.text()
}

/// 执行数 / 年初预算数 of a 资金 total row, as a fraction: none without both amounts, or with no
/// budget.
pub(crate) fn total_rate(total: &BTreeMap<String, String>) -> Option<f64> {
    use rust_decimal::prelude::ToPrimitive;
    let budget = crate::forms::values::amount_text(total.get("budget")?)?;
    let spent = crate::forms::values::amount_text(total.get("spent")?)?;
    if budget.is_zero() {
        return None;
    }
    spent.checked_div(budget)?.to_f64()
}

impl FormRecord {
    /// A performance report's 执行率: the total row's 执行数 / 年初预算数, as a fraction.
    pub(crate) fn report_rate(&self) -> Option<f64> {
        total_rate(self.funds.get("total")?)
    }

    pub fn from_form(form: &RawForm) -> FormRecord {
        let mut funds: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for ((row, col), slot) in &form.funds {
            if let Some(v) = text(slot) {
                funds.entry(row.clone()).or_default().insert(col.clone(), v);
            }
        }
        FormRecord {
            kind: form.kind,
            sheet: form.sheet.clone(),
            year: form.year.year,
            fields: form
                .fields
                .iter()
                .filter_map(|(k, s)| text(s).map(|v| (k.clone(), v)))
                .collect(),
            goal: form
                .goal
                .iter()
                .filter_map(|(k, s)| text(s).map(|v| (k.clone(), v)))
                .collect(),
            funds,
            indicators: form
                .indicators
                .iter()
                .map(|row| {
                    row.cells
                        .iter()
                        .filter_map(|(k, s)| text(s).map(|v| (k.clone(), v)))
                        .collect()
                })
                .collect(),
            total_weight: text(&form.total_weight),
            total_score: text(&form.total_score),
            grade: text(&form.grade),
        }
    }
}
