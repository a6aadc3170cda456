//! The chat-model registry: which chat models this host can run (installed folders,
//! registered models, remote endpoints) and what a model name stands for.

use std::path::{Path, PathBuf};

use super::{Context, ServiceError};
use crate::generate::endpoints::Endpoint;
use crate::store::models;
use crate::store::Store;

/// A usable chat model: where it is and how it got there.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelEntry {
    pub name: String,
    pub path: PathBuf,
    /// `installed` (in the models dir) or `registered` (lmdeck models add / import-gguf).
    pub origin: &'static str,
    pub base_model: Option<String>,
    pub source: String,
}

/// Decoder model folders under the models dir (they hold a tokenizer_config.json or an
/// lmdeck-model.json; embedding models do not).
fn installed(ctx: &Context) -> Vec<ModelEntry> {
    let Ok(entries) = std::fs::read_dir(ctx.paths.models_dir()) else {
        return Vec::new();
    };
    let mut out: Vec<ModelEntry> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.join("model.onnx").is_file()
                && (p.join("lmdeck-model.json").is_file()
                    || p.join("tokenizer_config.json").is_file())
        })
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            (!name.starts_with('.')).then_some(ModelEntry {
                name,
                path: p,
                origin: "installed",
                base_model: None,
                source: String::new(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Installed and registered chat models (registered ones need the database, when there is
/// one).
pub fn all(ctx: &Context, store: Option<&Store>) -> Result<Vec<ModelEntry>, ServiceError> {
    let mut list = installed(ctx);
    let registered = match store {
        Some(store) => models::list(store.conn())?,
        None => Vec::new(),
    };
    for m in registered {
        list.retain(|e| e.name != m.name);
        list.push(ModelEntry {
            name: m.name,
            path: PathBuf::from(m.path),
            origin: "registered",
            base_model: m.base_model,
            source: m.source,
        });
    }
    Ok(list)
}

/// What a model name stands for: a local model folder or a remote endpoint.
pub enum ModelChoice {
    Local(PathBuf),
    Remote(String, Endpoint),
}

/// Endpoints from `<config dir>/endpoints.toml`.
pub fn endpoints(
    ctx: &Context,
) -> Result<std::collections::BTreeMap<String, Endpoint>, ServiceError> {
    let path = ctx.paths.config_dir.join("endpoints.toml");
    crate::generate::endpoints::load(&path)
        .map_err(|message| ServiceError::Endpoints { path, message })
}

/// The endpoints as list entries, their URLs' credentials masked (the list is printed).
pub fn endpoint_entries(ctx: &Context) -> Result<Vec<ModelEntry>, ServiceError> {
    Ok(endpoints(ctx)?
        .into_iter()
        .map(|(name, e)| ModelEntry {
            path: PathBuf::from(e.shown_url()),
            name,
            origin: "endpoint",
            base_model: None,
            source: e.model,
        })
        .collect())
}

/// Starts the generator a model name stands for.
pub fn generator(
    ctx: &Context,
    store: Option<&Store>,
    name: &str,
) -> Result<Box<dyn crate::generate::Generator>, ServiceError> {
    Ok(match resolve(ctx, store, name)? {
        ModelChoice::Local(dir) => Box::new(ctx.decoder(Some(&dir))?),
        ModelChoice::Remote(name, endpoint) => {
            Box::new(crate::generate::http::HttpGenerator::new(&name, endpoint)?)
        }
    })
}

/// The model a name (or path) stands for: endpoints first, then registered and installed
/// models, then a folder path.
pub fn resolve(
    ctx: &Context,
    store: Option<&Store>,
    name: &str,
) -> Result<ModelChoice, ServiceError> {
    let remote = endpoints(ctx)?;
    if let Some(e) = remote.get(name) {
        return Ok(ModelChoice::Remote(name.to_string(), e.clone()));
    }
    let as_path = Path::new(name);
    if as_path.join("model.onnx").is_file() {
        return Ok(ModelChoice::Local(as_path.to_path_buf()));
    }
    let list = all(ctx, store)?;
    if let Some(m) = list.iter().find(|m| m.name == name) {
        return Ok(ModelChoice::Local(m.path.clone()));
    }
    let names: Vec<&str> = list
        .iter()
        .map(|m| m.name.as_str())
        .chain(remote.keys().map(String::as_str))
        .collect();
    Err(ServiceError::UnknownModel {
        name: name.to_string(),
        available: if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        },
    })
}
