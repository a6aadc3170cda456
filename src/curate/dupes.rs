//! Near-duplicate chunk pairs: cosine similarity of stored vectors above a threshold.
//! Vectors are unit length, so cosine is a dot product. Pairs are found by exact comparison in
//! blocks; the work is quadratic, which is fine for the collections one curates by hand
//! (10,000 chunks is 50 million dot products, about a second), and `max_chunks` keeps a
//! mistaken run on a huge collection bounded.

use rusqlite::Connection;

use super::CurateError;
use crate::store::{collections, vectors};

/// Below this nearly every pair of chunks in a topical collection would match.
pub const MIN_THRESHOLD: f32 = 0.5;

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
    near_duplicates_until(conn, collection, threshold, max_pairs, max_chunks, &|| {
        false
    })
}

/// `near_duplicates` that stops early with [`CurateError::Cancelled`] once `stop` says so
/// (checked every row of the comparison, so a cancelled 20,000-chunk scan ends at once).
pub fn near_duplicates_until(
    conn: &Connection,
    collection: &str,
    threshold: f32,
    max_pairs: usize,
    max_chunks: usize,
    stop: &dyn Fn() -> bool,
) -> Result<DupReport, CurateError> {
    if !(MIN_THRESHOLD..=1.0).contains(&threshold) {
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
    let pairs = best_pairs_above(&all, threshold, max_pairs, stop).ok_or(CurateError::Cancelled)?;
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

/// The `max_pairs` most similar pairs at or above `threshold`, most similar first. A bounded
/// heap keeps memory at `max_pairs` whatever the threshold.
fn best_pairs_above(
    vectors: &[(i64, Vec<f32>)],
    threshold: f32,
    max_pairs: usize,
    stop: &dyn Fn() -> bool,
) -> Option<Vec<DupPair>> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    #[derive(PartialEq)]
    struct Scored(f32, i64, i64);
    impl Eq for Scored {}
    impl PartialOrd for Scored {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Scored {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.0
                .total_cmp(&other.0)
                .then((other.1, other.2).cmp(&(self.1, self.2)))
        }
    }
    let mut heap: BinaryHeap<Reverse<Scored>> = BinaryHeap::new();
    for (i, (a, va)) in vectors.iter().enumerate() {
        if stop() {
            return None;
        }
        for (b, vb) in &vectors[i + 1..] {
            let sim = crate::retrieve::stages::dot(va, vb);
            if sim < threshold {
                continue;
            }
            if heap.len() < max_pairs {
                heap.push(Reverse(Scored(sim, *a, *b)));
            } else if heap.peek().is_some_and(|Reverse(worst)| sim > worst.0) {
                heap.pop();
                heap.push(Reverse(Scored(sim, *a, *b)));
            }
        }
    }
    let mut pairs: Vec<DupPair> = heap
        .into_iter()
        .map(|Reverse(Scored(similarity, a, b))| DupPair { a, b, similarity })
        .collect();
    pairs.sort_by(|x, y| {
        y.similarity
            .total_cmp(&x.similarity)
            .then((x.a, x.b).cmp(&(y.a, y.b)))
    });
    Some(pairs)
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
        let pairs = best_pairs_above(&v, 0.95, 10, &|| false).unwrap();
        assert_eq!(pairs.len(), 1);
        assert_eq!((pairs[0].a, pairs[0].b), (1, 2));
        assert!(pairs[0].similarity > 0.98);
    }

    #[test]
    fn keeps_only_the_most_similar_pairs() {
        let v: Vec<(i64, Vec<f32>)> = (0..20)
            .map(|i| {
                let t = i as f32 * 0.01;
                (i, vec![t.cos(), t.sin()])
            })
            .collect();
        let pairs = best_pairs_above(&v, 0.5, 5, &|| false).unwrap();
        assert_eq!(pairs.len(), 5);
        assert!(pairs.windows(2).all(|w| w[0].similarity >= w[1].similarity));
        let all = best_pairs_above(&v, 0.5, usize::MAX, &|| false).unwrap();
        assert_eq!(all.len(), 190);
        assert_eq!(pairs[..], all[..5]);
    }
}
