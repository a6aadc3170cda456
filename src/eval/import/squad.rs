//! SQuAD v1.1 / v2.0 JSON: `data[].paragraphs[].{context, qas[]}`. Each context becomes a
//! document `<title slug>/<paragraph index>.txt` of the set's corpus; each question an item
//! whose gold document is its context's file and whose answer spans are kept so the gold
//! chunks can be found once the corpus is ingested (see `squad_corpus`).

use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::err;
use crate::eval::set::{Item, NewSet, SetStatus};
use crate::eval::EvalError;
use crate::util::sha256_hex;

/// One context, as a document of the corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextDoc {
    /// Path relative to the corpus folder: `title-slug/3.txt`.
    pub rel: String,
    pub text: String,
}

/// Where an answer is in its context document: a byte range (None when `answer_start` does
/// not point at the answer text), and the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub range: Option<(usize, usize)>,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct SquadSet {
    pub set: NewSet,
    pub docs: Vec<ContextDoc>,
    /// Per item (same order as `set.items`): its context document (index into `docs`,
    /// None for an unanswerable item) and its answer spans.
    pub spans: Vec<(Option<usize>, Vec<Span>)>,
}

/// The collection a SQuAD set's contexts go to unless `--collection` says otherwise.
pub fn default_collection(set_name: &str) -> String {
    format!("squad-{set_name}")
}

pub fn read(path: &Path, name: &str, collection: Option<&str>) -> Result<SquadSet, EvalError> {
    let bytes = std::fs::read(path).map_err(|e| err(path, format!("cannot read: {e}")))?;
    let root: Value = serde_json::from_slice(&bytes).map_err(|e| {
        err(
            path,
            format!("not JSON: {e} (a SQuAD file is {{\"data\": [{{\"title\", \"paragraphs\": [..]}}]}})"),
        )
    })?;
    let (items, docs, spans) = parse(&root).map_err(|detail| err(path, detail))?;
    let version = root["version"].as_str().unwrap_or("").to_string();
    Ok(SquadSet {
        set: NewSet {
            name: name.to_string(),
            source: path.display().to_string(),
            format: "squad".into(),
            sha256: sha256_hex(&bytes),
            collection: Some(
                collection
                    .map(str::to_string)
                    .unwrap_or_else(|| default_collection(name)),
            ),
            status: SetStatus::Accepted,
            meta: serde_json::json!({"kind": "qa", "squad_version": version, "contexts": docs.len()}),
            items,
        },
        docs,
        spans,
    })
}

type Parsed = (Vec<Item>, Vec<ContextDoc>, Vec<(Option<usize>, Vec<Span>)>);

fn parse(root: &Value) -> Result<Parsed, String> {
    let data = root["data"]
        .as_array()
        .ok_or("field `data` is missing or not an array (is this a SQuAD file?)")?;
    let (mut items, mut docs, mut spans) = (Vec::new(), Vec::new(), Vec::new());
    let mut keys = HashSet::new();
    let mut slugs = HashSet::new();
    for (a, article) in data.iter().enumerate() {
        let title = article["title"].as_str().unwrap_or("");
        let mut base = slug(title);
        if base.is_empty() {
            base = format!("article-{a}");
        }
        let mut folder = base.clone();
        let mut n = 2;
        while !slugs.insert(folder.clone()) {
            folder = format!("{base}-{n}");
            n += 1;
        }
        let paragraphs = article["paragraphs"]
            .as_array()
            .ok_or_else(|| format!("data[{a}]: field `paragraphs` is missing or not an array"))?;
        for (p, paragraph) in paragraphs.iter().enumerate() {
            let at = format!("data[{a}].paragraphs[{p}]");
            let context = paragraph["context"]
                .as_str()
                .ok_or_else(|| format!("{at}: field `context` is missing or not a string"))?;
            let doc = docs.len();
            docs.push(ContextDoc {
                rel: format!("{folder}/{p}.txt"),
                text: context.to_string(),
            });
            let qas = paragraph["qas"]
                .as_array()
                .ok_or_else(|| format!("{at}: field `qas` is missing or not an array"))?;
            for (q, qa) in qas.iter().enumerate() {
                let at = format!("{at}.qas[{q}]");
                let (item, item_spans) = question(qa, context, &docs[doc].rel)
                    .map_err(|detail| format!("{at}: {detail}"))?;
                if !keys.insert(item.key.clone()) {
                    return Err(format!(
                        "{at}: field `id`: `{}` appears twice; ids must be unique",
                        item.key
                    ));
                }
                spans.push(((!item.unanswerable).then_some(doc), item_spans));
                items.push(item);
            }
        }
    }
    if items.is_empty() {
        return Err("no questions (`data[].paragraphs[].qas[]` is empty)".into());
    }
    Ok((items, docs, spans))
}

