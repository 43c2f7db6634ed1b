//! The notation of 指标值 and 实际完成值: `≥3000人次`, `≤800元`, `=0起`, `96.2%`, a bare number,
//! or a qualitative text such as `持续提升`.

use rust_decimal::Decimal;

use crate::forms::definitions::Framework;
use crate::forms::read::Slot;
use crate::text::{decimal_from_f64, normalize, split_number};
use crate::workbook::Value;

/// How a quantitative target compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparator {
    AtLeast,
    AtMost,
    Equal,
}

impl Comparator {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Comparator::AtLeast => "≥",
            Comparator::AtMost => "≤",
            Comparator::Equal => "=",
        }
    }
}

/// A number with its unit (`%`, `人次`, or empty).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Quantity {
    pub(crate) value: Decimal,
    pub(crate) unit: String,
}

/// A 指标值 as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    Quantitative {
        comparator: Comparator,
        quantity: Quantity,
    },
    Qualitative(String),
}

impl Target {
    pub(crate) fn is_quantitative(&self) -> bool {
        matches!(self, Target::Quantitative { .. })
    }
}

/// A unit may not contain digits (else `2026年11月底前` would be a number).
fn valid_unit(unit: &str) -> bool {
    !unit.chars().any(|c| c.is_ascii_digit())
}

/// Reads a 指标值. `cost` says the indicator is under a cost 二级, where a bare number is a
/// ceiling (≤) rather than a floor (≥).
pub(crate) fn parse_target(slot: &Slot, cost: bool, fw: &Framework) -> Option<Target> {
    if slot.is_empty() {
        return None;
    }
    let bare = if cost {
        Comparator::AtMost
    } else {
        Comparator::AtLeast
    };
    if let Value::Number { v, percent } = slot.value {
        let value = decimal_from_f64(if percent { v * 100.0 } else { v })?;
        let unit = if percent { "%" } else { "" }.to_string();
        return Some(Target::Quantitative {
            comparator: bare,
            quantity: Quantity { value, unit },
        });
    }
    let norm = slot.norm();
    let prefixes = [
        (Comparator::AtLeast, &fw.comparators.at_least),
        (Comparator::AtMost, &fw.comparators.at_most),
        (Comparator::Equal, &fw.comparators.equal),
    ];
    let mut best: Option<(Comparator, usize)> = None;
    for (cmp, list) in prefixes {
        for p in list {
            let p = normalize(p);
            if !p.is_empty() && norm.starts_with(&p) && best.is_none_or(|(_, len)| p.len() > len) {
                best = Some((cmp, p.len()));
            }
        }
    }
    let (comparator, rest) = match best {
        Some((cmp, len)) => (cmp, &norm[len..]),
        None => (bare, norm.as_str()),
    };
    match split_number(rest) {
        Some((value, unit)) if valid_unit(unit) => Some(Target::Quantitative {
            comparator,
            quantity: Quantity {
                value,
                unit: unit.to_string(),
            },
        }),
        _ => Some(Target::Qualitative(slot.text().unwrap_or_default())),
    }
}

/// Reads an actual or forecast value: a plain number with an optional unit, no comparator.
/// Anything else is `None` (a qualitative statement).
pub(crate) fn parse_actual(slot: &Slot) -> Option<(Quantity, bool)> {
    if slot.is_empty() {
        return None;
    }
    if let Value::Number { v, percent } = slot.value {
        let value = decimal_from_f64(if percent { v * 100.0 } else { v })?;
        let unit = if percent { "%" } else { "" }.to_string();
        return Some((Quantity { value, unit }, percent));
    }
    let norm = slot.norm();
    let (value, unit) = split_number(&norm)?;
    valid_unit(unit).then(|| {
        (
            Quantity {
                value,
                unit: unit.to_string(),
            },
            false,
        )
    })
}

/// Whether an actual value can be compared with a target: the same unit, or no unit (a unitless
/// number against a `%` target counts only when the cell is shown as a percentage, which
/// [`parse_actual`] has already turned into the unit `%`).
pub(crate) fn comparable(target: &Quantity, actual: &Quantity) -> bool {
    actual.unit == target.unit || (actual.unit.is_empty() && target.unit != "%")
}

/// Whether `actual` falls short of the target.
pub(crate) fn falls_short(comparator: Comparator, target: Decimal, actual: Decimal) -> bool {
    match comparator {
        Comparator::AtLeast => actual < target,
        Comparator::AtMost => actual > target,
        Comparator::Equal => actual != target,
    }
}

