//! Effective configuration: built-in defaults, then `config.toml`, then `LMDECK_*` environment
//! variables, then command-line flags. Every value remembers where it came from so
//! `lmdeck config show` can explain it.
//!
//! Layering works on flat dotted keys (`search.k`) over TOML values, so one mechanism serves
//! the file, the environment and flags, and each key's type is taken from its default.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::paths::Paths;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub store: StoreConfig,
    pub runtime: RuntimeConfig,
    pub embed: EmbedConfig,
    pub chunk: ChunkConfig,
    pub search: SearchConfig,
    pub ingest: IngestConfig,
    pub generate: GenerateConfig,
    pub ui: UiConfig,
    pub jobs: JobsConfig,
    pub slurm: SlurmConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// SQLite database file.
    pub db: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Path to libonnxruntime; empty = discover it.
    pub ort_dylib: String,
    /// auto | cpu | cuda | cuda:N
    pub device: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EmbedConfig {
    /// Installed model name (a folder under the models dir) or a path to a model folder.
    pub model: String,
    /// Texts per inference call; 0 = automatic (small on CPU, large on GPU).
    pub batch_size: usize,
    /// Parallel ONNX sessions; 0 = one per CPU core (CPU) or one (GPU).
    pub sessions: usize,
    /// Intra-op threads per session; 0 = cores divided by sessions.
    pub threads: usize,
    /// fused (the graph `lmdeck setup` writes with ONNX Runtime's fused operators, when
    /// installed) | original (the model file as exported).
    pub graph: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChunkConfig {
    /// Target chunk size in embedding-model tokens.
    pub target_tokens: usize,
    /// Tokens shared by consecutive chunks.
    pub overlap_tokens: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    /// Results returned.
    pub k: usize,
    /// hybrid | vector | keyword
    pub mode: String,
    /// Candidates each stage hands to fusion.
    pub candidates: usize,
    /// Binary-index candidates per exact re-score slot (vector stage reads candidates * oversample).
    pub oversample: usize,
    /// Reciprocal-rank-fusion constant: score = sum 1 / (rrf_k + rank).
    pub rrf_k: f64,
    /// Query terms found in more chunks than this are left out of the keyword stage (they
    /// barely change BM25 ranks but dominate its cost); 0 keeps every term.
    pub common_term_chunks: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Files larger than this are skipped with a reason.
    pub max_file_mb: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GenerateConfig {
    /// Chat model: an installed or registered model name, or a model folder.
    pub model: String,
    /// Answer tokens at most.
    pub max_tokens: usize,
    /// 0 = greedy.
    pub temperature: f64,
    /// 0 = no limit.
    pub top_k: usize,
    pub top_p: f64,
    pub repetition_penalty: f64,
    pub seed: u64,
    /// Prompt + answer tokens at most (the model's own context caps it too).
    pub context_tokens: usize,
    /// Retrieved chunks offered to the model as sources.
    pub rag_k: usize,
    /// Intra-op threads of the decoder session; 0 = all cores.
    pub threads: usize,
    /// lmdeck (its own attention operator, in the CPU graph of lmdeck's conversions) |
    /// onnxruntime (ONNX Runtime's GroupQueryAttention).
    pub attention: String,
}

/// The console theme used when none is configured.
pub const DEFAULT_THEME: &str = "dark";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    /// Console theme: dark, light, high-contrast, or NAME for <config dir>/themes/NAME.toml.
    pub theme: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// Where a job runs when its spec names no backend: "local" or "slurm".
    pub backend: String,
}

/// Slurm settings for jobs with `backend = "slurm"`; empty means Slurm's default.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlurmConfig {
    pub partition: String,
    pub account: String,
    pub qos: String,
    /// Slurm's format ("2:00:00", "1-0"); a spec's `time_limit` wins.
    pub time_limit: String,
    /// Extra `#SBATCH` options separated by `;` ("--constraint=a100; --exclusive").
    pub extra_sbatch: String,
    /// A folder shared with the compute nodes for job scripts and logs ("" = the data dir).
    pub shared_dir: String,
    /// "gres" (`--gres=gpu:N`) or "gpus" (`--gpus=N`).
    pub gpu_option: String,
}