fn question(qa: &Value, context: &str, rel: &str) -> Result<(Item, Vec<Span>), String> {
    let key = match &qa["id"] {
        Value::String(s) if !s.trim().is_empty() => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err("field `id` is missing or empty".into()),
    };
    let text = qa["question"]
        .as_str()
        .filter(|q| !q.trim().is_empty())
        .ok_or("field `question` is missing or empty")?;
    let impossible = qa["is_impossible"].as_bool().unwrap_or(false);
    let mut answers: Vec<String> = Vec::new();
    let mut spans = Vec::new();
    if !impossible {
        let list = qa["answers"]
            .as_array()
            .ok_or("field `answers` is missing or not an array")?;
        for (i, answer) in list.iter().enumerate() {
            let answer_text = answer["text"]
                .as_str()
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| format!("field `answers[{i}].text` is missing or empty"))?;
            let start = answer["answer_start"].as_u64().ok_or_else(|| {
                format!("field `answers[{i}].answer_start` is missing or not a number")
            })?;
            spans.push(Span {
                range: byte_range(context, start as usize, answer_text),
                text: answer_text.to_string(),
            });
            if !answers.iter().any(|a| a == answer_text) {
                answers.push(answer_text.to_string());
            }
        }
        if answers.is_empty() {
            return Err("field `answers` is empty and `is_impossible` is not true; give an answer or mark the question impossible".into());
        }
    }
    let gold_docs: BTreeMap<String, u32> = if impossible {
        BTreeMap::new()
    } else {
        BTreeMap::from([(rel.to_string(), 1)])
    };
    Ok((
        Item {
            key,
            question: text.to_string(),
            answers,
            gold_docs,
            gold_chunks: Vec::new(),
            unanswerable: impossible,
            draft: false,
        },
        spans,
    ))
}

/// SQuAD's `answer_start` counts characters; chunks count bytes. None when the offset does
/// not point at the answer text.
pub fn byte_range(context: &str, char_start: usize, answer: &str) -> Option<(usize, usize)> {
    let start = if char_start == context.chars().count() {
        context.len()
    } else {
        context.char_indices().nth(char_start)?.0
    };
    let end = start + answer.len();
    (context.get(start..end) == Some(answer)).then_some((start, end))
}

/// `The Rust Language!` -> `the-rust-language`, at most 60 characters.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.chars().count() >= 60 {
            break;
        }
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V2: &str = r#"{"version": "v2.0", "data": [{"title": "Café Lighthouses", "paragraphs": [
      {"context": "The café lighthouse was built in 1874 by Anna Berg.", "qas": [
        {"id": "a1", "question": "When was it built?", "answers": [
          {"text": "1874", "answer_start": 33}, {"text": "1874", "answer_start": 33},
          {"text": "in 1874", "answer_start": 30}]},
        {"id": "a2", "question": "Who painted it?", "answers": [], "is_impossible": true,
         "plausible_answers": [{"text": "Anna Berg", "answer_start": 41}]}]}]},
      {"title": "Café Lighthouses", "paragraphs": [{"context": "Second.", "qas": [
        {"id": 9, "question": "What?", "answers": [{"text": "Second", "answer_start": 0}]}]}]}]}"#;

    #[test]
    fn v2_questions_answers_and_spans() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.json");
        std::fs::write(&path, V2).unwrap();
        let s = read(&path, "v2", None).unwrap();
        assert_eq!(s.set.collection.as_deref(), Some("squad-v2"));
        assert_eq!(s.set.items.len(), 3);
        let a1 = &s.set.items[0];
        assert_eq!(a1.answers, ["1874", "in 1874"]);
        assert_eq!(a1.gold_docs["café-lighthouses/0.txt"], 1);
        let a2 = &s.set.items[1];
        assert!(a2.unanswerable && a2.answers.is_empty() && a2.gold_docs.is_empty());
        assert_eq!(s.spans[1], (None, vec![]));
        // "café" has a two-byte é: the byte range is one past the character offset.
        let (doc, spans) = &s.spans[0];
        let text = &s.docs[doc.unwrap()].text;
        let (b, e) = spans[0].range.unwrap();
        assert_eq!(&text[b..e], "1874");
        assert_eq!(s.docs[1].rel, "café-lighthouses-2/0.txt");
        assert_eq!(s.set.items[2].key, "9");
    }

    #[test]
    fn bad_questions_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.json");
        std::fs::write(&path, r#"{"data": [{"title": "t", "paragraphs": [{"context": "c", "qas": [{"id": "x", "question": "q?", "answers": []}]}]}]}"#).unwrap();
        let e = read(&path, "bad", None).unwrap_err().to_string();
        assert!(
            e.contains("bad.json")
                && e.contains("data[0].paragraphs[0].qas[0]")
                && e.contains("answers"),
            "{e}"
        );
        assert_eq!(byte_range("abc", 1, "bc"), Some((1, 3)));
        assert_eq!(byte_range("abc", 0, "bc"), None);
        assert_eq!(slug("  The Rust -- Language! "), "the-rust-language");
    }
}
