//! Small helpers shared by the modules that write files and read TOML: atomic writes, file names
//! made safe, one-line text, and TOML errors that name the line.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;

/// Writes a file so that no reader ever sees it half written: a temporary file in the same
/// folder, synced, then renamed over the target.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().context("a file needs a folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".jixiao-{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(())
}

/// Whether a file name is one of [`write_atomic`]'s temporary files (`.jixiao-PID-N.tmp`), and
/// the process that wrote it.
fn temp_file_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(".jixiao-")?.strip_suffix(".tmp")?;
    let (pid, _) = rest.split_once('-')?;
    pid.parse().ok()
}

/// Removes the temporary files of [`write_atomic`] that processes no longer running left in
/// `dir` (a run killed while writing, e.g. `jixiao consolidate`). Returns how many went.
pub(crate) fn remove_stale_temp_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(temp_file_pid) else {
            continue;
        };
        if pid == std::process::id() || process_alive(pid) {
            continue;
        }
        if e.file_type().is_ok_and(|t| t.is_file()) && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Whether a process with this id exists (one of another user counts as running).
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only asks whether the process exists; nothing is sent.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// A file name from a department or a form, made safe as one path component on Windows, macOS
/// and Linux: separators, `: * ? " < > |` and control characters become `_`, leading dots go,
/// and a name longer than 180 bytes is shortened (keeping its extension) so that a submission
/// number in front and `.退回原因.txt` behind still fit the 255 bytes file systems allow.
pub(crate) fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        return "file".to_string();
    }
    const MAX: usize = 180;
    if cleaned.len() <= MAX {
        return cleaned;
    }
    let (stem, ext) = match cleaned.rfind('.') {
        Some(i) if cleaned.len() - i <= 10 => (&cleaned[..i], &cleaned[i..]),
        _ => (cleaned.as_str(), ""),
    };
    let mut cut = MAX - ext.len() - 3;
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…{ext}", &stem[..cut])
}

/// The file name without its folder and extension.
pub(crate) fn file_stem(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    match base.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => base.to_string(),
    }
}

/// Text from a form or a file name made fit for one line (a mail header, a title, a log line):
/// every control character, line breaks included, becomes a space.
pub(crate) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Excel's limit on the length of a cell's text or a comment, in UTF-16 units.
pub(crate) const EXCEL_MAX_TEXT: usize = 32_767;

/// Whether XML 1.0 allows the character: not U+0000–U+0008, U+000B, U+000C, U+000E–U+001F,
/// U+FFFE or U+FFFF (a tab, line feed and carriage return are allowed).
pub(crate) fn xml_allowed(c: char) -> bool {
    !matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// Text made fit for a cell or a comment of an `.xlsx`: characters XML forbids are dropped, and a
/// text longer than Excel's 32,767 characters (counted in UTF-16 units, as Excel counts) is
/// shortened, ending with `…`. Borrows when nothing changes.
pub(crate) fn xml_text(s: &str) -> Cow<'_, str> {
    let clean: Cow<str> = if s.chars().all(xml_allowed) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter(|c| xml_allowed(*c)).collect())
    };
    // Most texts are far below the limit: a UTF-16 unit never takes fewer than 1 byte.
    if clean.len() <= EXCEL_MAX_TEXT || clean.encode_utf16().count() <= EXCEL_MAX_TEXT {
        return clean;
    }
    let mut out = String::new();
    let mut units = 0;
    for c in clean.chars() {
        if units + c.len_utf16() > EXCEL_MAX_TEXT - 1 {
            break;
        }
        units += c.len_utf16();
        out.push(c);
    }
    out.push('…');
    Cow::Owned(out)
}

/// The line (from 1) a TOML error points at.
pub(crate) fn toml_error_line(text: &str, e: &toml::de::Error) -> usize {
    e.span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
        .unwrap_or(1)
}

/// Parses a TOML file's text; the error reads `NAME:LINE: message`.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    name: &str,
) -> anyhow::Result<T> {
    toml::from_str(text).map_err(|e| {
        let line = toml_error_line(text, &e);
        anyhow::anyhow!("{name}:{line}: {}", e.message())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_stay_one_component() {
        assert_eq!(safe_file_name("a/b:c"), "a_b_c");
        assert_eq!(safe_file_name("..\\x"), "_x");
        assert_eq!(safe_file_name("..."), "file");
        assert_eq!(safe_file_name("a\nb.xlsx"), "a_b.xlsx");
        let long = format!("{}.xlsx", "绩".repeat(100));
        let short = safe_file_name(&long);
        assert!(short.len() <= 180 && short.ends_with("….xlsx"), "{short}");
        assert_eq!(
            file_stem("dir/农业农村厅-绩效自评表.xlsx"),
            "农业农村厅-绩效自评表"
        );
    }

    #[test]
    fn xml_text_drops_forbidden_characters_and_shortens() {
        assert!(matches!(xml_text("项目\t名称\r\n"), Cow::Borrowed(_)));
        assert_eq!(
            xml_text("a\u{1}b\u{b}c\u{c}d\u{1f}e\u{fffe}f\u{ffff}g\u{0}"),
            "abcdefg"
        );
        let long = "名".repeat(40_000);
        let short = xml_text(&long);
        assert_eq!(short.encode_utf16().count(), EXCEL_MAX_TEXT);
        assert!(short.ends_with("名…"));
        // Characters outside the BMP take two UTF-16 units and are never cut in half.
        let wide = "𠀀".repeat(20_000);
        let short = xml_text(&wide);
        assert!(short.encode_utf16().count() <= EXCEL_MAX_TEXT);
        assert!(short.ends_with('…'));
        let exact = "a".repeat(EXCEL_MAX_TEXT);
        assert_eq!(xml_text(&exact), exact);
    }

    #[test]
    fn toml_errors_name_the_line() {
        let e = parse_toml::<toml::Table>("a = 1\nb = \n", "d.toml").unwrap_err();
        assert!(e.to_string().starts_with("d.toml:2:"), "{e}");
    }

    #[test]
    fn temp_files_of_processes_gone_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        // A child that has exited and been waited for: its id names no process.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = dir.path().join(format!(".jixiao-{dead}-0.tmp"));
        let own = dir
            .path()
            .join(format!(".jixiao-{}-3.tmp", std::process::id()));
        let other = dir.path().join(".jixiao-x-0.tmp");
        let kept = dir.path().join("绩效汇总-2026.xlsx");
        for p in [&stale, &own, &other, &kept] {
            std::fs::write(p, b"x").unwrap();
        }
        assert_eq!(remove_stale_temp_files(dir.path()), 1);
        assert!(!stale.exists());
        assert!(own.exists() && other.exists() && kept.exists());
    }

    #[test]
    fn atomic_write_replaces_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/x.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }
}
