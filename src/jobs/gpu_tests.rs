//! The GPU readers on recorded nvidia-smi output, and the GPU choice on fake inventories.

use std::collections::HashSet;
use std::path::PathBuf;

use super::gpu::{choose, parse_smi, read_file, Choice, GpuInfo, Inventory};
use super::spec::Gpus;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gpu")
        .join(name)
}

fn gpus_of(inv: &Inventory) -> &[GpuInfo] {
    match inv {
        Inventory::Gpus { gpus, .. } => gpus,
        Inventory::NoGpu { reason } => panic!("expected GPUs, got none: {reason}"),
    }
}

#[test]
fn two_recorded_gpus_are_read_with_their_processes() {
    let inv = read_file(&fixture("two_gpus.csv"));
    let gpus = gpus_of(&inv);
    assert_eq!(gpus.len(), 2);
    assert_eq!(gpus[0].uuid, "GPU-1b2c3d4e-0000-1111-2222-333344445555");
    assert_eq!(gpus[0].name, "NVIDIA A100-SXM4-80GB");
    assert_eq!(gpus[0].utilization_pct, Some(3));
    assert_eq!(gpus[0].memory_free_mb(), 81920 - 70000);
    assert_eq!(gpus[0].temperature_c, Some(41));
    assert_eq!(gpus[0].processes, vec![(4242, 69000)]);
    assert_eq!(gpus[1].index, 1);
    assert!(gpus[1].processes.is_empty());
}

#[test]
fn odd_values_are_read_leniently() {
    let inv = read_file(&fixture("odd_values.csv"));
    let gpus = gpus_of(&inv);
    assert_eq!(gpus.len(), 3, "{gpus:#?}");
    // [N/A] and [Not Supported] are unknown, not zero and not an error.
    assert_eq!(gpus[0].utilization_pct, None);
    assert_eq!(gpus[0].temperature_c, None);
    assert_eq!(gpus[0].memory_used_mb, 512);
    // Odd spacing and a comma inside the name.
    assert_eq!(gpus[1].index, 1);
    assert_eq!(gpus[1].uuid, "GPU-bbbb1111-1111-1111-1111-111111111111");
    assert_eq!(gpus[1].name, "NVIDIA H100 80GB HBM3, Rev. 2");
    assert_eq!(gpus[1].utilization_pct, None);
    assert_eq!(gpus[1].memory_total_mb, 81559);
    assert_eq!(gpus[1].temperature_c, Some(38));
    // Unknown used memory counts as full: nothing is placed there blindly.
    assert_eq!(gpus[2].memory_free_mb(), 0);
    // An app line without a pid is skipped; one without memory counts 0 MiB.
    assert!(gpus[0].processes.is_empty());
    assert_eq!(gpus[1].processes, vec![(1234, 0), (5678, 2048)]);
}

#[test]
fn a_driver_error_instead_of_csv_is_no_gpu_with_the_message() {
    match read_file(&fixture("driver_failed.csv")) {
        Inventory::NoGpu { reason } => {
            assert!(reason.contains("couldn't communicate"), "{reason}")
        }
        other => panic!("expected no GPU: {other:?}"),
    }
    match read_file(&fixture("missing.csv")) {
        Inventory::NoGpu { reason } => assert!(reason.contains("missing.csv"), "{reason}"),
        other => panic!("expected no GPU: {other:?}"),
    }
    assert!(matches!(
        parse_smi("nvidia-smi", "", ""),
        Inventory::NoGpu { .. }
    ));
}

#[test]
fn units_and_decimals_are_tolerated() {
    let inv = parse_smi(
        "test",
        "0, GPU-x, Card, 45 %, 1024 MiB, 2048.0 MiB, 50\n",
        "",
    );
    let g = &gpus_of(&inv)[0];
    assert_eq!(
        (g.utilization_pct, g.memory_used_mb, g.memory_total_mb),
        (Some(45), 1024, 2048)
    );
}

