//! Acting on jobs: cancel (SIGTERM to the group, SIGKILL after a grace), pause and resume
//! (SIGSTOP / SIGCONT), retry (a new job from the same snapshot) and clean.

use std::time::Duration;

use super::procs;
use super::queue::{self, now_ms, Job, JobState};
use super::runner::{schedule, RunError};
use crate::store::writer::DbWriter;
use rusqlite::Connection;

/// Grace between SIGTERM and SIGKILL (`LMDECK_JOBS_GRACE_SECS`, default 10 s).
pub fn grace() -> Duration {
    let secs = std::env::var("LMDECK_JOBS_GRACE_SECS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(10.0);
    Duration::from_secs_f64(secs)
}

fn job(conn: &Connection, id: i64) -> Result<Job, RunError> {
    queue::get(conn, id)?.ok_or(RunError::NoJob(id))
}

/// The job's process group, only while its leader is the very process that was started.
fn live_group(job: &Job) -> Option<i64> {
    procs::is_same(job.pid, job.pid_start)
        .then_some(job.pid)
        .flatten()
}

pub fn cancel(
    writer: &DbWriter,
    conn: &Connection,
    id: i64,
    grace: Duration,
) -> Result<(), RunError> {
    let job = job(conn, id)?;
    if job.backend == "slurm" && !job.state.is_ended() && job.slurm_job_id.is_some() {
        super::slurm::control::cancel(writer, conn, &job, grace.max(Duration::from_secs(10)))?;
        return Ok(());
    }
    match job.state {
        JobState::Queued | JobState::Starting => {
            queue::exec(
                writer,
                "UPDATE jobs SET state = 'cancelled', cancel_requested = 1, ended_ms = ?2 \
                 WHERE id = ?1 AND state IN ('queued', 'starting')",
                (id, now_ms()),
            )?;
        }
        JobState::Running { pid, .. } => {
            queue::exec(
                writer,
                "UPDATE jobs SET cancel_requested = 1 WHERE id = ?1",
                (id,),
            )?;
            // The group outlives its leader: signal it while any member is alive.
            if live_group(&job).is_some() || procs::group_alive(pid) {
                procs::terminate_group(pid, grace);
            }
            // The supervisor records the end; if it is gone too, record it here.
            if !wait_ended(conn, id, Duration::from_secs(10)) {
                queue::exec(
                    writer,
                    "UPDATE jobs SET state = 'cancelled', ended_ms = ?2 WHERE id = ?1 AND state = 'running'",
                    (id, now_ms()),
                )?;
            }
        }
        ref ended => {
            return Err(RunError::WrongState {
                id,
                state: ended.name(),
                what: "only queued or running jobs can be cancelled",
            })
        }
    }
    schedule(writer)?;
    Ok(())
}

fn wait_ended(conn: &Connection, id: i64, timeout: Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if matches!(queue::get(conn, id), Ok(Some(j)) if j.state.is_ended()) {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGSTOP (pause) or SIGCONT (resume) to a running job's group; a Slurm job is held or
/// suspended by Slurm instead, and the answer says which (None for a local job).
pub fn pause(
    writer: &DbWriter,
    conn: &Connection,
    id: i64,
    stop: bool,
) -> Result<Option<&'static str>, RunError> {
    let job = job(conn, id)?;
    if job.backend == "slurm" {
        return Ok(Some(super::slurm::control::pause(writer, &job, stop)?));
    }
    let group = match job.state {
        JobState::Running { .. } => live_group(&job),
        _ => None,
    };
    let Some(pgid) = group else {
        return Err(RunError::WrongState {
            id,
            state: job.state.name(),
            what: "only a running job can be paused or resumed",
        });
    };
    procs::signal_group(pgid, if stop { libc::SIGSTOP } else { libc::SIGCONT });
    queue::exec(
        writer,
        "UPDATE jobs SET paused = ?2 WHERE id = ?1",
        (id, stop as i64),
    )?;
    Ok(None)
}

/// Files that mark a checkpoint as written whole: the LoRA recipe's `progress.json` (it
/// renames the folder into place when done) and HF Trainer's `trainer_state.json` (its last
/// file). A folder without one was cut short by a kill mid-save.
const CHECKPOINT_MARKERS: &[&str] = &["progress.json", "trainer_state.json"];

/// The newest complete `checkpoint-<step>` folder under `dir` (the Hugging Face Trainer's
/// layout, which the LoRA recipe follows), with its step.
pub fn latest_checkpoint(dir: &std::path::Path) -> Option<(std::path::PathBuf, u64)> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name();
            let step = name.to_str()?.strip_prefix("checkpoint-")?.parse().ok()?;
            let path = entry.path();
            let complete = CHECKPOINT_MARKERS.iter().any(|m| path.join(m).is_file());
            (entry.file_type().ok()?.is_dir() && complete).then_some((path, step))
        })
        .max_by_key(|(_, step)| *step)
}

