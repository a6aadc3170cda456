//! Everything a front end needs, resolved once: paths, effective config, and on demand the
//! store, the ONNX runtime, the embedder, the chunking tokenizer and chat decoders.

use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

use super::ServiceError;
use crate::config::{self, Loaded, Source};
use crate::embed::manifest::{resolve_model_dir, ModelManifest};
use crate::embed::{tokenizer, EmbedOptions, OnnxEmbedder};
use crate::ingest::{ChunkSettings, IngestError};
use crate::onnx::{discover, Device, Runtime};
use crate::paths::Paths;
use crate::retrieve::SearchParams;
use crate::store::Store;

/// Tokens kept free for the title, headings and special tokens the embedder adds to a chunk.
const HEADROOM_TOKENS: usize = 40;

/// Values given on the command line (or their environment twins), which win over the
/// config file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub db: Option<PathBuf>,
    pub device: Option<String>,
    pub ort_dylib: Option<PathBuf>,
    pub theme: Option<String>,
}

/// Whether a front end may create the database when it does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reading commands: a missing database is an error naming the path.
    Existing,
    /// Writing commands (ingest, models add, ask, the console): a new one is created.
    CreateIfMissing,
}

pub struct Context {
    pub paths: Paths,
    pub loaded: Loaded,
}

impl Context {
    pub fn new(overrides: &Overrides) -> Result<Self, ServiceError> {
        let paths = Paths::resolve()?;
        let file = overrides
            .config
            .clone()
            .unwrap_or_else(|| paths.config_file());
        let mut flags: config::FlagOverrides = Vec::new();
        if let Some(db) = &overrides.db {
            // clap fills --db from LMDECK_DB too; say which it was.
            let source = if std::env::var_os("LMDECK_DB").is_some_and(|v| v == db.as_os_str()) {
                Source::Env("LMDECK_DB".into())
            } else {
                Source::Flag("--db".into())
            };
            flags.push(("store.db", source, db.display().to_string()));
        }
        if let Some(device) = &overrides.device {
            flags.push((
                "runtime.device",
                Source::Flag("--device".into()),
                device.clone(),
            ));
        }
        if let Some(lib) = &overrides.ort_dylib {
            flags.push((
                "runtime.ort_dylib",
                Source::Flag("--ort-dylib".into()),
                lib.display().to_string(),
            ));
        }
        if let Some(theme) = &overrides.theme {
            flags.push(("ui.theme", Source::Flag("--theme".into()), theme.clone()));
        }
        let loaded = config::load(&paths, &file, &flags)?;
        Ok(Self { paths, loaded })
    }

    pub fn config(&self) -> &config::Config {
        &self.loaded.config
    }

    pub fn db_path(&self) -> PathBuf {
        self.config().store.db.clone()
    }

    /// Opens the configured database for a reading command: a database that does not exist
    /// is an error naming the path, never a silently created empty one.
    pub fn open_store(&self) -> Result<Store, ServiceError> {
        self.store(Access::Existing).map(|(store, _)| store)
    }

    /// Opens the database, creating it (and its folder) when `access` allows; the flag says
    /// whether it was created, so the front end can say so.
    pub fn store(&self, access: Access) -> Result<(Store, bool), ServiceError> {
        let path = self.db_path();
        let exists = path.exists();
        if !exists && access == Access::Existing {
            return Err(ServiceError::NoDatabase { path });
        }
        let store = Store::open(&path)?;
        Ok((store, !exists))
    }

    /// The database when it exists, for front ends that also work without one (model
    /// lists, the server without RAG).
    pub fn existing_store(&self) -> Result<Option<Store>, ServiceError> {
        if !self.db_path().exists() {
            return Ok(None);
        }
        Ok(Some(Store::open(&self.db_path())?))
    }

    pub fn device(&self) -> Result<Device, ServiceError> {
        Ok(self.config().runtime.device.parse()?)
    }

    pub fn runtime(&self) -> Result<Runtime, ServiceError> {
        let library = discover::find_library(&self.loaded, &self.paths)?;
        tracing::info!(path = %library.path.display(), source = %library.source, "ONNX Runtime library");
        Ok(Runtime::load(library, self.device()?)?)
    }

    pub fn model_dir(&self) -> PathBuf {
        resolve_model_dir(&self.paths.models_dir(), &self.config().embed.model)
    }

    pub fn model_manifest(&self) -> Result<ModelManifest, ServiceError> {
        Ok(ModelManifest::load(&self.model_dir())?)
    }

    pub fn embedder(&self) -> Result<OnnxEmbedder, ServiceError> {
        self.start_embedder(false)
    }

    /// The embedder of a long-lived process that searches (the console, `serve`): single
    /// queries get a session of their own with every core.
    pub fn embedder_for_queries(&self) -> Result<OnnxEmbedder, ServiceError> {
        self.start_embedder(true)
    }

    fn start_embedder(&self, query_lane: bool) -> Result<OnnxEmbedder, ServiceError> {
        let runtime = self.runtime()?;
        let e = &self.config().embed;
        let options = EmbedOptions {
            batch_size: e.batch_size,
            sessions: e.sessions,
            threads: e.threads,
            graph: e
                .graph
                .parse()
                .map_err(crate::config::ConfigError::Invalid)?,
            query_lane,
        };
        OnnxEmbedder::start(&self.model_dir(), &runtime, options).map_err(|source| {
            ServiceError::EmbedderStart {
                dir: self.model_dir(),
                source,
            }
        })
    }

    /// The model's tokenizer without truncation, for chunking whole documents.
    pub fn chunk_tokenizer(&self) -> Result<Tokenizer, ServiceError> {
        Ok(tokenizer::load(
            &self.model_dir().join("tokenizer.json"),
            None,
        )?)
    }

    /// Chunker settings, checked against the model: a chunk plus its title and headings
    /// must fit the model's input, or the end of the chunk would never be embedded.
    pub fn chunk_settings(&self) -> Result<ChunkSettings, ServiceError> {
        let chunk = &self.config().chunk;
        let max = self.model_manifest()?.max_tokens;
        let limit = max.saturating_sub(HEADROOM_TOKENS);
        if chunk.target_tokens > limit {
            return Err(IngestError::ChunkTooLarge {
                target: chunk.target_tokens,
                max,
                limit,
            }
            .into());
        }
        Ok(ChunkSettings {
            target: chunk.target_tokens,
            overlap: chunk.overlap_tokens,
        })
    }

    /// The default chat model's folder (installed by `lmdeck setup`).
    pub fn chat_model_dir(&self) -> PathBuf {
        self.paths
            .models_dir()
            .join(crate::setup::convert::DEFAULT_CHAT_MODEL)
    }

    /// Starts the local decoder for the model folder `dir` (default: the chat model).
    pub fn decoder(
        &self,
        dir: Option<&Path>,
    ) -> Result<crate::generate::OnnxDecoder, ServiceError> {
        let dir = dir.map_or_else(|| self.chat_model_dir(), Path::to_path_buf);
        let runtime = self.runtime()?;
        let generate = &self.config().generate;
        // Validated when the configuration loaded.
        let attention = crate::generate::attention::AttentionChoice::parse(&generate.attention)
            .unwrap_or_default();
        crate::generate::OnnxDecoder::start(&dir, &runtime, generate.threads, attention)
            .map_err(|source| ServiceError::DecoderStart { dir, source })
    }

    pub fn search_params(&self) -> Result<SearchParams, ServiceError> {
        Ok(SearchParams::from_config(&self.config().search)?)
    }
}
