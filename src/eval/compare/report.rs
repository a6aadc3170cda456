//! What `eval compare` reports: plain data, rendered by the CLI (table, CSV, JSON) and the
//! console's evaluation screen.

use serde::{Deserialize, Serialize};

/// Runs compared on the items they all evaluated successfully (paired by item).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub set: String,
    /// Items every run has a result for: the pairs every interval is computed over.
    pub paired_items: usize,
    /// The run the deltas are against.
    pub baseline: i64,
    pub runs: Vec<RunSummary>,
    /// One row per metric, in a fixed order (answer metrics, then retrieval, then speed).
    pub metrics: Vec<MetricRow>,
    /// The 2x2 answer, when the runs form base vs fine-tuned x RAG off vs on.
    pub factorial: Option<Factorial>,
    /// Items where the runs disagree most on the headline metric, most first.
    pub disagreements: Vec<Disagreement>,
    /// Leakage (a model trained on the set's items), unequal items, judge failures, ...
    pub warnings: Vec<String>,
    /// Plain-language conclusions, one sentence each.
    pub verdict: Vec<String>,
    /// Bootstrap resamples and seed (results are reproducible).
    pub resamples: usize,
    pub seed: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub id: i64,
    pub name: String,
    pub model: String,
    pub rag: bool,
    /// Items with a result / items the run evaluates.
    pub done: usize,
    pub total: usize,
    pub failed: usize,
    /// Means over the run's items: latency, time to first token, tokens/s.
    pub latency_ms: f64,
    pub first_token_ms: f64,
    pub tokens_per_s: f64,
    pub prompt_tokens: f64,
    pub answer_tokens: f64,
    /// Mean cost per item of the system's answers and, apart, of its judge (None when no
    /// price is known: `pricing.toml`), in `currency`.
    pub cost: Option<f64>,
    pub judge_cost: Option<f64>,
    #[serde(default)]
    pub currency: Option<String>,
    /// The run's judge and how far its gradings can be trusted.
    #[serde(default)]
    pub judge: Option<JudgeSummary>,
}

/// A judge over one run's items (all the run's successful items, not only the paired ones).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JudgeSummary {
    pub name: String,
    /// Gradings asked per item.
    pub runs_per_item: usize,
    pub items: usize,
    /// Items where no grading parsed: they have no judge score.
    pub failed_items: usize,
    /// Share of all gradings that did not parse.
    pub parse_failures: f64,
    /// Mean per-item standard deviation of the scores (0-1 scale); None with one grading.
    pub spread: Option<f64>,
    /// Share of items where the judge's majority verdict equals the set's own label
    /// (`eval::judge::label`), over `agreement_items`; Cohen's kappa of the same pairs.
    pub agreement: Option<f64>,
    pub agreement_items: usize,
    pub kappa: Option<f64>,
}

impl JudgeSummary {
    /// One sentence on how far the judge can be trusted (CLI and console say the same).
    pub fn describe(&self) -> String {
        let agreement = match (self.agreement, self.kappa) {
            (Some(a), k) => format!(
                "agrees with the set's labels on {:.0} % of {} items{}",
                100.0 * a,
                self.agreement_items,
                k.map_or(String::new(), |k| format!(" (kappa {k:.2})"))
            ),
            (None, _) => "no item to check against the set's labels".into(),
        };
        format!(
            "{}: {} gradings per item; no verdict on {} of {} items; {:.0} % of gradings unparsed; spread {}; {agreement}",
            self.name,
            self.runs_per_item,
            self.failed_items,
            self.items,
            100.0 * self.parse_failures,
            self.spread.map_or("-".to_string(), |s| format!("{s:.3}")),
        )
    }
}

