//! One parser for what trainers print: JSON lines, Hugging Face Trainer dict reprs (transformers 4
//! numbers, transformers 5 strings, `nan`/`inf`), LLaMA-Factory's `trainer_log.jsonl`, torchtune's
//! `Step N | loss:... lr:...` lines and tqdm bars, which arrive separated by `\r` rather than `\n`.
//!
//! [`parse_line`] reads one terminal line; [`LogParser`] takes raw byte chunks as they come off a
//! pipe or a log file, splits on both `\n` and `\r`, and keeps a bounded partial-line buffer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Canonical value names; trainer-specific aliases (`lr`, ...) are mapped onto these.
pub const LOSS: &str = "loss";
pub const EVAL_LOSS: &str = "eval_loss";
pub const LEARNING_RATE: &str = "learning_rate";
pub const GRAD_NORM: &str = "grad_norm";
pub const TOKENS_PER_SECOND: &str = "tokens_per_second";
pub const SAMPLES_PER_SECOND: &str = "samples_per_second";

/// Where a metric's step came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum StepSource {
    /// The trainer printed the step with the values.
    #[default]
    Logged,
    /// Taken from the main tqdm bar (HF Trainer dicts carry no step; its bar shows the global step).
    FromProgress,
}

/// One logged set of values (a training log entry, an evaluation, the final summary).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Metric {
    pub step: Option<u64>,
    pub step_source: StepSource,
    pub total_steps: Option<u64>,
    pub epoch: Option<f64>,
    /// Named values; NaN and infinities are kept as they are (alerts look for them).
    pub values: BTreeMap<String, f64>,
}

impl Metric {
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.get(name).copied()
    }
}

/// A progress reading: a tqdm bar, or LLaMA-Factory's step counters and times.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Progress {
    /// The bar's description (`Converting ... tensors`), `None` for an unlabelled bar.
    pub label: Option<String>,
    pub done: u64,
    pub total: Option<u64>,
    pub elapsed_s: Option<f64>,
    pub remaining_s: Option<f64>,
    /// Items per second (tqdm's `s/it` form is inverted into this).
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    Metric(Metric),
    Progress(Progress),
}

/// Parses one terminal line (no `\n` or `\r` inside, though both are tolerated). A line may hold
/// both a tqdm bar and a dict when stderr and stdout interleave, so every format is tried.
pub fn parse_line(line: &str) -> Vec<Event> {
    let mut out = Vec::new();
    if line.trim().is_empty() {
        return out;
    }
    if let Some(m) = crate::jobs::steps::parse_step_line(line) {
        out.push(Event::Metric(m));
        return out;
    }
    // Events keep the order they were printed in, so a dict after a bar takes that bar's step.
    let mut placed: Vec<(usize, Event)> = Vec::new();
    for (at, obj) in crate::jobs::dict::objects(line) {
        placed.extend(
            crate::jobs::dict::events_from_object(&obj)
                .into_iter()
                .map(|e| (at, e)),
        );
    }
    if let Some((at, p, desc_metric)) = crate::jobs::tqdm::parse_bar(line) {
        placed.extend(desc_metric.map(|m| (at, Event::Metric(m))));
        placed.push((at, Event::Progress(p)));
    }
    placed.sort_by_key(|(at, _)| *at);
    out.extend(placed.into_iter().map(|(_, e)| e));
    out
}

/// Longest partial line kept; the rest of a longer line is dropped up to the next separator.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

/// Incremental parser over raw output chunks.
#[derive(Debug)]
pub struct LogParser {
    partial: Vec<u8>,
    max_line: usize,
    /// Inside a line that overflowed `max_line`: skip bytes until the next separator.
    skipping: bool,
    dropped_lines: u64,
    /// The main unlabelled bar: the first one seen, replaced only once it has finished. HF's
    /// training bar counts the global step and stays open through training, so its unlabelled
    /// eval bars (opened and closed meanwhile, any size) never take over; a finished
    /// preprocessing bar before it does not hold on either.
    main_bar: Option<Progress>,
}

impl Default for LogParser {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE)
    }
}

impl LogParser {
    pub fn new(max_line: usize) -> Self {
        Self {
            partial: Vec::new(),
            max_line: max_line.max(1),
            skipping: false,
            dropped_lines: 0,
            main_bar: None,
        }
    }

    /// Lines too long to keep, dropped unparsed.
    pub fn dropped_lines(&self) -> u64 {
        self.dropped_lines
    }

    /// The main progress bar seen so far (the training bar for HF Trainer).
    pub fn main_bar(&self) -> Option<&Progress> {
        self.main_bar.as_ref()
    }

    /// Bytes currently buffered for an unfinished line (never more than `max_line`).
    pub fn buffered(&self) -> usize {
        self.partial.len()
    }

    /// Feeds a chunk; returns the events of every line it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        let mut rest = chunk;
        while !rest.is_empty() {
            let cut = rest.iter().position(|&b| b == b'\n' || b == b'\r');
            let (piece, done) = match cut {
                Some(i) => (&rest[..i], true),
                None => (rest, false),
            };
            if !self.skipping {
                if self.partial.len() + piece.len() > self.max_line {
                    self.partial.clear();
                    self.skipping = true;
                    self.dropped_lines += 1;
                } else {
                    self.partial.extend_from_slice(piece);
                }
            }
            if done {
                if !self.skipping {
                    let line = std::mem::take(&mut self.partial);
                    self.line(&line, &mut out);
                }
                self.skipping = false;
                rest = &rest[piece.len() + 1..];
            } else {
                rest = &[];
            }
        }
        out
    }

    /// Parses what is left at end of stream (a last line without a newline).
    pub fn finish(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        if !self.skipping {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, &mut out);
        }
        self.partial.clear();
        self.skipping = false;
        out
    }

    fn line(&mut self, bytes: &[u8], out: &mut Vec<Event>) {
        if bytes.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(bytes);
        for mut ev in parse_line(&text) {
            match &mut ev {
                Event::Progress(p) if p.label.is_none() => {
                    let take = match &self.main_bar {
                        None => true,
                        Some(m) => m.total == p.total || m.total.is_some_and(|t| m.done >= t),
                    };
                    if take {
                        self.main_bar = Some(p.clone());
                    }
                }
                Event::Metric(m) if m.step.is_none() => {
                    if let Some(bar) = &self.main_bar {
                        m.step = Some(bar.done);
                        m.step_source = StepSource::FromProgress;
                        m.total_steps = m.total_steps.or(bar.total);
                    }
                }
                _ => {}
            }
            out.push(ev);
        }
    }
}

/// Parses `MM:SS`, `H:MM:SS` and Python's timedelta text `2 days, 3:04:05` into seconds.
pub(crate) fn clock_seconds(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 40 {
        return None;
    }
    let (days, clock) = match s.split_once(',') {
        Some((d, rest)) => {
            let n: f64 = d
                .trim()
                .trim_end_matches("days")
                .trim_end_matches("day")
                .trim()
                .parse()
                .ok()?;
            (n, rest)
        }
        None => (0.0, s),
    };
    let mut total = 0.0;
    for part in clock.split(':') {
        let v: f64 = part.trim().parse().ok()?;
        if !v.is_finite() || v < 0.0 {
            return None;
        }
        total = total * 60.0 + v;
    }
    let total = days * 86_400.0 + total;
    (total.is_finite() && total >= 0.0).then_some(total)
}