impl Config {
    pub fn defaults(paths: &Paths) -> Self {
        Self {
            store: StoreConfig {
                db: paths.default_db(),
            },
            runtime: RuntimeConfig {
                ort_dylib: String::new(),
                device: "auto".into(),
            },
            embed: EmbedConfig {
                model: crate::setup::pins::DEFAULT_EMBED_MODEL.into(),
                batch_size: 0,
                sessions: 0,
                threads: 0,
                graph: "fused".into(),
            },
            chunk: ChunkConfig {
                target_tokens: 200,
                overlap_tokens: 32,
            },
            search: SearchConfig {
                k: 10,
                mode: "hybrid".into(),
                candidates: 100,
                oversample: 3,
                rrf_k: 60.0,
                common_term_chunks: 5000,
            },
            ingest: IngestConfig { max_file_mb: 20 },
            generate: GenerateConfig {
                model: crate::setup::convert::DEFAULT_CHAT_MODEL.into(),
                max_tokens: 512,
                temperature: 0.0,
                top_k: 0,
                top_p: 1.0,
                repetition_penalty: 1.0,
                seed: 0,
                context_tokens: 2048,
                rag_k: 5,
                threads: 0,
                attention: "lmdeck".into(),
            },
            ui: UiConfig {
                theme: DEFAULT_THEME.into(),
            },
            jobs: JobsConfig {
                backend: crate::jobs::spec::DEFAULT_BACKEND.into(),
            },
            slurm: SlurmConfig {
                partition: String::new(),
                account: String::new(),
                qos: String::new(),
                time_limit: String::new(),
                extra_sbatch: String::new(),
                shared_dir: String::new(),
                gpu_option: "gres".into(),
            },
        }
    }
}

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(String),
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => write!(f, "default"),
            Source::File(path) => write!(f, "file {}", path.display()),
            Source::Env(var) => write!(f, "env {var}"),
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{origin}: unknown key `{key}`; known keys: {known}")]
    UnknownKey {
        origin: String,
        key: String,
        known: String,
    },
    #[error("{origin}: `{key}` must be {expected}, got {got}")]
    WrongType {
        origin: String,
        key: String,
        expected: &'static str,
        got: String,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The effective configuration plus the origin of every key.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub sources: BTreeMap<String, Source>,
    pub file: PathBuf,
}

/// Overrides from the command line, as (dotted key, where it came from, raw value).
pub type FlagOverrides = Vec<(&'static str, Source, String)>;

/// Loads the layered configuration. `file` is the config file to read (absent is fine).
pub fn load(paths: &Paths, file: &Path, flags: &FlagOverrides) -> Result<Loaded, ConfigError> {
    let defaults = Config::defaults(paths);
    let mut values = flatten(&to_table(&defaults)?);
    let mut sources: BTreeMap<String, Source> = values
        .keys()
        .map(|k| (k.clone(), Source::Default))
        .collect();

    if file.exists() {
        let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
            path: file.to_path_buf(),
            source,
        })?;
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                path: file.to_path_buf(),
                message: e.to_string(),
            })?;
        let origin = format!("config file {}", file.display());
        for (key, value) in flatten(&table) {
            let expected = values.get(&key).ok_or_else(|| ConfigError::UnknownKey {
                origin: origin.clone(),
                key: key.clone(),
                known: known_keys(&sources),
            })?;
            let value = coerce(expected, value, &origin, &key)?;
            values.insert(key.clone(), value);
            sources.insert(key, Source::File(file.to_path_buf()));
        }
    }

    for key in sources.keys().cloned().collect::<Vec<_>>() {
        let var = env_var_name(&key);
        if let Ok(raw) = std::env::var(&var) {
            let value = parse_raw(
                &values[&key],
                &raw,
                &format!("environment variable {var}"),
                &key,
            )?;
            values.insert(key.clone(), value);
            sources.insert(key, Source::Env(var));
        }
    }

    for (key, source, raw) in flags {
        let expected = values.get(*key).ok_or_else(|| ConfigError::UnknownKey {
            origin: source.to_string(),
            key: key.to_string(),
            known: known_keys(&sources),
        })?;
        let value = parse_raw(expected, raw, &source.to_string(), key)?;
        values.insert(key.to_string(), value);
        sources.insert(key.to_string(), source.clone());
    }

    let config: Config = unflatten(&values)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
    validate(&config)?;
    Ok(Loaded {
        config,
        sources,
        file: file.to_path_buf(),
    })
}

