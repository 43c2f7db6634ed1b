//! Breaking a letter's title into lines (标题回行): GB/T 9704 asks that a title break only between
//! words (词意完整), with lines as even as possible in a trapezoid or diamond (排列对称、长短适宜),
//! never a line of one or two characters.
//!
//! Word boundaries come from the jieba segmenter with a small dictionary of the letters' own words
//! (审核意见, 绩效目标, 反馈函, …), so that those are never split; a punctuation mark stays with
//! the word it belongs to. A title too long for [`MAX_LINES`] lines is shortened with `…` in the
//! middle, where the project's name stands.

use std::sync::OnceLock;

use jieba_rs::Jieba;

/// Characters a title line holds at most: 2号 (22 pt) on the 156 mm (442 pt) text block fits 20;
/// two are left free so that a full line does not touch the margins.
pub const LINE_CHARS: usize = 18;
/// A title longer than this many lines is shortened.
pub const MAX_LINES: usize = 3;

/// The letters' own words, which the general dictionary would split (审核意见 → 审核/意见).
const LETTER_WORDS: &[&str] = &[
    "审核意见",
    "绩效目标",
    "绩效评价",
    "绩效监控",
    "绩效自评",
    "评价结果",
    "反馈函",
    "申报表",
    "监控表",
    "自评表",
    "监控意见",
    "运行监控",
    "退回修改",
    "修改后",
    "项目支出",
    "预算绩效",
    "的函",
    "的通知",
];

fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(|| {
        let mut j = Jieba::new();
        for w in LETTER_WORDS {
            j.add_word(w, Some(100_000), None);
        }
        j
    })
}

/// Marks that may not start a line: they stay with the word before.
fn closes(c: char) -> bool {
    "，。、；：？！）》」』”’〕】…·%".contains(c)
}

/// Marks that may not end a line: they stay with the word after.
fn opens(c: char) -> bool {
    "（《「『“‘〔【".contains(c)
}

