//! The detached runner: a per-job supervisor process (`lmdeck jobs supervise ID`) starts the
//! job in its own session, waits for it and records the result, so the result is kept even
//! when the console or the submitter is gone. Also the small scheduler and reconciliation.

use rusqlite::{params, Connection};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::collections::HashSet;
use std::sync::Arc;

use super::follow::LogFollower;
use super::gpu::{self, Choice, Inventory};
use super::procs;
use super::queue::{self, now_ms, JobState};
use super::spec::Gpus;
use crate::store::writer::DbWriter;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no job {0}; see `lmdeck jobs list`")]
    NoJob(i64),
    #[error("job {id} is {state}; {what}")]
    WrongState {
        id: i64,
        state: &'static str,
        what: &'static str,
    },
    #[error("job {id} has no checkpoint to continue from{}; `lmdeck jobs retry {id}` runs it again from the start", dir.as_ref().map_or_else(|| " (its spec sets no output_dir)".to_string(), |d| format!(" (no checkpoint-<step> folder in {})", d.display())))]
    NoCheckpoint {
        id: i64,
        dir: Option<std::path::PathBuf>,
    },
    #[error(transparent)]
    Slurm(#[from] super::slurm::SlurmError),
    #[error("cannot start the supervisor for job {id}: {source}")]
    Spawn { id: i64, source: std::io::Error },
}

/// How many jobs may run at once (`LMDECK_JOBS_MAX_RUNNING`, default 1).
pub fn max_running() -> i64 {
    std::env::var("LMDECK_JOBS_MAX_RUNNING")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &i64| n > 0)
        .unwrap_or(1)
}

/// Fails queued jobs whose dependency ended badly or whose GPU request this host can never
/// meet, then starts queued jobs whose dependencies succeeded and whose GPUs are free while
/// fewer than [`max_running`] run. A job that waits gets its reason stored. Returns the ids
/// started.
pub fn schedule(writer: &DbWriter) -> Result<Vec<i64>, RunError> {
    // The inventory is read only when a queued job asks for GPUs: nvidia-smi takes a while.
    let wants_gpus = writer.call(queued_wants_gpus)?;
    let inventory = wants_gpus.then(|| Arc::new(gpu::read()));
    let mut started = Vec::new();
    // Each round starts at most one job; the queue bounds the rounds.
    for _ in 0..10_000 {
        let limit = max_running();
        let inv = inventory.clone();
        let next = writer.call(move |tx| pick_next(tx, limit, inv.as_deref()))?;
        let Some((id, log_dir)) = next else { break };
        if let Err(e) = spawn_supervisor(writer, id, Path::new(&log_dir)) {
            // Left `starting`, it would count against the limit and hold its GPUs forever.
            let reason = e.to_string();
            queue::exec(
                writer,
                "UPDATE jobs SET state = 'failed', reason = ?2, ended_ms = ?3, gpu_uuids = NULL \
                 WHERE id = ?1 AND state = 'starting' AND supervisor_pid IS NULL",
                (id, reason, now_ms()),
            )?;
            return Err(e);
        }
        started.push(id);
    }
    Ok(started)
}

fn queued_wants_gpus(tx: &rusqlite::Transaction) -> Result<bool, StoreError> {
    let mut stmt =
        tx.prepare("SELECT snapshot FROM jobs WHERE state = 'queued' AND backend = 'local'")?;
    let snapshots: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(snapshots.iter().any(|s| gpu_request(s).is_some()))
}

/// A job's GPU request from its snapshot, None when it asks for no GPU.
fn gpu_request(snapshot: &str) -> Option<(Gpus, u64)> {
    let snap = serde_json::from_str::<super::snapshot::Snapshot>(snapshot).ok()?;
    match snap.spec.gpus? {
        Gpus::Count(0) => None,
        Gpus::Uuids(u) if u.is_empty() => None,
        gpus => Some((gpus, snap.spec.min_gpu_free_mb.unwrap_or(0))),
    }
}

/// Stores why a queued job waits (only when it changed, to keep writes small).
fn set_wait(tx: &rusqlite::Transaction, id: i64, reason: &str) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE jobs SET wait_reason = ?2 WHERE id = ?1 AND wait_reason IS NOT ?2",
        params![id, reason],
    )?;
    Ok(())
}

