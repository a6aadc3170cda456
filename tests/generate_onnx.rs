//! The local decoder on the real default chat model (SmolLM2-135M-Instruct converted from its
//! GGUF by `lmdeck setup`): KV cache against a full pass, a clear answer, stop conditions,
//! cancellation, and faithfulness to the exact dequantised computation.

use lmdeck::generate::{
    Cancel, ChatMessage, FinishReason, GenerateEvent, GenerateRequest, Generator, OnnxDecoder,
    SamplingParams,
};
use lmdeck::services::{Context, Overrides};
use std::sync::OnceLock;

fn context() -> Context {
    let global = Overrides {
        config: Some("/nonexistent/lmdeck-test-config.toml".into()),
        device: Some("cpu".into()),
        ..Overrides::default()
    };
    Context::new(&global).unwrap()
}

/// One decoder for the whole test binary: loading the model costs a second.
fn decoder() -> &'static OnnxDecoder {
    static DECODER: OnceLock<OnnxDecoder> = OnceLock::new();
    DECODER.get_or_init(|| context().decoder(None).expect("run `lmdeck setup` first"))
}

fn chat(question: &str) -> Vec<ChatMessage> {
    vec![ChatMessage::new("user", question)]
}

fn run(request: &GenerateRequest, cancel: &Cancel) -> (String, lmdeck::generate::GenerateStats) {
    let mut text = String::new();
    let stats = decoder()
        .generate(request, cancel, &mut |e| {
            if let GenerateEvent::Text(t) = e {
                text.push_str(&t);
            }
        })
        .unwrap();
    (text, stats)
}

fn greedy(messages: Vec<ChatMessage>, max_new_tokens: usize) -> GenerateRequest {
    GenerateRequest {
        messages,
        sampling: SamplingParams::default(),
        max_new_tokens,
        stop: Vec::new(),
    }
}

/// A real sample document, long enough for 320 positions.
const DRAIN_RUNBOOK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/sample-data/corpus/runbooks/gpu-node-drain.md"
);

/// The first `n` token ids of [`DRAIN_RUNBOOK`].
fn runbook_ids(n: usize) -> Vec<u32> {
    let text = std::fs::read_to_string(DRAIN_RUNBOOK).unwrap();
    let mut ids = decoder().encode(&text).unwrap();
    ids.truncate(n);
    assert_eq!(ids.len(), n, "the document is long enough");
    ids
}

/// A second decoder on the CPU for the model folder `dir`, with `attention`.
fn start_decoder(
    dir: &std::path::Path,
    attention: lmdeck::generate::attention::AttentionChoice,
) -> OnnxDecoder {
    let runtime = context().runtime().unwrap();
    OnnxDecoder::start(dir, &runtime, 0, attention).unwrap()
}

#[test]
fn kv_cached_steps_match_a_full_forward_pass() {
    let d = decoder();
    let ids = d
        .encode("The quick brown fox jumps over the lazy dog, because it was late for dinner.")
        .unwrap();
    let full = d.logits(&ids, false).unwrap();
    let steps = d.logits(&ids, true).unwrap();
    assert_eq!(full.len(), ids.len());
    assert_eq!(steps.len(), ids.len());
    for (i, (a, b)) in full.iter().zip(&steps).enumerate() {
        let diff = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(diff < 1e-2, "position {i}: logits differ by {diff}");
        let top = |v: &[f32]| lmdeck::generate::sampler::argmax(v);
        assert_eq!(top(a), top(b), "position {i}");
    }
}

/// The CPU graph's attention (lmdeck's operator) against ONNX Runtime's GroupQueryAttention
/// over the same weights: the same logits to float rounding, over a prompt and step by step.
#[test]
fn lmdeck_attention_matches_onnx_runtimes() {
    let d = decoder();
    assert_eq!(
        d.attention(),
        "lmdeck",
        "the default model should run lmdeck's attention on the CPU (model.cpu.onnx)"
    );
    let ort_decoder = start_decoder(
        &context().chat_model_dir(),
        lmdeck::generate::attention::AttentionChoice::OnnxRuntime,
    );
    assert_eq!(ort_decoder.attention(), "onnxruntime");
    // Past 256 positions, so a decode step also takes the split path (two halves merged).
    let ids = runbook_ids(320);
    for step_by_step in [false, true] {
        let ours = d.logits(&ids, step_by_step).unwrap();
        let theirs = ort_decoder.logits(&ids, step_by_step).unwrap();
        assert_eq!(ours.len(), theirs.len());
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            let diff = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            assert!(
                diff < 1e-3,
                "position {i} (steps: {step_by_step}): logits differ by {diff}"
            );
            let top = |v: &[f32]| lmdeck::generate::sampler::argmax(v);
            assert_eq!(top(a), top(b), "position {i} (steps: {step_by_step})");
        }
    }
}

