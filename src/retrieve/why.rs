//! "Why not?": for a query and a document or chunk that did not come back, where each of its
//! chunks fell out: excluded by curation, no keyword match, ranked beyond the candidate cut of
//! both stages, or fused below k. Ranks here are exact (every stored vector is scored), so they
//! explain the binary-code stage too: a chunk whose exact rank is inside the cut but that the
//! search did not return was lost by the approximate vector stage.

use rusqlite::Connection;
use serde::Serialize;

use super::{fusion, query, stages, RetrieveError, SearchParams};
use crate::embed::Embedder;
use crate::store::{collections, documents, vectors, Store};

/// A candidate count no collection reaches: rank every keyword match.
const EVERY_MATCH: usize = 1 << 40;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChunkFate {
    pub chunk_id: i64,
    pub ordinal: i64,
    /// Exact rank among retrievable chunks by cosine similarity (1 = nearest).
    pub vector_rank: Option<usize>,
    /// Rank among retrievable chunks matching the keyword query by BM25.
    pub keyword_rank: Option<usize>,
    /// Rank after fusing both stages' candidate lists.
    pub fused_rank: Option<usize>,
    pub verdict: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhyNot {
    pub target: String,
    pub source_path: String,
    pub summary: String,
    pub chunks: Vec<ChunkFate>,
}

/// Explains the fate of `target` (a chunk id as `chunk:N`, or a document id or source path).
pub fn why_not(
    store: &Store,
    embedder: Option<&dyn Embedder>,
    collection: &str,
    query_text: &str,
    target: &str,
    params: &SearchParams,
) -> Result<WhyNot, RetrieveError> {
    let conn = store.conn();
    let coll = collections::get(conn, collection)?;
    let (doc, only_chunk) = match target.strip_prefix("chunk:") {
        Some(id) => {
            let id: i64 = id
                .trim()
                .parse()
                .map_err(|_| crate::store::StoreError::NoDocument(target.to_string()))?;
            let c = documents::chunk(conn, id)?;
            let doc = documents::get(conn, c.chunk.document_id)?;
            if doc.collection_id != coll.id {
                return Err(crate::store::StoreError::NoDocument(format!(
                    "chunk {id} in collection `{collection}` (it belongs to another collection)"
                ))
                .into());
            }
            (doc, Some(id))
        }
        None => (documents::resolve(conn, coll.id, target.trim())?, None),
    };
    let chunks: Vec<_> = documents::chunks(conn, doc.id)?
        .into_iter()
        .filter(|c| only_chunk.is_none_or(|id| id == c.id))
        .collect();

    let vector_list = if params.mode.uses_vectors() {
        let embedder = embedder.ok_or(RetrieveError::NoEmbedder(params.mode))?;
        // Vectors of another model would give meaningless ranks.
        collections::check_model(&coll, embedder.identity())?;
        let q = embedder
            .embed(&[query_text.to_string()])?
            .pop()
            .ok_or(crate::embed::EmbedError::WorkerGone)?;
        exact_vector_ranking(conn, &coll, &q)?
    } else {
        Vec::new()
    };
    let keyword_query = query::keyword_query(conn, query_text, coll.id, params.common_term_chunks)?;
    let keyword_list = match &keyword_query {
        Some(q) if params.mode.uses_keywords() => {
            stages::keyword(conn, &q.expression, coll.id, EVERY_MATCH)?
        }
        _ => Vec::new(),
    };
    // What the real search returns: the exact ranks above explain it, and a chunk the exact
    // ranking keeps but the search lost was dropped by the approximate vector stage.
    let returned: Vec<i64> = super::search(store, embedder, collection, query_text, params)?
        .hits
        .iter()
        .map(|h| h.chunk_id)
        .collect();
    let cut = |list: &[(i64, f64)]| list[..list.len().min(params.candidates)].to_vec();
    let fused = fusion::rrf(
        &cut(&vector_list),
        &cut(&keyword_list),
        params.rrf_k,
        usize::MAX,
    );
    let rank_in =
        |list: &[(i64, f64)], id: i64| list.iter().position(|(c, _)| *c == id).map(|p| p + 1);

    let mut fates = Vec::with_capacity(chunks.len());
    for c in &chunks {
        let vector_rank = rank_in(&vector_list, c.id);
        let keyword_rank = rank_in(&keyword_list, c.id);
        let fused_rank = fused.iter().position(|(id, _)| *id == c.id).map(|p| p + 1);
        let fate = Fate {
            doc_status: &doc.status,
            chunk_excluded: c.excluded,
            vector_rank,
            keyword_rank,
            fused_rank,
            returned: returned.iter().position(|id| *id == c.id).map(|p| p + 1),
            searchable_words: keyword_query.is_some(),
        };
        let verdict = verdict(&fate, params);
        fates.push(ChunkFate {
            chunk_id: c.id,
            ordinal: c.ordinal,
            vector_rank,
            keyword_rank,
            fused_rank,
            verdict,
        });
    }
    let best = fates.iter().min_by_key(|f| {
        (
            f.fused_rank.unwrap_or(usize::MAX),
            f.vector_rank.unwrap_or(usize::MAX),
        )
    });
    let summary = match best {
        None => "the document has no chunks".to_string(),
        Some(f) => format!("best chunk {} (#{}): {}", f.chunk_id, f.ordinal, f.verdict),
    };
    Ok(WhyNot {
        target: target.to_string(),
        source_path: doc.source_path,
        summary,
        chunks: fates,
    })
}

/// Everything known about one chunk for one query.
struct Fate<'a> {
    doc_status: &'a str,
    chunk_excluded: bool,
    /// Exact ranks (every chunk scored).
    vector_rank: Option<usize>,
    keyword_rank: Option<usize>,
    fused_rank: Option<usize>,
    /// Its rank in what the search actually returned.
    returned: Option<usize>,
    /// The query had words the keyword stage could use.
    searchable_words: bool,
}

