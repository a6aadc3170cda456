//! `scontrol -o show job ID` (one line of `Key=Value` pairs): the fallback for a job that
//! has left squeue's list. 22.05 has no `scontrol --json`.

use super::squeue::{Exit, SlurmJob};
use super::SlurmError;

/// Parses one job line; values hold no spaces except the last fields, which are not used.
pub fn parse(line: &str) -> Option<SlurmJob> {
    let mut job = SlurmJob::default();
    let mut seen_id = false;
    for pair in line.split_whitespace() {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        match key {
            "JobId" => {
                job.job_id = value.parse().ok()?;
                seen_id = true;
            }
            "ArrayJobId" => job.array_job_id = value.parse().ok(),
            "ArrayTaskId" => match value.parse() {
                Ok(t) => job.array_task_id = Some(t),
                Err(_) => job.array_task_string = value.to_string(),
            },
            "JobName" => job.name = value.to_string(),
            "UserId" => job.user = value.split('(').next().unwrap_or("").to_string(),
            "Partition" => job.partition = value.to_string(),
            "JobState" => job.state = value.to_uppercase(),
            "Reason" if value != "None" => job.reason = value.to_string(),
            "NodeList" if value != "(null)" => job.nodes = value.to_string(),
            // "code:signal".
            "ExitCode" => {
                let (code, signal) = value.split_once(':').unwrap_or((value, "0"));
                let signal: i32 = signal.parse().unwrap_or(0);
                job.exit = Some(if signal > 0 {
                    Exit {
                        code: None,
                        signal: Some(signal),
                    }
                } else {
                    Exit {
                        code: code.parse().ok(),
                        signal: None,
                    }
                });
            }
            _ => {}
        }
    }
    seen_id.then_some(job)
}

/// The job as scontrol knows it; None when Slurm has forgotten it (purged after MinJobAge).
pub fn show(id: &str) -> Result<Option<SlurmJob>, SlurmError> {
    match super::cli::run("scontrol", &["-o", "show", "job", id]) {
        Ok(text) => Ok(text.lines().find_map(parse)),
        Err(SlurmError::Command { message, .. }) if message.contains("Invalid job id") => Ok(None),
        Err(e) => Err(e),
    }
}
