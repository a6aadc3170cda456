//! Comparing runs: paired differences with intervals, the 2x2 effects, the verdict.

pub mod report;

pub use report::{Cell, Comparison, Delta, Disagreement, Effect, Factorial, MetricRow, RunSummary};
