//! Ingestion: walk folders, load and chunk documents, embed only what changed, and write each
//! document in its own transaction.

pub mod chunker;
pub mod classify;
pub mod loaders;
pub mod pathname;
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
    #[error("the chunker settings of collection `{collection}` changed, so it must be re-chunked as a whole: run the ingest again with all of its roots: {roots}")]
    RechunkScope { collection: String, roots: String },
    #[error("chunk.target_tokens ({target}) leaves no room for titles and headings within the model's {max} tokens; use at most {limit}")]
    ChunkTooLarge {
        target: usize,
        max: usize,
        limit: usize,
    },
    #[error(
        "cancelled; the documents stored before the cancel are kept, a new sync picks up the rest"
    )]
    Cancelled,
}
