//! The embedded store: SQLite in WAL mode with foreign keys, versioned migrations, FTS5 and a
//! sqlite-vec table per embedding model.

pub mod chat;
pub mod code_index;
pub mod collections;
pub mod documents;
pub mod lock;
pub mod migrations;
pub mod models;
pub mod pool;
pub mod vectors;
pub mod write;
pub mod writer;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod writer_tests;

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::Once;

pub use collections::{Collection, CollectionStats};
pub use documents::{ChunkRow, DocumentRow};
pub use lock::{WaitEvent, WaitHook, WaitPolicy};
pub use pool::ReadPool;
pub use vectors::VecTable;
pub use write::{NewChunk, NewDocument};
pub use writer::{Batch, DbWriter, WriterOptions};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("gave up writing to {path} after {:.0} s: another lmdeck process kept the database locked", waited.as_secs_f64())]
    Busy {
        path: PathBuf,
        waited: std::time::Duration,
    },
    #[error("the database writer for {path} stopped: {reason}")]
    WriterStopped { path: PathBuf, reason: String },
    #[error("database {path} has schema version {found}, newer than this lmdeck understands ({known}); upgrade lmdeck")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("embedding dimension {0} is not supported: it must be a positive multiple of 8")]
    BadDimension(usize),
    #[error("no collection named `{0}`; see `lmdeck collections`")]
    NoCollection(String),
    #[error("no document {0}")]
    NoDocument(String),
    #[error(
        "no answer with id {0}; `lmdeck chats show SESSION` lists the ids of a session's answers"
    )]
    NoAnswer(i64),
    #[error("collection `{collection}` was indexed with {indexed}, but the configured model is {configured}; vectors from two models cannot be mixed. Run `lmdeck reembed --collection {collection}` to re-embed it with the configured model, or set embed.model back")]
    ModelMismatch {
        collection: String,
        indexed: String,
        configured: String,
    },
}

static REGISTER_VEC: Once = Once::new();

/// Makes sqlite-vec available on every connection opened afterwards.
fn register_sqlite_vec() {
    REGISTER_VEC.call_once(|| {
        // SAFETY: sqlite3_vec_init has the signature SQLite expects of an extension entry
        // point; registering it as an auto extension is how sqlite-vec is meant to be loaded.
        unsafe {
            rusqlite::ffi::sqlite3_auto_extension(Some(std::mem::transmute::<
                *const (),
                unsafe extern "C" fn(
                    *mut rusqlite::ffi::sqlite3,
                    *mut *mut std::os::raw::c_char,
                    *const rusqlite::ffi::sqlite3_api_routines,
                ) -> std::os::raw::c_int,
            >(
                sqlite_vec::sqlite3_vec_init as *const (),
            )));
        }
    });
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Binary codes of the collection searched last, kept for the life of this handle.
    codes: std::cell::RefCell<code_index::CodeIndex>,
    /// Code searches served so far: the first goes to sqlite-vec (a one-shot command should
    /// not pay for copying every code), later ones to the in-memory copy.
    code_searches: std::cell::Cell<u64>,
    /// A second read connection, so the keyword stage can run beside the vector stage.
    side: std::cell::RefCell<Option<Connection>>,
}

/// How long opening waits for another process's lock on the database.
const OPEN_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Connection settings and schema migrations: everything `Store::open` does that may meet
/// another process's lock.
fn prepare(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -65536;",
    )
    .map_err(|source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    migrations::apply(conn, path)
}

/// Whether `error` is SQLite saying another connection holds a lock this one needs.
fn is_busy(error: &StoreError) -> bool {
    let source = match error {
        StoreError::Open { source, .. } | StoreError::Sql(source) => source,
        _ => return false,
    };
    matches!(
        source.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Growing pause between open attempts, varied by process so two openers stop colliding.
fn open_backoff(attempt: u32) -> std::time::Duration {
    let spread = u64::from(std::process::id() % 7) + u64::from(attempt.min(20)) * 5;
    std::time::Duration::from_millis(5 + spread)
}

/// Candidates of the binary-code stage: (chunk id, Hamming distance), nearest first.
#[derive(Debug)]
pub struct NearestCodes {
    pub ids: Vec<(i64, u32)>,
    /// True when excluded chunks are already left out (the in-memory copy holds only
    /// retrievable ones); sqlite-vec's own KNN returns every chunk of the collection.
    pub retrievable_only: bool,
}

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        register_sqlite_vec();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(parent);
        }
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(OPEN_BUSY_TIMEOUT).map_err(open_err)?;
        // Turning a new database to WAL needs an exclusive lock, and SQLite answers BUSY at
        // once (no busy handler) when two openers both hold a shared lock and want it: two
        // lmdeck processes creating one database at the same moment. Such a BUSY is retried.
        let started = std::time::Instant::now();
        let mut attempt = 0u32;
        loop {
            match prepare(&mut conn, path) {
                Err(error) if is_busy(&error) && started.elapsed() < OPEN_BUSY_TIMEOUT => {
                    attempt += 1;
                    std::thread::sleep(open_backoff(attempt));
                }
                Err(error) => return Err(error),
                Ok(()) => break,
            }
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            codes: Default::default(),
            code_searches: Default::default(),
            side: Default::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Nearest binary codes of a collection, from the in-memory copy (refreshed when the
    /// database changed since it was read), or from sqlite-vec on a process's first search.
    pub fn nearest_codes(
        &self,
        table: &VecTable,
        collection_id: i64,
        query: &[f32],
        k: usize,
    ) -> Result<NearestCodes, StoreError> {
        let mut codes = self.codes.borrow_mut();
        let first = self.code_searches.replace(self.code_searches.get() + 1) == 0;
        if first && !codes.is_fresh(&self.conn, table, collection_id)? {
            return Ok(NearestCodes {
                ids: vectors::knn_codes(&self.conn, table, collection_id, query, k)?,
                retrievable_only: false,
            });
        }
        codes.refresh(&self.conn, table, collection_id)?;
        Ok(NearestCodes {
            ids: codes.nearest(query, table.center.as_deref(), k),
            retrievable_only: true,
        })
    }

    /// Runs `work` on the second read connection (opened on first use), typically on another
    /// thread while this handle's own connection serves the vector stage.
    pub fn with_side<T>(&self, work: impl FnOnce(&mut Connection) -> T) -> Result<T, StoreError> {
        let mut side = self.side.borrow_mut();
        if side.is_none() {
            let conn = Connection::open_with_flags(
                &self.path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|source| StoreError::Open {
                path: self.path.clone(),
                source,
            })?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            *side = Some(conn);
        }
        match side.as_mut() {
            Some(conn) => Ok(work(conn)),
            None => Err(StoreError::Sql(rusqlite::Error::InvalidQuery)),
        }
    }

    pub fn file_size(&self) -> u64 {
        let wal = self.path.with_extension("db-wal");
        [self.path.clone(), wal]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }
}
