//! Watching many Slurm jobs costs one `squeue --json` per poll, whatever their number, and the
//! poll interval backs off while nothing changes. `squeue` here is a script on PATH that counts
//! its calls and answers with 1,000 jobs built from a record of Slurm 22.05's output: the
//! watcher and the store are the real ones. (The real cluster is exercised by slurm_jobs.rs.)

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use lmdeck::jobs::queue::{self, JobState};
use lmdeck::jobs::slurm::watch::Watcher;
use lmdeck::store::writer::{DbWriter, WriterOptions};
use lmdeck::store::Store;

const JOBS: usize = 1000;

/// A `squeue --json` answer with `n` running jobs (ids 1..=n), each a copy of the recorded
/// running job.
fn squeue_answer(n: usize) -> String {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/slurm/22.05/squeue_pending_running.json"
    ))
    .unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let running = doc["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job_state"] == "RUNNING")
        .unwrap()
        .clone();
    let jobs: Vec<serde_json::Value> = (1..=n)
        .map(|id| {
            let mut j = running.clone();
            j["job_id"] = id.into();
            j
        })
        .collect();
    doc["jobs"] = jobs.into();
    doc.to_string()
}

fn fake_squeue(dir: &Path) -> std::path::PathBuf {
    let answer = dir.join("squeue.json");
    std::fs::write(&answer, squeue_answer(JOBS)).unwrap();
    let calls = dir.join("calls");
    let script = dir.join("bin/squeue");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    let mut f = std::fs::File::create(&script).unwrap();
    writeln!(
        f,
        "#!/bin/sh\necho \"$*\" >> '{}'\ncat '{}'",
        calls.display(),
        answer.display()
    )
    .unwrap();
    drop(f);
    std::process::Command::new("chmod")
        .args(["+x", script.to_str().unwrap()])
        .status()
        .unwrap();
    calls
}

fn squeue_calls(calls: &Path) -> usize {
    std::fs::read_to_string(calls).map_or(0, |t| t.lines().count())
}

#[test]
fn a_thousand_slurm_jobs_cost_one_squeue_per_poll_and_quiet_polls_back_off() {
    let dir = tempfile::tempdir().unwrap();
    let calls = fake_squeue(dir.path());
    // This test binary is its own process: its PATH and poll settings touch nothing else.
    let path = format!(
        "{}:{}",
        dir.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::env::set_var("PATH", path);
    std::env::set_var("LMDECK_SLURM_POLL_MIN_MS", "50");
    std::env::set_var("LMDECK_SLURM_POLL_MAX_MS", "400");

    let db = dir.path().join("jobs.db");
    let store = Store::open(&db).unwrap();
    let writer = DbWriter::open(&db, WriterOptions::default()).unwrap();
    // 1,000 queued Slurm jobs, as `jobs submit --backend slurm` leaves them after sbatch.
    let snapshot = serde_json::json!({
        "spec_file": "/x/spec.toml",
        "spec": lmdeck_spec(dir.path()),
        "argv": ["true"], "env": {}, "dataset_sha256": {}, "git_commit": null
    })
    .to_string();
    store.conn().execute_batch("BEGIN").unwrap();
    for id in 1..=JOBS {
        store
            .conn()
            .execute(
                "INSERT INTO jobs (name, state, snapshot, created_ms, log_dir, stdout_path, \
                 stderr_path, backend, slurm_job_id) VALUES (?1, 'queued', ?2, 0, '/nonexistent', \
                 '/nonexistent/out', '/nonexistent/err', 'slurm', ?3)",
                rusqlite::params![format!("job {id}"), snapshot, id.to_string()],
            )
            .unwrap();
    }
    store.conn().execute_batch("COMMIT").unwrap();

    let mut watcher = Watcher::new();
    let started = Instant::now();
    let tick = watcher.tick(&writer, store.conn()).unwrap();
    let first = started.elapsed();
    assert!(tick.polled);
    assert_eq!(tick.changed.len(), JOBS, "every job became running");
    assert_eq!(squeue_calls(&calls), 1, "one squeue for {JOBS} jobs");
    let running = queue::list(store.conn())
        .unwrap()
        .into_iter()
        .filter(|j| matches!(j.state, JobState::Running { .. }))
        .count();
    assert_eq!(running, JOBS);
    eprintln!("first poll of {JOBS} jobs (one squeue, {JOBS} state changes): {first:?}");

    // Not due yet: no call at all.
    assert!(!watcher.tick(&writer, store.conn()).unwrap().polled);
    assert_eq!(squeue_calls(&calls), 1);

    // Nothing changes from now on: each poll is one call, and the interval doubles to the cap.
    let mut intervals = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while intervals.len() < 5 && Instant::now() < deadline {
        std::thread::sleep(watcher.interval() + Duration::from_millis(5));
        let before = squeue_calls(&calls);
        let started = Instant::now();
        let tick = watcher.tick(&writer, store.conn()).unwrap();
        if tick.polled {
            assert!(tick.changed.is_empty());
            assert_eq!(squeue_calls(&calls), before + 1, "one squeue per poll");
            intervals.push(watcher.interval().as_millis());
            eprintln!("quiet poll of {JOBS} jobs: {:?}", started.elapsed());
        }
    }
    assert_eq!(
        intervals,
        [100, 200, 400, 400, 400],
        "back-off from 50 ms to the cap"
    );
}

/// A minimal job spec as the snapshot stores it.
fn lmdeck_spec(dir: &Path) -> serde_json::Value {
    let spec = dir.join("spec.toml");
    std::fs::write(
        &spec,
        "name = \"scale\"\ncommand = [\"true\"]\nbackend = \"slurm\"\n",
    )
    .unwrap();
    let loaded = lmdeck::jobs::spec::load(&spec, &[]).unwrap();
    serde_json::to_value(loaded).unwrap()
}
