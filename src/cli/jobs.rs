//! `lmdeck jobs ...`: the queue from the command line.

use anyhow::Context as _;
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::time::Duration;

use crate::args::JobsCommand;
use crate::jobs::gpu::{self, Inventory};
use crate::jobs::queue::{self, Job, JobState};
use crate::jobs::{control, daemon, report, runner, snapshot, spec};
use crate::services::Context;
use crate::store::writer::{DbWriter, WriterOptions};
use crate::store::Store;

pub fn run(ctx: &Context, command: JobsCommand) -> anyhow::Result<()> {
    let db = ctx.db_path();
    // The daemon opens the database itself; its loop must not hold this process's writer.
    if let JobsCommand::Daemon {
        stop,
        status,
        foreground,
    } = command
    {
        return daemon_command(&db, stop, status, foreground);
    }
    let writer = DbWriter::open(&db, WriterOptions::default())?;
    let store = Store::open(&db)?;
    let conn = store.conn();
    let jobs_dir = ctx.paths.jobs_dir();
    match command {
        JobsCommand::Submit {
            spec: files,
            backend,
            set,
            wait,
            json,
        } => {
            let how = How::new(ctx, backend.as_deref(), &set);
            submit_with(&writer, conn, &jobs_dir, &files, &how, wait, json)?;
        }
        JobsCommand::List(a) => {
            runner::reconcile(&writer, conn)?;
            let jobs = queue::list(conn)?;
            if a.json {
                let rows: Vec<_> = jobs.iter().map(job_json).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if jobs.is_empty() {
                println!("no jobs; queue one with `lmdeck jobs submit SPEC.toml`");
            } else {
                println!(
                    "{:>5}  {:<10} {:>5}  {:>8}  NAME",
                    "ID", "STATE", "EXIT", "AGE"
                );
                for j in &jobs {
                    let exit = j.exit_code.map_or("-".into(), |c| c.to_string());
                    let age = ago(j.created_ms);
                    let waiting = match (&j.state, &j.wait_reason) {
                        (JobState::Queued, Some(r)) => format!("  (waiting: {r})"),
                        _ => String::new(),
                    };
                    println!(
                        "{:>5}  {:<10} {exit:>5}  {age:>8}  {}{waiting}",
                        j.id,
                        state_label(j),
                        j.name
                    );
                }
            }
        }
        JobsCommand::Show { id, json } => {
            runner::reconcile(&writer, conn)?;
            let job = get(conn, id)?;
            let report = report::load(conn, job, queue::now_ms())?;
            if json {
                let mut value = job_json(&report.job);
                if let Some(obj) = value.as_object_mut() {
                    obj.extend(report.json_fields());
                }
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                print_job(&report.job);
                print_training(&report);
            }
        }
        JobsCommand::Logs { id, follow, stderr } => {
            let job = get(conn, id)?;
            let path = if stderr {
                &job.stderr_path
            } else {
                &job.stdout_path
            };
            print_log(&writer, conn, id, path, follow)?;
        }
        JobsCommand::Cancel { id, grace } => {
            let grace = grace.map_or_else(control::grace, |s| Duration::from_secs_f64(s.max(0.0)));
            control::cancel(&writer, conn, id, grace)?;
            println!("job {id} {}", get(conn, id)?.state.name());
        }
        JobsCommand::Pause { id } => match control::pause(&writer, conn, id, true)? {
            Some(how) => println!("job {id} paused ({how})"),
            None => println!("job {id} paused"),
        },
        JobsCommand::Resume { id } => {
            if get(conn, id)?.state.is_ended() {
                let (checkpoint, step) = control::resume_from_checkpoint(&writer, conn, id)?;
                start_daemon(&writer);
                println!(
                    "job {id} {} again, continuing from step {step} ({})",
                    get(conn, id)?.state.name(),
                    checkpoint.display()
                );
            } else {
                match control::pause(&writer, conn, id, false)? {
                    Some(how) => println!("job {id} resumed ({how})"),
                    None => println!("job {id} resumed"),
                }
            }
        }
        JobsCommand::Retry { id } => {
            let new = control::retry(&writer, conn, id, &jobs_dir)?;
            start_daemon(&writer);
            println!(
                "job {new} {} (retry of job {id})",
                get(conn, new)?.state.name()
            );
        }
        JobsCommand::Clean => {
            runner::reconcile(&writer, conn)?;
            let n = control::clean(&writer, conn)?;
            println!("removed {n} ended job(s) and their logs");
        }
        JobsCommand::Diff { a, b } => {
            let lines = snapshot::diff(&get(conn, a)?.snapshot, &get(conn, b)?.snapshot);
            if lines.is_empty() {
                println!("jobs {a} and {b} have the same snapshot");
            }
            for line in lines {
                println!("{line}");
            }
        }
        JobsCommand::Supervise { id } => runner::supervise(&writer, conn, id)?,
        JobsCommand::Gpus(a) => print_gpus(conn, a.json)?,
        JobsCommand::Daemon { .. } => {}
    }
    Ok(())
}

/// `jobs submit`: queues a spec file, prints the job id (JSON with `json`) and, with `wait`,
/// waits for the end (an error unless it succeeded). Other commands that queue jobs
/// (`lmdeck finetune`) come through here.
pub fn submit(
    ctx: &Context,
    file: &Path,
    set: &[String],
    backend: Option<&str>,
    wait: bool,
    json: bool,
) -> anyhow::Result<i64> {
    let db = ctx.db_path();
    let writer = DbWriter::open(&db, WriterOptions::default())?;
    let store = Store::open(&db)?;
    let how = How::new(ctx, backend, set);
    submit_with(
        &writer,
        store.conn(),
        &ctx.paths.jobs_dir(),
        &[file.to_path_buf()],
        &how,
        wait,
        json,
    )
}

/// How specs are submitted: overrides (a `--backend` flag is one more), the config's default
/// backend and its Slurm settings.
pub struct How {
    set: Vec<String>,
    default_backend: String,
    slurm: crate::jobs::slurm::Settings,
}

impl How {
    pub fn new(ctx: &Context, backend: Option<&str>, set: &[String]) -> Self {
        let mut set = set.to_vec();
        if let Some(b) = backend {
            set.push(format!("backend={b}"));
        }
        let config = &ctx.loaded.config;
        Self {
            set,
            default_backend: config.jobs.backend.clone(),
            slurm: crate::jobs::slurm::Settings::from_config(&config.slurm),
        }
    }
}

/// Queues job specs written by another command (an evaluation matrix), printing nothing;
/// returns the job ids in order. With the Slurm backend they become one array job.
pub fn queue_quietly(
    ctx: &Context,
    files: &[std::path::PathBuf],
    backend: Option<&str>,
) -> anyhow::Result<Vec<i64>> {
    let db = ctx.db_path();
    let writer = DbWriter::open(&db, WriterOptions::default())?;
    let store = Store::open(&db)?;
    let how = How::new(ctx, backend, &[]);
    enqueue(&writer, store.conn(), &ctx.paths.jobs_dir(), files, &how)
}

/// Loads and snapshots the specs, then queues them here or submits them to Slurm.
fn enqueue(
    writer: &DbWriter,
    conn: &rusqlite::Connection,
    jobs_dir: &Path,
    files: &[std::path::PathBuf],
    how: &How,
) -> anyhow::Result<Vec<i64>> {
    let mut snaps = Vec::new();
    for file in files {
        let spec = spec::load_for(file, &how.set, &how.default_backend)?;
        snaps.push(snapshot::Snapshot::take(file, spec)?);
    }
    let slurm = snaps.iter().filter(|s| s.spec.backend == "slurm").count();
    let ids = if slurm == 0 {
        let mut ids = Vec::new();
        for snap in &snaps {
            ids.push(queue::insert(writer, snap, jobs_dir)?);
        }
        runner::schedule(writer)?;
        ids
    } else if slurm == snaps.len() {
        let submitted =
            crate::jobs::slurm::submit::submit(writer, conn, &how.slurm, jobs_dir, &snaps)?;
        submitted.into_iter().map(|(id, _)| id).collect()
    } else {
        anyhow::bail!(
            "these specs name different backends; submit the Slurm ones and the local ones apart"
        );
    };
    // The daemon also watches Slurm jobs.
    start_daemon(writer);
    Ok(ids)
}

fn submit_with(
    writer: &DbWriter,
    conn: &rusqlite::Connection,
    jobs_dir: &Path,
    files: &[std::path::PathBuf],
    how: &How,
    wait: bool,
    json: bool,
) -> anyhow::Result<i64> {
    let ids = enqueue(writer, conn, jobs_dir, files, how)?;
    for &id in &ids[..ids.len().saturating_sub(1)] {
        report_submitted(conn, id, json)?;
    }
    let id = *ids.last().context("no job submitted")?;
    report_submitted(conn, id, json)?;
    if wait {
        for &id in &ids {
            let job = wait_ended(writer, conn, id)?;
            if !matches!(job.state, JobState::Succeeded { .. }) {
                anyhow::bail!(
                    "job {id} {}; its log: `lmdeck jobs logs {id} --stderr`",
                    describe(&job)
                );
            }
        }
    }
    Ok(id)
}

fn report_submitted(conn: &rusqlite::Connection, id: i64, json: bool) -> anyhow::Result<()> {
    let job = get(conn, id)?;
    // A request this host can never meet (no GPU, a missing dependency) fails at once: say
    // why right here.
    let failed = match &job.state {
        JobState::Failed { reason, .. } => reason.clone(),
        _ => None,
    };
    if json {
        println!(
            "{}",
            serde_json::json!({"id": id, "state": job.state.name(), "reason": failed,
                "wait_reason": job.wait_reason, "gpus": job.gpus, "backend": job.backend,
                "slurm_job_id": job.slurm_job_id})
        );
    } else {
        let slurm = job
            .slurm_job_id
            .as_ref()
            .map_or_else(String::new, |s| format!(", Slurm job {s}"));
        println!("job {id} {} ({}{slurm})", job.state.name(), job.name);
        if let Some(reason) = &failed {
            println!("  reason:  {reason}");
        }
        if let Some(reason) = &job.wait_reason {
            println!("  waiting: {reason}");
        }
    }
    Ok(())
}

/// The daemon starts a queued job later if it must wait (GPUs, slots, dependencies); the job
/// is queued either way, so a daemon that cannot start is only a warning.
fn start_daemon(writer: &DbWriter) {
    if let Err(e) = daemon::ensure_daemon(writer.path()) {
        eprintln!(
            "warning: {e}; queued jobs start when a running job ends or on `lmdeck jobs daemon`"
        );
    }
}

fn get(conn: &rusqlite::Connection, id: i64) -> anyhow::Result<Job> {
    Ok(queue::get(conn, id)?.ok_or(runner::RunError::NoJob(id))?)
}

fn job_json(job: &Job) -> serde_json::Value {
    let mut value = serde_json::to_value(job).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert("snapshot".into(), job.snapshot.display_json());
    }
    value
}

