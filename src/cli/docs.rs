//! `lmdeck collections`, `lmdeck docs ...`, `lmdeck chunk ...`: curation from the command line.

use crate::args::{ChunkCommand, DocsCommand};
use crate::curate;
use crate::services::Context;
use crate::store::{collections, documents};
use crate::util::safe::one_line as safe;
use crate::util::{human_bytes, one_line, truncate_chars};

pub fn collections(ctx: &Context, json: bool) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let list = collections::list(store.conn())?;
    if json {
        let rows: Vec<_> = list
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.collection.name,
                    "documents": s.documents,
                    "excluded": s.excluded,
                    "chunks": s.chunks,
                    "bytes": s.bytes,
                    "model": s.collection.model.as_ref().map(|m| &m.name),
                    "chunk_target": s.collection.chunk_target,
                    "chunk_overlap": s.collection.chunk_overlap,
                    "last_sync": s.collection.last_sync,
                    "roots": s.roots,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if list.is_empty() {
        println!("no collections yet; create one with `lmdeck ingest PATH --collection NAME`");
    }
    for s in list {
        println!(
            "{}: {} documents ({} excluded), {} chunks, {}, model {}, chunks {}/{} tokens",
            safe(&s.collection.name),
            s.documents,
            s.excluded,
            s.chunks,
            human_bytes(s.bytes as u64),
            safe(s.collection.model.as_ref().map_or("-", |m| m.name.as_str())),
            s.collection.chunk_target.unwrap_or(0),
            s.collection.chunk_overlap.unwrap_or(0),
        );
        for root in s.roots {
            println!("  from {}", safe(&root));
        }
    }
    Ok(())
}

pub fn run(ctx: &Context, cmd: DocsCommand) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    // Changes go through the process's writer; reads stay on `store`.
    let writer = || super::ingest::open_writer(ctx);
    match cmd {
        DocsCommand::List { collection, json } => {
            let coll = collections::get(store.conn(), &collection)?;
            let docs = documents::list(store.conn(), coll.id)?;
            if json {
                let rows: Vec<_> = docs.iter().map(doc_json).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for d in docs {
                    println!(
                        "{:>6}  {:<8}  {:>3} chunks  {}{}",
                        d.id,
                        d.status,
                        d.chunks,
                        safe(&d.source_path),
                        if d.tags.is_empty() {
                            String::new()
                        } else {
                            format!("  [{}]", safe(&d.tags.join(", ")))
                        }
                    );
                }
            }
        }
        DocsCommand::Show(r) => {
            let coll = collections::get(store.conn(), &r.collection)?;
            let doc = documents::resolve(store.conn(), coll.id, &r.document)?;
            let chunks = documents::chunks(store.conn(), doc.id)?;
            if r.json {
                let mut value = doc_json(&doc);
                value["chunks"] = chunks
                    .iter()
                    .map(|c| {
                        serde_json::json!({"id": c.id, "ordinal": c.ordinal, "tokens": c.token_count,
                            "heading_path": c.heading_path, "byte_start": c.byte_start, "byte_end": c.byte_end,
                            "excluded": c.excluded, "text": c.text})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&value)?);
                return Ok(());
            }
            println!(
                "document {} ({}): {}",
                doc.id,
                doc.status,
                safe(&doc.source_path)
            );
            println!(
                "title: {}  format: {}  size: {}  sha256: {}",
                safe(&doc.title),
                doc.format,
                human_bytes(doc.size as u64),
                doc.content_sha256
            );
            if !doc.tags.is_empty() {
                println!("tags: {}", safe(&doc.tags.join(", ")));
            }
            for c in chunks {
                println!(
                    "\n  chunk {} #{} ({} tokens, bytes {}..{}){}{}",
                    c.id,
                    c.ordinal,
                    c.token_count,
                    c.byte_start,
                    c.byte_end,
                    if c.heading_path.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", safe(&c.heading_path))
                    },
                    if c.excluded { " [excluded]" } else { "" }
                );
                println!("  {}", safe(&truncate_chars(&one_line(&c.text), 300)));
            }
        }
        DocsCommand::Exclude(r) => set_status(&writer()?, &r.collection, &r.document, true)?,
        DocsCommand::Include(r) => set_status(&writer()?, &r.collection, &r.document, false)?,
        DocsCommand::Tag(t) => {
            let doc = curate::add_tag(&writer()?, &t.collection, &t.document, &t.tag)?;
            println!("tagged document {} with `{}`", doc.id, safe(t.tag.trim()));
        }
        DocsCommand::Untag(t) => {
            let doc = curate::remove_tag(&writer()?, &t.collection, &t.document, &t.tag)?;
            println!(
                "removed tag `{}` from document {}",
                safe(t.tag.trim()),
                doc.id
            );
        }
        DocsCommand::Rm(r) => {
            let doc = curate::delete_document(&writer()?, &r.collection, &r.document)?;
            println!(
                "deleted document {} ({}) and its {} chunks",
                doc.id,
                safe(&doc.source_path),
                doc.chunks
            );
        }
    }
    Ok(())
}

fn set_status(
    writer: &crate::store::DbWriter,
    collection: &str,
    key: &str,
    excluded: bool,
) -> anyhow::Result<()> {
    let doc = curate::set_document_excluded(writer, collection, key, excluded)?;
    println!(
        "document {} ({}) {}",
        doc.id,
        safe(&doc.source_path),
        if excluded {
            "excluded: it will not be retrieved"
        } else {
            "included again"
        }
    );
    Ok(())
}

pub fn chunk(ctx: &Context, cmd: ChunkCommand) -> anyhow::Result<()> {
    // A missing database is refused (named) before a writer would create one.
    drop(ctx.open_store()?);
    let (id, excluded) = match cmd {
        ChunkCommand::Exclude { chunk_id } => (chunk_id, true),
        ChunkCommand::Include { chunk_id } => (chunk_id, false),
    };
    curate::set_chunk_excluded(&super::ingest::open_writer(ctx)?, id, excluded)?;
    println!(
        "chunk {id} {}",
        if excluded { "excluded" } else { "included" }
    );
    Ok(())
}

fn doc_json(d: &documents::DocumentRow) -> serde_json::Value {
    serde_json::json!({
        "id": d.id, "source_path": d.source_path, "title": d.title, "status": d.status,
        "format": d.format, "size": d.size, "mtime": d.mtime, "sha256": d.content_sha256,
        "chunks": d.chunks, "tags": d.tags,
    })
}
