//! The letter as a Word document in the official letter format (信函格式, GB/T 9704-2012),
//! built with docx-rs and put into the schema's element order by [`super::schema_order`].
//!
//! Page 1 carries the letterhead in its own header (the issuing office in red, its top edge 30 mm
//! from the page top, and the red thick-over-thin double line 4 mm below it, 170 mm wide) and
//! the thin-over-thick red line in its own footer, 20 mm above the bottom edge, with no page
//! number. Later pages carry `— N —` in 4号 宋体, odd pages right and even pages left.

use std::io::{Cursor, Write};

use docx_rs::{
    AlignmentType, BorderType, Docx, FieldCharType, Footer, Header, InstrPAGE, InstrText,
    LineSpacing, LineSpacingType, PageMargin, Paragraph, ParagraphBorder, ParagraphBorderPosition,
    ParagraphBorders, Run, RunFonts, SpecialIndentType, Table, TableCell, TableRow, WidthType,
};
use zip::write::SimpleFileOptions;

use super::markup::{Block, Inline};
use super::schema_order;

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
/// Two characters of 3号: the first-line indent of the body.
const TWO_CHARS: i32 = 640;

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
    Run::new()
        .add_text(text)
        .fonts(fonts(font, LATIN))
        .size(size)
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
    // Column widths follow the widest text of each column (at most 30 half-width characters),
    // never narrower than the column's header, scaled to the text block.
    let mut want = vec![4usize; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            want[i] = want[i].max(width(c).min(30));
        }
    }
    if let Some(h) = header {
        for (i, c) in h.iter().enumerate() {
            // A header may wrap onto two lines.
            want[i] = want[i].max(width(c).div_ceil(2) + 2);
        }
    }
    // Each column first gets room for up to 5 half-width characters of 小四 (120 twips each,
    // plus the cell margins); what is left of the text block goes to the wider columns in
    // proportion to how much wider they are.
    let base: Vec<usize> = want.iter().map(|w| (*w).min(5) * 120 + 240).collect();
    let base_sum: usize = base.iter().sum();
    let grid: Vec<usize> = if base_sum >= TEXT_WIDTH {
        base.iter().map(|b| b * TEXT_WIDTH / base_sum).collect()
    } else {
        let extra: usize = want.iter().map(|w| w.saturating_sub(5)).sum();
        let rest = TEXT_WIDTH - base_sum;
        let mut grid: Vec<usize> = want
            .iter()
            .zip(&base)
            .map(|(w, b)| b + (w.saturating_sub(5) * rest).checked_div(extra).unwrap_or(0))
            .collect();
        if extra == 0 {
            let n = grid.len();
            grid.iter_mut().for_each(|g| *g += rest / n);
        }
        grid
    };
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
            } else {
                AlignmentType::Left
            })
            .add_run(run(text, font, SIZE_SMALL_4));
        TableCell::new()
            .width(w, WidthType::Dxa)
            .vertical_align(docx_rs::VAlignType::Center)
            .add_paragraph(p)
    };
    let make_row = |r: &[String], head: bool| {
        TableRow::new(
            (0..cols)
                .map(|i| cell(r.get(i).map(String::as_str).unwrap_or(""), grid[i], head))
                .collect(),
        )
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

/// The body blocks as paragraphs and tables of the official format.
fn add_body(mut docx: Docx, blocks: &[Block]) -> Docx {
    for b in blocks {
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
    // Title: 2号 小标宋, centred, a long title on two lines by itself.
    docx = docx.add_paragraph(
        Paragraph::new()
            .align(AlignmentType::Center)
            .line_spacing(exact(700))
            .add_run(run(&letter.title, XIAOBIAOSONG, SIZE_2)),
    );
    docx = docx.add_paragraph(blank_line());
    // 主送机关, flush left, with a full-width colon.
    docx = docx.add_paragraph(body_paragraph().align(AlignmentType::Left).add_run(run(
        &format!("{}：", letter.addressee),
        FANGSONG,
        SIZE_3,
    )));
    docx = add_body(docx, &letter.body);

    if !letter.attachments.is_empty() {
        docx = docx.add_paragraph(blank_line());
        for (i, a) in letter.attachments.iter().enumerate() {
            let text = if i == 0 {
                format!("附件：{}.{a}", i + 1)
            } else {
                format!("{}.{a}", i + 1)
            };
            // Later attachments line up under the first one's number.
            let indent = if i == 0 { TWO_CHARS } else { TWO_CHARS * 2 };
            docx = docx.add_paragraph(
                body_paragraph()
                    .align(AlignmentType::Left)
                    .indent(Some(indent), None, None, None)
                    .add_run(run(&text, FANGSONG, SIZE_3)),
            );
        }
    }

    docx = docx.add_paragraph(blank_line()).add_paragraph(blank_line());
    // 署名右空二字, 成文日期右空四字.
    docx = docx.add_paragraph(
        body_paragraph()
            .align(AlignmentType::Right)
            .indent(None, None, Some(TWO_CHARS), None)
            .keep_next(true)
            .add_run(run(&letter.signature, FANGSONG, SIZE_3)),
    );
    docx = docx.add_paragraph(
        body_paragraph()
            .align(AlignmentType::Right)
            .indent(None, None, Some(TWO_CHARS * 2), None)
            .add_run(run(&letter.date, FANGSONG, SIZE_3)),
    );

    if !letter.cc.is_empty() {
        // 版记: 抄送 in 4号 仿宋 between two black separator lines.
        docx = docx.add_paragraph(blank_line());
        let line = |pos| {
            ParagraphBorder::new(pos)
                .val(BorderType::Single)
                .size(8)
                .space(4)
                .color("000000")
        };
        let p = Paragraph::new()
            .line_spacing(exact(LINE))
            .indent(Some(280), None, Some(280), None)
            .keep_lines(true)
            .add_run(run(
                &format!("抄送：{}。", letter.cc.join("，")),
                FANGSONG,
                SIZE_4,
            ));
        docx = docx.add_paragraph(with_borders(
            p,
            vec![
                line(ParagraphBorderPosition::Top),
                line(ParagraphBorderPosition::Bottom),
            ],
        ));
    }
    docx
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
        ("word/document.xml".into(), ordered(&xml.document)?),
        ("word/styles.xml".into(), ordered(&xml.styles)?),
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
