//! Near-duplicate chunk pairs: cosine similarity of stored vectors above a threshold.
//! Vectors are unit length, so cosine is a dot product. Pairs are found by exact comparison in
//! blocks; the work is quadratic, which is fine for the collections one curates by hand
//! (10,000 chunks is 50 million dot products, about a second), and `max_chunks` keeps a
//! mistaken run on a huge collection bounded.

use rusqlite::Connection;

use super::CurateError;
use crate::store::{collections, vectors};

/// Chunks compared at most, unless a caller asks otherwise.
pub const DEFAULT_MAX_CHUNKS: usize = 20_000;

#[derive(Debug, Clone, PartialEq)]
pub struct DupPair {
    pub a: i64,
    pub b: i64,
    pub similarity: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DupReport {
    pub pairs: Vec<DupPair>,
    pub chunks_compared: usize,
    /// True when the collection had more chunks than were compared.
    pub truncated: bool,
}

/// Pairs of active chunks whose similarity is at least `threshold`, most similar first.
pub fn near_duplicates(
    conn: &Connection,
    collection: &str,
    threshold: f32,
    max_pairs: usize,
    max_chunks: usize,
) -> Result<DupReport, CurateError> {
    if !(0.0..=1.0).contains(&threshold) {
        return Err(CurateError::BadThreshold(threshold));
    }
    let coll = collections::get(conn, collection)?;
    let model_id = coll
        .model_id
        .ok_or_else(|| CurateError::NoVectors(collection.to_string()))?;
    let table = vectors::table_name(model_id);
    let mut all = vectors::all_embeddings(conn, &table, coll.id)?;
    let excluded = excluded_chunks(conn, coll.id)?;
    all.retain(|(id, _)| !excluded.contains(id));
    all.sort_by_key(|(id, _)| *id);
    let truncated = all.len() > max_chunks;
    all.truncate(max_chunks);
    let mut pairs = pairs_above(&all, threshold);
    pairs.sort_by(|x, y| y.similarity.total_cmp(&x.similarity));
    pairs.truncate(max_pairs);
    Ok(DupReport {
        pairs,
        chunks_compared: all.len(),
        truncated,
    })
}

fn excluded_chunks(
    conn: &Connection,
    collection_id: i64,
) -> Result<std::collections::HashSet<i64>, CurateError> {
    let mut stmt = conn
        .prepare(
            "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id
             WHERE d.collection_id = ?1 AND (c.excluded OR d.status <> 'active')",
        )
        .map_err(crate::store::StoreError::from)?;
    let ids = stmt
        .query_map([collection_id], |r| r.get(0))
        .map_err(crate::store::StoreError::from)?
        .collect::<Result<_, _>>()
        .map_err(crate::store::StoreError::from)?;
    Ok(ids)
}

fn pairs_above(vectors: &[(i64, Vec<f32>)], threshold: f32) -> Vec<DupPair> {
    let mut out = Vec::new();
    for (i, (a, va)) in vectors.iter().enumerate() {
        for (b, vb) in &vectors[i + 1..] {
            let sim = crate::retrieve::stages::dot(va, vb);
            if sim >= threshold {
                out.push(DupPair {
                    a: *a,
                    b: *b,
                    similarity: sim,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_only_pairs_above_threshold() {
        let v = vec![
            (1, vec![1.0, 0.0]),
            (2, vec![0.99, 0.141]),
            (3, vec![0.0, 1.0]),
        ];
        let pairs = pairs_above(&v, 0.95);
        assert_eq!(pairs.len(), 1);
        assert_eq!((pairs[0].a, pairs[0].b), (1, 2));
        assert!(pairs[0].similarity > 0.98);
    }
}
