//! The letter as a Word document in the official letter format (信函格式, GB/T 9704-2012),
//! built with docx-rs and put into the schema's element order by [`super::schema_order`].
//!
//! Page 1 carries the letterhead in its own header (the issuing office in red, its top edge 30 mm
//! from the page top, and the red thick-over-thin double line 4 mm below it, 170 mm wide) and
//! the thin-over-thick red line in its own footer, 20 mm above the bottom edge, with no page
//! number. Later pages carry `— N —` in 4号 宋体, odd pages right and even pages left.

use std::io::{Cursor, Write};

use docx_rs::{
    AlignmentType, BorderType, BreakType, DocGrid, DocGridType, Docx, FieldCharType, Footer,
    FrameProperty, Header, InstrPAGE, InstrText, LineSpacing, LineSpacingType, PageMargin,
    Paragraph, ParagraphBorder, ParagraphBorderPosition, ParagraphBorders, Run, RunFonts,
    SpecialIndentType, Table, TableCell, TableRow, WidthType,
};
use zip::write::SimpleFileOptions;

use super::markup::{Block, Inline};
use super::{schema_order, title};

/// A4 in twips (1/20 pt): 210 × 297 mm.
pub(crate) const PAGE_W: u32 = 11906;
pub(crate) const PAGE_H: u32 = 16838;
/// GB/T 9704 margins in twips: top 37 mm, left 28 mm, right 26 mm, bottom 35 mm, which leave a
/// 156 × 225 mm text block.
pub(crate) const MARGIN_TOP: i32 = 2098;
pub(crate) const MARGIN_LEFT: i32 = 1587;
pub(crate) const MARGIN_RIGHT: i32 = 1474;
pub(crate) const MARGIN_BOTTOM: i32 = 1984;
/// The letterhead's top edge, 30 mm from the page top.
pub(crate) const HEADER_DISTANCE: i32 = 1701;
/// The bottom red line, 20 mm above the bottom edge of page 1.
pub(crate) const FOOTER_DISTANCE: i32 = 1134;
/// The red lines are 170 mm wide, 7 mm wider than the text block on each side.
const LINE_OVERHANG: i32 = -397;
const TEXT_WIDTH: usize = 8845;

/// The red of the letterhead.
pub(crate) const RED: &str = "FF0000";

pub(crate) const FANGSONG: &str = "仿宋_GB2312";
pub(crate) const XIAOBIAOSONG: &str = "方正小标宋简体";
pub(crate) const HEITI: &str = "黑体";
pub(crate) const KAITI: &str = "楷体_GB2312";
pub(crate) const SONGTI: &str = "宋体";
const LATIN: &str = "Times New Roman";

/// Sizes in half-points: 2号 22 pt, 3号 16 pt, 4号 14 pt, 小四 12 pt.
const SIZE_2: usize = 44;
const SIZE_3: usize = 32;
const SIZE_4: usize = 28;
const SIZE_SMALL_4: usize = 24;
const SIZE_LETTERHEAD: usize = 52;
/// 22 lines in a 225 mm text block: 28.95 pt a line.
const LINE: i32 = 579;
/// 28 characters a line: 3号 (16 pt) characters 0.25 pt closer (`w:spacing w:val="-5"`) are
/// 15.75 pt apart, 28 of them 441 pt in the 442 pt line. The document grid holds the 22 lines
/// (`w:type="lines"`); a character grid (`linesAndChars` with a negative `w:charSpace`) would
/// do the same in Word, but LibreOffice gives every character a cell and a half of such a grid,
/// 19 characters a line.
const CHAR_SPACING: i32 = -5;
/// One character of 3号 body text in twips, as spaced.
const CHAR: i32 = 320 + CHAR_SPACING;
/// A title line: 2号 with a little air.
const TITLE_LINE: i32 = 700;
/// Two characters of 3号: the first-line indent of the body.
const TWO_CHARS: i32 = 2 * CHAR;

/// Everything the official letter shows, in the order it shows it.
#[derive(Debug, Clone, Default)]
pub(crate) struct LetterDoc {
    /// 发文机关标志: the issuing office, in red at the top of page 1.
    pub(crate) office: String,
    /// 发文字号, e.g. `吉财绩函〔2026〕12号`, or the preview text with the number blank.
    pub(crate) number: String,
    pub(crate) title: String,
    /// 主送机关, without the colon.
    pub(crate) addressee: String,
    pub(crate) body: Vec<Block>,
    /// 附件说明: the attachments' names.
    pub(crate) attachments: Vec<String>,
    /// 发文机关署名.
    pub(crate) signature: String,
    /// 成文日期, `2026年11月25日`.
    pub(crate) date: String,
    /// 抄送机关.
    pub(crate) cc: Vec<String>,
    /// docProps/core.xml timestamps, from the date of the letter (never the clock).
    pub(crate) created_at: String,
}

