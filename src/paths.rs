//! Where lmdeck keeps its files: XDG-style config, data and cache directories.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("no home directory found; set {0} to a writable directory")]
pub struct NoHome(&'static str);

/// The three directory roots. Environment overrides exist so tests and air-gapped hosts can
/// relocate everything without touching the user's real home.
#[derive(Debug, Clone)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    pub cache_dir: PathBuf,
}

impl Paths {
    /// Resolves the directories: `LMDECK_CONFIG_DIR`, `LMDECK_DATA_DIR`, `LMDECK_CACHE_DIR` win,
    /// otherwise the platform defaults from the `directories` crate.
    pub fn resolve() -> Result<Self, NoHome> {
        let dirs = directories::ProjectDirs::from("dev", "lmdeck", "lmdeck");
        let pick = |var: &'static str, default: Option<&Path>| -> Result<PathBuf, NoHome> {
            if let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty()) {
                return Ok(PathBuf::from(value));
            }
            default.map(Path::to_path_buf).ok_or(NoHome(var))
        };
        Ok(Self {
            config_dir: pick("LMDECK_CONFIG_DIR", dirs.as_ref().map(|d| d.config_dir()))?,
            data_dir: pick("LMDECK_DATA_DIR", dirs.as_ref().map(|d| d.data_dir()))?,
            cache_dir: pick("LMDECK_CACHE_DIR", dirs.as_ref().map(|d| d.cache_dir()))?,
        })
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    pub fn default_db(&self) -> PathBuf {
        self.data_dir.join("lmdeck.db")
    }

    /// Installed ONNX Runtime libraries live here, one folder per version.
    pub fn runtime_dir(&self) -> PathBuf {
        self.data_dir.join("runtime")
    }

    /// Installed models live here, one folder per model name.
    pub fn models_dir(&self) -> PathBuf {
        self.data_dir.join("models")
    }

    /// Job logs, one folder per job id; `LMDECK_JOBS_DIR` relocates them (tests, big disks).
    pub fn jobs_dir(&self) -> PathBuf {
        match std::env::var_os("LMDECK_JOBS_DIR").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => self.data_dir.join("jobs"),
        }
    }

    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }
}
