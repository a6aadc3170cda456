//! BEIR folders: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::EvalError;

#[derive(Debug, Clone)]
pub struct Query {
    pub id: String,
    pub text: String,
}

/// Relevance judgements: query id -> (document id -> grade).
pub type Qrels = HashMap<String, HashMap<String, u32>>;

pub struct Beir {
    pub dir: PathBuf,
    pub corpus: PathBuf,
    pub queries: Vec<Query>,
    pub qrels: Qrels,
}

fn err(path: &Path, detail: impl Into<String>) -> EvalError {
    EvalError::Dataset {
        path: path.display().to_string(),
        detail: detail.into(),
    }
}

pub fn load(dir: &Path, split: &str) -> Result<Beir, EvalError> {
    let corpus = dir.join("corpus.jsonl");
    if !corpus.is_file() {
        return Err(err(
            &corpus,
            "missing; a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/SPLIT.tsv",
        ));
    }
    let qrels_path = dir.join("qrels").join(format!("{split}.tsv"));
    let qrels = load_qrels(&qrels_path)?;
    let queries_path = dir.join("queries.jsonl");
    let text =
        std::fs::read_to_string(&queries_path).map_err(|e| err(&queries_path, e.to_string()))?;
    let mut queries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| err(&queries_path, format!("line {}: {e}", n + 1)))?;
        let id = match &v["_id"] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return Err(err(&queries_path, format!("line {}: missing `_id`", n + 1))),
        };
        let text = v["text"].as_str().unwrap_or_default().to_string();
        if qrels.contains_key(&id) && !text.trim().is_empty() {
            queries.push(Query { id, text });
        }
    }
    if queries.is_empty() {
        return Err(err(
            &queries_path,
            format!("no query has judgements in qrels/{split}.tsv"),
        ));
    }
    Ok(Beir {
        dir: dir.to_path_buf(),
        corpus,
        queries,
        qrels,
    })
}

fn load_qrels(path: &Path) -> Result<Qrels, EvalError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(path, format!("{e} (is the split name right?)")))?;
    let mut qrels: Qrels = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        if n == 0 && cols.first().is_some_and(|c| c.contains("query")) {
            continue; // header
        }
        if line.trim().is_empty() {
            continue;
        }
        if cols.len() < 3 {
            return Err(err(
                path,
                format!("line {}: expected query-id, corpus-id, score", n + 1),
            ));
        }
        let grade: u32 = cols[2].trim().parse().map_err(|_| {
            err(
                path,
                format!("line {}: score `{}` is not a whole number", n + 1, cols[2]),
            )
        })?;
        if grade > 0 {
            qrels
                .entry(cols[0].to_string())
                .or_default()
                .insert(cols[1].to_string(), grade);
        }
    }
    Ok(qrels)
}
