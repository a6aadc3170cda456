//! The training environment (`lmdeck setup --training`): a project-managed Python environment
//! with the pinned PyTorch / Hugging Face stack from PyPI, plus the LoRA recipe
//! (`scripts/finetune/lora.py`) and the GGUF converter it hands its merged model to, both
//! shipped inside the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::paths::Paths;

/// The packages, exactly as verified together (docs: shared/docs/finetune-and-slurm.md); the
/// converter's pins are among them, so the recipe runs the converter in this environment.
pub const TRAINING_REQUIREMENTS: &[&str] = &[
    "torch==2.15.0",
    "transformers==5.25.0",
    "peft==0.21.2",
    "accelerate==1.15.0",
    "gguf==0.19.0",
    "numpy==2.4.6",
    "onnx==1.23.2",
    "onnxruntime==1.31.1",
    "tokenizers==0.23.3",
];

/// What the environment must import to count as ready (a marker alone can outlive a broken
/// install, e.g. a disk that filled up halfway).
const IMPORT_CHECK: &str = "import torch, transformers, peft, accelerate, gguf, onnx, onnxruntime";

const RECIPE: &str = include_str!("../../scripts/finetune/lora.py");
const CONVERTER: &str = include_str!("../../scripts/convert/gguf_to_onnx.py");

#[derive(Debug, thiserror::Error)]
pub enum TrainingSetupError {
    #[error("cannot run {python} to create the training environment ({source}); install python3 with the venv module (Debian: apt-get install python3-venv) or point LMDECK_PYTHON at one")]
    NoPython {
        python: String,
        source: std::io::Error,
    },
    #[error("creating the training environment in {dir} failed:\n{detail}\nInstall python3-venv, or point LMDECK_PYTHON at a Python 3.10+ with venv")]
    Venv { dir: PathBuf, detail: String },
    #[error("installing the training packages from PyPI failed (pip exit {code}); PyPI must be reachable and about 6 GB free in {dir}; see pip's output above, then run `lmdeck setup --training` again")]
    Pip { dir: PathBuf, code: String },
    #[error("the training environment in {dir} was installed but does not import ({detail}); run `lmdeck setup --training --force` to reinstall it")]
    Broken { dir: PathBuf, detail: String },
    #[error("no training environment in {dir}; run `lmdeck setup --training` first (it installs PyTorch, about 5.3 GB)")]
    Missing { dir: PathBuf },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> TrainingSetupError {
    TrainingSetupError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The installed environment: its Python and the folder holding the recipe scripts.
#[derive(Debug, Clone)]
pub struct TrainingEnv {
    pub python: PathBuf,
    pub dir: PathBuf,
}

impl TrainingEnv {
    pub fn recipe(&self) -> PathBuf {
        self.dir.join("lora.py")
    }
}

pub fn env_dir(paths: &Paths) -> PathBuf {
    paths.data_dir.join("python").join("training")
}

fn python_of(dir: &Path) -> PathBuf {
    dir.join("venv").join("bin").join("python")
}

fn marker_of(dir: &Path) -> PathBuf {
    dir.join("requirements.txt")
}

fn wanted() -> String {
    TRAINING_REQUIREMENTS.join("\n")
}

/// Whether the environment's marker names exactly today's pins and (with `imports`) it
/// imports; importing torch takes seconds, so `existing` leaves that to the job itself.
fn ready(dir: &Path, imports: bool) -> Result<bool, TrainingSetupError> {
    let python = python_of(dir);
    let marked =
        python.is_file() && std::fs::read_to_string(marker_of(dir)).is_ok_and(|m| m == wanted());
    if !marked || !imports {
        return Ok(marked);
    }
    import_check(&python, dir).map(|()| true)
}

fn import_check(python: &Path, dir: &Path) -> Result<(), TrainingSetupError> {
    let out = Command::new(python)
        .args(["-c", IMPORT_CHECK])
        .output()
        .map_err(|e| TrainingSetupError::Broken {
            dir: dir.to_path_buf(),
            detail: e.to_string(),
        })?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    Err(TrainingSetupError::Broken {
        dir: dir.to_path_buf(),
        detail: text
            .lines()
            .last()
            .unwrap_or("no output")
            .trim()
            .to_string(),
    })
}

/// The environment if it is installed and current (for `lmdeck finetune`); never installs.
pub fn existing(paths: &Paths) -> Result<TrainingEnv, TrainingSetupError> {
    let dir = env_dir(paths);
    if !ready(&dir, false)? {
        return Err(TrainingSetupError::Missing { dir });
    }
    write_scripts(&dir)?;
    Ok(TrainingEnv {
        python: python_of(&dir),
        dir,
    })
}

/// What `install` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Installed {
    Reused,
    Installed,
}

/// Creates (or reuses) the environment. pip's own progress goes to this process's stderr
/// (the download is large; a silent wait of minutes looks like a hang).
pub fn install(paths: &Paths, force: bool) -> Result<(TrainingEnv, Installed), TrainingSetupError> {
    let dir = env_dir(paths);
    let python = python_of(&dir);
    // A broken environment is reinstalled rather than reported: that is what setup is for.
    if !force && ready(&dir, true).unwrap_or(false) {
        write_scripts(&dir)?;
        return Ok((TrainingEnv { python, dir }, Installed::Reused));
    }
    std::fs::create_dir_all(&dir).map_err(|e| io("cannot create", &dir, e))?;
    // The marker goes first: an interrupted install must not look complete.
    let marker = marker_of(&dir);
    match std::fs::remove_file(&marker) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(io("cannot remove", &marker, e))
        }
        _ => {}
    }
    if !python.is_file() || force {
        let system = std::env::var("LMDECK_PYTHON").unwrap_or_else(|_| "python3".into());
        let venv = dir.join("venv");
        let out = Command::new(&system)
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .output()
            .map_err(|source| TrainingSetupError::NoPython {
                python: system.clone(),
                source,
            })?;
        if !out.status.success() {
            return Err(TrainingSetupError::Venv {
                dir: venv,
                detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
    }
    eprintln!(
        "installing the training packages from PyPI into {}: PyTorch alone is about 5.3 GB \
         (CUDA build; it also runs on CPU) and takes a few minutes",
        dir.display()
    );
    // No pip cache: it would keep a second copy of the 5 GB of wheels.
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-cache-dir",
            "--progress-bar",
            "on",
        ])
        .args(TRAINING_REQUIREMENTS)
        .stdin(Stdio::null())
        // pip's stdout carries its progress; the caller's stdout may be a report a script reads.
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| TrainingSetupError::Pip {
            dir: dir.clone(),
            code: e.to_string(),
        })?;
    if !status.success() {
        return Err(TrainingSetupError::Pip {
            dir,
            code: status
                .code()
                .map_or("by a signal".into(), |c| c.to_string()),
        });
    }
    import_check(&python, &dir)?;
    std::fs::write(&marker, wanted()).map_err(|e| io("cannot write", &marker, e))?;
    write_scripts(&dir)?;
    Ok((TrainingEnv { python, dir }, Installed::Installed))
}

