//! Collections and their index manifest (embedding model + chunker settings).

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;
use crate::embed::ModelIdentity;

#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    pub id: i64,
    pub name: String,
    pub model: Option<ModelIdentity>,
    pub model_id: Option<i64>,
    pub chunk_target: Option<usize>,
    pub chunk_overlap: Option<usize>,
    pub last_sync: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CollectionStats {
    pub collection: Collection,
    pub documents: i64,
    pub excluded: i64,
    pub chunks: i64,
    pub bytes: i64,
    pub roots: Vec<String>,
}

const SELECT: &str = "SELECT c.id, c.name, c.model_id, m.name, m.sha256, m.dim, c.chunk_target, c.chunk_overlap, c.last_sync
     FROM collections c LEFT JOIN embed_models m ON m.id = c.model_id";

fn from_row(row: &rusqlite::Row) -> rusqlite::Result<Collection> {
    let model_name: Option<String> = row.get(3)?;
    let model = match model_name {
        Some(name) => Some(ModelIdentity {
            name,
            sha256: row.get(4)?,
            dim: row.get::<_, i64>(5)? as usize,
        }),
        None => None,
    };
    Ok(Collection {
        id: row.get(0)?,
        name: row.get(1)?,
        model_id: row.get(2)?,
        model,
        chunk_target: row.get::<_, Option<i64>>(6)?.map(|v| v as usize),
        chunk_overlap: row.get::<_, Option<i64>>(7)?.map(|v| v as usize),
        last_sync: row.get(8)?,
    })
}

pub fn find(conn: &Connection, name: &str) -> Result<Option<Collection>, StoreError> {
    Ok(conn
        .query_row(&format!("{SELECT} WHERE c.name = ?1"), [name], from_row)
        .optional()?)
}

pub fn get(conn: &Connection, name: &str) -> Result<Collection, StoreError> {
    find(conn, name)?.ok_or_else(|| StoreError::NoCollection(name.to_string()))
}

pub fn get_or_create(conn: &Connection, name: &str) -> Result<Collection, StoreError> {
    conn.execute(
        "INSERT INTO collections (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
        params![name, crate::util::now_unix()],
    )?;
    get(conn, name)
}

pub fn list(conn: &Connection) -> Result<Vec<CollectionStats>, StoreError> {
    let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY c.name"))?;
    let collections = stmt
        .query_map([], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    collections.into_iter().map(|c| stats(conn, c)).collect()
}

pub fn stats(conn: &Connection, collection: Collection) -> Result<CollectionStats, StoreError> {
    let (documents, excluded, bytes): (i64, i64, i64) = conn.query_row(
        "SELECT count(*), coalesce(sum(status = 'excluded'), 0), coalesce(sum(size), 0)
         FROM documents WHERE collection_id = ?1",
        [collection.id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let chunks: i64 = conn.query_row(
        "SELECT count(*) FROM chunks JOIN documents d ON d.id = chunks.document_id WHERE d.collection_id = ?1",
        [collection.id],
        |r| r.get(0),
    )?;
    Ok(CollectionStats {
        roots: roots(conn, collection.id)?,
        collection,
        documents,
        excluded,
        chunks,
        bytes,
    })
}

/// Records the model and chunker that built the collection's index.
pub fn set_manifest(
    conn: &Connection,
    id: i64,
    model_id: i64,
    chunk_target: usize,
    chunk_overlap: usize,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE collections SET model_id = ?2, chunk_target = ?3, chunk_overlap = ?4 WHERE id = ?1",
        params![id, model_id, chunk_target as i64, chunk_overlap as i64],
    )?;
    Ok(())
}

pub fn add_root(conn: &Connection, id: i64, root: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO collection_roots (collection_id, root) VALUES (?1, ?2)",
        params![id, root],
    )?;
    Ok(())
}

pub fn roots(conn: &Connection, id: i64) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT root FROM collection_roots WHERE collection_id = ?1 ORDER BY root")?;
    let roots = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(roots)
}

pub fn touch_sync(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE collections SET last_sync = ?2 WHERE id = ?1",
        params![id, crate::util::now_unix()],
    )?;
    Ok(())
}

/// Refuses to mix vectors of two models in one collection.
pub fn check_model(collection: &Collection, configured: &ModelIdentity) -> Result<(), StoreError> {
    match &collection.model {
        Some(indexed) if indexed.sha256 != configured.sha256 || indexed.dim != configured.dim => {
            Err(StoreError::ModelMismatch {
                collection: collection.name.clone(),
                indexed: describe(indexed),
                configured: describe(configured),
            })
        }
        _ => Ok(()),
    }
}

fn describe(model: &ModelIdentity) -> String {
    format!(
        "{} (sha256 {}, {} dims)",
        model.name,
        &model.sha256[..model.sha256.len().min(12)],
        model.dim
    )
}
