//! An item's metrics from its outcome: the ranking against the gold documents and chunks,
//! and the answer against the gold answers and sources. The metric functions themselves live
//! once in `metrics` (ranking) and `answer` (answers); this module only applies them.
//!
//! Metric names stored per item (a metric that does not apply to an item is absent):
//! - `doc_recall`, `doc_precision`, `doc_mrr`, `doc_ndcg`, `doc_hit` at the run's `metrics_k`,
//!   when the item has gold documents; `chunk_*` likewise for gold chunks;
//! - `em`, `f1` for answerable items, on the answer without its `[n]` markers; `abstention` (1 when the answer abstains exactly when the
//!   item is unanswerable) for every item;
//! - with RAG and gold sources: `cites_gold` (1 when a cited source is gold), `cite_precision`
//!   (when the answer cites anything), `cite_recall`;
//! - `grounded`: the share of answer sentences an offered source supports (attribution);
//! - `latency_ms`, `first_token_ms`, `tokens_per_s` (added by the run).

use std::collections::{BTreeMap, HashMap};

use super::answer::{self, same_document, CitedRef, GoldRefs};
use super::metrics::{hit_rate_at, mrr_at, ndcg_at, precision_at, recall_at};
use super::set::Item;
use crate::rag::{Answer, Source};
use crate::retrieve::Hit;

/// A ranking in the item's terms: documents named by the gold id they match (so they compare
/// with the judgements), else by their stored path; first occurrence kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    pub documents: Vec<String>,
    pub chunks: Vec<i64>,
}

impl Ranking {
    pub fn of_hits(hits: &[Hit], item: &Item) -> Ranking {
        let mut documents: Vec<String> = Vec::new();
        let mut chunks = Vec::with_capacity(hits.len());
        for h in hits {
            let key = gold_key(item, &h.source_path);
            if !documents.contains(&key) {
                documents.push(key);
            }
            chunks.push(h.chunk_id);
        }
        Ranking { documents, chunks }
    }

    pub fn metrics(&self, item: &Item, k: usize) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        if item.gold_docs.values().any(|g| *g > 0) {
            let qrels: HashMap<String, u32> = item
                .gold_docs
                .iter()
                .map(|(d, g)| (d.clone(), *g))
                .collect();
            put_ranking(&mut out, "doc", &self.documents, &qrels, k);
        }
        if !item.gold_chunks.is_empty() {
            let qrels: HashMap<i64, u32> = item.gold_chunks.iter().map(|c| (*c, 1)).collect();
            put_ranking(&mut out, "chunk", &self.chunks, &qrels, k);
        }
        out
    }
}

fn put_ranking<T: Eq + std::hash::Hash>(
    out: &mut BTreeMap<String, f64>,
    level: &str,
    ranked: &[T],
    qrels: &HashMap<T, u32>,
    k: usize,
) {
    out.insert(format!("{level}_recall"), recall_at(ranked, qrels, k));
    out.insert(format!("{level}_precision"), precision_at(ranked, qrels, k));
    out.insert(format!("{level}_mrr"), mrr_at(ranked, qrels, k));
    out.insert(format!("{level}_ndcg"), ndcg_at(ranked, qrels, k));
    out.insert(format!("{level}_hit"), hit_rate_at(ranked, qrels, k));
}

/// The gold document id a stored path is, or the path itself.
fn gold_key(item: &Item, path: &str) -> String {
    item.gold_docs
        .keys()
        .find(|g| same_document(path, g))
        .cloned()
        .unwrap_or_else(|| path.to_string())
}

pub fn source_is_gold(item: &Item, source: &Source) -> bool {
    item.gold_docs
        .iter()
        .any(|(g, grade)| *grade > 0 && same_document(&source.source_path, g))
        || item.gold_chunks.contains(&source.chunk_id)
}

fn gold_refs(item: &Item) -> GoldRefs {
    GoldRefs {
        documents: item
            .gold_docs
            .iter()
            .filter(|(_, g)| **g > 0)
            .map(|(d, _)| d.clone())
            .collect(),
        chunks: item.gold_chunks.clone(),
    }
}

/// Source numbers the attribution found support in (not the model's own citations).
pub fn attributed(answer: &Answer) -> Vec<usize> {
    answer
        .attribution
        .as_ref()
        .map(|a| a.attributed.clone())
        .unwrap_or_default()
}

