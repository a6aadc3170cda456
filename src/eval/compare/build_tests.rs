use super::*;
use crate::eval::compare::input::{ItemInput, Outcome};
use crate::eval::config::RunConfig;
use crate::eval::store::{Run, RunStatus};
use crate::generate::manifest::Lineage;

fn run(id: i64, name: &str, model: &str, rag: bool) -> Run {
    let paths = crate::paths::Paths {
        config_dir: "/c".into(),
        data_dir: "/d".into(),
        cache_dir: "/k".into(),
    };
    Run {
        id,
        set_id: 1,
        set_name: "qa".into(),
        name: name.into(),
        config: RunConfig {
            name: name.into(),
            model: model.into(),
            rag,
            ..RunConfig::defaults(&crate::config::Config::defaults(&paths))
        },
        item_limit: None,
        total: 30,
        job_id: None,
        status: RunStatus::Succeeded,
        error: None,
        created_ms: 0,
        started_ms: None,
        ended_ms: None,
        done: 30,
        failed: 0,
    }
}

fn input(r: Run, metrics: impl Fn(usize) -> Vec<(&'static str, f64)>, n: usize) -> RunInput {
    RunInput {
        run: r,
        items: (0..n)
            .map(|i| ItemInput {
                key: format!("q{i}"),
                question: format!("Question {i}?"),
                result: Some(Outcome {
                    metrics: metrics(i)
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                    detail: [("prompt_tokens".to_string(), 100.0)].into_iter().collect(),
                }),
            })
            .collect(),
        lineage: None,
        trained_on: None,
        price: None,
        judge_price: None,
    }
}

/// Base item value x, and f1 = x + shift; latency by RAG setting.
fn cell(id: i64, name: &str, model: &str, rag: bool, shift: f64) -> RunInput {
    let latency = if rag { 800.0 } else { 500.0 };
    input(
        run(id, name, model, rag),
        move |i| {
            let x = (i % 4) as f64 * 0.0625;
            vec![("f1", x + shift), ("latency_ms", latency)]
        },
        30,
    )
}

/// RAG +0.25 for the base model, fine-tuning +0.125 without RAG, interaction +0.25: the
/// effects are rag 0.375, fine-tuning 0.25, interaction 0.25, on every item alike.
fn two_by_two(lineage: bool) -> Vec<RunInput> {
    let mut tuned_on = cell(1, "tuned-on", "tuned", true, 0.625);
    if lineage {
        tuned_on.lineage = Some(Lineage {
            base_model: Some("base".into()),
            ..Lineage::default()
        });
    }
    vec![
        tuned_on,
        cell(2, "base-off", "base", false, 0.0),
        cell(3, "tuned-off", "tuned", false, 0.125),
        cell(4, "base-on", "base", true, 0.25),
    ]
}

#[test]
fn the_two_by_two_effects_are_exact() {
    let c = compare(&two_by_two(true), 2, "f1", 200, 0);
    let f = c.factorial.as_ref().expect("a 2x2 design");
    assert_eq!(
        (f.base_off, f.base_on, f.tuned_off, f.tuned_on),
        (2, 4, 3, 1)
    );
    assert_eq!(
        (f.rag.estimate, f.rag.low, f.rag.high),
        (0.375, 0.375, 0.375)
    );
    assert_eq!((f.finetune.estimate, f.finetune.low), (0.25, 0.25));
    assert_eq!((f.interaction.estimate, f.interaction.high), (0.25, 0.25));
    let text = c.verdict.join("\n");
    assert!(
        text.contains("RAG adds 0.375 [+0.375, +0.375] f1"),
        "{text}"
    );
    assert!(text.contains("fine-tuning adds 0.250"), "{text}");
    assert!(text.contains("together they change f1 by +0.625"), "{text}");
    assert!(text.contains("interaction +0.250"), "{text}");
    assert!(
        text.contains("RAG helps the fine-tuned model more"),
        "{text}"
    );
    assert!(text.contains("lineage names base as its base"), "{text}");
    // The best run against the runner-up, with the latency it costs.
    assert!(
        text.contains("tuned-on beats base-on on f1 by 0.375 [+0.375, +0.375], at +0 ms latency"),
        "{text}"
    );
    assert_eq!(c.paired_items, 30);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn without_lineage_the_second_model_is_taken_as_fine_tuned() {
    let c = compare(&two_by_two(false), 2, "f1", 50, 0);
    let f = c.factorial.as_ref().expect("a 2x2 design");
    // "tuned" comes first, so "base" is taken as the fine-tuned model: the signs flip.
    assert_eq!(f.finetune.estimate, -0.25);
    assert!(c
        .verdict
        .iter()
        .any(|s| s.contains("second model by run order")));
    let three = &two_by_two(true)[..3];
    assert!(compare(three, 2, "f1", 50, 0).factorial.is_none());
}

#[test]
fn rows_hold_means_deltas_and_mcnemar_for_binary_metrics() {
    // em: the base is right on items 0-1 only, the other run on items 2-9: b = 8, c = 2.
    let base = input(
        run(1, "base", "m", true),
        |i| vec![("em", f64::from(u8::from(i < 2))), ("f1", 0.5)],
        10,
    );
    let other = input(
        run(2, "other", "m", false),
        |i| vec![("em", f64::from(u8::from(i >= 2))), ("f1", 0.75)],
        10,
    );
    let c = compare(&[base, other], 1, "f1", 100, 9);
    assert_eq!(c.metrics.len(), 2);
    let em = &c.metrics[0];
    assert_eq!((em.metric.as_str(), em.binary), ("em", true));
    let d = em.cells[1].delta.as_ref().unwrap();
    assert!((d.diff - 0.6).abs() < 1e-12);
    assert_eq!((d.wins, d.losses, d.ties), (8, 2, 0));
    assert_eq!(d.test, "McNemar (exact)");
    assert!((d.p_value - 0.109375).abs() < 1e-12);
    assert!(em.cells[0].delta.is_none());
    let f1 = &c.metrics[1];
    assert_eq!((f1.cells[0].mean, f1.cells[1].mean), (0.5, 0.75));
    let d = f1.cells[1].delta.as_ref().unwrap();
    assert_eq!((d.diff, d.low, d.high, d.p_value), (0.25, 0.25, 0.25, 0.0));
    assert_eq!(
        (d.test.as_str(), d.wins, d.ties),
        ("paired bootstrap", 10, 0)
    );
    assert_eq!(f1.detectable, Some(0.0));
    // The headline f1 differs by 0.25 on every item: equal spreads keep the set's order.
    assert_eq!(c.disagreements.len(), 10);
    assert_eq!(c.disagreements[0].item_key, "q0");
    assert_eq!(c.disagreements[0].spread, 0.25);
    assert_eq!(c.runs[0].prompt_tokens, 100.0);
    assert_eq!(c.runs[1].cost, None);
}

#[test]
fn unpaired_items_leakage_and_disagreements_are_reported() {
    let mut base = input(
        run(1, "base", "m", true),
        |i| vec![("f1", i as f64 / 10.0)],
        5,
    );
    let mut tuned = input(run(2, "tuned", "t", true), |_| vec![("f1", 0.2)], 5);
    base.items[4].result = None;
    tuned.trained_on = Some(
        ["question 1", "question 3", "unrelated"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    let c = compare(&[base, tuned], 1, "f1", 100, 0);
    assert_eq!(c.paired_items, 4);
    let w = c.warnings.join("\n");
    assert!(w.contains("1 of 5 items are left out"), "{w}");
    assert!(
        w.contains("run 1 (base) has no result for 1 of its 5 items"),
        "{w}"
    );
    assert!(
        w.contains(
            "model t was trained on 2 items of set qa: its scores on them are not a fair test"
        ),
        "{w}"
    );
    // Spreads: q0 0.2, q1 0.1, q2 0, q3 0.1: the tie keeps set order, q2 is left out.
    let keys: Vec<&str> = c
        .disagreements
        .iter()
        .map(|d| d.item_key.as_str())
        .collect();
    assert_eq!(keys, ["q0", "q1", "q3"]);
    assert_eq!(c.disagreements[0].values, [Some(0.0), Some(0.2)]);
    // Base 0.15 vs tuned 0.2 on four items: far too few to tell.
    let text = c.verdict.join("\n");
    assert!(text.contains("tuned beats base on f1 by 0.050"), "{text}");
    assert!(text.contains("too small to tell"), "{text}");
}

#[test]
fn a_missing_headline_metric_falls_back_with_a_warning() {
    let a = input(run(1, "a", "none", false), |_| vec![("doc_ndcg", 0.5)], 3);
    let b = input(run(2, "b", "none", false), |_| vec![("doc_ndcg", 0.5)], 3);
    let c = compare(&[a, b], 1, "f1", 10, 0);
    assert!(c.warnings[0].contains("the headline metric is `doc_ndcg`"));
    assert!(
        c.verdict[0].contains("a and b tie on doc_ndcg"),
        "{:?}",
        c.verdict
    );
}
