//! What a job runs, frozen at submit: the resolved spec, the exact argv and env, dataset
//! hashes and the workdir's git commit. The spec file may change afterwards; this does not.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::spec::JobSpec;

#[derive(Debug, thiserror::Error)]
#[error("cannot hash dataset file {path}: {source}; fix `dataset` in the spec")]
pub struct HashError {
    path: PathBuf,
    source: std::io::Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub spec_file: PathBuf,
    pub spec: JobSpec,
    pub argv: Vec<String>,
    /// Exactly what the job gets on top of the inherited environment (not redacted).
    pub env: BTreeMap<String, String>,
    /// Dataset file -> sha256 hex.
    pub dataset_sha256: BTreeMap<String, String>,
    pub git_commit: Option<String>,
}

impl Snapshot {
    pub fn take(spec_file: &Path, spec: JobSpec) -> Result<Self, HashError> {
        let mut dataset_sha256 = BTreeMap::new();
        for path in &spec.dataset {
            let hash = crate::util::sha256_file(path).map_err(|source| HashError {
                path: path.clone(),
                source,
            })?;
            dataset_sha256.insert(path.display().to_string(), hash);
        }
        Ok(Self {
            spec_file: std::path::absolute(spec_file).unwrap_or_else(|_| spec_file.into()),
            argv: spec.command.clone(),
            env: spec.env.clone(),
            git_commit: git_commit(&spec.workdir),
            dataset_sha256,
            spec,
        })
    }

    /// The env for display: values of secret-looking keys replaced.
    pub fn env_redacted(&self) -> BTreeMap<String, String> {
        self.env
            .iter()
            .map(|(k, v)| {
                let shown = if is_secret(k) { "<redacted>" } else { v };
                (k.clone(), shown.to_string())
            })
            .collect()
    }

    /// A JSON view for display: like the stored one with secrets redacted.
    pub fn display_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        let redacted = serde_json::to_value(self.env_redacted()).unwrap_or_default();
        if let Some(obj) = value.as_object_mut() {
            obj.insert("env".into(), redacted.clone());
            if let Some(spec) = obj.get_mut("spec").and_then(|s| s.as_object_mut()) {
                spec.insert("env".into(), redacted);
            }
        }
        value
    }
}

/// Whether an env key names a secret: a part of it (split at `_`, `-`, `.`) is or ends in
/// KEY, TOKEN, SECRET, PASSWORD, PASSWD or CREDENTIALS (`HF_TOKEN`, `OPENAI_API_KEY`,
/// `APIKEY`), so `TOKENIZERS_PARALLELISM` is not one.
pub fn is_secret(key: &str) -> bool {
    const MARKS: [&str; 6] = [
        "KEY",
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "CREDENTIALS",
    ];
    key.to_uppercase()
        .split(['_', '-', '.'])
        .any(|part| MARKS.iter().any(|m| part.ends_with(m)))
}

/// HEAD of the workdir's repository; None when it is not one or git is missing.
fn git_commit(workdir: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(workdir)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

/// Lines `key: a -> b` for every leaf that differs between two snapshots (display view).
pub fn diff(a: &Snapshot, b: &Snapshot) -> Vec<String> {
    let (mut left, mut right) = (BTreeMap::new(), BTreeMap::new());
    flatten("", &a.display_json(), &mut left);
    flatten("", &b.display_json(), &mut right);
    let keys: std::collections::BTreeSet<&String> = left.keys().chain(right.keys()).collect();
    let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(absent)".into());
    keys.into_iter()
        .filter(|k| left.get(*k) != right.get(*k))
        .map(|k| format!("{k}: {} -> {}", show(left.get(k)), show(right.get(k))))
        .collect()
}

fn flatten(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                flatten(&join(k), v, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&join(&i.to_string()), v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}
