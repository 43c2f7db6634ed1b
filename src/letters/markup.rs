//! The small markup the letter templates are written in, after minijinja has filled them in.
//!
//! ```text
//! ---
//! 标题: 关于基层农技推广项目绩效目标的审核意见
//! 主送: 吉林省农业农村厅
//! 抄送: 省审计厅
//! 落款: 吉林省财政厅
//! 附件: 农业农村厅-绩效目标申报表（错误标注）.xlsx
//! ---
//! 一段正文，相邻的行连成一段。
//!
//! # 一、审核结论          (heading: 黑体)
//! ## （一）绩效指标       (heading: 楷体)
//! ### 1. 数量指标         (heading: 仿宋)
//! 1. 编号段落，按出现顺序重新编号
//! - 不编号的段落
//! | 单元格 | 字段 | 问题 |  (a table; a `|---|` row marks the row above as its header)
//! 正文中 **加粗** 的文字
//! ```
//!
//! The block between the two `---` lines holds the letter's fields, one `键: 值` a line; a key may
//! repeat where a list is meant (`附件`, `抄送`). Plain notices use the same block for `主题`.
//!
//! Text from forms is data, never markup: every value a template prints goes through [`escape`]
//! (the templates' auto-escaping), which puts it on one line, drops the characters XML forbids
//! and puts a `\` before each character the markup gives a meaning (`\ * | # - .`); the parser
//! honours those escapes and removes them. A template writes a literal backslash as `\\`.

use std::collections::BTreeMap;

/// A piece of text in a paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Inline {
    Text(String),
    Bold(String),
}

/// One block of the letter body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Block {
    /// `#`, `##`, `###`: level 1, 2 or 3.
    Heading(u8, Vec<Inline>),
    Paragraph(Vec<Inline>),
    /// An item of a numbered list, with the number the parser gave it.
    Numbered(u32, Vec<Inline>),
    /// An item of a list without numbers.
    Item(Vec<Inline>),
    Table {
        header: Option<Vec<String>>,
        rows: Vec<Vec<String>>,
    },
}

/// A parsed document: the fields of the `---` block and the body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Document {
    /// Each key with its values in order of appearance.
    pub(crate) fields: BTreeMap<String, Vec<String>>,
    pub(crate) body: Vec<Block>,
}

