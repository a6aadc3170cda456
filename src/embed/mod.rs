//! Sentence embeddings: the `Embedder` trait and its ONNX implementation.

pub mod batch;
pub mod fused;
pub mod manifest;
pub mod onnx;
pub mod pool;
/// A deterministic embedder for tests (no model files).
pub mod test_engine;
pub mod tokenizer;

pub use manifest::ModelManifest;
pub use onnx::{EmbedOptions, OnnxEmbedder};

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("model folder {dir}: {detail}")]
    Model { dir: String, detail: String },
    #[error("tokenizer {path}: {detail}")]
    Tokenizer { path: String, detail: String },
    #[error(transparent)]
    Onnx(#[from] crate::onnx::OnnxError),
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("the embedding worker stopped unexpectedly")]
    WorkerGone,
}

/// Identity of the model that produced a set of vectors; stored in the index manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelIdentity {
    pub name: String,
    pub sha256: String,
    pub dim: usize,
}

/// Turns texts into unit-length vectors. Implementations are thread-safe handles.
pub trait Embedder: Send + Sync {
    fn identity(&self) -> &ModelIdentity;
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;

    /// One search query, where latency matters more than throughput (an implementation may
    /// use a session with every core for it). The vector equals `embed`'s for the same text
    /// up to float rounding (about 1e-6).
    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        self.embed(&[text.to_string()])?
            .pop()
            .ok_or(EmbedError::WorkerGone)
    }
}
