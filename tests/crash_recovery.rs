//! kill -9 during ingestion leaves a consistent store, and a rerun finishes the job; a second
//! process writing to the same database at the time finishes its own run.

mod common;
mod store_checks;

use common::Env;
use std::time::{Duration, Instant};
use store_checks::{assert_consistent, count_docs};

const DOCS: usize = 1500;
/// The second writer's run: smaller, so it is the one still going at the kill.
const OTHER_DOCS: usize = 600;

fn write_docs(env: &Env, folder: &str, n: usize) -> String {
    for i in 0..n {
        env.write(
            &format!("{folder}/doc{i:04}.md"),
            format!("# Document {i}\n\nNode {i} reported error code E{i} during the nightly training run on rack {}.\n", i % 17),
        );
    }
    env.path(folder).display().to_string()
}

/// Waits until `collection` holds a document, failing if `child` ends first.
fn wait_for_progress(env: &Env, child: &mut std::process::Child, collection: &str) -> i64 {
    let started = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(10));
        if let Some(status) = child.try_wait().unwrap() {
            panic!("ingest into `{collection}` ended before any progress was seen: {status}");
        }
        let n = count_docs(env, collection);
        if n > 0 {
            return n;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no document was stored in `{collection}` in 300 s"
        );
    }
}

#[test]
fn kill_9_during_ingest_leaves_a_consistent_resumable_store() {
    let env = Env::new();
    let corpus = write_docs(&env, "corpus", DOCS);
    let other = write_docs(&env, "other", OTHER_DOCS);

    // Two writers at once: the one killed, and another process that must not mind.
    let mut child = env
        .cmd()
        .args(["ingest", &corpus, "-c", "default"])
        .spawn()
        .unwrap();
    let mut second = env
        .cmd()
        .args(["ingest", &other, "-c", "other", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Kill as soon as both have committed documents: with this many documents the first
    // run is still far from done, whatever the machine's speed.
    wait_for_progress(&env, &mut second, "other");
    let stored = wait_for_progress(&env, &mut child, "default");
    child.kill().unwrap(); // SIGKILL, possibly in the middle of a write transaction
    child.wait().unwrap();
    assert!(stored < DOCS as i64);

    let out = second.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the second writer failed: {}",
        out.status
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["added"], OTHER_DOCS as u64, "{report}");
    assert_eq!(count_docs(&env, "other"), OTHER_DOCS as i64);
    assert_consistent(&env);

    let rerun = env.json(&["ingest", &corpus, "-c", "default", "--json"]);
    assert_eq!(count_docs(&env, "default"), DOCS as i64);
    assert_eq!(
        rerun["unchanged"].as_i64().unwrap() + rerun["added"].as_i64().unwrap(),
        DOCS as i64
    );
    assert!(rerun["unchanged"].as_i64().unwrap() >= stored);
    assert_consistent(&env);
    let again = env.json(&["ingest", &corpus, "-c", "default", "--json"]);
    assert_eq!(again["unchanged"], DOCS as u64);
}
