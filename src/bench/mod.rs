//! Benchmarks behind `lmdeck bench`: they print figures and ratios, they never assert timings.

pub mod console;
pub mod embed;
pub mod generate;
pub mod recall;
pub mod search;
pub mod synthetic;

use crate::cli::args::BenchCommand;
use crate::cli::Context;

pub fn run(ctx: &Context, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Console(a) => console::run(ctx, &a),
        BenchCommand::Embed(a) => embed::run(ctx, &a),
        BenchCommand::Generate(a) => generate::run(ctx, &a),
        BenchCommand::Search(a) => search::run(ctx, &a),
        BenchCommand::Recall(a) => recall::run(ctx, &a),
    }
}

/// The p-th percentile (0..=100) of unsorted samples, nearest rank.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let s: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&s, 50.0), 50.0);
        assert_eq!(percentile(&s, 95.0), 95.0);
        assert_eq!(percentile(&[3.0], 95.0), 3.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
