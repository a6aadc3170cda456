//! The fine-tune loop for real: `lmdeck finetune --wait` queues the LoRA recipe, which trains
//! SmolLM2-135M-Instruct with torch (CI-sized: 12 chats, 20 steps, max length 128), merges,
//! exports to ONNX, checks the export against torch and registers the model; the new model
//! then answers through `lmdeck ask`. Needs `lmdeck setup --training` (scripts/test.sh runs it);
//! without it the test fails with setup's instructions rather than skipping.

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
    let out = cmd(&env)
        .args([
            "finetune", "--base", base, "--data", DATA, "--name", "ft-e2e",
        ])
        .arg("--output-dir")
        .arg(&out_dir)
        .args(["--steps", "20", "--set", "env.MAX_LEN=128", "--set"])
        .args(["env.LR=2e-3", "--json", "--wait"])
        .output()
        .expect("run lmdeck finetune");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let id = stdout
        .lines()
        .next()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["id"].as_i64());
    let job_stderr = id.map_or(String::new(), |id| {
        let out = cmd(&env)
            .args(["jobs", "logs", &id.to_string(), "--stderr"])
            .output()
            .expect("run lmdeck jobs logs");
        String::from_utf8_lossy(&out.stdout).to_string()
    });
    assert!(
        out.status.success(),
        "finetune failed\nstdout: {stdout}\nstderr: {}\njob stderr (tail): {}",
        String::from_utf8_lossy(&out.stderr),
        &job_stderr[job_stderr.len().saturating_sub(4000)..]
    );
    let id = id.expect("finetune --json prints the job id");
    eprintln!(
        "fine-tune end to end: {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let job = jobs_support::show(&env, id);
    assert_eq!(job["state"], "succeeded", "{job}");
    let log = std::fs::read(job["stdout_path"].as_str().unwrap()).unwrap();
    let metrics = metrics_of(&log);

    // Loss went down: the first epoch's steps against the last ones (12 chats, batch 4).
    let losses: Vec<(u64, f64)> = metrics
        .iter()
        .filter_map(|m| Some((m.step?, m.get("loss")?)))
        .collect();
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
    let jobs = env.json(&["jobs", "list", "--json"]);
    assert_eq!(jobs.as_array().map(Vec::len), Some(0), "{jobs}");
}
