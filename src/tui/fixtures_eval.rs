//! Hand-made evaluation data for the evaluation screen's reducer tests and snapshots: sets,
//! runs (one running), a comparison of four runs in the 2x2 design, items and a drill-down.

use std::collections::BTreeMap;

use crate::eval::compare::{
    Cell, Comparison, Delta, Disagreement, Effect, Factorial, MetricRow, RunSummary,
};
use crate::tui::eval_msg::{ItemDetail, ItemRow, RunAnswer, RunRow, SetRow, SourceRow};

pub fn sets() -> Vec<SetRow> {
    vec![
        SetRow {
            id: 1,
            name: "handbook-qa".into(),
            items: 120,
            drafts: 0,
            status: "accepted".into(),
            collection: Some("handbook".into()),
        },
        SetRow {
            id: 2,
            name: "drafted-ops".into(),
            items: 40,
            drafts: 12,
            status: "draft".into(),
            collection: Some("ops".into()),
        },
    ]
}

pub fn run(id: i64, name: &str, model: &str, rag: bool, status: &str) -> RunRow {
    let (done, failed) = match status {
        "succeeded" => (120, 0),
        "running" => (57, 2),
        "failed" => (80, 40),
        _ => (0, 0),
    };
    RunRow {
        id,
        name: name.into(),
        model: model.into(),
        rag,
        status: status.into(),
        done,
        failed,
        total: 120,
        job_id: Some(100 + id),
        mean_f1: (done > 0).then_some(0.3 + id as f64 * 0.07),
        error: None,
    }
}

/// Newest first, as the store lists them.
pub fn runs() -> Vec<RunRow> {
    vec![
        run(4, "tuned-rag", "smollm2-sample-rag", true, "running"),
        run(3, "tuned", "smollm2-sample-rag", false, "succeeded"),
        run(2, "base-rag", "smollm2-135m-instruct", true, "succeeded"),
        run(1, "base", "smollm2-135m-instruct", false, "succeeded"),
    ]
}

fn summary(id: i64, name: &str, model: &str, rag: bool) -> RunSummary {
    RunSummary {
        id,
        name: name.into(),
        model: model.into(),
        rag,
        done: 120,
        total: 120,
        latency_ms: 800.0 + id as f64 * 150.0,
        ..RunSummary::default()
    }
}

fn delta(diff: f64, half: f64, p_value: f64, binary: bool) -> Delta {
    Delta {
        diff,
        low: diff - half,
        high: diff + half,
        test: if binary {
            "McNemar (exact)".into()
        } else {
            "paired bootstrap".into()
        },
        p_value,
        wins: 40,
        losses: 20,
        ties: 60,
        detectable: Some(half * 1.1),
    }
}

fn row(metric: &str, binary: bool, means: [f64; 4], half: f64) -> MetricRow {
    let cells = means
        .iter()
        .enumerate()
        .map(|(i, &mean)| Cell {
            run: i as i64 + 1,
            mean,
            n: 120,
            delta: (i > 0).then(|| {
                let diff = mean - means[0];
                let p = if (diff.abs() - half) > 0.0 { 0.01 } else { 0.4 };
                delta(diff, half, p, binary)
            }),
        })
        .collect();
    MetricRow {
        metric: metric.into(),
        binary,
        higher_is_better: metric != "latency_ms",
        cells,
        detectable: Some(half * 1.1),
    }
}

