//! Hand-made jobs data for the jobs screen's reducer tests and snapshots.

use std::collections::BTreeMap;

use crate::jobs::gpu::{GpuInfo, Inventory};
use crate::tui::jobs_msg::{CompareView, JobDetail, JobRow, LogStream, QueueView};

/// 2026-12-07 01:00:00 UTC: every age in the fixtures is measured from here.
pub const NOW_MS: i64 = 1_796_605_200_000;

pub fn row(id: i64, name: &str, state: &str) -> JobRow {
    let ended = !matches!(state, "queued" | "starting" | "running");
    JobRow {
        id,
        name: name.to_string(),
        state: state.to_string(),
        ended,
        paused: false,
        cancel_requested: false,
        fraction: match state {
            "succeeded" => Some(1.0),
            "running" => Some(0.45),
            "failed" => Some(0.8),
            _ => None,
        },
        eta_s: (state == "running").then_some(754.0),
        gpus: if id % 2 == 0 { "2".into() } else { "-".into() },
        created_ms: NOW_MS - id * 61_000,
        backend: "local".into(),
        pid: (state == "running").then_some(4000 + id),
        slurm_id: None,
        wait_reason: None,
    }
}

pub fn rows() -> Vec<JobRow> {
    let mut paused = row(5, "lora-paused", "running");
    paused.paused = true;
    paused.eta_s = None;
    vec![
        row(1, "sft-llama-8b", "succeeded"),
        row(2, "dpo-mistral", "failed"),
        row(3, "lora-qwen-7b", "running"),
        row(4, "eval-sweep", "queued"),
        paused,
        row(6, "tokenizer-check", "cancelled"),
    ]
}

pub fn no_gpu() -> Inventory {
    Inventory::NoGpu {
        reason: "no NVIDIA driver found".into(),
    }
}

pub fn two_gpus() -> Inventory {
    let gpu = |index: u32, used: u64, util: u32| GpuInfo {
        index,
        uuid: format!("GPU-{index}"),
        name: "NVIDIA H100 80GB HBM3".into(),
        utilization_pct: Some(util),
        memory_used_mb: used,
        memory_total_mb: 81_559,
        temperature_c: Some(40 + util / 4),
        processes: vec![(4003, used)],
    };
    Inventory::Gpus {
        source: "nvml".into(),
        gpus: vec![gpu(0, 61_000, 97), gpu(1, 512, 0)],
    }
}

pub fn queue(gpus: Inventory) -> QueueView {
    let holders = match &gpus {
        Inventory::Gpus { .. } => BTreeMap::from([(0, vec![3]), (1, vec![])]),
        Inventory::NoGpu { .. } => BTreeMap::new(),
    };
    QueueView {
        now_ms: NOW_MS,
        rows: rows(),
        gpus,
        holders,
    }
}

/// A loss curve that falls and then rises (a divergence), over `n` steps.
pub fn loss(n: u64) -> Vec<(f64, f64)> {
    (1..=n)
        .map(|s| {
            let x = s as f64;
            (
                x,
                2.0 / x.sqrt()
                    + if s > n * 3 / 4 {
                        (x - 0.75 * n as f64) * 0.05
                    } else {
                        0.0
                    },
            )
        })
        .collect()
}

pub fn detail() -> JobDetail {
    let mut series = BTreeMap::new();
    series.insert("loss".to_string(), loss(200));
    series.insert(
        "learning_rate".to_string(),
        (1..=200)
            .map(|s| (s as f64, 1e-4 * (1.0 - s as f64 / 250.0)))
            .collect(),
    );
    JobDetail {
        row: row(3, "lora-qwen-7b", "running"),
        series,
        step: Some(200),
        total: Some(444),
        throughput: Some(1.52),
        alerts: vec!["loss diverging at step 151: 0.5637 against a minimum of 0.1589".into()],
        spec: vec![
            (
                "argv".into(),
                "python3 train.py --lr 1e-4 --epochs 3".into(),
            ),
            ("git commit".into(), "4f2a9c1e0b7d".into()),
            ("backend".into(), "local".into()),
            ("env HF_TOKEN".into(), "<redacted>".into()),
            ("dataset data/train.jsonl".into(), "sha256 9b1e0f3c".into()),
        ],
        stream: LogStream::Stdout,
        log: (190..=200)
            .map(|s| {
                format!(
                    "{{\"step\": {s}, \"loss\": {:.4}}}",
                    2.0 / (s as f64).sqrt()
                )
            })
            .collect(),
        log_bytes: 48_211,
        log_error: None,
    }
}

pub fn compare() -> CompareView {
    let other: Vec<(f64, f64)> = loss(150).into_iter().map(|(x, y)| (x, y * 0.8)).collect();
    CompareView {
        runs: vec![
            (1, "sft-llama-8b".into(), loss(120)),
            (3, "lora-qwen-7b".into(), other),
        ],
        diff: vec![
            "#1 vs #3: argv.3: \"2e-4\" -> \"1e-4\"".into(),
            "#1 vs #3: spec.name: \"sft-llama-8b\" -> \"lora-qwen-7b\"".into(),
        ],
    }
}

/// A cluster of two GPU nodes (one busy, one drained) and a CPU node, with two of the user's
/// other jobs.
pub fn cluster() -> crate::tui::jobs_msg::ClusterView {
    use crate::jobs::slurm::sinfo::{partitions, Node};
    use crate::jobs::slurm::squeue::SlurmJob;
    let node = |name: &str, state: &str, part: &str, cpus: (u64, u64), gpus: (u64, u64)| Node {
        name: name.into(),
        state: state.into(),
        partitions: vec![part.into()],
        cpus_alloc: cpus.0,
        cpus_total: cpus.1,
        gpus_used: gpus.0,
        gpus_total: gpus.1,
    };
    let nodes = vec![
        node("gpu01", "mixed", "gpu", (16, 64), (3, 4)),
        node("gpu02", "idle+drain", "gpu", (0, 64), (0, 4)),
        node("cpu01", "idle", "cpu", (0, 32), (0, 0)),
    ];
    let job = |id: u64, name: &str, state: &str, reason: &str| SlurmJob {
        job_id: id,
        name: name.into(),
        user: "ana".into(),
        partition: "gpu".into(),
        state: state.into(),
        reason: reason.into(),
        ..SlurmJob::default()
    };
    crate::tui::jobs_msg::ClusterView {
        partitions: partitions(&nodes),
        nodes,
        others: vec![
            job(5012, "jupyter", "RUNNING", ""),
            job(5013, "big-sweep", "PENDING", "Resources"),
        ],
        user: Some("ana".into()),
    }
}