fn state_label(job: &Job) -> String {
    match (&job.state, job.paused) {
        (JobState::Running { .. }, true) => "paused".into(),
        (state, _) => state.name().into(),
    }
}

fn describe(job: &Job) -> String {
    match &job.state {
        JobState::Failed {
            exit_code,
            signal,
            reason,
            ..
        } => {
            let mut text = "failed".to_string();
            if let Some(c) = exit_code {
                text += &format!(" with exit code {c}");
            }
            if let Some(s) = signal {
                text += &format!(" by signal {s}");
            }
            if let Some(r) = reason {
                text += &format!(": {r}");
            }
            text
        }
        other => other.name().to_string(),
    }
}

fn ago(ms: i64) -> String {
    let secs = (queue::now_ms() - ms).max(0) / 1000;
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}

fn print_job(job: &Job) {
    let snap = &job.snapshot;
    println!("job {}: {}", job.id, job.name);
    println!("  state:    {}", describe(job));
    if job.backend == "slurm" {
        println!(
            "  backend:  slurm (Slurm job {})",
            job.slurm_job_id.as_deref().unwrap_or("not submitted yet")
        );
    }
    if job.paused {
        println!("  paused:   yes");
    }
    if let Some(code) = job.exit_code {
        println!("  exit:     {code}");
    }
    println!("  created:  {} ago", ago(job.created_ms));
    if let (Some(s), Some(e)) = (job.started_ms, job.ended_ms) {
        println!("  ran:      {:.1} s", (e - s) as f64 / 1000.0);
    }
    if let (JobState::Queued, Some(reason)) = (&job.state, &job.wait_reason) {
        println!("  waiting:  {reason}");
    }
    if !job.gpus.is_empty() {
        println!("  gpus:     {}", job.gpus.join(", "));
    }
    println!("  attempts: {}", job.attempts);
    println!("  argv:     {:?}", snap.argv);
    println!("  workdir:  {}", snap.spec.workdir.display());
    for (k, v) in snap.env_redacted() {
        println!("  env:      {k}={v}");
    }
    if let Some(commit) = &snap.git_commit {
        println!("  git:      {commit}");
    }
    for (file, hash) in &snap.dataset_sha256 {
        println!("  dataset:  {file} sha256 {hash}");
    }
    if let JobState::Lost { last_lines } = &job.state {
        println!("  last lines:\n{last_lines}");
    }
    println!("  logs:     {}", job.log_dir.display());
}

