//! `lmdeck bench generate`: time to first token and decode speed of the local chat model on
//! a fixed chat prompt, greedy, printed in the format of `scripts/bench/generate_baseline.py`
//! (the Python onnxruntime loop over the same ONNX file) so `scripts/bench-generate.sh` can
//! put them side by side.

use crate::args::BenchGenerateArgs;
use crate::generate::{Cancel, ChatMessage, GenerateRequest, Generator, SamplingParams};
use crate::services::Context;

/// The system line SmolLM2's template adds when a conversation has none; given explicitly so
/// the Python baseline renders the very same prompt.
pub const SYSTEM: &str = "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

pub fn run(ctx: &Context, args: &BenchGenerateArgs) -> anyhow::Result<()> {
    let decoder = ctx.decoder(args.model.as_deref())?;
    let request = GenerateRequest {
        messages: vec![
            ChatMessage::new("system", SYSTEM),
            ChatMessage::new("user", args.prompt.clone()),
        ],
        sampling: SamplingParams::default(),
        max_new_tokens: args.max_tokens,
        stop: Vec::new(),
    };
    if args.verify {
        let ids = decoder.encode(&args.prompt)?;
        let full = decoder.logits(&ids, false)?;
        let steps = decoder.logits(&ids, true)?;
        let mut max_diff = 0.0f32;
        let mut agree = 0;
        for (a, b) in full.iter().zip(&steps) {
            max_diff = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(max_diff, f32::max);
            agree += usize::from(
                crate::generate::sampler::argmax(a) == crate::generate::sampler::argmax(b),
            );
        }
        println!(
            "verify: {} positions, KV-cached steps vs full pass: max |logit diff| {max_diff:.5}, top-1 agreement {agree}/{}",
            ids.len(),
            ids.len()
        );
    }
    // One untimed run: the first inference of a session pays for lazy initialisation.
    let warm = GenerateRequest {
        max_new_tokens: 2,
        ..request.clone()
    };
    decoder.generate(&warm, &Cancel::default(), &mut |_| {})?;
    let mut runs = Vec::new();
    for _ in 0..args.runs.max(1) {
        runs.push(decoder.generate(&request, &Cancel::default(), &mut |_| {})?);
    }
    // Each figure's best run: shared machines only ever add noise.
    let ttft = runs
        .iter()
        .map(|s| s.time_to_first_token_ms)
        .fold(f64::INFINITY, f64::min);
    let decode = runs
        .iter()
        .map(|s| s.decode_tokens_per_s)
        .fold(0.0, f64::max);
    if let Some(s) = runs.first() {
        println!(
            "mode=lmdeck ttft_ms={ttft:.1} decode_tokens_per_s={decode:.1} tokens={} prompt_tokens={} provider={}",
            s.completion_tokens,
            s.prompt_tokens,
            decoder.provider()
        );
    }
    Ok(())
}
