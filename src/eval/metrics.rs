//! Ranking metrics over document ids (graded relevance).

use std::collections::HashMap;

/// nDCG@k with linear gains (the grade itself), as BEIR's pytrec_eval `ndcg_cut` computes it.
pub fn ndcg_at(ranked: &[String], relevant: &HashMap<String, u32>, k: usize) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, id)| relevant.get(id).copied().unwrap_or(0) as f64 / (i as f64 + 2.0).log2())
        .sum();
    let mut ideal: Vec<u32> = relevant.values().copied().collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, rel)| *rel as f64 / (i as f64 + 2.0).log2())
        .sum();
    if idcg == 0.0 {
        0.0
    } else {
        dcg / idcg
    }
}

pub fn recall_at(ranked: &[String], relevant: &HashMap<String, u32>, k: usize) -> f64 {
    if relevant.is_empty() {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|id| relevant.contains_key(*id))
        .count();
    found as f64 / relevant.len() as f64
}

pub fn mrr_at(ranked: &[String], relevant: &HashMap<String, u32>, k: usize) -> f64 {
    ranked
        .iter()
        .take(k)
        .position(|id| relevant.contains_key(id))
        .map_or(0.0, |p| 1.0 / (p as f64 + 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(ids: &[&str]) -> HashMap<String, u32> {
        ids.iter().map(|i| (i.to_string(), 1)).collect()
    }

    fn ranked(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn perfect_and_empty_rankings() {
        let r = rel(&["a", "b"]);
        assert!((ndcg_at(&ranked(&["a", "b", "c"]), &r, 10) - 1.0).abs() < 1e-12);
        assert_eq!(ndcg_at(&ranked(&["x", "y"]), &r, 10), 0.0);
        assert_eq!(recall_at(&ranked(&["a", "x"]), &r, 100), 0.5);
    }

    #[test]
    fn ndcg_matches_a_hand_computed_value() {
        // relevant at ranks 2 and 3 of two relevant: (1/log2(3) + 1/log2(4)) / (1 + 1/log2(3))
        let v = ndcg_at(&ranked(&["x", "a", "b"]), &rel(&["a", "b"]), 10);
        let expected = (1.0 / 3f64.log2() + 0.5) / (1.0 + 1.0 / 3f64.log2());
        assert!((v - expected).abs() < 1e-12);
    }

    #[test]
    fn mrr_uses_the_first_relevant_rank_within_k() {
        let r = rel(&["b"]);
        assert_eq!(mrr_at(&ranked(&["a", "b"]), &r, 10), 0.5);
        assert_eq!(mrr_at(&ranked(&["a", "b"]), &r, 1), 0.0);
    }
}
