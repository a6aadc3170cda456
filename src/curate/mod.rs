//! Curation services shared by the CLI and the console: exclude/include, tags, delete, sync
//! from stored roots, near-duplicate pairs and chunk-length histograms. Every front end goes
//! through these functions, so a change made in the console and one made by a script are the
//! same change.

pub mod dupes;
pub mod histogram;

use rusqlite::Connection;
use std::path::PathBuf;

use crate::ingest::{ChunkSettings, IngestRequest};
use crate::store::{collections, documents, write, StoreError};

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
}

/// Marks a document (by id or source path) excluded or active; returns it as it is now.
pub fn set_document_excluded(
    conn: &Connection,
    collection: &str,
    key: &str,
    excluded: bool,
) -> Result<DocumentRow, CurateError> {
    let doc = document(conn, collection, key)?;
    documents::set_status(conn, doc.id, excluded)?;
    Ok(documents::get(conn, doc.id)?)
}

pub fn set_chunk_excluded(
    conn: &Connection,
    chunk_id: i64,
    excluded: bool,
) -> Result<(), CurateError> {
    Ok(documents::set_chunk_excluded(conn, chunk_id, excluded)?)
}

pub fn add_tag(
    conn: &Connection,
    collection: &str,
    key: &str,
    tag: &str,
) -> Result<DocumentRow, CurateError> {
    change_tag(conn, collection, key, tag, documents::add_tag)
}

pub fn remove_tag(
    conn: &Connection,
    collection: &str,
    key: &str,
    tag: &str,
) -> Result<DocumentRow, CurateError> {
    change_tag(conn, collection, key, tag, documents::remove_tag)
}

/// Checks the tag, finds the document, applies `change` and returns the document as it is now.
fn change_tag(
    conn: &Connection,
    collection: &str,
    key: &str,
    tag: &str,
    change: fn(&Connection, i64, &str) -> Result<(), crate::store::StoreError>,
) -> Result<DocumentRow, CurateError> {
    let tag = clean_tag(tag)?;
    let doc = document(conn, collection, key)?;
    change(conn, doc.id, tag)?;
    Ok(documents::get(conn, doc.id)?)
}

/// A document of a collection by id, source path or path relative to its folder.
fn document(conn: &Connection, collection: &str, key: &str) -> Result<DocumentRow, CurateError> {
    let coll = collections::get(conn, collection)?;
    Ok(documents::resolve(conn, coll.id, key)?)
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
    conn: &mut Connection,
    collection: &str,
    key: &str,
) -> Result<DocumentRow, CurateError> {
    let doc = document(conn, collection, key)?;
    write::delete_document(conn, doc.id)?;
    Ok(doc)
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
        roots: roots.into_iter().map(PathBuf::from).collect(),
        settings,
        max_file_bytes,
        prune: true,
    })
}