/// `search.k` -> `LMDECK_SEARCH_K`.
pub fn env_var_name(key: &str) -> String {
    format!("LMDECK_{}", key.replace('.', "_").to_uppercase())
}

fn validate(config: &Config) -> Result<(), ConfigError> {
    if config.chunk.target_tokens < 16 {
        return Err(ConfigError::Invalid(
            "chunk.target_tokens must be at least 16".into(),
        ));
    }
    if config.chunk.overlap_tokens * 2 > config.chunk.target_tokens {
        return Err(ConfigError::Invalid(
            "chunk.overlap_tokens must be at most half of chunk.target_tokens".into(),
        ));
    }
    if let Err(detail) = config
        .embed
        .graph
        .parse::<crate::embed::fused::GraphChoice>()
    {
        return Err(ConfigError::Invalid(detail));
    }
    if crate::generate::attention::AttentionChoice::parse(&config.generate.attention).is_none() {
        return Err(ConfigError::Invalid(format!(
            "generate.attention must be {}, got `{}`",
            crate::generate::attention::AttentionChoice::NAMES.join(" or "),
            config.generate.attention
        )));
    }
    if !["hybrid", "vector", "keyword"].contains(&config.search.mode.as_str()) {
        return Err(ConfigError::Invalid(format!(
            "search.mode must be hybrid, vector or keyword, got `{}`",
            config.search.mode
        )));
    }
    if !(config.search.rrf_k > 0.0 && config.search.rrf_k.is_finite()) {
        return Err(ConfigError::Invalid(format!(
            "search.rrf_k must be a positive number, got {}",
            config.search.rrf_k
        )));
    }
    if config.search.k == 0 || config.search.candidates == 0 || config.search.oversample == 0 {
        return Err(ConfigError::Invalid(
            "search.k, search.candidates and search.oversample must be at least 1".into(),
        ));
    }
    if !crate::jobs::spec::BACKENDS.contains(&config.jobs.backend.as_str()) {
        return Err(ConfigError::Invalid(format!(
            "jobs.backend must be local or slurm, got `{}`",
            config.jobs.backend
        )));
    }
    if !["gres", "gpus"].contains(&config.slurm.gpu_option.as_str()) {
        return Err(ConfigError::Invalid(format!(
            "slurm.gpu_option must be gres or gpus, got `{}`",
            config.slurm.gpu_option
        )));
    }
    Ok(())
}

fn to_table(config: &Config) -> Result<toml::Table, ConfigError> {
    toml::Table::try_from(config).map_err(|e| ConfigError::Invalid(e.to_string()))
}

fn flatten(table: &toml::Table) -> BTreeMap<String, toml::Value> {
    let mut out = BTreeMap::new();
    for (section, value) in table {
        match value {
            toml::Value::Table(inner) => {
                for (key, value) in inner {
                    out.insert(format!("{section}.{key}"), value.clone());
                }
            }
            other => {
                out.insert(section.clone(), other.clone());
            }
        }
    }
    out
}

fn unflatten(values: &BTreeMap<String, toml::Value>) -> toml::Value {
    let mut root = toml::Table::new();
    for (key, value) in values {
        let (section, name) = key.split_once('.').unwrap_or(("", key));
        let entry = root
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(table) = entry {
            table.insert(name.to_string(), value.clone());
        }
    }
    toml::Value::Table(root)
}

fn known_keys(sources: &BTreeMap<String, Source>) -> String {
    sources.keys().cloned().collect::<Vec<_>>().join(", ")
}

fn type_name(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "true or false",
        _ => "a value",
    }
}

/// Checks a file value against the default's type; integers are accepted where numbers are.
fn coerce(
    expected: &toml::Value,
    value: toml::Value,
    origin: &str,
    key: &str,
) -> Result<toml::Value, ConfigError> {
    match (expected, value) {
        (toml::Value::Float(_), toml::Value::Integer(i)) => Ok(toml::Value::Float(i as f64)),
        (toml::Value::Integer(_), toml::Value::Integer(i)) if i < 0 => {
            Err(ConfigError::WrongType {
                origin: origin.into(),
                key: key.into(),
                expected: "a non-negative integer",
                got: i.to_string(),
            })
        }
        (e, v) if std::mem::discriminant(e) == std::mem::discriminant(&v) => Ok(v),
        (e, v) => Err(ConfigError::WrongType {
            origin: origin.into(),
            key: key.into(),
            expected: type_name(e),
            got: v.to_string(),
        }),
    }
}

