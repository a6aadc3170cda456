//! `squeue --json`, read leniently in both schemas: 22.05 (openapi v0.0.38: `job_state` a
//! string, numbers plain, `exit_code` the raw wait status) and 23.02+ (v0.0.39 on:
//! `job_state` a list, numbers as `{set, infinite, number}`, `exit_code` an object).

use serde_json::Value;

use super::SlurmError;

/// How a job ended, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Exit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

impl Exit {
    /// A wait status: exit status in bits 8..16, the terminating signal in bits 0..7.
    pub fn from_wait_status(status: i64) -> Self {
        let signal = (status & 0x7f) as i32;
        if signal != 0 {
            Self {
                code: None,
                signal: Some(signal),
            }
        } else {
            Self {
                code: Some(((status >> 8) & 0xff) as i32),
                signal: None,
            }
        }
    }
}

/// One job as squeue (or scontrol) reports it; the parts lmdeck uses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SlurmJob {
    pub job_id: u64,
    /// Set for array jobs: the array's id, and this task's index (None on the record
    /// that stands for tasks not started yet, see `array_task_string`).
    pub array_job_id: Option<u64>,
    pub array_task_id: Option<u64>,
    pub array_task_string: String,
    pub name: String,
    pub user: String,
    pub partition: String,
    /// The base state, e.g. "PENDING", "RUNNING", "COMPLETED".
    pub state: String,
    /// Why it waits (Resources, Priority, Dependency, ...) or ended; "None" becomes empty.
    pub reason: String,
    pub exit: Option<Exit>,
    pub submit_time: Option<i64>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub nodes: String,
}

impl SlurmJob {
    /// Whether this record answers for Slurm id `id` ("123" or "123_4").
    pub fn answers(&self, id: &str) -> bool {
        match id.split_once('_') {
            None => id.parse() == Ok(self.job_id) && self.array_job_id.is_none(),
            Some((array, task)) => {
                let (Ok(array), Ok(task)) = (array.parse::<u64>(), task.parse::<u64>()) else {
                    return false;
                };
                if self.array_job_id != Some(array) {
                    return false;
                }
                match self.array_task_id {
                    Some(t) => t == task,
                    None => task_string_has(&self.array_task_string, task),
                }
            }
        }
    }

    /// The id lmdeck stores for this record.
    pub fn id(&self) -> String {
        match (self.array_job_id, self.array_task_id) {
            (Some(a), Some(t)) => format!("{a}_{t}"),
            (Some(a), None) => format!("{a}_[{}]", self.array_task_string),
            _ => self.job_id.to_string(),
        }
    }
}

/// Whether an array task string ("0-2", "1,3-5", "0-9%2") covers `task`.
pub fn task_string_has(text: &str, task: u64) -> bool {
    let text = text.split('%').next().unwrap_or("");
    text.split(',').any(|part| {
        let part = part.trim().trim_start_matches('[').trim_end_matches(']');
        let (from, to) = part.split_once('-').unwrap_or((part, part));
        let step_to = to.split(':').next().unwrap_or(to);
        matches!((from.parse::<u64>(), step_to.parse::<u64>()), (Ok(a), Ok(b)) if a <= task && task <= b)
    })
}

/// A number in either schema: plain, or `{set, infinite, number}` (None unless set and
/// finite).
pub fn number(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::Object(map) => {
            let set = map.get("set").and_then(Value::as_bool).unwrap_or(true);
            let infinite = map
                .get("infinite")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            (set && !infinite)
                .then(|| map.get("number").and_then(Value::as_i64))
                .flatten()
        }
        _ => None,
    }
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        // 23.02+ lists states and flags: the base state comes first.
        Some(Value::Array(items)) => items
            .iter()
            .find_map(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    }
}

fn exit(value: Option<&Value>) -> Option<Exit> {
    match value? {
        Value::Number(n) => n.as_i64().map(Exit::from_wait_status),
        Value::Object(map) => {
            let signal = map
                .get("signal")
                .and_then(|s| number(s.get("id")))
                .filter(|&s| s > 0)
                .map(|s| s as i32);
            let code = number(map.get("return_code")).map(|c| c as i32);
            Some(match signal {
                Some(s) => Exit {
                    code: None,
                    signal: Some(s),
                },
                None => Exit { code, signal: None },
            })
        }
        _ => None,
    }
}

/// One job object of either schema; None when it has no job id.
pub fn job(value: &Value) -> Option<SlurmJob> {
    let get = |k: &str| value.get(k);
    let job_id = number(get("job_id"))? as u64;
    let array_job_id = number(get("array_job_id"))
        .filter(|&a| a > 0)
        .map(|a| a as u64);
    let reason = text(get("state_reason"));
    Some(SlurmJob {
        job_id,
        array_job_id,
        array_task_id: array_job_id
            .and_then(|_| number(get("array_task_id")))
            .filter(|&t| t >= 0)
            .map(|t| t as u64),
        array_task_string: text(get("array_task_string")),
        name: text(get("name")),
        user: text(get("user_name")),
        partition: text(get("partition")),
        state: text(get("job_state")).to_uppercase(),
        reason: if reason == "None" {
            String::new()
        } else {
            reason
        },
        exit: exit(get("exit_code")),
        submit_time: number(get("submit_time")).filter(|&t| t > 0),
        start_time: number(get("start_time")).filter(|&t| t > 0),
        end_time: number(get("end_time")).filter(|&t| t > 0),
        nodes: text(get("nodes")),
    })
}

/// Every job in a `squeue --json` document; Slurm's own `errors` become an error.
pub fn parse(text: &str) -> Result<Vec<SlurmJob>, SlurmError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| SlurmError::Parse {
        program: "squeue --json".into(),
        message: e.to_string(),
    })?;
    if let Some(errors) = doc.get("errors").and_then(Value::as_array) {
        let messages: Vec<String> = errors
            .iter()
            .map(|e| {
                e.get("error")
                    .or_else(|| e.get("description"))
                    .and_then(Value::as_str)
                    .map_or_else(|| e.to_string(), String::from)
            })
            .collect();
        if !messages.is_empty() {
            return Err(SlurmError::Command {
                program: "squeue --json".into(),
                message: messages.join("; "),
            });
        }
    }
    let jobs = doc
        .get("jobs")
        .and_then(Value::as_array)
        .ok_or_else(|| SlurmError::Parse {
            program: "squeue --json".into(),
            message: "no `jobs` list".into(),
        })?;
    Ok(jobs.iter().filter_map(job).collect())
}

/// One `squeue --json` call: every job Slurm still knows.
pub fn query() -> Result<Vec<SlurmJob>, SlurmError> {
    parse(&super::cli::run("squeue", &["--json"])?)
}
