//! Helpers shared by the jobs tests: the binary with jobs under the test's temp dir, waits
//! bounded by generous deadlines, and spec files.
#![allow(dead_code)]

use super::common::Env;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/jobs/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The binary with jobs under the test's temp dir and a short cancel grace. The data dir is
/// the temp dir too, so the jobs daemon that submit starts logs there (jobs need no model),
/// and the daemon polls fast.
pub fn cmd(env: &Env) -> Command {
    let mut cmd = env.cmd();
    cmd.env("LMDECK_JOBS_DIR", env.path("jobs"))
        .env("LMDECK_JOBS_GRACE_SECS", "1")
        .env("LMDECK_DATA_DIR", env.path("data"))
        .env("LMDECK_JOBS_DAEMON_TICK_MS", "200");
    cmd
}

/// Stops the test's jobs daemon when dropped (also when the test panics), so no daemon
/// outlives its test.
pub struct DaemonGuard<'a>(pub &'a Env);

impl Drop for DaemonGuard<'_> {
    fn drop(&mut self) {
        let _ = cmd(self.0).args(["jobs", "daemon", "--stop"]).output();
    }
}

pub fn ok(env: &Env, args: &[&str]) -> String {
    let out = cmd(env).args(args).output().expect("run lmdeck");
    assert!(
        out.status.success(),
        "lmdeck {args:?} failed\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

pub fn fails(env: &Env, args: &[&str]) -> String {
    let out = cmd(env).args(args).output().expect("run lmdeck");
    assert!(!out.status.success(), "lmdeck {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).to_string()
}

pub fn spec(env: &Env, file: &str, name: &str, command: &[String], extra: &str) -> PathBuf {
    let argv = serde_json::to_string(command).unwrap();
    env.write(
        file,
        format!("name = \"{name}\"\ncommand = {argv}\n{extra}"),
    )
}

pub fn submit(env: &Env, spec: &Path, extra: &[&str]) -> i64 {
    let mut args = vec!["jobs", "submit", spec.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let out: Value = serde_json::from_str(&ok(env, &args)).unwrap();
    out["id"].as_i64().expect("id")
}

pub fn show(env: &Env, id: i64) -> Value {
    serde_json::from_str(&ok(env, &["jobs", "show", &id.to_string(), "--json"])).unwrap()
}

/// Polls `jobs show` until `done` holds (generous bound for a loaded CI machine); a job not
/// yet inserted (its submitter still starting) counts as not done.
pub fn wait_for(env: &Env, id: i64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    wait_for_within(env, id, what, Duration::from_secs(120), done)
}

/// `wait_for` with its own bound, for jobs that train for minutes.
pub fn wait_for_within(
    env: &Env,
    id: i64,
    what: &str,
    bound: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + bound;
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

pub fn wait_state(env: &Env, id: i64, state: &str) -> Value {
    wait_for(env, id, state, |j| j["state"] == state)
}

pub fn wait_file(path: &Path) -> String {
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

pub fn python(args: &[&str]) -> Vec<String> {
    let mut v = vec!["python3".to_string(), fixture("metrics.py")];
    v.extend(args.iter().map(|s| s.to_string()));
    v
}

/// Alive = present in /proc and not a zombie.
pub fn alive(pid: i64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        let state = s
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next());
        !matches!(state, Some("Z" | "X"))
    })
}
