//! The jobs screen's effects and replies, and the plain data they carry: the worker turns the
//! queue, job reports, log tails and GPU inventory into these, the state keeps them and the
//! view draws them.

use std::collections::BTreeMap;

use crate::jobs::gpu::Inventory;
use crate::jobs::slurm::sinfo::{Node, Partition};
use crate::jobs::slurm::squeue::SlurmJob;

/// Points a metric series keeps in state at most (the view thins them to the chart width).
pub const MAX_POINTS: usize = 1000;
/// Lines of a log tail kept in state at most; the log itself stays on disk.
pub const LOG_WINDOW: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

impl LogStream {
    pub fn name(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOp {
    Cancel,
    Pause,
    Resume,
    /// An ended (failed, cancelled, lost) job continued from its last checkpoint.
    Continue,
    Retry,
}

impl JobOp {
    pub fn name(self) -> &'static str {
        match self {
            JobOp::Cancel => "cancel",
            JobOp::Pause => "pause",
            JobOp::Resume => "resume",
            JobOp::Continue => "continue",
            JobOp::Retry => "retry",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum JobsEffect {
    /// The queue and the GPU inventory.
    LoadQueue { id: u64 },
    /// One job's report, spec and the tail of one of its logs.
    LoadDetail {
        id: u64,
        job: i64,
        stream: LogStream,
    },
    /// The loss of several runs and how their specs differ.
    LoadCompare { id: u64, jobs: Vec<i64> },
    /// The Slurm cluster: `sinfo` and `squeue` on a thread of their own (a controller that
    /// does not answer can take seconds).
    LoadCluster { id: u64 },
    /// Cancel, pause, resume or retry: a task (cancel waits out a grace period).
    Control { task: u64, job: i64, op: JobOp },
}

/// One row of the queue table.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    pub id: i64,
    pub name: String,
    /// The state's name (`running`, `failed`, ...).
    pub state: String,
    pub ended: bool,
    pub paused: bool,
    pub cancel_requested: bool,
    pub fraction: Option<f64>,
    pub eta_s: Option<f64>,
    /// What the frozen spec asks for: a count or UUIDs, `-` for none.
    pub gpus: String,
    pub created_ms: i64,
    pub backend: String,
    /// The job's process (to tell which job holds a GPU).
    pub pid: Option<i64>,
    /// The Slurm job id ("123", "123_4" for an array task) of a Slurm job.
    pub slurm_id: Option<String>,
    /// Why a queued job waits ("waiting for 2 GPUs", "Slurm: Resources").
    pub wait_reason: Option<String>,
}

/// The queue as read at `now_ms` (ms since the epoch), with the GPUs.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueView {
    pub now_ms: i64,
    pub rows: Vec<JobRow>,
    pub gpus: Inventory,
    /// GPU index -> the jobs whose processes use it.
    pub holders: BTreeMap<u32, Vec<i64>>,
}

/// A job's detail: what the report says, its frozen spec and the end of one log.
#[derive(Debug, Clone, PartialEq)]
pub struct JobDetail {
    pub row: JobRow,
    /// Metric name -> (step, value), at most `MAX_POINTS` each.
    pub series: BTreeMap<String, Vec<(f64, f64)>>,
    pub step: Option<u64>,
    pub total: Option<u64>,
    pub throughput: Option<f64>,
    pub alerts: Vec<String>,
    /// (field, value) of the frozen spec, env redacted.
    pub spec: Vec<(String, String)>,
    pub stream: LogStream,
    pub log: Vec<String>,
    /// The log file's size: the tail shown is its last lines.
    pub log_bytes: u64,
    /// Why the log could not be read, if it could not.
    pub log_error: Option<String>,
}

/// The Slurm cluster as `sinfo --json` and `squeue --json` show it, read-only.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClusterView {
    pub partitions: Vec<Partition>,
    pub nodes: Vec<Node>,
    /// The user's Slurm jobs that lmdeck did not submit.
    pub others: Vec<SlurmJob>,
    /// Whose jobs `others` are; None when the user is unknown (then every user's).
    pub user: Option<String>,
}

/// One compared run: (job id, name, loss points).
pub type Run = (i64, String, Vec<(f64, f64)>);

/// Several runs' loss on one chart, and how their specs differ.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareView {
    pub runs: Vec<Run>,
    /// `#a vs #b: key: x -> y` lines (the first marked run against each other one).
    pub diff: Vec<String>,
}

// Replies travel boxed (`Msg::Reply(Box<Reply>)`), so a large variant costs no copies.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum JobsReply {
    Queue {
        id: u64,
        result: Result<QueueView, String>,
    },
    Detail {
        id: u64,
        result: Result<JobDetail, String>,
    },
    Compare {
        id: u64,
        result: Result<CompareView, String>,
    },
    /// `Err` says why there is no cluster to show ("no Slurm: ...", "controller down: ...").
    Cluster {
        id: u64,
        result: Result<ClusterView, String>,
    },
    /// A control action ended; `Ok` says what happened.
    Controlled {
        job: i64,
        op: JobOp,
        result: Result<String, String>,
    },
}

/// Thins `points` to at most `max`, evenly, always keeping the last one.
pub fn thin(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max || max < 2 {
        return points
            .iter()
            .take(max.max(points.len().min(1)))
            .copied()
            .collect();
    }
    let stride = points.len() as f64 / (max - 1) as f64;
    let mut out: Vec<(f64, f64)> = (0..max - 1)
        .map(|i| points[(i as f64 * stride) as usize])
        .collect();
    if let Some(last) = points.last() {
        out.push(*last);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thin_keeps_bounds_and_the_last_point() {
        let pts: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64, i as f64)).collect();
        let t = thin(&pts, 100);
        assert_eq!(t.len(), 100);
        assert_eq!(t[0], (0.0, 0.0));
        assert_eq!(t[99], (9999.0, 9999.0));
        assert_eq!(thin(&pts[..5], 100).len(), 5);
        assert!(thin(&[], 10).is_empty());
    }
}
