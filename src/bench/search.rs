//! Search latency (end to end, query embedding included) and vector-stage recall@10 against
//! exact search, at several collection sizes.

use std::path::PathBuf;

use super::percentile;
use super::synthetic::{self, Rng, VectorGen};
use crate::args::BenchSearchArgs;
use crate::embed::Embedder;
use crate::eval::metrics;
use crate::retrieve::{self, stages};
use crate::services::Context;
use crate::store::{collections, vectors, DbWriter, Store, WriterOptions};

const COLLECTION: &str = "bench";

pub fn run(ctx: &Context, args: &BenchSearchArgs) -> anyhow::Result<()> {
    let embedder = ctx.embedder_for_queries()?;
    let params = ctx.search_params()?;
    let tmp;
    let dir: PathBuf = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile_dir()?;
            tmp.clone()
        }
    };
    std::fs::create_dir_all(&dir)?;
    println!(
        "hybrid search, k={} candidates={} oversample={} (binary index reads {}), {} queries per size, provider {}",
        params.k,
        params.candidates,
        params.oversample,
        params.candidates * params.oversample,
        args.queries,
        embedder.provider()
    );
    println!(
        "{:>8} {:>8} {:>8} {:>9} {:>9} {:>10} {:>8} {:>10} {:>9}",
        "chunks",
        "p50 ms",
        "p95 ms",
        "embed ms",
        "vector ms",
        "keyword ms",
        "fuse ms",
        "recall@10",
        "cold ms"
    );
    println!("(stage columns are medians; embedding and vector run beside the keyword stage)");
    for &size in &args.sizes {
        // The name carries the schema version, so a database built by an older lmdeck is not reused.
        let db = dir.join(format!(
            "bench-s{}-{size}.db",
            crate::store::migrations::VERSION
        ));
        let mut store = Store::open(&db)?;
        let existing = collections::find(store.conn(), COLLECTION)?
            .map(|c| collections::stats(store.conn(), c))
            .transpose()?;
        if existing.as_ref().map(|s| s.chunks as usize) != Some(size) {
            drop(store);
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
            }
            store = Store::open(&db)?;
            eprintln!("building {size} synthetic chunks in {} ...", db.display());
            let writer = DbWriter::open(&db, WriterOptions::default())?;
            synthetic::build(&writer, COLLECTION, embedder.identity(), size, 7)?;
        }
        let mut rng = Rng::new(99);
        // The first query of a process also copies the binary codes into memory; it is
        // reported on its own, the steady state is what the percentiles describe.
        let query = |rng: &mut Rng| {
            retrieve::search(
                &store,
                Some(&embedder),
                COLLECTION,
                &synthetic::text(rng, 8),
                &params,
            )
        };
        let cold = query(&mut rng)?;
        for _ in 0..4 {
            query(&mut rng)?;
        }
        let mut totals = Vec::with_capacity(args.queries);
        let mut stage: [Vec<f64>; 4] = Default::default();
        for _ in 0..args.queries {
            let r = query(&mut rng)?;
            totals.push(r.timings.total_ms);
            stage[0].push(r.timings.embed_ms);
            stage[1].push(r.timings.vector_ms);
            stage[2].push(r.timings.keyword_ms);
            stage[3].push(r.timings.fuse_ms);
        }
        let recall = vector_recall(
            &store,
            embedder.identity(),
            params.candidates,
            params.oversample,
            50,
        )?;
        println!(
            "{:>8} {:>8.1} {:>8.1} {:>9.1} {:>9.1} {:>10.1} {:>8.1} {:>10.3} {:>9.1}",
            size,
            percentile(&totals, 50.0),
            percentile(&totals, 95.0),
            percentile(&stage[0], 50.0),
            percentile(&stage[1], 50.0),
            percentile(&stage[2], 50.0),
            percentile(&stage[3], 50.0),
            recall,
            cold.timings.total_ms
        );
    }
    Ok(())
}

/// Recall@10 of the vector stage against exact KNN, with fresh queries from the data's own
/// distribution.
fn vector_recall(
    store: &Store,
    model: &crate::embed::ModelIdentity,
    candidates: usize,
    oversample: usize,
    queries: usize,
) -> anyhow::Result<f64> {
    let coll = collections::get(store.conn(), COLLECTION)?;
    let model_id = coll
        .model_id
        .ok_or_else(|| anyhow::anyhow!("no vectors in {COLLECTION}"))?;
    let table = vectors::current(store.conn(), model_id)?;
    let all = vectors::all_embeddings(store.conn(), &table.table, coll.id)?;
    let mut gen = VectorGen::with_stream(model.dim, 7, 0x5EED);
    let mut sum = 0.0;
    for _ in 0..queries {
        let q = gen.draw();
        sum += recall_at_10(store, &table, coll.id, &all, &q, candidates, oversample)?;
    }
    Ok(sum / queries.max(1) as f64)
}

/// Share of the exact top 10 (brute force over `all`) that the vector stage returns.
pub fn recall_at_10(
    store: &Store,
    table: &vectors::VecTable,
    collection_id: i64,
    all: &[(i64, Vec<f32>)],
    query: &[f32],
    candidates: usize,
    oversample: usize,
) -> anyhow::Result<f64> {
    let exact: Vec<i64> = vectors::exact_knn(all, query, 10)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let fast: Vec<i64> =
        stages::vector(store, table, collection_id, query, candidates, oversample)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
    Ok(metrics::recall_at(&fast, &metrics::binary(&exact), 10))
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("lmdeck-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
