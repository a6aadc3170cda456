//! `eval retrieval`: a thin front end over sets and runs. The BEIR corpus is ingested into
//! its own collection (incrementally, so only once), its labelled queries become an
//! evaluation set (once), and vector, keyword and hybrid retrieval are each a retrieval-only
//! run of that set, executed in this process; the figures are read back from the stored
//! per-item results.

use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::time::Instant;
use tokenizers::Tokenizer;

use super::beir::Beir;
use super::config::{RunConfig, NO_MODEL};
use super::metrics::recall_at;
use super::run::{self, Engines};
use super::set::NewSet;
use super::store as evstore;
use super::EvalError;
use crate::embed::Embedder;
use crate::generate::Cancel;
use crate::ingest::{pipeline, ChunkSettings, IngestReport, IngestRequest, Progress};
use crate::retrieve::{Mode, SearchParams};
use crate::store::{DbWriter, Store};

#[derive(Debug, Clone, Serialize)]
pub struct ModeScores {
    pub mode: Mode,
    /// The run holding the per-query results (`lmdeck eval show RUN`).
    pub run: i64,
    pub ndcg_at_10: f64,
    pub recall_at_100: f64,
    pub mrr_at_10: f64,
    pub mean_search_ms: f64,
    /// Wall time of the run: query embedding, searches and writing the results.
    pub run_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetrievalEval {
    pub dataset: String,
    pub collection: String,
    /// The evaluation set the queries are stored as.
    pub set: String,
    pub queries: usize,
    pub ingest: IngestReport,
    pub scores: Vec<ModeScores>,
}

pub struct EvalSetup<'a> {
    pub collection: &'a str,
    pub split: &'a str,
    pub settings: ChunkSettings,
    pub params: SearchParams,
    pub limit: Option<usize>,
}

/// The set's id: the stored one when its content is the same, else the set stored now (under
/// a new name when the name is taken by other content, so nothing stored is replaced).
fn ensure_set(store: &Store, writer: &DbWriter, set: NewSet) -> Result<(i64, String), EvalError> {
    let mut name = set.name.clone();
    for n in 2.. {
        match evstore::get_set(store.conn(), &name) {
            Ok(existing) if existing.sha256 == set.sha256 => return Ok((existing.id, name)),
            Ok(_) => name = format!("{}-{n}", set.name),
            Err(evstore::EvalStoreError::NoSet(_)) => break,
            Err(e) => return Err(e.into()),
        }
    }
    let set = NewSet {
        name: name.clone(),
        ..set
    };
    let id = writer.call_with(move |tx| evstore::insert_set(tx, &set))?;
    Ok((id, name))
}

#[allow(clippy::too_many_arguments)]
pub fn run(
    store: &Store,
    writer: &DbWriter,
    embedder: &dyn Embedder,
    tokenizer: &Tokenizer,
    beir: &Beir,
    setup: &EvalSetup,
    base: &RunConfig,
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
    let set_name = format!("{}-{}", setup.collection, setup.split);
    let set = crate::eval::import::beir_set::read(
        &beir.dir,
        &set_name,
        Some(setup.collection),
        setup.split,
    )?;
    let (set_id, set_name) = ensure_set(store, writer, set)?;
    let engines = Engines {
        search: setup.params,
        store,
        writer,
        embedder: Some(embedder),
        generator: None,
        judge: None,
    };
    let mut scores = Vec::new();
    let mut queries = 0;
    for mode in [Mode::Vector, Mode::Keyword, Mode::Hybrid] {
        // Recall@100 is over documents: read enough chunks that 100 documents remain after
        // collapsing chunks of the same document.
        let config = RunConfig {
            name: mode.to_string(),
            collection: Some(setup.collection.to_string()),
            model: NO_MODEL.into(),
            rag: false,
            mode: mode.to_string(),
            k: 300,
            candidates: setup.params.candidates.max(300),
            rrf_k: setup.params.rrf_k,
            metrics_k: 10,
            ..base.clone()
        };
        let limit = setup.limit;
        let run_id = writer.call_with(move |tx| evstore::create_run(tx, set_id, &config, limit))?;
        let started = Instant::now();
        run::execute(
            &engines,
            run_id,
            &Cancel::default(),
            &mut |_: usize, _: usize, _: usize, _: &evstore::ItemResult| {},
        )?;
        let run_s = started.elapsed().as_secs_f64();
        let r = evstore::get_run(store.conn(), run_id)?;
        let items = evstore::run_items(store.conn(), &r)?;
        let results = evstore::results(store.conn(), run_id)?;
        let (mut ndcg, mut recall, mut mrr, mut ms, mut n) = (0.0, 0.0, 0.0, 0.0, 0usize);
        for item in &items {
            let Some(res) = results.get(&item.id).filter(|r| r.ok) else {
                continue;
            };
            let metric = |m: &str| res.metrics.get(m).copied().unwrap_or(0.0);
            ndcg += metric("doc_ndcg");
            mrr += metric("doc_mrr");
            ms += metric("retrieval_ms");
            let ranking: Vec<String> = res.detail["ranking"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let qrels: HashMap<String, u32> = item.item.gold_docs.clone().into_iter().collect();
            recall += recall_at(&ranking, &qrels, 100);
            n += 1;
        }
        if n < items.len() {
            tracing::warn!(run = run_id, failed = items.len() - n, "queries failed");
            eprintln!(
                "warning: {} of {} queries failed in run {run_id} ({mode}); the figures average the others (`lmdeck eval show {run_id}`)",
                items.len() - n,
                items.len()
            );
        }
        queries = n;
        let d = n.max(1) as f64;
        scores.push(ModeScores {
            mode,
            run: run_id,
            ndcg_at_10: ndcg / d,
            recall_at_100: recall / d,
            mrr_at_10: mrr / d,
            mean_search_ms: ms / d,
            run_s,
        });
    }
    Ok(RetrievalEval {
        dataset: beir.dir.display().to_string(),
        collection: setup.collection.to_string(),
        set: set_name,
        queries,
        ingest,
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