/// The float16 cache of the int8 mode (lmdeck.CachedAttentionF16) on its own: the default GGUF
/// converted with `--cache-type float16` and float32 activations, against the installed model
/// (float32 cache). Rounding keys and values to float16 moves the logits a little and the
/// top-1 token almost nowhere, as llama.cpp's float16 cache does.
#[test]
fn a_float16_cache_stays_close_to_the_float32_one() {
    let ctx = context();
    let env = lmdeck::setup::convert::converter_env(&ctx.paths).unwrap();
    let gguf = lmdeck::setup::convert::default_gguf(&ctx.paths);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("half-cache");
    let status = std::process::Command::new(&env.python)
        .arg(env.converter())
        .arg(&gguf)
        .arg(&out)
        .args(["--name", "half-cache", "--cache-type", "float16"])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("lmdeck-model.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["cpu_cache"], "float16");
    let half = start_decoder(&out, lmdeck::generate::attention::AttentionChoice::Lmdeck);
    assert_eq!(half.attention(), "lmdeck-float16-cache");
    let ids = runbook_ids(320);
    for step_by_step in [false, true] {
        let ours = half.logits(&ids, step_by_step).unwrap();
        let exact = decoder().logits(&ids, step_by_step).unwrap();
        assert_eq!(ours.len(), exact.len());
        let top = |v: &[f32]| lmdeck::generate::sampler::argmax(v);
        let agree = ours
            .iter()
            .zip(&exact)
            .filter(|(a, b)| top(a) == top(b))
            .count() as f64
            / ids.len() as f64;
        let kl = ours
            .iter()
            .zip(&exact)
            .map(|(q, p)| kl_divergence(p, q))
            .sum::<f64>()
            / ids.len() as f64;
        eprintln!(
            "float16 cache (steps: {step_by_step}): top-1 agreement {agree:.4}, mean KL {kl:.2e}"
        );
        assert!(
            agree >= 0.98,
            "top-1 agreement {agree} (steps: {step_by_step})"
        );
        assert!(kl < 1e-3, "mean KL {kl} (steps: {step_by_step})");
        assert!(
            agree < 1.0 || kl > 0.0,
            "the float16 cache changed nothing: did it run?"
        );
    }
}

/// KL(p || q) of two rows of logits.
fn kl_divergence(p: &[f32], q: &[f32]) -> f64 {
    let log_softmax = |v: &[f32]| {
        let m = v.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let z = v.iter().map(|x| (*x as f64 - m).exp()).sum::<f64>().ln() + m;
        v.iter().map(|x| *x as f64 - z).collect::<Vec<f64>>()
    };
    let (lp, lq) = (log_softmax(p), log_softmax(q));
    lp.iter().zip(&lq).map(|(a, b)| a.exp() * (a - b)).sum()
}

#[test]
fn answers_a_clear_factual_question() {
    let (text, stats) = run(
        &greedy(chat("What is the capital of France?"), 40),
        &Cancel::default(),
    );
    assert!(text.contains("Paris"), "{text}");
    assert_eq!(
        stats.finish,
        FinishReason::Stop,
        "ends with the end-of-turn token"
    );
    assert!(stats.prompt_tokens > 5 && stats.completion_tokens > 0);
}

#[test]
fn stops_at_max_tokens_and_at_stop_strings() {
    let (_, stats) = run(
        &greedy(chat("Count from one to twenty in words."), 5),
        &Cancel::default(),
    );
    assert_eq!(
        (stats.completion_tokens, stats.finish),
        (5, FinishReason::Length)
    );
    let mut request = greedy(chat("What is the capital of France?"), 40);
    request.stop = vec!["Paris".into()];
    let (text, stats) = run(&request, &Cancel::default());
    assert_eq!(stats.finish, FinishReason::Stop);
    assert!(!text.contains("Paris") && !text.is_empty(), "{text}");
}

#[test]
fn cancellation_stops_at_the_next_token() {
    let cancel = Cancel::default();
    let mut pieces = 0;
    let request = greedy(chat("Write a long story about a lighthouse keeper."), 200);
    let stats = decoder()
        .generate(&request, &cancel, &mut |e| {
            if let GenerateEvent::Text(_) = e {
                pieces += 1;
                if pieces == 3 {
                    cancel.cancel();
                }
            }
        })
        .unwrap();
    assert_eq!(stats.finish, FinishReason::Cancelled);
    assert!(stats.completion_tokens < 10, "{stats:?}");
}

#[test]
fn sampling_with_a_seed_repeats() {
    let mut request = greedy(chat("Name a fruit."), 12);
    request.sampling = SamplingParams {
        temperature: 0.9,
        top_k: 40,
        top_p: 0.95,
        repetition_penalty: 1.1,
        seed: 42,
    };
    let (a, _) = run(&request, &Cancel::default());
    let (b, _) = run(&request, &Cancel::default());
    assert_eq!(a, b);
}

/// The converted model against a plain numpy forward pass over the GGUF's dequantised weights
/// (scripts/convert/reference.py, run in the converter's environment), teacher-forced over 300
/// positions of a real document.
#[test]
fn converted_model_is_faithful_to_the_exact_computation() {
    let ctx = context();
    let env = lmdeck::setup::convert::converter_env(&ctx.paths).unwrap();
    let gguf = lmdeck::setup::convert::default_gguf(&ctx.paths);
    assert!(
        gguf.is_file(),
        "{} missing: run `lmdeck setup`",
        gguf.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reference.json");
    let status = std::process::Command::new(&env.python)
        .arg(env.reference())
        .arg(&gguf)
        .arg(ctx.chat_model_dir())
        .arg(DRAIN_RUNBOOK)
        .arg(&out)
        .args(["--positions", "300"])
        .status()
        .unwrap();
    assert!(status.success());
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let ids: Vec<u32> = reference["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    let top1: Vec<u32> = reference["top1"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    assert!(ids.len() >= 250, "{} positions", ids.len());
    let logits = decoder().logits(&ids, false).unwrap();
    let agree = logits
        .iter()
        .zip(&top1)
        .filter(|(row, want)| lmdeck::generate::sampler::argmax(row) == **want)
        .count() as f64
        / ids.len() as f64;
    eprintln!(
        "top-1 agreement with the exact computation: {agree:.4} over {} positions",
        ids.len()
    );
    // The exact mode (float32 activations, accuracy level 0, the default) must agree
    // everywhere; a conversion that quantises activations (level 4) is held to 0.95.
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(ctx.chat_model_dir().join("lmdeck-model.json")).unwrap(),
    )
    .unwrap();
    if manifest["accuracy_level"].as_u64().unwrap_or(0) == 0 {
        assert_eq!(agree, 1.0, "top-1 agreement {agree} in the exact mode");
    } else {
        assert!(agree >= 0.95, "top-1 agreement {agree}");
    }
}

/// The 4-bit path (MatMulNBits): GGUF Q4_0 and Q4_1 blocks, repacked for ONNX Runtime, give
/// back exactly the weights gguf-py dequantises, block minimums included.
#[test]
fn four_bit_blocks_repack_to_the_gguf_weights() {
    let ctx = context();
    let env = lmdeck::setup::convert::converter_env(&ctx.paths).unwrap();
    let check = r#"
import sys
import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize, dequantize
from gguf_to_onnx import four_bit_codes
w = np.random.default_rng(3).standard_normal((6, 96)).astype(np.float32) * 40
for kind in (T.Q4_0, T.Q4_1):
    raw = quantize(w, kind).reshape(6, -1)
    d, m, packed = four_bit_codes(kind, raw)
    codes = np.stack([packed & 15, packed >> 4], -1).reshape(6, -1, 32).astype(np.float32)
    rebuilt = (codes - 8) * d[..., None] + (0 if m is None else (m + 8 * d)[..., None])
    diff = float(np.abs(rebuilt.reshape(6, 96) - dequantize(raw, kind).reshape(6, 96)).max())
    print(kind.name, diff)
    if diff != 0.0:
        sys.exit(1)
"#;
    let out = std::process::Command::new(&env.python)
        .current_dir(&env.dir)
        .args(["-c", check])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text.trim(), "Q4_0 0.0\nQ4_1 0.0");
}
