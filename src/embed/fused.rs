//! The fused runtime graph `lmdeck setup` writes beside a BERT-style embedding model
//! (`scripts/convert/fuse_embedder.py`): the same weights and function with ONNX Runtime's
//! Attention, SkipLayerNormalization and BiasGelu operators, about 1.2x faster and 80 MB
//! lighter per session than the exported graph. The original `model.onnx` stays the model's
//! identity (its hash names the vectors); the fused file is only how it is run, and it is used
//! only while its record says it was made from that very file by this fuser version.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use super::manifest::ModelManifest;

pub const FUSED_FILE: &str = "model.fused.onnx";
pub const FUSED_RECORD: &str = "model.fused.json";
/// Must equal `FUSER_VERSION` in the script (a unit test compares them).
pub const FUSER_VERSION: u32 = 1;

/// What `model.fused.json` says of the fused file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FusedRecord {
    /// sha256 of the `model.onnx` it was made from.
    pub source_sha256: String,
    pub fuser_version: u32,
    /// Size of the fused file, so a truncated copy is not used.
    pub size: u64,
}

/// Which graph the embedder runs (`embed.graph`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GraphChoice {
    /// The fused graph when a current one is installed, else the original.
    #[default]
    Fused,
    Original,
}

impl std::str::FromStr for GraphChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fused" => Ok(GraphChoice::Fused),
            "original" => Ok(GraphChoice::Original),
            other => Err(format!(
                "embed.graph = `{other}` is not a graph: use fused or original"
            )),
        }
    }
}

/// The fused graph of the model in `dir`, when its record matches the installed model.
pub fn current(dir: &Path, manifest: &ModelManifest) -> Option<PathBuf> {
    let text = std::fs::read_to_string(dir.join(FUSED_RECORD)).ok()?;
    let record: FusedRecord = serde_json::from_str(&text).ok()?;
    let path = dir.join(FUSED_FILE);
    let size = std::fs::metadata(&path).ok()?.len();
    (record.source_sha256 == manifest.model_sha256
        && record.fuser_version == FUSER_VERSION
        && record.size == size)
        .then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_and_the_binary_agree_on_the_fuser_version() {
        let script = include_str!("../../scripts/convert/fuse_embedder.py");
        assert!(script.contains(&format!("\nFUSER_VERSION = {FUSER_VERSION}\n")));
    }

    #[test]
    fn a_record_for_another_model_or_version_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = ModelManifest {
            name: "m".into(),
            dim: 4,
            pooling: super::super::manifest::Pooling::Mean,
            max_tokens: 8,
            model_sha256: "aaaa".into(),
            tokenizer_sha256: "bbbb".into(),
            source: String::new(),
        };
        std::fs::write(dir.path().join(FUSED_FILE), b"graph").unwrap();
        let write = |record: FusedRecord| {
            std::fs::write(
                dir.path().join(FUSED_RECORD),
                serde_json::to_string(&record).unwrap(),
            )
            .unwrap()
        };
        let good = FusedRecord {
            source_sha256: "aaaa".into(),
            fuser_version: FUSER_VERSION,
            size: 5,
        };
        write(good.clone());
        assert_eq!(
            current(dir.path(), &manifest),
            Some(dir.path().join(FUSED_FILE))
        );
        write(FusedRecord {
            source_sha256: "cccc".into(),
            ..good.clone()
        });
        assert_eq!(current(dir.path(), &manifest), None);
        write(FusedRecord {
            fuser_version: FUSER_VERSION + 1,
            ..good.clone()
        });
        assert_eq!(current(dir.path(), &manifest), None);
        write(FusedRecord { size: 4, ..good });
        assert_eq!(current(dir.path(), &manifest), None);
        assert_eq!("original".parse(), Ok(GraphChoice::Original));
        assert!("int8"
            .parse::<GraphChoice>()
            .unwrap_err()
            .contains("embed.graph"));
    }
}
