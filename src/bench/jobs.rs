//! Jobs benchmarks: how fast the supervisor's log follower parses and stores what a trainer
//! prints (against a plain read of the same bytes, and against a 50,000 lines/s flood), and
//! how long a submitted job takes to start (against spawning the same command directly).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::args::BenchJobsArgs;
use crate::jobs::follow::LogFollower;
use crate::jobs::{queue, runner, snapshot, spec};
use crate::services::Context;
use crate::store::writer::{DbWriter, WriterOptions};
use crate::store::Store;

/// One training step as a trainer prints it: a JSON log line on stdout, and every 50 steps a
/// tqdm bar on stderr (`\r`-separated, as tqdm writes it).
fn step_lines(step: u64, total: u64, out: &mut Vec<u8>, err: &mut Vec<u8>) {
    let loss = 4.0 / (1.0 + step as f64 / 1000.0);
    let _ = writeln!(
        out,
        "{{\"step\": {step}, \"loss\": {loss:.5}, \"learning_rate\": 0.0001, \"grad_norm\": 1.25}}"
    );
    if step.is_multiple_of(50) {
        let _ = write!(
            err,
            "\r {:3}%|####      | {step}/{total} [00:10<00:20, 5000.00it/s]",
            step * 100 / total.max(1)
        );
    }
}

fn open_job(writer: &DbWriter) -> anyhow::Result<i64> {
    Ok(writer.call(|tx| {
        tx.execute(
            "INSERT INTO jobs (name, state, snapshot, created_ms, log_dir, stdout_path, stderr_path) \
             VALUES ('bench', 'running', '{}', 0, '', '', '')",
            [],
        )?;
        Ok(tx.last_insert_rowid())
    })?)
}

fn stored_losses(conn: &rusqlite::Connection, id: i64) -> anyhow::Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM job_metrics WHERE job_id = ?1 AND name = 'loss'",
        [id],
        |r| r.get(0),
    )?)
}

fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Parse-and-store capacity on a log written beforehand, against reading the same bytes.
fn capacity(
    dir: &Path,
    writer: &DbWriter,
    conn: &rusqlite::Connection,
    lines: u64,
) -> anyhow::Result<f64> {
    let (stdout, stderr) = (dir.join("cap.out"), dir.join("cap.err"));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    for step in 1..=lines {
        step_lines(step, lines, &mut out, &mut err);
    }
    std::fs::write(&stdout, &out)?;
    std::fs::write(&stderr, &err)?;
    let bytes = (out.len() + err.len()) as f64;

    let started = Instant::now();
    let raw = std::fs::read(&stdout)?.len() + std::fs::read(&stderr)?.len();
    let read_s = started.elapsed().as_secs_f64();
    std::hint::black_box(raw);

    let id = open_job(writer)?;
    let mut follower = LogFollower::for_files(conn, id, &stdout, &stderr)?;
    let started = Instant::now();
    while follower.poll() {
        follower.flush(writer, false)?;
    }
    follower.finish(writer)?;
    let follow_s = started.elapsed().as_secs_f64();
    let stored = stored_losses(conn, id)?;
    let per_s = lines as f64 / follow_s;
    println!(
        "capacity: {lines} steps ({:.1} MB) parsed and stored in {follow_s:.2} s = {per_s:.0} lines/s \
         ({:.1}x the 50,000 lines/s target); a plain read of the same bytes: {:.3} s ({:.0}x faster)",
        bytes / 1e6,
        per_s / 50_000.0,
        read_s,
        follow_s / read_s.max(1e-9)
    );
    anyhow::ensure!(stored == lines as i64, "stored {stored} of {lines} losses");
    Ok(per_s)
}

