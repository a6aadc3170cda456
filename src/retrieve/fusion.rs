//! Reciprocal rank fusion: fused = sum over stages of 1 / (rrf_k + rank), rank from 1.

use std::collections::HashMap;

use super::stages::Ranked;
use super::Trace;

/// Fuses the two lists and returns the top `k` chunk ids with their traces.
pub fn rrf(vector: &Ranked, keyword: &Ranked, rrf_k: f64, k: usize) -> Vec<(i64, Trace)> {
    let mut traces: HashMap<i64, Trace> = HashMap::new();
    for (i, (id, distance)) in vector.iter().enumerate() {
        let t = traces.entry(*id).or_default();
        t.vector_rank = Some(i + 1);
        t.vector_distance = Some(*distance);
    }
    for (i, (id, score)) in keyword.iter().enumerate() {
        let t = traces.entry(*id).or_default();
        t.keyword_rank = Some(i + 1);
        t.bm25 = Some(*score);
    }
    let mut fused: Vec<(i64, Trace)> = traces
        .into_iter()
        .map(|(id, mut t)| {
            let terms: Vec<(String, f64)> = [t.vector_rank, t.keyword_rank]
                .iter()
                .flatten()
                .map(|&rank| (format!("1/({rrf_k}+{rank})"), 1.0 / (rrf_k + rank as f64)))
                .collect();
            t.fused_score = terms.iter().map(|(_, v)| v).sum();
            t.formula = format!(
                "{} = {:.5}",
                terms
                    .iter()
                    .map(|(s, _)| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" + "),
                t.fused_score
            );
            (id, t)
        })
        .collect();
    // Ties (same fused score) go to the better vector rank, then the lower id, so results
    // are deterministic.
    fused.sort_by(|a, b| {
        b.1.fused_score
            .total_cmp(&a.1.fused_score)
            .then(
                a.1.vector_rank
                    .unwrap_or(usize::MAX)
                    .cmp(&b.1.vector_rank.unwrap_or(usize::MAX)),
            )
            .then(a.0.cmp(&b.0))
    });
    fused.truncate(k);
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_found_by_both_stages_win_and_the_formula_explains_it() {
        let vector = vec![(1, 0.1), (2, 0.2), (3, 0.3)];
        let keyword = vec![(3, 9.0), (4, 8.0)];
        let fused = rrf(&vector, &keyword, 60.0, 10);
        assert_eq!(fused[0].0, 3);
        let t = &fused[0].1;
        assert_eq!((t.vector_rank, t.keyword_rank), (Some(3), Some(1)));
        assert!((t.fused_score - (1.0 / 63.0 + 1.0 / 61.0)).abs() < 1e-12);
        assert_eq!(t.formula, "1/(60+3) + 1/(60+1) = 0.03227");
        // 2 (vector rank 2) and 4 (keyword rank 2) tie; the better vector rank goes first
        let order: Vec<i64> = fused.iter().map(|(id, _)| *id).collect();
        assert_eq!(order, [3, 1, 2, 4]);
    }

    #[test]
    fn k_limits_the_output() {
        let vector: Ranked = (0..50).map(|i| (i, i as f64)).collect();
        assert_eq!(rrf(&vector, &vec![], 60.0, 5).len(), 5);
    }
}
