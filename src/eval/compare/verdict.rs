//! The verdict: plain-language sentences, each number with its 95 % interval.

use super::factorial::Design;
use super::kinds::{format, format_diff};
use super::report::{Delta, Effect, Factorial, MetricRow, RunSummary};
use super::stats::TIE;
use super::table::Table;

pub struct Input<'a> {
    pub runs: &'a [RunSummary],
    pub rows: &'a [MetricRow],
    pub table: &'a Table<'a>,
    pub headline: &'a str,
    pub factorial: Option<(&'a Factorial, &'a Design)>,
}

pub fn sentences(input: &Input) -> Vec<String> {
    let mut out = Vec::new();
    let mut rows: Vec<&MetricRow> = input.rows.iter().collect();
    // The headline metric speaks first.
    rows.sort_by_key(|r| r.metric != input.headline);
    for row in rows {
        out.extend(best_run(input, row));
    }
    if let Some((f, design)) = input.factorial {
        out.extend(factorial(f, design));
    }
    out
}

/// A run's name, with its id when another run has the same name.
fn label(runs: &[RunSummary], i: usize) -> String {
    let r = &runs[i];
    if runs.iter().filter(|o| o.name == r.name).count() > 1 {
        format!("{} (run {})", r.name, r.id)
    } else {
        r.name.clone()
    }
}

/// Why a difference is or is not a finding.
fn significance(significant: bool, diff: f64, detectable: Option<f64>, metric: &str) -> String {
    match detectable {
        _ if significant => String::new(),
        Some(mde) if diff.abs() < mde => format!(
            " (not significant: the set is too small to tell; it detects differences of {} or more)",
            format(metric, mde)
        ),
        _ => " (not significant)".to_string(),
    }
}

/// `run`'s advantage over the other as a positive-is-better number and interval.
fn advantage(d: &Delta, higher_is_better: bool) -> (f64, f64, f64) {
    if higher_is_better {
        (d.diff, d.low, d.high)
    } else {
        (-d.diff, -d.high, -d.low)
    }
}

fn best_run(input: &Input, row: &MetricRow) -> Option<String> {
    let sign = if row.higher_is_better { 1.0 } else { -1.0 };
    let mut order: Vec<usize> = (0..row.cells.len())
        .filter(|&i| row.cells[i].n > 0)
        .collect();
    order.sort_by(|&a, &b| (sign * row.cells[b].mean).total_cmp(&(sign * row.cells[a].mean)));
    let (&best, &second) = (order.first()?, order.get(1)?);
    let m = &row.metric;
    let (b, s) = (label(input.runs, best), label(input.runs, second));
    let d = input.table.delta(best, second, m, row.binary)?;
    if d.diff.abs() <= TIE {
        return Some(format!(
            "{b} and {s} tie on {m} ({})",
            format(m, row.cells[best].mean)
        ));
    }
    let (adv, low, high) = advantage(&d, row.higher_is_better);
    // Means over each run's own items can rank the pair the other way round from their
    // paired difference (metrics that apply to some items only): the pairs decide.
    let (best, second, b, s, adv, low, high) = if adv < 0.0 {
        (second, best, s, b, -adv, -high, -low)
    } else {
        (best, second, b, s, adv, low, high)
    };
    let mut text = format!(
        "{b} beats {s} on {m} by {} [{}, {}]",
        format(m, adv),
        format_diff(m, low),
        format_diff(m, high)
    );
    if m == input.headline && !m.ends_with("_ms") {
        let (a, z) = input.table.pairs(best, second, "latency_ms");
        if !a.is_empty() {
            let extra = super::stats::mean(&a) - super::stats::mean(&z);
            text.push_str(&if extra < 0.0 {
                format!(
                    ", and is faster by {} ms",
                    super::kinds::format("latency_ms", -extra)
                )
            } else {
                format!(", at {} ms latency", format_diff("latency_ms", extra))
            });
        }
        if let (Some(cb), Some(cs)) = (input.runs[best].cost, input.runs[second].cost) {
            let currency = input.runs[best].currency.as_deref().unwrap_or("");
            let extra = cb - cs;
            text.push_str(&format!(
                ", {} per item ({} {currency} against {} {currency})",
                if extra > 0.0 {
                    "costing more"
                } else {
                    "costing no more"
                },
                format_cost(cb),
                format_cost(cs)
            ));
        }
    }
    text.push_str(&significance(d.significant(), d.diff, d.detectable, m));
    Some(text)
}

/// Costs per item run from fractions of a cent to dollars: four significant digits.
pub fn format_cost(value: f64) -> String {
    if value == 0.0 {
        "0".into()
    } else if value.abs() >= 1.0 {
        format!("{value:.2}")
    } else {
        let digits = (-value.abs().log10().floor()) as usize + 3;
        format!("{value:.digits$}")
    }
}

fn effect_text(what: &str, e: &Effect, metric: &str) -> String {
    let interval = format!(
        "[{}, {}]",
        format_diff(metric, e.low),
        format_diff(metric, e.high)
    );
    let head = if e.estimate >= 0.0 {
        format!(
            "{what} adds {} {interval} {metric}",
            format(metric, e.estimate)
        )
    } else {
        format!(
            "{what} takes {} {interval} {metric} away",
            format(metric, -e.estimate)
        )
    };
    head + &significance(e.significant(), e.estimate, e.detectable, metric)
}

fn factorial(f: &Factorial, design: &Design) -> Vec<String> {
    let m = &f.metric;
    let why = if design.by_lineage {
        format!("its lineage names {} as its base", design.base)
    } else {
        "no lineage says which, so the second model by run order".to_string()
    };
    let together = f.rag.estimate + f.finetune.estimate;
    let i = &f.interaction;
    let how = if !i.significant() {
        "no clear interaction".to_string()
    } else if i.estimate > 0.0 {
        "RAG helps the fine-tuned model more than the base model".to_string()
    } else {
        "RAG helps the fine-tuned model less than the base model".to_string()
    };
    vec![
        format!("2x2 on {m}: {} is the fine-tuned model ({why}), {} the base", design.tuned, design.base),
        effect_text("RAG", &f.rag, m),
        effect_text("fine-tuning", &f.finetune, m),
        format!(
            "together they change {m} by {} over the base model without RAG; interaction {} [{}, {}]: {how}{}",
            format_diff(m, together),
            format_diff(m, i.estimate),
            format_diff(m, i.low),
            format_diff(m, i.high),
            significance(i.significant(), i.estimate, i.detectable, m)
        ),
    ]
}
