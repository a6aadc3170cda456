//! `lmdeck reembed --collection NAME`

use super::progress::CliProgress;
use crate::args::ReembedArgs;
use crate::embed::Embedder;
use crate::ingest::reembed::reembed;
use crate::services::Context;

pub fn run(ctx: &Context, args: &ReembedArgs) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let writer = super::ingest::open_writer(ctx)?;
    let embedder = ctx.embedder()?;
    let report = reembed(
        &store,
        &writer,
        &embedder,
        &args.collection,
        &CliProgress::new(),
    )?;
    if report.already_current {
        println!(
            "collection `{}` already uses {}; nothing to do",
            args.collection,
            embedder.identity().name
        );
    } else {
        println!(
            "re-embedded {} chunks of {} documents in `{}` with {}",
            report.chunks_embedded,
            report.documents,
            args.collection,
            embedder.identity().name
        );
    }
    Ok(())
}
