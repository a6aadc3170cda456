//! Run configurations: what one evaluation run does (collection, model, RAG on or off,
//! retrieval, prompt, sampling). Written as TOML (`<config dir>/eval/NAME.toml` or a path),
//! changed with `--set key=value`, and expanded by `--matrix key=a,b` into one run per
//! combination. Unknown keys are errors that name the file and line.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `model = "none"`: retrieval only, no answers generated.
pub const NO_MODEL: &str = "none";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read run configuration {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}; keys: {KEYS}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "no run configuration `{name}`: not a file, and {dir} has no {name}.toml (keys: {KEYS})"
    )]
    Missing { name: String, dir: PathBuf },
    #[error("{flag} {arg}: {message} (expected key=value, e.g. --set rag=off or --matrix model=a,b; keys: {KEYS})")]
    Override {
        flag: &'static str,
        arg: String,
        message: String,
    },
}

const KEYS: &str = "name, collection, model, rag, mode, k, candidates, rrf_k, prompt, temperature, top_k, top_p, repetition_penalty, seed, max_tokens, context_tokens, metrics_k, judge, judge_runs, judge_temperature, judge_max_tokens";

/// A run's frozen configuration (stored with the run as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The label the run is shown and compared under.
    pub name: String,
    /// Collection retrieved from; the set's own collection when not given.
    #[serde(default)]
    pub collection: Option<String>,
    /// Chat model (installed, registered or an endpoint), or "none" for retrieval only.
    pub model: String,
    pub rag: bool,
    /// vector, keyword or hybrid.
    pub mode: String,
    /// Sources offered to the model (and ranks read for retrieval-only runs).
    pub k: usize,
    pub candidates: usize,
    pub rrf_k: f64,
    /// Instructions replacing the default RAG instructions (None: lmdeck's own).
    #[serde(default)]
    pub prompt: Option<String>,
    pub temperature: f64,
    pub top_k: usize,
    pub top_p: f64,
    pub repetition_penalty: f64,
    pub seed: u64,
    pub max_tokens: usize,
    pub context_tokens: usize,
    /// The cut-off of retrieval metrics (Recall@k, nDCG@k, ...).
    pub metrics_k: usize,
    /// A model or endpoint grading every answer against the gold answers (`eval::judge`);
    /// None: no judge metrics.
    #[serde(default)]
    pub judge: Option<String>,
    /// Gradings per item (their spread is reported) and how they are sampled.
    #[serde(default = "default_judge_runs")]
    pub judge_runs: usize,
    #[serde(default = "default_judge_temperature")]
    pub judge_temperature: f64,
    #[serde(default = "default_judge_max_tokens")]
    pub judge_max_tokens: usize,
}

// Three gradings sampled at 0.7 show whether a judge's verdict is stable; a greedy judge
// would repeat itself and hide that.
fn default_judge_runs() -> usize {
    3
}

fn default_judge_temperature() -> f64 {
    0.7
}

fn default_judge_max_tokens() -> usize {
    32
}

impl RunConfig {
    /// The defaults: the `[generate]` and `[search]` settings, RAG on, greedy.
    pub fn defaults(config: &crate::config::Config) -> RunConfig {
        let (g, s) = (&config.generate, &config.search);
        RunConfig {
            name: "default".into(),
            collection: None,
            model: g.model.clone(),
            rag: true,
            mode: s.mode.clone(),
            k: g.rag_k,
            candidates: s.candidates,
            rrf_k: s.rrf_k,
            prompt: None,
            temperature: 0.0,
            top_k: g.top_k,
            top_p: g.top_p,
            repetition_penalty: g.repetition_penalty,
            seed: g.seed,
            max_tokens: g.max_tokens,
            context_tokens: g.context_tokens,
            metrics_k: 10,
            judge: None,
            judge_runs: default_judge_runs(),
            judge_temperature: default_judge_temperature(),
            judge_max_tokens: default_judge_max_tokens(),
        }
    }

    pub fn generates(&self) -> bool {
        self.model != NO_MODEL
    }

    /// The judge grading this run's answers, if any (`judge = "none"` is none).
    pub fn judge(&self) -> Option<&str> {
        self.judge
            .as_deref()
            .filter(|j| *j != NO_MODEL && !j.is_empty() && self.generates())
    }

    fn to_table(&self) -> toml::Table {
        match toml::Value::try_from(self) {
            Ok(toml::Value::Table(t)) => t,
            _ => toml::Table::new(),
        }
    }

