//! GPU inventory: what the host's GPUs are and how busy they are. The readers (NVML, loaded at
//! run time, or `nvidia-smi`) fill these types; with no NVIDIA driver the inventory says so
//! instead of failing.

use serde::{Deserialize, Serialize};

/// One GPU as last read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    pub index: u32,
    /// `GPU-...`: stable across reboots and renumbering; jobs get GPUs by UUID.
    pub uuid: String,
    pub name: String,
    pub utilization_pct: Option<u32>,
    pub memory_used_mb: u64,
    pub memory_total_mb: u64,
    pub temperature_c: Option<u32>,
    /// Processes using it: (pid, MiB).
    pub processes: Vec<(u32, u64)>,
}

impl GpuInfo {
    pub fn memory_free_mb(&self) -> u64 {
        self.memory_total_mb.saturating_sub(self.memory_used_mb)
    }
}

/// What the host has: its GPUs, or why none can be seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Inventory {
    Gpus {
        source: String,
        gpus: Vec<GpuInfo>,
    },
    /// No GPU visible, with the reason (no driver, no device, the reader failed).
    NoGpu {
        reason: String,
    },
}