/// Parses an environment or flag string by the type of the key's default.
fn parse_raw(
    expected: &toml::Value,
    raw: &str,
    origin: &str,
    key: &str,
) -> Result<toml::Value, ConfigError> {
    let wrong = || ConfigError::WrongType {
        origin: origin.into(),
        key: key.into(),
        expected: type_name(expected),
        got: format!("`{raw}`"),
    };
    Ok(match expected {
        toml::Value::Integer(_) => {
            toml::Value::Integer(raw.trim().parse::<u32>().map_err(|_| wrong())? as i64)
        }
        toml::Value::Float(_) => toml::Value::Float(raw.trim().parse().map_err(|_| wrong())?),
        toml::Value::Boolean(_) => toml::Value::Boolean(raw.trim().parse().map_err(|_| wrong())?),
        _ => toml::Value::String(raw.to_string()),
    })
}

/// Annotated default config file, printed by `lmdeck config init`.
pub const DOCUMENTED_DEFAULTS: &str = include_str!("config_reference.toml");

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(dir: &Path) -> Paths {
        Paths {
            config_dir: dir.join("config"),
            data_dir: dir.join("data"),
            cache_dir: dir.join("cache"),
        }
    }

    #[test]
    fn defaults_load_without_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = paths(dir.path());
        let loaded = load(&p, &dir.path().join("none.toml"), &vec![]).unwrap();
        assert_eq!(loaded.config, Config::defaults(&p));
        assert_eq!(loaded.sources["search.k"], Source::Default);
    }

    #[test]
    fn file_then_flags_override_and_record_their_source() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "[search]\nk = 5\nrrf_k = 30\n").unwrap();
        let flags = vec![(
            "runtime.device",
            Source::Flag("--device".into()),
            "cpu".to_string(),
        )];
        let loaded = load(&paths(dir.path()), &file, &flags).unwrap();
        assert_eq!(loaded.config.search.k, 5);
        assert_eq!(loaded.config.search.rrf_k, 30.0);
        assert_eq!(loaded.config.runtime.device, "cpu");
        assert_eq!(loaded.sources["search.k"], Source::File(file.clone()));
        assert_eq!(
            loaded.sources["runtime.device"],
            Source::Flag("--device".into())
        );
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "[search]\ntop = 5\n").unwrap();
        let err = load(&paths(dir.path()), &file, &vec![])
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown key `search.top`"), "{err}");

        std::fs::write(&file, "[search]\nk = \"ten\"\n").unwrap();
        let err = load(&paths(dir.path()), &file, &vec![])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`search.k` must be an integer"), "{err}");
    }

    #[test]
    fn toml_syntax_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "[search]\nk = = 5\n").unwrap();
        let err = load(&paths(dir.path()), &file, &vec![])
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn invalid_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let flags = vec![(
            "search.mode",
            Source::Flag("--mode".into()),
            "fuzzy".to_string(),
        )];
        let err = load(&paths(dir.path()), &dir.path().join("x"), &flags).unwrap_err();
        assert!(err.to_string().contains("search.mode"));

        let file = dir.path().join("config.toml");
        std::fs::write(&file, "[generate]\nattention = \"flash\"\n").unwrap();
        let err = load(&paths(dir.path()), &file, &vec![])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("generate.attention must be lmdeck or onnxruntime, got `flash`"),
            "{err}"
        );
    }

    #[test]
    fn env_var_names_follow_the_key() {
        assert_eq!(env_var_name("search.rrf_k"), "LMDECK_SEARCH_RRF_K");
    }

    fn is_assignment(line: &str) -> bool {
        line.split_whitespace().nth(1) == Some("=")
            && line.starts_with(|c: char| c.is_ascii_lowercase())
    }

    #[test]
    fn reference_file_parses_and_matches_the_known_keys() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        // The documented reference, uncommented, must be a valid config with every key known.
        let uncommented: String = DOCUMENTED_DEFAULTS
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|r| is_assignment(r))
                    .unwrap_or(l)
            })
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&file, uncommented).unwrap();
        load(&paths(dir.path()), &file, &vec![]).unwrap();
    }
}
