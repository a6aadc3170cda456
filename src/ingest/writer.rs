//! Ingest's writes, queued on the process's writer as one batch: each document in its own
//! transaction, while the caller keeps chunking and embedding.

use rusqlite::Transaction;
use std::time::Duration;

use super::IngestError;
use crate::store::{collections, vectors, write, Batch, DbWriter, NewDocument, StoreError};

pub enum WriteOp {
    Upsert(Box<NewDocument>),
    Delete(i64),
    Rename {
        id: i64,
        to: String,
        mtime: i64,
    },
    /// Sent last, only when the run succeeded: records the manifest, roots and sync time.
    Finish(Finish),
}

/// Bookkeeping applied once every document is written.
pub struct Finish {
    pub collection_id: i64,
    pub roots: Vec<String>,
    /// (model id, chunk target, chunk overlap) to record in the index manifest.
    pub manifest: (i64, usize, usize),
}

/// The run's writes on the shared writer.
pub struct Writer {
    batch: Batch,
    model_id: i64,
}

impl Writer {
    pub fn new(db: &DbWriter, model_id: i64) -> Self {
        Self {
            batch: db.batch(),
            model_id,
        }
    }

    /// Queues a write; false means an earlier one failed (its error comes from `finish`).
    pub fn send(&self, op: WriteOp) -> bool {
        let model_id = self.model_id;
        self.batch.send(move |tx| apply(tx, op, model_id))
    }

    /// Waits for every queued write; returns the time the writer spent writing.
    pub fn finish(self) -> Result<Duration, IngestError> {
        Ok(self.batch.finish()?)
    }
}

fn apply(tx: &Transaction, op: WriteOp, model_id: i64) -> Result<(), StoreError> {
    match op {
        WriteOp::Upsert(doc) => {
            write::upsert_document(tx, &doc, &vectors::current(tx, model_id)?)?;
        }
        WriteOp::Delete(id) => write::delete_document(tx, id)?,
        WriteOp::Rename { id, to, mtime } => write::rename_document(tx, id, &to, mtime)?,
        WriteOp::Finish(finish) => {
            vectors::maybe_recenter(tx, &mut vectors::current(tx, model_id)?)?;
            for root in &finish.roots {
                collections::add_root(tx, finish.collection_id, root)?;
            }
            let (model_id, target, overlap) = finish.manifest;
            collections::set_manifest(tx, finish.collection_id, model_id, target, overlap)?;
            collections::touch_sync(tx, finish.collection_id)?;
        }
    }
    Ok(())
}