/// A job printing `rate` lines per second for `seconds`, followed live as the supervisor does.
fn flood(
    dir: &Path,
    writer: &DbWriter,
    conn: &rusqlite::Connection,
    rate: u64,
    seconds: f64,
) -> anyhow::Result<()> {
    let (stdout, stderr) = (dir.join("flood.out"), dir.join("flood.err"));
    std::fs::write(&stdout, b"")?;
    std::fs::write(&stderr, b"")?;
    let total = (rate as f64 * seconds) as u64;
    let printer = {
        let (stdout, stderr) = (stdout.clone(), stderr.clone());
        std::thread::spawn(move || -> std::io::Result<Duration> {
            let mut out = std::fs::OpenOptions::new().append(true).open(stdout)?;
            let mut err = std::fs::OpenOptions::new().append(true).open(stderr)?;
            let started = Instant::now();
            let mut step = 0u64;
            while step < total {
                // Print what is due by now, in 10 ms batches.
                let due = ((started.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
                let (mut o, mut e) = (Vec::new(), Vec::new());
                while step < due {
                    step += 1;
                    step_lines(step, total, &mut o, &mut e);
                }
                out.write_all(&o)?;
                err.write_all(&e)?;
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(started.elapsed())
        })
    };
    let id = open_job(writer)?;
    let mut follower = LogFollower::for_files(conn, id, &stdout, &stderr)?;
    let hwm_before = vm_hwm_kb();
    let mut polls = 0u64;
    // The supervisor's loop: poll, flush every 0.5 s, sleep when caught up.
    while !printer.is_finished() {
        polls += 1;
        let more = follower.poll();
        follower.flush(writer, false)?;
        if !more {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let printed_in = printer
        .join()
        .map_err(|_| anyhow::anyhow!("the printer thread panicked"))??;
    let caught_up = Instant::now();
    follower.finish(writer)?;
    let lag = caught_up.elapsed();
    let stored = stored_losses(conn, id)?;
    println!(
        "flood: {total} lines at {rate} lines/s over {:.1} s; {polls} polls; caught up {:.0} ms \
         after the last line; {stored} of {total} losses stored{}",
        printed_in.as_secs_f64(),
        lag.as_secs_f64() * 1000.0,
        match (hwm_before, vm_hwm_kb()) {
            (Some(a), Some(b)) => format!(
                "; peak RSS {:.0} MB before the flood, {:.0} MB after (logs stay on disk)",
                a as f64 / 1024.0,
                b as f64 / 1024.0
            ),
            _ => String::new(),
        }
    );
    anyhow::ensure!(stored == total as i64, "lost metrics: {stored} of {total}");
    Ok(())
}

/// Submit to running, against spawning the same command directly.
fn submit_to_start(
    dir: &Path,
    writer: &DbWriter,
    conn: &rusqlite::Connection,
    runs: usize,
) -> anyhow::Result<()> {
    let spec_file = dir.join("quick.toml");
    std::fs::write(
        &spec_file,
        "name = \"quick\"\ncommand = [\"sleep\", \"0.2\"]\n",
    )?;
    let jobs_dir = dir.join("jobs");
    let mut submit = Vec::new();
    let mut direct = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let mut child = std::process::Command::new("sleep").arg("0.2").spawn()?;
        direct.push(started.elapsed().as_secs_f64());
        child.wait()?;

        let started = Instant::now();
        let loaded = spec::load(&spec_file, &[])?;
        let snap = snapshot::Snapshot::take(&spec_file, loaded)?;
        let id = queue::insert(writer, &snap, &jobs_dir)?;
        runner::schedule(writer)?;
        loop {
            let job = queue::get(conn, id)?.ok_or_else(|| anyhow::anyhow!("job {id} vanished"))?;
            if job.pid.is_some() || job.state.is_ended() {
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "job {id} did not start in 30 s"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        submit.push(started.elapsed().as_secs_f64());
        // Let it end so the next one has the slot.
        while !queue::get(conn, id)?.is_some_and(|j| j.state.is_ended()) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (s, d) = (median(&mut submit), median(&mut direct));
    println!(
        "submit to start: median {:.0} ms over {runs} jobs (spec load, snapshot, queue, detached \
         supervisor, job started); spawning the command directly: {:.2} ms ({:.0}x)",
        s * 1000.0,
        d * 1000.0,
        s / d.max(1e-9)
    );
    Ok(())
}

/// A folder under the system temp dir, removed when dropped.
struct ScratchDir(std::path::PathBuf);

impl ScratchDir {
    fn new() -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("lmdeck-bench-jobs-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn run(_ctx: &Context, args: &BenchJobsArgs) -> anyhow::Result<()> {
    let dir = ScratchDir::new()?;
    let db = dir.path().join("bench.db");
    let writer = DbWriter::open(&db, WriterOptions::default())?;
    let store = Store::open(&db)?;
    let conn = store.conn();
    capacity(dir.path(), &writer, conn, args.capacity_lines)?;
    flood(dir.path(), &writer, conn, args.lines_per_sec, args.seconds)?;
    // A database of its own: the rows above count as running jobs.
    let queue_db = dir.path().join("queue.db");
    let queue_writer = DbWriter::open(&queue_db, WriterOptions::default())?;
    let queue_store = Store::open(&queue_db)?;
    submit_to_start(
        dir.path(),
        &queue_writer,
        queue_store.conn(),
        args.submits.max(1),
    )?;
    Ok(())
}
