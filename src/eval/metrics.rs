//! Ranking metrics, implemented once for `eval retrieval`, the sample-corpus test and the
//! search benchmark, with trec_eval's definitions.
//!
//! Relevance rules, the same for every metric:
//! - `qrels` maps an id to its relevance grade; an id is relevant when its grade is > 0 (a
//!   grade of 0 is judged not relevant, the same as absent).
//! - `ranked` is a retrieval in rank order; ties in score are broken by the retriever, so the
//!   order given is the order scored. An id repeated in `ranked` counts at its first rank
//!   only; a later copy is not relevant but still takes its slot.
//! - `@k` looks at the first `k` entries; a shorter list counts its missing ranks as not
//!   relevant.
//! - With no relevant id in `qrels` every metric is 0 (trec_eval leaves such queries out;
//!   callers that average should skip them, as the BEIR loader does).
//!
//! Definitions (rank i counts from 1):
//! - Recall@k: relevant ids in the top k / relevant ids in `qrels`.
//! - Precision@k: relevant ids in the top k / k (trec_eval's P_k: k even when fewer were
//!   retrieved).
//! - MRR@k: 1 / the rank of the first relevant id within k, 0 when none.
//! - nDCG@k: DCG@k / IDCG@k with DCG = sum of grade_i / log2(i + 1) (linear gain, as
//!   trec_eval's `ndcg_cut` and BEIR's pytrec_eval); IDCG is the DCG of the qrels' grades
//!   sorted best first.
//! - Hit rate@k: 1 when any relevant id is within k, else 0.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// Relevance judgements for one query: id -> grade.
pub type Judgements<T> = HashMap<T, u32>;

/// Judgements that grade every id in `ids` 1 (binary relevance).
pub fn binary<T: Eq + Hash + Clone>(ids: &[T]) -> Judgements<T> {
    ids.iter().map(|id| (id.clone(), 1)).collect()
}

/// The grade each of the first `k` ranks earns under the rules above.
fn gains<'a, T: Eq + Hash>(
    ranked: &'a [T],
    qrels: &'a Judgements<T>,
    k: usize,
) -> impl Iterator<Item = u32> + 'a {
    let mut seen = HashSet::new();
    ranked.iter().take(k).map(move |id| {
        let grade = qrels.get(id).copied().unwrap_or(0);
        if seen.insert(id) {
            grade
        } else {
            0
        }
    })
}

fn relevant_count<T>(qrels: &Judgements<T>) -> usize {
    qrels.values().filter(|g| **g > 0).count()
}

fn found<T: Eq + Hash>(ranked: &[T], qrels: &Judgements<T>, k: usize) -> usize {
    gains(ranked, qrels, k).filter(|g| *g > 0).count()
}

fn dcg(grades: impl Iterator<Item = u32>) -> f64 {
    // (i + 2).log2() is log2(rank + 1) for the 0-based i; kept in this form, the sums match
    // the figures published before this module was shared, to the last bit.
    grades
        .enumerate()
        .map(|(i, grade)| grade as f64 / (i as f64 + 2.0).log2())
        .sum()
}

pub fn ndcg_at<T: Eq + Hash>(ranked: &[T], qrels: &Judgements<T>, k: usize) -> f64 {
    let mut ideal: Vec<u32> = qrels.values().copied().filter(|g| *g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg = dcg(ideal.into_iter().take(k));
    if idcg == 0.0 {
        return 0.0;
    }
    dcg(gains(ranked, qrels, k)) / idcg
}

pub fn recall_at<T: Eq + Hash>(ranked: &[T], qrels: &Judgements<T>, k: usize) -> f64 {
    match relevant_count(qrels) {
        0 => 0.0,
        n => found(ranked, qrels, k) as f64 / n as f64,
    }
}

pub fn precision_at<T: Eq + Hash>(ranked: &[T], qrels: &Judgements<T>, k: usize) -> f64 {
    if k == 0 {
        return 0.0;
    }
    found(ranked, qrels, k) as f64 / k as f64
}

pub fn mrr_at<T: Eq + Hash>(ranked: &[T], qrels: &Judgements<T>, k: usize) -> f64 {
    gains(ranked, qrels, k)
        .position(|g| g > 0)
        .map_or(0.0, |p| 1.0 / (p as f64 + 1.0))
}

pub fn hit_rate_at<T: Eq + Hash>(ranked: &[T], qrels: &Judgements<T>, k: usize) -> f64 {
    if found(ranked, qrels, k) > 0 {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests;
