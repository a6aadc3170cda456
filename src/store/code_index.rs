//! An in-memory copy of a collection's binary codes, scanned with popcount, for processes that
//! search repeatedly (the console, evaluations, benchmarks).
//!
//! sqlite-vec 0.1.6 selects its k nearest codes by repeated linear scans (cost grows with
//! n x k), so reading the 200 candidates the re-scorer needs costs ~30 ms at 100k chunks. The
//! codes of 100k chunks are only 4.8 MB, so a long-lived process keeps them in memory and
//! selects candidates in O(n) with a distance histogram. The copy is rebuilt when the
//! database changes (another connection's commit moves `PRAGMA data_version`; our own writes
//! move `total_changes`).

use rusqlite::Connection;

use super::vectors::{self, VecTable};
use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    model_id: i64,
    collection_id: i64,
    data_version: i64,
    total_changes: u64,
}

#[derive(Debug, Default)]
pub struct CodeIndex {
    version: Option<Version>,
    words: usize,
    ids: Vec<i64>,
    codes: Vec<u64>,
}

impl CodeIndex {
    fn current(
        conn: &Connection,
        table: &VecTable,
        collection_id: i64,
    ) -> Result<Version, StoreError> {
        Ok(Version {
            model_id: table.model_id,
            collection_id,
            data_version: conn.query_row("PRAGMA data_version", [], |r| r.get(0))?,
            total_changes: conn.total_changes(),
        })
    }

    /// Whether the copy matches the database for this table and collection.
    pub fn is_fresh(
        &self,
        conn: &Connection,
        table: &VecTable,
        collection_id: i64,
    ) -> Result<bool, StoreError> {
        Ok(self.version.as_ref() == Some(&Self::current(conn, table, collection_id)?))
    }

    /// Makes sure the copy matches the database for this table and collection.
    pub fn refresh(
        &mut self,
        conn: &Connection,
        table: &VecTable,
        collection_id: i64,
    ) -> Result<(), StoreError> {
        let version = Self::current(conn, table, collection_id)?;
        if self.version.as_ref() == Some(&version) {
            return Ok(());
        }
        // The exclusions and the codes are read from one snapshot: a commit between the two
        // reads could otherwise let a chunk excluded meanwhile in (a transaction already open
        // on this connection is one snapshot anyway).
        let snapshot = if conn.is_autocommit() {
            Some(conn.unchecked_transaction()?)
        } else {
            None
        };
        let version = Self::current(conn, table, collection_id)?;
        self.words = table.dim.div_ceil(64);
        self.ids.clear();
        self.codes.clear();
        // Only retrievable chunks are kept, so a search needs no per-candidate check. The
        // excluded ones are usually few: reading them beats joining every code to its chunk.
        let mut excluded = conn.prepare(
            "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id
             WHERE d.collection_id = ?1 AND (c.excluded != 0 OR d.status != 'active')",
        )?;
        let excluded: std::collections::HashSet<i64> = excluded
            .query_map([collection_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT chunk_id, code FROM {} WHERE collection_id = ?1",
            table.table
        ))?;
        let mut rows = stmt.query([collection_id])?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            if excluded.contains(&id) {
                continue;
            }
            let bytes: Vec<u8> = row.get(1)?;
            self.ids.push(id);
            pack(&bytes, self.words, &mut self.codes);
        }
        drop(rows);
        drop(stmt);
        if let Some(snapshot) = snapshot {
            snapshot.commit()?;
        }
        self.version = Some(version);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The `k` retrievable chunks whose codes are nearest (Hamming) to the query's code, nearest first;
    /// ties go to the chunk stored first.
    pub fn nearest(&self, query: &[f32], center: Option<&[f32]>, k: usize) -> Vec<(i64, u32)> {
        let mut q = Vec::with_capacity(self.words);
        pack(&vectors::binary_code(query, center), self.words, &mut q);
        let distances = hamming(&self.codes, &q);
        select(&distances, k)
            .into_iter()
            .map(|i| (self.ids[i], distances[i] as u32))
            .collect()
    }
}

/// Hamming distance from `query` to each code (codes of `query.len()` words, back to back).
fn hamming(codes: &[u64], query: &[u64]) -> Vec<u16> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: the CPU has just been checked for POPCNT, the one feature this enables.
        return unsafe { hamming_popcnt(codes, query) };
    }
    hamming_portable(codes, query)
}

