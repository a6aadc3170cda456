//! Job specs: the TOML a user writes, checked strictly (unknown fields are errors) and resolved
//! into a [`JobSpec`] that is frozen into the job's snapshot at submit.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

const HINT: &str = "see sample-data/jobs/ for a spec with every field";

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read job spec {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}; {HINT}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "--set {arg}: {message} (expected key=value, e.g. --set priority=5 or --set env.SEED=1)"
    )]
    Override { arg: String, message: String },
}

/// GPUs a job asks for: how many, or exactly which (by UUID, so ids never shift).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Gpus {
    Count(u32),
    Uuids(Vec<String>),
}

/// The file as written; spanned fields are the ones checked beyond their type.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: Spanned<String>,
    command: Spanned<Vec<String>>,
    workdir: Option<PathBuf>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    gpus: Option<Gpus>,
    min_gpu_free_mb: Option<u64>,
    #[serde(default)]
    priority: i64,
    #[serde(default)]
    depends_on: Vec<i64>,
    #[serde(default)]
    dataset: Vec<PathBuf>,
    base_model: Option<String>,
    output_dir: Option<PathBuf>,
    #[serde(default)]
    retries: u32,
    time_limit: Option<Spanned<String>>,
    backend: Option<Spanned<String>>,
    cpus: Option<u32>,
    memory: Option<Spanned<String>>,
}

/// A checked spec; relative paths are resolved against the spec file's folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub name: String,
    pub command: Vec<String>,
    pub workdir: PathBuf,
    pub env: BTreeMap<String, String>,
    pub gpus: Option<Gpus>,
    pub min_gpu_free_mb: Option<u64>,
    pub priority: i64,
    pub depends_on: Vec<i64>,
    pub dataset: Vec<PathBuf>,
    pub base_model: Option<String>,
    pub output_dir: Option<PathBuf>,
    pub retries: u32,
    /// Seconds; the spec writes e.g. "2h", "90m" or "1h30m".
    pub time_limit_secs: Option<u64>,
    pub backend: String,
    /// CPUs per task and memory ("16G") asked of Slurm; a local job gets what the host has.
    pub cpus: Option<u32>,
    pub memory: Option<String>,
}

/// Where a job runs when neither its spec nor a flag says.
pub const DEFAULT_BACKEND: &str = "local";
/// The backends a spec may name.
pub const BACKENDS: &[&str] = &["local", "slurm"];

/// Reads and checks a spec file, then applies `--set key=value` overrides.
pub fn load(path: &Path, overrides: &[String]) -> Result<JobSpec, SpecError> {
    load_for(path, overrides, DEFAULT_BACKEND)
}

/// [`load`], with the backend used when the spec names none (the `jobs.backend` config key).
pub fn load_for(
    path: &Path,
    overrides: &[String],
    default_backend: &str,
) -> Result<JobSpec, SpecError> {
    let mut spec = load_raw(path, overrides)?;
    if spec.backend.is_empty() {
        spec.backend = default_backend.to_string();
    }
    Ok(spec)
}

fn load_raw(path: &Path, overrides: &[String]) -> Result<JobSpec, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    // The file is checked alone first, so its errors point at its own lines.
    parse(path, &text)?;
    if overrides.is_empty() {
        return parse(path, &text);
    }
    let mut table: toml::Table = text.parse().map_err(|e| invalid(path, &text, &e))?;
    for arg in overrides {
        apply_override(&mut table, arg)?;
    }
    let merged = toml::to_string(&table).map_err(|e| SpecError::Override {
        arg: overrides.join(" "),
        message: e.to_string(),
    })?;
    parse(path, &merged).map_err(|e| match e {
        SpecError::Invalid { message, .. } => SpecError::Override {
            arg: overrides.join(" "),
            message,
        },
        other => other,
    })
}

