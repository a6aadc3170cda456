//! Evaluation: datasets, metrics and runs.

pub mod answer;
pub mod beir;
pub mod metrics;
pub mod qa_set;
pub mod retrieval;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{path}: {detail}")]
    Dataset { path: String, detail: String },
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
    #[error(transparent)]
    Retrieve(#[from] crate::retrieve::RetrieveError),
    #[error(transparent)]
    Embed(#[from] crate::embed::EmbedError),
}
