//! Comparing runs: paired differences with intervals, the 2x2 effects, the verdict.

pub mod build;
mod factorial;
pub mod input;
pub mod kinds;
pub mod leak;
pub mod report;
pub mod stats;
mod table;
pub mod verdict;

pub use build::compare;
pub use input::{load, ItemInput, Outcome, RunInput};
pub use report::{
    Cell, Comparison, Delta, Disagreement, Effect, Factorial, JudgeSummary, MetricRow, RunSummary,
};
