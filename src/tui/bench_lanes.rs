//! `lmdeck bench console`, second part: inspector search latency while a near-duplicate
//! scan of 20,000 chunks runs in the background. With one serial worker (before the lanes)
//! every search waited for the whole scan; with lanes the read lane answers at once. Runs
//! on the test engines (hash embedder, 384 dimensions like the default model) so it needs
//! no model files and measures the console's plumbing, not the model.

use crossbeam_channel::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::embed::test_engine::HashEmbedder;
use crate::embed::Embedder;
use crate::store::write::{upsert_document, NewChunk, NewDocument};
use crate::store::writer::{DbWriter, WriterOptions};
use crate::store::{collections, vectors};
use crate::tui::effect::{CorpusEffect, Effect, InspectorEffect};
use crate::tui::msg::{InspectorReply, Msg, Reply, TaskReply};
use crate::tui::worker::{Engine, Worker, WorkerConfig};
use crate::util::percentile;

const CHUNKS_PER_DOC: usize = 50;
/// Searches timed while the scan runs (one after another, 20 ms apart).
const SEARCHES_DURING_SCAN: usize = 200;

/// Latencies (ms) of searches run one after another, each waited for.
struct Searches {
    idle: Vec<f64>,
    during_scan: Vec<f64>,
    /// How long the scan ran: to its end, or to its cancel once the searches were done.
    scan_s: f64,
    finished: bool,
}

pub fn run(chunks: usize, params: crate::retrieve::SearchParams) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("lmdeck-bench-lanes-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("lanes.db");
    let result = (|| {
        let embedder = HashEmbedder::new(384);
        build(&db, &embedder, chunks)?;
        measure(&db, embedder, chunks, params)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    let s = result?;
    println!("inspector search while a near-duplicate scan of {chunks} chunks runs (test engines, hybrid)");
    println!(
        "  idle            p50 {:.1} ms  p95 {:.1} ms",
        percentile(&s.idle, 50.0),
        percentile(&s.idle, 95.0)
    );
    println!(
        "  during the scan p50 {:.1} ms  p95 {:.1} ms  over {} searches  (goal p95 < 100 ms)",
        percentile(&s.during_scan, 50.0),
        percentile(&s.during_scan, 95.0),
        s.during_scan.len()
    );
    println!(
        "  the scan {} {:.1} s: with one serial worker a search asked at its start waited that long",
        if s.finished { "took" } else { "was still running after" },
        s.scan_s
    );
    Ok(())
}

/// A collection of `chunks` chunks with varied text, written through the writer.
fn build(db: &std::path::Path, embedder: &HashEmbedder, chunks: usize) -> anyhow::Result<()> {
    let writer = DbWriter::open(db, WriterOptions::default())?;
    let identity = embedder.identity().clone();
    let (coll, table) = writer.call(move |tx| {
        let coll = collections::get_or_create(tx, "bench")?;
        let table = vectors::ensure_model(tx, &identity)?;
        collections::set_manifest(tx, coll.id, table.model_id, 200, 20)?;
        Ok((coll, table))
    })?;
    let words = [
        "gpu", "node", "drain", "queue", "quota", "storage", "network", "kernel", "driver",
        "billing", "backup", "restore", "latency", "cluster", "upgrade", "incident",
    ];
    for d in 0..chunks.div_ceil(CHUNKS_PER_DOC) {
        let new_chunks: Vec<NewChunk> = (0..CHUNKS_PER_DOC)
            .map(|c| {
                let i = d * CHUNKS_PER_DOC + c;
                let text = format!(
                    "{} {} {} {} part {i} of document {d}",
                    words[i % 16],
                    words[(i / 16) % 16],
                    words[(i / 256) % 16],
                    words[(i * 7) % 16]
                );
                NewChunk {
                    embedding: embedder.vector(&text),
                    indexed_text: text.clone(),
                    text_sha256: crate::util::sha256_hex(text.as_bytes()),
                    byte_start: 0,
                    byte_end: text.len(),
                    heading_path: String::new(),
                    token_count: 12,
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
            title: format!("document {d}"),
            format: "md".into(),
            chunks: new_chunks,
        };
        let table = table.clone();
        writer.call(move |tx| upsert_document(tx, &doc, &table).map(|_| ()))?;
    }
    Ok(())
}

fn measure(
    db: &std::path::Path,
    embedder: HashEmbedder,
    chunks: usize,
    params: crate::retrieve::SearchParams,
) -> anyhow::Result<Searches> {
    let (tx, rx) = crossbeam_channel::bounded(4096);
    let config = WorkerConfig {
        db: db.to_path_buf(),
        ctx: None,
        chunk: None,
        max_file_bytes: 1 << 20,
        dupes_max_chunks: chunks,
        jobs_dir: db.with_extension("jobs"),
    };
    let mut worker = Worker::spawn(config, tx);
    if let Ok(mut slot) = worker.engine_slot().write() {
        *slot = Some(Engine {
            embedder: Arc::new(embedder),
            tokenizer: Arc::new(HashEmbedder::tokenizer()?),
        });
    }
    let mut next_id = 1000u64;
    let mut search = |worker: &Worker, rx: &Receiver<Msg>, ended: &mut Option<Instant>| {
        next_id += 1;
        let id = next_id;
        let started = Instant::now();
        worker.run(Effect::Inspector(InspectorEffect::Search {
            id,
            collection: "bench".into(),
            query: format!("gpu drain queue {}", id % 13),
            params,
        }));
        wait_for_search(rx, id, ended).map(|()| started.elapsed().as_secs_f64() * 1000.0)
    };
    let mut never = None;
    let mut idle = Vec::new();
    for _ in 0..30 {
        idle.push(search(&worker, &rx, &mut never)?);
    }
    let scan_started = Instant::now();
    worker.run(Effect::Corpus(CorpusEffect::FindDupes {
        id: 1,
        collection: "bench".into(),
        threshold: 0.97,
    }));
    let mut ended = None;
    let mut during_scan = Vec::new();
    while ended.is_none() && during_scan.len() < SEARCHES_DURING_SCAN {
        during_scan.push(search(&worker, &rx, &mut ended)?);
        std::thread::sleep(Duration::from_millis(20));
    }
    // The scan is cancelled rather than waited for: how long it had run by then is what a
    // search asked at its start would have waited behind one serial worker.
    let scan_s = ended
        .unwrap_or_else(Instant::now)
        .duration_since(scan_started)
        .as_secs_f64();
    let finished = ended.is_some();
    worker.run(Effect::Task(crate::tui::effect::TaskEffect::Cancel {
        task: 1,
    }));
    worker.shutdown();
    worker
        .threads()
        .wait(Duration::from_secs(60), || while rx.try_recv().is_ok() {});
    Ok(Searches {
        idle,
        during_scan,
        scan_s,
        finished,
    })
}

/// Waits for the search reply `id`, noting the end of the scan if it comes by.
fn wait_for_search(rx: &Receiver<Msg>, id: u64, ended: &mut Option<Instant>) -> anyhow::Result<()> {
    loop {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(Msg::Reply(r)) => match *r {
                Reply::Inspector(InspectorReply::Search { id: got, result }) if got == id => {
                    result.map_err(anyhow::Error::msg)?;
                    return Ok(());
                }
                Reply::Task(TaskReply::Ended { task: 1 }) => *ended = Some(Instant::now()),
                _ => {}
            },
            Ok(_) => {}
            Err(e) => anyhow::bail!("no search reply: {e}"),
        }
    }
}
