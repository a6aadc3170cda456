//! Writing documents: each document (row, chunks, full-text rows, vectors) in one transaction,
//! so a crash at any point leaves either the old or the new version, never a mix. The
//! functions take the caller's transaction (the writer's, see `store::writer`).

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::vectors::{self, VecTable};
use super::StoreError;

#[derive(Debug, Clone, PartialEq)]
pub struct NewChunk {
    pub text: String,
    pub byte_start: usize,
    pub byte_end: usize,
    pub heading_path: String,
    pub token_count: usize,
    pub text_sha256: String,
    /// Text given to the full-text index (title and headings included).
    pub indexed_text: String,
    pub embedding: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewDocument {
    pub collection_id: i64,
    pub source_path: String,
    pub content_sha256: String,
    pub size: u64,
    pub mtime: i64,
    pub title: String,
    pub format: String,
    pub chunks: Vec<NewChunk>,
}

/// Token that scopes the full-text index to one collection.
pub fn collection_token(collection_id: i64) -> String {
    format!("lmdeckcoll{collection_id}")
}

/// Inserts or replaces a document. Status and tags of an existing document are kept.
pub fn upsert_document(
    tx: &Transaction,
    doc: &NewDocument,
    table: &VecTable,
) -> Result<i64, StoreError> {
    let existing: Option<i64> = tx
        .query_row(
            "SELECT id FROM documents WHERE collection_id = ?1 AND source_path = ?2",
            params![doc.collection_id, doc.source_path],
            |r| r.get(0),
        )
        .optional()?;
    // Chunk exclusions survive a re-write for chunks whose text did not change.
    let mut excluded: std::collections::HashSet<String> = std::collections::HashSet::new();
    if let Some(id) = existing {
        let mut stmt =
            tx.prepare("SELECT text_sha256 FROM chunks WHERE document_id = ?1 AND excluded = 1")?;
        excluded = stmt
            .query_map([id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        drop(stmt);
        delete_chunks(tx, id)?;
    }
    let id: i64 = tx.query_row(
        "INSERT INTO documents (collection_id, source_path, content_sha256, size, mtime, title, format, ingested_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (collection_id, source_path) DO UPDATE SET
             content_sha256 = excluded.content_sha256, size = excluded.size, mtime = excluded.mtime,
             title = excluded.title, format = excluded.format, ingested_at = excluded.ingested_at
         RETURNING id",
        params![
            doc.collection_id,
            doc.source_path,
            doc.content_sha256,
            doc.size as i64,
            doc.mtime,
            doc.title,
            doc.format,
            crate::util::now_unix()
        ],
        |r| r.get(0),
    )?;
    let coll = collection_token(doc.collection_id);
    for (ordinal, chunk) in doc.chunks.iter().enumerate() {
        let chunk_id: i64 = tx
            .prepare_cached(
                "INSERT INTO chunks (document_id, ordinal, text, byte_start, byte_end, heading_path, token_count, text_sha256, excluded)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
            )?
            .query_row(
                params![
                    id,
                    ordinal as i64,
                    chunk.text,
                    chunk.byte_start as i64,
                    chunk.byte_end as i64,
                    chunk.heading_path,
                    chunk.token_count as i64,
                    chunk.text_sha256,
                    excluded.contains(&chunk.text_sha256)
                ],
                |r| r.get(0),
            )?;
        tx.prepare_cached("INSERT INTO chunks_fts (rowid, body, coll) VALUES (?1, ?2, ?3)")?
            .execute(params![chunk_id, chunk.indexed_text, coll])?;
        vectors::insert(tx, table, chunk_id, doc.collection_id, &chunk.embedding)?;
    }
    Ok(id)
}

/// Deletes a document with its chunks, full-text rows and vectors in every model table.
pub fn delete_document(tx: &Transaction, id: i64) -> Result<(), StoreError> {
    delete_chunks(tx, id)?;
    tx.execute("DELETE FROM documents WHERE id = ?1", [id])?;
    Ok(())
}

/// A moved file: same content, new path; everything else about the document is kept.
pub fn rename_document(conn: &Connection, id: i64, to: &str, mtime: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE documents SET source_path = ?2, mtime = ?3 WHERE id = ?1",
        params![id, to, mtime],
    )?;
    Ok(())
}

/// Removes a document's chunks and their index rows in every model's vector table (chunk
/// ids can be reused, so no table may keep a vector of a deleted chunk).
fn delete_chunks(conn: &Connection, document_id: i64) -> Result<(), StoreError> {
    let tables: Vec<String> = {
        let mut stmt = conn.prepare_cached("SELECT id FROM embed_models")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.into_iter().map(vectors::table_name).collect()
    };
    let ids: Vec<i64> = {
        let mut stmt = conn.prepare_cached("SELECT id FROM chunks WHERE document_id = ?1")?;
        let ids = stmt
            .query_map([document_id], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids
    };
    for chunk_id in ids {
        conn.prepare_cached("DELETE FROM chunks_fts WHERE rowid = ?1")?
            .execute([chunk_id])?;
        for t in &tables {
            vectors::delete(conn, t, chunk_id)?;
        }
    }
    conn.execute("DELETE FROM chunks WHERE document_id = ?1", [document_id])?;
    Ok(())
}
