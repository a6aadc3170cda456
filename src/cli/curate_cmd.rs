//! `lmdeck sync`, `lmdeck dupes`, `lmdeck histogram`: the console's curation tools, headless.

use crate::args::{DupesArgs, HistogramArgs, SyncArgs};
use crate::curate::{self, dupes, histogram::Histogram};
use crate::services::Context;
use crate::store::documents;
use crate::util::safe::one_line as safe;
use crate::util::{one_line, truncate_chars};

pub fn sync(ctx: &Context, args: &SyncArgs) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let request = curate::sync_request(
        store.conn(),
        &args.collection,
        ctx.chunk_settings()?,
        ctx.config().ingest.max_file_mb * 1024 * 1024,
    )?;
    super::ingest::ingest_and_report(ctx, &store, &request, args.dry_run, args.json)
}

pub fn dupes(ctx: &Context, args: &DupesArgs) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let report = dupes::near_duplicates(
        store.conn(),
        &args.collection,
        args.threshold,
        args.limit,
        dupes::DEFAULT_MAX_CHUNKS,
    )?;
    if args.json {
        let pairs: Vec<_> = report
            .pairs
            .iter()
            .map(|p| serde_json::json!({"a": p.a, "b": p.b, "similarity": p.similarity}))
            .collect();
        let value = serde_json::json!({"pairs": pairs, "chunks_compared": report.chunks_compared, "truncated": report.truncated});
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "{} pairs at similarity >= {} among {} chunks{}",
        report.pairs.len(),
        args.threshold,
        report.chunks_compared,
        if report.truncated {
            " (collection truncated)"
        } else {
            ""
        }
    );
    for pair in &report.pairs {
        let a = documents::chunk(store.conn(), pair.a)?;
        let b = documents::chunk(store.conn(), pair.b)?;
        println!(
            "\n{:.3}  chunk {} ({})  ~  chunk {} ({})",
            pair.similarity,
            a.chunk.id,
            safe(&a.source_path),
            b.chunk.id,
            safe(&b.source_path)
        );
        println!(
            "  a: {}",
            safe(&truncate_chars(&one_line(&a.chunk.text), 160))
        );
        println!(
            "  b: {}",
            safe(&truncate_chars(&one_line(&b.chunk.text), 160))
        );
    }
    Ok(())
}

pub fn histogram(ctx: &Context, args: &HistogramArgs) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let lengths = curate::histogram::chunk_lengths(store.conn(), &args.collection)?;
    let h = Histogram::build(&lengths, args.buckets.clamp(1, 200));
    println!(
        "{} chunks, tokens min {} median {} max {}",
        h.total, h.min, h.median, h.max
    );
    let peak = h.counts.iter().copied().max().unwrap_or(0).max(1);
    for (bound, count) in h.bounds.iter().zip(&h.counts) {
        let bar = "#".repeat((*count * 50 / peak) as usize);
        println!(
            "{:>5}-{:<5} {:>7}  {bar}",
            bound,
            bound + h.bucket_width - 1,
            count
        );
    }
    Ok(())
}