/// The document could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DocxError {
    #[error("writing the docx package: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("writing the docx package: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Order(#[from] schema_order::OrderError),
}

fn fonts(east_asia: &str, latin: &str) -> RunFonts {
    RunFonts::new()
        .ascii(latin)
        .hi_ansi(latin)
        .east_asia(east_asia)
        .cs(latin)
        .hint("eastAsia")
}

fn run(text: &str, font: &str, size: usize) -> Run {
    let r = Run::new()
        .add_text(text)
        .fonts(fonts(font, LATIN))
        .size(size);
    if size == SIZE_3 {
        r.character_spacing(CHAR_SPACING)
    } else {
        r
    }
}

fn exact(line: i32) -> LineSpacing {
    LineSpacing::new()
        .line(line)
        .line_rule(LineSpacingType::Exact)
}

fn body_paragraph() -> Paragraph {
    Paragraph::new()
        .line_spacing(exact(LINE))
        .align(AlignmentType::Both)
}

/// A body paragraph whose first line is indented by two characters (正文首行缩进两字).
fn indented_paragraph() -> Paragraph {
    body_paragraph().indent(
        None,
        Some(SpecialIndentType::FirstLine(TWO_CHARS)),
        None,
        None,
    )
}

/// Sets exactly the given borders (docx-rs' default set would draw all four sides).
fn with_borders(mut p: Paragraph, borders: Vec<ParagraphBorder>) -> Paragraph {
    let set = borders
        .into_iter()
        .fold(ParagraphBorders::with_empty(), |set, b| set.set(b));
    p.property = p.property.set_borders(set);
    p
}

fn red_line(position: ParagraphBorderPosition, kind: BorderType, space: usize) -> ParagraphBorder {
    ParagraphBorder::new(position)
        .val(kind)
        .size(24)
        .space(space)
        .color(RED)
}

fn inline_runs(mut p: Paragraph, inlines: &[Inline], font: &str, size: usize) -> Paragraph {
    for i in inlines {
        p = match i {
            Inline::Text(t) => p.add_run(run(t, font, size)),
            Inline::Bold(t) => p.add_run(run(t, font, size).bold()),
        };
    }
    p
}

fn blank_line() -> Paragraph {
    body_paragraph().add_run(run("", FANGSONG, SIZE_3))
}

/// The first-page header: the office name in red and the thick-over-thin red line 4 mm below.
fn letterhead(office: &str) -> Header {
    let name = Paragraph::new()
        .align(AlignmentType::Center)
        .indent(Some(LINE_OVERHANG), None, Some(LINE_OVERHANG), None)
        .add_run(
            run(office, XIAOBIAOSONG, SIZE_LETTERHEAD)
                .color(RED)
                .character_spacing(60),
        );
    // 4 mm ≈ 11 pt between the name and the line.
    let name = with_borders(
        name,
        vec![red_line(
            ParagraphBorderPosition::Bottom,
            BorderType::ThickThinSmallGap,
            11,
        )],
    );
    Header::new().add_paragraph(name)
}

/// The first-page footer: the thin-over-thick red line 20 mm above the bottom edge, no number.
fn bottom_line() -> Footer {
    let p = Paragraph::new()
        .line_spacing(exact(20))
        .indent(Some(LINE_OVERHANG), None, Some(LINE_OVERHANG), None)
        .add_run(run("", SONGTI, 2));
    Footer::new().add_paragraph(with_borders(
        p,
        vec![red_line(
            ParagraphBorderPosition::Top,
            BorderType::ThinThickSmallGap,
            0,
        )],
    ))
}

/// `— N —` in 4号 半角宋体, one character in from the outer edge.
fn page_number(odd: bool) -> Footer {
    let r = |text: &str| {
        Run::new()
            .add_text(text)
            .fonts(fonts(SONGTI, SONGTI))
            .size(SIZE_4)
    };
    let field = Run::new()
        .fonts(fonts(SONGTI, SONGTI))
        .size(SIZE_4)
        .add_field_char(FieldCharType::Begin, false)
        .add_instr_text(InstrText::PAGE(InstrPAGE::new()))
        .add_field_char(FieldCharType::Separate, false)
        .add_text("2")
        .add_field_char(FieldCharType::End, false);
    let one_char = 280;
    let p = if odd {
        Paragraph::new()
            .align(AlignmentType::Right)
            .indent(None, None, Some(one_char), None)
    } else {
        Paragraph::new()
            .align(AlignmentType::Left)
            .indent(Some(one_char), None, None, None)
    };
    Footer::new().add_paragraph(p.add_run(r("— ")).add_run(field).add_run(r(" —")))
}

