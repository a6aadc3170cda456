//! The SQLite writer thread: owns its own connection and applies document writes one
//! transaction each, while the caller keeps chunking and embedding.

use crossbeam_channel::{bounded, Sender};
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::IngestError;
use crate::store::{collections, vectors, write, NewDocument, Store, StoreError, VecTable};

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

pub struct Writer {
    ops: Sender<WriteOp>,
    handle: JoinHandle<Result<Duration, StoreError>>,
}

impl Writer {
    pub fn spawn(db: PathBuf, mut table: VecTable) -> Result<Self, IngestError> {
        let (ops, rx) = bounded::<WriteOp>(8);
        let handle = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || -> Result<Duration, StoreError> {
                let mut store = Store::open(&db)?;
                let mut busy = Duration::ZERO;
                for op in rx {
                    let started = Instant::now();
                    match op {
                        WriteOp::Upsert(doc) => {
                            write::upsert_document(store.conn_mut(), &doc, &table)?;
                        }
                        WriteOp::Delete(id) => write::delete_document(store.conn_mut(), id)?,
                        WriteOp::Rename { id, to, mtime } => {
                            write::rename_document(store.conn(), id, &to, mtime)?
                        }
                        WriteOp::Finish(finish) => {
                            let tx = store.conn_mut().transaction()?;
                            vectors::maybe_recenter(&tx, &mut table)?;
                            for root in &finish.roots {
                                collections::add_root(&tx, finish.collection_id, root)?;
                            }
                            let (model_id, target, overlap) = finish.manifest;
                            collections::set_manifest(
                                &tx,
                                finish.collection_id,
                                model_id,
                                target,
                                overlap,
                            )?;
                            collections::touch_sync(&tx, finish.collection_id)?;
                            tx.commit()?;
                        }
                    }
                    busy += started.elapsed();
                }
                Ok(busy)
            })
            .map_err(|e| IngestError::Writer(e.to_string()))?;
        Ok(Self { ops, handle })
    }

    /// Queues a write; false means the writer stopped (its error comes from `finish`).
    pub fn send(&self, op: WriteOp) -> bool {
        self.ops.send(op).is_ok()
    }

    /// Waits for every queued write; returns the time the writer spent writing.
    pub fn finish(self) -> Result<Duration, IngestError> {
        drop(self.ops);
        match self.handle.join() {
            Ok(result) => Ok(result?),
            Err(_) => Err(IngestError::Writer("the writer thread panicked".into())),
        }
    }
}
