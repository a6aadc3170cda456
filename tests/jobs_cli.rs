//! Fine-tune jobs through the real binary: real subprocesses, detached supervisors, the queue.

mod common;
mod jobs_support;

use common::Env;
use jobs_support::*;
use std::path::Path;

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

#[test]
fn metrics_are_stored_per_step_and_shown_with_progress_and_alerts() {
    let env = Env::new();
    let json_lines = spec(&env, "json.toml", "json-lines", &python(&[]), "");
    let hf = spec(
        &env,
        "hf.toml",
        "hf-trainer",
        &["python3".into(), fixture("hf_trainer.py")],
        "",
    );
    let a = submit(&env, &json_lines, &[]);
    let b = submit(&env, &hf, &[]);
    wait_state(&env, a, "succeeded");
    wait_state(&env, b, "succeeded");

    // JSON lines: five steps, loss 2/step, stored as printed.
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&env, &["jobs", "show", &a.to_string(), "--json"])).unwrap();
    let metrics = shown["metrics"].as_array().unwrap();
    let steps: Vec<u64> = metrics
        .iter()
        .map(|m| m["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, vec![1, 2, 3, 4, 5], "{shown}");
    for m in metrics {
        let step = m["step"].as_f64().unwrap();
        let loss = m["loss"].as_f64().unwrap();
        assert!(
            (loss - (2.0 / step * 10_000.0).round() / 10_000.0).abs() < 1e-9,
            "{m}"
        );
    }
    assert_eq!(shown["alerts"], serde_json::json!([]));

    // HF Trainer: steps come from the tqdm bar on stderr, values are strings, one loss is nan.
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&env, &["jobs", "show", &b.to_string(), "--json"])).unwrap();
    let metrics = shown["metrics"].as_array().unwrap();
    let losses: Vec<(u64, String)> = metrics
        .iter()
        .filter(|m| !m["loss"].is_null())
        .map(|m| (m["step"].as_u64().unwrap(), m["loss"].to_string()))
        .collect();
    assert_eq!(losses.len(), 8, "{shown}");
    assert_eq!(losses[0], (1, "3.75".into()), "{shown}");
    assert_eq!(losses[5], (6, "\"NaN\"".into()), "{shown}");
    assert_eq!(losses[7], (8, "2.0".into()), "{shown}");
    assert_eq!(shown["progress"]["done"], 8, "{shown}");
    assert_eq!(shown["progress"]["total"], 8, "{shown}");
    assert_eq!(shown["fraction"], 1.0);
    let alerts = shown["alerts"].to_string();
    assert!(alerts.contains("loss is NaN at step 6"), "{alerts}");
    // The final summary lands on the last step.
    let last = metrics.last().unwrap();
    assert_eq!(last["train_loss"], 3.1, "{last}");

    let text = ok(&env, &["jobs", "show", &b.to_string()]);
    assert!(text.contains("progress: 8/8 (100%)"), "{text}");
    assert!(
        text.contains("loss:     3.7500 at step 1 -> 2.0000 at step 8"),
        "{text}"
    );
    assert!(text.contains("ALERT:    loss is NaN at step 6"), "{text}");
}

#[test]
fn resume_continues_a_crashed_job_from_its_last_checkpoint_aligned_by_step() {
    let env = Env::new();
    let out = env.path("run-out");
    let file = spec(
        &env,
        "ckpt.toml",
        "checkpointing",
        &[
            "python3".into(),
            fixture("checkpointing.py"),
            out.display().to_string(),
        ],
        &format!("output_dir = \"{}\"\n", out.display()),
    );
    let id = submit(&env, &file, &[]);
    wait_state(&env, id, "failed");
    let said = ok(&env, &["jobs", "resume", &id.to_string()]);
    assert!(said.contains("continuing from step 10"), "{said}");
    let job = wait_state(&env, id, "succeeded");
    assert_eq!(job["attempts"], 2, "{job}");

    let shown: serde_json::Value =
        serde_json::from_str(&ok(&env, &["jobs", "show", &id.to_string(), "--json"])).unwrap();
    let metrics = shown["metrics"].as_array().unwrap();
    let steps: Vec<u64> = metrics
        .iter()
        .map(|m| m["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, (1..=20).collect::<Vec<_>>(), "{shown}");
    for m in metrics {
        let step = m["step"].as_u64().unwrap();
        // Steps 11 and 12 of the crashed run were dropped and logged again by the resumed one.
        let run = if step <= 10 { 1.0 } else { 2.0 };
        assert_eq!(m["run"].as_f64(), Some(run), "{m}");
    }

    // A job with no checkpoint says what to do instead.
    let plain = spec(
        &env,
        "plain.toml",
        "crash",
        &["sh".into(), fixture("crash.sh")],
        "",
    );
    let id = submit(&env, &plain, &[]);
    wait_state(&env, id, "failed");
    let err = fails(&env, &["jobs", "resume", &id.to_string()]);
    assert!(
        err.contains("no checkpoint") && err.contains("jobs retry"),
        "{err}"
    );
}
