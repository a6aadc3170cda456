//! Everything a command needs, resolved once: paths, effective config, and lazily the store,
//! the ONNX runtime, the embedder and the tokenizer.

use anyhow::Context as _;
use std::path::PathBuf;
use tokenizers::Tokenizer;

use super::args::GlobalArgs;
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

pub struct Context {
    pub paths: Paths,
    pub loaded: Loaded,
}

impl Context {
    pub fn new(global: &GlobalArgs) -> anyhow::Result<Self> {
        let paths = Paths::resolve()?;
        let file = global.config.clone().unwrap_or_else(|| paths.config_file());
        let mut flags: config::FlagOverrides = Vec::new();
        if let Some(db) = &global.db {
            // clap fills --db from LMDECK_DB too; say which it was.
            let source = if std::env::var_os("LMDECK_DB").is_some_and(|v| v == db.as_os_str()) {
                Source::Env("LMDECK_DB".into())
            } else {
                Source::Flag("--db".into())
            };
            flags.push(("store.db", source, db.display().to_string()));
        }
        if let Some(device) = &global.device {
            flags.push((
                "runtime.device",
                Source::Flag("--device".into()),
                device.clone(),
            ));
        }
        if let Some(lib) = &global.ort_dylib {
            flags.push((
                "runtime.ort_dylib",
                Source::Flag("--ort-dylib".into()),
                lib.display().to_string(),
            ));
        }
        if let Some(theme) = &global.theme {
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

    pub fn open_store(&self) -> anyhow::Result<Store> {
        Ok(Store::open(&self.db_path())?)
    }

    pub fn device(&self) -> anyhow::Result<Device> {
        Ok(self.config().runtime.device.parse()?)
    }

    pub fn runtime(&self) -> anyhow::Result<Runtime> {
        let library = discover::find_library(&self.loaded, &self.paths)?;
        tracing::info!(path = %library.path.display(), source = %library.source, "ONNX Runtime library");
        Ok(Runtime::load(library, self.device()?)?)
    }

    pub fn model_dir(&self) -> PathBuf {
        resolve_model_dir(&self.paths.models_dir(), &self.config().embed.model)
    }

    pub fn model_manifest(&self) -> anyhow::Result<ModelManifest> {
        Ok(ModelManifest::load(&self.model_dir())?)
    }

    pub fn embedder(&self) -> anyhow::Result<OnnxEmbedder> {
        let runtime = self.runtime()?;
        let e = &self.config().embed;
        let options = EmbedOptions {
            batch_size: e.batch_size,
            sessions: e.sessions,
            threads: e.threads,
        };
        OnnxEmbedder::start(&self.model_dir(), &runtime, options).with_context(|| {
            format!(
                "starting the embedding model in {}",
                self.model_dir().display()
            )
        })
    }

    /// The model's tokenizer without truncation, for chunking whole documents.
    pub fn chunk_tokenizer(&self) -> anyhow::Result<Tokenizer> {
        Ok(tokenizer::load(
            &self.model_dir().join("tokenizer.json"),
            None,
        )?)
    }

    /// Chunker settings, checked against the model: a chunk plus its title and headings
    /// must fit the model's input, or the end of the chunk would never be embedded.
    pub fn chunk_settings(&self) -> anyhow::Result<ChunkSettings> {
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
        dir: Option<&std::path::Path>,
    ) -> anyhow::Result<crate::generate::OnnxDecoder> {
        let dir = dir.map_or_else(|| self.chat_model_dir(), std::path::Path::to_path_buf);
        let runtime = self.runtime()?;
        crate::generate::OnnxDecoder::start(&dir, &runtime, 0).with_context(|| {
            format!(
                "starting the chat model in {} (run `lmdeck setup` to install the default one)",
                dir.display()
            )
        })
    }

    pub fn search_params(&self) -> anyhow::Result<SearchParams> {
        Ok(SearchParams::from_config(&self.config().search)?)
    }
}