fn pick_next(
    tx: &rusqlite::Transaction,
    limit: i64,
    inventory: Option<&Inventory>,
) -> Result<Option<(i64, String)>, StoreError> {
    let running: i64 = tx.query_row(
        "SELECT count(*) FROM jobs WHERE state IN ('starting', 'running') AND backend = 'local'",
        [],
        |r| r.get(0),
    )?;
    let held: HashSet<String> = {
        let mut stmt = tx.prepare(
            "SELECT gpu_uuids FROM jobs WHERE state IN ('starting', 'running') AND gpu_uuids IS NOT NULL",
        )?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        rows.iter()
            .flat_map(|r| queue::split_uuids(Some(r)))
            .collect()
    };
    let mut stmt = tx.prepare(
        // Slurm jobs are Slurm's to schedule; the watcher follows them.
        "SELECT id, snapshot FROM jobs WHERE state = 'queued' AND backend = 'local' \
         ORDER BY priority DESC, id",
    )?;
    let queued: Vec<(i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let fail = |id: i64, reason: String| -> Result<(), StoreError> {
        tx.execute(
            "UPDATE jobs SET state = 'failed', reason = ?2, wait_reason = NULL, ended_ms = ?3 WHERE id = ?1",
            params![id, reason, now_ms()],
        )?;
        Ok(())
    };
    for (id, snapshot) in queued {
        let deps: Vec<i64> = serde_json::from_str::<super::snapshot::Snapshot>(&snapshot)
            .map(|s| s.spec.depends_on)
            .unwrap_or_default();
        let mut waiting = None;
        let mut broken = None;
        for dep in deps {
            let state: Option<String> = tx
                .query_row("SELECT state FROM jobs WHERE id = ?1", [dep], |r| r.get(0))
                .ok();
            match state.as_deref() {
                Some("succeeded") => {}
                Some(s @ ("queued" | "starting" | "running")) => {
                    waiting = Some(format!("waiting for job {dep} ({s})"))
                }
                Some(other) => broken = Some(format!("dependency job {dep} {other}")),
                None => broken = Some(format!("dependency job {dep} does not exist")),
            }
        }
        if let Some(reason) = broken {
            fail(id, reason)?;
            continue;
        }
        let request = gpu_request(&snapshot);
        let choice = match (&request, inventory) {
            (Some((gpus, min_free)), Some(inv)) => Some(gpu::choose(inv, &held, gpus, *min_free)),
            // Not read (no job asked for GPUs when the round began): read next round.
            (Some(_), None) => Some(Choice::Wait("GPU inventory not read yet".into())),
            (None, _) => None,
        };
        // A request the host can never meet fails now, whatever else the job waits for.
        if let Some(Choice::Fail(reason)) = choice {
            fail(id, reason)?;
            continue;
        }
        if let Some(reason) = waiting {
            set_wait(tx, id, &reason)?;
            continue;
        }
        if running >= limit {
            let reason = format!("{running} job(s) running, the limit (LMDECK_JOBS_MAX_RUNNING)");
            set_wait(tx, id, &reason)?;
            continue;
        }
        let uuids = match choice {
            Some(Choice::Wait(reason)) => {
                // Jobs behind it may still fit on what is free.
                set_wait(tx, id, &reason)?;
                continue;
            }
            Some(Choice::Assign(uuids)) => Some(uuids.join(",")),
            _ => None,
        };
        tx.execute(
            "UPDATE jobs SET state = 'starting', gpu_uuids = ?2, wait_reason = NULL WHERE id = ?1",
            params![id, uuids],
        )?;
        let log_dir = tx.query_row("SELECT log_dir FROM jobs WHERE id = ?1", [id], |r| r.get(0))?;
        return Ok(Some((id, log_dir)));
    }
    Ok(None)
}

/// Starts `lmdeck jobs supervise ID` in a new session, detached from this process.
fn spawn_supervisor(writer: &DbWriter, id: i64, log_dir: &Path) -> Result<(), RunError> {
    let spawn_err = |source| RunError::Spawn { id, source };
    let exe = std::env::current_exe().map_err(spawn_err)?;
    // The supervisor's own errors go beside the job's logs.
    std::fs::create_dir_all(log_dir).map_err(spawn_err)?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_dir.join("supervisor.log"))
        .map_err(spawn_err)?;
    let mut cmd = Command::new(exe);
    cmd.arg("--db")
        .arg(writer.path())
        .args(["jobs", "supervise", &id.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    // SAFETY: setsid is async-signal-safe; it detaches from our session and terminal.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(spawn_err)?;
    let pid = child.id() as i64;
    let start = procs::start_time(pid).map(|s| s as i64);
    // Reaped when it ends, so a long-lived caller (the console, the daemon) keeps no zombie;
    // a short-lived one exits first and the supervisor is adopted by init.
    let reaper = std::thread::Builder::new().name(format!("lmdeck-reap-{id}"));
    if reaper.spawn(move || child.wait()).is_err() {
        tracing::warn!(
            "job {id}: no thread to reap its supervisor; it stays a zombie until we exit"
        );
    }
    queue::exec(
        writer,
        "UPDATE jobs SET supervisor_pid = ?2, supervisor_start = ?3 WHERE id = ?1 AND supervisor_pid IS NULL",
        (id, pid, start),
    )?;
    Ok(())
}

/// The supervisor's work: run the job (with its retries), record each outcome, then let the
/// scheduler start what is queued.
pub fn supervise(writer: &DbWriter, conn: &Connection, id: i64) -> Result<(), RunError> {
    let own = std::process::id() as i64;
    let own_start = procs::start_time(own).map(|s| s as i64);
    queue::exec(
        writer,
        "UPDATE jobs SET supervisor_pid = ?2, supervisor_start = ?3 WHERE id = ?1",
        (id, own, own_start),
    )?;
    let job = queue::get(conn, id)?.ok_or(RunError::NoJob(id))?;
    if std::fs::create_dir_all(&job.log_dir).is_err() {
        tracing::warn!("cannot create {}", job.log_dir.display());
    }
    let retries = job.snapshot.spec.retries;
    for attempt in 0..=retries {
        let again = run_once(writer, conn, &job, attempt < retries)?;
        if !again {
            break;
        }
    }
    schedule(writer)?;
    Ok(())
}

/// One attempt; true when it failed and should be retried.
fn run_once(
    writer: &DbWriter,
    conn: &Connection,
    job: &queue::Job,
    may_retry: bool,
) -> Result<bool, RunError> {
    let id = job.id;
    // Each attempt starts at step 0, or at its checkpoint's step when resumed: what an earlier
    // attempt logged after that belongs to a run that is gone, and its bar reading too.
    let from_step = job
        .resume_step
        .map_or(0, |s| i64::try_from(s).unwrap_or(i64::MAX));
    writer.call(move |tx| {
        tx.execute(
            "DELETE FROM job_metrics WHERE job_id = ?1 AND step > ?2",
            params![id, from_step],
        )?;
        tx.execute(
            "UPDATE job_progress SET done = -1, total = NULL, elapsed_s = NULL, \
             remaining_s = NULL, rate = NULL WHERE job_id = ?1",
            [id],
        )?;
        Ok(())
    })?;
    // Ready before the job starts: once it runs, nothing may stop this supervisor from
    // recording its end.
    let mut follower = LogFollower::resume(conn, job)?;
    let open = |p: &Path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
    };
    let snap = &job.snapshot;
    let spawned = open(&job.stdout_path)
        .and_then(|out| Ok((out, open(&job.stderr_path)?)))
        .and_then(|(out, err)| {
            let (program, args) = snap.argv.split_first().ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command")
            })?;
            let mut cmd = Command::new(program);
            cmd.args(args)
                .current_dir(&snap.spec.workdir)
                .envs(&snap.env)
                // Recipes record it (a registered model's lineage names its job).
                .env("LMDECK_JOB_ID", id.to_string())
                .envs(resume_env(job))
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err);
            // By UUID, so the job sees exactly its GPUs whatever the numbering.
            if !job.gpus.is_empty() {
                cmd.env("CUDA_VISIBLE_DEVICES", job.gpus.join(","));
            }
            // SAFETY: setsid is async-signal-safe; the job gets its own session and group.
            unsafe {
                cmd.pre_exec(|| {
                    libc::setsid();
                    Ok(())
                });
            }
            cmd.spawn()
        });
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            let reason = format!("cannot start {:?}: {e}", snap.argv.first());
            queue::exec(
                writer,
                "UPDATE jobs SET state = 'failed', reason = ?2, ended_ms = ?3 WHERE id = ?1 AND state = 'starting'",
                (id, reason, now_ms()),
            )?;
            return Ok(false);
        }
    };
    let pid = child.id() as i64;
    let start = procs::start_time(pid).map(|s| s as i64);
    let changed = queue::exec(
        writer,
        "UPDATE jobs SET state = 'running', pid = ?2, pid_start = ?3, started_ms = ?4, \
         attempts = attempts + 1, exit_code = NULL, ended_ms = NULL WHERE id = ?1 AND state = 'starting'",
        (id, pid, start, now_ms()),
    )?;
    if changed == 0 {
        // Cancelled between the check and the start.
        procs::signal_group(pid, libc::SIGKILL);
        let _ = child.wait();
        return Ok(false);
    }
    let deadline = snap
        .spec
        .time_limit_secs
        .map(|s| Instant::now() + Duration::from_secs(s));
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(_) => break child.wait().ok(),
        }
        if !timed_out && deadline.is_some_and(|d| Instant::now() >= d) {
            timed_out = true;
            procs::terminate_group(pid, super::control::grace());
        }
        let more = follower.poll();
        if let Err(e) = follower.flush(writer, false) {
            // Metrics wait for the next flush; the job itself must not be disturbed.
            tracing::warn!("job {id}: storing metrics: {e}");
        }
        if !more {
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    if let Err(e) = follower.finish(writer) {
        tracing::warn!("job {id}: storing the last metrics: {e}");
    }
    let code = status.and_then(|s| s.code());
    let signal = status.and_then(|s| s.signal());
    let reason = timed_out.then(|| "time limit reached".to_string());
    let ended = now_ms();
    let retry = writer.call(move |tx| {
        let cancel: i64 = tx.query_row(
            "SELECT cancel_requested FROM jobs WHERE id = ?1",
            [id],
            |r| r.get(0),
        )?;
        let state = match code {
            _ if cancel != 0 => "cancelled",
            Some(0) => "succeeded",
            _ if may_retry && !timed_out => "starting",
            _ => "failed",
        };
        // A job a reconcile wrongly marked lost is corrected here.
        tx.execute(
            "UPDATE jobs SET state = ?2, exit_code = ?3, signal = ?4, ended_ms = ?5, reason = ?6, paused = 0 \
             WHERE id = ?1 AND state IN ('running', 'lost', 'cancelled')",
            params![id, state, code, signal, ended, reason],
        )?;
        Ok(state == "starting")
    })?;
    Ok(retry)
}

