//! The statistics of a comparison, pure and seeded: paired bootstrap, exact McNemar, wins and
//! ties, the minimum detectable difference and the 2x2 effects.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Two values closer than this are a tie.
pub const TIE: f64 = 1e-9;

/// z(0.975) + z(0.80): a two-sided 5 % test with 80 % power.
pub const MDE_Z: f64 = 2.8016;

/// A 95 % percentile interval and a two-sided p-value from the bootstrap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    pub p_value: f64,
}

pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// Resampled index lists: `resamples` draws of `n` indices with replacement. The same seed
/// gives the same draws, so every metric of a comparison is resampled alike.
pub fn draws(n: usize, resamples: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = StdRng::seed_from_u64(seed);
    if n == 0 {
        return Vec::new();
    }
    (0..resamples)
        .map(|_| (0..n).map(|_| rng.gen_range(0..n)).collect())
        .collect()
}

/// Paired bootstrap of the mean of per-item differences: the interval is the 2.5th and 97.5th
/// percentiles (nearest rank) of the resampled means; the p-value is the share of resampled
/// means on the other side of zero from the observed mean (zero counts as the other side),
/// doubled and clipped to 1 (an observed mean of exactly 0 gives 1).
pub fn bootstrap(diffs: &[f64], draws: &[Vec<usize>]) -> Interval {
    let estimate = mean(diffs);
    let mut means: Vec<f64> = draws
        .iter()
        .filter(|d| d.len() == diffs.len() && !diffs.is_empty())
        .map(|d| d.iter().map(|&i| diffs[i]).sum::<f64>() / diffs.len() as f64)
        .collect();
    if means.is_empty() {
        return Interval {
            estimate,
            low: estimate,
            high: estimate,
            p_value: 1.0,
        };
    }
    means.sort_by(f64::total_cmp);
    let b = means.len();
    let rank = |q: f64| ((q * b as f64).ceil() as usize).clamp(1, b) - 1;
    let other_side = if estimate > 0.0 {
        means.iter().filter(|&&m| m <= 0.0).count()
    } else if estimate < 0.0 {
        means.iter().filter(|&&m| m >= 0.0).count()
    } else {
        b
    };
    Interval {
        estimate,
        low: means[rank(0.025)],
        high: means[rank(0.975)],
        p_value: (2.0 * other_side as f64 / b as f64).min(1.0),
    }
}

/// Exact McNemar test on the discordant pairs (b: only this run right, c: only the other):
/// p = min(1, 2 P(X <= min(b, c))) with X ~ Binomial(b + c, 1/2).
pub fn mcnemar(b: usize, c: usize) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    // Summed in log space: 0.5^n underflows for a few thousand pairs.
    let ln_half_n = -(n as f64) * std::f64::consts::LN_2;
    let mut ln_choose = 0.0;
    let mut tail = 0.0;
    for k in 0..=b.min(c) {
        if k > 0 {
            ln_choose += ((n - k + 1) as f64).ln() - (k as f64).ln();
        }
        tail += (ln_choose + ln_half_n).exp();
    }
    (2.0 * tail).min(1.0)
}

/// Per item: `run` better, worse, equal (within `TIE`) than `base`.
pub fn tally(run: &[f64], base: &[f64], higher_is_better: bool) -> (usize, usize, usize) {
    let mut out = (0, 0, 0);
    for (r, b) in run.iter().zip(base) {
        let d = if higher_is_better { r - b } else { b - r };
        if d.abs() <= TIE {
            out.2 += 1;
        } else if d > 0.0 {
            out.0 += 1;
        } else {
            out.1 += 1;
        }
    }
    out
}

/// The smallest mean difference the pairs detect with 80 % power at 5 % two-sided:
/// 2.8016 * sd(differences) / sqrt(n) (the normal approximation of the paired t-test; sd
/// with n - 1). None with fewer than two pairs.
pub fn detectable(diffs: &[f64]) -> Option<f64> {
    let n = diffs.len();
    if n < 2 {
        return None;
    }
    let m = mean(diffs);
    let var = diffs.iter().map(|d| (d - m).powi(2)).sum::<f64>() / (n - 1) as f64;
    Some(MDE_Z * var.sqrt() / (n as f64).sqrt())
}

/// Per-item values of the four runs of a 2x2 design, paired by position.
pub struct Cells<'a> {
    pub base_off: &'a [f64],
    pub base_on: &'a [f64],
    pub tuned_off: &'a [f64],
    pub tuned_on: &'a [f64],
}

/// Per item: the RAG effect ((on - off) averaged over both models), the fine-tuning effect
/// ((tuned - base) averaged over both RAG settings) and the interaction
/// ((tuned_on - tuned_off) - (base_on - base_off)).
pub fn per_item_effects(c: &Cells) -> [Vec<f64>; 3] {
    let n = c.base_off.len();
    let per_item = |f: &dyn Fn(f64, f64, f64, f64) -> f64| -> Vec<f64> {
        (0..n)
            .map(|i| f(c.base_off[i], c.base_on[i], c.tuned_off[i], c.tuned_on[i]))
            .collect()
    };
    [
        per_item(&|bo, bn, to, tn| ((bn - bo) + (tn - to)) / 2.0),
        per_item(&|bo, bn, to, tn| ((to - bo) + (tn - bn)) / 2.0),
        per_item(&|bo, bn, to, tn| (tn - to) - (bn - bo)),
    ]
}

/// The RAG effect, the fine-tuning effect and their interaction, each with its interval.
pub fn factorial(c: &Cells, draws: &[Vec<usize>]) -> [Interval; 3] {
    per_item_effects(c).map(|effect| bootstrap(&effect, draws))
}

/// Cohen's kappa of paired 0/1 ratings: agreement beyond what the two raters' rates of 1s
/// give by chance. None without pairs, or when chance agreement is already total.
pub fn cohen_kappa(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let observed = pairs.iter().filter(|(a, b)| a == b).count() as f64 / n;
    let a = pairs.iter().filter(|(a, _)| *a >= 0.5).count() as f64 / n;
    let b = pairs.iter().filter(|(_, b)| *b >= 0.5).count() as f64 / n;
    let chance = a * b + (1.0 - a) * (1.0 - b);
    (chance < 1.0).then(|| (observed - chance) / (1.0 - chance))
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
