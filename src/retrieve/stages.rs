//! The two retrieval stages, each returning (chunk id, score) best first.

use rusqlite::Connection;

use crate::store::{vectors, StoreError, VecTable};

/// A stage's ranked list: (chunk id, score) with the best first.
pub type Ranked = Vec<(i64, f64)>;

/// Binary-code KNN for `candidates * oversample` neighbours, exact cosine re-score, excluded
/// content dropped. Scores are cosine distances (lower is better).
pub fn vector(
    conn: &Connection,
    table: &VecTable,
    collection_id: i64,
    query: &[f32],
    candidates: usize,
    oversample: usize,
) -> Result<Ranked, StoreError> {
    let coarse = vectors::knn_codes(conn, table, collection_id, query, candidates * oversample)?;
    let ids: Vec<i64> = coarse.iter().map(|(id, _)| *id).collect();
    let mut scored: Ranked = vectors::embeddings(conn, &table.table, &ids)?
        .into_iter()
        .map(|(id, v)| (id, 1.0 - dot(query, &v) as f64))
        .collect();
    scored.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut active = conn.prepare_cached(
        "SELECT 1 FROM chunks c JOIN documents d ON d.id = c.document_id
         WHERE c.id = ?1 AND c.excluded = 0 AND d.status = 'active'",
    )?;
    let mut out = Vec::with_capacity(candidates);
    for (id, distance) in scored {
        if out.len() == candidates {
            break;
        }
        if active.exists([id])? {
            out.push((id, distance));
        }
    }
    Ok(out)
}

/// BM25 over FTS5 within the collection (the expression carries the collection token).
/// Scores are BM25 relevance (higher is better).
pub fn keyword(conn: &Connection, fts_expression: &str, candidates: usize) -> Result<Ranked, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT f.rowid, -bm25(chunks_fts, 1.0, 0.0) AS score
         FROM chunks_fts f
         JOIN chunks c ON c.id = f.rowid
         JOIN documents d ON d.id = c.document_id
         WHERE chunks_fts MATCH ?1 AND c.excluded = 0 AND d.status = 'active'
         ORDER BY score DESC LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(rusqlite::params![fts_expression, candidates as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
