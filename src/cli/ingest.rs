//! `lmdeck ingest PATH... [--collection] [--dry-run] [--prune]`

use super::args::IngestArgs;
use super::progress::CliProgress;
use super::Context;
use crate::ingest::{pipeline, IngestRequest};

pub fn run(ctx: &Context, args: &IngestArgs) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let request = IngestRequest {
        collection: args.collection.clone(),
        roots: args.paths.clone(),
        settings: ctx.chunk_settings()?,
        max_file_bytes: ctx.config().ingest.max_file_mb * 1024 * 1024,
        prune: args.prune,
    };
    let report = if args.dry_run {
        let model = ctx.model_manifest().ok().map(|m| m.identity());
        pipeline::dry_run(&store, &request, model.as_ref())?
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
