//! The lanes on the test engines (no model files): quick reads are answered while a long
//! task runs, and a cancelled task ends without its result.

use crossbeam_channel::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::embed::test_engine::HashEmbedder;
use crate::store::write::{upsert_document, NewChunk, NewDocument};
use crate::store::{collections, vectors, Store};
use crate::tui::effect::InspectorEffect;
use crate::tui::msg::{CorpusReply, InspectorReply, TaskReply};

/// A collection of `docs` documents of `per_doc` chunks, embedded by the hash embedder.
fn corpus(db: &std::path::Path, docs: usize, per_doc: usize) -> HashEmbedder {
    let embedder = HashEmbedder::new(HashEmbedder::DEFAULT_DIM);
    let mut store = Store::open(db).unwrap();
    let tx = store.conn_mut().transaction().unwrap();
    let coll = collections::get_or_create(&tx, "kb").unwrap();
    let table = vectors::ensure_model(&tx, embedder.identity()).unwrap();
    collections::set_manifest(&tx, coll.id, table.model_id, 200, 20).unwrap();
    for d in 0..docs {
        let chunks = (0..per_doc)
            .map(|c| {
                let text = format!(
                    "document {d} part {c} about gpu node {} and queue {}",
                    c % 7,
                    d % 5
                );
                NewChunk {
                    embedding: embedder.vector(&text),
                    indexed_text: text.clone(),
                    text_sha256: crate::util::sha256_hex(text.as_bytes()),
                    byte_start: 0,
                    byte_end: text.len(),
                    heading_path: String::new(),
                    token_count: 10,
                    text,
                }
            })
            .collect();
        let doc = NewDocument {
            collection_id: coll.id,
            source_path: format!("doc{d}.md"),
            content_sha256: format!("{d:064}"),
            size: 1,
            mtime: 0,
            title: format!("doc {d}"),
            format: "md".into(),
            chunks,
        };
        upsert_document(&tx, &doc, &table).unwrap();
    }
    tx.commit().unwrap();
    embedder
}

fn worker(db: &std::path::Path, embedder: HashEmbedder) -> (Worker, Receiver<Msg>) {
    let (tx, rx) = crossbeam_channel::bounded(1024);
    let config = WorkerConfig {
        db: db.to_path_buf(),
        ctx: None,
        chunk: None,
        max_file_bytes: 1 << 20,
        dupes_max_chunks: 100_000,
        jobs_dir: db.with_extension("jobs"),
    };
    let worker = Worker::spawn(config, tx);
    if let Ok(mut slot) = worker.engine_slot().write() {
        *slot = Some(Engine {
            embedder: Arc::new(embedder),
            tokenizer: Arc::new(HashEmbedder::tokenizer().unwrap()),
        });
    }
    (worker, rx)
}

fn next_reply(rx: &Receiver<Msg>) -> Reply {
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Msg::Reply(r)) => *r,
        other => panic!("no reply: {other:?}"),
    }
}

fn search(id: u64) -> Effect {
    Effect::Inspector(InspectorEffect::Search {
        id,
        collection: "kb".into(),
        query: "gpu node".into(),
        params: crate::tui::fixtures::params(),
    })
}

#[test]
fn a_search_is_answered_while_a_dupes_scan_runs_and_the_scan_can_be_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lanes.db");
    let embedder = corpus(&db, 100, 60); // 6,000 chunks: a scan of seconds
    let (mut worker, rx) = worker(&db, embedder);
    assert!(worker.run(Effect::Corpus(CorpusEffect::FindDupes {
        id: 1,
        collection: "kb".into(),
        threshold: 0.99,
    })));
    assert!(matches!(
        next_reply(&rx),
        Reply::Task(TaskReply::Started { task: 1, .. })
    ));
    let asked = Instant::now();
    assert!(worker.run(search(2)));
    // The search answer comes first: the scan is still running on its own thread.
    match next_reply(&rx) {
        Reply::Inspector(InspectorReply::Search { id: 2, result }) => {
            assert!(!result.unwrap().hits.is_empty())
        }
        other => panic!("expected the search first, got {other:?}"),
    }
    let search_time = asked.elapsed();
    assert_eq!(worker.shared.tasks.running(), 1, "the scan still runs");
    // Cancelling ends the task with no result.
    assert!(worker.run(Effect::Task(TaskEffect::Cancel { task: 1 })));
    match next_reply(&rx) {
        Reply::Task(TaskReply::Ended { task: 1 }) => {}
        other => panic!("expected the scan to end, got {other:?}"),
    }
    worker.shutdown();
    assert!(worker.threads().wait(Duration::from_secs(30), || {}));
    while let Ok(Msg::Reply(r)) = rx.try_recv() {
        assert!(
            !matches!(*r, Reply::Corpus(CorpusReply::Dupes { .. })),
            "a cancelled scan sends no result"
        );
    }
    eprintln!("search answered in {search_time:?} while the scan ran");
}

#[test]
fn shutdown_waits_for_every_lane_and_task() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("quit.db");
    let embedder = corpus(&db, 5, 3);
    let (mut worker, _rx) = worker(&db, embedder);
    for id in 0..20 {
        assert!(worker.run(search(id)));
    }
    worker.shutdown();
    assert!(worker.threads().wait(Duration::from_secs(30), || {}));
    assert_eq!(worker.threads().alive(), 0);
    assert!(!worker.run(search(99)), "no lane takes work after shutdown");
}
