//! Submitting to Slurm: lmdeck rows first (their ids name the folders and go into the
//! script), then the batch script, then `sbatch --parsable`. A refusal fails the rows with
//! Slurm's message. Several snapshots become one array job, task N running snapshot N.

use std::path::{Path, PathBuf};

use rusqlite::params;

use super::script::{self, Request, Task};
use super::{cli, Settings, SlurmError};
use crate::jobs::queue::{self, now_ms, JobState};
use crate::jobs::snapshot::Snapshot;
use crate::store::writer::DbWriter;

/// The rows created: lmdeck job id and Slurm id, in the order of the snapshots.
pub type Submitted = Vec<(i64, String)>;

/// Submits one job (one snapshot) or one array job (several).
pub fn submit(
    writer: &DbWriter,
    conn: &rusqlite::Connection,
    settings: &Settings,
    jobs_dir: &Path,
    snapshots: &[Snapshot],
) -> Result<Submitted, SlurmError> {
    let first = snapshots
        .first()
        .ok_or_else(|| SlurmError::Script("no job to submit".into()))?;
    let base = settings
        .shared_dir
        .clone()
        .unwrap_or_else(|| jobs_dir.to_path_buf());
    std::fs::create_dir_all(&base).map_err(|e| SlurmError::OutputDir {
        path: base.clone(),
        reason: e.to_string(),
    })?;
    let after_ok = dependencies(conn, &first.spec.depends_on)?;
    let mut ids = Vec::new();
    for snap in snapshots {
        let mut snap = snap.clone();
        snap.spec.backend = "slurm".into();
        ids.push(queue::insert(writer, &snap, &base)?);
    }
    let result = write_and_submit(writer, settings, &base, snapshots, &ids, after_ok);
    if let Err(e) = &result {
        let reason = e.to_string();
        for id in &ids {
            queue::exec(
                writer,
                "UPDATE jobs SET state = 'failed', reason = ?2, ended_ms = ?3, wait_reason = NULL \
                 WHERE id = ?1",
                (*id, reason.clone(), now_ms()),
            )?;
        }
    }
    result
}

fn write_and_submit(
    writer: &DbWriter,
    settings: &Settings,
    base: &Path,
    snapshots: &[Snapshot],
    ids: &[i64],
    after_ok: Vec<String>,
) -> Result<Submitted, SlurmError> {
    let dir_err = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| SlurmError::OutputDir {
            path,
            reason: e.to_string(),
        }
    };
    for id in ids {
        let dir = base.join(id.to_string());
        std::fs::create_dir_all(&dir).map_err(dir_err(&dir))?;
    }
    let first_dir = base.join(ids[0].to_string());
    let array = snapshots.len() > 1;
    // An array's tasks write beside its first job's folder, one file pair per task index.
    let out_of = |i: usize, id: i64, stream: &str| -> PathBuf {
        if array {
            first_dir.join(format!("task-{i}.{stream}.log"))
        } else {
            base.join(id.to_string()).join(format!("{stream}.log"))
        }
    };
    let (output, error) = if array {
        (
            first_dir.join("task-%a.stdout.log"),
            first_dir.join("task-%a.stderr.log"),
        )
    } else {
        (out_of(0, ids[0], "stdout"), out_of(0, ids[0], "stderr"))
    };
    let spec = &snapshots[0].spec;
    let request = Request {
        name: spec.name.clone(),
        gpus: spec.gpus.clone(),
        cpus: spec.cpus,
        memory: spec.memory.clone(),
        time_limit_secs: spec.time_limit_secs,
        after_ok,
        output,
        error,
    };
    let tasks: Vec<Task> = snapshots
        .iter()
        .map(|s| Task {
            argv: s.argv.clone(),
            env: s.env.clone(),
            workdir: s.spec.workdir.clone(),
        })
        .collect();
    let text = script::write(&request, settings, &tasks, ids)?;
    let script_path = first_dir.join("job.sbatch");
    std::fs::write(&script_path, text).map_err(dir_err(&script_path))?;
    let slurm_id = cli::sbatch(&script_path, settings.partition.as_deref())?;
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let sid = if array {
            format!("{slurm_id}_{i}")
        } else {
            slurm_id.clone()
        };
        let dir = base.join(id.to_string());
        let s = |p: PathBuf| p.display().to_string();
        let (o, e) = (s(out_of(i, *id, "stdout")), s(out_of(i, *id, "stderr")));
        let (row, sid2, d) = (*id, sid.clone(), s(dir));
        writer.call(move |tx| {
            tx.execute(
                "UPDATE jobs SET slurm_job_id = ?2, log_dir = ?3, stdout_path = ?4, \
                 stderr_path = ?5, wait_reason = 'submitted to Slurm' WHERE id = ?1",
                params![row, sid2, d, o, e],
            )?;
            Ok(())
        })?;
        out.push((*id, sid));
    }
    Ok(out)
}

/// Slurm ids of the lmdeck jobs this one waits for; ones that already succeeded are met.
fn dependencies(conn: &rusqlite::Connection, deps: &[i64]) -> Result<Vec<String>, SlurmError> {
    let mut out = Vec::new();
    for dep in deps {
        let job = queue::get(conn, *dep)?
            .ok_or_else(|| SlurmError::Script(format!("dependency job {dep} does not exist")))?;
        match (&job.state, &job.slurm_job_id) {
            (JobState::Succeeded { .. }, _) => {}
            (state, _) if state.is_ended() => {
                return Err(SlurmError::Script(format!(
                    "dependency job {dep} {}",
                    state.name()
                )))
            }
            (_, Some(sid)) if job.backend == "slurm" => out.push(sid.clone()),
            _ => {
                return Err(SlurmError::Script(format!(
                    "dependency job {dep} runs on this host, not in Slurm: a Slurm job can wait only for Slurm jobs"
                )))
            }
        }
    }
    Ok(out)
}
