//! QA JSONL: one item per line,
//! `{"id", "question", "answers": [..], "gold_doc_ids": [..] | {id: grade}, "gold_chunk_ids": [..], "unanswerable": bool}`.
//! The legacy form of `sample-data/eval/qa.jsonl` (`"answer": "..."`, `"doc_paths": [..]`) is
//! read too: `answer` becomes the only answer, `doc_paths` gold documents of grade 1.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::err;
use crate::eval::set::{Item, NewSet, SetStatus};
use crate::eval::EvalError;
use crate::util::sha256_hex;

const FIELDS: &[&str] = &[
    "id",
    "question",
    "answers",
    "answer",
    "gold_doc_ids",
    "doc_paths",
    "gold_chunk_ids",
    "unanswerable",
];

const SHAPE: &str = "each line is {\"id\", \"question\", \"answers\": [..], \"gold_doc_ids\"?, \"gold_chunk_ids\"?, \"unanswerable\"?}";

pub fn read(path: &Path, name: &str, collection: Option<&str>) -> Result<NewSet, EvalError> {
    let bytes = std::fs::read(path).map_err(|e| err(path, format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| err(path, format!("not UTF-8 text ({e}); save it as UTF-8")))?;
    let items = parse(path, &text)?;
    Ok(NewSet {
        name: name.to_string(),
        source: path.display().to_string(),
        format: "jsonl".into(),
        sha256: sha256_hex(text.as_bytes()),
        collection: collection.map(str::to_string),
        status: SetStatus::Accepted,
        meta: serde_json::json!({"kind": "qa"}),
        items,
    })
}

/// Parses every line; the first bad one is an error naming the file, the line and the field.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Item>, EvalError> {
    let mut items = Vec::new();
    let mut keys = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |detail: String| err(path, format!("line {}: {detail}", i + 1));
        let value: Value =
            serde_json::from_str(line).map_err(|e| at(format!("not JSON: {e} ({SHAPE})")))?;
        let Value::Object(map) = value else {
            return Err(at(format!("not a JSON object ({SHAPE})")));
        };
        let item = item(&map).map_err(at)?;
        if !keys.insert(item.key.clone()) {
            return Err(at(format!(
                "field `id`: `{}` appears twice; ids must be unique",
                item.key
            )));
        }
        items.push(item);
    }
    if items.is_empty() {
        return Err(err(path, format!("no items ({SHAPE})")));
    }
    Ok(items)
}

fn item(map: &Map<String, Value>) -> Result<Item, String> {
    if let Some(unknown) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "field `{unknown}` is not known (known: {})",
            FIELDS.join(", ")
        ));
    }
    let key = match map.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        None => return Err("field `id` is missing".into()),
        _ => return Err("field `id` must be a non-empty string or a number".into()),
    };
    let question = match map.get("question") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::String(_)) => return Err("field `question` is empty".into()),
        None => return Err("field `question` is missing".into()),
        _ => return Err("field `question` must be a string".into()),
    };
    let mut answers = match map.get("answers") {
        Some(v) => strings(v, "answers")?,
        None => Vec::new(),
    };
    match map.get("answer") {
        Some(Value::String(s)) if !s.trim().is_empty() => answers.insert(0, s.clone()),
        Some(Value::Null) | None => {}
        Some(_) => return Err("field `answer` must be a non-empty string".into()),
    }
    if let Some(empty) = answers.iter().position(|a| a.trim().is_empty()) {
        return Err(format!("field `answers`: answer {} is empty", empty + 1));
    }
    let mut gold_docs = match map.get("gold_doc_ids") {
        Some(v) => gold_docs(v)?,
        None => BTreeMap::new(),
    };
    if let Some(v) = map.get("doc_paths") {
        for d in strings(v, "doc_paths")? {
            gold_docs.entry(d).or_insert(1);
        }
    }
    let gold_chunks = match map.get("gold_chunk_ids") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_i64())
            .collect::<Option<Vec<i64>>>()
            .ok_or("field `gold_chunk_ids` must be an array of chunk ids (numbers)")?,
        Some(_) => return Err("field `gold_chunk_ids` must be an array of chunk ids".into()),
        None => Vec::new(),
    };
    let unanswerable = match map.get("unanswerable") {
        Some(Value::Bool(b)) => *b,
        None | Some(Value::Null) => false,
        Some(_) => return Err("field `unanswerable` must be true or false".into()),
    };
    if unanswerable && !answers.is_empty() {
        return Err("field `answers`: an item marked unanswerable has no answers; drop the answers or the flag".into());
    }
    if !unanswerable && answers.is_empty() {
        return Err("field `answers` is missing or empty; give at least one answer, or mark the item \"unanswerable\": true".into());
    }
    Ok(Item {
        key,
        question,
        answers,
        gold_docs,
        gold_chunks,
        unanswerable,
        draft: false,
    })
}

