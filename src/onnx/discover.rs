//! Finding libonnxruntime: flag, ORT_DYLIB_PATH, config, the setup dir, an importable Python
//! onnxruntime, then system library paths. The first hit wins and is reported with its source.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::OnnxError;
use crate::config::{Loaded, Source};
use crate::paths::Paths;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LibrarySource {
    Flag,
    EnvOrtDylibPath,
    Config,
    SetupDir,
    Python,
    System,
}

impl fmt::Display for LibrarySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LibrarySource::Flag => "--ort-dylib flag",
            LibrarySource::EnvOrtDylibPath => "ORT_DYLIB_PATH",
            LibrarySource::Config => "config runtime.ort_dylib",
            LibrarySource::SetupDir => "lmdeck setup",
            LibrarySource::Python => "Python onnxruntime package",
            LibrarySource::System => "system library path",
        })
    }
}

#[derive(Debug, Clone)]
pub struct LibraryChoice {
    pub path: PathBuf,
    pub source: LibrarySource,
}

pub fn find_library(loaded: &Loaded, paths: &Paths) -> Result<LibraryChoice, OnnxError> {
    let configured = loaded.config.runtime.ort_dylib.trim();
    let configured_source = loaded.sources.get("runtime.ort_dylib");
    let explicit = |path: &str, source: LibrarySource| -> Result<LibraryChoice, OnnxError> {
        let path = PathBuf::from(path);
        if path.is_file() {
            Ok(LibraryChoice { path, source })
        } else {
            Err(OnnxError::Missing {
                path: path.display().to_string(),
                origin: source.to_string(),
            })
        }
    };
    if !configured.is_empty() && matches!(configured_source, Some(Source::Flag(_))) {
        return explicit(configured, LibrarySource::Flag);
    }
    if let Ok(env) = std::env::var("ORT_DYLIB_PATH") {
        if !env.trim().is_empty() {
            return explicit(env.trim(), LibrarySource::EnvOrtDylibPath);
        }
    }
    if !configured.is_empty() {
        return explicit(configured, LibrarySource::Config);
    }
    let mut looked = Vec::new();
    if let Some((path, _)) = crate::setup::install::installed_runtime(paths) {
        return Ok(LibraryChoice {
            path,
            source: LibrarySource::SetupDir,
        });
    }
    looked.push(
        crate::setup::install::runtime_install_dir(paths)
            .display()
            .to_string(),
    );
    if let Some(path) = python_onnxruntime() {
        return Ok(LibraryChoice {
            path,
            source: LibrarySource::Python,
        });
    }
    looked.push("python3 -c 'import onnxruntime'".into());
    for dir in [
        "/usr/local/lib",
        "/usr/lib",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib64",
    ] {
        if let Some(path) = library_in(Path::new(dir)) {
            return Ok(LibraryChoice {
                path,
                source: LibrarySource::System,
            });
        }
        looked.push(dir.to_string());
    }
    Err(OnnxError::NotFound {
        looked: looked.join(", "),
    })
}

/// Asks an importable Python onnxruntime (common on GPU hosts) where its library is.
fn python_onnxruntime() -> Option<PathBuf> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi'))",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let dir = String::from_utf8_lossy(&output.stdout).trim().to_string();
    library_in(Path::new(&dir))
}

/// The newest `libonnxruntime.so*` in a folder (a versioned name beats the bare symlink).
fn library_in(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so"))
        })
        .collect();
    found.sort();
    found.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_versioned_library_in_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(library_in(dir.path()), None);
        std::fs::write(dir.path().join("libonnxruntime.so"), b"").unwrap();
        std::fs::write(dir.path().join("libonnxruntime.so.1.31.1"), b"").unwrap();
        std::fs::write(dir.path().join("libother.so"), b"").unwrap();
        assert_eq!(
            library_in(dir.path()).unwrap(),
            dir.path().join("libonnxruntime.so.1.31.1")
        );
    }
}
