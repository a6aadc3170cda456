//! Slurm settings from the config (`[slurm]`), checked before anything is written.

use std::path::PathBuf;

/// How a GPU count is asked of Slurm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuOption {
    /// `--gres=gpu:N` (works everywhere).
    Gres,
    /// `--gpus=N` (cons_tres clusters).
    Gpus,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Settings {
    pub partition: Option<String>,
    pub account: Option<String>,
    pub qos: Option<String>,
    /// Slurm's own time format ("2:00:00", "1-0"); a spec's `time_limit` wins.
    pub time_limit: Option<String>,
    /// Extra options, one per `#SBATCH` line (e.g. "--constraint=a100").
    pub extra: Vec<String>,
    /// Where job folders (script, stdout, stderr) go; must be shared with the compute
    /// nodes. None: the data dir's jobs folder (fine on a single-node cluster).
    pub shared_dir: Option<PathBuf>,
    pub gpu_option: Option<GpuOption>,
}

impl Settings {
    pub fn from_config(c: &crate::config::SlurmConfig) -> Self {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        Self {
            partition: opt(&c.partition),
            account: opt(&c.account),
            qos: opt(&c.qos),
            time_limit: opt(&c.time_limit),
            // A config value cannot hold lines: `;` separates the options.
            extra: c
                .extra_sbatch
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            shared_dir: opt(&c.shared_dir).map(PathBuf::from),
            gpu_option: Some(if c.gpu_option.trim() == "gpus" {
                GpuOption::Gpus
            } else {
                GpuOption::Gres
            }),
        }
    }
}
