//! Ingestion progress: a bar with docs/s and ETA on a terminal, plain lines when piped.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ingest::Progress;

pub enum CliProgress {
    Bar(ProgressBar),
    Lines {
        total: AtomicU64,
        done: AtomicU64,
        started: Mutex<Option<Instant>>,
        last: Mutex<Option<Instant>>,
    },
}

impl CliProgress {
    pub fn new() -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} docs {per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            CliProgress::Bar(bar)
        } else {
            CliProgress::Lines {
                total: AtomicU64::new(0),
                done: AtomicU64::new(0),
                started: Mutex::new(None),
                last: Mutex::new(None),
            }
        }
    }
}

impl Default for CliProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for CliProgress {
    fn start(&self, total: u64) {
        match self {
            CliProgress::Bar(bar) => bar.set_length(total),
            CliProgress::Lines {
                total: t, started, ..
            } => {
                t.store(total, Ordering::Relaxed);
                if let Ok(mut s) = started.lock() {
                    *s = Some(Instant::now());
                }
                if total > 0 {
                    eprintln!("ingesting {total} documents");
                }
            }
        }
    }

    fn advance(&self, docs: u64) {
        match self {
            CliProgress::Bar(bar) => bar.inc(docs),
            CliProgress::Lines {
                total,
                done,
                started,
                last,
            } => {
                let done = done.fetch_add(docs, Ordering::Relaxed) + docs;
                let now = Instant::now();
                let Ok(mut last) = last.lock() else { return };
                if last.is_some_and(|l| now.duration_since(l) < Duration::from_secs(2)) {
                    return;
                }
                *last = Some(now);
                let elapsed = started
                    .lock()
                    .ok()
                    .and_then(|s| *s)
                    .map_or(0.0, |s| now.duration_since(s).as_secs_f64());
                let total = total.load(Ordering::Relaxed);
                let rate = done as f64 / elapsed.max(1e-3);
                let eta = (total.saturating_sub(done)) as f64 / rate.max(1e-9);
                eprintln!("{done}/{total} docs, {rate:.1} docs/s, ETA {eta:.0}s");
            }
        }
    }

    fn finish(&self) {
        if let CliProgress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
