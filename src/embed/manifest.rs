//! `model.json`: what a model folder holds and how to use it.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use super::{EmbedError, ModelIdentity};
use crate::util::sha256_file;

pub const MANIFEST_FILE: &str = "model.json";

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    Mean,
    Cls,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelManifest {
    pub name: String,
    pub dim: usize,
    pub pooling: Pooling,
    pub max_tokens: usize,
    pub model_sha256: String,
    pub tokenizer_sha256: String,
    #[serde(default)]
    pub source: String,
}

impl ModelManifest {
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| EmbedError::Model {
            dir: dir.display().to_string(),
            detail: format!(
                "cannot read {MANIFEST_FILE} ({e}); run `lmdeck setup` or add a manifest"
            ),
        })?;
        serde_json::from_str(&text).map_err(|e| EmbedError::Model {
            dir: dir.display().to_string(),
            detail: format!("{MANIFEST_FILE} is invalid: {e}"),
        })
    }

    /// Re-hashes the files; used by setup and doctor (not on every start: 23 MB of hashing).
    pub fn verify(&self, dir: &Path) -> Result<(), EmbedError> {
        for (file, expected) in [
            ("model.onnx", &self.model_sha256),
            ("tokenizer.json", &self.tokenizer_sha256),
        ] {
            let actual = sha256_file(&dir.join(file)).map_err(|e| EmbedError::Model {
                dir: dir.display().to_string(),
                detail: format!("cannot read {file}: {e}"),
            })?;
            if &actual != expected {
                return Err(EmbedError::Model {
                    dir: dir.display().to_string(),
                    detail: format!("{file} has sha256 {actual}, manifest says {expected}; run `lmdeck setup --force`"),
                });
            }
        }
        Ok(())
    }

    pub fn identity(&self) -> ModelIdentity {
        ModelIdentity {
            name: self.name.clone(),
            sha256: self.model_sha256.clone(),
            dim: self.dim,
        }
    }
}

/// `embed.model` is an installed name or a path to a model folder.
pub fn resolve_model_dir(models_dir: &Path, model: &str) -> PathBuf {
    let as_path = PathBuf::from(model);
    if model.contains('/') || as_path.join(MANIFEST_FILE).is_file() {
        as_path
    } else {
        models_dir.join(model)
    }
}
