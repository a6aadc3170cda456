//! A task's progress as messages for the status bar and the task list (at most about ten a
//! second), and its cancel handle as the ingest pipeline's stop signal.

use crossbeam_channel::Sender;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::generate::Cancel;
use crate::ingest::Progress;
use crate::tui::msg::{Msg, Reply, TaskReply};

pub(super) struct TaskProgress {
    task: u64,
    out: Sender<Msg>,
    cancel: Cancel,
    total: AtomicU64,
    done: AtomicU64,
    last: Mutex<Instant>,
}

impl TaskProgress {
    pub(super) fn new(task: u64, out: Sender<Msg>, cancel: Cancel) -> TaskProgress {
        TaskProgress {
            task,
            out,
            cancel,
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            last: Mutex::new(Instant::now()),
        }
    }

    fn report(&self, force: bool) {
        let due = match self.last.lock() {
            Ok(mut last) if force || last.elapsed() >= Duration::from_millis(100) => {
                *last = Instant::now();
                true
            }
            _ => false,
        };
        if due {
            let _ = self.out.send(Msg::reply(Reply::Task(TaskReply::Progress {
                task: self.task,
                done: self.done.load(Relaxed),
                total: self.total.load(Relaxed),
            })));
        }
    }
}

impl Progress for TaskProgress {
    fn start(&self, total_docs: u64) {
        self.total.store(total_docs, Relaxed);
        self.report(true);
    }

    fn advance(&self, docs: u64) {
        self.done.fetch_add(docs, Relaxed);
        self.report(false);
    }

    fn finish(&self) {
        self.report(true);
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}