/// Progress, latest metrics and alerts, below the job's description.
fn print_training(report: &report::JobReport) {
    if let Some(p) = &report.progress {
        let total = p.total.map_or_else(|| "?".into(), |t| t.to_string());
        let mut line = format!("  progress: {}/{total}", p.done);
        if let Some(f) = report.fraction {
            line += &format!(" ({:.0}%)", f * 100.0);
        }
        if let Some(t) = report.throughput {
            line += &format!(", {t:.2} it/s");
        }
        if let Some(eta) = report.eta_s {
            line += &format!(", ETA {}", crate::jobs::derive::human_duration(eta));
        }
        println!("{line}");
    }
    let names: Vec<&String> = report.series.keys().collect();
    if !names.is_empty() {
        let mut parts = Vec::new();
        for name in names {
            if let Some((step, value)) = report.last(name) {
                parts.push(format!("{name} {value:.4} (step {step})"));
            }
        }
        println!("  metrics:  {}", parts.join(", "));
        if let (Some(first), Some(last)) = (
            report.series.get("loss").and_then(|s| s.first()),
            report.last("loss"),
        ) {
            println!(
                "  loss:     {:.4} at step {} -> {:.4} at step {}",
                first.1, first.0, last.1, last.0
            );
        }
        if let Some(line) = checkpoint_evals(report) {
            println!("  evals:    {line}");
        }
    }
    for alert in &report.alerts {
        println!(
            "  ALERT:    {}",
            crate::util::safe::one_line(&alert.to_string())
        );
    }
}

