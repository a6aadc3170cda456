//! A few reading stores kept open for a server: a request borrows one instead of opening
//! the database (and checking its schema) again.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{Store, StoreError};

/// Reading stores of one database; at most `keep` idle ones are kept.
#[derive(Clone)]
pub struct ReadPool {
    path: PathBuf,
    idle: Arc<Mutex<Vec<Store>>>,
    keep: usize,
}

impl ReadPool {
    pub fn new(path: &Path, keep: usize) -> Self {
        Self {
            path: path.to_path_buf(),
            idle: Arc::default(),
            keep,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// An idle store, or a new one when all are in use; it goes back to the pool on drop.
    pub fn get(&self) -> Result<Pooled, StoreError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let store = match idle {
            Some(store) => store,
            None => Store::open(&self.path)?,
        };
        Ok(Pooled {
            store: Some(store),
            pool: self.clone(),
        })
    }
}

/// A store borrowed from a [`ReadPool`]; use it on one thread (a blocking task).
pub struct Pooled {
    store: Option<Store>,
    pool: ReadPool,
}

impl Deref for Pooled {
    type Target = Store;

    fn deref(&self) -> &Store {
        // Only `drop` takes the store out.
        self.store.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Store {
        self.store.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else {
            return;
        };
        let mut idle = self.pool.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.pool.keep {
            idle.push(store);
        }
    }
}
