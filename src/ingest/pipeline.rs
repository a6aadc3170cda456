//! The ingestion run: plan, then chunk, embed (reusing vectors of unchanged chunks) and hand
//! each document to the process's writer (`store::DbWriter`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;
use tokenizers::Tokenizer;

use super::chunker::{self, ChunkSettings};
use super::classify::{self, Change, Pending, Plan};
use super::report::{Duplicate, IngestReport, SkippedInput};
use super::writer::{Finish, WriteOp, Writer};
use super::IngestError;
use crate::embed::{Embedder, ModelIdentity};
use crate::store::{
    collections, documents, vectors, Collection, DbWriter, NewChunk, NewDocument, Store, VecTable,
    WriterOptions,
};
use crate::util::sha256_hex;

/// Documents chunked and embedded together: large enough to keep the embedder's sessions
/// busy, small enough that progress and memory stay smooth.
const GROUP_CHUNKS: usize = 512;

#[derive(Debug, Clone)]
pub struct IngestRequest {
    pub collection: String,
    pub roots: Vec<PathBuf>,
    pub settings: ChunkSettings,
    pub max_file_bytes: u64,
    pub prune: bool,
}

/// Progress display hooks; the CLI shows a bar on a terminal and plain lines otherwise.
pub trait Progress {
    fn start(&self, total_docs: u64);
    fn advance(&self, docs: u64);
    fn finish(&self);
    /// True once the run should stop (the console's cancel); checked between groups of
    /// documents, each of which is stored whole or not at all.
    fn cancelled(&self) -> bool {
        false
    }
}

pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// Plans the run and reports what would change, writing nothing. `model`, when given, is
/// checked against the collection's manifest, as a real run would.
pub fn dry_run(
    store: &Store,
    req: &IngestRequest,
    model: Option<&ModelIdentity>,
) -> Result<IngestReport, IngestError> {
    if let (Some(model), Some(collection)) =
        (model, collections::find(store.conn(), &req.collection)?)
    {
        collections::check_model(&collection, model)?;
    }
    let plan = checked_plan(store, req)?;
    let mut report = base_report(&plan, req);
    report.dry_run = true;
    Ok(report)
}

// TODO(lead): switch the console (and `eval::retrieval`) to `run` with the process's
// writer, then remove this: it starts a writer of its own for one run.
pub fn ingest(
    store: &Store,
    embedder: &dyn Embedder,
    tokenizer: &Tokenizer,
    req: &IngestRequest,
    progress: &dyn Progress,
) -> Result<IngestReport, IngestError> {
    let writer = DbWriter::open(store.path(), WriterOptions::default())?;
    run(store, &writer, embedder, tokenizer, req, progress)
}

