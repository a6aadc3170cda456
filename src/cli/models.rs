//! `lmdeck models ...`: the chat models this host can run, and which one a name means.

use anyhow::Context as _;
use std::path::{Path, PathBuf};

use super::args::ModelsCommand;
use super::Context;
use crate::generate::endpoints::Endpoint;
use crate::generate::manifest::DecoderManifest;
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

pub fn all(ctx: &Context, store: &Store) -> anyhow::Result<Vec<ModelEntry>> {
    let mut list = installed(ctx);
    for m in models::list(store.conn())? {
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
pub fn endpoints(ctx: &Context) -> anyhow::Result<std::collections::BTreeMap<String, Endpoint>> {
    crate::generate::endpoints::load(&ctx.paths.config_dir.join("endpoints.toml"))
        .map_err(anyhow::Error::msg)
}

/// Starts the generator a model name stands for.
pub fn generator(
    ctx: &Context,
    store: &Store,
    name: &str,
) -> anyhow::Result<Box<dyn crate::generate::Generator>> {
    Ok(match resolve(ctx, store, name)? {
        ModelChoice::Local(dir) => Box::new(ctx.decoder(Some(&dir))?),
        ModelChoice::Remote(name, endpoint) => {
            Box::new(crate::generate::http::HttpGenerator::new(&name, endpoint)?)
        }
    })
}

/// The model a name (or path) stands for: endpoints first, then registered and installed
/// models, then a folder path.
pub fn resolve(ctx: &Context, store: &Store, name: &str) -> anyhow::Result<ModelChoice> {
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
    anyhow::bail!(
        "no chat model `{name}`; available: {} (install the default with `lmdeck setup`, add a folder with `lmdeck models add DIR`, convert a GGUF with `lmdeck models import-gguf FILE`, or name an endpoint in <config dir>/endpoints.toml)",
        if names.is_empty() { "none".to_string() } else { names.join(", ") }
    )
}

pub fn run(ctx: &Context, cmd: ModelsCommand) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    match cmd {
        ModelsCommand::List(a) => {
            let mut list = all(ctx, &store)?;
            for (name, e) in endpoints(ctx)? {
                list.push(ModelEntry {
                    name,
                    path: PathBuf::from(&e.base_url),
                    origin: "endpoint",
                    base_model: None,
                    source: e.model,
                });
            }
            if a.json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            if list.is_empty() {
                println!(
                    "no chat models; `lmdeck setup` installs the default ({})",
                    crate::setup::convert::DEFAULT_CHAT_MODEL
                );
            }
            let default = &ctx.config().generate.model;
            for m in list {
                let lineage = m
                    .base_model
                    .map_or(String::new(), |b| format!(", fine-tuned from {b}"));
                let mark = if &m.name == default { " (default)" } else { "" };
                println!(
                    "{}{mark}: {} [{}{lineage}]",
                    m.name,
                    m.path.display(),
                    m.origin
                );
            }
        }
        ModelsCommand::Add { dir, name, base } => {
            let dir = std::fs::canonicalize(&dir)
                .with_context(|| format!("model folder {}", dir.display()))?;
            let (manifest, _) = DecoderManifest::load(&dir)?;
            let name = name.unwrap_or(manifest.name);
            models::add(
                store.conn(),
                &name,
                &dir.display().to_string(),
                base.as_deref(),
                "added",
            )?;
            println!("registered {name} -> {}", dir.display());
        }
        ModelsCommand::Remove { name } => {
            if !models::remove(store.conn(), &name)? {
                anyhow::bail!("no registered model `{name}` (installed models are removed by deleting their folder)");
            }
            println!("removed {name} from the registry (its files are untouched)");
        }
        ModelsCommand::Show { name, json } => {
            let dir = match resolve(ctx, &store, &name)? {
                ModelChoice::Local(dir) => dir,
                ModelChoice::Remote(name, e) => {
                    let value = serde_json::json!({"name": name, "endpoint": e.base_url, "model": e.model, "api_key_env": e.api_key_env,
                        "connect_timeout_s": e.connect_timeout_s, "read_timeout_s": e.read_timeout_s, "context_tokens": e.context_tokens});
                    println!("{}", serde_json::to_string_pretty(&value)?);
                    return Ok(());
                }
            };
            let (manifest, config) = DecoderManifest::load(&dir)?;
            let template = config.template();
            if json {
                let value = serde_json::json!({
                    "name": manifest.name, "path": dir, "architecture": manifest.architecture,
                    "context_length": manifest.context_length, "eos_tokens": manifest.eos_tokens,
                    "chat_template": template,
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
                return Ok(());
            }
            println!("{}: {}", manifest.name, dir.display());
            println!(
                "architecture: {}",
                manifest.architecture.as_deref().unwrap_or("unknown")
            );
            println!(
                "context: {}",
                manifest
                    .context_length
                    .map_or("unknown".into(), |c| c.to_string())
            );
            println!("end of sequence: {}", manifest.eos_tokens.join(", "));
            println!(
                "chat template: {}",
                if template.is_some() {
                    "from tokenizer_config.json"
                } else {
                    "none (ChatML is used)"
                }
            );
        }
        ModelsCommand::ImportGguf { file, name } => {
            let name = name.unwrap_or_else(|| {
                file.file_stem().map_or("imported".into(), |s| {
                    s.to_string_lossy().to_lowercase().replace(['.', ' '], "-")
                })
            });
            let dir = crate::setup::convert::import_gguf(&ctx.paths, &file, &name)?;
            models::add(
                store.conn(),
                &name,
                &dir.display().to_string(),
                None,
                &format!("import-gguf {}", file.display()),
            )?;
            println!(
                "converted {} -> {} (registered as {name})",
                file.display(),
                dir.display()
            );
        }
    }
    Ok(())
}
