//! Question-answer evaluation sets: JSONL, one item per line,
//! `{"id": "q01", "question": "...", "answer": "...", "doc_paths": ["handbook/pto.md"]}`.
//! `doc_paths` name the documents that hold the answer, relative to an ingested folder.

use serde::Deserialize;
use std::path::Path;

use super::EvalError;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct QaItem {
    pub id: String,
    pub question: String,
    pub answer: String,
    #[serde(default)]
    pub doc_paths: Vec<String>,
}

impl QaItem {
    /// Whether `path` (a stored, usually absolute, source path) is one of this item's
    /// documents: equal, or ending in `/<doc_path>`.
    pub fn names_document(&self, path: &str) -> bool {
        self.doc_paths.iter().any(|d| names(path, d))
    }
}

fn names(stored: &str, relative: &str) -> bool {
    let relative = relative.trim_start_matches("./");
    !relative.is_empty()
        && (stored == relative
            || stored
                .strip_suffix(relative)
                .is_some_and(|head| head.ends_with('/')))
}

/// Loads a QA set; an unreadable line is an error naming the file, the line and the field.
pub fn load(path: &Path) -> Result<Vec<QaItem>, EvalError> {
    let err = |detail: String| EvalError::Dataset {
        path: path.display().to_string(),
        detail,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let mut items = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let item: QaItem = serde_json::from_str(line).map_err(|e| {
            err(format!(
                "line {line_no}: {e} (each line is {{\"id\", \"question\", \"answer\", \"doc_paths\"}})"
            ))
        })?;
        for (field, value) in [
            ("id", &item.id),
            ("question", &item.question),
            ("answer", &item.answer),
        ] {
            if value.trim().is_empty() {
                return Err(err(format!("line {line_no}: field `{field}` is empty")));
            }
        }
        if !ids.insert(item.id.clone()) {
            return Err(err(format!(
                "line {line_no}: id `{}` appears twice",
                item.id
            )));
        }
        items.push(item);
    }
    if items.is_empty() {
        return Err(err("no items".into()));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_set_loads_and_names_its_documents() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/eval/qa.jsonl");
        let items = load(&path).unwrap();
        assert_eq!(items.len(), 45);
        assert!(items[0].names_document("/home/me/sample-data/corpus/handbook/on-call.md"));
        assert!(!items[0].names_document("/home/me/corpus/handbook/other-on-call.md"));
    }

    #[test]
    fn bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qa.jsonl");
        std::fs::write(
            &path,
            "{\"id\": \"a\", \"question\": \"q\", \"answer\": \"x\"}\n\n{\"id\": \"b\", \"question\": \"q\"}\n",
        )
        .unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(
            e.contains("qa.jsonl") && e.contains("line 3") && e.contains("answer"),
            "{e}"
        );
        std::fs::write(
            &path,
            "{\"id\": \"a\", \"question\": \"q\", \"answer\": \"x\"}\n{\"id\": \"a\", \"question\": \"r\", \"answer\": \"y\"}\n",
        )
        .unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("twice"), "{e}");
    }
}
