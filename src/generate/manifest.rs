//! A decoder model directory: `model.onnx` (+ external data), `tokenizer.json`,
//! `tokenizer_config.json` and, when lmdeck made it, `lmdeck-model.json`. Model shapes are read
//! from the ONNX inputs by name, so any Optimum "text-generation-with-past" export works.

use serde::Deserialize;
use std::path::{Path, PathBuf};

use super::GenerateError;

#[derive(Debug, Clone, Deserialize)]
pub struct DecoderManifest {
    pub name: String,
    #[serde(default)]
    pub context_length: Option<usize>,
    #[serde(default)]
    pub eos_tokens: Vec<String>,
    #[serde(default)]
    pub architecture: Option<String>,
    /// Where a fine-tuned model came from (written by scripts/finetune/lora.py).
    #[serde(default)]
    pub lineage: Option<Lineage>,
    #[serde(skip)]
    pub dir: PathBuf,
}

/// A fine-tuned model's origin: base, data, job and the run's final metrics. Every field is
/// optional so a hand-edited or older manifest still loads.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
pub struct Lineage {
    #[serde(default)]
    pub base_model: Option<String>,
    #[serde(default)]
    pub base_gguf_sha256: Option<String>,
    #[serde(default)]
    pub dataset: Option<String>,
    #[serde(default)]
    pub dataset_sha256: Option<String>,
    #[serde(default)]
    pub job_id: Option<i64>,
    #[serde(default)]
    pub recipe: Option<String>,
    #[serde(default)]
    pub hyperparameters: std::collections::BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub metrics: std::collections::BTreeMap<String, f64>,
    /// Which step's weights were registered, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<Selection>,
}

/// How a fine-tune chose the step it registered: the final step, or the best checkpoint by a
/// task metric on an evaluation set (`lmdeck finetune --eval-set`).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
pub struct Selection {
    /// "task metric" or "final step".
    #[serde(default)]
    pub by: Option<String>,
    #[serde(default)]
    pub chosen_step: Option<u64>,
    #[serde(default)]
    pub metric: Option<String>,
    #[serde(default)]
    pub eval_set: Option<String>,
    #[serde(default)]
    pub tie_rule: Option<String>,
    /// Step (as text, JSON keys are strings) -> the metric's mean.
    #[serde(default)]
    pub values: std::collections::BTreeMap<String, f64>,
    /// Step -> the evaluation run that measured it.
    #[serde(default)]
    pub eval_runs: std::collections::BTreeMap<String, i64>,
    /// The rest the recipe records (items, eval_limit, eval_with, eval_collection).
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl Selection {
    /// (step, value, eval run) in step order.
    pub fn points(&self) -> Vec<(u64, f64, Option<i64>)> {
        let mut points: Vec<(u64, f64, Option<i64>)> = self
            .values
            .iter()
            .filter_map(|(s, v)| Some((s.parse().ok()?, *v, self.eval_runs.get(s).copied())))
            .collect();
        points.sort_by_key(|p| p.0);
        points
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenizerConfig {
    #[serde(default)]
    pub chat_template: Option<serde_json::Value>,
    #[serde(default)]
    pub eos_token: Option<serde_json::Value>,
    #[serde(default)]
    pub bos_token: Option<serde_json::Value>,
    /// Prepend the BOS token to every prompt (Llama-style models).
    #[serde(default)]
    pub add_bos_token: Option<bool>,
}

impl TokenizerConfig {
    /// A special token given either as a string or as `{"content": "..."}`.
    pub fn token(value: &Option<serde_json::Value>) -> Option<String> {
        match value {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Object(o)) => o
                .get("content")
                .and_then(|c| c.as_str())
                .map(str::to_string),
            _ => None,
        }
    }

    /// The chat template: a string, or the `default` entry of a list of named templates.
    pub fn template(&self) -> Option<String> {
        match &self.chat_template {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(serde_json::Value::Array(list)) => list.iter().find_map(|t| {
                (t.get("name")?.as_str()? == "default")
                    .then(|| t.get("template")?.as_str().map(str::to_string))?
            }),
            _ => None,
        }
    }
}

fn model_error(dir: &Path, detail: impl Into<String>) -> GenerateError {
    GenerateError::Model {
        dir: dir.display().to_string(),
        detail: detail.into(),
    }
}

impl DecoderManifest {
    pub fn load(dir: &Path) -> Result<(DecoderManifest, TokenizerConfig), GenerateError> {
        for file in ["model.onnx", "tokenizer.json"] {
            if !dir.join(file).is_file() {
                return Err(model_error(dir, format!("{file} is missing (a decoder model folder holds model.onnx, tokenizer.json and tokenizer_config.json)")));
            }
        }
        let config: TokenizerConfig =
            match std::fs::read_to_string(dir.join("tokenizer_config.json")) {
                Ok(text) => serde_json::from_str(&text)
                    .map_err(|e| model_error(dir, format!("tokenizer_config.json: {e}")))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => TokenizerConfig::default(),
                Err(e) => return Err(model_error(dir, format!("tokenizer_config.json: {e}"))),
            };
        let mut manifest = match std::fs::read_to_string(dir.join("lmdeck-model.json")) {
            Ok(text) => serde_json::from_str::<DecoderManifest>(&text)
                .map_err(|e| model_error(dir, format!("lmdeck-model.json: {e}")))?,
            Err(_) => DecoderManifest {
                name: dir
                    .file_name()
                    .map_or("model".into(), |n| n.to_string_lossy().into_owned()),
                context_length: None,
                eos_tokens: Vec::new(),
                architecture: None,
                lineage: None,
                dir: PathBuf::new(),
            },
        };
        if manifest.eos_tokens.is_empty() {
            manifest
                .eos_tokens
                .extend(TokenizerConfig::token(&config.eos_token));
        }
        manifest.dir = dir.to_path_buf();
        Ok((manifest, config))
    }
}
