//! Terminal-safe display of untrusted text (file names, document text, model and server
//! messages): control characters are shown visibly, as `less` and `ls -b` do, so no string can
//! move the cursor, retitle the window, ring the bell, split a line or reorder text.

use std::borrow::Cow;
use std::fmt::Write as _;

/// For one-line fields (paths, titles, names, log fields): every control character is
/// escaped, newlines and tabs too.
pub fn one_line(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// For multi-line text (chunks, answers, messages): line breaks and tabs stay, the rest is
/// escaped.
pub fn multi_line(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

/// A path as one safe line; bytes that are not UTF-8 (Unix file names may hold any) are shown
/// as `\xff` instead of all becoming U+FFFD.
pub fn path(path: &std::path::Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut out = String::new();
        for chunk in path.as_os_str().as_bytes().utf8_chunks() {
            out.push_str(&one_line(chunk.valid()));
            for b in chunk.invalid() {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
        out
    }
    #[cfg(not(unix))]
    {
        one_line(&path.to_string_lossy()).into_owned()
    }
}

/// Whether a character must never reach a terminal raw: C0, DEL and C1 controls, and the
/// bidi embeddings, overrides and isolates that reorder what follows them.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn escape(text: &str, keep_breaks: bool) -> Cow<'_, str> {
    let kept = |c: char| keep_breaks && (c == '\n' || c == '\t');
    if !text.chars().any(|c| is_unsafe(c) && !kept(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if kept(c) || !is_unsafe(c) {
            out.push(c);
        } else if keep_breaks && c == '\r' && chars.peek() == Some(&'\n') {
            // CRLF is a line break; only a lone CR (which overwrites the line) is escaped.
        } else {
            push_escaped(&mut out, c);
        }
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    let short = match c {
        '\0' => "\\0",
        '\x07' => "\\a",
        '\x08' => "\\b",
        '\t' => "\\t",
        '\n' => "\\n",
        '\x0b' => "\\v",
        '\x0c' => "\\f",
        '\r' => "\\r",
        '\x1b' => "\\e",
        _ => "",
    };
    if !short.is_empty() {
        out.push_str(short);
    } else if (c as u32) < 0x100 {
        let _ = write!(out, "\\x{:02x}", c as u32);
    } else {
        let _ = write!(out, "\\u{{{:04x}}}", c as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(one_line("héllo wörld 🤷"), Cow::Borrowed(_)));
        assert!(matches!(multi_line("a\n\tb"), Cow::Borrowed(_)));
    }

    #[test]
    fn one_line_escapes_every_control_character() {
        let hostile = "esc-\x1b[31mred\x1b[0m-\x1b]0;TITLE\x07.md";
        assert_eq!(one_line(hostile), "esc-\\e[31mred\\e[0m-\\e]0;TITLE\\a.md");
        assert_eq!(one_line("a\nb\tc\rd\0"), "a\\nb\\tc\\rd\\0");
        assert_eq!(one_line("del\x7f c1\u{9b}"), "del\\x7f c1\\x9b");
        assert_eq!(
            one_line("\u{202e}txt.exe\u{2066}x\u{2069}"),
            "\\u{202e}txt.exe\\u{2066}x\\u{2069}"
        );
        assert!(!one_line("\x01\x1f\u{85}").chars().any(is_unsafe));
    }

    #[cfg(unix)]
    #[test]
    fn paths_show_bytes_that_are_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let p = std::path::Path::new(std::ffi::OsStr::from_bytes(b"d/n\xff\xfe\n.md"));
        assert_eq!(path(p), "d/n\\xff\\xfe\\n.md");
        assert_eq!(path(std::path::Path::new("plain/é.md")), "plain/é.md");
    }

    proptest::proptest! {
        #[test]
        fn no_string_gets_through_raw(text in "(?s).{0,64}", bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let text = format!("{text}{}", String::from_utf8_lossy(&bytes));
            proptest::prop_assert!(!one_line(&text).contains(is_unsafe));
            let multi = multi_line(&text);
            proptest::prop_assert!(!multi.contains(|c: char| is_unsafe(c) && c != '\n' && c != '\t'));
            // Text without control characters comes back as it was.
            if !text.contains(is_unsafe) {
                proptest::prop_assert_eq!(one_line(&text), text.as_str());
            }
        }
    }

    #[test]
    fn multi_line_keeps_line_breaks_and_tabs_only() {
        assert_eq!(multi_line("a\nb\tc"), "a\nb\tc");
        assert_eq!(multi_line("crlf\r\nlone\rcr"), "crlf\nlone\\rcr");
        assert_eq!(multi_line("bell\x07\nesc\x1b[2J"), "bell\\a\nesc\\e[2J");
    }
}
