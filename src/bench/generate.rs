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
    let prompt = match &args.prompt_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the prompt file {}: {e}", path.display()))?,
        None => args.prompt.clone(),
    };
    let decoder = ctx.decoder(args.model.as_deref())?;
    let request = GenerateRequest {
        messages: vec![
            ChatMessage::new("system", SYSTEM),
            ChatMessage::new("user", prompt.clone()),
        ],
        sampling: SamplingParams::default(),
        max_new_tokens: args.max_tokens,
        stop: Vec::new(),
    };
    if args.verify {
        let ids = decoder.encode(&prompt)?;
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
    // Medians: one slow run on a shared machine moves them least.
    let ttft = median(runs.iter().map(|s| s.time_to_first_token_ms));
    let decode = median(runs.iter().map(|s| s.decode_tokens_per_s));
    let step_start = median(runs.iter().map(|s| s.step_ms.start));
    let step_end = median(runs.iter().map(|s| s.step_ms.end));
    if let Some(s) = runs.first() {
        println!(
            "mode=lmdeck ttft_ms={ttft:.1} decode_tokens_per_s={decode:.1} step_ms_start={step_start:.2} step_ms_end={step_end:.2} tokens={} prompt_tokens={} runs={} provider={} attention={}",
            s.completion_tokens,
            s.prompt_tokens,
            runs.len(),
            decoder.provider(),
            decoder.attention()
        );
    }
    Ok(())
}

/// The median of some figures (the mean of the middle two for an even count; 0 for none).
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_even_and_no_values() {
        assert_eq!(median([3.0, 1.0, 2.0].into_iter()), 2.0);
        assert_eq!(median([4.0, 1.0, 3.0, 2.0].into_iter()), 2.5);
        assert_eq!(median(std::iter::empty()), 0.0);
    }
}
