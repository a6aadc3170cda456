//! The supervisor's log follower: reads what a job appended to its stdout and stderr files,
//! parses it, and stores metrics per step and the latest progress. Logs stay on disk; only
//! parsed values go to the database, in one transaction per flush, so a job printing tens of
//! thousands of lines per second costs a few writes per second.

use rusqlite::Connection;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::metrics::{self, StoredProgress};
use super::parse::{Event, LogParser, Metric, Progress, StepSource, LOSS};
use super::queue::{now_ms, Job};
use crate::store::writer::DbWriter;
use crate::store::StoreError;

/// Most bytes read from one stream per poll, so a flood of output cannot hold memory.
const READ_LIMIT: usize = 4 << 20;
/// How often parsed values are written while the job runs.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);

struct Stream {
    path: PathBuf,
    /// Bytes of the file handed to the parser.
    offset: u64,
    parser: LogParser,
}

impl Stream {
    /// Reads and parses what was appended since the last call; true when more is waiting.
    fn poll(&mut self, events: &mut Vec<Event>) -> bool {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return false;
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len < self.offset {
            // Truncated by someone: start over from its new beginning.
            self.offset = 0;
            self.parser = LogParser::default();
        }
        if len == self.offset || file.seek(SeekFrom::Start(self.offset)).is_err() {
            return false;
        }
        let want = (len - self.offset).min(READ_LIMIT as u64) as usize;
        let mut buf = vec![0; want];
        let got = match file.read(&mut buf) {
            Ok(n) => n,
            Err(_) => return false,
        };
        self.offset += got as u64;
        events.extend(self.parser.push(&buf[..got]));
        self.offset < len
    }

    /// The offset to resume from: what was parsed, less an unfinished line still buffered.
    fn resume_offset(&self) -> u64 {
        self.offset.saturating_sub(self.parser.buffered() as u64)
    }
}

pub struct LogFollower {
    job_id: i64,
    streams: [Stream; 2],
    pending: Vec<Metric>,
    progress: Option<Progress>,
    /// The highest step seen, where metrics printed without a step are stored.
    last_step: u64,
    changed: bool,
    last_flush: Instant,
}

impl LogFollower {
    /// Picks up where an earlier supervisor of this job stopped reading, if any.
    pub fn resume(conn: &Connection, job: &Job) -> Result<Self, StoreError> {
        Self::for_files(conn, job.id, &job.stdout_path, &job.stderr_path)
    }

    /// Follows `stdout` and `stderr` for job `job_id`, from where its stored offsets say.
    pub fn for_files(
        conn: &Connection,
        job_id: i64,
        stdout: &std::path::Path,
        stderr: &std::path::Path,
    ) -> Result<Self, StoreError> {
        let stored = metrics::progress(conn, job_id)?.unwrap_or_default();
        let last_step: Option<i64> = conn.query_row(
            "SELECT max(step) FROM job_metrics WHERE job_id = ?1",
            [job_id],
            |r| r.get(0),
        )?;
        let stream = |path: &std::path::Path, offset| Stream {
            path: path.to_path_buf(),
            offset,
            parser: LogParser::default(),
        };
        Ok(Self {
            job_id,
            streams: [
                stream(stdout, stored.stdout_offset),
                stream(stderr, stored.stderr_offset),
            ],
            pending: Vec::new(),
            progress: stored.progress,
            last_step: last_step.unwrap_or(0).max(0) as u64,
            changed: false,
            last_flush: Instant::now(),
        })
    }

    /// Bytes of both logs read so far.
    pub fn bytes_read(&self) -> u64 {
        self.streams.iter().map(|s| s.offset).sum()
    }

    /// Reads what the job printed since the last poll; true when more output is waiting.
    pub fn poll(&mut self) -> bool {
        let bar_before = self.bar_step();
        let mut events = Vec::new();
        let mut more = false;
        // stderr first: its bar is then at least as new as the stdout lines read after it.
        for stream in self.streams.iter_mut().rev() {
            more |= stream.poll(&mut events);
            if let Some(bar) = stream.parser.main_bar() {
                if self.progress.as_ref() != Some(bar) {
                    self.progress = Some(bar.clone());
                    self.changed = true;
                }
            }
        }
        self.take(events, bar_before);
        more
    }

    fn bar_step(&self) -> u64 {
        self.progress.as_ref().map_or(0, |p| p.done)
    }

