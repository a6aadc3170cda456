//! The queue's rules through the real binary: dependencies, retry, pause/resume, time limits.

mod common;
mod jobs_support;

use common::Env;
use jobs_support::*;
use std::time::{Duration, Instant};

fn gate(env: &Env, file: &str, release: &str, extra: &str) -> std::path::PathBuf {
    let argv = vec![
        "sh".to_string(),
        fixture("gate.sh"),
        env.path(release).display().to_string(),
    ];
    spec(env, file, file, &argv, extra)
}

#[test]
fn a_failed_dependency_fails_its_dependant_with_the_reason_and_retry_reruns_the_snapshot() {
    let env = Env::new();
    let crash = spec(
        &env,
        "crash.toml",
        "crash",
        &["sh".into(), fixture("crash.sh")],
        "",
    );
    let first = submit(&env, &crash, &[]);
    let after = spec(&env, "after.toml", "after", &python(&[]), "");
    let dependant = submit(&env, &after, &["--set", &format!("depends_on=[{first}]")]);
    assert_eq!(wait_state(&env, first, "failed")["exit_code"], 3);
    let job = wait_state(&env, dependant, "failed");
    let reason = job["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&format!("dependency job {first} failed")),
        "{job:#}"
    );
    assert!(job["pid"].is_null(), "the dependant never ran");
    let out = ok(&env, &["jobs", "retry", &first.to_string()]);
    let again: i64 = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_ne!(again, first);
    assert_eq!(wait_state(&env, again, "failed")["exit_code"], 3);
}

#[test]
fn a_failing_job_is_retried_as_its_spec_says_and_a_missing_program_fails_with_a_reason() {
    let env = Env::new();
    let crash = spec(
        &env,
        "c.toml",
        "c",
        &["sh".into(), fixture("crash.sh")],
        "retries = 1\n",
    );
    let id = submit(&env, &crash, &[]);
    let job = wait_state(&env, id, "failed");
    assert_eq!(
        (job["exit_code"].as_i64(), job["attempts"].as_i64()),
        (Some(3), Some(2))
    );
    let log = std::fs::read_to_string(job["stdout_path"].as_str().unwrap()).unwrap();
    assert_eq!(
        log.matches("\"step\": 1").count(),
        2,
        "both attempts logged: {log}"
    );
    let missing = spec(&env, "m.toml", "m", &["/nonexistent/trainer".into()], "");
    let id = submit(&env, &missing, &[]);
    let job = wait_state(&env, id, "failed");
    let reason = job["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("cannot start"), "{job:#}");
}

#[test]
fn pause_stops_the_group_and_resume_continues_it() {
    let env = Env::new();
    let id = submit(&env, &gate(&env, "g.toml", "release", ""), &[]);
    let pid = wait_state(&env, id, "running")["pid"].as_i64().unwrap();
    ok(&env, &["jobs", "pause", &id.to_string()]);
    wait_proc_state(pid, |s| s == "T");
    assert!(ok(&env, &["jobs", "list"]).contains("paused"));
    ok(&env, &["jobs", "resume", &id.to_string()]);
    wait_proc_state(pid, |s| s != "T");
    std::fs::write(env.path("release"), "go").unwrap();
    assert_eq!(wait_state(&env, id, "succeeded")["exit_code"], 0);
    let err = fails(&env, &["jobs", "pause", &id.to_string()]);
    assert!(err.contains("succeeded"), "{err}");
}

fn wait_proc_state(pid: i64, want: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next());
        if state.is_some_and(&want) {
            return;
        }
        assert!(Instant::now() < deadline, "process {pid} stayed {state:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_job_past_its_time_limit_is_stopped_and_failed() {
    let env = Env::new();
    let id = submit(
        &env,
        &gate(&env, "slow.toml", "never", "time_limit = \"1s\"\n"),
        &[],
    );
    let job = wait_state(&env, id, "failed");
    assert_eq!(job["reason"], "time limit reached", "{job:#}");
}

#[test]
fn the_sample_specs_load() {
    let env = Env::new();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-data/jobs");
    let id = submit(
        &env,
        std::path::Path::new(&format!("{dir}/fixture.toml")),
        &[],
    );
    assert_eq!(wait_state(&env, id, "succeeded")["exit_code"], 0);
    // The fine-tune one fails at once on a missing dependency, so it never runs here.
    let ft = format!("{dir}/finetune.toml");
    let out = ok(
        &env,
        &["jobs", "submit", &ft, "--set", "depends_on=[999]", "--json"],
    );
    let id: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = id["id"].as_i64().unwrap().to_string();
    let shown = ok(&env, &["jobs", "show", &id]);
    assert!(
        shown.contains("HF_TOKEN=<redacted>") && shown.contains("sha256"),
        "{shown}"
    );
    assert!(
        shown.contains("dependency job 999 does not exist"),
        "{shown}"
    );
}