/// Width in half characters: a CJK character counts 2, an ASCII one 1.
fn width(text: &str) -> usize {
    text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// The title's words in order: the pieces a line may break between. Joined, they give the title.
pub fn words(title: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut glue_next = false;
    for token in jieba().cut(title, false) {
        let w = token.word;
        let first = w.chars().next().unwrap_or(' ');
        let last = w.chars().last().unwrap_or(' ');
        let to_previous = glue_next || (closes(first) && w.chars().all(closes));
        match out.last_mut() {
            Some(prev) if to_previous || (w.is_ascii() && prev.is_ascii()) => prev.push_str(w),
            _ => out.push(w.to_string()),
        }
        glue_next = opens(last);
    }
    out
}

/// Shortens a title that would need more than [`MAX_LINES`] lines: its start and its end (the
/// kind of letter) stay, the middle (the project's name) gives way to `…`, cut between words.
pub fn shorten(title: &str) -> String {
    // A few characters short of full lines, so the lines can be even and break between words.
    let budget = (LINE_CHARS * MAX_LINES - 4) * 2;
    if width(title) <= budget {
        return title.to_string();
    }
    let w = words(title);
    // The end: the last words up to about one line.
    let mut tail = Vec::new();
    let mut tail_width = 0;
    for word in w.iter().rev() {
        if tail_width + width(word) > LINE_CHARS * 2 && !tail.is_empty() {
            break;
        }
        tail_width += width(word);
        tail.push(word.as_str());
    }
    tail.reverse();
    let room = budget.saturating_sub(tail_width + 2);
    let mut head = String::new();
    for word in &w {
        if width(&head) + width(word) > room {
            // A word too long to fit whole (a long code, a name without breaks) is cut by
            // characters rather than dropped.
            if head.is_empty() {
                for c in word.chars() {
                    if width(&head) + width(&c.to_string()) > room {
                        break;
                    }
                    head.push(c);
                }
            }
            break;
        }
        head.push_str(word);
    }
    format!("{head}…{}", tail.concat())
}

/// The title's lines: breaks only between [`words`], each line at most [`LINE_CHARS`] characters,
/// the lines as even as possible and shaped as a trapezoid or a diamond, no line of one or two
/// characters. A title that fits on one line stays one line.
pub fn lines(title: &str) -> Vec<String> {
    let title = shorten(title);
    let max = LINE_CHARS * 2;
    if width(&title) <= max {
        return vec![title];
    }
    // A word longer than a line (a code without breaks) is split into pieces of a line.
    let mut ws: Vec<String> = Vec::new();
    for w in words(&title) {
        if width(&w) <= max {
            ws.push(w);
            continue;
        }
        let mut piece = String::new();
        for c in w.chars() {
            if width(&piece) + width(&c.to_string()) > max {
                ws.push(std::mem::take(&mut piece));
            }
            piece.push(c);
        }
        ws.push(piece);
    }
    let widths: Vec<usize> = ws.iter().map(|w| width(w)).collect();
    let total: usize = widths.iter().sum();
    let fewest = total.div_ceil(max);
    let mut best: Option<(Cost, Vec<usize>)> = None;
    for n in fewest..=(fewest + 2).min(ws.len()) {
        let mut cuts = Vec::new();
        search(&ws, &widths, n, 0, &mut cuts, &mut best);
        if best.is_some() {
            break;
        }
    }
    let cuts = match best {
        Some((_, cuts)) => cuts,
        // No arrangement keeps the rules (a title of a few very long words): fill each line.
        None => greedy(&widths, max),
    };
    let mut out = Vec::new();
    let mut from = 0;
    for to in cuts.into_iter().chain(std::iter::once(ws.len())) {
        out.push(ws[from..to].concat());
        from = to;
    }
    out
}

/// How good an arrangement is, smaller first: the shape rule broken (0 or 1), the breaks next
/// to a joining word (`与`, `和`, `及`: `改革与/建设` reads worse than `改革与建设/`), the
/// difference between the longest and the shortest line, and the sum of squared widths.
type Cost = (usize, usize, usize, usize);

/// Words that join what follows to what comes before: a line had better not end on one.
const JOINING: &[&str] = &["与", "和", "及", "暨", "并", "或", "的", "之"];

fn cost(line_widths: &[usize], weak: usize) -> Cost {
    let longest = line_widths.iter().copied().max().unwrap_or(0);
    let shortest = line_widths.iter().copied().min().unwrap_or(0);
    // A trapezoid or a diamond: the widths rise, then fall (either part may be empty).
    let peak = line_widths
        .iter()
        .position(|w| *w == longest)
        .unwrap_or_default();
    let rises = line_widths[..=peak].windows(2).all(|p| p[0] <= p[1]);
    let falls = line_widths[peak..].windows(2).all(|p| p[0] >= p[1]);
    let shape = usize::from(!(rises && falls));
    (
        shape,
        weak,
        longest - shortest,
        line_widths.iter().map(|w| w * w).sum(),
    )
}

/// Tries every way of cutting `widths[start..]` into the lines still to make, keeping the best.
fn search(
    words: &[String],
    widths: &[usize],
    lines: usize,
    start: usize,
    cuts: &mut Vec<usize>,
    best: &mut Option<(Cost, Vec<usize>)>,
) {
    let max = LINE_CHARS * 2;
    let min = 6; // three characters
    if lines == 1 {
        let last: usize = widths[start..].iter().sum();
        if last > max || last < min {
            return;
        }
        let mut bounds = vec![0];
        bounds.extend(cuts.iter().copied());
        bounds.push(widths.len());
        let line_widths: Vec<usize> = bounds
            .windows(2)
            .map(|b| widths[b[0]..b[1]].iter().sum())
            .collect();
        let weak = cuts
            .iter()
            .filter(|c| {
                JOINING.contains(&words[**c - 1].as_str()) || JOINING.contains(&words[**c].as_str())
            })
            .count();
        let c = cost(&line_widths, weak);
        if best.as_ref().is_none_or(|(b, _)| c < *b) {
            *best = Some((c, cuts.clone()));
        }
        return;
    }
    let mut line = 0;
    for end in start + 1..widths.len() {
        line += widths[end - 1];
        if line > max {
            break;
        }
        if line < min {
            continue;
        }
        cuts.push(end);
        search(words, widths, lines - 1, end, cuts, best);
        cuts.pop();
    }
}

/// Fills each line as far as it goes: the fallback when no even arrangement exists.
fn greedy(widths: &[usize], max: usize) -> Vec<usize> {
    let mut cuts = Vec::new();
    let mut line = 0;
    for (i, w) in widths.iter().enumerate() {
        if line + w > max && line > 0 {
            cuts.push(i);
            line = 0;
        }
        line += w;
    }
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> usize {
        s.chars().count()
    }

    #[test]
    fn the_letters_words_are_never_split() {
        let w = words("关于基层农技推广项目绩效目标审核意见的函");
        assert!(w.contains(&"审核意见".to_string()), "{w:?}");
        assert!(w.contains(&"绩效目标".to_string()), "{w:?}");
        let w = words("关于基层农技推广项目绩效评价结果反馈函");
        assert!(w.contains(&"反馈函".to_string()), "{w:?}");
        assert_eq!(w.concat(), "关于基层农技推广项目绩效评价结果反馈函");
    }

    #[test]
    fn a_long_title_breaks_between_words_in_even_lines() {
        let title = "关于2026年度吉林省基层农技推广体系改革与建设补助项目绩效目标审核意见的函";
        let ls = lines(title);
        assert_eq!(ls.concat(), title);
        assert!(ls.len() >= 2, "{ls:?}");
        let ws = words(title);
        let mut at = 0;
        let mut bounds = vec![0];
        for w in &ws {
            at += w.len();
            bounds.push(at);
        }
        let mut pos = 0;
        for l in &ls {
            assert!(
                bounds.contains(&pos),
                "{ls:?} breaks inside a word ({ws:?})"
            );
            assert!(chars(l) <= LINE_CHARS && chars(l) >= 3, "{ls:?}");
            pos += l.len();
        }
        let longest = ls.iter().map(|l| chars(l)).max().unwrap();
        let shortest = ls.iter().map(|l| chars(l)).min().unwrap();
        assert!(longest - shortest <= 6, "{ls:?}");
    }

    #[test]
    fn a_line_does_not_end_on_a_joining_word() {
        let ls = lines("关于退回基层农技推广体系改革与建设补助项目绩效目标申报表的通知");
        assert!(
            ls.iter()
                .all(|l| !l.ends_with('与') && !l.starts_with('与')),
            "{ls:?}"
        );
    }

    #[test]
    fn a_short_title_stays_on_one_line() {
        assert_eq!(
            lines("关于退回绩效目标申报表修改的函"),
            vec!["关于退回绩效目标申报表修改的函".to_string()]
        );
    }

    #[test]
    fn no_line_of_one_or_two_characters() {
        // 19 characters: a greedy fill would leave `的函` alone on the second line.
        let title = "关于农村饮水安全工程项目绩效监控意见的函";
        let ls = lines(title);
        assert!(ls.iter().all(|l| chars(l) >= 3), "{ls:?}");
        assert!(
            !ls.iter()
                .any(|l| l.ends_with("审核") || l.starts_with("意见")),
            "{ls:?}"
        );
    }

    #[test]
    fn a_very_long_name_is_shortened_with_an_ellipsis() {
        let name = "农".repeat(40) + "基层农技推广体系改革与建设补助项目".repeat(3).as_str();
        let title = format!("关于{name}绩效目标审核意见的函");
        let ls = lines(&title);
        assert!(ls.len() <= MAX_LINES, "{ls:?}");
        let joined = ls.concat();
        assert!(joined.starts_with("关于") && joined.ends_with("绩效目标审核意见的函"));
        assert!(joined.contains('…'), "{joined}");
    }
}
