//! Puts the XML that docx-rs writes into the element order of the WordprocessingML schema
//! (ECMA-376 Part 1, transitional).
//!
//! docx-rs 0.4.22 writes the children of `w:rPr`, `w:pPr`, `w:sectPr`, `w:settings` and others
//! in its own order (`w:sz` before `w:rFonts`, `w:jc` before `w:spacing`, `w:zoom` after
//! `w:defaultTabStop`, an empty `w:rPr` first in every `w:pPr`). The schema defines these as
//! sequences; Word silently drops properties found out of sequence, colour and fonts among them.
//! [`normalize`] parses a part, stably sorts the children of every property container by their
//! rank in the schema's sequence, drops empty `w:rPr` inside `w:pPr`, and writes it back. Elements
//! the tables do not know keep their relative order after the known ones.

use quick_xml::events::{BytesEnd, BytesStart, Event};
use quick_xml::{Reader, Writer};

/// CT_RPr / CT_ParaRPr (EG_RPrBase, with the revision marks around it).
const RPR: &[&str] = &[
    "ins",
    "del",
    "moveFrom",
    "moveTo",
    "rStyle",
    "rFonts",
    "b",
    "bCs",
    "i",
    "iCs",
    "caps",
    "smallCaps",
    "strike",
    "dstrike",
    "outline",
    "shadow",
    "emboss",
    "imprint",
    "noProof",
    "snapToGrid",
    "vanish",
    "webHidden",
    "color",
    "spacing",
    "w",
    "kern",
    "position",
    "sz",
    "szCs",
    "highlight",
    "u",
    "effect",
    "bdr",
    "shd",
    "fitText",
    "vertAlign",
    "rtl",
    "cs",
    "em",
    "lang",
    "eastAsianLayout",
    "specVanish",
    "oMath",
    "rPrChange",
];

/// CT_PPr (CT_PPrBase, then rPr, sectPr, pPrChange).
const PPR: &[&str] = &[
    "pStyle",
    "keepNext",
    "keepLines",
    "pageBreakBefore",
    "framePr",
    "widowControl",
    "numPr",
    "suppressLineNumbers",
    "pBdr",
    "shd",
    "tabs",
    "suppressAutoHyphens",
    "kinsoku",
    "wordWrap",
    "overflowPunct",
    "topLinePunct",
    "autoSpaceDE",
    "autoSpaceDN",
    "bidi",
    "adjustRightInd",
    "snapToGrid",
    "spacing",
    "ind",
    "contextualSpacing",
    "mirrorIndents",
    "suppressOverlap",
    "jc",
    "textDirection",
    "textAlignment",
    "textboxTightWrap",
    "outlineLvl",
    "divId",
    "cnfStyle",
    "rPr",
    "sectPr",
    "pPrChange",
];

/// CT_SectPr; header and footer references form one choice group, so they share a rank.
const SECTPR: &[&str] = &[
    "headerReference|footerReference",
    "footnotePr",
    "endnotePr",
    "type",
    "pgSz",
    "pgMar",
    "paperSrc",
    "pgBorders",
    "lnNumType",
    "pgNumType",
    "cols",
    "formProt",
    "vAlign",
    "noEndnote",
    "titlePg",
    "textDirection",
    "bidi",
    "rtlGutter",
    "docGrid",
    "printerSettings",
    "sectPrChange",
];

const TBLPR: &[&str] = &[
    "tblStyle",
    "tblpPr",
    "tblOverlap",
    "bidiVisual",
    "tblStyleRowBandSize",
    "tblStyleColBandSize",
    "tblW",
    "jc",
    "tblCellSpacing",
    "tblInd",
    "tblBorders",
    "shd",
    "tblLayout",
    "tblCellMar",
    "tblLook",
    "tblCaption",
    "tblDescription",
    "tblPrChange",
];

/// CT_TrPr: one unbounded choice group, then the revision marks.
const TRPR: &[&str] = &[
    "cnfStyle|divId|gridBefore|gridAfter|wBefore|wAfter|cantSplit|trHeight|tblHeader|tblCellSpacing|jc|hidden",
    "ins",
    "del",
    "trPrChange",
];