/// Display width in half-width units: CJK characters count 2.
fn width(text: &str) -> usize {
    text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

fn table(header: Option<&Vec<String>>, rows: &[Vec<String>]) -> Table {
    let cols = header
        .map(|h| h.len())
        .into_iter()
        .chain(rows.iter().map(|r| r.len()))
        .max()
        .unwrap_or(1)
        .max(1);
    // Column widths from the text: each column at least as wide as its widest number (numbers
    // never wrap), its header on at most two lines and two characters of other text; what the
    // text block has beyond that goes to the columns with the longest text, in proportion.
    const UNIT: usize = 120; // half a character of 小四
    const MARGINS: usize = 240; // the cell's left and right margins
    let mut least = vec![2usize; cols];
    let mut natural = vec![2usize; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            let w = width(c);
            least[i] = least[i].max(if is_number(c) { w } else { w.min(4) });
            natural[i] = natural[i].max(w.min(40));
        }
    }
    if let Some(h) = header {
        for (i, c) in h.iter().enumerate() {
            let w = width(c);
            least[i] = least[i].max(if w <= 8 { w } else { w.div_ceil(2) });
            natural[i] = natural[i].max(w);
        }
    }
    let least: Vec<usize> = least.iter().map(|w| w * UNIT + MARGINS).collect();
    let natural: Vec<usize> = natural
        .iter()
        .zip(&least)
        .map(|(w, l)| (w * UNIT + MARGINS).max(*l))
        .collect();
    let (least_sum, natural_sum) = (least.iter().sum::<usize>(), natural.iter().sum::<usize>());
    let mut grid: Vec<usize> = if natural_sum <= TEXT_WIDTH {
        natural
            .iter()
            .map(|n| n * TEXT_WIDTH / natural_sum)
            .collect()
    } else if least_sum <= TEXT_WIDTH {
        let room = TEXT_WIDTH - least_sum;
        let more = natural_sum - least_sum;
        least
            .iter()
            .zip(&natural)
            .map(|(l, n)| l + (n - l) * room / more.max(1))
            .collect()
    } else {
        least.iter().map(|l| l * TEXT_WIDTH / least_sum).collect()
    };
    let used: usize = grid.iter().sum();
    if let Some(widest) = grid.iter_mut().max() {
        *widest += TEXT_WIDTH.saturating_sub(used);
    }
    let cell = |text: &str, w: usize, head: bool| {
        let font = if head { HEITI } else { FANGSONG };
        let p = Paragraph::new()
            .line_spacing(
                LineSpacing::new()
                    .line(300)
                    .line_rule(LineSpacingType::Auto),
            )
            .align(if head {
                AlignmentType::Center
            } else if is_number(text) {
                AlignmentType::Right
            } else {
                AlignmentType::Left
            })
            .add_run(run(text, font, SIZE_SMALL_4));
        TableCell::new()
            .width(w, WidthType::Dxa)
            .vertical_align(docx_rs::VAlignType::Center)
            .add_paragraph(p)
    };
    // Rows never split across pages; the header row repeats on each page (marked here, written
    // as `w:tblHeader` by `mark_header_rows`).
    let make_row = |r: &[String], head: bool| {
        let row = TableRow::new(
            (0..cols)
                .map(|i| cell(r.get(i).map(String::as_str).unwrap_or(""), grid[i], head))
                .collect(),
        )
        .cant_split();
        if head {
            row.row_height(HEADER_MARK)
                .height_rule(docx_rs::HeightRule::AtLeast)
        } else {
            row
        }
    };
    let mut all = Vec::new();
    if let Some(h) = header {
        all.push(make_row(h, true));
    }
    all.extend(rows.iter().map(|r| make_row(r, false)));
    Table::new(all)
        .set_grid(grid.clone())
        .width(TEXT_WIDTH, WidthType::Dxa)
        .layout(docx_rs::TableLayoutType::Fixed)
}

/// A cell holding a number (an amount, a score, a percentage): right-aligned.
fn is_number(text: &str) -> bool {
    let t = text.trim().trim_end_matches('%');
    !t.is_empty()
        && t.chars().any(|c| c.is_ascii_digit())
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-' | '+'))
}

/// docx-rs cannot write `w:tblHeader`: header rows carry this row height (in twips), which
/// [`mark_header_rows`] turns into the header mark.
const HEADER_MARK: f32 = 1.0;

