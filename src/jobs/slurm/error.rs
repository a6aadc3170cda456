//! Slurm failures, each naming its cause and what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    #[error("Slurm is not installed here: `{program}` is not on PATH (install slurm-client, or run scripts/slurm-cluster.sh start for a local test cluster)")]
    NotInstalled { program: String },
    #[error("the Slurm controller does not answer ({program}): {message}")]
    ControllerDown { program: String, message: String },
    #[error("Slurm refused the job: {message}")]
    Refused { message: String },
    #[error("unknown Slurm partition `{partition}`: {message} (see `sinfo` for the partitions; set slurm.partition in the config)")]
    UnknownPartition { partition: String, message: String },
    #[error("the output folder {path} is not usable for Slurm jobs: {reason}; slurm.shared_dir must be a folder shared with the compute nodes")]
    OutputDir { path: PathBuf, reason: String },
    #[error("`{program}` failed: {message}")]
    Command { program: String, message: String },
    #[error("cannot read `{program}` output: {message}")]
    Parse { program: String, message: String },
    #[error("cannot write a batch script: {0}")]
    Script(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}