    fn from_table(table: toml::Table) -> Result<RunConfig, String> {
        let config: RunConfig = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| e.message().to_string())?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("`name` must not be empty".into());
        }
        if !matches!(self.mode.as_str(), "vector" | "keyword" | "hybrid") {
            return Err(format!(
                "`mode` is `{}`; use vector, keyword or hybrid",
                self.mode
            ));
        }
        if self.k == 0 || self.metrics_k == 0 || self.max_tokens == 0 {
            return Err("`k`, `metrics_k` and `max_tokens` must be at least 1".into());
        }
        if self.judge_runs == 0 || self.judge_runs > 20 || self.judge_max_tokens == 0 {
            return Err("`judge_runs` must be 1 to 20 and `judge_max_tokens` at least 1".into());
        }
        let judged = self
            .judge
            .as_deref()
            .is_some_and(|j| j != NO_MODEL && !j.is_empty());
        if judged && !self.generates() {
            return Err("`judge` grades answers, but `model` is \"none\" (retrieval only)".into());
        }
        Ok(())
    }
}

/// A configuration file as written: every key optional (the rest comes from the defaults),
/// checked alone first so that a wrong type or an unknown key is reported at its line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read only for its checks
struct FileConfig {
    name: Option<String>,
    collection: Option<String>,
    model: Option<String>,
    rag: Option<bool>,
    mode: Option<String>,
    k: Option<usize>,
    candidates: Option<usize>,
    rrf_k: Option<f64>,
    prompt: Option<String>,
    temperature: Option<f64>,
    top_k: Option<usize>,
    top_p: Option<f64>,
    repetition_penalty: Option<f64>,
    seed: Option<u64>,
    max_tokens: Option<usize>,
    context_tokens: Option<usize>,
    metrics_k: Option<usize>,
    judge: Option<String>,
    judge_runs: Option<usize>,
    judge_temperature: Option<f64>,
    judge_max_tokens: Option<usize>,
}

/// Where named configurations live: `<config dir>/eval/NAME.toml`.
pub fn config_dir(config_dir: &Path) -> PathBuf {
    config_dir.join("eval")
}

