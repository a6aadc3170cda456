//! kill -9 during ingestion leaves a consistent store, and a rerun finishes the job.

mod common;
use common::Env;
use std::time::{Duration, Instant};

const DOCS: usize = 1500;

fn assert_consistent(env: &Env) {
    let orphans = [
        // documents without chunks: a half-written document
        "SELECT count(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.document_id = d.id)",
        // chunks without a full-text row or a vector
        "SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM chunks_fts f WHERE f.rowid = c.id)",
        "SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM vec_model_1 v WHERE v.chunk_id = c.id)",
        // index rows without a chunk
        "SELECT count(*) FROM chunks_fts f WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = f.rowid)",
        "SELECT count(*) FROM vec_model_1 v WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = v.chunk_id)",
    ];
    for sql in orphans {
        assert_eq!(env.sql_count(sql), 0, "{sql}");
    }
    assert_eq!(
        env.sql_count(
            "SELECT count(*) FROM pragma_integrity_check() WHERE integrity_check <> 'ok'"
        ),
        0,
        "integrity"
    );
}

#[test]
fn kill_9_during_ingest_leaves_a_consistent_resumable_store() {
    let env = Env::new();
    for i in 0..DOCS {
        env.write(
            &format!("corpus/doc{i:04}.md"),
            format!("# Document {i}\n\nNode {i} reported error code E{i} during the nightly training run on rack {}.\n", i % 17),
        );
    }
    let corpus = env.path("corpus");
    let corpus = corpus.to_str().unwrap();

    let mut child = env.cmd().args(["ingest", corpus]).spawn().unwrap();
    // Kill as soon as some documents are committed: with this many documents the run is
    // still far from done, whatever the machine's speed.
    let started = Instant::now();
    let stored = loop {
        std::thread::sleep(Duration::from_millis(10));
        if let Some(status) = child.try_wait().unwrap() {
            panic!("ingest ended before it could be killed: {status}");
        }
        let n = if env.db().exists() {
            count_docs(&env)
        } else {
            0
        };
        if n > 0 {
            break n;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no document was stored in 120 s"
        );
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(stored < DOCS as i64);
    assert_consistent(&env);

    let rerun = env.json(&["ingest", corpus, "--json"]);
    let after = count_docs(&env);
    assert_eq!(after, DOCS as i64);
    assert_eq!(
        rerun["unchanged"].as_i64().unwrap() + rerun["added"].as_i64().unwrap(),
        DOCS as i64
    );
    assert!(rerun["unchanged"].as_i64().unwrap() >= stored);
    assert_consistent(&env);
    let again = env.json(&["ingest", corpus, "--json"]);
    assert_eq!(again["unchanged"], DOCS as u64);
}

fn count_docs(env: &Env) -> i64 {
    // the writer may hold the lock briefly; the store's busy timeout waits for it
    let store = match lmdeck::store::Store::open(&env.db()) {
        Ok(s) => s,
        Err(_) => return 0,
    };
    store
        .conn()
        .query_row("SELECT count(*) FROM documents", [], |r| r.get(0))
        .unwrap_or(0)
}