/// The body blocks as paragraphs and tables of the official format.
///
/// The last two paragraphs keep with what follows, so the signature and date always have body
/// text on their page.
fn add_body(mut docx: Docx, blocks: &[Block]) -> Docx {
    let tail = blocks.len().saturating_sub(2);
    for (i, b) in blocks.iter().enumerate() {
        let indented_paragraph = || indented_paragraph().keep_next(i >= tail);
        match b {
            Block::Heading(level, inl) => {
                let font = match level {
                    1 => HEITI,
                    2 => KAITI,
                    _ => FANGSONG,
                };
                let p = indented_paragraph().keep_next(true);
                docx = docx.add_paragraph(inline_runs(p, inl, font, SIZE_3));
            }
            Block::Paragraph(inl) | Block::Item(inl) => {
                let p = indented_paragraph();
                docx = docx.add_paragraph(inline_runs(p, inl, FANGSONG, SIZE_3));
            }
            Block::Numbered(n, inl) => {
                let p = indented_paragraph().add_run(run(&format!("{n}."), FANGSONG, SIZE_3));
                docx = docx.add_paragraph(inline_runs(p, inl, FANGSONG, SIZE_3));
            }
            Block::Table { header, rows } => {
                docx = docx.add_table(table(header.as_ref(), rows));
            }
        }
    }
    docx
}

/// Builds the docx-rs document of a letter.
pub(crate) fn build(letter: &LetterDoc) -> Docx {
    let mut docx = Docx::new()
        .page_size(PAGE_W, PAGE_H)
        .page_margin(
            PageMargin::new()
                .top(MARGIN_TOP)
                .bottom(MARGIN_BOTTOM)
                .left(MARGIN_LEFT)
                .right(MARGIN_RIGHT)
                .header(HEADER_DISTANCE)
                .footer(FOOTER_DISTANCE)
                .gutter(0),
        )
        .default_fonts(fonts(FANGSONG, LATIN))
        .default_size(SIZE_3)
        .first_header(letterhead(&letter.office))
        .first_footer(bottom_line())
        .footer(page_number(true))
        .even_footer(page_number(false))
        .created_at(&letter.created_at)
        .updated_at(&letter.created_at);

    // 发文字号, right-aligned just under the red line.
    docx = docx.add_paragraph(body_paragraph().align(AlignmentType::Right).add_run(run(
        &letter.number,
        FANGSONG,
        SIZE_3,
    )));
    docx = docx.add_paragraph(blank_line());
    // Title: 2号 小标宋, centred, broken between words into even lines (see `title`).
    let mut heading = Run::new().fonts(fonts(XIAOBIAOSONG, LATIN)).size(SIZE_2);
    for (i, line) in title::lines(&letter.title).iter().enumerate() {
        if i > 0 {
            heading = heading.add_break(BreakType::TextWrapping);
        }
        heading = heading.add_text(line);
    }
    docx = docx.add_paragraph(
        Paragraph::new()
            .align(AlignmentType::Center)
            .line_spacing(exact(TITLE_LINE))
            .add_run(heading),
    );
    docx = docx.add_paragraph(blank_line());
    // 主送机关, flush left, with a full-width colon.
    docx = docx.add_paragraph(body_paragraph().align(AlignmentType::Left).add_run(run(
        &format!("{}：", letter.addressee),
        FANGSONG,
        SIZE_3,
    )));
    docx = add_body(docx, &letter.body);

    let closing = closing(letter);
    docx = closing.into_iter().fold(docx, Docx::add_paragraph);
    docx.document = docx.document.doc_grid(
        DocGrid::new()
            .grid_type(DocGridType::Lines)
            .line_pitch(LINE as usize),
    );
    docx
}

/// Width of a text in 3号 in twips, as spaced: a CJK character is one em (320), an ASCII one
/// half, each [`CHAR_SPACING`] closer, and a fifth of an em between Chinese and Latin text
/// (`w:autoSpaceDE`, `w:autoSpaceDN`: `2026年` has a thin space before 年).
fn width_3(text: &str) -> i32 {
    let chars: i32 = text
        .chars()
        .map(|c| if c.is_ascii() { 160 } else { 320 } + CHAR_SPACING)
        .sum();
    let changes = text
        .chars()
        .zip(text.chars().skip(1))
        .filter(|(a, b)| a.is_ascii() != b.is_ascii())
        .count() as i32;
    chars + changes * 64
}

/// An attachment's name as the 附件说明 prints it: no trailing punctuation.
fn attachment_name(name: &str) -> &str {
    name.trim()
        .trim_end_matches(|c: char| "。，；：、.,;:".contains(c))
}