const TCPR: &[&str] = &[
    "cnfStyle",
    "tcW",
    "gridSpan",
    "hMerge",
    "vMerge",
    "tcBorders",
    "shd",
    "noWrap",
    "tcMar",
    "textDirection",
    "tcFitText",
    "vAlign",
    "hideMark",
    "headers",
    "cellIns",
    "cellDel",
    "cellMerge",
    "tcPrChange",
];

/// pBdr, tblBorders, tcBorders, tblCellMar and tcMar share one relative order.
const BORDERS: &[&str] = &[
    "top",
    "start|left",
    "bottom",
    "end|right",
    "insideH",
    "insideV",
    "tl2br",
    "tr2bl",
    "between",
    "bar",
];

const STYLE: &[&str] = &[
    "name",
    "aliases",
    "basedOn",
    "next",
    "link",
    "autoRedefine",
    "hidden",
    "uiPriority",
    "semiHidden",
    "unhideWhenUsed",
    "qFormat",
    "locked",
    "personal",
    "personalCompose",
    "personalReply",
    "rsid",
    "pPr",
    "rPr",
    "tblPr",
    "trPr",
    "tcPr",
    "tblStylePr",
];

const STYLES: &[&str] = &["docDefaults", "latentStyles", "style"];
const DOC_DEFAULTS: &[&str] = &["rPrDefault", "pPrDefault"];
const LVL: &[&str] = &[
    "start",
    "numFmt",
    "lvlRestart",
    "pStyle",
    "isLgl",
    "suff",
    "lvlText",
    "lvlPicBulletId",
    "legacy",
    "lvlJc",
    "pPr",
    "rPr",
];
const ABSTRACT_NUM: &[&str] = &[
    "nsid",
    "multiLevelType",
    "tmpl",
    "name",
    "styleLink",
    "numStyleLink",
    "lvl",
];
const NUMBERING: &[&str] = &["numPicBullet", "abstractNum", "num", "numIdMacAtCleanup"];
const TBL: &[&str] = &["tblPr", "tblGrid"];
const TR: &[&str] = &["tblPrEx", "trPr"];
const TC: &[&str] = &["tcPr"];
const P: &[&str] = &["pPr"];
const R: &[&str] = &["rPr"];

/// CT_Settings.
const SETTINGS: &[&str] = &[
    "writeProtection",
    "view",
    "zoom",
    "removePersonalInformation",
    "removeDateAndTime",
    "doNotDisplayPageBoundaries",
    "displayBackgroundShape",
    "printPostScriptOverText",
    "printFractionalCharacterWidth",
    "printFormsData",
    "embedTrueTypeFonts",
    "embedSystemFonts",
    "saveSubsetFonts",
    "saveFormsData",
    "mirrorMargins",
    "alignBordersAndEdges",
    "bordersDoNotSurroundHeader",
    "bordersDoNotSurroundFooter",
    "gutterAtTop",
    "hideSpellingErrors",
    "hideGrammaticalErrors",
    "activeWritingStyle",
    "proofState",
    "formsDesign",
    "attachedTemplate",
    "linkStyles",
    "stylePaneFormatFilter",
    "stylePaneSortMethod",
    "documentType",
    "mailMerge",
    "revisionView",
    "trackRevisions",
    "doNotTrackMoves",
    "doNotTrackFormatting",
    "documentProtection",
    "autoFormatOverride",
    "styleLockTheme",
    "styleLockQFSet",
    "defaultTabStop",
    "autoHyphenation",
    "consecutiveHyphenLimit",
    "hyphenationZone",
    "doNotHyphenateCaps",
    "showEnvelope",
    "summaryLength",
    "clickAndTypeStyle",
    "defaultTableStyle",
    "evenAndOddHeaders",
    "bookFoldRevPrinting",
    "bookFoldPrinting",
    "bookFoldPrintingSheets",
    "drawingGridHorizontalSpacing",
    "drawingGridVerticalSpacing",
    "displayHorizontalDrawingGridEvery",
    "displayVerticalDrawingGridEvery",
    "doNotUseMarginsForDrawingGridOrigin",
    "drawingGridHorizontalOrigin",
    "drawingGridVerticalOrigin",
    "doNotShadeFormData",
    "noPunctuationKerning",
    "characterSpacingControl",
    "printTwoOnOne",
    "strictFirstAndLastChars",
    "noLineBreaksAfter",
    "noLineBreaksBefore",
    "savePreviewPicture",
    "doNotValidateAgainstSchema",
    "saveInvalidXml",
    "ignoreMixedContent",
    "alwaysShowPlaceholderText",
    "doNotDemarcateInvalidXml",
    "saveXmlDataOnly",
    "useXSLTWhenSaving",
    "saveThroughXslt",
    "showXMLTags",
    "alwaysMergeEmptyNamespace",
    "updateFields",
    "hdrShapeDefaults",
    "footnotePr",
    "endnotePr",
    "compat",
    "docVars",
    "rsids",
    "mathPr",
    "attachedSchema",
    "themeFontLang",
    "clrSchemeMapping",
    "doNotIncludeSubdocsInStats",
    "doNotAutoCompressPictures",
    "forceUpgrade",
    "captions",
    "readModeInkLockDown",
    "smartTagType",
    "schemaLibrary",
    "shapeDefaults",
    "doNotEmbedSmartTags",
    "decimalSymbol",
    "listSeparator",
];

