//! Slurm's job states mapped onto lmdeck's, with what the jobs screen shows.

use super::squeue::{Exit, SlurmJob};

#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    /// Waiting in Slurm's queue; `reason` is Slurm's (Resources, Priority, Dependency, ...).
    Queued { reason: String, held: bool },
    Running {
        suspended: bool,
        started_ms: Option<i64>,
    },
    Ended {
        /// "succeeded", "failed" or "cancelled".
        state: &'static str,
        exit: Exit,
        reason: Option<String>,
        ended_ms: Option<i64>,
    },
}

/// The lmdeck view of a Slurm job record.
pub fn map(job: &SlurmJob) -> Mapped {
    let ms = |t: Option<i64>| t.map(|s| s * 1000);
    let exit = job.exit.unwrap_or_default();
    let ended = |state, reason: Option<String>| Mapped::Ended {
        state,
        exit,
        reason,
        ended_ms: ms(job.end_time),
    };
    match job.state.as_str() {
        "PENDING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "RESV_DEL_HOLD" => {
            Mapped::Queued {
                reason: if job.reason.is_empty() {
                    job.state.to_lowercase()
                } else {
                    job.reason.clone()
                },
                held: job.reason.starts_with("JobHeld") || job.state == "REQUEUE_HOLD",
            }
        }
        "RUNNING" | "CONFIGURING" | "COMPLETING" | "STAGE_OUT" | "SIGNALING" | "RESIZING" => {
            Mapped::Running {
                suspended: false,
                started_ms: ms(job.start_time),
            }
        }
        "SUSPENDED" | "STOPPED" => Mapped::Running {
            suspended: true,
            started_ms: ms(job.start_time),
        },
        "COMPLETED" => ended("succeeded", None),
        "CANCELLED" => ended("cancelled", None),
        "TIMEOUT" => ended("failed", Some("Slurm: time limit reached".into())),
        "OUT_OF_MEMORY" => ended("failed", Some("Slurm: out of memory".into())),
        other => {
            // FAILED, NODE_FAIL, BOOT_FAIL, DEADLINE, PREEMPTED, and states not known yet.
            let mut reason = format!("Slurm: {other}");
            if !job.reason.is_empty() {
                reason += &format!(" ({})", job.reason);
            }
            ended("failed", Some(reason))
        }
    }
}
