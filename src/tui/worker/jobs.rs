//! The jobs screen's background work: queue, detail and compare reads on the read lane
//! (through `jobs::report`, which derives progress, ETA and alerts), the tail of a log file
//! (only its end is read), the GPU inventory, and control actions as tasks.

use rusqlite::Connection;
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::Shared;
use crate::jobs::gpu::Inventory;
use crate::jobs::queue::{self, Job, JobState};
use crate::jobs::snapshot::{self, Snapshot};
use crate::jobs::spec::Gpus;
use crate::jobs::{control, derive, metrics, report};
use crate::store::Store;
use crate::tui::jobs_msg::{
    thin, CompareView, JobDetail, JobOp, JobRow, JobsEffect, JobsReply, LogStream, QueueView,
    LOG_WINDOW, MAX_POINTS,
};
use crate::tui::msg::{Reply, TaskKind};

/// Bytes read from the end of a log for its tail: enough for `LOG_WINDOW` ordinary lines.
const TAIL_BYTES: u64 = 128 * 1024;

pub(super) fn read(shared: &Shared, store: Result<&Store, String>, effect: JobsEffect) {
    let reply = match effect {
        JobsEffect::LoadQueue { id } => JobsReply::Queue {
            id,
            result: store.and_then(|s| load_queue(s.conn())),
        },
        JobsEffect::LoadDetail { id, job, stream } => JobsReply::Detail {
            id,
            result: store.and_then(|s| load_detail(s.conn(), job, stream)),
        },
        JobsEffect::LoadCompare { id, jobs } => JobsReply::Compare {
            id,
            result: store.and_then(|s| load_compare(s.conn(), &jobs)),
        },
        JobsEffect::LoadCluster { id } => {
            // Never on the read lane: Slurm may take seconds to answer.
            super::cluster::start(shared, id);
            return;
        }
        JobsEffect::Control { task, job, op } => {
            // Never on the read lane: cancel waits out a grace period.
            start_control(shared, task, job, op);
            return;
        }
    };
    shared.send(Reply::Jobs(reply));
}

/// The GPUs as the jobs screen shows them (NVML, else nvidia-smi, else why there are none).
pub fn read_gpu_inventory() -> Inventory {
    crate::jobs::gpu::read()
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn gpus_label(job: &Job) -> String {
    if !job.gpus.is_empty() && !job.state.is_ended() {
        // The GPUs it holds; a UUID's first characters tell them apart.
        let short: Vec<&str> = job
            .gpus
            .iter()
            .map(|u| u.get(..12).unwrap_or(u.as_str()))
            .collect();
        return short.join(",");
    }
    requested_gpus(&job.snapshot)
}

/// What the spec asks for: a count, or explicit UUIDs.
fn requested_gpus(spec: &Snapshot) -> String {
    match &spec.spec.gpus {
        None => "-".into(),
        Some(Gpus::Count(n)) => n.to_string(),
        Some(Gpus::Uuids(u)) => format!("{} (uuid)", u.len()),
    }
}

fn row(job: &Job, fraction: Option<f64>, eta_s: Option<f64>) -> JobRow {
    JobRow {
        id: job.id,
        name: job.name.clone(),
        state: job.state.name().to_string(),
        ended: job.state.is_ended(),
        paused: job.paused,
        cancel_requested: job.cancel_requested,
        fraction: match job.state {
            JobState::Succeeded { .. } => Some(1.0),
            _ => fraction,
        },
        eta_s,
        gpus: gpus_label(job),
        created_ms: job.created_ms,
        backend: job.snapshot.spec.backend.clone(),
        pid: job.pid,
        slurm_id: job.slurm_job_id.clone(),
        // Only while it waits: an ended job's last wait says nothing.
        wait_reason: job
            .wait_reason
            .clone()
            .filter(|_| matches!(job.state, JobState::Queued | JobState::Starting)),
    }
}

fn load_queue(conn: &Connection) -> Result<QueueView, String> {
    let now = queue::now_ms();
    let jobs = queue::list(conn).map_err(err)?;
    let assigned = crate::jobs::gpu::holders(&jobs);
    // One query for every job's progress: the queue may hold thousands of ended jobs.
    let mut progress = metrics::all_progress(conn).map_err(err)?;
    let mut rows = Vec::with_capacity(jobs.len());
    for job in jobs {
        // Only the stored progress: the full report (every metric) is for the detail.
        let stored = progress.remove(&job.id).and_then(|s| s.progress);
        let fraction = stored.as_ref().and_then(derive::fraction);
        let running = matches!(job.state, JobState::Running { .. }) && !job.paused;
        let eta_s = stored.as_ref().filter(|_| running).and_then(derive::eta_s);
        rows.push(row(&job, fraction, eta_s));
    }
    let gpus = read_gpu_inventory();
    Ok(QueueView {
        now_ms: now,
        holders: holders(&rows, &gpus, &assigned),
        gpus,
        rows,
    })
}

/// GPU index -> ids of the jobs that hold it: given it by the scheduler (by UUID), or whose
/// process group uses it (a job started with its own CUDA_VISIBLE_DEVICES).
fn holders(
    rows: &[JobRow],
    inventory: &Inventory,
    assigned: &std::collections::HashMap<String, i64>,
) -> BTreeMap<u32, Vec<i64>> {
    let mut out = BTreeMap::new();
    let Inventory::Gpus { gpus, .. } = inventory else {
        return out;
    };
    for gpu in gpus {
        let mut ids: Vec<i64> = assigned.get(&gpu.uuid).copied().into_iter().collect();
        for (pid, _) in &gpu.processes {
            let group = process_group(*pid);
            for r in rows.iter().filter(|r| !r.ended) {
                let held = r.pid == Some(i64::from(*pid)) || (r.pid.is_some() && r.pid == group);
                if held && !ids.contains(&r.id) {
                    ids.push(r.id);
                }
            }
        }
        out.insert(gpu.index, ids);
    }
    out
}

/// A process's group (jobs lead their own group, so this finds the job of a child).
fn process_group(pid: u32) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name, which may hold spaces, in parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(2)?.parse().ok()
}

