//! `lmdeck ingest PATH... [--collection] [--dry-run] [--prune]`

use super::progress::CliProgress;
use crate::args::IngestArgs;
use crate::ingest::{pipeline, IngestRequest};
use crate::services::Context;
use crate::store::{DbWriter, Store, WaitEvent, WriterOptions};

pub fn run(ctx: &Context, args: &IngestArgs) -> anyhow::Result<()> {
    let store = super::open_for_writing(ctx)?;
    let request = IngestRequest {
        collection: args.collection.clone(),
        roots: args.paths.clone(),
        settings: ctx.chunk_settings()?,
        max_file_bytes: ctx.config().ingest.max_file_mb * 1024 * 1024,
        prune: args.prune,
    };
    ingest_and_report(ctx, &store, &request, args.dry_run, args.json)
}

/// Runs an ingest request (or its dry run) with a progress bar and prints the report; `sync`
/// shares it.
pub(super) fn ingest_and_report(
    ctx: &Context,
    store: &Store,
    request: &IngestRequest,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<()> {
    let report = if dry_run {
        let model = ctx.model_manifest().ok().map(|m| m.identity());
        pipeline::dry_run(store, request, model.as_ref())?
    } else {
        let embedder = ctx.embedder()?;
        let tokenizer = ctx.chunk_tokenizer()?;
        let progress = CliProgress::new();
        let writer = open_writer(ctx)?;
        pipeline::run(store, &writer, &embedder, &tokenizer, request, &progress)?
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        // Report lines name files, and a file name may hold anything.
        for line in report.lines() {
            println!("{}", crate::util::safe::one_line(&line));
        }
    }
    Ok(())
}

/// The process's writer on the configured database (every writing command goes through it).
/// A wait for another process's write lock is said on stderr, once per wait.
pub(crate) fn open_writer(ctx: &Context) -> anyhow::Result<DbWriter> {
    let mut options = WriterOptions::default();
    options.wait.on_wait = Some(std::sync::Arc::new(|event: &WaitEvent| {
        if let WaitEvent::Waiting { .. } = event {
            eprintln!("{event}");
        }
    }));
    Ok(DbWriter::open(&ctx.db_path(), options)?)
}
