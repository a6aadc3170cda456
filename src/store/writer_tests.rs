//! The writer on a temporary database file with the real sqlite-vec extension: many threads
//! through one writer, two writers (as two processes would) on one file, waits reported,
//! errors and panics contained.

use crossbeam_channel::{bounded, unbounded, Receiver};
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::embed::ModelIdentity;

const PATIENCE: Duration = Duration::from_secs(60);

fn options(busy_ms: u64, events: Option<crossbeam_channel::Sender<WaitEvent>>) -> WriterOptions {
    let mut options = WriterOptions::default();
    options.wait.busy_timeout = Duration::from_millis(busy_ms);
    if let Some(events) = events {
        options.wait.on_wait = Some(Arc::new(move |e: &WaitEvent| {
            let _ = events.send(e.clone());
        }));
    }
    options
}

fn new_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    (dir, path)
}

fn one_chunk_doc(collection_id: i64, path: String, seed: f32) -> NewDocument {
    let mut embedding = vec![0.1f32; 8];
    embedding[0] = seed;
    NewDocument {
        collection_id,
        source_path: path.clone(),
        content_sha256: crate::util::sha256_hex(path.as_bytes()),
        size: 1,
        mtime: 1,
        title: path.clone(),
        format: "txt".into(),
        chunks: vec![NewChunk {
            text: path.clone(),
            byte_start: 0,
            byte_end: path.len(),
            heading_path: String::new(),
            token_count: 1,
            text_sha256: crate::util::sha256_hex(path.as_bytes()),
            indexed_text: path,
            embedding,
        }],
    }
}

fn count(path: &std::path::Path, sql: &str) -> i64 {
    let store = Store::open(path).unwrap();
    store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn many_threads_write_through_one_writer_without_busy_errors() {
    let (_dir, path) = new_db();
    let writer = DbWriter::open(&path, options(100, None)).unwrap();
    let model = ModelIdentity {
        name: "m".into(),
        sha256: "s".into(),
        dim: 8,
    };
    let (coll, table) = writer
        .call(move |tx| {
            let c = collections::get_or_create(tx, "c")?;
            Ok((c.id, vectors::ensure_model(tx, &model)?))
        })
        .unwrap();
    let (threads, per_thread) = (6, 20);
    let mut handles = Vec::new();
    for t in 0..threads {
        let (writer, table) = (writer.clone(), table.clone());
        handles.push(std::thread::spawn(move || {
            for i in 0..per_thread {
                let doc = one_chunk_doc(coll, format!("t{t}/d{i}"), i as f32);
                let table = table.clone();
                if t % 2 == 0 {
                    writer
                        .call(move |tx| write::upsert_document(tx, &doc, &table))
                        .unwrap();
                } else {
                    // odd threads queue theirs as one batch
                    let batch = writer.batch();
                    assert!(
                        batch.send(move |tx| write::upsert_document(tx, &doc, &table).map(drop))
                    );
                    batch.finish().unwrap();
                }
            }
        }));
    }
    // Readers on their own connections meanwhile.
    let reader_path = path.clone();
    let reader = std::thread::spawn(move || {
        let store = Store::open(&reader_path).unwrap();
        for _ in 0..200 {
            let _: i64 = store
                .conn()
                .query_row("SELECT count(*) FROM chunks", [], |r| r.get(0))
                .unwrap();
        }
    });
    for h in handles {
        h.join().unwrap();
    }
    reader.join().unwrap();
    let expected = (threads * per_thread) as i64;
    assert_eq!(count(&path, "SELECT count(*) FROM documents"), expected);
    assert_eq!(count(&path, "SELECT count(*) FROM chunks_fts"), expected);
    assert_eq!(
        count(&path, &format!("SELECT count(*) FROM {}", table.table)),
        expected
    );
}

/// Holds the write lock on a writer of its own until told to let go.
fn hold_lock(
    path: &std::path::Path,
) -> (
    Receiver<()>,
    crossbeam_channel::Sender<()>,
    std::thread::JoinHandle<Result<(), StoreError>>,
) {
    let holder = DbWriter::open(path, options(100, None)).unwrap();
    let (held_tx, held) = bounded(1);
    let (release, release_rx) = bounded::<()>(1);
    let handle = std::thread::spawn(move || {
        holder.call(move |tx| {
            tx.execute("INSERT INTO counter (n) VALUES (-1)", [])?;
            let _ = held_tx.send(());
            let _ = release_rx.recv_timeout(PATIENCE);
            Ok(())
        })
    });
    (held, release, handle)
}

fn counter_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, path) = new_db();
    let w = DbWriter::open(&path, options(100, None)).unwrap();
    w.call(|tx| Ok(tx.execute_batch("CREATE TABLE counter (n INTEGER PRIMARY KEY)")?))
        .unwrap();
    (dir, path)
}

