//! Re-embedding a collection with another model: vectors are written into the new model's
//! table first and the manifest switches only at the end, so search keeps working on the old
//! vectors until then, and an interrupted run resumes where it stopped.

use std::collections::HashSet;

use super::pipeline::{embedding_input, Progress};
use super::IngestError;
use crate::embed::Embedder;
use crate::store::{collections, documents, vectors, Store};

#[derive(Debug, Default)]
pub struct ReembedReport {
    pub documents: usize,
    pub chunks_embedded: usize,
    pub already_current: bool,
}

pub fn reembed(
    store: &mut Store,
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
    let mut table = vectors::ensure_model(store.conn(), embedder.identity())?;
    let docs = documents::list(store.conn(), coll.id)?;
    progress.start(docs.len() as u64);
    let mut report = ReembedReport::default();
    for doc in &docs {
        let chunks = documents::chunks(store.conn(), doc.id)?;
        let ids: Vec<i64> = chunks.iter().map(|c| c.id).collect();
        let done: HashSet<i64> = vectors::embeddings(store.conn(), &table.table, &ids)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let todo: Vec<_> = chunks.iter().filter(|c| !done.contains(&c.id)).collect();
        let inputs: Vec<String> = todo
            .iter()
            .map(|c| embedding_input(&doc.title, &c.heading_path, &c.text))
            .collect();
        let vecs = embedder.embed(&inputs)?;
        let tx = store
            .conn_mut()
            .transaction()
            .map_err(crate::store::StoreError::from)?;
        for (chunk, v) in todo.iter().zip(&vecs) {
            vectors::insert(&tx, &table, chunk.id, coll.id, v)?;
        }
        tx.commit().map_err(crate::store::StoreError::from)?;
        report.chunks_embedded += vecs.len();
        report.documents += 1;
        progress.advance(1);
    }
    progress.finish();
    let tx = store
        .conn_mut()
        .transaction()
        .map_err(crate::store::StoreError::from)?;
    if let Some(old) = coll.model_id {
        let old_table = vectors::table_name(old);
        let mut stmt = tx
            .prepare("SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.collection_id = ?1")
            .map_err(crate::store::StoreError::from)?;
        let ids = stmt
            .query_map([coll.id], |r| r.get::<_, i64>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(crate::store::StoreError::from)?;
        drop(stmt);
        for id in ids {
            vectors::delete(&tx, &old_table, id)?;
        }
    }
    collections::set_manifest(
        &tx,
        coll.id,
        table.model_id,
        coll.chunk_target.unwrap_or(200),
        coll.chunk_overlap.unwrap_or(32),
    )?;
    vectors::maybe_recenter(&tx, &mut table)?;
    tx.commit().map_err(crate::store::StoreError::from)?;
    Ok(report)
}
