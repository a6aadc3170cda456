//! Retrieval-augmented answers: retrieve with the hybrid search, number the sources in the
//! prompt within the model's context budget, stream the answer, map its `[n]` citations back
//! to chunks, and store the exchange.

pub mod answer;
pub mod citations;
pub mod context;

pub use answer::{ask, save, Answer, AskOptions};
pub use context::Source;

#[derive(Debug, thiserror::Error)]
pub enum RagError {
    #[error(transparent)]
    Retrieve(#[from] crate::retrieve::RetrieveError),
    #[error(transparent)]
    Generate(#[from] crate::generate::GenerateError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("RAG needs a collection: pass --collection NAME (or ask with --no-rag)")]
    NoCollection,
}
