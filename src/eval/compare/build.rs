//! Builds the comparison report from runs' per-item results.

use std::collections::BTreeSet;

use super::input::RunInput;
use super::report::{Cell, Comparison, Disagreement, MetricRow, RunSummary};
use super::table::Table;
use super::{factorial, kinds, leak, stats, verdict};

/// Items listed among the disagreements at most.
const DISAGREEMENTS: usize = 10;

/// Compares the runs on the items they all have a successful result for, each against
/// `baseline` (the first run when it is not among them); `headline` is the metric of the
/// verdict's first sentence, the disagreements and the 2x2 effects.
pub fn compare(
    inputs: &[RunInput],
    baseline: i64,
    headline: &str,
    resamples: usize,
    seed: u64,
) -> Comparison {
    let table = Table::new(inputs, resamples, seed);
    let base = inputs
        .iter()
        .position(|r| r.run.id == baseline)
        .unwrap_or(0);
    let metrics = rows(&table, inputs, base);
    let mut warnings = pairing_warnings(inputs, &table);
    warnings.extend(leakage_warnings(inputs));
    let headline = match metrics.iter().find(|r| r.metric == headline) {
        Some(_) => headline.to_string(),
        None => match metrics.first() {
            Some(first) => {
                warnings.push(format!(
                    "no run has `{headline}` on the paired items; the headline metric is `{}`",
                    first.metric
                ));
                first.metric.clone()
            }
            None => headline.to_string(),
        },
    };
    let design = factorial::detect(inputs);
    let factorial = design
        .as_ref()
        .and_then(|d| factorial::estimate(d, inputs, &table, &headline));
    let runs: Vec<RunSummary> = inputs.iter().map(summary).collect();
    let verdict = verdict::sentences(&verdict::Input {
        runs: &runs,
        rows: &metrics,
        table: &table,
        headline: &headline,
        factorial: factorial.as_ref().zip(design.as_ref()),
    });
    let mut sets: Vec<&str> = Vec::new();
    for r in inputs {
        if !sets.contains(&r.run.set_name.as_str()) {
            sets.push(&r.run.set_name);
        }
    }
    Comparison {
        set: sets.join(", "),
        paired_items: table.keys.len(),
        baseline: inputs.get(base).map_or(baseline, |r| r.run.id),
        disagreements: disagreements(&table, inputs.len(), &headline),
        runs,
        metrics,
        factorial,
        warnings,
        verdict,
        resamples,
        seed,
    }
}

fn rows(table: &Table, inputs: &[RunInput], base: usize) -> Vec<MetricRow> {
    table
        .metrics()
        .into_iter()
        .map(|metric| {
            let columns: Vec<Vec<f64>> = (0..inputs.len())
                .map(|r| table.values(r, &metric).into_iter().flatten().collect())
                .collect();
            let binary = kinds::binary(&metric, columns.iter().flatten());
            let cells: Vec<Cell> = columns
                .iter()
                .enumerate()
                .map(|(r, values)| Cell {
                    run: inputs[r].run.id,
                    mean: stats::mean(values),
                    n: values.len(),
                    delta: (r != base)
                        .then(|| table.delta(r, base, &metric, binary))
                        .flatten(),
                })
                .collect();
            // With several runs, the row shows the largest: what every pair can detect.
            let detectable = cells
                .iter()
                .filter_map(|c| c.delta.as_ref()?.detectable)
                .reduce(f64::max);
            MetricRow {
                higher_is_better: kinds::higher_is_better(&metric),
                metric,
                binary,
                cells,
                detectable,
            }
        })
        .collect()
}

fn summary(input: &RunInput) -> RunSummary {
    let r = &input.run;
    let done: Vec<_> = input
        .items
        .iter()
        .filter_map(|i| i.result.as_ref())
        .collect();
    let mean_of = |name: &str| {
        let values: Vec<f64> = done
            .iter()
            .filter_map(|o| o.metrics.get(name).or(o.detail.get(name)).copied())
            .collect();
        stats::mean(&values)
    };
    RunSummary {
        id: r.id,
        name: r.name.clone(),
        model: r.config.model.clone(),
        rag: r.config.rag,
        done: done.len(),
        total: r.total.max(0) as usize,
        failed: r.failed.max(0) as usize,
        latency_ms: mean_of("latency_ms"),
        first_token_ms: mean_of("first_token_ms"),
        tokens_per_s: mean_of("tokens_per_s"),
        prompt_tokens: mean_of("prompt_tokens"),
        answer_tokens: mean_of("answer_tokens"),
        // No per-model price is configured yet.
        cost: None,
        judge_cost: None,
    }
}

fn pairing_warnings(inputs: &[RunInput], table: &Table) -> Vec<String> {
    let mut out = Vec::new();
    let sets: BTreeSet<&str> = inputs.iter().map(|r| r.run.set_name.as_str()).collect();
    if sets.len() > 1 {
        let names: Vec<&str> = sets.into_iter().collect();
        out.push(format!(
            "the runs are on different sets ({}): items are paired by their ids",
            names.join(", ")
        ));
    }
    let all: BTreeSet<&str> = inputs
        .iter()
        .flat_map(|r| r.items.iter().map(|i| i.key.as_str()))
        .collect();
    if table.keys.is_empty() {
        out.push("no item has a result in every run: there is nothing to compare".into());
    } else if all.len() > table.keys.len() {
        out.push(format!(
            "{} of {} items are left out: not every run has a result for them",
            all.len() - table.keys.len(),
            all.len()
        ));
    }
    for r in inputs {
        let missing = r.items.iter().filter(|i| i.result.is_none()).count();
        if missing > 0 {
            out.push(format!(
                "run {} ({}) has no result for {missing} of its {} items",
                r.run.id,
                r.run.name,
                r.items.len()
            ));
        }
    }
    out
}

fn leakage_warnings(inputs: &[RunInput]) -> Vec<String> {
    inputs
        .iter()
        .filter_map(|r| {
            let trained = r.trained_on.as_ref()?;
            let n = leak::overlap(r.items.iter().map(|i| i.question.as_str()), trained);
            (n > 0).then(|| {
                format!(
                    "model {} was trained on {n} items of set {}: its scores on them are not a fair test",
                    r.run.config.model, r.run.set_name
                )
            })
        })
        .collect()
}

fn disagreements(table: &Table, runs: usize, metric: &str) -> Vec<Disagreement> {
    let columns: Vec<Vec<Option<f64>>> = (0..runs).map(|r| table.values(r, metric)).collect();
    let mut out: Vec<Disagreement> = (0..table.keys.len())
        .filter_map(|i| {
            let values: Vec<Option<f64>> = columns.iter().map(|c| c[i]).collect();
            let present = values.iter().flatten();
            let max = present.clone().copied().reduce(f64::max)?;
            let min = present.copied().reduce(f64::min)?;
            (max - min > stats::TIE).then(|| Disagreement {
                item_key: table.keys[i].to_string(),
                question: table.questions[i].to_string(),
                values,
                spread: max - min,
            })
        })
        .collect();
    // Stable: equal spreads keep the set's order.
    out.sort_by(|a, b| b.spread.total_cmp(&a.spread));
    out.truncate(DISAGREEMENTS);
    out
}

#[cfg(test)]
#[path = "build_tests.rs"]
mod tests;
