//! Hybrid retrieval with a full trace: vector KNN (binary index + exact re-score), BM25 over
//! FTS5, and reciprocal-rank fusion; every hit says how each stage ranked and scored it.

pub mod fusion;
pub mod hydrate;
pub mod query;
pub mod stages;
pub mod why;

use serde::Serialize;
use std::str::FromStr;
use std::time::Instant;

use crate::embed::{EmbedError, Embedder};
use crate::store::{collections, Collection, Store, StoreError, VecTable};
use stages::Ranked;

#[derive(Debug, thiserror::Error)]
pub enum RetrieveError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error("collection `{0}` has no vector index yet; ingest documents into it first")]
    NoIndex(String),
    #[error("{0} search needs the embedding model, which is not loaded")]
    NoEmbedder(Mode),
    #[error("invalid search mode `{0}`: use hybrid, vector or keyword")]
    BadMode(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Hybrid,
    Vector,
    Keyword,
}

impl Mode {
    pub fn uses_vectors(self) -> bool {
        self != Mode::Keyword
    }
    pub fn uses_keywords(self) -> bool {
        self != Mode::Vector
    }
}

impl FromStr for Mode {
    type Err = RetrieveError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "hybrid" => Ok(Mode::Hybrid),
            "vector" => Ok(Mode::Vector),
            "keyword" => Ok(Mode::Keyword),
            _ => Err(RetrieveError::BadMode(s.to_string())),
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Hybrid => "hybrid",
            Mode::Vector => "vector",
            Mode::Keyword => "keyword",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchParams {
    pub k: usize,
    pub mode: Mode,
    pub candidates: usize,
    pub oversample: usize,
    pub rrf_k: f64,
    pub common_term_chunks: usize,
}

impl SearchParams {
    pub fn from_config(search: &crate::config::SearchConfig) -> Result<Self, RetrieveError> {
        Ok(Self {
            k: search.k,
            mode: search.mode.parse()?,
            candidates: search.candidates,
            oversample: search.oversample,
            rrf_k: search.rrf_k,
            common_term_chunks: search.common_term_chunks,
        })
    }
}

/// How one chunk fared in each stage (the default: found by no stage).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Trace {
    pub vector_rank: Option<usize>,
    /// Cosine distance (0 = same direction, 2 = opposite).
    pub vector_distance: Option<f64>,
    pub keyword_rank: Option<usize>,
    /// BM25 relevance from FTS5 (higher is better).
    pub bm25: Option<f64>,
    pub fused_score: f64,
    pub formula: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub rank: usize,
    pub chunk_id: i64,
    pub document_id: i64,
    pub source_path: String,
    pub title: String,
    pub heading_path: String,
    pub ordinal: i64,
    pub byte_start: i64,
    pub byte_end: i64,
    pub text: String,
    pub trace: Trace,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timings {
    pub embed_ms: f64,
    pub vector_ms: f64,
    pub keyword_ms: f64,
    pub fuse_ms: f64,
    pub total_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResult {
    pub query: String,
    pub collection: String,
    pub mode: Mode,
    pub k: usize,
    pub rrf_k: f64,
    /// The FTS5 expression the query became (terms quoted, so user text is never syntax).
    pub fts_query: Option<String>,
    /// Query terms the keyword stage left out as too common (search.common_term_chunks).
    pub dropped_terms: Vec<String>,
    pub vector_candidates: usize,
    pub keyword_candidates: usize,
    pub hits: Vec<Hit>,
    /// Each stage's own top k before fusion, for side-by-side inspection.
    pub vector_ranking: Vec<StageHit>,
    pub keyword_ranking: Vec<StageHit>,
    pub timings: Timings,
}

/// One entry of a single stage's ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageHit {
    pub rank: usize,
    pub chunk_id: i64,
    pub document_id: i64,
    pub source_path: String,
    /// Cosine distance for the vector stage, BM25 for the keyword stage.
    pub score: f64,
}

/// Embeds the query (when the mode needs vectors) and searches. The keyword stage runs on
/// the store's second connection, on its own thread, while the query is embedded and the
/// vector stage runs: end-to-end latency is the slower of the two paths, not their sum.
pub fn search(
    store: &Store,
    embedder: Option<&dyn Embedder>,
    collection: &str,
    query_text: &str,
    params: &SearchParams,
) -> Result<SearchResult, RetrieveError> {
    if !params.mode.uses_vectors() {
        return search_embedded(store, collection, query_text, None, params);
    }
    let started = Instant::now();
    let embedder = embedder.ok_or(RetrieveError::NoEmbedder(params.mode))?;
    let coll = collections::get(store.conn(), collection)?;
    collections::check_model(&coll, embedder.identity())?;
    let table = vector_table(store, &coll)?;
    let mut timings = Timings::default();

    // The keyword stage, its vocabulary lookups included, runs on the side connection.
    let coll_id = coll.id;
    let (vector, keyword) = store.with_side(|side| {
        std::thread::scope(|scope| {
            let keyword = params.mode.uses_keywords().then(|| {
                scope.spawn(move || -> Result<_, StoreError> {
                    let t = Instant::now();
                    let Some(q) =
                        query::keyword_query(side, query_text, coll_id, params.common_term_chunks)?
                    else {
                        return Ok((None, Vec::new(), ms(t)));
                    };
                    let list = stages::keyword(side, &q.expression, coll_id, params.candidates)?;
                    Ok((Some(q), list, ms(t)))
                })
            });
            let vector = (|| -> Result<Ranked, RetrieveError> {
                let t = Instant::now();
                let q = embedder.embed_query(query_text)?;
                timings.embed_ms = ms(t);
                let t = Instant::now();
                let list = stages::vector(
                    store,
                    &table,
                    coll.id,
                    &q,
                    params.candidates,
                    params.oversample,
                )?;
                timings.vector_ms = ms(t);
                Ok(list)
            })();
            let keyword = match keyword {
                Some(handle) => match handle.join() {
                    Ok(result) => Some(result),
                    Err(_) => Some(Err(StoreError::Sql(rusqlite::Error::InvalidQuery))),
                },
                None => None,
            };
            (vector, keyword)
        })
    })?;
    let vector = vector?;
    let (keyword_query, keyword) = match keyword {
        Some(result) => {
            let (query, list, keyword_ms) = result?;
            timings.keyword_ms = keyword_ms;
            (query, list)
        }
        None => (None, Vec::new()),
    };
    finish(
        store,
        &coll,
        query_text,
        params,
        keyword_query,
        vector,
        keyword,
        timings,
        started,
    )
}

/// Searches with an already computed query vector (batch evaluation embeds all queries at
/// once), one stage after the other. `query_vector` is required for modes that use vectors.
pub fn search_embedded(
    store: &Store,
    collection: &str,
    query_text: &str,
    query_vector: Option<&[f32]>,
    params: &SearchParams,
) -> Result<SearchResult, RetrieveError> {
    let started = Instant::now();
    let coll = collections::get(store.conn(), collection)?;
    let mut timings = Timings::default();
    let vector = match (params.mode.uses_vectors(), query_vector) {
        (false, _) => Vec::new(),
        (true, None) => return Err(RetrieveError::NoEmbedder(params.mode)),
        (true, Some(q)) => {
            let table = vector_table(store, &coll)?;
            let t = Instant::now();
            let list = stages::vector(
                store,
                &table,
                coll.id,
                q,
                params.candidates,
                params.oversample,
            )?;
            timings.vector_ms = ms(t);
            list
        }
    };
    let keyword_query = keyword_query(store, &coll, query_text, params)?;
    let keyword = match &keyword_query {
        Some(q) => {
            let t = Instant::now();
            let list = stages::keyword(store.conn(), &q.expression, coll.id, params.candidates)?;
            timings.keyword_ms = ms(t);
            list
        }
        None => Vec::new(),
    };
    finish(
        store,
        &coll,
        query_text,
        params,
        keyword_query,
        vector,
        keyword,
        timings,
        started,
    )
}

/// The keyword stage's query for this collection, when the mode uses keywords.
fn keyword_query(
    store: &Store,
    coll: &Collection,
    text: &str,
    params: &SearchParams,
) -> Result<Option<query::KeywordQuery>, RetrieveError> {
    if !params.mode.uses_keywords() {
        return Ok(None);
    }
    Ok(query::keyword_query(
        store.conn(),
        text,
        coll.id,
        params.common_term_chunks,
    )?)
}

fn vector_table(store: &Store, coll: &Collection) -> Result<VecTable, RetrieveError> {
    let no_index = || RetrieveError::NoIndex(coll.name.clone());
    let model_id = coll.model_id.ok_or_else(no_index)?;
    crate::store::vectors::load(store.conn(), model_id)?.ok_or_else(no_index)
}

/// Fuses the stage lists, loads the hits and packs the result with its timings.
#[allow(clippy::too_many_arguments)]
fn finish(
    store: &Store,
    coll: &Collection,
    query_text: &str,
    params: &SearchParams,
    keyword_query: Option<query::KeywordQuery>,
    vector: Ranked,
    keyword: Ranked,
    mut timings: Timings,
    started: Instant,
) -> Result<SearchResult, RetrieveError> {
    let t = Instant::now();
    let fused = fusion::rrf(&vector, &keyword, params.rrf_k, params.k);
    let hits = hydrate::hits(store.conn(), fused)?;
    timings.fuse_ms = ms(t);
    let vector_ranking = hydrate::stage_hits(store.conn(), &vector[..vector.len().min(params.k)])?;
    let keyword_ranking =
        hydrate::stage_hits(store.conn(), &keyword[..keyword.len().min(params.k)])?;
    timings.total_ms = ms(started);
    Ok(SearchResult {
        query: query_text.to_string(),
        collection: coll.name.clone(),
        mode: params.mode,
        k: params.k,
        rrf_k: params.rrf_k,
        dropped_terms: keyword_query
            .as_ref()
            .map(|q| q.dropped.clone())
            .unwrap_or_default(),
        fts_query: keyword_query.map(|q| q.expression),
        vector_candidates: vector.len(),
        keyword_candidates: keyword.len(),
        hits,
        vector_ranking,
        keyword_ranking,
        timings,
    })
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
