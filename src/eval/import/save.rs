//! Storing an imported or drafted set in one writer transaction: all of it, or nothing.

use rusqlite::Connection;

use crate::eval::set::{EvalSet, NewSet};
use crate::eval::store::{self, EvalStoreError};
use crate::store::DbWriter;

/// A set already stored under `name`: `Ok(Some)` when it holds the same content (`sha256`),
/// so importing again is a no-op; `SetExists` when it holds other content.
pub fn existing(
    conn: &Connection,
    name: &str,
    sha256: &str,
) -> Result<Option<EvalSet>, EvalStoreError> {
    let Some(set) = store::list_sets(conn)?.into_iter().find(|s| s.name == name) else {
        return Ok(None);
    };
    if set.sha256 == sha256 {
        Ok(Some(set))
    } else {
        Err(EvalStoreError::SetExists(name.to_string()))
    }
}

/// Inserts the set and its items in one transaction; a failure leaves nothing behind.
pub fn save(writer: &DbWriter, set: NewSet) -> Result<i64, EvalStoreError> {
    // `insert_set` refuses a name in use before it writes anything.
    write(writer, move |tx| store::insert_set(tx, &set))
}

/// Runs an eval store writer in the process's writer transaction. A database error rolls
/// the transaction back; the store's other errors (no such set, name taken) are found by
/// reads before any write, so they commit an empty transaction and come back as they are.
pub fn write<T, F>(writer: &DbWriter, work: F) -> Result<T, EvalStoreError>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, EvalStoreError> + Send + 'static,
{
    writer.call(move |tx| match work(tx) {
        Ok(v) => Ok(Ok(v)),
        Err(EvalStoreError::Store(e)) => Err(e),
        Err(other) => Ok(Err(other)),
    })?
}
