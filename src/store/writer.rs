//! The process's one writer: a thread that owns the one write connection and runs every
//! write of the process as an IMMEDIATE transaction, in the order they were sent. Readers
//! keep their own connections ([`Store::open`]); WAL lets them read while this one writes.
//!
//! - [`DbWriter::call`] runs a closure in a transaction and waits for its result.
//! - [`DbWriter::batch`] queues many transactions without waiting (ingest keeps embedding
//!   while documents are written) and reports the first error at [`Batch::finish`].

use crossbeam_channel::{bounded, Sender};
use rusqlite::Transaction;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use super::lock::{begin_immediate, WaitEvent, WaitPolicy};
use super::{Store, StoreError};

/// How the writer waits for other processes, and how many writes may queue.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    pub wait: WaitPolicy,
    /// Writes queued at most; senders block beyond (ingest's back-pressure).
    pub queue: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            wait: WaitPolicy::default(),
            queue: 16,
        }
    }
}

type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// The writer thread's side: the connection and how it waits for the lock.
struct Session {
    store: Store,
    wait: WaitPolicy,
}

impl Session {
    /// One IMMEDIATE transaction: committed when `work` succeeds, rolled back when it fails
    /// or panics (a panic becomes an error, so the writer lives on).
    fn transact<T>(
        &mut self,
        work: impl FnOnce(&Transaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = begin_immediate(self.store.conn(), self.store.path(), &self.wait)?;
        match catch_unwind(AssertUnwindSafe(|| work(&tx))) {
            Ok(Ok(value)) => {
                tx.commit()?;
                Ok(value)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(StoreError::WriterStopped {
                path: self.store.path().to_path_buf(),
                reason: "a write panicked (rolled back)".into(),
            }),
        }
    }
}

/// A cloneable handle on the process's writer thread. The thread ends, after the writes
/// still queued, when the last handle is dropped.
#[derive(Clone)]
pub struct DbWriter {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    thread_id: ThreadId,
    path: PathBuf,
    waiting: Arc<AtomicBool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        drop(self.jobs.take());
        // Joining from the writer thread itself would wait forever.
        if std::thread::current().id() != self.thread_id {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

impl DbWriter {
    /// Opens the write connection (creating the database and applying migrations) and
    /// starts the writer thread.
    pub fn open(path: &Path, options: WriterOptions) -> Result<Self, StoreError> {
        let store = Store::open(path)?;
        store.conn().busy_timeout(options.wait.busy_timeout)?;
        let waiting = Arc::new(AtomicBool::new(false));
        let mut wait = options.wait;
        let flag = Arc::clone(&waiting);
        let hook = wait.on_wait.take();
        // The flag follows every event, so `is_waiting` works with or without a hook.
        wait.on_wait = Some(Arc::new(move |event: &WaitEvent| {
            flag.store(
                matches!(event, WaitEvent::Waiting { .. }),
                Ordering::Relaxed,
            );
            match &hook {
                Some(hook) => hook(event),
                None => tracing::warn!("{event}"),
            }
        }));
        let (jobs, rx) = bounded::<Job>(options.queue.max(1));
        let mut session = Session { store, wait };
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                for job in rx {
                    job(&mut session);
                }
            })
            .map_err(|e| StoreError::WriterStopped {
                path: path.to_path_buf(),
                reason: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                jobs: Some(jobs),
                thread_id: thread.thread().id(),
                thread: Some(thread),
                path: path.to_path_buf(),
                waiting,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// True while a write waits for another process's write lock (for a status line).
    pub fn is_waiting(&self) -> bool {
        self.inner.waiting.load(Ordering::Relaxed)
    }

    /// Runs `work` in one IMMEDIATE transaction on the writer thread and waits for it:
    /// committed if it returns Ok, rolled back otherwise. Must not be called from inside
    /// another write (it would wait for itself); that is refused with an error.
    pub fn call<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = bounded(1);
        self.submit(Box::new(move |s: &mut Session| {
            let _ = reply.send(s.transact(work));
        }))?;
        answer.recv().map_err(|_| self.stopped("it ended"))?
    }

    /// [`DbWriter::call`] for work with its own error type: an error of `work` rolls the
    /// transaction back and comes back as itself.
    pub fn call_with<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Transaction) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = bounded(1);
        self.submit(Box::new(move |s: &mut Session| {
            let mut own: Option<E> = None;
            let result = s.transact(|tx| {
                work(tx).map_err(|e| {
                    own = Some(e);
                    // Only makes `transact` roll back; `own` is what is returned.
                    StoreError::Sql(rusqlite::Error::InvalidQuery)
                })
            });
            let _ = reply.send(match (result, own) {
                (_, Some(e)) => Err(e),
                (Ok(v), None) => Ok(v),
                (Err(e), None) => Err(E::from(e)),
            });
        }))
        .map_err(E::from)?;
        answer
            .recv()
            .map_err(|_| E::from(self.stopped("it ended")))?
    }

    /// A run of writes queued without waiting for each; see [`Batch`].
    pub fn batch(&self) -> Batch {
        Batch {
            writer: self.clone(),
            state: Arc::default(),
        }
    }

    fn submit(&self, job: Job) -> Result<(), StoreError> {
        if std::thread::current().id() == self.inner.thread_id {
            return Err(self.stopped("a write was sent from inside another write"));
        }
        match &self.inner.jobs {
            Some(jobs) => jobs.send(job).map_err(|_| self.stopped("it ended")),
            None => Err(self.stopped("it ended")),
        }
    }

    /// Waits until every write sent before it is done.
    fn barrier(&self) -> Result<(), StoreError> {
        let (reply, answer) = bounded(1);
        self.submit(Box::new(move |_: &mut Session| {
            let _ = reply.send(());
        }))?;
        answer.recv().map_err(|_| self.stopped("it ended"))
    }

    fn stopped(&self, reason: &str) -> StoreError {
        StoreError::WriterStopped {
            path: self.inner.path.clone(),
            reason: reason.into(),
        }
    }
}

/// Writes queued one after another, each its own transaction, without waiting for each:
/// `send` blocks only while the writer's queue is full. After the first failure the rest of
/// the batch is skipped and `send` returns false; `finish` returns that error.
pub struct Batch {
    writer: DbWriter,
    state: Arc<BatchState>,
}

#[derive(Default)]
struct BatchState {
    failed: AtomicBool,
    error: Mutex<Option<StoreError>>,
    busy: Mutex<Duration>,
}

impl BatchState {
    fn fail(&self, e: StoreError) {
        self.failed.store(true, Ordering::Relaxed);
        let mut error = self.error.lock().unwrap_or_else(|p| p.into_inner());
        error.get_or_insert(e);
    }
}

impl Batch {
    /// Queues one transaction; false when an earlier one of this batch failed (stop
    /// sending: `finish` has the error).
    pub fn send<F>(&self, work: F) -> bool
    where
        F: FnOnce(&Transaction) -> Result<(), StoreError> + Send + 'static,
    {
        if self.state.failed.load(Ordering::Relaxed) {
            return false;
        }
        let state = Arc::clone(&self.state);
        let job = Box::new(move |s: &mut Session| {
            if state.failed.load(Ordering::Relaxed) {
                return;
            }
            let started = Instant::now();
            let result = s.transact(work);
            *state.busy.lock().unwrap_or_else(|p| p.into_inner()) += started.elapsed();
            if let Err(e) = result {
                state.fail(e);
            }
        });
        if let Err(e) = self.writer.submit(job) {
            self.state.fail(e);
            return false;
        }
        true
    }

    /// Waits for every queued write; returns the time the writer spent on them, or the
    /// first error.
    pub fn finish(self) -> Result<Duration, StoreError> {
        self.writer.barrier()?;
        if let Some(e) = self
            .state
            .error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            return Err(e);
        }
        Ok(*self.state.busy.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
