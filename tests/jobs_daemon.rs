//! The scheduler daemon and GPU scheduling through the real binary: real daemons, detached
//! supervisors and jobs, and a recorded nvidia-smi inventory (LMDECK_GPU_INVENTORY) that the
//! tests rewrite to free or fill GPUs.

mod common;
mod jobs_support;

use common::Env;
use jobs_support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BUSY_UUID: &str = "GPU-00000000-busy-0000-0000-000000000000";
const FREE_UUID: &str = "GPU-11111111-free-1111-1111-111111111111";

/// The binary as every command of these tests runs it: the inventory file at a fixed place in
/// the temp dir and room for four jobs, so only GPUs make a job wait. The daemon and the
/// supervisors inherit this environment from the command that starts them.
fn lm(env: &Env) -> Command {
    let mut c = cmd(env);
    c.env("LMDECK_GPU_INVENTORY", inventory(env))
        .env("LMDECK_JOBS_MAX_RUNNING", "4");
    c
}

fn inventory(env: &Env) -> PathBuf {
    env.path("gpus.csv")
}

fn gpu_fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/gpu/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).expect("gpu fixture")
}

fn run(env: &Env, args: &[&str]) -> Output {
    lm(env).args(args).output().expect("run lmdeck")
}

fn run_ok(env: &Env, args: &[&str]) -> String {
    let out = run(env, args);
    assert!(
        out.status.success(),
        "lmdeck {args:?} failed\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn submit_gpu(env: &Env, file: &Path) -> i64 {
    let out: Value = serde_json::from_str(&run_ok(
        env,
        &["jobs", "submit", file.to_str().unwrap(), "--json"],
    ))
    .unwrap();
    out["id"].as_i64().expect("id")
}

/// A job that prints CUDA_VISIBLE_DEVICES and runs until `release` appears.
fn gated(env: &Env, name: &str, release: &str, extra: &str) -> PathBuf {
    let argv = vec![
        "sh".to_string(),
        fixture("gpu_env.sh"),
        env.path(release).display().to_string(),
    ];
    spec(env, &format!("{name}.toml"), name, &argv, extra)
}

fn show_job(env: &Env, id: i64) -> Value {
    serde_json::from_str(&run_ok(env, &["jobs", "show", &id.to_string(), "--json"])).unwrap()
}

/// Polls (with this test's environment) until the job is in `state`.
fn wait_in(env: &Env, id: i64, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let job = show_job(env, id);
        if job["state"] == state {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} never {state}: {job:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn daemon_pid(env: &Env) -> Option<i64> {
    let out = run_ok(env, &["jobs", "daemon", "--status"]);
    let line = out.lines().next().unwrap_or_default();
    line.split("(pid ")
        .nth(1)
        .and_then(|rest| rest.trim_end_matches(')').parse().ok())
}

/// (session id) of a live process, from /proc/<pid>/stat.
fn session_of(pid: i64) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(3)?.parse().ok()
}

/// tty_nr of a live process (0: none), from /proc/<pid>/stat.
fn tty_of(pid: i64) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(4)?.parse().ok()
}

fn stdout_of(job: &Value) -> String {
    std::fs::read_to_string(job["stdout_path"].as_str().unwrap()).unwrap_or_default()
}

/// Waits until the job's stdout holds `what`.
fn wait_stdout(env: &Env, id: i64, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = stdout_of(&show_job(env, id));
        if text.contains(what) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} never printed {what:?}: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kill9(pid: i64) {
    let status = Command::new("kill").args(["-9", &pid.to_string()]).status();
    assert!(status.is_ok_and(|s| s.success()), "kill -9 {pid}");
}

#[test]
fn submit_starts_one_daemon_and_stopping_it_leaves_the_job_running_to_success() {
    let env = Env::new();
    let _guard = DaemonGuard(&env);
    let id = submit_gpu(&env, &gated(&env, "plain", "release", ""));
    let pid = daemon_pid(&env).expect("submit started a daemon");
    assert!(alive(pid));
    // Double-forked: in a new session (not ours) and with no controlling terminal.
    let own = session_of(std::process::id() as i64);
    assert!(
        session_of(pid).is_some() && session_of(pid) != own,
        "the daemon has its own session"
    );
    assert_eq!(tty_of(pid), Some(0), "the daemon has no terminal");
    let again = run_ok(&env, &["jobs", "daemon"]);
    assert!(
        again.contains("already runs") && again.contains(&format!("pid {pid}")),
        "{again}"
    );
    let foreground = run_ok(&env, &["jobs", "daemon", "--foreground"]);
    assert!(foreground.contains("already runs"), "{foreground}");
    assert_eq!(daemon_pid(&env), Some(pid), "still the same single daemon");
    let status = run_ok(&env, &["jobs", "daemon", "--status"]);
    let log = env.path("data").join("logs");
    assert!(status.contains(log.to_str().unwrap()), "{status}");

    wait_in(&env, id, "running");
    let out = run_ok(&env, &["jobs", "daemon", "--stop"]);
    assert!(
        out.contains(&format!("stopped the jobs daemon (pid {pid})")),
        "{out}"
    );
    assert_eq!(daemon_pid(&env), None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "daemon {pid} still alive after --stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let job = show_job(&env, id);
    assert_eq!(job["state"], "running", "{job:#}");
    // A job without `gpus` gets no GPU and no CUDA_VISIBLE_DEVICES of ours.
    assert!(
        job["gpus"].as_array().is_some_and(|g| g.is_empty()),
        "{job:#}"
    );
    env.write("release", "go");
    let job = wait_in(&env, id, "succeeded");
    assert!(
        stdout_of(&job).contains("CUDA_VISIBLE_DEVICES=unset"),
        "{job:#}"
    );
    let log_text = std::fs::read_dir(&log)
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<String>();
    assert!(
        log_text.contains("started for") && log_text.contains("stopped"),
        "{log_text}"
    );
}

#[test]
fn a_gpu_job_gets_the_freest_gpu_and_a_second_waits_for_it_with_the_reason() {
    let env = Env::new();
    let _guard = DaemonGuard(&env);
    std::fs::write(inventory(&env), gpu_fixture("one_free_gpu.csv")).unwrap();
    let need = "gpus = 1\nmin_gpu_free_mb = 12000\n";
    let first = submit_gpu(&env, &gated(&env, "first", "release1", need));
    let text = wait_stdout(&env, first, "CUDA_VISIBLE_DEVICES=");
    assert!(
        text.contains(&format!("CUDA_VISIBLE_DEVICES={FREE_UUID}\n")),
        "{text}"
    );
    assert_eq!(show_job(&env, first)["gpus"][0], FREE_UUID);

    let second = submit_gpu(&env, &gated(&env, "second", "release2", need));
    let job = show_job(&env, second);
    assert_eq!(job["state"], "queued", "{job:#}");
    let reason = job["wait_reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("needs 1 GPU with 12000 MB free; 0 free"),
        "{job:#}"
    );
    let list = run_ok(&env, &["jobs", "list"]);
    assert!(list.contains("waiting: needs 1 GPU"), "{list}");
    let gpus: Value = serde_json::from_str(&run_ok(&env, &["jobs", "gpus", "--json"])).unwrap();
    let rows = gpus["gpus"].as_array().unwrap();
    let holder = |uuid: &str| rows.iter().find(|g| g["uuid"] == uuid).unwrap()["job"].clone();
    assert_eq!(holder(FREE_UUID), first);
    assert!(holder(BUSY_UUID).is_null(), "{gpus:#}");
    let table = run_ok(&env, &["jobs", "gpus"]);
    assert!(table.contains(&format!("job {first}")), "{table}");

    env.write("release1", "go");
    wait_in(&env, first, "succeeded");
    let text = wait_stdout(&env, second, "CUDA_VISIBLE_DEVICES=");
    assert!(
        text.contains(&format!("CUDA_VISIBLE_DEVICES={FREE_UUID}\n")),
        "{text}"
    );
    assert!(show_job(&env, second)["wait_reason"].is_null());
    env.write("release2", "go");
    wait_in(&env, second, "succeeded");
}

#[test]
fn the_daemon_starts_a_waiting_job_when_the_gpu_frees_up() {
    let env = Env::new();
    let _guard = DaemonGuard(&env);
    // Both GPUs nearly full with other users' processes.
    let full = gpu_fixture("one_free_gpu.csv").replace(", 0, 300, 23034,", ", 90, 22000, 23034,");
    std::fs::write(inventory(&env), &full).unwrap();
    let id = submit_gpu(
        &env,
        &gated(
            &env,
            "later",
            "release",
            "gpus = 1\nmin_gpu_free_mb = 12000\n",
        ),
    );
    let job = show_job(&env, id);
    assert_eq!(job["state"], "queued", "{job:#}");
    assert!(
        job["wait_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("0 free"),
        "{job:#}"
    );
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(show_job(&env, id)["state"], "queued", "no GPU is free yet");
    // Nothing but the daemon's loop schedules now: no job ends, no command submits.
    std::fs::write(inventory(&env), gpu_fixture("one_free_gpu.csv")).unwrap();
    let text = wait_stdout(&env, id, "CUDA_VISIBLE_DEVICES=");
    assert!(text.contains(FREE_UUID), "{text}");
    env.write("release", "go");
    wait_in(&env, id, "succeeded");
}

#[test]
fn a_gpu_job_on_a_host_without_gpus_waits_saying_why_at_once() {
    let env = Env::new();
    let _guard = DaemonGuard(&env);
    std::fs::write(inventory(&env), gpu_fixture("driver_failed.csv")).unwrap();
    let file = gated(&env, "laptop", "release", "gpus = 1\n");
    let out = run_ok(&env, &["jobs", "submit", file.to_str().unwrap()]);
    assert!(
        out.contains("queued")
            && out.contains("waiting: no GPU visible")
            && out.contains("couldn't communicate"),
        "{out}"
    );
    let list: Value = serde_json::from_str(&run_ok(&env, &["jobs", "list", "--json"])).unwrap();
    assert_eq!(list[0]["state"], "queued", "{list:#}");
    assert!(list[0]["pid"].is_null(), "it never ran");
    // A driver hiccup must not fail it for good: it waits, and a user can cancel it.
    std::thread::sleep(Duration::from_millis(1500));
    let list: Value = serde_json::from_str(&run_ok(&env, &["jobs", "list", "--json"])).unwrap();
    assert_eq!(list[0]["state"], "queued", "{list:#}");
    run_ok(&env, &["jobs", "cancel", &list[0]["id"].to_string()]);
    let gpus = run_ok(&env, &["jobs", "gpus"]);
    assert!(
        gpus.starts_with("no GPU: ") && gpus.contains("couldn't communicate"),
        "{gpus}"
    );
    // Jobs that ask for no GPU run as before.
    let plain = submit_gpu(&env, &gated(&env, "plain", "release", ""));
    env.write("release", "go");
    wait_in(&env, plain, "succeeded");
}

#[test]
fn killing_the_daemon_and_a_supervisor_with_sigkill_leaves_right_states() {
    let env = Env::new();
    let _guard = DaemonGuard(&env);
    let a = submit_gpu(&env, &gated(&env, "orphaned", "release", ""));
    let b = submit_gpu(&env, &gated(&env, "supervised", "release", ""));
    let ja = wait_in(&env, a, "running");
    wait_in(&env, b, "running");
    let daemon = daemon_pid(&env).expect("a daemon runs");
    kill9(daemon);
    let supervisor = ja["supervisor_pid"].as_i64().expect("supervisor pid");
    kill9(supervisor);
    let deadline = Instant::now() + Duration::from_secs(30);
    while alive(daemon) || alive(supervisor) {
        assert!(Instant::now() < deadline, "kill -9 did not take");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The jobs themselves are not the daemon's or the supervisor's group: they go on.
    assert!(
        alive(ja["pid"].as_i64().unwrap()),
        "job {a} died with its supervisor"
    );
    assert_eq!(show_job(&env, a)["state"], "running");
    assert_eq!(show_job(&env, b)["state"], "running");
    // The lock died with the daemon: a new one can start.
    let out = run_ok(&env, &["jobs", "daemon"]);
    assert!(out.contains("started the jobs daemon"), "{out}");
    env.write("release", "go");
    wait_in(&env, b, "succeeded");
    let lost = wait_in(&env, a, "lost");
    assert!(
        lost["last_lines"]
            .as_str()
            .unwrap_or_default()
            .contains("released after"),
        "a lost job keeps its last lines: {lost:#}"
    );
    let list = run_ok(&env, &["jobs", "list"]);
    let line = |id: i64| {
        list.lines()
            .find(|l| l.split_whitespace().next() == Some(&id.to_string()))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line(a).contains("lost"), "{list}");
    assert!(line(b).contains("succeeded"), "{list}");
}

/// Pids of this database's daemon loops, from /proc/*/cmdline.
fn daemons_for(env: &Env) -> Vec<i64> {
    let db = env.db().display().to_string();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i64>().ok())
        else {
            continue;
        };
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).to_string())
            .collect();
        if args.iter().any(|a| a == "--foreground") && args.contains(&db) && alive(pid) {
            pids.push(pid);
        }
    }
    pids
}

