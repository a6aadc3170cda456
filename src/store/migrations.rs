//! Versioned schema migrations, tracked in `PRAGMA user_version`. Each runs in a transaction.

use rusqlite::Connection;
use std::path::Path;

use super::StoreError;

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_init.sql"),
    include_str!("migrations/002_chat.sql"),
    include_str!("migrations/003_pins.sql"),
    include_str!("migrations/004_jobs.sql"),
    include_str!("migrations/005_job_progress.sql"),
    include_str!("migrations/006_job_gpus.sql"),
    include_str!("migrations/007_message_rating.sql"),
    include_str!("migrations/008_eval.sql"),
    include_str!("migrations/009_eval_run_items.sql"),
    include_str!("migrations/010_slurm.sql"),
];

/// Schema version this build creates.
pub const VERSION: usize = MIGRATIONS.len();

pub fn apply(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if current > known {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: current,
            known,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        // IMMEDIATE takes the write lock first; re-reading the version inside the transaction
        // makes two processes opening a new database at once apply each migration once.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if now > index as i64 {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
