//! File names as stored text: valid UTF-8 as is, other bytes as `\xFF`, so two names that
//! differ only in invalid bytes never become the same string (a lossy conversion made
//! `a\xff\xfe.md` and `a\xfe\xff.md` one document and lost a file).
//!
//! A literal backslash is written `\\` only where it could be read as an escape (followed by
//! `x` or another backslash in the output), so ordinary names are stored unchanged.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

enum Unit {
    Char(char),
    Byte(u8),
}

/// The reversible text form of `path`; `decode` gives the exact bytes back.
pub fn encode(path: &Path) -> String {
    let mut units = Vec::new();
    for chunk in path.as_os_str().as_bytes().utf8_chunks() {
        units.extend(chunk.valid().chars().map(Unit::Char));
        units.extend(chunk.invalid().iter().map(|&b| Unit::Byte(b)));
    }
    let mut out = String::with_capacity(units.len());
    for (i, unit) in units.iter().enumerate() {
        match unit {
            Unit::Byte(b) => out.push_str(&format!("\\x{b:02X}")),
            Unit::Char('\\') => {
                let ambiguous = matches!(
                    units.get(i + 1),
                    Some(Unit::Char('x' | '\\')) | Some(Unit::Byte(_))
                );
                out.push_str(if ambiguous { "\\\\" } else { "\\" });
            }
            Unit::Char(c) => out.push(*c),
        }
    }
    out
}

/// The path whose `encode` is `text`.
pub fn decode(text: &str) -> PathBuf {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            match bytes.get(i + 1) {
                Some(b'\\') => {
                    out.push(b'\\');
                    i += 2;
                    continue;
                }
                Some(b'x') => {
                    if let Some(b) = bytes
                        .get(i + 2..i + 4)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                    {
                        out.push(b);
                        i += 4;
                        continue;
                    }
                }
                _ => {}
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    PathBuf::from(OsString::from_vec(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(bytes: &[u8]) -> PathBuf {
        PathBuf::from(OsString::from_vec(bytes.to_vec()))
    }

    #[test]
    fn invalid_bytes_are_escaped_and_names_stay_distinct() {
        let a = encode(&path(b"/d/nonutf8-\xff\xfe.md"));
        let b = encode(&path(b"/d/nonutf8-\xfe\xff.md"));
        assert_eq!(a, "/d/nonutf8-\\xFF\\xFE.md");
        assert_ne!(a, b);
        assert_eq!(encode(Path::new("/d/plain é.md")), "/d/plain é.md");
        assert_eq!(encode(Path::new("/d/a\\b.md")), "/d/a\\b.md");
    }

    #[test]
    fn every_short_name_round_trips() {
        // Every string of up to 5 units over the characters that could confuse the escape.
        let alphabet: &[&[u8]] = &[b"\\", b"x", b"F", b"0", b"\xff", b"\xc3", b"\xc3\xa9", b"a"];
        let mut names: Vec<Vec<u8>> = vec![vec![]];
        for _ in 0..5 {
            let longer: Vec<Vec<u8>> = names
                .iter()
                .flat_map(|n| alphabet.iter().map(move |a| [n.as_slice(), a].concat()))
                .collect();
            names.extend(longer.into_iter().filter(|n| n.len() <= 10));
            names.sort();
            names.dedup();
        }
        assert!(names.len() > 10_000, "{}", names.len());
        for name in names {
            let p = path(&name);
            assert_eq!(decode(&encode(&p)), p, "{:?} -> {:?}", p, encode(&p));
        }
    }
}
