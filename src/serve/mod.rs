//! `lmdeck serve`: an OpenAI-compatible HTTP server over the local chat model, the embedding
//! model and the RAG pipeline. `/v1/chat/completions` (streaming or not), `/v1/models`,
//! `/v1/embeddings`; a model named `MODEL@COLLECTION` answers from that collection's sources.
//! Bound to 127.0.0.1 unless told otherwise, optional bearer key, bounded request size and
//! queue (chat and embeddings), header-read and idle timeouts, one JSON error format.

mod chat;
pub(crate) mod conn;
mod embeddings;
mod error;
mod routes;
mod run;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::embed::OnnxEmbedder;
use crate::generate::{Cancel, Generator, SamplingParams};
use crate::retrieve::SearchParams;
use crate::store::ReadPool;

pub use conn::Timeouts;
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
    /// Chat and embedding requests waiting or running; beyond `max_queue` new ones are refused (503).
    pub in_flight: AtomicUsize,
    pub max_queue: usize,
}

/// Request bodies larger than this are refused (413).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Cancels work when the request it serves goes away.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// A place in the bounded queue, released however the request ends.
struct Slot(Arc<AppState>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Takes a place in the queue, or refuses with 503 when `max_queue` requests are ahead.
fn admit(state: &Arc<AppState>) -> Result<Slot, ApiError> {
    let queued = state.in_flight.fetch_add(1, Ordering::SeqCst);
    let slot = Slot(Arc::clone(state));
    if queued >= state.max_queue {
        return Err(ApiError::busy(queued));
    }
    Ok(slot)
}
