//! Store tests on a temporary database file with the real sqlite-vec extension.

use super::*;
use crate::embed::ModelIdentity;

fn model(dim: usize) -> ModelIdentity {
    ModelIdentity {
        name: "test-model".into(),
        sha256: "abc123".into(),
        dim,
    }
}

fn chunk(text: &str, embedding: Vec<f32>) -> NewChunk {
    NewChunk {
        text: text.into(),
        byte_start: 0,
        byte_end: text.len(),
        heading_path: String::new(),
        token_count: 3,
        text_sha256: crate::util::sha256_hex(text.as_bytes()),
        indexed_text: text.into(),
        embedding,
    }
}

fn doc(collection_id: i64, path: &str, chunks: Vec<NewChunk>) -> NewDocument {
    NewDocument {
        collection_id,
        source_path: path.into(),
        content_sha256: crate::util::sha256_hex(path.as_bytes()),
        size: 10,
        mtime: 1,
        title: path.into(),
        format: "txt".into(),
        chunks,
    }
}

/// Runs `work` in an IMMEDIATE transaction, as the writer does.
fn in_tx<T>(store: &mut Store, work: impl FnOnce(&rusqlite::Transaction) -> T) -> T {
    let tx = store
        .conn_mut()
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let value = work(&tx);
    tx.commit().unwrap();
    value
}

fn upsert(store: &mut Store, doc: &NewDocument, table: &VecTable) -> i64 {
    in_tx(store, |tx| write::upsert_document(tx, doc, table).unwrap())
}

fn count(store: &Store, sql: &str) -> i64 {
    store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn migrations_are_idempotent_and_enable_wal_and_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    drop(Store::open(&path).unwrap());
    let store = Store::open(&path).unwrap();
    let mode: String = store
        .conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(count(&store, "PRAGMA foreign_keys"), 1);
    assert_eq!(
        count(&store, "PRAGMA user_version"),
        crate::store::migrations::VERSION as i64
    );
}

#[test]
fn upsert_replaces_chunks_and_delete_cleans_every_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let coll = collections::get_or_create(store.conn(), "c").unwrap();
    let table = vectors::ensure_model(store.conn(), &model(8)).unwrap();
    let first = doc(
        coll.id,
        "a.txt",
        vec![
            chunk("one", vec![1., 0., 0., 0., 0., 0., 0., 0.]),
            chunk("two", vec![0., 1., 0., 0., 0., 0., 0., 0.]),
        ],
    );
    let id = upsert(&mut store, &first, &table);
    assert_eq!(count(&store, "SELECT count(*) FROM chunks_fts"), 2);

    let second = doc(
        coll.id,
        "a.txt",
        vec![chunk("three", vec![0., 0., 1., 0., 0., 0., 0., 0.])],
    );
    assert_eq!(upsert(&mut store, &second, &table), id);
    assert_eq!(count(&store, "SELECT count(*) FROM chunks"), 1);
    assert_eq!(count(&store, "SELECT count(*) FROM chunks_fts"), 1);
    assert_eq!(
        count(&store, &format!("SELECT count(*) FROM {}", table.table)),
        1
    );

    in_tx(&mut store, |tx| write::delete_document(tx, id).unwrap());
    for t in ["chunks", "chunks_fts", "documents", table.table.as_str()] {
        assert_eq!(
            count(&store, &format!("SELECT count(*) FROM {t}")),
            0,
            "{t}"
        );
    }
}

#[test]
fn vector_search_is_scoped_to_the_collection() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let a = collections::get_or_create(store.conn(), "a").unwrap();
    let b = collections::get_or_create(store.conn(), "b").unwrap();
    let mut table = vectors::ensure_model(store.conn(), &model(8)).unwrap();
    upsert(
        &mut store,
        &doc(
            a.id,
            "x",
            vec![chunk("x", vec![1., 0., 0., 0., 0., 0., 0., 0.])],
        ),
        &table,
    );
    upsert(
        &mut store,
        &doc(
            b.id,
            "y",
            vec![chunk("y", vec![1., 0., 0., 0., 0., 0., 0., 0.])],
        ),
        &table,
    );
    vectors::maybe_recenter(store.conn(), &mut table).unwrap();
    let all = vectors::all_embeddings(store.conn(), &table.table, a.id).unwrap();
    let exact = vectors::exact_knn(&all, &[1., 0., 0., 0., 0., 0., 0., 0.], 5);
    assert_eq!(exact.len(), 1);
    let codes = store
        .nearest_codes(&table, b.id, &[1., 0., 0., 0., 0., 0., 0., 0.], 5)
        .unwrap()
        .ids;
    assert_eq!(codes.len(), 1);
    assert_ne!(exact[0].0, codes[0].0);
}

