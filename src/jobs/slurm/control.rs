//! Acting on Slurm jobs: cancel with `scancel`; pause/resume with `scontrol hold`/`release`
//! while the job waits, `scontrol suspend`/`resume` once it runs (Slurm allows that to
//! operators and admins only; its refusal is passed on).

use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::watch::Watcher;
use super::{cli, SlurmError};
use crate::jobs::queue::{self, Job, JobState};
use crate::store::writer::DbWriter;

fn slurm_id(job: &Job) -> Result<&str, SlurmError> {
    job.slurm_job_id
        .as_deref()
        .ok_or_else(|| SlurmError::Command {
            program: "lmdeck".into(),
            message: format!("job {} was never accepted by Slurm", job.id),
        })
}

/// `scancel`, then waits (up to `wait`) until Slurm reports the end and records it.
pub fn cancel(
    writer: &DbWriter,
    conn: &Connection,
    job: &Job,
    wait: Duration,
) -> Result<(), SlurmError> {
    let sid = slurm_id(job)?;
    queue::exec(
        writer,
        "UPDATE jobs SET cancel_requested = 1 WHERE id = ?1",
        (job.id,),
    )?;
    cli::run("scancel", &[sid])?;
    settle(writer, conn, job.id, wait)
}

/// Polls until the job's row shows an end (or `wait` passes): the daemon may be slower.
pub fn settle(
    writer: &DbWriter,
    conn: &Connection,
    id: i64,
    wait: Duration,
) -> Result<(), SlurmError> {
    let deadline = Instant::now() + wait;
    let mut watcher = Watcher::new();
    loop {
        watcher.tick(writer, conn)?;
        if queue::get(conn, id)?.is_none_or(|j| j.state.is_ended()) || Instant::now() >= deadline {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
        // Each round polls: a fresh watcher has no back-off.
        watcher = Watcher::new();
    }
}

/// Pause (`stop`) or resume a Slurm job; returns what was done, for the user.
pub fn pause(writer: &DbWriter, job: &Job, stop: bool) -> Result<&'static str, SlurmError> {
    let sid = slurm_id(job)?;
    let (verb, done) = match (&job.state, stop) {
        (JobState::Queued | JobState::Starting, true) => ("hold", "held in Slurm's queue"),
        (JobState::Queued | JobState::Starting, false) => ("release", "released in Slurm's queue"),
        (JobState::Running { .. }, true) => ("suspend", "suspended by Slurm"),
        (JobState::Running { .. }, false) => ("resume", "resumed by Slurm"),
        (state, _) => {
            return Err(SlurmError::Command {
                program: "lmdeck".into(),
                message: format!(
                    "job {} is {}; only a waiting or running job can be paused or resumed",
                    job.id,
                    state.name()
                ),
            })
        }
    };
    cli::run("scontrol", &[verb, sid])?;
    queue::exec(
        writer,
        "UPDATE jobs SET paused = ?2 WHERE id = ?1",
        (job.id, stop as i64),
    )?;
    Ok(done)
}