pub fn attribution_json(answer: &Answer) -> serde_json::Value {
    answer
        .attribution
        .as_ref()
        .and_then(|a| serde_json::to_value(a).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// The answer metrics `answer_metrics` writes, all higher-is-better: what a fine-tune can pick
/// its checkpoint by (retrieval metrics do not depend on the model).
pub const ANSWER_METRICS: &[&str] = &[
    "f1",
    "em",
    "abstention",
    "cites_gold",
    "cite_precision",
    "cite_recall",
    "grounded",
];

/// The answer metrics only RAG answers have (citations and attribution need sources).
pub const RAG_ANSWER_METRICS: &[&str] =
    &["cites_gold", "cite_precision", "cite_recall", "grounded"];

/// Every answer metric that applies to the item (see the module doc).
pub fn answer_metrics(item: &Item, answer: &Answer, k: usize) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    // `[n]` markers are citations, not answer words.
    let text = &crate::rag::sentences::strip_citations(&answer.text);
    if !item.unanswerable && !item.answers.is_empty() {
        out.insert("em".into(), answer::exact_match(text, &item.answers));
        out.insert("f1".into(), answer::token_f1(text, &item.answers));
    }
    out.insert(
        "abstention".into(),
        answer::abstention_correct(text, item.unanswerable),
    );
    let gold = gold_refs(item);
    let has_gold = !gold.documents.is_empty() || !gold.chunks.is_empty();
    if answer.rag && has_gold {
        let cited: Vec<CitedRef> = answer
            .sources
            .iter()
            .filter(|s| answer.cited.contains(&s.n))
            .map(|s| CitedRef {
                document: s.source_path.clone(),
                chunk_id: s.chunk_id,
            })
            .collect();
        let scores = answer::citation_scores(&cited, &gold);
        out.insert(
            "cites_gold".into(),
            if scores.precision.unwrap_or(0.0) > 0.0 {
                1.0
            } else {
                0.0
            },
        );
        if let Some(p) = scores.precision {
            out.insert("cite_precision".into(), p);
        }
        if let Some(r) = scores.recall {
            out.insert("cite_recall".into(), r);
        }
        if let Some(r) = &answer.retrieval {
            out.extend(Ranking::of_hits(&r.hits, item).metrics(item, k));
        }
    }
    if let Some(a) = &answer.attribution {
        if !a.sentences.is_empty() {
            out.insert("grounded".into(), a.grounded_share);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> Item {
        Item {
            key: "q".into(),
            question: "?".into(),
            answers: vec!["400 dollars".into()],
            gold_docs: [("handbook/on-call.md".to_string(), 1)]
                .into_iter()
                .collect(),
            gold_chunks: vec![],
            unanswerable: false,
            draft: false,
        }
    }

    fn hit(chunk: i64, path: &str) -> Hit {
        Hit {
            rank: 0,
            chunk_id: chunk,
            document_id: chunk,
            source_path: path.into(),
            title: String::new(),
            heading_path: String::new(),
            ordinal: 0,
            byte_start: 0,
            byte_end: 0,
            text: String::new(),
            trace: Default::default(),
        }
    }

    #[test]
    fn rankings_name_documents_by_their_gold_id_and_score_at_k() {
        let hits = [
            hit(1, "/c/handbook/pto.md"),
            hit(2, "/c/handbook/on-call.md"),
            hit(3, "/c/handbook/on-call.md"),
        ];
        let r = Ranking::of_hits(&hits, &item());
        assert_eq!(r.documents, ["/c/handbook/pto.md", "handbook/on-call.md"]);
        assert_eq!(r.chunks, [1, 2, 3]);
        let m = r.metrics(&item(), 10);
        assert_eq!(m["doc_mrr"], 0.5);
        assert_eq!(m["doc_recall"], 1.0);
        assert_eq!(m["doc_hit"], 1.0);
        assert!(
            !m.contains_key("chunk_recall"),
            "no gold chunks: no chunk metrics"
        );
        assert_eq!(r.metrics(&item(), 1)["doc_hit"], 0.0);
    }

    fn answer(text: &str, cited: Vec<usize>) -> Answer {
        let source = |n: usize, path: &str| Source {
            n,
            chunk_id: n as i64,
            document_id: n as i64,
            source_path: path.into(),
            title: String::new(),
            heading_path: String::new(),
            text: String::new(),
        };
        Answer {
            question: "?".into(),
            text: text.into(),
            model: "m".into(),
            backend: "cpu".into(),
            rag: true,
            sources: vec![
                source(1, "/c/handbook/pto.md"),
                source(2, "/c/handbook/on-call.md"),
            ],
            cited,
            stats: crate::generate::GenerateStats {
                prompt_tokens: 0,
                completion_tokens: 0,
                time_to_first_token_ms: 0.0,
                decode_tokens_per_s: 0.0,
                total_ms: 0.0,
                finish: crate::generate::FinishReason::Stop,
                step_ms: Default::default(),
            },
            retrieval: None,
            pinned: vec![],
            dropped: Default::default(),
            attribution: None,
        }
    }

    #[test]
    fn every_answer_metric_written_is_listed_as_one() {
        let m = answer_metrics(&item(), &answer("400 dollars [2].", vec![2]), 10);
        for key in m.keys() {
            assert!(
                ANSWER_METRICS.contains(&key.as_str()),
                "{key} is not listed"
            );
        }
        assert!(RAG_ANSWER_METRICS
            .iter()
            .all(|k| ANSWER_METRICS.contains(k)));
    }

    #[test]
    fn answers_score_text_citations_and_abstention() {
        let m = answer_metrics(&item(), &answer("400 dollars [2].", vec![2]), 10);
        assert_eq!(m["em"], 1.0);
        assert_eq!(m["f1"], 1.0);
        assert_eq!(m["cites_gold"], 1.0);
        assert_eq!(m["cite_precision"], 1.0);
        assert_eq!(m["abstention"], 1.0);
        let m = answer_metrics(&item(), &answer("400 [1]", vec![1]), 10);
        assert_eq!(
            (m["cites_gold"], m["cite_precision"], m["cite_recall"]),
            (0.0, 0.0, 0.0)
        );
        let m = answer_metrics(&item(), &answer("I don't know.", vec![]), 10);
        assert_eq!(
            m["abstention"], 0.0,
            "an answerable item must not be abstained from"
        );
        assert!(
            !m.contains_key("cite_precision"),
            "nothing cited: precision undefined"
        );
        assert_eq!(m["cites_gold"], 0.0);
        let mut unanswerable = item();
        unanswerable.unanswerable = true;
        unanswerable.answers.clear();
        let m = answer_metrics(&unanswerable, &answer("I don't know.", vec![]), 10);
        assert_eq!(m["abstention"], 1.0);
        assert!(!m.contains_key("f1"));
    }
}
