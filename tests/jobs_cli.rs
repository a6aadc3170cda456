//! Fine-tune jobs through the real binary: real subprocesses, detached supervisors, the queue.

mod common;

use common::Env;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/jobs/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The binary with jobs under the test's temp dir and a short cancel grace.
fn cmd(env: &Env) -> Command {
    let mut cmd = env.cmd();
    cmd.env("LMDECK_JOBS_DIR", env.path("jobs"))
        .env("LMDECK_JOBS_GRACE_SECS", "1");
    cmd
}

fn ok(env: &Env, args: &[&str]) -> String {
    let out = cmd(env).args(args).output().expect("run lmdeck");
    assert!(
        out.status.success(),
        "lmdeck {args:?} failed\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn fails(env: &Env, args: &[&str]) -> String {
    let out = cmd(env).args(args).output().expect("run lmdeck");
    assert!(!out.status.success(), "lmdeck {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn spec(env: &Env, file: &str, name: &str, command: &[String], extra: &str) -> PathBuf {
    let argv = serde_json::to_string(command).unwrap();
    env.write(
        file,
        format!("name = \"{name}\"\ncommand = {argv}\n{extra}"),
    )
}

fn submit(env: &Env, spec: &Path, extra: &[&str]) -> i64 {
    let mut args = vec!["jobs", "submit", spec.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let out: Value = serde_json::from_str(&ok(env, &args)).unwrap();
    out["id"].as_i64().expect("id")
}

fn show(env: &Env, id: i64) -> Value {
    serde_json::from_str(&ok(env, &["jobs", "show", &id.to_string(), "--json"])).unwrap()
}

/// Polls `jobs show` until `done` holds (generous bound for a loaded CI machine); a job not
/// yet inserted (its submitter still starting) counts as not done.
fn wait_for(env: &Env, id: i64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = cmd(env)
            .args(["jobs", "show", &id.to_string(), "--json"])
            .output()
            .expect("run lmdeck");
        let job: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        if done(&job) {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} never {what}: {job:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_state(env: &Env, id: i64, state: &str) -> Value {
    wait_for(env, id, state, |j| j["state"] == state)
}

fn wait_file(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if !text.trim().is_empty() {
                return text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn python(args: &[&str]) -> Vec<String> {
    let mut v = vec!["python3".to_string(), fixture("metrics.py")];
    v.extend(args.iter().map(|s| s.to_string()));
    v
}

#[test]
fn a_job_succeeds_with_its_logs_on_disk_and_secrets_redacted_in_display_only() {
    let env = Env::new();
    let file = spec(
        &env,
        "ok.toml",
        "metrics",
        &python(&[]),
        "env = { MSG = \"hello\", API_KEY = \"sk-real-value\" }\n",
    );
    let id = submit(&env, &file, &[]);
    let job = wait_state(&env, id, "succeeded");
    assert_eq!(job["exit_code"], 0);
    let log = std::fs::read_to_string(job["stdout_path"].as_str().unwrap()).unwrap();
    assert!(log.contains("\"loss\""), "{log}");
    assert!(
        log.contains("secret sk-real-value"),
        "the job gets the exact env: {log}"
    );
    assert!(job["stdout_path"]
        .as_str()
        .unwrap()
        .starts_with(env.path("jobs").to_str().unwrap()));
    assert_eq!(job["snapshot"]["env"]["API_KEY"], "<redacted>");
    let text = ok(&env, &["jobs", "show", &id.to_string()]);
    assert!(
        text.contains("API_KEY=<redacted>") && !text.contains("sk-real-value"),
        "{text}"
    );
    let logs = ok(&env, &["jobs", "logs", &id.to_string(), "--follow"]);
    assert!(logs.contains("message hello"), "{logs}");
    let list = ok(&env, &["jobs", "list"]);
    assert!(
        list.contains("succeeded") && list.contains("metrics"),
        "{list}"
    );
}

#[test]
fn a_crash_is_recorded_as_failed_with_its_exit_code() {
    let env = Env::new();
    let file = spec(
        &env,
        "crash.toml",
        "crash",
        &["sh".into(), fixture("crash.sh")],
        "",
    );
    let id = submit(&env, &file, &[]);
    let job = wait_state(&env, id, "failed");
    assert_eq!(job["exit_code"], 3);
    let err = std::fs::read_to_string(job["stderr_path"].as_str().unwrap()).unwrap();
    assert!(err.contains("out of memory"), "{err}");
}

#[test]
fn cancel_kills_the_whole_tree_of_a_job_that_ignores_sigterm() {
    let env = Env::new();
    let pidfile = env.path("grandchild.pid");
    let argv = vec![
        "sh".into(),
        fixture("stubborn.sh"),
        pidfile.display().to_string(),
    ];
    let file = spec(&env, "stubborn.toml", "stubborn", &argv, "");
    let id = submit(&env, &file, &[]);
    wait_state(&env, id, "running");
    let grandchild: i64 = wait_file(&pidfile).trim().parse().unwrap();
    assert!(alive(grandchild), "the grandchild runs before the cancel");
    let out = ok(&env, &["jobs", "cancel", &id.to_string(), "--grace", "0.5"]);
    assert!(out.contains("cancelled"), "{out}");
    let job = wait_state(&env, id, "cancelled");
    assert!(
        !alive(grandchild),
        "grandchild {grandchild} survived: {job:#}"
    );
    let pid = job["pid"].as_i64().unwrap();
    assert!(!alive(pid), "the job's leader survived");
}

/// Alive = present in /proc and not a zombie.
fn alive(pid: i64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        let state = s
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next());
        !matches!(state, Some("Z" | "X"))
    })
}

#[test]
fn a_spec_edited_after_submit_runs_as_submitted_and_diff_shows_the_change() {
    let env = Env::new();
    let file = spec(
        &env,
        "edit.toml",
        "edit",
        &python(&[]),
        "env = { MSG = \"first\" }\n",
    );
    let a = submit(&env, &file, &[]);
    spec(
        &env,
        "edit.toml",
        "edit",
        &python(&[]),
        "env = { MSG = \"second\" }\n",
    );
    let job = wait_state(&env, a, "succeeded");
    let log = std::fs::read_to_string(job["stdout_path"].as_str().unwrap()).unwrap();
    assert!(log.contains("message first"), "{log}");
    let b = submit(&env, &file, &["--set", "priority=7"]);
    wait_state(&env, b, "succeeded");
    let diff = ok(&env, &["jobs", "diff", &a.to_string(), &b.to_string()]);
    assert!(diff.contains("env.MSG: \"first\" -> \"second\""), "{diff}");
    assert!(diff.contains("spec.priority: 0 -> 7"), "{diff}");
}

#[test]
fn spec_errors_name_the_file_the_field_and_the_line() {
    let env = Env::new();
    let file = spec(&env, "bad.toml", "bad", &python(&[]), "gpu = 1\n");
    let err = fails(&env, &["jobs", "submit", file.to_str().unwrap()]);
    assert!(err.contains("bad.toml:3") && err.contains("gpu"), "{err}");
    let file = spec(
        &env,
        "bad2.toml",
        "bad",
        &python(&[]),
        "\n\ntime_limit = \"soon\"\n",
    );
    let err = fails(&env, &["jobs", "submit", file.to_str().unwrap()]);
    assert!(
        err.contains("bad2.toml:5") && err.contains("time_limit"),
        "{err}"
    );
    let file = spec(&env, "bad3.toml", "bad", &python(&[]), "");
    let err = fails(
        &env,
        &[
            "jobs",
            "submit",
            file.to_str().unwrap(),
            "--set",
            "priority",
        ],
    );
    assert!(err.contains("--set priority"), "{err}");
}

#[test]
fn killing_the_submitter_does_not_stop_the_job_and_the_queue_moves_on() {
    let env = Env::new();
    let gate = env.path("release");
    let argv = vec!["sh".into(), fixture("gate.sh"), gate.display().to_string()];
    let file = spec(&env, "gate.toml", "gate", &argv, "");
    let mut submitter = cmd(&env)
        .args(["jobs", "submit", file.to_str().unwrap(), "--wait"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let first = 1;
    wait_for(&env, first, "ran", |j| j["state"] == "running");
    // One slot (the default): a second job waits in the queue.
    let quick = spec(&env, "quick.toml", "quick", &python(&[]), "");
    let second = submit(&env, &quick, &[]);
    assert_eq!(show(&env, second)["state"], "queued");
    submitter.kill().unwrap();
    submitter.wait().unwrap();
    std::fs::write(&gate, "go").unwrap();
    let job = wait_state(&env, first, "succeeded");
    assert_eq!(job["exit_code"], 0);
    // The first job's supervisor started the queued one when it finished.
    assert_eq!(wait_state(&env, second, "succeeded")["exit_code"], 0);
}

#[test]
fn a_job_whose_processes_vanished_is_marked_lost_with_its_last_lines() {
    let env = Env::new();
    let gate = env.path("never");
    let argv = vec!["sh".into(), fixture("gate.sh"), gate.display().to_string()];
    let file = spec(&env, "lost.toml", "lost", &argv, "");
    let id = submit(&env, &file, &[]);
    let job = wait_for(&env, id, "ran", |j| {
        j["state"] == "running" && j["supervisor_pid"].is_i64()
    });
    let log = job["stdout_path"].as_str().unwrap();
    wait_file(Path::new(log));
    let (sup, pid) = (
        job["supervisor_pid"].as_i64().unwrap(),
        job["pid"].as_i64().unwrap(),
    );
    // SIGKILL the supervisor first, so it cannot record the job's end.
    unsafe {
        libc::kill(sup as i32, libc::SIGKILL);
        libc::kill(-(pid as i32), libc::SIGKILL);
    }
    let job = wait_state(&env, id, "lost");
    assert!(
        job["last_lines"].as_str().unwrap().contains("waiting for"),
        "{job:#}"
    );
    // An ended job can be cleaned away, logs and all.
    ok(&env, &["jobs", "clean"]);
    assert!(!Path::new(log).exists());
    assert_eq!(ok(&env, &["jobs", "list", "--json"]).trim(), "[]");
}