fn load_detail(conn: &Connection, id: i64, stream: LogStream) -> Result<JobDetail, String> {
    let job = queue::get(conn, id)
        .map_err(err)?
        .ok_or_else(|| format!("job {id} is no longer in the queue (cleaned?)"))?;
    let r = report::load(conn, job, queue::now_ms()).map_err(err)?;
    let series = r
        .series
        .iter()
        .map(|(name, points)| {
            let pts: Vec<(f64, f64)> = points.iter().map(|&(s, v)| (s as f64, v)).collect();
            (name.clone(), thin(&pts, MAX_POINTS))
        })
        .collect();
    let path = match stream {
        LogStream::Stdout => &r.job.stdout_path,
        LogStream::Stderr => &r.job.stderr_path,
    };
    let (log, log_bytes, log_error) = match tail(path, LOG_WINDOW) {
        Ok((lines, bytes)) => (lines, bytes, None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (
            Vec::new(),
            0,
            Some("no log yet (the job has not started)".into()),
        ),
        Err(e) => (Vec::new(), 0, Some(format!("{}: {e}", path.display()))),
    };
    Ok(JobDetail {
        row: row(&r.job, r.fraction, r.eta_s),
        series,
        step: r.progress.as_ref().map(|p| p.done),
        total: r.progress.as_ref().and_then(|p| p.total),
        throughput: r.throughput,
        alerts: r.alerts.iter().map(ToString::to_string).collect(),
        spec: spec_lines(&r.job.snapshot),
        stream,
        log,
        log_bytes,
        log_error,
    })
}

/// The frozen spec as (field, value) rows, env redacted.
fn spec_lines(s: &Snapshot) -> Vec<(String, String)> {
    let mut out = vec![
        ("argv".to_string(), s.argv.join(" ")),
        ("spec file".into(), s.spec_file.display().to_string()),
        ("workdir".into(), s.spec.workdir.display().to_string()),
        (
            "git commit".into(),
            s.git_commit
                .clone()
                .unwrap_or_else(|| "(not a git checkout)".into()),
        ),
        ("backend".into(), s.spec.backend.clone()),
        ("gpus".into(), requested_gpus(s)),
    ];
    if let Some(m) = &s.spec.base_model {
        out.push(("base model".into(), m.clone()));
    }
    for (k, v) in s.env_redacted() {
        out.push((format!("env {k}"), v));
    }
    for (file, hash) in &s.dataset_sha256 {
        out.push((format!("dataset {file}"), format!("sha256 {hash}")));
    }
    out
}

/// The last `max` lines of a file and its size, reading at most `TAIL_BYTES` from its end.
/// A carriage return rewrites its line, as on a terminal (progress bars).
fn tail(path: &Path, max: usize) -> std::io::Result<(Vec<String>, u64)> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(TAIL_BYTES).read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0); // begun mid-line
    }
    let skip = lines.len().saturating_sub(max);
    let out = lines[skip..]
        .iter()
        .map(|l| {
            l.rsplit('\r')
                .find(|s| !s.is_empty())
                .unwrap_or("")
                .to_string()
        })
        .collect();
    Ok((out, len))
}