impl Document {
    /// The first value of a field, trimmed; None when absent or empty.
    pub(crate) fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .get(key)
            .and_then(|v| v.first())
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// Every non-empty value of a field.
    pub(crate) fn list(&self, key: &str) -> Vec<String> {
        self.fields
            .get(key)
            .map(|v| {
                v.iter()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A line of markup that cannot be read; `line` counts from 1 in the rendered text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub(crate) struct MarkupError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

/// The characters the markup gives a meaning, escaped with a backslash in values.
const SPECIAL: &[char] = &['\\', '*', '|', '#', '-', '.'];

/// A value made safe to print into markup: one line (line breaks and tabs become spaces), no
/// character that XML forbids or that is invisible control, and every markup character escaped.
pub(crate) fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c if SPECIAL.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Removes the escapes of [`escape`]: `\x` is `x`.
pub(crate) fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Splits `text` at every `sep` that is not escaped.
fn split_unescaped(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Parses rendered markup. `keys` are the field names allowed in the `---` block.
pub(crate) fn parse(text: &str, keys: &[&str]) -> Result<Document, MarkupError> {
    let lines: Vec<&str> = text.lines().collect();
    let (fields, next) = front_matter(&lines, keys)?;
    Ok(Document {
        fields,
        body: body(&lines[next..], next)?,
    })
}

/// Parses a plain notice: the `---` block and the text after it, kept as it is (trimmed).
pub(crate) fn parse_plain(
    text: &str,
    keys: &[&str],
) -> Result<(BTreeMap<String, Vec<String>>, String), MarkupError> {
    let lines: Vec<&str> = text.lines().collect();
    let (fields, next) = front_matter(&lines, keys)?;
    Ok((fields, unescape(lines[next..].join("\n").trim())))
}

type Fields = BTreeMap<String, Vec<String>>;
/// A table being read: its header row, if any, and its other rows.
type TableRows = (Option<Vec<String>>, Vec<Vec<String>>);

/// Reads the `---` block at the top, if any; returns the fields and the index of the next line.
fn front_matter(lines: &[&str], keys: &[&str]) -> Result<(Fields, usize), MarkupError> {
    let mut fields = Fields::new();
    let mut i = 0;
    while i < lines.len() && lines[i].trim().is_empty() {
        i += 1;
    }
    if i >= lines.len() || lines[i].trim() != "---" {
        return Ok((fields, 0));
    }
    let open = i;
    i += 1;
    loop {
        let Some(line) = lines.get(i) else {
            return Err(MarkupError {
                line: open + 1,
                message: "the field block opened here is not closed by a line `---`".into(),
            });
        };
        let t = line.trim();
        if t == "---" {
            return Ok((fields, i + 1));
        }
        if !t.is_empty() {
            let (key, value) = t
                .split_once(':')
                .or_else(|| t.split_once('：'))
                .ok_or_else(|| MarkupError {
                    line: i + 1,
                    message: format!("expected `key: value` in the field block, found `{t}`"),
                })?;
            let key = key.trim();
            if !keys.contains(&key) {
                return Err(MarkupError {
                    line: i + 1,
                    message: format!("unknown field `{key}`; known: {}", keys.join(", ")),
                });
            }
            fields
                .entry(key.to_string())
                .or_default()
                .push(unescape(value.trim()));
        }
        i += 1;
    }
}

fn body(lines: &[&str], offset: usize) -> Result<Vec<Block>, MarkupError> {
    let mut out: Vec<Block> = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    let mut next_number = 1;
    let mut table: Option<TableRows> = None;
    let flush_para = |para: &mut Vec<&str>, out: &mut Vec<Block>| -> Result<(), MarkupError> {
        if !para.is_empty() {
            let joined: String = para.iter().map(|l| l.trim()).collect();
            out.push(Block::Paragraph(inlines(&joined)));
            para.clear();
        }
        Ok(())
    };
    for (n, raw) in lines.iter().enumerate() {
        let line_no = offset + n + 1;
        let t = raw.trim();
        if !t.starts_with('|')
            && let Some((header, rows)) = table.take()
        {
            out.push(Block::Table { header, rows });
        }
        if t.is_empty() {
            flush_para(&mut para, &mut out)?;
            continue;
        }
        if t.starts_with('|') {
            flush_para(&mut para, &mut out)?;
            let cells = table_cells(t);
            let (header, rows) = table.get_or_insert((None, Vec::new()));
            if cells
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
            {
                if header.is_some() || rows.len() != 1 {
                    return Err(MarkupError {
                        line: line_no,
                        message: "a `|---|` row must follow the first row of a table".into(),
                    });
                }
                *header = rows.pop();
            } else {
                rows.push(cells);
            }
            continue;
        }
        let heading = t
            .strip_prefix("### ")
            .map(|r| (3, r))
            .or_else(|| t.strip_prefix("## ").map(|r| (2, r)))
            .or_else(|| t.strip_prefix("# ").map(|r| (1, r)));
        if let Some((level, rest)) = heading {
            flush_para(&mut para, &mut out)?;
            out.push(Block::Heading(level, inlines(rest.trim())));
            next_number = 1;
            continue;
        }
        if let Some(rest) = t.strip_prefix("- ") {
            flush_para(&mut para, &mut out)?;
            out.push(Block::Item(inlines(rest.trim())));
            continue;
        }
        if let Some(rest) = numbered(t) {
            flush_para(&mut para, &mut out)?;
            if !matches!(out.last(), Some(Block::Numbered(..))) {
                next_number = 1;
            }
            out.push(Block::Numbered(next_number, inlines(rest.trim())));
            next_number += 1;
            continue;
        }
        if t.starts_with('#') {
            return Err(MarkupError {
                line: line_no,
                message: format!("a heading is `#`, `##` or `###` and a space: `{t}`"),
            });
        }
        para.push(t);
    }
    if let Some((header, rows)) = table.take() {
        out.push(Block::Table { header, rows });
    }
    flush_para(&mut para, &mut out)?;
    Ok(out)
}

/// `1. text` (any number) → `text`.
fn numbered(t: &str) -> Option<&str> {
    let digits = t.find(|c: char| !c.is_ascii_digit())?;
    if digits == 0 {
        return None;
    }
    t[digits..].strip_prefix(". ")
}

fn table_cells(t: &str) -> Vec<String> {
    let inner = t.strip_prefix('|').unwrap_or(t);
    let inner = match inner.strip_suffix('|') {
        Some(s) if !s.ends_with('\\') || s.ends_with("\\\\") => s,
        _ => inner,
    };
    split_unescaped(inner, '|')
        .into_iter()
        .map(|c| unescape(c.trim()))
        .collect()
}

/// Splits `**bold**` spans out of a line of text; escaped `\*` are plain stars.
fn inlines(text: &str) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut bold = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if !current.is_empty() {
                    let piece = std::mem::take(&mut current);
                    out.push(if bold {
                        Inline::Bold(piece)
                    } else {
                        Inline::Text(piece)
                    });
                }
                bold = !bold;
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        // An unclosed `**` is kept as written.
        out.push(if bold {
            Inline::Text(format!("**{current}"))
        } else {
            Inline::Text(current)
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[&str] = &["标题", "主送", "附件"];

    #[test]
    fn fields_headings_lists_tables_and_bold() {
        let text = "---\n标题: 关于X的意见\n附件: a.xlsx\n附件: b.xlsx\n---\n第一行\n第二行\n\n# 一、结论\n1. 甲\n7. 乙\n- 丙\n| 单元格 | 问题 |\n|---|---|\n| E8 | 不符 |\n\n结论：**通过**。\n";
        let doc = parse(text, KEYS).unwrap();
        assert_eq!(doc.field("标题"), Some("关于X的意见"));
        assert_eq!(doc.list("附件"), vec!["a.xlsx", "b.xlsx"]);
        assert_eq!(
            doc.body,
            vec![
                Block::Paragraph(vec![Inline::Text("第一行第二行".into())]),
                Block::Heading(1, vec![Inline::Text("一、结论".into())]),
                Block::Numbered(1, vec![Inline::Text("甲".into())]),
                Block::Numbered(2, vec![Inline::Text("乙".into())]),
                Block::Item(vec![Inline::Text("丙".into())]),
                Block::Table {
                    header: Some(vec!["单元格".into(), "问题".into()]),
                    rows: vec![vec!["E8".into(), "不符".into()]],
                },
                Block::Paragraph(vec![
                    Inline::Text("结论：".into()),
                    Inline::Bold("通过".into()),
                    Inline::Text("。".into()),
                ]),
            ]
        );
    }

    /// Regression: a line break in 项目名称 added fields to a letter's front matter, a `---` value
    /// ended it, `# ` made a heading and `**` made bold text in a letter the daemon issued.
    #[test]
    fn escaped_values_stay_text() {
        let evil = "项目\n标题: 假冒\n---\n# 标题\n| a | b |\n1. x\n- y **粗体** \\ a.b";
        let text = format!(
            "---\n标题: 关于{}的函\n---\n{}\n\n| 单元格 | 问题 |\n|---|---|\n| E8 | {} |\n",
            escape(evil),
            escape(evil),
            escape("x | y")
        );
        let doc = parse(&text, KEYS).unwrap();
        let flat = "项目 标题: 假冒 --- # 标题 | a | b | 1. x - y **粗体** \\ a.b";
        assert_eq!(doc.field("标题"), Some(format!("关于{flat}的函").as_str()));
        assert_eq!(
            doc.body[0],
            Block::Paragraph(vec![Inline::Text(flat.to_string())])
        );
        assert_eq!(
            doc.body[1],
            Block::Table {
                header: Some(vec!["单元格".into(), "问题".into()]),
                rows: vec![vec!["E8".into(), "x | y".into()]],
            }
        );
        assert_eq!(escape("a\u{1}b\u{b}c\u{FFFE}d\u{FFFF}"), "abcd");
        let (_, body) = parse_plain(&format!("正文{}", escape("**x**\n- y")), KEYS).unwrap();
        assert_eq!(body, "正文**x** - y");
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("---\n标题: x\n落款: y\n---\n", KEYS).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("unknown field `落款`"), "{e}");
        let e = parse("---\n标题: x\n", KEYS).unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse("---\n标题: x\n---\n\n#标题\n", KEYS).unwrap_err();
        assert_eq!(e.line, 5);
    }
}