/// The baseline x86-64 target has no POPCNT instruction, so `count_ones` there is a dozen
/// bit operations per word; compiled with it, the scan is several times faster.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn hamming_popcnt(codes: &[u64], query: &[u64]) -> Vec<u16> {
    hamming_portable(codes, query)
}

/// Common code widths get a loop of known length, which the compiler unrolls (384 dimensions
/// = 6 words: about 4x faster than the loop over a run-time length).
#[inline(always)]
fn hamming_portable(codes: &[u64], query: &[u64]) -> Vec<u16> {
    match query.len() {
        6 => hamming_words::<6>(codes, query),
        12 => hamming_words::<12>(codes, query),
        16 => hamming_words::<16>(codes, query),
        _ => codes
            .chunks_exact(query.len().max(1))
            .map(|code| {
                code.iter()
                    .zip(query)
                    .map(|(a, b)| (a ^ b).count_ones())
                    .sum::<u32>() as u16
            })
            .collect(),
    }
}

#[inline(always)]
fn hamming_words<const N: usize>(codes: &[u64], query: &[u64]) -> Vec<u16> {
    let mut q = [0u64; N];
    q.copy_from_slice(&query[..N]);
    codes
        .chunks_exact(N)
        .map(|code| {
            let mut bits = 0;
            for i in 0..N {
                bits += (code[i] ^ q[i]).count_ones();
            }
            bits as u16
        })
        .collect()
}

/// Packs code bytes into little-endian u64 words (Hamming distance is order-independent as
/// long as query and rows are packed alike).
fn pack(bytes: &[u8], words: usize, out: &mut Vec<u64>) {
    for w in 0..words {
        let mut word = [0u8; 8];
        let start = (w * 8).min(bytes.len());
        let end = (start + 8).min(bytes.len());
        word[..end - start].copy_from_slice(&bytes[start..end]);
        out.push(u64::from_le_bytes(word));
    }
}

/// Indices of the `k` smallest distances, smallest first, in O(n): a histogram finds the
/// cut-off distance, one pass collects, and only the k survivors are sorted.
fn select(distances: &[u16], k: usize) -> Vec<usize> {
    if k == 0 || distances.is_empty() {
        return Vec::new();
    }
    let max = distances.iter().copied().max().unwrap_or(0) as usize;
    let mut histogram = vec![0usize; max + 1];
    for &d in distances {
        histogram[d as usize] += 1;
    }
    let (mut cutoff, mut below) = (max, 0);
    for (d, &count) in histogram.iter().enumerate() {
        if below + count >= k {
            cutoff = d;
            break;
        }
        below += count;
    }
    let mut at_cutoff = k.saturating_sub(below);
    let mut picked: Vec<usize> = Vec::with_capacity(k);
    for (i, &d) in distances.iter().enumerate() {
        let d = d as usize;
        if d < cutoff {
            picked.push(i);
        } else if d == cutoff && at_cutoff > 0 {
            picked.push(i);
            at_cutoff -= 1;
        }
    }
    picked.sort_by_key(|&i| (distances[i], i));
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_keeps_the_k_smallest_with_stable_ties() {
        let d = [5, 1, 3, 1, 9, 3, 0];
        assert_eq!(select(&d, 3), vec![6, 1, 3]);
        assert_eq!(select(&d, 4), vec![6, 1, 3, 2]);
        assert_eq!(select(&d, 10).len(), 7);
        assert!(select(&d, 0).is_empty());
    }

    #[test]
    fn hamming_counts_differing_bits_per_code() {
        let query = [0b1011u64, u64::MAX];
        let codes = [0b1011, u64::MAX, 0, 0, 0b0001, u64::MAX - 1];
        assert_eq!(hamming(&codes, &query), vec![0, 67, 3]);
        assert_eq!(hamming_portable(&codes, &query), hamming(&codes, &query));
        // the unrolled widths agree with the general loop
        let wide: Vec<u64> = (0..60u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .collect();
        let general = |q: &[u64]| -> Vec<u16> {
            wide.chunks_exact(q.len())
                .map(|c| {
                    c.iter()
                        .zip(q)
                        .map(|(a, b)| (a ^ b).count_ones())
                        .sum::<u32>() as u16
                })
                .collect()
        };
        for n in [6, 12, 16] {
            assert_eq!(hamming(&wide, &wide[..n]), general(&wide[..n]));
        }
    }

    #[test]
    fn packing_pads_the_last_word() {
        let mut out = Vec::new();
        pack(&[1, 0, 0, 0, 0, 0, 0, 0, 2], 2, &mut out);
        assert_eq!(out, vec![1, 2]);
    }
}
