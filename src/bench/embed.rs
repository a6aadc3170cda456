//! Embedding throughput on a BEIR corpus, with the same inputs as
//! `shared/bench/embed_baseline.py` (title + ". " + text, truncation 256) so tokens/s compare.

use std::time::Instant;

use crate::args::BenchEmbedArgs;
use crate::embed::{tokenizer, Embedder};
use crate::services::Context;

pub fn run(ctx: &Context, args: &BenchEmbedArgs) -> anyhow::Result<()> {
    let corpus = args.beir.join("corpus.jsonl");
    let text = std::fs::read_to_string(&corpus)?;
    let mut docs = Vec::with_capacity(args.docs);
    for line in text.lines().take(args.docs) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let title = v["title"].as_str().unwrap_or_default();
        let body = v["text"].as_str().unwrap_or_default();
        docs.push(format!("{title}. {body}").trim().to_string());
    }
    let embedder = ctx.embedder()?;
    let manifest = ctx.model_manifest()?;
    let counter = tokenizer::load(
        &ctx.model_dir().join("tokenizer.json"),
        Some(manifest.max_tokens),
    )?;
    let real_tokens: usize = counter
        .encode_batch(docs.clone(), true)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .iter()
        .map(|e| e.get_ids().len())
        .sum();
    embedder.embed(&docs[..docs.len().min(8)])?; // warm-up: first-run allocations
    let started = Instant::now();
    let vectors = embedder.embed(&docs)?;
    let secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        vectors.len() == docs.len(),
        "embedder returned {} vectors",
        vectors.len()
    );
    let (sessions, batch) = embedder.shape();
    if args.json {
        println!(
            "{}",
            serde_json::json!({"docs": docs.len(), "secs": secs, "docs_per_s": docs.len() as f64 / secs,
                "tokens_per_s": real_tokens as f64 / secs, "sessions": sessions, "batch_size": batch,
                "provider": embedder.provider().to_string(), "graph": embedder.graph()})
        );
    } else {
        println!(
            "mode=lmdeck docs={} secs={:.2} docs_per_s={:.1} tokens_per_s={:.0} sessions={} batch={} provider={} graph={}",
            docs.len(),
            secs,
            docs.len() as f64 / secs,
            real_tokens as f64 / secs,
            sessions,
            batch,
            embedder.provider(),
            embedder.graph()
        );
    }
    Ok(())
}
