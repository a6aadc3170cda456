//! Reading and curating documents and chunks.

use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;

use super::vectors;
use super::StoreError;

#[derive(Debug, Clone, PartialEq)]
pub struct DocumentRow {
    pub id: i64,
    pub collection_id: i64,
    pub source_path: String,
    pub content_sha256: String,
    pub size: i64,
    pub mtime: i64,
    pub status: String,
    pub title: String,
    pub format: String,
    pub chunks: i64,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChunkRow {
    pub id: i64,
    pub document_id: i64,
    pub ordinal: i64,
    pub text: String,
    pub byte_start: i64,
    pub byte_end: i64,
    pub heading_path: String,
    pub token_count: i64,
    pub text_sha256: String,
    pub excluded: bool,
}

/// What the incremental sync needs to know about a stored document.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredState {
    pub id: i64,
    pub content_sha256: String,
    pub mtime: i64,
    pub size: i64,
}

const DOC_SELECT: &str = "SELECT d.id, d.collection_id, d.source_path, d.content_sha256, d.size, d.mtime,
        d.status, d.title, d.format,
        (SELECT count(*) FROM chunks c WHERE c.document_id = d.id),
        (SELECT group_concat(tag, ',') FROM (SELECT tag FROM document_tags t WHERE t.document_id = d.id ORDER BY tag))
     FROM documents d";

fn doc_from_row(r: &rusqlite::Row) -> rusqlite::Result<DocumentRow> {
    let tags: Option<String> = r.get(10)?;
    Ok(DocumentRow {
        id: r.get(0)?,
        collection_id: r.get(1)?,
        source_path: r.get(2)?,
        content_sha256: r.get(3)?,
        size: r.get(4)?,
        mtime: r.get(5)?,
        status: r.get(6)?,
        title: r.get(7)?,
        format: r.get(8)?,
        chunks: r.get(9)?,
        tags: tags
            .map(|t| t.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
    })
}

pub fn list(conn: &Connection, collection_id: i64) -> Result<Vec<DocumentRow>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "{DOC_SELECT} WHERE d.collection_id = ?1 ORDER BY d.source_path"
    ))?;
    let rows = stmt
        .query_map([collection_id], doc_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn get(conn: &Connection, id: i64) -> Result<DocumentRow, StoreError> {
    conn.query_row(&format!("{DOC_SELECT} WHERE d.id = ?1"), [id], doc_from_row)
        .optional()?
        .ok_or_else(|| StoreError::NoDocument(id.to_string()))
}

/// A document by numeric id or by source path within the collection.
pub fn resolve(
    conn: &Connection,
    collection_id: i64,
    key: &str,
) -> Result<DocumentRow, StoreError> {
    if let Ok(id) = key.parse::<i64>() {
        if let Ok(doc) = get(conn, id) {
            if doc.collection_id == collection_id {
                return Ok(doc);
            }
        }
    }
    if let Some(doc) = conn
        .query_row(
            &format!("{DOC_SELECT} WHERE d.collection_id = ?1 AND d.source_path = ?2"),
            params![collection_id, key],
            doc_from_row,
        )
        .optional()?
    {
        return Ok(doc);
    }
    // A path relative to a source folder (`runbooks/drain.md`), if it names one document.
    let suffix = format!("/{}", key.trim_start_matches("./"));
    let mut stmt = conn.prepare(&format!(
        "{DOC_SELECT} WHERE d.collection_id = ?1 AND substr(d.source_path, -length(?2)) = ?2 LIMIT 2"
    ))?;
    let mut found = stmt
        .query_map(params![collection_id, suffix], doc_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(StoreError::NoDocument(key.to_string())),
        _ => Err(StoreError::NoDocument(format!(
            "{key} (several documents end with it; give more of the path)"
        ))),
    }
}

/// Every stored document of a collection by source path.
pub fn states(
    conn: &Connection,
    collection_id: i64,
) -> Result<HashMap<String, StoredState>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT source_path, id, content_sha256, mtime, size FROM documents WHERE collection_id = ?1",
    )?;
    let rows = stmt
        .query_map([collection_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                StoredState {
                    id: r.get(1)?,
                    content_sha256: r.get(2)?,
                    mtime: r.get(3)?,
                    size: r.get(4)?,
                },
            ))
        })?
        .collect::<Result<HashMap<_, _>, _>>()?;
    Ok(rows)
}

