//! Derivations and alert rules over hand-built series.

use super::derive::*;
use super::parse::{Metric, Progress, LOSS};

#[test]
fn throughput_and_eta_from_elapsed() {
    let p = Progress {
        done: 50,
        total: Some(200),
        elapsed_s: Some(25.0),
        ..Progress::default()
    };
    assert_eq!(throughput(&p), Some(2.0));
    assert_eq!(eta_s(&p), Some(75.0));
    let seen: Vec<StepSeen> = (0..5)
        .map(|i| StepSeen {
            step: i * 2,
            at_s: i as f64 * 4.0,
        })
        .collect();
    assert_eq!(median_step_time(&seen), Some(2.0));
    assert_eq!(steps_per_second(&seen), Some(0.5));
}

fn loss_series(losses: &[f64]) -> Vec<Metric> {
    losses
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            let mut m = Metric {
                step: Some(i as u64 * 10),
                ..Metric::default()
            };
            m.values.insert(LOSS.into(), l);
            m
        })
        .collect()
}

#[test]
fn alerts_nan_and_divergence() {
    let rules = AlertRules::default();
    let fine = loss_series(&[3.8, 3.2, 2.9, 2.5, 2.6, 2.2, 6.0, 2.1]);
    assert!(loss_alerts(&fine, &rules).is_empty(), "one spike is noise");
    let bad = loss_series(&[3.8, 3.2, 2.5, 2.4, 5.5, 7.0, 9.0, 12.0]);
    let alerts = loss_alerts(&bad, &rules);
    assert_eq!(
        alerts,
        vec![Alert::Divergence {
            step: Some(40),
            loss: 5.5,
            min: 2.4
        }]
    );
    let nan = loss_series(&[3.8, f64::NAN, f64::INFINITY]);
    let alerts = loss_alerts(&nan, &rules);
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0].to_string(), "loss is NaN at step 10");
    assert_eq!(alerts[1].to_string(), "loss is inf at step 20");
}

#[test]
fn alerts_stall() {
    let rules = AlertRules::default();
    let seen: Vec<StepSeen> = (0..10)
        .map(|i| StepSeen {
            step: i,
            at_s: 100.0 + i as f64 * 10.0,
        })
        .collect();
    assert_eq!(stall_alert(&seen, 200.0, &rules), None);
    let a = stall_alert(&seen, 241.0, &rules);
    assert_eq!(
        a,
        Some(Alert::Stall {
            last_step: 9,
            idle_s: 51.0,
            median_step_s: 10.0
        })
    );
    // Fast steps: the floor keeps a checkpoint pause from alerting.
    let fast: Vec<StepSeen> = (0..10)
        .map(|i| StepSeen {
            step: i,
            at_s: i as f64 * 0.1,
        })
        .collect();
    assert_eq!(stall_alert(&fast, 20.0, &rules), None);
    assert_eq!(stall_alert(&seen[..1], 1e9, &rules), None, "no median yet");
}

#[test]
fn durations_read_as_people_write_them() {
    assert_eq!(human_duration(45.2), "45s");
    assert_eq!(human_duration(725.0), "12m05s");
    assert_eq!(human_duration(12_000.0), "3h20m");
    assert_eq!(human_duration(187_200.0), "2d04h");
    assert_eq!(human_duration(f64::NAN), "?");
}
