//! The console's background work, in lanes so quick reads never wait behind long work:
//! - the **read lane** (one thread, its own read connection) answers loads and searches,
//!   coalescing searches so only the newest query of a burst runs;
//! - the **change lane** (one thread) applies curation edits, one after the other;
//! - **tasks** (sync plan, sync, near-duplicate scan, answers) run on threads of their own,
//!   each registered with one shape `{id, kind, progress, cancel}` so the status bar and the
//!   task list show them and any can be cancelled.
//!
//! Every thread is tracked, so the console can cancel and wait for all of them before it
//! exits: no thread may still be inside ONNX Runtime when the process ends.

use crossbeam_channel::{bounded, Sender};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use tokenizers::Tokenizer;

mod changes;
mod chat;
pub mod cluster;
mod eval;
pub mod jobs;
mod long;
mod progress;
mod reads;
mod tasks;
#[cfg(test)]
mod tests;

use super::effect::{ChatEffect, CorpusEffect, Effect, TaskEffect};
use super::eval_msg::EvalEffect;
use super::jobs_msg::JobsEffect;
use super::msg::{Msg, Reply};
use crate::embed::Embedder;
use crate::ingest::ChunkSettings;
use crate::store::lock::{WaitEvent, WaitPolicy};
use crate::store::writer::{DbWriter, WriterOptions};
pub use tasks::{TaskRegistry, Threads};

/// Effects waiting on a lane before the shell's sends block: a burst of keys queues, a
/// runaway producer cannot grow memory without bound.
const LANE_CAPACITY: usize = 256;

/// What the worker needs to know besides the store.
#[derive(Clone)]
pub struct WorkerConfig {
    pub db: PathBuf,
    /// Resolves and loads chat models (None in tests that need no generation).
    pub ctx: Option<Arc<crate::services::Context>>,
    pub chunk: Option<ChunkSettings>,
    pub max_file_bytes: u64,
    /// Pairs at most shown by the near-duplicate finder, and chunks it compares at most.
    pub dupes_max_chunks: usize,
    /// Where retried jobs keep their logs (`LMDECK_JOBS_DIR` or the data dir's `jobs`).
    pub jobs_dir: PathBuf,
}