/// The chunk columns `chunk_from_row` reads, in its order (table alias `c`).
const CHUNK_COLUMNS: &str = "c.id, c.document_id, c.ordinal, c.text, c.byte_start, c.byte_end,
        c.heading_path, c.token_count, c.text_sha256, c.excluded";

fn chunk_from_row(r: &rusqlite::Row) -> rusqlite::Result<ChunkRow> {
    Ok(ChunkRow {
        id: r.get(0)?,
        document_id: r.get(1)?,
        ordinal: r.get(2)?,
        text: r.get(3)?,
        byte_start: r.get(4)?,
        byte_end: r.get(5)?,
        heading_path: r.get(6)?,
        token_count: r.get(7)?,
        text_sha256: r.get(8)?,
        excluded: r.get(9)?,
    })
}

pub fn chunks(conn: &Connection, document_id: i64) -> Result<Vec<ChunkRow>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {CHUNK_COLUMNS} FROM chunks c WHERE c.document_id = ?1 ORDER BY c.ordinal"
    ))?;
    let rows = stmt
        .query_map([document_id], chunk_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Stored vectors of a document's chunks by text hash, so a modified document re-embeds only
/// the chunks whose text changed.
pub fn embeddings_by_text(
    conn: &Connection,
    vec_table: &str,
    document_id: i64,
) -> Result<HashMap<String, Vec<f32>>, StoreError> {
    let rows: Vec<(i64, String)> = {
        let mut stmt = conn.prepare("SELECT id, text_sha256 FROM chunks WHERE document_id = ?1")?;
        let rows = stmt
            .query_map([document_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        rows
    };
    let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
    let vectors: HashMap<i64, Vec<f32>> = vectors::embeddings(conn, vec_table, &ids)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|(id, hash)| vectors.get(&id).map(|v| (hash, v.clone())))
        .collect())
}

/// Another active document of the collection with the same content, if any.
pub fn duplicate_of(
    conn: &Connection,
    collection_id: i64,
    sha256: &str,
    path: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT source_path FROM documents WHERE collection_id = ?1 AND content_sha256 = ?2 AND source_path <> ?3 LIMIT 1",
            params![collection_id, sha256, path],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn set_status(conn: &Connection, id: i64, excluded: bool) -> Result<(), StoreError> {
    let status = if excluded { "excluded" } else { "active" };
    let n = conn.execute(
        "UPDATE documents SET status = ?2 WHERE id = ?1",
        params![id, status],
    )?;
    if n == 0 {
        return Err(StoreError::NoDocument(id.to_string()));
    }
    Ok(())
}

pub fn set_chunk_excluded(
    conn: &Connection,
    chunk_id: i64,
    excluded: bool,
) -> Result<(), StoreError> {
    let n = conn.execute(
        "UPDATE chunks SET excluded = ?2 WHERE id = ?1",
        params![chunk_id, excluded],
    )?;
    if n == 0 {
        return Err(StoreError::NoDocument(format!("chunk {chunk_id}")));
    }
    Ok(())
}

pub fn add_tag(conn: &Connection, id: i64, tag: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO document_tags (document_id, tag) VALUES (?1, ?2)",
        params![id, tag],
    )?;
    Ok(())
}

pub fn remove_tag(conn: &Connection, id: i64, tag: &str) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM document_tags WHERE document_id = ?1 AND tag = ?2",
        params![id, tag],
    )?;
    Ok(())
}

/// A chunk with the document it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkInDoc {
    pub chunk: ChunkRow,
    pub source_path: String,
    pub title: String,
}

pub fn chunk(conn: &Connection, chunk_id: i64) -> Result<ChunkInDoc, StoreError> {
    conn.query_row(
        &format!(
            "SELECT {CHUNK_COLUMNS}, d.source_path, d.title
             FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ?1"
        ),
        [chunk_id],
        |r| {
            Ok(ChunkInDoc {
                chunk: chunk_from_row(r)?,
                source_path: r.get(10)?,
                title: r.get(11)?,
            })
        },
    )
    .optional()?
    .ok_or_else(|| StoreError::NoDocument(format!("chunk {chunk_id}")))
}
