//! Evaluation: labelled sets, metrics, runs of configurations over sets, and comparisons.

pub mod answer;
pub mod beir;
pub mod compare;
pub mod config;
pub mod draft;
pub mod import;
pub mod judge;
pub mod metrics;
pub mod pricing;
pub mod qa_set;
pub mod retrieval;
pub mod run;
pub mod score;
pub mod set;
pub mod store;

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
    #[error(transparent)]
    Store(#[from] store::EvalStoreError),
    #[error(transparent)]
    Db(#[from] crate::store::StoreError),
    #[error(transparent)]
    Run(#[from] run::RunError),
}