#[test]
fn a_second_model_is_refused_with_a_reembed_hint() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let coll = collections::get_or_create(store.conn(), "docs").unwrap();
    let table = vectors::ensure_model(store.conn(), &model(8)).unwrap();
    collections::set_manifest(store.conn(), coll.id, table.model_id, 200, 32).unwrap();
    let coll = collections::get(store.conn(), "docs").unwrap();
    assert!(collections::check_model(&coll, &model(8)).is_ok());
    let other = ModelIdentity {
        sha256: "ffff".into(),
        ..model(16)
    };
    let err = collections::check_model(&coll, &other)
        .unwrap_err()
        .to_string();
    assert!(err.contains("lmdeck reembed --collection docs"), "{err}");
}

#[test]
fn binary_codes_take_signs_around_the_center() {
    assert_eq!(vectors::binary_code(&[0.5, -0.5, 0.1], None), vec![0b101]);
    assert_eq!(
        vectors::binary_code(&[0.5, -0.5, 0.1], Some(&[0.6, -0.6, 0.0])),
        vec![0b110]
    );
}

#[test]
fn the_in_memory_code_copy_follows_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let a = collections::get_or_create(store.conn(), "a").unwrap();
    let table = vectors::ensure_model(store.conn(), &model(8)).unwrap();
    let q = [1., 0., 0., 0., 0., 0., 0., 0.];
    assert!(store
        .nearest_codes(&table, a.id, &q, 5)
        .unwrap()
        .ids
        .is_empty());
    upsert(
        &mut store,
        &doc(a.id, "x", vec![chunk("x", q.to_vec())]),
        &table,
    );
    assert_eq!(
        store.nearest_codes(&table, a.id, &q, 5).unwrap().ids.len(),
        1
    );

    // a write from another connection is seen too
    let mut other = Store::open(&dir.path().join("t.db")).unwrap();
    upsert(
        &mut other,
        &doc(a.id, "y", vec![chunk("y", q.to_vec())]),
        &table,
    );
    assert_eq!(
        store.nearest_codes(&table, a.id, &q, 5).unwrap().ids.len(),
        2
    );
}

#[test]
fn sqlite_vec_and_the_in_memory_copy_rank_codes_alike() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let coll = collections::get_or_create(store.conn(), "c").unwrap();
    let table = vectors::ensure_model(store.conn(), &model(16)).unwrap();
    let mut seed = 7u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    for d in 0..40 {
        let chunks = (0..3)
            .map(|c| chunk(&format!("d{d}c{c}"), (0..16).map(|_| next()).collect()))
            .collect();
        upsert(&mut store, &doc(coll.id, &format!("d{d}"), chunks), &table);
    }
    let query: Vec<f32> = (0..16).map(|_| next()).collect();
    let first = store.nearest_codes(&table, coll.id, &query, 15).unwrap(); // sqlite-vec
    let second = store.nearest_codes(&table, coll.id, &query, 15).unwrap(); // memory
    assert!(!first.retrievable_only && second.retrievable_only);
    let distances = |v: &[(i64, u32)]| v.iter().map(|(_, d)| *d).collect::<Vec<_>>();
    assert_eq!(distances(&first.ids), distances(&second.ids));

    // The re-scorer's vectors, read from sqlite-vec's auxiliary table, are the virtual
    // table's own.
    let ids: Vec<i64> = second.ids.iter().map(|(id, _)| *id).collect();
    let fast = vectors::embeddings(store.conn(), &table.table, &ids).unwrap();
    let mut via_vtab = store
        .conn()
        .prepare(&format!(
            "SELECT embedding FROM {} WHERE chunk_id = ?1",
            table.table
        ))
        .unwrap();
    for (id, v) in &fast {
        let bytes: Vec<u8> = via_vtab.query_row([id], |r| r.get(0)).unwrap();
        assert_eq!(*v, vectors::from_bytes(&bytes));
    }
    assert_eq!(fast.len(), ids.len());
    // ... and the re-scorer's dot products, read from the bytes in one statement, are the
    // same arithmetic on the same vectors.
    let dots = vectors::dot_products(store.conn(), &table.table, &ids, &query).unwrap();
    assert_eq!(dots.len(), ids.len());
    for ((id, dot), (same_id, v)) in dots.iter().zip(&fast) {
        assert_eq!(id, same_id);
        let expected: f32 = query.iter().zip(v).map(|(q, x)| q * x).sum();
        assert_eq!(dot.to_bits(), expected.to_bits());
    }

    // Excluding a chunk, or its whole document, takes it out of the in-memory copy.
    let (nearest, _) = second.ids[0];
    store
        .conn()
        .execute("UPDATE chunks SET excluded = 1 WHERE id = ?1", [nearest])
        .unwrap();
    let third = store.nearest_codes(&table, coll.id, &query, 200).unwrap();
    assert_eq!(third.ids.len(), 119);
    assert!(third.ids.iter().all(|(id, _)| *id != nearest));
    store
        .conn()
        .execute(
            "UPDATE documents SET status = 'excluded' WHERE id = (SELECT document_id FROM chunks WHERE id = ?1)",
            [nearest],
        )
        .unwrap();
    let fourth = store.nearest_codes(&table, coll.id, &query, 200).unwrap();
    assert_eq!(fourth.ids.len(), 117);
}

