//! Comparing what is on disk with what is stored: added, modified, unchanged, removed,
//! duplicate and skipped inputs. Pure planning: nothing is written here, which is what makes
//! `--dry-run` honest.

use rusqlite::Connection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read as _;
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

/// A stored document whose file moved: same content under a new path. Its row (tags,
/// status, chunks, vectors) is kept and only the path changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Rename {
    pub id: i64,
    pub from: String,
    pub to: String,
    pub mtime: i64,
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
    pub renamed: Vec<Rename>,
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
    // A root that does not exist (a typo, an unmounted share) must not make its stored
    // documents look removed: only existing roots bound the removal scope.
    let roots_abs: Vec<String> = roots
        .iter()
        .filter(|r| r.exists())
        .map(|r| super::pathname::encode(&walk::absolute(r)))
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
    // Paths the walker could not read keep their stored documents.
    for skipped in &plan.skipped {
        let prefix = format!("{}/", skipped.path);
        seen.extend(stored.keys().filter(|p| p.starts_with(&prefix)).cloned());
    }

    // First pass: read everything, so duplicate detection knows which stored documents are
    // still present and unchanged.
    let mut candidates: Vec<LoadedDoc> = Vec::new();
    for file in &walked.files {
        if !seen.insert(file.source.clone()) {
            continue; // named twice (overlapping roots)
        }
        let records_of_file = |stored: &HashMap<String, documents::StoredState>| -> Vec<String> {
            let prefix = format!("{}#", file.source);
            stored
                .keys()
                .filter(|p| p.starts_with(&prefix))
                .cloned()
                .collect()
        };
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
                // An unreadable file keeps its stored records.
                seen.extend(records_of_file(&stored));
                continue;
            }
            Read::Loaded(loaded) => loaded,
        };
        if !loaded.skipped.is_empty() {
            // A malformed line may be a record we hold: keep the file's records until it is fixed.
            seen.extend(records_of_file(&stored));
        }
        plan.skipped.extend(loaded.skipped);
        for doc in loaded.docs {
            seen.insert(doc.source_path.clone());
            if let Some(prior) = stored.get(&doc.source_path) {
                if prior.content_sha256 == doc.content_sha256 && !rechunk {
                    plan.unchanged += 1;
                    continue;
                }
            }
            candidates.push(doc);
        }
    }

    let under_roots = |path: &str| {
        roots_abs.iter().any(|root| {
            path == root
                || path.starts_with(&format!("{root}/"))
                || path.starts_with(&format!("{root}#"))
        })
    };
    let mut removed: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    for (path, s) in stored
        .iter()
        .filter(|(path, _)| !seen.contains(*path) && under_roots(path))
    {
        removed
            .entry(s.content_sha256.clone())
            .or_default()
            .push((s.id, path.clone()));
    }
    // Content already present: stored documents that are still on disk and not being changed.
    let changing: HashSet<&str> = candidates.iter().map(|d| d.source_path.as_str()).collect();
    let mut by_hash: HashMap<String, String> = stored
        .iter()
        .filter(|(path, _)| seen.contains(*path) && !changing.contains(path.as_str()))
        .map(|(path, s)| (s.content_sha256.clone(), path.clone()))
        .collect();

    // Second pass: renames, duplicates, additions and modifications.
    for doc in candidates {
        let prior = stored.get(&doc.source_path);
        if prior.is_none() && !rechunk {
            if let Some((id, from)) = removed.get_mut(&doc.content_sha256).and_then(Vec::pop) {
                by_hash.insert(doc.content_sha256.clone(), doc.source_path.clone());
                plan.renamed.push(Rename {
                    id,
                    from,
                    to: doc.source_path,
                    mtime: doc.mtime,
                });
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
                // It changed into a copy of another document: its old version is outdated.
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
    let mut removed: Vec<(i64, String)> = removed.into_values().flatten().collect();
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
    // Opened without blocking and checked through the handle: a FIFO (or a file swapped for
    // one after the walk) must never stall the run.
    let handle = match open_nonblocking(&file.path) {
        Ok(h) => h,
        Err(e) => return Read::Skipped(format!("cannot read: {e}")),
    };
    let meta = match handle.metadata() {
        Ok(m) => m,
        Err(e) => return Read::Skipped(format!("cannot read: {e}")),
    };
    if !meta.is_file() {
        return Read::Skipped(format!(
            "not a regular file ({})",
            walk::kind_of(&meta.file_type())
        ));
    }
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
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // Saturating: `eval retrieval` sets no limit (u64::MAX), and a wrapped `+ 1` read nothing.
    if let Err(e) = (&handle)
        .take(max_file_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
    {
        return Read::Skipped(format!("cannot read: {e}"));
    }
    if bytes.is_empty() {
        return Read::Skipped("empty when read (the file changed while it was read)".into());
    }
    if file.format != Format::JsonLines && !rechunk {
        if let Some(prior) = stored.get(&file.source) {
            if prior.content_sha256 == sha256_hex(&bytes) {
                return Read::Unchanged;
            }
        }
    }
    guarded(file.format, || {
        loaders::decode(bytes)
            .map(|text| loaders::parse(file.format, &file.source, text, meta.len(), mtime))
    })
}

/// Runs a loader so that a bug in it costs one file, not the run: a panic becomes this
/// file's skip, naming the loader.
fn guarded(format: Format, load: impl FnOnce() -> Result<loaders::Loaded, String>) -> Read {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(load)) {
        Ok(Ok(loaded)) => Read::Loaded(loaded),
        Ok(Err(reason)) => Read::Skipped(reason),
        Err(panic) => Read::Skipped(format!(
            "the {} loader failed: {}",
            format.name(),
            panic_message(panic.as_ref())
        )),
    }
}

fn open_nonblocking(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_loader_is_a_named_skip() {
        let read = guarded(Format::Html, || panic!("index out of bounds"));
        match read {
            Read::Skipped(reason) => {
                assert_eq!(reason, "the html loader failed: index out of bounds")
            }
            _ => panic!("not a skip"),
        }
        let read = guarded(Format::Text, || Err("empty".into()));
        assert!(matches!(read, Read::Skipped(r) if r == "empty"));
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pipe.md");
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let file = FileEntry {
            source: path.display().to_string(),
            path,
            format: Format::Markdown,
        };
        match read(&file, 1 << 20, &HashMap::new(), false) {
            Read::Skipped(reason) => assert_eq!(reason, "not a regular file (a FIFO)"),
            _ => panic!("a FIFO was read"),
        }
    }

    #[test]
    fn no_size_limit_still_reads_the_file() {
        // `eval retrieval` ingests with max_file_bytes = u64::MAX; `max + 1` once wrapped to
        // a zero-byte read and the whole corpus was silently empty.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corpus.jsonl");
        std::fs::write(&path, "{\"_id\": \"d1\", \"text\": \"magma rises\"}\n").unwrap();
        let file = FileEntry {
            source: path.display().to_string(),
            path,
            format: Format::JsonLines,
        };
        match read(&file, u64::MAX, &HashMap::new(), false) {
            Read::Loaded(loaded) => assert_eq!(loaded.docs.len(), 1),
            _ => panic!("the file was not loaded"),
        }
    }
}
