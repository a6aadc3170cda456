//! A job's training metrics per step, and its latest progress, as stored by its supervisor.
//!
//! SQLite has no NaN (it stores NULL); a NULL value reads back as NaN so alerts still see it.
//! Infinities are stored as they are.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::BTreeMap;

use super::parse::{Metric, Progress};
use crate::store::StoreError;

/// Points `(step, value)` in step order, one series per metric name.
pub type Series = BTreeMap<String, Vec<(u64, f64)>>;

/// Stores `metrics` (a later value for the same step and name replaces the earlier one, as a
/// resumed run re-logging a step should). Metrics without a step are stored at `fallback_step`.
pub fn record(
    tx: &Transaction,
    job_id: i64,
    metrics: &[Metric],
    fallback_step: u64,
) -> Result<usize, StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO job_metrics (job_id, step, name, value, seen_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let now = super::queue::now_ms();
    let mut stored = 0;
    for metric in metrics {
        let step = metric.step.unwrap_or(fallback_step);
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        for (name, value) in &metric.values {
            let value = (!value.is_nan()).then_some(*value);
            stored += stmt.execute(params![job_id, step, name, value, now])?;
        }
        if let Some(epoch) = metric.epoch {
            stored += stmt.execute(params![job_id, step, "epoch", epoch, now])?;
        }
    }
    Ok(stored)
}

/// Every stored metric of a job.
pub fn series(conn: &Connection, job_id: i64) -> Result<Series, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, step, value FROM job_metrics WHERE job_id = ?1 ORDER BY name, step",
    )?;
    let rows = stmt.query_map([job_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Option<f64>>(2)?,
        ))
    })?;
    let mut out = Series::new();
    for row in rows {
        let (name, step, value) = row?;
        out.entry(name)
            .or_default()
            .push((step.max(0) as u64, value.unwrap_or(f64::NAN)));
    }
    Ok(out)
}

/// At most about `max_points` points per metric: with more steps stored, each point is the
/// mean of a run of consecutive steps (at the run's last step), so a chart of a long or
/// very chatty job costs the same as a short one. A run holding a NaN keeps the NaN.
pub fn series_sampled(
    conn: &Connection,
    job_id: i64,
    max_points: usize,
) -> Result<Series, StoreError> {
    let max_step: Option<i64> = conn.query_row(
        "SELECT max(step) FROM job_metrics WHERE job_id = ?1",
        [job_id],
        |r| r.get(0),
    )?;
    let steps = max_step.unwrap_or(0).max(0) as u64 + 1;
    let stride = steps.div_ceil(max_points.max(1) as u64).max(1);
    if stride == 1 {
        return series(conn, job_id);
    }
    // Read in the primary key's order and averaged here, a run at a time: SQL's GROUP BY on
    // `step / stride` would sort every row of the job in memory first (hundreds of MB for a
    // job that logged millions of steps); this holds one partial run per metric.
    let mut stmt = conn.prepare_cached(
        "SELECT step, name, value FROM job_metrics WHERE job_id = ?1 ORDER BY step, name",
    )?;
    let mut rows = stmt.query([job_id])?;
    struct Run {
        bucket: u64,
        last_step: u64,
        sum: f64,
        count: u64,
        nan: bool,
    }
    fn point(run: &Run) -> (u64, f64) {
        let value = if run.nan || run.count == 0 {
            f64::NAN
        } else {
            run.sum / run.count as f64
        };
        (run.last_step, value)
    }
    let mut open: BTreeMap<String, Run> = BTreeMap::new();
    let mut out = Series::new();
    while let Some(row) = rows.next()? {
        let step = row.get::<_, i64>(0)?.max(0) as u64;
        let name: String = row.get(1)?;
        let value: Option<f64> = row.get(2)?;
        let bucket = step / stride;
        let run = open.entry(name.clone()).or_insert(Run {
            bucket,
            last_step: step,
            sum: 0.0,
            count: 0,
            nan: false,
        });
        if run.bucket != bucket {
            out.entry(name).or_default().push(point(run));
            *run = Run {
                bucket,
                last_step: step,
                sum: 0.0,
                count: 0,
                nan: false,
            };
        }
        run.last_step = step;
        match value {
            Some(v) => {
                run.sum += v;
                run.count += 1;
            }
            None => run.nan = true,
        }
    }
    for (name, run) in &open {
        out.entry(name.clone()).or_default().push(point(run));
    }
    Ok(out)
}

