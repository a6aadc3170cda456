//! `eval retrieval`: ingest a BEIR corpus into its own collection (incrementally, so only once)
//! and score vector, keyword and hybrid retrieval on its labelled queries.

use serde::Serialize;
use std::collections::HashSet;
use std::time::Instant;
use tokenizers::Tokenizer;

use super::beir::Beir;
use super::metrics::{mrr_at, ndcg_at, recall_at};
use super::EvalError;
use crate::embed::Embedder;
use crate::ingest::{pipeline, ChunkSettings, IngestReport, IngestRequest, Progress};
use crate::retrieve::{search_embedded, Mode, SearchParams};
use crate::store::Store;

#[derive(Debug, Clone, Serialize)]
pub struct ModeScores {
    pub mode: Mode,
    pub ndcg_at_10: f64,
    pub recall_at_100: f64,
    pub mrr_at_10: f64,
    pub mean_search_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetrievalEval {
    pub dataset: String,
    pub collection: String,
    pub queries: usize,
    pub ingest: IngestReport,
    pub query_embedding_s: f64,
    pub scores: Vec<ModeScores>,
}

pub struct EvalSetup<'a> {
    pub collection: &'a str,
    pub settings: ChunkSettings,
    pub params: SearchParams,
    pub limit: Option<usize>,
}

pub fn run(
    store: &Store,
    embedder: &dyn Embedder,
    tokenizer: &Tokenizer,
    beir: &Beir,
    setup: &EvalSetup,
    progress: &dyn Progress,
) -> Result<RetrievalEval, EvalError> {
    let request = IngestRequest {
        collection: setup.collection.to_string(),
        roots: vec![beir.corpus.clone()],
        settings: setup.settings,
        max_file_bytes: u64::MAX,
        prune: true,
    };
    let ingest = pipeline::ingest(store, embedder, tokenizer, &request, progress)?;

    let queries: Vec<_> = beir
        .queries
        .iter()
        .take(setup.limit.unwrap_or(usize::MAX))
        .collect();
    let t = Instant::now();
    let texts: Vec<String> = queries.iter().map(|q| q.text.clone()).collect();
    let vectors = embedder.embed(&texts)?;
    let query_embedding_s = t.elapsed().as_secs_f64();

    let mut scores = Vec::new();
    for mode in [Mode::Vector, Mode::Keyword, Mode::Hybrid] {
        // Recall@100 is over documents: read enough chunks that 100 documents remain after
        // collapsing chunks of the same document.
        let params = SearchParams {
            k: 300,
            mode,
            candidates: setup.params.candidates.max(300),
            ..setup.params
        };
        let (mut ndcg, mut recall, mut mrr, mut ms) = (0.0, 0.0, 0.0, 0.0);
        for (query, vector) in queries.iter().zip(&vectors) {
            let result =
                search_embedded(store, setup.collection, &query.text, Some(vector), &params)?;
            ms += result.timings.total_ms;
            let mut ranked = document_ids(result.hits.iter().map(|h| h.source_path.as_str()));
            ranked.truncate(100);
            let relevant = &beir.qrels[&query.id];
            ndcg += ndcg_at(&ranked, relevant, 10);
            recall += recall_at(&ranked, relevant, 100);
            mrr += mrr_at(&ranked, relevant, 10);
        }
        let n = queries.len().max(1) as f64;
        scores.push(ModeScores {
            mode,
            ndcg_at_10: ndcg / n,
            recall_at_100: recall / n,
            mrr_at_10: mrr / n,
            mean_search_ms: ms / n,
        });
    }
    Ok(RetrievalEval {
        dataset: beir.dir.display().to_string(),
        collection: setup.collection.to_string(),
        queries: queries.len(),
        ingest,
        query_embedding_s,
        scores,
    })
}

/// Chunk hits to BEIR document ids (`corpus.jsonl#ID`), first occurrence kept.
pub fn document_ids<'a>(paths: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = HashSet::new();
    paths
        .map(|p| p.rsplit_once('#').map_or(p, |(_, id)| id).to_string())
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_hits_collapse_to_documents_in_rank_order() {
        let ids = document_ids(
            [
                "/d/corpus.jsonl#7",
                "/d/corpus.jsonl#3",
                "/d/corpus.jsonl#7",
            ]
            .into_iter(),
        );
        assert_eq!(ids, ["7", "3"]);
    }
}