/// The recipe and the converter it runs, as this binary carries them.
fn write_scripts(dir: &Path) -> Result<(), TrainingSetupError> {
    for (name, text) in [("lora.py", RECIPE), ("gguf_to_onnx.py", CONVERTER)] {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
            continue;
        }
        // Written aside and renamed: a job starting now reads the old file or the new one,
        // never half of one. The aside name is this process's own, so two lmdeck commands
        // updating the scripts at once (after an upgrade) do not rename each other's file away.
        let tmp = dir.join(format!(".{name}.{}.partial", std::process::id()));
        std::fs::write(&tmp, text).map_err(|e| io("cannot write", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io("cannot write", &path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_folder_is_not_ready_and_finetune_says_to_run_setup() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!ready(dir.path(), true).unwrap());
        let paths = Paths {
            config_dir: dir.path().join("config"),
            data_dir: dir.path().to_path_buf(),
            cache_dir: dir.path().join("cache"),
        };
        let err = existing(&paths).unwrap_err().to_string();
        assert!(err.contains("lmdeck setup --training"), "{err}");
    }

    #[test]
    fn a_marker_with_other_pins_is_not_ready() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("venv").join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("python"), "").unwrap();
        std::fs::write(marker_of(dir.path()), "torch==2.0.0").unwrap();
        assert!(!ready(dir.path(), true).unwrap());
    }

    #[test]
    fn the_pins_are_the_documented_set() {
        assert_eq!(TRAINING_REQUIREMENTS.len(), 9);
        assert!(TRAINING_REQUIREMENTS.contains(&"torch==2.15.0"));
        // The converter runs in this environment: its pins must be a subset.
        for pin in crate::setup::convert::CONVERTER_REQUIREMENTS {
            assert!(TRAINING_REQUIREMENTS.contains(pin), "{pin}");
        }
    }
}
