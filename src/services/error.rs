//! One error type for the services layer: each variant wraps the core module it came from,
//! with the context a user needs to act on it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    NoHome(#[from] crate::paths::NoHome),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Onnx(#[from] crate::onnx::OnnxError),
    #[error(transparent)]
    Embed(#[from] crate::embed::EmbedError),
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
    #[error(transparent)]
    Retrieve(#[from] crate::retrieve::RetrieveError),
    #[error(transparent)]
    Generate(#[from] crate::generate::GenerateError),
    #[error("starting the embedding model in {dir}: {source}")]
    EmbedderStart {
        dir: PathBuf,
        source: crate::embed::EmbedError,
    },
    #[error("starting the chat model in {dir} (run `lmdeck setup` to install the default one): {source}")]
    DecoderStart {
        dir: PathBuf,
        source: crate::generate::GenerateError,
    },
    /// The message already names the file and line.
    #[error("{message}")]
    Endpoints { path: PathBuf, message: String },
    #[error("no chat model `{name}`; available: {available} (install the default with `lmdeck setup`, add a folder with `lmdeck models add DIR`, convert a GGUF with `lmdeck models import-gguf FILE`, or name an endpoint in <config dir>/endpoints.toml)")]
    UnknownModel { name: String, available: String },
    #[error("database {path} does not exist; check --db / LMDECK_DB / store.db, or create it by ingesting documents (`lmdeck ingest`)")]
    NoDatabase { path: PathBuf },
}