/// The first few non-finite values of the loss metrics (NaN is stored as NULL), for alerts
/// that must not depend on sampling. Other metrics go non-finite routinely (an fp16 run's
/// grad norm on a skipped step) and must not crowd a NaN loss out of the list.
pub fn non_finite(
    conn: &Connection,
    job_id: i64,
    limit: usize,
) -> Result<Vec<(u64, String, f64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT step, name, value FROM job_metrics WHERE job_id = ?1 \
         AND name LIKE '%loss%' AND (value IS NULL OR abs(value) > 1.7e308) \
         ORDER BY step LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![job_id, limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?.max(0) as u64,
            r.get::<_, String>(1)?,
            r.get::<_, Option<f64>>(2)?.unwrap_or(f64::NAN),
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Steps read back for stall detection: its median looks at the last 100 step times.
const RECENT_STEPS: i64 = 200;

/// When each of the most recent steps was first stored, in step order (the input of stall
/// detection; bounded, so a job with a million steps costs what one with 200 does).
pub fn steps_seen(conn: &Connection, job_id: i64) -> Result<Vec<(u64, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT step, min(seen_ms) FROM job_metrics WHERE job_id = ?1 AND seen_ms IS NOT NULL \
         AND step >= coalesce((SELECT max(step) FROM job_metrics WHERE job_id = ?1), 0) - ?2 \
         GROUP BY step ORDER BY step",
    )?;
    let rows = stmt.query_map(params![job_id, RECENT_STEPS], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (step, seen) = row?;
        out.push((step.max(0) as u64, seen));
    }
    Ok(out)
}

/// Stored metrics as entries per step (`[{step, loss, ...}]`), the shape `jobs show --json`
/// prints.
pub fn per_step(series: &Series) -> Vec<serde_json::Value> {
    let mut steps: BTreeMap<u64, serde_json::Map<String, serde_json::Value>> = BTreeMap::new();
    for (name, points) in series {
        for &(step, value) in points {
            let entry = steps.entry(step).or_default();
            // JSON has no NaN or infinity: they are written as strings, as trainers print them.
            let json = serde_json::Number::from_f64(value)
                .map(serde_json::Value::Number)
                .unwrap_or_else(|| serde_json::Value::String(value.to_string()));
            entry.insert(name.clone(), json);
        }
    }
    steps
        .into_iter()
        .map(|(step, mut values)| {
            values.insert("step".into(), step.into());
            serde_json::Value::Object(values)
        })
        .collect()
}

/// A job's latest progress with where its supervisor stopped reading its logs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoredProgress {
    pub progress: Option<Progress>,
    pub updated_ms: i64,
    pub stdout_offset: u64,
    pub stderr_offset: u64,
}

/// Every job's stored progress, by job id.
pub fn all_progress(
    conn: &Connection,
) -> Result<std::collections::HashMap<i64, StoredProgress>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT job_id, done, total, elapsed_s, remaining_s, rate, updated_ms, stdout_offset, \
         stderr_offset FROM job_progress",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, stored_from_row(r, 1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A `job_progress` row read from column `at` on (done, total, elapsed_s, remaining_s, rate,
/// updated_ms, stdout_offset, stderr_offset).
fn stored_from_row(r: &rusqlite::Row, at: usize) -> rusqlite::Result<StoredProgress> {
    let done: i64 = r.get(at)?;
    let total: Option<i64> = r.get(at + 1)?;
    Ok(StoredProgress {
        // done < 0 marks "offsets only, no bar seen yet"
        progress: (done >= 0).then(|| Progress {
            label: None,
            done: done as u64,
            total: total.map(|t| t.max(0) as u64),
            elapsed_s: r.get(at + 2).ok().flatten(),
            remaining_s: r.get(at + 3).ok().flatten(),
            rate: r.get(at + 4).ok().flatten(),
        }),
        updated_ms: r.get(at + 5)?,
        stdout_offset: r.get::<_, i64>(at + 6)?.max(0) as u64,
        stderr_offset: r.get::<_, i64>(at + 7)?.max(0) as u64,
    })
}

pub fn progress(conn: &Connection, job_id: i64) -> Result<Option<StoredProgress>, StoreError> {
    let row = conn
        .query_row(
            "SELECT done, total, elapsed_s, remaining_s, rate, updated_ms, stdout_offset, stderr_offset \
             FROM job_progress WHERE job_id = ?1",
            [job_id],
            |r| stored_from_row(r, 0),
        )
        .optional()?;
    Ok(row)
}

pub fn set_progress(
    tx: &Transaction,
    job_id: i64,
    stored: &StoredProgress,
) -> Result<(), StoreError> {
    let p = stored.progress.as_ref();
    let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    tx.execute(
        "INSERT OR REPLACE INTO job_progress \
         (job_id, done, total, elapsed_s, remaining_s, rate, updated_ms, stdout_offset, stderr_offset) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            job_id,
            p.map_or(-1, |p| clamp(p.done)),
            p.and_then(|p| p.total).map(clamp),
            p.and_then(|p| p.elapsed_s),
            p.and_then(|p| p.remaining_s),
            p.and_then(|p| p.rate),
            stored.updated_ms,
            clamp(stored.stdout_offset),
            clamp(stored.stderr_offset),
        ],
    )?;
    Ok(())
}
