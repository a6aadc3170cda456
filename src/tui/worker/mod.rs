//! The console's background work: one thread owns the store's reading connection and runs
//! effects in order (coalescing searches: only the newest query of a burst runs); a sync runs
//! on a thread of its own with its own connection, so the console stays responsive; the ONNX
//! model loads on another thread after the first frame.

use crossbeam_channel::{Receiver, Sender};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokenizers::Tokenizer;

mod chat;
mod progress;

use super::effect::Effect;
use super::msg::{DocDetail, DupPairView, DupView, Msg, Reply};
use crate::curate::{self, dupes, histogram::Histogram};
use crate::embed::{Embedder, OnnxEmbedder};
use crate::ingest::{pipeline, ChunkSettings, Progress};
use crate::retrieve::{self, why};
use crate::store::{collections, documents, Store};
use progress::ChannelProgress;

/// Histogram buckets and near-duplicate limits for the console.
const HISTOGRAM_BUCKETS: usize = 16;
const DUPES_MAX_PAIRS: usize = 500;

pub enum Job {
    Run(Effect),
    /// The embedding model finished loading.
    Engine {
        embedder: Arc<OnnxEmbedder>,
        tokenizer: Arc<Tokenizer>,
    },
}

/// What the worker needs to know besides the store.
#[derive(Clone)]
pub struct WorkerConfig {
    pub db: PathBuf,
    /// Resolves and loads chat models (None in tests that need no generation).
    pub ctx: Option<Arc<crate::services::Context>>,
    pub chunk: Option<ChunkSettings>,
    pub max_file_bytes: u64,
}

pub fn spawn(
    config: WorkerConfig,
    jobs: Receiver<Job>,
    out: Sender<Msg>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("lmdeck-worker".into())
        .spawn(move || Worker::new(config, out).run(jobs))
        .unwrap_or_else(|e| {
            // Without a worker the console cannot show anything: say so and stop.
            tracing::error!("could not start the worker thread: {e}");
            std::thread::spawn(|| {})
        })
}

/// Chat models loaded so far, by name, shared with the generation threads.
type Generators =
    Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<dyn crate::generate::Generator>>>>;

struct Worker {
    config: WorkerConfig,
    generators: Generators,
    /// The generation in progress and the handle that stops it.
    running: Arc<std::sync::Mutex<Option<(u64, crate::generate::Cancel)>>>,
    store: Result<Store, String>,
    embedder: Option<Arc<OnnxEmbedder>>,
    tokenizer: Option<Arc<Tokenizer>>,
    out: Sender<Msg>,
}

impl Worker {
    fn new(config: WorkerConfig, out: Sender<Msg>) -> Worker {
        let store = Store::open(&config.db).map_err(|e| e.to_string());
        Worker {
            config,
            generators: Arc::default(),
            running: Arc::default(),
            store,
            embedder: None,
            tokenizer: None,
            out,
        }
    }

