//! Task bookkeeping shared by every lane: cancel handles by task id, and every background
//! thread's handle, so shutdown can wait for all of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::generate::Cancel;

/// Running tasks' cancel handles by task id.
#[derive(Clone, Default)]
pub struct TaskRegistry(Arc<Mutex<HashMap<u64, Cancel>>>);

impl TaskRegistry {
    /// Registers a task; its handle is cancelled by `cancel(id)` or `cancel_all`.
    pub fn register(&self, id: u64) -> Cancel {
        let cancel = Cancel::default();
        if let Ok(mut map) = self.0.lock() {
            map.insert(id, cancel.clone());
        }
        cancel
    }

    pub fn finish(&self, id: u64) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(&id);
        }
    }

    pub fn cancel(&self, id: u64) {
        if let Some(c) = self.0.lock().ok().and_then(|m| m.get(&id).cloned()) {
            c.cancel();
        }
    }

    pub fn cancel_all(&self) {
        if let Ok(map) = self.0.lock() {
            map.values().for_each(Cancel::cancel);
        }
    }

    pub fn running(&self) -> usize {
        self.0.lock().map_or(0, |m| m.len())
    }
}

/// Every background thread the console started.
#[derive(Clone, Default)]
pub struct Threads(Arc<Mutex<Vec<JoinHandle<()>>>>);

impl Threads {
    /// Starts a named thread and keeps its handle; a thread that cannot start is logged.
    pub fn spawn(&self, name: &str, work: impl FnOnce() + Send + 'static) {
        match std::thread::Builder::new().name(name.into()).spawn(work) {
            Ok(handle) => {
                if let Ok(mut all) = self.0.lock() {
                    all.retain(|h| !h.is_finished());
                    all.push(handle);
                }
            }
            Err(e) => tracing::error!("could not start thread {name}: {e}"),
        }
    }

    /// Threads still running.
    pub fn alive(&self) -> usize {
        self.0
            .lock()
            .map_or(0, |all| all.iter().filter(|h| !h.is_finished()).count())
    }

    /// Waits until every thread has ended or `limit` has passed, calling `tick` between
    /// checks (the shell keeps draining messages there, so no thread blocks on a full
    /// channel). True when all ended; finished threads are joined.
    pub fn wait(&self, limit: Duration, mut tick: impl FnMut()) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            tick();
            if self.alive() == 0 {
                if let Ok(mut all) = self.0.lock() {
                    for h in all.drain(..) {
                        let _ = h.join();
                    }
                }
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