pub fn comparison() -> Comparison {
    let effect = |estimate: f64| Effect {
        estimate,
        low: estimate - 0.05,
        high: estimate + 0.05,
        detectable: Some(0.06),
    };
    Comparison {
        set: "handbook-qa".into(),
        paired_items: 118,
        baseline: 1,
        runs: vec![
            summary(1, "base", "smollm2-135m-instruct", false),
            summary(2, "base-rag", "smollm2-135m-instruct", true),
            summary(3, "tuned", "smollm2-sample-rag", false),
            summary(4, "tuned-rag", "smollm2-sample-rag", true),
        ],
        metrics: vec![
            row("f1", false, [0.31, 0.52, 0.36, 0.66], 0.06),
            row("exact_match", true, [0.12, 0.30, 0.14, 0.41], 0.07),
            row("citation_precision", false, [0.0, 0.61, 0.0, 0.74], 0.08),
            row("recall@5", false, [0.0, 0.82, 0.0, 0.82], 0.02),
        ],
        factorial: Some(Factorial {
            metric: "f1".into(),
            base_off: 1,
            base_on: 2,
            tuned_off: 3,
            tuned_on: 4,
            rag: effect(0.255),
            finetune: effect(0.095),
            interaction: effect(0.09),
        }),
        disagreements: vec![
            disagreement("q17", "How long is hot scratch storage kept?", [0.0, 1.0, 0.1, 1.0]),
            disagreement("q42", "Who approves travel over 5000 EUR?", [0.2, 0.9, 0.0, 0.8]),
            disagreement("q03", "When are invoices issued?", [0.5, 1.0, 0.4, 0.9]),
        ],
        warnings: vec![
            "2 items failed in run 4 and are left out of every pair".into(),
        ],
        verdict: vec![
            "RAG raises F1 by 0.26 [0.21, 0.31] over both models: retrieval is what helps most.".into(),
            "Fine-tuning adds 0.10 [0.05, 0.15], and more with RAG than without (interaction +0.09).".into(),
            "tuned-rag is the best run on F1 (0.66), significantly better than base (p < 0.05).".into(),
        ],
        resamples: 2000,
        seed: 7,
    }
}

fn disagreement(key: &str, question: &str, values: [f64; 4]) -> Disagreement {
    Disagreement {
        item_key: key.into(),
        question: question.into(),
        values: values.iter().map(|v| Some(*v)).collect(),
        spread: 1.0 - values.iter().cloned().fold(f64::MAX, f64::min),
    }
}

pub fn items() -> Vec<ItemRow> {
    let item = |key: &str, question: &str, answer: &str, draft: bool| ItemRow {
        key: key.into(),
        question: question.into(),
        answers: vec![answer.into()],
        draft,
        unanswerable: false,
    };
    vec![
        item(
            "d1",
            "How do I drain a GPU node?",
            "nodectl drain --grace 300",
            true,
        ),
        item(
            "d2",
            "Where are invoices sent?",
            "to the billing portal",
            true,
        ),
        item(
            "d3",
            "What does the cafeteria serve on Fridays?",
            "vegetarian lunch",
            false,
        ),
    ]
}

pub fn item_detail() -> ItemDetail {
    let source = |n: i64, path: &str, cited: bool, attributed: bool| SourceRow {
        n,
        chunk_id: Some(10 + n),
        source_path: format!("/data/handbook/{path}"),
        heading_path: "Storage > Tiers".into(),
        cited,
        attributed,
    };
    let metrics =
        |f1: f64, em: f64| BTreeMap::from([("f1".into(), f1), ("exact_match".into(), em)]);
    ItemDetail {
        key: "q17".into(),
        question: "How long is hot scratch storage kept?".into(),
        answers: vec!["14 days".into(), "two weeks".into()],
        unanswerable: false,
        runs: vec![
            RunAnswer {
                run: 1,
                name: "base".into(),
                rag: false,
                answer: Some("Scratch storage is kept for 30 days.".into()),
                error: None,
                metrics: metrics(0.0, 0.0),
                sources: vec![],
                latency_ms: Some(812.0),
            },
            RunAnswer {
                run: 2,
                name: "base-rag".into(),
                rag: true,
                answer: Some("Hot NVMe scratch storage is wiped after 14 days [1].".into()),
                error: None,
                metrics: metrics(1.0, 1.0),
                sources: vec![
                    source(1, "kb.jsonl", true, true),
                    source(2, "storage.md", false, true),
                    source(3, "billing.html", false, false),
                ],
                latency_ms: Some(1240.0),
            },
            RunAnswer {
                run: 4,
                name: "tuned-rag".into(),
                rag: true,
                answer: None,
                error: Some("generation timed out".into()),
                metrics: BTreeMap::new(),
                sources: vec![],
                latency_ms: None,
            },
        ],
    }
}
