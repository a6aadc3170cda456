//! `lmdeck eval compare` through the real binary, on a database built with the library.

mod common;
use common::Env;

use lmdeck::eval::config::RunConfig;
use lmdeck::eval::set::{Item, NewSet, SetStatus};
use lmdeck::eval::store::{self, ItemResult};

fn config(name: &str) -> RunConfig {
    let paths = lmdeck::paths::Paths {
        config_dir: "/c".into(),
        data_dir: "/d".into(),
        cache_dir: "/k".into(),
    };
    RunConfig {
        name: name.into(),
        model: "none".into(),
        rag: true,
        ..RunConfig::defaults(&lmdeck::config::Config::defaults(&paths))
    }
}

fn result(item_id: i64, f1: f64, em: f64) -> ItemResult {
    ItemResult {
        item_id,
        ok: true,
        answer: Some("x".into()),
        detail: serde_json::json!({"latency_ms": 100}),
        metrics: [("f1".to_string(), f1), ("em".to_string(), em)]
            .into_iter()
            .collect(),
        error: None,
        attempts: 1,
        finished_ms: 1,
    }
}

/// Ten items. Run 2's f1 is run 1's plus 0.25 on every item; em: run 1 is right on items
/// 0-1 only, run 2 on items 2-9 (McNemar b = 8, c = 2). Run 3 has no results.
fn database(env: &Env) {
    let s = lmdeck::store::Store::open(&env.db()).unwrap();
    let c = s.conn();
    let items = (0..10)
        .map(|i| Item {
            key: format!("q{i}"),
            question: format!("Question {i}?"),
            answers: vec!["a".into()],
            gold_docs: Default::default(),
            gold_chunks: vec![],
            unanswerable: false,
            draft: false,
        })
        .collect();
    let set = store::insert_set(
        c,
        &NewSet {
            name: "qa".into(),
            source: "qa.jsonl".into(),
            format: "jsonl".into(),
            sha256: "0".into(),
            collection: None,
            status: SetStatus::Accepted,
            meta: serde_json::Value::Null,
            items,
        },
    )
    .unwrap();
    let ids: Vec<i64> = store::items(c, set).unwrap().iter().map(|i| i.id).collect();
    let one = store::create_run(c, set, &config("one"), None).unwrap();
    let two = store::create_run(c, set, &config("two"), None).unwrap();
    store::create_run(c, set, &config("three"), None).unwrap();
    for (i, id) in ids.iter().enumerate() {
        let x = (i % 4) as f64 * 0.125;
        store::save_result(c, one, &result(*id, x, f64::from(u8::from(i < 2)))).unwrap();
        store::save_result(c, two, &result(*id, x + 0.25, f64::from(u8::from(i >= 2)))).unwrap();
    }
}

fn cmd(env: &Env, args: &[&str]) -> std::process::Output {
    env.cmd()
        .env("LMDECK_DATA_DIR", env.path("data"))
        .env("LMDECK_CONFIG_DIR", env.path("config"))
        .env("LMDECK_CACHE_DIR", env.path("cache"))
        .arg("--db")
        .arg(env.db())
        .args(["eval", "compare"])
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn json_and_csv_hold_the_known_differences() {
    let env = Env::new();
    database(&env);
    let csv_path = env.path("cmp.csv");
    let csv_arg = csv_path.to_str().unwrap();
    let out = stdout(&cmd(
        &env,
        &["1", "2", "--metric", "f1", "--json", "--csv", csv_arg],
    ));
    let c: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(c["paired_items"], 10);
    assert_eq!(c["baseline"], 1);
    let rows = c["metrics"].as_array().unwrap();
    let (em, f1) = (&rows[0], &rows[1]);
    assert_eq!(
        (em["metric"].as_str(), em["binary"].as_bool()),
        (Some("em"), Some(true))
    );
    let d = &em["cells"][1]["delta"];
    assert!((d["diff"].as_f64().unwrap() - 0.6).abs() < 1e-9, "{d}");
    // Exact McNemar: 2 * (1 + 10 + 45) / 1024.
    assert!(
        (d["p_value"].as_f64().unwrap() - 0.109375).abs() < 1e-12,
        "{d}"
    );
    assert_eq!(
        (d["wins"].as_u64(), d["losses"].as_u64()),
        (Some(8), Some(2))
    );
    assert_eq!(d["test"], "McNemar (exact)");
    let d = &f1["cells"][1]["delta"];
    assert_eq!(
        (d["diff"].as_f64(), d["low"].as_f64(), d["high"].as_f64()),
        (Some(0.25), Some(0.25), Some(0.25))
    );
    assert_eq!(
        (d["wins"].as_u64(), d["ties"].as_u64()),
        (Some(10), Some(0))
    );
    assert_eq!(c["runs"][1]["latency_ms"], 100.0);

    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let lines: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(lines[0][0], "metric");
    assert_eq!(lines[0][13], "detectable");
    let f1_two = lines
        .iter()
        .find(|l| l[0] == "f1" && l[1] == "2")
        .expect("f1 row of run 2");
    assert_eq!(&f1_two[2..3], ["two"]);
    assert_eq!(
        &f1_two[4..13],
        [
            "10",
            "0.25",
            "0.25",
            "0.25",
            "0",
            "paired bootstrap",
            "10",
            "0",
            "0"
        ]
    );
    // The baseline's difference columns are empty.
    let f1_one = lines.iter().find(|l| l[0] == "f1" && l[1] == "1").unwrap();
    assert!(f1_one[5..].iter().all(|f| f.is_empty()), "{f1_one:?}");

    let table = stdout(&cmd(&env, &["1", "2", "--metric", "f1"]));
    assert!(table.contains("10 paired items"), "{table}");
    assert!(table.contains("two beats one on f1 by 0.250"), "{table}");
}

#[test]
fn unknown_runs_and_runs_without_results_are_errors() {
    let env = Env::new();
    database(&env);
    let out = cmd(&env, &["1", "99"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no evaluation run 99"), "{err}");
    let err = String::from_utf8_lossy(&cmd(&env, &["1", "3"]).stderr).into_owned();
    assert!(
        err.contains("run 3 has no results yet; wait for it or `lmdeck eval retry 3`"),
        "{err}"
    );
    let err = String::from_utf8_lossy(&cmd(&env, &["1", "1"]).stderr).into_owned();
    assert!(err.contains("two or more different runs"), "{err}");
}