fn strings(v: &Value, field: &str) -> Result<Vec<String>, String> {
    let Value::Array(a) = v else {
        return Err(format!("field `{field}` must be an array of strings"));
    };
    a.iter()
        .map(|s| s.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| format!("field `{field}` must be an array of strings"))
}

fn gold_docs(v: &Value) -> Result<BTreeMap<String, u32>, String> {
    const WHAT: &str =
        "field `gold_doc_ids` must be an array of document ids or an object {id: grade}";
    match v {
        Value::Array(_) => Ok(strings(v, "gold_doc_ids")?
            .into_iter()
            .map(|d| (d, 1))
            .collect()),
        Value::Object(map) => map
            .iter()
            .map(
                |(k, g)| match g.as_u64().and_then(|g| u32::try_from(g).ok()) {
                    Some(g) if g > 0 => Ok((k.clone(), g)),
                    _ => Err(format!(
                        "field `gold_doc_ids`: grade of `{k}` must be a whole number above 0"
                    )),
                },
            )
            .collect(),
        _ => Err(WHAT.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Vec<Item>, String> {
        parse(Path::new("/sets/qa.jsonl"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn the_sample_set_imports_with_45_items() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/eval/qa.jsonl");
        let set = read(&path, "sample", Some("sample")).unwrap();
        assert_eq!(set.items.len(), 45);
        assert_eq!(set.items[0].key, "q01");
        assert_eq!(set.items[0].answers.len(), 1);
        assert_eq!(set.items[0].gold_docs.get("handbook/on-call.md"), Some(&1));
        assert_eq!(set.sha256.len(), 64);
    }

    #[test]
    fn new_form_with_grades_numbers_and_unanswerable() {
        let items = parse_text(
            "{\"id\": 7, \"question\": \"q?\", \"answers\": [\"a\", \"b\"], \"gold_doc_ids\": {\"d1\": 2, \"d2\": 1}, \"gold_chunk_ids\": [4]}\n\
             {\"id\": \"x\", \"question\": \"r?\", \"unanswerable\": true, \"gold_doc_ids\": [\"d3\"]}\n",
        )
        .unwrap();
        assert_eq!(items[0].key, "7");
        assert_eq!(items[0].answers, ["a", "b"]);
        assert_eq!(items[0].gold_docs["d1"], 2);
        assert_eq!(items[0].gold_chunks, [4]);
        assert!(items[1].unanswerable && items[1].answers.is_empty());
        assert_eq!(items[1].gold_docs["d3"], 1);
    }

    #[test]
    fn bad_lines_name_the_file_line_and_field() {
        let cases = [
            ("{\"id\": \"a\", \"question\": \"q\", \"answers\": [\"x\"], \"colour\": 1}", "`colour`"),
            ("{\"id\": \"a\", \"question\": \" \", \"answers\": [\"x\"]}", "`question` is empty"),
            ("{\"id\": \"a\", \"question\": \"q\"}", "`answers`"),
            ("{\"id\": \"a\", \"question\": \"q\", \"answers\": [\"x\"], \"unanswerable\": true}", "unanswerable"),
            ("{\"id\": \"a\", \"question\": \"q\", \"answers\": [\"x\"], \"gold_doc_ids\": {\"d\": 0}}", "grade"),
            ("{\"question\": \"q\", \"answers\": [\"x\"]}", "`id` is missing"),
            ("not json", "not JSON"),
        ];
        for (line, field) in cases {
            let e = parse_text(&format!(
                "{{\"id\": \"ok\", \"question\": \"q\", \"answers\": [\"x\"]}}\n{line}\n"
            ))
            .unwrap_err();
            assert!(
                e.contains("/sets/qa.jsonl") && e.contains("line 2") && e.contains(field),
                "{line}: {e}"
            );
        }
        let e = parse_text(
            "{\"id\": 1, \"question\": \"q\", \"answers\": [\"x\"]}\n\n{\"id\": \"1\", \"question\": \"r\", \"answers\": [\"y\"]}\n",
        )
        .unwrap_err();
        assert!(e.contains("line 3") && e.contains("twice"), "{e}");
    }
}
