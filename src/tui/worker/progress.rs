//! Ingestion progress as messages for the status bar's gauge.

use super::*;

/// Ingestion progress as messages, at most about ten a second.
pub(super) struct ChannelProgress {
    out: Sender<Msg>,
    total: std::sync::atomic::AtomicU64,
    done: std::sync::atomic::AtomicU64,
    last: std::sync::Mutex<Instant>,
}

impl ChannelProgress {
    pub(super) fn new(out: Sender<Msg>) -> ChannelProgress {
        ChannelProgress {
            out,
            total: Default::default(),
            done: Default::default(),
            last: std::sync::Mutex::new(Instant::now()),
        }
    }

    fn report(&self, force: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        let due = match self.last.lock() {
            Ok(mut last) if force || last.elapsed() >= Duration::from_millis(100) => {
                *last = Instant::now();
                true
            }
            _ => false,
        };
        if due {
            let _ = self.out.send(Msg::reply(Reply::SyncProgress {
                done: self.done.load(Relaxed),
                total: self.total.load(Relaxed),
            }));
        }
    }
}

impl Progress for ChannelProgress {
    fn start(&self, total_docs: u64) {
        self.total
            .store(total_docs, std::sync::atomic::Ordering::Relaxed);
        self.report(true);
    }

    fn advance(&self, docs: u64) {
        self.done
            .fetch_add(docs, std::sync::atomic::Ordering::Relaxed);
        self.report(false);
    }

    fn finish(&self) {
        self.report(true);
    }
}
