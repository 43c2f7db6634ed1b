//! The letter templates in `letters/`: minijinja over the markup of [`super::markup`]. Loaded and
//! checked at start-up — each template is parsed, then rendered once with sample content, so a
//! typo in a variable name is reported then, with its file and line, not when a letter is due.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

use super::content::{self, LetterContent};
use super::docx::{self, DocxError, LetterDoc};
use super::markup::{self, Document};
use super::{LetterInput, LetterKind, LetterSettings, RenderedLetter};
use crate::util::{file_stem, safe_file_name};

/// The fields a letter template may set in its `---` block.
pub(crate) const LETTER_FIELDS: &[&str] = &["标题", "主送", "抄送", "落款", "发文机关", "附件"];
/// The fields of an email template.
pub(crate) const EMAIL_FIELDS: &[&str] = &["主题"];

/// The email that carries a letter.
const LETTER_EMAIL: &str = "letter_email.txt.j2";

/// The plain notices: short emails without a document number or a Word letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    /// 收到回执: a form was taken in.
    Receipt,
    /// 重复提交: the same file was received before.
    Duplicate,
    /// 催报通知: before and after a deadline.
    Reminder,
    /// The summary workbook sent to the finance office.
    Summary,
    /// 未能受理的文件: files that are not a form, listed in one notice.
    Unreadable,
}

impl NoticeKind {
    pub(crate) const ALL: [NoticeKind; 4] = [
        NoticeKind::Receipt,
        NoticeKind::Duplicate,
        NoticeKind::Reminder,
        NoticeKind::Summary,
    ];

    pub(crate) fn file(self) -> &'static str {
        match self {
            NoticeKind::Receipt => "receipt.txt.j2",
            NoticeKind::Duplicate => "duplicate.txt.j2",
            NoticeKind::Reminder => "reminder.txt.j2",
            NoticeKind::Summary => "summary.txt.j2",
            NoticeKind::Unreadable => "unreadable.txt.j2",
        }
    }

    /// Sample values of the documented variables, for the start-up check.
    fn sample(self) -> Value {
        match self {
            NoticeKind::Receipt => minijinja::context! {
                department => "吉林省农业农村厅", file_name => "样例.xlsx",
                form_name => "绩效自评表", project_name => "样例项目",
                received_at => "2026年11月25日 09:30", accepted => true,
            },
            NoticeKind::Duplicate => minijinja::context! {
                department => "吉林省农业农村厅", file_name => "样例.xlsx",
                form_name => "绩效自评表", project_name => "样例项目",
                received_at => "2026年11月25日 09:30",
                first_received_at => "2026年11月20日 10:00",
            },
            NoticeKind::Reminder => minijinja::context! {
                department => "吉林省农业农村厅", form_name => "绩效自评表",
                deadline => "2026年12月1日", overdue => false, days => 3,
                missing => vec!["样例项目"],
                revision => minijinja::context! {
                    conclusion => "不通过", reviewed => "2026年11月20日",
                },
            },
            NoticeKind::Summary => minijinja::context! {
                finance => "吉林省财政厅绩效管理处", year => 2026,
                generated_at => "2026-11-25 09:30:00",
                total => minijinja::context! {
                    received => 10, accepted => 8, returned => 2, duplicate => 0,
                    current_declarations => 3, not_passed => 0, current_reports => 3,
                    current_evaluations => 2,
                },
                average_score => "92.50", grades => vec!["优1个", "良1个"],
                missing => 1, missing_sheet => "未报送",
            },
            NoticeKind::Unreadable => minijinja::context! {
                department => "吉林省农业农村厅", count => 1,
                files => vec![minijinja::context! { name => "照片.jpg", reason => "这是图片" }],
            },
        }
    }
}

impl LetterKind {
    /// The template file of this kind in `letters/`.
    pub(crate) fn template_file(self) -> &'static str {
        match self {
            LetterKind::ReturnNotice => "return_notice.md.j2",
            LetterKind::TargetReview => "target_review.md.j2",
            LetterKind::MonitoringOpinion => "monitoring_opinion.md.j2",
            LetterKind::EvaluationFeedback => "evaluation_feedback.md.j2",
        }
    }
}

/// The templates compiled into the binary: the repository's `letters/` folder.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "return_notice.md.j2",
        include_str!("../../letters/return_notice.md.j2"),
    ),
    (
        "target_review.md.j2",
        include_str!("../../letters/target_review.md.j2"),
    ),
    (
        "monitoring_opinion.md.j2",
        include_str!("../../letters/monitoring_opinion.md.j2"),
    ),
    (
        "evaluation_feedback.md.j2",
        include_str!("../../letters/evaluation_feedback.md.j2"),
    ),
    (
        "letter_email.txt.j2",
        include_str!("../../letters/letter_email.txt.j2"),
    ),
    (
        "receipt.txt.j2",
        include_str!("../../letters/receipt.txt.j2"),
    ),
    (
        "duplicate.txt.j2",
        include_str!("../../letters/duplicate.txt.j2"),
    ),
    (
        "reminder.txt.j2",
        include_str!("../../letters/reminder.txt.j2"),
    ),
    (
        "summary.txt.j2",
        include_str!("../../letters/summary.txt.j2"),
    ),
    (
        "unreadable.txt.j2",
        include_str!("../../letters/unreadable.txt.j2"),
    ),
];