    fn run(mut self, jobs: Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut batch = vec![first];
            batch.extend(jobs.try_iter());
            let last_search = batch
                .iter()
                .rposition(|j| matches!(j, Job::Run(Effect::Search { .. })));
            for (i, job) in batch.into_iter().enumerate() {
                match job {
                    Job::Engine {
                        embedder,
                        tokenizer,
                    } => {
                        self.embedder = Some(embedder);
                        self.tokenizer = Some(tokenizer);
                    }
                    // An older search in the same burst is answered by the newer one.
                    Job::Run(Effect::Search { .. }) if Some(i) != last_search => {}
                    Job::Run(effect) => {
                        let label: String = format!("{effect:?}").chars().take(60).collect();
                        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            self.execute(effect)
                        }));
                        if ran.is_err() {
                            self.send(Reply::Failed {
                                message: format!(
                                    "{label}… failed unexpectedly (a bug: see the log file)"
                                ),
                            });
                        }
                    }
                }
            }
        }
    }

    fn send(&self, reply: Reply) {
        // The UI is gone only when the console is closing; nothing is left to tell.
        let _ = self.out.send(Msg::reply(reply));
    }

    fn store(&self) -> Result<&Store, String> {
        self.store.as_ref().map_err(Clone::clone)
    }

    fn embedder(&self) -> Option<&dyn Embedder> {
        self.embedder.as_deref().map(|e| e as &dyn Embedder)
    }

    fn execute(&mut self, effect: Effect) {
        match effect {
            Effect::LoadCollections { id } => {
                let result = self
                    .store()
                    .and_then(|s| collections::list(s.conn()).map_err(|e| e.to_string()));
                self.send(Reply::Collections { id, result });
            }
            Effect::LoadDocuments { id, collection } => {
                let result = self.store().and_then(|s| {
                    let c = collections::get(s.conn(), &collection).map_err(|e| e.to_string())?;
                    documents::list(s.conn(), c.id).map_err(|e| e.to_string())
                });
                self.send(Reply::Documents { id, result });
            }
            Effect::LoadDocument { id, document_id } => {
                let result = self.store().and_then(|s| detail(s, document_id));
                self.send(Reply::Document { id, result });
            }
            Effect::Search {
                id,
                collection,
                query,
                params,
            } => {
                let result = self.store().and_then(|s| {
                    retrieve::search(s, self.embedder(), &collection, &query, &params)
                        .map_err(|e| self.explain(e))
                });
                self.send(Reply::Search { id, result });
            }
            Effect::WhyNot {
                id,
                collection,
                query,
                target,
                params,
            } => {
                let result = self.store().and_then(|s| {
                    why::why_not(s, self.embedder(), &collection, &query, &target, &params)
                        .map_err(|e| self.explain(e))
                });
                self.send(Reply::WhyNot { id, result });
            }
            Effect::FindDupes {
                id,
                collection,
                threshold,
            } => {
                let result = self
                    .store()
                    .and_then(|s| dupe_view(s, &collection, threshold));
                self.send(Reply::Dupes { id, result });
            }
            Effect::LoadHistogram { id, collection } => {
                let result = self.store().and_then(|s| {
                    let lengths = curate::histogram::chunk_lengths(s.conn(), &collection)
                        .map_err(|e| e.to_string())?;
                    Ok(Histogram::build(&lengths, HISTOGRAM_BUCKETS))
                });
                self.send(Reply::Histogram { id, result });
            }
            Effect::SetDocExcluded {
                collection,
                document_id,
                excluded,
            } => {
                let result = self.store().and_then(|s| {
                    curate::set_document_excluded(
                        s.conn(),
                        &collection,
                        &document_id.to_string(),
                        excluded,
                    )
                    .map_err(|e| e.to_string())
                });
                self.changed(result.map(|d| {
                    format!(
                        "{} {}",
                        d.source_path,
                        if excluded {
                            "excluded: it will not be retrieved"
                        } else {
                            "included again"
                        }
                    )
                }));
            }
            Effect::SetChunkExcluded { chunk_id, excluded } => {
                let result = self.store().and_then(|s| {
                    curate::set_chunk_excluded(s.conn(), chunk_id, excluded)
                        .map_err(|e| e.to_string())
                });
                self.changed(result.map(|()| {
                    format!(
                        "chunk {chunk_id} {}",
                        if excluded {
                            "excluded"
                        } else {
                            "included again"
                        }
                    )
                }));
            }
            Effect::Tag {
                collection,
                document_id,
                tag,
                add,
            } => {
                let key = document_id.to_string();
                let result = self.store().and_then(|s| {
                    if add {
                        curate::add_tag(s.conn(), &collection, &key, &tag)
                    } else {
                        curate::remove_tag(s.conn(), &collection, &key, &tag)
                    }
                    .map_err(|e| e.to_string())
                });
                self.changed(
                    result.map(|d| format!("{} tags: [{}]", d.source_path, d.tags.join(", "))),
                );
            }
            Effect::DeleteDocument {
                collection,
                document_id,
            } => {
                let result = match self.store.as_mut() {
                    Ok(s) => {
                        curate::delete_document(s.conn_mut(), &collection, &document_id.to_string())
                            .map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e.clone()),
                };
                self.changed(
                    result
                        .map(|d| format!("deleted {} and its {} chunks", d.source_path, d.chunks)),
                );
            }
            Effect::PlanSync { id, collection } => {
                let result = self.store().and_then(|s| {
                    let req = self.sync_request(s, &collection)?;
                    let model = self.embedder.as_ref().map(|e| e.identity().clone());
                    pipeline::dry_run(s, &req, model.as_ref()).map_err(|e| e.to_string())
                });
                self.send(Reply::SyncPlan {
                    id,
                    collection,
                    result,
                });
            }
            Effect::RunSync { collection } => self.spawn_sync(collection),
            Effect::SetTheme { .. } | Effect::Copy { .. } => {} // handled by the shell
            Effect::LoadChunk { id, chunk_id } => {
                let result = self.store().and_then(|s| {
                    let c = documents::chunk(s.conn(), chunk_id).map_err(|e| e.to_string())?;
                    detail(s, c.chunk.document_id)
                });
                self.send(Reply::Document { id, result });
            }
            Effect::LoadChatSessions { id } => {
                let result = self.store().and_then(|s| {
                    crate::store::chat::sessions(s.conn()).map_err(|e| e.to_string())
                });
                self.send(Reply::ChatSessions { id, result });
                self.send_models();
            }
            Effect::LoadChatSession { id, session } => {
                let result = self.store().and_then(|s| {
                    let messages = crate::store::chat::messages(s.conn(), session)
                        .map_err(|e| e.to_string())?;
                    let pins =
                        crate::store::chat::pins(s.conn(), session).map_err(|e| e.to_string())?;
                    Ok((session, messages, pins))
                });
                self.send(Reply::ChatSession { id, result });
            }
            Effect::StopGeneration { id } => {
                if let Ok(running) = self.running.lock() {
                    if let Some((_, cancel)) = running.as_ref().filter(|(r, _)| *r == id) {
                        cancel.cancel();
                    }
                }
            }
            Effect::Ask {
                id,
                question,
                model,
                collection,
                session,
                pinned,
            } => self.spawn_ask(id, question, model, collection, session, pinned),
        }
    }

    fn changed(&self, result: Result<String, String>) {
        self.send(match result {
            Ok(message) => Reply::Changed { message },
            Err(message) => Reply::Failed { message },
        });
    }

    fn explain(&self, e: retrieve::RetrieveError) -> String {
        match e {
            retrieve::RetrieveError::NoEmbedder(mode) => {
                format!("{mode} search needs the embedding model, which is still loading (or failed: see the status bar); press m for keyword mode")
            }
            other => other.to_string(),
        }
    }

    fn sync_request(
        &self,
        store: &Store,
        collection: &str,
    ) -> Result<crate::ingest::IngestRequest, String> {
        let settings = self.config.chunk.ok_or(
            "the chunker settings need the embedding model's manifest; run `lmdeck setup`",
        )?;
        curate::sync_request(
            store.conn(),
            collection,
            settings,
            self.config.max_file_bytes,
        )
        .map_err(|e| e.to_string())
    }

    /// Runs the sync on its own thread and connection; progress and the result come back as
    /// messages.
    fn spawn_sync(&self, collection: String) {
        let (Some(embedder), Some(tokenizer)) = (self.embedder.clone(), self.tokenizer.clone())
        else {
            self.send(Reply::SyncDone {
                collection,
                result: Err(
                    "the embedding model is not loaded yet; try again when the status bar shows it"
                        .into(),
                ),
            });
            return;
        };
        let config = self.config.clone();
        let out = self.out.clone();
        let name = collection.clone();
        let result = std::thread::Builder::new()
            .name("lmdeck-sync".into())
            .spawn(move || {
                let result = crate::tui::app::catch("the sync", || {
                    let store = Store::open(&config.db).map_err(|e| e.to_string())?;
                    let settings = config.chunk.ok_or("no chunker settings")?;
                    let req = curate::sync_request(
                        store.conn(),
                        &collection,
                        settings,
                        config.max_file_bytes,
                    )
                    .map_err(|e| e.to_string())?;
                    let progress = ChannelProgress::new(out.clone());
                    pipeline::ingest(&store, embedder.as_ref(), &tokenizer, &req, &progress)
                        .map_err(|e| format!("{e:#}"))
                });
                let _ = out.send(Msg::reply(Reply::SyncDone { collection, result }));
            });
        if let Err(e) = result {
            // SyncDone, not Failed: the status bar must stop showing a sync in progress.
            self.send(Reply::SyncDone {
                collection: name,
                result: Err(format!("could not start the sync: {e}")),
            });
        }
    }
}

/// A document with its chunks, for the document view.
fn detail(store: &Store, document_id: i64) -> Result<DocDetail, String> {
    let doc = documents::get(store.conn(), document_id).map_err(|e| e.to_string())?;
    let chunks = documents::chunks(store.conn(), document_id).map_err(|e| e.to_string())?;
    Ok(DocDetail { doc, chunks })
}

fn dupe_view(store: &Store, collection: &str, threshold: f32) -> Result<DupView, String> {
    let conn = store.conn();
    let report = dupes::near_duplicates(
        conn,
        collection,
        threshold,
        DUPES_MAX_PAIRS,
        dupes::DEFAULT_MAX_CHUNKS,
    )
    .map_err(|e| e.to_string())?;
    let mut pairs = Vec::with_capacity(report.pairs.len());
    for p in &report.pairs {
        let a = documents::chunk(conn, p.a).map_err(|e| e.to_string())?;
        let b = documents::chunk(conn, p.b).map_err(|e| e.to_string())?;
        pairs.push(DupPairView {
            similarity: p.similarity,
            a,
            b,
        });
    }
    Ok(DupView {
        threshold,
        pairs,
        chunks_compared: report.chunks_compared,
        truncated: report.truncated,
    })
}
