//! How `eval compare` shows a comparison: a table for people, CSV for spreadsheets.

use crate::eval::compare::kinds::{format, format_diff};
use crate::eval::compare::verdict::format_cost;
use crate::eval::compare::{Comparison, Delta, Effect, RunSummary};
use crate::util::safe::one_line;

/// Characters of a question shown among the disagreements.
const QUESTION_CHARS: usize = 48;
/// Width of the name and model columns: longer ones (a matrix run's name spells out its
/// combination) are cut so the columns stay aligned; `--json` and `--csv` keep them whole.
const NAME_CHARS: usize = 20;

pub fn table(c: &Comparison) {
    println!(
        "{} runs on set {}: {} paired items (paired bootstrap, {} resamples, seed {})",
        c.runs.len(),
        one_line(&c.set),
        c.paired_items,
        c.resamples,
        c.seed
    );
    println!(
        "\n  {:<5} {:<20} {:<20} {:<4} {:>11} {:>7} {:>11} {:>14} {:>12}",
        "run",
        "name",
        "model",
        "rag",
        "done/total",
        "failed",
        "latency ms",
        "tokens in/out",
        "cost/item"
    );
    for r in &c.runs {
        let base = if r.id == c.baseline {
            "  (baseline)"
        } else {
            ""
        };
        println!(
            "  {:<5} {:<20} {:<20} {:<4} {:>11} {:>7} {:>11.0} {:>14} {:>12}{base}",
            r.id,
            clip(&one_line(&r.name), NAME_CHARS),
            clip(&one_line(&r.model), NAME_CHARS),
            if r.rag { "on" } else { "off" },
            format!("{}/{}", r.done, r.total),
            r.failed,
            r.latency_ms,
            format!("{:.0}/{:.0}", r.prompt_tokens, r.answer_tokens),
            cost(r.cost, r.currency.as_deref())
        );
    }
    judges(c);
    println!(
        "\n{:<20} {:<20} {:>9} {:>5} {:>9}  {:<22} {:>7}  {:<9} {:>10} {:>10}",
        "metric", "run", "mean", "n", "diff", "95 % interval", "p", "test", "W/L/T", "detectable"
    );
    for row in &c.metrics {
        for (i, cell) in row.cells.iter().enumerate() {
            let metric = if i == 0 { row.metric.as_str() } else { "" };
            let name = c
                .runs
                .get(i)
                .map_or(String::new(), |r| one_line(&r.name).into_owned());
            let head = format!(
                "{:<20} {:<20} {:>9} {:>5}",
                one_line(metric),
                clip(&format!("#{} {name}", cell.run), NAME_CHARS),
                if cell.n == 0 {
                    "-".to_string()
                } else {
                    format(&row.metric, cell.mean)
                },
                cell.n
            );
            match &cell.delta {
                None if cell.run == c.baseline => println!("{head} {:>9}", "baseline"),
                None => println!("{head} {:>9}", "-"),
                Some(d) => println!("{head} {}", delta(&row.metric, d)),
            }
        }
    }
    if let Some(f) = &c.factorial {
        println!(
            "\n2x2 on {} (base: runs {} off, {} on; fine-tuned: runs {} off, {} on)",
            one_line(&f.metric),
            f.base_off,
            f.base_on,
            f.tuned_off,
            f.tuned_on
        );
        for (name, e) in [
            ("RAG", &f.rag),
            ("fine-tuning", &f.finetune),
            ("interaction", &f.interaction),
        ] {
            println!("  {name:<12} {}", effect(&f.metric, e));
        }
    }
    if !c.disagreements.is_empty() {
        println!("\nitems the runs disagree on most:");
        for d in &c.disagreements {
            let values: Vec<String> = d
                .values
                .iter()
                .map(|v| v.map_or("-".to_string(), |v| format!("{v:.3}")))
                .collect();
            println!(
                "  {:<12} {:<50} {}",
                one_line(&d.item_key),
                clip(&one_line(&d.question), QUESTION_CHARS),
                values.join("  ")
            );
        }
    }
    for w in &c.warnings {
        println!("\nwarning: {}", one_line(w));
    }
    if !c.verdict.is_empty() {
        println!("\nverdict:");
        for v in &c.verdict {
            println!("  - {}", one_line(v));
        }
    }
}

fn cost(value: Option<f64>, currency: Option<&str>) -> String {
    match value {
        Some(v) => format!("{} {}", format_cost(v), currency.unwrap_or("")),
        None => "-".into(),
    }
}

/// Each judge with what says how far to trust it, its cost apart from the system's.
fn judges(c: &Comparison) {
    let judged: Vec<_> = c
        .runs
        .iter()
        .filter_map(|r| Some((r, r.judge.as_ref()?)))
        .collect();
    if judged.is_empty() {
        return;
    }
    println!("\njudges:");
    for (r, j) in judged {
        println!(
            "  run {} judged by {}; judge cost {} per item",
            r.id,
            one_line(&j.describe()),
            cost(r.judge_cost, r.currency.as_deref())
        );
    }
}

