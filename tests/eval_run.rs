//! `lmdeck eval run` with the real binary, SQLite, embedder and default chat model: runs as
//! jobs, resume after kill -9, gates and errors.

mod common;
#[path = "jobs_support/mod.rs"]
mod jobs_support;

use common::{ingest_kb, Env};
use lmdeck::eval::set::{Item, NewSet, SetStatus};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn item(key: &str, question: &str, answer: &str, doc: &str) -> Item {
    Item {
        key: key.into(),
        question: question.into(),
        answers: if answer.is_empty() {
            vec![]
        } else {
            vec![answer.into()]
        },
        gold_docs: if doc.is_empty() {
            BTreeMap::new()
        } else {
            [(doc.to_string(), 1)].into_iter().collect()
        },
        gold_chunks: vec![],
        unanswerable: answer.is_empty(),
        draft: false,
    }
}

/// The `kb` collection and a five-item set `kbqa` about it (one unanswerable).
fn prepare(env: &Env) {
    ingest_kb(env);
    let store = lmdeck::store::Store::open(&env.db()).unwrap();
    let set = NewSet {
        name: "kbqa".into(),
        source: "test".into(),
        format: "jsonl".into(),
        sha256: "0".into(),
        collection: Some("kb".into()),
        status: SetStatus::Accepted,
        meta: serde_json::json!({}),
        items: vec![
            item(
                "drain",
                "Which command drains a GPU node before maintenance?",
                "nodectl drain --grace 300",
                "gpu-drain.md",
            ),
            item(
                "invoice",
                "When are invoices issued?",
                "on the first business day of each month",
                "billing.html",
            ),
            item(
                "scratch",
                "How long is hot NVMe scratch storage kept?",
                "14 days",
                "kb.jsonl#kb1",
            ),
            item(
                "password",
                "How do I reset my password?",
                "open the self-service portal, choose forgot password",
                "password.txt",
            ),
            item(
                "moon",
                "What is the airspeed of the company mascot?",
                "",
                "",
            ),
        ],
    };
    lmdeck::eval::store::insert_set(store.conn(), &set).unwrap();
}

/// Per item (in set order): the answer and every metric except the timings.
fn outcomes(env: &Env, run: i64) -> Vec<(String, Option<String>, BTreeMap<String, String>)> {
    let v = env.json(&["eval", "show", &run.to_string(), "--json"]);
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let r = &i["result"];
            assert_eq!(r["ok"], true, "{i}");
            let metrics = r["metrics"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| !k.ends_with("_ms") && *k != "tokens_per_s")
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect();
            (
                i["item"]["key"].as_str().unwrap().to_string(),
                r["answer"].as_str().map(str::to_string),
                metrics,
            )
        })
        .collect()
}

const SHORT: [&str; 2] = ["--set", "max_tokens=24"];

