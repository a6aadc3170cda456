//! End to end: an evaluation set with two finished runs, written straight into the database
//! through `lmdeck::eval::store` (no model needed), opened in the real console (in tmux,
//! driven with `send-keys`, read with `capture-pane`): screen 5 lists the set and its runs
//! with their progress and mean F1, Space marks both runs and c compares them: the metric
//! table, the bar chart and the verdict appear once the comparison is computed.

mod common;
#[path = "common/tmux.rs"]
mod tmux;

use common::Env;
use lmdeck::eval::config::RunConfig;
use lmdeck::eval::set::{Item, NewSet, SetStatus};
use lmdeck::eval::store::{self, ItemResult, RunStatus};
use tmux::Console;

fn config(name: &str, rag: bool) -> RunConfig {
    serde_json::from_value(serde_json::json!({
        "name": name, "model": "smollm2-135m-instruct", "rag": rag, "mode": "hybrid",
        "k": 5, "candidates": 100, "rrf_k": 60.0, "temperature": 0.0, "top_k": 0,
        "top_p": 1.0, "repetition_penalty": 1.0, "seed": 7, "max_tokens": 64,
        "context_tokens": 2048, "metrics_k": 5
    }))
    .expect("a run configuration")
}

/// A set of four questions and two finished runs of it: `closed-book` (F1 0.25 on average)
/// and `with-rag` (F1 0.875), with sources in each result's detail.
fn prepare(env: &Env) {
    let db = lmdeck::store::Store::open(&env.db()).expect("the database");
    let conn = db.conn();
    let items = (1..=4)
        .map(|i| Item {
            key: format!("q{i}"),
            question: format!("Which storage tier keeps data for {i} years?"),
            answers: vec![format!("tier {i}")],
            gold_docs: Default::default(),
            gold_chunks: vec![],
            unanswerable: false,
            draft: false,
        })
        .collect();
    let set = store::insert_set(
        conn,
        &NewSet {
            name: "storage-qa".into(),
            source: "/tmp/storage.jsonl".into(),
            format: "jsonl".into(),
            sha256: "0".into(),
            collection: None,
            status: SetStatus::Accepted,
            meta: serde_json::Value::Null,
            items,
        },
    )
    .expect("the set");
    let stored = store::items(conn, set).expect("its items");
    for (name, rag, f1s) in [
        ("closed-book", false, [0.0, 0.5, 0.0, 0.5]),
        ("with-rag", true, [1.0, 1.0, 0.5, 1.0]),
    ] {
        let run = store::create_run(conn, set, &config(name, rag), None).expect("a run");
        store::mark_run(conn, run, RunStatus::Running, None).expect("running");
        for (item, f1) in stored.iter().zip(f1s) {
            let result = ItemResult {
                item_id: item.id,
                ok: true,
                answer: Some(format!("answer of {name}")),
                detail: serde_json::json!({
                    "sources": [{"n": 1, "chunk_id": 1, "source_path": "kb.md",
                                 "heading_path": "Tiers", "cited": rag, "attributed": rag}],
                    "cited": if rag { vec![1] } else { vec![] },
                    "latency_ms": 120.0
                }),
                metrics: [("f1".to_string(), f1)].into_iter().collect(),
                error: None,
                attempts: 1,
                finished_ms: 1,
            };
            store::save_result(conn, run, &result).expect("a result");
        }
        store::mark_run(conn, run, RunStatus::Succeeded, None).expect("succeeded");
    }
}

#[test]
fn two_finished_runs_are_listed_marked_and_compared() {
    let env = Env::new();
    prepare(&env);
    let t = Console::start(&env.cmd(), "eval-test", 120, 40);
    t.wait_for("the console", 30, |s| {
        s.contains("1 Corpus") && s.contains("5 Eval")
    });
    t.keys(&["5"]);
    let screen = t.wait_for("the set and its two runs", 30, |s| {
        s.contains("storage-qa")
            && s.contains("Runs of storage-qa")
            && s.lines()
                .any(|l| l.contains("with-rag") && l.contains("succeeded"))
            && s.lines()
                .any(|l| l.contains("closed-book") && l.contains("succeeded"))
    });
    // Progress 4/4 and the mean F1 of each run.
    assert!(
        screen
            .lines()
            .any(|l| l.contains("with-rag") && l.contains("4/4") && l.contains("0.88")),
        "{screen}"
    );
    assert!(
        screen
            .lines()
            .any(|l| l.contains("closed-book") && l.contains("0.25")),
        "{screen}"
    );

    // Runs are newest first: mark closed-book (the older one) first, as the baseline.
    t.keys(&["Tab", "j", "Space", "k", "Space"]);
    t.wait_for("both runs marked", 10, |s| {
        s.contains("2 marked (c compares)")
    });
    t.keys(&["c"]);
    let screen = t.wait_for("the comparison", 60, |s| {
        s.contains("Verdict") || s.contains("failed:")
    });
    assert!(
        screen.contains("Comparison of 2 runs on storage-qa · 4 paired items · baseline #1"),
        "{screen}"
    );
    // The f1 row: the baseline's mean, then with-rag's mean and difference.
    assert!(
        screen
            .lines()
            .any(|l| l.contains("f1 ") && l.contains("0.250") && l.contains("0.875 +0.6")),
        "{screen}"
    );
    assert!(screen.contains("f1 by run"), "{screen}");
    assert!(
        screen.contains("with-rag beats closed-book on f1"),
        "the verdict: {screen}"
    );
    assert!(screen.contains("2000 resamples, seed 0"), "{screen}");

    // Esc goes back to the runs, q quits.
    t.keys(&["Escape"]);
    t.wait_for("the runs again", 10, |s| s.contains("Runs of storage-qa"));
    t.keys(&["q"]);
    t.wait_for("the console to exit", 30, |s| s.contains("LMDECK_EXIT=0"));
}
