//! The batch script lmdeck writes for a job: `#SBATCH` options from the spec and the config,
//! then a POSIX shell body where every argv item and env value is single-quoted, so no text
//! from a spec can run as shell; the command is `exec`ed so Slurm's signals reach it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::settings::{GpuOption, Settings};
use super::SlurmError;
use crate::jobs::spec::Gpus;

/// One configuration (one job, or one task of an array job).
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub workdir: PathBuf,
}

/// What the `#SBATCH` lines ask for; shared by every task of an array.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Request {
    pub name: String,
    pub gpus: Option<Gpus>,
    pub cpus: Option<u32>,
    pub memory: Option<String>,
    pub time_limit_secs: Option<u64>,
    /// Slurm ids this job waits for (`afterok`).
    pub after_ok: Vec<String>,
    /// Output and error files (may hold `%a` for array tasks).
    pub output: PathBuf,
    pub error: PathBuf,
}

/// POSIX single quotes: everything is literal inside them; a `'` is closed, escaped, reopened.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn env_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A value for an `#SBATCH` line: sbatch reads those lines itself and splits at whitespace,
/// so a value with whitespace, quotes or a line break would become other options.
fn sbatch_value(what: &str, value: &str) -> Result<String, SlurmError> {
    if value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\'')
    {
        return Err(SlurmError::Script(format!(
            "{what} {value:?} cannot go into an #SBATCH line (empty, or holds whitespace, quotes or a line break)"
        )));
    }
    Ok(value.to_string())
}

fn path_value(what: &str, path: &Path) -> Result<String, SlurmError> {
    let text = path
        .to_str()
        .ok_or_else(|| SlurmError::Script(format!("{what} {} is not UTF-8", path.display())))?;
    sbatch_value(what, text)
}

/// Slurm's name: letters, digits and `._-` only (it is shown by squeue, never run).
fn job_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if clean.is_empty() {
        "lmdeck".into()
    } else {
        clean
    }
}

/// Seconds as Slurm's "H:MM:SS".
fn slurm_time(secs: u64) -> String {
    format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// The `#SBATCH` options, in order.
pub fn options(
    request: &Request,
    settings: &Settings,
    array_len: Option<usize>,
) -> Result<Vec<String>, SlurmError> {
    let mut out = vec![format!("--job-name=lmdeck-{}", job_name(&request.name))];
    out.push(format!(
        "--output={}",
        path_value("output", &request.output)?
    ));
    out.push(format!("--error={}", path_value("error", &request.error)?));
    for (flag, value) in [
        ("partition", &settings.partition),
        ("account", &settings.account),
        ("qos", &settings.qos),
    ] {
        if let Some(v) = value {
            out.push(format!("--{flag}={}", sbatch_value(flag, v)?));
        }
    }
    match (request.time_limit_secs, &settings.time_limit) {
        (Some(secs), _) => out.push(format!("--time={}", slurm_time(secs.max(1)))),
        (None, Some(t)) => out.push(format!("--time={}", sbatch_value("time_limit", t)?)),
        (None, None) => {}
    }
    match &request.gpus {
        Some(Gpus::Count(0)) | None => {}
        Some(Gpus::Count(n)) => out.push(match settings.gpu_option {
            Some(GpuOption::Gpus) => format!("--gpus={n}"),
            _ => format!("--gres=gpu:{n}"),
        }),
        Some(Gpus::Uuids(u)) if u.is_empty() => {}
        Some(Gpus::Uuids(_)) => {
            return Err(SlurmError::Script(
                "GPUs by UUID cannot be asked of Slurm (it picks the GPUs); write `gpus = N`"
                    .into(),
            ))
        }
    }
    if let Some(n) = request.cpus {
        out.push(format!("--cpus-per-task={n}"));
    }
    if let Some(m) = &request.memory {
        out.push(format!("--mem={}", sbatch_value("memory", m)?));
    }
    if !request.after_ok.is_empty() {
        let ids: Vec<String> = request
            .after_ok
            .iter()
            .map(|id| sbatch_value("dependency", id))
            .collect::<Result<_, _>>()?;
        out.push(format!("--dependency=afterok:{}", ids.join(":")));
    }
    if let Some(n) = array_len {
        out.push(format!("--array=0-{}", n.saturating_sub(1)));
    }
    for extra in &settings.extra {
        if !extra.starts_with('-') {
            return Err(SlurmError::Script(format!(
                "slurm.extra_sbatch item {extra:?} is not an option (write e.g. --constraint=a100)"
            )));
        }
        out.push(sbatch_value("slurm.extra_sbatch item", extra)?);
    }
    Ok(out)
}

/// The shell lines that run one task: cd, exports, exec.
fn body(task: &Task, lmdeck_id: i64, indent: &str) -> Result<String, SlurmError> {
    let (program, _) = task
        .argv
        .split_first()
        .ok_or_else(|| SlurmError::Script("empty command".into()))?;
    if program.is_empty() {
        return Err(SlurmError::Script("empty program name".into()));
    }
    let all_text = task
        .argv
        .iter()
        .chain(task.env.values())
        .chain(task.env.keys());
    for text in all_text {
        if text.contains('\0') {
            return Err(SlurmError::Script(format!("{text:?} holds a NUL byte")));
        }
    }
    let workdir = task.workdir.to_str().ok_or_else(|| {
        SlurmError::Script(format!("workdir {} is not UTF-8", task.workdir.display()))
    })?;
    let mut out = format!("{indent}cd -- {} || exit 1\n", quote(workdir));
    for (key, value) in &task.env {
        if !env_name_ok(key) {
            return Err(SlurmError::Script(format!(
                "env name {key:?} is not a shell variable name"
            )));
        }
        out += &format!("{indent}export {key}={}\n", quote(value));
    }
    out += &format!(
        "{indent}export LMDECK_JOB_ID={}\n",
        quote(&lmdeck_id.to_string())
    );
    let argv: Vec<String> = task.argv.iter().map(|a| quote(a)).collect();
    out += &format!("{indent}exec {}\n", argv.join(" "));
    Ok(out)
}

/// The whole script. One task: its body. Several: an array job whose task N runs `tasks[N]`
/// (with lmdeck job id `ids[N]`).
pub fn write(
    request: &Request,
    settings: &Settings,
    tasks: &[Task],
    ids: &[i64],
) -> Result<String, SlurmError> {
    if tasks.is_empty() || tasks.len() != ids.len() {
        return Err(SlurmError::Script("no task to run".into()));
    }
    let array = (tasks.len() > 1).then_some(tasks.len());
    let mut out = String::from("#!/bin/sh\n# Written by lmdeck; every value below is quoted.\n");
    for option in options(request, settings, array)? {
        out += &format!("#SBATCH {option}\n");
    }
    if array.is_none() {
        out += &body(&tasks[0], ids[0], "")?;
        return Ok(out);
    }
    out += "case \"$SLURM_ARRAY_TASK_ID\" in\n";
    for (i, (task, id)) in tasks.iter().zip(ids).enumerate() {
        out += &format!("{i})\n{}  ;;\n", body(task, *id, "  ")?);
    }
    out += "*)\n  echo \"lmdeck: no task $SLURM_ARRAY_TASK_ID in this array\" >&2\n  exit 2\n  ;;\nesac\n";
    Ok(out)
}
