//! Watching lmdeck's Slurm jobs: one `squeue --json` per poll for all of them (22.05 ignores
//! `-j`, and one call scales to thousands of jobs), `scontrol -o show job` only for a job
//! that has left the list. The poll interval doubles while nothing changes (1 s up to 30 s)
//! and drops back on a change or a new submission. Output files of running jobs are followed
//! every tick with the local jobs' follower, so metrics and alerts are the same.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};

use super::squeue::{self, SlurmJob};
use super::state::{self, Mapped};
use super::{scontrol, SlurmError};
use crate::jobs::follow::LogFollower;
use crate::jobs::queue::{self, now_ms, Job, JobState};
use crate::store::writer::DbWriter;

fn env_ms(name: &str, default: u64) -> Duration {
    Duration::from_millis(
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&ms: &u64| ms >= 10)
            .unwrap_or(default),
    )
}

/// Shortest poll interval (`LMDECK_SLURM_POLL_MIN_MS`, default 1000).
pub fn min_interval() -> Duration {
    env_ms("LMDECK_SLURM_POLL_MIN_MS", 1000)
}

/// Longest poll interval (`LMDECK_SLURM_POLL_MAX_MS`, default 30000).
pub fn max_interval() -> Duration {
    env_ms("LMDECK_SLURM_POLL_MAX_MS", 30_000).max(min_interval())
}

/// The back-off: doubles while nothing changes, back to the minimum on a change.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    pub interval: Duration,
    min: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            interval: min,
            min,
            max,
        }
    }

    pub fn next(&mut self, changed: bool) -> Duration {
        self.interval = if changed {
            self.min
        } else {
            (self.interval * 2).min(self.max)
        };
        self.interval
    }
}

/// What one tick did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tick {
    /// Whether squeue was called.
    pub polled: bool,
    /// Rows whose state changed.
    pub changed: Vec<i64>,
}

pub struct Watcher {
    backoff: Backoff,
    next_poll: Option<Instant>,
    /// Slurm ids already seen, so a new submission is polled at once.
    known: HashSet<String>,
    followers: HashMap<i64, LogFollower>,
    /// squeue calls made, for tests and the log.
    pub polls: u64,
}

impl Default for Watcher {
    fn default() -> Self {
        Self::new()
    }
}

impl Watcher {
    pub fn new() -> Self {
        Self {
            backoff: Backoff::new(min_interval(), max_interval()),
            next_poll: None,
            known: HashSet::new(),
            followers: HashMap::new(),
            polls: 0,
        }
    }

    pub fn interval(&self) -> Duration {
        self.backoff.interval
    }

    /// One round: polls Slurm when due, records changes, follows running jobs' output.
    pub fn tick(&mut self, writer: &DbWriter, conn: &Connection) -> Result<Tick, SlurmError> {
        let active = active_jobs(conn)?;
        let mut tick = Tick::default();
        if active.is_empty() {
            self.followers.clear();
            self.next_poll = None;
            self.backoff = Backoff::new(min_interval(), max_interval());
            return Ok(tick);
        }
        let new = active
            .iter()
            .filter_map(|j| j.slurm_job_id.as_ref())
            .any(|sid| !self.known.contains(sid));
        let due = new || self.next_poll.is_none_or(|t| Instant::now() >= t);
        if due {
            self.polls += 1;
            let result = squeue::query();
            let records = match result {
                Ok(r) => r,
                Err(e) => {
                    // Slurm down or unreadable: states stay as they are; ask again later.
                    self.next_poll = Some(Instant::now() + self.backoff.next(false));
                    return Err(e);
                }
            };
            tick.polled = true;
            for job in &active {
                if self.apply(writer, conn, job, &records)? {
                    tick.changed.push(job.id);
                }
            }
            let interval = self.backoff.next(!tick.changed.is_empty() || new);
            self.next_poll = Some(Instant::now() + interval);
        }
        // Output is followed every tick, whatever the poll interval.
        for job in active_jobs(conn)? {
            if matches!(job.state, JobState::Running { .. }) {
                self.follow(writer, conn, &job, false);
            }
        }
        Ok(tick)
    }

    fn follow(&mut self, writer: &DbWriter, conn: &Connection, job: &Job, last: bool) {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.followers.entry(job.id) {
            match LogFollower::resume(conn, job) {
                Ok(f) => {
                    slot.insert(f);
                }
                Err(e) => {
                    tracing::warn!("job {}: cannot follow its output: {e}", job.id);
                    return;
                }
            }
        }
        let Some(follower) = self.followers.get_mut(&job.id) else {
            return;
        };
        // Bounded: a flood of output is read over several ticks.
        for _ in 0..64 {
            if !follower.poll() {
                break;
            }
        }
        let stored = if last {
            follower.finish(writer)
        } else {
            follower.flush(writer, false)
        };
        if let Err(e) = stored {
            tracing::warn!("job {}: storing metrics: {e}", job.id);
        }
        if last {
            self.followers.remove(&job.id);
        }
    }

