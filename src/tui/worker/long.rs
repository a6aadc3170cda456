//! Long work as tasks: the sync plan (a dry run), the sync itself and the near-duplicate
//! scan, each on its own thread with its own read connection, registered so it shows in
//! the task list and can be cancelled.

use super::progress::TaskProgress;
use super::Shared;
use crate::curate::{self, dupes};
use crate::generate::Cancel;
use crate::ingest::pipeline;
use crate::store::{documents, Store};
use crate::tui::msg::{CorpusReply, DupPairView, DupView, Reply, TaskKind, TaskReply};

/// Pairs the near-duplicate finder shows at most.
const DUPES_MAX_PAIRS: usize = 500;

/// Runs `work` as task `id` on a thread of its own: announced, cancellable, and always
/// ended, whatever `work` does (a panic becomes an error reply inside `work`'s caller).
pub(super) fn start(
    shared: &Shared,
    id: u64,
    kind: TaskKind,
    label: String,
    work: impl FnOnce(&Shared, &Cancel) + Send + 'static,
) {
    let cancel = shared.tasks.register(id);
    shared.send(Reply::Task(TaskReply::Started {
        task: id,
        kind,
        label,
    }));
    let task = shared.clone();
    shared
        .threads
        .spawn(&format!("lmdeck-task-{}", kind.name()), move || {
            work(&task, &cancel);
            task.tasks.finish(id);
            task.send(Reply::Task(TaskReply::Ended { task: id }));
        });
}

/// Runs `work`, turning a panic into an error message.
fn caught<T>(what: &str, work: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|_| {
        Err(format!(
            "{what} failed unexpectedly (a bug: see the log file)"
        ))
    })
}

fn open(shared: &Shared) -> Result<Store, String> {
    Store::open(&shared.config.db).map_err(|e| e.to_string())
}

fn sync_request(
    shared: &Shared,
    store: &Store,
    collection: &str,
) -> Result<crate::ingest::IngestRequest, String> {
    let settings = shared
        .config
        .chunk
        .ok_or("the chunker settings need the embedding model's manifest; run `lmdeck setup`")?;
    curate::sync_request(
        store.conn(),
        collection,
        settings,
        shared.config.max_file_bytes,
    )
    .map_err(|e| e.to_string())
}

pub(super) fn plan_sync(shared: &Shared, id: u64, collection: String) {
    let label = collection.clone();
    start(shared, id, TaskKind::SyncPlan, label, move |s, cancel| {
        let result = caught("the sync plan", || {
            let store = open(s)?;
            let req = sync_request(s, &store, &collection)?;
            let model = s.engine().map(|e| e.embedder.identity().clone());
            pipeline::dry_run(&store, &req, model.as_ref()).map_err(|e| e.to_string())
        });
        if !cancel.is_cancelled() {
            s.send(Reply::Corpus(CorpusReply::SyncPlan {
                id,
                collection,
                result,
            }));
        }
    });
}

pub(super) fn sync(shared: &Shared, id: u64, collection: String) {
    let label = collection.clone();
    start(shared, id, TaskKind::Sync, label, move |s, cancel| {
        let result = caught("the sync", || {
            let engine = s.engine().ok_or(
                "the embedding model is not loaded yet; try again when the status bar shows it",
            )?;
            let store = open(s)?;
            let req = sync_request(s, &store, &collection)?;
            let writer = s.writer()?;
            let progress = TaskProgress::new(id, s.out.clone(), cancel.clone());
            pipeline::run(
                &store,
                &writer,
                engine.embedder.as_ref(),
                &engine.tokenizer,
                &req,
                &progress,
            )
            .map_err(|e| format!("{e:#}"))
        });
        s.send(Reply::Corpus(CorpusReply::SyncDone { collection, result }));
    });
}

pub(super) fn dupes(shared: &Shared, id: u64, collection: String, threshold: f32) {
    let label = format!("{collection} ≥ {threshold:.2}");
    start(shared, id, TaskKind::Dupes, label, move |s, cancel| {
        let result = caught("the near-duplicate scan", || {
            let store = open(s)?;
            dupe_view(
                &store,
                &collection,
                threshold,
                s.config.dupes_max_chunks,
                cancel,
            )
        });
        if !cancel.is_cancelled() {
            s.send(Reply::Corpus(CorpusReply::Dupes { id, result }));
        }
    });
}

fn dupe_view(
    store: &Store,
    collection: &str,
    threshold: f32,
    max_chunks: usize,
    cancel: &Cancel,
) -> Result<DupView, String> {
    let conn = store.conn();
    let stop = || cancel.is_cancelled();
    let report = dupes::near_duplicates_until(
        conn,
        collection,
        threshold,
        DUPES_MAX_PAIRS,
        max_chunks,
        &stop,
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
