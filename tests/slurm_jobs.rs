//! The Slurm backend against a real single-node Slurm (scripts/slurm-cluster.sh start):
//! success and failure with exit codes, cancel of pending and running jobs, a dependency, an
//! array job, a refused GPU request, metrics from a Slurm job's log, and named errors.

mod common;
mod jobs_support;
mod slurm_support;

use common::Env;
use jobs_support::{fixture, show, spec, wait_for, wait_state, DaemonGuard};
use serde_json::Value;
use std::process::Command;

/// The binary with the test's jobs dir, the cluster's config and a quick poll.
fn cmd(env: &Env) -> Command {
    let mut c = jobs_support::cmd(env);
    if let Some(conf) = slurm_support::slurm_conf() {
        c.env("SLURM_CONF", conf);
    }
    c.env("LMDECK_SLURM_POLL_MIN_MS", "300")
        .env("LMDECK_SLURM_POLL_MAX_MS", "2000");
    c
}

fn run(env: &Env, args: &[&str]) -> (bool, String, String) {
    let out = cmd(env).args(args).output().expect("run lmdeck");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn submit(env: &Env, files: &[&std::path::Path], extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["jobs", "submit", "--backend", "slurm", "--json"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    args.extend_from_slice(extra);
    let (ok, out, err) = run(env, &args);
    assert!(ok, "submit failed: {out}\n{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

/// Two Slurm jobs that each want both of the cluster's CPUs, so the second waits while the
/// first runs: their (lmdeck id, Slurm id), and a guard that cancels both in Slurm.
fn two_long_jobs(env: &Env) -> ((i64, String), (i64, String), slurm_support::CancelOnDrop) {
    let long = spec(
        env,
        "long.toml",
        "long",
        &sh("echo started; sleep 300"),
        "cpus = 2\n",
    );
    let mut jobs = [submit(env, &[&long], &[]), submit(env, &[&long], &[])].map(|rows| {
        (
            id(&rows[0]),
            rows[0]["slurm_job_id"].as_str().unwrap().to_string(),
        )
    });
    let cancel = slurm_support::CancelOnDrop(jobs.iter().map(|j| j.1.clone()).collect());
    let b = std::mem::take(&mut jobs[1]);
    let a = std::mem::take(&mut jobs[0]);
    (a, b, cancel)
}

#[test]
fn a_job_succeeds_and_one_fails_with_its_exit_code() {
    if !slurm_support::slurm_ready("a_job_succeeds_and_one_fails_with_its_exit_code") {
        return;
    }
    let env = Env::new();
    let _daemon = DaemonGuard(&env);
    let good = spec(
        &env,
        "ok.toml",
        "ok",
        &sh("echo \"hello $GREETING from $SLURM_JOB_ID\""),
        "env = { GREETING = \"it's $(me)\" }\n",
    );
    let bad = spec(
        &env,
        "bad.toml",
        "bad",
        &["sh".into(), fixture("crash.sh")],
        "",
    );
    let a = submit(&env, &[&good], &[]);
    assert_eq!(a[0]["backend"], "slurm");
    let slurm_id = a[0]["slurm_job_id"].as_str().unwrap().to_string();
    let b = submit(&env, &[&bad], &[]);
    let job = wait_state(&env, id(&a[0]), "succeeded");
    assert_eq!(job["exit_code"], 0);
    let log = std::fs::read_to_string(job["stdout_path"].as_str().unwrap()).unwrap();
    assert_eq!(log.trim(), format!("hello it's $(me) from {slurm_id}"));
    let job = wait_state(&env, id(&b[0]), "failed");
    assert_eq!(job["exit_code"], 3, "{job:#}");
    let (_, list, _) = run(&env, &["jobs", "list"]);
    assert!(
        list.contains("succeeded") && list.contains("failed"),
        "{list}"
    );
    let (_, shown, _) = run(&env, &["jobs", "show", &id(&a[0]).to_string()]);
    assert!(
        shown.contains(&format!("backend:  slurm (Slurm job {slurm_id})")),
        "{shown}"
    );
}

#[test]
fn cancel_of_a_pending_and_a_running_job() {
    if !slurm_support::slurm_ready("cancel_of_a_pending_and_a_running_job") {
        return;
    }
    let env = Env::new();
    let _daemon = DaemonGuard(&env);
    let ((a, _), (b, _), _cancel) = two_long_jobs(&env);
    let job = wait_state(&env, a, "running");
    let started = job["stdout_path"].as_str().unwrap().to_string();
    jobs_support::wait_file(std::path::Path::new(&started));
    // Slurm gives no reason ("pending") until its scheduler has looked at the job; then it
    // waits for CPUs: Resources, or Priority when the other tests' jobs queue before it.
    let pending = wait_for(&env, b, "waits for Resources", |j| {
        j["state"] == "queued"
            && j["wait_reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("Slurm: ") && r != "Slurm: pending")
    });
    assert!(
        ["Slurm: Resources", "Slurm: Priority"]
            .contains(&pending["wait_reason"].as_str().unwrap_or("")),
        "{pending:#}"
    );
    let (ok, out, err) = run(&env, &["jobs", "cancel", &b.to_string()]);
    assert!(ok && out.contains("cancelled"), "{out}{err}");
    let (ok, out, err) = run(&env, &["jobs", "cancel", &a.to_string()]);
    assert!(ok && out.contains("cancelled"), "{out}{err}");
    assert_eq!(show(&env, a)["state"], "cancelled");
    assert_eq!(show(&env, b)["state"], "cancelled");
}

#[test]
fn a_dependency_waits_for_its_parent() {
    if !slurm_support::slurm_ready("a_dependency_waits_for_its_parent") {
        return;
    }
    let env = Env::new();
    let _daemon = DaemonGuard(&env);
    let marker = env.path("parent-done");
    let parent = spec(
        &env,
        "p.toml",
        "parent",
        &sh(&format!("sleep 2; touch '{}'", marker.display())),
        "",
    );
    let p = id(&submit(&env, &[&parent], &[])[0]);
    let child = spec(
        &env,
        "c.toml",
        "child",
        &sh(&format!("test -e '{}'", marker.display())),
        &format!("depends_on = [{p}]\n"),
    );
    let c = id(&submit(&env, &[&child], &[])[0]);
    let waiting = wait_for(&env, c, "waits on its dependency", |j| {
        j["wait_reason"] == "Slurm: Dependency" || j["state"] == "succeeded"
    });
    assert_ne!(waiting["state"], "failed");
    wait_state(&env, p, "succeeded");
    assert_eq!(wait_state(&env, c, "succeeded")["exit_code"], 0);
}

#[test]
fn three_configurations_run_as_one_array_job() {
    if !slurm_support::slurm_ready("three_configurations_run_as_one_array_job") {
        return;
    }
    let env = Env::new();
    let _daemon = DaemonGuard(&env);
    let files: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|n| {
            spec(
                &env,
                &format!("{n}.toml"),
                n,
                &sh("echo \"config $CONFIG task $SLURM_ARRAY_TASK_ID\""),
                &format!("env = {{ CONFIG = \"{n}\" }}\n"),
            )
        })
        .collect();
    let refs: Vec<&std::path::Path> = files.iter().map(|f| f.as_path()).collect();
    let rows = submit(&env, &refs, &[]);
    assert_eq!(rows.len(), 3);
    let array = rows[0]["slurm_job_id"]
        .as_str()
        .unwrap()
        .split('_')
        .next()
        .unwrap()
        .to_string();
    for (i, (row, n)) in rows.iter().zip(["a", "b", "c"]).enumerate() {
        assert_eq!(row["slurm_job_id"], format!("{array}_{i}"));
        let job = wait_state(&env, id(row), "succeeded");
        let log = std::fs::read_to_string(job["stdout_path"].as_str().unwrap()).unwrap();
        assert_eq!(log.trim(), format!("config {n} task {i}"));
    }
}

#[test]
fn more_gpus_than_exist_is_refused_with_slurms_reason() {
    if !slurm_support::slurm_ready("more_gpus_than_exist_is_refused_with_slurms_reason") {
        return;
    }
    let env = Env::new();
    let _daemon = DaemonGuard(&env);
    let file = spec(&env, "gpu.toml", "too-many", &sh("true"), "gpus = 3\n");
    let (ok, out, err) = run(
        &env,
        &[
            "jobs",
            "submit",
            "--backend",
            "slurm",
            file.to_str().unwrap(),
        ],
    );
    assert!(!ok, "{out}");
    assert!(
        err.contains("Slurm refused the job")
            && err.contains("Requested node configuration is not available"),
        "{err}"
    );
    let (_, list, _) = run(&env, &["jobs", "list", "--json"]);
    let rows: Vec<Value> = serde_json::from_str(&list).unwrap();
    assert_eq!(rows[0]["state"], "failed");
    // Two fake GPUs exist: a job asking for both gets them.
    let gpus = spec(
        &env,
        "gpus.toml",
        "two",
        &sh("echo \"$CUDA_VISIBLE_DEVICES\""),
        "gpus = 2\n",
    );
    let job = wait_state(&env, id(&submit(&env, &[&gpus], &[])[0]), "succeeded");
    let log = std::fs::read_to_string(job["stdout_path"].as_str().unwrap()).unwrap();
    assert_eq!(log.trim(), "0,1");
}

#[test]
fn an_unknown_partition_and_a_missing_slurm_are_named() {
    if !slurm_support::slurm_ready("an_unknown_partition_and_a_missing_slurm_are_named") {
        return;
    }
    let env = Env::new();
    let _daemon = DaemonGuard(&env);
    env.write("config.toml", "[slurm]\npartition = \"nope\"\n");
    let file = spec(&env, "p.toml", "p", &sh("true"), "");
    let (ok, _, err) = run(
        &env,
        &[
            "jobs",
            "submit",
            "--backend",
            "slurm",
            file.to_str().unwrap(),
        ],
    );
    assert!(
        !ok && err.contains("unknown Slurm partition `nope`"),
        "{err}"
    );
    env.write("config.toml", "");
    let out = cmd(&env)
        .env("PATH", "/nonexistent")
        .args([
            "jobs",
            "submit",
            "--backend",
            "slurm",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("Slurm is not installed"),
        "{err}"
    );
}

#[test]
fn a_trainers_metrics_are_parsed_from_the_slurm_log() {
    if !slurm_support::slurm_ready("a_trainers_metrics_are_parsed_from_the_slurm_log") {
        return;
    }
    let env = Env::new();
    let _daemon = DaemonGuard(&env);
    let file = spec(
        &env,
        "hf.toml",
        "hf",
        &["python3".into(), fixture("hf_trainer.py")],
        "",
    );
    let j = id(&submit(&env, &[&file], &[])[0]);
    wait_state(&env, j, "succeeded");
    let shown = show(&env, j);
    let metrics = shown["metrics"].as_array().unwrap();
    let steps: Vec<u64> = metrics
        .iter()
        .filter(|m| !m["loss"].is_null())
        .map(|m| m["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, (1..=8).collect::<Vec<_>>(), "{shown:#}");
    // The nan loss at step 6 raises the same alert as for a local job.
    let alerts = shown["alerts"].to_string();
    assert!(alerts.to_lowercase().contains("nan"), "{alerts}");
}

/// `scontrol show job ID` as one line, for the state Slurm itself holds.
fn scontrol_show(slurm_id: &str) -> String {
    let conf = slurm_support::slurm_conf().unwrap();
    let out = Command::new("scontrol")
        .env("SLURM_CONF", conf)
        .args(["-o", "show", "job", slurm_id])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into()
}

#[test]
fn pause_and_resume_hold_release_a_pending_job_and_suspend_resume_a_running_one() {
    if !slurm_support::slurm_ready(
        "pause_and_resume_hold_release_a_pending_job_and_suspend_resume_a_running_one",
    ) {
        return;
    }
    let env = Env::new();
    let _daemon = DaemonGuard(&env);
    let ((a, a_sid), (b, b_sid), _cancel) = two_long_jobs(&env);
    wait_state(&env, a, "running");

    // Root's hold is an administrator's (JobHeldAdmin), anyone else's a user's.
    let (ok, out, err) = run(&env, &["jobs", "pause", &b.to_string()]);
    assert!(ok && out.contains("held in Slurm's queue"), "{out}{err}");
    let held = scontrol_show(&b_sid);
    assert!(
        held.contains("JobState=PENDING") && held.contains("Reason=JobHeld"),
        "{held}"
    );
    wait_for(&env, b, "shows the hold", |j| {
        j["wait_reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("Slurm: JobHeld"))
    });

    let (ok, out, err) = run(&env, &["jobs", "pause", &a.to_string()]);
    assert!(ok && out.contains("suspended by Slurm"), "{out}{err}");
    assert!(
        scontrol_show(&a_sid).contains("JobState=SUSPENDED"),
        "{}",
        scontrol_show(&a_sid)
    );
    let (ok, out, err) = run(&env, &["jobs", "resume", &a.to_string()]);
    assert!(ok && out.contains("resumed by Slurm"), "{out}{err}");
    assert!(
        scontrol_show(&a_sid).contains("JobState=RUNNING"),
        "{}",
        scontrol_show(&a_sid)
    );

    let (ok, out, err) = run(&env, &["jobs", "resume", &b.to_string()]);
    assert!(
        ok && out.contains("released in Slurm's queue"),
        "{out}{err}"
    );
    let released = scontrol_show(&b_sid);
    assert!(!released.contains("Reason=JobHeld"), "{released}");

    // An ended job is neither paused nor resumed through Slurm: a clear refusal.
    let (ok, _, _) = run(&env, &["jobs", "cancel", &a.to_string()]);
    assert!(ok);
    let (ok, _, _) = run(&env, &["jobs", "cancel", &b.to_string()]);
    assert!(ok);
    let (ok, _, err) = run(&env, &["jobs", "pause", &a.to_string()]);
    assert!(!ok && err.contains("cancelled"), "{err}");
}

#[test]
fn a_controller_that_does_not_answer_is_named_and_nothing_is_lost() {
    if !slurm_support::slurm_ready("a_controller_that_does_not_answer_is_named_and_nothing_is_lost")
    {
        return;
    }
    let env = Env::new();
    let _daemon = DaemonGuard(&env);
    let done = spec(&env, "ok.toml", "ok", &sh("echo hi"), "");
    let first = id(&submit(&env, &[&done], &[])[0]);
    wait_state(&env, first, "succeeded");
    // The same cluster's config with the controller on a port nobody listens on.
    let conf = slurm_support::slurm_conf().unwrap();
    let dir = env.path("down");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["slurm.conf", "gres.conf"] {
        let from = conf.with_file_name(name);
        if from.is_file() {
            std::fs::copy(&from, dir.join(name)).unwrap();
        }
    }
    let mut text = std::fs::read_to_string(dir.join("slurm.conf")).unwrap();
    text.push_str("\nSlurmctldPort=6999\n");
    std::fs::write(dir.join("slurm.conf"), text).unwrap();
    let out = cmd(&env)
        .env("SLURM_CONF", dir.join("slurm.conf"))
        .args(["jobs", "submit", "--backend", "slurm"])
        .arg(&done)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("the Slurm controller does not answer"),
        "{err}"
    );
    // The job stored before is untouched.
    let (_, list, _) = run(&env, &["jobs", "list", "--json"]);
    let rows: Vec<Value> = serde_json::from_str(&list).unwrap();
    let kept = rows.iter().find(|r| id(r) == first).unwrap();
    assert_eq!(kept["state"], "succeeded");
}
