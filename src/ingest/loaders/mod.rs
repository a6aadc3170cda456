//! Turning files into `LoadedDoc`s. Every failure is a `Skipped` with a reason; nothing here
//! stops an ingestion run.

pub mod html;
pub mod jsonl;
pub mod markdown;

use std::path::Path;

use super::types::{LoadedDoc, Section, Skipped};
use crate::util::sha256_hex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Text,
    Html,
    JsonLines,
}

impl Format {
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "md" | "markdown" | "mdx" => Some(Format::Markdown),
            "txt" | "text" | "rst" | "adoc" | "org" => Some(Format::Text),
            "html" | "htm" | "xhtml" => Some(Format::Html),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Markdown => "markdown",
            Format::Text => "text",
            Format::Html => "html",
            Format::JsonLines => "jsonl",
        }
    }
}

/// Result of loading one file: its documents and the records that could not be loaded.
#[derive(Debug, Default)]
pub struct Loaded {
    pub docs: Vec<LoadedDoc>,
    pub skipped: Vec<Skipped>,
}

/// Checks raw bytes and decodes them as UTF-8, or says why not.
pub fn decode(bytes: Vec<u8>) -> Result<String, String> {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return Err("binary file (contains NUL bytes)".into());
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "invalid UTF-8 at byte {}; convert the file to UTF-8",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Parses decoded file content. `path` is the display/source path.
pub fn parse(format: Format, path: &str, text: String, size: u64, mtime: i64) -> Loaded {
    let mut loaded = parse_unbounded(format, path, text, size, mtime);
    // Titles and heading paths go with every chunk of a document: bounded for all formats.
    for doc in &mut loaded.docs {
        doc.title = markdown::cut(&doc.title, MAX_TITLE_CHARS);
        for section in &mut doc.sections {
            section.heading_path = markdown::bounded_path(&section.heading_path);
        }
    }
    loaded
}

/// Longest title kept, in characters (a longer one ends with `…`).
pub const MAX_TITLE_CHARS: usize = 200;

fn parse_unbounded(format: Format, path: &str, text: String, size: u64, mtime: i64) -> Loaded {
    let file_hash = sha256_hex(text.as_bytes());
    let single = |title: String, text: String, sections: Vec<Section>| -> Loaded {
        if text.trim().is_empty() {
            return Loaded {
                docs: vec![],
                skipped: vec![Skipped {
                    path: path.into(),
                    reason: "empty document (no text)".into(),
                }],
            };
        }
        Loaded {
            docs: vec![LoadedDoc {
                source_path: path.into(),
                title,
                text,
                format: format.name(),
                sections,
                content_sha256: file_hash.clone(),
                size,
                mtime,
            }],
            skipped: vec![],
        }
    };
    match format {
        Format::Markdown => {
            let (title, sections) = markdown::sections(&text);
            single(title.unwrap_or_else(|| stem(path)), text, sections)
        }
        Format::Text => {
            let sections = vec![Section {
                heading_path: String::new(),
                start: 0,
                end: text.len(),
            }];
            let title = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .filter(|l| l.chars().count() <= 100)
                .map(str::to_string)
                .unwrap_or_else(|| stem(path));
            single(title, text, sections)
        }
        Format::Html => {
            let (title, body) = match html::to_markdown(&text) {
                Ok(parsed) => parsed,
                Err(reason) => {
                    return Loaded {
                        docs: vec![],
                        skipped: vec![Skipped {
                            path: path.into(),
                            reason,
                        }],
                    }
                }
            };
            let (h1, sections) = markdown::sections(&body);
            single(title.or(h1).unwrap_or_else(|| stem(path)), body, sections)
        }
        Format::JsonLines => jsonl::parse(path, &text, size, mtime),
    }
}

fn stem(path: &str) -> String {
    Path::new(path.split('#').next().unwrap_or(path))
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(path)
        .replace(['-', '_'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_extensions() {
        assert_eq!(
            Format::from_path(Path::new("a/B.MD")),
            Some(Format::Markdown)
        );
        assert_eq!(Format::from_path(Path::new("x.htm")), Some(Format::Html));
        assert_eq!(
            Format::from_path(Path::new("c.jsonl")),
            Some(Format::JsonLines)
        );
        assert_eq!(Format::from_path(Path::new("img.png")), None);
        assert_eq!(Format::from_path(Path::new("Makefile")), None);
    }

    #[test]
    fn binary_and_invalid_utf8_are_refused_with_a_reason() {
        assert!(decode(b"ab\0cd".to_vec()).unwrap_err().contains("binary"));
        let err = decode(vec![b'a', b'b', 0xff, 0xfe]).unwrap_err();
        assert!(err.contains("invalid UTF-8 at byte 2"), "{err}");
        assert_eq!(decode(b"fine".to_vec()).unwrap(), "fine");
    }

    #[test]
    fn empty_documents_are_skipped() {
        let loaded = parse(Format::Text, "e.txt", "  \n\n ".into(), 5, 0);
        assert!(loaded.docs.is_empty());
        assert!(loaded.skipped[0].reason.contains("empty"));
    }

    #[test]
    fn text_title_is_the_first_line() {
        let loaded = parse(
            Format::Text,
            "notes/on-call.txt",
            "On-call guide\n\nBody text.".into(),
            10,
            0,
        );
        assert_eq!(loaded.docs[0].title, "On-call guide");
        assert_eq!(loaded.docs[0].format, "text");
    }
}