    /// Queues the metrics among `events`, giving a step to those printed without one.
    ///
    /// HF Trainer prints its log dicts on stdout without a step while the step counter is the
    /// tqdm bar on stderr: two files, so the true interleaving is lost. The dicts read in one
    /// poll were printed while the bar moved from `bar_before` to its step now; training logs
    /// (those with a loss) are spread evenly over that span, which is exact for a trainer that
    /// logs every N steps, and each lands after the previous one. Other dicts (evaluations,
    /// the final summary) belong to the training step before them.
    fn take(&mut self, events: Vec<Event>, bar_before: u64) {
        let bar_now = self.bar_step().max(bar_before);
        let mut metrics: Vec<Metric> = events
            .into_iter()
            .filter_map(|e| match e {
                Event::Metric(m) => Some(m),
                Event::Progress(_) => None,
            })
            .collect();
        let stepless_logs = metrics
            .iter()
            .filter(|m| m.step.is_none() && m.values.contains_key(LOSS))
            .count() as u64;
        let span = bar_now.saturating_sub(bar_before);
        let mut nth = 0u64;
        for metric in &mut metrics {
            match metric.step {
                Some(step) => self.last_step = self.last_step.max(step),
                None if metric.values.contains_key(LOSS) => {
                    nth += 1;
                    // Steps come from log text: saturate rather than wrap on absurd values.
                    let spread = bar_before
                        .saturating_add(nth.saturating_mul(span).div_ceil(stepless_logs.max(1)));
                    let step = if spread > self.last_step {
                        spread
                    } else {
                        self.last_step.saturating_add(1)
                    };
                    metric.step = Some(step);
                    metric.step_source = StepSource::FromProgress;
                    self.last_step = step;
                }
                None => {
                    metric.step = Some(self.last_step);
                    metric.step_source = StepSource::FromProgress;
                }
            }
        }
        if !metrics.is_empty() {
            self.changed = true;
        }
        self.pending.extend(metrics);
    }

    /// Writes what was parsed if the flush interval passed (or `force`).
    pub fn flush(&mut self, writer: &DbWriter, force: bool) -> Result<(), StoreError> {
        if !self.changed || (!force && self.last_flush.elapsed() < FLUSH_EVERY) {
            return Ok(());
        }
        // Cleared only once stored: a failed write (a long lock, a full disk) keeps them for
        // the next flush, and the offsets stored with them never pass unstored lines.
        let metrics = self.pending.clone();
        let stored = StoredProgress {
            progress: self.progress.clone(),
            updated_ms: now_ms(),
            stdout_offset: self.streams[0].resume_offset(),
            stderr_offset: self.streams[1].resume_offset(),
        };
        let (job_id, fallback) = (self.job_id, self.last_step);
        writer.call(move |tx| {
            metrics::record(tx, job_id, &metrics, fallback)?;
            metrics::set_progress(tx, job_id, &stored)
        })?;
        self.pending.clear();
        self.changed = false;
        self.last_flush = Instant::now();
        Ok(())
    }

    /// After the job ended: reads the rest, parses last lines without a newline, and writes.
    pub fn finish(&mut self, writer: &DbWriter) -> Result<(), StoreError> {
        while self.poll() {}
        let mut events = Vec::new();
        for stream in &mut self.streams {
            events.extend(stream.parser.finish());
        }
        let bar = self.bar_step();
        self.take(events, bar);
        self.changed = true;
        self.flush(writer, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follower() -> LogFollower {
        let stream = |name: &str| Stream {
            path: PathBuf::from(name),
            offset: 0,
            parser: LogParser::default(),
        };
        LogFollower {
            job_id: 1,
            streams: [stream("out"), stream("err")],
            pending: Vec::new(),
            progress: None,
            last_step: 0,
            changed: false,
            last_flush: Instant::now(),
        }
    }

    fn dict(loss: Option<f64>, extra: &str) -> Event {
        let mut m = Metric::default();
        if let Some(l) = loss {
            m.values.insert(LOSS.into(), l);
        }
        if !extra.is_empty() {
            m.values.insert(extra.into(), 1.0);
        }
        Event::Metric(m)
    }

    fn steps(f: &LogFollower) -> Vec<u64> {
        f.pending.iter().filter_map(|m| m.step).collect()
    }

    #[test]
    fn stepless_logs_are_spread_over_the_bar_span_read_with_them() {
        let mut f = follower();
        // Logging every 10 steps; the bar moved from 0 to 30 while three logs were printed.
        f.progress = Some(Progress {
            done: 30,
            ..Progress::default()
        });
        f.take(
            vec![
                dict(Some(3.0), ""),
                dict(Some(2.0), ""),
                dict(Some(1.0), ""),
            ],
            0,
        );
        assert_eq!(steps(&f), vec![10, 20, 30]);
        // An evaluation after them belongs to step 30; a log read before its bar moved
        // still lands after the last one.
        f.take(vec![dict(None, "eval_loss"), dict(Some(0.5), "")], 30);
        assert_eq!(steps(&f), vec![10, 20, 30, 30, 31]);
    }

    #[test]
    fn stepless_logs_without_any_bar_are_numbered_in_order() {
        let mut f = follower();
        f.take(vec![dict(Some(3.0), ""), dict(Some(2.0), "")], 0);
        f.take(vec![dict(Some(1.0), "")], 0);
        assert_eq!(steps(&f), vec![1, 2, 3]);
    }
}