#[test]
fn rated_answers_come_with_their_question_and_the_chunks_still_there() {
    use chat::{NewMessage, Rating, StoredSource};
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let coll = collections::get_or_create(store.conn(), "c").unwrap();
    let table = vectors::ensure_model(store.conn(), &model(8)).unwrap();
    let d = doc(
        coll.id,
        "a.txt",
        vec![chunk(
            "the answer text",
            vec![1., 0., 0., 0., 0., 0., 0., 0.],
        )],
    );
    upsert(&mut store, &d, &table);
    let chunk_id = count(&store, "SELECT id FROM chunks");
    let (question_id, answer_id, other_id) = in_tx(&mut store, |tx| {
        let s = chat::create_session(tx, "t", Some("c")).unwrap();
        let msg = |role, content, sources| NewMessage {
            role,
            content,
            model: None,
            rag: true,
            stats: None,
            trace: None,
            sources,
        };
        let sources = [
            StoredSource {
                n: 1,
                chunk_id,
                source_path: "a.txt".into(),
                heading_path: String::new(),
                cited: true,
            },
            StoredSource {
                n: 2,
                chunk_id: chunk_id + 100,
                source_path: "gone.txt".into(),
                heading_path: String::new(),
                cited: false,
            },
        ];
        let q = chat::add_message(tx, s, &msg("user", "first?", &[])).unwrap();
        let a = chat::add_message(tx, s, &msg("assistant", "one", &sources)).unwrap();
        chat::add_message(tx, s, &msg("user", "second?", &[])).unwrap();
        let b = chat::add_message(tx, s, &msg("assistant", "two", &[])).unwrap();
        (q, a, b)
    });
    in_tx(&mut store, |tx| {
        chat::set_rating(tx, answer_id, Some(Rating::Good)).unwrap();
        chat::set_rating(tx, other_id, Some(Rating::Bad)).unwrap();
        // Questions carry no rating.
        assert!(matches!(
            chat::set_rating(tx, question_id, Some(Rating::Good)),
            Err(StoreError::NoAnswer(_))
        ));
    });
    let good = chat::rated_answers(store.conn(), Rating::Good).unwrap();
    assert_eq!(good.len(), 1);
    assert_eq!(good[0].question.as_deref(), Some("first?"));
    assert_eq!(good[0].answer, "one");
    assert_eq!(good[0].sources.len(), 2);
    let kept = good[0].sources[0].chunk.as_ref().unwrap();
    assert_eq!(kept.2, "the answer text");
    assert!(good[0].sources[1].chunk.is_none());
    let bad = chat::rated_answers(store.conn(), Rating::Bad).unwrap();
    assert_eq!(bad[0].question.as_deref(), Some("second?"));

    in_tx(&mut store, |tx| {
        chat::set_rating(tx, other_id, None).unwrap()
    });
    assert!(chat::rated_answers(store.conn(), Rating::Bad)
        .unwrap()
        .is_empty());
    let listed = chat::messages(store.conn(), good[0].session_id).unwrap();
    assert_eq!(listed[1].rating, Some(1));
    assert_eq!(listed[3].rating, None);
}