fn parse(path: &Path, text: &str) -> Result<JobSpec, SpecError> {
    let raw: RawSpec = toml::from_str(text).map_err(|e| invalid(path, text, &e))?;
    let at = |span: std::ops::Range<usize>, message: String| SpecError::Invalid {
        path: path.to_path_buf(),
        line: line_of(text, span.start),
        message,
    };
    if raw.name.get_ref().trim().is_empty() {
        return Err(at(raw.name.span(), "`name` must not be empty".into()));
    }
    if raw.command.get_ref().is_empty() {
        return Err(at(
            raw.command.span(),
            "`command` must list the program and its arguments, e.g. [\"python3\", \"train.py\"]"
                .into(),
        ));
    }
    // Empty means "not set": the caller fills in its default.
    let backend = match &raw.backend {
        Some(b) if !BACKENDS.contains(&b.get_ref().as_str()) => {
            return Err(at(
                b.span(),
                format!(
                    "`backend` \"{}\" is not supported; use \"local\" or \"slurm\"",
                    b.get_ref()
                ),
            ))
        }
        Some(b) => b.get_ref().clone(),
        None => String::new(),
    };
    if let Some(m) = &raw.memory {
        let text = m.get_ref();
        let digits = text.trim_end_matches(['K', 'M', 'G', 'T']);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(at(
                m.span(),
                format!("`memory` \"{text}\" is not a size; write e.g. \"16G\" or \"4000M\""),
            ));
        }
    }
    let time_limit_secs = match &raw.time_limit {
        Some(t) => Some(parse_duration(t.get_ref()).ok_or_else(|| {
            at(
                t.span(),
                format!(
                    "`time_limit` \"{}\" is not a duration; write e.g. \"2h\", \"90m\" or \"1h30m\"",
                    t.get_ref()
                ),
            )
        })?),
        None => None,
    };
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let base = std::path::absolute(&base).unwrap_or(base);
    let resolve = |p: &Path| base.join(p);
    Ok(JobSpec {
        name: raw.name.into_inner(),
        command: raw.command.into_inner(),
        workdir: raw.workdir.as_deref().map_or_else(|| base.clone(), resolve),
        env: raw.env,
        gpus: raw.gpus,
        min_gpu_free_mb: raw.min_gpu_free_mb,
        priority: raw.priority,
        depends_on: raw.depends_on,
        dataset: raw.dataset.iter().map(|p| resolve(p)).collect(),
        base_model: raw.base_model,
        output_dir: raw.output_dir.as_deref().map(resolve),
        retries: raw.retries,
        time_limit_secs,
        backend,
        cpus: raw.cpus,
        memory: raw.memory.map(Spanned::into_inner),
    })
}

fn invalid(path: &Path, text: &str, e: &toml::de::Error) -> SpecError {
    SpecError::Invalid {
        path: path.to_path_buf(),
        line: e.span().map_or(1, |s| line_of(text, s.start)),
        message: e.message().trim().to_string(),
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// `key=value` with a dotted key; the value is read as TOML when it parses, else as a string.
fn apply_override(table: &mut toml::Table, arg: &str) -> Result<(), SpecError> {
    let fail = |message: &str| SpecError::Override {
        arg: arg.to_string(),
        message: message.to_string(),
    };
    let (key, raw) = arg.split_once('=').ok_or_else(|| fail("no `=`"))?;
    let parts: Vec<&str> = key.trim().split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(fail("empty key"));
    }
    // Text fields take the text as given (`env.SEED=7` is the string "7").
    const TEXT: &[&str] = &[
        "name",
        "workdir",
        "base_model",
        "output_dir",
        "time_limit",
        "backend",
        "memory",
    ];
    let text_field = parts[0] == "env" || (parts.len() == 1 && TEXT.contains(&parts[0]));
    let parsed = if text_field {
        None
    } else {
        format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
    };
    let value = parsed.unwrap_or_else(|| toml::Value::String(raw.to_string()));
    let mut current = table;
    for part in &parts[..parts.len() - 1] {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| fail(&format!("`{part}` is not a table")))?;
    }
    current.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

/// "2h", "90m", "45s", "1h30m" or plain seconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(secs);
    }
    let (mut total, mut number, mut seen) = (0u64, String::new(), false);
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let n: u64 = number.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        number.clear();
        seen = true;
    }
    (seen && number.is_empty()).then_some(total)
}
