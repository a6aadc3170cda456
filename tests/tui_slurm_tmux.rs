//! End to end on the real single-node Slurm (scripts/slurm-cluster.sh start): a job submitted
//! with `--backend slurm` and a job of the user's own (plain `sbatch`), read from the console
//! at 80x24: the job's Slurm id, running then succeeded; the cluster panel (`S`) with the
//! node, its GPUs and the other job. Prints a visible SKIP without Slurm (fails with
//! LMDECK_REQUIRE_SLURM=1).

mod common;
mod jobs_support;
mod slurm_support;
#[path = "common/tmux.rs"]
mod tmux;

use common::Env;
use jobs_support::{spec, wait_state, DaemonGuard};
use serde_json::Value;
use std::process::Command;
use tmux::Console;

/// The binary with the test's jobs dir, the cluster's config and a quick poll.
fn cmd(env: &Env) -> Command {
    let mut c = jobs_support::cmd(env);
    if let Some(conf) = slurm_support::slurm_conf() {
        c.env("SLURM_CONF", conf);
    }
    c.env("LMDECK_SLURM_POLL_MIN_MS", "300")
        .env("LMDECK_SLURM_POLL_MAX_MS", "1000");
    c
}

/// A Slurm job lmdeck did not submit, cancelled when dropped (also when the test fails).
struct OtherJob(String);

impl OtherJob {
    fn submit(env: &Env) -> OtherJob {
        let out = Command::new("sbatch")
            .envs(cmd(env).get_envs().filter_map(|(k, v)| Some((k, v?))))
            .args(["--parsable", "-J", "notebook-x", "-o", "/dev/null"])
            .args(["--wrap", "sleep 120"])
            .output()
            .unwrap();
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            out.status.success() && !id.is_empty(),
            "sbatch: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        OtherJob(id)
    }
}

impl Drop for OtherJob {
    fn drop(&mut self) {
        let conf = slurm_support::slurm_conf().unwrap_or_default();
        let _ = Command::new("scancel")
            .env("SLURM_CONF", conf)
            .arg(&self.0)
            .output();
    }
}

#[test]
fn the_console_shows_a_slurm_job_running_then_succeeded_and_the_cluster() {
    let test = "the_console_shows_a_slurm_job_running_then_succeeded_and_the_cluster";
    if !slurm_support::slurm_ready(test) {
        return;
    }
    let env = Env::new();
    let _daemon = DaemonGuard(&env);
    let other = OtherJob::submit(&env);
    let file = spec(
        &env,
        "sleep.toml",
        "tmux-slurm",
        &["sh".into(), "-c".into(), "sleep 8; echo done".into()],
        "",
    );
    let out = cmd(&env)
        .args(["jobs", "submit", "--backend", "slurm", "--json"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = job["id"].as_i64().unwrap();
    let slurm_id = job["slurm_job_id"].as_str().unwrap().to_string();

    let t = Console::start(&cmd(&env), "slurm-test", 80, 24);
    // The first frame is up before any key is sent.
    t.wait_for("the console", 30, |s| {
        s.contains("1 Corpus") && s.contains("4 Jobs")
    });
    t.keys(&["4"]);
    let row = format!("{id:>4}  tmux-slurm");
    t.wait_for("the Slurm job running", 60, |s| {
        s.lines()
            .any(|l| l.contains(&row) && l.contains("running") && l.contains("slurm"))
    });

    // The cluster panel: the node with its two GPUs, and the user's other job.
    t.keys(&["S"]);
    let screen = t.wait_for("the cluster panel", 30, |s| {
        s.contains("Slurm cluster (S hides)")
            && s.lines().any(|l| l.starts_with("│vm ") && l.contains("/2"))
            && s.contains("partition debug: 1 node")
            && s.contains(other.0.as_str())
    });
    let mine = screen.lines().find(|l| l.contains(&other.0)).unwrap_or("");
    assert!(mine.contains("notebook-x"), "{screen}");
    assert!(
        !screen.contains("lmdeck-tmux-slurm"),
        "lmdeck's own job is not among the others:\n{screen}"
    );

    // Its detail names the Slurm job; it ends succeeded.
    t.keys(&["Enter"]);
    t.wait_for("the detail with the Slurm id", 30, |s| {
        s.contains(&format!("Job #{id} tmux-slurm · slurm job {slurm_id}"))
    });
    t.wait_for("the job succeeded", 90, |s| {
        s.lines().any(|l| l.starts_with("│succeeded"))
    });
    t.keys(&["Escape"]);
    t.wait_for("the queue showing it succeeded", 30, |s| {
        s.lines()
            .any(|l| l.contains(&row) && l.contains("succeeded"))
    });
    assert_eq!(wait_state(&env, id, "succeeded")["exit_code"], 0);

    t.keys(&["q"]);
    t.wait_for("the console to exit", 30, |s| s.contains("LMDECK_EXIT=0"));
}

#[test]
fn without_slurm_the_cluster_panel_says_so() {
    // A PATH with only `sleep` (the pane's shell keeps the pane with it) stands in for a
    // host without Slurm: no sbatch to find.
    let env = Env::new();
    // The jobs tables exist (as after any job), so the console opens on an empty queue.
    jobs_support::ok(&env, &["jobs", "list"]);
    let bin = env.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink("/bin/sleep", bin.join("sleep")).unwrap();
    let mut c = jobs_support::cmd(&env);
    c.env("PATH", &bin);
    let t = Console::start(&c, "noslurm-test", 80, 24);
    t.wait_for("the console", 30, |s| {
        s.contains("1 Corpus") && s.contains("4 Jobs")
    });
    t.keys(&["4"]);
    t.wait_for("the jobs screen", 30, |s| s.contains("Jobs 0 of 0"));
    t.keys(&["S"]);
    let screen = t.wait_for("the panel's state", 30, |s| {
        s.contains("no Slurm: sbatch not found")
    });
    assert_eq!(
        screen.matches("no Slurm").count(),
        1,
        "said once, in the panel, not as toasts:\n{screen}"
    );
    t.keys(&["q"]);
    t.wait_for("the console to exit", 30, |s| s.contains("LMDECK_EXIT=0"));
}
