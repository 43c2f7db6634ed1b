//! Building the RFC 5322 message with lettre: Chinese subject and body, attachments whose Chinese
//! file names show in common mail clients, and the Message-ID of the outbox row.
//!
//! lettre names an attachment only in `Content-Disposition`, as RFC 2231 continuations
//! (`filename*0*=utf-8''…`), which older Outlook versions do not read. We write the attachment
//! headers ourselves, with the name in both forms that clients read:
//!
//! ```text
//! Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;
//!  name="=?UTF-8?B?5rWL6K+V?="                     ← RFC 2047 (Outlook, older clients)
//! Content-Disposition: attachment;
//!  filename*=UTF-8''%E6%B5%8B%E8%AF%95             ← RFC 2231 / RFC 5987 (all current clients)
//! ```
//!
//! The rendered message is plain ASCII (headers encoded, the body quoted-printable or base64), so
//! any SMTP server takes it without 8BITMIME.

use std::time::SystemTime;

use base64::Engine;
use lettre::message::header::{
    ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue,
};
use lettre::message::{Mailbox, MultiPart, SinglePart};

use super::{Attachment, MailError, OutgoingMessage, no_control, parse_mailbox};

/// Renders the full message: headers, text body, attachments.
pub(crate) fn render(
    msg: &OutgoingMessage,
    from: &Mailbox,
    message_id: &str,
    date: SystemTime,
) -> Result<Vec<u8>, MailError> {
    let mut b = lettre::Message::builder()
        .from(from.clone())
        .header(subject_header(&msg.subject))
        .message_id(Some(message_id.to_string()))
        .date(date);
    for to in &msg.to {
        b = b.to(parse_mailbox("to", to)?);
    }
    for cc in &msg.cc {
        b = b.cc(parse_mailbox("cc", cc)?);
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(msg.body.clone());
    let m = if msg.attachments.is_empty() {
        b.singlepart(text)
    } else {
        let mut mixed = MultiPart::mixed().singlepart(text);
        for a in &msg.attachments {
            mixed = mixed.singlepart(attachment_part(a)?);
        }
        b.multipart(mixed)
    }
    .map_err(|e| MailError::Build(e.to_string()))?;
    Ok(m.formatted())
}

/// Checks an attachment before it is queued: a plain file name, a valid MIME type.
pub(crate) fn check_attachment(a: &Attachment) -> Result<(), MailError> {
    no_control("attachment file name", &a.file_name)?;
    let name = a.file_name.trim();
    if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
        return Err(MailError::InvalidFileName(a.file_name.clone()));
    }
    no_control("attachment content type", &a.content_type)?;
    a.content_type
        .parse::<ContentType>()
        .map_err(|_| MailError::InvalidContentType(a.content_type.clone()))?;
    Ok(())
}

fn attachment_part(a: &Attachment) -> Result<SinglePart, MailError> {
    check_attachment(a)?;
    // The MIME type without any parameters the caller gave: we write `name` ourselves.
    let essence = a
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let name = a.file_name.trim();
    Ok(SinglePart::builder()
        .header(AttachmentType(HeaderValue::dangerous_new_pre_encoded(
            AttachmentType::name(),
            essence.clone(),
            format!(
                "{essence};\r\n name=\"{}\"",
                rfc2047_words(name).join("\r\n ")
            ),
        )))
        .header(AttachmentDisposition(
            HeaderValue::dangerous_new_pre_encoded(
                AttachmentDisposition::name(),
                format!("attachment; filename=\"{name}\""),
                format!("attachment;\r\n {}", rfc2231_param("filename", name)),
            ),
        ))
        .header(ContentTransferEncoding::Base64)
        .body(a.bytes.clone()))
}

/// The subject as RFC 2047 encoded words from its first character to its last, one per folded
/// line. lettre leaves ASCII runs as they are, so a project name holding `=?utf-8?b?…?=` would be
/// decoded by the recipient's client into other text, and runs of spaces would be folded away;
/// encoded throughout, the recipient sees exactly the text as typed.
fn subject_header(subject: &str) -> EncodedSubject {
    EncodedSubject(HeaderValue::dangerous_new_pre_encoded(
        EncodedSubject::name(),
        subject.to_string(),
        encoded_words(subject, 39).join("\r\n "),
    ))
}

/// `Subject`, written as encoded words only.
#[derive(Debug, Clone)]
struct EncodedSubject(HeaderValue);

impl Header for EncodedSubject {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Subject")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Err("only written, never parsed".into())
    }
    fn display(&self) -> HeaderValue {
        self.0.clone()
    }
}

/// `Content-Type` of an attachment, written with the RFC 2047 `name` parameter.
#[derive(Debug, Clone)]
struct AttachmentType(HeaderValue);

impl Header for AttachmentType {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Type")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Err("only written, never parsed".into())
    }
    fn display(&self) -> HeaderValue {
        self.0.clone()
    }
}