#[test]
fn a_second_writer_waits_for_the_first_and_says_so() {
    let (_dir, path) = counter_db();
    let (held, release, holder) = hold_lock(&path);
    held.recv_timeout(PATIENCE).unwrap();

    let (events_tx, events) = unbounded();
    let second = DbWriter::open(&path, options(100, Some(events_tx))).unwrap();
    let waiter = {
        let second = second.clone();
        std::thread::spawn(move || {
            second.call(|tx| Ok(tx.execute("INSERT INTO counter (n) VALUES (1)", [])?))
        })
    };
    let first = events.recv_timeout(PATIENCE).unwrap();
    assert_eq!(first, WaitEvent::Waiting { db: path.clone() });
    assert!(second.is_waiting());
    assert!(first
        .to_string()
        .contains("waiting for another lmdeck process writing to"));
    release.send(()).unwrap();
    holder.join().unwrap().unwrap();
    assert_eq!(waiter.join().unwrap().unwrap(), 1);
    assert!(matches!(
        events.recv_timeout(PATIENCE).unwrap(),
        WaitEvent::Resumed { .. }
    ));
    assert!(!second.is_waiting());
    assert_eq!(count(&path, "SELECT count(*) FROM counter"), 2);
}

#[test]
fn a_writer_gives_up_with_an_error_naming_the_database() {
    let (_dir, path) = counter_db();
    let (held, release, holder) = hold_lock(&path);
    held.recv_timeout(PATIENCE).unwrap();
    let mut opts = options(50, None);
    opts.wait.give_up_after = Duration::from_millis(300);
    let second = DbWriter::open(&path, opts).unwrap();
    let err = second
        .call(|tx| Ok(tx.execute("INSERT INTO counter (n) VALUES (1)", [])?))
        .unwrap_err();
    assert!(matches!(err, StoreError::Busy { .. }), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert!(!second.is_waiting());
    release.send(()).unwrap();
    holder.join().unwrap().unwrap();
}

/// Read-then-write transactions from two writers on two connections (two processes, as far
/// as SQLite's locks go): deferred transactions would fail with "cannot promote read
/// transaction" (SQLITE_BUSY_SNAPSHOT); IMMEDIATE ones serialise, so no increment is lost.
#[test]
fn read_modify_write_from_two_writers_loses_nothing() {
    let (_dir, path) = counter_db();
    let per_writer = 40;
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let writer = DbWriter::open(&path, options(100, None)).unwrap();
            std::thread::spawn(move || {
                for _ in 0..per_writer {
                    writer
                        .call(|tx| {
                            let next: i64 = tx.query_row(
                                "SELECT coalesce(max(n), 0) + 1 FROM counter",
                                [],
                                |r| r.get(0),
                            )?;
                            Ok(tx.execute("INSERT INTO counter (n) VALUES (?1)", [next])?)
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(count(&path, "SELECT count(*) FROM counter"), 2 * per_writer);
    assert_eq!(count(&path, "SELECT max(n) FROM counter"), 2 * per_writer);
}

#[test]
fn a_failed_write_stops_its_batch_and_rolls_back() {
    let (_dir, path) = counter_db();
    let writer = DbWriter::open(&path, options(100, None)).unwrap();
    let insert = |n: i64| {
        move |tx: &rusqlite::Transaction| {
            tx.execute("INSERT INTO counter (n) VALUES (?1)", [n])?;
            Ok(())
        }
    };
    let batch = writer.batch();
    assert!(batch.send(insert(1)));
    assert!(batch.send(|tx| {
        tx.execute("INSERT INTO counter (n) VALUES (2)", [])?;
        tx.execute("INSERT INTO counter (n) VALUES (1)", [])?; // a duplicate: fails
        Ok(())
    }));
    batch.send(insert(3)); // skipped: an earlier write of the batch failed
    assert!(batch.finish().is_err());
    assert_eq!(count(&path, "SELECT count(*) FROM counter"), 1);
    assert_eq!(count(&path, "SELECT max(n) FROM counter"), 1);
    // The writer itself carries on.
    writer.call(insert(4)).unwrap();
    assert_eq!(count(&path, "SELECT count(*) FROM counter"), 2);
}

#[test]
fn a_panicking_write_is_rolled_back_and_the_writer_lives_on() {
    let (_dir, path) = counter_db();
    let writer = DbWriter::open(&path, options(100, None)).unwrap();
    let err = writer
        .call(|tx| -> Result<(), StoreError> {
            tx.execute("INSERT INTO counter (n) VALUES (1)", [])?;
            panic!("a bug in a write");
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::WriterStopped { .. }), "{err}");
    writer
        .call(|tx| Ok(tx.execute("INSERT INTO counter (n) VALUES (2)", [])?))
        .unwrap();
    assert_eq!(count(&path, "SELECT max(n) FROM counter"), 2);
    assert_eq!(count(&path, "SELECT count(*) FROM counter"), 1);
}

#[test]
fn a_write_sent_from_inside_a_write_is_refused_not_deadlocked() {
    let (_dir, path) = counter_db();
    let writer = DbWriter::open(&path, options(100, None)).unwrap();
    let inner = writer.clone();
    let err = writer.call(move |_| inner.call(|_| Ok(()))).unwrap_err();
    assert!(matches!(err, StoreError::WriterStopped { .. }), "{err}");
}

#[test]
fn the_read_pool_hands_back_kept_stores() {
    let (_dir, path) = counter_db();
    let pool = ReadPool::new(&path, 1);
    {
        let a = pool.get().unwrap();
        let b = pool.get().unwrap(); // a second one while the first is in use
        assert_eq!(a.path(), b.path());
    }
    let store = pool.get().unwrap();
    let n: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM counter", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}
