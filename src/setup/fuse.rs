//! Writes the fused runtime graph beside the default embedding model
//! (`scripts/convert/fuse_embedder.py`, run in the converter's Python environment).

use std::path::Path;
use std::process::Command;

use super::convert::converter_env;
use super::{Outcome, SetupError, StepReport};
use crate::embed::fused::{self, FusedRecord, FUSED_FILE, FUSED_RECORD, FUSER_VERSION};
use crate::embed::manifest::ModelManifest;
use crate::paths::Paths;

pub const FUSER: &str = include_str!("../../scripts/convert/fuse_embedder.py");

/// Fuses the embedding model in `dir` unless a current fused graph is there already.
pub fn fuse_embed_model(paths: &Paths, dir: &Path, force: bool) -> Result<StepReport, SetupError> {
    let component = format!(
        "fused graph of {}",
        dir.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    );
    let manifest = ModelManifest::load(dir).map_err(|e| SetupError::Convert {
        what: "reading the embedding model's manifest".into(),
        detail: e.to_string(),
    })?;
    if !force && fused::current(dir, &manifest).is_some() {
        return Ok(StepReport {
            component,
            location: dir.join(FUSED_FILE),
            outcome: Outcome::AlreadyInstalled,
        });
    }
    let env = converter_env(paths)?;
    let out = dir.join(FUSED_FILE);
    let output = Command::new(&env.python)
        .arg(env.dir.join("fuse_embedder.py"))
        .arg(dir.join("model.onnx"))
        .arg(&out)
        .output()
        .map_err(|e| SetupError::Convert {
            what: "running the embedding-graph fuser".into(),
            detail: e.to_string(),
        })?;
    if !output.status.success() {
        // A model this fuser does not understand still works through its own graph.
        let reason = String::from_utf8_lossy(&output.stderr).trim().to_string();
        let last = reason.lines().last().unwrap_or("failed").to_string();
        return Ok(StepReport {
            component,
            location: out,
            outcome: Outcome::Skipped(format!("not fused ({last}); the exported graph is used")),
        });
    }
    let size = std::fs::metadata(&out)
        .map_err(|e| SetupError::io("cannot read", &out, e))?
        .len();
    let record = FusedRecord {
        source_sha256: manifest.model_sha256.clone(),
        fuser_version: FUSER_VERSION,
        size,
    };
    let path = dir.join(FUSED_RECORD);
    let tmp = dir.join(format!(".{FUSED_RECORD}.{}.partial", std::process::id()));
    let text = serde_json::to_string_pretty(&record).map_err(|e| SetupError::Convert {
        what: "writing the fused graph's record".into(),
        detail: e.to_string(),
    })?;
    std::fs::write(&tmp, text).map_err(|e| SetupError::io("cannot write", &tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| SetupError::io("cannot write", &path, e))?;
    Ok(StepReport {
        component,
        location: out,
        outcome: Outcome::Installed,
    })
}