fn start_daemon_if_jobs_wait(db: &std::path::Path) {
    let waiting = rusqlite::Connection::open_with_flags(
        db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .and_then(|conn| {
        conn.query_row(
            "SELECT count(*) FROM jobs WHERE state IN ('queued', 'starting', 'running')",
            [],
            |r| r.get::<_, i64>(0),
        )
    });
    // No database or no jobs table yet: nothing waits.
    if !matches!(waiting, Ok(n) if n > 0) {
        return;
    }
    if let Err(e) = crate::jobs::daemon::ensure_daemon(db) {
        tracing::warn!("the jobs daemon could not start: {e}");
    }
}

/// The embedding model and the chunking tokenizer, once loaded.
#[derive(Clone)]
pub struct Engine {
    pub embedder: Arc<dyn Embedder>,
    pub tokenizer: Arc<Tokenizer>,
}

/// Shared between the lanes: filled when the model finishes loading.
pub type EngineSlot = Arc<RwLock<Option<Engine>>>;

/// Everything a lane or task needs to do its work and answer.
#[derive(Clone)]
struct Shared {
    config: WorkerConfig,
    engine: EngineSlot,
    tasks: TaskRegistry,
    threads: Threads,
    out: Sender<Msg>,
    generators: chat::Generators,
    /// The process's one database writer (an error when it could not open).
    writer: Result<DbWriter, String>,
}

impl Shared {
    fn send(&self, reply: Reply) {
        // The UI is gone only when the console is closing; nothing is left to tell.
        let _ = self.out.send(Msg::reply(reply));
    }

    fn writer(&self) -> Result<DbWriter, String> {
        self.writer.clone()
    }

    fn engine(&self) -> Option<Engine> {
        self.engine.read().ok().and_then(|e| e.clone())
    }
}

/// The shell's handle on the background work.
pub struct Worker {
    reads: Option<Sender<Effect>>,
    changes: Option<Sender<Effect>>,
    shared: Shared,
}

impl Worker {
    pub fn spawn(config: WorkerConfig, out: Sender<Msg>) -> Worker {
        let writer = open_writer(&config, &out);
        let shared = Shared {
            config,
            engine: Arc::default(),
            tasks: TaskRegistry::default(),
            threads: Threads::default(),
            out,
            generators: Arc::default(),
            writer,
        };
        let (reads_tx, reads_rx) = bounded(LANE_CAPACITY);
        let (changes_tx, changes_rx) = bounded(LANE_CAPACITY);
        let lane = shared.clone();
        shared
            .threads
            .spawn("lmdeck-reads", move || reads::run(&lane, &reads_rx));
        let lane = shared.clone();
        shared
            .threads
            .spawn("lmdeck-changes", move || changes::run(&lane, &changes_rx));
        // Queued jobs start without anyone watching: the console, like `jobs submit`, makes
        // sure the database's scheduler daemon runs when jobs wait (it may take seconds).
        if shared.config.ctx.is_some() {
            let db = shared.config.db.clone();
            shared
                .threads
                .spawn("lmdeck-jobs-daemon", move || start_daemon_if_jobs_wait(&db));
        }
        Worker {
            reads: Some(reads_tx),
            changes: Some(changes_tx),
            shared,
        }
    }

    /// The slot the model loader fills.
    pub fn engine_slot(&self) -> EngineSlot {
        Arc::clone(&self.shared.engine)
    }

    pub fn threads(&self) -> &Threads {
        &self.shared.threads
    }

    /// Hands an effect to its lane or starts its task; false when the lanes are gone.
    pub fn run(&self, effect: Effect) -> bool {
        let lane = match &effect {
            Effect::Corpus(
                CorpusEffect::SetDocExcluded { .. }
                | CorpusEffect::SetChunkExcluded { .. }
                | CorpusEffect::Tag { .. }
                | CorpusEffect::DeleteDocument { .. },
            )
            | Effect::Chat(ChatEffect::Rate { .. })
            | Effect::Eval(EvalEffect::Review { .. }) => &self.changes,
            Effect::Corpus(CorpusEffect::PlanSync { id, collection }) => {
                long::plan_sync(&self.shared, *id, collection.clone());
                return true;
            }
            Effect::Corpus(CorpusEffect::RunSync { id, collection }) => {
                long::sync(&self.shared, *id, collection.clone());
                return true;
            }
            Effect::Corpus(CorpusEffect::FindDupes {
                id,
                collection,
                threshold,
            }) => {
                long::dupes(&self.shared, *id, collection.clone(), *threshold);
                return true;
            }
            Effect::Chat(ChatEffect::Ask { .. }) => {
                if let Effect::Chat(ask) = effect {
                    chat::ask(&self.shared, ask);
                }
                return true;
            }
            Effect::Chat(ChatEffect::StopGeneration { id }) => {
                self.shared.tasks.cancel(*id);
                return true;
            }
            Effect::Jobs(JobsEffect::Control { task, job, op }) => {
                jobs::start_control(&self.shared, *task, *job, *op);
                return true;
            }
            Effect::Jobs(JobsEffect::LoadCluster { id }) => {
                cluster::start(&self.shared, *id);
                return true;
            }
            Effect::Task(TaskEffect::Cancel { task }) => {
                self.shared.tasks.cancel(*task);
                return true;
            }
            Effect::Shell(_) => return true, // the shell's own
            Effect::Corpus(_)
            | Effect::Inspector(_)
            | Effect::Chat(_)
            | Effect::Jobs(_)
            | Effect::Eval(_) => &self.reads,
        };
        lane.as_ref().is_some_and(|l| l.send(effect).is_ok())
    }

    /// Starts shutting down: cancels every task and closes the lanes. The threads end on
    /// their own; `threads().wait(..)` waits for them.
    pub fn shutdown(&mut self) {
        self.shared.tasks.cancel_all();
        self.reads = None;
        self.changes = None;
    }
}

/// Opens the console's writer; waits for another process's write lock show in the status
/// bar (and clear when the lock is taken).
fn open_writer(config: &WorkerConfig, out: &Sender<Msg>) -> Result<DbWriter, String> {
    let out = out.clone();
    let hook = Arc::new(move |event: &WaitEvent| {
        tracing::info!("{event}");
        let waiting = match event {
            WaitEvent::Waiting { .. } => Some(event.to_string()),
            WaitEvent::Resumed { .. } | WaitEvent::GaveUp { .. } => None,
        };
        let _ = out.send(Msg::reply(Reply::DbWait { waiting }));
    });
    let options = WriterOptions {
        wait: WaitPolicy {
            on_wait: Some(hook),
            ..WaitPolicy::default()
        },
        ..WriterOptions::default()
    };
    DbWriter::open(&config.db, options).map_err(|e| e.to_string())
}