/// The configuration named `name` (a path, or a file in `dir`), over `base`; the name of the
/// run is the file's stem unless the file sets one.
pub fn load(base: &RunConfig, name: &str, dir: &Path) -> Result<RunConfig, ConfigError> {
    if name == "default" && !dir.join("default.toml").is_file() {
        return Ok(base.clone());
    }
    let path = if Path::new(name).is_file() {
        PathBuf::from(name)
    } else {
        let p = dir.join(format!("{name}.toml"));
        if !p.is_file() {
            return Err(ConfigError::Missing {
                name: name.into(),
                dir: dir.to_path_buf(),
            });
        }
        p
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let invalid = |e: toml::de::Error| ConfigError::Invalid {
        path: path.clone(),
        line: line_of(&text, e.span().map_or(0, |s| s.start)),
        message: e.message().to_string(),
    };
    toml::from_str::<FileConfig>(&text).map_err(invalid)?;
    let file: toml::Table = toml::from_str(&text).map_err(invalid)?;
    let mut table = base.to_table();
    let stem = path
        .file_stem()
        .map_or_else(|| name.to_string(), |s| s.to_string_lossy().to_string());
    table.insert("name".into(), stem.into());
    for (key, value) in file {
        table.insert(key, value);
    }
    RunConfig::from_table(table).map_err(|message| {
        // Point at the line of the key the message names, when it names one.
        let line = text
            .lines()
            .position(|l| {
                let key = l.split('=').next().unwrap_or("").trim();
                !key.is_empty() && message.contains(&format!("`{key}`"))
            })
            .map_or(1, |i| i + 1);
        ConfigError::Invalid {
            path: path.clone(),
            line,
            message,
        }
    })
}

/// Applies `--set key=value` overrides (values are TOML; bare words are strings, and
/// on/off/yes/no are booleans).
pub fn apply_sets(config: &RunConfig, sets: &[String]) -> Result<RunConfig, ConfigError> {
    let mut table = config.to_table();
    for arg in sets {
        let (key, value) = split_pair(arg).map_err(|message| ConfigError::Override {
            flag: "--set",
            arg: arg.clone(),
            message,
        })?;
        table.insert(key.to_string(), parse_value(key, value));
    }
    RunConfig::from_table(table).map_err(|message| ConfigError::Override {
        flag: "--set",
        arg: sets.join(" "),
        message,
    })
}

/// A configuration changed by `--set` is named after the changes ("default temperature=0.7
/// seed=3"), as `--matrix` names its combinations, so that runs of one configuration tell
/// apart in `eval runs`, the console and `eval compare`; a `name=` among them wins.
pub fn name_after_sets(mut config: RunConfig, sets: &[&String]) -> RunConfig {
    let pairs: Vec<(&str, &str)> = sets.iter().filter_map(|s| split_pair(s).ok()).collect();
    if pairs.iter().any(|(key, _)| *key == "name") {
        return config;
    }
    for (key, value) in pairs {
        config.name = format!("{} {key}={value}", config.name);
    }
    config
}

/// `--matrix model=a,b rag=on,off`: every combination of the axes' values over each
/// configuration, named after it with the values that vary appended ("base model=a rag=off").
pub fn expand_matrix(
    configs: &[RunConfig],
    axes: &[String],
) -> Result<Vec<RunConfig>, ConfigError> {
    let mut parsed: Vec<(String, Vec<String>)> = Vec::new();
    for arg in axes {
        let (key, values) = split_pair(arg).map_err(|message| ConfigError::Override {
            flag: "--matrix",
            arg: arg.clone(),
            message,
        })?;
        let values: Vec<String> = values
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        if values.is_empty() {
            return Err(ConfigError::Override {
                flag: "--matrix",
                arg: arg.clone(),
                message: "no values".into(),
            });
        }
        parsed.push((key.to_string(), values));
    }
    let mut out = configs.to_vec();
    for (key, values) in &parsed {
        let mut next = Vec::new();
        for config in &out {
            for value in values {
                let mut table = config.to_table();
                table.insert(key.clone(), parse_value(key, value));
                let mut c =
                    RunConfig::from_table(table).map_err(|message| ConfigError::Override {
                        flag: "--matrix",
                        arg: format!("{key}={value}"),
                        message,
                    })?;
                if values.len() > 1 {
                    c.name = format!("{} {key}={value}", c.name);
                }
                next.push(c);
            }
        }
        out = next;
    }
    Ok(out)
}

fn split_pair(arg: &str) -> Result<(&str, &str), String> {
    let (key, value) = arg.split_once('=').ok_or("no `=`")?;
    let key = key.trim();
    if key.is_empty() {
        return Err("empty key".into());
    }
    Ok((key, value.trim()))
}

fn parse_value(key: &str, value: &str) -> toml::Value {
    match value {
        "on" | "yes" | "true" => return toml::Value::Boolean(true),
        "off" | "no" | "false" => return toml::Value::Boolean(false),
        _ => {}
    }
    // Names stay strings even when they look like numbers ("model=7", "name=1").
    if matches!(
        key,
        "name" | "model" | "collection" | "prompt" | "mode" | "judge"
    ) {
        return toml::Value::String(value.to_string());
    }
    toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()))
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> RunConfig {
        let p = crate::paths::Paths {
            config_dir: "/c".into(),
            data_dir: "/d".into(),
            cache_dir: "/k".into(),
        };
        RunConfig::defaults(&crate::config::Config::defaults(&p))
    }

    #[test]
    fn sets_override_and_name_words_stay_strings() {
        let c = apply_sets(&base(), &["rag=off".into(), "k=3".into(), "model=7".into()]).unwrap();
        assert!(!c.rag);
        assert_eq!(c.k, 3);
        assert_eq!(c.model, "7");
        let e = apply_sets(&base(), &["colour=red".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("colour") && e.contains("--set"), "{e}");
        let e = apply_sets(&base(), &["k".into()]).unwrap_err().to_string();
        assert!(e.contains("no `=`"), "{e}");
    }

    #[test]
    fn runs_changed_by_sets_are_named_after_the_changes_unless_named() {
        let (t, s) = ("temperature=0.7".to_string(), "seed = 3".to_string());
        let c = name_after_sets(base(), &[&t, &s]);
        assert_eq!(c.name, format!("{} temperature=0.7 seed=3", base().name));
        let n = "name=mine".to_string();
        let c = apply_sets(&base(), &[t.clone(), n.clone()]).unwrap();
        assert_eq!(name_after_sets(c, &[&t, &n]).name, "mine");
        assert_eq!(name_after_sets(base(), &[]).name, base().name);
    }

    #[test]
    fn a_matrix_expands_into_every_combination_named_by_what_varies() {
        let runs = expand_matrix(
            &[base()],
            &["model=a,b".into(), "rag=on,off".into(), "k=4".into()],
        )
        .unwrap();
        let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "default model=a rag=on",
                "default model=a rag=off",
                "default model=b rag=on",
                "default model=b rag=off"
            ]
        );
        assert!(runs.iter().all(|r| r.k == 4));
        assert!(!runs[3].rag && runs[3].model == "b");
    }

    #[test]
    fn files_are_named_by_stem_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("tuned.toml"),
            "model = \"m2\"\nrag = false\n",
        )
        .unwrap();
        let c = load(&base(), "tuned", dir.path()).unwrap();
        assert_eq!(
            (c.name.as_str(), c.model.as_str(), c.rag),
            ("tuned", "m2", false)
        );
        std::fs::write(
            dir.path().join("bad.toml"),
            "rag = true\nmode = \"fuzzy\"\n",
        )
        .unwrap();
        let e = load(&base(), "bad", dir.path()).unwrap_err().to_string();
        assert!(e.contains("bad.toml:2") && e.contains("fuzzy"), "{e}");
        std::fs::write(dir.path().join("typo.toml"), "modle = \"x\"\n").unwrap();
        let e = load(&base(), "typo", dir.path()).unwrap_err().to_string();
        assert!(e.contains("typo.toml:1") && e.contains("modle"), "{e}");
        let e = load(&base(), "absent", dir.path()).unwrap_err().to_string();
        assert!(e.contains("absent.toml"), "{e}");
    }
}
