//! Turning fused chunk ids into hits with their text and document.

use rusqlite::Connection;

use super::{Hit, StageHit, Trace};
use crate::store::StoreError;

pub fn hits(conn: &Connection, fused: Vec<(i64, Trace)>) -> Result<Vec<Hit>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.document_id, d.source_path, d.title, c.heading_path, c.ordinal, c.byte_start, c.byte_end, c.text
         FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ?1",
    )?;
    let mut out = Vec::with_capacity(fused.len());
    for (id, trace) in fused {
        // A chunk deleted by a concurrent ingest since the stages ran is skipped.
        let hit = stmt.query_row([id], |r| {
            Ok(Hit {
                rank: out.len() + 1,
                chunk_id: id,
                document_id: r.get(0)?,
                source_path: r.get(1)?,
                title: r.get(2)?,
                heading_path: r.get(3)?,
                ordinal: r.get(4)?,
                byte_start: r.get(5)?,
                byte_end: r.get(6)?,
                text: r.get(7)?,
                trace: trace.clone(),
            })
        });
        match hit {
            Ok(hit) => out.push(hit),
            Err(rusqlite::Error::QueryReturnedNoRows) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// A stage's ranked (chunk id, score) list with each chunk's document.
pub fn stage_hits(conn: &Connection, ranked: &[(i64, f64)]) -> Result<Vec<StageHit>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.document_id, d.source_path FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ?1",
    )?;
    let mut out = Vec::with_capacity(ranked.len());
    for (i, &(id, score)) in ranked.iter().enumerate() {
        match stmt.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))) {
            Ok((document_id, source_path)) => out.push(StageHit {
                rank: i + 1,
                chunk_id: id,
                document_id,
                source_path,
                score,
            }),
            Err(rusqlite::Error::QueryReturnedNoRows) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}
