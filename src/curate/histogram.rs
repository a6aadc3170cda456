//! Chunk lengths of a collection in buckets, to spot chunker settings that cut too small or
//! documents that produce giant chunks.

use rusqlite::Connection;

use super::CurateError;
use crate::store::collections;

#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Inclusive lower bound of each bucket, in tokens.
    pub bounds: Vec<i64>,
    pub counts: Vec<u64>,
    pub bucket_width: i64,
    pub total: u64,
    pub min: i64,
    pub max: i64,
    pub median: i64,
}

/// Token counts of every chunk in the collection (excluded ones too: they are still stored).
pub fn chunk_lengths(conn: &Connection, collection: &str) -> Result<Vec<i64>, CurateError> {
    let coll = collections::get(conn, collection)?;
    let mut stmt = conn
        .prepare(
            "SELECT c.token_count FROM chunks c JOIN documents d ON d.id = c.document_id
         WHERE d.collection_id = ?1 ORDER BY c.token_count",
        )
        .map_err(crate::store::StoreError::from)?;
    let rows = stmt
        .query_map([coll.id], |r| r.get(0))
        .map_err(crate::store::StoreError::from)?
        .collect::<Result<Vec<i64>, _>>()
        .map_err(crate::store::StoreError::from)?;
    Ok(rows)
}

impl Histogram {
    /// `buckets` equal-width buckets from 0 to the longest chunk.
    pub fn build(lengths: &[i64], buckets: usize) -> Histogram {
        let buckets = buckets.max(1);
        let mut sorted = lengths.to_vec();
        sorted.sort_unstable();
        let min = sorted.first().copied().unwrap_or(0);
        let max = sorted.last().copied().unwrap_or(0);
        let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
        let width = ((max + 1) as f64 / buckets as f64).ceil().max(1.0) as i64;
        let mut counts = vec![0u64; buckets];
        for &len in &sorted {
            let slot = ((len.max(0) / width) as usize).min(buckets - 1);
            counts[slot] += 1;
        }
        Histogram {
            bounds: (0..buckets as i64).map(|i| i * width).collect(),
            counts,
            bucket_width: width,
            total: sorted.len() as u64,
            min,
            max,
            median,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_length_once() {
        let h = Histogram::build(&[1, 5, 10, 10, 99, 200], 4);
        assert_eq!(h.total, 6);
        assert_eq!(h.counts.iter().sum::<u64>(), 6);
        assert_eq!(h.bucket_width, 51);
        assert_eq!(h.counts, vec![4, 1, 0, 1]);
        assert_eq!((h.min, h.max, h.median), (1, 200, 10));
    }

    #[test]
    fn empty_collection_gives_empty_buckets() {
        let h = Histogram::build(&[], 5);
        assert_eq!(h.total, 0);
        assert_eq!(h.counts, vec![0; 5]);
    }
}
