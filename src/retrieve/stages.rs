//! The two retrieval stages, each returning (chunk id, score) best first.

use rusqlite::Connection;

use crate::store::{vectors, Store, StoreError, VecTable};

/// A chunk that may be retrieved: neither it nor its document is excluded.
const ACTIVE_CHUNK: &str = "SELECT 1 FROM chunks c JOIN documents d ON d.id = c.document_id
     WHERE c.id = ?1 AND c.excluded = 0 AND d.status = 'active'";

/// A stage's ranked list: (chunk id, score) with the best first.
pub type Ranked = Vec<(i64, f64)>;

/// Binary-code KNN for `candidates * oversample` retrievable neighbours (reading further when
/// excluded content takes places), then exact cosine re-scoring. Scores are cosine distances
/// (lower is better).
pub fn vector(
    store: &Store,
    table: &VecTable,
    collection_id: i64,
    query: &[f32],
    candidates: usize,
    oversample: usize,
) -> Result<Ranked, StoreError> {
    let conn = store.conn();
    let wanted = candidates * oversample;
    let mut active = conn.prepare_cached(ACTIVE_CHUNK)?;
    let mut read = wanted;
    let ids = loop {
        let coarse = store.nearest_codes(table, collection_id, query, read)?;
        let mut ids = Vec::with_capacity(wanted);
        for (id, _) in &coarse {
            if ids.len() == wanted {
                break;
            }
            if active.exists([id])? {
                ids.push(*id);
            }
        }
        if ids.len() == wanted || coarse.len() < read {
            break ids;
        }
        read *= 4;
    };
    let mut scored: Ranked = vectors::embeddings(conn, &table.table, &ids)?
        .into_iter()
        .map(|(id, v)| (id, 1.0 - dot(query, &v) as f64))
        .collect();
    scored.sort_by(|a, b| a.1.total_cmp(&b.1));
    scored.truncate(candidates);
    Ok(scored)
}

/// BM25 over FTS5 within the collection (the expression carries the collection token).
/// Scores are BM25 relevance (higher is better). The top rows come from FTS5 alone (its fast
/// ranked path); excluded content is dropped afterwards, reading further only if it must.
pub fn keyword(
    conn: &Connection,
    fts_expression: &str,
    candidates: usize,
) -> Result<Ranked, StoreError> {
    let mut top = conn.prepare_cached(
        "SELECT rowid, -rank FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY rank LIMIT ?2",
    )?;
    let mut active = conn.prepare_cached(ACTIVE_CHUNK)?;
    let mut limit = candidates * 2;
    loop {
        let rows: Ranked = top
            .query_map(rusqlite::params![fts_expression, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let exhausted = rows.len() < limit;
        let mut out = Vec::with_capacity(candidates.min(rows.len()));
        for (id, score) in rows {
            if out.len() == candidates {
                break;
            }
            if active.exists([id])? {
                out.push((id, score));
            }
        }
        if out.len() == candidates || exhausted {
            return Ok(out);
        }
        limit *= 4;
    }
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