fn gpu(index: u32, used: u64, total: u64) -> GpuInfo {
    GpuInfo {
        index,
        uuid: format!("GPU-{index}"),
        name: "Fake".into(),
        utilization_pct: None,
        memory_used_mb: used,
        memory_total_mb: total,
        temperature_c: None,
        processes: Vec::new(),
    }
}

fn inv(gpus: Vec<GpuInfo>) -> Inventory {
    Inventory::Gpus {
        source: "fake".into(),
        gpus,
    }
}

fn held(uuids: &[&str]) -> HashSet<String> {
    uuids.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_freest_gpus_are_given_first() {
    let host = inv(vec![
        gpu(0, 8000, 16000),
        gpu(1, 1000, 16000),
        gpu(2, 4000, 16000),
    ]);
    assert_eq!(
        choose(&host, &held(&[]), &Gpus::Count(1), 0),
        Choice::Assign(vec!["GPU-1".into()])
    );
    assert_eq!(
        choose(&host, &held(&[]), &Gpus::Count(2), 0),
        Choice::Assign(vec!["GPU-1".into(), "GPU-2".into()])
    );
    // A GPU held by a running job is not shared, however free it is.
    assert_eq!(
        choose(&host, &held(&["GPU-1"]), &Gpus::Count(2), 0),
        Choice::Assign(vec!["GPU-2".into(), "GPU-0".into()])
    );
}

#[test]
fn too_little_free_memory_waits_with_the_reason() {
    let host = inv(vec![gpu(0, 8000, 16000), gpu(1, 1000, 16000)]);
    assert_eq!(
        choose(&host, &held(&[]), &Gpus::Count(2), 12000),
        Choice::Wait("needs 2 GPUs with 12000 MB free; 1 free".into())
    );
    assert_eq!(
        choose(&host, &held(&["GPU-1"]), &Gpus::Count(1), 12000),
        Choice::Wait("needs 1 GPU with 12000 MB free; 0 free (1 held by other jobs)".into())
    );
    assert_eq!(
        choose(&host, &held(&[]), &Gpus::Count(1), 12000),
        Choice::Assign(vec!["GPU-1".into()])
    );
}

#[test]
fn requests_the_host_can_never_meet_fail_and_no_gpu_seen_waits() {
    let none = Inventory::NoGpu {
        reason: "nvidia-smi: not found".into(),
    };
    match choose(&none, &held(&[]), &Gpus::Count(1), 0) {
        Choice::Wait(r) => assert!(
            r.contains("no GPU visible") && r.contains("not found"),
            "{r}"
        ),
        other => panic!("{other:?}"),
    }
    let host = inv(vec![gpu(0, 0, 16000)]);
    assert_eq!(
        choose(&host, &held(&[]), &Gpus::Count(2), 0),
        Choice::Fail("needs 2 GPUs; this host has 1".into())
    );
    match choose(&host, &held(&[]), &Gpus::Uuids(vec!["GPU-9".into()]), 0) {
        Choice::Fail(r) => assert!(
            r.contains("GPU-9 is not on this host") && r.contains("GPU-0"),
            "{r}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn explicit_uuids_are_given_as_asked_or_wait() {
    let host = inv(vec![gpu(0, 0, 16000), gpu(1, 15000, 16000)]);
    let both = Gpus::Uuids(vec!["GPU-1".into(), "GPU-0".into()]);
    assert_eq!(
        choose(&host, &held(&[]), &both, 0),
        Choice::Assign(vec!["GPU-1".into(), "GPU-0".into()])
    );
    match choose(&host, &held(&["GPU-0"]), &both, 2000) {
        Choice::Wait(r) => {
            assert!(r.contains("GPU-1 has 1000 MB free, needs 2000"), "{r}");
            assert!(r.contains("GPU-0 is held by another job"), "{r}");
        }
        other => panic!("{other:?}"),
    }
}
