//! Ingestion: walk folders, load and chunk documents, embed only what changed, and write each
//! document in its own transaction.

pub mod chunker;
pub mod classify;
pub mod loaders;
pub mod pipeline;
pub mod reembed;
pub mod report;
pub mod types;
pub mod walk;
pub mod writer;

pub use chunker::ChunkSettings;
pub use pipeline::{IngestRequest, Progress};
pub use report::IngestReport;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Embed(#[from] crate::embed::EmbedError),
    #[error("chunking {path}: {detail}")]
    Chunk { path: String, detail: String },
    #[error("the database writer stopped: {0}")]
    Writer(String),
}