/// The schema sequence of a `w:` container element, by its local name.
fn sequence(local: &str) -> Option<&'static [&'static str]> {
    Some(match local {
        "rPr" => RPR,
        "pPr" => PPR,
        "sectPr" => SECTPR,
        "tblPr" => TBLPR,
        "trPr" => TRPR,
        "tcPr" => TCPR,
        "pBdr" | "tblBorders" | "tcBorders" | "tblCellMar" | "tcMar" => BORDERS,
        "style" => STYLE,
        "styles" => STYLES,
        "docDefaults" => DOC_DEFAULTS,
        "lvl" => LVL,
        "abstractNum" => ABSTRACT_NUM,
        "numbering" => NUMBERING,
        "settings" => SETTINGS,
        "tbl" => TBL,
        "tr" => TR,
        "tc" => TC,
        "p" => P,
        "r" => R,
        _ => return None,
    })
}

fn rank(seq: &[&str], local: &str) -> usize {
    seq.iter()
        .position(|entry| entry.split('|').any(|n| n == local))
        .unwrap_or(seq.len())
}

/// The local name of a `w:` element, None for other namespaces.
fn w_local(name: &str) -> Option<&str> {
    name.strip_prefix("w:")
}

enum Node<'a> {
    Element {
        start: BytesStart<'a>,
        children: Vec<Node<'a>>,
    },
    Other(Event<'a>),
}

impl Node<'_> {
    fn local(&self) -> Option<&str> {
        match self {
            Node::Element { start, .. } => w_local(start.name().into_inner()),
            Node::Other(_) => None,
        }
    }
}

/// A part that could not be read back as XML.
#[derive(Debug, thiserror::Error)]
#[error("XML part is not well-formed: {0}")]
pub struct OrderError(String);

/// Orders one XML part by the schema; parts that are not WordprocessingML pass through unchanged.
pub(crate) fn normalize(xml: &[u8]) -> Result<Vec<u8>, OrderError> {
    let mut reader = Reader::from_reader(xml);
    let mut stack: Vec<(BytesStart, Vec<Node>)> = Vec::new();
    let mut top: Vec<Node> = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| OrderError(e.to_string()))?;
        match event {
            Event::Eof => break,
            Event::Start(s) => stack.push((s, Vec::new())),
            Event::End(_) => {
                let (start, children) = stack
                    .pop()
                    .ok_or_else(|| OrderError("unbalanced end tag".into()))?;
                let node = finish(start, children);
                match stack.last_mut() {
                    Some((_, siblings)) => siblings.push(node),
                    None => top.push(node),
                }
            }
            Event::Empty(s) => {
                let node = finish(s, Vec::new());
                match stack.last_mut() {
                    Some((_, siblings)) => siblings.push(node),
                    None => top.push(node),
                }
            }
            other => match stack.last_mut() {
                Some((_, siblings)) => siblings.push(Node::Other(other)),
                None => top.push(Node::Other(other)),
            },
        }
    }
    if !stack.is_empty() {
        return Err(OrderError("unclosed element".into()));
    }
    let mut writer = Writer::new(Vec::with_capacity(xml.len()));
    for node in top {
        write(&mut writer, node)?;
    }
    Ok(writer.into_inner())
}

