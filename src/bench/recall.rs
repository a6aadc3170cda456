//! Vector-stage recall@10 against exact search on a real, ingested collection with real
//! query texts.

use crate::args::BenchRecallArgs;
use crate::embed::Embedder;
use crate::services::Context;
use crate::store::{collections, vectors};

pub fn run(ctx: &Context, args: &BenchRecallArgs) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let coll = collections::get(store.conn(), &args.collection)?;
    let model_id = coll
        .model_id
        .ok_or_else(|| anyhow::anyhow!("collection `{}` has no vectors", args.collection))?;
    let table =
        vectors::load(store.conn(), model_id)?.ok_or_else(|| anyhow::anyhow!("no vector table"))?;
    let text = std::fs::read_to_string(&args.queries)?;
    let queries: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .take(args.limit)
        .collect();
    let embedder = ctx.embedder()?;
    let vectors = embedder.embed(&queries)?;
    let params = ctx.search_params()?;
    let chunks = collections::stats(store.conn(), coll.clone())?.chunks;
    println!(
        "collection `{}`: {chunks} chunks, {} queries",
        args.collection,
        queries.len()
    );
    let all = vectors::all_embeddings(store.conn(), &table.table, coll.id)?;
    for oversample in [1, 2, 3, 4] {
        let mut sum = 0.0;
        for v in &vectors {
            sum += super::search::recall_at_10(
                &store,
                &table,
                coll.id,
                &all,
                v,
                params.candidates,
                oversample,
            )?;
        }
        println!(
            "binary candidates {:>4} (candidates {} x oversample {oversample}): recall@10 {:.3}",
            params.candidates * oversample,
            params.candidates,
            sum / vectors.len().max(1) as f64
        );
    }
    Ok(())
}