/// What follows the body: the 附件说明, the 署名 centred over the 成文日期, and the 版记.
///
/// The last paragraphs are kept together with the body's last lines (keep-with-next), so the
/// signature and date never stand on a page without body text. The 版记 frame ([`copy_line`])
/// stands in the text just before the 署名, so it is anchored there and sits at the bottom of the
/// page where 署名 and date stand.
fn closing(letter: &LetterDoc) -> Vec<Paragraph> {
    let mut out = Vec::new();
    let kept = |p: Paragraph| p.keep_next(true).keep_lines(true);
    let names: Vec<&str> = letter
        .attachments
        .iter()
        .map(|a| attachment_name(a))
        .filter(|a| !a.is_empty())
        .collect();
    if !names.is_empty() {
        out.push(kept(blank_line()));
        // `附件：` is three characters: later items and wrapped lines line up after it.
        let label = TWO_CHARS / 2 * 3;
        for (i, a) in names.iter().enumerate() {
            let text = match (i, names.len()) {
                (0, 1) => format!("附件：{a}"),
                (0, _) => format!("附件：{}.{a}", i + 1),
                _ => format!("{}.{a}", i + 1),
            };
            let p = body_paragraph().align(AlignmentType::Left);
            let p = if i == 0 {
                p.indent(
                    Some(TWO_CHARS + label),
                    Some(SpecialIndentType::Hanging(label)),
                    None,
                    None,
                )
            } else {
                p.indent(Some(TWO_CHARS + label), None, None, None)
            };
            out.push(kept(p.add_run(run(&text, FANGSONG, SIZE_3))));
        }
    }
    out.push(kept(blank_line()));
    out.push(kept(blank_line()));
    // 成文日期右空四字; 署名 centred over it (以成文日期为准居中). A signature longer than the
    // date stands 右空二字 and the date is centred under it instead. Both are centred in the
    // same span, a character wider than the longer of them on each side, so their centres
    // agree whatever the fonts' widths.
    let sig_w = width_3(&letter.signature);
    let date_w = width_3(&letter.date);
    let (right_space, longer) = if sig_w <= date_w {
        (CHAR * 4, date_w)
    } else {
        (CHAR * 2, sig_w)
    };
    let right = right_space - CHAR;
    let left = TEXT_WIDTH as i32 - right_space - longer - CHAR;
    let closing_line = |r: Run| {
        // Off the document grid: where the page is full, these two lines may close up.
        Paragraph::new()
            .line_spacing(exact(LINE))
            .snap_to_grid(false)
            .align(AlignmentType::Center)
            .indent(Some(left), None, Some(right), None)
            .add_run(r)
    };
    if !letter.cc.is_empty() {
        out.push(copy_line(&letter.cc));
    }
    out.push(kept(closing_line(run(&letter.signature, FANGSONG, SIZE_3))));
    if letter.cc.is_empty() {
        out.push(closing_line(run(&letter.date, FANGSONG, SIZE_3)).keep_lines(true));
        return out;
    }
    // With a 版记, the date's paragraph holds an empty line below the date, so the date never
    // takes the bottom line where the 版记 stands: where the page has no line to spare, the
    // paragraph moves to the next page with 署名 and the body's last lines (keep-with-next).
    let date = run(&letter.date, FANGSONG, SIZE_3).add_break(BreakType::TextWrapping);
    out.push(kept(closing_line(date)));
    out
}

/// 版记: `抄送：…。` in 4号 仿宋, one character in on both sides, in a frame at the very bottom
/// of the text block, without separator lines. `w:wrap="none"`: with `around` or `through`,
/// LibreOffice moves a full page's 署名 and its frame to a new page without the body's last lines.
fn copy_line(cc: &[String]) -> Paragraph {
    let mut frame = FrameProperty::new();
    frame.w = Some(TEXT_WIDTH as u32);
    frame.h_anchor = Some("margin".into());
    frame.v_anchor = Some("margin".into());
    frame.x_align = Some("center".into());
    frame.y_align = Some("bottom".into());
    frame.wrap = Some("none".into());
    let mut p = Paragraph::new()
        .line_spacing(exact(LINE))
        .indent(
            Some(280 + 840),
            Some(SpecialIndentType::Hanging(840)),
            Some(280),
            None,
        )
        .keep_lines(true)
        .add_run(run(&format!("抄送：{}。", cc.join("，")), FANGSONG, SIZE_4));
    p.property = p.property.frame_property(frame);
    p.keep_next(true).keep_lines(true)
}

const THEME_REL: &str = r#"<Relationship Id="rIdJixiaoTheme1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/theme" Target="theme/theme1.xml" />"#;
const THEME_TYPE: &str = r#"<Override PartName="/word/theme/theme1.xml" ContentType="application/vnd.openxmlformats-officedocument.theme+xml" />"#;