/// Ingests `req`: plans with `store` (a reading connection), chunks and embeds, and queues
/// each document on `writer` while the next group is embedded.
pub fn run(
    store: &Store,
    writer: &DbWriter,
    embedder: &dyn Embedder,
    tokenizer: &Tokenizer,
    req: &IngestRequest,
    progress: &dyn Progress,
) -> Result<IngestReport, IngestError> {
    let started = Instant::now();
    let conn = store.conn();
    let (collection, table) = prepare_collection(writer, &req.collection, embedder, req.settings)?;
    let plan = checked_plan(store, req)?;
    let mut report = base_report(&plan, req);
    report.timings.scan_s = started.elapsed().as_secs_f64();

    let writer = Writer::new(writer, table.model_id);
    progress.start(plan.pending.len() as u64);
    let outcome = (|| -> Result<(), IngestError> {
        // `false` from send means the writer stopped; its error is returned by finish().
        for rename in &plan.renamed {
            let op = WriteOp::Rename {
                id: rename.id,
                to: rename.to.clone(),
                mtime: rename.mtime,
            };
            if !writer.send(op) {
                return Ok(());
            }
        }
        for group in groups(&plan.pending) {
            if progress.cancelled() {
                return Err(IngestError::Cancelled);
            }
            let docs = prepare(
                conn,
                &table.table,
                group,
                embedder,
                tokenizer,
                req.settings,
                collection.id,
                &mut report,
            )?;
            for doc in docs {
                if !writer.send(WriteOp::Upsert(Box::new(doc))) {
                    return Ok(());
                }
            }
            progress.advance(group.len() as u64);
        }
        if req.prune {
            for (id, _) in &plan.removed {
                if !writer.send(WriteOp::Delete(*id)) {
                    return Ok(());
                }
            }
        }
        // Only a run that got this far records its manifest, roots and sync time.
        writer.send(WriteOp::Finish(Finish {
            collection_id: collection.id,
            roots: plan.roots.clone(),
            manifest: (table.model_id, req.settings.target, req.settings.overlap),
        }));
        Ok(())
    })();
    let write_time = writer.finish();
    progress.finish();
    outcome?;
    report.timings.write_s = write_time?.as_secs_f64();
    report.timings.total_s = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The collection (created when new) and the model's vector table, the model checked
/// against the collection's manifest and recorded in it when the collection has none yet.
fn prepare_collection(
    writer: &DbWriter,
    name: &str,
    embedder: &dyn Embedder,
    settings: ChunkSettings,
) -> Result<(Collection, VecTable), IngestError> {
    let (name, model) = (name.to_string(), embedder.identity().clone());
    Ok(writer.call(move |tx| {
        let collection = collections::get_or_create(tx, &name)?;
        collections::check_model(&collection, &model)?;
        let table = vectors::ensure_model(tx, &model)?;
        if collection.model_id.is_none() {
            collections::set_manifest(
                tx,
                collection.id,
                table.model_id,
                settings.target,
                settings.overlap,
            )?;
        }
        Ok((collection, table))
    })?)
}

/// The run's plan, refused when new chunker settings would re-chunk only part of the
/// collection (shared by real and dry runs, so a dry run says what the real run would).
fn checked_plan(store: &Store, req: &IngestRequest) -> Result<Plan, IngestError> {
    let plan = classify::plan(
        store.conn(),
        &req.collection,
        &req.roots,
        req.settings,
        req.max_file_bytes,
    )?;
    check_rechunk_scope(&plan, store, &req.collection)?;
    Ok(plan)
}

/// New chunker settings re-chunk only the documents under the given roots, so every root
/// the collection was built from must be given; otherwise the manifest would lie.
fn check_rechunk_scope(plan: &Plan, store: &Store, collection: &str) -> Result<(), IngestError> {
    let Some(coll) = plan.collection.as_ref().filter(|_| plan.rechunk) else {
        return Ok(());
    };
    let recorded = collections::roots(store.conn(), coll.id)?;
    let missing: Vec<&String> = recorded
        .iter()
        .filter(|r| !plan.roots.contains(r))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(IngestError::RechunkScope {
        collection: collection.to_string(),
        roots: recorded.join(" "),
    })
}

fn base_report(plan: &Plan, req: &IngestRequest) -> IngestReport {
    IngestReport {
        collection: req.collection.clone(),
        renamed: plan
            .renamed
            .iter()
            .map(|r| super::report::Renamed {
                from: r.from.clone(),
                to: r.to.clone(),
            })
            .collect(),
        added: plan.added(),
        modified: plan.modified(),
        unchanged: plan.unchanged,
        removed: plan.removed.iter().map(|(_, p)| p.clone()).collect(),
        pruned: req.prune,
        duplicates: plan
            .duplicates
            .iter()
            .map(|(path, of)| Duplicate {
                path: path.clone(),
                duplicate_of: of.clone(),
            })
            .collect(),
        skipped: plan
            .skipped
            .iter()
            .map(|s| SkippedInput {
                path: s.path.clone(),
                reason: s.reason.clone(),
            })
            .collect(),
        unsupported: plan.unsupported.clone(),
        rechunked: plan.rechunk,
        ..IngestReport::default()
    }
}

/// Splits pending documents into groups of about GROUP_CHUNKS chunks (estimated from size).
fn groups(pending: &[Pending]) -> Vec<&[Pending]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut estimate = 0;
    for (i, p) in pending.iter().enumerate() {
        estimate += p.doc.text.len() / 800 + 1;
        if estimate >= GROUP_CHUNKS {
            out.push(&pending[start..=i]);
            start = i + 1;
            estimate = 0;
        }
    }
    if start < pending.len() {
        out.push(&pending[start..]);
    }
    out
}

