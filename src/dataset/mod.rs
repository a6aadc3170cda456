//! Training data from what lmdeck holds: chat-format JSONL (`{"messages": [...]}`) built from
//! an evaluation set, from the corpus or from chat answers rated good, in two formats. `Chat` is the question and the
//! answer; `Rag` puts retrieved, numbered sources in the prompt exactly as `ask` and the
//! console do (`rag::prompt::messages`) and has the answer cite the source that holds it,
//! `[n]`: the behaviour fine-tuning on RAG data is meant to teach.
//!
//! Evaluation items stay out of training data unless asked for: an evaluation set is split
//! into a training part and a held-out part by a hash of each id (stable across runs), and
//! corpus exports leave out the documents an evaluation set asks about.

pub mod examples;
pub mod split;

use serde::Serialize;
use std::io::Write;
use std::path::Path;

use crate::generate::ChatMessage;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Chat,
    Rag,
}

/// One training conversation, and where it came from (`eval:q01`, `corpus:<chunk id>`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    pub messages: Vec<ChatMessage>,
    pub origin: String,
}

/// Why examples were left out, counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Skipped {
    /// RAG examples whose answer's document was not among the retrieved candidates.
    pub source_not_retrieved: usize,
    /// Evaluation items held out (the evaluation split).
    pub held_out: usize,
    /// Corpus chunks of documents an evaluation set asks about.
    pub eval_documents: usize,
    /// Chunks too short to teach anything.
    pub too_short: usize,
    /// Rated chat answers whose question is an evaluation item's question.
    pub eval_questions: usize,
    /// Rated chat answers (rag format) whose source chunks no longer exist.
    pub sources_gone: usize,
    /// Rated chat answers with no question before them in their session.
    pub no_question: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error(transparent)]
    Eval(#[from] crate::eval::EvalError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Retrieve(#[from] crate::retrieve::RetrieveError),
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Writes examples as JSONL to `path` (through a temporary file, so a failed export never
/// leaves half a file where a training job might pick it up).
pub fn write_jsonl<T: Serialize>(path: &Path, rows: &[T]) -> Result<(), DatasetError> {
    let err = |source| DatasetError::Write {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let tmp = path.with_extension("jsonl.partial");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(err)?);
    for row in rows {
        let line = serde_json::to_string(row).map_err(|e| err(std::io::Error::other(e)))?;
        writeln!(file, "{line}").map_err(err)?;
    }
    file.flush().map_err(err)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(err)
}
