//! Taking the database's write lock: every write transaction starts with BEGIN IMMEDIATE, so
//! it never begins as a reader and then fails to upgrade ("cannot promote read transaction",
//! SQLITE_BUSY_SNAPSHOT) after another process committed. While another process holds the
//! lock the wait is reported, and it ends with an error naming the database after a limit.

use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::StoreError;

/// A change in a write's wait for another connection's write lock.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitEvent {
    /// Another connection (in practice another lmdeck process) holds the write lock.
    Waiting { db: PathBuf },
    /// The lock was taken after waiting this long.
    Resumed { db: PathBuf, waited: Duration },
    /// The write gave up; its caller gets [`StoreError::Busy`].
    GaveUp { db: PathBuf, waited: Duration },
}

impl std::fmt::Display for WaitEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WaitEvent::Waiting { db } => write!(
                f,
                "waiting for another lmdeck process writing to {}",
                db.display()
            ),
            WaitEvent::Resumed { db, waited } => write!(
                f,
                "got the write lock on {} after {:.1} s",
                db.display(),
                waited.as_secs_f64()
            ),
            WaitEvent::GaveUp { db, waited } => write!(
                f,
                "gave up writing to {} after {:.0} s",
                db.display(),
                waited.as_secs_f64()
            ),
        }
    }
}

/// Called on every [`WaitEvent`], from the thread that waits (the writer's).
pub type WaitHook = Arc<dyn Fn(&WaitEvent) + Send + Sync>;

/// How a write waits for the lock.
#[derive(Clone)]
pub struct WaitPolicy {
    /// SQLite's own busy wait for one BEGIN IMMEDIATE; once it runs out, the wait is reported
    /// and retried with a growing pause.
    pub busy_timeout: Duration,
    /// Total wait after which the write fails with [`StoreError::Busy`].
    pub give_up_after: Duration,
    /// Told when a wait starts and ends; None logs through `tracing`.
    pub on_wait: Option<WaitHook>,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_millis(250),
            // A re-embed of a large collection or a re-centering of its codes can hold the
            // lock for minutes; a stuck process should still end in an error one day.
            give_up_after: Duration::from_secs(600),
            on_wait: None,
        }
    }
}

impl std::fmt::Debug for WaitPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitPolicy")
            .field("busy_timeout", &self.busy_timeout)
            .field("give_up_after", &self.give_up_after)
            .field("on_wait", &self.on_wait.is_some())
            .finish()
    }
}

impl WaitPolicy {
    fn tell(&self, event: &WaitEvent) {
        match &self.on_wait {
            Some(hook) => hook(event),
            None => tracing::warn!("{event}"),
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Starts an IMMEDIATE transaction on `conn` (whose busy timeout should be the policy's),
/// waiting as the policy says while another connection writes.
pub fn begin_immediate<'c>(
    conn: &'c Connection,
    db: &Path,
    policy: &WaitPolicy,
) -> Result<Transaction<'c>, StoreError> {
    let started = Instant::now();
    let mut waiting = false;
    let mut pause = Duration::from_millis(10);
    loop {
        match Transaction::new_unchecked(conn, TransactionBehavior::Immediate) {
            Ok(tx) => {
                if waiting {
                    policy.tell(&WaitEvent::Resumed {
                        db: db.to_path_buf(),
                        waited: started.elapsed(),
                    });
                }
                return Ok(tx);
            }
            Err(e) if is_busy(&e) => {
                let waited = started.elapsed();
                if waited >= policy.give_up_after {
                    policy.tell(&WaitEvent::GaveUp {
                        db: db.to_path_buf(),
                        waited,
                    });
                    return Err(StoreError::Busy {
                        path: db.to_path_buf(),
                        waited,
                    });
                }
                if !waiting {
                    waiting = true;
                    policy.tell(&WaitEvent::Waiting {
                        db: db.to_path_buf(),
                    });
                }
                std::thread::sleep(pause.min(policy.give_up_after.saturating_sub(waited)));
                pause = (pause * 2).min(Duration::from_millis(500));
            }
            Err(e) => return Err(e.into()),
        }
    }
}