#[test]
fn a_run_killed_mid_way_resumes_to_the_same_results_as_an_uninterrupted_one() {
    let whole = Env::new();
    prepare(&whole);
    let mut args = vec!["eval", "run", "--set", "kbqa", "--inline", "--json"];
    args.extend(SHORT);
    let runs = whole.json(&args);
    let run = runs[0]["id"].as_i64().unwrap();
    assert_eq!(runs[0]["status"], "succeeded", "{runs}");
    let expected = outcomes(&whole, run);
    assert_eq!(expected.len(), 5);
    // RAG answers over the kb collection: retrieval metrics and citations are scored.
    let drain = &expected[0].2;
    for m in [
        "f1",
        "em",
        "abstention",
        "doc_recall",
        "doc_ndcg",
        "cites_gold",
    ] {
        assert!(drain.contains_key(m), "{m} missing: {drain:?}");
    }
    assert!(!expected[4].2.contains_key("f1"), "unanswerable: no F1");

    let killed = Env::new();
    prepare(&killed);
    let mut child = killed
        .cmd()
        .args(["eval", "run", "--set", "kbqa", "--inline"])
        .args(SHORT)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while killed.sql_count("SELECT count(*) FROM eval_results") < 2 {
        assert!(Instant::now() < deadline, "no results after 300 s");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let kept = killed.sql_count("SELECT count(*) FROM eval_results WHERE status = 'ok'");
    assert!((2..5).contains(&kept), "{kept} results before the kill");
    let retried = killed.json(&["eval", "retry", "1", "--inline", "--json"]);
    assert_eq!(retried[0]["status"], "succeeded", "{retried}");
    // Finished items were not evaluated again.
    assert_eq!(
        killed.sql_count("SELECT count(*) FROM eval_results WHERE attempts > 1"),
        0
    );
    assert_eq!(outcomes(&killed, 1), expected);
}

#[test]
fn runs_execute_as_jobs_and_the_gate_fails_a_run_under_its_floor() {
    let env = Env::new();
    prepare(&env);
    let _daemon = jobs_support::DaemonGuard(&env);
    let run = |extra: &[&str]| {
        let mut cmd = jobs_support::cmd(&env);
        // Models are found in the normal data dir (jobs_support moves it to the temp dir).
        cmd.env_remove("LMDECK_DATA_DIR");
        cmd.args([
            "eval",
            "run",
            "--set",
            "kbqa",
            "--set",
            "model=none",
            "--json",
        ])
        .args(extra)
        .output()
        .unwrap()
    };
    let out = run(&["--fail-under", "doc_hit=0.5"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &runs[0];
    assert_eq!(r["status"], "succeeded", "{r}");
    assert!(r["job_id"].as_i64().is_some(), "executed as a job: {r}");
    assert_eq!(
        r["metrics"]["doc_hit"]["n"], 4,
        "four items have gold documents: {r}"
    );
    assert!(
        r["metrics"]["doc_hit"]["mean"].as_f64().unwrap() >= 0.75,
        "{r}"
    );

    let out = run(&[
        "--fail-under",
        "doc_hit=1.01",
        "--matrix",
        "mode=vector,keyword",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("doc_hit") && err.contains("under 1.01"),
        "{err}"
    );
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "default model=none mode=vector",
            "default model=none mode=keyword"
        ]
    );

    let started = Instant::now();
    let out = run(&["--detach"]);
    assert!(out.status.success());
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(runs[0]["id"].as_i64().is_some());
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "--detach waits for nothing"
    );
}

#[test]
fn bad_sets_configurations_and_gates_are_named() {
    let env = Env::new();
    prepare(&env);
    let err = env.fails(&["eval", "run", "--set", "nope"]);
    assert!(err.contains("no evaluation set `nope`"), "{err}");
    let err = env.fails(&["eval", "run", "--set", "kbqa", "--set", "colour=red"]);
    assert!(err.contains("colour") && err.contains("keys:"), "{err}");
    let err = env.fails(&["eval", "run", "--set", "kbqa", "--config", "absent"]);
    assert!(err.contains("absent.toml"), "{err}");
    env.write("bad.toml", "rag = true\nk = \"many\"\n");
    let bad = env.path("bad.toml");
    let err = env.fails(&[
        "eval",
        "run",
        "--set",
        "kbqa",
        "--config",
        bad.to_str().unwrap(),
    ]);
    assert!(err.contains("bad.toml:2"), "{err}");
    let err = env.fails(&[
        "eval",
        "run",
        "--set",
        "kbqa",
        "--set",
        "model=no-such-model",
    ]);
    assert!(err.contains("no-such-model"), "{err}");
    let err = env.fails(&["eval", "run", "--set", "kbqa", "--fail-under", "f1"]);
    assert!(err.contains("METRIC=VALUE"), "{err}");
    // Nothing was queued by the failed commands.
    assert_eq!(env.sql_count("SELECT count(*) FROM eval_runs"), 0);
}

#[test]
fn a_squad_set_is_imported_and_answered_end_to_end_with_the_default_model() {
    let env = Env::new();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/squad/mini-v2.json"
    );
    let out = env
        .cmd()
        .env("LMDECK_EVAL_CORPORA_DIR", env.path("corpora"))
        .args(["eval", "sets", "import", fixture])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut args = vec!["eval", "run", "--set", "mini-v2", "--inline", "--json"];
    args.extend(SHORT);
    let runs = env.json(&args);
    assert_eq!(runs[0]["status"], "succeeded", "{runs}");
    assert_eq!(runs[0]["done"], 12);
    let metrics = &runs[0]["metrics"];
    // 9 answerable items are scored on their answers and their gold passages, all 12 on
    // abstention.
    assert_eq!(metrics["f1"]["n"], 9, "{metrics}");
    assert_eq!(metrics["chunk_hit"]["n"], 9, "{metrics}");
    assert_eq!(metrics["abstention"]["n"], 12, "{metrics}");
    assert!(
        metrics["chunk_hit"]["mean"].as_f64().unwrap() > 0.5,
        "{metrics}"
    );
    let show = env.json(&["eval", "show", &runs[0]["id"].to_string(), "--json"]);
    let first = &show["items"][0]["result"]["detail"];
    assert!(
        first["sources"].as_array().is_some_and(|s| !s.is_empty()),
        "{first}"
    );
    assert!(
        first["trace"]["hits"]
            .as_array()
            .is_some_and(|h| !h.is_empty()),
        "{first}"
    );
    assert!(first["first_token_ms"].as_f64().unwrap() > 0.0);
}
