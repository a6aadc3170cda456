//! The persistent queue: one row per job in SQLite, written only through the process's
//! [`DbWriter`]; reads use their own connection.

use rusqlite::{params, OptionalExtension, Row, Transaction};
use serde::Serialize;
use std::path::{Path, PathBuf};

use super::snapshot::Snapshot;
use crate::store::writer::DbWriter;
use crate::store::StoreError;

/// A job's state, with what is known in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    Queued,
    /// A supervisor was spawned and has not started the child yet.
    Starting,
    Running {
        pid: i64,
        started_ms: i64,
    },
    Succeeded {
        exit_code: i32,
        ended_ms: i64,
    },
    Failed {
        exit_code: Option<i32>,
        signal: Option<i32>,
        ended_ms: i64,
        reason: Option<String>,
    },
    Cancelled {
        ended_ms: i64,
    },
    Lost {
        last_lines: String,
    },
}

impl JobState {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Starting => "starting",
            Self::Running { .. } => "running",
            Self::Succeeded { .. } => "succeeded",
            Self::Failed { .. } => "failed",
            Self::Cancelled { .. } => "cancelled",
            Self::Lost { .. } => "lost",
        }
    }

    pub fn is_ended(&self) -> bool {
        !matches!(self, Self::Queued | Self::Starting | Self::Running { .. })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: i64,
    pub name: String,
    #[serde(flatten)]
    pub state: JobState,
    pub priority: i64,
    pub created_ms: i64,
    pub started_ms: Option<i64>,
    pub ended_ms: Option<i64>,
    pub exit_code: Option<i32>,
    pub attempts: i64,
    pub paused: bool,
    pub cancel_requested: bool,
    pub pid: Option<i64>,
    pub pid_start: Option<u64>,
    pub supervisor_pid: Option<i64>,
    pub supervisor_start: Option<u64>,
    pub log_dir: PathBuf,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
    /// The checkpoint this run continues from (`jobs resume` of an ended job), and its step.
    pub resume_from: Option<PathBuf>,
    pub resume_step: Option<u64>,
    /// GPUs (UUIDs) the scheduler gave the job; empty when it asked for none.
    pub gpus: Vec<String>,
    /// Why a queued job has not started yet.
    pub wait_reason: Option<String>,
    /// "local" or "slurm".
    pub backend: String,
    /// The Slurm job id ("123", or "123_4" for an array task) once submitted.
    pub slurm_job_id: Option<String>,
    #[serde(skip)]
    pub snapshot: Snapshot,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

const COLUMNS: &str =
    "id, name, state, snapshot, priority, created_ms, started_ms, ended_ms, pid, \
    pid_start, supervisor_pid, supervisor_start, exit_code, signal, attempts, paused, \
    cancel_requested, reason, log_dir, stdout_path, stderr_path, resume_from, resume_step, \
    gpu_uuids, wait_reason, backend, slurm_job_id";

fn from_row(row: &Row) -> rusqlite::Result<Job> {
    let text: String = row.get(3)?;
    let snapshot: Snapshot = serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let state: String = row.get(2)?;
    let (pid, started, ended): (Option<i64>, Option<i64>, Option<i64>) =
        (row.get(8)?, row.get(6)?, row.get(7)?);
    let exit_code: Option<i32> = row.get(12)?;
    let reason: Option<String> = row.get(17)?;
    let ended_ms = ended.unwrap_or(0);
    let state = match state.as_str() {
        "queued" => JobState::Queued,
        "starting" => JobState::Starting,
        "running" => JobState::Running {
            pid: pid.unwrap_or(0),
            started_ms: started.unwrap_or(0),
        },
        "succeeded" => JobState::Succeeded {
            exit_code: exit_code.unwrap_or(0),
            ended_ms,
        },
        "cancelled" => JobState::Cancelled { ended_ms },
        "lost" => JobState::Lost {
            last_lines: reason.clone().unwrap_or_default(),
        },
        _ => JobState::Failed {
            exit_code,
            signal: row.get(13)?,
            ended_ms,
            reason,
        },
    };
    let path = |i: usize| row.get::<_, String>(i).map(PathBuf::from);
    Ok(Job {
        id: row.get(0)?,
        name: row.get(1)?,
        state,
        priority: row.get(4)?,
        created_ms: row.get(5)?,
        started_ms: started,
        ended_ms: ended,
        exit_code,
        attempts: row.get(14)?,
        paused: row.get::<_, i64>(15)? != 0,
        cancel_requested: row.get::<_, i64>(16)? != 0,
        pid,
        pid_start: row.get::<_, Option<i64>>(9)?.map(|v| v as u64),
        supervisor_pid: row.get(10)?,
        supervisor_start: row.get::<_, Option<i64>>(11)?.map(|v| v as u64),
        log_dir: path(18)?,
        stdout_path: path(19)?,
        stderr_path: path(20)?,
        resume_from: row.get::<_, Option<String>>(21)?.map(PathBuf::from),
        resume_step: row.get::<_, Option<i64>>(22)?.map(|v| v.max(0) as u64),
        gpus: split_uuids(row.get::<_, Option<String>>(23)?.as_deref()),
        wait_reason: row.get(24)?,
        backend: row.get(25)?,
        slurm_job_id: row.get(26)?,
        snapshot,
    })
}

/// The `gpu_uuids` column: UUIDs joined by commas.
pub fn split_uuids(text: Option<&str>) -> Vec<String> {
    text.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

pub fn get(conn: &rusqlite::Connection, id: i64) -> Result<Option<Job>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1");
    Ok(conn.query_row(&sql, [id], from_row).optional()?)
}

pub fn list(conn: &rusqlite::Connection) -> Result<Vec<Job>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM jobs ORDER BY id");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Inserts a queued job; its logs go to `<jobs_dir>/<id>/`.
pub fn insert(writer: &DbWriter, snapshot: &Snapshot, jobs_dir: &Path) -> Result<i64, StoreError> {
    let json = serde_json::to_string(snapshot).map_err(|e| StoreError::WriterStopped {
        path: writer.path().to_path_buf(),
        reason: format!("cannot encode the job snapshot: {e}"),
    })?;
    let (name, priority) = (snapshot.spec.name.clone(), snapshot.spec.priority);
    let backend = snapshot.spec.backend.clone();
    let jobs_dir = jobs_dir.to_path_buf();
    writer.call(move |tx| {
        tx.execute(
            "INSERT INTO jobs (name, state, snapshot, priority, created_ms, log_dir, stdout_path, stderr_path, backend)
             VALUES (?1, 'queued', ?2, ?3, ?4, '', '', '', ?5)",
            params![name, json, priority, now_ms(), backend],
        )?;
        let id = tx.last_insert_rowid();
        let dir = jobs_dir.join(id.to_string());
        let s = |p: PathBuf| p.display().to_string();
        tx.execute(
            "UPDATE jobs SET log_dir = ?2, stdout_path = ?3, stderr_path = ?4 WHERE id = ?1",
            params![id, s(dir.clone()), s(dir.join("stdout.log")), s(dir.join("stderr.log"))],
        )?;
        Ok(id)
    })
}

/// Runs a statement through the writer; returns the rows changed.
pub fn exec<P>(writer: &DbWriter, sql: &'static str, params: P) -> Result<usize, StoreError>
where
    P: rusqlite::Params + Send + 'static,
{
    writer.call(move |tx: &Transaction| Ok(tx.execute(sql, params)?))
}
