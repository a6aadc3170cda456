//! The generation-model registry: local ONNX model folders by name, with their lineage.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::StoreError;
use crate::util::now_unix;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisteredModel {
    pub name: String,
    pub kind: String,
    pub path: String,
    pub base_model: Option<String>,
    pub source: String,
    pub added_at: i64,
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<RegisteredModel> {
    Ok(RegisteredModel {
        name: r.get(0)?,
        kind: r.get(1)?,
        path: r.get(2)?,
        base_model: r.get(3)?,
        source: r.get(4)?,
        added_at: r.get(5)?,
    })
}

pub fn add(
    conn: &Connection,
    name: &str,
    path: &str,
    base_model: Option<&str>,
    source: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO models (name, kind, path, base_model, source, added_at) VALUES (?1, 'onnx', ?2, ?3, ?4, ?5)
         ON CONFLICT(name) DO UPDATE SET path = excluded.path, base_model = excluded.base_model, source = excluded.source",
        params![name, path, base_model, source, now_unix()],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, name: &str) -> Result<Option<RegisteredModel>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT name, kind, path, base_model, source, added_at FROM models WHERE name = ?1",
            [name],
            row,
        )
        .optional()?)
}

pub fn list(conn: &Connection) -> Result<Vec<RegisteredModel>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT name, kind, path, base_model, source, added_at FROM models ORDER BY name",
    )?;
    let rows = stmt.query_map([], row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn remove(conn: &Connection, name: &str) -> Result<bool, StoreError> {
    Ok(conn.execute("DELETE FROM models WHERE name = ?1", [name])? > 0)
}
