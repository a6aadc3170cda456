//! The jobs system: fine-tune runs queued, launched and watched as subprocesses.
//!
//! Specs ([`spec`]) frozen at submit ([`snapshot`]) into a SQLite queue ([`queue`]); each job
//! runs detached under a supervisor process ([`runner`], [`procs`], [`control`]). The
//! training-log parser ([`parse`]) turns what trainers print into metric and progress events,
//! and [`derive`] holds the clock-free derivations over them: progress, throughput, ETA and
//! alerts.

pub mod control;
pub mod daemon;
pub mod derive;
mod dict;
pub mod follow;
pub mod gpu;
pub mod metrics;
pub mod parse;
pub mod procs;
pub mod queue;
pub mod report;
pub mod runner;
pub mod slurm;
pub mod snapshot;
pub mod spec;
mod steps;
mod tqdm;

#[cfg(test)]
mod derive_tests;
#[cfg(test)]
mod gpu_tests;
#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod spec_tests;
#[cfg(test)]
mod tests;
