//! The real single-node Slurm that `scripts/slurm-cluster.sh start` runs. Tests that need it
//! print a visible SKIP when Slurm is absent; with LMDECK_REQUIRE_SLURM=1 (scripts/test.sh)
//! its absence is a failure instead.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The cluster's config, when the script's cluster is there.
pub fn slurm_conf() -> Option<PathBuf> {
    let dir = std::env::var("LMDECK_SLURM_DIR").unwrap_or_else(|_| "/tmp/lmdeck-slurm".into());
    let conf = PathBuf::from(dir).join("etc/slurm.conf");
    conf.is_file().then_some(conf)
}

/// True when a Slurm controller answers; otherwise says SKIP (or fails when required).
pub fn slurm_ready(test: &str) -> bool {
    let have_sbatch = Command::new("sbatch").arg("--version").output().is_ok();
    let answers = have_sbatch
        && slurm_conf().is_some_and(|conf| {
            Command::new("sinfo")
                .env("SLURM_CONF", conf)
                .arg("-h")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if answers {
        return true;
    }
    let why = if have_sbatch {
        "no Slurm controller answers (run scripts/slurm-cluster.sh start)"
    } else {
        "Slurm is not installed (sbatch not on PATH; scripts/slurm-cluster.sh start installs it)"
    };
    if std::env::var("LMDECK_REQUIRE_SLURM").is_ok_and(|v| v == "1") {
        panic!("{test}: {why}, and LMDECK_REQUIRE_SLURM=1");
    }
    eprintln!("SKIP {test}: {why}");
    println!("SKIP {test}: {why}");
    false
}

/// Cancels these Slurm jobs when dropped, so a failing test leaves no job holding the
/// cluster's CPUs for the tests after it.
pub struct CancelOnDrop(pub Vec<String>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(conf) = slurm_conf() {
            let _ = Command::new("scancel")
                .env("SLURM_CONF", conf)
                .args(&self.0)
                .output();
        }
    }
}
