//! The paired items of a comparison and per-run lookups of their metric values.

use std::collections::{BTreeMap, BTreeSet};

use super::input::{Outcome, RunInput};
use super::kinds;
use super::report::Delta;
use super::stats;

pub struct Table<'a> {
    /// Item keys every run has a successful result for, in the first run's order.
    pub keys: Vec<&'a str>,
    pub questions: Vec<&'a str>,
    outcomes: Vec<BTreeMap<&'a str, &'a Outcome>>,
    pub resamples: usize,
    pub seed: u64,
}

impl<'a> Table<'a> {
    pub fn new(inputs: &'a [RunInput], resamples: usize, seed: u64) -> Table<'a> {
        let outcomes: Vec<BTreeMap<&str, &Outcome>> = inputs
            .iter()
            .map(|r| {
                r.items
                    .iter()
                    .filter_map(|i| Some((i.key.as_str(), i.result.as_ref()?)))
                    .collect()
            })
            .collect();
        let mut seen = BTreeSet::new();
        let (mut keys, mut questions) = (Vec::new(), Vec::new());
        for item in inputs.first().map_or(&[][..], |r| &r.items[..]) {
            let key = item.key.as_str();
            if seen.insert(key) && outcomes.iter().all(|o| o.contains_key(key)) {
                keys.push(key);
                questions.push(item.question.as_str());
            }
        }
        Table {
            keys,
            questions,
            outcomes,
            resamples,
            seed,
        }
    }

    /// Metric names found in any run's paired results.
    pub fn metrics(&self) -> Vec<String> {
        let mut names: BTreeSet<&str> = BTreeSet::new();
        for run in &self.outcomes {
            for key in &self.keys {
                if let Some(o) = run.get(key) {
                    names.extend(o.metrics.keys().map(String::as_str));
                }
            }
        }
        let mut out: Vec<String> = names.into_iter().map(str::to_string).collect();
        out.sort_by_key(|m| kinds::rank(m));
        out
    }

    /// A run's value of a metric on each paired item (None where it does not apply).
    pub fn values(&self, run: usize, metric: &str) -> Vec<Option<f64>> {
        self.keys
            .iter()
            .map(|k| self.outcomes[run].get(k)?.metrics.get(metric).copied())
            .collect()
    }

    /// The items where both runs have the metric: (run a's values, run b's values).
    pub fn pairs(&self, a: usize, b: usize, metric: &str) -> (Vec<f64>, Vec<f64>) {
        self.values(a, metric)
            .into_iter()
            .zip(self.values(b, metric))
            .filter_map(|(x, y)| Some((x?, y?)))
            .unzip()
    }

    /// Run `a` against run `b` on one metric, over their pairs; None without pairs.
    pub fn delta(&self, a: usize, b: usize, metric: &str, binary: bool) -> Option<Delta> {
        let (run, base) = self.pairs(a, b, metric);
        if run.is_empty() {
            return None;
        }
        let diffs: Vec<f64> = run.iter().zip(&base).map(|(r, b)| r - b).collect();
        let interval = stats::bootstrap(
            &diffs,
            &stats::draws(diffs.len(), self.resamples, self.seed),
        );
        let (wins, losses, ties) = stats::tally(&run, &base, kinds::higher_is_better(metric));
        let (test, p_value) = if binary {
            let only_run = run.iter().zip(&base).filter(|(r, b)| **r > **b).count();
            let only_base = run.iter().zip(&base).filter(|(r, b)| **r < **b).count();
            ("McNemar (exact)", stats::mcnemar(only_run, only_base))
        } else {
            ("paired bootstrap", interval.p_value)
        };
        Some(Delta {
            diff: interval.estimate,
            low: interval.low,
            high: interval.high,
            test: test.to_string(),
            p_value,
            wins,
            losses,
            ties,
            detectable: stats::detectable(&diffs),
        })
    }
}