fn load_compare(conn: &Connection, ids: &[i64]) -> Result<CompareView, String> {
    let mut runs = Vec::new();
    let mut snaps: Vec<(i64, Snapshot)> = Vec::new();
    for &id in ids {
        let Some(job) = queue::get(conn, id).map_err(err)? else {
            continue; // cleaned since it was marked
        };
        let series = metrics::series(conn, id).map_err(err)?;
        let loss: Vec<(f64, f64)> = series
            .get("loss")
            .map(|p| p.iter().map(|&(s, v)| (s as f64, v)).collect())
            .unwrap_or_default();
        runs.push((id, job.name.clone(), thin(&loss, MAX_POINTS)));
        snaps.push((id, job.snapshot));
    }
    let mut diff = Vec::new();
    if let Some(((first, a), rest)) = snaps.split_first().map(|(f, r)| ((f.0, &f.1), r)) {
        for (id, b) in rest {
            let lines = snapshot::diff(a, b);
            if lines.is_empty() {
                diff.push(format!("#{first} vs #{id}: same spec"));
            }
            diff.extend(lines.into_iter().map(|l| format!("#{first} vs #{id}: {l}")));
        }
    }
    Ok(CompareView { runs, diff })
}

/// Runs a control action as a task on its own thread, with its own read connection.
pub(super) fn start_control(shared: &Shared, task: u64, job: i64, op: JobOp) {
    let label = format!("{} #{job}", op.name());
    super::long::start(
        shared,
        task,
        TaskKind::JobControl,
        label,
        move |s, _cancel| {
            let result = crate::tui::app::catch("the job action", || {
                let store = Store::open(&s.config.db).map_err(err)?;
                let writer = s.writer()?;
                let conn = store.conn();
                match op {
                    JobOp::Cancel => control::cancel(&writer, conn, job, control::grace())
                        .map(|()| format!("job {job} cancelled")),
                    JobOp::Pause => {
                        control::pause(&writer, conn, job, true).map(|how| done(job, "paused", how))
                    }
                    JobOp::Resume => control::pause(&writer, conn, job, false)
                        .map(|how| done(job, "resumed", how)),
                    JobOp::Continue => control::resume_from_checkpoint(&writer, conn, job)
                        .map(|(_, step)| format!("job {job} continues from step {step}")),
                    JobOp::Retry => control::retry(&writer, conn, job, &s.config.jobs_dir)
                        .map(|new| format!("job {job} retried as job {new}")),
                }
                .map_err(err)
                .inspect(|_| {
                    // A queued job may have to wait: the daemon starts it then.
                    if matches!(op, JobOp::Retry | JobOp::Continue) {
                        if let Err(e) = crate::jobs::daemon::ensure_daemon(&s.config.db) {
                            tracing::warn!("the jobs daemon could not start: {e}");
                        }
                    }
                })
            });
            s.send(Reply::Jobs(JobsReply::Controlled { job, op, result }));
        },
    );
}

