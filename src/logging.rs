//! How the log reads in a log file: one event per line, whatever a file or project name holds,
//! and colour only on a terminal. `main` installs the subscriber; this module gives it the
//! style and the writer.

use std::io::Write;

/// The environment variable that chooses the log's style: `plain` or `color` (`colour`); a
/// terminal gets colour and anything else plain text when it is not set.
pub const STYLE_ENV: &str = "JIXIAO_LOG_STYLE";

/// Whether the log is coloured: as `JIXIAO_LOG_STYLE` says, else only on a terminal.
pub fn use_colour(style: Option<&str>, terminal: bool) -> Result<bool, String> {
    match style.map(str::trim) {
        None | Some("") | Some("auto") => Ok(terminal),
        Some("plain") => Ok(false),
        Some("color") | Some("colour") => Ok(true),
        Some(other) => Err(format!("{STYLE_ENV}={other:?}: write plain, color or auto")),
    }
}

/// Escapes what could end or forge a line inside one formatted event: line breaks and other
/// control characters become `\n`, `\r`, `\x1b`, `\u{2028}`…; the event's own final line break
/// stays. With `colour`, the escape character of the colour codes stays too.
pub fn escape_event(event: &str, colour: bool) -> String {
    let (body, end) = match event.strip_suffix('\n') {
        Some(b) => (b, "\n"),
        None => (event, ""),
    };
    let mut out = String::with_capacity(event.len() + 8);
    for c in body.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push('\t'),
            '\u{1b}' if colour => out.push(c),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                if (c as u32) < 0x100 {
                    out.push_str(&format!("\\x{:02x}", c as u32));
                } else {
                    out.push_str(&format!("\\u{{{:x}}}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push_str(end);
    out
}

/// A writer of formatted events (the subscriber writes each event whole) that escapes them as
/// [`escape_event`] says.
pub struct LineWriter<W: Write> {
    inner: W,
    colour: bool,
}

impl<W: Write> LineWriter<W> {
    pub fn new(inner: W, colour: bool) -> LineWriter<W> {
        LineWriter { inner, colour }
    }
}

impl<W: Write> Write for LineWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.inner
            .write_all(escape_event(&text, self.colour).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_line_breaks_stays_on_its_line() {
        let event = "2026-11-30T04:00:00Z  INFO file=a\n2026-11-30T04:00:01Z ERROR forged\r.xlsx accepted\n";
        let out = escape_event(event, false);
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.ends_with("accepted\n"));
        assert!(out.contains("a\\n2026-11-30T04:00:01Z ERROR forged\\r.xlsx"));
        assert_eq!(
            escape_event("x\u{1b}[31m\u{2028}y\n", false),
            "x\\x1b[31m\\u{2028}y\n"
        );
        assert_eq!(escape_event("x\u{1b}[31my\n", true), "x\u{1b}[31my\n");
    }

    #[test]
    fn colour_only_on_a_terminal_unless_chosen() {
        assert_eq!(use_colour(None, true), Ok(true));
        assert_eq!(use_colour(None, false), Ok(false));
        assert_eq!(use_colour(Some("plain"), true), Ok(false));
        assert_eq!(use_colour(Some("color"), false), Ok(true));
        assert!(use_colour(Some("rainbow"), false).is_err());
    }
}
