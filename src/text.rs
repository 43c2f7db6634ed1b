//! Text as departments type it: normalising labels and reading numbers written in many ways.

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use unicode_normalization::UnicodeNormalization;

/// NFKC, then every kind of white space removed (including the full-width space U+3000), so that
/// `其中：财政拨款` equals ` 其中: 财政拨款 `.
pub(crate) fn normalize(text: &str) -> String {
    // ASCII and the CJK unified ideographs are unchanged by NFKC: most text on a form is only
    // that, and is spared the normalisation tables.
    let plain = |c: char| c.is_ascii() || ('\u{4E00}'..='\u{9FFF}').contains(&c);
    if text.chars().all(plain)
        || unicode_normalization::is_nfkc_quick(text.chars())
            == unicode_normalization::IsNormalized::Yes
    {
        return text.chars().filter(|c| !c.is_whitespace()).collect();
    }
    text.nfkc().filter(|c| !c.is_whitespace()).collect()
}

/// Whether a text stands for "no value": empty, or a dash used as a placeholder (`—`, `-`, `/`).
pub(crate) fn is_placeholder(norm: &str) -> bool {
    matches!(norm, "" | "—" | "——" | "-" | "--" | "/" | "－" | "–" | "无")
}

/// A decimal number written as text: `1200`, `1,200.00`, `１２００．００` (after NFKC), `-3`.
/// Returns `None` for anything else. `norm` must already be normalised.
pub(crate) fn parse_decimal(norm: &str) -> Option<Decimal> {
    let s = norm.replace(',', "");
    let body = s.strip_prefix(['-', '+']).unwrap_or(&s);
    if body.is_empty()
        || body.starts_with('.')
        || body.ends_with('.')
        || !body.chars().all(|c| c.is_ascii_digit() || c == '.')
        || body.matches('.').count() > 1
        || body.len() > 24
    {
        return None;
    }
    Decimal::from_str(&s).ok()
}

/// The decimal a floating-point cell value stands for, to the 15 significant digits that Excel
/// keeps and shows: `1132.6` also when a formula summed it to `1132.6000000000001`.
pub(crate) fn decimal_from_f64(v: f64) -> Option<Decimal> {
    if !v.is_finite() || v.abs() > 1e20 {
        return None;
    }
    if v == 0.0 {
        return Some(Decimal::ZERO);
    }
    Decimal::from_scientific(&format!("{v:.14e}"))
        .ok()
        .map(|d| d.normalize())
}

/// Splits a normalised text into a leading number and the rest: `3150人次` → (3150, "人次").
/// Commas inside the number are accepted (`20,000户`).
pub(crate) fn split_number(norm: &str) -> Option<(Decimal, &str)> {
    let bytes = norm.as_bytes();
    let mut end = 0;
    if end < bytes.len() && (bytes[end] == b'-' || bytes[end] == b'+') {
        end += 1;
    }
    let start_digits = end;
    while end < bytes.len()
        && (bytes[end].is_ascii_digit() || bytes[end] == b'.' || bytes[end] == b',')
    {
        end += 1;
    }
    if end == start_digits {
        return None;
    }
    // A trailing separator belongs to the rest ("3,") — give it back.
    while end > start_digits && (bytes[end - 1] == b'.' || bytes[end - 1] == b',') {
        end -= 1;
    }
    let number = parse_decimal(&norm[..end])?;
    Some((number, &norm[end..]))
}

/// Rounds to 2 decimals, half away from zero.
pub(crate) fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// A date in Arabic numerals, as official documents write it: `2026年3月5日`.
pub(crate) fn chinese_date(date: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}年{}月{}日", date.year(), date.month(), date.day())
}

/// A stored time (`2026-11-25T10:00:00.000+08:00`) as notices write it: `2026年11月25日10时00分`;
/// the text itself when it is not such a time.
pub(crate) fn chinese_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.format("%Y年%-m月%-d日%H时%M分").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_labels() {
        assert_eq!(normalize(" 其中：财政拨款 "), "其中:财政拨款");
        assert_eq!(normalize("项目\u{3000}名称"), "项目名称");
        assert_eq!(normalize("（2026年度）"), "(2026年度)");
        assert_eq!(normalize("１２００．００"), "1200.00");
    }

    #[test]
    fn parses_numbers_as_written() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(parse_decimal("1,200.00"), Some(d("1200.00")));
        assert_eq!(
            parse_decimal(&normalize("１２００．００")),
            Some(d("1200.00"))
        );
        assert_eq!(parse_decimal("-3"), Some(d("-3")));
        assert_eq!(parse_decimal("12a"), None);
        assert_eq!(parse_decimal("1.2.3"), None);
        assert_eq!(parse_decimal(""), None);
        assert_eq!(decimal_from_f64(1132.6), Some(d("1132.6")));
        assert_eq!(decimal_from_f64(0.1 + 0.2), Some(d("0.3")));
        assert_eq!(decimal_from_f64(943.83 + 188.77), Some(d("1132.6")));
        assert_eq!(
            decimal_from_f64(22000026000101.0),
            Some(d("22000026000101"))
        );
        assert_eq!(split_number("3150人次"), Some((d("3150"), "人次")));
        assert_eq!(split_number("20,000户"), Some((d("20000"), "户")));
        assert_eq!(split_number("持续提升"), None);
    }
}
