//! End to end: a job submitted with the CLI, watched and cancelled in the real console (in
//! tmux, driven with `send-keys`, read with `capture-pane`): the jobs screen shows it running
//! with progress and a loss chart, and cancelling asks first, then the job ends cancelled.

mod common;
mod jobs_support;
#[path = "common/tmux.rs"]
mod tmux;

use common::Env;
use jobs_support::{cmd, ok, spec, submit, wait_state};
use tmux::Console;

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

    let t = Console::start(&cmd(&env), "jobs-test", 120, 40);
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