    /// Brings one row in line with Slurm; true when it changed.
    fn apply(
        &mut self,
        writer: &DbWriter,
        conn: &Connection,
        job: &Job,
        records: &[SlurmJob],
    ) -> Result<bool, SlurmError> {
        let Some(sid) = job.slurm_job_id.clone() else {
            return Ok(false);
        };
        self.known.insert(sid.clone());
        // A task that started has its own record; prefer it over the array's pending one.
        let record = records
            .iter()
            .filter(|r| r.answers(&sid))
            .max_by_key(|r| r.array_task_id.is_some())
            .cloned();
        let record = match record {
            Some(r) => Some(r),
            None => scontrol::show(&sid)?,
        };
        let Some(record) = record else {
            let reason = format!(
                "Slurm no longer knows job {sid} (ended and purged before lmdeck saw its end)"
            );
            self.follow(writer, conn, job, true);
            queue::exec(
                writer,
                "UPDATE jobs SET state = 'lost', reason = ?2, ended_ms = ?3, wait_reason = NULL \
                 WHERE id = ?1 AND state IN ('queued', 'starting', 'running')",
                (job.id, reason, now_ms()),
            )?;
            return Ok(true);
        };
        record_state(self, writer, conn, job, &record)
    }
}

/// Writes what Slurm says about the job when it differs from the row.
fn record_state(
    watcher: &mut Watcher,
    writer: &DbWriter,
    conn: &Connection,
    job: &Job,
    record: &SlurmJob,
) -> Result<bool, SlurmError> {
    let id = job.id;
    match state::map(record) {
        Mapped::Queued { reason, held } => {
            let wait = format!("Slurm: {reason}");
            if matches!(job.state, JobState::Queued)
                && job.wait_reason.as_deref() == Some(wait.as_str())
                && job.paused == held
            {
                return Ok(false);
            }
            queue::exec(
                writer,
                "UPDATE jobs SET state = 'queued', wait_reason = ?2, paused = ?3 WHERE id = ?1",
                (id, wait, held as i64),
            )?;
        }
        Mapped::Running {
            suspended,
            started_ms,
        } => {
            if matches!(job.state, JobState::Running { .. }) && job.paused == suspended {
                return Ok(false);
            }
            let started = started_ms.unwrap_or_else(now_ms);
            writer.call(move |tx| {
                tx.execute(
                    "UPDATE jobs SET attempts = attempts + 1 WHERE id = ?1 AND state != 'running'",
                    [id],
                )?;
                tx.execute(
                    "UPDATE jobs SET state = 'running', started_ms = coalesce(started_ms, ?2), \
                     wait_reason = NULL, paused = ?3 WHERE id = ?1",
                    params![id, started, suspended as i64],
                )?;
                Ok(())
            })?;
        }
        Mapped::Ended {
            state,
            exit,
            mut reason,
            ended_ms,
        } => {
            // Read the whole output before the end is recorded, so `--wait` sees all metrics.
            watcher.follow(writer, conn, job, true);
            let ran = record.start_time.is_some() || matches!(job.state, JobState::Running { .. });
            if ran && state != "cancelled" && !job.stdout_path.exists() {
                let note = format!(
                    "Slurm wrote no output at {}: is slurm.shared_dir shared with the compute nodes?",
                    job.stdout_path.display()
                );
                reason = Some(reason.map_or(note.clone(), |r| format!("{r}; {note}")));
            }
            let ended = ended_ms.unwrap_or_else(now_ms);
            let started = record.start_time.map(|s| s * 1000);
            writer.call(move |tx| {
                tx.execute(
                    "UPDATE jobs SET state = ?2, exit_code = ?3, signal = ?4, ended_ms = ?5, \
                     reason = ?6, wait_reason = NULL, paused = 0, \
                     started_ms = coalesce(started_ms, ?7) WHERE id = ?1",
                    params![id, state, exit.code, exit.signal, ended, reason, started],
                )?;
                Ok(())
            })?;
        }
    }
    Ok(true)
}

/// lmdeck's Slurm jobs that have not ended.
pub fn active_jobs(conn: &Connection) -> Result<Vec<Job>, SlurmError> {
    Ok(queue::list(conn)?
        .into_iter()
        .filter(|j| j.backend == "slurm" && j.slurm_job_id.is_some() && !j.state.is_ended())
        .collect())
}

/// Whether any Slurm job still needs watching (cheap; the daemon asks every round).
pub fn any_active(conn: &Connection) -> Result<bool, SlurmError> {
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM jobs WHERE backend = 'slurm' AND slurm_job_id IS NOT NULL \
             AND state IN ('queued', 'starting', 'running')",
            [],
            |r| r.get(0),
        )
        .map_err(crate::store::StoreError::from)?;
    Ok(n > 0)
}
