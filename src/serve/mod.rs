//! `lmdeck serve`: an OpenAI-compatible HTTP server over the local chat model, the embedding
//! model and the RAG pipeline. `/v1/chat/completions` (streaming or not), `/v1/models`,
//! `/v1/embeddings`; a model named `MODEL@COLLECTION` answers from that collection's sources.
//! Bound to 127.0.0.1 unless told otherwise, optional bearer key, bounded request size and
//! queue, one JSON error format.

mod chat;
mod error;
mod routes;
mod run;

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use crate::embed::OnnxEmbedder;
use crate::generate::{Generator, SamplingParams};
use crate::retrieve::SearchParams;
use crate::store::ReadPool;

pub use error::ApiError;
pub use routes::router;
pub use run::run;

/// Everything the handlers share. Blocking work (ONNX, SQLite) runs on Tokio's blocking pool.
pub struct AppState {
    /// Reading stores kept open between requests (the server never writes).
    pub readers: ReadPool,
    pub model_name: String,
    pub generator: Arc<dyn Generator>,
    pub embedder: Option<Arc<OnnxEmbedder>>,
    pub search: SearchParams,
    pub sampling: SamplingParams,
    pub max_tokens: usize,
    pub context_tokens: usize,
    pub api_key: Option<String>,
    /// Chat requests waiting or running; beyond `max_queue` new ones are refused (503).
    pub in_flight: AtomicUsize,
    pub max_queue: usize,
}

/// Request bodies larger than this are refused (413).
pub const MAX_BODY_BYTES: usize = 1 << 20;
