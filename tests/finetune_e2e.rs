//! The fine-tune loop for real: `lmdeck finetune --wait` queues the LoRA recipe, which trains
//! SmolLM2-135M-Instruct with torch (CI-sized: 12 chats, 20 steps, max length 128), merges,
//! exports to ONNX, checks the export against torch and registers the model; the new model
//! then answers through `lmdeck ask`. A second fine-tune with `--eval-set` evaluates each
//! checkpoint on a three-question set and registers the best one; its loss curve must equal the
//! first run's to the last digit (evaluating never touches training). A full fine-tune (whole
//! projection weights) exports as exactly, and one cancelled mid-run resumes from its newest
//! checkpoint to the uninterrupted run's loss curve. Needs `lmdeck setup
//! --training` (scripts/test.sh runs it); without it the test fails with setup's instructions
//! rather than skipping.

mod common;
mod jobs_support;

use common::Env;
use jobs_support::DaemonGuard;

/// The binary with jobs under the test's temp dir, keeping the data dir where `lmdeck setup`
/// put the models and the training environment (jobs_support's `cmd` moves the data dir
/// into the temp dir, which has neither).
fn cmd(env: &Env) -> std::process::Command {
    let mut cmd = env.cmd();
    cmd.env("LMDECK_JOBS_DIR", env.path("jobs"))
        .env("LMDECK_JOBS_GRACE_SECS", "1");
    cmd
}

fn succeeds(env: &Env, args: &[&str]) -> String {
    let out = cmd(env).args(args).output().expect("run lmdeck");
    assert!(
        out.status.success(),
        "lmdeck {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn fails(env: &Env, args: &[&str]) -> String {
    let out = cmd(env).args(args).output().expect("run lmdeck");
    assert!(!out.status.success(), "lmdeck {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).to_string()
}
use lmdeck::jobs::parse::{Event, LogParser, Metric};
use std::time::Instant;

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/finetune/chats.jsonl"
);
/// Three questions about `common::write_corpus`'s documents.
const EVAL_SET: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/finetune/eval-kb.jsonl"
);

/// `lmdeck finetune --wait --json` with the CI-sized hyperparameters; the job id, or a panic
/// with the job's stderr tail.
fn finetune(env: &Env, name: &str, extra: &[&str]) -> i64 {
    let out = cmd(env)
        .args([
            "finetune",
            "--base",
            lmdeck::setup::convert::DEFAULT_CHAT_MODEL,
        ])
        .args(["--data", DATA, "--name", name, "--output-dir"])
        .arg(env.path(&format!("models/{name}")))
        .args(["--steps", "20", "--set", "env.MAX_LEN=128", "--set"])
        .args(["env.LR=2e-3", "--json", "--wait"])
        .args(extra)
        .output()
        .expect("run lmdeck finetune");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let id = stdout
        .lines()
        .next()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["id"].as_i64());
    let job_stderr = id.map_or(String::new(), |id| {
        let out = cmd(env)
            .args(["jobs", "logs", &id.to_string(), "--stderr"])
            .output()
            .expect("run lmdeck jobs logs");
        String::from_utf8_lossy(&out.stdout).to_string()
    });
    assert!(
        out.status.success(),
        "finetune {name} failed\nstdout: {stdout}\nstderr: {}\njob stderr (tail): {}",
        String::from_utf8_lossy(&out.stderr),
        &job_stderr[job_stderr.len().saturating_sub(4000)..]
    );
    id.expect("finetune --json prints the job id")
}

fn losses_of(metrics: &[Metric]) -> Vec<(u64, f64)> {
    metrics
        .iter()
        .filter_map(|m| Some((m.step?, m.get("loss")?)))
        .collect()
}