/// "job 3 paused", with how Slurm did it for a Slurm job.
fn done(job: i64, what: &str, how: Option<&str>) -> String {
    match how {
        Some(how) => format!("job {job} {what} ({how})"),
        None => format!("job {job} {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_reads_only_the_end_and_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout.log");
        let mut text = String::new();
        for i in 0..50_000 {
            text.push_str(&format!("line {i}\n"));
        }
        text.push_str("bar 10%\rbar 50%\n");
        std::fs::write(&path, &text).unwrap();
        let (lines, bytes) = tail(&path, 100).unwrap();
        assert_eq!(bytes, text.len() as u64);
        assert_eq!(lines.len(), 100);
        assert_eq!(lines[98], "line 49999");
        assert_eq!(lines[99], "bar 50%");
        let short = dir.path().join("short.log");
        std::fs::write(&short, "a\nb\n").unwrap();
        assert_eq!(tail(&short, 100).unwrap().0, vec!["a", "b"]);
        assert!(tail(&dir.path().join("missing"), 10).is_err());
    }

    /// Two queued jobs from specs that differ in one argument, the first with a loss curve.
    fn two_jobs(dir: &Path) -> (Store, i64, i64) {
        use crate::jobs::parse::Metric;
        use crate::store::writer::{DbWriter, WriterOptions};
        let db = dir.join("lmdeck.db");
        let writer = DbWriter::open(&db, WriterOptions::default()).unwrap();
        let mut ids = Vec::new();
        for lr in ["1e-4", "2e-4"] {
            let file = dir.join(format!("{lr}.toml"));
            std::fs::write(
                &file,
                format!("name = \"sweep\"\ncommand = [\"train\", \"--lr\", \"{lr}\"]\nenv = {{ HF_TOKEN = \"hf_secret\" }}\n"),
            )
            .unwrap();
            let spec = crate::jobs::spec::load(&file, &[]).unwrap();
            let snap = Snapshot::take(&file, spec).unwrap();
            ids.push(queue::insert(&writer, &snap, &dir.join("jobs")).unwrap());
        }
        let first = ids[0];
        writer
            .call(move |tx| {
                let points: Vec<Metric> = (1..=5)
                    .map(|s| Metric {
                        step: Some(s),
                        values: [("loss".to_string(), 2.0 / s as f64)].into_iter().collect(),
                        ..Metric::default()
                    })
                    .collect();
                metrics::record(tx, first, &points, 0)
            })
            .unwrap();
        (Store::open(&db).unwrap(), ids[0], ids[1])
    }

    #[test]
    fn queue_detail_and_compare_read_a_real_store() {
        let dir = tempfile::tempdir().unwrap();
        let (store, a, b) = two_jobs(dir.path());
        let q = load_queue(store.conn()).unwrap();
        let ids: Vec<i64> = q.rows.iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![a, b]);
        assert!(q.rows.iter().all(|r| r.state == "queued" && r.gpus == "-"));
        assert!(matches!(q.gpus, Inventory::NoGpu { .. }));

        let d = load_detail(store.conn(), a, LogStream::Stdout).unwrap();
        assert_eq!(d.series["loss"].len(), 5);
        assert!(
            d.log.is_empty() && d.log_error.is_some(),
            "no log before it runs"
        );
        let env: Vec<_> = d.spec.iter().filter(|(k, _)| k == "env HF_TOKEN").collect();
        assert_eq!(
            env,
            vec![&("env HF_TOKEN".to_string(), "<redacted>".to_string())]
        );
        assert!(!d.spec.iter().any(|(_, v)| v.contains("hf_secret")));
        assert!(load_detail(store.conn(), 999, LogStream::Stdout).is_err());

        let c = load_compare(store.conn(), &[a, b]).unwrap();
        assert_eq!(c.runs.len(), 2);
        assert_eq!(c.runs[0].2.len(), 5);
        assert!(c.runs[1].2.is_empty());
        assert!(
            c.diff
                .iter()
                .any(|l| l.contains("argv.2") && l.contains("1e-4") && l.contains("2e-4")),
            "{:?}",
            c.diff
        );
        assert!(!c.diff.iter().any(|l| l.contains("hf_secret")));
    }

    #[test]
    fn a_gpu_is_held_by_the_job_whose_process_group_uses_it() {
        let me = std::process::id();
        let group = process_group(me).expect("our own /proc entry");
        let mut row = crate::tui::fixtures_jobs::row(7, "train", "running");
        row.pid = Some(group);
        let mut other = crate::tui::fixtures_jobs::row(8, "idle", "running");
        other.pid = Some(i64::from(u32::MAX));
        let inventory = match crate::tui::fixtures_jobs::two_gpus() {
            Inventory::Gpus { source, mut gpus } => {
                gpus[0].processes = vec![(me, 100)];
                gpus[1].processes = vec![];
                Inventory::Gpus { source, gpus }
            }
            other => other,
        };
        let held = holders(&[row, other], &inventory, &Default::default());
        assert_eq!(held[&0], vec![7]);
        assert!(held[&1].is_empty());
    }
}