/// Queues an ended job again as the same job, continuing from its last checkpoint: the run
/// gets `LMDECK_RESUME_FROM` (the checkpoint folder) and `LMDECK_RESUME_STEP`, and the job's
/// metrics after that step (from the run that went further before it ended) are dropped, so
/// its history continues aligned by step instead of restarting at 0 or forking a new run.
pub fn resume_from_checkpoint(
    writer: &DbWriter,
    conn: &Connection,
    id: i64,
) -> Result<(std::path::PathBuf, u64), RunError> {
    let old = job(conn, id)?;
    if !old.state.is_ended() || matches!(old.state, JobState::Succeeded { .. }) {
        return Err(RunError::WrongState {
            id,
            state: old.state.name(),
            what: "only a failed, cancelled or lost job continues from a checkpoint",
        });
    }
    // A supervisor still storing its last metrics would write them after the ones dropped
    // here; it ends moments after recording the end, so give it a few seconds.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while procs::is_same(old.supervisor_pid, old.supervisor_start)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    if procs::is_same(old.supervisor_pid, old.supervisor_start) {
        return Err(RunError::WrongState {
            id,
            state: old.state.name(),
            what: "its supervisor is still finishing; try again in a moment",
        });
    }
    let dir = old
        .snapshot
        .spec
        .output_dir
        .clone()
        .ok_or(RunError::NoCheckpoint { id, dir: None })?;
    let (checkpoint, step) = latest_checkpoint(&dir).ok_or_else(|| RunError::NoCheckpoint {
        id,
        dir: Some(dir.clone()),
    })?;
    let (path, at) = (checkpoint.display().to_string(), step as i64);
    writer.call(move |tx| {
        tx.execute(
            "UPDATE jobs SET state = 'queued', resume_from = ?2, resume_step = ?3, \
             cancel_requested = 0, paused = 0, exit_code = NULL, signal = NULL, reason = NULL, \
             ended_ms = NULL, pid = NULL, pid_start = NULL, supervisor_pid = NULL, \
             supervisor_start = NULL WHERE id = ?1 AND state IN ('failed', 'cancelled', 'lost')",
            rusqlite::params![id, path, at],
        )?;
        tx.execute(
            "DELETE FROM job_metrics WHERE job_id = ?1 AND step > ?2",
            rusqlite::params![id, at],
        )?;
        tx.execute(
            "UPDATE job_progress SET done = min(done, ?2) WHERE job_id = ?1",
            rusqlite::params![id, at],
        )?;
        Ok(())
    })?;
    schedule(writer)?;
    Ok((checkpoint, step))
}

/// A new queued job with the same frozen snapshot; returns its id.
pub fn retry(
    writer: &DbWriter,
    conn: &Connection,
    id: i64,
    jobs_dir: &std::path::Path,
) -> Result<i64, RunError> {
    let old = job(conn, id)?;
    if !old.state.is_ended() {
        return Err(RunError::WrongState {
            id,
            state: old.state.name(),
            what: "cancel it first, or wait for it to end",
        });
    }
    let new = queue::insert(writer, &old.snapshot, jobs_dir)?;
    schedule(writer)?;
    Ok(new)
}

/// Removes ended jobs and their log folders; returns how many.
pub fn clean(writer: &DbWriter, conn: &Connection) -> Result<usize, RunError> {
    let ended: Vec<Job> = queue::list(conn)?
        .into_iter()
        .filter(|j| j.state.is_ended())
        .collect();
    for j in &ended {
        let _ = std::fs::remove_dir_all(&j.log_dir);
        queue::exec(writer, "DELETE FROM jobs WHERE id = ?1", (j.id,))?;
    }
    Ok(ended.len())
}
