//! Clock-free derivations over parsed series: progress fraction, throughput, ETA, and alerts
//! (non-finite loss, divergence, stall). The caller supplies times, including `now`, so every rule
//! is a pure function and testable without sleeping.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::parse::{Metric, Progress, LOSS};

/// Fraction done in `[0, 1]`, when the total is known.
pub fn fraction(p: &Progress) -> Option<f64> {
    let total = p.total.filter(|&t| t > 0)?;
    Some((p.done as f64 / total as f64).clamp(0.0, 1.0))
}

/// Items (steps) per second: tqdm's own rate, else the count over elapsed time.
pub fn throughput(p: &Progress) -> Option<f64> {
    let from_elapsed = || p.elapsed_s.filter(|&e| e > 0.0).map(|e| p.done as f64 / e);
    p.rate
        .filter(|r| r.is_finite() && *r > 0.0)
        .or_else(from_elapsed)
        .filter(|r| *r > 0.0)
}

/// Seconds left: tqdm's or LLaMA-Factory's own estimate, else what is left over the throughput.
pub fn eta_s(p: &Progress) -> Option<f64> {
    if let Some(r) = p.remaining_s {
        return Some(r);
    }
    let left = p.total?.saturating_sub(p.done);
    if left == 0 {
        return Some(0.0);
    }
    Some(left as f64 / throughput(p)?)
}

/// When the caller first saw a step (its own clock, in seconds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepSeen {
    pub step: u64,
    pub at_s: f64,
}

/// Step-time samples used for the median: the most recent ones.
const MEDIAN_WINDOW: usize = 100;

/// Median seconds per step over the last increments (a step jump of k counts as k steps).
pub fn median_step_time(seen: &[StepSeen]) -> Option<f64> {
    let mut per_step: Vec<f64> = seen
        .windows(2)
        .filter_map(|w| {
            let d = w[1].step.checked_sub(w[0].step).filter(|&d| d > 0)?;
            let dt = w[1].at_s - w[0].at_s;
            (dt.is_finite() && dt >= 0.0).then(|| dt / d as f64)
        })
        .collect();
    if per_step.len() > MEDIAN_WINDOW {
        per_step.drain(..per_step.len() - MEDIAN_WINDOW);
    }
    if per_step.is_empty() {
        return None;
    }
    per_step.sort_by(f64::total_cmp);
    let mid = per_step.len() / 2;
    Some(if per_step.len() % 2 == 1 {
        per_step[mid]
    } else {
        (per_step[mid - 1] + per_step[mid]) / 2.0
    })
}

/// Steps per second over the recorded series (first to last observation).
pub fn steps_per_second(seen: &[StepSeen]) -> Option<f64> {
    let (first, last) = (seen.first()?, seen.last()?);
    let steps = last.step.checked_sub(first.step).filter(|&d| d > 0)?;
    let dt = last.at_s - first.at_s;
    (dt > 0.0).then(|| steps as f64 / dt)
}

/// Thresholds of the alert rules.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AlertRules {
    /// Divergence: loss above `ratio` x its running minimum ...
    pub divergence_ratio: f64,
    /// ... and at least `margin` above it (so tiny losses near zero do not trip the ratio) ...
    pub divergence_margin: f64,
    /// ... for this many consecutive logged points (one spike is noise) ...
    pub divergence_patience: usize,
    /// ... once the minimum has this many points behind it (warm-up losses swing).
    pub divergence_warmup: usize,
    /// Stall: no new step for `factor` x the median step time ...
    pub stall_factor: f64,
    /// ... and never less than this (fast steps hiccup on checkpoints and evals).
    pub stall_min_s: f64,
}

impl Default for AlertRules {
    fn default() -> Self {
        Self {
            divergence_ratio: 2.0,
            divergence_margin: 1.0,
            divergence_patience: 3,
            divergence_warmup: 3,
            stall_factor: 5.0,
            stall_min_s: 30.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Alert {
    /// A loss value that is NaN or infinite (`value` is kept as text: JSON has no NaN).
    NonFinite {
        step: Option<u64>,
        name: String,
        value: String,
    },
    /// The loss left its running minimum behind (see [`AlertRules`]); `step` is where it began.
    Divergence {
        step: Option<u64>,
        loss: f64,
        min: f64,
    },
    /// No new step for `idle_s` seconds, against a median of `median_step_s` per step.
    Stall {
        last_step: u64,
        idle_s: f64,
        median_step_s: f64,
    },
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |s: &Option<u64>| s.map_or_else(String::new, |s| format!(" at step {s}"));
        match self {
            Alert::NonFinite { step, name, value } => write!(f, "{name} is {value}{}", at(step)),
            Alert::Divergence { step, loss, min } => {
                write!(
                    f,
                    "loss diverging{}: {loss:.4} against a minimum of {min:.4}",
                    at(step)
                )
            }
            Alert::Stall {
                last_step,
                idle_s,
                median_step_s,
            } => write!(
                f,
                "stalled: no step since {last_step} for {idle_s:.0} s (median {median_step_s:.2} s/step)"
            ),
        }
    }
}

/// NaN/inf in any loss value, and divergence of the training `loss`, in series order.
pub fn loss_alerts(metrics: &[Metric], rules: &AlertRules) -> Vec<Alert> {
    let mut out = Vec::new();
    let mut min = f64::INFINITY;
    let mut finite_points = 0usize;
    let mut run: Option<(Option<u64>, f64, usize)> = None; // (first step, first loss, length)
    for m in metrics {
        for (name, v) in m.values.iter().filter(|(k, _)| k.contains("loss")) {
            if !v.is_finite() {
                out.push(Alert::NonFinite {
                    step: m.step,
                    name: name.clone(),
                    value: v.to_string(),
                });
            }
        }
        let Some(loss) = m.get(LOSS).filter(|v| v.is_finite()) else {
            continue;
        };
        let above = finite_points >= rules.divergence_warmup
            && loss > min * rules.divergence_ratio
            && loss - min > rules.divergence_margin;
        if above {
            let (step, first, len) = run.unwrap_or((m.step, loss, 0));
            let len = len + 1;
            if len == rules.divergence_patience.max(1) {
                out.push(Alert::Divergence {
                    step,
                    loss: first,
                    min,
                });
            }
            run = Some((step, first, len));
        } else {
            run = None;
            min = min.min(loss);
        }
        finite_points += 1;
    }
    out
}

/// A stall when the last new step is older than the rule allows at `now_s` (same clock as `seen`).
pub fn stall_alert(seen: &[StepSeen], now_s: f64, rules: &AlertRules) -> Option<Alert> {
    let median = median_step_time(seen)?;
    let last = seen.last()?;
    let idle = now_s - last.at_s;
    let limit = (median * rules.stall_factor).max(rules.stall_min_s);
    (idle > limit).then_some(Alert::Stall {
        last_step: last.step,
        idle_s: idle,
        median_step_s: median,
    })
}

/// A duration for people: `45s`, `12m05s`, `3h20m`, `2d04h`.
pub fn human_duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "?".into();
    }
    let s = secs.round() as u64;
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}