/// The points earned by a quantitative indicator, unrounded. The weight is multiplied before
/// dividing, so that an exact half point (6 × 300 / 576 = 3.125) stays exact for the rounding.
pub(crate) fn points(
    comparator: Comparator,
    target: Decimal,
    actual: Decimal,
    weight: Decimal,
) -> Decimal {
    let zero = Decimal::ZERO;
    if !falls_short(comparator, target, actual) {
        return weight;
    }
    let earned = match comparator {
        Comparator::AtLeast => {
            if target <= zero {
                weight
            } else {
                share(weight, actual, target)
            }
        }
        Comparator::AtMost => {
            if actual <= zero {
                weight
            } else {
                share(weight, target, actual)
            }
        }
        Comparator::Equal => {
            let (lo, hi) = if actual < target {
                (actual, target)
            } else {
                (target, actual)
            };
            if hi <= zero {
                zero
            } else {
                share(weight, lo, hi)
            }
        }
    };
    earned.clamp(zero, weight.max(zero))
}

/// `weight × part / whole` for a part smaller than the whole. Where the product would overflow
/// (values of 10²⁴ and more), the fraction is taken first; no value makes it panic.
fn share(weight: Decimal, part: Decimal, whole: Decimal) -> Decimal {
    weight
        .checked_mul(part)
        .and_then(|p| p.checked_div(whole))
        .or_else(|| part.checked_div(whole).and_then(|f| f.checked_mul(weight)))
        .unwrap_or(Decimal::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::definitions::Definitions;
    use std::str::FromStr;

    fn text(s: &str) -> Slot {
        Slot::new(Some((0, 0)), Value::Text(s.to_string()))
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn notation() {
        let defs = Definitions::embedded();
        let fw = &defs.framework;
        let q = |s: &str, cost: bool| parse_target(&text(s), cost, fw).unwrap();
        assert_eq!(
            q("≥3000人次", false),
            Target::Quantitative {
                comparator: Comparator::AtLeast,
                quantity: Quantity {
                    value: d("3000"),
                    unit: "人次".into()
                }
            }
        );
        assert!(matches!(
            q("不超过1.2万元", false),
            Target::Quantitative {
                comparator: Comparator::AtMost,
                ..
            }
        ));
        assert!(matches!(
            q("＞＝90%", false),
            Target::Quantitative {
                comparator: Comparator::AtLeast,
                ..
            }
        ));
        assert!(matches!(
            q("=0起", false),
            Target::Quantitative {
                comparator: Comparator::Equal,
                ..
            }
        ));
        assert!(matches!(
            q("800", true),
            Target::Quantitative {
                comparator: Comparator::AtMost,
                ..
            }
        ));
        assert!(matches!(
            q("800", false),
            Target::Quantitative {
                comparator: Comparator::AtLeast,
                ..
            }
        ));
        assert!(matches!(q("2026年11月底前", false), Target::Qualitative(_)));
        assert!(matches!(q("持续提升", false), Target::Qualitative(_)));
        assert!(parse_target(&text("—"), false, fw).is_none());
    }

    #[test]
    fn scoring_shares() {
        assert_eq!(
            points(Comparator::AtLeast, d("50"), d("48"), d("10")),
            d("9.6")
        );
        assert_eq!(
            points(Comparator::AtLeast, d("3000"), d("3150"), d("10")),
            d("10")
        );
        assert_eq!(
            points(Comparator::AtMost, d("800"), d("1000"), d("10")),
            d("8")
        );
        assert_eq!(points(Comparator::Equal, d("0"), d("2"), d("10")), d("0"));
        assert_eq!(
            points(Comparator::Equal, d("100"), d("80"), d("10")),
            d("8")
        );
    }

    #[test]
    fn units() {
        let pct = Quantity {
            value: d("95"),
            unit: "%".into(),
        };
        let none = Quantity {
            value: d("96"),
            unit: "".into(),
        };
        let people = Quantity {
            value: d("3000"),
            unit: "人次".into(),
        };
        assert!(!comparable(&pct, &none));
        assert!(comparable(&people, &none));
        assert!(!comparable(
            &people,
            &Quantity {
                value: d("1"),
                unit: "人".into()
            }
        ));
    }
}
