//! JSON Lines: one document per line. BEIR's `{"_id", "title", "text"}` is accepted, as are
//! `id` and `content`/`body`. A malformed line is skipped with its line number.

use serde::Deserialize;

use super::Loaded;
use crate::ingest::types::{LoadedDoc, Section, Skipped};
use crate::util::sha256_hex;

#[derive(Deserialize)]
struct Record {
    #[serde(alias = "id", alias = "doc_id")]
    _id: Option<serde_json::Value>,
    #[serde(default)]
    title: Option<String>,
    #[serde(alias = "content", alias = "body")]
    text: Option<String>,
}

pub fn parse(path: &str, content: &str, size: u64, mtime: i64) -> Loaded {
    let mut loaded = Loaded::default();
    let mut seen = std::collections::HashSet::new();
    for (n, line) in content.lines().enumerate() {
        let line_no = n + 1;
        if line.trim().is_empty() {
            continue;
        }
        let skip = |reason: String| Skipped {
            path: format!("{path}:{line_no}"),
            reason,
        };
        let record: Record = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(e) => {
                loaded.skipped.push(skip(format!(
                    "line {line_no}: not a JSON object with `_id` and `text` ({e})"
                )));
                continue;
            }
        };
        let id = match record._id {
            Some(serde_json::Value::String(s)) if !s.is_empty() => s,
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => {
                loaded
                    .skipped
                    .push(skip(format!("line {line_no}: missing `_id` (or `id`)")));
                continue;
            }
        };
        let text = record.text.unwrap_or_default();
        let title = record.title.unwrap_or_default().trim().to_string();
        if text.trim().is_empty() && title.is_empty() {
            loaded
                .skipped
                .push(skip(format!("line {line_no}: record {id} has no text")));
            continue;
        }
        if !seen.insert(id.clone()) {
            loaded
                .skipped
                .push(skip(format!("line {line_no}: duplicate id {id}")));
            continue;
        }
        loaded.docs.push(LoadedDoc {
            source_path: format!("{path}#{id}"),
            content_sha256: sha256_hex(format!("{title}\u{0}{text}").as_bytes()),
            sections: vec![Section {
                heading_path: String::new(),
                start: 0,
                end: text.len(),
            }],
            title,
            text,
            format: "jsonl",
            size: line.len() as u64,
            mtime,
        });
    }
    let _ = size;
    loaded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beir_records_load_and_bad_lines_are_reported_by_number() {
        let input = "{\"_id\": \"4983\", \"title\": \"Microstructure\", \"text\": \"Alterations of the architecture.\"}\n\
                     not json\n\
                     {\"id\": 7, \"text\": \"numeric id\"}\n\
                     {\"text\": \"no id\"}\n\
                     {\"_id\": \"4983\", \"text\": \"again\"}\n";
        let loaded = parse("c.jsonl", input, input.len() as u64, 0);
        let paths: Vec<_> = loaded.docs.iter().map(|d| d.source_path.as_str()).collect();
        assert_eq!(paths, ["c.jsonl#4983", "c.jsonl#7"]);
        assert_eq!(loaded.docs[0].title, "Microstructure");
        let reasons: Vec<_> = loaded.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert!(reasons[0].starts_with("line 2: not a JSON object"));
        assert!(reasons[1].starts_with("line 4: missing `_id`"));
        assert!(reasons[2].starts_with("line 5: duplicate id"));
    }
}
