//! Cell addresses in A1 notation, as the department sees them in its own file.

/// A zero-based (row, column) position on a sheet.
pub(crate) type Pos = (u32, u32);

/// `(0, 0)` → `A1`, `(7, 4)` → `E8`.
pub fn a1((row, col): Pos) -> String {
    let mut letters = Vec::new();
    let mut c = col + 1;
    while c > 0 {
        let rem = (c - 1) % 26;
        letters.push(b'A' + rem as u8);
        c = (c - 1) / 26;
    }
    letters.reverse();
    format!("{}{}", String::from_utf8_lossy(&letters), row + 1)
}

/// `E8` → `(7, 4)`. Accepts `$` signs; rejects anything else.
pub(crate) fn parse_a1(text: &str) -> Option<Pos> {
    let text = text.replace('$', "");
    let split = text.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = text.split_at(split);
    if letters.is_empty() || letters.len() > 3 || !letters.chars().all(|c| c.is_ascii_alphabetic())
    {
        return None;
    }
    let mut col: u32 = 0;
    for c in letters.chars() {
        col = col * 26 + (c.to_ascii_uppercase() as u32 - 'A' as u32 + 1);
    }
    let row: u32 = digits.parse().ok()?;
    if row == 0 || col > 16_384 || row > 1_048_576 {
        return None;
    }
    Some((row - 1, col - 1))
}

/// `B13:B21` (or a single cell) → its first and last position.
pub(crate) fn parse_range(text: &str) -> Option<(Pos, Pos)> {
    match text.split_once(':') {
        Some((a, b)) => {
            let (a, b) = (parse_a1(a)?, parse_a1(b)?);
            (a.0 <= b.0 && a.1 <= b.1).then_some((a, b))
        }
        None => parse_a1(text).map(|p| (p, p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for (pos, s) in [
            ((0, 0), "A1"),
            ((7, 4), "E8"),
            ((0, 25), "Z1"),
            ((9, 26), "AA10"),
        ] {
            assert_eq!(a1(pos), s);
            assert_eq!(parse_a1(s), Some(pos));
        }
        assert_eq!(parse_a1("$H$24"), Some((23, 7)));
        assert_eq!(parse_a1("8E"), None);
        assert_eq!(parse_range("B13:B21"), Some(((12, 1), (20, 1))));
        assert_eq!(parse_range("B21:B13"), None);
    }
}