/// A template or a letter could not be made. Template errors name the file and line.
#[derive(Debug, thiserror::Error)]
pub enum LetterError {
    #[error("{file}:{line}: {message}")]
    Template {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: missing template (every file of letters/ is needed)")]
    Missing { file: PathBuf },
    #[error("{file}: cannot read: {source}")]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: the letter has no title: set `标题:` in its --- block")]
    NoTitle { file: String },
    #[error("{0:?} result calls for no letter")]
    NoLetter(String),
    #[error(transparent)]
    Docx(#[from] DocxError),
}

/// A letter composed from its template, before the Word document is written.
struct Composed {
    content: LetterContent,
    letter: LetterDoc,
    annotated: Option<Vec<u8>>,
}

/// A letter's text as it will read: its parts in the order of the Word document, for a page.
#[derive(Debug, Clone, Serialize)]
pub struct LetterText {
    pub office: String,
    /// 发文字号 (its number blank in a preview).
    pub number: String,
    pub title: String,
    pub addressee: String,
    pub body: Vec<TextBlock>,
    pub attachments: Vec<String>,
    pub signature: String,
    pub date: String,
    pub cc: Vec<String>,
}

/// One block of a letter's body: `kind` is `heading` (with `level` 1 to 3), `paragraph`,
/// `numbered` (with its `number`), `item` or `table` (with `header` and `rows`).
#[derive(Debug, Clone, Serialize)]
pub struct TextBlock {
    pub kind: &'static str,
    pub level: u8,
    pub number: u32,
    pub parts: Vec<TextPart>,
    pub header: Option<Vec<String>>,
    pub rows: Vec<Vec<String>>,
}

/// A run of text in a block, bold or not.
#[derive(Debug, Clone, Serialize)]
pub struct TextPart {
    pub text: String,
    pub bold: bool,
}

impl LetterText {
    fn of(letter: LetterDoc) -> LetterText {
        let parts = |inlines: Vec<markup::Inline>| {
            inlines
                .into_iter()
                .map(|i| match i {
                    markup::Inline::Text(text) => TextPart { text, bold: false },
                    markup::Inline::Bold(text) => TextPart { text, bold: true },
                })
                .collect()
        };
        let block = |kind, level, number, inlines| TextBlock {
            kind,
            level,
            number,
            parts: parts(inlines),
            header: None,
            rows: Vec::new(),
        };
        let body = letter
            .body
            .into_iter()
            .map(|b| match b {
                markup::Block::Heading(level, i) => block("heading", level, 0, i),
                markup::Block::Paragraph(i) => block("paragraph", 0, 0, i),
                markup::Block::Numbered(n, i) => block("numbered", 0, n, i),
                markup::Block::Item(i) => block("item", 0, 0, i),
                markup::Block::Table { header, rows } => TextBlock {
                    kind: "table",
                    level: 0,
                    number: 0,
                    parts: Vec::new(),
                    header,
                    rows,
                },
            })
            .collect();
        LetterText {
            office: letter.office,
            number: letter.number,
            title: letter.title,
            addressee: letter.addressee,
            body,
            attachments: letter.attachments,
            signature: letter.signature,
            date: letter.date,
            cc: letter.cc,
        }
    }

    /// The whole text, one block a line (for tests and logs).
    pub fn plain(&self) -> String {
        let mut out = vec![
            self.number.clone(),
            self.title.clone(),
            format!("{}：", self.addressee),
        ];
        for b in &self.body {
            let text: String = b.parts.iter().map(|p| p.text.as_str()).collect();
            out.push(match b.kind {
                "numbered" => format!("{}. {text}", b.number),
                "table" => b
                    .header
                    .iter()
                    .chain(&b.rows)
                    .map(|r| r.join(" | "))
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => text,
            });
        }
        out.push(self.signature.clone());
        out.push(self.date.clone());
        out.join("\n")
    }
}

/// The loaded, checked templates.
#[derive(Debug, Clone)]
pub struct Letters {
    env: Environment<'static>,
    /// Where the templates came from, for messages: `letters/` or the folder given.
    origin: String,
}

fn template_error(origin: &str, file: &str, e: &minijinja::Error) -> LetterError {
    LetterError::Template {
        file: format!("{origin}/{}", e.name().unwrap_or(file)),
        line: e.line().unwrap_or(0),
        message: match e.detail() {
            Some(d) => format!("{}: {d}", e.kind()),
            None => e.kind().to_string(),
        },
    }
}

fn markup_error(origin: &str, file: &str, e: markup::MarkupError) -> LetterError {
    LetterError::Template {
        file: format!("{origin}/{file} (rendered)"),
        line: e.line,
        message: e.message,
    }
}

/// The department's workbook with its errors marked, or None (logged) when it cannot be made:
/// an error or a panic inside the marking is caught, so the letter still goes out.
pub(crate) fn annotate_or_log(
    form: &crate::forms::read::RawForm,
    errors: &[crate::rules::issue::Issue],
    original: &[u8],
    file_name: &str,
) -> Option<Vec<u8>> {
    let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        super::annotate::write(form, errors, original)
    }));
    match made {
        Ok(Ok(bytes)) => Some(bytes),
        Ok(Err(e)) => {
            tracing::warn!(file = file_name, error = %format!("{e:#}"), "annotated workbook not made; the letter goes without it");
            None
        }
        Err(_) => {
            tracing::error!(
                file = file_name,
                "annotated workbook failed (caught); the letter goes without it"
            );
            None
        }
    }
}

