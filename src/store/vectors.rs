//! One sqlite-vec table per embedding model. Each row holds a binary code (sign bits around
//! the model's mean vector), which KNN scans, and the full-precision vector as an auxiliary
//! column, which re-scores the best candidates. (An auxiliary column is a plain rowid table,
//! so reading 200 vectors costs 200 B-tree lookups; reading them from a vector column would
//! walk the overflow pages of sqlite-vec's 1024-vector chunk blobs for each one.)

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;
use crate::embed::ModelIdentity;

#[derive(Debug, Clone, PartialEq)]
pub struct VecTable {
    pub model_id: i64,
    pub table: String,
    pub dim: usize,
    pub center: Option<Vec<f32>>,
    pub center_n: i64,
}

pub fn table_name(model_id: i64) -> String {
    format!("vec_model_{model_id}")
}

/// Registers the model (once) and creates its vector table.
pub fn ensure_model(conn: &Connection, model: &ModelIdentity) -> Result<VecTable, StoreError> {
    if model.dim == 0 || !model.dim.is_multiple_of(8) {
        return Err(StoreError::BadDimension(model.dim));
    }
    conn.execute(
        "INSERT INTO embed_models (name, sha256, dim) VALUES (?1, ?2, ?3) ON CONFLICT (name, sha256) DO NOTHING",
        params![model.name, model.sha256, model.dim as i64],
    )?;
    let model_id: i64 = conn.query_row(
        "SELECT id FROM embed_models WHERE name = ?1 AND sha256 = ?2",
        params![model.name, model.sha256],
        |r| r.get(0),
    )?;
    let table = table_name(model_id);
    // The table name comes from an integer id, never from user text.
    conn.execute_batch(&format!(
        "CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING vec0(
             chunk_id INTEGER PRIMARY KEY,
             collection_id INTEGER PARTITION KEY,
             code bit[{dim}],
             +embedding blob
         )",
        dim = model.dim
    ))?;
    current(conn, model_id)
}

/// A registered model's table as stored now. Writers read it inside their transaction: the
/// codes of new rows must be taken around the center the table holds, which another
/// process may have moved since this one last looked.
pub fn current(conn: &Connection, model_id: i64) -> Result<VecTable, StoreError> {
    load(conn, model_id)?.ok_or(StoreError::Sql(rusqlite::Error::QueryReturnedNoRows))
}

pub fn load(conn: &Connection, model_id: i64) -> Result<Option<VecTable>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT dim, center, center_n FROM embed_models WHERE id = ?1",
            [model_id],
            |r| {
                let center: Option<Vec<u8>> = r.get(1)?;
                Ok(VecTable {
                    model_id,
                    table: table_name(model_id),
                    dim: r.get::<_, i64>(0)? as usize,
                    center: center.map(|b| from_bytes(&b)),
                    center_n: r.get(2)?,
                })
            },
        )
        .optional()?)
}

pub fn to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn from_bytes(b: &[u8]) -> Vec<f32> {
    floats(b).collect()
}

/// The floats of a stored vector, read in place.
fn floats(b: &[u8]) -> impl Iterator<Item = f32> + '_ {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

/// `[1,2,3]`: ids for a statement that reads them with `json_each`, one statement for many
/// ids instead of one per id.
pub fn json_ids(ids: impl IntoIterator<Item = i64>) -> String {
    let list: Vec<String> = ids.into_iter().map(|id| id.to_string()).collect();
    format!("[{}]", list.join(","))
}

/// sqlite-vec (pinned at 0.1.6) keeps an auxiliary column in the plain table
/// `<table>_auxiliary` keyed by the row's primary key; reading it there skips the virtual
/// table's per-lookup cost (about 4x faster for a search's 300 re-scored vectors). The virtual
/// table's own query (`through_vtab`) remains for a layout this code does not know.
fn prepare_vector_read<'c>(
    conn: &'c Connection,
    from_auxiliary: &str,
    through_vtab: &str,
) -> Result<rusqlite::CachedStatement<'c>, StoreError> {
    match conn.prepare_cached(from_auxiliary) {
        Ok(stmt) => Ok(stmt),
        Err(_) => Ok(conn.prepare_cached(through_vtab)?),
    }
}

/// Sign bits of `v - center`, packed eight to a byte.
pub fn binary_code(v: &[f32], center: Option<&[f32]>) -> Vec<u8> {
    let mut out = vec![0u8; v.len().div_ceil(8)];
    for (i, x) in v.iter().enumerate() {
        let c = center.and_then(|c| c.get(i)).copied().unwrap_or(0.0);
        if *x > c {
            out[i / 8] |= 1 << (i % 8);
        }
    }
    out
}

pub fn insert(
    conn: &Connection,
    table: &VecTable,
    chunk_id: i64,
    collection_id: i64,
    embedding: &[f32],
) -> Result<(), StoreError> {
    let code = binary_code(embedding, table.center.as_deref());
    conn.prepare_cached(&format!(
        "INSERT INTO {} (chunk_id, collection_id, embedding, code) VALUES (?1, ?2, ?3, vec_bit(?4))",
        table.table
    ))?
    .execute(params![chunk_id, collection_id, to_bytes(embedding), code])?;
    Ok(())
}

pub fn delete(conn: &Connection, table: &str, chunk_id: i64) -> Result<(), StoreError> {
    conn.prepare_cached(&format!("DELETE FROM {table} WHERE chunk_id = ?1"))?
        .execute([chunk_id])?;
    Ok(())
}

