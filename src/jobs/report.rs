//! Everything known about one job, gathered for display: its row, stored metrics, latest
//! progress, and what follows from them (fraction done, ETA, throughput, alerts). The CLI's
//! `jobs show` and the console's job detail both read this.

use rusqlite::Connection;

use super::derive::{self, Alert, AlertRules, StepSeen};
use super::metrics::{self, Series};
use super::parse::{Metric, Progress};
use super::queue::{Job, JobState};
use crate::store::StoreError;

/// Points per metric series in a report (charts are narrower than this).
pub const MAX_POINTS: usize = 2_000;
/// NaN/inf alerts listed; a run that went NaN goes NaN at every step after.
const MAX_NON_FINITE_ALERTS: usize = 5;

#[derive(Debug, Clone)]
pub struct JobReport {
    pub job: Job,
    /// Each metric's points, at most about [`MAX_POINTS`] (sampled by step runs beyond).
    pub series: Series,
    pub progress: Option<Progress>,
    /// When the progress or metrics were last stored (ms since the epoch).
    pub updated_ms: Option<i64>,
    pub fraction: Option<f64>,
    pub eta_s: Option<f64>,
    /// Steps (or bar items) per second.
    pub throughput: Option<f64>,
    pub alerts: Vec<Alert>,
}

/// Gathers a report; `now_ms` is the clock the stall rule compares with.
pub fn load(conn: &Connection, job: Job, now_ms: i64) -> Result<JobReport, StoreError> {
    let series = metrics::series_sampled(conn, job.id, MAX_POINTS)?;
    let stored = metrics::progress(conn, job.id)?;
    let progress = stored.as_ref().and_then(|s| s.progress.clone());
    let seen: Vec<StepSeen> = metrics::steps_seen(conn, job.id)?
        .into_iter()
        .map(|(step, ms)| StepSeen {
            step,
            at_s: ms as f64 / 1000.0,
        })
        .collect();
    let rules = AlertRules::default();
    // Divergence reads the (possibly sampled) series; NaN and infinities come from the
    // stored values themselves, at their exact steps.
    let mut alerts: Vec<Alert> = metrics::non_finite(conn, job.id, MAX_NON_FINITE_ALERTS)?
        .into_iter()
        .filter(|(_, name, _)| name.contains("loss"))
        .map(|(step, name, value)| Alert::NonFinite {
            step: Some(step),
            name,
            value: value.to_string(),
        })
        .collect();
    alerts.extend(
        derive::loss_alerts(&as_metrics(&series), &rules)
            .into_iter()
            .filter(|a| !matches!(a, Alert::NonFinite { .. })),
    );
    let running = matches!(job.state, JobState::Running { .. }) && !job.paused;
    if running {
        alerts.extend(derive::stall_alert(&seen, now_ms as f64 / 1000.0, &rules));
    }
    let throughput = progress
        .as_ref()
        .and_then(derive::throughput)
        .or_else(|| derive::steps_per_second(&seen));
    Ok(JobReport {
        fraction: progress.as_ref().and_then(derive::fraction),
        eta_s: progress
            .as_ref()
            .filter(|_| running)
            .and_then(derive::eta_s),
        throughput,
        updated_ms: stored.map(|s| s.updated_ms),
        progress,
        series,
        alerts,
        job,
    })
}

/// The stored series back as one metric per step, in step order (the alert rules' input).
fn as_metrics(series: &Series) -> Vec<Metric> {
    let mut by_step: std::collections::BTreeMap<u64, Metric> = Default::default();
    for (name, points) in series {
        for &(step, value) in points {
            let m = by_step.entry(step).or_insert_with(|| Metric {
                step: Some(step),
                ..Metric::default()
            });
            m.values.insert(name.clone(), value);
        }
    }
    by_step.into_values().collect()
}

impl JobReport {
    /// The latest value of a metric (the last point of its series).
    pub fn last(&self, name: &str) -> Option<(u64, f64)> {
        self.series.get(name).and_then(|s| s.last().copied())
    }

    /// The part of `jobs show --json` beyond the job's row.
    pub fn json_fields(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut out = serde_json::Map::new();
        let num = |v: Option<f64>| {
            v.and_then(serde_json::Number::from_f64)
                .map_or(serde_json::Value::Null, serde_json::Value::Number)
        };
        out.insert(
            "progress".into(),
            serde_json::to_value(&self.progress).unwrap_or_default(),
        );
        out.insert("fraction".into(), num(self.fraction));
        out.insert("eta_s".into(), num(self.eta_s));
        out.insert("throughput".into(), num(self.throughput));
        out.insert(
            "alerts".into(),
            self.alerts
                .iter()
                .map(|a| serde_json::Value::String(a.to_string()))
                .collect(),
        );
        out.insert(
            "metrics".into(),
            serde_json::Value::Array(metrics::per_step(&self.series)),
        );
        out
    }
}