impl Letters {
    /// Loads the templates from a folder, or the embedded copy of `letters/` when None, and
    /// checks each by rendering it with sample content.
    pub fn load(dir: Option<&Path>) -> Result<Letters, LetterError> {
        let mut env = Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| template_error("letters", "", &e))?;
        env.set_syntax(syntax);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Every printed value is data: escaped for the markup (one line, no markup, no character
        // XML forbids). Only the templates' own text is markup.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Custom(Cow::Borrowed("markup")));
        env.set_formatter(|out, state, value| {
            if matches!(state.auto_escape(), minijinja::AutoEscape::Custom(f) if f == "markup")
                && !value.is_safe()
            {
                let text = match value.as_str() {
                    Some(s) => markup::escape(s),
                    None => markup::escape(&value.to_string()),
                };
                out.write_str(&text).map_err(minijinja::Error::from)
            } else {
                minijinja::escape_formatter(out, state, value)
            }
        });
        // `cell`: kept for templates written for it; values are escaped anyway.
        env.add_filter("cell", |s: String| s);
        let origin = match dir {
            Some(d) => d.display().to_string(),
            None => "letters".to_string(),
        };
        for (name, embedded) in EMBEDDED {
            let source: Cow<'static, str> = match dir {
                None => Cow::Borrowed(embedded),
                Some(d) => {
                    let path = d.join(name);
                    if !path.exists() {
                        return Err(LetterError::Missing { file: path });
                    }
                    Cow::Owned(
                        std::fs::read_to_string(&path)
                            .map_err(|source| LetterError::Io { file: path, source })?,
                    )
                }
            };
            env.add_template_owned(*name, source)
                .map_err(|e| template_error(&origin, name, &e))?;
        }
        let letters = Letters { env, origin };
        letters.check()?;
        Ok(letters)
    }

    /// Renders every template once with sample content.
    fn check(&self) -> Result<(), LetterError> {
        let settings = LetterSettings::default();
        for kind in LetterKind::ALL {
            let sample = content::sample(kind, &settings);
            let doc = self.letter_markup(kind, &sample)?;
            if doc.field("标题").is_none() {
                return Err(LetterError::NoTitle {
                    file: format!("{}/{}", self.origin, kind.template_file()),
                });
            }
            self.email(&sample, "标题", "吉财绩函〔2026〕1号")?;
        }
        for kind in NoticeKind::ALL {
            self.render_notice(kind, &settings, &kind.sample())?;
        }
        Ok(())
    }

    fn render_text(&self, file: &str, ctx: Value) -> Result<String, LetterError> {
        let t = self
            .env
            .get_template(file)
            .map_err(|e| template_error(&self.origin, file, &e))?;
        t.render(ctx)
            .map_err(|e| template_error(&self.origin, file, &e))
    }

    fn letter_markup(
        &self,
        kind: LetterKind,
        content: &LetterContent,
    ) -> Result<Document, LetterError> {
        let file = kind.template_file();
        let text = self.render_text(file, Value::from(Serde(content)))?;
        markup::parse(&text, LETTER_FIELDS).map_err(|e| markup_error(&self.origin, file, e))
    }

    fn email(
        &self,
        content: &LetterContent,
        title: &str,
        number: &str,
    ) -> Result<(String, String), LetterError> {
        let ctx = minijinja::context! {
            title => title, number => number, ..Value::from(Serde(content))
        };
        let text = self.render_text(LETTER_EMAIL, ctx)?;
        let (fields, body) = markup::parse_plain(&text, EMAIL_FIELDS)
            .map_err(|e| markup_error(&self.origin, LETTER_EMAIL, e))?;
        let subject = fields
            .get("主题")
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_else(|| title.to_string());
        Ok((subject, body))
    }

    /// The content of the letter a result calls for, as the templates see it.
    pub(crate) fn content(&self, input: &LetterInput) -> Result<LetterContent, LetterError> {
        let kind = LetterKind::for_result(input.result)
            .ok_or_else(|| LetterError::NoLetter(input.result.file.clone()))?;
        Ok(content::build(input, kind))
    }

    /// The letter a checked file calls for, composed but not yet written as a Word document: its
    /// content, its parts, and the annotated workbook of a return notice.
    fn compose(&self, input: &LetterInput) -> Result<Composed, LetterError> {
        // The annotated copy comes first: a department's workbook that cannot be marked (or
        // that trips the marking up) must not stop the letter, which then names no attachment.
        let annotated = match (
            LetterKind::for_result(input.result),
            input.form,
            input.original,
        ) {
            (Some(LetterKind::ReturnNotice), Some(form), super::Original::Bytes(original)) => {
                annotate_or_log(form, &input.result.errors, original, input.file_name)
            }
            (Some(LetterKind::ReturnNotice), Some(_), super::Original::Annotated(made)) => {
                made.map(<[u8]>::to_vec)
            }
            _ => None,
        };
        let mut content = self.content(input)?;
        if annotated.is_none() {
            content.annotated_file = None;
        }
        let kind = content.kind;
        let doc = self.letter_markup(kind, &content)?;
        let title = doc
            .field("标题")
            .ok_or_else(|| LetterError::NoTitle {
                file: format!("{}/{}", self.origin, kind.template_file()),
            })?
            .to_string();
        let s = input.settings;
        let cc = if doc.fields.contains_key("抄送") {
            doc.list("抄送")
        } else {
            s.cc.clone()
        };
        let letter = LetterDoc {
            office: doc.field("发文机关").unwrap_or(&s.office).to_string(),
            number: content.number.clone(),
            title,
            addressee: doc.field("主送").unwrap_or(input.department).to_string(),
            body: doc.body.clone(),
            attachments: doc.list("附件"),
            signature: doc.field("落款").unwrap_or(&s.signature).to_string(),
            date: content.date.clone(),
            cc,
            created_at: format!("{}T00:00:00Z", input.date.format("%Y-%m-%d")),
        };
        Ok(Composed {
            content,
            letter,
            annotated,
        })
    }

    /// The text of the letter a checked file calls for, as it will read (for a page that shows
    /// a letter before it goes out).
    pub fn text(&self, input: &LetterInput) -> Result<LetterText, LetterError> {
        let Composed { letter, .. } = self.compose(input)?;
        Ok(LetterText::of(letter))
    }

    /// Writes the letter a checked file calls for: the Word document, the annotated workbook of a
    /// return notice, and the email that carries them.
    pub fn render(&self, input: &LetterInput) -> Result<RenderedLetter, LetterError> {
        let Composed {
            content,
            letter,
            annotated,
        } = self.compose(input)?;
        let kind = content.kind;
        let title = letter.title.clone();
        let docx = docx::write(&letter)?;
        let annotated_xlsx =
            annotated.map(|bytes| (content::annotated_name(input.file_name), bytes));
        let stem = file_stem(input.file_name);
        let docx_file_name = safe_file_name(&match input.number {
            Some(_) => format!("{}-{}-{stem}.docx", content.number, kind.name()),
            None => format!("预览-{}-{stem}.docx", kind.name()),
        });
        let (email_subject, email_body) = self.email(&content, &title, &content.number)?;
        Ok(RenderedLetter {
            kind,
            title,
            doc_number_text: content.number,
            docx,
            docx_file_name,
            annotated_xlsx,
            email_subject,
            email_body,
        })
    }

    /// Renders a plain notice: its subject and body. The context's variables are documented in
    /// README.md (`## Letters`); `settings` is added to them.
    pub fn render_notice<C: Serialize>(
        &self,
        kind: NoticeKind,
        settings: &LetterSettings,
        ctx: &C,
    ) -> Result<(String, String), LetterError> {
        let file = kind.file();
        let ctx = minijinja::context! {
            settings => Value::from(Serde(settings)), ..Value::from(Serde(ctx))
        };
        let text = self.render_text(file, ctx)?;
        let (fields, body) = markup::parse_plain(&text, EMAIL_FIELDS)
            .map_err(|e| markup_error(&self.origin, file, e))?;
        let subject = fields
            .get("主题")
            .and_then(|v| v.first())
            .cloned()
            .ok_or_else(|| LetterError::Template {
                file: format!("{}/{file}", self.origin),
                line: 1,
                message: "no `主题:` in the --- block".into(),
            })?;
        Ok((subject, body))
    }
}
