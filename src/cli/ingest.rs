//! `lmdeck ingest PATH... [--collection] [--dry-run] [--prune]`

use super::args::IngestArgs;
use super::progress::CliProgress;
use super::Context;
use crate::ingest::{pipeline, ChunkSettings, IngestRequest};

pub fn run(ctx: &Context, args: &IngestArgs) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let chunk = &ctx.config().chunk;
    let request = IngestRequest {
        collection: args.collection.clone(),
        roots: args.paths.clone(),
        settings: ChunkSettings {
            target: chunk.target_tokens,
            overlap: chunk.overlap_tokens,
        },
        max_file_bytes: ctx.config().ingest.max_file_mb * 1024 * 1024,
        prune: args.prune,
    };
    let report = if args.dry_run {
        pipeline::dry_run(&store, &request)?
    } else {
        let embedder = ctx.embedder()?;
        let tokenizer = ctx.chunk_tokenizer()?;
        let progress = CliProgress::new();
        pipeline::ingest(&store, &embedder, &tokenizer, &request, &progress)?
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for line in report.lines() {
            println!("{line}");
        }
    }
    Ok(())
}