/// Sorts the children of a container element, drops an empty `w:rPr` from a `w:pPr`, and drops
/// the `w:type` attribute docx-rs writes on `w:gridCol` (CT_TblGridCol has only `w:w`).
fn finish<'a>(mut start: BytesStart<'a>, mut children: Vec<Node<'a>>) -> Node<'a> {
    if start.name().into_inner() == "w:gridCol" {
        let mut clean = BytesStart::new("w:gridCol");
        for a in start.attributes().flatten() {
            if a.key.into_inner() != "w:type" {
                clean.push_attribute(a);
            }
        }
        start = clean;
    }
    if let Some(seq) = w_local(start.name().into_inner()).and_then(sequence) {
        let local = w_local(start.name().into_inner()).unwrap_or_default();
        if local == "pPr" {
            children.retain(|c| {
                !matches!(c, Node::Element { start, children }
                    if start.name().into_inner() == "w:rPr" && children.is_empty()
                        && start.attributes().next().is_none())
            });
        }
        if children.iter().all(|c| matches!(c, Node::Element { .. })) {
            children.sort_by_key(|c| rank(seq, c.local().unwrap_or_default()));
        }
    }
    Node::Element { start, children }
}

fn write(writer: &mut Writer<Vec<u8>>, node: Node) -> Result<(), OrderError> {
    let err = |e: std::io::Error| OrderError(e.to_string());
    match node {
        Node::Other(event) => writer.write_event(event).map_err(err),
        Node::Element { start, children } => {
            if children.is_empty() {
                return writer.write_event(Event::Empty(start)).map_err(err);
            }
            let end = BytesEnd::new(start.name().into_inner().to_string());
            writer.write_event(Event::Start(start)).map_err(err)?;
            for child in children {
                write(writer, child)?;
            }
            writer.write_event(Event::End(end)).map_err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_properties_follow_the_schema_sequence() {
        let xml = br#"<w:r><w:rPr><w:sz w:val="44" /><w:szCs w:val="44" /><w:color w:val="FF0000" /><w:rFonts w:eastAsia="FangSong" /></w:rPr><w:t>x</w:t></w:r>"#;
        let out = String::from_utf8(normalize(xml).unwrap()).unwrap();
        assert_eq!(
            out,
            r#"<w:r><w:rPr><w:rFonts w:eastAsia="FangSong" /><w:color w:val="FF0000" /><w:sz w:val="44" /><w:szCs w:val="44" /></w:rPr><w:t>x</w:t></w:r>"#
        );
    }

    #[test]
    fn empty_run_properties_leave_paragraph_properties() {
        let xml = br#"<w:pPr><w:rPr /><w:jc w:val="center" /><w:spacing w:line="560" /></w:pPr>"#;
        let out = String::from_utf8(normalize(xml).unwrap()).unwrap();
        assert_eq!(
            out,
            r#"<w:pPr><w:spacing w:line="560" /><w:jc w:val="center" /></w:pPr>"#
        );
    }

    #[test]
    fn grid_columns_lose_the_undeclared_type() {
        let xml = br#"<w:tblGrid><w:gridCol w:w="915" w:type="dxa" /></w:tblGrid>"#;
        let out = String::from_utf8(normalize(xml).unwrap()).unwrap();
        assert_eq!(out, r#"<w:tblGrid><w:gridCol w:w="915"/></w:tblGrid>"#);
    }

    #[test]
    fn text_and_declaration_pass_through() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><w:t xml:space=\"preserve\">吉财绩函〔2026〕12号 &amp; x</w:t>";
        let out = String::from_utf8(normalize(xml.as_bytes()).unwrap()).unwrap();
        assert_eq!(out, xml);
    }
}