fn delta(metric: &str, d: &Delta) -> String {
    let star = if d.significant() { "*" } else { " " };
    let test = if d.test.starts_with("McNemar") {
        "McNemar"
    } else {
        "bootstrap"
    };
    format!(
        "{:>9}  {:<22} {:>7.4}  {:<9} {:>10} {:>10}",
        format_diff(metric, d.diff),
        format!(
            "[{}, {}]{star}",
            format_diff(metric, d.low),
            format_diff(metric, d.high)
        ),
        d.p_value,
        test,
        format!("{}/{}/{}", d.wins, d.losses, d.ties),
        d.detectable.map_or("-".to_string(), |m| format(metric, m))
    )
}

fn effect(metric: &str, e: &Effect) -> String {
    format!(
        "{:>9}  [{}, {}]{}  detectable: {}",
        format_diff(metric, e.estimate),
        format_diff(metric, e.low),
        format_diff(metric, e.high),
        if e.significant() { "*" } else { "" },
        e.detectable.map_or("-".to_string(), |m| format(metric, m))
    )
}

/// At most `width` characters: a longer text ends in "..." within them.
fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let cut: String = text.chars().take(width.saturating_sub(3)).collect();
    format!("{}...", cut.trim_end())
}

/// One row per (metric, run); the baseline's difference columns are empty.
pub fn csv(c: &Comparison) -> String {
    let mut out = String::from(
        "metric,run_id,run_name,mean,n,diff,low,high,p_value,test,wins,losses,ties,detectable\n",
    );
    for row in &c.metrics {
        for (i, cell) in row.cells.iter().enumerate() {
            let name = c.runs.get(i).map_or("", |r| r.name.as_str());
            let rest = match &cell.delta {
                Some(d) => format!(
                    "{},{},{},{},{},{},{},{},{}",
                    d.diff,
                    d.low,
                    d.high,
                    d.p_value,
                    field(&d.test),
                    d.wins,
                    d.losses,
                    d.ties,
                    d.detectable.map_or(String::new(), |m| m.to_string())
                ),
                None => ",,,,,,,,".to_string(),
            };
            out.push_str(&format!(
                "{},{},{},{},{},{rest}\n",
                field(&row.metric),
                cell.run,
                field(name),
                cell.mean,
                cell.n
            ));
        }
    }
    // Costs per item (in the run's currency) as rows of their own, without intervals.
    for (metric, pick) in [
        (
            "cost_per_item",
            (|r| r.cost) as fn(&RunSummary) -> Option<f64>,
        ),
        ("judge_cost_per_item", |r| r.judge_cost),
    ] {
        for r in &c.runs {
            if let Some(v) = pick(r) {
                out.push_str(&format!(
                    "{metric},{},{},{v},{},,,,,,,,,\n",
                    r.id,
                    field(&r.name),
                    r.done
                ));
            }
        }
    }
    out
}

/// A CSV field, quoted when it holds a separator, quote or line break.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::compare::{Cell, MetricRow, RunSummary};

    #[test]
    fn csv_has_one_row_per_metric_and_run_and_quotes_names() {
        let c = Comparison {
            runs: vec![
                RunSummary {
                    id: 1,
                    name: "base".into(),
                    ..Default::default()
                },
                RunSummary {
                    id: 2,
                    name: "a, \"b\"".into(),
                    ..Default::default()
                },
            ],
            metrics: vec![MetricRow {
                metric: "f1".into(),
                cells: vec![
                    Cell {
                        run: 1,
                        mean: 0.5,
                        n: 4,
                        delta: None,
                    },
                    Cell {
                        run: 2,
                        mean: 0.75,
                        n: 4,
                        delta: Some(Delta {
                            diff: 0.25,
                            low: 0.125,
                            high: 0.5,
                            test: "paired bootstrap".into(),
                            p_value: 0.01,
                            wins: 3,
                            losses: 0,
                            ties: 1,
                            detectable: Some(0.2),
                        }),
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        };
        let text = csv(&c);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "f1,1,base,0.5,4,,,,,,,,,");
        assert_eq!(
            lines[2],
            "f1,2,\"a, \"\"b\"\"\",0.75,4,0.25,0.125,0.5,0.01,paired bootstrap,3,0,1,0.2"
        );
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn long_names_are_cut_to_their_column() {
        assert_eq!(clip(&"x".repeat(60), QUESTION_CHARS).len(), 48);
        let name = "#4 default model=smollm2-135m-instruct rag=on";
        assert_eq!(clip(name, NAME_CHARS), "#4 default model=...");
        assert_eq!(clip("#17 default", NAME_CHARS), "#17 default");
        // Characters, not bytes.
        assert_eq!(clip("réglage-très-très-long", 10).chars().count(), 10);
    }
}
