//! Benchmarks behind `lmdeck bench` (the console's own, `bench console`, lives with the
//! console in `tui::bench`): they print figures and ratios, they never assert timings.

pub mod embed;
pub mod generate;
pub mod jobs;
pub mod recall;
pub mod search;
pub mod synthetic;

use crate::args::BenchCommand;
use crate::services::Context;

pub use crate::util::percentile;

pub fn run(ctx: &Context, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Console(_) => {
            anyhow::bail!("the console benchmark belongs to the console (a bug: main.rs routes it)")
        }
        BenchCommand::Embed(a) => embed::run(ctx, &a),
        BenchCommand::Generate(a) => generate::run(ctx, &a),
        BenchCommand::Search(a) => search::run(ctx, &a),
        BenchCommand::Recall(a) => recall::run(ctx, &a),
        BenchCommand::Jobs(a) => jobs::run(ctx, &a),
    }
}