impl RunSummary {
    /// "0.00123 USD" per item, with the judge's apart; None when nothing is priced.
    pub fn cost_text(&self) -> Option<String> {
        let currency = self.currency.as_deref().unwrap_or("");
        let format = super::verdict::format_cost;
        match (self.cost, self.judge_cost) {
            (None, None) => None,
            (Some(c), None) => Some(format!("{} {currency}", format(c))),
            (c, Some(j)) => Some(format!(
                "{} {currency} + judge {} {currency}",
                c.map_or("-".to_string(), format),
                format(j)
            )),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub metric: String,
    /// 0/1 per item (McNemar's test) rather than continuous (paired bootstrap).
    pub binary: bool,
    pub higher_is_better: bool,
    /// One cell per run, in `runs` order.
    pub cells: Vec<Cell>,
    /// The smallest difference from the baseline the paired items can detect (80 % power,
    /// 5 % two-sided), from the observed per-item variance of the differences.
    pub detectable: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub run: i64,
    /// Mean over the paired items that have the metric, and how many those are.
    pub mean: f64,
    pub n: usize,
    /// Against the baseline; None for the baseline itself or when no pair has the metric.
    pub delta: Option<Delta>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// This run's mean minus the baseline's, over the pairs.
    pub diff: f64,
    /// 95 % interval of the difference (paired bootstrap percentile interval).
    pub low: f64,
    pub high: f64,
    /// "paired bootstrap" or "McNemar (exact)".
    pub test: String,
    pub p_value: f64,
    /// Per item: this run better, worse, equal.
    pub wins: usize,
    pub losses: usize,
    pub ties: usize,
    /// The smallest difference these pairs detect (80 % power, 5 % two-sided).
    #[serde(default)]
    pub detectable: Option<f64>,
}

impl Delta {
    /// At the 5 % level by the delta's test: for a binary metric McNemar's exact p-value
    /// (the test made for paired 0/1 outcomes, more exact than the bootstrap at small n),
    /// otherwise the bootstrap interval leaving out zero.
    pub fn significant(&self) -> bool {
        if self.test.starts_with("McNemar") {
            self.p_value < 0.05
        } else {
            self.low > 0.0 || self.high < 0.0
        }
    }
}

/// Effects in the base vs fine-tuned x RAG off vs on design, on one metric, each with its
/// 95 % interval from the same paired bootstrap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Factorial {
    pub metric: String,
    /// Run ids: base without RAG, base with RAG, fine-tuned without, fine-tuned with.
    pub base_off: i64,
    pub base_on: i64,
    pub tuned_off: i64,
    pub tuned_on: i64,
    /// Mean of (RAG on - off) over both models.
    pub rag: Effect,
    /// Mean of (fine-tuned - base) over both RAG settings.
    pub finetune: Effect,
    /// (tuned_on - tuned_off) - (base_on - base_off): > 0 when the two help each other.
    pub interaction: Effect,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Effect {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    /// The smallest effect the paired items detect (80 % power, 5 % two-sided).
    #[serde(default)]
    pub detectable: Option<f64>,
}

impl Effect {
    /// The interval leaves out zero.
    pub fn significant(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Disagreement {
    pub item_key: String,
    pub question: String,
    /// The headline metric per run, in `runs` order (None: no result).
    pub values: Vec<Option<f64>>,
    /// max - min of `values`.
    pub spread: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_metrics_are_significant_by_mcnemar_and_the_rest_by_their_interval() {
        let d = |test: &str, p_value, low, high| Delta {
            test: test.into(),
            p_value,
            low,
            high,
            ..Delta::default()
        };
        // The bootstrap interval of a 0/1 metric can leave out 0 at small n where McNemar's
        // exact test does not: the exact test decides.
        assert!(!d("McNemar (exact)", 0.125, 0.05, 0.4).significant());
        assert!(d("McNemar (exact)", 0.03, -0.01, 0.4).significant());
        assert!(d("paired bootstrap", 0.2, 0.01, 0.3).significant());
        assert!(!d("paired bootstrap", 0.01, -0.01, 0.3).significant());
    }
}