/// A fine-tune's checkpoint evaluations (`finetune --eval-set`): the metric at every
/// evaluated step and the step chosen (`eval_chosen_<metric>`, logged at the end).
fn checkpoint_evals(report: &report::JobReport) -> Option<String> {
    let metric = report
        .series
        .keys()
        .find_map(|k| k.strip_prefix("eval_chosen_").filter(|m| *m != "step"))
        .or_else(|| {
            // Still training: the answer metric logged so far.
            crate::eval::score::ANSWER_METRICS
                .iter()
                .chain(&["judge_correct", "judge_score"])
                .copied()
                .find(|m| report.series.contains_key(&format!("eval_{m}")))
        })?;
    let points = report.series.get(&format!("eval_{metric}"))?;
    let values: Vec<String> = points
        .iter()
        .map(|(step, v)| format!("step {step} {v:.4}"))
        .collect();
    let chosen = report
        .last("eval_chosen_step")
        .map_or(String::new(), |(_, s)| format!("; chosen step {s}"));
    Some(format!("{metric}: {}{chosen}", values.join(", ")))
}

/// Waits for the job to end; unbounded on purpose (the user asked to wait), but a vanished
/// job ends it through reconciliation.
fn wait_ended(writer: &DbWriter, conn: &rusqlite::Connection, id: i64) -> anyhow::Result<Job> {
    loop {
        runner::reconcile(writer, conn)?;
        let job = get(conn, id)?;
        if job.state.is_ended() {
            return Ok(job);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn print_log(
    writer: &DbWriter,
    conn: &rusqlite::Connection,
    id: i64,
    path: &Path,
    follow: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut offset = 0u64;
    let mut buf = Vec::new();
    loop {
        // Read the state first, so the bytes written before the end are all printed.
        let ended = !follow || {
            runner::reconcile(writer, conn)?;
            get(conn, id)?.state.is_ended()
        };
        if let Ok(mut file) = std::fs::File::open(path) {
            file.seek(std::io::SeekFrom::Start(offset))
                .with_context(|| format!("reading {}", path.display()))?;
            buf.clear();
            offset += file.read_to_end(&mut buf)? as u64;
            out.write_all(&buf)?;
            out.flush()?;
        }
        if ended {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn daemon_command(db: &Path, stop: bool, status: bool, foreground: bool) -> anyhow::Result<()> {
    let shown = db.display();
    if stop {
        match daemon::stop(db)? {
            Some(pid) => {
                println!("stopped the jobs daemon (pid {pid}) for {shown}; running jobs go on")
            }
            None => println!("no jobs daemon runs for {shown}"),
        }
    } else if status {
        let st = daemon::status(db)?;
        match st.pid {
            Some(pid) => println!("the jobs daemon runs for {shown} (pid {pid})"),
            None => println!("no jobs daemon runs for {shown}"),
        }
        println!("  lock: {}", st.lock.display());
        println!("  log:  {}", st.log.display());
    } else if foreground {
        if !daemon::run_foreground(db)? {
            let pid = daemon::status(db)?
                .pid
                .map_or("?".into(), |p| p.to_string());
            println!("a jobs daemon already runs for {shown} (pid {pid})");
        }
    } else {
        let done = daemon::ensure_daemon(db)?;
        let pid = done.status.pid.map_or("?".into(), |p| p.to_string());
        if done.started {
            println!("started the jobs daemon for {shown} (pid {pid})");
        } else {
            println!("a jobs daemon already runs for {shown} (pid {pid})");
        }
        println!("  log: {}", done.status.log.display());
    }
    Ok(())
}

/// The inventory with the job holding each GPU.
fn print_gpus(conn: &rusqlite::Connection, json: bool) -> anyhow::Result<()> {
    let inv = gpu::read();
    let holder = gpu::holders(&queue::list(conn)?);
    match inv {
        Inventory::NoGpu { reason } => {
            if json {
                println!("{}", serde_json::json!({"gpus": [], "no_gpu": reason}));
            } else {
                println!("no GPU: {}", crate::util::safe::one_line(&reason));
            }
        }
        Inventory::Gpus { source, gpus } => {
            if json {
                let rows: Vec<serde_json::Value> = gpus
                    .iter()
                    .map(|g| {
                        let mut v = serde_json::to_value(g).unwrap_or_default();
                        if let Some(obj) = v.as_object_mut() {
                            obj.insert("memory_free_mb".into(), g.memory_free_mb().into());
                            obj.insert("job".into(), holder.get(&g.uuid).copied().into());
                        }
                        v
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"source": source, "gpus": rows})
                    )?
                );
            } else {
                println!("{} GPU(s), read from {source}", gpus.len());
                println!(
                    "{:>3}  {:<40} {:<24} {:>5} {:>17} {:>6}  JOB",
                    "IDX", "UUID", "NAME", "UTIL", "MEMORY MB", "TEMP"
                );
                let opt =
                    |v: Option<u32>, unit: &str| v.map_or("-".into(), |v| format!("{v}{unit}"));
                for g in &gpus {
                    let job = holder
                        .get(&g.uuid)
                        .map_or("-".into(), |id| format!("job {id}"));
                    let procs = if g.processes.is_empty() {
                        String::new()
                    } else {
                        format!(" ({} process(es))", g.processes.len())
                    };
                    println!(
                        "{:>3}  {:<40} {:<24} {:>5} {:>17} {:>6}  {job}{procs}",
                        g.index,
                        crate::util::safe::one_line(&g.uuid),
                        crate::util::safe::one_line(&g.name),
                        opt(g.utilization_pct, "%"),
                        format!("{}/{}", g.memory_used_mb, g.memory_total_mb),
                        opt(g.temperature_c, "C"),
                    );
                }
            }
        }
    }
    Ok(())
}
