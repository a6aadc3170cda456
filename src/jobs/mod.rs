//! The jobs system: fine-tune runs queued, launched and watched as subprocesses.
//!
//! For now this holds only the pure pieces: the training-log parser ([`parse`]) that turns what
//! trainers print into metric and progress events, and the clock-free derivations over the parsed
//! series ([`derive`]): progress, throughput, ETA and alerts.

pub mod control;
pub mod derive;
mod dict;
pub mod parse;
pub mod procs;
pub mod queue;
pub mod runner;
pub mod snapshot;
pub mod spec;
mod steps;
mod tqdm;

#[cfg(test)]
mod derive_tests;
#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod spec_tests;
#[cfg(test)]
mod tests;
