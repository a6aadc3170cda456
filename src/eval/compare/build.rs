//! Builds the comparison report from runs' per-item results.

use std::collections::BTreeSet;

use super::input::{Outcome, RunInput};
use super::report::{Cell, Comparison, Disagreement, JudgeSummary, MetricRow, RunSummary};
use super::table::Table;
use super::{factorial, kinds, leak, stats, verdict};
use crate::eval::pricing::Price;

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
    warnings.extend(judge_warnings(&runs));
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
    let done: Vec<&Outcome> = input
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
    let detail = |o: &Outcome, key: &str| o.detail.get(key).copied().unwrap_or(0.0);
    let mean_cost = |price: &Price, prefix: &str, wall: &str| {
        let costs: Vec<f64> = done
            .iter()
            .map(|o| {
                price.cost(
                    detail(o, &format!("{prefix}prompt_tokens")),
                    detail(o, &format!("{prefix}answer_tokens")),
                    detail(o, wall),
                )
            })
            .collect();
        stats::mean(&costs)
    };
    let answers = r.config.generates() && !done.is_empty();
    let cost = input
        .price
        .as_ref()
        .filter(|_| answers)
        .map(|p| mean_cost(p, "", "latency_ms"));
    let judge_cost = input
        .judge_price
        .as_ref()
        .filter(|_| answers && r.config.judge().is_some())
        .map(|p| mean_cost(p, "judge_", "judge_ms"));
    let currency = input
        .price
        .iter()
        .chain(input.judge_price.iter())
        .map(|p| p.currency.clone())
        .next();
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
        cost,
        judge_cost,
        currency: currency.filter(|_| cost.is_some() || judge_cost.is_some()),
        judge: r
            .config
            .judge()
            .map(|name| judge_summary(name, r.config.judge_runs, &done)),
    }
}

/// The judge's reliability over a run's items: failures, spread, agreement with the labels.
fn judge_summary(name: &str, runs_per_item: usize, done: &[&Outcome]) -> JudgeSummary {
    let values = |key: &str| -> Vec<f64> {
        done.iter()
            .filter_map(|o| o.metrics.get(key).copied())
            .collect()
    };
    let spreads = values("judge_spread");
    // (judge's verdict, the set's label) for the items that have both.
    let pairs: Vec<(f64, f64)> = done
        .iter()
        .filter_map(|o| {
            Some((
                *o.metrics.get("judge_correct")?,
                *o.detail.get("judge_label")?,
            ))
        })
        .collect();
    JudgeSummary {
        name: name.to_string(),
        runs_per_item,
        items: done.len(),
        failed_items: values("judge_failed").iter().filter(|v| **v >= 0.5).count(),
        parse_failures: stats::mean(&values("judge_parse_failures")),
        spread: (!spreads.is_empty()).then(|| stats::mean(&spreads)),
        agreement: (!pairs.is_empty())
            .then(|| pairs.iter().filter(|(j, l)| j == l).count() as f64 / pairs.len() as f64),
        agreement_items: pairs.len(),
        kappa: stats::cohen_kappa(&pairs),
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

/// A judge that failed on items is said out loud: its means are over fewer items.
fn judge_warnings(runs: &[RunSummary]) -> Vec<String> {
    runs.iter()
        .filter_map(|r| {
            let j = r.judge.as_ref()?;
            (j.failed_items > 0).then(|| {
                format!(
                    "judge {} gave no verdict that parsed on {} of {} items of run {} ({:.0} %; {:.0} % of its gradings failed to parse): its metrics are over the other {}",
                    j.name,
                    j.failed_items,
                    j.items,
                    r.id,
                    100.0 * j.failed_items as f64 / j.items.max(1) as f64,
                    100.0 * j.parse_failures,
                    j.items - j.failed_items
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