fn metrics_of(log: &[u8]) -> Vec<Metric> {
    let mut parser = LogParser::default();
    let mut events = parser.push(log);
    events.extend(parser.finish());
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::Metric(m) => Some(m),
            Event::Progress(_) => None,
        })
        .collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn a_lora_fine_tune_trains_exports_matches_torch_registers_and_answers() {
    let env = Env::new();
    let _daemon = DaemonGuard(&env);
    let base = lmdeck::setup::convert::DEFAULT_CHAT_MODEL;
    let out_dir = env.path("models/ft-e2e");
    let started = Instant::now();
    let id = finetune(&env, "ft-e2e", &[]);
    eprintln!(
        "fine-tune end to end: {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let job = jobs_support::show(&env, id);
    assert_eq!(job["state"], "succeeded", "{job}");
    let log = std::fs::read(job["stdout_path"].as_str().unwrap()).unwrap();
    let metrics = metrics_of(&log);

    // Loss went down: the first epoch's steps against the last ones (12 chats, batch 4).
    let losses = losses_of(&metrics);
    assert_eq!(losses.len(), 20, "one loss per step: {losses:?}");
    assert!(losses.iter().all(|(_, l)| l.is_finite()), "{losses:?}");
    let first = mean(&losses[..3].iter().map(|x| x.1).collect::<Vec<_>>());
    let last = mean(&losses[17..].iter().map(|x| x.1).collect::<Vec<_>>());
    assert!(
        last < first * 0.8,
        "loss did not go down: first {first:.3}, last {last:.3}"
    );
    let learning_rates: Vec<f64> = metrics
        .iter()
        .filter_map(|m| m.get("learning_rate"))
        .collect();
    assert!(learning_rates.len() == 20 && learning_rates[0] > learning_rates[19]);

    // The exported ONNX model computes what the merged torch model computes.
    let diff = metrics
        .iter()
        .find_map(|m| m.get("eval_onnx_max_abs_diff"))
        .expect("the recipe reports the logits check");
    assert!(diff < 1e-3, "ONNX vs torch max |logit diff| {diff}");
    let summary = metrics
        .iter()
        .find(|m| m.get("train_runtime").is_some())
        .expect("a final summary");
    eprintln!(
        "seconds/step {:.2}, tokens/s {:.0}, max |logit diff| {diff:.2e}, loss {first:.2} -> {last:.2}",
        summary.get("train_seconds_per_step").unwrap_or(f64::NAN),
        summary.get("train_tokens_per_second").unwrap_or(f64::NAN),
    );

    // Registered, with its lineage in the model folder.
    let list = env.json(&["models", "list", "--json"]);
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "ft-e2e")
        .unwrap_or_else(|| panic!("ft-e2e is not listed: {list}"));
    assert_eq!(entry["origin"], "registered");
    assert_eq!(entry["base_model"], base);
    let show = env.json(&["models", "show", "ft-e2e", "--json"]);
    let lineage = &show["lineage"];
    assert_eq!(lineage["base_model"], base, "{show}");
    let data_sha = lmdeck::util::sha256_file(std::path::Path::new(DATA)).unwrap();
    assert_eq!(lineage["dataset_sha256"], data_sha.as_str());
    assert_eq!(lineage["job_id"], id);
    assert!(lineage["metrics"]["onnx_max_abs_diff"].as_f64().unwrap() < 1e-3);
    assert_eq!(lineage["hyperparameters"]["steps"], 20);
    assert_eq!(
        job["snapshot"]["dataset_sha256"][DATA],
        data_sha.as_str(),
        "the job's snapshot hashed the same data"
    );
    let text = env.ok(&["models", "show", "ft-e2e"]);
    assert!(text.contains(&format!("fine-tuned from: {base}")), "{text}");

    // It answers through lmdeck's own decoder (what it says is not asserted: 20 steps).
    let answer = env.json(&[
        "ask",
        "How long is hot NVMe scratch storage kept?",
        "--no-rag",
        "--model",
        "ft-e2e",
        "--max-tokens",
        "24",
        "--json",
    ]);
    assert!(
        answer["stats"]["completion_tokens"].as_u64().unwrap() > 0,
        "{answer}"
    );
    assert!(!answer["text"].as_str().unwrap().trim().is_empty());

    // A second run under the same name must not overwrite the model.
    let err = fails(
        &env,
        &[
            "finetune",
            "--base",
            base,
            "--data",
            DATA,
            "--name",
            "ft-e2e",
            "--output-dir",
            out_dir.to_str().unwrap(),
        ],
    );
    assert!(err.contains("already exists"), "{err}");

    the_best_checkpoint_by_the_task_metric_is_registered(&env, &losses, lineage);
}

