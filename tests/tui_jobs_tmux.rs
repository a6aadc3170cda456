//! End to end: a job submitted with the CLI, watched and cancelled in the real console (in
//! tmux, driven with `send-keys`, read with `capture-pane`): the jobs screen shows it running
//! with progress and a loss chart, and cancelling asks first, then the job ends cancelled.

mod common;
mod jobs_support;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Env;
use jobs_support::{cmd, ok, spec, submit, wait_state};

/// One tmux server per test (its own socket), killed when the test ends.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(env: &Env, width: u16, height: u16) -> Tmux {
        let socket = format!(
            "lmdeck-jobs-test-{}-{}",
            std::process::id(),
            env.dir.path().file_name().unwrap().to_string_lossy()
        );
        let bin = env!("CARGO_BIN_EXE_lmdeck");
        let mut tmux = Command::new("tmux");
        tmux.args([
            "-L",
            &socket,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "main",
        ])
        .args(["-x", &width.to_string(), "-y", &height.to_string()])
        // The pane stays after the console exits, so a failure can still be read.
        .arg(format!("{bin}; echo LMDECK_EXIT=$?; sleep 120"));
        // The server takes its environment from this first client: the jobs dir included.
        let probe = cmd(env);
        for (key, value) in probe.get_envs() {
            match value {
                Some(v) => tmux.env(key, v),
                None => tmux.env_remove(key),
            };
        }
        tmux.env("TERM", "xterm-256color").env_remove("NO_COLOR");
        let status = tmux
            .status()
            .expect("tmux must be installed (scripts/test.sh installs it)");
        assert!(status.success(), "tmux new-session failed");
        Tmux { socket }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "main"])
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let _ = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", "-t", "main", k])
                .status();
            // A key alone, not glued to the next one.
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn wait_for(&self, what: &str, secs: u64, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the screen shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// A training script: JSON-line metrics on stdout, a tqdm bar on stderr, one step every
/// 0.2 s for 60 s (the test cancels it long before).
const TRAIN: &str = r#"
import json, sys, time
total = 300
for step in range(1, total + 1):
    print(json.dumps({"step": step, "loss": round(2.0 / step ** 0.5, 4), "learning_rate": 1e-4}), flush=True)
    pct = step * 100 // total
    sys.stderr.write(f"\r{pct:3d}%|####      | {step}/{total} [00:01<00:59,  5.00it/s]")
    sys.stderr.flush()
    time.sleep(0.2)
"#;

#[test]
fn a_running_job_shows_progress_and_a_chart_and_is_cancelled_after_confirmation() {
    let env = Env::new();
    let script = env.write("train.py", TRAIN);
    let file = spec(
        &env,
        "train.toml",
        "tmux-train",
        &["python3".into(), script.display().to_string()],
        "",
    );
    let id = submit(&env, &file, &[]);
    wait_state(&env, id, "running");

    let t = Tmux::start(&env, 120, 40);
    // The first frame is up before any key is sent.
    t.wait_for("the console", 30, |s| {
        s.contains("1 Corpus") && s.contains("4 Jobs")
    });
    t.keys(&["4"]);
    let row = format!("{id:>4}  tmux-train");
    t.wait_for("the job running with progress", 30, |s| {
        s.lines()
            .any(|l| l.contains(&row) && l.contains("running") && l.contains('%'))
    });

    // Its detail: progress, a loss chart with points, the log tail.
    t.keys(&["Enter"]);
    let screen = t.wait_for("the detail with a chart", 30, |s| {
        s.contains(&format!("Job #{id} tmux-train"))
            && s.contains("step ")
            && s.contains("loss (v:")
            && s.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c))
            && s.contains("\"loss\"")
    });
    assert!(screen.contains("stdout · following"), "{screen}");

    // Cancel: asked first; n keeps it running, y cancels.
    t.keys(&["c"]);
    t.wait_for("the confirmation", 10, |s| s.contains("Cancel job?"));
    t.keys(&["n"]);
    t.wait_for("the confirmation closed", 10, |s| {
        !s.contains("Cancel job?")
    });
    assert_eq!(
        jobs_support::show(&env, id)["state"],
        "running",
        "n keeps the job"
    );
    t.keys(&["c"]);
    t.wait_for("the confirmation", 10, |s| s.contains("Cancel job?"));
    t.keys(&["y"]);
    t.wait_for("the job cancelled", 60, |s| {
        s.contains(&format!("job {id} cancelled")) || s.contains("cancelled  ")
    });
    t.keys(&["Escape"]);
    t.wait_for("the queue showing it cancelled", 30, |s| {
        s.lines()
            .any(|l| l.contains(&row) && l.contains("cancelled"))
    });
    assert_eq!(jobs_support::show(&env, id)["state"], "cancelled");

    t.keys(&["q"]);
    t.wait_for("the console to exit", 30, |s| s.contains("LMDECK_EXIT=0"));
    let list = ok(&env, &["jobs", "list"]);
    assert!(list.contains("cancelled"), "{list}");
}