#[test]
fn daemons_started_at_once_leave_exactly_one_running() {
    let env = Env::new();
    let _guard = DaemonGuard(&env);
    run_ok(&env, &["jobs", "list"]);
    let starters: Vec<_> = (0..4)
        .map(|_| {
            lm(&env)
                .args(["jobs", "daemon"])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("run lmdeck")
        })
        .collect();
    for mut child in starters {
        assert!(child.wait().expect("wait").success());
    }
    // The losers exit as soon as they find the lock taken.
    let deadline = Instant::now() + Duration::from_secs(30);
    while daemons_for(&env).len() > 1 {
        assert!(Instant::now() < deadline, "{:?}", daemons_for(&env));
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = daemon_pid(&env).expect("one daemon runs");
    assert_eq!(daemons_for(&env), vec![pid]);
    run_ok(&env, &["jobs", "daemon", "--stop"]);
    assert!(daemons_for(&env).is_empty());
}

/// A fake `nvidia-smi` on PATH answering the two queries from recorded output (or failing
/// like a host whose driver is gone), with NVML pointed at a library that does not exist.
fn with_fake_smi(env: &Env, script: &str) -> Command {
    let bin = env.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let smi = bin.join("nvidia-smi");
    std::fs::write(&smi, script).unwrap();
    let mut perms = std::fs::metadata(&smi).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&smi, perms).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = cmd(env);
    c.env("PATH", path)
        .env("LMDECK_NVML_LIB", env.path("no-libnvidia-ml.so"))
        .env_remove("LMDECK_GPU_INVENTORY");
    c
}

#[test]
fn without_nvml_the_gpus_come_from_nvidia_smi_and_its_failure_is_the_reason() {
    let env = Env::new();
    let csv = gpu_fixture("odd_values.csv");
    let (gpus, apps) = csv.split_once("# compute-apps").unwrap();
    env.write("gpus.out", gpus);
    env.write("apps.out", apps);
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in\n  --query-gpu=*) cat {};;\n  --query-compute-apps=*) cat {};;\n  *) exit 2;;\nesac\n",
        env.path("gpus.out").display(),
        env.path("apps.out").display()
    );
    let out = with_fake_smi(&env, &script)
        .args(["jobs", "gpus", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(inv["source"], "nvidia-smi", "{inv:#}");
    assert_eq!(inv["gpus"].as_array().map(Vec::len), Some(3), "{inv:#}");
    assert_eq!(
        inv["gpus"][1]["processes"][1],
        serde_json::json!([5678, 2048])
    );

    let broken = "#!/bin/sh\necho \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\"\nexit 9\n";
    let out = with_fake_smi(&env, broken)
        .args(["jobs", "gpus"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("no GPU: NVML: ")
            && text.contains("nvidia-smi: failed")
            && text.contains("couldn't communicate"),
        "{text}"
    );
}
