//! Checks on a database the real binary wrote: nothing half-written, and what it holds.
#![allow(dead_code)]

use std::path::Path;

use crate::common::Env;

/// No half-written document, no orphaned index row, and SQLite's own integrity check.
pub fn assert_consistent(env: &Env) {
    let orphans = [
        // documents without chunks: a half-written document
        "SELECT count(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.document_id = d.id)",
        // chunks without a full-text row or a vector
        "SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM chunks_fts f WHERE f.rowid = c.id)",
        "SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM vec_model_1 v WHERE v.chunk_id = c.id)",
        // index rows without a chunk
        "SELECT count(*) FROM chunks_fts f WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = f.rowid)",
        "SELECT count(*) FROM vec_model_1 v WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = v.chunk_id)",
    ];
    for sql in orphans {
        assert_eq!(env.sql_count(sql), 0, "{sql}");
    }
    assert_eq!(
        env.sql_count(
            "SELECT count(*) FROM pragma_integrity_check() WHERE integrity_check <> 'ok'"
        ),
        0,
        "integrity"
    );
}

/// Documents stored in a collection so far; 0 while the database or the collection does not
/// exist yet (a writer may hold the lock briefly; the store's busy timeout waits for it).
pub fn count_docs(env: &Env, collection: &str) -> i64 {
    if !env.db().exists() {
        return 0;
    }
    let Ok(store) = lmdeck::store::Store::open(&env.db()) else {
        return 0;
    };
    store
        .conn()
        .query_row(
            "SELECT count(*) FROM documents d JOIN collections c ON c.id = d.collection_id WHERE c.name = ?1",
            [collection],
            |r| r.get(0),
        )
        .unwrap_or(0)
}

/// (collection, source path relative to `root`, chunks) for every document, sorted: what two
/// databases built from the same files in different folders must agree on.
pub fn contents(env: &Env, root: &Path) -> Vec<(String, String, i64)> {
    let store = lmdeck::store::Store::open(&env.db()).unwrap();
    let mut stmt = store
        .conn()
        .prepare(
            "SELECT c.name, d.source_path, (SELECT count(*) FROM chunks ch WHERE ch.document_id = d.id)
             FROM documents d JOIN collections c ON c.id = d.collection_id",
        )
        .unwrap();
    let root = std::fs::canonicalize(root).unwrap().display().to_string();
    let mut rows: Vec<(String, String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get::<_, String>(1)?, r.get(2)?)))
        .unwrap()
        .map(|row| {
            let (c, path, n) = row.unwrap();
            (c, path.trim_start_matches(&root).to_string(), n)
        })
        .collect();
    rows.sort();
    rows
}