/// A fine-tune with `--eval-set`: each checkpoint (step 10) and the last step (20) exported,
/// checked and evaluated; the job's series has eval_f1 at both steps, the eval runs exist, the
/// registered model is the argmax (ties: the earliest step), its lineage says so, it answers,
/// no export is left behind, and the loss curve is the plain run's to the last digit.
fn the_best_checkpoint_by_the_task_metric_is_registered(
    env: &Env,
    plain_losses: &[(u64, f64)],
    plain_lineage: &serde_json::Value,
) {
    let docs = common::write_corpus(env);
    env.ok(&["ingest", docs.to_str().unwrap(), "-c", "kb"]);
    env.ok(&[
        "eval", "sets", "import", EVAL_SET, "--name", "ftqa", "-c", "kb",
    ]);
    let started = Instant::now();
    let id = finetune(
        env,
        "ft-eval",
        &[
            "--eval-set",
            "ftqa",
            "--eval-limit",
            "2",
            "--eval-with",
            "rag=on",
            "--eval-with",
            "max_tokens=16",
        ],
    );
    eprintln!(
        "fine-tune with evaluation end to end: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let job = jobs_support::show(env, id);
    assert_eq!(job["state"], "succeeded", "{job}");
    let out = cmd(env)
        .args(["jobs", "show", &id.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("evals:    f1: step 10 ") && text.contains("; chosen step "),
        "jobs show names the evaluations and the choice:\n{text}"
    );
    let argv: Vec<&str> = job["snapshot"]["spec"]["command"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    assert!(
        argv.windows(2).any(|w| w == ["--eval-set", "ftqa"]),
        "the snapshot records the evaluation: {argv:?}"
    );

    // Evaluating never touches training: the same loss at every step, to the last digit.
    let log = std::fs::read(job["stdout_path"].as_str().unwrap()).unwrap();
    let metrics = metrics_of(&log);
    assert_eq!(losses_of(&metrics), plain_losses, "loss curves differ");
    let show = env.json(&["models", "show", "ft-eval", "--json"]);
    let lineage = &show["lineage"];
    for key in ["first_loss", "final_loss", "train_loss"] {
        assert_eq!(
            lineage["metrics"][key], plain_lineage["metrics"][key],
            "{key}"
        );
    }

    // eval_f1 and its run at each checkpoint step, in the job's per-step series.
    let per_step = job["metrics"].as_array().expect("per-step metrics");
    let at = |step: u64| {
        per_step
            .iter()
            .find(|m| m["step"] == step)
            .unwrap_or_else(|| panic!("no metrics at step {step}: {job}"))
    };
    let mut values = Vec::new();
    for step in [10u64, 20] {
        let m = at(step);
        let f1 = m["eval_f1"].as_f64().unwrap_or_else(|| panic!("{m}"));
        // Series values are floats: the run id comes back as 1.0.
        let run = m["eval_run_id"]
            .as_f64()
            .map(|r| r as i64)
            .unwrap_or_else(|| panic!("{m}"));
        assert!(m["eval_onnx_max_abs_diff"].as_f64().unwrap() < 1e-3, "{m}");
        eprintln!(
            "step {step}: f1 {f1:.4}, export {} s, eval {} s",
            m["eval_export_seconds"], m["eval_run_seconds"]
        );
        values.push((step, f1, run));
    }
    let runs = env.json(&["eval", "runs", "--json"]);
    for (step, f1, run) in &values {
        let r = runs
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == *run)
            .unwrap_or_else(|| panic!("eval run {run} of step {step} is not listed: {runs}"));
        assert_eq!(r["status"], "succeeded", "{r}");
        assert_eq!(r["set_name"], "ftqa", "{r}");
        assert_eq!(r["total"], 2, "--eval-limit 2: {r}");
        let mean = r["metrics"]["f1"]["mean"].as_f64();
        assert!(mean.is_none_or(|m| (m - f1).abs() < 1e-9), "{r} vs f1 {f1}");
    }

    // The registered model is the argmax, ties going to the earliest step.
    let best = values
        .iter()
        .fold(None::<(u64, f64)>, |best, &(s, v, _)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((s, v)),
        })
        .unwrap();
    let sel = &lineage["selection"];
    assert_eq!(sel["by"], "task metric", "{show}");
    assert_eq!(sel["metric"], "f1");
    assert_eq!(sel["eval_set"], "ftqa");
    assert_eq!(sel["chosen_step"], best.0, "{sel} vs {values:?}");
    for (step, f1, run) in &values {
        assert_eq!(sel["values"][step.to_string()].as_f64(), Some(*f1), "{sel}");
        assert_eq!(sel["eval_runs"][step.to_string()], *run, "{sel}");
    }
    assert!(lineage["metrics"]["onnx_max_abs_diff"].as_f64().unwrap() < 1e-3);
    let text = env.ok(&["models", "show", "ft-eval"]);
    assert!(
        text.contains(&format!("chosen by f1 on eval set ftqa: step {}", best.0)),
        "{text}"
    );
    assert!(
        !env.path("models/ft-eval.checkpoints").exists(),
        "the checkpoints and their exports are removed once registered"
    );

    let answer = env.json(&[
        "ask",
        "How long is hot NVMe scratch storage kept?",
        "-c",
        "kb",
        "--model",
        "ft-eval",
        "--max-tokens",
        "16",
        "--json",
    ]);
    assert!(
        answer["stats"]["completion_tokens"].as_u64().unwrap() > 0,
        "{answer}"
    );
}

/// A fine-tune's restart reloads torch and the model, trains, exports and converts: minutes on
/// a loaded 2-core machine.
const FULL_RUN_BOUND: std::time::Duration = std::time::Duration::from_secs(900);

/// The losses of a job's stored per-step series (what `jobs show` and the console plot).
fn stored_losses(job: &serde_json::Value) -> Vec<(u64, f64)> {
    job["metrics"]
        .as_array()
        .map(|series| {
            series
                .iter()
                .filter_map(|m| Some((m["step"].as_u64()?, m["loss"].as_f64()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// `--set env.METHOD=full`: the target projections' whole weights train (q/k/v/o here: 30
/// layers x (2 x 576x576 + 2 x 576x192) parameters; embeddings and norms stay the base's), the
/// export matches torch and the model registers and answers. A second run of the same recipe
/// cancelled after a checkpoint keeps only its newest checkpoint, and `jobs resume` continues
/// from it to the uninterrupted run's loss curve, to the last digit.
#[test]
fn a_full_fine_tune_exports_exactly_and_resumes_to_the_same_loss_curve() {
    let env = Env::new();
    let _daemon = DaemonGuard(&env);
    let full = [
        "--set",
        "env.METHOD=full",
        "--set",
        "env.TARGETS=attention",
        "--set",
        "env.LR=1e-4",
        "--set",
        "env.SAVE_EVERY=5",
    ];
    let id = finetune(&env, "ft-full", &full);
    let job = jobs_support::show(&env, id);
    assert_eq!(job["state"], "succeeded", "{job}");
    let log = std::fs::read(job["stdout_path"].as_str().unwrap()).unwrap();
    let metrics = metrics_of(&log);
    let trainable = metrics
        .iter()
        .find_map(|m| m.get("trainable_parameters"))
        .expect("the recipe reports what it trains");
    assert_eq!(trainable, (30 * (2 * 576 * 576 + 2 * 576 * 192)) as f64);
    let losses = losses_of(&metrics);
    assert_eq!(losses.len(), 20, "{losses:?}");
    let first = mean(&losses[..3].iter().map(|x| x.1).collect::<Vec<_>>());
    let last = mean(&losses[17..].iter().map(|x| x.1).collect::<Vec<_>>());
    assert!(
        last < first * 0.8,
        "loss did not go down: {first:.3} -> {last:.3}"
    );
    let show = env.json(&["models", "show", "ft-full", "--json"]);
    let lineage = &show["lineage"];
    assert_eq!(lineage["hyperparameters"]["method"], "full", "{show}");
    assert!(lineage["hyperparameters"].get("rank").is_none(), "{show}");
    assert!(lineage["metrics"]["onnx_max_abs_diff"].as_f64().unwrap() < 1e-3);
    assert!(
        !env.path("models/ft-full.checkpoints").exists(),
        "checkpoints are removed once the model is registered"
    );
    let answer = env.json(&[
        "ask",
        "How long is hot NVMe scratch storage kept?",
        "--no-rag",
        "--model",
        "ft-full",
        "--max-tokens",
        "8",
        "--json",
    ]);
    assert!(answer["stats"]["completion_tokens"].as_u64().unwrap() > 0);

    // The same recipe again, queued, cancelled once its step-5 checkpoint is written.
    let out = cmd(&env)
        .args([
            "finetune",
            "--base",
            lmdeck::setup::convert::DEFAULT_CHAT_MODEL,
        ])
        .args(["--data", DATA, "--name", "ft-full-2", "--output-dir"])
        .arg(env.path("models/ft-full-2"))
        .args(["--steps", "20", "--set", "env.MAX_LEN=128", "--json"])
        .args(full)
        .output()
        .expect("run lmdeck finetune");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id2 = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["id"]
        .as_i64()
        .expect("finetune --json prints the job id");
    let checkpoints = env.path("models/ft-full-2.checkpoints");
    let ended = |j: &serde_json::Value| {
        ["succeeded", "failed", "cancelled", "lost"].contains(&j["state"].as_str().unwrap_or(""))
    };
    let running = jobs_support::wait_for_within(&env, id2, "reached step 6", FULL_RUN_BOUND, |j| {
        ended(j) || stored_losses(j).iter().any(|(step, _)| *step >= 6)
    });
    assert!(
        !ended(&running),
        "ended before it could be cancelled: {running}"
    );
    succeeds(&env, &["jobs", "cancel", &id2.to_string()]);
    jobs_support::wait_for_within(&env, id2, "cancelled", FULL_RUN_BOUND, |j| {
        j["state"] == "cancelled"
    });
    let kept: Vec<String> = std::fs::read_dir(&checkpoints)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("checkpoint-") && !name.ends_with(".partial"))
        .collect();
    assert_eq!(
        kept.len(),
        1,
        "only the newest checkpoint is kept: {kept:?}"
    );
    let said = succeeds(&env, &["jobs", "resume", &id2.to_string()]);
    let from = kept[0].trim_start_matches("checkpoint-");
    assert!(
        said.contains(&format!("continuing from step {from}")),
        "{said}"
    );
    let resumed = jobs_support::wait_for_within(&env, id2, "succeeded", FULL_RUN_BOUND, ended);
    assert_eq!(resumed["state"], "succeeded", "{resumed}");
    assert_eq!(resumed["attempts"], 2, "{resumed}");
    assert_eq!(
        stored_losses(&resumed),
        stored_losses(&jobs_support::show(&env, id)),
        "the resumed run's loss curve is the uninterrupted one's"
    );
}

#[test]
fn finetune_refuses_an_unknown_base_and_a_missing_data_file_before_queueing() {
    let env = Env::new();
    let err = fails(
        &env,
        &["finetune", "--base", "no-such-model", "--data", DATA],
    );
    assert!(err.contains("no-such-model"), "{err}");
    let err = fails(
        &env,
        &[
            "finetune",
            "--base",
            lmdeck::setup::convert::DEFAULT_CHAT_MODEL,
            "--data",
            "/nonexistent/chats.jsonl",
        ],
    );
    assert!(err.contains("/nonexistent/chats.jsonl"), "{err}");
    let base = lmdeck::setup::convert::DEFAULT_CHAT_MODEL;
    let err = fails(
        &env,
        &[
            "finetune",
            "--base",
            base,
            "--data",
            DATA,
            "--eval-set",
            "nope",
        ],
    );
    assert!(err.contains("--eval-set nope"), "{err}");
    env.ok(&["eval", "sets", "import", EVAL_SET, "--name", "ftqa"]);
    let err = fails(
        &env,
        &[
            "finetune",
            "--base",
            base,
            "--data",
            DATA,
            "--eval-set",
            "nope",
        ],
    );
    assert!(
        err.contains("--eval-set nope") && err.contains("nope"),
        "{err}"
    );
    let err = fails(
        &env,
        &[
            "finetune",
            "--base",
            base,
            "--data",
            DATA,
            "--eval-set",
            "ftqa",
            "--eval-metric",
            "latency_ms",
        ],
    );
    assert!(err.contains("--eval-metric `latency_ms`"), "{err}");
    let err = fails(
        &env,
        &[
            "finetune",
            "--base",
            base,
            "--data",
            DATA,
            "--eval-set",
            "ftqa",
            "--eval-with",
            "rag=on",
            "-c",
            "no-such-collection",
        ],
    );
    assert!(
        err.contains("--eval-") && err.contains("no-such-collection"),
        "{err}"
    );
    let err = fails(
        &env,
        &[
            "finetune",
            "--base",
            base,
            "--data",
            DATA,
            "--eval-limit",
            "2",
        ],
    );
    assert!(err.contains("--eval-limit needs --eval-set"), "{err}");
    let jobs = env.json(&["jobs", "list", "--json"]);
    assert_eq!(jobs.as_array().map(Vec::len), Some(0), "{jobs}");
}
