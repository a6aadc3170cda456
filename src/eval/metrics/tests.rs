//! Hand-computed cases for each relevance rule.

use super::*;

fn q(grades: &[(&str, u32)]) -> Judgements<String> {
    grades.iter().map(|(id, g)| (id.to_string(), *g)).collect()
}

fn r(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

type Metric = fn(&[String], &Judgements<String>, usize) -> f64;

fn all() -> [Metric; 5] {
    [ndcg_at, recall_at, precision_at, mrr_at, hit_rate_at]
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} != {b}");
}

#[test]
fn perfect_and_reordered_equal_grades_score_one() {
    let qrels = q(&[("a", 2), ("b", 2), ("c", 1)]);
    close(ndcg_at(&r(&["a", "b", "c"]), &qrels, 10), 1.0);
    // Equal grades in either order: still the ideal ranking.
    close(ndcg_at(&r(&["b", "a", "c", "x"]), &qrels, 10), 1.0);
    close(recall_at(&r(&["b", "a", "c"]), &qrels, 3), 1.0);
    close(mrr_at(&r(&["b", "a", "c"]), &qrels, 10), 1.0);
}

#[test]
fn graded_ndcg_matches_a_hand_computed_value() {
    let qrels = q(&[("a", 2), ("b", 2), ("c", 1)]);
    // DCG = 1/log2(2) + 2/log2(3) + 2/log2(4); IDCG = 2/log2(2) + 2/log2(3) + 1/log2(4)
    let dcg = 1.0 + 2.0 / 3f64.log2() + 1.0;
    let idcg = 2.0 + 2.0 / 3f64.log2() + 0.5;
    close(ndcg_at(&r(&["c", "a", "b"]), &qrels, 3), dcg / idcg);
    // The cut-off applies to the ideal ranking too: IDCG@1 = 2.
    close(ndcg_at(&r(&["c", "a"]), &qrels, 1), 0.5);
}

#[test]
fn empty_retrievals_score_zero() {
    let qrels = q(&[("a", 1)]);
    let none: Vec<String> = Vec::new();
    for f in all() {
        assert_eq!(f(&none, &qrels, 10), 0.0);
    }
}

#[test]
fn no_relevant_documents_score_zero() {
    let ranked = r(&["a", "b"]);
    for qrels in [q(&[]), q(&[("a", 0), ("b", 0)])] {
        for f in all() {
            assert_eq!(f(&ranked, &qrels, 10), 0.0);
        }
    }
}

#[test]
fn grade_zero_is_not_relevant() {
    let qrels = q(&[("a", 0), ("b", 1)]);
    let ranked = r(&["a", "b"]);
    close(recall_at(&ranked, &qrels, 10), 1.0); // one relevant document, found
    close(precision_at(&ranked, &qrels, 2), 0.5);
    close(mrr_at(&ranked, &qrels, 10), 0.5);
    close(ndcg_at(&ranked, &qrels, 10), 1.0 / 3f64.log2());
    assert_eq!(hit_rate_at(&ranked, &qrels, 1), 0.0);
    assert_eq!(hit_rate_at(&ranked, &qrels, 2), 1.0);
}

#[test]
fn a_repeated_id_counts_once_and_wastes_its_slot() {
    let qrels = q(&[("a", 1), ("b", 1)]);
    let ranked = r(&["a", "a", "b"]);
    close(recall_at(&ranked, &qrels, 2), 0.5);
    close(precision_at(&ranked, &qrels, 3), 2.0 / 3.0);
    close(ndcg_at(&ranked, &qrels, 3), 1.5 / (1.0 + 1.0 / 3f64.log2()));
}

#[test]
fn precision_divides_by_k_and_mrr_stops_at_k() {
    let qrels = q(&[("a", 1)]);
    close(precision_at(&r(&["a"]), &qrels, 5), 0.2);
    assert_eq!(precision_at(&r(&["a"]), &qrels, 0), 0.0);
    let ranked = r(&["x", "y", "a"]);
    close(mrr_at(&ranked, &qrels, 3), 1.0 / 3.0);
    assert_eq!(mrr_at(&ranked, &qrels, 2), 0.0);
    close(
        recall_at(&r(&["a"]), &q(&[("a", 1), ("b", 3), ("c", 1)]), 1),
        1.0 / 3.0,
    );
}

#[test]
fn ids_of_any_type_and_binary_judgements() {
    let exact = [4_i64, 9, 2];
    close(recall_at(&[9_i64, 5, 4], &binary(&exact), 10), 2.0 / 3.0);
}

/// The nDCG, recall and MRR `eval retrieval` computed before this module was shared: the
/// SciFact figures (qrels hold grades > 0 only, rankings hold no repeats) must not move.
#[test]
fn unchanged_for_the_beir_path_to_the_last_bit() {
    fn legacy_ndcg(ranked: &[String], relevant: &HashMap<String, u32>, k: usize) -> f64 {
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
    let ids: Vec<String> = (0..40).map(|i| format!("d{i}")).collect();
    for seed in 0..50_usize {
        let qrels: Judgements<String> = (0..1 + seed % 7)
            .map(|j| {
                (
                    ids[(seed * 7 + j * 13) % 40].clone(),
                    1 + ((seed + j) % 3) as u32,
                )
            })
            .collect();
        let mut ranked = ids.clone();
        ranked.rotate_left(seed % 40);
        for k in [1, 10, 100] {
            assert_eq!(ndcg_at(&ranked, &qrels, k), legacy_ndcg(&ranked, &qrels, k));
            let found = ranked
                .iter()
                .take(k)
                .filter(|id| qrels.contains_key(*id))
                .count();
            assert_eq!(
                recall_at(&ranked, &qrels, k),
                found as f64 / qrels.len() as f64
            );
            let first = ranked.iter().take(k).position(|id| qrels.contains_key(id));
            assert_eq!(
                mrr_at(&ranked, &qrels, k),
                first.map_or(0.0, |p| 1.0 / (p as f64 + 1.0))
            );
        }
    }
}

#[test]
fn ties_keep_the_given_order_and_k_may_exceed_the_list() {
    let qrels = q(&[("a", 3), ("b", 1)]);
    let idcg = 3.0 + 1.0 / 3f64.log2(); // 3/log2(2) + 1/log2(3) = 3.63093
                                        // Were a and b tied in score, the order given is the order scored: b first costs.
                                        // DCG = 1/log2(2) + 3/log2(3) = 2.89279; nDCG = 0.79671.
    close(ndcg_at(&r(&["a", "b"]), &qrels, 10), 1.0);
    close(
        ndcg_at(&r(&["b", "a"]), &qrels, 10),
        (1.0 + 3.0 / 3f64.log2()) / idcg,
    );
    // Three retrieved, k = 10: DCG = 1/log2(2) + 0 + 3/log2(4) = 2.5; nDCG = 0.68853.
    let ranked = r(&["b", "x", "a"]);
    close(ndcg_at(&ranked, &qrels, 10), 2.5 / idcg);
    close(recall_at(&ranked, &qrels, 10), 1.0);
    close(precision_at(&ranked, &qrels, 10), 0.2); // trec_eval's P_10: 2 / 10
    close(mrr_at(&ranked, &qrels, 10), 1.0);
    close(hit_rate_at(&ranked, &qrels, 10), 1.0);
}
