//! End to end: two jobs running while the console and the scheduler daemon are killed with
//! SIGKILL. The jobs belong to their own supervisors, so both finish; their states and every
//! metric are stored, and a console started afterwards shows both succeeded.

mod common;
mod jobs_support;
#[path = "common/tmux.rs"]
mod tmux;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Env;
use jobs_support::{alive, cmd, fixture, ok, show, spec, wait_state, DaemonGuard};
use tmux::Console;

/// Steps each job prints (one every 0.2 s: about 8 s, long enough to kill things mid-run).
const STEPS: usize = 40;

/// The jobs binary with two slots, so both jobs run at once.
fn jobs_cmd(env: &Env) -> Command {
    let mut c = cmd(env);
    c.env("LMDECK_JOBS_MAX_RUNNING", "2");
    c
}

fn daemon_pid(env: &Env) -> Option<i64> {
    let out = jobs_cmd(env)
        .args(["jobs", "daemon", "--status"])
        .output()
        .expect("run lmdeck");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.lines()
        .next()?
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.trim_end_matches(')').parse().ok())
}

fn kill9_and_wait(pid: i64, what: &str) {
    let status = Command::new("kill").args(["-9", &pid.to_string()]).status();
    assert!(status.is_ok_and(|s| s.success()), "kill -9 {what} ({pid})");
    let deadline = Instant::now() + Duration::from_secs(30);
    while alive(pid) {
        assert!(Instant::now() < deadline, "{what} ({pid}) survived kill -9");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A row of the jobs queue: its id and name, and its state somewhere on the line.
fn row_shows(screen: &str, id: i64, name: &str, state: &str) -> bool {
    let row = format!("{id:>4}  {name}");
    screen
        .lines()
        .any(|l| l.contains(&row) && l.contains(state))
}

#[test]
fn killing_the_console_and_the_daemon_leaves_both_jobs_to_finish_with_all_metrics() {
    let env = Env::new();
    let _guard = DaemonGuard(&env);
    let argv = |name: &str| -> Vec<String> {
        vec![
            "python3".into(),
            fixture("steady.py"),
            STEPS.to_string(),
            "0.1".into(),
            // Each job stops halfway until this file exists: the kills land mid-run on any
            // machine, however loaded.
            env.path(&format!("release-{name}")).display().to_string(),
        ]
    };
    let mut ids = Vec::new();
    for name in ["kill-a", "kill-b"] {
        let file = spec(&env, &format!("{name}.toml"), name, &argv(name), "");
        // Submitted with two slots (jobs_support's submit has one), so both run at once.
        let out = jobs_cmd(&env)
            .args(["jobs", "submit", file.to_str().unwrap(), "--json"])
            .output()
            .expect("run lmdeck");
        assert!(out.status.success(), "{out:?}");
        let job: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        ids.push(job["id"].as_i64().expect("id"));
    }
    for &id in &ids {
        wait_state(&env, id, "running");
    }

    let console = Console::start(&jobs_cmd(&env), "kill-first", 120, 40);
    // The first frame is up before any key is sent.
    console.wait_for("the console", 30, |s| {
        s.contains("1 Corpus") && s.contains("4 Jobs")
    });
    console.keys(&["4"]);
    console.wait_for("both jobs running", 30, |s| {
        row_shows(s, ids[0], "kill-a", "running") && row_shows(s, ids[1], "kill-b", "running")
    });

    let daemon = daemon_pid(&env).expect("submit started a daemon");
    kill9_and_wait(console.console_pid(), "the console");
    kill9_and_wait(daemon, "the daemon");
    console.wait_for("the console's end", 30, |s| s.contains("LMDECK_EXIT="));
    drop(console);
    // Both jobs were still mid-run when their watchers died.
    for &id in &ids {
        let job = show(&env, id);
        let stored = job["metrics"].as_array().map_or(0, Vec::len);
        assert!(
            job["state"] == "running" && stored < STEPS,
            "job {id} ended before the kill, so the test proves nothing: {job:#}"
        );
    }

    for name in ["kill-a", "kill-b"] {
        env.write(&format!("release-{name}"), "go");
    }
    // Their supervisors see them through: success and every step stored.
    for &id in &ids {
        let job = wait_state(&env, id, "succeeded");
        assert_eq!(job["exit_code"], 0, "{job:#}");
        let metrics = job["metrics"].as_array().expect("metrics");
        let steps: Vec<u64> = metrics.iter().filter_map(|m| m["step"].as_u64()).collect();
        assert_eq!(
            steps,
            (1..=STEPS as u64).collect::<Vec<_>>(),
            "job {id} lost metrics"
        );
        assert!(
            metrics.iter().all(|m| m["loss"].is_number()),
            "job {id}: a step without its loss: {metrics:?}"
        );
    }
    assert_eq!(
        daemon_pid(&env),
        None,
        "the killed daemon left no live lock"
    );

    // A new console shows both succeeded.
    let again = Console::start(&jobs_cmd(&env), "kill-second", 120, 40);
    again.wait_for("the console", 30, |s| {
        s.contains("1 Corpus") && s.contains("4 Jobs")
    });
    again.keys(&["4"]);
    again.wait_for("both jobs succeeded", 30, |s| {
        row_shows(s, ids[0], "kill-a", "succeeded") && row_shows(s, ids[1], "kill-b", "succeeded")
    });
    again.keys(&["q"]);
    again.wait_for("the console to exit", 30, |s| s.contains("LMDECK_EXIT=0"));
    let list = ok(&env, &["jobs", "list"]);
    assert_eq!(list.matches("succeeded").count(), 2, "{list}");
}