/// A minimal Office theme: Word expects the document to have one.
const THEME: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<a:theme xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" name="jixiao"><a:themeElements><a:clrScheme name="jixiao"><a:dk1><a:sysClr val="windowText" lastClr="000000"/></a:dk1><a:lt1><a:sysClr val="window" lastClr="FFFFFF"/></a:lt1><a:dk2><a:srgbClr val="1F497D"/></a:dk2><a:lt2><a:srgbClr val="EEECE1"/></a:lt2><a:accent1><a:srgbClr val="4F81BD"/></a:accent1><a:accent2><a:srgbClr val="C0504D"/></a:accent2><a:accent3><a:srgbClr val="9BBB59"/></a:accent3><a:accent4><a:srgbClr val="8064A2"/></a:accent4><a:accent5><a:srgbClr val="4BACC6"/></a:accent5><a:accent6><a:srgbClr val="F79646"/></a:accent6><a:hlink><a:srgbClr val="0000FF"/></a:hlink><a:folHlink><a:srgbClr val="800080"/></a:folHlink></a:clrScheme><a:fontScheme name="jixiao"><a:majorFont><a:latin typeface="Times New Roman"/><a:ea typeface="黑体"/><a:cs typeface=""/></a:majorFont><a:minorFont><a:latin typeface="Times New Roman"/><a:ea typeface="仿宋_GB2312"/><a:cs typeface=""/></a:minorFont></a:fontScheme><a:fmtScheme name="jixiao"><a:fillStyleLst><a:solidFill><a:schemeClr val="phClr"/></a:solidFill><a:solidFill><a:schemeClr val="phClr"/></a:solidFill><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:fillStyleLst><a:lnStyleLst><a:ln w="9525"><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:ln><a:ln w="25400"><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:ln><a:ln w="38100"><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:ln></a:lnStyleLst><a:effectStyleLst><a:effectStyle><a:effectLst/></a:effectStyle><a:effectStyle><a:effectLst/></a:effectStyle><a:effectStyle><a:effectLst/></a:effectStyle></a:effectStyleLst><a:bgFillStyleLst><a:solidFill><a:schemeClr val="phClr"/></a:solidFill><a:solidFill><a:schemeClr val="phClr"/></a:solidFill><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:bgFillStyleLst></a:fmtScheme></a:themeElements><a:objectDefaults/><a:extraClrSchemeLst/></a:theme>"#;

/// The fonts the letter names, each with a fallback name for viewers that lack it.
const FONT_TABLE: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:fonts xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:font w:name="仿宋_GB2312"><w:altName w:val="仿宋"/><w:charset w:val="86"/><w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font><w:font w:name="方正小标宋简体"><w:altName w:val="宋体"/><w:charset w:val="86"/><w:family w:val="script"/><w:pitch w:val="variable"/></w:font><w:font w:name="黑体"><w:altName w:val="SimHei"/><w:charset w:val="86"/><w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font><w:font w:name="楷体_GB2312"><w:altName w:val="楷体"/><w:charset w:val="86"/><w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font><w:font w:name="宋体"><w:altName w:val="SimSun"/><w:charset w:val="86"/><w:family w:val="auto"/><w:pitch w:val="variable"/></w:font><w:font w:name="Times New Roman"><w:charset w:val="00"/><w:family w:val="roman"/><w:pitch w:val="variable"/></w:font></w:fonts>"#;

fn insert_before(xml: &[u8], closing: &str, what: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(xml);
    match text.rfind(closing) {
        Some(at) => {
            let mut out = String::with_capacity(text.len() + what.len());
            out.push_str(&text[..at]);
            out.push_str(what);
            out.push_str(&text[at..]);
            out.into_bytes()
        }
        None => xml.to_vec(),
    }
}

