//! Retrieval-augmented answers: retrieve with the hybrid search, build the prompt (numbered
//! sources and conversation history within the model's context budget, `prompt::build`),
//! stream the answer, map its `[n]` citations back to chunks, and store the exchange.

pub mod answer;
pub mod attribution;
pub mod citations;
pub mod context;
pub mod history;
pub mod prompt;
pub mod sentences;
#[cfg(test)]
pub(crate) mod tests;

pub use answer::{ask, save, Answer, AskOptions};
pub use attribution::{attribute, Attribution, SentenceSupport};
pub use context::Source;
pub use history::session_history;
pub use prompt::{Dropped, Prompt, PromptInput, PromptTokens};

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