/// What the embedding model reads for a chunk: title and headings give it context.
pub fn embedding_input(title: &str, heading_path: &str, text: &str) -> String {
    let heading = heading_path
        .strip_prefix(title)
        .map(|rest| rest.trim_start_matches(" > "))
        .unwrap_or(heading_path);
    let mut out = String::with_capacity(title.len() + heading.len() + text.len() + 2);
    for part in [title, heading] {
        if !part.is_empty() {
            out.push_str(part);
            out.push('\n');
        }
    }
    out.push_str(text);
    out
}

#[allow(clippy::too_many_arguments)]
fn prepare(
    conn: &rusqlite::Connection,
    vec_table: &str,
    group: &[Pending],
    embedder: &dyn Embedder,
    tokenizer: &Tokenizer,
    settings: ChunkSettings,
    collection_id: i64,
    report: &mut IngestReport,
) -> Result<Vec<NewDocument>, IngestError> {
    let t = Instant::now();
    let mut docs = Vec::with_capacity(group.len());
    let mut to_embed: Vec<String> = Vec::new();
    // (document index, chunk index) for each text in to_embed
    let mut slots: Vec<(usize, usize)> = Vec::new();
    for pending in group {
        let doc = &pending.doc;
        let pieces = match chunker::chunk(doc, tokenizer, settings) {
            Ok(p) if !p.is_empty() => p,
            Ok(_) => {
                report.skip(&doc.source_path, "no text left after chunking");
                continue;
            }
            Err(reason) => {
                report.skip(&doc.source_path, &reason);
                continue;
            }
        };
        let reusable: HashMap<String, Vec<f32>> = match pending.change {
            Change::Modified { id } => documents::embeddings_by_text(conn, vec_table, id)?,
            Change::Added => HashMap::new(),
        };
        let mut chunks = Vec::with_capacity(pieces.len());
        for piece in pieces {
            let input = embedding_input(&doc.title, &piece.heading_path, &piece.text);
            let text_sha256 = sha256_hex(input.as_bytes());
            let embedding = match reusable.get(&text_sha256) {
                Some(v) => {
                    report.chunks_reused += 1;
                    v.clone()
                }
                None => {
                    slots.push((docs.len(), chunks.len()));
                    report.tokens_embedded += piece.token_count;
                    to_embed.push(input.clone());
                    Vec::new()
                }
            };
            chunks.push(NewChunk {
                text: piece.text,
                byte_start: piece.byte_start,
                byte_end: piece.byte_end,
                heading_path: piece.heading_path,
                token_count: piece.token_count,
                text_sha256,
                indexed_text: input,
                embedding,
            });
        }
        report.chunks_written += chunks.len();
        docs.push(NewDocument {
            collection_id,
            source_path: doc.source_path.clone(),
            content_sha256: doc.content_sha256.clone(),
            size: doc.size,
            mtime: doc.mtime,
            title: doc.title.clone(),
            format: doc.format.to_string(),
            chunks,
        });
    }
    report.timings.chunk_s += t.elapsed().as_secs_f64();
    let t = Instant::now();
    let vectors = embedder.embed(&to_embed)?;
    report.timings.embed_s += t.elapsed().as_secs_f64();
    report.chunks_embedded += vectors.len();
    for ((d, c), v) in slots.into_iter().zip(vectors) {
        docs[d].chunks[c].embedding = v;
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedding_input_does_not_repeat_the_title() {
        assert_eq!(
            embedding_input("Runbook", "Runbook > Drain", "steps"),
            "Runbook\nDrain\nsteps"
        );
        assert_eq!(embedding_input("", "", "plain"), "plain");
        assert_eq!(embedding_input("T", "Other", "x"), "T\nOther\nx");
    }
}