/// Nearest codes by Hamming distance within a collection, through sqlite-vec's KNN.
pub fn knn_codes(
    conn: &Connection,
    table: &VecTable,
    collection_id: i64,
    query: &[f32],
    k: usize,
) -> Result<Vec<(i64, u32)>, StoreError> {
    let code = binary_code(query, table.center.as_deref());
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT chunk_id, distance FROM {} WHERE code MATCH vec_bit(?1) AND k = ?2 AND collection_id = ?3",
        table.table
    ))?;
    let rows = stmt
        .query_map(params![code, k as i64, collection_id], |r| {
            Ok((r.get(0)?, r.get::<_, f64>(1)? as u32))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Every full vector of a collection (exact-search references in benchmarks and tests).
pub fn all_embeddings(
    conn: &Connection,
    table: &str,
    collection_id: i64,
) -> Result<Vec<(i64, Vec<f32>)>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT chunk_id, embedding FROM {table} WHERE collection_id = ?1"
    ))?;
    let rows = stmt
        .query_map([collection_id], |r| {
            Ok((r.get(0)?, from_bytes(&r.get::<_, Vec<u8>>(1)?)))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Exact cosine KNN by brute force over `vectors` (the reference for recall).
pub fn exact_knn(vectors: &[(i64, Vec<f32>)], query: &[f32], k: usize) -> Vec<(i64, f64)> {
    let mut scored: Vec<(i64, f64)> = vectors
        .iter()
        .map(|(id, v)| {
            (
                *id,
                1.0 - v.iter().zip(query).map(|(a, b)| a * b).sum::<f32>() as f64,
            )
        })
        .collect();
    scored.sort_by(|a, b| a.1.total_cmp(&b.1));
    scored.truncate(k);
    scored
}

/// Full vectors of the given chunks.
pub fn embeddings(
    conn: &Connection,
    table: &str,
    ids: &[i64],
) -> Result<Vec<(i64, Vec<f32>)>, StoreError> {
    let mut stmt = prepare_vector_read(
        conn,
        &format!("SELECT value00 FROM {table}_auxiliary WHERE rowid = ?1"),
        &format!("SELECT embedding FROM {table} WHERE chunk_id = ?1"),
    )?;
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        if let Some(bytes) = stmt
            .query_row([id], |r| r.get::<_, Vec<u8>>(0))
            .optional()?
        {
            out.push((id, from_bytes(&bytes)));
        }
    }
    Ok(out)
}

/// Dot product of `query` with the stored vector of each of `ids` (those that have one), read
/// in one statement straight from the stored bytes: the re-scoring of a search, where copying
/// 300 vectors out first cost more than the arithmetic.
pub fn dot_products(
    conn: &Connection,
    table: &str,
    ids: &[i64],
    query: &[f32],
) -> Result<Vec<(i64, f32)>, StoreError> {
    // CROSS JOIN keeps the planner on one primary-key lookup per id.
    let mut stmt = prepare_vector_read(
        conn,
        &format!("SELECT a.rowid, a.value00 FROM json_each(?1) j CROSS JOIN {table}_auxiliary a ON a.rowid = j.value"),
        &format!("SELECT v.chunk_id, v.embedding FROM json_each(?1) j CROSS JOIN {table} v ON v.chunk_id = j.value"),
    )?;
    let mut rows = stmt.query([json_ids(ids.iter().copied())])?;
    let mut out = Vec::with_capacity(ids.len());
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let bytes = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
        let dot: f32 = floats(bytes).zip(query).map(|(x, q)| x * q).sum();
        out.push((id, dot));
    }
    Ok(out)
}

/// Recomputes the mean vector from every stored vector and rewrites all codes around it.
/// Done when the table has grown well past the sample the current center came from, so the
/// cost is amortised like a growing array.
pub fn maybe_recenter(conn: &Connection, table: &mut VecTable) -> Result<bool, StoreError> {
    let count: i64 = conn.query_row(&format!("SELECT count(*) FROM {}", table.table), [], |r| {
        r.get(0)
    })?;
    if count == 0 || (table.center.is_some() && count < table.center_n.max(64) * 2) {
        return Ok(false);
    }
    let mut sum = vec![0f64; table.dim];
    let rows: Vec<(i64, i64, Vec<f32>)> = {
        let mut stmt = conn.prepare(&format!(
            "SELECT chunk_id, collection_id, embedding FROM {}",
            table.table
        ))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, from_bytes(&r.get::<_, Vec<u8>>(2)?)))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows
    };
    for (_, _, v) in &rows {
        for (s, x) in sum.iter_mut().zip(v) {
            *s += *x as f64;
        }
    }
    let center: Vec<f32> = sum
        .iter()
        .map(|s| (*s / rows.len() as f64) as f32)
        .collect();
    conn.execute(
        "UPDATE embed_models SET center = ?2, center_n = ?3 WHERE id = ?1",
        params![table.model_id, to_bytes(&center), rows.len() as i64],
    )?;
    table.center = Some(center);
    table.center_n = rows.len() as i64;
    // sqlite-vec 0.1.6 cannot UPDATE a bit column (it parses the value as float32), so rows
    // are rewritten. The caller holds a transaction, so readers see old or new codes only.
    for (chunk_id, collection_id, v) in &rows {
        delete(conn, &table.table, *chunk_id)?;
        insert(conn, table, *chunk_id, *collection_id, v)?;
    }
    Ok(true)
}
