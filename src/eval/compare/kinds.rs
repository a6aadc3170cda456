//! What the comparison knows about metric names: their order, direction and kind.

/// Answer metrics, then retrieval, then speed: the order of the report's rows.
const ORDER: &[&str] = &[
    "em",
    "f1",
    "abstention",
    "cites_gold",
    "cite_precision",
    "cite_recall",
    "grounded",
    "judge_correct",
    "judge_score",
    "judge_agrees",
    "judge_spread",
    "judge_parse_failures",
    "judge_failed",
    "doc_recall",
    "doc_precision",
    "doc_mrr",
    "doc_ndcg",
    "doc_hit",
    "chunk_recall",
    "chunk_precision",
    "chunk_mrr",
    "chunk_ndcg",
    "chunk_hit",
    "latency_ms",
    "first_token_ms",
    "tokens_per_s",
];

/// Metrics that are 0 or 1 per item by definition (McNemar's test applies).
const BINARY: &[&str] = &[
    "em",
    "abstention",
    "cites_gold",
    "doc_hit",
    "chunk_hit",
    "judge_correct",
    "judge_agrees",
    "judge_failed",
];

/// Speed measures the run engine may leave in an item's detail rather than its metrics.
pub const SPEED: &[&str] = &["latency_ms", "first_token_ms", "tokens_per_s"];

/// Where a metric's row goes: known metrics in `ORDER`, unknown ones after them by name.
pub fn rank(metric: &str) -> (usize, String) {
    match ORDER.iter().position(|m| *m == metric) {
        Some(i) => (i, String::new()),
        None => (ORDER.len(), metric.to_string()),
    }
}

/// Times and a judge's inconsistency and failures are better low; everything else high.
pub fn higher_is_better(metric: &str) -> bool {
    !metric.ends_with("_ms")
        && !matches!(
            metric,
            "judge_spread" | "judge_parse_failures" | "judge_failed"
        )
}

/// Binary when the name is a known 0/1 metric and every value seen is 0 or 1 (a metric of that
/// name written differently, say as a share, is treated as continuous).
pub fn binary<'a>(metric: &str, mut values: impl Iterator<Item = &'a f64>) -> bool {
    BINARY.contains(&metric) && values.all(|v| *v == 0.0 || *v == 1.0)
}

/// How a metric's values are shown: milliseconds whole, rates with one decimal, scores with
/// three.
pub fn format(metric: &str, value: f64) -> String {
    if metric.ends_with("_ms") {
        format!("{value:.0}")
    } else if metric.ends_with("_per_s") {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

/// A difference, with its sign.
pub fn format_diff(metric: &str, value: f64) -> String {
    let text = format(metric, value.abs());
    if value < 0.0 && text.chars().any(|c| ('1'..='9').contains(&c)) {
        format!("-{text}")
    } else {
        format!("+{text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_ordered_answer_retrieval_speed_then_unknown() {
        let mut names = vec!["zeta", "latency_ms", "doc_ndcg", "f1", "judge"];
        names.sort_by_key(|m| rank(m));
        assert_eq!(names, ["f1", "doc_ndcg", "latency_ms", "judge", "zeta"]);
    }

    #[test]
    fn binary_needs_the_name_and_the_data() {
        assert!(binary("em", [0.0, 1.0, 1.0].iter()));
        assert!(!binary("em", [0.0, 0.5].iter()));
        assert!(!binary("f1", [0.0, 1.0].iter()));
        assert!(!higher_is_better("first_token_ms"));
        assert!(higher_is_better("tokens_per_s"));
    }

    #[test]
    fn differences_carry_their_sign() {
        assert_eq!(format_diff("f1", 0.1234), "+0.123");
        assert_eq!(format_diff("f1", -0.1234), "-0.123");
        assert_eq!(format_diff("f1", -0.0001), "+0.000");
        assert_eq!(format_diff("latency_ms", -310.4), "-310");
    }
}