fn verdict(f: &Fate, params: &SearchParams) -> String {
    if f.doc_status != "active" {
        return "excluded: the document is excluded from retrieval".into();
    }
    if f.chunk_excluded {
        return "excluded: the chunk is excluded from retrieval".into();
    }
    let stage = |name: &str, rank: Option<usize>, used: bool| match (used, rank) {
        (false, _) => format!("{name} stage off ({} mode)", params.mode),
        (true, None) if name == "keyword" && !f.searchable_words => {
            "keyword: the query has no searchable words".into()
        }
        (true, None) if name == "keyword" => "keyword: no query term matches".into(),
        (true, None) => format!("{name}: not ranked"),
        (true, Some(r)) if r > params.candidates => {
            format!(
                "{name} rank {r} (beyond the {} candidates)",
                params.candidates
            )
        }
        (true, Some(r)) => format!("{name} rank {r}"),
    };
    let stages = format!(
        "{}; {}",
        stage("vector", f.vector_rank, params.mode.uses_vectors()),
        stage("keyword", f.keyword_rank, params.mode.uses_keywords())
    );
    match (f.returned, f.fused_rank) {
        (Some(r), _) => format!("returned at rank {r}: {stages}"),
        (None, None) => format!("cut before fusion: {stages}"),
        (None, Some(r)) if r > params.k => {
            format!("fused rank {r}, below k = {}: {stages}", params.k)
        }
        (None, Some(r)) => format!(
            "ranks {r} with exact vectors, but the approximate vector stage missed it (raise search.oversample): {stages}"
        ),
    }
}

/// Every retrievable chunk of the collection by exact cosine distance, nearest first.
fn exact_vector_ranking(
    conn: &Connection,
    coll: &collections::Collection,
    q: &[f32],
) -> Result<Vec<(i64, f64)>, RetrieveError> {
    let Some(model_id) = coll.model_id else {
        return Err(RetrieveError::NoIndex(coll.name.clone()));
    };
    let all = vectors::all_embeddings(conn, &vectors::table_name(model_id), coll.id)?;
    let mut active = conn
        .prepare_cached(
            "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id
         WHERE d.collection_id = ?1 AND c.excluded = 0 AND d.status = 'active'",
        )
        .map_err(crate::store::StoreError::from)?;
    let ids: std::collections::HashSet<i64> = active
        .query_map([coll.id], |r| r.get(0))
        .map_err(crate::store::StoreError::from)?
        .collect::<Result<_, _>>()
        .map_err(crate::store::StoreError::from)?;
    let mut ranked: Vec<(i64, f64)> = all
        .into_iter()
        .filter(|(id, _)| ids.contains(id))
        .map(|(id, v)| (id, 1.0 - stages::dot(q, &v) as f64))
        .collect();
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(ranked)
}
