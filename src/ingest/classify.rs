//! Comparing what is on disk with what is stored: added, modified, unchanged, removed,
//! duplicate and skipped inputs. Pure planning: nothing is written here, which is what makes
//! `--dry-run` honest.

use rusqlite::Connection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use super::chunker::ChunkSettings;
use super::loaders::{self, Format};
use super::types::{LoadedDoc, Skipped};
use super::walk::{self, FileEntry};
use crate::store::{collections, documents, Collection, StoreError};
use crate::util::sha256_hex;

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Added,
    Modified { id: i64 },
}

#[derive(Debug, Clone)]
pub struct Pending {
    pub doc: LoadedDoc,
    pub change: Change,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub collection: Option<Collection>,
    pub pending: Vec<Pending>,
    pub unchanged: usize,
    /// Stored documents under the given roots that are gone from disk: (id, path).
    pub removed: Vec<(i64, String)>,
    /// (path, path of the identical document kept).
    pub duplicates: Vec<(String, String)>,
    pub skipped: Vec<Skipped>,
    pub unsupported: BTreeMap<String, usize>,
    /// The chunker settings differ from the collection's manifest: everything is re-chunked.
    pub rechunk: bool,
    pub roots: Vec<String>,
}

impl Plan {
    pub fn added(&self) -> usize {
        self.pending
            .iter()
            .filter(|p| p.change == Change::Added)
            .count()
    }

    pub fn modified(&self) -> usize {
        self.pending.len() - self.added()
    }
}

pub fn plan(
    conn: &Connection,
    collection: &str,
    roots: &[PathBuf],
    settings: ChunkSettings,
    max_file_bytes: u64,
) -> Result<Plan, StoreError> {
    let existing = collections::find(conn, collection)?;
    let stored = match &existing {
        Some(c) => documents::states(conn, c.id)?,
        None => HashMap::new(),
    };
    let rechunk = existing.as_ref().is_some_and(|c| {
        c.chunk_target.is_some_and(|t| t != settings.target)
            || c.chunk_overlap.is_some_and(|o| o != settings.overlap)
    });
    let roots_abs: Vec<String> = roots
        .iter()
        .map(|r| walk::absolute(r).display().to_string())
        .collect();
    let walked = walk::walk(roots);
    let mut plan = Plan {
        collection: existing,
        skipped: walked.skipped,
        unsupported: walked.unsupported,
        rechunk,
        roots: roots_abs.clone(),
        ..Plan::default()
    };
    let mut seen: HashSet<String> = HashSet::new();
    let mut by_hash: HashMap<String, String> = stored
        .iter()
        .map(|(path, s)| (s.content_sha256.clone(), path.clone()))
        .collect();

    for file in &walked.files {
        seen.insert(file.source.clone());
        let loaded = match read(file, max_file_bytes, &stored, rechunk) {
            Read::Unchanged => {
                plan.unchanged += 1;
                continue;
            }
            Read::Skipped(reason) => {
                plan.skipped.push(Skipped {
                    path: file.source.clone(),
                    reason,
                });
                // A file that became unreadable keeps its stored version: mark records seen.
                seen.extend(
                    stored
                        .keys()
                        .filter(|p| p.starts_with(&format!("{}#", file.source)))
                        .cloned(),
                );
                continue;
            }
            Read::Loaded(loaded) => loaded,
        };
        plan.skipped.extend(loaded.skipped);
        for doc in loaded.docs {
            seen.insert(doc.source_path.clone());
            let prior = stored.get(&doc.source_path);
            if let Some(prior) = prior {
                if prior.content_sha256 == doc.content_sha256 && !rechunk {
                    plan.unchanged += 1;
                    continue;
                }
            }
            if let Some(original) = by_hash
                .get(&doc.content_sha256)
                .filter(|p| **p != doc.source_path)
            {
                plan.duplicates
                    .push((doc.source_path.clone(), original.clone()));
                if let Some(prior) = prior {
                    plan.removed.push((prior.id, doc.source_path.clone()));
                }
                continue;
            }
            by_hash.insert(doc.content_sha256.clone(), doc.source_path.clone());
            let change = match prior {
                Some(p) => Change::Modified { id: p.id },
                None => Change::Added,
            };
            plan.pending.push(Pending { doc, change });
        }
    }

    let under_roots = |path: &str| {
        roots_abs.iter().any(|root| {
            path == root
                || path.starts_with(&format!("{root}/"))
                || path.starts_with(&format!("{root}#"))
        })
    };
    let mut removed: Vec<(i64, String)> = stored
        .iter()
        .filter(|(path, _)| !seen.contains(*path) && under_roots(path))
        .map(|(path, s)| (s.id, path.clone()))
        .collect();
    removed.sort_by(|a, b| a.1.cmp(&b.1));
    plan.removed.extend(removed);
    Ok(plan)
}

enum Read {
    Unchanged,
    Skipped(String),
    Loaded(loaders::Loaded),
}

fn read(
    file: &FileEntry,
    max_file_bytes: u64,
    stored: &HashMap<String, documents::StoredState>,
    rechunk: bool,
) -> Read {
    let meta = match std::fs::metadata(&file.path) {
        Ok(m) => m,
        Err(e) => return Read::Skipped(format!("cannot read: {e}")),
    };
    if meta.len() > max_file_bytes {
        return Read::Skipped(format!(
            "file is {}, over the {} MiB limit (raise ingest.max_file_mb to include it)",
            crate::util::human_bytes(meta.len()),
            max_file_bytes / (1 << 20)
        ));
    }
    if meta.len() == 0 {
        return Read::Skipped("empty file".into());
    }
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64);
    let bytes = match std::fs::read(&file.path) {
        Ok(b) => b,
        Err(e) => return Read::Skipped(format!("cannot read: {e}")),
    };
    if file.format != Format::JsonLines && !rechunk {
        if let Some(prior) = stored.get(&file.source) {
            if prior.content_sha256 == sha256_hex(&bytes) {
                return Read::Unchanged;
            }
        }
    }
    match loaders::decode(bytes) {
        Ok(text) => Read::Loaded(loaders::parse(
            file.format,
            &file.source,
            text,
            meta.len(),
            mtime,
        )),
        Err(reason) => Read::Skipped(reason),
    }
}
