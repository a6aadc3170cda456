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

/// Largest difference of vectors that still counts as the same function (float sums in
/// another order differ by about 1e-7).
const SAME_VECTORS: f32 = 1e-4;

/// Fuses the embedding model in `dir` unless a current fused graph is there already, then
/// checks with `difference` (fused against exported vectors, on a few texts) that it computes
/// the same vectors; a graph that does not is removed and the exported one stays in use.
pub fn fuse_embed_model(
    paths: &Paths,
    dir: &Path,
    force: bool,
    difference: impl Fn(&Path) -> Result<f32, String>,
) -> Result<StepReport, SetupError> {
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
    let out = dir.join(FUSED_FILE);
    let skipped = |why: String| StepReport {
        component: component.clone(),
        location: out.clone(),
        outcome: Outcome::Skipped(format!("{why}; the exported graph is used")),
    };
    // The fused graph only makes things faster: no Python environment, no fused graph.
    let env = match converter_env(paths) {
        Ok(env) => env,
        Err(e) => return Ok(skipped(format!("not fused ({e})"))),
    };
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
        return Ok(skipped(format!("not fused ({last})")));
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
    let verdict = difference(dir);
    if !matches!(verdict, Ok(d) if d <= SAME_VECTORS) {
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&out);
        return Ok(skipped(match verdict {
            Ok(d) => format!(
                "the fused graph's vectors differ from the exported graph's by {d:.1e}: removed"
            ),
            Err(e) => format!("the fused graph could not be checked ({e}): removed"),
        }));
    }
    Ok(StepReport {
        component,
        location: out,
        outcome: Outcome::Installed,
    })
}