/// `Content-Disposition` of an attachment, written with the RFC 2231 `filename*` parameter.
#[derive(Debug, Clone)]
struct AttachmentDisposition(HeaderValue);

impl Header for AttachmentDisposition {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Disposition")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Err("only written, never parsed".into())
    }
    fn display(&self) -> HeaderValue {
        self.0.clone()
    }
}

/// RFC 2047 encoded words (`=?UTF-8?B?…?=`), each at most 75 characters and never splitting a
/// character, to be written one per folded line inside the quoted `name` parameter.
pub(crate) fn rfc2047_words(s: &str) -> Vec<String> {
    // 45 bytes encode to 60 base64 characters; with `=?UTF-8?B?` and `?=` that is 72.
    encoded_words(s, 45)
}

/// Encoded words of at most `max_bytes` bytes of text each (39 keeps `Subject: ` and its first
/// word within the 76 characters RFC 2047 allows on a line).
fn encoded_words(s: &str, max_bytes: usize) -> Vec<String> {
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in s.chars() {
        if chunk.len() + c.len_utf8() > max_bytes {
            words.push(encode_word(&chunk));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(encode_word(&chunk));
    }
    words
}

fn encode_word(s: &str) -> String {
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
    )
}

/// An RFC 2231 / RFC 5987 parameter: `key*=UTF-8''percent-encoded`, on one line when it fits in
/// 998 characters (the hard limit of RFC 5322), else as numbered continuations
/// `key*0*=UTF-8''…; key*1*=…`, each piece ending on a whole character.
pub(crate) fn rfc2231_param(key: &str, value: &str) -> String {
    const MAX_LINE: usize = 900;
    const PIECE: usize = 60;
    let single = format!("{key}*=UTF-8''{}", percent_encode(value));
    if single.len() <= MAX_LINE {
        return single;
    }
    let mut pieces: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in value.chars() {
        let mut buf = [0u8; 4];
        let enc = percent_encode(c.encode_utf8(&mut buf));
        if !cur.is_empty() && cur.len() + enc.len() > PIECE {
            pieces.push(std::mem::take(&mut cur));
        }
        cur.push_str(&enc);
    }
    pieces.push(cur);
    pieces
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i == 0 {
                format!("{key}*0*=UTF-8''{p}")
            } else {
                format!("{key}*{i}*={p}")
            }
        })
        .collect::<Vec<_>>()
        .join(";\r\n ")
}

/// Percent-encodes everything but RFC 5987 `attr-char`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2231_single_line_and_continuations() {
        assert_eq!(
            rfc2231_param("filename", "审核意见 1.docx"),
            "filename*=UTF-8''%E5%AE%A1%E6%A0%B8%E6%84%8F%E8%A7%81%201.docx"
        );
        let long: String = "绩".repeat(120);
        let p = rfc2231_param("filename", &long);
        assert!(p.starts_with("filename*0*=UTF-8''%E7%BB%A9"), "{p}");
        assert!(p.contains(";\r\n filename*1*=%E7"));
        assert!(p.lines().all(|l| l.len() < 100));
    }

    #[test]
    fn rfc2047_words_are_short_and_whole() {
        let words = rfc2047_words(&"绩效".repeat(20));
        assert!(words.len() > 1);
        for w in &words {
            assert!(w.len() <= 75, "{w}");
            let b64 = w.trim_start_matches("=?UTF-8?B?").trim_end_matches("?=");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            assert!(String::from_utf8(bytes).is_ok());
        }
    }

    #[test]
    fn rendered_message_is_ascii() {
        let msg = OutgoingMessage {
            to: vec!["农业农村厅 <nyt@jl.gov.cn>".into()],
            subject: "关于绩效目标的审核意见".into(),
            body: "贵厅报送的绩效目标申报表已审核。".into(),
            attachments: vec![Attachment {
                file_name: "审核意见.docx".into(),
                content_type: super::super::DOCX.into(),
                bytes: vec![0, 1, 2, 255],
            }],
            ..Default::default()
        };
        let from: Mailbox = "吉林省财政厅 <jxc@czt.jl.gov.cn>".parse().unwrap();
        let raw = render(&msg, &from, "<x.1@czt.jl.gov.cn>", SystemTime::UNIX_EPOCH).unwrap();
        assert!(raw.is_ascii());
        let text = String::from_utf8(raw).unwrap();
        assert!(
            text.contains("Message-ID: <x.1@czt.jl.gov.cn>\r\n"),
            "{text}"
        );
        assert!(text.contains("filename*=UTF-8''%E5%AE%A1%E6%A0%B8%E6%84%8F%E8%A7%81.docx"));
        assert!(
            text.contains("name=\"=?UTF-8?B?5a6h5qC45oSP6KeBLmRvY3g=?=\""),
            "{text}"
        );
    }
}
