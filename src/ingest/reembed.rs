//! Re-embedding a collection with another model: vectors are written into the new model's
//! table first and the manifest switches only at the end, so search keeps working on the old
//! vectors until then, and an interrupted run resumes where it stopped.

use rusqlite::Transaction;
use std::collections::HashSet;

use super::pipeline::{embedding_input, Progress};
use super::IngestError;
use crate::embed::Embedder;
use crate::store::{collections, documents, vectors, DbWriter, Store, StoreError};

#[derive(Debug, Default)]
pub struct ReembedReport {
    pub documents: usize,
    pub chunks_embedded: usize,
    pub already_current: bool,
}

/// Reads with `store`, writes through `writer`: each document's vectors in a transaction
/// queued while the next document is embedded, then the switch in one last transaction.
pub fn reembed(
    store: &Store,
    writer: &DbWriter,
    embedder: &dyn Embedder,
    collection: &str,
    progress: &dyn Progress,
) -> Result<ReembedReport, IngestError> {
    let coll = collections::get(store.conn(), collection)?;
    if coll.model.as_ref() == Some(embedder.identity()) {
        return Ok(ReembedReport {
            already_current: true,
            ..Default::default()
        });
    }
    let model = embedder.identity().clone();
    let model_id = writer.call(move |tx| Ok(vectors::ensure_model(tx, &model)?.model_id))?;
    let table = vectors::table_name(model_id);
    let docs = documents::list(store.conn(), coll.id)?;
    progress.start(docs.len() as u64);
    let mut report = ReembedReport::default();
    let batch = writer.batch();
    for doc in &docs {
        let chunks = documents::chunks(store.conn(), doc.id)?;
        let ids: Vec<i64> = chunks.iter().map(|c| c.id).collect();
        let done: HashSet<i64> = vectors::embeddings(store.conn(), &table, &ids)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let todo: Vec<_> = chunks.iter().filter(|c| !done.contains(&c.id)).collect();
        let inputs: Vec<String> = todo
            .iter()
            .map(|c| embedding_input(&doc.title, &c.heading_path, &c.text))
            .collect();
        let vecs = embedder.embed(&inputs)?;
        report.chunks_embedded += vecs.len();
        let rows: Vec<(i64, Vec<f32>)> = todo.iter().map(|c| c.id).zip(vecs).collect();
        let coll_id = coll.id;
        if !batch.send(move |tx| insert_missing(tx, model_id, coll_id, &rows)) {
            break;
        }
        report.documents += 1;
        progress.advance(1);
    }
    progress.finish();
    batch.finish()?;
    let (coll_id, old, target, overlap) = (
        coll.id,
        coll.model_id,
        coll.chunk_target.unwrap_or(200),
        coll.chunk_overlap.unwrap_or(32),
    );
    writer.call(move |tx| {
        if let Some(old) = old {
            delete_old_vectors(tx, &vectors::table_name(old), coll_id)?;
        }
        collections::set_manifest(tx, coll_id, model_id, target, overlap)?;
        let mut table = vectors::current(tx, model_id)?;
        vectors::maybe_recenter(tx, &mut table)?;
        Ok(())
    })?;
    Ok(report)
}

/// Inserts the vectors no one wrote meanwhile (another run may re-embed the same chunks).
fn insert_missing(
    tx: &Transaction,
    model_id: i64,
    collection_id: i64,
    rows: &[(i64, Vec<f32>)],
) -> Result<(), StoreError> {
    let table = vectors::current(tx, model_id)?;
    let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
    let done: HashSet<i64> = vectors::embeddings(tx, &table.table, &ids)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for (chunk_id, v) in rows.iter().filter(|(id, _)| !done.contains(id)) {
        vectors::insert(tx, &table, *chunk_id, collection_id, v)?;
    }
    Ok(())
}

fn delete_old_vectors(tx: &Transaction, table: &str, collection_id: i64) -> Result<(), StoreError> {
    let ids = {
        let mut stmt = tx.prepare(
            "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.collection_id = ?1",
        )?;
        let ids = stmt
            .query_map([collection_id], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids
    };
    for id in ids {
        vectors::delete(tx, table, id)?;
    }
    Ok(())
}
