//! Curation services shared by the CLI and the console: exclude/include, tags, delete, sync
//! from stored roots, near-duplicate pairs and chunk-length histograms. Every front end goes
//! through these functions, so a change made in the console and one made by a script are the
//! same change. Changes run as one transaction of the process's writer (`db`).

pub mod dupes;
pub mod histogram;

use rusqlite::Connection;

use crate::ingest::{ChunkSettings, IngestRequest};
use crate::store::{collections, documents, write, DbWriter, StoreError};

pub use documents::{ChunkRow, DocumentRow};

#[derive(Debug, thiserror::Error)]
pub enum CurateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("collection `{0}` has no source folders to sync from; ingest a folder into it first (`lmdeck ingest PATH --collection {0}`)")]
    NoRoots(String),
    #[error("tag must not be empty")]
    EmptyTag,
    #[error("similarity threshold {0} is outside 0.5..1 (below 0.5 nearly every pair of chunks matches)")]
    BadThreshold(f32),
    #[error("collection `{0}` has no vectors yet")]
    NoVectors(String),
    #[error("cancelled")]
    Cancelled,
}

/// Marks a document (by id or source path) excluded or active; returns it as it is now.
pub fn set_document_excluded(
    db: &DbWriter,
    collection: &str,
    key: &str,
    excluded: bool,
) -> Result<DocumentRow, CurateError> {
    let (collection, key) = (collection.to_string(), key.to_string());
    Ok(db.call(move |tx| {
        let doc = document(tx, &collection, &key)?;
        documents::set_status(tx, doc.id, excluded)?;
        documents::get(tx, doc.id)
    })?)
}

pub fn set_chunk_excluded(db: &DbWriter, chunk_id: i64, excluded: bool) -> Result<(), CurateError> {
    Ok(db.call(move |tx| documents::set_chunk_excluded(tx, chunk_id, excluded))?)
}

pub fn add_tag(
    db: &DbWriter,
    collection: &str,
    key: &str,
    tag: &str,
) -> Result<DocumentRow, CurateError> {
    change_tag(db, collection, key, tag, documents::add_tag)
}

pub fn remove_tag(
    db: &DbWriter,
    collection: &str,
    key: &str,
    tag: &str,
) -> Result<DocumentRow, CurateError> {
    change_tag(db, collection, key, tag, documents::remove_tag)
}

/// Checks the tag, finds the document, applies `change` and returns the document as it is now.
fn change_tag(
    db: &DbWriter,
    collection: &str,
    key: &str,
    tag: &str,
    change: fn(&Connection, i64, &str) -> Result<(), StoreError>,
) -> Result<DocumentRow, CurateError> {
    let tag = clean_tag(tag)?.to_string();
    let (collection, key) = (collection.to_string(), key.to_string());
    Ok(db.call(move |tx| {
        let doc = document(tx, &collection, &key)?;
        change(tx, doc.id, &tag)?;
        documents::get(tx, doc.id)
    })?)
}

/// A document of a collection by id, source path or path relative to its folder.
fn document(conn: &Connection, collection: &str, key: &str) -> Result<DocumentRow, StoreError> {
    let coll = collections::get(conn, collection)?;
    documents::resolve(conn, coll.id, key)
}

fn clean_tag(tag: &str) -> Result<&str, CurateError> {
    let tag = tag.trim();
    if tag.is_empty() {
        return Err(CurateError::EmptyTag);
    }
    Ok(tag)
}

/// Deletes a document with its chunks and vectors; returns what was deleted.
pub fn delete_document(
    db: &DbWriter,
    collection: &str,
    key: &str,
) -> Result<DocumentRow, CurateError> {
    let (collection, key) = (collection.to_string(), key.to_string());
    Ok(db.call(move |tx| {
        let doc = document(tx, &collection, &key)?;
        write::delete_document(tx, doc.id)?;
        Ok(doc)
    })?)
}

/// The ingest request that re-syncs a collection from the folders it was built from. Files
/// gone from those folders are deleted (the dry run lists them first).
pub fn sync_request(
    conn: &Connection,
    collection: &str,
    settings: ChunkSettings,
    max_file_bytes: u64,
) -> Result<IngestRequest, CurateError> {
    let coll = collections::get(conn, collection)?;
    let roots = collections::roots(conn, coll.id)?;
    if roots.is_empty() {
        return Err(CurateError::NoRoots(collection.to_string()));
    }
    Ok(IngestRequest {
        collection: collection.to_string(),
        // Roots are stored in the reversible text form of their bytes (`\xFF` escapes).
        roots: roots
            .iter()
            .map(|r| crate::ingest::pathname::decode(r))
            .collect(),
        settings,
        max_file_bytes,
        prune: true,
    })
}
