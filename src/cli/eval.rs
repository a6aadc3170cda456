//! `lmdeck eval retrieval --beir DIR`

use super::progress::CliProgress;
use crate::args::{EvalCommand, EvalRetrievalArgs};
use crate::eval::{beir, retrieval};
use crate::services::Context;

/// Published reference on SciFact's training split (see README).
const REFERENCE: &str = "reference (SciFact train, whole documents, same int8 model): dense nDCG@10 0.660, FTS5 bm25 0.670, plain RRF 0.690 (Recall@100 0.953)";

pub fn dispatch(ctx: &Context, command: EvalCommand) -> anyhow::Result<()> {
    match command {
        EvalCommand::Retrieval(a) => run(ctx, &a),
        EvalCommand::Compare(a) => super::eval_compare::run(ctx, &a),
        other => anyhow::bail!(
            "`eval {}` is not built yet",
            format!("{other:?}")
                .split('(')
                .next()
                .unwrap_or("")
                .to_lowercase()
        ),
    }
}

pub fn run(ctx: &Context, args: &EvalRetrievalArgs) -> anyhow::Result<()> {
    let data = beir::load(&args.beir, &args.split)?;
    let name = args.collection.clone().unwrap_or_else(|| {
        let folder = args
            .beir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
            .unwrap_or_else(|| "dataset".into());
        format!("beir-{folder}")
    });
    // Writes: the corpus is ingested into its own collection (once), so a missing
    // database is created, as `ingest` does.
    let store = super::open_for_writing(ctx)?;
    let embedder = ctx.embedder()?;
    let tokenizer = ctx.chunk_tokenizer()?;
    let setup = retrieval::EvalSetup {
        collection: &name,
        settings: ctx.chunk_settings()?,
        params: ctx.search_params()?,
        limit: args.limit,
    };
    let result = retrieval::run(
        &store,
        &embedder,
        &tokenizer,
        &data,
        &setup,
        &CliProgress::new(),
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
        return Ok(());
    }
    for line in result.ingest.lines() {
        println!("{}", crate::util::safe::one_line(&line));
    }
    println!(
        "\n{} queries with judgements ({} split), collection `{}`",
        result.queries, args.split, result.collection
    );
    println!(
        "{:<8} {:>9} {:>11} {:>8} {:>12}",
        "mode", "nDCG@10", "Recall@100", "MRR@10", "ms/query"
    );
    for s in &result.scores {
        println!(
            "{:<8} {:>9.4} {:>11.4} {:>8.4} {:>12.2}",
            s.mode.to_string(),
            s.ndcg_at_10,
            s.recall_at_100,
            s.mrr_at_10,
            s.mean_search_ms
        );
    }
    println!("{REFERENCE}");
    Ok(())
}
