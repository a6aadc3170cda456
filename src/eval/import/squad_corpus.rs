//! A SQuAD set's contexts as a corpus: written as files under
//! `<data dir>/eval-corpora/<set name>/`, ingested into the set's collection, and the gold
//! chunks of each answerable question found among the chunks of its context document.

use rusqlite::Connection;
use std::path::{Path, PathBuf};

use super::squad::{Span, SquadSet};
use crate::eval::EvalError;
use crate::store::{collections, documents, StoreError};

/// Where SQuAD corpora are written: `<data dir>/eval-corpora`, or `LMDECK_EVAL_CORPORA_DIR`
/// (tests, big disks).
pub fn corpora_dir(data_dir: &Path) -> PathBuf {
    match std::env::var_os("LMDECK_EVAL_CORPORA_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => data_dir.join("eval-corpora"),
    }
}

/// Writes each context as `<dir>/<rel>`; files of an earlier import under the same folder
/// are replaced. Returns the folder (canonical), ready to be ingested.
pub fn write_corpus(squad: &SquadSet, dir: &Path) -> Result<PathBuf, EvalError> {
    let io = |path: &Path, e: std::io::Error| EvalError::Dataset {
        path: path.display().to_string(),
        detail: format!("cannot write the corpus: {e}"),
    };
    // Only a folder of its own under the corpora folder is ever replaced.
    let own = dir
        .file_name()
        .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
        && dir
            .components()
            .all(|c| !matches!(c, std::path::Component::ParentDir));
    if !own {
        return Err(io(
            dir,
            std::io::Error::other("not a set's own folder under the corpora folder"),
        ));
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    for doc in &squad.docs {
        let path = dir.join(&doc.rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&path, &doc.text).map_err(|e| io(&path, e))?;
    }
    dir.canonicalize().map_err(|e| io(dir, e))
}

/// Fills each answerable item's gold chunks from the ingested corpus in `corpus_dir`.
/// Chunk byte ranges are offsets into the stored text, and a `.txt` file is stored as it is,
/// so an answer span is matched against them directly: the chunks that hold the whole span,
/// else (a span across a chunk boundary, or an `answer_start` that does not point at the
/// answer) the document's chunks whose text contains the answer text, else those the span
/// overlaps. Returns how many answerable items got no gold chunk.
pub fn fill_gold_chunks(
    conn: &Connection,
    collection: &str,
    corpus_dir: &Path,
    squad: &mut SquadSet,
) -> Result<usize, StoreError> {
    let collection = collections::get(conn, collection)?;
    let mut missing = 0;
    for (item, (doc, spans)) in squad.set.items.iter_mut().zip(&squad.spans) {
        let Some(doc) = doc else { continue };
        let path = corpus_dir.join(&squad.docs[*doc].rel);
        let Ok(stored) = documents::resolve(conn, collection.id, &path.display().to_string())
        else {
            missing += 1;
            continue;
        };
        let chunks = documents::chunks(conn, stored.id)?;
        let mut gold = Vec::new();
        for span in spans {
            for id in chunks_for(&chunks, span) {
                if !gold.contains(&id) {
                    gold.push(id);
                }
            }
        }
        if gold.is_empty() {
            missing += 1;
        }
        item.gold_chunks = gold;
    }
    Ok(missing)
}

fn chunks_for(chunks: &[documents::ChunkRow], span: &Span) -> Vec<i64> {
    let pick = |keep: &dyn Fn(&documents::ChunkRow) -> bool| -> Vec<i64> {
        chunks.iter().filter(|c| keep(c)).map(|c| c.id).collect()
    };
    if let Some((start, end)) = span.range {
        let (start, end) = (start as i64, end as i64);
        let holding = pick(&|c| c.byte_start <= start && end <= c.byte_end);
        if !holding.is_empty() {
            return holding;
        }
    }
    let containing = pick(&|c| c.text.contains(&span.text));
    if !containing.is_empty() {
        return containing;
    }
    match span.range {
        Some((start, end)) => {
            let (start, end) = (start as i64, end as i64);
            pick(&|c| c.byte_start < end && start < c.byte_end)
        }
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(id: i64, text: &str, start: i64) -> documents::ChunkRow {
        documents::ChunkRow {
            id,
            document_id: 1,
            ordinal: id,
            text: text.into(),
            byte_start: start,
            byte_end: start + text.len() as i64,
            heading_path: String::new(),
            token_count: 1,
            text_sha256: String::new(),
            excluded: false,
        }
    }

    #[test]
    fn spans_pick_the_chunks_that_hold_them() {
        let text = "alpha beta gamma delta";
        let chunks = [chunk(1, &text[..11], 0), chunk(2, &text[6..], 6)];
        let span = |range, t: &str| Span {
            range,
            text: t.into(),
        };
        assert_eq!(chunks_for(&chunks, &span(Some((0, 5)), "alpha")), [1]);
        assert_eq!(chunks_for(&chunks, &span(Some((6, 10)), "beta")), [1, 2]);
        assert_eq!(chunks_for(&chunks, &span(None, "delta")), [2]);
        // Across the boundary of two chunks that do not hold it whole.
        let cut = [chunk(1, &text[..8], 0), chunk(2, &text[8..], 8)];
        assert_eq!(chunks_for(&cut, &span(Some((6, 10)), "beta")), [1, 2]);
    }
}
