//! The Slurm backend: lmdeck does not schedule across hosts itself; it writes a batch script
//! for a job ([`script`]), submits it with `sbatch` ([`submit`]) and watches what Slurm does
//! ([`watch`]): one `squeue --json` per poll for every lmdeck job, parsed leniently in both
//! JSON schemas ([`squeue`]), `scontrol -o show job` for jobs that left the queue
//! ([`scontrol`]), and `sinfo --json` for the cluster view ([`sinfo`]). The job's output
//! files are followed with the same parser as local jobs, so metrics and alerts are the same.

pub mod cli;
pub mod control;
pub mod error;
pub mod scontrol;
pub mod script;
pub mod settings;
pub mod sinfo;
pub mod squeue;
pub mod state;
pub mod submit;
pub mod watch;

pub use error::SlurmError;
pub use settings::Settings;

#[cfg(test)]
mod tests;
