//! Choosing the next token: greedy, or sampling with temperature, top-k, top-p and a
//! repetition penalty, from a seeded generator so a run can be repeated.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SamplingParams {
    /// 0 = greedy.
    pub temperature: f32,
    /// 0 = no limit.
    pub top_k: usize,
    /// 1.0 = no limit.
    pub top_p: f32,
    /// 1.0 = none; above 1 makes tokens already in the text less likely.
    pub repetition_penalty: f32,
    pub seed: u64,
}

impl SamplingParams {
    /// The `[generate]` section's sampling settings.
    pub fn from_config(g: &crate::config::GenerateConfig) -> Self {
        SamplingParams {
            temperature: g.temperature as f32,
            top_k: g.top_k,
            top_p: g.top_p as f32,
            repetition_penalty: g.repetition_penalty as f32,
            seed: g.seed,
        }
    }
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            repetition_penalty: 1.0,
            seed: 0,
        }
    }
}

pub struct Sampler {
    params: SamplingParams,
    rng: StdRng,
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Sampler {
        Sampler {
            params,
            rng: StdRng::seed_from_u64(params.seed),
        }
    }

    /// The next token id from a row of logits, given the tokens so far.
    pub fn pick(&mut self, logits: &mut [f32], history: &[u32]) -> u32 {
        let p = self.params;
        if p.repetition_penalty != 1.0 && p.repetition_penalty > 0.0 {
            // Once per distinct token, as in CTRL / Hugging Face: a token seen ten times is
            // penalised once, not to the tenth power.
            let mut seen = vec![false; logits.len()];
            for &t in history {
                let t = t as usize;
                if t >= logits.len() || std::mem::replace(&mut seen[t], true) {
                    continue;
                }
                // Shrink positive logits, grow negative ones.
                let l = &mut logits[t];
                *l = if *l > 0.0 {
                    *l / p.repetition_penalty
                } else {
                    *l * p.repetition_penalty
                };
            }
        }
        if p.temperature <= 0.0 {
            return argmax(logits);
        }
        let mut candidates: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .map(|(i, &l)| (i as u32, l / p.temperature))
            .collect();
        candidates.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
        if p.top_k > 0 {
            candidates.truncate(p.top_k);
        }
        let max = candidates.first().map_or(0.0, |c| c.1);
        let mut probs: Vec<f32> = candidates.iter().map(|c| (c.1 - max).exp()).collect();
        let sum: f32 = probs.iter().sum();
        probs.iter_mut().for_each(|x| *x /= sum);
        if p.top_p < 1.0 {
            let mut cumulative = 0.0;
            let keep = probs.iter().position(|&x| {
                cumulative += x;
                cumulative >= p.top_p
            });
            let keep = keep.map_or(probs.len(), |i| i + 1);
            probs.truncate(keep);
            candidates.truncate(keep);
            let sum: f32 = probs.iter().sum();
            probs.iter_mut().for_each(|x| *x /= sum);
        }
        let mut r: f32 = self.rng.gen();
        for (c, prob) in candidates.iter().zip(&probs) {
            if r < *prob {
                return c.0;
            }
            r -= prob;
        }
        candidates.last().map_or(0, |c| c.0)
    }
}

pub fn argmax(logits: &[f32]) -> u32 {
    logits
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_largest() {
        let mut s = Sampler::new(SamplingParams::default());
        assert_eq!(s.pick(&mut [0.1, 2.0, -1.0], &[]), 1);
    }

    #[test]
    fn repetition_penalty_can_change_the_choice() {
        let mut s = Sampler::new(SamplingParams {
            repetition_penalty: 3.0,
            ..Default::default()
        });
        assert_eq!(
            s.pick(&mut [1.0, 2.0, 0.5], &[1]),
            0,
            "2.0 / 3 falls below 1.0"
        );
    }

    #[test]
    fn repetition_penalty_counts_a_repeated_token_once() {
        let mut s = Sampler::new(SamplingParams {
            repetition_penalty: 2.0,
            ..Default::default()
        });
        // Token 1 seen four times: 3.0 / 2 = 1.5 stays above 1.2 (3.0 / 16 would not), and
        // token 2's negative logit is doubled once: -1.0 -> -2.0.
        let mut logits = [1.2, 3.0, -1.0];
        assert_eq!(s.pick(&mut logits, &[1, 1, 2, 1, 2, 1, 99]), 1);
        assert_eq!(
            logits,
            [1.2, 1.5, -2.0],
            "an id beyond the vocabulary is ignored"
        );
    }

    #[test]
    fn top_k_one_is_greedy_and_seeds_repeat() {
        let params = SamplingParams {
            temperature: 1.0,
            top_k: 1,
            ..Default::default()
        };
        let mut s = Sampler::new(params);
        assert_eq!(s.pick(&mut [0.0, 5.0, 4.9], &[]), 1);
        let params = SamplingParams {
            temperature: 1.0,
            seed: 7,
            ..Default::default()
        };
        let draw = |seed_params: SamplingParams| {
            let mut s = Sampler::new(seed_params);
            (0..20)
                .map(|_| s.pick(&mut [1.0, 1.0, 1.0, 1.0], &[]))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(params), draw(params));
        assert!(
            draw(params)
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len()
                > 1,
            "sampling varies"
        );
    }

    #[test]
    fn top_p_keeps_only_the_head() {
        let params = SamplingParams {
            temperature: 1.0,
            top_p: 0.5,
            seed: 3,
            ..Default::default()
        };
        let mut s = Sampler::new(params);
        for _ in 0..50 {
            assert_eq!(s.pick(&mut [10.0, 0.0, 0.0, 0.0], &[]), 0);
        }
    }
}