/// Where a resumed job continues from, for its recipe.
fn resume_env(job: &queue::Job) -> Vec<(&'static str, String)> {
    match (&job.resume_from, job.resume_step) {
        (Some(path), Some(step)) => vec![
            ("LMDECK_RESUME_FROM", path.display().to_string()),
            ("LMDECK_RESUME_STEP", step.to_string()),
        ],
        _ => Vec::new(),
    }
}

/// Marks running jobs whose processes are gone (or whose pids were reused) as lost, with
/// their last log lines. The supervisor counts: while it lives, the job is not lost.
pub fn reconcile(writer: &DbWriter, conn: &Connection) -> Result<(), RunError> {
    // Slurm jobs have no local process: the Slurm watcher reconciles them with Slurm.
    for job in queue::list(conn)?
        .into_iter()
        .filter(|j| j.backend == "local")
    {
        let live = match job.state {
            JobState::Running { .. } => {
                procs::is_same(job.pid, job.pid_start)
                    || procs::is_same(job.supervisor_pid, job.supervisor_start)
            }
            // A supervisor not yet recorded may still be starting.
            JobState::Starting => {
                job.supervisor_pid.is_none()
                    || procs::is_same(job.supervisor_pid, job.supervisor_start)
            }
            _ => true,
        };
        if !live {
            let lines = procs::last_lines(&[&job.stdout_path, &job.stderr_path], 20);
            queue::exec(
                writer,
                "UPDATE jobs SET state = 'lost', reason = ?2, ended_ms = ?3 WHERE id = ?1 AND state IN ('running', 'starting')",
                (job.id, lines, now_ms()),
            )?;
        }
    }
    Ok(())
}