/// Turns the row height that marks a table's header row into `w:tblHeader`.
fn mark_header_rows(xml: &[u8]) -> Vec<u8> {
    let mark = format!(r#"<w:trHeight w:val="{HEADER_MARK}" w:hRule="atLeast" />"#);
    String::from_utf8_lossy(xml)
        .replace(&mark, "<w:tblHeader />")
        .into_bytes()
}

/// Names the language of every run: Chinese (zh-CN) in the East Asian slot, so Word and WPS
/// apply Chinese line breaking and punctuation.
fn with_lang(xml: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(xml)
        .replace(
            "<w:rPr>",
            r#"<w:rPr><w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA" />"#,
        )
        .into_bytes()
}

/// Writes the letter as a .docx: docx-rs renders the parts, every WordprocessingML part is put
/// into schema order, the font table names fallbacks, and a theme part is added.
pub(crate) fn write(letter: &LetterDoc) -> Result<Vec<u8>, DocxError> {
    let xml = build(letter).build();
    let ordered = |part: &[u8]| schema_order::normalize(part);
    let mut parts: Vec<(String, Vec<u8>)> = vec![
        (
            "[Content_Types].xml".into(),
            insert_before(&xml.content_type, "</Types>", THEME_TYPE),
        ),
        ("_rels/.rels".into(), xml.rels),
        ("docProps/app.xml".into(), xml.doc_props.app),
        ("docProps/core.xml".into(), xml.doc_props.core),
        ("docProps/custom.xml".into(), xml.doc_props.custom),
        (
            "word/_rels/document.xml.rels".into(),
            insert_before(&xml.document_rels, "</Relationships>", THEME_REL),
        ),
        (
            "word/document.xml".into(),
            ordered(&with_lang(&mark_header_rows(&xml.document)))?,
        ),
        ("word/styles.xml".into(), ordered(&with_lang(&xml.styles))?),
        ("word/settings.xml".into(), ordered(&xml.settings)?),
        ("word/fontTable.xml".into(), FONT_TABLE.as_bytes().to_vec()),
        ("word/comments.xml".into(), ordered(&xml.comments)?),
        ("word/numbering.xml".into(), ordered(&xml.numberings)?),
        (
            "word/commentsExtended.xml".into(),
            ordered(&xml.comments_extended)?,
        ),
        ("word/footnotes.xml".into(), ordered(&xml.footnotes)?),
        ("word/theme/theme1.xml".into(), THEME.as_bytes().to_vec()),
    ];
    for (i, h) in xml.headers.iter().enumerate() {
        parts.push((format!("word/header{}.xml", i + 1), ordered(h)?));
        if let Some(r) = xml.header_rels.get(i) {
            parts.push((format!("word/_rels/header{}.xml.rels", i + 1), r.clone()));
        }
    }
    for (i, f) in xml.footers.iter().enumerate() {
        parts.push((format!("word/footer{}.xml", i + 1), ordered(f)?));
        if let Some(r) = xml.footer_rels.get(i) {
            parts.push((format!("word/_rels/footer{}.xml.rels", i + 1), r.clone()));
        }
    }
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::with_capacity(32 * 1024)));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    for (name, bytes) in parts {
        zip.start_file(name, options)?;
        zip.write_all(&bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter() -> LetterDoc {
        LetterDoc {
            office: "吉林省财政厅".into(),
            number: "吉财绩函〔2026〕12号".into(),
            title: "关于基层农技推广体系改革与建设补助项目绩效目标审核意见的函".into(),
            addressee: "吉林省农业农村厅".into(),
            body: vec![
                Block::Paragraph(vec![Inline::Text("正文。".into())]),
                Block::Table {
                    header: Some(vec!["项目".into(), "得分".into(), "等级".into()]),
                    rows: vec![
                        vec!["部门自评".into(), "96.45".into(), "优".into()],
                        vec!["财政核定".into(), "88.5".into(), "良".into()],
                    ],
                },
                Block::Paragraph(vec![Inline::Text("特此函告。".into())]),
            ],
            attachments: vec!["审核意见表。".into()],
            signature: "吉林省财政厅".into(),
            date: "2026年11月25日".into(),
            cc: vec!["省审计厅".into()],
            created_at: "2026-11-25T00:00:00Z".into(),
        }
    }

    fn document(letter: &LetterDoc) -> String {
        let bytes = write(letter).unwrap();
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("word/document.xml").unwrap(), &mut xml)
            .unwrap();
        xml
    }

    fn styles(letter: &LetterDoc) -> String {
        let bytes = write(letter).unwrap();
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("word/styles.xml").unwrap(), &mut xml)
            .unwrap();
        xml
    }

    /// The `w:p` element holding `text`.
    fn paragraph_of<'a>(xml: &'a str, text: &str) -> &'a str {
        let at = xml
            .find(text)
            .unwrap_or_else(|| panic!("{text} in the document"));
        let start = xml[..at]
            .rfind("<w:p>")
            .max(xml[..at].rfind("<w:p "))
            .unwrap();
        let end = at + xml[at..].find("</w:p>").unwrap();
        &xml[start..end]
    }

    #[test]
    fn the_title_breaks_between_words_with_explicit_breaks() {
        let xml = document(&letter());
        let p = paragraph_of(&xml, "关于基层");
        assert!(p.contains("<w:br"), "{p}");
        assert!(!p.contains("审核意</w:t>"), "{p}");
        let lines = title::lines(&letter().title);
        assert!(lines.len() > 1);
        for l in &lines {
            assert!(p.contains(&format!(">{l}</w:t>")), "{l} in {p}");
        }
    }

    #[test]
    fn a_grid_of_22_lines_and_chinese_language() {
        let xml = document(&letter());
        assert!(
            xml.contains(r#"<w:docGrid w:type="lines" w:linePitch="579""#),
            "{xml}"
        );
        assert!(xml.contains(r#"w:eastAsia="zh-CN""#));
        // 28 characters a line: 3号 closed up by a quarter point.
        assert!(xml.contains(r#"<w:spacing w:val="-5" />"#));
        assert!(styles(&letter()).contains(r#"w:eastAsia="zh-CN""#));
    }

    #[test]
    fn table_header_repeats_rows_do_not_split_numbers_right() {
        let xml = document(&letter());
        assert_eq!(xml.matches("<w:tblHeader />").count(), 1, "{xml}");
        assert_eq!(xml.matches("<w:cantSplit />").count(), 3);
        assert!(!xml.contains("<w:trHeight"));
        let p = paragraph_of(&xml, ">96.45<");
        assert!(p.contains(r#"<w:jc w:val="right" />"#), "{p}");
        let p = paragraph_of(&xml, ">部门自评<");
        assert!(p.contains(r#"<w:jc w:val="left" />"#), "{p}");
    }

    #[test]
    fn score_table_columns_follow_their_content() {
        let xml = document(&letter());
        let cols: Vec<usize> = xml
            .split("<w:gridCol w:w=\"")
            .skip(1)
            .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
            .collect();
        assert_eq!(cols.len(), 3);
        assert_eq!(cols.iter().sum::<usize>(), TEXT_WIDTH);
        // Was 128/15/13 mm: now no column is twice as wide as another.
        let (min, max) = (cols.iter().min().unwrap(), cols.iter().max().unwrap());
        assert!(max < &(min * 2), "{cols:?}");
    }

    #[test]
    fn numbers_in_a_wide_table_have_room_not_to_wrap() {
        let head = [
            "指标",
            "指标值",
            "实际完成值",
            "分值",
            "自评得分",
            "核定得分",
            "扣分",
            "部门说明",
        ];
        let row = [
            "建设农业科技示范基地数量",
            "≥50个",
            "95.98%",
            "10",
            "9.25",
            "9.25",
            "0.75",
            "2个基地因选址调整顺延至次年建设；已完成选址，明年一季度开工。",
        ];
        let mut l = letter();
        l.body = vec![Block::Table {
            header: Some(head.iter().map(|s| s.to_string()).collect()),
            rows: vec![row.iter().map(|s| s.to_string()).collect()],
        }];
        let xml = document(&l);
        let cols: Vec<usize> = xml
            .split("<w:gridCol w:w=\"")
            .skip(1)
            .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
            .collect();
        assert_eq!(cols.iter().sum::<usize>(), TEXT_WIDTH);
        // 小四: 120 twips a half-width character, 240 for the cell margins.
        for (i, text) in row.iter().enumerate().skip(2).take(5) {
            assert!(cols[i] >= text.len() * 120 + 240, "{text}: {cols:?}");
        }
    }

    #[test]
    fn one_attachment_has_no_number_several_are_numbered() {
        let xml = document(&letter());
        assert!(xml.contains(">附件：审核意见表</w:t>"), "{xml}");
        let mut two = letter();
        two.attachments = vec!["甲表".into(), "乙表；".into()];
        let xml = document(&two);
        assert!(xml.contains(">附件：1.甲表</w:t>"));
        assert!(xml.contains(">2.乙表</w:t>"));
        // The second number stands under the first: 2 + 3 characters in.
        let p = paragraph_of(&xml, ">2.乙表<");
        assert!(
            p.contains(&format!(r#"w:left="{}""#, TWO_CHARS + 3 * CHAR)),
            "{p}"
        );
    }

    #[test]
    fn signature_is_centred_over_the_date_and_kept_with_the_body() {
        let xml = document(&letter());
        let sig = paragraph_of(&xml, ">吉林省财政厅</w:t></w:r></w:p>");
        let date = paragraph_of(&xml, ">2026年11月25日<");
        for p in [sig, date] {
            assert!(p.contains(r#"<w:jc w:val="center" />"#), "{p}");
            assert!(p.contains("<w:keepNext />"), "{p}");
        }
        let indent = |p: &str| {
            p[p.find("<w:ind").unwrap()..]
                .split("/>")
                .next()
                .unwrap()
                .to_string()
        };
        assert_eq!(indent(sig), indent(date));
        let last_body = paragraph_of(&xml, ">特此函告。<");
        assert!(last_body.contains("<w:keepNext />"), "{last_body}");
    }

    #[test]
    fn the_copy_line_sits_in_a_bottom_frame_without_lines() {
        let xml = document(&letter());
        let p = paragraph_of(&xml, ">抄送：省审计厅。<");
        assert!(p.contains("<w:framePr"), "{p}");
        assert!(p.contains(r#"w:yAlign="bottom""#) && p.contains(r#"w:vAnchor="margin""#));
        assert!(!p.contains("<w:pBdr"), "{p}");
        assert!(p.contains(r#"<w:sz w:val="28" />"#));
    }
}
