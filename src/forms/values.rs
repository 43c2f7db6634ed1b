//! Reading the values of a form's cells: amounts in 万元, points, percentages — as numbers or as
//! text written the many ways departments write them.

use rust_decimal::Decimal;

use crate::forms::read::Slot;
use crate::text::{decimal_from_f64, normalize, parse_decimal};
use crate::workbook::Value;

/// The largest amount (万元) or points a form may hold, 10¹²: anything larger is mistyped or
/// hostile, and sums and rates of it could overflow.
pub(crate) const LARGEST: f64 = 1e12;

/// Whether a cell holds a number (or numeric text, `suffix` allowed after it) larger than
/// [`LARGEST`]: such a value is reported as too large rather than as a number.
pub(crate) fn too_large(slot: &Slot, suffix: &str) -> bool {
    if slot.is_empty() {
        return false;
    }
    match &slot.value {
        Value::Number { v, .. } => v.abs() > LARGEST,
        Value::Text(t) => {
            let norm = normalize(t).replace(',', "");
            let body = norm.strip_suffix(suffix).unwrap_or(&norm);
            let digits = body.strip_prefix(['-', '+']).unwrap_or(body);
            !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
                && digits.matches('.').count() <= 1
                && digits.parse::<f64>().is_ok_and(|v| v.abs() > LARGEST)
        }
        _ => false,
    }
}

/// Reads an amount in 万元: a number, or text such as `1,200.00`, `１２００．００`, `1200万元`.
/// `Ok(None)` for an empty cell or a placeholder (`—`). An amount larger than `LARGEST` is not
/// a valid amount (`Err`).
pub fn amount(slot: &Slot) -> Result<Option<Decimal>, String> {
    if slot.is_empty() {
        return Ok(None);
    }
    if too_large(slot, "万元") {
        return Err(slot.text().unwrap_or_default());
    }
    let value = match &slot.value {
        Value::Number { v, .. } => decimal_from_f64(*v).ok_or_else(|| format!("{v}"))?,
        Value::Text(t) => {
            let norm = normalize(t);
            let body = norm.strip_suffix("万元").unwrap_or(&norm);
            parse_decimal(body).ok_or_else(|| t.trim().to_string())?
        }
        Value::Bool(b) => return Err(format!("{b}")),
        Value::Error(e) => return Err(e.clone()),
        Value::Empty => return Ok(None),
    };
    Ok(Some(value))
}

/// Reads points (分值, 得分): a number or numeric text, `分` allowed after it. Points larger than
/// [`LARGEST`] are none.
pub(crate) fn points(slot: &Slot) -> Option<Decimal> {
    if slot.is_empty() || too_large(slot, "分") {
        return None;
    }
    match &slot.value {
        Value::Number { v, .. } => decimal_from_f64(*v),
        Value::Text(t) => {
            let norm = normalize(t);
            parse_decimal(norm.strip_suffix('分').unwrap_or(&norm))
        }
        _ => None,
    }
}

/// Reads a stated percentage in percent units: `96.2%`, 0.962 shown as a percentage, or a plain
/// number (a fraction when at most 1, as formats of `.xls` files cannot be seen). A percentage
/// larger than [`LARGEST`] is none.
pub(crate) fn percent(slot: &Slot) -> Option<Decimal> {
    if slot.is_empty() || too_large(slot, "%") {
        return None;
    }
    let hundred = Decimal::ONE_HUNDRED;
    match &slot.value {
        Value::Number { v, percent } => {
            let d = decimal_from_f64(*v)?;
            Some(if *percent || d.abs() <= Decimal::ONE {
                d * hundred
            } else {
                d
            })
        }
        Value::Text(t) => {
            let norm = normalize(t);
            match norm.strip_suffix('%') {
                Some(body) => parse_decimal(body),
                None => parse_decimal(&norm),
            }
        }
        _ => None,
    }
}

/// Parses an amount written as text (`1200`, `1,200.00`, `１２００．００`, `1200万元`).
pub(crate) fn amount_text(text: &str) -> Option<Decimal> {
    let norm = normalize(text);
    parse_decimal(norm.strip_suffix("万元").unwrap_or(&norm))
}

/// A percentage written as text, as a fraction: `96.2%` and `96.2` → 0.962, `0.962` → 0.962.
pub(crate) fn percent_text_fraction(text: &str) -> Option<f64> {
    use rust_decimal::prelude::ToPrimitive;
    let n = normalize(text);
    let hundred = Decimal::ONE_HUNDRED;
    let d = match n.strip_suffix('%') {
        Some(body) => parse_decimal(body)? / hundred,
        None => {
            let d = parse_decimal(&n)?;
            if d.abs() <= Decimal::ONE {
                d
            } else {
                d / hundred
            }
        }
    };
    d.to_f64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::prelude::ToPrimitive;

    #[test]
    fn amounts_and_percents_as_written() {
        assert_eq!(
            amount_text("1,200.50").and_then(|d| d.to_f64()),
            Some(1200.5)
        );
        assert_eq!(
            amount_text("１２００万元").and_then(|d| d.to_f64()),
            Some(1200.0)
        );
        assert_eq!(amount_text("约1200"), None);
        assert_eq!(percent_text_fraction("96.2%"), Some(0.962));
        assert_eq!(percent_text_fraction("0.962"), Some(0.962));
        assert_eq!(percent_text_fraction("96.2"), Some(0.962));
        assert_eq!(percent_text_fraction("很高"), None);
    }
}
